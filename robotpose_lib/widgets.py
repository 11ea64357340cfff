"""Interactive panels for the chapters: controls that redraw a figure when they change.

Built from plain controls, an Output area and ``observe`` callbacks rather than
``ipywidgets.interact``: under headless execution (nbclient, used by the book build and
the tests) ``interact`` cells were seen to stall until the cell timeout, while this form
executes like any other cell. In the static HTML the panel shows its first drawing.
"""
from __future__ import annotations

from typing import Callable


def panel(draw: Callable[..., None], **controls):
    """Show ``controls`` (name -> ipywidgets control) above an output area in which
    ``draw(**values)`` is called now and again whenever a control changes.

    Returns the displayed VBox, or None when ipywidgets is not installed (then ``draw`` is
    called once with the controls' values so that the figure still appears).
    """
    try:
        import ipywidgets as widgets
        from IPython.display import display
    except ImportError:
        return None
    import matplotlib.pyplot as plt

    view = widgets.Output()

    def redraw(change=None):
        view.clear_output(wait=True)
        with view:
            draw(**{name: control.value for name, control in controls.items()})
            plt.show()

    for control in controls.values():
        control.observe(redraw, names="value")
    redraw()
    box = widgets.VBox([widgets.HBox(list(controls.values())[i: i + 3]) for i in range(0, len(controls), 3)] + [view])
    display(box)
    return box
