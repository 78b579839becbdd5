"""Reproduce the book's verdicts from the command line and collect them in a report.

``python -m smecore reproduce`` (or the console script ``smecore reproduce``)
runs the chapters listed in ``_toc.yml`` through papermill, optionally with
``quick=True`` and another seed, and writes ``report.json`` and ``report.md``
with every verdict of every chapter: result id, chapter, quantity, measured
value and uncertainty, expected band, method, PASS/FAIL, seed, wall time and
the versions of the software that produced it.

Each chapter's verdicts are taken from the JSON record its last cell writes
(:meth:`smecore.report.Verdicts.save`, pointed at a fresh folder through
``SMECORE_REPORT_DIR``). If a chapter stops before that cell, the verdict
lines it printed are parsed from the executed notebook instead, so a partial
run still reports what it checked.

The parsing helpers (:func:`parse_verdict_line`, :func:`verdicts_from_notebook`)
and :data:`RESULTS` are shared with the book's reproduction page
(``book/_ext/reproduction.py``).
"""

from __future__ import annotations

import argparse
import ast
import concurrent.futures
import datetime
import importlib.metadata
import json
import math
import multiprocessing
import os
import pathlib
import platform
import re
import shutil
import time

import yaml

__all__ = [
    "RESULTS", "VERDICT_PATTERN", "available_chapters", "parse_verdict_line",
    "verdicts_from_notebook", "parameter_defaults", "environment", "run_chapter",
    "build_report", "render_markdown", "write_report", "summary_table", "add_arguments", "run",
]

#: The ids of the paper's results that verdicts refer to (the book's reading map), in
#: reading order, with a one-line description each. The report and the book's reproduction
#: page list them all, also those no chapter illustrates yet.
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

PARAMETERS_TAG = "parameters"
#: The format of a printed verdict line. Mirrors smecore.report.Verdict.line:
#: "PASS  S1  quantity: 1.02 +/- 0.01  band [0.9, 1.1]  (exact)". The quantity may itself
#: contain ": ", so it is matched up to the last ": " followed by a value.
VERDICT_PATTERN = re.compile(
    r"^(?P<status>PASS|FAIL)\s+(?P<result>\S+)\s+(?P<quantity>.*): (?P<value>(?:< )?\S+)"
    r"(?: \+/- (?P<uncertainty>\S+))?\s+band \[(?P<low>[^,\]]+), (?P<high>[^\]]+)\]"
    r"\s+\((?P<method>[^);]*)(?:; (?P<kind>[a-z]+))?\)\s*$"
)


# ----------------------------------------------------------------------------- chapters

def find_root(start=None):
    """The book root: the first folder holding ``_toc.yml``.

    Looks in ``start`` (default: the current directory) and its parents, then in the
    source checkout this package was installed from (editable installs).

    Returns
    -------
    pathlib.Path or None
    """
    start = pathlib.Path(start or os.getcwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / "_toc.yml").is_file():
            return folder
    checkout = pathlib.Path(__file__).resolve().parents[1]
    return checkout if (checkout / "_toc.yml").is_file() else None


def _toc_files(toc):
    found = [toc["root"]] if "root" in toc else []

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                found.append(node["file"])
            for key, value in node.items():
                if key != "root":
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk({k: v for k, v in toc.items() if k != "root"})
    return found


def available_chapters(root):
    """Chapter notebooks listed in ``root/_toc.yml`` that exist, in reading order.

    Parameters
    ----------
    root : path-like
        The book root (the folder holding ``_toc.yml``).

    Returns
    -------
    dict
        Notebook stem -> path of the ``.ipynb`` file.

    Raises
    ------
    FileNotFoundError
        If ``root`` has no ``_toc.yml``.

    Examples
    --------
    >>> import tempfile
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (root / "_toc.yml").write_text("root: intro\\nchapters:\\n  - file: book/a\\n")
    >>> (root / "book").mkdir(); (root / "book" / "a.ipynb").touch()
    >>> list(available_chapters(root))
    ['a']
    """
    root = pathlib.Path(root)
    toc_path = root / "_toc.yml"
    if not toc_path.is_file():
        raise FileNotFoundError(f"no _toc.yml in {root}")
    toc = yaml.safe_load(toc_path.read_text()) or {}
    chapters = {}
    for name in _toc_files(toc):
        path = root / (name if name.endswith(".ipynb") else f"{name}.ipynb")
        if path.is_file():
            chapters.setdefault(path.stem, path)
    return chapters


# ----------------------------------------------------------------------------- parsing

