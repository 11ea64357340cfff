"""Chapter 6 (beyond the paper): :func:`describe_real_study`, :func:`describe_depth_study`,
:func:`describe_onepass_comparison` with :func:`instance_training_budgets`,
:func:`describe_instance_runtimes`, :func:`describe_train_bench`, the open problems
(:func:`open_problems`, :func:`depth_next_step`) and the verdict box text (:func:`onepass_verdict`
with :func:`instance_budgets`)."""
from __future__ import annotations

import math

import numpy as np

from ..scorecard import ScoreRow
from .overview import decoding_text, point_here
from .tables import ONEPASS_NAMES, markdown_table, trained_on


def instance_training_budgets(robots, folder=None) -> str:
    """Sentences saying how each robot's two shipped instance models were trained: steps,
    scenes (steps x batch) and training hours summed over everything their weights descend
    from (``lineage.json``, :func:`cards.training_cost`) and the recipe stored in their
    parts' recipes (:meth:`cards.TrainingCost.recipe_steps`); "" when a record is missing.
    Chapter 6 puts it under the table that compares the two."""
    from ..cards import training_cost

    parts = []
    for robot in robots:
        costs = {key: training_cost(f"{robot}_{task}_cpu", folder)
                 for key, task in (("onepass", "onepass"), ("convgru", "instances"))}
        if not all(c.steps for c in costs.values()):
            continue
        recipe = {key: trained_on(c.recipe_steps()) for key, c in costs.items()}
        budget = {key: f"{c.steps:,} steps, {c.scenes:,} scenes and {c.hours:.1f} h" for key, c in costs.items()}
        parts.append(f"* *{robot}*: {budget['onepass']} of training {recipe['onepass']} for the "
                     f"one-pass model; {budget['convgru']} {recipe['convgru']} for the recurrent one.")
    if not parts:
        return ""
    return ("The two models were not trained alike, so every column of the table compares training budgets and "
            "data as well as models:\n\n" + "\n".join(parts))


# keypoint AUCs (0-20 px) below this are a few lucky keypoints: they rank no model
TOO_SMALL_TO_RANK = 0.05


