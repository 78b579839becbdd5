"""The book's chapters as data: discovery from ``_toc.yml``, parameters, verdict lines.

:func:`available_chapters` lists the chapters, :func:`parameter_defaults` reads a
chapter's ``parameters`` cell, :func:`parse_verdict_line` and
:func:`verdicts_from_notebook` read back the verdicts a chapter printed. Shared by
``python -m smecore reproduce`` and the book's reproduction page
(``book/_ext/reproduction.py``).
"""

from __future__ import annotations

import ast
import json
import os
import pathlib
import re

import yaml

__all__ = ["VERDICT_PATTERN", "available_chapters", "code_digest", "parse_verdict_line",
           "verdicts_from_notebook", "parameter_defaults"]


PARAMETERS_TAG = "parameters"


#: The format of a printed verdict line. Mirrors smecore.book.Verdict.line:
#: "PASS  S1  quantity: 1.02 +/- 0.01  band [0.9, 1.1]  (exact)". The quantity may itself
#: contain ": ", so it is matched up to the last ": " followed by a value.
VERDICT_PATTERN = re.compile(
    r"^(?P<status>PASS|FAIL)\s+(?P<result>\S+)\s+(?P<quantity>.*): (?P<value>(?:< )?\S+)"
    r"(?: \+/- (?P<uncertainty>\S+))?\s+band \[(?P<low>[^,\]]+), (?P<high>[^\]]+)\]"
    r"\s+\((?P<method>[^);]*)(?:; (?P<kind>[a-z]+))?\)\s*$"
)


def find_root(start=None):
    """The book root: the first folder holding ``_toc.yml``.

    Looks in ``start`` (default: the current directory) and its parents, then in the
    source checkout this package was installed from (editable installs).

    Returns
    -------
    pathlib.Path or None
    """
    start = pathlib.Path(start or os.getcwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / "_toc.yml").is_file():
            return folder
    checkout = pathlib.Path(__file__).resolve().parents[1]
    return checkout if (checkout / "_toc.yml").is_file() else None


def _toc_files(toc):
    found = [toc["root"]] if "root" in toc else []

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                found.append(node["file"])
            for key, value in node.items():
                if key != "root":
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk({k: v for k, v in toc.items() if k != "root"})
    return found


def available_chapters(root):
    """Chapter notebooks listed in ``root/_toc.yml`` that exist, in reading order.

    Parameters
    ----------
    root : path-like
        The book root (the folder holding ``_toc.yml``).

    Returns
    -------
    dict
        Notebook stem -> path of the ``.ipynb`` file.

    Raises
    ------
    FileNotFoundError
        If ``root`` has no ``_toc.yml``.

    Examples
    --------
    >>> import tempfile
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (root / "_toc.yml").write_text("root: intro\\nchapters:\\n  - file: book/a\\n")
    >>> (root / "book").mkdir(); (root / "book" / "a.ipynb").touch()
    >>> list(available_chapters(root))
    ['a']
    """
    root = pathlib.Path(root)
    toc_path = root / "_toc.yml"
    if not toc_path.is_file():
        raise FileNotFoundError(f"no _toc.yml in {root}")
    toc = yaml.safe_load(toc_path.read_text()) or {}
    chapters = {}
    for name in _toc_files(toc):
        path = root / (name if name.endswith(".ipynb") else f"{name}.ipynb")
        if path.is_file():
            chapters.setdefault(path.stem, path)
    return chapters


def code_digest(root):
    """A digest of what the chapters' verdicts depend on: smecore's source and the chapters' code.

    Markdown cells and stored outputs do not enter it, so re-executing a chapter or editing
    its prose keeps the digest; a changed line of the library or of a code cell changes it.
    The power run and the seed sweep store it, so the book can say whether their record was
    made on the code it shows.

    Parameters
    ----------
    root : str or path-like
        The book root holding ``_toc.yml``.

    Returns
    -------
    str
        A SHA-256 hex digest.

    Examples
    --------
    >>> root = find_root()
    >>> root is None or len(code_digest(root)) == 64
    True
    """
    import hashlib

    import smecore

    digest = hashlib.sha256()
    package = pathlib.Path(smecore.__file__).parent
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    for name, path in available_chapters(pathlib.Path(root)).items():
        nb = json.loads(path.read_text())
        code = [c.get("source") for c in nb.get("cells", []) if c.get("cell_type") == "code"]
        digest.update(name.encode() + b"\0" + json.dumps(code).encode())
    return digest.hexdigest()


