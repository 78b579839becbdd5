"""The power matrix of the book's Reproduction page (used by ``reproduction.py``).

At the start of the build (``builder-inited``) :func:`start_power_run` starts
``python -m smecore reproduce --quick --mutants`` in the background, writing to
``_build/power``; the chapters execute meanwhile. When the Reproduction page is
resolved, :func:`power_section` waits for it and shows, for every result, its
mutants (named wrong equations, :mod:`smecore.mutants`) and whether a claim verdict
rejected each (killed) or not (survived, error). A mutant that is not killed makes
the build warn (``reproduction.power``), so ``jupyter-book build -W`` fails.

``SMECORE_POWER=0`` skips the run (the page says "not run"); ``SMECORE_POWER=<file>``
shows a ``power.json`` made earlier by the command line instead. A finished run is
reused while the library's source and the chapters' code are unchanged (a digest of
both is stored next to it), so rebuilding an unchanged book costs nothing.
"""

from __future__ import annotations

import datetime
import time

from docutils import nodes
from sphinx.util import logging

from smecore.book.report import RESULTS

logger = logging.getLogger(__name__)

#: Seconds the Reproduction page waits for the power run started at the beginning of the build.
POWER_TIMEOUT = 3600


def _power_key(app):
    """A digest of what the power run depends on: the library and the chapters' code."""
    from smecore.book.chapters import code_digest

    return code_digest(app.srcdir)