def describe_real_study(runs: list[dict], baseline: dict | None = None) -> str:
    """Chapter 7's reading of the sim-to-real study on the dev photos (``runs``: the
    study's runs with "label", "config" ("cpu": frozen backbone, "cpu_ft": fine-tuned),
    "hours" of `sim2real` training (NaN: none) and "all" figures; ``baseline``: the
    mean-pose baseline's "all" figures, or None without the photos). The best run against
    the baseline; the shipped run (label with "(shipped)") when it is not the best; how
    the frozen backbone's AUC moved with training time (rising at every checkpoint, or
    where it peaked); and the fine-tuned backbone against the frozen one after the same
    time (the frozen run nearest in hours)."""
    timed = sorted([r for r in runs if r["config"] == "cpu" and np.isfinite(r["hours"])], key=lambda r: r["hours"])
    best = max(runs, key=lambda r: r["all"]["auc"])
    shipped = next((r for r in runs if "(shipped)" in r["label"]), None)
    text = (f"On all seven joints the best checkpoint, *{best['label']}*, reaches a keypoint AUC of "
            f"{best['all']['auc']:.2f}")
    text += (f" against the mean-pose baseline's {baseline['auc']:.2f}: "
             + ("it beats the baseline." if best["all"]["auc"] > baseline["auc"] else
                f"{best['all']['auc'] / baseline['auc']:.0%} of it, so the model does not yet see the arm better "
                "than a guess of its average pose.")
             if baseline else ".")
    if shipped is not None and shipped is not best:
        photos = shipped["all"].get("frames")
        text += (f" The model in the repository, *{shipped['label']}*, reaches {shipped['all']['auc']:.2f}, below that "
                 f"checkpoint on these {photos or ''} photos".replace("  ", " ")
                 + "; each checkpoint was measured once on the same few photos, which cannot tell whether training "
                 "past it hurt.")
    if len(timed) >= 2:
        rising = all(b["all"]["auc"] >= a["all"]["auc"] for a, b in zip(timed, timed[1:]))
        peak = max(timed, key=lambda r: r["all"]["auc"])
        text += (" With the frozen backbone the all-joint AUC went from "
                 f"{timed[0]['all']['auc']:.2f} after {timed[0]['hours']:.1f} h to {timed[-1]['all']['auc']:.2f} "
                 f"after {timed[-1]['hours']:.1f} h of `sim2real` training"
                 + (", rising at every checkpoint: the run was still improving when it stopped." if rising else
                    f", not monotonically: it peaked at {peak['all']['auc']:.2f} after {peak['hours']:.1f} h."
                    if peak is not timed[-1] else ", not monotonically."))
    tuned = [r for r in runs if r["config"] == "cpu_ft"]
    if tuned and timed:
        ft, same = tuned[0], min(timed, key=lambda r: abs(r["hours"] - tuned[0]["hours"]))
        steps = (f", in which the fine-tuned run made {ft['step']:,} steps and the frozen one {same['step']:,}"
                 if ft.get("step") and same.get("step") else "")
        text += (f" After the same {ft['hours']:.2f} h of `sim2real` training{steps}, fine-tuning the backbone "
                 f"reached an all-joint keypoint AUC of {ft['all']['auc']:.3f} (keypoints found "
                 f"{ft['all']['found']:.0%}), the frozen backbone {same['all']['auc']:.3f} "
                 f"({same['all']['found']:.0%})")
        if max(ft["all"]["auc"], same["all"]["auc"]) < TOO_SMALL_TO_RANK:
            # AUCs this close to zero rank nothing, and a found keypoint may be far off
            more = "frozen" if same["all"]["found"] > ft["all"]["found"] else "fine-tuned"
            fewest = min((same, "frozen"), (ft, "fine-tuned"), key=lambda r: r[0]["all"]["found"])
            medians = (f"the median error of those found is {same['all']['median_px']:.0f} px frozen, "
                       f"{ft['all']['median_px']:.0f} px fine-tuned" if fewest[0]["all"]["found"] >= 0.1 else
                       f"the {fewest[1]} run found only {fewest[0]['all']['found']:.0%} of them")
            text += (f". Both AUCs are below {TOO_SMALL_TO_RANK}, too small to rank the two. That floor, set by hand, "
                     "is on the AUCs' level, not on their gap: an AUC that low comes from a few keypoints within "
                     "20 px. Neither run puts its "
                     f"keypoints near the arm yet. The {more} run found more keypoints, and {medians}. So "
                     "at this budget the comparison shows what a step costs more than what either backbone learns"
                     + (f": the frozen backbone made {same['step'] / ft['step']:.1f} times the steps in the same "
                        "time." if steps else "."))
        else:
            text += (": on a CPU, the frozen backbone's faster steps were worth more than adapting the backbone."
                     if same["all"]["auc"] > ft["all"]["auc"] else ": adapting the backbone paid for its slower steps.")
    return text


def _span(values, fmt: str) -> str:
    """'x' when all values print alike, else 'lowest to highest'."""
    low, high = format(min(values), fmt), format(max(values), fmt)
    return low if low == high else f"{low} to {high}"


def _than(ratio: float) -> str:
    """A model's error against a baseline's, ``ratio`` = model / baseline, in words."""
    return "no better than" if ratio >= 1 else "barely better than" if ratio > 0.8 else "better than"


# the depth study's table (cards.depth_study_rows): how each column prints, and its header
DEPTH_STUDY_FORMATS = {"near mean": ".1f", "far mean": ".1f", "floor far": ".1f", "far joints": ".1f",
                       "baseline far": ".1f", "slope": ".2f", "R²": ".2f", "joints": ".1f",
                       "oracle scale": ".1f"}
