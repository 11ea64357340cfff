"""Figures of the localization network (paper III-B, Fig. 6): its diagram, belief maps
stage by stage (with the figures that describe them; one map at a time beside the image,
:func:`plot_belief_panel`) and the pixel and depth errors of
``eval.localization.LocalizationReport``; predicted joints joined to their truth;
the depth codes' cost of an error by depth and the toy depth study (chapter 2); real-photo
scores against training time (the sim-to-real study, chapter 6)."""
from __future__ import annotations

from typing import Sequence

import cv2
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyBboxPatch
from scipy import ndimage

from .. import metrics
from ..eval.localization import LocalizationReport
from ..models.localization import LocalizationConfig
from ..peaks import peak_name
from ..targets import DepthCoding


def draw_network(cfg: LocalizationConfig, num_joints: int, ax=None, fontsize: float = 10):
    """Boxes and arrows of :class:`LocalizationNet` for a configuration: backbone, features F,
    the stages with their U blocks and losses (chapter 2). ``fontsize`` is the boxes' text
    size in points (sized for a figure about 10 inches wide with three stages). Returns the
    Axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(10, 4.2))

    def box(x, y, w, h, text, color):
        ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.03", fc=color, ec="k", lw=0.8))
        ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=fontsize, linespacing=1.25)

    def arrow(x0, y0, x1, y1):
        ax.annotate("", (x1, y1), (x0, y0), arrowprops=dict(arrowstyle="->", lw=1.0))

    stride = 8 if cfg.backbone.endswith("s8") else 4
    h, w = cfg.input_size
    J1 = num_joints + 1
    top, th = 2.2, 1.2  # the top row: y and height of its boxes
    mid = top + th / 2
    box(0.0, top, 1.3, th, f"image\n3x{h}x{w}", "#ddeeff")
    box(1.65, top, 1.5, th, f"backbone\n{cfg.backbone}\n{'frozen' if cfg.freeze_backbone else 'trained'}",
        "#ffe8cc")
    arrow(1.3, mid, 1.65, mid)
    box(3.5, top, 1.5, th, f"features F\n/{stride}: {h // stride}x{w // stride}", "#fff7cc")
    arrow(3.15, mid, 3.5, mid)
    x, sw, gap = 5.6, 2.0, 0.45  # first stage's x, a stage's width, the gap between stages
    for n in range(cfg.stages):
        k, blocks = (cfg.stage1_kernel, cfg.stage1_blocks) if n == 0 else (cfg.later_kernel, cfg.later_blocks)
        box(x, top, sw, th, f"stage {n + 1}\n{blocks}x C({k}x{k}, {cfg.width})\n1x1 {cfg.head_width}, "
            f"1x1 {J1}, S", "#e6f5e6")
        box(x + 0.1, 0.95, sw - 0.2, 0.75, f"U: x{stride}, C(3x3), S", "#f0e6f5")
        box(x + 0.1, -0.45, sw - 0.2, 1.0, f"B\u0302, D\u0302: {J1}x{h}x{w}\nloss L{n + 1}", "#f5e6e6")
        arrow(x + sw / 2, top, x + sw / 2, 1.7)
        arrow(x + sw / 2, 0.95, x + sw / 2, 0.55)
        if n == 0:
            arrow(5.0, mid, x, mid)
        else:
            arrow(x - gap, mid, x, mid)  # previous output, concatenated with F
            ax.annotate("", (x + 0.4, top + th), (4.25, top + th), arrowprops=dict(
                arrowstyle="->", lw=0.8, color="tab:orange", connectionstyle="arc3,rad=-0.2"))
        x += sw + gap
    ax.text(3.5, top + th + 1.05, "F also feeds every later stage (orange)", fontsize=fontsize,
            color="tab:orange")
    ax.set_xlim(-0.1, x - gap + 0.1)
    ax.set_ylim(-0.55, top + th + 1.4)
    ax.axis("off")
    return ax


def plot_pixel_errors(report: LocalizationReport, ax=None, methods: Sequence[str] | None = None,
                      ylim: float | None = None):
    """Fig. 6: box plots of the pixel error per joint (480x640 scale), one box per method
    side by side. Misses are left out (their count is in the legend)."""
    methods = list(methods or report.methods)
    if ax is None:
        _, ax = plt.subplots(figsize=(max(6, 1.1 * len(report.joint_names) + 2), 3.8))
    J = len(report.joint_names)
    width = 0.8 / len(methods)
    colors = {"nms": "tab:blue", "log": "tab:orange"}
    for k, m in enumerate(methods):
        e = report.pixel_errors[m]
        data = [e[:, j][np.isfinite(e[:, j])] for j in range(J)]
        pos = np.arange(J) + (k - (len(methods) - 1) / 2) * width
        bp = ax.boxplot(data, positions=pos, widths=width * 0.9, patch_artist=True,
                        showfliers=True, flierprops={"markersize": 2, "alpha": 0.4})
        for box in bp["boxes"]:
            box.set_facecolor(colors.get(m, "tab:gray"))
            box.set_alpha(0.6)
        ax.plot([], [], "s", color=colors.get(m, "tab:gray"), alpha=0.6,
                label=f"{peak_name(m)} ({report.misses(m)} missed)")
    if not any(np.isfinite(report.pixel_errors[m]).any() for m in methods):
        ax.text(0.5, 0.5, "no joint found above the score threshold", ha="center",
                transform=ax.transAxes)
        ax.set_ylim(0, 1)
    ax.set_xticks(np.arange(J))
    ax.set_xticklabels(report.joint_names, rotation=30, ha="right", fontsize=9)
    ax.set_ylabel("pixel error at 480x640 [px]")
    # the legend between the title and the axes, where it covers no box
    ax.set_title(f"{report.robot}: joint pixel error ({report.num_images} test images)", pad=20)
    if ylim is not None:
        ax.set_ylim(0, ylim)
    ax.legend(fontsize=9, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(methods),
              frameon=False, borderaxespad=0.1)
    return ax


def plot_depth_errors(report: LocalizationReport, ax=None, bins: int = 12, max_points: int = 3000,
                      seed: int = 0, max_depth_m: float | None = 10.0):
    """Depth error (cm) against true depth (m): a subsample of pixels and the binned
    median with its 25-75% band; the near/far split of Table I as a dashed line.

    ``max_depth_m``: pixels deeper than this are left out (Table I's far range ends at
    10 m; the legend counts them), so that the x axis spans the depths the table
    summarises; None keeps every pixel. The y axis shows the whole 25-75% band; the x
    axis label gives the number left out beyond ``max_depth_m`` and the share of pixels
    above the y axis's top."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.8))
    z, e = report.depth_true_m, report.depth_errors_cm
    beyond = 0
    if max_depth_m is not None and z.size:
        keep = z <= max_depth_m
        beyond = int((~keep).sum())
        z, e = z[keep], e[keep]
    if z.size == 0:
        ax.text(0.5, 0.5, "no depth pixels", ha="center", transform=ax.transAxes)
        return ax
    edges = np.linspace(z.min(), z.max(), bins + 1)
    centres, q = [], []
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (z >= lo) & (z <= hi)
        if sel.sum() >= 5:
            centres.append(0.5 * (lo + hi))
            q.append(np.percentile(e[sel], [25, 50, 75]))
    top = max(1.0, np.percentile(e, 98) * 1.2)
    if q:
        q = np.array(q)
        top = max(top, float(q[:, 2].max()) * 1.1)
    pick = np.random.default_rng(seed).permutation(z.size)[:max_points]
    notes = [f"{beyond} pixels beyond {max_depth_m:g} m left out"] if beyond else []
    above = int((e > top).sum())
    if above:  # the axis stops at the band; say how many pixels lie above it
        notes.append(f"{above / e.size:.1%} of the pixels above {top:.0f} cm not shown")
    ax.scatter(z[pick], e[pick], s=2, alpha=0.25, color="tab:gray", label="pixels (subsample)")
    if len(q):
        ax.plot(centres, q[:, 1], "o-", color="tab:red", label="median")
        ax.fill_between(centres, q[:, 0], q[:, 2], color="tab:red", alpha=0.2, label="25-75%")
    if z.min() < metrics.NEAR_FAR_SPLIT_M <= z.max():
        ax.axvline(metrics.NEAR_FAR_SPLIT_M, ls="--", color="k", lw=0.8, label="near | far")
    pad = 0.03 * max(float(z.max() - z.min()), 0.1)
    ax.set_xlim(max(0.0, float(z.min()) - pad),
                float(z.max()) + pad if max_depth_m is None else min(float(z.max()) + pad, max_depth_m))
    # what the axes leave out, under the axis: a legend this long would cover the points
    ax.set_xlabel("\n".join(["true depth [m]"] + [f"({n})" for n in notes]))
    ax.set_ylabel("depth error [cm]")
    ax.set_ylim(0, top)
    # the legend between the title and the axes, where it covers no point
    ax.set_title(f"{report.robot}: depth error where the true belief \u2265 \u03c6", pad=34)
    legend = ax.legend(fontsize=9, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False,
                       borderaxespad=0.1, handlelength=1.5, columnspacing=1.0)
    for handle in legend.legend_handles:  # the pixels' dots, too small to see in the legend
        if hasattr(handle, "set_sizes"):
            handle.set_sizes([12])
    return ax


