"""The regression harness itself: a changed checked output must make nbval fail."""

from __future__ import annotations

import re
import subprocess
import sys

import nbformat
import pytest
from notebook_tools import CHECK_TAG, chapter_notebooks, read


def _tamper(nb):
    """Change the first number printed by a checked verdict line; return the old and new line."""
    for cell in nb.cells:
        if cell.cell_type != "code" or CHECK_TAG not in cell.metadata.get("tags", []):
            continue
        for o in cell.get("outputs", []):
            if o.get("output_type") == "stream" and "PASS" in o.get("text", ""):
                old = o["text"]
                new = re.sub(r"(\d)", lambda m: str((int(m.group(1)) + 1) % 10), old.split(":", 1)[1], count=1)
                o["text"] = old.split(":", 1)[0] + ":" + new
                return old, o["text"]
    raise AssertionError("no checked verdict output to tamper with")


@pytest.mark.notebooks
def test_tampered_checked_output_fails_nbval(tmp_path):
    path = min(chapter_notebooks(), key=lambda p: p.stat().st_size)
    nb = read(path)
    old, new = _tamper(nb)
    assert old != new
    copy = tmp_path / path.name
    nbformat.write(nb, str(copy))
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "-q", "-p", "no:cacheprovider", str(copy)],
        cwd=tmp_path, capture_output=True, text=True,
    )
    assert result.returncode != 0, result.stdout[-2000:]
    assert "1 failed" in result.stdout or "failed" in result.stdout
