"""Chapter 3 (instances): the rule for the scenes its step-by-step figure shows
(:func:`chosen_masks_rule`), the toy and its seed sweep, the steps' counts, activation and purity,
COCO AP and counting, the record against the chapter, the instance stage's runtime, the logs, and
the chapter's summary."""
from __future__ import annotations

import numpy as np

from ..metrics import chance_band
from .tables import join_words, markdown_table


def chosen_masks_rule(chosen, min_active_fraction: float, model: str) -> str:
    """Chapter 3: how the scenes of the step-by-step figure were chosen
    (``showcase.median_instance_scenes``): per row (a ``showcase.ChosenScene`` with k
    robots) the shown scene's mean best IoU (one minus its error), the candidates' number
    and range; ``model`` names the instance model (e.g. "the reference instance model")."""
    rows = []
    for c in chosen:
        iou = 1.0 - np.asarray(c.errors, dtype=float)
        iou = iou[np.isfinite(iou)]
        k = c.sample.num_robots
        shown = 1.0 - c.error
        rows.append(f"{k} robot{'s' * (k != 1)}: {shown:.2f} (its {len(iou)} candidates from "
                    f"{iou.min():.2f} to {iou.max():.2f}, {int((iou > shown).sum())} better and "
                    f"{int((iou < shown).sum())} worse)")
    return ("The rows are chosen by a rule, not by eye. For each number of robots, the candidates are the first "
            "scenes with exactly that many robots, rendered with the test set's parameters and background photos "
            "(the robot count set for each row, up to 4 where the test set holds at most 3; every robot kept in "
            f"view). The row shows the candidate of median *mean best IoU* under {model}. That measure takes, for "
            f"each true robot, the best IoU of a mask the model emits before the {min_active_fraction:.1%} "
            "stopping rule ends the sequence (0 for a robot that no such mask overlaps), averaged over the "
            "scene's robots; 1 is perfect. The shown scene's value per row:\n\n"
            + "\n".join(f"* {r};" for r in rows[:-1]) + f"\n* {rows[-1]}.")


def shown_count(fractions, rule: float) -> str:
    """Chapter 3: the robots a stopping rule counts from a scene's per-step active shares
    (``structures.count_by_rule``; ``rule`` a fraction), as a table cell: "3", or "≥ 5
    (never stopped)" when every step run counted (the rule never fired)."""
    from ..structures import count_by_rule

    n = count_by_rule(fractions, rule)
    return f"≥ {n} (never stopped)" if n == len(fractions) else str(n)


def describe_assignment(wrong: int, links: int) -> str:
    """Chapter 3: the nearest-neighbour chains of Fig. 3.1 in words (``viz.instances.
    wrong_links``: ``wrong`` of the ``links`` join joints of two different robots)."""
    return ("In this scene the nearest-neighbour heuristic joins joints of two different "
            f"robots in {wrong} of its {links} links"
            + (": every such chain is a robot that does not exist." if wrong else
               ": here the robots stand apart, and the heuristic happens to work; it fails as "
               "soon as they come close."))


def describe_toy_counts(right: dict[float, float], counts) -> str:
    """Chapter 3: how often the toy instance model counts the discs right on held-out
    scenes, per stopping rule (``right``: rule fraction -> share of scenes counted right),
    beside a model that always answers the most frequent true count (``counts``: the
    scenes' true counts)."""
    counts = np.asarray(counts, dtype=np.int64)
    return (f"On {len(counts)} held-out toy scenes the model counts the discs right in "
            + " and ".join(f"{share:.0%} of the scenes with the {rule:.0%} rule"
                           for rule, share in right.items())
            + f" (a model that always answered the most frequent count would score about "
              f"{np.bincount(counts).max() / len(counts):.0%}).")


