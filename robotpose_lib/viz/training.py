"""Figures of a training run: loss curves from its metrics log (``train.read_metrics``),
a logged curve with its trailing mean and spread (:func:`rolling_stats`) and a run made of
parts joined end to end (:func:`lineage_curve`); the figures read from a log's end or start
(:func:`tenth_mean`, :func:`last_stage_terms`)."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.artist import Artist
from matplotlib.lines import Line2D
from matplotlib.text import Text
from matplotlib.transforms import Bbox, IdentityTransform

from ..train import METRICS_NAME, read_metrics


def plot_loss_curves(path: str | Path, ax=None, log_scale: bool = True):
    """Plot the per-stage losses (eq. 1) against the step from a metrics log.

    Args:
        path: metrics.jsonl of a run (or its directory).
    Returns:
        the matplotlib Axes.
    """
    path = Path(path)
    if path.is_dir():
        path = path / METRICS_NAME
    rows = read_metrics(path)
    if not rows:
        raise ValueError(f"{path}: no metrics to plot")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    steps = [r["step"] for r in rows]
    stages = sorted({k for r in rows for k in r if k.startswith("stage_")},
                    key=lambda k: int(k.split("_")[1]))
    for k in stages:
        ax.plot(steps, [r.get(k, float("nan")) for r in rows], label=f"stage {int(k[6:]) + 1}")
    if not stages:  # tasks without stages (the instance model) log one total loss
        ax.plot(steps, [r.get("loss", float("nan")) for r in rows], label="loss")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (eq. 1, per pixel)")
    if log_scale:
        ax.set_yscale("log")
    ax.legend()
    return ax


def plot_term_history(paths, ax=None, smooth: int = 10, labels=None):
    """The last stage's belief and (unweighted) depth terms over a run made of parts.

    Args:
        paths: metrics logs (files, run directories or lists of rows) of consecutive parts of one
            training (e.g. a run and its warm-started continuation); steps are offset so
            that the parts follow each other, and a dotted line marks each boundary.
        smooth: moving-average window in log lines (batches differ a lot).
        labels: optional text per part, written centred over the part's steps.

    Returns:
        the matplotlib Axes (log scale).
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    first = paths[0]
    rows = first if isinstance(first, list) else read_metrics(
        Path(first) / METRICS_NAME if Path(first).is_dir() else first)
    if not rows:
        raise ValueError(f"{first}: no metrics to plot")
    last = max(int(k.split("_")[1]) for k in rows[0] if k.startswith("belief_"))
    curves = {name: lineage_curve(paths, f"{name}_{last}") for name in ("belief", "depth")}
    xs = list(curves["belief"]["steps"])
    belief, depth = curves["belief"]["values"], curves["depth"]["values"]
    kernel = np.ones(max(1, smooth)) / max(1, smooth)
    for values, name in ((belief, "belief term"), (depth, "depth term (unweighted)")):
        v = np.convolve(values, kernel, mode="valid")
        ax.plot(xs[len(xs) - len(v):], v, label=name)
    # after the curves: the labels of short parts are spread over the steps drawn
    mark_parts(ax, curves["belief"]["starts"], labels, end=xs[-1] if xs else None)
    ax.set_yscale("log")
    ax.set_xlabel("step (all parts)")
    ax.set_ylabel("per-pixel loss, last stage")
    ax.legend()
    return ax


def _part_starts(n: int, parts: np.ndarray | None) -> np.ndarray:
    """For each of ``n`` entries, the index where its part begins (``parts``: a part index
    per entry, parts contiguous as :func:`lineage_curve` returns them; None: one part)."""
    if parts is None:
        return np.zeros(n, int)
    parts = np.asarray(parts)
    new_part = np.r_[True, parts[1:] != parts[:-1]] if n else np.zeros(0, bool)
    return np.maximum.accumulate(np.where(new_part, np.arange(n), 0)) if n else np.zeros(0, int)


