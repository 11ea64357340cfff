"""Figures for the instance chapter (paper III-C, Fig. 5 and Fig. 7).

Plotting helpers draw into matplotlib Axes (or make a Figure) and return them; the small
numeric helpers next to them (:func:`greedy_chains`, :func:`wrong_links`,
:func:`joints_inside` and :func:`assignment_scene`; :func:`active_fractions` and
:func:`count_by_rule`, the stopping rule, come from :mod:`robotpose_lib.structures`)
compute what those figures show and are tested on their own.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle

from ..structures import DEFAULT_MIN_ACTIVE_FRACTION, active_fractions, count_by_rule
from . import INSTANCE_COLORS, color_masks

# joint types in a qualitative palette with one marker shape each: on panels ~200 px wide
# the neighbours of a sequential map (viridis) cannot be told apart
JOINT_PALETTE = "tab10"
JOINT_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "p", "h", "*")
# the joint markers' area (points^2) and their legend's font: legible when a 10-inch figure
# is shrunk to the book's column (about 0.75), the legend at about 8 pt there
JOINT_MARKER_AREA, JOINT_LEGEND_PT = 90, 11


def joint_style(j: int) -> tuple[tuple[float, float, float], str]:
    """The colour (RGB in [0, 1]) and marker of joint type ``j`` (0-based): tab10's colours
    and ten marker shapes, so that neighbouring joints differ in both (they repeat after
    ten joints, in another combination up to 50)."""
    colors = plt.get_cmap(JOINT_PALETTE).colors
    return tuple(colors[j % len(colors)]), JOINT_MARKERS[(j + j // len(colors)) % len(JOINT_MARKERS)]


# ------------------------------------------------------------------------ numeric helpers
def greedy_chains(peaks: list[np.ndarray]) -> list[list[tuple[int, int]]]:
    """Assemble chains from per-joint peaks without knowing which robot each belongs to.

    The naive alternative to instance masks: start a chain at every peak of joint 0 and
    repeatedly link it to the nearest still unused peak of the next joint.

    Args:
        peaks: per joint j an array (N_j, 2) of peak positions (u, v) in pixels, with the
            (hidden) robot index of peak n equal to n (so the caller can check the result).

    Returns:
        per chain the list of (joint, peak index) it links; a chain ends early when the
        next joint has no unused peak.
    """
    if not peaks:
        raise ValueError("peaks: need at least one joint")
    chains = [[(0, n)] for n in range(len(peaks[0]))]
    for j in range(1, len(peaks)):
        used: set[int] = set()
        for chain in chains:
            last_j, last_n = chain[-1]
            if last_j != j - 1:
                continue  # this chain already ended
            start = peaks[last_j][last_n]
            dist = np.hypot(*(np.asarray(peaks[j], dtype=np.float64) - start).T) if len(peaks[j]) else np.zeros(0)
            order = [int(n) for n in np.argsort(dist) if int(n) not in used]
            if order:
                used.add(order[0])
                chain.append((j, order[0]))
    return chains


def wrong_links(joints_2d: np.ndarray) -> tuple[int, int, list[np.ndarray], list[list[tuple[int, int]]]]:
    """What :func:`greedy_chains` makes of perfect belief peaks (chapter 3's Fig. 3.1).

    Args:
        joints_2d: (R, J, 2) true joints of R robots in pixels; the peaks of joint j are
            ``joints_2d[:, j]``, so peak n belongs to robot n.

    Returns:
        (links joining joints of two different robots, links in all, the peaks per joint,
        the chains of :func:`greedy_chains`).
    """
    joints_2d = np.asarray(joints_2d)
    if joints_2d.ndim != 3 or joints_2d.shape[-1] != 2:
        raise ValueError(f"joints_2d: expected (R, J, 2), got {joints_2d.shape}")
    peaks = [joints_2d[:, j] for j in range(joints_2d.shape[1])]
    chains = greedy_chains(peaks)
    links = [(a[1], b[1]) for c in chains for a, b in zip(c[:-1], c[1:])]
    return sum(a != b for a, b in links), len(links), peaks, chains


def joints_inside(sample) -> bool:
    """True when every joint of every robot of ``sample`` (a ``Sample``) projects into its
    image, 0 <= u < W and 0 <= v < H pixels, so that every belief peak exists."""
    H, W = sample.image.shape[:2]
    u, v = sample.joints_2d[..., 0], sample.joints_2d[..., 1]
    return bool(((u >= 0) & (u < W) & (v >= 0) & (v < H)).all())


def assignment_scene(candidates, robots: int = 3):
    """The scene that shows best why belief maps alone cannot assemble robots: among the
    ``candidates`` (``Sample`` s) with exactly ``robots`` robots and all joints in the image
    (:func:`joints_inside`), the one whose nearest-neighbour chains join two robots most
    often (:func:`wrong_links`; the first of equals); without such a scene, the one with the
    most robots. Raises ValueError for no candidates."""
    candidates = list(candidates)
    if not candidates:
        raise ValueError("candidates: no scene to choose from")
    usable = ([s for s in candidates if s.num_robots == robots and joints_inside(s)]
              or [max(candidates, key=lambda s: s.num_robots)])
    return max(usable, key=lambda s: wrong_links(s.joints_2d)[0])


# -------------------------------------------------------------------------------- figures
def _image_axes(ax, image: np.ndarray, title: str | None):
    """Axes showing exactly the image's pixels, without ticks, with an optional title."""
    ax.set_xlim(-0.5, image.shape[1] - 0.5)
    ax.set_ylim(image.shape[0] - 0.5, -0.5)
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def plot_joint_peaks(ax, image: np.ndarray, joints_2d: np.ndarray, visibility: np.ndarray,
                     title: str | None = None):
    """The image with every visible joint as a marker whose colour and shape give the joint
    index only (:func:`joint_style`).

    This is what belief maps tell: where joints of each kind are, not whose they are.
    joints_2d (R, J, 2) pixels, visibility (R, J) bool.
    """
    ax.imshow(image)
    J = joints_2d.shape[1]
    for j in range(J):
        pts = joints_2d[:, j][visibility[:, j]]
        color, marker = joint_style(j)
        ax.scatter(pts[:, 0], pts[:, 1], s=JOINT_MARKER_AREA, color=color, marker=marker, edgecolor="white",
                   linewidth=0.9, label=f"joint {j + 1}", zorder=3)
    return _image_axes(ax, image, title)


def joint_legend(ax, ncol: int = 4, fontsize: float = JOINT_LEGEND_PT):
    """The joint types' legend of :func:`plot_joint_peaks`, under the panel (outside the
    image, so that it hides no joint), in a font legible at the book's column width.
    ``plt.tight_layout`` makes room for it. Returns the Legend."""
    return ax.legend(fontsize=fontsize, loc="upper center", bbox_to_anchor=(0.5, -0.02), ncol=ncol,
                     handletextpad=0.2, columnspacing=0.9, borderaxespad=0.2, frameon=False)


def plot_chains(ax, image: np.ndarray, peaks: list[np.ndarray], chains: list[list[tuple[int, int]]],
                title: str | None = None):
    """Draw assembled chains over the image: a link is green when both ends belong to the
    same robot (peak index = robot index, as in :func:`greedy_chains`), red otherwise."""
    ax.imshow(image)
    for chain in chains:
        for (ja, na), (jb, nb) in zip(chain[:-1], chain[1:]):
            a, b = peaks[ja][na], peaks[jb][nb]
            ax.plot([a[0], b[0]], [a[1], b[1]], color="limegreen" if na == nb else "red", lw=2)
    return _image_axes(ax, image, title)


def _box(ax, xy, text, color, width=1.3, height=0.7, fontsize=9):
    x, y = xy
    ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height,
                                boxstyle="round,pad=0.05", facecolor=color, edgecolor="black", lw=1))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize)


