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

__all__ = ["RESULTS", "ReportError", "environment", "build_report", "render_markdown", "write_report",
           "summary_table"]


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



#: The results that verdicts refer to, in reading order, with a one-line description each:
#: the paper's (T1 ... A1, with the section they come from) and the book's own (M2, M3, N2,
#: D2: derivations of this book, not results of the paper). The report and the book's
#: Reproduction page list them all, also those no chapter checks yet.
RESULTS = {
    "T1": "Theorem 3: one-step moment matching gives weak order alpha",
    "L4": "Lemma 4: one-step moments of the SDE",
    "L5": "Lemma 5: one-step moments of SGD",
    "S1": "SME of order 1 for SGD",
    "S2": "SME of order 2 for SGD",
    "M1": "SME of momentum SGD (the book's propositions; normalisation not confirmed from the "
          "paper)",
    "M2": "MSGD stationary variance and effective learning rate (this book)",
    "M3": "critical damping (this book)",
    "N1": "SME of stochastic Nesterov (the book's propositions; normalisation not confirmed "
          "from the paper)",
    "N2": "SNAG noise accumulation (this book)",
    "D1": "explicit dynamics: the OU example, descent and fluctuation phases, stationary levels",
    "D2": "mini-batch / linear scaling rule eta/B (this book)",
    "A1": "asymptotic expansion and the adaptive learning rate cSGD (Li, Tai & E 2017)",
    # Beyond the toy problems.
    "NW1": "SVAG converges to the SME of SGD on a neural network (Li, Malladi & Arora 2021)",
    "NW2": "gradient noise matters on a network, and the SME reproduces its effect",
    "NW3": "the linear scaling rule on a network: where it holds and where it fails",
    "NW4": "weak order 1 (order 2) of SGD against its order-1 (order-2) SME, on a network",
    # Where the SME went next: claims of citing works, checked where they can be.
    "HD1": "critical step size c/N: exact recursion and limit ODE with its diffusive corrector",
    "HD2": "OU fluctuations near the fixed point of the high-dimensional limit",
    "HD3": "a single neuron's summary-statistic ODEs with the corrector",
    "HS1": "homogenized SGD and the Volterra equation of its risk (Paquette et al.)",
    "HS2": "l2-adversarial least squares: adaptive rate and ridge, non-monotone risk (Sabelli)",
    "IR1": "gradient descent follows the modified flow of f + (eta/4)|grad f|^2 to O(eta^2) "
           "(Barrett & Dherin 2021)",
    "IR2": "random reshuffling follows Smith et al.'s modified loss, not the with-replacement one",
    "TI1": "the balance law of gradient descent on L(u, w) = (uw - y)^2 / 2 (Ziyin et al.)",
    "TI2": "the modified loss preserves orthogonal symmetries (Ziyin et al.)",
    "TI3": "entropy production of SGD at stationarity and its leading order in eta (Ziyin et al.)",
    "AH1": "the HNAG flow: Lyapunov decay (Chen & Luo; Adam-HNAG, Yu, Chen & Xu)",
}


class ReportError(ValueError):
    """The verdict records cannot be reported (e.g. a verdict without a kind)."""


def _check_kinds(chapters):
    from .verdicts import KINDS
    bad = [f"{ch['name']}: {v.get('result')} {v.get('quantity')!r} (kind {v.get('kind')!r})"
           for ch in chapters for v in ch["verdicts"] if v.get("kind") not in KINDS]
    if bad:
        raise ReportError(
            f"{len(bad)} verdict(s) declare no kind (one of {', '.join(KINDS)}); a result counts "
            f"as reproduced only through its claim verdicts, so every verdicts.check(...) and "
            f"verdicts.within_stderr(...) call must pass kind=...: " + "; ".join(bad[:10])
            + (f"; and {len(bad) - 10} more" if len(bad) > 10 else ""))


def _result_status(claims):
    """'reproduced', 'not reproduced: a claim verdict FAILs', 'not reproduced: no claim verdict'."""
    if not claims:
        return "not reproduced: no claim verdict"
    if all(r["passed"] for r in claims):
        return "reproduced"
    return "not reproduced: a claim verdict FAILs"


