"""Figures of the synthetic data (chapter 1, paper III-A).

* :func:`plot_robot_models`: each robot's link primitives and keypoint chain in 3D;
* :func:`crop_to_robots` and :func:`robot_panels`: rendered robots cropped to where they
  are, in a grid with titles that stay legible at the book's column width;
  :func:`zoom_on_robot`: a few times enlarged window on a robot, to show per-pixel noise;
* :func:`scene_statistics` and :func:`plot_training_distribution`: robots per image, the
  share of a robot's joints that are visible, the joints' depth;
* :func:`plot_scene_panels`: one rendered scene, its masks, its depth (with a colour bar)
  and its projected joints;
* :func:`plot_posed`: one robot posed and seen from a chosen camera (the chapter's
  widget), with its depth.
"""
from __future__ import annotations

import matplotlib.patheffects as path_effects
import matplotlib.pyplot as plt
from matplotlib.lines import Line2D
import numpy as np

from . import (COLUMN_WIDTH_IN, EMPTY_DEPTH, color_depth, color_masks, depth_colorbar, draw_sample,
               draw_sample_window, enlarge, image_grid, plot_primitives, prediction_window, set_equal_3d, zoom_box)

# the keypoint chain over the translucent primitives: a colour none of the links has
# (tab20 colours them), on a white outline, drawn above every surface
CHAIN_COLOR = "#e6007e"


def plot_robot_models(names, fig=None, alpha: float = 0.25, fontsize: float = 11):
    """Each robot of ``names`` at the middle of its joint ranges, in its base frame (metres):
    its link primitives (translucent) and its keypoint chain (magenta on a white outline,
    drawn above the primitives so that it stays visible inside them). Returns the Figure."""
    import torch

    from ..robots import get_robot

    names = list(names)
    if not names:
        raise ValueError("names: no robot to draw")
    fig = fig or plt.figure(figsize=(10, 5))
    outline = [path_effects.Stroke(linewidth=5, foreground="white"), path_effects.Normal()]
    for k, name in enumerate(names):
        robot = get_robot(name)
        low, high = (np.asarray(t) for t in robot.sample_range)
        q = torch.tensor((low + high) / 2, dtype=torch.float64)[None]
        keypoints, link_T = robot.forward_kinematics(q)
        points = keypoints[0].numpy()
        ax = fig.add_subplot(1, len(names), k + 1, projection="3d")
        ax.computed_zorder = False  # draw in the order given: the chain last, on top
        plot_primitives(ax, robot.primitives(link_T), alpha=alpha)
        ax.plot(points[:, 0], points[:, 1], points[:, 2], "-o", color=CHAIN_COLOR, lw=2.5,
                ms=6, mec="white", mew=1.0, label="keypoint chain", zorder=10,
                path_effects=outline)
        set_equal_3d(ax, points, margin=0.2 * robot.reach)
        ax.set_title(f"{name}: link primitives and keypoint chain", fontsize=fontsize)
        ax.set_xlabel("x [m]")
        ax.set_ylabel("y [m]")
        ax.set_zlabel("z [m]")
        ax.locator_params(nbins=5)  # a large robot's ticks would crowd into each other
        # a plain line for the key: the white outline drawn in a legend looks dashed
        key = Line2D([], [], color=CHAIN_COLOR, lw=2.5, marker="o", ms=6, mec="white")
        ax.legend([key], ["keypoint chain"], fontsize=fontsize - 1, loc="upper left")
    fig.tight_layout()
    return fig


def crop_to_robots(image: np.ndarray, masks, margin: float = 0.06) -> np.ndarray:
    """``image`` (H, W[, C]) cropped about the union of ``masks`` ((R, H, W) or (H, W)) with
    ``margin`` of its size on each side, at the image's own aspect (``viz.zoom_box``), so
    that the robots fill a grid panel; no mask pixel: the whole image."""
    h, w = image.shape[:2]
    rows, cols = zoom_box(masks, margin=margin, aspect=w / h)
    return image[rows, cols]


def robot_zoom_window(masks, size: tuple[int, int], factor: float = 4.0) -> tuple[slice, slice]:
    """(rows, cols) slices of a window 1 / ``factor`` of an image of ``size`` (H, W) on each
    side, centred on the centre of the largest of ``masks`` ((R, H, W) or (H, W)) and
    shifted to lie inside the image; no mask pixel: centred on the image."""
    H, W = size
    m = np.asarray(masks).astype(bool)
    m = m[None] if m.ndim == 2 else m
    h, w = max(1, round(H / factor)), max(1, round(W / factor))
    cy, cx = H / 2, W / 2
    if m.size and m.any():
        rows, cols = np.nonzero(m[int(np.argmax(m.reshape(len(m), -1).sum(1)))])
        cy, cx = rows.mean() + 0.5, cols.mean() + 0.5
    top = int(np.clip(round(cy - h / 2), 0, H - h))
    left = int(np.clip(round(cx - w / 2), 0, W - w))
    return slice(top, top + h), slice(left, left + w)