def plot_stage_beliefs(image: np.ndarray, stage_beliefs: Sequence[np.ndarray],
                       joint_names: Sequence[str], size: float = 1.6, vmax: float | None = None):
    """All stages x joints of one image: rows = stages, columns = joints, each belief
    map drawn over the grey image with opacity growing with the belief.

    ``stage_beliefs`` is a list of (J, H, W) arrays. All maps share one colour scale from
    0 to ``vmax`` (default: the largest belief of all maps, at least 0.05), so stages and
    joints compare directly; the scale is given in the figure title."""
    S, J = len(stage_beliefs), len(joint_names)
    if vmax is None:
        vmax = max(0.05, max(float(np.max(b)) for b in stage_beliefs))
    fig, axes = plt.subplots(S, J, figsize=(size * J * image.shape[1] / image.shape[0], size * S),
                             squeeze=False)
    grey = image.mean(axis=2) / 255.0
    cmap = plt.get_cmap("magma")
    for s in range(S):
        for j in range(J):
            ax = axes[s, j]
            # the photo dimmed, so that small bright belief blobs stand out on it
            ax.imshow(grey, cmap="gray", vmin=-0.2, vmax=1.6)
            v = np.clip(stage_beliefs[s][j] / vmax, 0, 1)
            rgba = cmap(0.25 + 0.75 * v)  # skip magma's black end: it vanishes on the dark photo
            rgba[..., 3] = np.clip(2.0 * np.sqrt(v), 0, 1)  # faint beliefs visible, zero transparent
            ax.imshow(rgba)
            ax.set_xticks([]); ax.set_yticks([])  # noqa: E702
            if s == 0:
                ax.set_title(joint_names[j], fontsize=10)
            if j == 0:
                ax.set_ylabel(f"stage {s + 1}", fontsize=10)
    fig.suptitle(f"belief 0 (transparent) .. {vmax:.2f} (bright)", fontsize=10, y=0.995)
    fig.tight_layout()
    return fig