def describe_toy_steps(steps: int, seconds: float, quick: bool, true_counts=None, counted=None,
                       rule: float = 0.02) -> str:
    """Chapter 3: the caption-like reading of the toy model's steps (Fig. 3.5), after
    ``steps`` training steps that took ``seconds``; ``quick``: a quick build's short run.
    ``true_counts`` and ``counted`` (per shown row, by the ``rule`` fraction): the sentence
    says which rows the rule counts wrong."""
    text = ("Each row of {numref}`fig-toy-steps` is one held-out scene; the columns after "
            f"the first are the model's steps, after {steps:,} training steps "
            f"({seconds:.0f} s)"
            + (" only: quick mode, so the masks are rough" if quick else "") + ".")
    if true_counts is not None and counted is not None:
        true_counts, counted = [int(c) for c in true_counts], [int(c) for c in counted]
        wrong = [(t, c) for t, c in zip(true_counts, counted) if t != c]
        text += (f" By the {rule:.0%} rule the model counts "
                 + join_words([str(c) for c in counted]) + " in the rows, against the true "
                 + join_words([str(t) for t in true_counts]) + ": "
                 + ("every row right" if not wrong else
                    f"{len(true_counts) - len(wrong)} of {len(true_counts)} rows right; "
                    + join_words([f"the row with {t} disc{'s' * (t != 1)} is counted as {c}" for t, c in wrong]))
                 + " (the accuracy above counts all the held-out scenes). A count can be right while a step "
                   "repeats a disc or covers two at once: the masks show which discs each step took.")
    return text + (" The step purity measured on the toy scenes further below says how often a "
                   "step emits exactly one disc.")


def describe_step_counts(labels, fractions, paper_rule: float, our_rule: float) -> str:
    """Chapter 3: Markdown table of what each stopping rule counts in the scenes of Fig. 3.7.

    Args:
        labels: per scene its row label ("2 robots").
        fractions: per scene the active share of each step run (T,), all scenes the same T.
        paper_rule, our_rule: the two rules' fractions (the paper's 5%, ours).
    """
    steps_run = len(fractions[0])
    paper_col, our_col = f"counted ({paper_rule:.0%} rule)", f"counted ({our_rule:.1%} rule)"
    rows = [{"scene": label, paper_col: shown_count(fr, paper_rule),
             our_col: shown_count(fr, our_rule)} for label, fr in zip(labels, fractions)]
    return ("The robots each rule counts in these scenes: the steps before the first one with "
            f"fewer activated pixels than the rule's fraction ({paper_rule:.0%} for the "
            f"paper's, {our_rule:.1%} for ours). The model ran {steps_run} steps, so a count of "
            f"{steps_run}, shown as ≥ {steps_run}, means that it never stopped within them "
            "and would have counted on.\n\n" + markdown_table(rows))


def describe_step_activation(activation: dict) -> str:
    """Chapter 3: where the steps of Fig. 3.7 light up, from ``eval.instances.
    activation_on_robots`` over the figure's scenes: the share of their activated pixels
    that lie on a robot against the share of the image the robots cover, and so whether the
    masks outline robots or light up the background."""
    on, area, active = activation["on_robot"], activation["robot_area"], activation["activated"]
    if not np.isfinite(on):
        return ("In {numref}`fig-steps` the steps that should each emit a robot activate no "
                "pixel at all.")
    text = ("What {numref}`fig-steps` shows, in numbers: the steps that should each emit one "
            f"robot (the first R of a scene with R robots, {activation['steps']} steps in these "
            f"{activation['scenes']} scenes) activate {active:.1%} of the image on average, "
            f"while the robots cover {area:.1%}; {on:.0%} of the activated pixels lie on a "
            "robot. ")
    if on < 0.5:
        text += (f"In these {activation['scenes']} scenes most of what the masks light up is background: "
                 "blobs on the photo around "
                 "and between the robots, not robot outlines. Where a step covers two robots, "
                 "it covers that background with them: it is not the union of two robot "
                 "shapes.")
    else:
        text += (f"In these {activation['scenes']} scenes most of what the masks light up lies on the robots; "
                 "the step purity below measures the same share over all the test scenes with two or more "
                 "robots, where it can come out otherwise.")
    return text


