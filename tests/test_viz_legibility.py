"""The figures' legibility fixes: names as the book writes them, axes limited to what the
tables summarise, titles without hats for targets, chains visible on any colour."""
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from robotpose_lib import viz  # noqa: E402
from robotpose_lib.eval.localization import LocalizationReport  # noqa: E402
from robotpose_lib.viz.localization import plot_depth_errors, plot_pixel_errors  # noqa: E402
from robotpose_lib.viz.pipeline import plot_pipeline  # noqa: E402
from robotpose_lib.viz.training import phase_key  # noqa: E402


def _report():
    rng = np.random.default_rng(0)
    z = rng.uniform(2, 12, 500)
    err = rng.uniform(0, 10, (5, 2))
    return LocalizationReport("kuka_kr16", ["a", "b"], (24, 32), 20.0, {"nms": err, "log": err},
                              np.ones((5, 2), bool), rng.uniform(0, 50, z.size), z, 5)


def test_error_figures_name_log_and_stop_at_10_m():
    fig, (a, b) = plt.subplots(1, 2)
    plot_pixel_errors(_report(), ax=a)
    assert any(t.get_text().startswith("LoG") for t in a.get_legend().get_texts())
    plot_depth_errors(_report(), ax=b)
    assert b.get_xlim()[1] <= 10.0
    plt.close(fig)


def test_phase_key_breaks_between_phases_only():
    key = phase_key(["λ = 1", "λ = 50", "sim2real scenes", "URDF meshes, dream"], width=40)
    assert all(line.startswith(("phases", "1:", "2:", "3:", "4:")) for line in key.split("\n"))


def test_pipeline_titles_without_hats_for_targets():
    H, W = 24, 32
    masks = np.zeros((1, H, W), np.float32)
    masks[0, 5:15, 5:10] = 1
    j2, j3 = np.full((1, 3, 2), 8.0), np.array([[[0, 0, 2], [0, -0.3, 2], [0.1, -0.5, 2]]], float)
    fig = plot_pipeline(np.zeros((H, W, 3), np.uint8), np.zeros((3, H, W)), masks, j2, j3, predicted=False)
    assert not any("\u0302" in t.get_text() for t in fig.texts)
    plt.close(fig)


def test_chain_outline_shows_on_its_own_colour():
    blue = np.zeros((20, 20, 3), np.uint8)
    blue[:] = viz.INSTANCE_COLORS[0]
    out = viz.draw_chain(blue, np.array([[3.0, 10.0], [16.0, 10.0]]), color=viz.INSTANCE_COLORS[0],
                         outline=(20, 20, 20))
    assert (out.sum(-1) < 100).any()


def test_prediction_zooms_onto_the_robots():
    H, W = 120, 160
    masks = np.zeros((1, H, W), bool)
    masks[0, 50:70, 70:80] = True
    j2 = np.array([[[75.0, 68.0], [75.0, 52.0]]])
    s = SimpleNamespace(image=np.zeros((H, W, 3), np.uint8), masks=masks, joints_2d=j2,
                        joints_3d=np.array([[[0, 0, 2.0], [0, -0.3, 2.0]]]), num_robots=1)
    rows, cols = viz.prediction_window(s, [SimpleNamespace(joints_2d=j2[0], joints_3d=s.joints_3d[0], score=1.0)])
    assert cols.stop - cols.start < W / 2
    plt.close("all")


def test_enlarged_window_keeps_points_on_their_pixels():
    """enlarge + to_window: a marked pixel and a chain's joints land where to_window says."""
    H, W = 60, 80
    image = np.zeros((H, W, 3), np.uint8)
    image[30, 50] = 255
    window = (slice(20, 44), slice(40, 72))  # 24 x 32, inside the image
    picture, offset, scale = viz.enlarge(image, window, width=160, interpolation=0)  # nearest
    assert picture.shape[:2] == (120, 160) and scale == 5 and offset.tolist() == [40, 20]
    u, v = viz.to_window([50, 30], offset, scale)
    rows, cols = np.nonzero(picture[..., 0])
    assert abs(cols.mean() - u) < 0.6 and abs(rows.mean() - v) < 0.6  # the pixel's centre
    # the chain drawn after enlarging: its joint dots on the shifted, scaled joints
    joints = np.array([[[45.0, 25.0], [60.0, 38.0]]])
    s = SimpleNamespace(image=np.zeros((H, W, 3), np.uint8), joints_2d=joints, visibility=np.ones((1, 2), bool),
                        num_robots=1)
    drawn, offset, scale = viz.draw_sample_window(s, window, width=160)
    for p in viz.to_window(joints[0], offset, scale):
        x, y = np.round(p).astype(int)
        assert 0 <= x < drawn.shape[1] and 0 <= y < drawn.shape[0]
        assert (drawn[y, x] == viz.INSTANCE_COLORS[0]).all()
    whole, offset, scale = viz.enlarge(image, None, width=40)
    assert whole.shape == image.shape and scale == 1 and offset.tolist() == [0, 0]


