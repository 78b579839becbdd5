"""Command-line driver shared by the per-workload entry points."""

from __future__ import annotations

import argparse

from . import adapters as ad
from . import common
from . import workloads as wl


def run_workload(name, *, run_id, quick=False, sizes=None, only=None, repeats=3, out=common.RESULTS):
    spec = wl.WORKLOADS[name]
    sizes = sizes or (spec.quick_sizes if quick else spec.sizes)
    records = []
    for M in sizes:
        for cls in ad.ADAPTERS[name]:
            if only and cls.name not in only:
                continue
            rec = common.python_module("harness", "--workload", name, "--adapter", cls.name,
                                       "--paths", M, "--repeats", repeats)
            rec.setdefault("workload", name)
            rec.setdefault("adapter", cls.name)
            rec.setdefault("M", M)
            rec.update(type="measurement", run_id=run_id)
            common.append(rec, out)
            print(common.describe(rec), flush=True)
            records.append(rec)
    return records


def main(name, argv=None):
    parser = argparse.ArgumentParser(description=f"Benchmark {name}: {wl.WORKLOADS[name].title}")
    parser.add_argument("--quick", action="store_true", help="small M only")
    parser.add_argument("--sizes", type=int, nargs="*", help="M values (default: the workload's)")
    parser.add_argument("--adapters", nargs="*", help="adapter names (default: all)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(common.RESULTS))
    args = parser.parse_args(argv)
    run_id = common.new_run_id()
    common.append(common.run_header(run_id, "quick" if args.quick else "full", ["benchmarks", name]),
                  args.out)
    run_workload(name, run_id=run_id, quick=args.quick, sizes=args.sizes, only=args.adapters,
                 repeats=args.repeats, out=args.out)
    print(f"run {run_id} appended to {args.out}")
