"""The chapters' code cells fit the column of the built HTML page.

Measured in headless Chromium on the quick build (2026-11-30) at window widths from
1440 px up: the theme's monospace font takes 8.43 px per character, and a code cell's
text area holds 89.5 characters, 87.3 inside a folded "hide-input" cell (which a reader
can open). In a 1280 px window the column is narrower (76 characters) and long lines
scroll sideways there. Every line of a code cell that the page shows must fit in
CODE_COLUMN characters; cells removed from the page ("remove-input", "remove-cell") are
not checked.
"""
from pathlib import Path

import jupytext
import pytest

BOOK = Path(__file__).resolve().parents[1] / "book"
CHAPTERS = sorted(BOOK.glob("*.py"))
CODE_COLUMN = 87
HIDDEN = {"remove-input", "remove-cell"}


@pytest.mark.parametrize("source", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_shown_code_fits_the_column(source):
    too_long = []
    for cell in jupytext.read(source).cells:
        if cell.cell_type != "code" or HIDDEN & set(cell.metadata.get("tags", [])):
            continue
        too_long += [line for line in cell.source.splitlines() if len(line) > CODE_COLUMN]
    assert not too_long, (f"{source.name}: {len(too_long)} shown code line(s) over {CODE_COLUMN} "
                          f"characters, e.g. {too_long[0].strip()[:60]!r}")