def _arrow(ax, start, end, color="black", style="-|>", lw=1.2, rad=0.0):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=12, color=color, lw=lw,
                                 connectionstyle=f"arc3,rad={rad}", shrinkA=2, shrinkB=2))


def draw_unrolled_model(steps: int = 4, ax=None):
    """Diagram of the instance model unrolled ``steps`` = R + 1 times (paper Fig. 5).

    F enters the context module (conv blocks + max-pooling), whose output seeds the
    ConvGRU state h_0; F is also the cell's input at every step; each state goes through
    the shared refine block to a full-resolution mask; the last one is the empty
    end-of-sequence mask.

    Returns:
        the Axes.
    """
    if steps < 2:
        raise ValueError(f"steps: need at least 2 (one robot and the end-of-sequence step), got {steps}")
    if ax is None:
        _, ax = plt.subplots(figsize=(2.0 * steps + 3.0, 4.2))
    gx = [2.6 + 2.0 * t for t in range(steps)]  # x of each unrolled step
    y_f, y_cell, y_refine, y_mask = 3.3, 1.9, 0.8, -0.3
    _box(ax, (0.2, y_f), "F\nfeatures +\nbeliefs + depth", "#dde8f7", width=1.5, height=0.9, fontsize=8)
    # the context module's block spelled out (no abbreviations the text does not define)
    _box(ax, (0.2, y_cell), "context:\n[conv, batch\nnorm, leaky\nReLU, max-pool]\nrepeated", "#f7e3c6", width=1.6,
         height=1.25, fontsize=8)
    _arrow(ax, (0.2, y_f - 0.45), (0.2, y_cell + 0.63))
    _arrow(ax, (1.0, y_cell), (gx[0] - 0.65, y_cell))
    ax.text((1.0 + gx[0] - 0.65) / 2, y_cell + 0.12, "$h_0$ (seed)", ha="center", fontsize=8)
    ax.plot([0.95, gx[-1]], [y_f, y_f], color="#3060a0", lw=1.2)
    for t, x in enumerate(gx):
        last = t == steps - 1
        _arrow(ax, (x, y_f), (x, y_cell + 0.35), color="#3060a0")
        _box(ax, (x, y_cell), "ConvGRU", "#d5ecd4")
        _box(ax, (x, y_refine), "refine", "#ecd4ec", height=0.55)
        _arrow(ax, (x, y_cell - 0.35), (x, y_refine + 0.28))
        height = 0.85 if last else 0.6  # the last box holds three lines
        _arrow(ax, (x, y_refine - 0.28), (x, y_mask + height / 2))
        label = f"$\\hat S_{{{t + 1}}}$" + ("\nend of\nsequence" if last else f"\nrobot {t + 1}")
        _box(ax, (x, y_mask), label, "#f0f0f0" if last else "#fff3b0", width=1.1, height=height, fontsize=8)
        if not last:
            _arrow(ax, (x + 0.65, y_cell), (gx[t + 1] - 0.65, y_cell))
            ax.text(x + 1.0, y_cell + 0.12, f"$h_{{{t + 1}}}$", ha="center", fontsize=8)
    ax.text(gx[0], y_f + 0.2, "F at every step", color="#3060a0", fontsize=8)
    ax.text((gx[0] + gx[-1]) / 2, y_mask - 0.75, f"unrolled R + 1 = {steps} steps, weights shared across steps",
            ha="center", fontsize=9, style="italic")
    ax.set_xlim(-0.8, gx[-1] + 0.9)
    ax.set_ylim(y_mask - 1.0, y_f + 0.7)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


