"""Chapter 2 (localization): the localization tables and their reading (Fig. 6, the peak finders,
Table I: :func:`localization_tables`, :func:`describe_localization`), a model's record against the
chapter's report (:func:`localization_card_comparison`), the live run, the depth weight, the stage
maps, the toy depth runs and the errors on real photos."""
from __future__ import annotations

import numpy as np

from ..peaks import peak_name
from ..scorecard import base_tip_medians
from .tables import markdown_table


def localization_tables(report, paper: dict | None = None) -> str:
    """Markdown tables of an ``eval.localization.LocalizationReport``: the pixel error per
    joint for each peak finder side by side (median, mean, misses; at 480x640), then Table
    I (depth error near and far, cm) beside the paper's (``paper``, default
    ``metrics.PAPER_TABLE_I``) and the median-depth baseline's mean."""
    from ..metrics import PAPER_TABLE_I

    paper = PAPER_TABLE_I if paper is None else paper
    methods = report.methods
    tables = {m: report.joint_table(m) for m in methods}
    rows = []
    for k, name in enumerate([*report.joint_names, "all"]):
        row = {"joint": name if name != "all" else "**all**", "n": tables[methods[0]][k]["n"]}
        for m in methods:
            r = tables[m][k]
            row[f"{peak_name(m)} median"], row[f"{peak_name(m)} mean"], row[f"{peak_name(m)} missed"] = \
                r["50%"], r["mean"], r["missed"]
        rows.append(row)
    pixel = markdown_table(rows, formats={c: ".1f" for c in rows[0] if "median" in c or "mean" in c},
                           headers={"n": "in frame"})
    depth, base = report.depth_table(), report.depth_baseline_table()
    drows = []
    for stat in ("mean", "std", "25%", "50%", "75%"):
        drows.append({"": stat, "near (ours)": depth["near"][stat], "far (ours)": depth["far"][stat],
                      "near (paper)": paper["near"][stat], "far (paper)": paper["far"][stat]})
    drows.append({"": "baseline mean", "near (ours)": base["near"]["mean"], "far (ours)": base["far"]["mean"],
                  "near (paper)": float("nan"), "far (paper)": float("nan")})
    depth_md = markdown_table(drows, formats={"near (ours)": ".1f", "far (ours)": ".1f", "near (paper)": ".2f",
                                              "far (paper)": ".2f"},
                              headers={c: f"{c} [cm]" for c in drows[0] if c})
    return (f"Pixel error per joint at 480x640 [px], {report.counted.shape[0]} robots in {report.num_images} "
            "test images (*in frame*: the joints that count, inside the image and not hidden behind another "
            f"robot, found or missed):\n\n{pixel}\n\nDepth error where the true belief is at least $\\varphi$ "
            "(Table I) over "
            f"{depth['near']['n']:,} near and {depth['far']['n']:,} far pixels; the baseline predicts the median "
            f"true depth everywhere:\n\n{depth_md}")