def describe_step_purity(purity: dict, scenes: int, activation: dict | None = None,
                         shown: dict | None = None) -> str:
    """Chapter 3: Markdown reading ``eval.instances.step_purity`` on ``scenes`` test scenes
    with two or more robots (does each step cover one robot?), with, when given, where those
    steps light up (``eval.instances.activation_on_robots`` of the same steps), so that a
    step that "covers two robots" is not read as a union of robot shapes when it lights up
    the background around them. ``shown``: the same measure on the scenes of Fig. 3.7
    (``fig-steps``); where its share on robots differs from the test scenes' by 15 points
    or more, a sentence says which to trust."""
    text = (f"On {scenes} test scenes with two or more robots ({purity['steps']} "
            f"instance steps), **{purity['single']:.0%}** of the steps cover exactly one "
            f"robot (at least half of its pixels activated), {purity['union']:.0%} cover two "
            f"or more at once and {purity['none']:.0%} none; {purity['repeated']:.0%} of the "
            "robots are covered by more than one step. ")
    if activation is not None and np.isfinite(activation["on_robot"]):
        text += (f"Only {activation['on_robot']:.0%} of the pixels these steps activate lie "
                 f"on a robot (the robots cover {activation['robot_area']:.1%} of the image, "
                 f"a step activates {activation['activated']:.1%}): "
                 if activation["on_robot"] < 0.5 else
                 f"{activation['on_robot']:.0%} of the pixels these steps activate lie on a "
                 "robot: ")
        text += ("the steps that cover several robots cover the background around them "
                 "too, not the robots' shapes alone. " if activation["on_robot"] < 0.5 else
                 "the steps outline robots rather than the background. ")
        if shown is not None and np.isfinite(shown["on_robot"]) \
                and abs(shown["on_robot"] - activation["on_robot"]) >= 0.15:
            text += (f"In the {shown['scenes']} scenes of {{numref}}`fig-steps` the share was "
                     f"{shown['on_robot']:.0%}: those are a handful of scenes, one per robot count "
                     "from one robot up, chosen at median mask quality, while these are all the test "
                     "scenes with two or more robots, so the figure shows the model "
                     + ("better" if shown["on_robot"] > activation["on_robot"] else "worse")
                     + " than it is on the test set. ")
    return text + ("Most steps emit one robot, as the paper intends."
                   if purity["single"] > 0.5 else
                   "Most steps do **not** emit one robot: the model has not learnt the "
                   "instance separation the paper describes, and its counts below come from "
                   "masks fading step by step, not from one robot per step.")


def describe_canvas(without: list[dict], with_canvas: list[dict], steps: int, quick: bool) -> str:
    """Chapter 3: canvas feedback on the toy discs, read against the seeds' spread.

    Args:
        without, with_canvas: ``toy.toy_sweep`` rows of the default setting without and
            with canvas feedback (several seeds each, ``steps`` steps), each with "steps
            with one disc" (``eval.instances.step_purity``'s "single") added.

    Returns:
        whether the canvas moves the counting accuracy and the share of one-disc steps by
        more than the seeds of the run without it spread (:func:`seed_effect`), and that
        the reference models were trained without it."""
    def span(rows):
        values = _column(rows, "count right", 0.01)
        return f"{values.min():.0%} to {values.max():.0%}"

    return (f"Over {steps} toy training steps, with {len(with_canvas)} seeds against {len(without)}, "
            + seed_effect(without, with_canvas, "canvas feedback", CANVAS_COLUMNS) + "."
            + f" The runs' counting accuracies range from {span(without)} without the canvas and from "
              f"{span(with_canvas)} with it: the rule reads {len(with_canvas)} runs against {len(without)}, a "
              "first sign rather than a measured size."
            + (" (Quick mode: very short runs, so these differences mean little.)" if quick else "")
            + " The reference models were trained without the canvas; retraining them with it "
              "is an open step.")


def describe_coco_ap(box: dict[str, float], mask: dict[str, float], ours: str,
                     trained: bool = True) -> str:
    """Chapter 3: COCO's headline AP (IoU 0.50:0.95) of boxes and masks with our stopping
    rule (label ``ours``, e.g. "0.2%") and the paper's 5% rule (``box``/``mask``: rule
    label -> AP, with keys ``ours`` and "5%"); ``trained`` False adds that the model is an
    untrained stand-in."""
    return (f"COCO AP (IoU 0.50:0.95) with our {ours} rule: boxes "
            f"{box[ours]:.3f}, masks {mask[ours]:.3f}; with the "
            f"paper's 5% rule {box['5%']:.3f} and {mask['5%']:.3f}. The "
            "paper's own AP values are in its Fig. 7b only, so the introduction's scorecard "
            "cannot compare them."
            + ("" if trained else " (An UNTRAINED stand-in model: these numbers mean nothing.)"))


def describe_test_counts(scenes_by_count: dict[int, int], shares) -> str:
    """Chapter 3: how many robots the test scenes hold against what their parameters draw
    on average (``scenes_by_count``: true robot count -> test scenes; ``shares``:
    ``eval.testset.robot_count_shares``), naming each count whose share lies more than two
    binomial standard errors from the average: the draw of this seed, which the counting
    figures weigh."""
    n = sum(scenes_by_count.values())
    if not n:
        return ""
    counts = range(len(shares))
    here = [scenes_by_count.get(k, 0) / n for k in counts]
    off = [k for k in counts if abs(here[k] - shares[k]) > chance_band(shares[k], n)]
    text = (f"The {n} test scenes hold " + ", ".join(f"{here[k]:.0%}" for k in counts) + " of scenes with "
            + ", ".join(str(k) for k in counts) + " robots; their parameters draw "
            + ", ".join(f"{shares[k]:.0%}" for k in counts) + " on average (2,000 draws of the same parameters, not "
            "rendered).")
    if off:
        text += (" This draw holds " + join_words([f"{'more' if here[k] > shares[k] else 'fewer'} scenes with "
                                                 f"{k} robots" for k in off])
                 + " than the average by more than two standard errors of so many scenes, by the chance of its seed; "
                   "the counting figures above weigh the scenes as this draw holds them.")
    return text


