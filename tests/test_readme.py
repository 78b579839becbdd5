"""The README's example runs and prints what the README says it prints."""

from __future__ import annotations

import contextlib
import io
import pathlib
import re

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def test_readme_example_runs_and_matches_its_output():
    text = README.read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    shown = re.search(r"prints\n\n```text\n(.*?)```", text, re.S).group(1)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(README), "exec"), {"__name__": "readme_example"})
    assert out.getvalue() == shown


def test_readme_has_the_two_commands():
    text = README.read_text()
    assert "pip install -r requirements.txt && jupyter-book build ." in text
    assert "pip install -r requirements.txt && pytest" in text
