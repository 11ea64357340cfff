"""Figures of the studies beyond the paper: the depth codes' cost by depth, the toy depth
study, real-photo scores against training time (viz.localization), training throughput
(viz.training); and the training-throughput benchmark they are read with (bench.train)."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest

pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.py


def test_depth_study_figures_draw():

    from robotpose_lib.viz.localization import plot_depth_cost, plot_real_study, plot_toy_depth

    ax = plot_depth_cost(0.8, 13.0)
    inverse, log = (line.get_ydata() for line in ax.get_lines()[:2])
    assert inverse[-1] < 1e-3 < log[-1]  # far errors: the inverse code charges thousands of times less
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[-1] == "near / far split of the tables (5 m)"  # the dotted line is named
    runs = [{"kind": k, "seed": 0, "near_mean_cm": 1.0, "far_mean_cm": 2.0, "baseline_near_mean_cm": 3.0,
             "baseline_far_mean_cm": 4.0} for k in ("inverse", "log")]
    assert len(plot_toy_depth(runs).patches) == 6
    study = [{"config": "cpu", "hours": h, "all": {"auc": a}} for h, a in ((0.5, 0.1), (1.0, 0.2))]
    study.append({"config": "cpu", "hours": float("nan"), "all": {"auc": 0.0}})  # no log: left out
    ax = plot_real_study(study, baseline_auc=0.4)
    assert len(ax.get_lines()[0].get_xdata()) == 2
    # the paper-recipe start (no hours) at 0 h as its own marker; the shipped run labelled
    study.append({"config": "cpu", "hours": float("nan"), "recipe": "paper", "all": {"auc": 0.01}})
    ax = plot_real_study(study, baseline_auc=0.4, shipped=study[1])
    start = next(line for line in ax.get_lines() if line.get_label() == "start: paper recipe only")
    assert list(start.get_xdata()) == [0.0] and list(start.get_ydata()) == [0.01]
    assert [(t.get_text(), t.xy) for t in ax.texts] == [("shipped", (1.0, 0.2))]
    plt.close("all")


def test_training_throughput_rows():
    from robotpose_lib.bench.train import throughput

    rows = throughput("quick", "panda_primitive", batch_size=2, repeats=1)
    assert [r["variant"] for r in rows][0] == "fp32 eager" and len(rows) == 4
    assert rows[0]["speedup"] == 1.0 and all(r["samples_per_s"] > 0 for r in rows)
    with pytest.raises(ValueError, match="at least 1"):
        throughput("quick", "panda_primitive", batch_size=0)


def test_zoom_box_frames_the_masks_at_an_aspect():
    import numpy as np

    from robotpose_lib.viz import zoom_box

    masks = np.zeros((2, 120, 160), bool)
    masks[0, 50:60, 40:50] = True
    masks[1, 55:65, 70:80] = True
    rows, cols = zoom_box(masks, margin=0.1, aspect=4 / 3)
    assert rows.start <= 50 and rows.stop >= 65 and cols.start <= 40 and cols.stop >= 80
    assert (cols.stop - cols.start) / (rows.stop - rows.start) == pytest.approx(4 / 3, abs=0.05)
    assert zoom_box(np.zeros((10, 20))) == (slice(0, 10), slice(0, 20))
    rows, cols = zoom_box(masks[0], min_size=200)  # larger than the image: clipped to it
    assert (rows.start, rows.stop) == (0, 120)


def test_fit_thumbnail_crops_the_centre_to_the_aspect():
    import numpy as np

    from robotpose_lib.viz import fit_thumbnail

    wide = np.zeros((100, 400, 3), np.uint8)
    wide[:, 150:250] = 255  # a white band in the middle third of the width
    thumb = fit_thumbnail(wide, 30, 40)
    assert thumb.shape == (30, 40, 3) and thumb.dtype == np.uint8
    # a 4:3 crop of the centre (133 px wide) holds the 100 px band: 3/4 of the thumbnail
    assert abs(thumb[..., 0].mean() / 255 - 100 / 133) < 0.05
    tall = np.arange(400 * 100, dtype=np.float32).reshape(400, 100)
    assert fit_thumbnail(tall, 30, 40).shape == (30, 40)


def test_stage_map_figures_counts_visible_maps_blob_sizes_and_second_peaks():
    import numpy as np

    from robotpose_lib.viz.localization import stage_map_figures

    yy, xx = np.mgrid[0:60, 0:80]

    def blob(v, u, peak=1.0, sigma=3.0):
        return peak * np.exp(-((yy - v) ** 2 + (xx - u) ** 2) / (2 * sigma ** 2))

    one = blob(30, 20)
    two = np.maximum(blob(30, 20), blob(30, 60, 0.8))  # a second peak 40 px away, 0.8 of the max
    faint = blob(30, 40, 0.01)
    stats = stage_map_figures([np.stack([one, two, faint])], separation=10)[0]
    assert stats["visible"] == [0, 1] and stats["second"] == [1]
    assert stats["max"] == 1.0 and abs(stats["maxima"][2] - 0.01) < 1e-6
    # half the maximum of a Gaussian of sigma 3: a disc of radius 3 * sqrt(2 ln 2) ~ 3.5 px
    assert 30 <= stats["half_area"][0] <= 45


def test_draw_joint_errors_marks_found_joints_and_leaves_the_input():
    import numpy as np

    from robotpose_lib.viz.localization import draw_joint_errors

    image = np.full((50, 60, 3), 128, np.uint8)
    pred = np.array([[10.0, 10.0], [np.nan, np.nan]])
    true = np.array([[40.0, 10.0], [30.0, 30.0]])
    out = draw_joint_errors(image, pred, true)
    assert (image == 128).all()  # a copy
    assert tuple(out[10, 10]) == (0, 255, 255)  # the dot
    assert tuple(out[10, 30]) != (128, 128, 128)  # the error line towards the truth
    assert tuple(out[30, 30]) == (128, 128, 128)  # a joint not found draws nothing
