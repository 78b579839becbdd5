"""The benchmark adapters compute the same thing: estimates agree within 4 standard errors.

Peers that are not installed are skipped. No timings are asserted: the
harness is only checked to produce well-formed records.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import adapters as ad  # noqa: E402
from benchmarks import common, harness, report  # noqa: E402

SMALL_M = {"W1": 100, "W2": 200}
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
              "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"}
SEED = 3


def _estimate(workload, name, M=None, seed=SEED):
    """(mean, stderr) of one adapter; peers run in a child process.

    Importing JAX or torch here would make every later fork (the process
    pools of the other tests) unsafe, so only smecore runs in this process.
    """
    adapter = ad.get_adapter(workload, name)
    ok, reason = adapter.available()
    if not ok:
        pytest.skip(f"{name}: {reason}")
    M = M or SMALL_M[workload]
    if adapter.kind != "smecore":
        # One thread each: these checks are not timed, and on a busy machine spinning
        # thread pools only slow everything down.
        rec = common.python_module("harness", "--workload", workload, "--adapter", name,
                                   "--paths", M, "--repeats", 1, "--seed", seed, "--no-warmup",
                                   env=ONE_THREAD)
        assert rec["status"] == "ok", rec
        return rec["estimate"], rec["stderr"]
    try:
        adapter.setup(M, seed)
        return adapter.run(M, seed)
    finally:
        adapter.close()


@pytest.fixture(scope="module")
def references():
    return {w: _estimate(w, "smecore", seed=SEED + 100) for w in SMALL_M}


CASES = [(w, cls.name) for w, classes in ad.ADAPTERS.items() for cls in classes]


@pytest.mark.parametrize("workload,name", CASES, ids=[f"{w}-{n}" for w, n in CASES])
def test_adapter_estimates_agree(workload, name, references):
    mean, stderr = _estimate(workload, name)
    cls = next(c for c in ad.ADAPTERS[workload] if c.name == name)
    if cls.kind == "floor":
        assert mean is None and stderr is None
        return
    ref_mean, ref_stderr = references[workload]
    assert stderr > 0 and math.isfinite(mean)
    assert abs(mean - ref_mean) <= 4 * math.hypot(stderr, ref_stderr), (name, mean, ref_mean)


@pytest.mark.parametrize("workload", ["W1", "W2"])
def test_process_pool_adapter_equals_serial_bit_for_bit(workload):
    M = 3000
    assert _estimate(workload, "smecore", M) == _estimate(workload, "smecore-2proc", M)


def test_harness_record_and_unavailable_peer(monkeypatch):
    rec = harness.measure("W2", "numpy-loop", 20, repeats=1)
    assert rec["status"] == "ok" and rec["M"] == 20 and rec["seconds"] > 0
    assert rec["throughput"] == pytest.approx(20 * 10 * 1000 / rec["seconds"])
    assert rec["peak_rss_mb"] > 0 and rec["stderr"] > 0
    monkeypatch.setattr(ad.W2Torch, "requires", ("no_such_module_xyz",))
    rec = harness.measure("W2", "torch", 20, repeats=1)
    assert rec["status"] == "unavailable" and "no_such_module_xyz" in rec["reason"]


def _synthetic(tmp_path):
    run = {"type": "run", "run_id": "R1", "mode": "full", "date": "2026-01-01T00:00:00",
           "machine": {"cpu": "test cpu", "cores": 2}, "versions": {"numpy": "2"}, "argv": []}
    rows = [run]
    for name, seconds, est in [("smecore", 1.0, 0.67), ("numpy-loop", 3.0, 0.671),
                               ("diffrax", 3.5, 0.672), ("normal-floor", 2.0, None),
                               ("smecore-numba", 0.2, 0.669), ("smecore-numba-gaussian", 1.5, 0.671)]:
        rows.append({"type": "measurement", "run_id": "R1", "workload": "W1", "adapter": name,
                     "M": 100_000, "status": "ok", "seconds": seconds, "throughput": 1e9 / seconds,
                     "peak_rss_mb": 100.0, "estimate": est, "stderr": None if est is None else 0.001})
    rows.append({"type": "measurement", "run_id": "R1", "workload": "W1", "adapter": "torchsde",
                 "M": 100_000, "status": "unavailable", "reason": "not installed: torchsde"})
    path = tmp_path / "results.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def test_report_ratios_and_targets(tmp_path):
    records = report.load(_synthetic(tmp_path))
    assert report.latest_run_id(records) == "R1"
    # a later run of the scale-out part alone is not what the report shows by default
    later = [{"type": "run", "run_id": "R2"}, {"type": "scaleout", "run_id": "R2"}]
    assert report.latest_run_id(records + later) == "R1"
    ratios = report.speedups(records, "R1", "W1", 100_000)
    assert ratios["numpy-loop"] == pytest.approx(3.0) and ratios["normal-floor"] == pytest.approx(2.0)
    met = {desc: flag for desc, _, flag in report.targets(records, "R1")}
    assert met["W1, M = 100,000: smecore >= 2x plain numpy loop"] is True
    assert met["W1, M = 100,000: smecore >= 4x diffrax (CPU, jit + vmap)"] is False
    assert met["W1, M = 100,000: smecore >= 7x torchsde (CPU)"] is None  # not installed
    # the compiled paths are measured against the loop and the floor, not against smecore
    assert met["W1, M = 100,000: smecore, numba kernel >= 12x plain numpy loop"] is True
    assert met["W1, M = 100,000: smecore, numba kernel, Gaussian increments >= 2.5x plain numpy loop"] is False
    assert met["W1, M = 100,000: smecore, numba kernel, Gaussian increments >= 1x numpy: draw the normals only"] is True
    assert met["W2, M = 10,000: smecore, numba kernel >= 3x plain numpy loop"] is None
    text = report.render(records)
    assert "3.00x" in text and "not installed: torchsde" in text and "**no**" in text
    assert "| 15.00x |" in text  # numba row: numpy loop's time / its time
    floors = text[text.index("### Floors"):text.index("### W1")]
    # numba kernel: 3.0 / 0.2 = 15x the loop and 2.0 / 0.2 = 10x the normal floor
    assert "| smecore, numba kernel | 0.2 | — | 15.00x | 10.00x |" in floors
