"""Markdown tables, and what the sentences of several chapters share: :func:`markdown_table`
(rows of numbers as a Markdown table; chapters display tables as tables, never as monospaced
text), the instance models' names (``ONEPASS_NAMES``) and :func:`join_words` for lists in
sentences."""
from __future__ import annotations

import numpy as np


# the instance models' names in tables and sentences (chapter 6, the intro)
ONEPASS_NAMES = {"onepass": "one-pass", "convgru": "recurrent (ConvGRU)"}


def join_words(words) -> str:
    """"a", "a and b", "a, b and c" ("" for no words)."""
    words = [str(w) for w in words]
    return (", ".join(words[:-1]) + " and " if len(words) > 1 else "") + words[-1] if words else ""


def provenance_note(text: str, title: str = "Where these figures come from") -> str:
    """MyST Markdown for a collapsed box holding ``text`` (the files and commands behind a
    table or sentence): provenance stays one click away instead of in the prose. Chapters
    display it with ``Markdown`` (their Markdown output is parsed as MyST)."""
    if not text.strip():
        raise ValueError("provenance_note needs the text to collapse")
    return f":::{{admonition}} {title}\n:class: dropdown\n{text.strip()}\n:::"


def trained_on(recipe_steps: list[tuple[str | None, int]]) -> str:
    """How a model was trained, in words, from :meth:`cards.TrainingCost.recipe_steps`:
    "on the `clutter` recipe" for one recipe, "on two recipes, 5,200 steps of `paper`
    then 3,000 of `clutter`" for several, so that it reads after a total of steps; a
    recipe the record lacks is "an unrecorded recipe" ("an unrecorded one" after the
    first). Raises ValueError for no steps."""
    if not recipe_steps:
        raise ValueError("recipe_steps: no training part")
    if len(recipe_steps) == 1:
        first = recipe_steps[0][0]
        return f"on the `{first}` recipe" if first else "on an unrecorded recipe"
    count = {2: "two", 3: "three", 4: "four"}.get(len(recipe_steps), str(len(recipe_steps)))
    named = [f"`{r}`" if r else ("an unrecorded recipe" if k == 0 else "an unrecorded one")
             for k, (r, _) in enumerate(recipe_steps)]
    return (f"on {count} recipes, " + f"{recipe_steps[0][1]:,} steps of {named[0]}"
            + "".join(f" then {s:,} of {n}" for (_, s), n in zip(recipe_steps[1:], named[1:])))


def count_noun(n: int, singular: str, plural: str | None = None) -> str:
    """"1 robot", "2 robots": ``n`` and the noun in the right number (``plural`` default
    ``singular + "s"``)."""
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"


def _cell(value, fmt: str | None) -> str:
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            return "—"
        return format(float(value), fmt or ".3f")
    if isinstance(value, (int, np.integer)) and fmt:
        return format(int(value), fmt)
    return str(value).replace("|", "\\|")


def markdown_table(rows: list[dict], columns: list[str] | None = None, formats: dict[str, str] | None = None,
                   headers: dict[str, str] | None = None) -> str:
    """Rows (dicts) as a Markdown table: ``columns`` (default the first row's keys) in order;
    ``formats``: column -> format spec (floats default to ".3f", NaN shows as a dash);
    ``headers``: column -> header text. Numeric columns are right-aligned."""
    if not rows:
        return ""
    columns = columns or list(rows[0])
    formats, headers = formats or {}, headers or {}
    numeric = [all(isinstance(r.get(c), (int, float, np.integer, np.floating)) and not isinstance(r.get(c), bool)
                   for r in rows) for c in columns]
    head = "| " + " | ".join(headers.get(c, str(c)) for c in columns) + " |\n"
    rule = "|" + "|".join("---:" if n else "---" for n in numeric) + "|\n"
    body = "".join("| " + " | ".join(_cell(r.get(c, ""), formats.get(c)) for c in columns) + " |\n" for r in rows)
    return head + rule + body
