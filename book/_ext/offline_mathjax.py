"""Sphinx extension: equations typeset by a local copy of MathJax, so that the book
renders its maths offline (no CDN needed to read a page, nor to build it).

MathJax 2.7 comes with the pip package ``jupyter-server-mathjax`` (Jupyter's own copy,
installed by the ``book`` extra). Its files are copied to ``_static/mathjax/`` of the
HTML build and ``mathjax_path`` points there. Without the package the build keeps
Sphinx's default (MathJax 3 from a CDN) and says so in one warning.

Sphinx writes ``mathjax3_config`` into the page as ``window.MathJax = {...}`` before
MathJax loads, which MathJax 2 reads as its configuration (MyST adds a v3 key that
MathJax 2 ignores); a ``mathjax2_config`` block comes too late to name the
configuration file.

Two settings matter beyond the configuration file:

- MyST marks every page section ``tex2jax_ignore`` and lets MathJax 3 typeset only the
  ``math`` elements it writes (``options.processHtmlClass``). MathJax 2 reads the same
  rule from ``tex2jax.processClass``; without it nothing on the page is typeset.
- MathJax 2's HTML-CSS output defines a probe font ``MathJax_Blank`` at
  ``url('about:blank')``, which Chromium refuses from a ``file://`` page with a console
  error (CORS). It is declared ``local()`` instead: no request, the same missing font.
"""
from __future__ import annotations

import shutil
from pathlib import Path

MATHJAX_DIR = "mathjax"
# TeX input, HTML-CSS output with the STIX web fonts the package ships; "-full" has
# every component in one file (no further script loads from file:// pages)
CONFIG = "TeX-AMS-MML_HTMLorMML-full"


def _assets() -> Path | None:
    try:
        import jupyter_server_mathjax
    except ImportError:
        return None
    folder = Path(jupyter_server_mathjax.__file__).parent / "static"
    return folder if (folder / "MathJax.js").is_file() else None


def _configure(app, config) -> None:
    if _assets() is None:
        from sphinx.util import logging
        logging.getLogger(__name__).warning(
            "offline_mathjax: jupyter-server-mathjax is not installed; equations need "
            "MathJax from its CDN (pip install -e '.[book]')")
        return
    # Sphinx refuses a query string on a local file: the configuration file is named
    # in the configuration instead of "MathJax.js?config=..."
    config.mathjax_path = f"{MATHJAX_DIR}/MathJax.js"
    config.mathjax3_config = {
        "config": [f"{CONFIG}.js"],
        "tex2jax": {"inlineMath": [["\\(", "\\)"]], "displayMath": [["\\[", "\\]"]],
                    "processRefs": False, "processEnvironments": False,
                    # MyST's rule: only its math elements (the section is tex2jax_ignore)
                    "processClass": "math|tex2jax_process|mathjax_process|output_area"},
        "HTML-CSS": {"availableFonts": ["STIX-Web"], "preferredFont": "STIX-Web",
                     "webFont": "STIX-Web", "imageFont": None,
                     "styles": {"@font-face": {"font-family": "MathJax_Blank",
                                               "src": "local('MathJax_Blank')"}}},
        "messageStyle": "none",
    }


def _copy(app) -> None:
    """Copy MathJax before the pages are written (Sphinx reads the file for its checksum)."""
    assets = _assets()
    if assets is None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / MATHJAX_DIR
    # the localisations other than English are never loaded by an English page
    shutil.copytree(assets, target, dirs_exist_ok=True,
                    ignore=lambda folder, names: [n for n in names if Path(folder).name
                                                  == "localization" and n != "en"])


def setup(app):
    app.connect("config-inited", _configure)
    app.connect("builder-inited", _copy)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
