"""Evaluation measures of the paper (§IV-B) and a few standard ones beyond it.

* pixel error per joint: Euclidean distance between predicted and true joint pixels
  (Fig. 6), optionally rescaled to a reference resolution (the paper reports 480x640);
* depth error where the true belief is at least phi, split near [0, 5) m and far
  [5, 10] m (Table I): mean, std and quartiles in centimetres;
* PCK / AUC over pixel thresholds and 3D joint position errors.

Inputs are NumPy arrays; NaN marks a joint that was not found (it counts as a miss in
PCK and is left out of error statistics, with the miss count reported separately).
"""
from __future__ import annotations

import numpy as np

NEAR_FAR_SPLIT_M = 5.0
REFERENCE_WIDTH = 640  # the paper reports pixel errors at 480x640: errors are scaled to this width


def sign_test(wins: int, losses: int) -> float:
    """Two-sided p-value of ``wins`` against ``losses`` (ties left out) if either side were
    equally likely to win each time (``scipy.stats.binomtest``); NaN for no trial."""
    from scipy.stats import binomtest

    return float(binomtest(wins, wins + losses).pvalue) if wins + losses else float("nan")


def chance_band(share: float, n: int) -> float:
    """Two binomial standard errors of a share ``share`` measured on ``n`` items: how far
    chance alone moves such a share, either way."""
    return float(2 * np.sqrt(share * (1 - share) / n))


def pixel_errors(pred_2d: np.ndarray, true_2d: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """(..., J, 2) predictions and targets -> (..., J) distances in pixels times ``scale``.

    ``scale`` converts to a reference resolution (e.g. 640 / width). NaN where predicted
    coordinates are NaN.
    """
    return np.linalg.norm(np.asarray(pred_2d, float) - np.asarray(true_2d, float), axis=-1) * scale


def summary(values: np.ndarray) -> dict[str, float]:
    """Mean, std, 25/50/75 % and count of the finite values (NaN dropped)."""
    v = np.asarray(values, float).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        return {"mean": float("nan"), "std": float("nan"), "25%": float("nan"),
                "50%": float("nan"), "75%": float("nan"), "n": 0}
    q25, q50, q75 = np.percentile(v, [25, 50, 75])
    return {"mean": float(v.mean()), "std": float(v.std()), "25%": float(q25), "50%": float(q50),
            "75%": float(q75), "n": int(v.size)}


def depth_errors_cm(pred_depth_m: np.ndarray, true_depth_m: np.ndarray,
                    region: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Absolute depth errors (cm) over the pixels of ``region`` (e.g. true belief >= phi).

    Returns (errors, true depths in metres) of the selected pixels, so that callers can
    split by range.
    """
    region = np.asarray(region, bool)
    err = np.abs(np.asarray(pred_depth_m, float) - np.asarray(true_depth_m, float))[region] * 100.0
    return err, np.asarray(true_depth_m, float)[region]


def near_far_table(errors_cm: np.ndarray, depths_m: np.ndarray, split_m: float = NEAR_FAR_SPLIT_M,
                   max_m: float = 10.0) -> dict[str, dict[str, float]]:
    """The paper's Table I: error summaries for near [0, split) and far [split, max]."""
    errors_cm, depths_m = np.asarray(errors_cm, float), np.asarray(depths_m, float)
    near = depths_m < split_m
    far = (depths_m >= split_m) & (depths_m <= max_m)
    return {"near": summary(errors_cm[near]), "far": summary(errors_cm[far])}


def pck(errors_px: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Fraction of joints within each pixel threshold; NaN errors (misses) count as wrong."""
    e = np.asarray(errors_px, float).ravel()
    if e.size == 0:
        return np.full(len(thresholds), np.nan)
    e = np.where(np.isfinite(e), e, np.inf)
    return np.array([(e <= t).mean() for t in thresholds])


def pck_auc(errors_px: np.ndarray, max_threshold: float = 20.0, steps: int = 101) -> float:
    """Area under the PCK curve from 0 to ``max_threshold`` pixels, normalised to [0, 1]."""
    t = np.linspace(0, max_threshold, steps)
    return float(np.trapezoid(pck(errors_px, t), t) / max_threshold)


def position_errors_cm(pred_3d: np.ndarray, true_3d: np.ndarray) -> np.ndarray:
    """(..., J, 3) metres -> (..., J) Euclidean 3D errors in centimetres (NaN for misses)."""
    return np.linalg.norm(np.asarray(pred_3d, float) - np.asarray(true_3d, float), axis=-1) * 100.0


def format_error_table(table: dict[str, dict[str, float]], rows=("mean", "std", "25%", "50%", "75%"),
                 reference: dict[str, dict[str, float]] | None = None, unit: str = "cm") -> str:
    """Plain-text table with one column per range, optionally beside reference values."""
    cols = list(table)
    head = f"{'':8s}" + "".join(f"{c + ' [' + unit + ']':>14s}" for c in cols)
    if reference:
        head += "".join(f"{'paper ' + c:>14s}" for c in cols)
    lines = [head]
    for r in rows:
        line = f"{r:8s}" + "".join(f"{table[c][r]:14.2f}" for c in cols)
        if reference:
            line += "".join(f"{reference[c][r]:14.2f}" for c in cols)
        lines.append(line)
    lines.append(f"{'n':8s}" + "".join(f"{table[c]['n']:14d}" for c in cols))
    return "\n".join(lines)


# The paper's Table I (depth errors on synthetic test data, cm).
PAPER_TABLE_I = {
    "near": {"mean": 5.81, "std": 5.07, "25%": 2.52, "50%": 5.12, "75%": 8.35},
    "far": {"mean": 9.50, "std": 7.74, "25%": 4.05, "50%": 6.09, "75%": 12.34},
}
# The paper's Table II (runtimes at 480x640 on a GTX 1080 Ti, ms: mean, std).
PAPER_TABLE_II = {
    "belief prediction": (10.95, 12.675),
    "instance mask (per robot)": (17.75, 0.625),
    "joint localization NMS": (0.41, 0.125),
    "joint localization LoG": (310.00, 3.225),
}
# The GPU the paper's Table II was timed on.
PAPER_TABLE_II_GPU = "GTX 1080 Ti"
