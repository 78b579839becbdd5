"""Chapter regression tests.

Every chapter listed in ``_toc.yml`` is run through papermill with
``quick=True`` and must print only PASS verdicts. (nbval, switched on in the
pytest configuration, separately reruns the committed notebooks and compares
their checked cells with the stored outputs.)
"""

from __future__ import annotations

import papermill as pm
import pytest

from notebook_tools import ROOT, chapter_notebooks, read, verdict_lines

CHAPTERS = chapter_notebooks()


def test_toc_lists_chapters():
    assert CHAPTERS, "no chapter notebooks found in _toc.yml"


@pytest.mark.notebooks
@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_chapter_quick_run_passes(path, tmp_path):
    out = tmp_path / path.name
    pm.execute_notebook(
        str(path), str(out), parameters={"quick": True}, cwd=str(path.parent),
        kernel_name="python3", progress_bar=False,
    )
    lines = verdict_lines(read(out))
    assert lines, f"{path.name}: no verdict printed"
    failed = [ln for ln in lines if ln.startswith("FAIL")]
    assert not failed, f"{path.name}: " + "; ".join(failed)


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
