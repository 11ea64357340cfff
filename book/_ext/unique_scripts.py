"""Sphinx extension: drop repeated <script> entries from each page.

sphinx-thebe and sphinx-togglebutton add their inline configuration scripts in an
``env-before-read-docs`` handler; sphinxcontrib-bibtex makes Sphinx read the documents a
second time, so every page got each script twice, and the second ``const THEBE_JS_URL``
was a JavaScript SyntaxError in every page's console (found by tests/test_book_html.py).
"""


def _key(script) -> tuple:
    attributes = getattr(script, "attributes", {}) or {}
    # an inline script's filename is None or "" depending on how it was added
    filename = getattr(script, "filename", str(script)) or ""
    return (str(filename), tuple(sorted((k, str(v)) for k, v in attributes.items())))


def _dedupe(app, pagename, templatename, context, doctree):
    seen, unique = set(), []
    for script in context.get("script_files", []):
        key = _key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", _dedupe, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
