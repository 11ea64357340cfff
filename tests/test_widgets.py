"""widgets.panel: the figure is a normal, updatable display output (no Output widget)."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

ipywidgets = pytest.importorskip("ipywidgets")
from IPython.display import HTML, Image  # noqa: E402

from robotpose_lib import widgets as rw  # noqa: E402


def _draw(n=1, value=0.0):
    for _ in range(n):
        plt.figure(figsize=(1, 1))
        plt.plot([0, 1], [value, value])
    plt.show()  # suppressed inside render_figures


def test_render_figures_one_many_none():
    open_before = plt.get_fignums()
    one = rw.render_figures(_draw, n=1)
    assert isinstance(one, Image) and one.data[:4] == b"\x89PNG"
    many = rw.render_figures(_draw, n=2)
    assert isinstance(many, HTML) and many.data.count("<img") == 2
    assert rw.render_figures(_draw, n=0) is None
    assert plt.get_fignums() == open_before  # the new figures were closed


def test_render_figures_writes_each_figures_title(monkeypatch):
    written = []
    savefig = matplotlib.figure.Figure.savefig

    def spy(fig, *args, **kwargs):
        written.append([t.get_text() for t in fig.texts])
        return savefig(fig, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", spy)
    many = rw.render_figures(_draw, figure_titles=["seed 1, camera at 1.2 m", "seed 2, camera at 1.8 m"], n=2)
    assert many.data.count("<img") == 2
    assert written == [["seed 1, camera at 1.2 m"], ["seed 2, camera at 1.8 m"]]
    open_before = plt.get_fignums()
    with pytest.raises(ValueError):
        rw.render_figures(_draw, figure_titles=["only one"], n=2)
    assert plt.get_fignums() == open_before


@pytest.fixture
def displayed(monkeypatch):
    """What IPython's display() received (shown) and the updates of displays made with a
    display_id (updates)."""
    shown, updates = [], []

    class Handle:
        def update(self, obj):
            updates.append(obj)

    def fake_display(obj, display_id=False, raw=False):
        shown.append(obj)
        return Handle() if display_id else None

    monkeypatch.setattr("IPython.display.display", fake_display)
    return shown, updates


def test_panel_redraws_into_the_same_display(displayed):
    shown, updates = displayed
    n = ipywidgets.IntSlider(1, 0, 3)
    box = rw.panel(_draw, n=n)
    assert isinstance(box, ipywidgets.VBox)
    assert shown[0]["application/vnd.jupyter.widget-view+json"]["model_id"] == box.model_id
    assert isinstance(shown[1], Image) and not any(isinstance(w, ipywidgets.Output) for w in box.children)
    n.value = 2
    assert len(updates) == 1 and isinstance(updates[0], HTML)


def test_panel_controls_leave_the_figure_to_a_later_cell(displayed):
    shown, updates = displayed
    n = ipywidgets.IntSlider(1, 0, 3)
    box, show_figure = rw.panel_controls(_draw, n=n)
    # the controls' cell has one output, no figure beside it: the widget, with a note for the static book
    assert len(shown) == 1 and shown[0]["application/vnd.jupyter.widget-view+json"]["model_id"] == box.model_id
    assert shown[0]["text/markdown"] == rw.STATIC_CONTROLS_NOTE
    show_figure()
    assert len(shown) == 2 and isinstance(shown[1], Image)
    n.value = 2
    assert len(updates) == 1 and isinstance(updates[0], HTML)