def plot_cost_matrix(ax, cost: np.ndarray, assignment: np.ndarray, title: str | None = None):
    """Soft-IoU cost matrix (rows targets, columns predictions) with the chosen pairs framed.

    Args:
        cost: (R, R) costs in [0, 1].
        assignment: (R,) the prediction column chosen for each target row.
    """
    cost = np.asarray(cost)
    image = ax.imshow(cost, vmin=0, vmax=1, cmap="magma_r")
    R = cost.shape[0]
    for i in range(R):
        for j in range(cost.shape[1]):
            ax.text(j, i, f"{cost[i, j]:.2f}", ha="center", va="center", fontsize=9,
                    color="white" if cost[i, j] > 0.55 else "black")
    for i, j in enumerate(np.asarray(assignment)):
        ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="cyan", lw=3))
    ax.set_xticks(range(cost.shape[1]), [f"$\\hat S_{j + 1}$" for j in range(cost.shape[1])])
    ax.set_yticks(range(R), [f"$S'_{i + 1}$" for i in range(R)])
    ax.set_xlabel("prediction (step)")
    ax.set_ylabel("target robot")
    if title:
        ax.set_title(title, fontsize=9)
    plt.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="$C_{ij}$ = 1 - soft IoU")
    return ax


def plot_matching_example(targets, predictions, cost: np.ndarray, assignment: np.ndarray, crop=None,
                          title: str = "soft-IoU cost, Hungarian choice framed", width_in: float = 10.0):
    """The matching loss on one scene (chapter 3, Fig. 3.3): the target masks (top row), the
    predicted masks with the end-of-sequence step last (bottom row), and the cost matrix
    (:func:`plot_cost_matrix`) on the right, apart from the masks by a gap wide enough for
    the last mask's title and the matrix's row names (constrained layout: call no
    ``tight_layout`` after it).

    Args:
        targets: R masks (H, W); predictions: R + 1 masks (H, W) in [0, 1], the last the
            end-of-sequence step.
        cost, assignment: as :func:`plot_cost_matrix`.
        crop: (rows, cols) slices that every mask panel shows, or None (the whole mask).

    Returns:
        the Figure.
    """
    R = len(targets)
    crop = crop or (slice(None), slice(None))
    fig = plt.figure(figsize=(width_in, 3.4), layout="constrained")
    masks, matrix = fig.subfigures(1, 2, width_ratios=[R + 1, 2.3], wspace=0.03)
    grid = masks.add_gridspec(2, R + 1)
    for i in range(R):
        ax = masks.add_subplot(grid[0, i])
        ax.imshow(np.asarray(targets[i])[crop], cmap="gray")
        ax.set_title(f"target $S'_{i + 1}$", fontsize=9)
        ax.axis("off")
    for j in range(R + 1):
        ax = masks.add_subplot(grid[1, j])
        ax.imshow(np.asarray(predictions[j])[crop], cmap="gray", vmin=0, vmax=1)
        ax.set_title(f"prediction $\\hat S_{j + 1}$" + (" (end mask)" if j == R else ""), fontsize=9)
        ax.axis("off")
    plot_cost_matrix(matrix.add_subplot(), cost, assignment, title)
    return fig


