"""Readability fixes of the thirteenth read: the pipeline's depth axis, one shade for true
chains, visible one-point PR curves, phase labels over their spans, the depth panel's colour
bar, spacing of the cost matrix's titles, visible hollow joint dots."""
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from robotpose_lib import viz  # noqa: E402
from robotpose_lib.viz.pipeline import depth_ticks, labels_touch, plot_pipeline, visible_tick_labels  # noqa: E402

H, W = 30, 40


def _blob(rows, cols):
    m = np.zeros((H, W), np.float32)
    m[rows, cols] = 1
    return m


LEFT, RIGHT = _blob(slice(5, 25), slice(2, 10)), _blob(slice(5, 25), slice(28, 36))
# chain layouts: one tall chain; two robots side by side at one depth; two at different
# depths; a small robot; two far away
LAYOUTS = {
    "one chain": (LEFT[None], [[[0, 0.5, 2.8], [0, 0.2, 2.8], [0.1, -0.2, 2.7]]]),
    "one depth": (np.stack([LEFT, RIGHT]), [[[-0.7, 0.5, 2.8], [-0.7, 0.2, 2.8], [-0.6, -0.2, 2.8]],
                                            [[0.7, 0.5, 2.8], [0.7, 0.2, 2.8], [0.6, -0.2, 2.8]]]),
    "two depths": (np.stack([LEFT, RIGHT]), [[[-0.7, 0.5, 2.2], [-0.7, 0.2, 2.2], [-0.6, -0.2, 2.3]],
                                             [[0.7, 0.5, 3.9], [0.7, 0.2, 3.9], [0.6, -0.2, 4.0]]]),
    "small": (LEFT[None], [[[0, 0.05, 1.5], [0, 0.0, 1.5], [0.02, -0.05, 1.5]]]),
    "far": (np.stack([LEFT, RIGHT]), [[[-2, 1.5, 8], [-2, 0.2, 8], [-1.8, -0.5, 8.3]],
                                      [[2, 1.5, 10], [2, 0.2, 10], [1.8, -0.5, 10.2]]]),
}


def _pipeline(masks, j3, **kw):
    j3 = np.asarray(j3, float)
    return plot_pipeline(np.zeros((H, W, 3), np.uint8), np.zeros((3, H, W)), masks, np.full((len(j3), 3, 2), 8.0),
                         j3, **kw)


# ------------------------------------------------------------------ 1. the pipeline's 3D panel
def test_depth_ticks_are_three_round_values_inside_the_limits():
    assert depth_ticks(2.13, 3.25) == [2.4, 2.8, 3.2]
    assert depth_ticks(1.44, 1.56) == [1.45, 1.5, 1.55]
    for lo, hi in [(2.6, 2.9), (0.5, 11.0), (7.9, 10.4), (2.0, 2.05)]:
        ticks = depth_ticks(lo, hi)
        assert len(ticks) == 3 and lo <= ticks[0] < ticks[1] < ticks[2] <= hi
        assert all(len(f"{t:g}") <= 4 for t in ticks)  # round values: short labels


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_pipeline_depth_axis_reads_three_values_and_no_labels_touch(layout):
    masks, j3 = LAYOUTS[layout]
    fig = _pipeline(masks, j3)
    ax3 = fig.axes[-1]
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    assert ax3.yaxis.get_label_text() == "z (m)"  # the depth axis, with its unit
    depth = visible_tick_labels(ax3.yaxis, renderer)
    assert len(depth) >= 3, layout
    # the depth values spread across the panel: the first and last label well apart
    assert max(abs(depth[-1].x0 - depth[0].x0), abs(depth[-1].y0 - depth[0].y0)) > 3 * depth[0].height
    labels = [visible_tick_labels(axis, renderer) for axis in (ax3.xaxis, ax3.yaxis, ax3.zaxis)]
    for own in labels:
        assert own and not labels_touch(own, pad_px=1.0), layout
    # no x value on a depth value (they meet at the box's near corner)
    assert not any(a.overlaps(b) for a in labels[0] for b in labels[1]), layout
    plt.close(fig)