def zoom_on_robot(image: np.ndarray, masks, factor: float = 4.0) -> np.ndarray:
    """``image`` (H, W[, C]) cut to :func:`robot_zoom_window` and enlarged back to (H, W)
    with nearest-pixel interpolation: per-pixel effects (the paper's noise a) that vanish
    in a thumbnail show as blocks, on the robot and the background beside it. Same dtype.
    """
    import cv2

    H, W = image.shape[:2]
    rows, cols = robot_zoom_window(masks, (H, W), factor)
    return cv2.resize(np.ascontiguousarray(image[rows, cols]), (W, H), interpolation=cv2.INTER_NEAREST)


def scene_thumbnail(sample, width: int = 640, marks: float = 1.4, max_zoom: float = 1.0) -> np.ndarray:
    """``sample``'s image with every robot's projected chain, for a small grid panel
    (Fig. 1.5): enlarged to about ``width`` pixels before the chains are drawn, their dots
    and lines ``marks`` times as large as :func:`viz.draw_sample`'s at 320 pixels wide, so
    that they, and the hollow dots of hidden joints, show at a few centimetres wide.
    ``max_zoom`` > 1: cut to the robots (``viz.zoom_box`` with a margin, at the image's
    aspect), enlarged at most this many times; 1: the whole image. Returns uint8 (h, w, 3)
    at the image's aspect."""
    H, W = sample.image.shape[:2]
    window = None
    if max_zoom > 1 and sample.num_robots:
        rows, cols = zoom_box(sample.masks, margin=0.25, aspect=W / H,
                              min_size=int(np.ceil(H / max_zoom)))
        window = (rows, cols)
    picture, offset, scale = enlarge(sample.image, window, width)
    unit = picture.shape[1] / 320 * marks  # draw_sample's sizes are for 320 pixels wide
    from . import INSTANCE_COLORS, draw_chain, to_window

    for r in range(sample.num_robots):
        picture = draw_chain(picture, to_window(sample.joints_2d[r], offset, scale), sample.visibility[r],
                             INSTANCE_COLORS[r % 10], radius=max(1, round(3 * unit)),
                             thickness=max(1, round(2 * unit)))
    return picture


def robot_panels(images, titles, cols: int, size: float = 4.0, fontsize: float = 13):
    """``viz.image_grid`` with titles of ``fontsize`` points: panels of robots that stay
    legible when the figure is shrunk to the book's column. Returns the Figure."""
    fig = image_grid(list(images), cols=cols, titles=list(titles), size=size)
    for ax in fig.axes:
        ax.title.set_fontsize(fontsize)
    fig.tight_layout()
    return fig


def scene_statistics(samples) -> dict[str, np.ndarray]:
    """What the training distribution holds, from rendered ``samples`` (``Sample`` s):
    "robots" (S,) robots per scene, "visible" the share of each robot's joints that are
    visible, "depth" the camera z of every joint (metres) of the scenes with robots."""
    samples = list(samples)
    shown = [s for s in samples if s.num_robots]
    return {"robots": np.array([s.num_robots for s in samples]),
            "visible": (np.concatenate([s.visibility.mean(1) for s in shown])
                        if shown else np.zeros(0)),
            "depth": (np.concatenate([s.joints_3d[..., 2].ravel() for s in shown])
                      if shown else np.zeros(0))}


def plot_training_distribution(stats: dict, axes=None, depth_bins: int = 20):
    """Histograms of :func:`scene_statistics` per robot (``stats``: robot -> its statistics):
    robots per image, the share of a robot's joints visible, the joints' depth; the robots'
    bars side by side in each bin (one colour per robot, no translucent overlap that would
    mix into a colour of no robot), over bins shared by all robots; each axis labelled
    with what it counts. Returns the three Axes."""
    if axes is None:
        _, axes = plt.subplots(1, 3, figsize=(10, 3))
    names = list(stats)
    colors = [f"C{k}" for k in range(len(names))]
    depths = [np.asarray(stats[n]["depth"], float) for n in names]
    finite = np.concatenate([d[np.isfinite(d)] for d in depths]) if depths else np.zeros(0)
    depth_edges = (np.linspace(finite.min(), finite.max(), depth_bins + 1) if finite.size and np.ptp(finite) > 0
                   else depth_bins)
    for ax, key, bins in ((axes[0], "robots", np.arange(-0.5, 4.5)), (axes[1], "visible", np.linspace(0, 1, 9)),
                          (axes[2], "depth", depth_edges)):
        values = [np.asarray(stats[n][key], float) for n in names]
        values = [v[np.isfinite(v)] for v in values]
        if names:
            ax.hist(values, bins=bins, color=colors, label=names, rwidth=0.9, edgecolor="white", linewidth=0.3)
    for ax, x, y in zip(axes, ("robots in the image", "fraction of joints visible",
                               "joint depth z [m]"), ("scenes", "robots", "joints")):
        ax.set_xlabel(x)
        ax.set_ylabel(y)
    axes[0].set_xticks(range(4))
    fig = axes[0].figure
    if names:  # one legend for the three panels, above them, at a size the column keeps legible
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(names), fontsize=11,
                   frameon=False)
    fig.tight_layout()
    return axes