def share_text(share: float, thresholds=(), decimals: int = 1) -> str:
    """A step's activated share as a percentage, e.g. "4.97%", with ``decimals`` digits or
    more: as many as it takes for the printed value to fall on the same side of every
    stopping threshold in ``thresholds`` (fractions) as the share itself, so that 0.0497
    is not printed "5.0%" beside a 5% rule that does not count it."""
    share = float(share)
    for d in range(decimals, 7):
        shown = round(100 * share, d) / 100
        if all((shown < t) == (share < t) for t in thresholds):
            break
    return f"{100 * share:.{d}f}%"


def plot_step_masks(images: list[np.ndarray], steps: list[np.ndarray], true_masks: list[np.ndarray],
                    min_active_fraction: float = DEFAULT_MIN_ACTIVE_FRACTION, activation_threshold: float = 0.5,
                    row_labels: list[str] | None = None, size: float = 1.9,
                    fractions: list[np.ndarray] | None = None, fontsize: float = 8,
                    truth_overlay: bool = False, thresholds=None):
    """Grid of the model's masks step by step: rows scenes, columns image, truth, steps.

    A step's title gives its share of activated pixels; green when the stopping rule
    counts it as a robot, red at the step where iteration stops (the end-of-sequence
    step), grey after it.

    Args:
        images: per scene uint8 (H, W, 3).
        steps: per scene float (T_s, H, W) mask values in [0, 1].
        true_masks: per scene bool (R_s, H, W).
        fractions: per scene the activated share of each step (T_s,), e.g. of the whole
            image when the panels show a crop; default: computed from ``steps``.
        fontsize: of the titles.
        truth_overlay: one panel with the true instances blended over the image (its
            title the row label, default the true count) instead of two, and each step's
            title on two lines ("step t" over its share): fewer, larger panels.
        thresholds: stopping fractions the printed shares must not be rounded across
            (:func:`share_text`); default ``(min_active_fraction,)``.

    Returns:
        the Figure.
    """
    if not len(images) == len(steps) == len(true_masks):
        raise ValueError(f"images/steps/true_masks: lengths {len(images)}, {len(steps)}, {len(true_masks)} differ")
    thresholds = (min_active_fraction,) if thresholds is None else tuple(thresholds)
    first = 1 if truth_overlay else 2  # columns before the steps
    cols = first + max(len(s) for s in steps)
    h, w = images[0].shape[:2]
    title_lines = 2 if truth_overlay else 1
    fig, axes = plt.subplots(len(images), cols,
                             figsize=(cols * size, len(images) * (size * h / w + title_lines * fontsize / 60) + 0.3),
                             squeeze=False)
    for row, (image, masks, truth) in enumerate(zip(images, steps, true_masks)):
        shares = active_fractions(masks, activation_threshold) if fractions is None else np.asarray(fractions[row])
        stop = count_by_rule(shares, min_active_fraction)
        truth = np.asarray(truth)
        count = f"{len(truth)} robot{'s' if len(truth) != 1 else ''}"
        if truth_overlay:
            axes[row, 0].imshow(instance_overlay(image, truth) if len(truth) else image)
            label = row_labels[row] if row_labels else f"truth: {count}"
            axes[row, 0].set_title(label, fontsize=fontsize)
        else:
            axes[row, 0].imshow(image)
            axes[row, 0].set_title(row_labels[row] if row_labels else "image", fontsize=fontsize)
            axes[row, 1].imshow(color_masks(truth))
            axes[row, 1].set_title(f"truth: {count}", fontsize=fontsize)
        for t in range(cols - first):
            ax = axes[row, first + t]
            if t < len(masks):
                ax.imshow(masks[t], vmin=0, vmax=1, cmap="gray")
                color = "green" if t < stop else ("red" if t == stop else "grey")
                sep = "\n" if truth_overlay else ": "
                ax.set_title(f"step {t + 1}{sep}{share_text(shares[t], thresholds)}", fontsize=fontsize,
                             color=color)
        for ax in axes[row]:
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
    fig.tight_layout()
    return fig


