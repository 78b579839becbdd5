"""The Reproduction page's seed table (``book/_ext/reproduction_seeds.py``) and its warnings.

The build runs with ``-W``, so each warning here fails the book: a missing or unreadable
record, a failed run in it, a chapter of the book that the sweep never ran.
"""

from __future__ import annotations

import json
import logging
import pathlib
import sys
import types

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "book" / "_ext"))

pytest.importorskip("sphinx")
import reproduction_seeds  # noqa: E402
from test_cli import CHAPTERS, fake_book  # noqa: E402

from smecore.book.chapters import code_digest  # noqa: E402


def _row(chapter, seed, failed=()):
    return {"chapter": chapter, "seed": seed, "status": "ok", "error": None, "wall_time": 1.0,
            "n_verdicts": 2, "n_pass": 2 - len(failed), "failed": list(failed),
            "passed": not failed}


def _page(root, record, caplog):
    """The seed section's text and the warnings the build would get."""
    if record is not None:
        (root / reproduction_seeds.RECORD).write_text(json.dumps(record))
    app = types.SimpleNamespace(srcdir=str(root))
    with caplog.at_level(logging.WARNING):
        caplog.clear()
        container = reproduction_seeds.seeds_section(app)
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    return container.astext(), warnings


@pytest.fixture
def book(tmp_path):
    return fake_book(tmp_path / "book", {k: CHAPTERS[k] for k in ("good", "unsaved")})


def _record(root, rows, digest=None):
    return {"command": "smecore reproduce --quick --seeds 1 2", "quick": True, "seeds": [1, 2],
            "commit": "abc1234", "created": "2026-12-07T05:00:00",
            "code_digest": digest or code_digest(root), "rows": rows}


def test_a_complete_passing_record_gives_no_warning(book, caplog):
    rows = [_row(c, s) for c in ("good", "unsaved") for s in (1, 2)]
    text, warnings = _page(book, _record(book, rows), caplog)
    assert warnings == []
    assert "4 of 4 chapter runs pass (quick mode, seeds 1, 2)" in text
    assert "unchanged since" in text and "2/2 PASS" in text


def test_a_changed_library_is_said_but_not_a_warning(book, caplog):
    rows = [_row(c, s) for c in ("good", "unsaved") for s in (1, 2)]
    text, warnings = _page(book, _record(book, rows, digest="0" * 64), caplog)
    assert warnings == []
    assert "changed since; rerun the command" in text


def test_a_missing_record_warns(book, caplog):
    text, warnings = _page(book, None, caplog)
    assert len(warnings) == 1 and "no seed sweep record" in warnings[0]
    assert "no record" in text


def test_an_unreadable_record_warns(book, caplog):
    (book / reproduction_seeds.RECORD).write_text("{not json")
    text, warnings = _page(book, None, caplog)
    assert len(warnings) == 1 and "no seed sweep record" in warnings[0]


def test_a_failed_run_and_an_unswept_chapter_warn(book, caplog):
    rows = [_row("good", 1), _row("good", 2, failed=["S1"])]
    text, warnings = _page(book, _record(book, rows), caplog)
    assert len(warnings) == 1
    assert "unsaved not in the record" in warnings[0] and "good seed 2: S1" in warnings[0]
    assert "1 of 2 chapter runs pass" in text and "FAIL: S1" in text and "not run" in text


def test_a_run_that_stopped_warns_with_its_error(book, caplog):
    rows = [_row(c, s) for c in ("good", "unsaved") for s in (1, 2)]
    rows[1].update(status="error", error="cell 3: ValueError: boom", n_verdicts=0, n_pass=0,
                   passed=False)
    text, warnings = _page(book, _record(book, rows), caplog)
    assert len(warnings) == 1 and "good seed 2: cell 3: ValueError: boom" in warnings[0]
    assert "error: cell 3: ValueError: boom" in text
