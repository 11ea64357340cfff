"""Plots of the localization evaluation and the ``robotpose eval`` command line.

The evaluations themselves are in ``eval/``: the test set (``testset.py``), localization
(``localization.py``), instances (``instances.py``), the whole pipeline in 3D
(``pose3d.py``) and real photos (``real.py``).

CLI::

    robotpose eval localization --checkpoint PATH --n N [--seed S] [--method nms|log|both]
    robotpose eval instances --checkpoint PATH --n N [--min-active-fraction F | --paper-rule]
    robotpose eval real --data DIR [--checkpoint LOC.pt] [--instances INST.pt|none]
                        [--method nms|log] [--json OUT]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

from . import metrics
from .config import resolve_device
from .decode import METHODS
from .eval.instances import evaluate_instances, format_instance_results
from .eval.localization import LocalizationReport, evaluate_localization
from .eval.real import evaluate_real, format_real_report, load_predictor
from .eval.testset import TEST_SEED, test_dataset
from .models.instances import DEFAULT_MIN_ACTIVE_FRACTION, PAPER_MIN_ACTIVE_FRACTION
from .real_panda import find_real_panda_dir, load_real_panda
from .tasks import load_model


# ------------------------------------------------------------------------------- plots
def plot_pixel_errors(report: LocalizationReport, ax=None, methods: Sequence[str] | None = None,
                      ylim: float | None = None):
    """Fig. 6: box plots of the pixel error per joint (480x640 scale), one box per method
    side by side. Misses are left out (their count is in the legend)."""
    import matplotlib.pyplot as plt

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
                label=f"{m.upper()} ({report.misses(m)} missed)")
    if not any(np.isfinite(report.pixel_errors[m]).any() for m in methods):
        ax.text(0.5, 0.5, "no joint found above the score threshold", ha="center",
                transform=ax.transAxes)
        ax.set_ylim(0, 1)
    ax.set_xticks(np.arange(J))
    ax.set_xticklabels(report.joint_names, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("pixel error at 480x640 [px]")
    ax.set_title(f"{report.robot}: joint pixel error ({report.num_images} test images)")
    if ylim is not None:
        ax.set_ylim(0, ylim)
    ax.legend(fontsize=8)
    return ax


def plot_depth_errors(report: LocalizationReport, ax=None, bins: int = 12, max_points: int = 3000,
                      seed: int = 0):
    """Depth error (cm) against true depth (m): a subsample of pixels and the binned
    median with its 25-75 % band; the near/far split of Table I as a dashed line."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.8))
    z, e = report.depth_true_m, report.depth_errors_cm
    if z.size == 0:
        ax.text(0.5, 0.5, "no depth pixels", ha="center", transform=ax.transAxes)
        return ax
    pick = np.random.default_rng(seed).permutation(z.size)[:max_points]
    ax.scatter(z[pick], e[pick], s=2, alpha=0.25, color="tab:gray", label="pixels (subsample)")
    edges = np.linspace(z.min(), z.max(), bins + 1)
    centres, q = [], []
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (z >= lo) & (z <= hi)
        if sel.sum() >= 5:
            centres.append(0.5 * (lo + hi))
            q.append(np.percentile(e[sel], [25, 50, 75]))
    if q:
        q = np.array(q)
        ax.plot(centres, q[:, 1], "o-", color="tab:red", label="median")
        ax.fill_between(centres, q[:, 0], q[:, 2], color="tab:red", alpha=0.2, label="25-75 %")
    if z.min() < metrics.NEAR_FAR_SPLIT_M <= z.max():
        ax.axvline(metrics.NEAR_FAR_SPLIT_M, ls="--", color="k", lw=0.8, label="near | far")
    ax.set_xlabel("true depth [m]")
    ax.set_ylabel("depth error [cm]")
    ax.set_ylim(0, max(1.0, np.percentile(e, 98) * 1.2))
    ax.set_title(f"{report.robot}: depth error where the true belief >= phi")
    ax.legend(fontsize=8)
    return ax