def plot_belief_panel(sample, belief: np.ndarray, label: str, zoom: bool = True):
    """One belief map at full size beside its scene (chapter 2's stage-and-joint panel):
    left, the ``sample``'s image with its true joints; right, ``belief`` (H, W, at the
    image's size) over the grey image on its own colour scale from 0 to its maximum (so
    that weak beliefs stay visible), its peak marked (+), titled ``label`` and the maximum.

    ``zoom``: both panels show the same window, the robots and the map's peak with a
    margin (``viz.zoom_box``, at least a quarter of the image high), enlarged, so that a
    small robot fills the panels; the joints and the peak are drawn at their place in the
    crop. Raises ValueError when the map and the image differ in size. Returns the Figure."""
    from . import draw_sample_window, enlarge, to_window, zoom_box

    belief = np.asarray(belief, float)
    H, W = sample.image.shape[:2]
    if belief.shape != (H, W):
        raise ValueError(f"belief {belief.shape} and image {sample.image.shape[:2]} differ in size")
    v, u = np.unravel_index(np.argmax(belief), belief.shape)
    window = None
    if zoom:
        # the peak inside the window too: the + must not fall off the panel
        region = sample.masks.any(0) if len(sample.masks) else np.zeros((H, W), bool)
        region = np.array(region, bool)
        region[v, u] = True
        window = zoom_box(region, margin=0.15, aspect=W / H, min_size=H // 4)
    width = 640 if zoom else W  # unzoomed: at the image's own pixels
    picture, offset, scale = draw_sample_window(sample, window, width)
    grey, _, _ = enlarge(sample.image.mean(axis=2), window, width)
    shown, _, _ = enlarge(belief, window, width, interpolation=cv2.INTER_LINEAR)
    factor = W / (window[1].stop - window[1].start) if window is not None else 1.0
    note = f", cropped to the robot ({factor:.1f}x)" if factor > 1.05 else ""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    axes[0].imshow(picture)
    axes[0].set_title(f"image and true joints{note}", fontsize=10)
    axes[1].imshow(grey, cmap="gray")
    # colour scale up to this map's own maximum: on 0..1 weak beliefs would vanish
    axes[1].imshow(shown, cmap="magma", vmin=0, vmax=max(float(belief.max()), 1e-3), alpha=0.75)
    pu, pv = to_window(np.array([u, v]), offset, scale)
    axes[1].plot(pu, pv, "c+", ms=16, mew=2.5)
    axes[1].set_title(f"{label}: max belief {belief.max():.2f} (+)", fontsize=10)
    for ax in axes:
        ax.axis("off")
    return fig


def stage_map_figures(stage_beliefs: Sequence[np.ndarray], separation: float,
                      visible: float = 0.05, ratio: float = 0.5) -> list[dict]:
    """What a figure of :func:`plot_stage_beliefs` shows, in numbers, stage by stage.

    ``stage_beliefs`` is a list of (J, H, W) arrays. For each stage: ``max``, its largest
    belief; ``maxima``, each joint's largest belief; ``visible``, the joints whose map
    reaches ``visible`` (fainter maps hardly show); ``half_area``, for each visible joint
    the number of pixels at or above half its map's maximum (how wide its blob is);
    ``second``, the visible joints with a second peak: a local maximum at least ``ratio``
    times the map's maximum, more than ``separation`` pixels from the strongest one."""
    window = 2 * int(np.ceil(separation / 2)) + 1  # local maxima over about separation
    out = []
    for maps in stage_beliefs:
        maxima = [float(b.max()) for b in maps]
        shown = [j for j, m in enumerate(maxima) if m >= visible]
        half_area, second = {}, []
        for j in shown:
            b = maps[j]
            half_area[j] = int((b >= 0.5 * maxima[j]).sum())
            peaks = (ndimage.maximum_filter(b, size=window) == b) & (b >= ratio * maxima[j])
            v, u = np.unravel_index(int(np.argmax(b)), b.shape)
            ys, xs = np.nonzero(peaks)
            if (np.hypot(ys - v, xs - u) > separation).any():
                second.append(j)
        out.append({"max": max(maxima, default=0.0), "maxima": maxima, "visible": shown,
                    "half_area": half_area, "second": second})
    return out


def draw_joint_errors(image: np.ndarray, pred_2d: np.ndarray, true_2d: np.ndarray,
                      color=(0, 255, 255), line_color=(255, 64, 64), radius: int = 6,
                      thickness: int = 2) -> np.ndarray:
    """Each found joint of ``pred_2d`` (J, 2; NaN = not found) as a dot outlined in black,
    joined by a thin line to the same joint of ``true_2d``, so that the error (and which
    joint a prediction belongs to) shows even where predictions coincide. Returns a copy
    of the uint8 image."""
    out = np.ascontiguousarray(image.copy())

    def pixel(xy):
        return tuple(int(round(float(c))) for c in xy)

    found = [j for j, p in enumerate(pred_2d) if np.isfinite(p).all()]
    for j in found:  # the error lines first, the dots on top
        if np.isfinite(true_2d[j]).all():
            p, t = pixel(pred_2d[j]), pixel(true_2d[j])
            cv2.line(out, p, t, (0, 0, 0), thickness + 2, cv2.LINE_AA)
            cv2.line(out, p, t, tuple(int(c) for c in line_color), thickness, cv2.LINE_AA)
    for j in found:
        cv2.circle(out, pixel(pred_2d[j]), radius + 2, (0, 0, 0), -1, cv2.LINE_AA)
        cv2.circle(out, pixel(pred_2d[j]), radius, tuple(int(c) for c in color), -1,
                   cv2.LINE_AA)
    return out


def plot_depth_cost(z_min: float = 0.5, z_max: float = 10.0, error_m: float = 0.1, ax=None):
    """What eq. 1's squared error charges for a depth error of ``error_m`` at each depth,
    with the paper's inverse code and with the log code (``targets.DepthCoding``),
    relative to the cost at 1 m, on a log scale; a dotted line (in the legend) at
    ``metrics.NEAR_FAR_SPLIT_M``, where the evaluation splits near from far joints.
    Returns the Axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.2))
    z = np.linspace(max(z_min, 0.6), z_max - error_m, 200)
    for kind, color in (("inverse", "tab:blue"), ("log", "tab:green")):
        coding = DepthCoding(z_min=z_min, z_max=z_max, kind=kind)
        fx, width = coding.fx_over_width_ref * 100.0, 100  # the reference focal length: Z' = Z
        cost = (coding.encode(z + error_m, fx, width) - coding.encode(z, fx, width)) ** 2
        at_1m = (coding.encode(1.0 + error_m, fx, width) - coding.encode(1.0, fx, width)) ** 2
        ax.plot(z, cost / at_1m, color=color, label=f"{kind} code" + (" (paper)" if kind == "inverse" else ""))
    ax.set_yscale("log")
    ax.set_xlabel("true depth Z [m]")
    ax.set_ylabel(f"cost of a {100 * error_m:.0f} cm error\nrelative to 1 m")
    # where the evaluation's tables split near from far joints (metrics.near_far_table)
    ax.axvline(metrics.NEAR_FAR_SPLIT_M, color="gray", ls=":", lw=1.0,
               label=f"near / far split of the tables ({metrics.NEAR_FAR_SPLIT_M:g} m)")
    ax.legend(fontsize=8)
    return ax


def plot_toy_depth(runs: Sequence[dict], ax=None):
    """The toy depth study (``toy_depth``, ``kuka_kr16_depth_study.json`` "toy_depth"): for
    each seed, the near and far mean errors of the inverse and log codes beside the
    median-depth baseline (bars, cm). Returns the Axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.2))
    seeds = sorted({r["seed"] for r in runs})
    groups = [(seed, rng) for seed in seeds for rng in ("near", "far")]
    kinds = ["inverse", "log", "baseline"]
    colors = {"inverse": "tab:blue", "log": "tab:green", "baseline": "0.7"}
    width = 0.8 / len(kinds)
    for k, kind in enumerate(kinds):
        values = []
        for seed, rng in groups:
            run = next((r for r in runs if r["seed"] == seed and r["kind"] == (kind if kind != "baseline" else
                                                                                  r["kind"])), None)
            key = f"baseline_{rng}_mean_cm" if kind == "baseline" else f"{rng}_mean_cm"
            values.append(run[key] if run and key in run else np.nan)
        ax.bar(np.arange(len(groups)) + (k - 1) * width, values, width * 0.95, color=colors[kind],
               label=kind + (" code" if kind != "baseline" else ": median depth everywhere"))
    ax.set_xticks(np.arange(len(groups)), [f"seed {s}\n{rng}" for s, rng in groups])
    ax.set_ylabel("mean depth error [cm]")
    ax.legend(fontsize=8)
    return ax