def _number(text):
    if text is None or text.strip() == "-":
        return None
    try:
        # "< 1e-12" (an error at rounding level) is reported as its bound.
        return float(text.removeprefix("< "))
    except ValueError:
        return None


def parse_verdict_line(line):
    """Parse one line printed by :meth:`smecore.book.Verdicts.check`.

    Parameters
    ----------
    line : str

    Returns
    -------
    dict or None
        Keys ``result, quantity, value, uncertainty, low, high, method, passed``
        (numbers as printed, i.e. rounded), or None if the line is not a verdict.

    Examples
    --------
    >>> v = parse_verdict_line("PASS  S1  fitted order: 1.02 +/- 0.01  band [0.9, 1.1]  (exact)")
    >>> v["result"], v["quantity"], v["value"], v["uncertainty"], v["high"], v["passed"]
    ('S1', 'fitted order', 1.02, 0.01, 1.1, True)
    >>> parse_verdict_line("PASS  S2  relative error: < 1e-12  band [0, 1e-10]  (exact)")["value"]
    1e-12
    >>> parse_verdict_line("2 of 2 verdicts PASS") is None
    True
    """
    match = VERDICT_PATTERN.match(line.strip())
    if not match:
        return None
    g = match.groupdict()
    return {
        "result": g["result"],
        "quantity": g["quantity"].strip(),
        "value": _number(g["value"]),
        "uncertainty": _number(g["uncertainty"]),
        "low": _number(g["low"]),
        "high": _number(g["high"]),
        "method": g["method"],
        "kind": g["kind"],
        "passed": g["status"] == "PASS",
    }


def _output_text(output):
    if output.get("output_type") == "stream":
        text = output.get("text", "")
    elif output.get("output_type") in ("execute_result", "display_data"):
        text = output.get("data", {}).get("text/plain", "")
    else:
        return ""
    return "".join(text) if isinstance(text, list) else text


def verdicts_from_notebook(nb):
    """Verdicts printed in the outputs of an executed notebook.

    Every code cell is searched (not only the cells tagged ``nbval-check-output``), so a
    verdict printed elsewhere is not lost; only lines in the exact verdict format count.

    Parameters
    ----------
    nb : nbformat.NotebookNode or dict

    Returns
    -------
    list of dict
        As :func:`parse_verdict_line`, in order of appearance.

    Examples
    --------
    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook()
    >>> cell = nbformat.v4.new_code_cell("verdicts.check(...)")
    >>> cell.outputs = [nbformat.v4.new_output("stream", name="stdout",
    ...     text="FAIL  S2  slope: 1.5  band [1.9, 2.1]  (exact)\\n")]
    >>> nb.cells.append(cell)
    >>> [(v["result"], v["passed"]) for v in verdicts_from_notebook(nb)]
    [('S2', False)]
    """
    found = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        for output in cell.get("outputs", []):
            for line in _output_text(output).splitlines():
                verdict = parse_verdict_line(line)
                if verdict is not None:
                    found.append(verdict)
    return found


def parameter_defaults(nb):
    """Literal assignments of the notebook's cell tagged ``parameters``.

    Examples
    --------
    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook()
    >>> nb.cells.append(nbformat.v4.new_code_cell("quick = False  # small\\nseed = 2019",
    ...                                           metadata={"tags": ["parameters"]}))
    >>> parameter_defaults(nb)
    {'quick': False, 'seed': 2019}
    """
    for cell in nb.get("cells", []):
        tags = cell.get("metadata", {}).get("tags", [])
        if cell.get("cell_type") == "code" and PARAMETERS_TAG in tags:
            source = cell.get("source", "")
            source = "".join(source) if isinstance(source, list) else source
            try:
                tree = ast.parse(source)
            except SyntaxError:
                return {}
            values = {}
            for node in tree.body:
                if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                        and isinstance(node.targets[0], ast.Name):
                    try:
                        values[node.targets[0].id] = ast.literal_eval(node.value)
                    except ValueError:
                        pass
            return values
    return {}
