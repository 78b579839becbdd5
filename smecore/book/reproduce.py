"""Reproduce the book's verdicts from the command line and collect them in a report.

``python -m smecore reproduce`` (or the console script ``smecore reproduce``)
runs the chapters listed in ``_toc.yml`` through papermill, optionally with
``quick=True`` and another seed, and writes ``report.json`` and ``report.md``
with every verdict of every chapter: result id, chapter, quantity, measured
value and uncertainty, expected band, method, PASS/FAIL, seed, wall time and
the versions of the software that produced it.

Each chapter's verdicts are taken from the JSON record its last cell writes
(:meth:`smecore.book.Verdicts.save`, pointed at a fresh folder through
``SMECORE_REPORT_DIR``). If a chapter stops before that cell, the verdict
lines it printed are parsed from the executed notebook instead, so a partial
run still reports what it checked.

The parsing helpers (:func:`parse_verdict_line`, :func:`verdicts_from_notebook`)
and :data:`RESULTS` are shared with the book's reproduction page
(``book/_ext/reproduction.py``).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import multiprocessing
import os
import pathlib
import shutil
import sys
import tempfile
import time

from .chapters import (
    available_chapters,
    code_digest,
    find_root,
    parameter_defaults,
    verdicts_from_notebook,
)
from .report import ReportError, build_report, summary_table, write_report

__all__ = ["run_chapter", "add_arguments", "run", "run_mutants", "run_seeds"]






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
    sockets = _socket_folder()
    try:
        pm.execute_notebook(
            task["notebook"], task["output"], parameters=task["parameters"],
            cwd=str(pathlib.Path(task["notebook"]).parent), kernel_name=task["kernel"],
            progress_bar=task["progress"],
            # The kernel's own log is noise here: a cell's error reaches the notebook, while
            # the log adds the warning about unencrypted TCP on every start over TCP and,
            # now and then, "KeyboardInterrupt caught in kernel" (jupyter_client interrupts
            # every kernel it shuts down; the signal may land in a message handler).
            extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
            config=_kernel_config(sockets),
        )
    except pm.PapermillExecutionError as exc:
        status = "error"
        error = f"cell {exc.exec_count}: {exc.ename}: {exc.evalue}"
    except Exception as exc:  # kernel died, notebook unreadable, ...: report, don't crash the run
        status = "error"
        error = f"{type(exc).__name__}: {exc}"
    finally:
        wall_time = time.perf_counter() - started
        if sockets is not None:
            shutil.rmtree(sockets, ignore_errors=True)
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


# A Unix socket's path holds at most 107 bytes (108 on Linux with the NUL, 104 on macOS);
# the kernel's sockets are <folder>/kernel-<n>, n < 100000.
_SOCKET_PATH_MAX = 100


def _socket_folder():
    """A fresh folder for one kernel's Unix sockets, or ``None`` to keep TCP.

    ``None`` where the OS has no Unix sockets (Windows) or where the temporary folder's path
    is so long that the sockets' paths would not fit.
    """
    if os.name != "posix":
        return None
    folder = tempfile.mkdtemp(prefix="smecore-kernel-")
    if len(os.fsencode(os.path.join(folder, "kernel-99999"))) > _SOCKET_PATH_MAX:
        os.rmdir(folder)
        return None
    return folder


def _kernel_config(sockets):
    """Kernel manager configuration: Unix sockets under ``sockets``, or TCP if it is ``None``.

    Over TCP, jupyter_client picks a free port by binding and releasing it, and the kernel
    binds it a moment later; two chapters started at once in two worker processes can be
    given the same port, and the second kernel dies before replying to kernel_info. Unix
    sockets in a folder of this run's own cannot collide.
    """
    from traitlets.config import Config

    if sockets is None:
        return Config()
    return Config({"KernelManager": {"transport": "ipc",
                                     "ip": os.path.join(sockets, "kernel")}})


def _run_all(tasks, jobs, progress=True):
    """Run the tasks, in reading order, or in ``jobs`` processes; return results in task order.

    Progress: one run at a time shows papermill's bar per chapter (its own line, left when
    done). In parallel, workers draw nothing (bars of several processes moving the cursor
    over one terminal leave fragments over the summary table); the parent shows one bar of
    finished chapters and closes it before anything else is printed.
    """
    if jobs == 1 or len(tasks) <= 1:
        return [run_chapter(t) for t in tasks]
    from tqdm.auto import tqdm

    # Chapters are independent processes (each starts its own kernel); 'spawn' keeps the
    # workers free of whatever threads the parent holds (tqdm's monitor, for one).
    context = multiprocessing.get_context("spawn")
    results = [None] * len(tasks)
    with concurrent.futures.ProcessPoolExecutor(max_workers=min(jobs, len(tasks)),
                                                mp_context=context) as pool:
        futures = {pool.submit(run_chapter, {**t, "progress": False}): i
                   for i, t in enumerate(tasks)}
        with tqdm(total=len(tasks), desc="chapters", unit="chapter", disable=not progress,
                  leave=True) as bar:
            for future in concurrent.futures.as_completed(futures):
                i = futures[future]
                results[i] = future.result()
                bar.set_postfix_str(tasks[i]["name"], refresh=False)
                bar.update()
    return results


def _task(name, notebook, folder, parameters, kernel, progress=False):
    """One chapter run for :func:`run_chapter`: outputs under ``folder`` (notebooks/,
    records/<name>/, figure-data/)."""
    folder = pathlib.Path(folder)
    return {"name": name, "notebook": str(notebook),
            "output": str(folder / "notebooks" / f"{name}.ipynb"),
            "records": str(folder / "records" / name),
            "figure_data": str(folder / "figure-data"), "parameters": dict(parameters),
            "progress": progress, "kernel": kernel}


def _parameters(args):
    """The papermill parameters every chapter gets: ``quick`` and ``seed`` when given."""
    parameters = {"quick": True} if args.quick else {}
    if args.seed is not None:
        parameters["seed"] = args.seed
    return parameters


EXAMPLES = """\
examples:
  python -m smecore reproduce --quick
      every chapter in _toc.yml with small sizes (seconds per chapter)
  python -m smecore reproduce --quick --mutants --jobs 2 --out /tmp/power
      the power run: every chapter once per mutant of the results it checks;
      writes power.json and a power section in report.md
  smecore reproduce --chapters setting sgd --seed 7 --jobs 2 --out /tmp/run7
      two chapters at publication quality with seed 7, in parallel
  python -m smecore reproduce --quick --seeds 1 2 3 4 5 --jobs 2 --out /tmp/seeds
      the seed sweep: every chapter once per seed; writes seeds.json and a
      seed section in report.md
  smecore reproduce --list
      the chapter names --chapters accepts

