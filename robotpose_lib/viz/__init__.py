"""Every figure of the library: drawing helpers here, the figures of each stage beside them.

Here: overlays, mask/depth colouring, robots in 3D, animations, image grids, predicted
chains over an image (``robotpose predict --overlay-dir``) and a prediction against the
truth in 2D and 3D. Beside them:

* ``localization.py``: the network diagram, belief maps per stage, pixel and depth errors
  (paper Fig. 6);
* ``instances.py``: the instance chapter's figures (unrolled model, cost matrix, masks
  step by step, PR curves, Fig. 5 and 7);
* ``training.py``: loss curves from a run's metrics log;
* ``decoding.py``: the depth decoded at one robot's joints, as dots legible at a
  thumbnail's size (chapter 4).

Image helpers take and return uint8 (H, W, 3) RGB arrays; plotting helpers draw into a
matplotlib Axes (or make a Figure) and return it.
"""
from __future__ import annotations

import math
import re

import cv2
import matplotlib.pyplot as plt
import numpy as np

from ..camera import rescale_pixels
from ..primitives import BOX, CAPSULE, CYLINDER, SPHERE, Primitives

# One distinct colour per robot instance (tab10), as uint8 RGB.
INSTANCE_COLORS = (np.array(plt.get_cmap("tab10").colors) * 255).astype(np.uint8)
# a true chain drawn beside a predicted one is dashed in a dark shade of the colour of the
# robot it belongs to: the colour scaled by this factor (every figure that draws both, so
# that the book has one convention; a dark shade stays visible on the 3D panes' light grey
# and where the dashes run along the bright solid chain)
TRUTH_SHADE = 0.55


def truth_shade(k: int) -> tuple[float, float, float]:
    """The dark shade (RGB in [0, 1]) in which a true chain is drawn beside the predicted
    chain of instance colour ``k`` (``INSTANCE_COLORS[k % 10]`` times ``TRUTH_SHADE``)."""
    return tuple(float(c) for c in INSTANCE_COLORS[k % 10] / 255 * TRUTH_SHADE)


HOLLOW_EDGE = (25, 25, 25)  # the dark edge of a hollow joint (:func:`draw_chain`)


def draw_chain(image: np.ndarray, joints_2d: np.ndarray, visibility: np.ndarray | None = None,
               color=(255, 255, 0), radius: int = 3, thickness: int = 2, outline=None) -> np.ndarray:
    """Draw one kinematic chain: joints (J, 2) as dots joined base to flange.

    Joints with NaN coordinates are skipped; invisible ones (hidden, or outside the frame)
    are drawn hollow: a ring in ``color`` a little larger than a joint's dot, white inside
    and edged in dark grey (``HOLLOW_EDGE``, or ``outline``), so that it shows on a dark
    or a light background and on the chain's own line. ``outline``: an RGB colour drawn
    under the chain, one pixel wider on each side, so that the chain stays visible on a
    robot or background of its own colour (None: no outline).
    """
    out = np.ascontiguousarray(image.copy())
    color = tuple(int(c) for c in color)
    pts = [None if not np.isfinite(p).all() else (int(round(p[0])), int(round(p[1]))) for p in joints_2d]
    layers = [(color, 0)] if outline is None else [(tuple(int(c) for c in outline), 1), (color, 0)]
    hidden = [p is not None and visibility is not None and not bool(visibility[j]) for j, p in enumerate(pts)]
    for paint, extra in layers:
        for a, b in zip(pts[:-1], pts[1:]):
            if a is not None and b is not None:
                cv2.line(out, a, b, paint, thickness + 2 * extra, cv2.LINE_AA)
        for j, p in enumerate(pts):
            if p is not None and not hidden[j]:
                cv2.circle(out, p, radius + extra, paint, -1, cv2.LINE_AA)
    # the hollow joints last, above the lines: dark edge, coloured ring, white inside
    ring = max(1, thickness)
    outer = radius + ring
    edge = HOLLOW_EDGE if outline is None else tuple(int(c) for c in outline)
    for j, p in enumerate(pts):
        if hidden[j]:
            cv2.circle(out, p, outer + 1, edge, -1, cv2.LINE_AA)
            cv2.circle(out, p, outer, color, -1, cv2.LINE_AA)
            cv2.circle(out, p, max(1, outer - ring), (255, 255, 255), -1, cv2.LINE_AA)
    return out