def plot_stage_beliefs(image: np.ndarray, stage_beliefs: Sequence[np.ndarray],
                       joint_names: Sequence[str], size: float = 1.6, vmax: float | None = None):
    """All stages x joints of one image: rows = stages, columns = joints, each belief
    map drawn over the grey image with opacity growing with the belief.

    ``stage_beliefs`` is a list of (J, H, W) arrays. All maps share one colour scale from
    0 to ``vmax`` (default: the largest belief of all maps, at least 0.05), so stages and
    joints compare directly; the scale is given in the figure title."""
    import matplotlib.pyplot as plt

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
            ax.imshow(grey, cmap="gray", vmin=0, vmax=1)
            v = np.clip(stage_beliefs[s][j] / vmax, 0, 1)
            rgba = cmap(v)
            rgba[..., 3] = np.sqrt(v)  # faint beliefs stay visible, zero stays transparent
            ax.imshow(rgba)
            ax.set_xticks([]); ax.set_yticks([])  # noqa: E702
            if s == 0:
                ax.set_title(joint_names[j], fontsize=8)
            if j == 0:
                ax.set_ylabel(f"stage {s + 1}", fontsize=8)
    fig.suptitle(f"belief 0 (transparent) .. {vmax:.2f} (bright)", fontsize=8, y=0.995)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------- CLI
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="robotpose eval",
                                description="Evaluate a checkpoint on the fixed synthetic test set "
                                            "(localization, instances) or on real photographs (real).")
    p.add_argument("task", choices=["localization", "instances", "real"])
    p.add_argument("--checkpoint", help="checkpoint file (.pt); real: the localization checkpoint "
                   "(default the shipped panda reference)")
    p.add_argument("--data", help="real: folder of calibrated photos (format of real_panda_dev; "
                   "default ../shared/data/real_panda_dev when present)")
    p.add_argument("--instances", help="real: instance checkpoint, or 'none' for one robot per "
                   "image (default the shipped reference)")
    p.add_argument("--json", help="real: also write the figures to this JSON file")
    p.add_argument("--n", type=int, default=100, help="test scenes (default 100)")
    p.add_argument("--seed", type=int, default=TEST_SEED, help=f"test set seed (default {TEST_SEED})")
    p.add_argument("--method", default="both", choices=["nms", "log", "both"],
                   help="joint peak finder (localization)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--min-active-fraction", type=float, default=DEFAULT_MIN_ACTIVE_FRACTION,
                   help="instances: stop when a mask covers less than this share of the image "
                        f"(default {DEFAULT_MIN_ACTIVE_FRACTION}; the paper uses {PAPER_MIN_ACTIVE_FRACTION})")
    p.add_argument("--paper-rule", action="store_true",
                   help=f"instances: use the paper's stopping rule ({PAPER_MIN_ACTIVE_FRACTION})")
    p.add_argument("--device", default="auto")
    p.add_argument("--no-progress", action="store_true")
    return p


def main_real(args) -> int:
    """``robotpose eval real``: print the report, optionally write JSON."""
    folder = Path(args.data) if args.data else find_real_panda_dir()
    if folder is None:
        raise FileNotFoundError("no --data given and no shared/data/real_panda_dev beside the repository")
    photos = load_real_panda(folder)
    if not photos:
        raise FileNotFoundError(f"{folder}: no info.json with photos (format of real_panda_dev)")
    predictor = load_predictor(args.checkpoint, args.instances, device=args.device)
    method = None if args.method == "both" else args.method
    result = evaluate_real(predictor, photos, method)
    print(f"real photos {folder}: localization {args.checkpoint or 'shipped reference'}, "
          f"instances {args.instances or 'shipped reference'}, peaks {method or predictor.method}")
    print(format_real_report(result))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.task == "real":
            return main_real(args)
        if not args.checkpoint:
            raise ValueError(f"--checkpoint is required for {args.task}")
        if args.n < 1:
            raise ValueError(f"--n: expected at least 1 test scene, got {args.n}")
        device = resolve_device(args.device)
        if args.task == "localization":
            model, task, ckpt = load_model(args.checkpoint, device, expect={"task": "localization"})
            methods = METHODS if args.method == "both" else (args.method,)
            report = evaluate_localization(model, task, args.n, seed=args.seed, batch_size=args.batch_size,
                                           methods=methods, device=device, progress=not args.no_progress)
            print(f"checkpoint {args.checkpoint}: {ckpt['config'].get('name')} config, step {ckpt['step']}, "
                  f"test seed {args.seed}")
            print(report.format())
        else:
            model, task, ckpt = load_model(args.checkpoint, device, expect={"task": "instances"})
            fraction = PAPER_MIN_ACTIVE_FRACTION if args.paper_rule else args.min_active_fraction
            data = test_dataset(task.robot, args.n, task.input_size, args.seed)
            results = evaluate_instances(model, data, task.input_size, batch_size=args.batch_size,
                                         device=device, min_active_fraction=fraction)
            print(f"checkpoint {args.checkpoint}: step {ckpt['step']}, {args.n} test scenes of "
                  f"{task.robot}, seed {args.seed}, min active fraction {fraction}")
            print(format_instance_results(results))
    except (ValueError, FileNotFoundError) as exc:
        print(f"robotpose eval: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
