"""Time one adapter at one M in a fresh process: a warm-up, then the median of 3.

Run as ``python -m benchmarks.harness --workload W1 --adapter numpy-loop --paths 1000``
(from the repository root); prints one JSON record on its last line. A fresh
process per measurement gives each tool a clean heap (so peak RSS is its own)
and its own thread pools.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import adapters as ad  # noqa: E402
from benchmarks import workloads as wl  # noqa: E402


#: The untimed warm-up run simulates min(M, WARMUP_PATHS) paths (compiled peers compile
#: the timed shape in setup).
WARMUP_PATHS = 10_000


def _cpu_seconds() -> float:
    """User + system CPU time of this process, all its threads (not its child processes)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def measure(workload, adapter_name, M, *, repeats=3, seed=0, warmup=True) -> dict:
    adapter = ad.get_adapter(workload, adapter_name)
    spec = wl.WORKLOADS[workload]
    record = {"workload": workload, "adapter": adapter_name, "kind": adapter.kind, "M": M,
              "note": adapter.note, "load_average": [round(x, 2) for x in os.getloadavg()]}
    ok, reason = adapter.available()
    if not ok:
        record.update(status="unavailable", reason=reason)
        return record
    simulated = M if adapter.max_paths is None else min(M, adapter.max_paths)
    try:
        adapter.setup(simulated, seed)
        record["rss_after_setup_mb"] = round(peak_rss_mb(), 1)
        if warmup:  # imports, caches, thread pools, small-shape compiles: not timed
            adapter.run(min(simulated, WARMUP_PATHS), seed)
        times, cpu, result = [], [], None
        for _ in range(repeats):
            start, start_cpu = time.perf_counter(), _cpu_seconds()
            result = adapter.run(simulated, seed)
            times.append(time.perf_counter() - start)
            cpu.append(_cpu_seconds() - start_cpu)
        record["versions"] = adapter.versions()
    except Exception as exc:  # noqa: BLE001 - a failing peer is reported, not fatal
        record.update(status="error", reason=f"{type(exc).__name__}: {exc}",
                      traceback=traceback.format_exc()[-2000:])
        return record
    finally:
        adapter.close()
    seconds = statistics.median(times)
    scale = M / simulated
    work = M * spec.dim * spec.n_steps
    record.update(
        status="ok",
        simulated_paths=simulated,
        extrapolated=simulated != M,
        seconds=seconds * scale,
        seconds_all=[t * scale for t in times],
        cpu_seconds=statistics.median(cpu) * scale,
        throughput=work / (seconds * scale),
        peak_rss_mb=round(peak_rss_mb(), 1),
        estimate=None if result[0] is None else float(result[0]),
        stderr=None if result[1] is None else float(result[1]),
        repeats=repeats,
        warmup=warmup,
    )
    return record


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", required=True, choices=sorted(wl.WORKLOADS))
    parser.add_argument("--adapter", required=True)
    parser.add_argument("--paths", type=int, required=True)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-warmup", action="store_true")
    args = parser.parse_args(argv)
    record = measure(args.workload, args.adapter, args.paths, repeats=args.repeats,
                     seed=args.seed, warmup=not args.no_warmup)
    print(json.dumps(record))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
