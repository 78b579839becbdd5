"""Sphinx extension: the book's reproduction page, built from this build's chapters.

The directive ``reproduction-table`` (argument ``results``, ``kinds``, ``power``,
``seeds``, ``chapters`` or ``environment``) leaves a placeholder node. At ``doctree-resolved`` (all
documents have been read, and myst-nb has executed the notebooks or taken them
from its cache) the placeholder is replaced by a table built from the verdict
lines (``PASS  S1  quantity: value  band [low, high]  (method)``) found in the
cell outputs of every other document's doctree. The numbers on the page are
therefore always those of the chapters rendered in the same build; there is no
stored copy that could go stale.

A verdict that fails makes the build emit a warning (``reproduction.fail``), so
``jupyter-book build -W`` refuses to publish a book whose own checks fail; so does a
verdict that declares no kind (``reproduction.kind``). Verdicts are counted by kind
(claim, consistency, numerics), and a result is shown as reproduced only when it has
claim verdicts and all pass; the other kinds are listed as its supporting checks.
The power matrix (``power``) comes from ``reproduction_power.py``, the seed table
(``seeds``) from ``reproduction_seeds.py``.

Each result also links the statement boxes (sphinx-proof) that state it, listed in
:data:`STATEMENTS`; a label that no chapter defines any more is a warning too.

Registered in ``_config.yml`` under ``sphinx: local_extensions``.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import platform
import time

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from smecore.book.report import RESULTS
from smecore.book.chapters import VERDICT_PATTERN

import reproduction_power  # book/_ext, next to this file
import reproduction_seeds  # book/_ext, next to this file

logger = logging.getLogger(__name__)

KINDS = ("results", "chapters", "environment", "kinds", "power", "seeds")

#: What a verdict tests (smecore.book.verdicts.KINDS). Only claims reproduce a result.
VERDICT_KINDS = ("claim", "consistency", "numerics")

#: The sphinx-proof boxes that state each result, by label, in reading order.
STATEMENTS = {
    "T1": ["thm-sgd-main", "prop-sgd-matched"],
    "L4": ["lem-sde-onestep"],
    "L5": ["lem-sgd-onestep"],
    "S1": ["cor-sgd-order1", "prop-sgd-fluctuations"],
    "S2": ["thm-sgd-order2"],
    "M1": ["def-heavy-ball-forms", "thm-momentum-sme"],
    "M2": ["prop-msgd-stationary"],
    "M3": ["prop-momentum-critical"],
    "N1": ["thm-nesterov-sme"],
    "N2": ["prop-nesterov-accumulation"],
    "D1": ["prop-dynamics-phases"],
    "D2": ["prop-dynamics-scaling"],
    "A1": ["thm-dynamics-expansion", "thm-dynamics-csgd"],
    "NW1": ["prop-network-svag"],
    "NW2": ["prop-network-noise"],
    "NW3": ["prop-network-lsr"],
    "HD1": ["prop-critical-lsq"],
    "HD2": ["prop-critical-ou"],
    "HD3": ["prop-critical-neuron"],
    "HS1": ["prop-homog-risk"],
    "HS2": ["prop-homog-adversarial", "prop-homog-nonmonotone"],
    "IR1": ["prop-ir-modified-flow"],
    "IR2": ["prop-ir-rr-loss"],
    "TI1": ["prop-ti-balance"],
    "TI2": ["prop-ti-orthogonal"],
    "TI3": ["def-ti-ep", "prop-ti-ep-leading"],
    "AH1": ["prop-ah-lyapunov"],
}


class reproduction_placeholder(nodes.General, nodes.Element):
    """Replaced at doctree-resolved; never reaches a writer."""


class ReproductionTable(SphinxDirective):
    """``{reproduction-table} results|chapters|environment``."""

    optional_arguments = 1
    has_content = False

    def run(self):
        kind = self.arguments[0] if self.arguments else "results"
        try:
            directives.choice(kind, KINDS)
        except ValueError:
            raise self.error(f"reproduction-table: unknown kind {kind!r}; "
                             f"choose one of {', '.join(KINDS)}") from None
        self.env.reproduction_docs = getattr(self.env, "reproduction_docs", set())
        self.env.reproduction_docs.add(self.env.docname)
        placeholder = reproduction_placeholder(kind=kind)
        if kind == "results":
            # Statement titles may hold math. Sphinx loads MathJax only on pages that had math
            # when they were read, so the placeholder carries an (unrendered) math node.
            placeholder += nodes.math("", "")
        return [placeholder]


# ----------------------------------------------------------------------------- collecting

def verdicts_in_doctree(doctree):
    """Printed verdicts in the cell outputs of one doctree (myst-nb output blocks only).

    Only literal blocks with the class ``output`` are searched, so a verdict line quoted
    in prose or in a code cell's source is not mistaken for a result.

    Examples
    --------
    >>> from docutils import nodes
    >>> doc = nodes.section()
    >>> doc += nodes.literal_block(text="PASS  S1  order: 1.02  band [0.9, 1.1]  (exact)",
    ...                            classes=["output", "stream"])
    >>> doc += nodes.literal_block(text="FAIL  S2  order: 3  band [1.9, 2.1]  (exact)")
    >>> [(v["result"], v["status"], v["value"]) for v in verdicts_in_doctree(doc)]
    [('S1', 'PASS', '1.02')]
    """
    found = []
    for block in doctree.findall(nodes.literal_block):
        if "output" not in block.get("classes", []):
            continue
        for line in block.astext().splitlines():
            match = VERDICT_PATTERN.match(line.strip())
            if match:
                found.append(match.groupdict())
    return found


def _reading_order(env, root):
    order, seen = [], set()

    def walk(docname):
        if docname in seen:
            return
        seen.add(docname)
        order.append(docname)
        for child in env.toctree_includes.get(docname, []):
            walk(child)

    walk(root)
    order += sorted(set(env.found_docs) - seen)  # documents outside every toctree, last
    return order


def collect(app, exclude=()):
    """``[(docname, is_notebook, verdicts)]`` for every document in reading order."""
    env = app.env
    chapters = []
    for docname in _reading_order(env, app.config.root_doc):
        if docname in exclude or docname not in env.all_docs:
            continue
        is_notebook = str(env.doc2path(docname)).endswith(".ipynb")
        verdicts = verdicts_in_doctree(env.get_doctree(docname))
        if is_notebook or verdicts:
            chapters.append((docname, is_notebook, verdicts))
    return chapters


def _exec_data(env, docname):
    data = getattr(env, "nb_metadata", {}).get(docname, {})
    return data.get("exec_data") if isinstance(data, dict) else None


# ----------------------------------------------------------------------------- rendering

def _para(*content):
    para = nodes.paragraph()
    for item in content:
        para += nodes.Text(item) if isinstance(item, str) else item
    return para


def _table(headers, rows, widths=None):
    # "colwidths-given" makes the HTML writer emit the relative widths (percentages).
    table = nodes.table(classes=["reproduction-table"] + (["colwidths-given"] if widths else []))
    group = nodes.tgroup(cols=len(headers))
    table += group
    for width in widths or [1] * len(headers):
        group += nodes.colspec(colwidth=width)
    head = nodes.thead()
    group += head
    head += _row(headers)
    body = nodes.tbody()
    group += body
    for row in rows:
        body += _row(row)
    return table


def _row(cells):
    row = nodes.row()
    for cell in cells:
        entry = nodes.entry()
        if isinstance(cell, str):
            entry += _para(cell)
        elif isinstance(cell, nodes.Node):
            entry += cell if isinstance(cell, nodes.Body) else _para(cell)
        else:  # a list of nodes
            entry += cell
        row += entry
    return row


def _link(app, fromdocname, docname):
    title = app.env.titles[docname].astext() if docname in app.env.titles else docname
    return nodes.reference("", title, internal=True,
                           refuri=app.builder.get_relative_uri(fromdocname, docname))


def _statement_link(app, fromdocname, label, location):
    """A link "Theorem 1: <title>" to the sphinx-proof box ``label``, or None (with a warning)."""
    info = getattr(app.env, "proof_list", {}).get(label)
    if info is None:
        logger.warning(f"reproduction: no statement box with label {label!r}",
                       type="reproduction", subtype="statement", location=location)
        return None
    docname = info["docname"]
    number = app.env.toc_fignumbers.get(docname, {}).get(info["countertype"], {}).get(label)
    kind = info["realtype"].capitalize()
    text = [nodes.Text(f"{kind} {'.'.join(map(str, number))}" if number else kind)]
    box = next(app.env.get_doctree(docname).findall(
        lambda n: isinstance(n, nodes.Element) and label in n.get("ids", [])), None)
    title = next((c for c in box.children if isinstance(c, nodes.title)), None) if box else None
    if title is not None and title.astext().strip(" ()"):
        # sphinx-proof stores the title as " (<title>)": keep its nodes (math included).
        parts = [c.deepcopy() for c in title.children]
        if isinstance(parts[0], nodes.Text):
            parts[0] = nodes.Text(str(parts[0]).lstrip().removeprefix("("))
        if isinstance(parts[-1], nodes.Text):
            parts[-1] = nodes.Text(str(parts[-1]).rstrip().removesuffix(")"))
        text += [nodes.Text(": ")] + [p for p in parts if not (isinstance(p, nodes.Text) and not str(p))]
    uri = app.builder.get_relative_uri(fromdocname, docname) + "#" + label
    return nodes.reference("", "", *text, internal=True, refuri=uri)


def _result_cell(app, fromdocname, rid, location):
    cell = [_para(RESULTS.get(rid, ""))]
    links = [link for label in STATEMENTS.get(rid, [])
             if (link := _statement_link(app, fromdocname, label, location)) is not None]
    if links:
        items = nodes.bullet_list(classes=["reproduction-statements"])
        for link in links:
            items += nodes.list_item("", _para(link))
        cell.append(items)
    return cell


def _counts(verdicts):
    n_pass = sum(v["status"] == "PASS" for v in verdicts)
    n_fail = len(verdicts) - n_pass
    para = _para(f"{n_pass} PASS")
    if n_fail:
        para += nodes.Text(", ")
        para += nodes.strong(text=f"{n_fail} FAIL")
    return para


def _measured(verdicts):
    items = nodes.bullet_list(classes=["reproduction-values"])
    for v in verdicts:
        unc = f" ± {v['uncertainty']}" if v["uncertainty"] else ""
        kind = v.get("kind") or "no kind"
        text = (f"{v['quantity']}: {v['value']}{unc} in [{v['low']}, {v['high']}] "
                f"({v['method']}; {kind}) ")
        status = nodes.Text(v["status"]) if v["status"] == "PASS" else nodes.strong(text=v["status"])
        items += nodes.list_item("", _para(text, status))
    return items


def result_status(verdicts):
    """How a result stands, from its verdicts: only claim verdicts reproduce it.

    Examples
    --------
    >>> result_status([{"status": "PASS", "kind": "consistency"}])
    'not reproduced: no claim verdict'
    >>> result_status([{"status": "PASS", "kind": "claim"}, {"status": "FAIL", "kind": "numerics"}])
    'reproduced'
    """
    if not verdicts:
        return "not yet illustrated"
    claims = [v for v in verdicts if v.get("kind") == "claim"]
    if not claims:
        return "not reproduced: no claim verdict"
    if all(v["status"] == "PASS" for v in claims):
        return "reproduced"
    return "not reproduced: a claim verdict FAILs"


def _claims_cell(verdicts):
    claims = [v for v in verdicts if v.get("kind") == "claim"]
    if not claims:
        return _para(nodes.strong(text="none"))
    para = _counts(claims)
    methods = sorted({v["method"] for v in claims})
    para += nodes.Text(f" ({', '.join(methods)})")
    return para


def _supporting_cell(verdicts):
    parts = []
    for kind in VERDICT_KINDS[1:] + (None,):
        mine = [v for v in verdicts if v.get("kind") == kind]
        if mine:
            n_pass = sum(v["status"] == "PASS" for v in mine)
            parts.append(f"{kind or 'no kind'}: {n_pass} PASS"
                         + (f", {len(mine) - n_pass} FAIL" if n_pass < len(mine) else ""))
    return "; ".join(parts) or "—"


def _status_cell(status):
    return _para(status) if status == "reproduced" else _para(nodes.strong(text=status))


def results_table(app, fromdocname, chapters, location=None):
    by_id = {}
    for docname, _, verdicts in chapters:
        for v in verdicts:
            by_id.setdefault(v["result"], []).append((docname, v))
    rows = []
    for rid in list(RESULTS) + sorted(set(by_id) - set(RESULTS)):
        found = by_id.get(rid, [])
        if not found:
            rows.append([rid, _result_cell(app, fromdocname, rid, location), "—", "—", "—",
                         _status_cell("not yet illustrated"), "—"])
            continue
        docs = list(dict.fromkeys(d for d, _ in found))
        links = _para()
        for i, docname in enumerate(docs):
            if i:
                links += nodes.Text(", ")
            links += _link(app, fromdocname, docname)
        # Claims first: they are what reproduces the result; the rest supports them.
        verdicts = sorted((v for _, v in found), key=lambda v: v.get("kind") != "claim")
        status = _status_cell(result_status(verdicts))
        methods = {v["method"] for v in verdicts if v.get("kind") == "claim"}
        independent = methods & {"exact", "backward", "monte carlo"}
        if methods and len(independent) < 2:
            status += nodes.Text(" (claims by one method only: "
                                 f"{', '.join(sorted(methods))})")
        rows.append([rid, _result_cell(app, fromdocname, rid, location), links,
                     _claims_cell(verdicts), _supporting_cell(verdicts), status,
                     _measured(verdicts)])
    return _table(["id", "result and its statement", "chapter", "claim verdicts",
                   "supporting checks", "status", "measured (value in band)"], rows,
                  widths=[5, 20, 11, 11, 12, 10, 31])


def kinds_table(chapters):
    """Verdicts counted by kind, with the results each kind covers."""
    verdicts = [(d, v) for d, _, vs in chapters for v in vs]
    meaning = {"claim": "a statement of the paper, of a cited work or of this book",
               "consistency": "two implementations, or an identity, agree",
               "numerics": "the accuracy of a solver, grid or quadrature"}
    rows = []
    for kind in VERDICT_KINDS + (None,):
        mine = [v for _, v in verdicts if v.get("kind") == kind]
        if kind is None and not mine:
            continue
        results = ", ".join(dict.fromkeys(v["result"] for v in mine)) or "—"
        label = kind or "no kind (an error: every verdict declares its kind)"
        rows.append([label, meaning.get(kind, "—"), _counts(mine), results])
    rows.append([_para(nodes.strong(text="total")), "", _counts([v for _, v in verdicts]), ""])
    return _table(["kind", "what it tests", "verdicts", "results"], rows, widths=[14, 40, 14, 32])


def chapters_table(app, fromdocname, chapters):
    rows, total = [], 0.0
    for docname, is_notebook, verdicts in chapters:
        data = _exec_data(app.env, docname) if is_notebook else None
        if data:
            mtime = data.get("mtime")
            if mtime and mtime >= getattr(app, "reproduction_build_started", float("inf")):
                execution = "executed in this build"
            elif mtime:
                when = datetime.datetime.fromtimestamp(mtime).strftime("%Y-%m-%d %H:%M")
                execution = f"from the execution cache (run {when})"
            else:
                execution = data.get("method", "executed")
            if not data.get("succeeded", True):
                execution += f", error: {data.get('error')}"
            runtime = data.get("runtime")
            total += runtime or 0.0
            runtime = f"{runtime:.1f}" if runtime is not None else "—"
        else:
            execution = "stored outputs (not executed in this build)" if is_notebook else "—"
            runtime = "—"
        rows.append([_para(_link(app, fromdocname, docname)), execution, runtime,
                     _counts(verdicts)])
    all_verdicts = [v for _, _, vs in chapters for v in vs]
    total = f"{total:.1f}" if any(r[2] != "—" for r in rows) else "—"
    rows.append([_para(nodes.strong(text="total")), "", total, _counts(all_verdicts)])
    return _table(["chapter", "execution", "run time (s)", "verdicts"], rows)


def _version(name):
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def environment_table():
    rows = [["python", platform.python_version()]]
    rows += [[name, _version(name)] for name in
             ("smecore", "numpy", "scipy", "matplotlib", "jupyter-book", "sphinx", "myst-nb")]
    rows += [["platform", platform.platform()],
             ["built", datetime.datetime.now().isoformat(timespec="seconds")]]
    return _table(["software", "version"], rows)


# ----------------------------------------------------------------------------- events

def fill_placeholders(app, doctree, fromdocname):
    placeholders = list(doctree.findall(reproduction_placeholder))
    if not placeholders:
        return
    chapters = collect(app, exclude=getattr(app.env, "reproduction_docs", set()) | {fromdocname})
    for node in placeholders:
        kind = node["kind"]
        if kind == "results":
            failed = [(d, v) for d, _, vs in chapters for v in vs if v["status"] == "FAIL"]
            if failed:
                listing = "; ".join(f"{d}: {v['result']} {v['quantity']}" for d, v in failed)
                logger.warning(f"{len(failed)} verdict(s) FAIL in this build: {listing}",
                               type="reproduction", subtype="fail", location=node)
            unkinded = [(d, v) for d, _, vs in chapters for v in vs if not v.get("kind")]
            if unkinded:
                listing = "; ".join(f"{d}: {v['result']} {v['quantity']}" for d, v in unkinded[:8])
                listing += f"; and {len(unkinded) - 8} more" if len(unkinded) > 8 else ""
                logger.warning(f"{len(unkinded)} verdict(s) declare no kind (claim, consistency "
                               f"or numerics); pass kind=... to verdicts.check: {listing}",
                               type="reproduction", subtype="kind", location=node)
            node.replace_self(results_table(app, fromdocname, chapters, location=node))
        elif kind == "chapters":
            node.replace_self(chapters_table(app, fromdocname, chapters))
        elif kind == "kinds":
            node.replace_self(kinds_table(chapters))
        elif kind == "power":
            node.replace_self(reproduction_power.power_section(app, chapters, location=node))
        elif kind == "seeds":
            node.replace_self(reproduction_seeds.seeds_section(app, location=node))
        else:
            node.replace_self(environment_table())


def note_start(app):
    app.reproduction_build_started = time.time()


def always_reread(app, env, added, changed, removed):
    # The page depends on every chapter, which Sphinx cannot know; re-reading it on every
    # build (it is small) makes it rewritten, so doctree-resolved refreshes its tables.
    return sorted(getattr(env, "reproduction_docs", set()) - set(removed))


def purge(app, env, docname):
    getattr(env, "reproduction_docs", set()).discard(docname)


def merge(app, env, docnames, other):
    env.reproduction_docs = getattr(env, "reproduction_docs", set()) | \
        (getattr(other, "reproduction_docs", set()) & set(docnames))


def _skip(self, node):
    raise nodes.SkipNode


def setup(app):
    app.add_node(reproduction_placeholder, **{fmt: (_skip, None) for fmt in
                                              ("html", "latex", "text", "man", "texinfo")})
    app.add_directive("reproduction-table", ReproductionTable)
    app.connect("builder-inited", note_start)
    app.connect("builder-inited", reproduction_power.start_power_run)
    app.connect("build-finished", reproduction_power.stop_power_run)
    app.connect("doctree-resolved", fill_placeholders)
    app.connect("env-get-outdated", always_reread)
    app.connect("env-purge-doc", purge)
    app.connect("env-merge-info", merge)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True,
            "env_version": 1}