def _number(text):
    if text is None or text.strip() == "-":
        return None
    try:
        # "< 1e-12" (an error at rounding level) is reported as its bound.
        return float(text.removeprefix("< "))
    except ValueError:
        return None


def parse_verdict_line(line):
    """Parse one line printed by :meth:`smecore.report.Verdicts.check`.

    Parameters
    ----------
    line : str

    Returns
    -------
    dict or None
        Keys ``result, quantity, value, uncertainty, low, high, method, passed``
        (numbers as printed, i.e. rounded), or None if the line is not a verdict.

    Examples
    --------
    >>> v = parse_verdict_line("PASS  S1  fitted order: 1.02 +/- 0.01  band [0.9, 1.1]  (exact)")
    >>> v["result"], v["quantity"], v["value"], v["uncertainty"], v["high"], v["passed"]
    ('S1', 'fitted order', 1.02, 0.01, 1.1, True)
    >>> parse_verdict_line("PASS  S2  relative error: < 1e-12  band [0, 1e-10]  (exact)")["value"]
    1e-12
    >>> parse_verdict_line("2 of 2 verdicts PASS") is None
    True
    """
    match = VERDICT_PATTERN.match(line.strip())
    if not match:
        return None
    g = match.groupdict()
    return {
        "result": g["result"],
        "quantity": g["quantity"].strip(),
        "value": _number(g["value"]),
        "uncertainty": _number(g["uncertainty"]),
        "low": _number(g["low"]),
        "high": _number(g["high"]),
        "method": g["method"],
        "kind": g["kind"],
        "passed": g["status"] == "PASS",
    }


def _output_text(output):
    if output.get("output_type") == "stream":
        text = output.get("text", "")
    elif output.get("output_type") in ("execute_result", "display_data"):
        text = output.get("data", {}).get("text/plain", "")
    else:
        return ""
    return "".join(text) if isinstance(text, list) else text


def verdicts_from_notebook(nb):
    """Verdicts printed in the outputs of an executed notebook.

    Every code cell is searched (not only the cells tagged ``nbval-check-output``), so a
    verdict printed elsewhere is not lost; only lines in the exact verdict format count.

    Parameters
    ----------
    nb : nbformat.NotebookNode or dict

    Returns
    -------
    list of dict
        As :func:`parse_verdict_line`, in order of appearance.

    Examples
    --------
    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook()
    >>> cell = nbformat.v4.new_code_cell("verdicts.check(...)")
    >>> cell.outputs = [nbformat.v4.new_output("stream", name="stdout",
    ...     text="FAIL  S2  slope: 1.5  band [1.9, 2.1]  (exact)\\n")]
    >>> nb.cells.append(cell)
    >>> [(v["result"], v["passed"]) for v in verdicts_from_notebook(nb)]
    [('S2', False)]
    """
    found = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        for output in cell.get("outputs", []):
            for line in _output_text(output).splitlines():
                verdict = parse_verdict_line(line)
                if verdict is not None:
                    found.append(verdict)
    return found


def parameter_defaults(nb):
    """Literal assignments of the notebook's cell tagged ``parameters``.

    Examples
    --------
    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook()
    >>> nb.cells.append(nbformat.v4.new_code_cell("quick = False  # small\\nseed = 2019",
    ...                                           metadata={"tags": ["parameters"]}))
    >>> parameter_defaults(nb)
    {'quick': False, 'seed': 2019}
    """
    for cell in nb.get("cells", []):
        tags = cell.get("metadata", {}).get("tags", [])
        if cell.get("cell_type") == "code" and PARAMETERS_TAG in tags:
            source = cell.get("source", "")
            source = "".join(source) if isinstance(source, list) else source
            try:
                tree = ast.parse(source)
            except SyntaxError:
                return {}
            values = {}
            for node in tree.body:
                if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                        and isinstance(node.targets[0], ast.Name):
                    try:
                        values[node.targets[0].id] = ast.literal_eval(node.value)
                    except ValueError:
                        pass
            return values
    return {}


# ----------------------------------------------------------------------------- environment

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


# ----------------------------------------------------------------------------- running

