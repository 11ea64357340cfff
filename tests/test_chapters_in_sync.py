"""Each chapter's py:percent source and its notebook must hold the same cells."""
from pathlib import Path

import jupytext
import pytest

BOOK = Path(__file__).resolve().parents[1] / "book"
CHAPTERS = sorted(BOOK.glob("*.py"))


def _cells(nb):
    return [(c.cell_type, c.source.strip()) for c in nb.cells]


def test_there_are_chapters():
    assert CHAPTERS, "no chapters found in book/"


@pytest.mark.parametrize("source", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_notebook_matches_percent_source(source):
    notebook = source.with_suffix(".ipynb")
    assert notebook.exists(), f"{notebook.name} is missing: run `make sync`"
    py_cells = _cells(jupytext.read(source))
    nb_cells = _cells(jupytext.read(notebook))
    assert py_cells == nb_cells, f"{source.name} and {notebook.name} drifted apart: run `make sync`"
