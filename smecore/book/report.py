"""The reproduction report: every verdict by result id, as JSON and Markdown.

:func:`build_report` collects the chapters' verdict records with the software
environment (:func:`environment`); :func:`write_report` writes ``report.json`` and
``report.md``; :func:`summary_table` is the terminal summary. :data:`RESULTS`
names the results of the paper that the verdicts refer to.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import json
import math
import pathlib
import platform

__all__ = ["RESULTS", "environment", "build_report", "render_markdown", "write_report", "summary_table"]


#: The ids of the paper's results that verdicts refer to (the book's reading map), in
#: reading order, with a one-line description each. The report and the book's reproduction
#: page list them all, also those no chapter illustrates yet.
def _version(distribution):
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def environment():
    """Versions of the software that produces the verdicts.

    The chapters run in a Jupyter kernel of this same Python environment (kernel
    ``python3``), so these are the versions the notebooks import.

    Returns
    -------
    dict
        ``python, numpy, scipy, smecore, papermill, platform``.

    Examples
    --------
    >>> sorted(environment())
    ['numpy', 'papermill', 'platform', 'python', 'scipy', 'smecore']
    """
    from smecore import __version__ as smecore_version
    return {
        "python": platform.python_version(),
        "numpy": _version("numpy"),
        "scipy": _version("scipy"),
        "smecore": smecore_version,
        "papermill": _version("papermill"),
        "platform": platform.platform(),
    }



RESULTS = {
    "T1": "Theorem 3: one-step moment matching gives weak order alpha",
    "L4": "Lemma 4: one-step moments of the SDE",
    "L5": "Lemma 5: one-step moments of SGD",
    "S1": "SME of order 1 for SGD",
    "S2": "SME of order 2 for SGD",
    "M1": "SME of momentum SGD",
    "N1": "SME of stochastic Nesterov",
    "D1": "explicit dynamics: phases, stationary levels, mini-batches",
    "A1": "asymptotic expansion and the adaptive learning rate",
}


def build_report(chapters, *, options=None, env=None, total_wall_time=None, created=None):
    """Assemble the machine-readable report from :func:`run_chapter` results.

    Parameters
    ----------
    chapters : list of dict
        Results of :func:`run_chapter`, in reading order.
    options : dict, optional
        The run's options (quick, seed, jobs, chapters), recorded as given.
    env : dict, optional
        Versions (default: :func:`environment`), copied into every verdict record.
    total_wall_time : float, optional
        Seconds for the whole run (default: the sum of the chapters' times).
    created : str, optional
        ISO timestamp (default: now).

    Returns
    -------
    dict
        ``created, options, environment, total_wall_time, chapters, results, verdicts,
        summary``. ``summary["ok"]`` is True when every chapter ran, printed at least one
        verdict, and every verdict passed.

    Examples
    --------
    >>> chapter = {"name": "demo", "notebook": "demo.ipynb", "output": "out/demo.ipynb",
    ...            "status": "ok", "error": None, "wall_time": 1.5, "seed": 7, "source": "json",
    ...            "verdicts": [{"result": "S1", "quantity": "order", "value": 1.01,
    ...                          "uncertainty": None, "low": 0.9, "high": 1.1,
    ...                          "method": "exact", "passed": True}]}
    >>> report = build_report([chapter], env={"python": "3.11"}, created="2026-01-01T00:00:00")
    >>> record = report["verdicts"][0]
    >>> record["status"], record["chapter"], record["seed"], record["versions"]
    ('PASS', 'demo', 7, {'python': '3.11'})
    >>> results = report["results"]
    >>> report["summary"]["ok"], results["S1"]["n_pass"], results["T1"]["n_pass"]
    (True, 1, 0)
    """
    env = environment() if env is None else dict(env)
    records, chapter_rows = [], []
    for ch in chapters:
        n_pass = sum(bool(v.get("passed")) for v in ch["verdicts"])
        n_fail = len(ch["verdicts"]) - n_pass
        chapter_rows.append({
            "chapter": ch["name"], "notebook": ch["notebook"], "executed_notebook": ch["output"],
            "status": ch["status"], "error": ch["error"], "wall_time": ch["wall_time"],
            "seed": ch["seed"], "verdict_source": ch["source"], "n_pass": n_pass, "n_fail": n_fail,
        })
        for v in ch["verdicts"]:
            records.append({
                "result": v["result"], "chapter": ch["name"], "quantity": v["quantity"],
                "value": v["value"], "uncertainty": v.get("uncertainty"),
                "low": v.get("low"), "high": v.get("high"), "method": v["method"],
                "status": "PASS" if v.get("passed") else "FAIL", "passed": bool(v.get("passed")),
                "seed": ch["seed"], "wall_time": ch["wall_time"], "source": ch["source"],
                "versions": dict(env),
            })
    results = {}
    for rid in list(RESULTS) + sorted({r["result"] for r in records} - set(RESULTS)):
        mine = [r for r in records if r["result"] == rid]
        results[rid] = {
            "description": RESULTS.get(rid, ""),
            "chapters": list(dict.fromkeys(r["chapter"] for r in mine)),
            "n_pass": sum(r["passed"] for r in mine),
            "n_fail": sum(not r["passed"] for r in mine),
        }
    n_fail = sum(not r["passed"] for r in records)
    chapters_not_ok = [c["chapter"] for c in chapter_rows
                       if c["status"] != "ok" or c["n_pass"] + c["n_fail"] == 0]
    if total_wall_time is None:
        total_wall_time = sum(c["wall_time"] for c in chapter_rows)
    return {
        "created": created or datetime.datetime.now().isoformat(timespec="seconds"),
        "options": dict(options or {}),
        "environment": env,
        "total_wall_time": total_wall_time,
        "chapters": chapter_rows,
        "results": results,
        "verdicts": records,
        "summary": {
            "n_verdicts": len(records), "n_pass": len(records) - n_fail, "n_fail": n_fail,
            "chapters_not_ok": chapters_not_ok,
            "ok": n_fail == 0 and not chapters_not_ok and bool(chapter_rows),
        },
    }


def _fmt(x, digits=4):
    if x is None:
        return "-"
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    return f"{x:.{digits}g}"


def _cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(report):
    """The report as Markdown: environment, chapters, results by id, every verdict.

    Examples
    --------
    >>> report = build_report([], env={"python": "3.11"}, created="2026-01-01T00:00:00")
    >>> print(render_markdown(report).splitlines()[0])
    # Reproduction report
    """
    s, opts = report["summary"], report["options"]
    lines = [
        "# Reproduction report", "",
        f"Created {report['created']} by `{opts.get('command', 'smecore reproduce')}`; "
        f"quick={opts.get('quick', False)}, seed={opts.get('seed') or 'chapter default'}, "
        f"jobs={opts.get('jobs', 1)}.", "",
        f"**{s['n_pass']} of {s['n_verdicts']} verdicts PASS**"
        + (f", {s['n_fail']} FAIL" if s["n_fail"] else "")
        + (f"; chapters that did not complete or printed no verdict: "
           f"{', '.join(s['chapters_not_ok'])}" if s["chapters_not_ok"] else "")
        + f". Total wall time {report['total_wall_time']:.1f} s.", "",
        "## Environment", "", "| software | version |", "|---|---|",
    ]
    lines += [f"| {k} | {_cell(v)} |" for k, v in report["environment"].items()]
    lines += ["", "## Chapters", "",
              "| chapter | status | PASS | FAIL | seed | wall time (s) | verdicts from |",
              "|---|---|---|---|---|---|---|"]
    for c in report["chapters"]:
        status = c["status"] if not c["error"] else f"error: {c['error']}"
        lines.append(f"| {c['chapter']} | {_cell(status)} | {c['n_pass']} | {c['n_fail']} | "
                     f"{c['seed']} | {c['wall_time']:.1f} | {c['verdict_source']} |")
    lines += ["", "## Results of the paper", "", "| id | result | chapters | PASS | FAIL |",
              "|---|---|---|---|---|"]
    for rid, r in report["results"].items():
        chapters = ", ".join(r["chapters"]) or "not yet illustrated"
        lines.append(f"| {rid} | {_cell(r['description'])} | {chapters} | {r['n_pass']} | "
                     f"{r['n_fail']} |")
    lines += ["", "## Verdicts", "",
              "| id | chapter | quantity | value | +/- | band | method | verdict |",
              "|---|---|---|---|---|---|---|---|"]
    for v in report["verdicts"]:
        lines.append(f"| {v['result']} | {v['chapter']} | {_cell(v['quantity'])} | "
                     f"{_fmt(v['value'])} | {_fmt(v['uncertainty'], 2)} | "
                     f"[{_fmt(v['low'])}, {_fmt(v['high'])}] | {v['method']} | {v['status']} |")
    return "\n".join(lines) + "\n"


def write_report(report, out):
    """Write ``report.json`` and ``report.md`` into the folder ``out``; return both paths."""
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / "report.json", out / "report.md"
    json_path.write_text(json.dumps(report, indent=1, allow_nan=True) + "\n")
    md_path.write_text(render_markdown(report))
    return json_path, md_path


def summary_table(report):
    """The plain-text table printed at the end of a run."""
    rows = [("chapter", "status", "PASS", "FAIL", "time (s)")]
    for c in report["chapters"]:
        status = c["status"] if c["n_pass"] + c["n_fail"] else f"{c['status']}, no verdict"
        rows.append((c["chapter"], status, str(c["n_pass"]), str(c["n_fail"]),
                     f"{c['wall_time']:.1f}"))
    s = report["summary"]
    rows.append(("total", "ok" if s["ok"] else "FAILED", str(s["n_pass"]), str(s["n_fail"]),
                 f"{report['total_wall_time']:.1f}"))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    fmt = lambda r: "  ".join(  # noqa: E731
        r[i].ljust(widths[i]) if i < 2 else r[i].rjust(widths[i]) for i in range(5))
    rule = "-" * len(fmt(rows[0]))
    lines = [fmt(rows[0]), rule, *map(fmt, rows[1:-1]), rule, fmt(rows[-1])]
    failed = [v for v in report["verdicts"] if not v["passed"]]
    if failed:
        lines += ["", "failed verdicts:"]
        lines += [f"  FAIL  {v['result']}  [{v['chapter']}] {v['quantity']}: {_fmt(v['value'])}"
                  f"  band [{_fmt(v['low'])}, {_fmt(v['high'])}]  ({v['method']})" for v in failed]
    errors = [c for c in report["chapters"] if c["error"]]
    if errors:
        lines += ["", "chapters that did not complete:"]
        lines += [f"  {c['chapter']}: {c['error']}  (see {c['executed_notebook']})" for c in errors]
    return "\n".join(lines)