def draw_sample(sample, show_chains: bool = True, outline=None) -> np.ndarray:
    """The sample's image with every robot's projected chain in its instance colour;
    ``outline`` (RGB): each chain edged in that colour, so that it shows on a robot of its
    own colour (:func:`draw_chain`)."""
    out = sample.image
    if show_chains:
        for r in range(sample.num_robots):
            out = draw_chain(out, sample.joints_2d[r], sample.visibility[r], INSTANCE_COLORS[r % 10],
                             outline=outline)
    return out


def color_masks(masks: np.ndarray, colors=None) -> np.ndarray:
    """(R, H, W) bool/float masks -> uint8 (H, W, 3), one colour per instance, black background.
    ``colors``: each mask's index into ``INSTANCE_COLORS`` (R,) (default: its own index)."""
    R, H, W = masks.shape
    colors = range(R) if colors is None else colors
    out = np.zeros((H, W, 3), np.uint8)
    for r, c in zip(range(R), colors):
        out[masks[r] > 0.5] = INSTANCE_COLORS[int(c) % 10]
    return out


def robots_on_grey(sample, grey: int = 225) -> np.ndarray:
    """uint8 (H, W, 3): the rendered robots of ``sample`` over plain grey (no photo)."""
    robots = sample.masks.any(0) if len(sample.masks) else np.zeros(sample.image.shape[:2], bool)
    return np.where(robots[..., None], sample.image, grey).astype(np.uint8)


def silhouette_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """uint8 (H, W, 3): where two silhouettes (H, W) bool agree (grey) and differ (red:
    ``a`` only, blue: ``b`` only), on white."""
    out = np.full((*a.shape, 3), 255, np.uint8)
    out[a & b] = 200
    out[a & ~b] = (220, 40, 40)
    out[b & ~a] = (40, 90, 220)
    return out


# the colour of a depth map's empty pixels (no robot hit, 0 in the map) where a colour bar
# stands beside it: a light grey, which the turbo colour map does not contain, so that
# "no depth" is not read as a depth near 0 m (turbo's dark blue)
EMPTY_DEPTH = (215, 215, 215)


def color_depth(depth: np.ndarray, vmax: float | None = None, cmap: str = "turbo",
                empty=(0, 0, 0)) -> np.ndarray:
    """(H, W) metres (0 = empty) -> uint8 RGB: 0 m to ``vmax`` (default: the deepest pixel)
    along ``cmap``; empty pixels in ``empty`` (default black; ``EMPTY_DEPTH`` beside a
    colour bar, :func:`depth_colorbar`)."""
    valid = depth > 0
    vmax = vmax or (float(depth[valid].max()) if valid.any() else 1.0)
    rgb = (plt.get_cmap(cmap)(np.clip(depth / vmax, 0, 1))[..., :3] * 255).astype(np.uint8)
    rgb[~valid] = empty
    return rgb


