"""The figures and figure helpers that chapters 1 to 3 call (robotpose_lib.viz): inputs
built so that the right answer is known."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from robotpose_lib import viz  # noqa: E402
from robotpose_lib.ap import average_precision  # noqa: E402
from robotpose_lib.types import Sample  # noqa: E402
from robotpose_lib.viz import instances as iv  # noqa: E402
from robotpose_lib.viz import localization as vl  # noqa: E402
from robotpose_lib.viz import synthetic as vs  # noqa: E402
from robotpose_lib.viz import training as vt  # noqa: E402


def _sample(joints_2d, size=(40, 60), masks=None, depth_z=2.0):
    """A hand-made Sample: R robots with the given joints (R, J, 2), all visible."""
    joints_2d = np.asarray(joints_2d, np.float32)
    R, J = joints_2d.shape[:2]
    H, W = size
    masks = np.zeros((R, H, W), bool) if masks is None else np.asarray(masks, bool)
    xyz = np.concatenate([joints_2d, np.full((R, J, 1), depth_z, np.float32)], -1)
    return Sample(image=np.full((H, W, 3), 90, np.uint8), masks=masks, depth=np.zeros(size, np.float32),
                  joints_2d=joints_2d, joints_3d=xyz, visibility=np.ones((R, J), bool),
                  K=np.eye(3, dtype=np.float32), joint_angles=np.zeros((R, 1), np.float32),
                  base_poses=np.tile(np.eye(4, dtype=np.float32), (R, 1, 1)),
                  camera_pose=np.eye(4, dtype=np.float32), robot="toy")


# ------------------------------------------------------------------- chapter 3, Fig. 3.1
CROSSED = [[[0, 0], [10, 0], [20, 0]],      # robot 0 along the top
           [[0, 10], [11, 1], [20, 10]]]    # robot 1's middle joint next to robot 0's


def test_wrong_links_counts_links_that_join_two_robots():
    wrong, links, peaks, chains = iv.wrong_links(np.array(CROSSED, float))
    # chain 0 takes robot 0's middle joint, chain 1 is left with robot 1's: both right;
    # then chain 0 (at (10, 0)) takes the nearest last joint: robot 0's (20, 0), right
    assert (wrong, links) == (0, 4) and len(peaks) == 3 and len(chains) == 2
    swapped = np.array(CROSSED, float)
    swapped[1, 1] = [1, 1]  # robot 1's middle joint right by robot 0's start
    wrong, links, _, chains = iv.wrong_links(swapped)
    # chain 0 jumps to robot 1's middle joint and back to robot 0's last, chain 1 the
    # other way round: all four links join two robots
    assert (wrong, links) == (4, 4)
    assert chains[0] == [(0, 0), (1, 1), (2, 0)]
    with pytest.raises(ValueError, match="R, J, 2"):
        iv.wrong_links(np.zeros((2, 3)))


def test_joints_inside_and_the_assignment_scene_rule():
    inside = _sample(CROSSED)
    outside = _sample([[[0, 0], [10, 0], [60, 0]]])  # u = W is outside
    assert iv.joints_inside(inside) and not iv.joints_inside(outside)
    swapped = np.array(CROSSED, float)
    swapped[1, 1] = [1, 1]
    worse = _sample(swapped)
    # among the scenes with 2 robots and all joints inside, the one with most wrong links
    assert iv.assignment_scene([inside, worse, outside], robots=2) is worse
    # no scene with 3 robots: the one with the most robots
    assert iv.assignment_scene([outside, worse], robots=3) is worse
    with pytest.raises(ValueError, match="no scene"):
        iv.assignment_scene([])


# ------------------------------------------------------------------- chapter 3, Fig. 3.8
def test_pr_curves_show_every_threshold_of_the_result_by_default():
    gt = [np.array([[0, 0, 10, 10.0]]), np.array([[5, 5, 20, 20.0]])]
    predicted = [np.array([[0, 0, 10, 9.0]]), np.array([[5, 5, 12, 12.0]])]
    result = average_precision([np.array([0.9]), np.array([0.8])], predicted, gt, kind="box")
    fig, ax = plt.subplots()
    iv.plot_pr_curves(ax, result)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert len(labels) == len(result.iou_thresholds) == 10  # COCO's 0.50 .. 0.95
    assert [label[4:8] for label in labels] == [f"{t:.2f}" for t in result.iou_thresholds]
    plt.close(fig)


def test_pr_curves_have_distinct_hues_and_alternate_line_styles():
    from types import SimpleNamespace

    rp = np.linspace(0, 1, 101)
    iou = np.round(np.arange(0.5, 0.96, 0.05), 2)
    result = SimpleNamespace(iou_thresholds=iou, recall_points=rp, max_recall=np.ones(10),
                             precision=np.ones((10, 101)), ap=np.ones(10), kind="box")
    fig, ax = plt.subplots()
    iv.plot_pr_curves(ax, result)
    colors = [tuple(np.round(matplotlib.colors.to_rgb(line.get_color()), 3)) for line in ax.lines]
    assert len(set(colors)) == 10
    # neighbouring thresholds differ clearly in colour (not neighbours of a sequential map)
    assert all(np.abs(np.subtract(a, b)).sum() > 0.3 for a, b in zip(colors, colors[1:]))
    styles = [line.get_linestyle() for line in ax.lines]
    assert styles[0::2] == ["-"] * 5 and styles[1::2] == ["--"] * 5  # curves on top of each other both show
    plt.close(fig)


# ------------------------------------------------------------ training logs (ch. 2 and 3)
def test_tenth_mean_reads_the_start_and_the_end_of_a_log():
    values = np.arange(1, 21, dtype=float)  # 20 values: a tenth is 2
    assert vt.tenth_mean(values) == 19.5 and vt.tenth_mean(values, end=False) == 1.5
    assert vt.tenth_mean([4.0, 8.0]) == 8.0  # at least one value
    with pytest.raises(ValueError, match="nothing logged"):
        vt.tenth_mean([])


def test_last_stage_terms_of_a_log_weighted_and_not():
    # stage 2 is the last; its loss is belief + 50 * depth
    rows = [{"step": s, "belief_1": 9.0, "belief_2": 1.0 + s, "depth_2": 0.01, "depth_1": 5.0,
             "stage_2": 1.0 + s + 50 * 0.01} for s in range(10)]
    belief, depth, weighted = vt.last_stage_terms(rows)
    assert belief == pytest.approx(10.0) and depth == pytest.approx(0.01)
    assert weighted == pytest.approx(0.5)
    belief, _, _ = vt.last_stage_terms(rows, share=2)  # the last 5 rows: steps 5..9
    assert belief == pytest.approx(8.0)
    with pytest.raises(ValueError, match="belief"):
        vt.last_stage_terms([{"loss": 1.0}])


def test_total_and_fifths_draws_the_two_means():
    fig, ax = plt.subplots()
    steps, values = np.arange(10), np.r_[np.full(5, 2.0), np.full(5, 1.0)]
    vt.plot_total_and_fifths(ax, steps, values)
    total, first, last = ax.lines
    assert list(first.get_ydata()) == [2.0, 2.0] and list(first.get_xdata()) == [0, 1]
    assert list(last.get_ydata()) == [1.0, 1.0] and list(last.get_xdata()) == [8, 9]
    plt.close(fig)


# ------------------------------------------------------------------------ chapter 2 panel
def test_belief_panel_marks_the_peak_and_checks_the_size():
    s = _sample(CROSSED)
    belief = np.zeros((40, 60))
    belief[12, 33] = 0.4
    fig = vl.plot_belief_panel(s, belief, "stage 2, joint 1", zoom=False)
    (u,), (v,) = fig.axes[1].lines[0].get_data()
    assert (u, v) == (33, 12)
    assert fig.axes[1].get_title() == "stage 2, joint 1: max belief 0.40 (+)"
    plt.close(fig)
    # zoomed (the default): the + where the peak pixel's centre lands in the enlarged crop
    fig = vl.plot_belief_panel(s, belief, "stage 2, joint 1")
    (u,), (v,) = fig.axes[1].lines[0].get_data()
    shown = fig.axes[1].images[1].get_array()
    h, w = shown.shape
    assert w > 60 and 0 <= u < w and 0 <= v < h
    peak_v, peak_u = np.unravel_index(np.argmax(shown), shown.shape)
    assert abs(u - peak_u) <= 2 and abs(v - peak_v) <= 2
    assert fig.axes[0].images[0].get_array().shape[:2] == (h, w)  # both panels: one window
    assert "cropped to the robot" in fig.axes[0].get_title()
    plt.close(fig)
    with pytest.raises(ValueError, match="differ in size"):
        vl.plot_belief_panel(s, belief[:20], "x")


# ----------------------------------------------------------------------------- chapter 1
def test_robot_models_draw_the_chain_above_the_primitives():
    fig = vs.plot_robot_models(["kuka_kr16"])
    ax = fig.axes[0]
    chain = [line for line in ax.lines if line.get_label() == "keypoint chain"]
    assert len(chain) == 1 and chain[0].get_color() == vs.CHAIN_COLOR
    assert not ax.computed_zorder  # drawn in order: the chain is not sorted behind
    assert chain[0].get_zorder() > max(c.get_zorder() for c in ax.collections)
    plt.close(fig)
    with pytest.raises(ValueError, match="no robot"):
        vs.plot_robot_models([])


def test_crop_to_robots_keeps_the_aspect_and_frames_the_masks():
    image = np.zeros((120, 160, 3), np.uint8)
    mask = np.zeros((120, 160), bool)
    mask[50:70, 70:90] = True
    crop = vs.crop_to_robots(image, mask, margin=0.1)
    h, w = crop.shape[:2]
    assert h < 120 and w < 160 and abs(w / h - 160 / 120) < 0.05 and h >= 24
    assert vs.crop_to_robots(image, np.zeros_like(mask)).shape == image.shape


def test_zoom_on_robot_enlarges_a_window_centred_on_the_largest_robot():
    H, W = 120, 160
    masks = np.zeros((2, H, W), bool)
    masks[0, 10:14, 150:154] = True  # small
    masks[1, 50:70, 70:90] = True  # largest: centre (60, 80)
    rows, cols = vs.robot_zoom_window(masks, (H, W), factor=4)
    assert (rows.stop - rows.start, cols.stop - cols.start) == (30, 40)
    assert (rows.start + rows.stop) / 2 == 60 and (cols.start + cols.stop) / 2 == 80
    # at the border: shifted inside the image; no robot: the image's centre
    rows, cols = vs.robot_zoom_window(masks[0], (H, W), factor=4)
    assert cols.stop == W and rows.start == 0
    assert vs.robot_zoom_window(np.zeros((0, H, W)), (H, W), 4) == (slice(45, 75), slice(60, 100))
    image = np.arange(H * W, dtype=np.int32).reshape(H, W)
    zoomed = vs.zoom_on_robot(image.astype(np.float32), masks, factor=4)
    assert zoomed.shape == (H, W) and zoomed.dtype == np.float32
    # nearest pixels: each source pixel becomes a 4 x 4 block, no blended values
    window = image[45:75, 60:100]
    assert set(np.unique(zoomed).astype(int)) == set(window.ravel())
    assert (zoomed[:4, :4] == window[0, 0]).all()


def test_robot_panels_titles_and_scene_statistics_histograms():
    fig = vs.robot_panels([np.zeros((30, 40, 3), np.uint8)] * 2, ["a", "b"], cols=2, fontsize=14)
    assert fig.axes[0].title.get_fontsize() == 14
    plt.close(fig)
    two = _sample(CROSSED, depth_z=3.0)
    none = _sample(np.zeros((0, 3, 2)))
    stats = vs.scene_statistics([two, none])
    assert stats["robots"].tolist() == [2, 0]
    assert stats["visible"].tolist() == [1.0, 1.0] and stats["depth"].tolist() == [3.0] * 6
    axes = vs.plot_training_distribution({"toy": stats})
    assert [ax.get_ylabel() for ax in axes] == ["scenes", "robots", "joints"]
    assert all(ax.get_xlabel() for ax in axes)
    # one legend for the three panels, naming each robot once
    legends = axes[0].figure.legends
    assert len(legends) == 1 and [t.get_text() for t in legends[0].get_texts()] == ["toy"]
    assert not any(ax.get_legend() for ax in axes)
    plt.close(axes[0].figure)


def test_plot_posed_renders_the_robot_and_its_depth():
    fig = vs.plot_posed("kuka_kr16", [0.3] * 6, 5.0, 1.1, 0.6, size=(48, 64), zoom=False)
    assert [ax.get_title() for ax in fig.axes[:2]] == ["image + joints", "depth; grey: no robot"]
    depth = fig.axes[1].images[0].get_array()
    assert np.asarray(depth).any()  # the robot is in view: its depth is drawn
    bar = fig.axes[2]  # the depth's colour bar, in metres from 0
    assert bar.get_ylabel() == "depth [m]" and bar.get_ylim()[0] == 0 and bar.get_ylim()[1] > 4
    plt.close(fig)
    # zoomed (the default): both panels the same enlarged window, the factor in the titles
    fig = vs.plot_posed("kuka_kr16", [0.3] * 6, 8.0, 1.1, 0.6, size=(48, 64))
    titles = [ax.get_title() for ax in fig.axes[:2]]
    assert titles[0].startswith("image + joints (cropped to the robot, ") and titles[0].endswith("x)")
    image, depth = (np.asarray(ax.images[0].get_array()) for ax in fig.axes[:2])
    assert image.shape == depth.shape and image.shape[1] > 64
    robot = (depth != viz.EMPTY_DEPTH).any(-1)  # depth pixels of the robot (empty ones are grey)
    assert robot.mean() > 0.05  # the robot fills a good part of the panel
    plt.close(fig)


def test_the_animation_needs_nothing_from_the_network():
    """The book is read offline: the animation's buttons must not load icons from a CDN."""
    import re

    html = viz.animation_html([np.zeros((8, 8, 3), np.uint8)] * 2)
    assert not re.search(r"(href|src)=\"https?://", html) and 'class="fa ' not in html
    assert html.count("<button") == 9 and "\u25b6" in html  # every button still there, labelled
