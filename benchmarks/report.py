"""Render the benchmark table from benchmarks/results/results.jsonl.

``python benchmarks/report.py`` prints the latest run as Markdown (``--run ID``
for another, ``--out FILE`` to write it too). Ratios are smecore's speed-up
over each tool, from the same run: (tool's time) / (smecore's time), both the
median of 3 timed runs at the same M.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common  # noqa: E402
from benchmarks import workloads as wl  # noqa: E402

REFERENCE = "smecore"
LABELS = {
    "smecore": "smecore (1 process)",
    "smecore-gaussian": "smecore, Gaussian increments",
    "smecore-2proc": "smecore, 2 processes",
    "smecore-numba": "smecore, numba kernel",
    "smecore-numba-gaussian": "smecore, numba kernel, Gaussian increments",
    "numpy-loop": "plain numpy loop",
    "normal-floor": "numpy: draw the normals only",
    "index-floor": "numpy: draw the indices only",
    "discrete-floor": "numpy: draw the random bits only",
    "compute-floor": "compute floor: the arithmetic alone (numba, one core)",
    "torchsde": "torchsde (CPU)",
    "diffrax": "diffrax (CPU, jit + vmap)",
    "sdeint": "sdeint (one path per call)",
    "torch": "torch (CPU, eager)",
    "jax": "JAX (CPU, jit + scan)",
}
# (workload, M, smecore adapter, peer, minimum speed-up of the adapter over the peer)
TARGETS = [
    ("W1", 100_000, "smecore", "numpy-loop", 2.0), ("W1", 100_000, "smecore", "diffrax", 4.0),
    ("W1", 100_000, "smecore", "torchsde", 7.0), ("W1", 100_000, "smecore", "sdeint", 50.0),
    ("W1", 100_000, "smecore", "normal-floor", 1.0),
    ("W2", 10_000, "smecore", "numpy-loop", 1.5), ("W2", 10_000, "smecore", "torch", 1.0),
    ("W2", 10_000, "smecore", "jax", 1.0),
    # the compiled paths (counter-based random streams, fused kernels)
    ("W1", 100_000, "smecore-numba", "numpy-loop", 12.0),
    ("W1", 100_000, "smecore-numba-gaussian", "numpy-loop", 2.5),
    ("W1", 100_000, "smecore-numba-gaussian", "normal-floor", 1.0),
    ("W2", 10_000, "smecore-numba", "numpy-loop", 3.0),
]
SCALEOUT_TARGET = 1.8
MEMORY_TARGET_MB = 500
BOOK_TARGET_S, TESTS_TARGET_S = 600, 900


def load(path=common.RESULTS):
    records = []
    with open(path) as fh:
        for line in fh:
            line = line.strip()
            if line:
                records.append(json.loads(line))
    return records


def latest_run_id(records):
    """The latest run that measured W1 or W2 (a run of one part, e.g. scale-out alone, is
    shown only when asked for with ``--run``); the latest run of any kind if none did."""
    runs = [r["run_id"] for r in records if r.get("type") == "run"]
    if not runs:
        raise SystemExit("no run in the results file")
    measured = {r["run_id"] for r in records if r.get("type") == "measurement"}
    return next((run for run in reversed(runs) if run in measured), runs[-1])


def _fmt_time(s):
    return f"{s:.3g}" if s < 100 else f"{s:.0f}"


def _fmt_ratio(x):
    """Two decimals, or two significant digits below 0.1 (a floor far below the tool)."""
    return f"{x:.2f}x" if x >= 0.1 else f"{x:.2g}x"


def _fmt_estimate(mean, stderr):
    """Mean to two digits of its standard error."""
    digits = max(0, 1 - int(math.floor(math.log10(stderr)))) if stderr > 0 else 6
    return f"{mean:.{digits}f} ± {stderr:.{digits}f}"


def _measurements(records, run_id, workload):
    return [r for r in records if r.get("run_id") == run_id and r.get("type") == "measurement"
            and r.get("workload") == workload]


def speedups(records, run_id, workload, M, reference=REFERENCE):
    """{adapter: time(adapter) / time(reference)} at this M (ok records only)."""
    rows = {r["adapter"]: r for r in _measurements(records, run_id, workload)
            if r.get("M") == M and r.get("status") == "ok"}
    ref = rows.get(reference)
    if ref is None:
        return {}
    return {name: r["seconds"] / ref["seconds"] for name, r in rows.items()}


def _agreement(rec, ref):
    if rec.get("estimate") is None or ref is None or ref.get("estimate") is None:
        return ""
    z = abs(rec["estimate"] - ref["estimate"]) / math.hypot(rec["stderr"], ref["stderr"])
    return f"{z:.1f}" + ("" if z <= 4 else " (> 4!)")


def _workload_section(records, run_id, name, repeats=3):
    spec = wl.WORKLOADS[name]
    rows = _measurements(records, run_id, name)
    if not rows:
        return []
    out = [f"### {name}: {spec.title}", "",
           f"Estimate: {spec.estimand}. Time: median of {repeats} timed run(s) after a warm-up, each tool in a "
           "fresh process. Throughput: paths x dimensions x steps per second. Speed-up: the "
           "tool's time divided by smecore's (1 process), same M, same run; vs numpy loop: the plain "
           "numpy loop's time divided by the tool's. z: distance of the "
           "estimate from smecore's in combined standard errors (agreement: z <= 4). CPU: "
           "user + system time of the timing process, all its threads (for 2 processes, the "
           "parent only); on a busy machine it is steadier than the wall time.", ""]
    for M in sorted({r["M"] for r in rows}):
        at_m = [r for r in rows if r["M"] == M]
        ref = next((r for r in at_m if r["adapter"] == REFERENCE and r.get("status") == "ok"), None)
        ratio = speedups(records, run_id, name, M)
        loop = next((r for r in at_m if r["adapter"] == "numpy-loop" and r.get("status") == "ok"), None)
        out += [f"**M = {M:,}**", "",
                "| tool | time (s) | CPU (s) | throughput (M/s) | peak RSS (MB) | estimate ± stderr | z "
                "| smecore speed-up | vs numpy loop |",
                "|---|---:|---:|---:|---:|---|---:|---:|---:|"]
        for r in at_m:
            label = LABELS.get(r["adapter"], r["adapter"])
            if r.get("status") != "ok":
                out.append(f"| {label} | {r.get('status')}: {r.get('reason', '')[:80]} | | | | | | | |")
                continue
            if r.get("extrapolated"):
                label += f" ¹ (ran {r['simulated_paths']} paths)"
            est = "—" if r.get("estimate") is None else _fmt_estimate(r["estimate"], r["stderr"])
            speed = ("—" if r["adapter"] == REFERENCE
                     else f"{ratio[r['adapter']]:.2f}x" if r["adapter"] in ratio else "")
            cpu = "—" if r.get("cpu_seconds") is None else _fmt_time(r["cpu_seconds"])
            vs_loop = "" if loop is None else f"{loop['seconds'] / r['seconds']:.2f}x"
            out.append(f"| {label} | {_fmt_time(r['seconds'])} | {cpu} | {r['throughput'] / 1e6:.1f} | "
                       f"{r['peak_rss_mb']:.0f} | {est} | {_agreement(r, ref) if r is not ref else ''} | {speed} "
                       f"| {vs_loop} |")
        out.append("")
    if any(r.get("extrapolated") for r in rows):
        out += ["¹ One path per call: the time for M paths is M times the measured time per path "
                "(extrapolated, not run at this M); its estimate comes from the paths it ran.", ""]
    return out


#: The floors a compiled path is compared with: what any code must spend on its random
#: numbers when it draws them with numpy, and the arithmetic of the step alone.
FLOORS = {"W1": ("normal-floor", "discrete-floor", "compute-floor"),
          "W2": ("index-floor", "compute-floor")}


def _floors_section(records, run_id):
    """The compiled paths against the plain loop and the floors, at each workload's largest M."""
    out = []
    for name, floors in FLOORS.items():
        rows = [r for r in _measurements(records, run_id, name) if r.get("status") == "ok"]
        if not rows:
            continue
        M = max(r["M"] for r in rows)
        at_m = {r["adapter"]: r for r in rows if r["M"] == M}
        present = [f for f in floors if f in at_m]
        if "numpy-loop" not in at_m or not present:
            continue
        if not out:
            out = ["### Floors: the compiled paths against the plain loop and the floors", "",
                   "Same run as the tables below. A floor is what one part of the work costs "
                   "alone: drawing the random numbers with numpy (normals, random bits or "
                   "indices), or the arithmetic of the steps with no random numbers "
                   "(compute floor, numba on one core). A ratio is the other row's time "
                   "divided by this row's: above 1, this row is faster.", ""]
        head = ["tool", "time (s)", "CPU (s)", "vs numpy loop"] + [f"vs {LABELS[f]}" for f in present]
        out += [f"**{name}, M = {M:,}**", "", "| " + " | ".join(head) + " |",
                "|---|" + "---:|" * (len(head) - 1)]
        order = [a for a in at_m if a.startswith("smecore") and a != "smecore-2proc"]
        for adapter in order + ["numpy-loop"] + present:
            r = at_m[adapter]
            cpu = "—" if r.get("cpu_seconds") is None else _fmt_time(r["cpu_seconds"])
            cells = [LABELS.get(adapter, adapter), _fmt_time(r["seconds"]), cpu]
            for base in ["numpy-loop"] + present:
                cells.append("" if base == adapter or adapter in present
                             else _fmt_ratio(at_m[base]["seconds"] / r["seconds"]))
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    return out