# the table's columns, in order ("step" and "trained with" are in the checkpoint's name)
DEPTH_STUDY_COLUMNS = ("checkpoint", "scenes", "near mean", "far mean", "floor far", "far joints", "baseline far",
                       "slope", "R²", "joints", "oracle scale")
DEPTH_STUDY_HEADERS = {"scenes": "test scenes", "near mean": "near, discs [cm]", "far mean": "far, discs [cm]",
                       "floor far": "target floor, far [cm]", "far joints": "far, at the joints [cm]",
                       "baseline far": "median baseline, far joints [cm]", "slope": "fit slope",
                       "joints": "joint depth, all [cm]",
                       "oracle scale": "joint depth after a per-robot oracle scale [cm]"}


def depth_study_against_card(shipped: dict, card: dict) -> str:
    """Chapter 6: the shipped checkpoint's Table I errors in the depth study (``shipped``: the
    last row of ``cards.depth_study_rows``, over its first "scenes" test scenes) beside the
    model card's on all its scenes (``card``: the record's "test" figures, "table_i_cm" and
    "n"), so that the reader sees how much the scenes drawn move a mean over disc pixels.
    "" when the card has no Table I."""
    table = card.get("table_i_cm") or {}
    if not {"near", "far"} <= set(table):
        return ""
    return (f"On the study's {shipped['scenes']} scenes the shipped checkpoint errs by {shipped['near mean']:.1f} / "
            f"{shipped['far mean']:.1f} cm (near / far, over the discs), on all {card.get('n', '?')} of the card by "
            f"{table['near']['mean']:.1f} / {table['far']['mean']:.1f} cm (chapter 2 and the scorecard): the same "
            "weights, so the difference is the scenes'. A mean over the pixels of a few dozen scenes moves this "
            "much with the scenes drawn, since a few robots with large errors cover many pixels; compare the "
            "study's figures with each other, not with chapter 2's.")


def describe_depth_study(rows: list[dict]) -> str:
    """The paragraphs on the depth study's checkpoint diagnoses (``rows``:
    ``cards.depth_study_rows``, the shipped checkpoint last; chapter 6 passes the shipped
    row alone, chapter 7 every checkpoint): the far error against the
    targets' floor (both over the depth discs' pixels) and the far joints' error against the
    median-depth baseline's at the same joints (ratio >= 1 "no better than", above 0.8
    "barely better than"), the slope of predicted against true joint depth (below 0.9:
    squeezed towards the middle), and how much of the last checkpoint's joint error an
    oracle scale per robot removes (more than half: "each robot's distance"). Raises
    ValueError for no rows."""
    if not rows:
        raise ValueError("rows: no checkpoint diagnoses")
    # far error against the far floor, from the figures as the table prints them (0.1 cm)
    to_floor = [round(r["far mean"], 1) / round(r["floor far"], 1) for r in rows]
    # like with like: the baseline is measured at the far joints, so is the model here
    to_base = [r["far joints"] / r["baseline far"] for r in rows]
    verdicts = {_than(x) for x in to_base}
    squeezed = [r["checkpoint"] for r in rows if r["slope"] < 0.9]
    shipped_row, shipped_ratio = rows[-1], to_base[-1]
    one = len(rows) == 1
    sentences = [
        (f"The far error of the checkpoint, *{shipped_row['checkpoint']}*, is" if one else
         f"Across the {len(rows)} checkpoints the far error is")
        + f" {_span(to_floor, '.0f')} times the targets' far floor, so "
        f"the targets' resolution is not what limits it; at the far joints its error is {_span(to_base, '.2f')} "
        "times the median-depth baseline's at the same joints"
        + (f" ({verdicts.pop()} predicting one depth for every far joint"
           + (")" if one else ", in every checkpoint)") if len(verdicts) == 1
           else f"; the shipped checkpoint, *{shipped_row['checkpoint']}*, is {_than(shipped_ratio)} predicting one "
           f"depth for every far joint ({shipped_ratio:.2f})")
        + f". Predicted against true joint depth the fit slope is {_span([r['slope'] for r in rows], '.2f')} (R² "
        f"{_span([r['R²'] for r in rows], '.2f')}, the share of the true depths' variance the line explains)"
        + ((": it squeezes its predictions towards the middle of the range." if one else
            ": every checkpoint squeezes its predictions towards the middle of the range.")
           if len(squeezed) == len(rows)
           else "; it lies below 0.9 for " + ", ".join(f"*{c}*" for c in squeezed) + ", whose predictions are "
           "squeezed towards the middle of the range (the rows also differ in training length, so a squeeze is not "
           "the depth code's alone)." if squeezed else ".")]
    best = min(rows, key=lambda r: r["far mean"])
    if not one and round(best["far mean"], 1) < round(shipped_row["far mean"], 1):
        sentences.append(f"The shipped checkpoint is not the row with the lowest far error: *{best['checkpoint']}* "
                         f"errs by {best['far mean']:.1f} cm against its {shipped_row['far mean']:.1f} cm on these "
                         "scenes, so the steps after that checkpoint did not lower it here (one run, a few dozen "
                         "scenes).")
    scaled = [r for r in rows if np.isfinite(r["oracle scale"])]
    if scaled:
        last = scaled[-1]
        sentences.append(
            "Dividing each robot's joint depths by its own median ratio of predicted to true depth (an oracle that "
            "knows each robot's distance) takes the mean joint depth error of "
            + ("the checkpoint" if one else f"*{last['checkpoint']}*") + " from "
            f"{last['joints']:.1f} to {last['oracle scale']:.1f} cm: "
            + ("more than half of the error was each robot's distance, not the joints' depths relative to each "
               "other."
               if last["oracle scale"] < 0.5 * last["joints"] else
               "each robot's distance is part of the error, not most of it."))
    return "\n\n".join(sentences)


