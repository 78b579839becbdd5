"""Chapters read like lectures: short visible cells, folded plotting code, a closing summary.

A reader sees a chapter's prose and the short calls into smecore that do the work. Code a
reader need not read (figure drawing) is folded with the ``hide-input`` tag; no visible code
cell is longer than :data:`MAX_VISIBLE_LINES` lines. Every chapter ends with a "Summary"
section in prose before its verdict count.
"""

from __future__ import annotations

import pytest

from notebook_tools import chapter_notebooks, read

CHAPTERS = chapter_notebooks()
#: Visible computation cells stay short (about 15 lines; never over 25).
MAX_VISIBLE_LINES = 25
FOLDED = {"hide-input", "hide-cell", "remove-input", "remove-cell", "parameters"}


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_visible_cells_are_short(path):
    long_cells = []
    for i, cell in enumerate(read(path).cells):
        if cell.cell_type != "code" or FOLDED & set(cell.metadata.get("tags", [])):
            continue
        lines = [ln for ln in cell.source.splitlines() if ln.strip()]
        if len(lines) > MAX_VISIBLE_LINES:
            long_cells.append(f"cell {i}: {len(lines)} lines")
    assert not long_cells, f"{path.name}: visible code cells over {MAX_VISIBLE_LINES} lines: {long_cells}"


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_chapter_ends_with_a_summary(path):
    headings = [line for cell in read(path).cells if cell.cell_type == "markdown"
                for line in cell.source.splitlines() if line.startswith("#")]
    assert any(h.lstrip("#").strip().lower().startswith("summary") for h in headings), (
        f"{path.name}: no 'Summary' section")


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_glued_numbers_are_plain_floats(path):
    # `{glue:text}`name:.2f`` formats the glued text/plain; numpy 2 shows a numpy scalar as
    # "np.float64(0.85)", which the book build cannot format (a warning, so a failed -W build).
    bad = []
    for cell in read(path).cells:
        for out in cell.get("outputs", []):
            if "scrapbook" not in out.get("metadata", {}):
                continue
            for mime, text in out.get("data", {}).items():
                text = "".join(text) if isinstance(text, list) else str(text)
                if mime.endswith("text/plain") and text.startswith("np."):
                    bad.append(f"{out['metadata']['scrapbook'].get('name')}: {text[:40]}")
    assert not bad, f"{path.name}: glue plain floats (float(x)), not numpy scalars: {bad}"