def describe_counting(total: dict, singles: dict | None, ours: str) -> str:
    """Chapter 3: counting accuracy in words, from the chapter's counting table (``total``:
    its "all" row, ``singles``: its one-robot row or None; columns "right (LABEL)" and
    "mean count (LABEL)" for the rule labels ``ours`` and "5%", and "scenes")."""
    return (f"With the {ours} rule the count is right in {total[f'right ({ours})']:.0%} of "
            f"the {total['scenes']} test scenes (the paper's 5% rule: "
            f"{total['right (5%)']:.0%})"
            + ("; where there is one robot the model counts "
               f"{singles[f'mean count ({ours})']:.1f} on average" if singles else "")
            + (": it does not stop reliably, the weak point the paper itself names."
               if total[f"right ({ours})"] < 0.5 else "."))


def instance_record_comparison(record: dict, here: dict, scenes: int, fraction: float) -> str:
    """Chapter 3: the instance model's recorded evaluation (``record``: the "test" figures
    of its eval.json, with "box_ap", "mask_ap", "mask_ap50", "counting" {"all": {"images",
    "accuracy"}} and "min_active_fraction") beside this chapter's (``here``: the same four
    figures, keys "box AP", "mask AP", "mask AP at IoU 0.5", "count right", on ``scenes``
    scenes with the rule ``fraction``): which scenes and rule the record used, its figures,
    and why they agree or differ."""
    card_all = record["counting"]["all"]
    card_fraction = record.get("min_active_fraction")
    same_rule = card_fraction is not None and np.isclose(card_fraction, fraction)
    same_scenes = card_all["images"] == scenes
    pairs = [("box AP", record["box_ap"], here["box AP"], ".3f"),
             ("mask AP", record["mask_ap"], here["mask AP"], ".3f"),
             ("mask AP at IoU 0.5", record["mask_ap50"], here["mask AP at IoU 0.5"], ".3f"),
             ("count right", card_all["accuracy"], here["count right"], ".0%")]
    # agreement as chapter 2 reads it (cards.differing_figures): within 0.006, equal when both are
    # rounded to two decimals
    differ = [(name, a, b, f) for name, a, b, f in pairs if not abs(a - b) < 0.006]
    agree = not differ
    if not same_rule:
        verdict = "with another stopping rule than this chapter's, so they differ"
    elif not same_scenes:
        verdict = (f"on more scenes than this chapter's {scenes}, so they "
                   "differ by which scenes are counted")
    elif agree:
        verdict = "the same as this chapter's when both are rounded to two decimals"
    else:
        verdict = ("on the same scenes with the same rule, yet not all this chapter's when both are rounded to "
                   "two decimals: " + ", ".join(f"{name} {b:{f}} here" for name, _, b, f in differ)
                   + ". With the same scenes, rule and checkpoint, a difference can only come from the "
                   "computation (device, library versions) or from the evaluation code")
    return ("The introduction's scorecard quotes the model's recorded evaluation (as in "
            f"chapter 2): the first {card_all['images']} test scenes, "
            + (f"the {card_fraction:.1%} rule" if card_fraction is not None
               else "a rule it does not name")
            + ", " + ", ".join(f"{name} {a:{f}}" for name, a, _, f in pairs)
            + f"; figures {verdict}.")


