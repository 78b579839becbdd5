"""The seed table of the book's Reproduction page (used by ``reproduction.py``).

The seed sweep (``python -m smecore reproduce --quick --seeds 1 2 3 4 5``) runs every
chapter once per seed; it takes longer than a build should, so its ``seeds.json`` is
committed as :data:`RECORD` and shown here, with the commit and date it was made at and
whether the library and the chapters' code are still those it ran
(:func:`smecore.book.chapters.code_digest`).

The build warns (``reproduction.seeds``, so ``jupyter-book build -W`` fails) when the
record is missing or unreadable, when a run in it failed, or when a chapter of the book
is not in it: a chapter cannot join the book without being run with the other seeds.
"""

from __future__ import annotations

import pathlib

from docutils import nodes
from sphinx.util import logging

logger = logging.getLogger(__name__)

#: The committed record of the seed sweep, relative to the book root.
RECORD = pathlib.Path("book") / "seed-sweep.json"


def _cell(row):
    from reproduction import _para  # book/_ext; imported here, as it imports this module

    if row is None:
        return _para(nodes.strong(text="not run"))
    if row["status"] != "ok":
        return _para(nodes.strong(text="error"), f": {row.get('error')}")
    if not row["n_verdicts"]:
        return _para(nodes.strong(text="no verdict"))
    para = _para(f"{row['n_pass']}/{row['n_verdicts']} PASS")
    if row["failed"]:
        para += nodes.Text("; ")
        para += nodes.strong(text="FAIL: " + ", ".join(row["failed"]))
    return para


def seeds_section(app, location=None):
    """A sentence on where the record comes from, and one row per chapter, one column per seed."""
    from smecore.book.chapters import available_chapters, code_digest
    from smecore.book.seeds import read_seeds, seed_matrix

    from reproduction import _para, _table  # book/_ext

    container = nodes.container(classes=["reproduction-seeds"])
    root = pathlib.Path(app.srcdir)
    path = root / RECORD
    try:
        record = read_seeds(path)
    except (OSError, ValueError) as exc:
        logger.warning(f"reproduction: no seed sweep record: {exc}", type="reproduction",
                       subtype="seeds", location=location)
        container += _para("Seed sweep: ", nodes.strong(text=f"no record ({RECORD})"), ".")
        return container
    chapters = list(available_chapters(root))
    seeds, rows = record["seeds"], record["rows"]
    matrix = seed_matrix(rows, chapters)
    problems = [f"{name} not in the record" for name in chapters if not matrix[name]]
    problems += [f"{r['chapter']} seed {r['seed']}: " + (", ".join(r["failed"]) or
                                                        r.get("error") or "no verdict")
                 for r in rows if not r["passed"]]
    if problems:
        logger.warning(f"reproduction: seed sweep: {'; '.join(problems)}", type="reproduction",
                       subtype="seeds", location=location)
    current = record.get("code_digest") == code_digest(root)
    n_ok = sum(r["passed"] for r in rows)
    mode = "quick mode" if record.get("quick") else "publication quality"
    when = str(record.get("created", "?"))[:16].replace("T", " ")
    container += _para(
        f"{n_ok} of {len(rows)} chapter runs pass ({mode}, seeds "
        f"{', '.join(map(str, seeds))}). Made {when} at commit {record.get('commit', '?')} by ",
        nodes.literal(text=record.get("command", "smecore reproduce")), "; ",
        "the library and the chapters' code are unchanged since." if current else
        nodes.strong(text="the library or the chapters' code changed since; rerun the command "
                          f"and commit its seeds.json as {RECORD} to refresh this table."))
    table_rows = [[name] + [_cell(by_seed.get(s)) for s in seeds]
                  for name, by_seed in matrix.items()]
    container += _table(["chapter"] + [f"seed {s}" for s in seeds], table_rows)
    return container
