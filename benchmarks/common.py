"""Shared plumbing: run ids, machine and version records, the results file, subprocesses."""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "results.jsonl"
PEER_MODULES = ("numpy", "scipy", "torch", "torchsde", "jax", "jaxlib", "diffrax", "lineax",
                "sdeint", "dask", "distributed")


def new_run_id() -> str:
    return _dt.datetime.now().strftime("%Y%m%dT%H%M%S")


def machine_info() -> dict:
    info = {"platform": platform.platform(), "python": platform.python_version(),
            "cores": os.cpu_count()}
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as fh:
            info["memory_gb"] = round(int(fh.readline().split()[1]) / 2**20, 1)
        info["load_average"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        pass
    return info


_VERSIONS_SCRIPT = """
import importlib, json, sys
out = {}
for name in sys.argv[1:]:
    try:
        out[name] = importlib.import_module(name).__version__
    except Exception:
        pass
print(json.dumps(out))
"""


def versions() -> dict:
    # In a child process: importing torch and JAX here would inflate this process, and a
    # child's ru_maxrss starts from its parent's peak (Linux keeps it across exec).
    proc = subprocess.run([sys.executable, "-c", _VERSIONS_SCRIPT, "smecore", *PEER_MODULES],
                          capture_output=True, text=True, cwd=ROOT)
    try:
        out = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        out = {}
    try:
        out["smecore_commit"] = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
            check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
        out["smecore_tree"] = "modified" if dirty else "clean"
    except (OSError, subprocess.CalledProcessError):
        pass
    return out


def run_header(run_id, mode, argv) -> dict:
    return {"type": "run", "run_id": run_id, "mode": mode,
            "date": _dt.datetime.now().isoformat(timespec="seconds"),
            "machine": machine_info(), "versions": versions(), "argv": list(argv)}


def append(record, path=RESULTS):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fh.write(json.dumps(record) + "\n")


def python_module(module, *args, timeout=None, env=None) -> dict:
    """Run ``python -m benchmarks.<module> args`` from the repository root; parse its last JSON line.

    ``env`` adds environment variables for the child.
    """
    env = dict(os.environ, **(env or {}))
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in [env.get("PYTHONPATH")] if p])
    proc = subprocess.run([sys.executable, "-m", f"benchmarks.{module}", *map(str, args)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"status": "error", "reason": f"exit {proc.returncode}: {proc.stderr[-1500:]}"}
    return json.loads(lines[-1])


def describe(record) -> str:
    """One line per measurement for the console."""
    head = f"{record.get('workload', '')} M={record.get('M', '')} {record.get('adapter', '')}"
    if record.get("status") != "ok":
        return f"{head}: {record.get('status')} ({record.get('reason', '')[:200]})"
    est = record.get("estimate")
    value = "no estimate" if est is None else f"{est:.6f} +- {record['stderr']:.6f}"
    extra = f" (extrapolated from {record['simulated_paths']} paths)" if record.get("extrapolated") else ""
    return (f"{head}: {record['seconds']:.3f} s{extra}, {record['throughput'] / 1e6:.1f} M/s, "
            f"peak RSS {record['peak_rss_mb']:.0f} MB, estimate {value}")
