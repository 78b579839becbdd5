"""The subpackages of smecore are its architecture: imports run one way.

Each subpackage has a rank; a module may import from its own subpackage and from
subpackages of strictly lower rank, never from a higher or an equal-rank sibling.
The check is static (it parses every module's imports, including the ones inside
functions), so it also catches imports that only run on some code paths.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "smecore"

#: Lower ranks are imported by higher ones. ``_validation`` (private helpers) is below
#: everything; ``problems`` and ``estimation`` (pure statistics) share the bottom layer.
RANKS = {
    "_validation": 0,
    "mutants": 0,
    "problems": 1,
    "estimation": 1,
    "algorithms": 2,
    "sme": 3,
    "solvers": 4,
    "moments": 4,
    "studies": 5,
    "networks": 5,
    "highdim": 5,
    "flows": 5,
    "book": 6,
    "__main__": 7,
}


def layer_of(module: str) -> str | None:
    """The subpackage a dotted module path below ``smecore`` belongs to."""
    parts = module.split(".")
    if parts[0] != "smecore" or len(parts) == 1:
        return None
    return parts[1]


def imported_modules(path: pathlib.Path, package_root: pathlib.Path = PACKAGE):
    """Absolute dotted names of the smecore modules that ``path`` imports (with line numbers)."""
    rel = path.relative_to(package_root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
        here = parts
    else:
        here = parts[:-1]
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("smecore"):
                if node.module is None or target == "smecore":
                    for alias in node.names:
                        yield f"{target}.{alias.name}", node.lineno
                else:
                    yield target, node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("smecore"):
                    yield alias.name, node.lineno


def back_edges(package_root: pathlib.Path = PACKAGE, ranks=RANKS, reexported=("closed_forms",)):
    """Every import that runs against the layering (or names a module that does not exist)."""
    bad = []
    for path in sorted(package_root.rglob("*.py")):
        rel = path.relative_to(package_root.parent).with_suffix("")
        module = ".".join(rel.parts)
        own = layer_of(module)
        if own is None or own == "__init__":
            continue  # smecore/__init__.py re-exports the public API from every layer
        if own not in ranks:
            bad.append(f"{module}: subpackage {own!r} has no rank in RANKS")
            continue
        for target, line in imported_modules(path, package_root):
            other = layer_of(target)
            if other is None or other == own:
                continue
            if other not in ranks:
                continue  # a name re-exported by smecore/__init__ (e.g. smecore.moments.closed_forms)
            if ranks[other] >= ranks[own]:
                bad.append(f"{module}:{line} imports {target} ({own} rank {ranks[own]} -> "
                           f"{other} rank {ranks[other]})")
    return bad


def test_every_subpackage_has_a_rank():
    packages = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages <= set(RANKS), f"subpackages without a rank: {sorted(packages - set(RANKS))}"


def test_imports_run_one_way():
    assert back_edges() == []


def test_a_back_import_is_caught(tmp_path):
    """The check fails when a lower layer imports a higher one (and only then)."""
    root = tmp_path / "smecore"
    for pkg, body in {
        "problems": "from ..estimation import x\n",          # equal rank: forbidden
        "estimation": "",
        "algorithms": "from ..problems import y\n",            # downward: allowed
        "sme": "def f():\n    from smecore.solvers import z\n",  # upward, hidden in a function
        "solvers": "",
    }.items():
        (root / pkg).mkdir(parents=True)
        (root / pkg / "__init__.py").write_text("")
        (root / pkg / "mod.py").write_text(body)
    (root / "__init__.py").write_text("")
    found = back_edges(root)
    assert len(found) == 2
    assert any("smecore.problems.mod" in b and "estimation" in b for b in found)
    assert any("smecore.sme.mod" in b and "smecore.solvers" in b for b in found)


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_stay_readable(path):
    """No module over 600 lines unless its docstring states why."""
    text = path.read_text()
    if len(text.splitlines()) > 600:
        assert "Why this module is long" in text, f"{path.name}: {len(text.splitlines())} lines"