def _scaleout_section(records, run_id):
    recs = [r for r in records if r.get("run_id") == run_id and r.get("type") == "scaleout"]
    if not recs or recs[-1].get("status") != "ok":
        return []
    rec = recs[-1]
    out = [f"### Scale-out: W1 at M = {rec['paths']:,} with {rec['workers']} workers", "",
           f"Chunks of {rec['chunk_size']:,} paths; pools started before timing; median of "
           f"{len(rec['runs']['serial']['seconds_all'])} timed run(s)"
           + (f"; load average {rec['load_average'][0]:.2f} when this part started "
              "(above 0 means other jobs competed for the 2 cores)." if "load_average" in rec else "."), "",
           "| executor | time (s) | speed-up | estimate | identical to serial |", "|---|---:|---:|---|---|"]
    for name, r in rec["runs"].items():
        if "seconds" not in r:
            out.append(f"| {name} | {r.get('status')}: {r.get('reason', '')[:60]} | | | |")
            continue
        out.append(f"| {name} | {_fmt_time(r['seconds'])} | {r.get('speedup', 1.0):.2f}x | "
                   f"{r['estimate']:.6f} | {'yes' if r.get('identical_to_serial', True) else 'NO'} |")
    return out + [""]


def _memory_section(records, run_id):
    recs = [r for r in records if r.get("run_id") == run_id and r.get("type") == "memory"]
    if not recs:
        return []
    out = ["### Memory: W1 in statistics mode", "",
           "Peak RSS of a fresh process (`resource.getrusage`), after importing and after the run; "
           "the last column is what the final states alone would take if stored.", "",
           "| paths | steps | peak RSS (MB) | RSS after import (MB) | time (s) | states if stored (MB) |",
           "|---:|---:|---:|---:|---:|---:|"]
    for r in recs:
        if r.get("status") != "ok":
            out.append(f"| {r['paths']:,} | {r['steps']} | {r.get('status')} | | | |")
            continue
        out.append(f"| {r['paths']:,} | {r['steps']} | {r['peak_rss_mb']:.0f} | {r['rss_before_mb']:.0f} | "
                   f"{_fmt_time(r['seconds'])} | {r['state_mb_if_stored']:.0f} |")
    return out + [""]