def test_pipeline_depth_axis_is_seen_obliquely():
    """The view is turned so far from the front that the depth axis's projection is at least
    half as long as the x axis's (it used to be a few pixels)."""
    from mpl_toolkits.mplot3d import proj3d

    masks, j3 = LAYOUTS["two depths"]
    fig = _pipeline(masks, j3)
    ax3 = fig.axes[-1]
    fig.canvas.draw()
    (x0, x1), (y0, y1), (z0, _) = ax3.get_xlim3d(), ax3.get_ylim3d(), ax3.get_zlim3d()

    def px(x, y, z):
        xs, ys, _ = proj3d.proj_transform(np.array([x]), np.array([y]), np.array([z]), ax3.M)
        return ax3.transData.transform(np.column_stack([xs, ys]))[0]

    along_x = np.linalg.norm(px(x1, y0, z0) - px(x0, y0, z0))
    along_depth = np.linalg.norm(px(x0, y1, z0) - px(x0, y0, z0))
    assert along_depth > 0.5 * along_x
    plt.close(fig)


@pytest.mark.parametrize("model", ["recurrent", "one-pass"])
def test_pipeline_masks_title_says_they_are_overlaid(model):
    masks, j3 = LAYOUTS["one depth"]
    fig = _pipeline(masks, j3, instance_model=model)
    titles = [t.get_text() for t in fig.texts if t.get_va() == "bottom"]
    assert "overlaid" in titles[2] and "one per" not in titles[2]
    # the titles keep clear of each other on their common lines
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = sorted((t.get_window_extent(renderer) for t in fig.texts if t.get_va() == "bottom"), key=lambda b: b.x0)
    assert all(b.x0 - a.x1 > 0.25 * fig.dpi for a, b in zip(boxes, boxes[1:]))
    plt.close(fig)


# ------------------------------------------------------------------ 2. one shade for true chains
def test_true_chains_in_one_dark_shade_in_the_intro_and_in_chapter_4():
    j3 = np.asarray(LAYOUTS["one depth"][1], float)
    masks = LAYOUTS["one depth"][0]
    fig = _pipeline(masks, j3 + [0, 0, 0.2], true_joints_3d=j3, true_masks=masks)
    dashed = [line.get_color() for line in fig.axes[-1].lines if line.get_linestyle() == "--"]
    assert [tuple(np.round(c, 6)) for c in dashed] == [tuple(np.round(viz.truth_shade(k), 6)) for k in (0, 1)]
    plt.close(fig)
    # chapter 4's plot_prediction: the truth of the prediction matched to it, same shade
    j2 = np.array([[[5.0, 5.0], [5.0, 15.0]], [[30.0, 5.0], [30.0, 15.0]]])
    sample = SimpleNamespace(num_robots=2, joints_2d=j2)
    poses = [SimpleNamespace(joints_2d=j2[1]), SimpleNamespace(joints_2d=j2[0])]
    styles = viz.truth_styles(sample, poses)
    assert [s[0] for s in styles] == [viz.truth_shade(1), viz.truth_shade(0)]
    for k in range(10):  # darker than the robot's own colour (its solid chain), never grey
        shade, own = np.array(viz.truth_shade(k)), viz.INSTANCE_COLORS[k] / 255
        assert shade.sum() < 0.7 * own.sum() and np.ptp(shade) > 0.01 or np.ptp(own) < 0.05


# ------------------------------------------------------------------ 3. Fig. 3.8's short PR curves
def _pr_result(max_recall, ap):
    rp = np.linspace(0, 1, 101)
    precision = np.where(rp[None] <= np.asarray(max_recall)[:, None] + 1e-12, 0.5, 0.0)
    return SimpleNamespace(iou_thresholds=np.array([0.5, 0.9, 0.95]), recall_points=rp,
                           max_recall=np.asarray(max_recall, float), precision=precision, ap=np.asarray(ap, float),
                           kind="mask")


def test_pr_curve_of_one_recall_point_is_marked_and_visible():
    from robotpose_lib.viz import instances as iv

    # IoU 0.50: a long curve; 0.90: one robot of 158 matched (recall 0.006, a single recall
    # point, AP 0.005: the curve the mask panel lacked); 0.95: nothing matched
    result = _pr_result([0.3, 0.0063, 0.0], [0.15, 0.5 / 101, 0.0])
    fig, ax = plt.subplots()
    iv.plot_pr_curves(ax, result, legend_loc="inside")
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    long, single, none = ax.lines
    assert single.get_marker() == "o" and len(single.get_xdata()) == 1
    # the marker shows whole on the axes' left edge: not clipped, a few pixels wide
    assert not single.get_clip_on() and single.get_markersize() >= 5
    extent = single.get_window_extent(renderer)
    assert extent.width >= 5 and extent.height >= 5
    assert long.get_marker() in (None, "None", "")  # long curves stay plain lines
    assert len(none.get_xdata()) == 0  # nothing matched: no curve, as the caption says
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["IoU 0.50: AP 0.15", "IoU 0.90: AP 0.005", "IoU 0.95: AP 0.00"]
    plt.close(fig)


