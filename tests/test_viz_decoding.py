"""Chapter 4's decoded-depth panel (robotpose_lib.viz.decoding): depths read at the
joints, large dots coloured by them, the other robots' dots in grey and named."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from robotpose_lib.viz.decoding import OTHER_GREY, disc_depths, plot_disc_depths  # noqa: E402


def _map():
    z = np.zeros((40, 60))
    z[8:13, 8:13] = 2.0  # a disc around (10, 10)
    z[28:33, 48:53] = 3.0  # a disc around (50, 30)
    return z


def test_disc_depths_read_the_nearest_pixel_and_nan_elsewhere():
    uv = np.array([[10.2, 9.7], [50.0, 30.4], [30.0, 20.0], [np.nan, 1.0], [-5.0, 3.0], [70.0, 3.0]])
    z = disc_depths(_map(), uv)
    assert z[:2].tolist() == [2.0, 3.0]
    assert np.isnan(z[2:]).all()  # no depth there, not found, left and right of the map


def test_plot_disc_depths_colours_the_dots_and_names_the_grey_ones():
    fig, ax = plt.subplots()
    own = np.array([[10.0, 10.0], [50.0, 30.0], [30.0, 20.0]])  # the third without depth: hollow
    other = np.array([[5.0, 35.0]])
    dots = plot_disc_depths(ax, _map(), own, other, 2, silhouettes=_map() > 0)
    assert dots.get_array().tolist() == [2.0, 3.0]
    assert dots.get_clim() == (2.0, 3.0) and dots.get_sizes()[0] >= 40
    grey = ax.collections[0]
    assert np.allclose(grey.get_facecolor()[0][:3], matplotlib.colors.to_rgb(OTHER_GREY))
    assert len(ax.collections) == 3  # grey, coloured, hollow
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["robot 2's discs\n(colour: depth)", "other robots'"]
    # legible at the book's column (a 10-inch figure shrunk to about 0.75): >= 8 pt there
    assert all(t.get_fontsize() * 0.75 >= 8 for t in ax.get_legend().get_texts())
    assert dots.get_sizes()[0] >= 100
    # the legend's marker for the coloured dots is neutral (white), not one depth's colour
    assert ax.get_legend().legend_handles[0].get_markerfacecolor() == "white"
    fig.canvas.draw()  # the legend sits under the image, over none of its dots
    assert ax.get_legend().get_window_extent().y1 <= ax.get_window_extent().y0 + 1
    assert ax.get_title() == "decoded Z [m], robot 2"
    assert len(fig.axes) == 2  # the colour bar
    assert ax.get_xlim() == (-0.5, 59.5) and ax.get_ylim() == (39.5, -0.5)  # the image's frame, v down
    plt.close(fig)
    fig, ax = plt.subplots()
    plot_disc_depths(ax, _map(), own[:1], None, 0, colorbar=False)  # one depth, no other robot
    assert len(fig.axes) == 1 and len(ax.get_legend().get_texts()) == 1
    plt.close(fig)


def test_widen_peaks_keeps_heights_and_places():
    from robotpose_lib.viz.decoding import display_radius, widen_peaks

    m = np.zeros((21, 21), np.float32)
    m[10, 10], m[2, 3] = 0.8, 0.3
    w = widen_peaks(m, 3)
    assert w.max() == np.float32(0.8) and w[10, 13] == np.float32(0.8) and w[10, 14] == 0
    assert w[2, 3] == np.float32(0.3) and w[0, 3] == np.float32(0.3)
    assert (widen_peaks(m, 0) == m).all()
    assert display_radius(640) == 8 and display_radius(160) == 2


def test_found_peaks_named_in_a_legible_legend_under_the_panel():
    from robotpose_lib.viz.decoding import plot_found_peaks

    fig, ax = plt.subplots(figsize=(2.5, 2.5))
    ax.imshow(np.zeros((40, 60)))
    uv = np.array([[10.0, 10.0], [30.0, 20.0]])
    legend = plot_found_peaks(ax, {"nms": uv, "log": uv + 1})
    assert [t.get_text() for t in legend.get_texts()] == ["NMS", "LoG"]
    assert all(t.get_fontsize() * 0.75 >= 8 for t in legend.get_texts())
    assert len(ax.collections) == 2 and all(c.get_sizes()[0] >= 60 for c in ax.collections)
    assert ax.collections[0].get_offsets().tolist() == uv.tolist()
    fig.canvas.draw()
    assert legend.get_window_extent().y1 <= ax.get_window_extent().y0 + 1
    plt.close(fig)