def describe_instance_runtime(rows: list[dict], rounds: int, size: tuple[int, int],
                              device: str, threads: int, slope: float, intercept: float,
                              quick: bool = False) -> str:
    """Chapter 3: Markdown of the instance model's runtime per robot count
    (``bench.runtime.instance_timings`` rows: "robots", "localization ms", "instance ms",
    "instance ms / robots", ...; medians over ``rounds``) at ``size`` (H, W) on ``device``
    with ``threads`` torch threads: the table, the least-squares line of the instance time
    over the robot count (``intercept`` and ``slope``, ms), and the slope against one
    localization pass. Raises ValueError for no rows."""
    if not rows:
        raise ValueError("rows: no timings")
    first, last = rows[0], rows[-1]
    return (
        f"Medians over {rounds} rounds (after one warm-up pass) of one image at a time, "
        f"{size[0]}x{size[1]} pixels, on {device} with {threads} torch "
        f"thread{'s' if threads != 1 else ''} (medians damp the odd slow round); timed "
        "are the localization network's forward pass and the instance model's context "
        "module plus k + 1 ConvGRU and refine steps:\n\n"
        + markdown_table(rows, formats={c: ".1f" for c in rows[0] if "ms" in c},
                         headers={"instance IQR ms": "instance ms, interquartile range"})
        + "\n\n(The interquartile range spans the middle half of the rounds' times: how much they vary.)"
        + f"\n\nA least-squares line over 1 to {last['robots']} robots gives "
          f"about {intercept:.1f} ms plus {slope:.1f} ms per robot for the instance "
          f"model, against {first['localization ms']:.0f} ms for the "
          "localization network: "
        + (f"each robot adds {slope / first['localization ms']:.0%} of a "
           "localization pass."
           if slope > 0 else
           "the timing noise hides the per-robot cost at this size.")
        + f" The {slope:.1f} ms is the cost of one more robot (the line's slope). The "
          "column \"instance ms / robots\" is the instance time divided by the robot "
          "count, so it also carries a share of the fixed part (the context module and "
          "the end-of-sequence step): "
          f"{first['instance ms / robots']:.1f} ms with "
          f"{first['robots']} robot{'s' * (first['robots'] != 1)}, "
          f"{last['instance ms / robots']:.1f} ms with {last['robots']}."
        + (" (Quick mode: few rounds, so these timings are noisy.)"
           if quick else "")
        + " Chapters 4 and 6 time under other conditions, so their milliseconds differ "
          "from these: chapter 4's Table II times the primitive Panda's networks, one "
          "ConvGRU step alone, as means; chapter 6 reads the times its one-pass study measured, "
          "with their own thread setting and computer. Compare times within one table.")


# relative noises of two single runs closer than this factor are not ranked
NOISE_RATIO = 1.25


def describe_log_noise(noise: dict[str, float], noise_last: dict[str, float]) -> str:
    """Chapter 3: the relative noise of the instance and the localization runs' logged loss
    (``viz.training.relative_noise``), over their whole training (``noise``) and over its
    last phase (``noise_last``; keys "instances" and "localization"): which is noisier,
    and whether the last phase tells the same."""
    louder = noise["instances"] > noise["localization"]
    louder_last = noise_last["instances"] > noise_last["localization"]
    # one run each: a ratio this close to 1 does not rank them
    close = max(noise.values()) < NOISE_RATIO * min(noise.values())
    return (f"Over all their phases, the instance run's relative noise is "
            f"{noise['instances']:.2f} against the localization run's "
            f"{noise['localization']:.2f}: "
            + (f"within {NOISE_RATIO - 1:.0%} of each other, which one run each does not rank, so these two logs "
               "alone do not show the instance model as the harder one to train" if close else
               "the matching loss is the noisier of the two" if louder else
               "the localization run is the noisier one, so these two logs alone do not "
               "show the instance model as the harder one to train")
            + f". In their last phases alone the two are {noise_last['instances']:.2f} "
              f"and {noise_last['localization']:.2f}"
            + (": equal at two decimals." if f"{noise_last['instances']:.2f}"
               == f"{noise_last['localization']:.2f}" else
               ", in the same order." if louder == louder_last else
               ", in the other order: the verdict depends on the phase of the run.")
            + " The localization run's loss itself changes between phases (chapter 7 "
              "says what each phase changed), so its drops between fifths mix progress "
              "with those changes. The seed sweep below looks at training across runs.")


# counting accuracies measured on different scenes closer than this are not told apart
COUNT_GAP = 0.10


