"""The repository cites only what a reader has: the paper, cited works, the book's chapters.

No tracked file names our internal summary of the paper, an internal brief, or an
absolute path of a build machine (stored notebook outputs included).
"""

from __future__ import annotations

import pathlib
import re
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
#: The internal summary's file name, assembled so that this file does not name it either.
INTERNAL_SUMMARY = "paper" + ".md"
FORBIDDEN = re.compile(re.escape(INTERNAL_SUMMARY) +
                       r"|\bbriefs?\b|/work/|/root/|/home/\w|/Users/\w|C:\\\\Users",
                       re.IGNORECASE)
#: Vendored third-party files are not ours to edit.
VENDORED = ("book/_static/mathjax/",)


def tracked_text_files():
    try:
        out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split("\n")
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    for name in filter(None, out):
        if name.startswith(VENDORED) or name == "tests/test_hygiene.py":
            continue
        path = ROOT / name
        try:
            yield name, path.read_text()
        except (UnicodeDecodeError, FileNotFoundError):
            continue


def test_no_internal_references_or_machine_paths():
    hits = [f"{name}:{text[:m.start()].count(chr(10)) + 1}: {m.group(0)}"
            for name, text in tracked_text_files() for m in FORBIDDEN.finditer(text)]
    assert hits == []


def test_the_pattern_catches_what_it_must():
    for bad in (f"see {INTERNAL_SUMMARY} section 3", "the engine brief", "/work/main/book",
                "/root/.cache"):
        assert FORBIDDEN.search(bad), bad
    for fine in ("Li, Tai & E (2019), Lemma 5", "briefly", "/tmp/rep"):
        assert not FORBIDDEN.search(fine), fine


def test_no_control_characters():
    """A Python escape left in prose ("\\alpha" written as "\\a" + "lpha") breaks the page's math."""
    hits = [f"{name}: {repr(ch)}" for name, text in tracked_text_files()
            for ch in sorted(set(text) & {"\x07", "\x08", "\x0b", "\x0c"})]
    assert hits == []
