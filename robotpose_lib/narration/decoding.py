"""Chapter 4 (decoding): the 3D and wrong-robot tables (:func:`report3d_table`,
:func:`describe_wrong_robot`), the chains of a scene (:func:`describe_chains`, robot k named by its
colour, ``TAB10_NAMES``), coverage, decoding with perfect masks, the predicted counts, the peak
finders in 3D, Table II (:func:`table_ii_markdown`, :func:`describe_table_ii`,
:func:`table_ii_conditions`), the explore panel (:func:`scene_title`,
:func:`describe_explored_scenes`) and the verdict box text (:func:`runtime_verdict`)."""
from __future__ import annotations

import numpy as np

from ..metrics import chance_band
from ..peaks import peak_name
from .tables import count_noun, markdown_table


def report3d_table(report) -> str:
    """Markdown table of an ``eval.pose3d.Report3D``: per peak finder the robots matched
    and predicted, the joints missed, the mean 2D error (480x640) and the 3D error near and
    far (mean and median, cm; a dash where no joint falls in a range)."""
    rows = []
    for m in report.errors_cm:
        px = report.pixel_errors.get(m, np.full(1, np.nan))
        nf = report.near_far(m)
        rows.append({"peaks": peak_name(m), "robots matched": f"{int(report.matched[m].sum())}/{len(report.counted)}",
                     "predicted": report.predicted[m], "joints missed": report.misses(m),
                     "mean 2D [px]": float(np.nanmean(px)) if np.isfinite(px).any() else float("nan"),
                     "3D near mean [cm]": nf["near"]["mean"], "3D near median [cm]": nf["near"]["50%"],
                     "3D far mean [cm]": nf["far"]["mean"], "3D far median [cm]": nf["far"]["50%"]})
    return markdown_table(rows, formats={c: ".1f" for c in rows[0] if "[" in c})


def describe_wrong_robot(rows: list[dict], images: int, per_scene: list | None = None) -> str:
    """A paragraph reading ``WrongRobotResult.rows()`` (eval.pose3d; with masks, then without)
    on ``images`` two-robot scenes: one clause per column (robots with a chain, joints found,
    3D errors, joints on the other robot), from the measured numbers, not from what the
    method intends. Without masks one chain per image caps the robots at ``images`` and the
    joints found at half; the paragraph says so. ``per_scene`` (per scene, (found, on the
    other robot) with masks and without: ``eval.pose3d.other_robot_joints``) adds a sign test
    scene by scene (``eval.pose3d.masks_sign_test``), and the share on the other robot is
    read as a difference only where it passes at 5%."""
    from ..eval.pose3d import masks_sign_test

    m, p = rows
    n = m["robots"]
    text = (f"With the masks {m['robots recovered']} of the {n} robots get a chain (*robots recovered*: matched "
            "to a chain by the matching rule of 4.3) "
            f"and {m['joints found']:.0%} of the robots' joints are found; without "
            f"them {p['robots recovered']} and {p['joints found']:.0%}, where one chain per "
            f"image caps them at {images} robots and half the joints. ")
    if np.isfinite(m["mean 3D [cm]"]) and np.isfinite(p["mean 3D [cm]"]):
        text += (f"The joints found lie {m['mean 3D [cm]']:.1f} cm from the truth on "
                 f"average with the masks and {p['mean 3D [cm]']:.1f} cm without "
                 f"(medians {m['median 3D [cm]']:.1f} and "
                 f"{p['median 3D [cm]']:.1f} cm; each over the joints its own decoding found, so not the same "
                 "joints). ")
    a, b = m["joints on the other robot"], p["joints on the other robot"]
    if not (np.isfinite(a) and np.isfinite(b)):
        return text + ("No joint was found, so the share on the other robot is "
                       "unmeasured.")
    more = m["robots recovered"] - p["robots recovered"]
    gain = ("the masks recover more robots and joints than the one chain can" if more > 0 else
            "the masks recover no more robots" if more == 0 else
            "the masks recover fewer robots")
    test = ""
    if per_scene:
        fewer, worse, p_value = masks_sign_test(per_scene)
        if fewer + worse:
            test = (f" Scene by scene, the masks put fewer joints on the other robot in "
                    f"{count_noun(fewer, 'scene')} and more in {worse} (the rest tie); a sign test puts chance "
                    f"at p = {p_value:.2g}"
                    + (", so on these scenes that difference is not beyond chance at the usual 5%."
                       if p_value >= 0.05 else "."))
    if a < b - 0.02:
        purity = ("and the share of found joints that lie nearer the other robot's joint is lower: "
                  f"{a:.1%} against {b:.1%} without.")
    elif a > b + 0.02:
        purity = (f"but take more joints from the other robot ({a:.1%} against "
                  f"{b:.1%} without): where a mask covers both robots, its chain can "
                  "take joints from either.")
    else:
        purity = ("but do not reduce the share of joints taken from the other robot "
                  f"({a:.1%} against {b:.1%} without), as they would if each mask "
                  "covered one robot only.")
    return text + f"So here {gain}, {purity}" + test


