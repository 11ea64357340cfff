"""The figure of Table I's ablation (chapter 2): mean depth error per training condition,
on its own and on the standard test set, beside the paper's figures and the floors."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..eval.table1_study import RANGES, ablation_rows, floor_rows
from ..metrics import PAPER_TABLE_I

COLORS = {"near": "#1f77b4", "far": "#d62728"}


def plot_table1_ablation(study: dict, ax=None, fontsize: float = 10):
    """Grouped bars: per row of the study (x), Table I's mean depth error in cm near and far,
    on the row's own test set (filled; for the start, the README's) and on the standard
    test set (hatched); dashed lines
    the paper's Table I, dotted lines the kinematic fit to the true 2D joints on the
    standard test set (a floor), when the study has it. ``fontsize``: the legend's and the
    conditions' labels (10 pt reads at the size of the body text when a 10-inch figure is
    shrunk to the book's column). Returns the axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 3.8))
    rows = ablation_rows(study)
    x = np.arange(len(rows))
    width = 0.2
    for k, (where, hatch) in enumerate((("own", None), ("standard", "//"))):
        for j, r in enumerate(RANGES):
            values = [np.nan if row[where][r] is None else row[where][r] for row in rows]
            offset = (2 * k + j - 1.5) * width
            ax.bar(x + offset, values, width, color=COLORS[r] if hatch is None else "white",
                   edgecolor=COLORS[r], hatch=hatch,
                   label=f"{r}, {'own' if where == 'own' else 'standard'} test set")
    for r in RANGES:
        ax.axhline(PAPER_TABLE_I[r]["mean"], color=COLORS[r], ls="--", lw=1,
                   label=f"paper, {r} ({PAPER_TABLE_I[r]['mean']:.2f} cm)")
    fits = [f for f in floor_rows(study) if f["floor"] == "true" and f["recipe"] == "paper"]
    for f in fits:
        for r in RANGES:
            if f[r] is not None:
                ax.axhline(f[r], color=COLORS[r], ls=":", lw=1.2,
                           label=f"kinematic fit to true 2D, {r} ({f[r]:.1f} cm)")
    ax.set_xticks(x, [row["label"].replace(" (", "\n(") for row in rows], fontsize=fontsize - 0.5)
    ax.set_ylabel("mean depth error [cm]")
    ax.set_title("Table I under each training condition (same start, same steps)", fontsize=fontsize + 1)
    # below the axes (inside, the legend would hide the tallest bars), in columns: the bars,
    # the paper's lines, the kinematic fit's lines
    handles, labels = ax.get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda i: (0 if "test set" in labels[i] else 1 if "paper" in labels[i]
                                                     else 2, i))
    ax.legend([handles[i] for i in order], [labels[i] for i in order], fontsize=fontsize, ncol=2,
              loc="upper center", bbox_to_anchor=(0.5, -0.16), frameon=False, columnspacing=3)
    ax.grid(axis="y", alpha=0.3)
    return ax
