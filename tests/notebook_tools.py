"""Helpers for the chapter regression tests: which chapters exist, and what their verdicts say."""

from __future__ import annotations

import pathlib

import nbformat
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHECK_TAG = "nbval-check-output"
#: Quick runs of the chapters in this pytest session (path -> executed notebook), recorded by
#: tests/test_notebooks.py so that tests/test_robustness.py compares a perturbed run with it
#: instead of executing every chapter twice more.
QUICK_RUNS: dict = {}


def toc_files(toc_path=ROOT / "_toc.yml"):
    """Every file named in the table of contents, in reading order."""
    toc = yaml.safe_load(pathlib.Path(toc_path).read_text())
    found = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                found.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk({k: v for k, v in toc.items() if k != "root"})
    return found


def chapter_notebooks(root=ROOT):
    """The notebooks (chapters) listed in ``_toc.yml``."""
    paths = [root / f"{name}.ipynb" for name in toc_files(root / "_toc.yml")]
    return [p for p in paths if p.exists()]


def checked_text(nb) -> str:
    """Stream text printed by the cells tagged ``nbval-check-output``."""
    out = []
    for cell in nb.cells:
        if cell.cell_type != "code" or CHECK_TAG not in cell.get("metadata", {}).get("tags", []):
            continue
        for o in cell.get("outputs", []):
            if o.get("output_type") == "stream":
                text = o.get("text", "")
            elif o.get("output_type") in ("execute_result", "display_data"):
                text = o.get("data", {}).get("text/plain", "")
            else:
                continue
            text = "".join(text) if isinstance(text, list) else text
            # Outputs are separate: never let one glue onto the next line.
            out.append(text if text.endswith("\n") else text + "\n")
    return "".join(out)


def verdict_lines(nb):
    """Lines of the checked cells that start with PASS or FAIL."""
    return [ln for ln in checked_text(nb).splitlines() if ln.startswith(("PASS", "FAIL"))]


def read(path):
    return nbformat.read(str(path), as_version=4)
