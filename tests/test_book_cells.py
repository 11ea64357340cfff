"""The chapter sources (py:percent): every heading is in a Markdown cell. A heading left as
a comment in a code cell (a missing ``# %% [markdown]`` marker) silently disappears from
the built page, and the section after it runs on under the previous heading."""
import re
from pathlib import Path

import pytest

BOOK = Path(__file__).resolve().parents[1] / "book"


@pytest.mark.parametrize("source", sorted(BOOK.glob("*.py")), ids=lambda p: p.stem)
def test_headings_are_in_markdown_cells(source):
    cell = None
    stray = []
    for number, line in enumerate(source.read_text().splitlines(), 1):
        if line.startswith("# %%"):
            cell = line
        elif re.match(r"# #{1,4} ", line) and (cell is None or "[markdown]" not in cell):
            stray.append(f"line {number}: {line}")
    assert not stray, f"{source.name}: headings inside code cells: {stray}"
