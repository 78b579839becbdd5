"""Run every benchmark and render the table: ``python benchmarks/run.py [--quick]``.

Full run (about an hour on 2 cores; the lead reruns it on a quiet machine):

- W1 (SME Monte Carlo) and W2 (SGD Monte Carlo) at every M, every adapter,
  each in a fresh process: a warm-up, then the median of 3 timed runs;
- memory: peak RSS of W1 in statistics mode at 1e5, 1e6 and 1e7 paths
  (10 steps), and at 1e7 paths with the full 1000 steps;
- scale-out: W1 at M = 1e5, serial vs 2 processes vs a 2-worker Dask cluster;
- W3: ``jupyter-book build .`` and ``pytest`` in a clean clone of HEAD.

``--quick`` (a few minutes) runs W1 and W2 at the small M only, the memory
scan with 10 steps, scale-out at M = 2e4, and skips W3. Every record is
appended to benchmarks/results/results.jsonl under one run id; the report
(benchmarks/results/report.md, included by the book's Performance page) is
rendered from that file by benchmarks/report.py.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common, report  # noqa: E402
from benchmarks._workload_cli import run_workload  # noqa: E402


def run_memory(run_id, quick, out):
    plan = [(100_000, 10), (1_000_000, 10), (10_000_000, 10)]
    if not quick:
        plan.append((10_000_000, 1000))
    for paths, steps in plan:
        rec = common.python_module("memory", "--paths", paths, "--steps", steps)
        rec.update(type="memory", run_id=run_id, paths=paths, steps=steps)
        common.append(rec, out)
        print(f"memory: {paths:.0e} paths x {steps} steps: peak RSS {rec.get('peak_rss_mb')} MB "
              f"({rec.get('status')}, {rec.get('seconds', 0):.1f} s)", flush=True)


def run_scaleout(run_id, quick, out, repeats=3):
    paths = 20_000 if quick else 100_000
    rec = common.python_module("scaleout", "--paths", paths, "--repeats", repeats)
    rec.update(type="scaleout", run_id=run_id)
    common.append(rec, out)
    for name, r in rec.get("runs", {}).items():
        print(f"scale-out {name}: {r.get('seconds', float('nan')):.2f} s, "
              f"speed-up {r.get('speedup', 1.0):.2f}, identical {r.get('identical_to_serial', True)}",
              flush=True)


def run_book(run_id, out):
    rec = common.python_module("w3_book", "--print-only", "--run-id", run_id)
    rec.update(type="book", workload="W3", run_id=run_id)
    common.append(rec, out)
    print(f"W3: book {rec.get('book_seconds', float('nan')):.0f} s, "
          f"tests {rec.get('tests_seconds', float('nan')):.0f} s", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, no book build (minutes)")
    parser.add_argument("--skip-book", action="store_true", help="leave out W3")
    parser.add_argument("--only", nargs="*", choices=["W1", "W2", "memory", "scaleout", "W3"],
                        help="run only these parts")
    parser.add_argument("--repeats", type=int, default=3,
                        help="timed runs per measurement (the median is reported); 3 by default")
    parser.add_argument("--out", default=str(common.RESULTS))
    parser.add_argument("--report", default=str(common.ROOT / "benchmarks" / "results" / "report.md"))
    args = parser.parse_args(argv)
    parts = set(args.only or ["W1", "W2", "memory", "scaleout", "W3"])
    if args.quick or args.skip_book:
        parts.discard("W3")
    run_id = common.new_run_id()
    header = common.run_header(run_id, "quick" if args.quick else "full", sys.argv)
    header["repeats"] = args.repeats
    common.append(header, args.out)
    print(f"run {run_id} -> {args.out}", flush=True)
    for name in ("W1", "W2"):
        if name in parts:
            run_workload(name, run_id=run_id, quick=args.quick, repeats=args.repeats, out=args.out)
    if "memory" in parts:
        run_memory(run_id, args.quick, args.out)
    if "scaleout" in parts:
        run_scaleout(run_id, args.quick, args.out, args.repeats)
    if "W3" in parts:
        run_book(run_id, args.out)
    text = report.render(report.load(args.out), run_id)
    Path(args.report).write_text(text)
    print(text)
    print(f"report written to {args.report}")


if __name__ == "__main__":
    main()