def rolling_stats(values: np.ndarray, window: int,
                  parts: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation over a trailing window (the first entries use fewer).

    Args:
        values: (N,) a logged curve (e.g. loss per logging step).
        window: window length in entries (>= 1).
        parts: optional (N,) part index per entry (contiguous parts): the window restarts
            at each part, so that no mean mixes two parts of a run.

    Returns:
        mean (N,), std (N,) (population std, 0 for a single entry).
    """
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if window < 1:
        raise ValueError(f"window: must be >= 1, got {window}")
    starts = _part_starts(len(values), parts)
    mean, std = np.empty_like(values), np.empty_like(values)
    for i in range(len(values)):
        chunk = values[max(starts[i], i - window + 1): i + 1]
        mean[i], std[i] = chunk.mean(), chunk.std()
    return mean, std


def lineage_curve(paths, key: str = "loss") -> dict:
    """A logged value over a training made of parts (log files, run folders or lists of
    log rows, e.g. ``cards.ModelRecord.part_logs()``, in training order), joined end to
    end: each part's steps are offset by the steps of the parts before it.

    Returns:
        {"steps" (N,), "values" (N,), "part" (N,) the part index of each entry, "starts"
        the step at which each part begins (0 for the first), "lengths" the steps of each
        part}; log lines without ``key`` or "step" are skipped.
    """
    steps, values, part, starts, lengths = [], [], [], [], []
    offset = 0
    for i, path in enumerate(paths):
        if isinstance(path, list):
            rows, path = [r for r in path if key in r and "step" in r], f"part {i + 1}"
        else:
            path = Path(path)
            rows = [r for r in read_metrics(path / METRICS_NAME if path.is_dir() else path)
                    if key in r and "step" in r]
        if not rows:
            raise ValueError(f"{path}: no logged {key!r} to plot")
        starts.append(offset)
        steps += [offset + r["step"] for r in rows]
        values += [r[key] for r in rows]
        part += [i] * len(rows)
        lengths.append(int(rows[-1]["step"]))
        offset += rows[-1]["step"]
    return {"steps": np.asarray(steps), "values": np.asarray(values, dtype=np.float64),
            "part": np.asarray(part), "starts": starts, "lengths": lengths}


def relative_noise(values: np.ndarray, window: int, parts: np.ndarray | None = None) -> float:
    """Median over a logged curve of the trailing std / mean over ``window`` entries, windows
    that span fewer than ``window`` entries left out; with ``parts`` (a part index per entry)
    no window crosses from one part into the next. NaN when no window is complete."""
    values = np.asarray(values, dtype=np.float64)
    mean, std = rolling_stats(values, window, parts)
    complete = np.arange(len(values)) - _part_starts(len(values), parts) >= window - 1
    ratios = std[complete] / mean[complete]
    return float(np.median(ratios)) if ratios.size else float("nan")


def tenth_mean(values, end: bool = True, share: int = 10) -> float:
    """Mean over the last (``end``) or first 1/``share`` of a run's logged values (at least
    one value): where a logged curve ends or starts, with the batch-to-batch noise averaged.
    Raises ValueError for no values."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if not values.size:
        raise ValueError("values: nothing logged")
    k = max(1, len(values) // share)
    return float(np.mean(values[-k:] if end else values[:k]))


def last_stage_terms(rows: list[dict], share: int = 10) -> tuple[float, float, float]:
    """The last stage's loss terms (paper eq. 1) where a localization run ends.

    Args:
        rows: the run's metrics log rows (``train.read_metrics``), each with "belief_N",
            "depth_N" (the unweighted depth term) and "stage_N" (the stage's loss, belief +
            lambda * depth) of every stage N.
        share: the means run over the last 1/``share`` of the rows.

    Returns:
        (belief term, unweighted depth term, weighted depth term = stage loss - belief),
        per pixel, each the mean over those rows.

    Raises:
        ValueError: no rows, or rows without a "belief_N" entry.
    """
    if not rows or not any(k.startswith("belief_") for k in rows[0]):
        raise ValueError("rows: need log rows with the stages' belief terms (belief_N)")
    last = max(int(k.split("_")[1]) for k in rows[0] if k.startswith("belief_"))
    tail = rows[-max(1, len(rows) // share):]
    belief = float(np.mean([r[f"belief_{last}"] for r in tail]))
    depth = float(np.mean([r[f"depth_{last}"] for r in tail]))
    return belief, depth, float(np.mean([r[f"stage_{last}"] for r in tail])) - belief


def plot_total_and_fifths(ax, steps, values, label: str = "total (sum over stages)"):
    """A run's logged total loss (black) and, dashed in grey, the mean over the first and
    over the last fifth of its logged points (at least one point each), each drawn across
    the steps it averages: the two means a reader compares to see whether the run learnt.
    Raises ValueError for no points. Returns the Axes."""
    steps, values = np.asarray(steps), np.asarray(values, dtype=np.float64)
    if not values.size:
        raise ValueError("values: nothing logged")
    ax.plot(steps, values, color="k", lw=1.5, label=label)
    fifth = max(1, len(values) // 5)  # logged points in a fifth of the run
    for piece, name in ((slice(None, fifth), "mean of the first and last fifth"),
                        (slice(-fifth, None), None)):
        ax.plot(steps[piece][[0, -1]], [values[piece].mean()] * 2, "--", color="0.45", lw=2,
                label=name)
    return ax


def plot_training_curve(ax, steps: np.ndarray, values: np.ndarray, window: int, label: str = "loss",
                        color: str = "C0", parts: np.ndarray | None = None, fontsize: float = 8):
    """A logged curve, its trailing mean and a +-1 std band over ``window`` entries.

    With ``parts`` (a part index per entry, as :func:`lineage_curve` returns) the trailing
    window restarts at each part, so that no mean mixes two parts. ``fontsize``: legend.
    """
    steps = np.asarray(steps)
    values = np.asarray(values, dtype=np.float64)
    mean, std = rolling_stats(values, window, parts)
    ax.plot(steps, values, color=color, alpha=0.3, lw=0.8, label=f"{label} (logged)")
    ax.plot(steps, mean, color=color, lw=2, label=f"{label} (mean of {window})")
    ax.fill_between(steps, mean - std, mean + std, color=color, alpha=0.15)
    ax.set_xlabel("step")
    ax.legend(fontsize=fontsize)
    return ax


class PhaseLabels(Artist):
    """The labels of a run's parts, each centred over its part's span of steps, just above
    the axes. Laid out whenever drawn (so that a later ``tight_layout`` or another dpi keeps
    them apart): labels whose spans are too narrow for them are pushed apart, as a block
    centred on their spans, at least ``gap_pt`` points apart, and each label that does not
    sit over its own span is joined by a thin line to the span's middle, a few points
    inside the axes."""

    def __init__(self, ax, spans, labels, fontsize: float = 8, gap_pt: float = 8.0, dip_pt: float = 6.0):
        super().__init__()
        self.ax, self.spans, self.gap_pt = ax, [(float(a), float(b)) for a, b in spans], gap_pt
        self.dip_pt = dip_pt  # how far a leader reaches into the axes
        self.set_figure(ax.figure)
        self.set_zorder(3)
        self.texts = [Text(0, 0, str(label), fontsize=fontsize, ha="center", va="bottom") for label in labels]
        self.leaders = [Line2D([], [], color="grey", lw=0.6) for _ in labels]
        for artist in (*self.texts, *self.leaders):
            artist.set_figure(ax.figure)
            artist.set_transform(IdentityTransform())
        self.leader_shown = [False] * len(labels)

    def layout(self, renderer):
        """Place the labels for the axes' current size (display pixels)."""
        ax = self.ax
        to_px = ax.transData.transform
        box = ax.get_window_extent(renderer)
        centres = [to_px([((a + b) / 2, 1.0)])[0, 0] for a, b in self.spans]
        widths = []
        for text in self.texts:
            text.set_position((0, 0))
            widths.append(text.get_window_extent(renderer).width)
        gap = self.gap_pt * renderer.points_to_pixels(1.0)
        # blocks of labels packed side by side, each centred on its labels' spans, merged
        # while two overlap, kept between the axes' left and right ends
        blocks = [[k] for k in range(len(self.texts))]

        def place(block):
            offsets = np.cumsum([0.0] + [widths[k] + gap for k in block[:-1]]) + np.array([widths[k] / 2
                                                                                             for k in block])
            start = float(np.mean([centres[k] - o for k, o in zip(block, offsets)]))
            total = sum(widths[k] for k in block) + gap * (len(block) - 1)
            start = min(max(start, box.x0 - widths[block[0]] / 2), box.x1 + widths[block[-1]] / 2 - total)
            return start, start + total, start + offsets

        while True:
            placed = [place(b) for b in blocks]
            merge = next((i for i in range(len(blocks) - 1) if placed[i][1] + gap > placed[i + 1][0]), None)
            if merge is None:
                break
            blocks[merge:merge + 2] = [blocks[merge] + blocks[merge + 1]]
        y_text = box.y1 + renderer.points_to_pixels(1.5)
        for block, (_, _, xs) in zip(blocks, placed):
            for k, x in zip(block, xs):
                self.texts[k].set_position((x, y_text))
                a, b = (to_px([(v, 1.0)])[0, 0] for v in self.spans[k])
                # a label that is not over its own span points to the span's middle
                off = not (min(a, b) <= x - widths[k] / 2 and x + widths[k] / 2 <= max(a, b))
                self.leader_shown[k] = bool(off)
                # into the axes a little, so that its slant shows which span it names
                self.leaders[k].set_data([x, centres[k]], [y_text, box.y1 - renderer.points_to_pixels(self.dip_pt)])

    def draw(self, renderer):
        if not self.get_visible():
            return
        self.layout(renderer)
        for text, leader, shown in zip(self.texts, self.leaders, self.leader_shown):
            text.draw(renderer)
            if shown:
                leader.draw(renderer)
        self.stale = False

    def get_window_extent(self, renderer=None):
        renderer = renderer or self.figure.canvas.get_renderer()
        self.layout(renderer)
        return Bbox.union([t.get_window_extent(renderer) for t in self.texts])

    def get_tightbbox(self, renderer=None):
        return self.get_window_extent(renderer)


def mark_parts(ax, starts, labels=None, fontsize: float = 8, end: float | None = None, gap_pt: float = 8.0):
    """A dotted line at the start of every part after the first (``lineage_curve``'s
    "starts") and, optionally, each part's label centred over its span of steps (from its
    start to the next part's, the last to ``end``, or to the data already drawn in ``ax``):
    :class:`PhaseLabels`. Labels of parts too short for them are spread apart, each joined
    to its span's middle by a thin line. Returns ``ax``."""
    for i, start in enumerate(starts):
        if i:
            ax.axvline(start, color="grey", ls=":", lw=1)
    if not labels:
        return ax
    if end is not None:
        hi = float(end)
    elif ax.has_data():
        hi = ax.dataLim.x1
    else:
        hi = float(max(starts)) if len(starts) else 1.0
    bounds = [float(v) for v in starts] + [max(hi, float(starts[-1]))]
    ax.add_artist(PhaseLabels(ax, list(zip(bounds[:-1], bounds[1:])), labels, fontsize, gap_pt))
    return ax


def phase_key(whats, width: int = 50, prefix: str = "phases ") -> str:
    """``"phases 1: a, 2: b, ..."`` for the parts' descriptions ``whats``, in lines of at
    most about ``width`` characters broken only between two phases (never inside one)."""
    items = [f"{i}: {what}" for i, what in enumerate(whats, 1)]
    lines, line = [], prefix.rstrip()
    for k, item in enumerate(items):
        piece = item + ("," if k < len(items) - 1 else "")
        if line and len(line) + 1 + len(piece) > width and line != prefix.rstrip():
            lines.append(line)
            line = piece
        else:
            line = f"{line} {piece}" if line else piece
    lines.append(line)
    return "\n".join(lines)
