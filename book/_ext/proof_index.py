"""Sphinx extension: the proof index lists statements by their titles, grouped by kind.

sphinx-proof's index (``prf-prf.html``) lists every theorem, lemma, proposition and
definition by its raw label (``thm-sgd-main``), one letter group per label. A reader
looks for "Theorem (Li, Tai & E 2019, Theorem 3): main approximation theorem". This
extension records each statement's title when a page is read and regenerates the index
with the titles, grouped by kind (Definitions, Lemmas, Theorems, ...).

Registered in ``_config.yml`` under ``sphinx: local_extensions``.
"""

from __future__ import annotations

import re
from collections import defaultdict

PLURAL = {"proof": "Proofs", "property": "Properties", "corollary": "Corollaries"}


def plain_title(title: str) -> str:
    """A statement title as plain text: math markers and roles dropped.

    Examples
    --------
    >>> plain_title("SME of order $2$ ({cite:t}`li2019sme`)")
    'SME of order 2 (li2019sme)'
    >>> plain_title("(Main approximation theorem)")
    'Main approximation theorem'
    """
    text = re.sub(r"\{[\w:-]+\}`([^`]*)`", r"\1", title)
    text = text.replace("$", "").replace("\\", "").strip()
    if text.startswith("(") and text.endswith(")"):
        text = text[1:-1]  # the proof_title_format wraps titles in parentheses
    return text


def record_titles(app, doctree):
    env = app.env
    titles = getattr(env, "proof_titles", {})
    for node in doctree.traverse(lambda n: hasattr(n, "get") and n.get("realtype") and "label" in n.attributes):
        if node.get("label"):
            titles[node["label"]] = plain_title(node.get("title", ""))
    env.proof_titles = titles


def purge_titles(app, env, docname):
    proofs = getattr(env, "proof_list", {})
    titles = getattr(env, "proof_titles", {})
    for label in [lab for lab, v in proofs.items() if v.get("docname") == docname]:
        titles.pop(label, None)


def generate(self, docnames=None):
    """Index entries named by title, grouped by statement kind."""
    env = self.domain.env
    proofs = getattr(env, "proof_list", {})
    titles = getattr(env, "proof_titles", {})
    groups = defaultdict(list)
    for anchor, values in proofs.items():
        kind = values["realtype"]
        title = titles.get(anchor) or anchor
        name = f"{kind.title()}: {title}"
        groups[PLURAL.get(kind, kind.title() + "s")].append(
            (name, 0, values["docname"], anchor, values["docname"], "", kind))
    return sorted((k, sorted(v)) for k, v in groups.items()), True


def setup(app):
    from sphinx_proof.domain import ProofIndex

    ProofIndex.generate = generate
    app.connect("doctree-read", record_titles)
    app.connect("env-purge-doc", purge_titles)
    return {"parallel_read_safe": False, "parallel_write_safe": True}