# the panels of :func:`plot_scene_panels`, row by row: the picture on top (the image, and
# it with the projected joints), below it what the ray caster returns besides (the masks,
# the depth, whose colour bar then stands at the figure's right edge, beside no other panel)
SCENE_PANEL_TITLES = ("image", "projected joints", "instance masks", "depth (camera z; grey: no robot)")
COLORBAR_ROOM_IN = 0.9  # the figure's width right of the panels: the colour bar and its labels


def plot_scene_panels(sample, size: float = 4.75, titles=SCENE_PANEL_TITLES, max_width_in: float = COLUMN_WIDTH_IN):
    """One rendered scene and what the ray caster returns with it, in a 2 x 2 grid of
    ``size`` inches per panel (smaller where the figure would be wider than
    ``max_width_in``): the image and the projected joints on top; the instance masks and
    the depth map below (camera z from 0 m to the deepest robot pixel along turbo, the
    pixels that hit no robot in light grey, ``viz.EMPTY_DEPTH``), with the depth's colour
    bar in metres at the right edge. Returns the Figure."""
    panels = [sample.image, draw_sample(sample), color_masks(sample.masks),
              color_depth(sample.depth, empty=EMPTY_DEPTH)]
    h, w = panels[0].shape[:2]
    size = min(size, (max_width_in - COLORBAR_ROOM_IN) / 2)
    width = 2 * size + COLORBAR_ROOM_IN
    fig, axes = plt.subplots(2, 2, figsize=(width, 2 * size * h / w + 0.5))
    for ax, panel, title in zip(axes.flat, panels, titles):
        ax.imshow(panel)
        ax.axis("off")
        ax.set_title(title, fontsize=11)
    fig.tight_layout(rect=(0, 0, 1 - COLORBAR_ROOM_IN / width, 1))
    depth_ax = axes[1, 1]
    depth_ax.apply_aspect()
    box = depth_ax.get_position()
    bar_ax = fig.add_axes((box.x1 + 0.12 / width, box.y0, 0.16 / width, box.height))
    depth_colorbar(fig, depth_ax, sample.depth, label="camera z (m)", fontsize=11, cax=bar_ax)
    return fig


def plot_posed(robot: str, joint_angles, radius: float, inclination: float, azimuth: float,
               size: tuple[int, int], seed: int = 3, zoom: bool = True):
    """``robot`` in ``joint_angles`` (radians) seen from a camera at ``radius`` metres,
    ``inclination`` and ``azimuth`` (radians) around it (``synth.posed_scene``), rendered at
    ``size`` (H, W) with the robot's paper preset: the image with its joints beside its
    depth (with a colour bar in metres), two panels filling the book's column.

    ``zoom``: both panels show the same window around the robot (``viz.prediction_window``,
    at least a quarter of the image: at most 4 times enlarged), the factor in the titles, so that a robot seen from afar
    stays legible (the camera radius then shows in that factor); the joints are drawn
    after enlarging, at their place in the crop. False: the whole image. Returns the
    Figure."""
    import cv2

    from ..synth import params_for, posed_scene, render_scenes

    H, W = size
    scene = posed_scene(robot, list(joint_angles), radius, inclination, azimuth,
                        height=H, width=W, seed=seed)
    s = render_scenes(robot, [scene], params_for(robot))[0]
    # at least a quarter of the image's height: at most 4 times enlarged
    window = prediction_window(s, [], margin=0.15, min_size=H // 4) if zoom else None
    width = 640 if zoom else W  # unzoomed: at the image's own pixels
    picture, _, _ = draw_sample_window(s, window, width)
    # nearest: a depth colour is never blended with the grey of empty pixels (as in
    # plot_scene_panels: grey, which the colour map lacks, not black, close to its 0 m)
    depth, _, _ = enlarge(color_depth(s.depth, empty=EMPTY_DEPTH), window, width, interpolation=cv2.INTER_NEAREST)
    factor = W / (window[1].stop - window[1].start) if window is not None else 1.0  # against the whole image
    note = f" (cropped to the robot, {factor:.1f}x)" if factor > 1.05 else ""
    fig = image_grid([picture, depth], cols=2, size=5.0,
                     titles=[f"image + joints{note}", f"depth{note}; grey: no robot"])
    # the depth's colour scale in metres (color_depth maps 0 to the deepest pixel)
    depth_colorbar(fig, fig.axes[1], s.depth, label="depth [m]")
    return fig