def describe_unstopped_runs(rows: list[dict], shipped: dict | None = None,
                            where: str = "of this chapter's scenes") -> str:
    """Chapter 3: the runs trained with the paper's end-of-sequence weight 1 (``rows``: per
    robot "robot", "mean count, 1 robot" and "count right" (share)): whether they stopped,
    from the worst one's mean count where the scene holds one robot; with ``shipped`` (the
    same keys for the chapter's shipped model, trained with a heavier weight, and optionally
    "eos weight", that weight or a list of one per phase of its training),
    how that robot's weight-1 run compares with it on both
    figures, which need not agree; ``where`` names the scenes the shipped model's figures
    come from. Raises ValueError for no rows."""
    if not rows:
        raise ValueError("rows: no run with the paper's end-of-sequence weight")
    worst = max(rows, key=lambda r: r.get("mean count, 1 robot", 0))
    count = worst.get("mean count, 1 robot", float("nan"))
    text = (("They did not stop" if count > 1.5 else "They mostly stopped")
            + f": where there was one robot, the {worst['robot']} model counted "
              f"{count:.1f} on average.")
    first = next((r for r in rows if shipped and r["robot"] == shipped.get("robot")), None)
    if first is None or None in (shipped.get("mean count, 1 robot"), shipped.get("count right")):
        return text
    fewer = shipped["mean count, 1 robot"] < first["mean count, 1 robot"]
    # counted on different scenes: a gap under COUNT_GAP is no difference to speak of
    gap = round(shipped["count right"], 2) - round(first["count right"], 2)
    righter, similar = gap >= COUNT_GAP, abs(gap) < COUNT_GAP
    weight = shipped.get("eos weight")  # one number, or one per phase of its training
    weights = [] if weight is None else list(weight) if isinstance(weight, (list, tuple)) else [weight]
    heavier = (f"a heavier weight ({min(weights):g} to {max(weights):g} over its phases of training)"
               if len(set(weights)) > 1 else f"a heavier weight ({weights[0]:g})" if weights else "a heavier weight")
    text += (f" The {first['robot']} model shipped, trained with {heavier}, counts "
             f"{shipped['mean count, 1 robot']:.1f} there. It counts right in {shipped['count right']:.0%} {where}, "
             f"against the weight-1 run's {first['count right']:.0%} of its own")
    if fewer and similar:
        text += (": it over-counts less, but counts right about as often (the two shares come from different "
                 f"scenes and differ by less than {100 * COUNT_GAP:.0f} percentage points). A model that counts 3 "
                 "where there is 1 is as wrong as one that counts 6.")
    elif fewer and not righter:
        text += (": it over-counts less without counting right more often. A model that counts 3 where there "
                 "is 1 is as wrong as one that counts 6.")
    elif fewer:
        text += ": it over-counts less and counts right more often."
    else:
        text += ": it does not over-count less."
    return text + (" The two runs differ in the weight, in length and in the test set's backgrounds, so the "
                   "difference is not the weight's alone.")


def describe_eos_errors(first_end: float, phases: list[tuple[float, float]], weights: list[float],
                        our_rule: float, ours_count: float | None,
                        weight1_count: float | None) -> str:
    """Chapter 7: Markdown reading the end-of-sequence error (eq. 6's second term) of the
    instance runs (the figure of the weight-1 run and the shipped model's phases).

    Args:
        first_end: where the run with the paper's weight 1 ends (the mean over its last
            tenth of logged steps, ``viz.training.tenth_mean``).
        phases: per phase of the shipped model's training, in order, (where it starts, where
            it ends): the means over its first and last tenth; ``weights``: each phase's
            end-of-sequence weight.
        our_rule: our stopping rule's active fraction; ``ours_count``: the shipped model's
            mean count where the scene holds one robot (the chapter's counting table), or
            None; ``weight1_count``: the weight-1 run's, or None.

    Returns:
        whether the heavier weight lowered the error, what each later phase did to it, what
        leftover mask the last phase's error amounts to, and which of a leftover mask or a
        faint haze the counts point to.

    Raises:
        ValueError: no phase, or not one weight per phase.
    """
    if not phases or len(weights) != len(phases):
        raise ValueError(f"phases, weights: one weight per phase needed, got {len(phases)} phases and "
                         f"{len(weights)} weights")
    ours = f"{our_rule:.1%}"
    ends = [end for _, end in phases]
    numbers = join_words([str(k) for k in range(1, len(phases) + 1)])
    text = ("Averaged over the last tenth of each run's logged steps, the end-of-sequence "
            f"error ends at {first_end:.4f} with weight 1, and at "
            + join_words([f"{e:.4f}" for e in ends])
            + f" after the shipped model's phase{'s' * (len(phases) > 1)} {numbers} (weight"
            + f"{'s' * (len(phases) > 1)} " + join_words([f"{w:g}" for w in weights]) + ")"
            + (f": {1 - ends[0] / first_end:.0%} lower after phase 1 (runs of other lengths, so not the weight's "
               "doing alone)" if ends[0] < first_end else ": no lower after phase 1"))
    for k in range(1, len(phases)):
        start, end = phases[k]
        if end > 1.1 * start:
            text += (f". Phase {k + 1} began at {start:.4f} (its first tenth) and climbed back"
                     + (f" above where phase {k} ended" if end > ends[k - 1] else ""))
        elif end < start / 1.1:
            text += f". Phase {k + 1} lowered it from {start:.4f} (its first tenth) to {end:.4f}"
        else:
            text += f". Phase {k + 1} kept it where it began (its first tenth: {start:.4f})"
    # a phase that starts off where the one before ended (both tenths' means, noisy)
    if any(abs(phases[k][0] - ends[k - 1]) > 0.1 * ends[k - 1] for k in range(1, len(phases))):
        text += (". A phase's first tenth need not start where the phase before ended: each phase is a new run "
                 "on other scenes, and the logged error is noisy from batch to batch")
    last = ends[-1]
    return (
        text
        + f". An error of {last:.4f} is what a leftover mask fully activated on "
          f"{last:.2%} of the image would leave"
        + (f", {last / our_rule:.0f} times the share our {ours} stopping "
           "rule lets through" if last >= 1.5 * our_rule else "")
        + "; a faint haze below the activation threshold of 0.5 could leave the same "
          "error without counting"
        + (". The model card's counting on its test scenes tells which: where there is one robot the "
           f"shipped model counts {ours_count:.1f} on average, so "
           + ("its steps after the robot often stay above the rule" if ours_count > 1.5
              else "it mostly stops after the robot and the error is mostly haze")
           + (f" (the weight-1 run: {weight1_count:.1f}, in its own evaluation, on scenes with other "
              "backgrounds)"
              if weight1_count else "")
           if ours_count is not None else "")
        + ".")


