"""Every chapter declares the kind of every verdict and can run with a mutant.

No execution: the stored (published) notebooks are read. Each verdict line printed in a
checked cell must end in ``(<method>; <kind>)`` with kind claim, consistency or numerics,
since only claim verdicts count as reproducing a result (the Reproduction page and
``report.json``); and the parameters cell must define ``mutant`` (a literal, ``""`` by
default) so that ``python -m smecore reproduce --mutants`` can run the chapter with a
wrong equation (smecore.mutants).
"""

from __future__ import annotations

import pytest
from notebook_tools import chapter_notebooks, read, verdict_lines

from smecore.book.chapters import parameter_defaults, parse_verdict_line
from smecore.book.verdicts import KINDS

CHAPTERS = chapter_notebooks()
IDS = [p.stem for p in CHAPTERS]


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_every_stored_verdict_declares_its_kind(path):
    lines = verdict_lines(read(path))
    assert lines, f"{path.name}: no stored verdict"
    missing = [ln for ln in lines if (parse_verdict_line(ln) or {}).get("kind") not in KINDS]
    assert not missing, (f"{path.name}: {len(missing)} verdict(s) without a kind; pass kind= "
                         f"to verdicts.check / within_stderr and re-execute: {missing[:3]}")


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_every_chapter_takes_a_mutant(path):
    nb = read(path)
    assert parameter_defaults(nb).get("mutant") == "", \
        f'{path.name}: the parameters cell must define mutant = "" (a literal)'
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert any("mutants.activate(mutant)" in src for src in code[1:3]), \
        f"{path.name}: the cell after the parameters must call smecore.mutants.activate(mutant)"


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_every_chapter_makes_a_claim(path):
    kinds = {(parse_verdict_line(ln) or {}).get("kind") for ln in verdict_lines(read(path))}
    assert "claim" in kinds, f"{path.name}: no claim verdict (only supporting checks)"


def test_the_kind_check_catches_an_old_verdict_line():
    assert parse_verdict_line("PASS  S1  order: 1.02  band [0.9, 1.1]  (exact)")["kind"] is None
    assert parse_verdict_line("PASS  S1  order: 1.02  band [0.9, 1.1]  (exact; claim)")["kind"] \
        == "claim"