def _blob(H, W, rows, cols):
    m = np.zeros((H, W), np.float32)
    m[rows, cols] = 1
    return m


def test_predicted_robots_take_their_true_robots_colours():
    from robotpose_lib.viz.pipeline import colors_like_truth

    H, W = 30, 40
    left, right = _blob(H, W, slice(5, 25), slice(2, 10)), _blob(H, W, slice(5, 25), slice(28, 36))
    truth = np.stack([left, right])  # true robot 0 on the left, 1 on the right
    # the network found them in the other order, the right one a little shifted
    found = np.stack([_blob(H, W, slice(6, 25), slice(29, 37)), left])
    assert colors_like_truth(found, truth) == [1, 0]
    # a third prediction on no robot, and one overlapping the left robot less than the first:
    # both get colours no true robot has, all different
    stray, worse = _blob(H, W, slice(0, 3), slice(15, 20)), _blob(H, W, slice(5, 25), slice(5, 12))
    colors = colors_like_truth(np.stack([left, stray, worse]), truth)
    assert colors[0] == 0 and colors[1] >= 2 and colors[2] >= 2 and len(set(colors)) == 3
    assert colors_like_truth(found, None) == [0, 1]
    assert colors_like_truth(np.zeros((0, H, W)), truth) == []
    assert colors_like_truth(found, np.zeros((0, H, W))) == [0, 1]


def test_pipeline_colours_follow_the_truth_and_texts_do_not_overlap():
    H, W = 30, 40
    left, right = _blob(H, W, slice(5, 25), slice(2, 10)), _blob(H, W, slice(5, 25), slice(28, 36))
    j3 = np.array([[[0, 0, 2], [0, -0.3, 2], [0.1, -0.5, 2]], [[1, 0, 3], [1, -0.3, 3], [1.1, -0.5, 3]]], float)
    j2 = np.full((2, 3, 2), 8.0)
    fig = plot_pipeline(np.zeros((H, W, 3), np.uint8), np.zeros((3, H, W)), np.stack([right, left]), j2, j3,
                        true_joints_3d=j3, true_masks=np.stack([left, right]))
    ax3 = fig.axes[-1]
    solid = [line for line in ax3.lines if line.get_linestyle() == "-"]
    assert [tuple(np.round(np.asarray(line.get_color()) * 255).astype(int)) for line in solid] == \
        [tuple(viz.INSTANCE_COLORS[1]), tuple(viz.INSTANCE_COLORS[0])]
    masks_panel = fig.axes[2].images[0].get_array()
    assert (masks_panel[15, 5] == viz.INSTANCE_COLORS[0]).all()  # the left robot: true robot 0's colour
    assert (masks_panel[15, 30] == viz.INSTANCE_COLORS[1]).all()
    texts = [t.get_text() for t in fig.texts]
    assert any("dashed" in t for t in texts)  # the true chains are named
    # the 3D panel's axis name "x" stays clear of the stage label under it
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    name = ax3.xaxis.label.get_window_extent(renderer)
    label = next(t for t in fig.texts if t.get_text().startswith("depth"))
    assert not name.overlaps(label.get_window_extent(renderer))
    assert label.get_window_extent(renderer).y1 < name.y0
    plt.close(fig)


