"""Sphinx extension: keep the browser console of every page free of errors.

Two defects of the theme stack (Sphinx 7.4, sphinx-book-theme 1.x on pydata-sphinx-theme
0.17) each print an error in the console of every page; ``tests/test_browser.py`` requires
a clean console, so they are repaired here, at ``html-page-context``:

- Sphinx keeps an inline script that an extension adds after the builder has started
  (sphinx-thebe and sphinx-togglebutton add theirs at ``env-before-read-docs``) twice, once
  with filename None and once with ''. The page then declares ``const THEBE_JS_URL`` twice:
  "Identifier 'THEBE_JS_URL' has already been declared". Repeated scripts are dropped.
- pydata-sphinx-theme reads the colour mode from ``localStorage`` or the template variable
  ``default_mode``; when neither is set (a first visit) it logs "Got invalid theme mode".
  ``default_mode`` is set to ``auto`` (follow the reader's system), unless configured.

Registered in ``_config.yml`` under ``sphinx: local_extensions``.
"""

from __future__ import annotations


def unique_scripts(scripts):
    """Scripts without repeats (same file or inline body, priority and attributes).

    Examples
    --------
    >>> class JS:
    ...     def __init__(self, filename, **attributes):
    ...         self.filename, self.priority, self.attributes = filename, 500, attributes
    >>> scripts = [JS(None, body="const A = 1"), JS("a.js"), JS("", body="const A = 1")]
    >>> [(js.filename, js.attributes) for js in unique_scripts(scripts)]
    [(None, {'body': 'const A = 1'}), ('a.js', {})]
    """
    seen, unique = set(), []
    for js in scripts:
        key = (getattr(js, "filename", js) or "", getattr(js, "priority", None),
               tuple(sorted(getattr(js, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    return unique


def fix_page(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if isinstance(scripts, list):
        scripts[:] = unique_scripts(scripts)
    if not context.get("default_mode"):
        context["default_mode"] = "auto"


def setup(app):
    # priority 900: after the other extensions have added their scripts to the page.
    app.connect("html-page-context", fix_page, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