output (in --out):
  report.json         every verdict: result id, chapter, quantity, value, uncertainty,
                      band, method, PASS/FAIL, seed, wall time, versions
  report.md           the same as tables
  notebooks/*.ipynb   the executed chapters
  records/<chapter>/  the JSON records the chapters' verdicts.save() wrote
  figure-data/*.csv   the data behind every figure (publication runs; quick runs draw none)

  seeds.json          with --seeds: one row per (chapter, seed) {chapter, seed,
                      status, n_verdicts, n_pass, failed, passed}
  power.json          with --mutants: one row per mutant {result, mutant, description,
                      killed, killed_by, chapter, error, note}
  mutants/<mutant>/   with --mutants: the chapters executed with that mutant

exit status: 0 every verdict PASS; 1 a verdict FAILed, a chapter stopped with an
error or printed no verdict, or a verdict declares no kind; 2 bad usage.
With --mutants: 0 every mutant killed (and the run without mutant all PASS),
1 otherwise, 2 bad usage. With --seeds: 0 every chapter passes with every seed,
1 otherwise, 2 bad usage.
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
    parser.add_argument("--seeds", type=_seed, nargs="+", metavar="N",
                        help="seed sweep: run every chapter once per seed and record which "
                             "pass (seeds.json); excludes --seed and --mutants")
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
    parser.add_argument("--mutants", nargs="*", metavar="KEY",
                        help="power run: rerun every chapter once per registered mutant of the "
                             "results it checks (all, or the given keys such as S2:no-noise) and "
                             "record which claim verdicts reject it (power.json)")
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
    try:  # an unwritable --out is bad usage: say so now, not in a traceback after a run
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".smecore-write-test-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        parser.error(f"argument --out: cannot write to {args.out}: {exc.strerror or exc}")
    if getattr(args, "seeds", None) is not None:
        if args.seed is not None:
            parser.error("argument --seeds: not allowed with --seed (give every seed to --seeds)")
        if getattr(args, "mutants", None) is not None:
            parser.error("argument --seeds: not allowed with --mutants")
        if len(set(args.seeds)) != len(args.seeds):
            parser.error(f"argument --seeds: repeated seed in {args.seeds}")
        return run_seeds(args, parser, root, chapters, out)
    if getattr(args, "mutants", None) is not None:
        return run_mutants(args, parser, root, chapters, out)

    parameters = _parameters(args)
    tasks = []
    width = max(map(len, chapters))
    for name, path in chapters.items():
        # One bar per chapter, labelled with it; each is finished (and left on its line)
        # before the next starts. No tqdm position: bars at positions > 0 move the cursor
        # and leave fragments over what is printed next.
        progress = False if args.no_progress else {"desc": name.ljust(width), "leave": True}
        tasks.append(_task(name, path, out, parameters, args.kernel, progress))
    print(f"running {len(tasks)} chapter(s) from {root} "
          f"(quick={args.quick}, seed={args.seed if args.seed is not None else 'default'}, "
          f"jobs={args.jobs}) -> {out}", flush=True)
    started = time.perf_counter()
    results = _run_all(tasks, args.jobs, progress=not args.no_progress)
    total = time.perf_counter() - started

    options = {"command": "smecore reproduce " + " ".join(args.argv), "quick": args.quick,
               "seed": args.seed, "jobs": args.jobs, "chapters": list(chapters),
               "root": str(root), "kernel": args.kernel}
    try:
        report = build_report(results, options=options, total_wall_time=total)
    except ReportError as exc:
        print(f"error: cannot build the report: {exc}", file=sys.stderr)
        return 1
    json_path, md_path = write_report(report, out)
    print()
    print(summary_table(report))
    print(f"\nreport: {json_path}\n        {md_path}")
    return 0 if report["summary"]["ok"] else 1


# ----------------------------------------------------------------------------- power run

def _mutant_folder(key):
    """A folder name for a mutant key ("S2:correction-1/2" -> "S2-correction-1_2")."""
    return key.replace(":", "-").replace("/", "_").replace(" ", "_")


def _select_mutants(parser, keys):
    import importlib
    import pkgutil

    import smecore

    from .. import mutants

    # Every module that owns an equation registers its mutants when imported; the domain
    # subpackages (networks, flows, ...) are not imported by smecore itself.
    for info in pkgutil.iter_modules(smecore.__path__):
        if info.ispkg:
            importlib.import_module(f"smecore.{info.name}")
    known = mutants.registered()
    if not keys:
        return known
    chosen = []
    for key in keys:
        try:
            chosen.append(mutants.get(key))
        except (TypeError, ValueError) as exc:
            parser.error(f"argument --mutants: {exc}")
    return chosen


def _claim_results(run):
    return {v["result"] for v in run["verdicts"] if v.get("kind") == "claim"}


def run_mutants(args, parser, root, chapters, out):
    """The power run: each chapter once per mutant of the results it checks.

    First every selected chapter runs without mutant (the baseline, written to ``out``
    as by a normal run: notebooks/, records/, report.json). Each registered mutant (or
    each of ``--mutants KEY ...``) is then run, with papermill parameters
    ``mutant=<key>`` (and ``quick``/``seed`` as given), in every chapter whose baseline
    printed a claim verdict of the mutant's result; when a chapter's baseline stopped
    early, its stored notebook's verdict lines say which results it checks. With
    ``--chapters`` (and no explicit keys) only the mutants of results those chapters
    check are run; otherwise a mutant that no chapter checks is reported as such. The
    mutant is killed when a claim verdict of its result FAILs in a chapter that
    completed (:func:`smecore.book.power.kill_record`). Writes ``power.json``, and
    ``report.md`` with a power section; returns 0 when every mutant is killed and the
    baseline passes, else 1.
    """
    import nbformat

    from .power import kill_record, outcome, write_power

    selected = _select_mutants(parser, args.mutants)
    parameters = _parameters(args)
    width = max(map(len, chapters))

    def task(name, folder, params, position=None):
        progress = False if args.no_progress or position is None else {
            "desc": name.ljust(width), "position": position, "leave": True}
        return _task(name, chapters[name], folder, params, args.kernel, progress)

    print(f"power run: {len(chapters)} chapter(s) without mutant, then {len(selected)} "
          f"mutant(s) (quick={args.quick}, jobs={args.jobs}) -> {out}", flush=True)
    started = time.perf_counter()
    baseline = _run_all([task(name, out, parameters, i) for i, name in enumerate(chapters)],
                        args.jobs)
    by_name = {run["name"]: run for run in baseline}

    checks = {}  # chapter -> the results it prints claim verdicts of
    for run in baseline:
        found = _claim_results(run)
        if run["status"] != "ok":
            stored = verdicts_from_notebook(nbformat.read(str(chapters[run["name"]]), as_version=4))
            found |= {v["result"] for v in stored if v.get("kind") == "claim"}
        checks[run["name"]] = found

    if args.chapters and not args.mutants:
        # Only some chapters were chosen: the mutants of results they do not check are
        # skipped (with all chapters, such a mutant is reported as 'not checked').
        checked = set().union(*checks.values())
        skipped = [m.key for m in selected if m.result not in checked]
        selected = [m for m in selected if m.result in checked]
        if skipped:
            print(f"power run: {len(skipped)} mutant(s) skipped, no chosen chapter checks "
                  f"their result: {', '.join(skipped)}", flush=True)
    tasks, owner = [], []
    for mutant in selected:
        folder = out / "mutants" / _mutant_folder(mutant.key)
        for name in chapters:
            if mutant.result in checks[name]:
                tasks.append(task(name, folder, dict(parameters, mutant=mutant.key)))
                owner.append(mutant.key)
    print(f"power run: {len(tasks)} chapter run(s) with a mutant", flush=True)
    runs = _run_all(tasks, args.jobs)
    total = time.perf_counter() - started

    rows = [kill_record(m, [r for r, k in zip(runs, owner) if k == m.key], by_name)
            for m in selected]
    power_path = write_power(rows, out)
    options = {"command": "smecore reproduce " + " ".join(args.argv), "quick": args.quick,
               "seed": args.seed, "jobs": args.jobs, "chapters": list(chapters),
               "root": str(root), "kernel": args.kernel,
               "mutants": [m.key for m in selected], "power_wall_time": total}
    try:
        report = build_report(baseline, options=options, total_wall_time=total)
    except ReportError as exc:
        print(f"error: cannot build the report of the run without mutant: {exc}",
              file=sys.stderr)
        return 1
    report["power"] = rows
    json_path, md_path = write_report(report, out)
    print()
    print(summary_table(report))
    print("\nmutant                        outcome    killed by / note")
    for row in rows:
        detail = "; ".join(row["killed_by"]) or row["error"] or row["note"] or ""
        print(f"{row['mutant']:<29} {outcome(row):<10} {detail}")
    n_killed = sum(row["killed"] for row in rows)
    print(f"\n{n_killed} of {len(rows)} mutants killed in {total:.1f} s")
    print(f"power:  {power_path}\nreport: {json_path}\n        {md_path}")
    ok = bool(rows) and n_killed == len(rows) and report["summary"]["ok"]
    return 0 if ok else 1


# ----------------------------------------------------------------------------- seed sweep

def _git_commit(root):
    """The short commit of the checkout holding ``root`` (``"+dirty"`` if modified), or None."""
    import subprocess

    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, text=True,
                                capture_output=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=root, text=True, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + ("+dirty" if dirty.strip() else "")


def run_seeds(args, parser, root, chapters, out):
    """The seed sweep: every chapter once per seed of ``--seeds``.

    Each (chapter, seed) runs with papermill parameters ``seed=<seed>`` (and ``quick`` as
    given) into ``out/seed-<seed>/``. Writes ``seeds.json``
    (:func:`smecore.book.seeds.write_seeds`: the command, quick, seeds, chapters, commit,
    date, versions and one row per run) and ``report.md`` with the seed section; prints the
    chapter-by-seed table. Returns 0 when every run passes, else 1.
    """
    import datetime

    from .report import environment
    from .seeds import render_seeds_markdown, seed_row, write_seeds

    parameters = _parameters(args)  # --seed is excluded here: each run gets its own seed
    tasks = [_task(name, path, out / f"seed-{seed}", dict(parameters, seed=seed), args.kernel)
             for seed in args.seeds for name, path in chapters.items()]
    print(f"seed sweep: {len(chapters)} chapter(s) x {len(args.seeds)} seed(s) "
          f"(quick={args.quick}, jobs={args.jobs}) -> {out}", flush=True)
    # What the runs execute, taken before they start: edits made meanwhile do not count.
    commit, digest = _git_commit(root), code_digest(root)
    started = time.perf_counter()
    runs = _run_all(tasks, args.jobs, progress=not args.no_progress)
    total = time.perf_counter() - started
    rows = []
    for task, run in zip(tasks, runs):
        row = seed_row(run)
        row["seed"] = task["parameters"]["seed"]  # the seed asked for, whatever the record says
        rows.append(row)
    record = {
        "command": "smecore reproduce " + " ".join(args.argv), "quick": args.quick,
        "seeds": list(args.seeds), "chapters": list(chapters), "commit": commit,
        "code_digest": digest,
        "created": datetime.datetime.now().isoformat(timespec="seconds"),
        "total_wall_time": total, "environment": environment()}
    path = write_seeds(rows, out, **record)
    text = render_seeds_markdown({**record, "rows": rows})
    (out / "report.md").write_text(f"# Seed sweep\n\nCreated {record['created']} by "
                                   f"`{record['command']}` (commit {record['commit']}).\n\n"
                                   + text)
    print()
    print(text)
    n_ok = sum(r["passed"] for r in rows)
    print(f"{n_ok} of {len(rows)} chapter runs pass in {total:.1f} s")
    print(f"seeds:  {path}\nreport: {out / 'report.md'}")
    return 0 if rows and n_ok == len(rows) else 1
