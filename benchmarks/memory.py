"""Peak memory of smecore's statistics mode: W1 with many paths, in a fresh process.

``python -m benchmarks.memory --paths 10000000 --steps 1000`` prints one JSON
record: peak RSS (``resource.getrusage``) after importing and after the run.
Statistics mode streams per-block statistics, so memory is bounded by the
chunk (16 blocks of 1024 paths), not by paths x steps.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import workloads as wl  # noqa: E402


def _rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def measure(paths, steps, seed=0) -> dict:
    from smecore.solvers import solve_sde
    before = _rss_mb()
    start = time.perf_counter()
    stats = solve_sde(wl.DoubleWellSME(), wl.w1_x0(), steps * wl.W1_H, n_steps=steps,
                      increments="discrete", n_paths=paths, rng=seed, record=[steps],
                      observables={"msq": wl.mean_square})
    seconds = time.perf_counter() - start
    est = stats["msq"]
    return {"status": "ok", "paths": paths, "steps": steps, "T": steps * wl.W1_H,
            "seconds": seconds, "rss_before_mb": round(before, 1), "peak_rss_mb": round(_rss_mb(), 1),
            "state_mb_if_stored": round(paths * wl.W1_DIM * 8 / 2**20, 1),
            "estimate": float(est.mean[-1]), "stderr": float(est.stderr[-1])}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, required=True)
    parser.add_argument("--steps", type=int, default=wl.W1_STEPS)
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.paths, args.steps)))


if __name__ == "__main__":
    main()
