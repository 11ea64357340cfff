"""Figures of the decoding (chapter 4, paper III-D).

* :func:`plot_disc_depths`: the depth decoded at one robot's joints, one large dot per
  depth disc, beside the other robots' discs in grey (the depth discs themselves are a
  few pixels wide: drawn as pixels they vanish at the book's column width).
* :func:`plot_found_peaks`: the peaks each peak finder found, with a legend under the
  panel.
* :func:`widen_peaks`: belief maps dilated for display, so that their peaks (Gaussians a
  few pixels wide) show in a thumbnail.
"""
from __future__ import annotations

import numpy as np
from matplotlib.lines import Line2D

OTHER_GREY = "0.6"  # the other robots' discs
# legible when the 10-inch, four-panel figure is shrunk to the book's column (about 0.75):
# legends at about 8 pt there, dots about 10 pt across
LEGEND_PT, DOT_AREA = 11, 110
# the peak finders' markers (:func:`plot_found_peaks`): NMS a filled cross, LoG a hollow circle
PEAK_STYLES = {"nms": dict(marker="x", color="c", linewidths=2.0),
               "log": dict(marker="o", facecolors="none", edgecolors="lime", linewidths=1.6)}


def widen_peaks(image: np.ndarray, radius: int) -> np.ndarray:
    """``image`` (H, W) with every pixel raised to the maximum within ``radius`` pixels
    (grey dilation with a disc), for display only: a peak keeps its height and its place
    and becomes a plateau 2 ``radius`` + 1 pixels wide. State the radius where it is shown.
    Returns float (H, W)."""
    import cv2

    image = np.asarray(image, np.float32)
    if radius <= 0:
        return image.copy()
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.dilate(image, disc)


def display_radius(width_px: int, panel_px: float = 200, dot_px: float = 5) -> int:
    """The dilation radius (map pixels) that makes a one-pixel peak about ``dot_px`` wide
    when a map ``width_px`` wide is drawn ``panel_px`` wide (a quarter of the book's
    column)."""
    return max(0, int(round(dot_px * width_px / panel_px / 2)))


def disc_depths(z_map: np.ndarray, joints_uv: np.ndarray) -> np.ndarray:
    """The depth (metres) of ``z_map`` (H, W) at each joint (N, 2) pixels (u, v), read at
    its nearest pixel (one disc holds one depth); NaN for a joint outside the map, not
    finite, or where the map holds no positive depth. Returns float (N,)."""
    z_map = np.asarray(z_map, float)
    uv = np.asarray(joints_uv, float).reshape(-1, 2)
    H, W = z_map.shape
    out = np.full(len(uv), np.nan)
    ok = np.isfinite(uv).all(1)
    u, v = np.full(len(uv), -1), np.full(len(uv), -1)
    u[ok], v[ok] = np.round(uv[ok, 0]).astype(int), np.round(uv[ok, 1]).astype(int)
    inside = ok & (u >= 0) & (u < W) & (v >= 0) & (v < H)
    out[inside] = z_map[v[inside], u[inside]]
    out[~(out > 0)] = np.nan  # NaN stays NaN; 0 or negative: no depth there
    return out