def depth_colorbar(fig, ax, depth: np.ndarray, vmax: float | None = None, cmap: str = "turbo",
                   label: str = "depth (m)", fontsize: float = 9, cax=None):
    """A colour bar beside ``ax`` for a depth map drawn by :func:`color_depth` (0 m to
    ``vmax``, default the deepest pixel), labelled in metres; in ``cax`` where given, else
    in room taken from ``ax``. Returns the Colorbar."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    valid = np.asarray(depth) > 0
    vmax = vmax or (float(np.asarray(depth)[valid].max()) if valid.any() else 1.0)
    mappable = ScalarMappable(Normalize(0.0, vmax), cmap)
    bar = fig.colorbar(mappable, cax=cax) if cax is not None else \
        fig.colorbar(mappable, ax=ax, fraction=0.046, pad=0.02)
    bar.set_label(label, fontsize=fontsize)
    bar.ax.tick_params(labelsize=fontsize - 1)
    return bar


def _tube(p0: np.ndarray, p1: np.ndarray, radius: float, n: int = 16):
    """Surface grid (X, Y, Z) of a cylinder around the segment p0 -> p1."""
    axis = p1 - p0
    length = np.linalg.norm(axis) or 1e-9
    axis = axis / length
    helper = np.array([1.0, 0, 0]) if abs(axis[0]) < 0.9 else np.array([0, 1.0, 0])
    u = np.cross(axis, helper)
    u /= np.linalg.norm(u)
    v = np.cross(axis, u)
    theta = np.linspace(0, 2 * math.pi, n)
    t = np.array([0.0, 1.0])
    ring = radius * (np.cos(theta)[:, None] * u + np.sin(theta)[:, None] * v)  # (n, 3)
    pts = p0 + t[None, :, None] * (p1 - p0) + ring[:, None, :]  # (n, 2, 3)
    return pts[..., 0], pts[..., 1], pts[..., 2]


def _sphere(c: np.ndarray, radius: float, n: int = 12):
    a, b = np.meshgrid(np.linspace(0, 2 * math.pi, n), np.linspace(0, math.pi, n // 2 + 1))
    return (c[0] + radius * np.cos(a) * np.sin(b), c[1] + radius * np.sin(a) * np.sin(b),
            c[2] + radius * np.cos(b))


def plot_primitives(ax, prims: Primitives, colors=None, alpha: float = 0.8):
    """Draw primitives (any frame) into a 3D Axes. ``colors``: per-primitive RGB in [0, 1]."""
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection

    kind = prims.kind.cpu().numpy()
    p0, p1 = prims.p0.detach().cpu().double().numpy(), prims.p1.detach().cpu().double().numpy()
    radius = prims.radius.detach().cpu().double().numpy()
    rot, half = prims.rotation.detach().cpu().double().numpy(), prims.half_extents.detach().cpu().double().numpy()
    for i in range(len(kind)):
        color = colors[i] if colors is not None else plt.get_cmap("tab20")(int(prims.link_id[i]) % 20)[:3]
        if kind[i] in (CAPSULE, CYLINDER):
            ax.plot_surface(*_tube(p0[i], p1[i], radius[i]), color=color, alpha=alpha, linewidth=0, shade=True)
            if kind[i] == CAPSULE:
                for end in (p0[i], p1[i]):
                    ax.plot_surface(*_sphere(end, radius[i]), color=color, alpha=alpha, linewidth=0, shade=True)
        elif kind[i] == SPHERE:
            ax.plot_surface(*_sphere(p0[i], radius[i]), color=color, alpha=alpha, linewidth=0, shade=True)
        elif kind[i] == BOX:
            signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], float)
            corners = p0[i] + (signs * half[i]) @ rot[i].T
            faces = [[0, 1, 3, 2], [4, 5, 7, 6], [0, 1, 5, 4], [2, 3, 7, 6], [0, 2, 6, 4], [1, 3, 7, 5]]
            ax.add_collection3d(Poly3DCollection([corners[f] for f in faces], facecolor=color,
                                                 alpha=alpha, edgecolor="k", linewidth=0.2))
    return ax


def plot_chain_3d(ax, keypoints: np.ndarray, color="k", label: str | None = None, marker: str = "o"):
    """A kinematic chain (J, 3) as a poly-line with joint markers in a 3D Axes."""
    k = np.asarray(keypoints, float)
    ax.plot(k[:, 0], k[:, 1], k[:, 2], "-", color=color, marker=marker, lw=2, ms=4, label=label)
    return ax


def set_equal_3d(ax, points: np.ndarray, margin: float = 0.1):
    """Equal axis scales around ``points`` (N, 3), so robots are not distorted."""
    points = np.asarray(points, float).reshape(-1, 3)
    centre = (points.max(0) + points.min(0)) / 2
    half = (points.max(0) - points.min(0)).max() / 2 + margin
    for setter, c in zip((ax.set_xlim, ax.set_ylim, ax.set_zlim), centre):
        setter(c - half, c + half)
    ax.set_box_aspect((1, 1, 1))
    return ax


def animation_html(frames: list[np.ndarray], interval_ms: int = 150, width_in: float = 6.0,
                   dpi: int = 80) -> str:
    """Frames (uint8 images) as a self-contained JavaScript animation for static HTML,
    embedded as JPEG frames (PNG frames of noisy renders made a page of tens of MB)."""
    from matplotlib import animation

    h, w = frames[0].shape[:2]
    fig, ax = plt.subplots(figsize=(width_in, width_in * h / w), dpi=dpi)
    ax.axis("off")
    fig.subplots_adjust(0, 0, 1, 1)
    artist = ax.imshow(frames[0])

    def update(k):
        artist.set_data(frames[k])
        return (artist,)

    anim = animation.FuncAnimation(fig, update, frames=len(frames), interval=interval_ms, blit=True)
    with plt.rc_context({"animation.frame_format": "jpeg"}):
        html = anim.to_jshtml(default_mode="loop")
    plt.close(fig)
    # matplotlib draws its buttons with Font Awesome icons from a CDN, which an offline page
    # cannot reach: the same buttons as plain characters instead
    html = re.sub(r'<link rel="stylesheet"\s*href="https://[^"]*font-awesome[^"]*">', "", html)
    return re.sub(r'<i class="fa ([^"]*)"></i>', lambda m: _BUTTON_TEXT.get(m.group(1), "?"), html)


# the animation buttons' icons (Font Awesome class -> text)
_BUTTON_TEXT = {"fa-minus": "\u2212", "fa-plus": "+", "fa-fast-backward": "|\u25c0\u25c0",
                "fa-step-backward": "|\u25c0", "fa-play fa-flip-horizontal": "\u25c0", "fa-pause": "\u275a\u275a",
                "fa-play": "\u25b6", "fa-step-forward": "\u25b6|", "fa-fast-forward": "\u25b6\u25b6|"}


COLUMN_WIDTH_IN = 10.0  # the book's text column at the inline backend's 72 dpi


def fit_thumbnail(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """``image`` (H, W[, C]) cropped about its centre to the aspect width / height and
    resized (area interpolation) to (height, width[, C]); same dtype."""
    if height < 1 or width < 1:
        raise ValueError(f"fit_thumbnail: size must be positive, got {height}x{width}")
    H, W = image.shape[:2]
    h, w = (H, round(H * width / height)) if W * height >= H * width else (round(W * height / width), W)
    top, left = (H - h) // 2, (W - w) // 2
    crop = np.ascontiguousarray(image[top:top + h, left:left + w])
    return cv2.resize(crop, (width, height), interpolation=cv2.INTER_AREA)


def zoom_box(masks: np.ndarray, margin: float = 0.15, aspect: float | None = None,
             min_size: int = 24) -> tuple[slice, slice]:
    """(rows, cols) slices of an image that frame the union of ``masks`` ((R, H, W) or
    (H, W), nonzero = inside) with ``margin`` of its size on each side, at least
    ``min_size`` pixels high, widened or heightened to ``aspect`` (width / height) when
    given, and clipped to the image. No mask pixel at all: the whole image."""
    m = np.asarray(masks).astype(bool)
    m = m.any(0) if m.ndim == 3 else m
    H, W = m.shape
    rows, cols = np.flatnonzero(m.any(1)), np.flatnonzero(m.any(0))
    if not rows.size:
        return slice(0, H), slice(0, W)
    cy, cx = (rows[0] + rows[-1] + 1) / 2, (cols[0] + cols[-1] + 1) / 2
    h = max(min_size, (rows[-1] - rows[0] + 1) * (1 + 2 * margin))
    w = (cols[-1] - cols[0] + 1) * (1 + 2 * margin)
    if aspect:
        h, w = max(h, w / aspect), max(w, h * aspect)
    h, w = min(h, H), min(w, W)
    top = int(round(min(max(cy - h / 2, 0), H - h)))
    left = int(round(min(max(cx - w / 2, 0), W - w)))
    return slice(top, top + int(round(h))), slice(left, left + int(round(w)))


def enlarge(image: np.ndarray, window: tuple[slice, slice] | None = None, width: int = 640,
            max_scale: float = 6.0, interpolation: int = cv2.INTER_CUBIC):
    """``image`` (H, W[, C]) cut to ``window`` ((rows, cols) slices, e.g. :func:`zoom_box`;
    None: the whole image) and enlarged to about ``width`` pixels wide (by a factor from 1
    to ``max_scale``), so that chains drawn on it afterwards keep their line width.

    Returns:
        ``(picture, offset, scale)``: the enlarged crop (same dtype), offset float (2,)
        the crop's top-left (u, v) in ``image`` pixels, and the factor; :func:`to_window`
        maps a point (u, v) of ``image`` into ``picture``.
    """
    rows, cols = window if window is not None else (slice(None), slice(None))
    picture = np.ascontiguousarray(image[rows, cols])
    offset = np.array([cols.start or 0, rows.start or 0], float)
    scale = float(np.clip(width / max(picture.shape[1], 1), 1.0, max_scale))
    if scale > 1:
        picture = cv2.resize(picture, (round(picture.shape[1] * scale), round(picture.shape[0] * scale)),
                             interpolation=interpolation)
    return picture, offset, scale


def to_window(points: np.ndarray, offset: np.ndarray, scale: float) -> np.ndarray:
    """Pixels (..., 2) of an image -> pixels of its :func:`enlarge` d crop, pixel centres at
    integers as ``cv2.resize`` maps them (``camera.rescale_pixels``; NaN stays NaN)."""
    return rescale_pixels(np.asarray(points, float) - offset, scale, scale)


def draw_sample_window(sample, window: tuple[slice, slice] | None = None, width: int = 640):
    """:func:`draw_sample` of ``sample``'s image cut to ``window`` and enlarged
    (:func:`enlarge`): every robot's chain in its instance colour, drawn after enlarging
    so that the lines keep their width. Returns ``(picture, offset, scale)`` as
    :func:`enlarge`."""
    picture, offset, scale = enlarge(sample.image, window, width)
    line = max(1, round(picture.shape[1] / 320))  # draw_sample's widths at 320 pixels wide
    for r in range(sample.num_robots):
        picture = draw_chain(picture, to_window(sample.joints_2d[r], offset, scale), sample.visibility[r],
                             INSTANCE_COLORS[r % 10], radius=3 * line, thickness=2 * line)
    return picture, offset, scale


def image_grid(images: list[np.ndarray], cols: int, titles: list[str] | None = None,
               size: float = 3.0, max_width_in: float = COLUMN_WIDTH_IN):
    """Show images in a grid, ``size`` inches per image but at most ``max_width_in`` wide
    in all (a figure wider than the book's column is shrunk, and its titles with it);
    returns the figure."""
    rows = math.ceil(len(images) / cols)
    h, w = images[0].shape[:2]
    size = min(size, max_width_in / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * size, rows * size * h / w), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < len(images):
            ax.imshow(images[k])
            if titles:
                ax.set_title(titles[k], fontsize=9)
    fig.tight_layout()
    return fig


def draw_overlay(image: np.ndarray, poses, scale: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """The image with every predicted chain (``RobotPose`` s) drawn in its own colour;
    ``scale`` maps the poses' (original) pixels to the image's when it was downscaled on
    reading."""
    out = image
    for r, pose in enumerate(poses):
        out = draw_chain(out, rescale_pixels(pose.joints_2d, *scale), color=INSTANCE_COLORS[r % 10])
    return out


def prediction_window(sample, poses, margin: float = 0.12, min_size: int = 24) -> tuple[slice, slice]:
    """(rows, cols) of ``sample``'s image that frame its robots (their true masks) and every
    predicted joint inside the image, with ``margin``, at the image's aspect and at least
    ``min_size`` pixels high (:func:`zoom_box`): where a figure of a prediction should look."""
    H, W = sample.image.shape[:2]
    m = sample.masks.any(0) if len(sample.masks) else np.zeros((H, W), bool)
    m = np.array(m, bool)
    for p in poses:
        q = np.asarray(p.joints_2d, float)
        q = np.round(q[np.isfinite(q).all(1)]).astype(int)
        q = q[(q[:, 0] >= 0) & (q[:, 0] < W) & (q[:, 1] >= 0) & (q[:, 1] < H)]
        m[q[:, 1], q[:, 0]] = True
    return zoom_box(m, margin=margin, aspect=W / H, min_size=min_size)


def shared_window(samples, margin: float = 0.15, min_share: float = 0.25) -> tuple[slice, slice]:
    """One (rows, cols) window for a sequence of samples (the frames of an animation): the
    union of all their robots' masks with ``margin`` (:func:`zoom_box`), at the image's
    aspect and at least ``min_share`` of the image's height (at most 1 / ``min_share``
    times enlarged). The same window in every frame, so that the robot does not jump."""
    H, W = samples[0].image.shape[:2]
    union = np.zeros((H, W), bool)
    for s in samples:
        if len(s.masks):
            union |= np.asarray(s.masks, bool).any(0)
    return zoom_box(union, margin=margin, aspect=W / H, min_size=max(1, int(H * min_share)))


def window_frames(samples, width: int = 640, margin: float = 0.15, min_share: float = 0.25) -> list[np.ndarray]:
    """The frames of an animation cropped to the robots as Fig. 1.9 is: each sample drawn
    with its chains (:func:`draw_sample_window`) in the one window of
    :func:`shared_window`, enlarged to about ``width`` pixels. Returns uint8 images, all of
    one size."""
    window = shared_window(samples, margin=margin, min_share=min_share)
    return [draw_sample_window(s, window, width)[0] for s in samples]


# the true chains that no prediction is matched to: grey, each in its own dash pattern
UNMATCHED_STYLES = (":", "-.", (0, (6, 2, 1, 2, 1, 2)), (0, (1, 3)))


def truth_styles(sample, poses) -> list[tuple[tuple[float, float, float], object, str]]:
    """How :func:`plot_prediction` draws each true chain in 3D: (colour RGB in [0, 1],
    line style, legend label) per true robot. A true robot matched to prediction k
    (``eval.pose3d.match_poses`` on the 2D joints, no distance limit) is dashed in a dark
    shade of k's colour (:func:`truth_shade`), "truth of robot k"; the others are grey, each in another dash
    pattern, "truth, unmatched" (numbered when there are several), so that two true
    robots are never drawn alike."""
    from ..eval.pose3d import match_poses

    R = sample.num_robots
    matched = match_poses(list(poses), sample.joints_2d, np.ones(sample.joints_2d.shape[:2], bool), 1e8) \
        if R else np.zeros(0, int)
    unmatched = [r for r in range(R) if matched[r] < 0]
    out = []
    for r in range(R):
        k = int(matched[r])
        if k >= 0:
            out.append((truth_shade(k), "--", f"truth of robot {k}"))
        else:
            n = unmatched.index(r)
            label = "truth, unmatched" + (f" ({n + 1})" if len(unmatched) > 1 else "")
            out.append(((0.45, 0.45, 0.45), UNMATCHED_STYLES[n % len(UNMATCHED_STYLES)], label))
    return out


def _legend_rank(label: str) -> tuple[float, int, str]:
    """Sort key of :func:`plot_prediction`'s legend labels: "robot k (score)", then
    "truth of robot k", for k = 0, 1, ...; "truth, unmatched ..." last."""
    if label.startswith("truth of robot "):
        return float(label.split()[-1]), 1, label
    if label.startswith("robot "):
        return float(label.split()[1]), 0, label
    return math.inf, 2, label


def plot_prediction(sample, poses, title: str = "", fig=None, zoom: bool = True):
    """A prediction against the truth: the predicted chains (instance colours) over the
    true ones (white) on the image, and in 3D (camera frame, metres; each true chain dashed
    in a dark shade of the prediction matched to it, or dotted in grey: :func:`truth_styles`),
    with the legend outside the 3D axes (robot k and its score; "truth of robot k").

    Args:
        sample: the :class:`~robotpose_lib.types.Sample` the poses were predicted on.
        poses: ``RobotPose`` s in the sample's pixels (``Predictor`` output).
        fig: a Figure or SubFigure to draw into (default: a new 10 x 4 inch figure).
        zoom: the image panel shows :func:`prediction_window` (the robots and the
            predicted joints, enlarged) instead of the whole image, so that small robots'
            chains can be told apart. Every chain is drawn on a dark outline, so that it
            stays visible on a robot of its own colour.

    Returns:
        the Figure (or the SubFigure given).
    """
    own = fig is None
    fig = plt.figure(figsize=(10, 4)) if own else fig
    grid = fig.add_gridspec(1, 3, width_ratios=(1.25, 1.15, 0.5), wspace=0.05)
    ax = fig.add_subplot(grid[0])
    picture, offset, scale = sample.image, np.zeros(2), 1.0
    if zoom:
        # drawn at about 640 pixels wide, so that the chains keep their width when enlarged
        picture, offset, scale = enlarge(sample.image, prediction_window(sample, poses))
    width = max(1, round(picture.shape[1] / 320))  # line widths at the drawn size
    dark = (20, 20, 20)
    for r in range(sample.num_robots):
        picture = draw_chain(picture, to_window(sample.joints_2d[r], offset, scale), color=(255, 255, 255),
                             radius=1 + width, thickness=width, outline=dark)
    for k, p in enumerate(poses):
        picture = draw_chain(picture, to_window(p.joints_2d, offset, scale),
                             color=INSTANCE_COLORS[k % 10], radius=2 + width, thickness=1 + width, outline=dark)
    ax.imshow(picture)
    ax.axis("off")
    # above the whole (sub)figure: a long title does not run into the 3D axes
    fig.suptitle(title or "predicted chains (colour), truth (white)", fontsize=11)
    ax3 = fig.add_subplot(grid[1], projection="3d")
    pts = [sample.joints_3d.reshape(-1, 3)]
    for r, (color, style, label) in enumerate(truth_styles(sample, poses)):
        k = sample.joints_3d[r]
        ax3.plot(k[:, 0], k[:, 2], -k[:, 1], linestyle=style, color=color, marker=".", lw=1.8, label=label)
    for k, p in enumerate(poses):
        ok = np.isfinite(p.joints_3d).all(axis=1)
        if ok.any():
            q = p.joints_3d[ok]
            pts.append(q)
            ax3.plot(q[:, 0], q[:, 2], -q[:, 1], "-o", color=INSTANCE_COLORS[k % 10] / 255, ms=3,
                     label=f"robot {k} ({p.score:.2f})")
    allp = np.concatenate(pts)
    set_equal_3d(ax3, allp[:, [0, 2, 1]] * [1, 1, -1])
    ax3.set_xlabel("x [m]")
    ax3.set_ylabel("z (depth) [m]")
    # upright whatever the view (matplotlib turns the vertical label with it)
    ax3.zaxis.set_rotate_label(False)
    ax3.set_zlabel("up (\u2212y) [m]", rotation=90)
    handles, labels = ax3.get_legend_handles_labels()
    # each predicted robot followed by its truth, the unmatched truths last
    order = sorted(range(len(labels)), key=lambda i: _legend_rank(labels[i]))
    handles, labels = [handles[i] for i in order], [labels[i] for i in order]
    legend_ax = fig.add_subplot(grid[2])
    legend_ax.axis("off")
    legend_ax.legend(handles, labels, fontsize=10, loc="center left", bbox_to_anchor=(0.3, 0.5),
                     frameon=False)
    return fig


def tidy_3d(fig, ticks: int = 3, size: int = 10):
    """Fewer and larger tick labels (``ticks`` per axis, ``size`` points) and axis labels
    on the 3D axes of a figure from :func:`plot_prediction` (matplotlib's default ticks
    overlap at a book page's width); returns the figure."""
    from matplotlib.ticker import MaxNLocator

    for ax in fig.axes:
        if hasattr(ax, "zaxis"):
            for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
                axis.set_major_locator(MaxNLocator(ticks))
                axis.label.set_size(size + 1)
                axis.labelpad = 2
            ax.tick_params(labelsize=size, pad=0)
    return fig