def describe_onepass_comparison(figures: list[dict], recipes: dict, budgets: str = "") -> str:
    """Chapter 6's paragraphs under the table of one-pass against recurrent (ConvGRU)
    instance models (``figures``: ``scorecard.onepass_figures`` per robot): per robot,
    mask AP and counting accuracy and which model is better (and scene counts when they
    differ); what the robot-free column means; the hard-negatives column with each model's
    training recipes (``recipes``: (robot, "onepass"|"convgru") -> how it was trained,
    :func:`trained_on`); the one-pass decoding settings (:func:`decoding_text`)
    and stale figures. ``budgets`` (:func:`instance_training_budgets`: how differently the
    two were trained) follows the per-robot comparison."""
    sentences = []
    for f in figures:
        a, b = f["models"]["onepass"], f["models"].get("convgru")
        if b is None:
            continue
        ap, bp = a["mask_ap"], b["mask_ap"]
        ac, bc = a["counting_accuracy"], b["counting_accuracy"]
        how = {key: recipes.get((f["robot"], key)) for key in ("onepass", "convgru")}
        sentences.append(
            f"*{f['robot']}*"
            # how each was trained, here unless the budgets paragraph below says it
            + (f" (the one-pass model trained {how['onepass']}, the recurrent one {how['convgru']})"
               if all(how.values()) and not budgets else "")
            + f": the one-pass model's mask AP is {a['mask_ap']:.3f} against the recurrent model's "
            f"{b['mask_ap']:.3f}, and it counts right in {a['counting_accuracy']:.0%} of the scenes against "
            f"{b['counting_accuracy']:.0%}: it scores "
            + ("higher on both" if ap > bp and ac > bc else "lower on both" if ap < bp and ac < bc else
               "higher on one and lower on the other")
            + (", with another training budget and data (below)." if budgets else ".")
            + (f" The two were measured on different numbers of scenes ({a['n']} and {b['n']})."
               if a["n"] != b["n"] else ""))
    if budgets:  # beside the per-robot comparison: the two were trained differently
        sentences.append(budgets)
    free_n = {m["robot_free_n"] for f in figures for m in f["models"].values() if m.get("robot_free_n")}
    if free_n:
        sentences.append(
            "*Robot-free: none found* is the share of the " + "/".join(map(str, sorted(free_n)))
            + " robot-free test scenes (rendered besides the scenes with robots, with their own seed) in which the "
            "instance model alone (its masks, before the Predictor drops robots without joints) reports no robot; "
            "higher is better.")
    hard = [(f["robot"], key, m) for f in figures for key, m in f["models"].items()
            if np.isfinite(m.get("robot_free_hard", np.nan))]
    if hard:
        sentences.append(
            "With hard negatives (the same scenes with distractor objects and patches of other test photos pasted "
            "in) the models alone find nothing in these shares of the scenes:\n\n"
            + ";\n".join(f"* {m['robot_free_hard']:.0%}: {robot}, {ONEPASS_NAMES[key]}, trained "
                          f"{recipes.get((robot, key)) or 'on an unrecorded recipe'}" for robot, key, m in hard)
            + "."
            + "\n\nThe paper recipe has no objects but robots, while `sim2real` and `clutter` both add them, so this "
              "column compares training data as well as models.")
    decoded = [f"{f['robot']} {decoding_text(f)}" for f in figures if decoding_text(f)]
    if decoded:
        sentences.append("Each one-pass model decodes its centre heatmap with the setting chosen for its checkpoint "
                         "on validation scenes, never on the test set: " + "; ".join(decoded) + ".")
    stale = [f"{f['robot']} {key}: {m['stale']}" for f in figures for key, m in f["models"].items() if m["stale"]]
    if stale:
        sentences.append(f"Not the shipped checkpoints' figures: {'; '.join(stale)}.")
    return "\n\n".join(sentences)