def plot_disc_depths(ax, z_map: np.ndarray, joints_uv: np.ndarray, other_uv: np.ndarray | None, robot: int,
                     silhouettes: np.ndarray | None = None, cmap: str = "turbo", size: float = DOT_AREA,
                     colorbar: bool = True, fontsize: float = 9, legend_fontsize: float = LEGEND_PT):
    """The decoded depth of one robot's depth discs, legible at a thumbnail's size: a dot
    with a black edge at each of its joints, coloured by the depth :func:`disc_depths`
    reads there (a joint without depth: hollow), the other robots' joints as grey dots,
    over the robots' silhouettes in light grey; the image's frame and orientation; a
    legend under the image names the dots; a colour bar gives the depth.

    Args:
        ax: the Axes to draw into.
        z_map: (H, W) metres: the depth map decoded to metres on the discs (other pixels
            are not read).
        joints_uv: (N, 2) pixels of the followed robot's joints (those with a disc).
        other_uv: (M, 2) pixels of the other robots' joints, or None.
        robot: the followed robot's index (for the title and the legend).
        silhouettes: (H, W) bool, where the robots are (light grey), or None.
        size: the dots' area in points squared.
        fontsize: the title's; legend_fontsize: the legend's (its labels on two lines, so
            that it stays about as wide as the panel).

    Returns:
        the PathCollection of the followed robot's dots (the colour bar's mappable).
    """
    H, W = np.asarray(z_map).shape
    z = disc_depths(z_map, joints_uv)
    uv = np.asarray(joints_uv, float).reshape(-1, 2)
    if silhouettes is not None:
        ax.imshow(np.where(np.asarray(silhouettes, bool), 0.9, 1.0), cmap="gray", vmin=0, vmax=1)
    if other_uv is not None and len(other_uv):
        o = np.asarray(other_uv, float).reshape(-1, 2)
        ax.scatter(o[:, 0], o[:, 1], s=size * 0.6, color=OTHER_GREY, edgecolors="k", linewidths=0.6, zorder=2)
    found = np.isfinite(z)
    finite = z[found]
    vmin, vmax = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if vmax - vmin < 1e-3:  # one depth only: a scale around it
        vmin, vmax = vmin - 0.05, vmax + 0.05
    dots = ax.scatter(uv[found, 0], uv[found, 1], c=finite, cmap=cmap, vmin=vmin, vmax=vmax, s=size,
                      edgecolors="k", linewidths=0.8, zorder=3)
    if (~found).any():
        ax.scatter(uv[~found, 0], uv[~found, 1], s=size, facecolors="none", edgecolors="k", linewidths=0.8,
                   zorder=3)
    ax.set_xlim(-0.5, W - 0.5)
    ax.set_ylim(H - 0.5, -0.5)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f"decoded Z [m], robot {robot}", fontsize=fontsize)
    # a neutral marker: the dots' colours are depths, which the colour bar gives
    ms = np.sqrt(size)  # the legend's markers as large as the dots
    handles = [Line2D([], [], ls="", marker="o", mfc="white", mec="k", ms=ms,
                      label=f"robot {robot}'s discs\n(colour: depth)")]
    if other_uv is not None and len(other_uv):
        handles.append(Line2D([], [], ls="", marker="o", mfc=OTHER_GREY, mec="k", ms=ms * 0.8,
                              label="other robots'"))
    # under the image, where it hides no dot
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), fontsize=legend_fontsize,
              handletextpad=0.3, borderpad=0.3, labelspacing=0.3, frameon=False)
    if colorbar:
        ax.figure.colorbar(dots, ax=ax, fraction=0.035)
    return dots


def plot_found_peaks(ax, peaks: dict[str, np.ndarray], size: float = 80, fontsize: float = LEGEND_PT):
    """The peaks that each peak finder found, drawn over a belief map, with a legend under
    the panel legible at the book's column width: NMS as cyan crosses, LoG as hollow green
    circles (:data:`PEAK_STYLES`; another method in the default marker), named as the book
    names them (``peaks.peak_name``).

    Args:
        peaks: method ("nms", "log") -> (J, 2) pixels (u, v); NaN rows are skipped.
        size: the markers' area in points squared.

    Returns:
        the Legend.
    """
    from ..peaks import peak_name

    for method, uv in peaks.items():
        uv = np.asarray(uv, float).reshape(-1, 2)
        # the circle drawn wider than the cross and below it, so that a cross on the same
        # peak shows inside its circle
        ring = method == "log"
        ax.scatter(uv[:, 0], uv[:, 1], s=size * (3.0 if ring else 1.0), label=peak_name(method),
                   zorder=3 if ring else 4, **PEAK_STYLES.get(method, {}))
    return ax.legend(loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=len(peaks), fontsize=fontsize,
                     handletextpad=0.2, columnspacing=1.0, frameon=False)