def test_pipeline_3d_panel_is_wide_and_true_chains_take_their_robots_shades():
    from mpl_toolkits.mplot3d import proj3d

    from robotpose_lib.viz.pipeline import chain_box

    H, W = 30, 40
    left, right = _blob(H, W, slice(5, 25), slice(2, 10)), _blob(H, W, slice(5, 25), slice(28, 36))
    # two robots 1.4 m apart across x, each 0.7 m tall: the case where a cube around both
    # left each chain a few pixels tall
    j3 = np.array([[[-0.7, 0.5, 2.8], [-0.7, 0.2, 2.8], [-0.6, -0.2, 2.7]],
                   [[0.7, 0.5, 2.9], [0.7, 0.2, 2.9], [0.6, -0.2, 3.0]]])
    fig = plot_pipeline(np.zeros((H, W, 3), np.uint8), np.zeros((3, H, W)), np.stack([left, right]),
                        np.full((2, 3, 2), 8.0), j3 + [0, 0, 0.2], true_joints_3d=j3,
                        true_masks=np.stack([left, right]))
    ax3 = fig.axes[-1]
    fig.canvas.draw()
    corners = np.array(np.meshgrid(ax3.get_xlim3d(), ax3.get_ylim3d(), ax3.get_zlim3d())).reshape(3, -1)
    xs, ys, _ = proj3d.proj_transform(*corners, ax3.M)
    px = ax3.transData.transform(np.column_stack([xs, ys]))
    # the box spans about a sixth of the figure (its panel is about 1.45 image panels wide, so
    # that the image panels can be large)
    assert np.ptp(px[:, 0]) > 0.15 * fig.bbox.width
    dashed = [np.asarray(line.get_color())[:3] for line in ax3.lines if line.get_linestyle() == "--"]
    assert len(dashed) == 2 and not np.allclose(dashed[0], dashed[1])
    # tight limits: no side of the box more than the chains' extent plus margins
    lo, hi = chain_box(j3.reshape(-1, 3)[:, [0, 2]], j3.reshape(-1, 3)[:, 1])
    assert (hi - lo)[0] < 1.6 and (hi - lo)[2] < 0.9
    plt.close(fig)


def test_pipeline_3d_panel_names_its_axes_in_metres_with_tick_values():
    H, W = 30, 40
    left = _blob(H, W, slice(5, 25), slice(2, 10))
    j3 = np.array([[[0, 0.5, 2.8], [0, 0.2, 2.8], [0.1, -0.2, 2.7]]])
    fig = plot_pipeline(np.zeros((H, W, 3), np.uint8), np.zeros((3, H, W)), left[None], np.full((1, 3, 2), 8.0), j3)
    ax3 = fig.axes[-1]
    fig.canvas.draw()
    names = [a.get_label_text() for a in (ax3.xaxis, ax3.yaxis, ax3.zaxis)]
    assert names == ["x (m)", "z (m)", "up (m)"]
    for axis in (ax3.xaxis, ax3.zaxis):
        assert sum(bool(t.get_text()) for t in axis.get_ticklabels()) >= 2
    # the depth axis, seen obliquely: three round values (tests/test_viz_readability13.py)
    low, high = ax3.get_ylim()
    assert len([v for v in ax3.get_yticks() if low <= v <= high]) == 3
    # no axis name sits on a tick label
    renderer = fig.canvas.get_renderer()
    for axis in (ax3.xaxis, ax3.yaxis, ax3.zaxis):
        name = axis.label.get_window_extent(renderer)
        for other in (ax3.xaxis, ax3.yaxis, ax3.zaxis):
            assert not any(t.get_text() and name.overlaps(t.get_window_extent(renderer))
                           for t in other.get_ticklabels()), axis.label.get_text()
    # the image panels take over a seventh of the figure's width each
    assert all(ax.get_position().width > 0.14 for ax in fig.axes[:4])
    plt.close(fig)


def test_animation_frames_share_one_window_around_every_frames_robot():
    H, W = 120, 160
    samples = []
    for left in (40, 60, 80):  # the robot moves right from frame to frame
        masks = np.zeros((1, H, W), bool)
        masks[0, 50:80, left:left + 12] = True
        samples.append(SimpleNamespace(image=np.zeros((H, W, 3), np.uint8), masks=masks, num_robots=1,
                                       joints_2d=np.array([[[left + 6.0, 78.0], [left + 6.0, 52.0]]]),
                                       visibility=np.ones((1, 2), bool)))
    rows, cols = viz.shared_window(samples)
    assert cols.start <= 40 and cols.stop >= 92 and rows.start <= 50 and rows.stop >= 80  # every frame's robot
    assert cols.stop - cols.start < W and abs((cols.stop - cols.start) / (rows.stop - rows.start) - W / H) < 0.05
    frames = viz.window_frames(samples, width=320)
    assert len({f.shape for f in frames}) == 1 and frames[0].shape[1] >= 300  # one size, enlarged
    # each frame is the same crop: the robot's pixels move right as in the images
    firsts = [np.flatnonzero(f.any((0, 2)))[0] for f in frames]
    assert firsts[0] < firsts[1] < firsts[2]


def test_depth_error_axis_says_how_many_pixels_lie_above_it():
    report = _report()
    report.depth_errors_cm[:10] = 1000.0  # 2% far above the 25-75% band
    fig, ax = plt.subplots()
    plot_depth_errors(report, ax=ax)
    label = ax.get_xlabel()
    shown_top = ax.get_ylim()[1]
    above = (report.depth_errors_cm[report.depth_true_m <= 10] > shown_top).mean()
    assert f"{above:.1%} of the pixels above" in label
    plt.close(fig)