# viz draws predicted robot k in the k-th colour of matplotlib's tab10 cycle
TAB10_NAMES = ("blue", "orange", "green", "red", "purple", "brown", "pink", "grey", "olive", "cyan")


def describe_chains(s, poses, match_px: float = 40.0) -> str:
    """Markdown: what each predicted robot (``Predictor`` poses) of one scene ``s`` is,
    measured against the truth: joints found, how many true robots its joints and mask lie
    on, whether it matches a true robot (``eval.pose3d.match_poses``, mean 2D joint distance
    below ``match_px`` pixels at 480x640), then whether the prediction is wrong and why.
    Robot k is named by its colour in ``viz`` drawings (matplotlib's tab10 cycle)."""
    from .. import metrics
    from ..eval import pose3d

    valid = pose3d.counted_joints(s)
    scale = metrics.REFERENCE_WIDTH / s.size[1]
    match = pose3d.match_poses(poses, s.joints_2d, valid, match_px / scale)
    lines, mixed, few = [], 0, 0
    for k, p in enumerate(poses):
        found = np.isfinite(p.joints_2d).all(axis=1)
        # the true robot whose same joint is nearest, for each found joint
        d = np.where(valid, np.linalg.norm(s.joints_2d - p.joints_2d[None], axis=-1),
                     np.inf)[:, found]
        d = d[:, np.isfinite(d).any(axis=0)]  # a joint no true robot shows in the frame: no source
        sources = len(set(d.argmin(axis=0).tolist())) if d.size else 0
        line = (f"* robot {k} ({TAB10_NAMES[k % 10]}, score {p.score:.2f}): "
                f"{int(found.sum())} of {len(found)} joints found, nearest to the "
                f"joints of {count_noun(sources, 'true robot')}")
        for j, q in enumerate(poses[:k]):  # chains drawn over each other
            same = int((np.linalg.norm(p.joints_2d - q.joints_2d, axis=-1) < 1).sum())
            if same:
                line += f"; {same} of its joints lie on robot {j}'s (drawn over them)"
        if p.mask is not None:  # true robots holding at least 10% of its mask
            on = p.mask > 0.5
            share = (s.masks.astype(bool) & on).sum(axis=(1, 2)) / max(on.sum(), 1)
            line += f"; its mask lies on {count_noun(int((share >= 0.1).sum()), 'true robot')}"
        lines.append(line + ("; matched to a true robot" if k in match
                             else "; matched to none"))
        mixed += sources > 1
        few += 0 < found.sum() <= 2
    lost = int((match < 0).sum())
    text = (f"{count_noun(len(poses), 'robot')} predicted for {s.num_robots} in the scene; "
            f"{count_noun(s.num_robots - lost, 'true robot')} matched to a prediction (mean 2D "
            f"distance of the joints below {match_px:.0f} px at 480x640):\n\n"
            + "\n".join(lines))
    extra = len(poses) - s.num_robots
    problems = [text for bad, text in (
        (lost, f"{lost} of the {s.num_robots} true robots have no matching chain"),
        (extra > 0, f"{count_noun(extra, 'chain')} too many"),
        (mixed, f"{count_noun(mixed, 'chain')} {'takes its' if mixed == 1 else 'take their'} joints from more "
                "than one robot"),
        (few, f"{count_noun(few, 'chain')} {'has' if few == 1 else 'have'} only one or two joints")) if bad]
    if problems:
        why = (["a mask lying on several robots gives a chain mixing them"]
               if mixed else [])
        why += (["a mask on a fragment of a robot gives a chain of few joints"]
                if few else [])
        # "matched" only bounds the mean distance: a matched chain can still be wrong
        text += ("\n\nSo this prediction is wrong"
                 + (", although every true robot has a matching chain (matching only asks that a chain's joints lie "
                    f"within {match_px:.0f} px of a robot's on average)" if not lost else "")
                 + ": " + "; ".join(problems)
                 + ". Each chain is decoded inside one predicted mask, so it is only "
                 "as good as that mask" + (": " + "; ".join(why) if why else "")
                 + ". The masks come from the instance model that `Predictor` loaded.")
    else:
        # right in the image need not be right in 3D: say how far the matched chains lie
        errors = []
        for t, k in enumerate(match):
            if k >= 0:
                d = np.linalg.norm(poses[k].joints_3d - s.joints_3d[t], axis=-1)[valid[t]]
                if np.isfinite(d).any():
                    errors.append(100 * float(np.nanmean(d)))
        text += "\n\nEvery true robot has its own chain here, in the image" + (
            f"; in 3D the chains' joints lie {min(errors):.0f} to {max(errors):.0f} cm from their true positions on "
            "average (depth is the hard part, chapter 2)." if errors else ".")
    return text


