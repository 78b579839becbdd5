"""Seed robustness: does every chapter pass with seeds other than its own?

A chapter's verdicts are checked at the chapter's default seed when the book is built. A
statistical verdict whose band comes from measured standard errors must also pass for
other seeds, or its tolerance was fitted to one draw of the random numbers. The seed
sweep (``python -m smecore reproduce --quick --seeds 1 2 3 4 5``, see
:func:`smecore.book.reproduce.run_seeds`) executes every chapter once per seed and
records, for each (chapter, seed), how many verdicts passed and which failed.

:func:`seed_row` turns one chapter run into one row of ``seeds.json``;
:func:`seed_matrix` arranges rows by chapter and seed; :func:`render_seeds_markdown` is
the seed section of ``report.md``; :func:`write_seeds` and :func:`read_seeds` store and
load the record, which the book's Reproduction page shows.
"""

from __future__ import annotations

import json
import pathlib

__all__ = ["seed_row", "seed_matrix", "render_seeds_markdown", "write_seeds", "read_seeds"]


def seed_row(run):
    """One row of ``seeds.json`` from one chapter run.

    Parameters
    ----------
    run : dict
        A result of :func:`smecore.book.reproduce.run_chapter`: ``name, status, error,
        wall_time, seed, verdicts`` (each verdict with ``result``, ``quantity`` and
        ``passed``).

    Returns
    -------
    dict
        ``chapter, seed, status`` (``"ok"`` or ``"error"``), ``error``, ``wall_time``,
        ``n_verdicts``, ``n_pass``, ``failed`` (``"<result> <quantity>"`` of each failing
        verdict) and ``passed``: True when the chapter ran to the end, printed at least
        one verdict, and every verdict passed.

    Examples
    --------
    >>> ok = {"result": "S1", "quantity": "order", "passed": True}
    >>> bad = {"result": "S2", "quantity": "slope", "passed": False}
    >>> run = {"name": "sgd", "status": "ok", "error": None, "wall_time": 3.0, "seed": 4,
    ...        "verdicts": [ok, bad]}
    >>> row = seed_row(run)
    >>> row["passed"], row["n_pass"], row["n_verdicts"], row["failed"]
    (False, 1, 2, ['S2 slope'])
    >>> seed_row(dict(run, verdicts=[ok]))["passed"]
    True
    """
    verdicts = run.get("verdicts") or []
    failed = [f"{v.get('result')} {v.get('quantity')}" for v in verdicts if not v.get("passed")]
    n_pass = len(verdicts) - len(failed)
    return {
        "chapter": run["name"], "seed": run.get("seed"), "status": run["status"],
        "error": run.get("error"), "wall_time": run.get("wall_time"),
        "n_verdicts": len(verdicts), "n_pass": n_pass, "failed": failed,
        "passed": run["status"] == "ok" and bool(verdicts) and not failed,
    }


def seed_matrix(rows, chapters=()):
    """The rows arranged as ``{chapter: {seed: row}}``, chapters in the given order first.

    Examples
    --------
    >>> rows = [{"chapter": "sgd", "seed": 1}, {"chapter": "setting", "seed": 1},
    ...         {"chapter": "sgd", "seed": 2}]
    >>> {c: sorted(s) for c, s in seed_matrix(rows, ["setting", "sgd"]).items()}
    {'setting': [1], 'sgd': [1, 2]}
    """
    order = list(chapters) + sorted({r["chapter"] for r in rows} - set(chapters))
    matrix = {name: {} for name in order}
    for row in rows:
        matrix[row["chapter"]][row["seed"]] = row
    return matrix


def _cell(row):
    if row is None:
        return "not run"
    if row["status"] != "ok":
        return f"**error**: {row['error']}"
    if not row["n_verdicts"]:
        return "**no verdict**"
    text = f"{row['n_pass']}/{row['n_verdicts']} PASS"
    if row["failed"]:
        text += "; **FAIL**: " + ", ".join(row["failed"])
    return text.replace("|", "\\|")


def render_seeds_markdown(record):
    """The seed section of ``report.md``: one line per chapter, one column per seed.

    Parameters
    ----------
    record : dict
        As written by :func:`write_seeds`: ``seeds``, ``chapters`` and ``rows``.

    Examples
    --------
    >>> row = {"chapter": "sgd", "seed": 1, "status": "ok", "error": None, "n_verdicts": 2,
    ...        "n_pass": 2, "failed": [], "passed": True}
    >>> text = render_seeds_markdown({"seeds": [1], "chapters": ["sgd"], "rows": [row]})
    >>> print(text.splitlines()[2])
    **1 of 1 chapter runs pass.** Each chapter ran once per seed; a run passes when it ends and every verdict it prints passes.
    >>> print(text.splitlines()[-1])
    | sgd | 2/2 PASS |
    """
    rows, seeds = record["rows"], record["seeds"]
    n_ok = sum(r["passed"] for r in rows)
    lines = [
        "## Seeds: every chapter with other seeds", "",
        f"**{n_ok} of {len(rows)} chapter runs pass.** Each chapter ran once per seed; a run "
        "passes when it ends and every verdict it prints passes.", "",
        "| chapter | " + " | ".join(f"seed {s}" for s in seeds) + " |",
        "|---|" + "---|" * len(seeds),
    ]
    for name, by_seed in seed_matrix(rows, record.get("chapters", ())).items():
        lines.append(f"| {name} | " + " | ".join(_cell(by_seed.get(s)) for s in seeds) + " |")
    return "\n".join(lines) + "\n"


def write_seeds(rows, out, **fields):
    """Write ``seeds.json`` into the folder ``out``; return its path.

    The file holds ``fields`` (for instance ``command``, ``quick``, ``seeds``, ``chapters``,
    ``commit``, ``created``, ``versions``) and the rows under ``rows``.
    """
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "seeds.json"
    path.write_text(json.dumps({**fields, "rows": list(rows)}, indent=1) + "\n")
    return path


def read_seeds(path):
    """The record of a ``seeds.json``; raises ValueError if it is not one.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> read_seeds(write_seeds([], folder, seeds=[1], chapters=[]))["seeds"]
    [1]
    """
    record = json.loads(pathlib.Path(path).read_text())
    required = {"chapter", "seed", "status", "n_verdicts", "n_pass", "failed", "passed"}
    rows = record.get("rows") if isinstance(record, dict) else None
    if (not isinstance(rows, list) or not isinstance(record.get("seeds"), list)
            or not all(isinstance(r, dict) and required <= set(r) for r in rows)):
        raise ValueError(f"{path}: not a seeds.json (an object with 'seeds' and 'rows', "
                         f"each row with keys {', '.join(sorted(required))})")
    return record