# the toy sweep's columns: name in the text, how a value and a difference are shown, and
# the step of the shown numbers (differences are compared as shown)
SWEEP_COLUMNS = {"count right": ("counting accuracy", lambda x: f"{x:.0%}",
                                 lambda x: f"{100 * x:.0f} points", 0.01),
                 "final cost per disc": ("final cost per disc", lambda x: f"{x:.3f}",
                                         lambda x: f"{x:.3f}", 0.001)}


# canvas feedback is read on the count and on what it is meant to change: one disc per step
CANVAS_COLUMNS = {"count right": SWEEP_COLUMNS["count right"],
                  "steps with one disc": ("share of one-disc steps", lambda x: f"{x:.0%}",
                                          lambda x: f"{100 * x:.0f} points", 0.01)}


def _column(rows: list[dict], name: str, step: float | None = None) -> np.ndarray:
    """The column ``name`` of ``rows``; with ``step``, rounded to it as the text shows it, so
    that differences quoted follow from the figures as printed."""
    values = np.array([r[name] for r in rows], dtype=float)
    return values if step is None else np.round(values / step) * step


def seed_effect(same: list[dict], rows: list[dict], what: str, columns: dict | None = None) -> str:
    """Chapter 3: whether a change of setting (``what``, e.g. "the end-of-sequence weight of
    20"; its runs ``rows``) moves each column of ``columns`` (default ``SWEEP_COLUMNS``;
    ``toy.toy_sweep`` rows) by more than the seeds of the default setting (``same``) spread
    on it (highest minus lowest), both compared as shown: "<what> raises the counting
    accuracy from 50% to 60% (10 points, more than the seeds' spread: an effect) and ...";
    with fewer than three runs on either side, only "a sign of an effect"."""
    parts = []
    for c, (name, show, gap, step) in (columns or SWEEP_COLUMNS).items():
        floor = round(float(np.ptp(_column(same, c, step))) / step)
        # the means as shown, and their difference from the shown figures
        before = round(_column(same, c).mean() / step) * step
        after = round(_column(rows, c).mean() / step) * step
        change = after - before
        parts.append(
            f"{'raises' if change > 0 else 'lowers'} the {name} from {show(before)} "
            f"to {show(after)} ({gap(abs(change))}, "
            + ((f"more than the seeds' spread: a sign of an effect, {len(rows)} run{'s' * (len(rows) != 1)} against "
                f"{len(same)})" if min(len(rows), len(same)) < 3 else "more than the seeds' spread: an effect)")
               if round(abs(change) / step) > floor
               else "not more than the seeds' spread: no effect shown)"))
    return f"{what} " + " and ".join(parts)