def describe_coverage(report, method: str, min_score: float, match_px: float) -> str:
    """A sentence reading an ``eval.pose3d.Report3D``: which share of the counted joints its
    error columns describe for peak finder ``method``, and where the misses come from
    (counted joints of unmatched robots, no chain within ``match_px`` at 480x640; or no
    peak above ``min_score`` in a matched robot's masked belief map)."""
    counted, matched = report.counted, report.matched[method]
    scored = counted & np.isfinite(report.errors_cm[method])
    n, missed = int(counted.sum()), report.misses(method)
    lost_robots = int(counted[~matched].sum())  # counted joints of unmatched robots
    no_peak = missed - lost_robots  # counted joints a matched chain did not find
    return (f"With {peak_name(method)} the error columns describe {int(scored.sum())} "
            f"of the {n} counted joints ({scored.sum() / max(n, 1):.0%}), and "
            f"{int(matched.sum())} of the {len(matched)} true robots are matched. "
            f"Of the {missed} missed joints, {lost_robots} belong to the "
            f"{int((~matched).sum())} unmatched robots (no predicted chain within "
            f"{match_px:.0f} px of them: a missing or misplaced instance mask, or "
            f"a chain too far off). The other {no_peak} belong to matched robots whose masked "
            f"belief map has no peak above {min_score:.1f} (the least peak score the decoding accepts; a "
            "target's peak is 1).")


def coinciding_chains(poses, px: float = 5.0) -> list[str]:
    """Clauses naming the pairs of chains (``RobotPose``, named by their ``TAB10_NAMES``
    colour) whose common found joints lie on average within ``px`` pixels of each other,
    so that one is drawn on top of the other."""
    out = []
    for k in range(len(poses)):
        for j in range(k + 1, len(poses)):
            d = np.linalg.norm(poses[k].joints_2d - poses[j].joints_2d, axis=-1)
            if np.isfinite(d).any() and d[np.isfinite(d)].mean() < px:
                out.append(f"the {TAB10_NAMES[j % 10]} chain lies on the "
                           f"{TAB10_NAMES[k % 10]} one (drawn over it)")
    return out


def camera_ranges(params) -> str:
    """The camera distance and vertical field of view ranges of synthesis parameters
    (``synth.SynthParams``) in words."""
    q = params
    return (f"camera {q.r_min:g}-{q.r_max:g} m from the scene, vertical field of view "
            f"{q.fov_y_deg[0]:g}-{q.fov_y_deg[1]:g} deg")


def pipeline_in_use(robot: str, instance_kind: str, record=None, ships_both: bool = True,
                    robot_words: str = "") -> str:
    """Chapter 4's statement, before its figures, of the pipeline they measure: ``robot``'s
    localization network (with ``record``, its ``cards.ModelRecord``: the recipe of its last
    training phase, pointed to chapter 5 when it is not the paper's, and, when that recipe's
    cameras differ from the test set's, both ranges) and its ``instance_kind`` ("one-pass" or
    "recurrent", ``showcase.instance_model_kind``) instance model; for the one-pass model,
    that it is ours and not the paper's, and (``ships_both``) whether the rule picked it
    over the recurrent model or it is the only one the robot ships; ``robot_words``: what the
    robot is, in words, beside its name."""
    from ..synth import params_for

    text = (f"**What runs from here on.** The `{robot}` pipeline of `Predictor`"
            + (f" ({robot_words})" if robot_words else "")
            + f": its localization network and its {instance_kind} instance model. The localization network is "
            "the paper's staged design at our CPU size, on a frozen EfficientNet-Lite0 backbone instead of VGG16 "
            "(chapter 2)")
    if record is not None:
        recipe = record.lineage["recipe"]
        trained, tested = params_for(robot, recipe), params_for(robot)
        text += f", last trained on the `{recipe}` recipe" + (" of chapter 5" if recipe != "paper" else "")
        if (trained.r_min, trained.r_max, trained.fov_y_deg) != (tested.r_min, tested.r_max, tested.fov_y_deg):
            text += f" ({camera_ranges(trained)}, where the test set has {camera_ranges(tested)})"
    text += "."
    if instance_kind == "one-pass":
        text += (" The one-pass model is ours, not the paper's (chapter 6 describes it; "
                 + ("the rule above picks it over the paper's recurrent model, which counts robots far worse in "
                    "chapter 3, trained with a smaller budget and other data, as chapter 6 says"
                    if ships_both else f"it is the only instance model shipped for `{robot}`")
                 + "). So the 3D errors below are this pipeline's, not the paper's with its recurrent masks; "
                 "section 4.5 times the recurrent model, as the paper's Table II does.")
    if record is not None:
        text += " Chapter 7 lists every phase of the localization network's training."
    return text