def _book_section(records, run_id):
    recs = [r for r in records if r.get("run_id") == run_id and r.get("type") == "book"]
    if not recs or "book_seconds" not in recs[-1]:
        return []
    r = recs[-1]
    return ["### W3: the book, from a clean clone of commit " + r.get("commit", "?"), "",
            "| command | wall time (s) | exit code | target (s) |", "|---|---:|---|---:|",
            f"| `jupyter-book build .` | {r['book_seconds']:.0f} | {r['book_returncode']} | {BOOK_TARGET_S} |",
            f"| `pytest` | {r['tests_seconds']:.0f} | {r['tests_returncode']} | {TESTS_TARGET_S} |",
            "", f"pytest: {r.get('tests_summary', '')}", ""]


def targets(records, run_id):
    """[(description, measured text, met: True/False/None)]; None = not measured in this run."""
    rows = []
    for workload, M, subject, peer, minimum in TARGETS:
        ratio = speedups(records, run_id, workload, M, subject).get(peer)
        who = "smecore" if subject == REFERENCE else LABELS[subject]
        desc = f"{workload}, M = {M:,}: {who} >= {minimum:g}x {LABELS[peer]}"
        rows.append((desc, "not measured" if ratio is None else f"{ratio:.2f}x",
                     None if ratio is None else ratio >= minimum))
    sc = [r for r in records if r.get("run_id") == run_id and r.get("type") == "scaleout"]
    if sc and sc[-1].get("status") == "ok":
        for name in ("process_pool", "dask"):
            r = sc[-1]["runs"].get(name, {})
            if "speedup" in r:
                rows.append((f"W1, M = {sc[-1]['paths']:,}: {name} with 2 workers >= {SCALEOUT_TARGET}x serial"
                             + (" (M below the target's 1e5)" if sc[-1]["paths"] < 100_000 else ""),
                             f"{r['speedup']:.2f}x", r["speedup"] >= SCALEOUT_TARGET))
                rows.append((f"{name}: result identical to the serial run, bit for bit", "",
                             r.get("identical_to_serial", False)))
    mem = [r for r in records if r.get("run_id") == run_id and r.get("type") == "memory"
           and r.get("status") == "ok" and r["paths"] >= 10_000_000]
    for r in mem:
        rows.append((f"memory: 1e7 paths x {r['steps']} steps, peak RSS < {MEMORY_TARGET_MB} MB",
                     f"{r['peak_rss_mb']:.0f} MB", r["peak_rss_mb"] < MEMORY_TARGET_MB))
    book = [r for r in records if r.get("run_id") == run_id and r.get("type") == "book"]
    if book and "book_seconds" in book[-1]:
        b = book[-1]
        rows.append((f"W3: book builds in < {BOOK_TARGET_S} s", f"{b['book_seconds']:.0f} s",
                     b["book_seconds"] < BOOK_TARGET_S and b["book_returncode"] == 0))
        rows.append((f"W3: tests run in < {TESTS_TARGET_S} s", f"{b['tests_seconds']:.0f} s",
                     b["tests_seconds"] < TESTS_TARGET_S and b["tests_returncode"] == 0))
    agreements = []
    for workload in ("W1", "W2"):
        by_m = {}
        for r in _measurements(records, run_id, workload):
            by_m.setdefault(r["M"], []).append(r)
        for rows_m in by_m.values():
            ref = next((r for r in rows_m if r["adapter"] == REFERENCE and r.get("status") == "ok"), None)
            for r in rows_m:
                if r.get("status") == "ok" and r.get("estimate") is not None and ref is not None and r is not ref:
                    agreements.append(abs(r["estimate"] - ref["estimate"]) / math.hypot(r["stderr"], ref["stderr"]))
    if agreements:
        rows.append(("every estimate within 4 standard errors of smecore's", f"max z = {max(agreements):.1f}",
                     max(agreements) <= 4))
    return rows