def describe_toy_sweep(same: list[dict], faster: list[dict], heavier: list[dict],
                       quick: bool = False) -> str:
    """Chapter 3: the toy seed sweep (``toy.toy_sweep`` rows): how far the seeds of the
    default setting (``same``) spread on each column, and against that spread the effect
    of the three times larger learning rate (``faster``) and of the end-of-sequence weight
    of 20 (``heavier``), by :func:`seed_effect`."""
    seed_text = " and ".join(
        f"between {show(_column(same, c, step).min())} and {show(_column(same, c, step).max())} in "
        f"{name} ({gap(np.ptp(_column(same, c, step)))} apart)"
        for c, (name, show, gap, step) in SWEEP_COLUMNS.items())
    return (f"With the same settings, the {len(same)} seeds end {seed_text}: the seed "
            "alone moves a short run's end point that much. Against that spread, "
            + seed_effect(same, faster, "the three times larger learning rate")
            + ". Against the same spread, " + seed_effect(same, heavier, "the end-of-sequence weight of 20") + "."
            + (" (Quick mode: very short runs, so these differences mean little.)"
               if quick else ""))


def describe_heavy_eos(heavy: list[dict], same: list[dict], true_mean: float) -> str:
    """Chapter 3: the toy runs with the end-of-sequence term weighted 20 times (``heavy``,
    ``toy.toy_sweep`` rows) against the default weight's (``same``) on held-out scenes that
    hold ``true_mean`` discs on average: stopping too early, over-counting or right on
    average (0.1 discs either way), and what their final cost per disc says."""
    heavy_count = _column(heavy, "mean count").mean()
    default_count = _column(same, "mean count").mean()
    cost = _column(heavy, "final cost per disc").mean()
    return (f"With the end-of-sequence term weighted 20 times, the runs count "
            f"{heavy_count:.2f} discs on average where the scenes hold {true_mean:.2f} "
            f"(default weight: {default_count:.2f})"
            + (": they stop too early, the other side of the trade-off the weight controls"
               if heavy_count < true_mean - 0.1 else
               ": they over-count all the same" if heavy_count > true_mean + 0.1 else
               ": on average they stop at the right step")
            + f". Their final cost per disc, {cost:.3f}"
            + (", is close to 1, the cost of a disc with no matching mask at all: so heavy an "
               "end-of-sequence term also keeps the model from learning the discs' masks in "
               "this many steps." if cost > 0.8 else
               ", says how well the masks they do emit fit their discs."))


def instances_summary(purity: dict | None, count_right: float, median_area: float, ours: str,
                      slope_ms: float, unstopped: bool, activation: dict | None = None) -> str:
    """Chapter 3's summary bullets (Markdown), from its figures: ``purity`` (``eval.
    instances.step_purity`` on the multi-robot test scenes, None without such scenes),
    ``count_right`` (share of test scenes counted right with our rule ``ours``),
    ``median_area`` (the median robot's share of the image), ``slope_ms`` (the instance
    model's cost per robot), ``unstopped`` (the paper's weight-1 runs did not stop) and
    ``activation`` (``eval.instances.activation_on_robots`` of the same steps, optional)."""
    if purity and purity["single"] > 0.5:
        model = "Ours emits one robot in most steps, as intended."
    elif purity:
        model = (f"Ours does not yet: only {purity['single']:.0%} of its steps cover exactly "
                 f"one robot, and {purity['union']:.0%} cover several at once"
                 + (f" ({'mostly' if activation['on_robot'] < 0.35 else 'as much'} by lighting up the background"
                    f"{'' if activation['on_robot'] < 0.35 else ' as the robots'}: on the test scenes with two or "
                    f"more robots {activation['on_robot']:.0%} of what they activate lies on a robot)"
                    if activation and np.isfinite(activation["on_robot"])
                    and activation["on_robot"] < 0.5 else "")
                 + f", so its counts are right in {count_right:.0%} of the test scenes.")
    else:
        model = "This build's test set had no multi-robot scene to check ours."
    return "\n".join([
        "* Belief maps alone cannot say which joint belongs to which robot; the paper's "
        "recurrent model is meant to emit one mask per robot, and so to count them. " + model,
        "* Its loss ({ref}`eq. 4 <paper-eq-4>` to {ref}`eq. 6 <paper-eq-6>`) is invariant "
        "to the order of the robots thanks to minimum-weight matching of soft-IoU costs, "
        "plus an end-of-sequence term that teaches it when to stop."
        + (" With weight 1 on that term, taken as a mean over pixels (our reading: the paper does not say), the "
           "reference-size runs did not learn to stop (chapter 7 shows them), though the small toy models here do."
           if unstopped else ""),
        "* The paper's 5% stopping rule assumes robots that fill a good part of the "
        f"image; in our test scenes the median robot covers {100 * median_area:.1f}% "
        f"of the image, so we also evaluate with {ours}.",
        f"* The instance model's cost grows by about {slope_ms:.1f} ms per robot here; the "
        "logs and the seed sweep put numbers on how tricky it is to train.",
    ])