def describe_perfect_decoding(rows: list[dict]) -> str:
    """The sentence under chapter 4's table of decoded perfect maps (§4.1). ``rows``: one
    dict per peak finder (``eval.pose3d.decoding_errors``: "peaks", "mean 3D [cm]",
    "max 3D [cm]"), the first two are named. Decoding counts as nearly lossless when the
    better mean 3D error is below 1 cm. Raises ValueError for fewer than two rows."""
    if len(rows) < 2:
        raise ValueError(f"rows: expected one per peak finder (two), got {len(rows)}")
    a, b = rows[:2]
    best = min(rows, key=lambda r: r["mean 3D [cm]"])
    return (f"On this scene's perfect maps the mean 3D error is {a['mean 3D [cm]']:.2f} cm with {a['peaks']} "
            "and "
            f"{b['mean 3D [cm]']:.2f} cm with {b['peaks']} (largest: "
            f"{max(r['max 3D [cm]'] for r in rows):.1f} cm): "
            + ("decoding is nearly lossless here (one scene: a check, not a measurement)."
               if best["mean 3D [cm]"] < 1.0 else
               "decoding itself loses a measurable amount here; the paragraph below says where it comes from."))


def describe_predicted_counts(reports: dict, kept: dict, duplicate_iou: dict, match_px: float) -> str:
    """Chapter 4.3's paragraph on predicted against true robots: per robot the chains the
    instance model emitted (the largest *predicted* count of its ``eval.pose3d.Report3D``
    in ``reports``) against the true robots and the robots ``Predictor`` keeps
    (``kept``: robot -> count), whether the model emits more robots than the images hold
    (then how ``Predictor`` drops them, with ``duplicate_iou``: robot -> its IoU limit),
    and why extra robots do not enter the error columns (matching within ``match_px`` at
    480x640). "" for no reports."""
    if not reports:
        return ""
    counts = [f"{robot} {max(rep.predicted.values())} for {len(rep.counted)} true robots "
              f"(`Predictor` itself keeps {kept[robot]})" for robot, rep in reports.items()]
    over = [r for r, rep in reports.items() if max(rep.predicted.values()) > len(rep.counted)]
    dropped = [r for r, rep in reports.items() if kept[r] < max(rep.predicted.values())]
    drops = (f"`Predictor` drops chains without a found joint and masks that overlap a better-scored one by "
             f"more than IoU {duplicate_iou[dropped[0]]:.1f}, which the kept counts show. The error columns are "
             "computed on all the emitted chains, before that pruning: each true robot is matched to the nearest "
             "of them, which may be one that `Predictor` would drop. " if dropped else "")
    return ("**Predicted against true robots.** The column *predicted* counts every mask the instance model "
            "emitted (the recurrent model: until its stopping rule ended the sequence; the one-pass model: one per "
            "robot centre it found), each decoded into a chain: "
            + "; ".join(counts) + ". "
            + (f"For {' and '.join(over)} the instance model emits more robots in total than the images hold: it "
               "does not "
               "always find exactly the robots there are (chapters 3 and 6 measure how often each instance model "
               "counts right). " if over else
               "On these renders the instance model emits in total no more robots than the images hold (a total "
               "can hide a scene with one robot too many beside one with one too few, and other renders of the "
               "same scenes can give other totals: chapters 3 and 6 count per scene at the networks' 240x320). ")
            + drops
            + "Robots beyond the true ones do not enter the error columns. Each true robot is matched to at most "
            "one prediction by the Hungarian assignment: the pairing of true and predicted robots with the least "
            "total mean 2D distance of their joints, each pair accepted below "
            f"{match_px:.0f} px at 480x640. Errors are taken only over matched pairs, and an unmatched prediction "
            "appears only in *predicted*. An unmatched true robot counts its joints as *missed*. So the errors "
            "measure how well the robots that are found are placed, not how many false robots come with them.")


