"""Figures and numeric helpers of the instance chapter (robotpose_lib.viz.instances)."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.patches import Rectangle

from robotpose_lib.viz import instances as iv
from robotpose_lib.viz.training import rolling_stats
from robotpose_lib.ap import average_precision


def test_active_fractions_and_stopping_rule():
    masks = np.zeros((4, 10, 10))
    masks[0, :5] = 0.9      # 50% active
    masks[1, 0, :3] = 0.7   # 3%
    masks[2, 0, 0] = 0.4    # below the activation threshold: 0%
    masks[3, :2] = 0.8      # 20%, after the end of sequence
    fractions = iv.active_fractions(masks)
    np.testing.assert_allclose(fractions, [0.5, 0.03, 0.0, 0.2])
    assert iv.count_by_rule(fractions, 0.05) == 1   # stops at step 2 (3% < 5%)
    assert iv.count_by_rule(fractions, 0.02) == 2   # stops at step 3, never reads step 4
    assert iv.count_by_rule(np.array([0.3, 0.3]), 0.05) == 2  # never stopped: all steps count
    with pytest.raises(ValueError, match="masks"):
        iv.active_fractions(np.zeros((10, 10)))


def test_rolling_stats_match_numpy():
    values = np.random.default_rng(0).normal(size=30)
    mean, std = rolling_stats(values, 7)
    for i in (0, 3, 6, 20, 29):
        window = values[max(0, i - 6): i + 1]
        assert mean[i] == pytest.approx(window.mean())
        assert std[i] == pytest.approx(window.std())
    with pytest.raises(ValueError, match="window"):
        rolling_stats(values, 0)


def test_greedy_chains_go_wrong_only_when_robots_are_close():
    # Two vertical 3-joint robots far apart: nearest-neighbour linking is right.
    far = [np.array([[10.0, 100], [200, 100]]), np.array([[10, 80], [200, 80]]), np.array([[10, 60], [200, 60]])]
    chains = iv.greedy_chains(far)
    assert [[n for _, n in c] for c in chains] == [[0, 0, 0], [1, 1, 1]]
    # Robot 0's joint 1 lies next to robot 1's joint 0: robot 1's joint 1 is nearer to it.
    close = [np.array([[0.0, 0], [30, 0]]), np.array([[40.0, 0], [60, 0]])]
    chains = iv.greedy_chains(close)
    assert chains[0] == [(0, 0), (1, 0)]  # chain 0 links first and takes the nearer peak 0
    close = [np.array([[0.0, 0], [30, 0]]), np.array([[60.0, 0], [35, 0]])]
    chains = iv.greedy_chains(close)
    assert chains[0] == [(0, 0), (1, 1)] and chains[1] == [(0, 1), (1, 0)]  # both links cross robots


def test_greedy_chains_end_when_a_joint_runs_out():
    peaks = [np.array([[0.0, 0], [50, 0]]), np.array([[1.0, 0]]), np.array([[2.0, 0], [51, 0]])]
    chains = iv.greedy_chains(peaks)
    assert chains[0] == [(0, 0), (1, 0), (2, 0)]
    assert chains[1] == [(0, 1)]  # no joint-1 peak left for the second chain


def test_cost_matrix_frames_the_assignment():
    fig, ax = plt.subplots()
    cost = np.array([[0.1, 0.9, 0.8], [0.7, 0.95, 0.2], [0.9, 0.3, 0.99]])
    iv.plot_cost_matrix(ax, cost, np.array([0, 2, 1]))
    framed = sorted((round(p.get_y() + 0.5), round(p.get_x() + 0.5)) for p in ax.patches if isinstance(p, Rectangle))
    assert framed == [(0, 0), (1, 2), (2, 1)]
    assert sorted(t.get_text() for t in ax.texts) == sorted(f"{c:.2f}" for c in cost.ravel())
    plt.close(fig)


def test_step_mask_grid_layout_and_colours():
    images = [np.zeros((8, 12, 3), np.uint8)] * 2
    steps = [np.zeros((3, 8, 12)), np.zeros((2, 8, 12))]
    steps[0][0, :4] = 0.9  # 50% active, then empty
    truth = [np.zeros((1, 8, 12), bool), np.zeros((0, 8, 12), bool)]
    fig = iv.plot_step_masks(images, steps, truth, min_active_fraction=0.05)
    axes = np.array(fig.axes).reshape(2, 5)  # 2 scenes x (image, truth, 3 steps)
    assert axes[0, 2].title.get_color() == "green" and axes[0, 3].title.get_color() == "red"
    assert axes[0, 4].title.get_color() == "grey"
    assert axes[1, 2].title.get_color() == "red"
    assert axes[1, 4].title.get_text() == ""  # the second scene ran only 2 steps
    assert axes[1, 1].title.get_text() == "truth: 0 robots"
    plt.close(fig)
    with pytest.raises(ValueError, match="lengths"):
        iv.plot_step_masks(images, steps[:1], truth)


def test_pr_curves_one_line_per_threshold():
    gt = [np.array([[0, 0, 10, 10.0]]), np.array([[5, 5, 20, 20.0]])]
    predicted = [np.array([[0, 0, 10, 9.0]]), np.array([[5, 5, 12, 12.0]])]
    result = average_precision([np.array([0.9]), np.array([0.8])], predicted, gt, kind="box")
    fig, ax = plt.subplots()
    iv.plot_pr_curves(ax, result, thresholds=(0.5, 0.75, 0.95))
    assert len(ax.lines) == 3
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0] == f"IoU 0.50: AP {result.at(0.5):.2f}"
    plt.close(fig)


def test_diagram_and_area_histogram_draw():
    ax = iv.draw_unrolled_model(3)
    assert sum("ConvGRU" in t.get_text() for t in ax.texts) == 3
    # the context block's activation and pooling written out (no undefined abbreviations)
    context = [" ".join(t.get_text().split()) for t in ax.texts if "context" in t.get_text()]
    assert len(context) == 1 and all(w in context[0] for w in ("batch norm", "leaky ReLU", "max-pool"))
    assert not any(w in context[0].split() for w in ("LReLU", "BN", "BN,"))
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="steps"):
        iv.draw_unrolled_model(1)
    fig, ax = plt.subplots()
    iv.plot_area_fractions(ax, np.array([0.001, 0.01, 0.06, 0.1]), {"paper": 0.05})
    assert ax.get_legend().get_texts()[0].get_text() == "paper = 5%: 50% of robots reach it"
    plt.close(fig)


def test_instance_overlay_colours_only_mask_pixels():
    image = np.full((4, 4, 3), 100, np.uint8)
    masks = np.zeros((1, 4, 4), bool)
    masks[0, 0, 0] = True
    out = iv.instance_overlay(image, masks, alpha=1.0)
    np.testing.assert_array_equal(out[0, 0], iv.INSTANCE_COLORS[0])
    np.testing.assert_array_equal(out[1:, :], image[1:, :])


def test_step_mask_titles_can_show_shares_of_the_whole_image():
    image = np.zeros((8, 8, 3), np.uint8)
    steps = np.zeros((2, 8, 8))
    steps[0, :4, :4] = 1.0  # a quarter of this (cropped) panel
    fig = iv.plot_step_masks([image], [steps], [steps[:1] > 0.5], min_active_fraction=0.01,
                             fractions=[np.array([0.05, 0.0])])
    titles = [ax.get_title() for ax in fig.axes]
    assert "step 1: 5.0%" in titles and "step 1: 25.0%" not in titles
    plt.close(fig)


def test_share_text_never_rounds_across_a_threshold():
    from robotpose_lib.viz.instances import share_text

    assert share_text(0.0497, (0.05,)) == "4.97%"  # "5.0%" would read as counted by a 5% rule
    assert share_text(0.0497) == "5.0%"  # without a threshold, one decimal
    assert share_text(0.25, (0.05, 0.002)) == "25.0%"


def test_lineage_curve_joins_parts_and_noise_stays_within_parts(tmp_path):
    import json

    import numpy as np

    from robotpose_lib.viz.training import lineage_curve, relative_noise

    for name, values in (("a", [4.0, 4.0, 4.0, 4.0]), ("b", [1.0, 1.0, 1.0, 1.0])):
        rows = [{"step": 10 * (i + 1), "loss": v} for i, v in enumerate(values)]
        (tmp_path / f"{name}.metrics.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    curve = lineage_curve([tmp_path / "a.metrics.jsonl", tmp_path / "b.metrics.jsonl"])
    assert list(curve["steps"]) == [10, 20, 30, 40, 50, 60, 70, 80]  # b starts after a's 40
    assert list(curve["starts"]) == [0, 40] and list(curve["part"]) == [0, 0, 0, 0, 1, 1, 1, 1]
    # each part is flat: within parts there is no noise; windows across the jump have some
    assert relative_noise(curve["values"], 4, curve["part"]) == 0.0
    assert relative_noise(curve["values"], 4) > 0.0  # 3 of its 5 windows cross the jump
    assert relative_noise(np.ones(3), 3) == 0.0  # one complete window
    from robotpose_lib.viz.training import rolling_stats

    mean, std = rolling_stats(curve["values"], 4, curve["part"])
    assert mean[4] == 1.0 and std[4] == 0.0  # the window restarts with part b
    assert rolling_stats(curve["values"], 4)[0][4] == (4 * 3 + 1) / 4  # without parts it mixes them
    assert np.isnan(relative_noise(np.ones(2), 5))


def test_joint_types_have_distinct_colours_and_markers():
    from robotpose_lib.viz.instances import joint_style, plot_joint_peaks

    styles = [joint_style(j) for j in range(7)]
    assert len({c for c, _ in styles}) == 7 and len({m for _, m in styles}) == 7
    fig, ax = plt.subplots()
    joints = np.array([[[5.0, 5.0], [10.0, 10.0], [15.0, 15.0]]])
    plot_joint_peaks(ax, np.zeros((20, 20, 3), np.uint8), joints, np.ones((1, 3), bool))
    faces = [tuple(np.round(c.get_facecolor()[0][:3], 3)) for c in ax.collections]
    assert len(set(faces)) == 3  # joints 1, 2, 3 in three different colours
    plt.close(fig)


def test_joint_markers_and_legend_are_legible_at_column_width():
    from robotpose_lib.viz.instances import joint_legend, plot_joint_peaks

    fig, ax = plt.subplots(figsize=(10 / 3, 3.2))  # one panel of the chapter's 10-inch figure
    joints = np.array([[[5.0, 5.0], [10.0, 10.0], [15.0, 15.0]]])
    plot_joint_peaks(ax, np.zeros((20, 20, 3), np.uint8), joints, np.ones((1, 3), bool))
    assert all(c.get_sizes()[0] >= 80 for c in ax.collections)  # points^2: about 9 pt across
    legend = joint_legend(ax)
    # >= 8 pt when the 10-inch figure is shrunk to the column (about 0.75)
    assert all(t.get_fontsize() * 0.75 >= 8 for t in legend.get_texts())
    assert [t.get_text() for t in legend.get_texts()] == ["joint 1", "joint 2", "joint 3"]
    fig.canvas.draw()  # under the image, so that it hides no joint
    assert legend.get_window_extent().y1 <= ax.get_window_extent().y0 + 1
    plt.close(fig)