def plot_real_study(runs: Sequence[dict], baseline_auc: float | None = None, key: str = "all", ax=None,
                    shipped: dict | None = None):
    """Keypoint AUC on the real photos against training hours for the runs of the
    sim-to-real study (``panda_sim2real_study.json``), one marker per configuration; the
    mean-pose baseline as a line when given. A run without hours on the "paper" recipe (the
    start, before any sim2real scene) is drawn at 0 h as a star; other runs without hours
    are left out. ``shipped``, one of ``runs``, is labelled as the shipped checkpoint.
    Returns the Axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.4))
    by_config: dict[str, list] = {}
    for r in runs:
        if r.get("hours") is not None and np.isfinite(r["hours"]):
            by_config.setdefault(r.get("config", "?"), []).append(r)
        elif r.get("recipe") == "paper":
            ax.plot([0.0], [r[key]["auc"]], "*", color="k", ms=10, zorder=4,
                    label="start: paper recipe only")
    for k, ((cfg, rs), marker) in enumerate(zip(sorted(by_config.items()), "os^D")):
        rs = sorted(rs, key=lambda r: r["hours"])
        label = {"cpu": "frozen backbone", "cpu_ft": "fine-tuned backbone"}.get(cfg, cfg)
        # later configurations drawn as larger open markers, the first one's small filled
        # markers over them: a point at the same time and AUC as another configuration's
        # (both near 0 early on) shows inside the open marker, not under its edge
        style = dict(ms=6, zorder=4) if k == 0 else dict(ms=10, mfc="none", mew=1.8, zorder=3)
        ax.plot([r["hours"] for r in rs], [r[key]["auc"] for r in rs], "-" + marker, label=label, **style)
        if len(rs) == 1 and len(by_config) > 1:  # a lone point near another configuration's: named beside it
            ax.annotate(label, (rs[0]["hours"], rs[0][key]["auc"]), xytext=(4, 42), textcoords="offset points",
                        fontsize=8, arrowprops=dict(arrowstyle="-", lw=0.6))
    if baseline_auc is not None and np.isfinite(baseline_auc):
        ax.axhline(baseline_auc, color="gray", ls="--", lw=1, label="mean-pose baseline")
    if shipped is not None and shipped.get("hours") is not None and np.isfinite(shipped["hours"]):
        ax.annotate("shipped", (shipped["hours"], shipped[key]["auc"]), xytext=(0, -16),
                    textcoords="offset points", ha="center", fontsize=8)
    ax.set_xlabel("training time on the sim2real recipe [h]")
    ax.set_ylabel(f"keypoint AUC, {key} joints")
    ax.set_ylim(bottom=-0.02)  # a point at AUC 0 stays visible above the axis
    ax.legend(fontsize=8)
    return ax


def draw_predicted_chain(image: np.ndarray, pred_2d: np.ndarray, true_2d: np.ndarray,
                         true_color=(255, 255, 0), pred_color=(0, 255, 255), thickness: int = 2,
                         radius: int = 4) -> np.ndarray:
    """A prediction against the truth on one image (chapter 5): the true chain (J, 2) in
    ``true_color`` (yellow), the predicted chain in ``pred_color`` (cyan: consecutive found
    joints joined base to hand, a missed joint (NaN) breaking the line), and each found
    joint joined to its own true joint by a red line (:func:`draw_joint_errors`), so that a
    chain that looks right but names the joints wrong shows. Returns a copy of the uint8
    (H, W, 3) image.

    Raises:
        ValueError: ``pred_2d`` and ``true_2d`` of different shapes."""
    from . import draw_chain

    pred, true = np.asarray(pred_2d, float), np.asarray(true_2d, float)
    if pred.shape != true.shape:
        raise ValueError(f"pred_2d {pred.shape} and true_2d {true.shape} must have one shape")
    out = draw_chain(image, true, color=true_color, radius=radius, thickness=thickness)
    out = draw_chain(out, pred, color=pred_color, radius=1, thickness=thickness)
    return draw_joint_errors(out, pred, true, color=pred_color, radius=radius, thickness=2)


def plot_image_rows(rows: Sequence[Sequence[np.ndarray]], row_labels: Sequence[str],
                    column_titles: Sequence[str], size: float = 3.2, fontsize: float = 10):
    """Images in a grid with one title per column (on the top row) and one label per row
    (left of its first image): chapter 5's twin ladder of chosen photos. ``rows``: equal-
    length sequences of uint8 (H, W, 3) images, all of one size. Width at most
    ``COLUMN_WIDTH_IN``. Returns the Figure.

    Raises:
        ValueError: no rows, rows of different lengths, or labels that do not match."""
    from . import COLUMN_WIDTH_IN

    if not rows or len({len(r) for r in rows}) != 1:
        raise ValueError("plot_image_rows: rows must be non-empty and of one length")
    n_rows, n_cols = len(rows), len(rows[0])
    if len(row_labels) != n_rows or len(column_titles) != n_cols:
        raise ValueError(f"plot_image_rows: {n_rows} rows and {n_cols} columns, got {len(row_labels)} row "
                         f"labels and {len(column_titles)} column titles")
    h, w = rows[0][0].shape[:2]
    size = min(size, COLUMN_WIDTH_IN / n_cols)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(n_cols * size, n_rows * size * h / w), squeeze=False)
    for i, row in enumerate(rows):
        for j, image in enumerate(row):
            ax = axes[i, j]
            ax.imshow(image)
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(column_titles[j], fontsize=fontsize)
            if j == 0:
                ax.set_ylabel(row_labels[i], fontsize=fontsize)
    fig.tight_layout()
    return fig