def run_chapter(task):
    """Execute one chapter with papermill and collect its verdicts.

    Runs in a worker process when ``--jobs`` > 1, so it takes and returns plain data.

    Parameters
    ----------
    task : dict
        ``name`` (notebook stem), ``notebook`` (input path), ``output`` (executed notebook
        path), ``records`` (folder for the chapter's JSON record), ``figure_data`` (folder
        for the data behind its figures; optional), ``parameters`` (dict
        passed to papermill), ``progress`` (tqdm options for papermill's bar, or False),
        ``kernel`` (kernel name).

    Returns
    -------
    dict
        ``name, notebook, output, status ('ok' or 'error'), error, wall_time, seed,
        source ('json' or 'notebook'), verdicts`` (list of dicts as in
        :func:`parse_verdict_line`, with exact values when taken from the JSON record).
    """
    import nbformat
    import papermill as pm

    records = pathlib.Path(task["records"])
    # A fresh folder per run: a record left over from an earlier run must never be reported.
    shutil.rmtree(records, ignore_errors=True)
    records.mkdir(parents=True)
    pathlib.Path(task["output"]).parent.mkdir(parents=True, exist_ok=True)

    status, error = "ok", None
    # The kernel is a child of this process and inherits its environment; that is how the
    # chapter's verdicts.save() learns where to write. Restored afterwards for in-process runs.
    # Likewise SMECORE_FIGURE_DATA_DIR keeps the figures' data out of the book's own folder.
    settings = {"SMECORE_REPORT_DIR": str(records)}
    if task.get("figure_data"):
        settings["SMECORE_FIGURE_DATA_DIR"] = str(task["figure_data"])
    previous = {key: os.environ.get(key) for key in settings}
    os.environ.update(settings)
    started = time.perf_counter()
    try:
        pm.execute_notebook(
            task["notebook"], task["output"], parameters=task["parameters"],
            cwd=str(pathlib.Path(task["notebook"]).parent), kernel_name=task["kernel"],
            progress_bar=task["progress"],
        )
    except pm.PapermillExecutionError as exc:
        status = "error"
        error = f"cell {exc.exec_count}: {exc.ename}: {exc.evalue}"
    except Exception as exc:  # kernel died, notebook unreadable, ...: report, don't crash the run
        status = "error"
        error = f"{type(exc).__name__}: {exc}"
    finally:
        wall_time = time.perf_counter() - started
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    nb = None
    try:
        nb = nbformat.read(task["output"], as_version=4)
    except (OSError, ValueError):  # papermill failed before writing anything
        try:
            nb = nbformat.read(task["notebook"], as_version=4)
            nb.cells = [c for c in nb.cells if c.get("cell_type") != "code"]  # no stale outputs
        except (OSError, ValueError):
            nb = {"cells": []}

    seed = task["parameters"].get("seed", parameter_defaults(nb).get("seed"))
    verdicts, source = [], "notebook"
    for path in sorted(records.glob("*.json")):
        payload = json.loads(path.read_text())
        verdicts.extend(payload.get("verdicts", []))
        seed = payload.get("seed", seed)
        source = "json"
    if source == "notebook":
        verdicts = verdicts_from_notebook(nb)

    return {
        "name": task["name"], "notebook": str(task["notebook"]), "output": str(task["output"]),
        "status": status, "error": error, "wall_time": wall_time, "seed": seed,
        "source": source, "verdicts": verdicts,
    }


def _run_all(tasks, jobs):
    if jobs == 1 or len(tasks) <= 1:
        return [run_chapter(t) for t in tasks]
    # Chapters are independent processes (each starts its own kernel); 'spawn' keeps the
    # workers free of whatever threads the parent holds (tqdm's monitor, for one).
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=min(jobs, len(tasks)),
                                                mp_context=context) as pool:
        return list(pool.map(run_chapter, tasks))


# ----------------------------------------------------------------------------- report

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


# ----------------------------------------------------------------------------- command line