def describe_localization(report, paper: dict | None = None, conditions: str = "") -> str:
    """Sentences that read a ``LocalizationReport``: Fig. 6's ordering (joints near the base
    against those near the tip), the two peak finders, and Table I against the paper and
    the median-depth baseline. ``conditions``: how this model and its test scenes differ
    from the paper's, said in the sentence that sets its depth error beside the paper's.
    Written from the numbers, for the chapter's prose."""
    from ..metrics import PAPER_TABLE_I

    paper = PAPER_TABLE_I if paper is None else paper
    out = []
    for m in report.methods:
        joints = report.joint_table(m)[:-1]
        base = float(np.nanmean([r["50%"] for r in joints[:2]]))
        tip = float(np.nanmean([r["50%"] for r in joints[-2:]]))
        if np.isfinite(base) and np.isfinite(tip):
            out.append(f"With {peak_name(m)} the two joints nearest the base have a median error of "
                       f"{base:.1f} px and the two nearest the tip {tip:.1f} px: "
                       + ("the paper's Fig. 6 ordering holds." if base < tip else
                          "the opposite of the paper's Fig. 6 ordering."))
    if len(report.methods) >= 2:
        a, b = report.methods[:2]
        ra, rb = report.joint_table(a)[-1], report.joint_table(b)[-1]
        better = a if ra["50%"] < rb["50%"] else b
        out.append(f"Over all joints {peak_name(a)} reaches a median of {ra['50%']:.1f} px ({ra['missed']} missed) and "
                   f"{peak_name(b)} {rb['50%']:.1f} px ({rb['missed']} missed): {peak_name(better)} places "
                   "the peaks it finds more precisely here (each median is over the joints its finder found).")
    if report.methods:
        m = report.methods[0]
        rows, total = report.joint_table(m)[:-1], report.joint_table(m)[-1]
        counted = total["n"]   # the joints that count, found or missed
        if total["missed"] and counted:
            worst = max(rows, key=lambda r: r["missed"])
            out.append(f"A joint is *missed* when its belief map has no peak above 0.1 inside its robot's "
                       f"true mask: with {peak_name(m)}, {total['missed']} of the {counted} joints in the frame "
                       f"({total['missed'] / counted:.0%}), most often {worst['joint']} "
                       f"({worst['missed']} of {worst['n']}). A missed joint has no error, "
                       "so the medians above describe the joints that were found.")
    depth, base = report.depth_table(), report.depth_baseline_table()
    for rng in ("near", "far"):
        d = depth[rng]
        if not d["n"]:
            out.append(f"No test pixel falls in the {rng} range.")
            continue
        ratio = d["mean"] / base[rng]["mean"] if base[rng]["mean"] else float("nan")
        verdict = ("worse than" if ratio >= 1 else "close to" if ratio > 0.8 else
                   f"{1 / ratio:.1f} times better than") if np.isfinite(ratio) else "not comparable with"
        out.append(f"The {rng} depth error is {d['mean']:.1f} cm on average ({d['50%']:.1f} cm median), "
                   f"{d['mean'] / paper[rng]['mean']:.1f} times the paper's {paper[rng]['mean']:.2f} cm"
                   + (f" ({conditions})" if conditions else "") + ", and "
                   f"{verdict} the baseline that ignores the image ({base[rng]['mean']:.1f} cm).")
    return " ".join(out)


def _ordering(pairs: dict) -> tuple[set, str]:
    """Whether base < tip holds for {method: (base, tip)}: (the methods where it holds,
    the verdict in words with the figures)."""
    holds = [m for m, (b, t) in pairs.items() if b < t]
    fails = [m for m in pairs if m not in holds]
    figures = ", ".join(f"{peak_name(m)} {b:.1f} vs {t:.1f} px" for m, (b, t) in pairs.items())
    verdict = ("holds with both peak finders" if not fails else
               "holds with neither peak finder" if not holds else
               f"holds with {peak_name(holds[0])} but not with {peak_name(fails[0])}")
    return set(holds), f"{verdict} ({figures})"


def _entry_name(key: tuple) -> str:
    """('nms', 'kr16_base', '50%') -> 'NMS kr16_base median' (Table I for depth)."""
    table, row, column = key
    column = {"50%": "median", "25%": "25%", "75%": "75%"}.get(column, column)
    return ("Table I" if table == "depth" else peak_name(table)) + f" {row} {column}"