def build_report(chapters, *, options=None, env=None, total_wall_time=None, created=None):
    """Assemble the machine-readable report from :func:`run_chapter` results.

    Parameters
    ----------
    chapters : list of dict
        Results of :func:`run_chapter`, in reading order. Every verdict carries ``kind``
        (one of :data:`smecore.book.KINDS`).
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
        summary``. Every verdict row carries its ``kind``. ``results[id]`` counts the
        verdicts by kind and says whether the result is ``reproduced``: only its claim
        verdicts count, and a result without a claim verdict is not reproduced; the
        consistency and numerics verdicts are its supporting checks. ``summary["ok"]`` is
        True when every chapter ran, printed at least one verdict, and every verdict passed.

    Raises
    ------
    ReportError
        If a verdict declares no kind (or an unknown one); the message lists every such
        verdict by chapter, result and quantity.

    Examples
    --------
    >>> chapter = {"name": "demo", "notebook": "demo.ipynb", "output": "out/demo.ipynb",
    ...            "status": "ok", "error": None, "wall_time": 1.5, "seed": 7, "source": "json",
    ...            "verdicts": [{"result": "S1", "quantity": "order", "value": 1.01,
    ...                          "uncertainty": None, "low": 0.9, "high": 1.1,
    ...                          "method": "exact", "kind": "claim", "passed": True},
    ...                         {"result": "S2", "quantity": "engine vs closed form",
    ...                          "value": 0.0, "uncertainty": None, "low": 0.0, "high": 1e-10,
    ...                          "method": "exact", "kind": "consistency", "passed": True}]}
    >>> report = build_report([chapter], env={"python": "3.11"}, created="2026-01-01T00:00:00")
    >>> record = report["verdicts"][0]
    >>> record["status"], record["kind"], record["chapter"], record["seed"], record["versions"]
    ('PASS', 'claim', 'demo', 7, {'python': '3.11'})
    >>> results = report["results"]
    >>> results["S1"]["reproduced"], results["S2"]["reproduced"], results["S2"]["status"]
    (True, False, 'not reproduced: no claim verdict')
    >>> report["summary"]["ok"], report["summary"]["kinds"]["consistency"]
    (True, {'pass': 1, 'fail': 0})
    >>> del chapter["verdicts"][1]["kind"]
    >>> build_report([chapter], env={})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    smecore.book.report.ReportError: 1 verdict(s) declare no kind ...
    """
    from .verdicts import KINDS
    _check_kinds(chapters)
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
                "kind": v["kind"],
                "value": v["value"], "uncertainty": v.get("uncertainty"),
                "low": v.get("low"), "high": v.get("high"), "method": v["method"],
                "status": "PASS" if v.get("passed") else "FAIL", "passed": bool(v.get("passed")),
                "seed": ch["seed"], "wall_time": ch["wall_time"], "source": ch["source"],
                "versions": dict(env),
            })

    def by_kind(rows):
        return {k: {"pass": sum(r["passed"] for r in rows if r["kind"] == k),
                    "fail": sum(not r["passed"] for r in rows if r["kind"] == k)} for k in KINDS}

    results = {}
    for rid in list(RESULTS) + sorted({r["result"] for r in records} - set(RESULTS)):
        mine = [r for r in records if r["result"] == rid]
        claims = [r for r in mine if r["kind"] == "claim"]
        results[rid] = {
            "description": RESULTS.get(rid, ""),
            "chapters": list(dict.fromkeys(r["chapter"] for r in mine)),
            "n_pass": sum(r["passed"] for r in mine),
            "n_fail": sum(not r["passed"] for r in mine),
            "kinds": by_kind(mine),
            "methods": sorted({r["method"] for r in claims}),
            "reproduced": bool(claims) and all(r["passed"] for r in claims),
            "status": _result_status(claims) if mine else "not yet illustrated",
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
            "kinds": by_kind(records),
            "reproduced": [rid for rid, r in results.items() if r["reproduced"]],
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


def _kind_counts(kinds):
    return ", ".join(f"{k} {c['pass']} PASS" + (f" / {c['fail']} FAIL" if c["fail"] else "")
                     for k, c in kinds.items())


def render_markdown(report):
    """The report as Markdown: environment, chapters, results by id, every verdict.

    Results are reproduced only through their claim verdicts; consistency and numerics
    verdicts are listed as supporting checks. A report of a power run (key ``power``, see
    :mod:`smecore.book.power`) ends with its power section.

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
        f"By kind: {_kind_counts(s['kinds'])}. A result counts as reproduced only through its "
        f"claim verdicts; consistency (two implementations or an identity agree) and numerics "
        f"(accuracy of a solver, grid or quadrature) verdicts are supporting checks.", "",
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
    lines += ["", "## Results", "",
              "| id | result | chapters | claim verdicts | supporting checks | status |",
              "|---|---|---|---|---|---|"]
    for rid, r in report["results"].items():
        chapters = ", ".join(r["chapters"]) or "not yet illustrated"
        k = r["kinds"]
        claim = f"{k['claim']['pass']} PASS, {k['claim']['fail']} FAIL"
        if r["methods"]:
            claim += f" ({', '.join(r['methods'])})"
        support = "; ".join(f"{name} {k[name]['pass']} PASS, {k[name]['fail']} FAIL"
                            for name in k if name != "claim" and k[name]["pass"] + k[name]["fail"])
        lines.append(f"| {rid} | {_cell(r['description'])} | {chapters} | {claim} | "
                     f"{support or '-'} | {r['status']} |")
    lines += ["", "## Verdicts", "",
              "| id | chapter | kind | quantity | value | +/- | band | method | verdict |",
              "|---|---|---|---|---|---|---|---|---|"]
    for v in report["verdicts"]:
        lines.append(f"| {v['result']} | {v['chapter']} | {v['kind']} | {_cell(v['quantity'])} | "
                     f"{_fmt(v['value'])} | {_fmt(v['uncertainty'], 2)} | "
                     f"[{_fmt(v['low'])}, {_fmt(v['high'])}] | {v['method']} | {v['status']} |")
    if "power" in report:
        from .power import render_power_markdown
        lines += ["", render_power_markdown(report["power"])]
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
    lines += ["", f"by kind: {_kind_counts(s['kinds'])}",
              f"reproduced through claim verdicts: {', '.join(s['reproduced']) or 'none'}"]
    failed = [v for v in report["verdicts"] if not v["passed"]]
    if failed:
        lines += ["", "failed verdicts:"]
        lines += [f"  FAIL  {v['result']}  [{v['chapter']}] {v['quantity']}: {_fmt(v['value'])}"
                  f"  band [{_fmt(v['low'])}, {_fmt(v['high'])}]  ({v['method']}; {v['kind']})"
                  for v in failed]
    errors = [c for c in report["chapters"] if c["error"]]
    if errors:
        lines += ["", "chapters that did not complete:"]
        lines += [f"  {c['chapter']}: {c['error']}  (see {c['executed_notebook']})" for c in errors]
    return "\n".join(lines)