# the precision-recall curves' colours and line styles: ten distinct hues (neighbours of a
# sequential map cannot be told apart at the book's column width), solid and dashed in
# turn, so that a dashed curve shows where it lies on a solid one
PR_PALETTE, PR_STYLES = "tab10", ("-", "--")


def pr_style(rank: int) -> tuple[tuple[float, float, float], str]:
    """The colour (RGB in [0, 1]) and line style of the ``rank``-th curve of
    :func:`plot_pr_curves`."""
    colors = plt.get_cmap(PR_PALETTE).colors
    return tuple(colors[rank % len(colors)]), PR_STYLES[rank % len(PR_STYLES)]


# a precision-recall curve of at most this many recall points (of COCO's 101, 0.01 apart)
# is drawn with markers: it is too short to show as a line
SHORT_CURVE_POINTS = 3


def format_ap(ap: float) -> str:
    """An AP as the legends write it: two decimals, or three where two would round a
    positive AP to 0.00 (so that a curve that shows is not labelled 0.00)."""
    return f"{ap:.3f}" if ap > 0 and round(ap, 2) == 0 else f"{ap:.2f}"


def plot_pr_curves(ax, result, thresholds=None, title: str | None = None,
                   fontsize: float = 7, legend_loc: str = "right"):
    """Precision-recall curves of an ``ap.APResult``, one per IoU threshold (paper Fig. 7a).

    Draws the interpolated precision (COCO's envelope over 101 recall points) up to the
    highest recall reached at each threshold: every threshold of the result (COCO's ten,
    0.50 to 0.95) by default, or the ones nearest to ``thresholds``; each has its legend
    entry with its AP (:func:`format_ap`), also where its curve is hidden under another's or
    where nothing is matched (no curve). A curve of a few recall points, even a single one
    (a robot or two matched), is drawn with markers, so that every threshold with AP > 0 shows. ``fontsize`` is the
    legend's (the labels and title one and three points larger); ``legend_loc`` "right" puts
    the legend beside the axes, "below" under them in two columns, "inside" inside them
    where it covers the fewest curve points (curves that stop at a low recall leave the right
    half empty). The curves take distinct hues and alternate solid and dashed (:func:`pr_style`).
    """
    iou = np.asarray(result.iou_thresholds)
    chosen = (list(range(len(iou))) if thresholds is None else
              [int(np.argmin(np.abs(iou - t))) for t in thresholds])
    for rank, t in enumerate(chosen):
        reached = result.recall_points <= result.max_recall[t] + 1e-12
        color, style = pr_style(rank)
        recall, precision = result.recall_points[reached], result.precision[t][reached]
        label = f"IoU {iou[t]:.2f}: AP {format_ap(result.ap[t])}"
        if not (result.ap[t] > 0) or not (precision > 0).any():
            # nothing matched at this threshold: no curve, its legend entry only
            ax.plot([], [], color=color, ls=style, lw=1.8, label=label)
            continue
        # a curve of a few recall points (a robot or two matched) is a dot or a stub: its
        # points are marked, unclipped on the axes' edge, so that it shows
        short = len(recall) <= SHORT_CURVE_POINTS
        ax.plot(recall, precision, color=color, ls=style, lw=1.8, label=label,
                marker="o" if short else None, ms=6, mec="black", mew=0.6, clip_on=not short, zorder=3 if short else 2)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("recall", fontsize=fontsize + 1)
    ax.set_ylabel("precision", fontsize=fontsize + 1)
    if legend_loc == "below":
        ax.legend(fontsize=fontsize, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    elif legend_loc == "inside":
        ax.legend(fontsize=fontsize, loc="best", framealpha=0.9)
    else:
        ax.legend(fontsize=fontsize, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title(title or f"{result.kind} AP", fontsize=fontsize + 3)
    return ax


def plot_area_fractions(ax, fractions: np.ndarray, rules: dict[str, float], bins: int = 40):
    """Histogram of robot mask areas as a share of the image (log x), rules as lines."""
    fractions = np.asarray(fractions, dtype=np.float64)
    positive = fractions[fractions > 0]
    if positive.size == 0:
        raise ValueError("fractions: no robot with a non-empty mask")
    edges = np.logspace(np.log10(max(positive.min(), 1e-5)), np.log10(max(positive.max(), 0.5)), bins)
    ax.hist(positive, bins=edges, color="#7090c0")
    ax.set_xscale("log")
    for k, (name, value) in enumerate(rules.items()):
        share = float(np.mean(fractions >= value))
        ax.axvline(value, color=("red", "green", "orange")[k % 3], lw=2,
                   label=f"{name} = {100 * value:g}%: {100 * share:.0f}% of robots reach it")
    ax.set_xlabel("mask area / image area")
    ax.set_ylabel("robots")
    ax.legend(fontsize=8)
    return ax


def instance_overlay(image: np.ndarray, masks: np.ndarray, alpha: float = 0.55) -> np.ndarray:
    """uint8 image with (R, H, W) masks blended in instance colours (as ``viz.color_masks``)."""
    masks = np.asarray(masks)
    out = image.astype(np.float32)
    colors = color_masks(masks).astype(np.float32)
    covered = (masks > 0.5).any(axis=0) if len(masks) else np.zeros(image.shape[:2], bool)
    out[covered] = (1 - alpha) * out[covered] + alpha * colors[covered]
    return out.clip(0, 255).astype(np.uint8)


__all__ = [
    "INSTANCE_COLORS", "active_fractions", "count_by_rule", "greedy_chains", "share_text",
    "wrong_links", "joints_inside", "assignment_scene",
    "plot_joint_peaks", "plot_chains", "draw_unrolled_model", "plot_cost_matrix", "plot_step_masks",
    "plot_pr_curves", "plot_area_fractions", "instance_overlay", "plot_matching_example",
]