def localization_card_comparison(robot: str, report, figures_on_card: dict | None, checkpoint: dict | None) -> str:
    """Markdown: the model's recorded evaluation on the test set (``figures_on_card``: the
    "test" figures of its eval.json, ``eval localization --json``) beside a chapter's
    ``LocalizationReport`` of the same ``checkpoint``, in sentences: whether the chapter
    reproduces the record entry by entry (same checkpoint, seed and scene count), else the
    headline figures side by side; whether Fig. 6's ordering holds on each; which peak
    finder is more precise. "" without a record that evaluates this checkpoint."""
    from ..cards import differing_figures
    from ..eval.testset import TEST_SEED

    ev = figures_on_card
    if checkpoint is None or not ev or ev.get("step") != int(checkpoint["step"]):
        return ""
    n_card, n_here = ev.get("n"), report.num_images
    # scene i of the test set depends only on (seed, i): equal counts, equal scenes
    same_scenes = bool(n_card == n_here and ev.get("seed") == TEST_SEED and ev.get("recipe", "paper") == "paper")
    scenes = f"{n_card} test scenes" if n_card else "its test scenes"
    # this chapter's figures against the record's, entry by entry
    diff, compared = differing_figures(ev, report.figures())
    reproduced = same_scenes and not diff
    depth, figures, card_figures = report.depth_table(), [], []
    pixel = ev["pixel_errors_px"]
    for rng in ("near", "far"):
        card_mean = ev["table_i_cm"].get(rng, {}).get("mean")
        card_mean = float("nan") if card_mean is None else card_mean
        if np.isfinite(card_mean) and depth[rng]["n"]:
            figures.append(f"Table I {rng} mean {card_mean:.1f} cm on the card "
                           f"against {depth[rng]['mean']:.1f} cm here")
            if f"{card_mean:.1f}" == f"{depth[rng]['mean']:.1f}":  # the headline figures that agree
                card_figures.append(f"Table I {rng} mean {card_mean:.1f} cm")
    methods = [m for m in report.methods if pixel.get(m)]
    for m in methods:
        figures.append(f"{peak_name(m)} median over all joints "
                       f"{pixel[m][-1]['50%']:.1f} against "
                       f"{report.joint_table(m)[-1]['50%']:.1f} px")
        if f"{pixel[m][-1]['50%']:.1f}" == f"{report.joint_table(m)[-1]['50%']:.1f}":
            card_figures.append(f"{peak_name(m)} median over all joints "
                                f"{pixel[m][-1]['50%']:.1f} px")
    text = f"**{robot}, model card against this chapter.** "
    if reproduced:
        text += (f"The card and this chapter evaluate the same checkpoint on the same "
                 f"{n_here} test scenes (test seed {TEST_SEED}). This chapter "
                 f"reproduces the card's figures: all {compared} figures of its "
                 "evaluation (each joint's mean, median, 75% and counts for both "
                 "peak finders, and Table I) agree with this chapter's when both are "
                 "rounded to two decimals ("
                 + "; ".join(card_figures) + "). ")
    elif same_scenes:
        (key, on_card, here_value), = diff[:1]
        text += (f"The card and this chapter evaluate the same checkpoint on the same "
                 f"{n_here} test scenes (test seed {TEST_SEED}). Of the {compared} figures of its evaluation, "
                 f"{compared - len(diff)} agree with this chapter's when both are rounded to two decimals"
                 + (f" ({'; '.join(card_figures)})" if card_figures else "") + f"; {len(diff)} "
                 + ("differs" if len(diff) == 1 else "differ")
                 + (":" if len(diff) == 1 else ", the first of them")
                 + f" {_entry_name(key)}, {on_card:.2f} on the card against {here_value:.2f} here. With "
                 "the same scenes and checkpoint, the difference can only come from the computation (device, "
                 "library versions) or from the evaluation code. ")
    else:
        text += (f"The card evaluates the same checkpoint on {scenes}, this chapter "
                 f"on {n_here}: " + "; ".join(figures) + ". ")
    holds_here, here = _ordering({m: base_tip_medians(report.joint_table(m)[:-1])
                                 for m in methods})
    holds_card, there = _ordering({m: base_tip_medians(pixel[m][:-1]) for m in methods})
    if reproduced:
        text += f"The paper's Fig. 6 ordering (base joints more precise than the tip) {there}. "
    elif holds_here == holds_card:
        text += (f"The paper's Fig. 6 ordering (base joints more precise than the tip) {there} "
                 f"on the card's {scenes}, as on these {n_here}. ")
    else:
        text += ("The paper's Fig. 6 ordering (base joints more precise than the tip): on these "
                 f"{n_here} scenes it {here}; on the card's {scenes} it {there}. ")
    best_here = min(methods, key=lambda m: report.joint_table(m)[-1]["50%"])
    best_card = min(methods, key=lambda m: pixel[m][-1]["50%"])
    if best_here != best_card:
        text += (f"The more precise peak finder over all joints is "
                 f"{peak_name(best_here)} here and {peak_name(best_card)} on the "
                 "card. ")
    from ..scorecard import PAPER_ROBOT

    if robot != PAPER_ROBOT:   # the scorecard's synthetic figures are the industrial arm's only
        return text.rstrip()
    if reproduced:
        text += "The introduction's scorecard quotes these figures."
    elif n_card and n_here < n_card:
        text += (f"With {n_here} scenes this chapter's figures are noisy; the "
                 "introduction's scorecard uses the card's.")
    else:
        text += "The introduction's scorecard uses the card's figures."
    return text


