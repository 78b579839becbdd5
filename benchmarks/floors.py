"""Ratios of the compiled paths to the peers and to the floors, from runs in results.jsonl.

Usage (from the repository root)::

    python benchmarks/floors.py RUN_ID [RUN_ID ...] --out benchmarks/results/floors.json

Each run id names a run of ``w1_sme.py`` or ``w2_sgd.py`` (the ``run_id`` field of
``results/results.jsonl``). For every workload and size in those runs the script writes the wall
and CPU seconds of each adapter, and the wall-time ratios of every smecore adapter to the plain
numpy loop and to each floor (random numbers only, arithmetic only), with the load average at
each measurement, so that a reader can judge the noise of a shared machine.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "results.jsonl"

#: What a smecore adapter is compared with: the plain loop a user writes, and the floors.
BASELINES = ("numpy-loop", "normal-floor", "discrete-floor", "index-floor", "compute-floor")


def load(run_ids, path=RESULTS):
    """The ok measurements of the given runs, keyed by (workload, M, adapter)."""
    found = {}
    for line in Path(path).read_text().splitlines():
        record = json.loads(line)
        if (record.get("type") == "measurement" and record.get("run_id") in run_ids
                and record.get("status") == "ok"):
            found[(record["workload"], record["M"], record["adapter"])] = record
    return found


def derive(found, run_ids):
    out = {"derived_from": f"benchmarks/results/results.jsonl, runs {', '.join(run_ids)}",
           "caveat": ("wall times are the median of 3 after a warm-up, each tool in a fresh "
                      "process, on a 2-core machine; the numba kernels use numba's default "
                      "thread count and the floors one core, while numpy's own threads may "
                      "take part of the numpy paths (CPU seconds above wall seconds show it); "
                      "ratios are wall-time ratios"),
           "workloads": {}}
    for workload, M in sorted({(w, m) for w, m, _ in found}):
        rows = {a: r for (w, m, a), r in found.items() if (w, m) == (workload, M)}
        entry = {"M": M,
                 "wall_seconds": {a: round(r["seconds"], 4) for a, r in rows.items()},
                 "cpu_seconds": {a: round(r["cpu_seconds"], 4) for a, r in rows.items()},
                 "load_average": {a: r["load_average"] for a, r in rows.items()},
                 "ratios": {}}
        for name, record in rows.items():
            if record.get("kind") != "smecore":
                continue
            entry["ratios"][name] = {
                f"vs {base}": round(rows[base]["seconds"] / record["seconds"], 2)
                for base in BASELINES if base in rows}
        out["workloads"][f"{workload} M={M}"] = entry
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_ids", nargs="+")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    found = load(set(args.run_ids))
    if not found:
        print(f"no ok measurements for runs {args.run_ids} in {RESULTS}", file=sys.stderr)
        return 2
    text = json.dumps(derive(found, args.run_ids), indent=1) + "\n"
    if args.out:
        Path(args.out).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