def compare_peak_finders_3d(robot: str, report, quick: bool = False, tests: int = 1) -> str:
    """Chapter 4.3: the median 3D error over all found joints (near and far together) of
    the two peak finders of an ``eval.pose3d.Report3D`` and their misses; then, joint by
    joint over the joints both found (``eval.pose3d.paired_closer``, a sign test), which
    finder is closer more often, named as more precise only when chance would give so
    uneven a split less than 5% of the time, shared over the ``tests`` robots compared
    (Bonferroni: p below 0.05 / tests). With ``quick`` a note that the figures come from a
    handful of scenes. "" unless both medians are finite."""
    from ..eval.pose3d import paired_closer

    medians = {m: float(np.nanmedian(e[report.counted])) if np.isfinite(e[report.counted]).any()
               else float("nan") for m, e in report.errors_cm.items()}
    if len(medians) != 2 or not all(np.isfinite(v) for v in medians.values()):
        return ""
    (a, ea), (b, eb) = medians.items()
    n, share, p = paired_closer(report, a, b)
    text = (f"**{robot}**: median 3D error over all its found joints (near and far together) {ea:.1f} cm with "
            f"{peak_name(a)} and {eb:.1f} cm with {peak_name(b)}, {report.misses(a)} and {report.misses(b)} joints "
            "missed (each median over the joints its own finder found). ")
    if not np.isfinite(share):
        text += f"On the {n} joints both found they put the same peaks."
    elif share == 0.5:
        text += (f"On the {n} joints both found, each is the closer for half of those where the two differ: no "
                 "difference between them.")
    else:
        better, worse, won = (a, b, share) if share >= 0.5 else (b, a, 1 - share)
        split = (f"On the {n} joints both found, {peak_name(better)} is the closer for {won:.0%} of those where the "
                 f"two differ (a sign test: chance alone gives so uneven a split with p = {p:.2g})")
        bar = 0.05 / max(tests, 1)
        shared = (f" (5% shared over the {tests} robots compared, so that testing {tests} does not raise the chance "
                  "of a ranking by luck)" if tests > 1 else "")
        text += (split + f". {peak_name(better)} is more precise here, in 3D through the predicted masks (chapter 2 "
                 "compares the two in 2D with the true masks, a measure that can rank them the other way)."
                 if p < bar else
                 split + f". That is not beyond chance at p < {bar:.3g}{shared}, so these scenes do not rank "
                 f"{peak_name(better)} and {peak_name(worse)}.")
    return text + (" Quick mode: a handful of scenes." if quick else "")


def _against_the_table(per_scene: list, pick: int) -> str:
    """A sentence when the shown scene goes the other way than all the scenes together (the
    table): masks worse here but better overall, or the reverse; "" otherwise."""
    def share(found, foreign):
        return foreign / found if found else 0.0

    (found_m, foreign_m), (found_p, foreign_p) = per_scene[pick]
    all_m = share(sum(m[0] for m, _ in per_scene), sum(m[1] for m, _ in per_scene))
    all_p = share(sum(p[0] for _, p in per_scene), sum(p[1] for _, p in per_scene))
    here_m, here_p = share(found_m, foreign_m), share(found_p, foreign_p)
    if (here_m > here_p) == (all_m > all_p) or here_m == here_p or all_m == all_p:
        return ""
    return (f"In this scene the masks do {'worse' if here_m > here_p else 'better'} than decoding without them, "
            f"against the table, where over all {len(per_scene)} scenes {all_m:.0%} of the joints found with "
            f"masks lie on the other robot and {all_p:.0%} without: a scene picked for the largest difference "
            "can go either way, and the table's figures are the ones to go by. ")


