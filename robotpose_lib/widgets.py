"""Interactive panels for the chapters: controls that redraw a figure when they change.

Built from plain controls, ``observe`` callbacks and an updatable display (a
``display_id``) rather than ``ipywidgets.interact`` or an ``Output`` widget. Under
headless execution (nbclient, used by the book build and the tests) both of those
stalled cells until the cell timeout: nbclient sends an ``Output`` widget's contents back
to the kernel while it waits for the cell's reply and then misses the reply
(jupyter/nbclient#312; measured: a figure drawn into an ``Output`` stalled 5 of 6 runs of
a 3-cell notebook, the same figure as a normal output 0 of 5). Here the figure is a
normal cell output, which the static HTML book shows, and a control change replaces it.
"""
from __future__ import annotations

import base64
import io
from typing import Callable, Sequence
from unittest import mock


def render_figures(draw: Callable[..., None], figure_titles: Sequence[str] | None = None, **values):
    """Call ``draw(**values)`` and return the figures it made as one displayable object:
    an ``IPython.display.Image`` (PNG) for one figure, ``HTML`` with one image per figure
    for several, or None for none. ``plt.show()`` inside ``draw`` is suppressed, and the
    new figures are closed afterwards.

    ``figure_titles``: one line per new figure, in the order they were made, written in
    bold above everything else in it (above its suptitle): say there what distinguishes the
    images of a static figure (a setting, a seed), which their own titles may not.
    """
    import matplotlib.pyplot as plt
    from IPython.display import HTML, Image

    before = set(plt.get_fignums())
    with mock.patch.object(plt, "show", lambda *args, **kwargs: None):
        draw(**values)
    pngs = []
    made = [n for n in plt.get_fignums() if n not in before]
    if figure_titles is not None and len(figure_titles) != len(made):
        for num in made:
            plt.close(num)
        raise ValueError(f"figure_titles: {len(figure_titles)} for {len(made)} figures")
    for i, num in enumerate(made):
        fig = plt.figure(num)
        if figure_titles is not None:
            # above the top of the figure: the PNG is cut to its contents (bbox "tight"),
            # so the line is kept and overlaps no suptitle or axes
            fig.text(0.5, 1.0, figure_titles[i], ha="center", va="bottom", fontsize=13, weight="bold")
        buf = io.BytesIO()
        fig.savefig(buf, format="png", bbox_inches="tight")
        plt.close(fig)
        pngs.append(buf.getvalue())
    if not pngs:
        return None
    if len(pngs) == 1:
        return Image(data=pngs[0], format="png")
    tags = "".join(f'<img src="data:image/png;base64,{base64.b64encode(p).decode()}"/><br/>' for p in pngs)
    return HTML(tags)


def panel(draw: Callable[..., None], **controls):
    """Show ``controls`` (name -> ipywidgets control) and, below them, the figure(s) that
    ``draw(**values)`` makes; the figure is drawn again whenever a control changes.

    Returns the displayed controls box (an ``ipywidgets.VBox``).
    """
    box, show_figure = panel_controls(draw, **controls)
    show_figure()
    return box


# what the static book shows where a live notebook has the controls
STATIC_CONTROLS_NOTE = ("*Interactive controls go here when the notebook runs (on Colab or in Jupyter); the "
                        "figure below is drawn at their starting values.*")


def panel_controls(draw: Callable[..., None], **controls):
    """Show only the controls of a panel; return ``(box, show_figure)``.

    ``show_figure()`` displays the figure of the current values and redraws it whenever
    a control changes. Call it in the next cell, the one that carries the figure's
    caption: myst-nb wraps every display output of a cell with figure metadata in a
    figure of its own, so the controls must not share that cell (they would become a
    second figure with the same caption and label).
    """
    import ipywidgets as widgets
    from IPython.display import display

    def current() -> dict:
        return {name: control.value for name, control in controls.items()}

    rows = [widgets.HBox(list(controls.values())[i: i + 3]) for i in range(0, len(controls), 3)]
    box = widgets.VBox(rows)
    # a live notebook draws the widget; the static book (its html builder leaves the widget
    # view out, _config.yml) shows the note instead of an empty output
    display({**box._repr_mimebundle_(), "text/markdown": STATIC_CONTROLS_NOTE}, raw=True)

    def show_figure() -> None:
        first = render_figures(draw, **current())
        handle = display(first if first is not None else "", display_id=True)

        def redraw(change=None):
            figure = render_figures(draw, **current())
            handle.update(figure if figure is not None else "")

        for control in controls.values():
            control.observe(redraw, names="value")

    return box, show_figure