def describe_live_run(logged, steps: int) -> str:
    """Chapter 2: Markdown reading a short live training run's logged total loss (eq. 3).

    Args:
        logged: (N,) the total loss of each logged step, one batch each, in order.
        steps: the steps the run trained.

    Returns:
        the change between the means of the first and the last fifth of the points, and
        whether it exceeds the batch-to-batch noise (twice the standard error of the
        difference of the two means; with fewer than two points per fifth it cannot be
        told). Raises ValueError for no points.
    """
    logged = np.asarray(logged, dtype=np.float64)
    if not logged.size:
        raise ValueError("logged: no loss was logged")
    fifth = max(1, len(logged) // 5)
    first, last = logged[:fifth], logged[-fifth:]
    change = last.mean() / first.mean() - 1
    text = (f"Over {steps} steps the total loss (eq. 3, the sum over stages: the "
            f"black line) went from a mean of {first.mean():.4f} over the first {fifth} "
            f"of {len(logged)} logged points to {last.mean():.4f} over the last {fifth} "
            f"({change:+.0%}; the dashed segments). Each logged point is the loss of one "
            "batch of new random scenes, so the curve zig-zags from batch to batch, and "
            f"the last loss printed above ({logged[-1]:.4f}) is one batch's. ")
    if fifth >= 2:
        # batch-to-batch spread: standard deviation of the points about their fifth's mean
        spread = float(np.sqrt((first.var(ddof=1) + last.var(ddof=1)) / 2))
        # the difference of the two means is uncertain by about sqrt(2 / fifth) spreads
        noise = 2 * spread * np.sqrt(2 / fifth)
        text += (f"Within a fifth the points scatter by {spread:.4f} (standard "
                 "deviation), so a difference of the two means below about "
                 f"{noise:.4f} (twice its standard error) is within the batch-to-batch "
                 "spread. ")
        if last.mean() < first.mean() - noise:
            text += ("The drop is larger than that: the loss falls, and the mechanics "
                     "work.")
        elif last.mean() > first.mean() + noise:
            text += "The loss rose by more than that: this run did not learn."
        else:
            text += ("The change is within it: too few steps to see learning through "
                     "the batch-to-batch noise.")
    else:
        text += ("Too few points are logged to tell a change from the batch-to-batch "
                 "noise.")
    return text + " The numbers below come from the reference model, not from this run."


def describe_backbone_comparison(comparison: dict, robot: str = "", recipe: str = "") -> str:
    """Chapter 7: the comparison that kept the backbone frozen, from a lineage part's
    ``backbone_comparison`` (``runs``: "frozen" and "fine-tuned", each with ``steps``,
    ``minutes``, ``nms_median_px``, ``log_median_px``, ``nms_missed`` of ``joints`` and
    ``depth_near_mean_cm``; ``test_scenes``). Which run is ahead is said per figure (lower
    is better), so the sentence holds whatever the figures are; ``robot`` and ``recipe``
    (the record's) name the scenes. Raises KeyError for a missing run or figure."""
    frozen, tuned = comparison["runs"]["frozen"], comparison["runs"]["fine-tuned"]
    figures = [("NMS median pixel error", "nms_median_px", ".1f", " px"),
               ("LoG median pixel error", "log_median_px", ".1f", " px"),
               ("joints missed (NMS)", "nms_missed", "d", f" of {frozen['joints']}"),
               ("near depth error", "depth_near_mean_cm", ".1f", " cm")]
    ahead = [frozen[key] < tuned[key] for _, key, _, _ in figures]
    parts = [f"{name} {frozen[key]:{fmt}} against {tuned[key]:{fmt}}{unit}" for name, key, fmt, unit in figures]
    verdict = ("the frozen run was ahead on every figure" if all(ahead) else
               "the fine-tuned run was ahead on every figure" if not any(ahead) else
               f"the frozen run was ahead on {sum(ahead)} of the {len(ahead)} figures")
    return (f"The backbone comparison: from the same start and in about the same wall time, the frozen backbone "
            f"made {frozen['steps']:,} steps in {frozen['minutes']} min, the fine-tuned one {tuned['steps']:,} in "
            f"{tuned['minutes']} min" + (f", both on {robot} scenes" if robot else "")
            + (f" of the `{recipe}` recipe" if recipe else "")
            + f". They were evaluated on {comparison['test_scenes']} synthetic test scenes with mostly other "
            "backgrounds than chapter 2's (four scikit-image pictures that neither photo split holds, a cat, a "
            "colour wheel, a retina and a text page, and the test split's motorcycle), so these figures compare "
            "with each other and not with chapter 2's tables. They share the test set's seed, so its robots, poses "
            "and cameras: the backbone was chosen on test scenes, and chapter 2's test figures may be somewhat "
            "optimistic for that choice. Frozen against fine-tuned: "
            + "; ".join(parts) + f": {verdict}. That is one short run of each, with no seed spread measured: it "
            "decided what a CPU budget buys at that length, not whether fine-tuning would win over a longer run.")


def describe_intermediate_supervision(steps: dict[str, tuple[int, int]]) -> str:
    """Chapter 2's bullet on where the reference models' intermediate stages were supervised
    (``steps``: robot -> (its steps trained with ``intermediate`` "low_res", all its steps),
    over the weights' lineage, warm start included; ``cards.training_phases``): the
    paper supervises every stage at the input size (eq. 3); "" when no step did otherwise."""
    used = {robot: s for robot, s in steps.items() if s[0]}
    if not used:
        return ""
    parts = [f"the {robot} reference {low:,} of its {total:,}" for robot, (low, total) in used.items()]
    return ("* **Intermediate supervision.** The paper supervises every stage at the input size "
            "({ref}`eq. 3 <paper-eq-3>`). Our reference models did so for part of their training only: for "
            + " and ".join(parts) + " training steps, stages 1 to N-1 were supervised at the backbone's grid "
            "against pooled targets (each cell's largest belief and its mean depth), which makes a step cheaper. "
            "The last stage, the one every evaluation reads, was always supervised at the input size (chapter 7 "
            "lists the phases).")


def describe_depth_weight(ends: dict) -> str:
    """Chapter 7: Markdown on what the depth weight lambda of eq. 1 did in the reference runs.

    Args:
        ends: robot -> one (what changed, (belief, depth, weighted depth)) per phase of its
            training in order (``viz.training.last_stage_terms`` of each phase's log: the
            last stage's terms over the phase's last tenth); the first phase trained with
            lambda = 1, the second continued it with lambda = 50.

    Returns:
        per robot the weighted depth term as a share of the belief term at the end of each
        phase, and how the second phase's weight moved it and the unweighted term; "" for
        no robot with two phases.
    """
    lines = []
    for robot, phases in ends.items():
        if len(phases) < 2:
            continue
        shares = ", ".join(f"{i} ({what}) {w / b:.2f}"
                           for i, (what, (b, d, w)) in enumerate(phases, 1))
        (_, (b1, d1, w1)), (_, (b2, d2, w2)) = phases[0], phases[1]
        lines.append(
            f"**{robot}**: the weighted depth term as a share of the belief term at the "
            f"end of each phase: {shares}. Continued with the weight of 50, phase 2 took it "
            f"from {w1 / b1:.2f} to {w2 / b2:.2f} of the belief term ("
            + ("within a factor of ten of it" if w2 / b2 >= 0.1 else
               "still more than ten times smaller")
            + f"), while the unweighted depth term went from {d1:.2e} to "
            f"{d2:.2e} ({d2 / d1 - 1:+.0%}; the figure plots the same logged terms, smoothed).")
    if not lines:
        return ""
    return ("Read from the same logs as the mean over the last tenth of each phase's logged "
            "steps (the weighted depth term is the stage's logged loss minus its belief "
            "term).\n\n" + "\n\n".join(lines))


def describe_stage_maps(stats: list[dict], joint_labels, sigma: float, separation: float,
                        robot: str, coarse_steps: tuple[int, int] | None = None) -> str:
    """Chapter 2: Markdown reading the belief maps of one scene stage by stage (paper III-B,
    Wei et al.'s pose machines refine their estimates from stage to stage).

    Args:
        stats: per stage ``viz.localization.stage_map_figures`` of the maps the figure
            shows: "max" (largest belief), "visible" (joints whose map reaches the
            visibility level, 0.05), "half_area" (joint -> pixels at or above half its
            map's maximum) and "second" (joints with a second peak at least half as high,
            more than ``separation`` px away).
        joint_labels: the joints' names; ``sigma``: the targets' Gaussian, px.
        coarse_steps: (steps that supervised stages 1 to N-1 at the backbone's grid, all
            steps) of the model's training (``--set intermediate=low_res``). When more
            than half of the steps did, the figure shows every stage at the grid (chapter
            2's figure cell decides the same way) and ``stats`` are of those maps.

    Returns:
        the figures in words and a verdict. At the image size the later stages refine when
        the beliefs rise from stage to stage, the blobs narrow (the last stage's median
        area below 0.8 times the first's) and no joint keeps two candidates. At the grid,
        where blob areas cannot be set beside a target's Gaussian, the verdict reads the
        beliefs and the second peaks, and says why the grid is shown.
    """
    n_stages, n_joints = len(stats), len(joint_labels)
    at_grid = bool(coarse_steps) and coarse_steps[0] > coarse_steps[1] / 2
    peaks = [st["max"] for st in stats]
    text = ("What {numref}`fig-stages` shows, in numbers (the maps of the crop"
            + (f", stages 1 to {n_stages - 1} at the backbone's grid" if at_grid else "")
            + "): the largest belief of any joint is "
            # three decimals where two would round across the 0.05 below which a map hardly shows
            + ", ".join(f"{m:.3f}" if 0.045 <= m < 0.055 else f"{m:.2f}" for m in peaks)
            + f" in stages 1 to {n_stages} "
            "(a target's peak is 1), and "
            + ", ".join(str(len(st["visible"])) for st in stats)
            + f" of the {n_joints} joints' maps reach 0.05, below which a map hardly "
              "shows. ")
    # pixels at or above half the maximum of a target's Gaussian: a disc of radius
    # sigma * sqrt(2 ln 2); at the grid a cell covers many such pixels, so no comparison
    target_area = np.pi * 2 * np.log(2) * sigma ** 2
    areas = {} if at_grid else {i: float(np.median(list(st["half_area"].values())))
                                for i, st in enumerate(stats, 1) if st["half_area"]}
    if areas:
        text += ("Where a map shows, its blob covers a median of "
                 + ", ".join(f"{a:.0f} pixels in stage {i}" for i, a in areas.items())
                 + f" at half its maximum, against {target_area:.0f} for a target's "
                   f"Gaussian (sigma {sigma:g} px). ")
    last = stats[-1]
    if last["second"]:
        names = ", ".join(joint_labels[j] for j in last["second"])
        one = len(last["second"]) == 1
        text += (f"In stage {n_stages}, {len(last['second'])} of the joints ({names}) "
                 + ("lights a second peak at least half as high as its first" if one else
                    "light a second peak at least half as high as their first")
                 + f", more than {separation:g} px from it: two candidates for one joint. ")
    else:
        text += (f"In stage {n_stages} no joint lights a second peak at least half as "
                 f"high as its first, more than {separation:g} px from it. ")
    rising = all(b > a for a, b in zip(peaks, peaks[1:]))
    did = ["raise the beliefs from stage to stage" if rising
           else "do not raise the beliefs steadily"]
    if at_grid:
        if last["second"]:
            n = len(last["second"])
            did.append(f"leave {n} joint{'s' if n != 1 else ''} with two candidates")
        return text + (
            f"The figure shows stages 1 to {n_stages - 1} at the grid because that is where they learned: in "
            f"{coarse_steps[0]:,} of the {coarse_steps[1]:,} training steps behind these weights (any warm start's "
            f"included: chapter 7's table of phases), they were supervised at the backbone's grid only, and stage "
            f"{n_stages} through its U block, whose up-sampled map is what the evaluation reads. On this scene the "
            "stages " + " and ".join(did) + ". One scene shows what the maps look like; it does not measure the "
            "stages.")
    first_area = next(iter(areas.values()), np.nan)
    last_area = areas.get(n_stages, np.nan)
    narrower = len(areas) >= 2 and last_area < 0.8 * first_area
    wider = len(areas) >= 2 and last_area > 1.25 * first_area
    did.append("narrow the blobs" if narrower else
               "widen the blobs rather than sharpen them" if wider else
               "keep the blobs about as wide")
    if last["second"]:
        n = len(last["second"])
        did.append(f"leave {n} joint{'s' if n != 1 else ''} with two candidates")
    refined = rising and narrower and not last["second"]
    return text + (f"So on this scene the later stages of the {robot} model "
                   + ", ".join(did[:-1]) + " and " + did[-1]
                   + ("; that is the refinement the paper's design aims at." if refined else
                      "; the refinement stage by stage that the paper's design aims at does "
                      "not show on this model's maps."))


def describe_toy_setup(ball_radius_m: float, z_range_m: tuple[float, float], size_px: int,
                       focal_px: float) -> str:
    """Chapter 2: the toy depth study's scene in one sentence (``toy_depth``'s constants):
    a ball of ``ball_radius_m`` at a depth drawn from ``z_range_m`` (metres), seen at focal
    length ``focal_px`` in square images of ``size_px``, and the disc radius in pixels this
    gives at both ends of the range (f r / Z)."""
    near, far = (focal_px * ball_radius_m / z for z in z_range_m)
    return (f"Each toy scene is one ball of radius {ball_radius_m:g} m at a depth drawn from "
            f"{z_range_m[0]:g} to {z_range_m[1]:g} m, seen with a focal length of {focal_px:g} px in a "
            f"{size_px}x{size_px} image, so its disc is {near:.1f} px in radius at the nearest and "
            f"{far:.1f} px at the farthest.")


def describe_toy_depth(runs: list[dict]) -> str:
    """Chapter 2: Markdown reading the toy depth study (``toy_depth``; rows with "seed",
    "kind" ("inverse" or "log"), "median_cm", "far_mean_cm", "steps"): per seed the two
    codes' median and far mean errors, and with how many seeds the log code wins on the
    median."""
    lines = []
    for seed in sorted({r["seed"] for r in runs}):
        inv = next((r for r in runs if r["seed"] == seed and r["kind"] == "inverse"), None)
        log = next((r for r in runs if r["seed"] == seed and r["kind"] == "log"), None)
        if inv and log:
            lines.append(f"Seed {seed}: median error {inv['median_cm']:.0f} cm with "
                         f"the inverse code, {log['median_cm']:.0f} cm with the log "
                         f"code ({inv['steps']} steps each; far mean "
                         f"{inv['far_mean_cm']:.0f} against {log['far_mean_cm']:.0f} "
                         "cm)")
    wins = sum(1 for r in runs if r["kind"] == "log" and r["median_cm"] < next(
        (i["median_cm"] for i in runs if i["kind"] == "inverse" and i["seed"] == r["seed"]),
        np.inf))
    return ("On the toy scenes the median error over all depths decides, since a few large errors move it less "
            "than a mean (the figure shows each code's mean error near and far). " + ". ".join(lines) + ". "
            + (f"The log code has the smaller median error with {'both' if len(lines) == 2 else f'all {len(lines)}'} "
               "seeds (too few to measure how much it gains)"
               if wins == len(lines) else
               f"The log code has the smaller median error with {wins} of "
               f"{len(lines)} seeds")
            + ". Chapter 6 diagnoses the industrial arm's reference network itself: how far its "
              "far error is from what its targets allow.")


def describe_real_photo_errors(errors_px, depth_errors_cm, width: int, off: int,
                               wrong_joint: int, wrong_in, no_joint: int) -> str:
    """Chapter 2: Markdown reading the localization model on real photos (one robot, no
    mask; ``eval.real.evaluate_photos``).

    Args:
        errors_px: (photos, J) pixel errors in the photos' resolution (NaN: no peak).
        depth_errors_cm: (photos, J) |predicted - true| camera z, cm (NaN: no peak).
        width: the photos' width in pixels (5% of it is "near the truth").
        off: found joints farther than that from their truth; ``wrong_joint``: of them,
            those within it of another joint of the arm (``eval.real.wrong_joints``);
            ``wrong_in``: names of shown photos with such joints; ``no_joint``: photos
            where no joint is found.
    """
    errs = np.asarray(errors_px, dtype=np.float64)
    found = errs[np.isfinite(errs)]
    near = float(np.mean(found <= 0.05 * width)) if found.size else 0.0
    median = np.nanmedian(errs) if found.size else float("nan")
    return (
        f"Over all photos the median error is {median:.0f} px at the photos' own {width} px width "
        f"({median / width:.0%} of it; the synthetic tables above count pixels at 640), "
        f"{int(np.isnan(errs).sum())} of {errs.size} joints have no peak, and "
        f"{near:.0%} of the found joints lie within 5% of the width of the truth; "
        f"the median depth error is {np.nanmedian(depth_errors_cm):.0f} cm. "
        + ("Fewer than half of the found joints are near the truth"
           if near < 0.5 else "Most found joints are near the truth")
        + (f". Of the {off} found joints farther off, {wrong_joint} "
           f"{'lies' if wrong_joint == 1 else 'lie'} within 5% "
           "of the width of another joint of the arm: the model found a joint of the "
           "robot, but not the one it names"
           + (f" (in {' and '.join(wrong_in)} above, red lines join such predictions "
              "to their true joints)" if wrong_in else "")
           + (f"; the other {off - wrong_joint} are farther than that from every "
              "joint" if off > wrong_joint else "")
           if off else "")
        + (f"; in {no_joint} of {errs.shape[0]} photos no joint is found at all"
           if no_joint else "")
        + ". This model trained last on chapter 5's `dream` scenes of the arm's URDF meshes, "
          "built for photos like these, so these photos show what that training leaves for "
          "this one model on one episode; chapter 5 measures it rung by rung.")


# how chapter 2 names each recorded setting of a localization phase (cards.TrainingPhase)
_PHASE_SETTINGS = ("robot", "recipe", "depth_weight", "depth_code", "depth_context", "intermediate", "lr",
                   "schedule")


def _setting_words(key: str, value) -> str:
    """One setting of a phase as a figure's key says it ("λ = 50", "log code")."""
    if key == "depth_weight":
        return f"λ = {value:g}"
    if key == "depth_code":
        return f"{value} code"
    if key == "depth_context":
        return "+ depth context" if value else "no depth context"
    if key == "intermediate":
        return "coarse stages 1 to N-1" if value == "low_res" else "full-size stages 1 to N-1"
    if key == "recipe":
        return f"{value} scenes"
    if key == "lr":
        return f"lr {value:g}"
    if key == "schedule":
        return f"{value} lr"
    return str(value)


def phase_changes(phases: list) -> list[str]:
    """Chapter 2's key of a reference model's phases (``cards.training_phases``): for the first
    its depth weight lambda, for each later one what its recorded settings change from the
    phase before ("log code, λ = 10"), "more steps" where they change nothing and "settings
    not recorded" where either phase lacks them."""
    out = []
    for before, phase in zip([None, *phases], phases):
        if not phase.settings or (before is not None and not before.settings):
            out.append("settings not recorded")
        elif before is None:
            out.append(_setting_words("depth_weight", phase.settings.get("depth_weight", 1.0)))
        else:
            changed = [_setting_words(k, phase.settings[k]) for k in _PHASE_SETTINGS
                       if k in phase.settings and phase.settings[k] != before.settings.get(k)]
            out.append(", ".join(changed) or ("more steps, schedule restarted" if phase.settings.get("schedule")
                                               == "cosine" else "more steps"))
    return out


def _settings_columns(s: dict) -> dict:
    """The table columns of one phase's recorded settings (``TrainingPhase.settings``): the
    robot drawn, the scenes' recipe, lambda, the depth code, the depth-context branch and
    how stages 1 to N-1 were supervised; "not recorded" where a setting is missing."""
    missing = "not recorded"
    return {"robot drawn": s.get("robot", missing), "scenes": s.get("recipe", missing),
            "λ": f"{s['depth_weight']:g}" if "depth_weight" in s else missing,
            "depth code": s.get("depth_code", missing),
            "depth context": (f"{s['depth_context']} blocks" if s.get("depth_context") else "none")
            if "depth_context" in s else missing,
            "stages 1 to N-1": {"low_res": "coarse", "full": "full size"}.get(s.get("intermediate"), missing)}


def describe_training_phases(phases: dict[str, list]) -> str:
    """Chapter 7's table of how the reference models were trained: one row per phase
    (``phases``: robot -> ``cards.training_phases`` of its shipped localization model), with
    its steps and the settings its recorded command trained with. The paper trains once,
    with lambda = 1, the inverse depth code and every stage at full size (eq. 1-3)."""
    rows = []
    for robot, robot_phases in phases.items():
        for i, phase in enumerate(robot_phases, 1):
            s = phase.settings
            rows.append({"reference": robot, "phase": i, "steps": phase.steps, **_settings_columns(s),
                         "learning rate": f"{s['lr']:g}, {s['schedule']}" if "lr" in s else "not recorded"})
    return markdown_table(rows, formats={"steps": ",d", "phase": "d"})


def describe_reference_settings(phases: dict[str, list]) -> str:
    """Chapter 2's table of what made the weights it evaluates: one row per reference model
    (``phases``: robot -> ``cards.training_phases`` of its shipped localization model, warm
    start included), with the steps of all its phases together and the settings of its last
    phase, the one that left the weights (chapter 7 lists every phase). Raises ValueError
    for a robot without phases."""
    rows = []
    for robot, robot_phases in phases.items():
        if not robot_phases:
            raise ValueError(f"{robot}: no training phases")
        rows.append({"reference": robot, "steps in all": sum(p.steps for p in robot_phases),
                     **_settings_columns(robot_phases[-1].settings)})
    return markdown_table(rows, formats={"steps in all": ",d"},
                          headers={"steps in all": "steps in all, warm start included",
                                   "robot drawn": "robot drawn, last phase", "scenes": "scenes, last phase"})