def render(records, run_id=None) -> str:
    run_id = run_id or latest_run_id(records)
    header = next(r for r in records if r.get("type") == "run" and r["run_id"] == run_id)
    m, v = header["machine"], header["versions"]
    vers = ", ".join(f"{k} {val}" for k, val in v.items() if not k.startswith("smecore_"))
    repeats = header.get("repeats", 3)
    out = [f"### Run {run_id} ({header['mode']}, median of {repeats} timed run{'s' if repeats > 1 else ''})", "",
           f"- date: {header['date']}",
           f"- machine: {m.get('cpu', '?')}, {m.get('cores', '?')} cores, {m.get('memory_gb', '?')} GB, "
           f"{m.get('platform', '')}; load average at start {m.get('load_average', '?')}",
           f"- smecore commit {v.get('smecore_commit', '?')} ({v.get('smecore_tree', '?')} tree); {vers}",
           "- every computation in float64; peers run with their default thread settings"]
    load = (m.get("load_average") or [0.0])[0]
    if load > 0.5:
        out.append(f"- **the machine was not idle** (load average {load:.2f} at the start): other "
                   "jobs share the cores, so the timings are noisy and the 2-worker speed-ups "
                   "understated; rerun on a quiet machine for numbers worth quoting")
    out.append("")
    rows = targets(records, run_id)
    if rows:
        out += ["### Targets", "", "| target | measured | met |", "|---|---:|---|"]
        for desc, measured, met in rows:
            flag = "not measured" if met is None else ("yes" if met else "**no**")
            out.append(f"| {desc} | {measured} | {flag} |")
        out.append("")
    out += _floors_section(records, run_id)
    for name in ("W1", "W2"):
        out += _workload_section(records, run_id, name, header.get("repeats", 3))
    out += _scaleout_section(records, run_id)
    out += _memory_section(records, run_id)
    out += _book_section(records, run_id)
    return "\n".join(out).rstrip() + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default=str(common.RESULTS))
    parser.add_argument("--run", default=None, help="run id (default: the latest)")
    parser.add_argument("--out", default=None, help="also write the Markdown here")
    args = parser.parse_args(argv)
    text = render(load(args.results), args.run)
    if args.out:
        Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