def describe_instance_runtimes(runtimes: dict, robots) -> str:
    """Chapter 6's reading of the instance-stage runtime curves (``runtimes``: robot ->
    rows of ``book.onepass_study_rows``, one per robot count, ms): per robot how the
    recurrent and the one-pass model grow from the fewest to the most robots when both are
    forced to decode one instance per robot; the unforced recurrent curve; how far the two
    one-pass curves lie apart; and the ``robots`` without runtime figures."""
    bullets, counts = [], None
    for robot, rows in runtimes.items():
        if not {"convgru_forced_ms", "onepass_forced_ms"} <= set(rows[0]):
            continue
        first, last = rows[0], rows[-1]
        counts = (first["robots"], last["robots"])
        bullets.append(
            f"* *{robot}*: the recurrent model's from {first['convgru_forced_ms']:.0f} to "
            f"{last['convgru_forced_ms']:.0f} ms ({last['convgru_forced_ms'] / first['convgru_forced_ms']:.1f} times), "
            f"the one-pass model's from {first['onepass_forced_ms']:.1f} to {last['onepass_forced_ms']:.1f} ms "
            f"({last['onepass_forced_ms'] / first['onepass_forced_ms']:.2f} times).")
    paragraphs = []
    if bullets:
        gap = max((abs(r["onepass_ms"] / r["onepass_forced_ms"] - 1) for rows in runtimes.values() for r in rows
                   if {"onepass_ms", "onepass_forced_ms"} <= set(r)), default=None)
        paragraphs += [f"From {counts[0]} to {counts[1]} robots, with both models forced to decode as many instances "
                       "as there are robots (the red and orange curves), the instance stage grows as follows:",
                       "\n".join(bullets),
                       "Unforced, the recurrent model stops where its own end-of-sequence rule says (the green curve), "
                       "so its time follows how many masks it emits rather than the robots in the scene"
                       # rounded up: "within 2%" must hold for a 2.4% gap
                       + (f"; the two one-pass curves stay within {math.ceil(gap * 100 - 1e-9)}% of each other."
                          if gap is not None else ".")]
    missing = [r for r in robots if r not in runtimes]
    if missing:
        paragraphs.append(f"No one-pass study with runtime figures for {', '.join(missing)}, so no curve for it here.")
    return "\n\n".join(paragraphs)