EXAMPLES = """\
examples:
  python -m smecore reproduce --quick
      every chapter in _toc.yml with small sizes (seconds per chapter)
  smecore reproduce --chapters setting sgd --seed 7 --jobs 2 --out /tmp/run7
      two chapters at publication quality with seed 7, in parallel
  smecore reproduce --list
      the chapter names --chapters accepts

output (in --out):
  report.json         every verdict: result id, chapter, quantity, value, uncertainty,
                      band, method, PASS/FAIL, seed, wall time, versions
  report.md           the same as tables
  notebooks/*.ipynb   the executed chapters
  records/<chapter>/  the JSON records the chapters' verdicts.save() wrote
  figure-data/*.csv   the data behind every figure (publication runs; quick runs draw none)

exit status: 0 every verdict PASS; 1 a verdict FAILed, a chapter stopped with an
error or printed no verdict; 2 bad usage.
"""


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def _seed(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {text!r}")
    return value


def add_arguments(parser):
    """Add the options of ``smecore reproduce`` to an argparse parser."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EXAMPLES
    parser.add_argument("--quick", action="store_true",
                        help="run the chapters with quick=True (small sizes, for checks)")
    parser.add_argument("--seed", type=_seed, metavar="N",
                        help="seed passed to every chapter (default: each chapter's own)")
    parser.add_argument("--chapters", nargs="+", metavar="NAME",
                        help="notebook stems from _toc.yml, e.g. setting (default: all)")
    parser.add_argument("--jobs", type=_positive_int, default=1, metavar="N",
                        help="chapters run in parallel, one process each (default: 1)")
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("reproduce-out"),
                        metavar="DIR", help="output folder (default: ./reproduce-out)")
    parser.add_argument("--root", type=pathlib.Path, metavar="DIR",
                        help="book root holding _toc.yml (default: the current folder or a "
                             "parent of it, else the smecore source checkout)")
    parser.add_argument("--kernel", default="python3", metavar="NAME",
                        help="Jupyter kernel to run the chapters in (default: python3)")
    parser.add_argument("--no-progress", action="store_true",
                        help="no progress bars (e.g. in logs)")
    parser.add_argument("--list", action="store_true",
                        help="list the chapters and exit")
    return parser


def _select_chapters(parser, args):
    """Resolve --root and --chapters; usage errors exit 2 through ``parser.error``."""
    root = args.root.resolve() if args.root else find_root()
    if root is None or not (root / "_toc.yml").is_file():
        where = f"--root {args.root}" if args.root else "the current folder or its parents"
        parser.error(f"argument --root: no _toc.yml in {where}")
    chapters = available_chapters(root)
    if not chapters:
        parser.error(f"no chapter notebook listed in {root / '_toc.yml'} exists")
    if not args.chapters:
        return root, chapters
    chosen = {}
    for name in args.chapters:
        # Accept "setting", "book/setting" and "book/setting.ipynb" alike.
        path = pathlib.PurePath(name)
        stem = path.stem if path.suffix == ".ipynb" else path.name
        if stem not in chapters:
            parser.error(f"argument --chapters: unknown chapter {name!r}; "
                         f"available: {', '.join(chapters)}")
        chosen[stem] = chapters[stem]
    return root, chosen


def run(args, parser):
    """Carry out ``smecore reproduce`` for parsed ``args``; return the exit status."""
    root, chapters = _select_chapters(parser, args)
    if args.list:
        for name, path in chapters.items():
            print(f"{name:<16} {path.relative_to(root)}")
        return 0
    out = args.out.resolve()
    if out.exists() and not out.is_dir():
        parser.error(f"argument --out: {args.out} exists and is not a folder")
    from jupyter_client.kernelspec import KernelSpecManager
    kernels = sorted(KernelSpecManager().find_kernel_specs())
    if args.kernel not in kernels:
        parser.error(f"argument --kernel: no Jupyter kernel {args.kernel!r}; "
                     f"available: {', '.join(kernels) or 'none (pip install ipykernel)'}")

    parameters = {}
    if args.quick:
        parameters["quick"] = True
    if args.seed is not None:
        parameters["seed"] = args.seed
    tasks = []
    width = max(map(len, chapters))
    for position, (name, path) in enumerate(chapters.items()):
        # One bar per chapter, on its own line (position), labelled with the chapter.
        progress = False if args.no_progress else {
            "desc": name.ljust(width), "position": position, "leave": True}
        tasks.append({
            "name": name, "notebook": str(path), "output": str(out / "notebooks" / f"{name}.ipynb"),
            "records": str(out / "records" / name), "figure_data": str(out / "figure-data"),
            "parameters": dict(parameters),
            "progress": progress, "kernel": args.kernel,
        })
    print(f"running {len(tasks)} chapter(s) from {root} "
          f"(quick={args.quick}, seed={args.seed if args.seed is not None else 'default'}, "
          f"jobs={args.jobs}) -> {out}", flush=True)
    started = time.perf_counter()
    results = _run_all(tasks, args.jobs)
    total = time.perf_counter() - started

    options = {"command": "smecore reproduce " + " ".join(args.argv), "quick": args.quick,
               "seed": args.seed, "jobs": args.jobs, "chapters": list(chapters),
               "root": str(root), "kernel": args.kernel}
    report = build_report(results, options=options, total_wall_time=total)
    json_path, md_path = write_report(report, out)
    print()
    print(summary_table(report))
    print(f"\nreport: {json_path}\n        {md_path}")
    return 0 if report["summary"]["ok"] else 1