def describe_shown_pair(per_scene: list, pick: int, coinciding: list[str]) -> str:
    """The sentence above chapter 4.4's figure of one two-robot scene decoded with and
    without masks: ``per_scene`` holds per scene ((found, on the other robot) with masks,
    (found, on the other robot) without), as ``eval.pose3d.other_robot_joints`` counts
    them; ``pick`` is the scene shown (``eval.pose3d.most_differing_scene``);
    ``coinciding``: clauses naming chains drawn over each other
    (:func:`coinciding_chains` of the masked decoding)."""
    (found_m, foreign_m), (found_p, foreign_p) = per_scene[pick]
    spread = max(abs(a[1] - b[1]) for a, b in per_scene)
    return ((f"Of the {len(per_scene)} scenes, the one shown differs most in joints on the other robot: "
             if spread > 0 else
             f"In none of the {len(per_scene)} scenes do the two decodings differ in joints on the other robot; "
             "the one shown differs most in joints found: ")
            + f"with the masks {foreign_m} of the {found_m} found joints lie nearer the other robot's joint, "
            f"without them {foreign_p} of {found_p}. "
            + _against_the_table(per_scene, pick)
            + "".join(f"With the masks {c}: two masks lead to the same joints, so the figure's legend pairs "
                      "one of the two chains with a robot it does not lie on; the count above is not affected, "
                      "as it takes each chain's own robot to be the one most of its joints lie nearer to. "
                      for c in coinciding)).rstrip()


def table_ii_markdown(table_ii: dict, robot: str) -> str:
    """Chapter 4.5: the paper's Table II measured here (``bench.runtime.measure_table_ii``)
    as Markdown: the conditions, the table of steps beside the paper's (ms), and our peak
    finders against the libraries they replace."""
    slow = table_ii.get("slow_repeats", table_ii["repeats"])
    return (f"On {table_ii['device']}; each step's mean and standard deviation over {table_ii['repeats']} runs "
            f"after {table_ii['warmup']} warm-up runs, except the two slowest steps (the 480x640 belief prediction "
            f"and the whole prediction): {slow} runs after one warm-up; {robot} reference models; the instance "
            "rows and the whole prediction run the paper's recurrent (ConvGRU) instance model:\n\n"
            + markdown_table(table_ii["rows"], formats={c: ".2f" for c in table_ii["rows"][0] if c != "step"},
                             headers={"mean_ms": "ours [ms]", "std_ms": "std", "paper_mean_ms": "paper [ms]",
                                      "paper_std_ms": "std "})
            + "\n\nOur peak finders against the libraries they replace, on the same maps:\n\n"
            + markdown_table([{"peaks": b["step"], "ours [ms]": b["ours_ms"], "baseline": b["baseline"],
                               "baseline [ms]": b["baseline_ms"], "speed-up": b["speedup"],
                               "same peaks": "yes" if b["same_peaks"] else "NO"} for b in table_ii["baselines"]],
                             formats={"ours [ms]": ".1f", "baseline [ms]": ".1f", "speed-up": ".1f"}))


def describe_table_ii(table_ii: dict) -> list[str]:
    """Chapter 4.5's two paragraphs reading Table II as measured here
    (``bench.runtime.measure_table_ii``): the belief prediction at the network's size and
    at 480x640 against the paper's GPU, one instance mask, the whole prediction against
    the one-second CPU target; then the peak finders against the paper's (how many times
    longer or shorter, and why, on a CPU). Raises KeyError when a row is missing."""
    rows = {r["step"]: r for r in table_ii["rows"]}
    belief = next(r for k, r in rows.items() if k.startswith("belief prediction (") and "480x640" not in k)
    belief_full = rows["belief prediction (480x640 net input)"]
    mask_row, whole = rows["instance mask (per robot)"], table_ii["rows"][-1]
    on_cpu = table_ii["device"].startswith("cpu")
    first = (f"Our belief prediction takes {belief['mean_ms']:.0f} ms at the network's own input size and "
             f"{belief_full['mean_ms']:.0f} ms at 480x640, the paper's size, where the paper measured "
             f"{belief_full['paper_mean_ms']:.2f} ms on its GPU "
             f"({belief_full['mean_ms'] / belief_full['paper_mean_ms']:.0f} times faster there); one instance mask "
             f"takes {mask_row['mean_ms']:.0f} ms against the paper's {mask_row['paper_mean_ms']:.2f} ms (ours a CPU "
             "miniature on the features of a 240x320 input, the paper's its full-size model on a GPU). The whole "
             f"prediction of the {table_ii['scene_robots']}-robot scene ({table_ii['found']} of its robots found by "
             "the `Predictor`) takes "
             f"{whole['mean_ms']:.0f} ms"
             + ((", within" if whole["mean_ms"] < 1000 else ", over") + " the one-second target for a CPU (above)."
                if on_cpu else " on this GPU.")
             + (f" It runs the network at its own input size, not at 480x640 (the `Predictor` resizes the photo "
                f"first), so it can take less than the {belief_full['mean_ms']:.0f} ms of the 480x640 row."
                if whole["mean_ms"] < belief_full["mean_ms"] else ""))
    nms, log = rows["joint localization NMS"], rows["joint localization LoG"]
    second = (f"The peak finders: our NMS takes {nms['mean_ms']:.1f} ms against the paper's "
              f"{nms['paper_mean_ms']:.2f} ms, "
              + (f"{nms['mean_ms'] / nms['paper_mean_ms']:.0f} times longer" if nms["mean_ms"] > nms["paper_mean_ms"]
                 else f"{nms['paper_mean_ms'] / nms['mean_ms']:.1f} times faster")
              + (": ours scans every joint's full 480x640 map on this CPU, the paper's figure comes from its GPU "
                 "machine. " if on_cpu else ". ")
              + f"Our LoG takes {log['mean_ms']:.0f} ms against the paper's {log['paper_mean_ms']:.0f} ms (a CPU "
              "implementation), "
              + ("faster" if log["mean_ms"] < log["paper_mean_ms"] else "slower")
              + ("; ours convolves only the tiles that can hold a peak, and the two CPUs differ too, so the ratio "
                 "is not the implementation's alone." if on_cpu and log["mean_ms"] < log["paper_mean_ms"] else "."))
    return [first, second]


