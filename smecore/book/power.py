"""The power of the book's verdicts: which wrong equations their claims reject.

A *mutant* (:mod:`smecore.mutants`) is a named wrong alternative to one equation of
the book. The power run (``python -m smecore reproduce --quick --mutants``, see
:func:`smecore.book.reproduce.run_mutants`) executes every chapter that prints a claim
verdict of the mutant's result once more with the mutant active. The mutant is
*killed* when a claim verdict of its result FAILs in a chapter that otherwise ran to
the end, and *survived* when every one of them still passes. A chapter that stops with
an error under the mutant does not kill it: the error is recorded instead, so that a
crash is never mistaken for a rejection.

:func:`kill_record` turns the chapter runs of one mutant into one row of
``power.json``; :func:`render_power_markdown` is the power section of ``report.md``;
:func:`power_matrix` arranges the rows by result for the book's Reproduction page.
"""

from __future__ import annotations

import json
import pathlib

__all__ = ["OUTCOMES", "kill_record", "outcome", "power_matrix", "render_power_markdown",
           "write_power", "read_power"]

#: The outcomes of one mutant: rejected by a claim verdict, accepted by all of them, or not
#: decided (a chapter stopped with an error, or no chapter checks the mutant's result).
OUTCOMES = ("killed", "survived", "error", "not checked")


def _claims(run, result):
    return [v for v in run["verdicts"] if v.get("result") == result and v.get("kind") == "claim"]


def kill_record(mutant, runs, baseline=None):
    """One row of ``power.json``: was ``mutant`` rejected by a claim verdict of its result?

    Parameters
    ----------
    mutant : smecore.mutants.Mutant
        The mutant that was active in ``runs``.
    runs : list of dict
        Results of :func:`smecore.book.reproduce.run_chapter` with the mutant active, one
        per chapter that prints a claim verdict of ``mutant.result``.
    baseline : dict, optional
        Chapter name -> the same chapter's run without a mutant. A chapter whose baseline
        stopped with an error or already FAILs a claim verdict of the result cannot kill
        the mutant (noted in ``note``).

    Returns
    -------
    dict
        ``result, mutant, description, killed, killed_by`` (the quantities of the claim
        verdicts that FAILed, as ``"<chapter>: <quantity>"``), ``chapter`` (the chapters
        run, comma-separated), ``chapters`` (the same as a list), ``error`` (the chapters'
        errors, or None) and ``note``.

    Examples
    --------
    >>> from smecore.mutants import Mutant
    >>> m = Mutant("S1", "no-noise", "sgd_sme", {"noise": False}, "the SME without noise")
    >>> v = {"result": "S1", "quantity": "order", "kind": "claim", "passed": False}
    >>> run = {"name": "sgd", "status": "ok", "error": None, "verdicts": [v]}
    >>> row = kill_record(m, [run])
    >>> row["killed"], row["killed_by"], row["chapter"]
    (True, ['sgd: order'], 'sgd')
    >>> kill_record(m, [dict(run, status="error", error="cell 3: DivergenceError")])["error"]
    'sgd: cell 3: DivergenceError'
    """
    killed_by, errors, notes = [], [], []
    for run in runs:
        name = run["name"]
        if run["status"] != "ok":
            errors.append(f"{name}: {run['error']}")
            continue
        base = (baseline or {}).get(name)
        if base is not None and (base["status"] != "ok"
                                 or not all(v.get("passed") for v in _claims(base, mutant.result))):
            notes.append(f"{name} fails without the mutant, so it cannot reject it")
            continue
        unkinded = sum(v.get("kind") is None for v in run["verdicts"])
        if unkinded:
            notes.append(f"{name} printed {unkinded} verdict(s) without a kind")
        killed_by += [f"{name}: {v['quantity']}" for v in _claims(run, mutant.result)
                      if not v.get("passed")]
        if not _claims(run, mutant.result):
            notes.append(f"{name} printed no claim verdict of {mutant.result} with the mutant")
    if not runs:
        notes.append(f"no chapter prints a claim verdict of {mutant.result}")
    chapters = [run["name"] for run in runs]
    return {
        "result": mutant.result, "mutant": mutant.key, "description": mutant.description,
        "killed": bool(killed_by), "killed_by": killed_by,
        "chapter": ", ".join(chapters), "chapters": chapters,
        "error": "; ".join(errors) or None, "note": "; ".join(notes) or None,
    }


def outcome(row):
    """``"killed"``, ``"survived"``, ``"error"`` or ``"not checked"`` for a row of power.json.

    Examples
    --------
    >>> outcome({"killed": False, "error": "sgd: cell 4: ValueError", "chapters": ["sgd"]})
    'error'
    """
    if row.get("killed"):
        return "killed"
    if row.get("error"):
        return "error"
    if not row.get("chapters", [row.get("chapter")] if row.get("chapter") else []):
        return "not checked"
    return "survived"


def power_matrix(rows, results=()):
    """The rows arranged by result: ``{result: [(mutant name, outcome, row), ...]}``.

    Results listed in ``results`` come first, in that order (also those without a mutant,
    with an empty list), then any other result in the rows, sorted.

    Examples
    --------
    >>> rows = [{"result": "S2", "mutant": "S2:no-noise", "killed": True, "chapters": ["sgd"]}]
    >>> {k: [(n, o) for n, o, _ in v] for k, v in power_matrix(rows, ["S1", "S2"]).items()}
    {'S1': [], 'S2': [('no-noise', 'killed')]}
    """
    order = list(results) + sorted({r["result"] for r in rows} - set(results))
    matrix = {rid: [] for rid in order}
    for row in rows:
        name = row["mutant"].split(":", 1)[-1]
        matrix[row["result"]].append((name, outcome(row), row))
    return matrix


def _cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_power_markdown(rows):
    """The power section of ``report.md``: one line per mutant and a count.

    Examples
    --------
    >>> print(render_power_markdown([]).splitlines()[0])
    ## Power: the wrong equations the claims reject
    """
    killed = sum(outcome(r) == "killed" for r in rows)
    lines = [
        "## Power: the wrong equations the claims reject", "",
        f"**{killed} of {len(rows)} mutants killed.** Each mutant replaces one equation of the "
        "book by a named wrong one; it is killed when a claim verdict of its result FAILs "
        "with the mutant active (a chapter that stops with an error does not count as a kill).",
        "", "| result | mutant | what it is | chapters run | outcome | killed by |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        result = outcome(r)
        detail = "; ".join(r["killed_by"]) or r.get("error") or r.get("note") or "-"
        shown = result if result == "killed" else f"**{result}**"
        lines.append(f"| {r['result']} | {r['mutant']} | {_cell(r.get('description', ''))} | "
                     f"{r.get('chapter') or '-'} | {shown} | {_cell(detail)} |")
    return "\n".join(lines) + "\n"


def write_power(rows, out):
    """Write ``power.json`` (the list of rows) into the folder ``out``; return its path."""
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "power.json"
    path.write_text(json.dumps(list(rows), indent=1) + "\n")
    return path


def read_power(path):
    """The rows of a ``power.json``; raises ValueError if it is not a list of power rows."""
    rows = json.loads(pathlib.Path(path).read_text())
    required = {"result", "mutant", "killed", "killed_by"}
    if not isinstance(rows, list) or not all(isinstance(r, dict) and required <= set(r)
                                             for r in rows):
        raise ValueError(f"{path}: not a power.json (a list of objects with keys "
                         f"{', '.join(sorted(required))})")
    return rows