def test_format_ap_keeps_a_positive_ap_off_zero():
    from robotpose_lib.viz.instances import format_ap

    assert [format_ap(a) for a in (0.0, 0.00495, 0.0099, 0.21)] == ["0.00", "0.005", "0.01", "0.21"]


# ------------------------------------------------------------------ 4. Fig. 2.4's phase labels
def _phase_figure(bounds, width_in=4.0):
    from robotpose_lib.viz.training import mark_parts

    fig, ax = plt.subplots(figsize=(width_in, 3))
    ax.plot([bounds[0], bounds[-1]], [1, 2])
    mark_parts(ax, bounds[:-1], [str(i + 1) for i in range(len(bounds) - 1)], end=bounds[-1])
    ax.set_title("a title\nof two lines", pad=14, fontsize=10)
    fig.tight_layout()  # as the chapters do, after the labels: they are laid out when drawn
    fig.canvas.draw()
    return fig, ax


@pytest.mark.parametrize("bounds", [[0, 1000, 2000, 18000, 37000],  # the Panda's phases
                                    [0, 1000, 2800, 7300, 14300, 18300, 24300],  # the arm's
                                    [0, 1200, 2000]])
def test_phase_labels_sit_over_their_spans_without_overlap(bounds):
    from robotpose_lib.viz.training import PhaseLabels

    fig, ax = _phase_figure(bounds)
    renderer = fig.canvas.get_renderer()
    labels = next(a for a in ax.artists if isinstance(a, PhaseLabels))
    boxes = [t.get_window_extent(renderer) for t in labels.texts]
    assert [t.get_text() for t in labels.texts] == [str(i + 1) for i in range(len(bounds) - 1)]
    # in order, apart, above the axes and under the title
    assert all(b.x0 - a.x1 > 2 for a, b in zip(boxes, boxes[1:]))
    top = ax.get_window_extent(renderer).y1
    assert all(b.y0 >= top for b in boxes)
    assert not any(b.overlaps(ax.title.get_window_extent(renderer)) for b in boxes)
    to_px = ax.transData.transform
    for k, (box, shown, leader) in enumerate(zip(boxes, labels.leader_shown, labels.leaders)):
        a, b = (to_px([(v, 0)])[0, 0] for v in bounds[k:k + 2])
        centre = (box.x0 + box.x1) / 2
        if a <= box.x0 and box.x1 <= b:  # over its own span, centred on it
            assert not shown and abs(centre - (a + b) / 2) < 1.0
        else:  # a span too short for its label: a line from the label into the span
            assert shown
            x, _ = leader.get_data()
            assert a < x[1] < b and x[0] == pytest.approx(centre)
    plt.close(fig)


def test_phase_label_one_is_not_over_the_first_boundary():
    """The reader's case: the Panda's phase 1 (1,000 of 37,000 steps) read as if it began at
    the first dotted line; its label now points into the span before that line."""
    bounds = [0, 1000, 2000, 18000, 37000]
    fig, ax = _phase_figure(bounds)
    from robotpose_lib.viz.training import PhaseLabels

    labels = next(a for a in ax.artists if isinstance(a, PhaseLabels))
    first = ax.transData.transform([(1000, 0)])[0, 0]
    x, _ = labels.leaders[0].get_data()
    box = labels.texts[0].get_window_extent(fig.canvas.get_renderer())
    assert box.x1 < first + 1 or (labels.leader_shown[0] and x[1] < first)
    assert labels.leader_shown[0] and x[1] < first
    plt.close(fig)


# ------------------------------------------------------------------ 5. Fig. 1.3's depth panel
def test_scene_panels_depth_has_a_colour_bar_in_metres_and_a_grey_background():
    from robotpose_lib.synth import params_for, posed_scene, render_scenes
    from robotpose_lib.viz.synthetic import SCENE_PANEL_TITLES, plot_scene_panels

    scene = posed_scene("kuka_kr16", [0.3, -0.6, 0.4, 0.5, 0.8, 0.0], radius=3.5, inclination=1.1, azimuth=0.6,
                        height=48, width=64, seed=1)
    sample = render_scenes("kuka_kr16", [scene], params_for("kuka_kr16"))[0]
    fig = plot_scene_panels(sample)
    panels, bar = fig.axes[:4], fig.axes[4]
    assert [ax.get_title() for ax in panels] == list(SCENE_PANEL_TITLES)
    assert "(m)" in bar.get_ylabel()  # the unit
    assert bar.get_ylim()[0] == 0 and bar.get_ylim()[1] == pytest.approx(sample.depth.max())
    depth = np.asarray(panels[3].images[0].get_array())
    empty = sample.depth <= 0
    assert empty.any() and (depth[empty] == viz.EMPTY_DEPTH).all()
    # the empty pixels' grey is no colour of the scale (so it does not read as a depth)
    turbo = plt.get_cmap("turbo")(np.linspace(0, 1, 256))[:, :3] * 255
    assert np.min(np.abs(turbo - np.array(viz.EMPTY_DEPTH)).sum(1)) > 60
    # the colour bar stands beside the depth panel, clear of every panel, inside the figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    box = bar.get_tightbbox(renderer)
    assert not any(box.overlaps(ax.get_window_extent(renderer)) for ax in panels)
    assert box.x1 <= fig.bbox.x1 + 1
    assert bar.get_position().x0 > panels[3].get_position().x1
    plt.close(fig)