def start_power_run(app):
    """Start the power run in the background (or find a current one), unless switched off.

    ``SMECORE_POWER=0`` skips it (the page says "not run"); ``SMECORE_POWER=<file>``
    reads a ``power.json`` made earlier by ``python -m smecore reproduce --quick --mutants``;
    otherwise the run starts here, next to the chapters' execution, and writes to
    ``_build/power``. A finished run whose library and chapter code are unchanged is reused.
    """
    import json
    import os
    import pathlib
    import subprocess
    import sys

    setting = os.environ.get("SMECORE_POWER", "").strip()
    app.reproduction_power = {"mode": "off", "source": "not run in this build (SMECORE_POWER=0)"}
    if setting == "0":
        return
    if setting not in ("", "1"):
        app.reproduction_power = {"mode": "file", "path": pathlib.Path(setting).resolve()}
        return
    folder = pathlib.Path(app.doctreedir).parent / "power"
    key = _power_key(app)
    stamp = folder / "key.json"
    if (folder / "power.json").is_file() and stamp.is_file() \
            and json.loads(stamp.read_text()).get("key") == key:
        app.reproduction_power = {"mode": "cached", "path": folder / "power.json", "key": key}
        return
    folder.mkdir(parents=True, exist_ok=True)
    stamp.unlink(missing_ok=True)
    (folder / "power.json").unlink(missing_ok=True)
    log = open(folder / "power.log", "w")
    jobs = str(max(1, min(2, os.cpu_count() or 1)))
    command = [sys.executable, "-m", "smecore", "reproduce", "--quick", "--mutants", "--jobs",
               jobs, "--no-progress", "--root", str(app.srcdir), "--out", str(folder)]
    # A session of its own, so that stop_power_run ends its workers and kernels with it.
    process = subprocess.Popen(command, cwd=app.srcdir, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    app.reproduction_power = {"mode": "run", "path": folder / "power.json", "key": key,
                              "process": process, "log": folder / "power.log", "handle": log,
                              "started": time.time(), "command": " ".join(command[1:])}


def _finish_power_run(app, location):
    """The power rows and a sentence saying where they come from, or (None, reason)."""
    import json

    from smecore.book.power import read_power

    info = getattr(app, "reproduction_power", None) or {"mode": "off",
                                                        "source": "not run in this build"}
    if info["mode"] == "off":
        return None, info["source"]
    path = info["path"]
    if info["mode"] == "run" and "rows" not in info:
        try:
            status = info["process"].wait(timeout=POWER_TIMEOUT)
        except Exception:  # subprocess.TimeoutExpired
            stop_power_run(app, None)
            status = "timeout"
        info["handle"].close()
        info["seconds"] = time.time() - info["started"]
        info["status"] = status
        if path.is_file():
            (path.parent / "key.json").write_text(json.dumps({"key": info["key"],
                                                              "seconds": info["seconds"]}))
    if not path.is_file():
        where = f" (see {info['log']})" if "log" in info else ""
        logger.warning(f"reproduction: the power run wrote no {path}{where}",
                       type="reproduction", subtype="power", location=location)
        return None, f"not available: the power run wrote no power.json{where}"
    try:
        rows = read_power(path)
    except ValueError as exc:
        logger.warning(f"reproduction: {exc}", type="reproduction", subtype="power",
                       location=location)
        return None, f"not available: {exc}"
    made = datetime.datetime.fromtimestamp(path.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
    if info["mode"] == "run":
        source = (f"Run in this build ({info['seconds']:.0f} s, quick mode, every chapter "
                  f"once per mutant of the results it checks).")
    elif info["mode"] == "cached":
        stamp = json.loads((path.parent / "key.json").read_text())
        source = (f"From the power run of {made} ({stamp.get('seconds', 0):.0f} s, quick mode): "
                  f"the library and the chapters' code are unchanged since.")
    else:
        try:
            shown = path.relative_to(app.srcdir)
        except ValueError:
            shown = path.name
        source = (f"Read from {shown}, made {made} by the command line "
                  f"(SMECORE_POWER names the file), not run in this build.")
    return rows, source


def power_section(app, chapters, location=None):
    """The power matrix: one row per result, its mutants with killed / survived."""
    from smecore.book.power import power_matrix

    from reproduction import _para, _table  # book/_ext; imported here, as it imports this module

    rows, source = _finish_power_run(app, location)
    container = nodes.container(classes=["reproduction-power"])
    if rows is None:
        container += _para("Power run: ", nodes.strong(text=source), ".")
        return container
    checked = {v["result"] for _, _, vs in chapters for v in vs if v.get("kind") == "claim"}
    matrix = power_matrix(rows, [rid for rid in RESULTS])
    table_rows, bad = [], []
    for rid, entries in matrix.items():
        if not entries and rid not in checked:
            continue
        items = nodes.bullet_list(classes=["reproduction-mutants"])
        for name, outcome, row in entries:
            shown = nodes.Text(outcome) if outcome == "killed" else nodes.strong(text=outcome)
            by = row["killed_by"]
            detail = ("by " + "; ".join(by[:3]) + (f"; and {len(by) - 3} more" if len(by) > 3 else "")
                      if by else row.get("error") or row.get("note") or "")
            item = _para(nodes.literal(text=name), " — ", row.get("description", ""), ": ", shown)
            if detail:
                item += nodes.Text(f" ({detail})")
            items += nodes.list_item("", item)
            if outcome != "killed":
                bad.append(f"{row['mutant']} {outcome}")
        killed = sum(o == "killed" for _, o, _ in entries)
        count = _para(f"{killed} of {len(entries)}") if entries else _para(
            nodes.strong(text="no mutant"))
        table_rows.append([rid, count, items if entries else "—"])
    if bad:
        logger.warning(f"reproduction: {len(bad)} mutant(s) not killed: {'; '.join(bad)}",
                       type="reproduction", subtype="power", location=location)
    total = sum(r["killed"] for r in rows)
    container += _para(f"{total} of {len(rows)} mutants killed. {source}")
    container += _table(["id", "killed", "mutants (what the wrong equation is: outcome)"],
                        table_rows, widths=[6, 10, 84])
    return container


def stop_power_run(app, exception):
    """At the end of the build, never leave the power run behind."""
    info = getattr(app, "reproduction_power", None) or {}
    process = info.get("process")
    if process is not None and process.poll() is None:
        import os
        import signal
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()
    if info.get("handle") is not None:
        info["handle"].close()