def describe_train_bench(bench: list[dict], config_name: str, quick: bool = False) -> str:
    """Chapter 6's table of one optimiser step per recipe variant (``bench.train.throughput``
    rows: "variant", "samples_per_s", "speedup" against fp32 eager, "input", "batch",
    "device", "threads"; the shipped recipe last) with the conditions before it and the
    shipped recipe's speed-up after it; a note when the CPU has no native bfloat16 (the
    third row says so) and, with ``quick``, that the rows are noisy."""
    H, W = bench[0]["input"]
    return (f"`{config_name}` configuration, batch {bench[0]['batch']}, input {H}x{W}, on {bench[0]['device']} with "
            f"{bench[0]['threads']} torch thread:\n\n"
            + markdown_table(bench, columns=["variant", "samples_per_s", "speedup"],
                             formats={"samples_per_s": ".1f", "speedup": ".2f"},
                             headers={"samples_per_s": "samples/s", "speedup": "speed-up over fp32 eager"})
            + f"\n\nThe shipped recipe trains {bench[-1]['speedup']:.1f} times as many samples per second as plain "
              "fp32 here. "
            + ("On a CPU without native bfloat16 the mixed-precision step is not taken (its row says so). "
               if len(bench) > 2 and "not native" in bench[2]["variant"] else "")
            + ("Quick mode: a tiny network timed over two steps, so the rows are noisy; the throughput column of "
               "the introduction's table of the shipped models is the better guide." if quick else
               "The throughput column of the introduction's table is another measurement of the same recipe: the "
               "median rate each training run logged over its whole length, with its scenes rendered beside it, "
               "so the two rates agree only roughly."))


def depth_next_step(rows: list[dict]) -> str:
    """What to try next about the depth error (chapter 6's open problems), from the depth
    study's rows (``cards.depth_study_rows``): with an oracle-scale figure, the share of the
    last such checkpoint's joint depth error that knowing each robot's distance removes,
    and the next step that share points to (from half: predict each robot's distance);
    without one, to run the diagnosis."""
    scaled = [r for r in rows if np.isfinite(r["oracle scale"])]
    if not scaled:
        return ("diagnose the shipped checkpoint with `scripts/depth_diagnosis.py` to see how much of the error is "
                "each robot's distance")
    r = scaled[-1]
    share = 1 - r["oracle scale"] / r["joints"]
    return (f"in the depth study above, knowing each robot's distance removes {share:.0%} of the joint depth error "
            f"of *{r['checkpoint']}*; "
            + ("so predict each robot's distance better (from its apparent size, for example) before anything else"
               if share >= 0.5 else
               "the rest lies in the depths of the joints relative to each other, which a per-robot scale cannot "
               "fix, so train a larger network for longer on a GPU (`scripts/gpu_train.sh`)"))


def _ours(r: ScoreRow) -> str:
    """A scorecard row's figures; the real-photo AUC (chapter 5) is on all seven joints."""
    return r.ours + (", on all seven joints" if r.chapter == "5" and "joint" not in r.ours else "")


def _problem_bullet(key: str, rows: list[ScoreRow], next_step: str | None) -> str:
    """One Markdown bullet of open problems: the claim, then paper, ours and next, each a
    sentence; several rows under one ``key`` (near and far depth) share one heading, the
    source (e.g. "Table I") said once."""
    if len(rows) == 1:
        r = rows[0]
        return (f"* **{r.claim}** ({r.verdict}). Paper: {r.paper}. Ours: {_ours(r)}. "
                f"Next: {next_step or 'see chapter ' + r.chapter}.")
    whats = [r.claim[len(key):].strip(" ,") or r.claim for r in rows]
    tails = {w.rpartition(", ")[2] for w in whats}
    source = tails.pop() if len(tails) == 1 and all(", " in w for w in whats) else ""
    heading = f"{key}, {source}" if source else key
    parts = []
    for w, r in zip(whats, rows):
        w = w.rpartition(", ")[0] if source else w
        parts.append(f"{w[0].upper() + w[1:]} ({r.verdict}): paper {r.paper}; ours {_ours(r)}.")
    return f"* **{heading}**. " + " ".join(parts) + f" Next: {next_step or 'see chapter ' + rows[0].chapter}."


