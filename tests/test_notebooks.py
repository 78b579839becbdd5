"""Chapter regression tests.

Every chapter listed in ``_toc.yml`` is run through papermill with
``quick=True`` and must print only PASS verdicts. (nbval, switched on in the
pytest configuration, separately reruns the committed notebooks and compares
their checked cells with the stored outputs.)
"""

from __future__ import annotations

import csv
import re

import papermill as pm
import pytest
from notebook_tools import QUICK_RUNS, ROOT, chapter_notebooks, read, verdict_lines

from smecore.book.figure_data import CSV_COLUMNS

CHAPTERS = chapter_notebooks()


def test_toc_lists_chapters():
    assert CHAPTERS, "no chapter notebooks found in _toc.yml"


@pytest.mark.notebooks
@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_chapter_quick_run_passes(path, tmp_path, monkeypatch):
    out = tmp_path / path.name
    # Quick runs publish no figure: were one to, its data would land here, not in the book.
    figure_data = tmp_path / "figure-data"
    monkeypatch.setenv("SMECORE_FIGURE_DATA_DIR", str(figure_data))
    pm.execute_notebook(
        str(path), str(out), parameters={"quick": True}, cwd=str(path.parent),
        kernel_name="python3", progress_bar=False,
    )
    QUICK_RUNS[path] = read(out)
    lines = verdict_lines(QUICK_RUNS[path])
    assert lines, f"{path.name}: no verdict printed"
    failed = [ln for ln in lines if ln.startswith("FAIL")]
    assert not failed, f"{path.name}: " + "; ".join(failed)
    assert not figure_data.exists(), "a quick run wrote figure data: pass render=not quick"


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_chapter_conventions(path):
    """Parameters cell first (literals only), checked verdict cells, stored outputs."""
    nb = read(path)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", []), "first code cell must be tagged parameters"
    for line in code[0].source.splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, value = line.partition("=")
            assert name.strip().isidentifier() and value.strip(), f"not an assignment: {line}"
            compile(value.strip(), "<parameter>", "eval")
            assert value.strip()[0] in "0123456789-TFN'\"", f"parameter must be a literal: {line}"
    assert "quick" in code[0].source and "seed" in code[0].source
    lines = verdict_lines(nb)
    assert lines and all(ln.startswith("PASS") for ln in lines), f"{path.name} stored verdicts: {lines}"
    assert all(c.get("execution_count") for c in code if c.source.strip()), "unexecuted cells stored"


FIGURE = re.compile(r"^(`{3,})\{glue:figure\} (\S+)\n(.*?)^\1$", re.M | re.S)
BOX = re.compile(r"^(`{3,})\{prf:(theorem|lemma|proposition|corollary|definition)\}[^\n]*\n"
                 r"(?::label: (\S+)\n)?.*?^\1$", re.M | re.S)


def markdown(nb):
    return "\n\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_every_figure_offers_its_data(path):
    """Each glued figure is published with its data, and its caption links the CSV."""
    nb = read(path)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    figures = FIGURE.findall(markdown(nb))
    for _, name, body in figures:
        link = f"<figure-data/{name}.csv>`"
        assert "{download}`" in body and link in body, f"{name}: caption lacks {link}"
        assert re.search(rf'publish_figure\("{name}", \w+, render=not quick\)', code), \
            f"{name}: not published with publish_figure(..., render=not quick)"
        cell = next(c for c in nb.cells if c.cell_type == "code" and f'"{name}"' in c.source)
        shown = [o for o in cell.get("outputs", []) if o.get("output_type") == "execute_result"]
        assert not shown, f"{name}: the figure cell shows a stray value: {shown}"
        data = path.parent / "figure-data" / f"{name}.csv"
        assert data.is_file(), f"{data} is missing: re-execute the chapter"
        table = list(csv.reader(ln for ln in data.read_text().splitlines()
                                if not ln.startswith("#")))
        assert tuple(table[0]) == CSV_COLUMNS and len(table) > 1, f"{data}: no data rows"


def test_no_stale_figure_data():
    """Every file in book/figure-data belongs to a figure of a chapter in the table of contents."""
    names = {name for path in CHAPTERS for _, name, _ in FIGURE.findall(markdown(read(path)))}
    files = {p.stem for p in (ROOT / "book" / "figure-data").glob("*")}
    assert files == names, f"stale: {sorted(files - names)}, missing: {sorted(names - files)}"


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_every_statement_links_its_illustration(path):
    """A theorem, lemma, proposition, corollary or definition box is followed at once by a
    sentence "Illustrated ..." that links (numref or ref) to where it is checked."""
    text = markdown(read(path))
    boxes = list(BOX.finditer(text))
    for box in boxes:
        following = text[box.end():].lstrip("\n").split("\n\n")[0]
        assert following.startswith("Illustrated") and re.search(r"\{(numref|ref)\}`", following), \
            f"{path.name}: box {box.group(3) or box.group(0)[:60]!r} is followed by {following[:80]!r}"
