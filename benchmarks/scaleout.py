"""Scale-out of W1: serial, a 2-process ProcessPoolExecutor, and a 2-worker Dask cluster.

``python -m benchmarks.scaleout --paths 100000`` prints one JSON record with the
median of 3 timed runs (after a warm-up) for each executor, the speed-ups over
the serial run, and whether every executor's estimate equals the serial one
bit for bit. The pools are started before the timing, as a user reuses them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import workloads as wl  # noqa: E402

WORKERS = 2


def _solve(paths, executor, chunk_size, seed=0):
    from smecore.solvers import solve_sde
    stats = solve_sde(wl.DoubleWellSME(), wl.w1_x0(), wl.W1_T, n_steps=wl.W1_STEPS,
                      increments="discrete", n_paths=paths, rng=seed, record=[wl.W1_STEPS],
                      observables={"msq": wl.mean_square}, chunk_size=chunk_size, executor=executor)
    return stats["msq"]


def _time(paths, executor, chunk_size, repeats):
    _solve(min(paths, 10_000), executor, chunk_size)  # warm-up: workers import smecore
    times, est = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        est = _solve(paths, executor, chunk_size)
        times.append(time.perf_counter() - start)
    return statistics.median(times), times, est


def measure(paths, repeats=3) -> dict:
    # 8 chunks per worker (whole blocks): balanced, little overhead.
    chunk_size = max(1024, 1024 * (paths // (1024 * 8 * WORKERS)))
    out = {"status": "ok", "paths": paths, "workers": WORKERS, "chunk_size": chunk_size, "runs": {},
           "load_average": [round(x, 2) for x in os.getloadavg()]}
    serial, serial_all, reference = _time(paths, None, chunk_size, repeats)
    out["runs"]["serial"] = {"seconds": serial, "seconds_all": serial_all,
                             "estimate": float(reference.mean[-1]), "stderr": float(reference.stderr[-1])}

    def record(name, executor):
        seconds, all_times, est = _time(paths, executor, chunk_size, repeats)
        out["runs"][name] = {
            "seconds": seconds, "seconds_all": all_times, "speedup": serial / seconds,
            "estimate": float(est.mean[-1]), "stderr": float(est.stderr[-1]),
            "identical_to_serial": bool((est.mean == reference.mean).all()
                                        and (est.stderr == reference.stderr).all()),
        }

    with ProcessPoolExecutor(WORKERS) as pool:
        record("process_pool", pool)
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:
        out["runs"]["dask"] = {"status": "unavailable", "reason": str(exc)}
    else:
        import dask
        # Dask's nanny sets MALLOC_TRIM_THRESHOLD_=65536 in its workers, which fixes glibc's
        # mmap threshold: every large temporary array then costs an mmap and page faults
        # (W1 runs 2-3x slower). Leave the worker's allocator alone, as a user should.
        with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}), \
                LocalCluster(n_workers=WORKERS, threads_per_worker=1, processes=True,
                             dashboard_address=None) as cluster, Client(cluster) as client:
            record("dask", client.get_executor())
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.paths, args.repeats)))


if __name__ == "__main__":
    main()