def table_ii_conditions(table_ii: dict, joints: int, predictor_model: str | None = None) -> str:
    """Chapter 4.5: what each row of Table II times (``joints``: belief maps per peak
    finder run), and why chapters 3 and 6 give other figures.
    ``predictor_model``: the instance model ``Predictor.from_pretrained`` loads
    ("one-pass" or "recurrent", ``showcase.instance_model_kind``); when it is not the
    recurrent one, a sentence says that the benchmark times the recurrent model instead."""
    other = ("" if predictor_model in (None, "recurrent") else
             f" For this chapter's robot, `Predictor.from_pretrained`, which the sections above use, loads the "
             f"{predictor_model} instance "
             "model by default; the benchmark times the paper's recurrent one, as its Table II does, so the "
             "whole prediction row is not the time of the default `Predictor` (chapter 6 times the two instance "
             "models side by side).")
    return ("What each row times:\n\n"
            "* the localization network on one random image, at the network's own input size (first row) and at "
            "480x640;\n"
            "* the instance model's context module and input gates (once per image) and one ConvGRU step with its "
            "refine block (once per robot), the parts chapter 3 describes, on the features of the first row's "
            "input;\n"
            f"* each peak finder on synthetic 480x640 belief maps of {joints} joints;\n"
            "* `Predictor` end to end (resizing, both networks, masking, peaks, depth, back-projection) on a "
            f"rendered 480x640 scene with {table_ii['scene_robots']} robots, its instance model the recurrent one "
            "of the rows above.\n\n"
            + (other.strip() + " " if other else "")
            + "Chapters 3 and 6 time under other conditions, so their figures differ from these. Chapter 3 times "
            "the industrial arm's networks at their 240x320 input on its own test scenes, as medians of the "
            "context module plus k + 1 steps for k robots with a line fitted through them. Chapter 6 reads the "
            "times its one-pass study measured, with their own thread setting and computer. Compare times within "
            "one table, not across chapters.")


def runtime_verdict(paper: dict, gpu: str, on_gpu: bool = False) -> str:
    """Chapter 4's verdict box text (``verdict_box(..., without_claims=...)``): nothing to
    score, the paper's Table II (``paper``: ``metrics.PAPER_TABLE_II``, ms per step; ``gpu``:
    the GPU it was timed on) read out, and what the chapter measures instead (``on_gpu``:
    whether this build times ours on a GPU)."""
    ms = {k: v[0] for k, v in paper.items()}
    hardware = "a GPU" if on_gpu else "a CPU"
    return ("**Nothing to score against the paper.** The paper gives no figure for the 3D error of its whole "
            "pipeline (its Table I, chapter 2, measures depth on the depth discs only). Its Table II times each "
            "step on a GPU "
            f"({gpu}): the belief prediction {ms['belief prediction']:.2f} ms, each robot's instance mask "
            f"{ms['instance mask (per robot)']:.2f} ms, NMS {ms['joint localization NMS']:.2f} ms and LoG "
            f"{ms['joint localization LoG']:.0f} ms (a CPU implementation). Those are times of its networks on "
            "its hardware, not results that smaller networks on other hardware can reach or miss, so they are "
            "set beside ours, not scored. This chapter measures what the paper leaves out, the end-to-end 3D "
            f"errors of the shipped networks on the synthetic test set, and times each of our steps on {hardware} "
            "beside the paper's (the section on runtime).")