# ------------------------------------------------------------------ 6. Fig. 3.3's spacing
def test_matching_example_keeps_the_end_mask_title_clear_of_the_cost_matrix():
    from robotpose_lib.viz import instances as iv

    R, H, W = 3, 40, 40
    targets = np.zeros((R, H, W), bool)
    for r in range(R):
        targets[r, 5:35, 5 + 10 * r:12 + 10 * r] = True
    predictions = [np.roll(targets, 1, axis=0)[j].astype(float) for j in range(R)] + [np.full((H, W), 0.1)]
    cost = np.array([[1.0, 0.1, 1.0], [1.0, 1.0, 0.2], [0.35, 1.0, 1.0]])
    fig = iv.plot_matching_example(targets, predictions, cost, np.array([1, 2, 0]), (slice(2, 38), slice(2, 38)))
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    axes = fig.get_axes()
    end = next(ax for ax in axes if "end mask" in ax.get_title())
    matrix = next(ax for ax in axes if ax.get_ylabel() == "target robot")
    title = end.title.get_window_extent(renderer)
    left = [matrix.yaxis.label.get_window_extent(renderer),
            *(t.get_window_extent(renderer) for t in matrix.get_yticklabels())]
    # at least a tenth of an inch between the title and the matrix's row names
    assert all(box.x0 - title.x1 > 0.1 * fig.dpi for box in left)
    # and no title of the mask panels runs into another
    titles = sorted((ax.title.get_window_extent(renderer) for ax in axes if ax.get_title().startswith("pred")),
                    key=lambda b: b.x0)
    assert all(b.x0 > a.x1 for a, b in zip(titles, titles[1:]))
    plt.close(fig)


# ------------------------------------------------------------------ 7. Fig. 1.5's hollow dots
@pytest.mark.parametrize("background", [0, 255, 128])
def test_hidden_joint_is_a_large_ring_with_a_white_inside_and_a_dark_edge(background):
    image = np.full((40, 60, 3), background, np.uint8)
    joints = np.array([[10.0, 20.0], [30.0, 20.0], [50.0, 20.0]])  # along row 20; the middle one hidden
    color = tuple(int(c) for c in viz.INSTANCE_COLORS[1])
    out = viz.draw_chain(image, joints, np.array([True, False, True]), color, radius=3, thickness=2)

    def extent(x):  # from the first to the last row of column x that the mark changed
        changed = np.flatnonzero(np.abs(out[:, x].astype(int) - background).sum(-1) > 30)
        return int(changed[-1] - changed[0] + 1)

    assert extent(30) >= extent(10) + 4  # the hollow mark is larger than a visible joint's dot
    assert (out[20, 30] == 255).all()  # white inside
    assert np.abs(out[15, 30].astype(int) - color).sum() < 60  # the ring, in the robot's colour
    if background:  # the dark edge just outside the ring (on black it is the background itself)
        assert out[14, 30].sum() < 3 * 100 and out[26, 30].sum() < 3 * 100
    # a visible joint is still a filled dot in the colour
    assert np.abs(out[20, 10].astype(int) - color).sum() < 30


def test_scene_thumbnail_enlarges_and_can_cut_to_the_robots():
    from robotpose_lib.synth import generate
    from robotpose_lib.viz.synthetic import scene_thumbnail

    s = generate("kuka_kr16", seed=0, indices=[0], height=60, width=80)[0]
    assert s.num_robots
    whole = scene_thumbnail(s, width=320)
    assert whole.shape == (240, 320, 3)
    cut = scene_thumbnail(s, width=320, max_zoom=2.5)
    assert cut.shape[0] / cut.shape[1] == pytest.approx(0.75, abs=0.03) and cut.shape != whole.shape