def open_problems(rows: list[ScoreRow], next_steps: dict[str, str]) -> str:
    """Chapter 6's list of open problems: the scorecard rows (``scorecard.scorecard``) not
    yet or partly reproduced, one Markdown bullet per entry of ``next_steps`` (a claim's
    first words -> what to try next; rows whose claim starts alike, such as near and far
    depth, share a bullet) or per claim without one. A sentence when every row is
    reproduced."""
    from ..scorecard import NOT_YET, PARTLY

    groups: dict[str, list] = {}
    for r in rows:
        if r.verdict in (NOT_YET, PARTLY):
            key = next((k for k in next_steps if r.claim.startswith(k)), r.claim)
            groups.setdefault(key, []).append(r)
    if not groups:
        return "Every scored claim is reproduced by the shipped models."
    # the rows' sentences name chapters for the introduction; this list is chapter 6's
    return point_here("\n".join(_problem_bullet(k, g, next_steps.get(k)) for k, g in groups.items()), "6")


def instance_budgets(robots, folder=None) -> dict[str, dict[str, dict]]:
    """How each robot's two shipped instance models were trained, read from their records:
    {robot: {"onepass": {"steps", "scenes", "hours", "trained_on"}, "convgru": {...}}} (steps,
    scenes = steps x batch and wall hours summed over what the weights descend from,
    :func:`cards.training_cost`; "trained_on": its parts' recipes in words,
    :func:`trained_on`). A robot missing either record is left out."""
    from ..cards import training_cost

    out = {}
    for robot in robots:
        costs = {key: training_cost(f"{robot}_{task}_cpu", folder)
                 for key, task in (("onepass", "onepass"), ("convgru", "instances"))}
        if all(c.steps for c in costs.values()):
            out[robot] = {key: {"steps": c.steps, "scenes": c.scenes, "hours": c.hours,
                                "trained_on": trained_on(c.recipe_steps())} for key, c in costs.items()}
    return out


def onepass_verdict(figures: list[dict], budgets: dict) -> str:
    """Chapter 6's opening box text (it scores no claim of the paper): a table with one row
    per robot with both instance models in ``figures`` (``scorecard.onepass_figures``):
    how often each model counts the robots right on the fixed synthetic test scenes, beside
    its training budget (``budgets``: :func:`instance_budgets`); a stale record says so.
    Without a robot that has both, only that no claim is scored."""
    def cell(m: dict, b: dict) -> str:
        return (f"**{m['counting_accuracy']:.0%}**; {b['steps']:,} steps ({b['scenes']:,} scenes, "
                f"{b['hours']:.1f} h) {b['trained_on']}" + (f" (the record: {m['stale']})" if m.get("stale") else ""))

    rows = []
    for f in figures:
        models, b = f.get("models", {}), budgets.get(f["robot"])
        if not {"onepass", "convgru"} <= set(models) or b is None:
            continue
        o, c = models["onepass"], models["convgru"]
        rows.append({"robot (test scenes)": f"{f['robot']} ({o['n']})",
                     "one-pass model (ours): counted right; trained": cell(o, b["onepass"]),
                     "recurrent model (the paper's): counted right; trained": cell(c, b["convgru"])})
    if not rows:
        return ("This chapter scores no claim of the paper: it measures what the paper did not (no record of "
                "both instance models is here to summarise).")
    return ("This chapter scores no claim of the paper: it measures what the paper did not. Its main result, on "
            "the fixed synthetic test scenes: how often each instance model counts the robots right, beside how "
            "each was trained.\n\n" + markdown_table(rows)
            + "\nThe two models differ in training budget and data as well as in design, so each comparison is "
            "of all three together.")