def scene_title(poses, num_robots: int, report, method: str) -> str:
    """Title of one predicted scene (chapter 4's explore panel): robots predicted against
    true, and the mean 3D error of the matched joints of ``report`` (an
    ``eval.pose3d.Report3D`` with the variant ``method``), or that none was matched."""
    e = report.errors_cm[method][report.counted]
    error = (f"mean 3D error {np.nanmean(e):.1f} cm" if np.isfinite(e).any()
             else "no joint matched to the truth")
    return f"{len(poses)} predicted / {num_robots} true; {error}"


def describe_explored_scenes(shown: list, test_matched: int, test_robots: int, method: str, match_px: float,
                             test_params, trained: tuple | None = None, robot: str = "panda") -> str:
    """Chapter 4.6's sentence on the fixed settings drawn from the explore panel.

    Args:
        shown: per scene drawn, ((seed, robots, distance m, fov deg), robots matched, true robots).
        test_matched, test_robots: robots matched (with ``method``) and true robots on the
            test set of 4.3, for comparison (the shares within one robot of the scenes
            drawn: "typical").
        test_params: the test set's ``synth.SynthParams`` (its camera ranges are named).
        trained: (recipe, its SynthParams) the shipped localization model was trained on
            last, or None (a checkpoint of the reader's own: nothing said); then the
            distances shown outside or at the edge of that recipe's camera range are named.
    Raises ValueError for no scenes or no test robots.
    """
    if not shown or not test_robots:
        raise ValueError("shown, test_robots: need at least one scene drawn and one test robot")
    n_match = sum(m for _, m, _ in shown)
    n_true = sum(n for _, _, n in shown)
    dists = sorted({d for (_, _, d, _), _, _ in shown})
    fovs = sorted({f for (_, _, _, f), _, _ in shown})
    here, test = n_match / n_true, test_matched / test_robots
    # how far chance alone moves the share of so few robots at the test set's rate (at least
    # one robot)
    typical = max(chance_band(test, n_true), 1 / n_true)
    text = (f"In the {len(shown)} scenes drawn in {{numref}}`fig-explore-panel` and {{numref}}`fig-explore-settings`, "
            f"the models match {n_match} of the {n_true} true robots to a "
            f"chain within {match_px:.0f} px ({here:.0%}); on the test set of 4.3, {peak_name(method)} matched "
            f"{test_matched} of {test_robots} ({test:.0%}). "
            + (f"On {n_true} robots chance alone moves such a share by about {100 * typical:.0f} percentage points "
               "either way (two binomial standard errors at the test set's rate), so these few "
               "scenes agree with the test set's rate within chance, and are too few to say more."
               if abs(here - test) <= typical
               else "These few scenes went worse than the test set, where failures of this kind occur too "
               f"({test_robots - test_matched} of {test_robots} robots unmatched)." if here < test else
               f"These few scenes went better than the test set, where {test_robots - test_matched} of "
               f"{test_robots} robots go unmatched: failures are more common than these scenes show.")
            + f" The scenes follow the test set's randomisation ({camera_ranges(test_params)}), with the camera set "
            "at " + ", ".join(f"{d:g}" for d in dists) + " m and a " + ", ".join(f"{f:g}" for f in fovs)
            + " deg field of view.")
    if trained is None:
        return text
    recipe, last = trained
    outside = [f"{d:g} m" for d in dists if not last.r_min <= d <= last.r_max]
    edge = [f"{d:g} m" for d in dists if d in (last.r_min, last.r_max)]
    where = [f"{' and '.join(ds)} {'lies' if len(ds) == 1 else 'lie'} {place}"
             for ds, place in ((outside, "outside its camera range"), (edge, "at its edge")) if ds]
    return (text + f" The shipped {robot} localization model was trained last on the *{recipe}* recipe "
            f"({camera_ranges(last)}"
            + (", cameras aimed off the robot's centre, clutter and camera degradations; chapter 5), made for real "
               "photographs rather than for these scenes" if recipe != "paper" else ")")
            + ("; of the distances shown, " + " and ".join(where) if where else "") + ".")
