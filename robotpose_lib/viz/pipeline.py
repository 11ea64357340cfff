"""The paper's pipeline (its Fig. 2) as one figure for the book's introduction.

:func:`plot_pipeline` draws five panels joined by arrows, from one scene's arrays: the image,
what the localization network predicts (the belief maps), what the
instance model predicts (one mask per step, then an empty one), the masked beliefs with
their peaks, and the 3D chains. The introduction feeds it the exact targets of a rendered
scene (what perfectly trained networks would output), and says so.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import ConnectionPatch

from ..structures import mask_iou
from . import INSTANCE_COLORS, color_masks, truth_shade

STAGES = (
    ("image", "synthetic\nscene\nch. 1, \u00a7III-A"),
    ("belief maps B\u0302", "localization\nnetwork\nch. 2, \u00a7III-B"),
    ("masks S\u0302,\nall overlaid", "recurrent\ninstance model\nch. 3, \u00a7III-C"),
    ("mask \u00d7 B\u0302\n\u2192 peaks", "decoding\nch. 4"),
    ("3D chains", "depth D\u0302 at\nthe peaks, K\nch. 4"),
)
# the masks' stage when the instance model is the one-pass model (chapter 6)
ONE_PASS_STAGE = ("masks S\u0302,\nall overlaid", "one-pass\ninstance model\nch. 6")
# the 3D panel's title when the true chains are drawn beside the predicted ones
TRUE_DASHED_TITLE = "3D chains,\ntrue ones dashed"
HAT = "\u0302"  # the combining hat of the predictions' symbols (B\u0302, S\u0302, D\u0302)
# legible when the 10-inch figure is shrunk to the book's column (about 0.65): the stage
# labels under the panels print at about the size of the body text
TITLE_PT, LABEL_PT = 17, 16.5
# the image panels as wide as the stage labels under them allow: narrow gaps (room for the
# arrows only) and a 3D panel not much wider than an image panel (its box is zoomed to
# fill it anyway); the figure's height fits the titles, the panels and three label lines
WSPACE, HEIGHT_RATIO = 0.16, 0.37
# the 3D panel: seen from the front-left and a little above (the robots usually stand side
# by side, across x), half turned so that the depth axis spreads as far as the x axis; its
# box zoomed to fill the panel
VIEW_3D = (12, -38)  # elevation, azimuth (degrees)
# the 3D panel's axes, camera frame (x right, y down, z forward) drawn with z as depth and
# up (-y, since y points down); their tick values are metres
AXIS_NAMES_3D = ("x (m)", "z (m)", "up (m)")
TICK_PT = 10  # the 3D panel's tick values: small enough that three fit on each axis


def _metres(value: float, _pos=None) -> str:
    """A tick value of the 3D panel: as short as it can be written ("0", "0.5", "2.8";
    a true minus sign)."""
    return f"{round(value, 6):g}".replace("-", "\u2212")


def depth_ticks(lo: float, hi: float) -> list[float]:
    """Three round tick values inside [lo, hi]: the most central three multiples of the
    largest step of 1, 2, 4 or 5 times a power of ten that has three multiples there
    (2.4, 2.8, 3.2 for 2.13 to 3.25 m)."""
    if not hi > lo:
        return [lo]
    top = 10.0 ** np.ceil(np.log10(hi - lo))
    for step in sorted((m * top * 10.0 ** -k for k in range(8) for m in (1, 2, 4, 5)), reverse=True):
        inside = np.arange(np.ceil(lo / step - 1e-9), np.floor(hi / step + 1e-9) + 1) * step
        if len(inside) >= 3:
            middle = int(np.argmin(np.abs(inside - (lo + hi) / 2)))
            start = min(max(middle - 1, 0), len(inside) - 3)
            return [round(float(v), 10) for v in inside[start:start + 3]]
    return [(lo + hi) / 2]


def visible_tick_labels(axis, renderer) -> list:
    """The window extents of an axis's drawn tick labels inside its limits (a 3D axis places
    them only when drawn)."""
    low, high = sorted(axis.get_view_interval())
    return [tick.label1.get_window_extent(renderer) for tick, value in zip(axis.get_major_ticks(),
                                                                         axis.get_majorticklocs())
            if low - 1e-9 <= value <= high + 1e-9 and tick.label1.get_visible() and tick.label1.get_text()]


def labels_touch(extents, pad_px: float = 2.0) -> bool:
    """Whether any two of the window extents lie closer than ``pad_px`` pixels."""
    return any(a.padded(pad_px / 2).overlaps(b.padded(pad_px / 2)) for i, a in enumerate(extents)
               for b in extents[i + 1:])


def thin_crowded_ticks(ax, axes, keep=(), pad_px: float = 2.0):
    """Fewer tick values on each of ``axes`` (axis objects of the 3D axes ``ax``) while its
    labels touch each other or those of the ``keep`` axes: the two ends of three or more
    values, then one value."""
    fig = ax.figure
    for axis in axes:
        for _ in range(4):
            fig.canvas.draw()
            renderer = fig.canvas.get_renderer()
            own = visible_tick_labels(axis, renderer)
            others = [e for other in keep for e in visible_tick_labels(other, renderer)]
            if not labels_touch(own, pad_px) and not any(a.padded(pad_px / 2).overlaps(b.padded(pad_px / 2))
                                                         for a in own for b in others):
                break
            low, high = sorted(axis.get_view_interval())
            values = [v for v in axis.get_majorticklocs() if low - 1e-9 <= v <= high + 1e-9]
            if len(values) <= 1:
                break
            # the two ends of three or more values; of two, the one nearer zero
            axis.set_ticks(values[::len(values) - 1] if len(values) >= 3 else [min(values, key=abs)])


def fit_3d_box(ax, room, fill: float = 0.96):
    """Zoom a 3D axes' box so that its projection fills ``fill`` of ``room`` (figure
    fractions [x0, y0, width, height]) in the tighter direction. A 3D axes draws in a
    square inside its position, so that a wide box in a wide panel stays small; the zoomed
    box overhangs the square, and its lines are left unclipped. Returns the zoom."""
    from mpl_toolkits.mplot3d import proj3d

    fig = ax.figure
    ax.set_box_aspect(ax.get_box_aspect(), zoom=1.0)
    fig.canvas.draw()
    corners = np.array(np.meshgrid(ax.get_xlim3d(), ax.get_ylim3d(), ax.get_zlim3d())).reshape(3, -1)
    xs, ys, _ = proj3d.proj_transform(*corners, ax.M)
    px = ax.transData.transform(np.column_stack([xs, ys]))
    w, h = np.ptp(px, 0)
    room_px = fig.transFigure.transform([[room[0], room[1]], [room[0] + room[2], room[1] + room[3]]])
    rw, rh = np.diff(room_px, axis=0)[0]
    zoom = fill * min(rw / max(w, 1e-9), rh / max(h, 1e-9))
    ax.set_box_aspect(ax.get_box_aspect(), zoom=zoom)
    for line in ax.lines:
        line.set_clip_on(False)
    return zoom


def chain_box(xz: np.ndarray, y: np.ndarray, margin: float = 0.06, flattest: float = 0.5,
              shallowest: float = 0.5):
    """The 3D panel's limits around the chains' joints, tight on every axis.

    Args:
        xz: (N, 2) the joints' x and z (metres, camera frame); y: (N,) their y (down).
        margin: room around the joints, as a share of the longest side.
        flattest: no side shorter than this share of the longest (a flat box hides the
            chains' third dimension).
        shallowest: the depth side (z) no shorter than this share of the longest, so that
            the depth axis spreads over the panel and takes its tick values (robots side
            by side often stand at about one depth).

    Returns:
        lo, hi: (3,) the limits of the plotted axes (x, z, -y), in metres.
    """
    p = np.column_stack([xz[:, 0], xz[:, 1], -np.asarray(y)])
    lo, hi = p.min(0), p.max(0)
    side = max(float((hi - lo).max()), 0.2)
    shortest = side * np.array([flattest, max(flattest, shallowest), flattest])
    grow = np.maximum(shortest - (hi - lo), 0) / 2 + margin * side
    return lo - grow, hi + grow


def colors_like_truth(masks: np.ndarray, true_masks: np.ndarray | None) -> list[int]:
    """Each predicted mask's colour (an index into ``INSTANCE_COLORS``): that of the true
    mask it overlaps most (mask IoU; the true robot r has colour r, as in a figure drawn
    from the truth), so that one robot has one colour in every figure. Pairs are taken
    one to one, highest IoU first; a prediction left without a true mask that it
    overlaps gets the next colour no true robot uses.

    Args:
        masks: (R, H, W) predicted masks (binarised at 0.5); true_masks: (R_true, H, W)
            or None (then colour r for prediction r).

    Returns:
        R colour indices, all different.
    """
    R = len(masks)
    if true_masks is None:
        return list(range(R))
    iou = mask_iou(np.asarray(masks) > 0.5, np.asarray(true_masks) > 0.5) if R and len(true_masks) else \
        np.zeros((R, len(true_masks)))
    colors: list[int | None] = [None] * R
    taken = set()
    for flat in np.argsort(-iou, axis=None, kind="stable"):
        r, t = np.unravel_index(flat, iou.shape)
        if iou[r, t] <= 0:
            break
        if colors[r] is None and t not in taken:
            colors[r] = int(t)
            taken.add(t)
    spare = iter(range(len(true_masks), len(true_masks) + R))  # colours of no true robot
    return [c if c is not None else next(spare) for c in colors]


def plot_pipeline(image: np.ndarray, beliefs: np.ndarray, masks: np.ndarray, joints_2d: np.ndarray,
                  joints_3d: np.ndarray, width_in: float = 10.0, true_joints_3d: np.ndarray | None = None,
                  instance_model: str = "recurrent", window: tuple[slice, slice] | None = None,
                  predicted: bool = True, panel_3d_scale: float = 1.45, true_masks: np.ndarray | None = None):
    """The pipeline as a figure.

    Args:
        image: uint8 (H, W, 3).
        beliefs: (J, H, W) belief maps in [0, 1] (the depth map is not drawn: its discs
            are a few pixels wide at this size).
        masks: (R, H, W) instance masks; joints_2d: (R, J, 2) pixels; joints_3d: (R, J, 3)
            metres in the camera frame (NaN: a joint not found, left out).
        width_in: figure width in inches (the book's text column is about 10).
        true_joints_3d: (R_true, J, 3) the true chains, drawn dashed beside the predicted
            ones (for a figure drawn from networks), or None: with ``true_masks`` each in a
            dark shade of its robot's colour, else in dark grey.
        instance_model: "recurrent" (the paper's, one mask per step) or "one-pass" (the
            masks' stage is labelled as the one-pass model of chapter 6).
        window: (rows, cols) slices of the image that the four image panels show (for
            example ``viz.zoom_box`` of the true masks, so that small robots fill the
            panels); None: the whole image.
        predicted: True: the arrays are predictions and the stages' symbols carry hats
            (B\u0302, S\u0302, D\u0302); False: they are the exact training targets, and the
            symbols are written without hats (B, S, D).
        panel_3d_scale: width of the 3D panel relative to an image panel (the panel runs
            from the arrow out of the fourth panel to the figure's edge, its box zoomed to
            fill it: :func:`fit_3d_box`).
        true_masks: (R_true, H, W) the true instance masks, or None. Given, each predicted
            robot takes the colour of the true robot its mask overlaps most
            (:func:`colors_like_truth`), the colour that robot has in a figure drawn from
            the truth; None: robot r has colour r.

    Returns:
        the Figure.
    """
    if instance_model not in ("recurrent", "one-pass"):
        raise ValueError(f"instance_model: 'recurrent' or 'one-pass', got {instance_model!r}")
    stages = list(STAGES)
    if instance_model == "one-pass":
        stages[2] = ONE_PASS_STAGE
    if not predicted:
        stages = [(title.replace(HAT, ""), what.replace(HAT, "")) for title, what in stages]
    colors = colors_like_truth(masks, true_masks)  # on the whole masks, before any window cuts them
    if true_joints_3d is not None:  # the dashed chains are named in the panel's title
        stages[4] = (TRUE_DASHED_TITLE, stages[4][1])
    if window is not None:
        rows, cols = window
        image, beliefs, masks = image[rows, cols], beliefs[:, rows, cols], masks[:, rows, cols]
        joints_2d = np.asarray(joints_2d, float) - [cols.start or 0, rows.start or 0]
    R = masks.shape[0]
    fig, axes = plt.subplots(1, 5, figsize=(width_in, width_in * HEIGHT_RATIO),
                             gridspec_kw={"width_ratios": [1, 1, 1, 1, panel_3d_scale]})
    spec = axes[4].get_subplotspec()
    axes[4].remove()
    axes = list(axes[:4]) + [fig.add_subplot(spec, projection="3d", proj_type="ortho")]

    axes[0].imshow(image)
    # scaled to the maps' maximum: a trained network's peaks sit well below 1
    top = float(beliefs.max()) if beliefs.size and beliefs.max() > 0 else 1.0
    axes[1].imshow(beliefs.max(0), cmap="magma", vmin=0, vmax=top)
    axes[2].imshow(color_masks(masks, colors))
    strongest = int(np.argmax(masks.reshape(R, -1).sum(1))) if R else 0
    keep = masks[strongest] > 0.5 if R else np.ones(beliefs.shape[1:], bool)
    axes[3].imshow(beliefs.max(0) * keep, cmap="magma", vmin=0, vmax=top)  # the largest robot's beliefs
    if R:
        axes[3].plot(joints_2d[strongest, :, 0], joints_2d[strongest, :, 1], "w+", ms=9, mew=1.8)
    for k in range(4):
        axes[k].set_xticks([])
        axes[k].set_yticks([])
    ax3 = axes[4]
    truth = np.zeros((0, 3)) if true_joints_3d is None else np.asarray(true_joints_3d).reshape(-1, 3)
    if true_joints_3d is not None:
        for t, k in enumerate(true_joints_3d):
            # with the true masks, true robot t has colour t (that of the prediction matched
            # to it), in the dark shade of every figure that draws true chains beside predicted
            # ones (``viz.truth_shade``): its dashes show where they run along the solid chain
            color = truth_shade(t) if true_masks is not None else "0.15"
            ax3.plot(k[:, 0], k[:, 2], -k[:, 1], "--", lw=2.2, color=color)
    for r in range(len(joints_3d)):
        k = joints_3d[r]
        found = np.isfinite(k).all(-1)
        # camera frame (x right, y down, z forward) drawn with z as depth, up as -y
        ax3.plot(k[found, 0], k[found, 2], -k[found, 1], "-o", ms=4.5, lw=2.4,
                 color=INSTANCE_COLORS[colors[r] % 10] / 255)
    pts = np.concatenate([np.asarray(joints_3d, float).reshape(-1, 3), truth])
    pts = pts[np.isfinite(pts).all(-1)]
    # a few round tick values per axis (metres), small, so that the chains' scale reads
    # without the ticks overlapping; the axes named with their units
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    if len(pts):
        lo, hi = chain_box(pts[:, [0, 2]], pts[:, 1])
        ax3.set_xlim(lo[0], hi[0])
        ax3.set_ylim(lo[1], hi[1])
        ax3.set_zlim(lo[2], hi[2])
        # one metre is as long on every axis, and the box is as long as the chains on each
        ax3.set_box_aspect(hi - lo)
        # the depth axis: three values, so that a reader can tell how far apart the chains
        # stand (the one axis the image panels cannot show)
        ax3.set_yticks(depth_ticks(lo[1], hi[1]))
    for axis in (ax3.xaxis, ax3.zaxis):
        axis.set_major_locator(MaxNLocator(nbins=2, steps=[1, 2, 5, 10]))
    for axis in (ax3.xaxis, ax3.yaxis, ax3.zaxis):  # short labels: "0", not "0.0"
        axis.set_major_formatter(FuncFormatter(_metres))
    ax3.tick_params(labelsize=TICK_PT, pad=-2)
    for axis, name in zip((ax3.xaxis, ax3.yaxis, ax3.zaxis), AXIS_NAMES_3D):
        axis.set_label_text(name, fontsize=LABEL_PT - 3)
        axis.labelpad = 1  # clear of the tick labels
    # matplotlib turns the vertical label with the view, which can leave it upside down
    ax3.zaxis.set_rotate_label(False)
    ax3.zaxis.label.set_rotation(90)
    ax3.view_init(elev=VIEW_3D[0], azim=VIEW_3D[1])
    # titles and stage labels on common lines above and below the image panels; the 3D
    # panel gets the room around it (a 3D box draws smaller than its axes)
    fig.subplots_adjust(left=0.005, right=0.995, top=0.83, bottom=0.27, wspace=WSPACE)
    axes[0].apply_aspect()
    box = axes[0].get_position()
    # the 3D box's room: from just after the arrow out of the fourth panel to the figure's
    # edge, a little taller than the image panels; the box is zoomed to fill it
    x0 = axes[3].get_position().x1 + 0.045
    room = [x0, box.y0 - 0.01, 0.95 - x0, box.height + 0.05]  # right: room for the name of -y
    ax3.set_position(room)
    fit_3d_box(ax3, room)
    # a box with a small floor beside its height (one tall chain) has no room for three
    # depth values: widen the floor (x and depth) until they do not touch
    for _ in range(4):
        fig.canvas.draw()
        if not len(pts) or not labels_touch(visible_tick_labels(ax3.yaxis, fig.canvas.get_renderer())):
            break
        (left, right), (near, far) = ax3.get_xlim(), ax3.get_ylim()
        wide, deep = (right - left) * 0.2, (far - near) * 0.2
        ax3.set_xlim(left - wide, right + wide)
        ax3.set_ylim(near - deep, far + deep)
        ax3.set_yticks(depth_ticks(near - deep, far + deep))
        ax3.set_box_aspect([right - left + 2 * wide, far - near + 2 * deep, np.ptp(ax3.get_zlim())])
        fit_3d_box(ax3, room)
    # x and -y seen at a slant: fewer values where their labels would touch each other or the
    # depth values (a narrow chain)
    thin_crowded_ticks(ax3, (ax3.xaxis, ax3.zaxis), keep=(ax3.yaxis,))
    # the 3D panel's stage label goes under its axis name "x", wherever the projection put it
    fig.canvas.draw()  # a 3D axis places its name only when drawn
    name = ax3.xaxis.label.get_window_extent(fig.canvas.get_renderer())
    name_bottom = fig.transFigure.inverted().transform((0, name.y0))[1]
    for ax, (title, what) in zip(axes, stages):
        ax.apply_aspect()
        x = ax.get_position().x0 + ax.get_position().width / 2
        fig.text(x, box.y1 + 0.03, title, ha="center", va="bottom", fontsize=TITLE_PT)
        below = box.y0 - 0.03 if ax is not ax3 else min(box.y0 - 0.03, name_bottom - 0.02)
        fig.text(x, below, what, ha="center", va="top", fontsize=LABEL_PT, color="0.1")
    for a, b in zip(axes[:3], axes[1:4]):
        fig.add_artist(ConnectionPatch((1.03, 0.5), (-0.03, 0.5), "axes fraction", "axes fraction",
                                       axesA=a, axesB=b, arrowstyle="-|>", lw=1.5, mutation_scale=16,
                                       color="0.3"))
    # the last arrow ends at the 3D panel's room, not at its (square) axes, which the
    # zoomed box overhangs
    fig.add_artist(ConnectionPatch((1.03, 0.5), (room[0] - 0.005, box.y0 + box.height / 2), "axes fraction",
                                   "figure fraction", axesA=axes[3], arrowstyle="-|>", lw=1.5,
                                   mutation_scale=16, color="0.3"))
    return fig
