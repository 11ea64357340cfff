"""Chapter 5 (real photos): the line shown in place of a real-photo figure when the photos are not
on this machine (:func:`real_photos_absent`, :func:`photos_or_absent`, used by chapters 1 and 2
too), the real-photo table and the baseline sentence, the sim-to-real study's counting
(:func:`sim2real_counting`), and the mesh Panda model: :func:`real_comparison_table`,
:func:`describe_mesh_real`, the twin ladder (:func:`ladder_table`, :func:`describe_ladder`,
:func:`describe_ladder_photos`) and the studies (:func:`describe_backbone_studies`,
:func:`describe_recipe_choice`)."""
from __future__ import annotations

from ..twin import LADDER_DROP, largest_drop, moving_aucs  # the ladder's rules, shared with scorecard.twin_cause
from ..synth import RECIPE_PRESETS, RECIPES, recipe_base
from .tables import join_words, markdown_table


def real_photos_absent(what: str = "the figure") -> str:
    """Markdown for a chapter whose figure needs the real Panda photos (``real_panda``) when
    they are not on this machine: that ``what`` is left out, and how to get the photos
    (they are never copied into the repository). Chapters show it in place of the
    sentence that refers to the figure, so that no reference points at a missing figure."""
    return (f"*The real Panda photographs are not on this machine, so {what} cannot be shown.* They are a "
            "public teleoperation episode (MIT licence, copyright 2024 Tristin Xie) that this repository never "
            "copies. To get them, download the episode once, online, with "
            "`robotpose_lib.real_panda.download_panda_episode(FOLDER)` (chapter 5 does this by itself on Colab), "
            "set the environment variable `ROBOTPOSE_REAL_PANDA=FOLDER` (or keep the dev sample in "
            "`shared/data/real_panda_dev` beside the repository) and run the chapter again.")


def _real_format(key: str) -> str:
    """Format of a real-photo figure: px and cm to 1 decimal, shares (PCK, AUC, found) to 3."""
    return ".1f" if key.endswith(("_px", "_cm")) else ".3f"


# keypoint AUCs closer than this count as the same in chapter 5's sentences (a rule set by
# hand: the tables print AUCs to 0.001, no spread over seeds was measured)
SAME_AUC = 0.01

REAL_ROWS = (("pck@2.5", "PCK @ 2.5 px"), ("pck@5", "PCK @ 5 px"), ("pck@10", "PCK @ 10 px"),
             ("auc", "keypoint AUC (0-20 px)"), ("found", "keypoints found"),
             ("median_px", "median pixel error [px]"), ("median_depth_cm", "median depth error [cm]"),
             ("median_3d_cm", "median 3D error [cm]"), ("add_auc", "ADD AUC (0-10 cm)"))


def real_metrics_table(results: dict, columns: dict) -> str:
    """Markdown table of ``eval.real`` figures, one row per figure (``REAL_ROWS``);
    ``columns``: header -> (key of ``results``, joint group, e.g. "all" or "moving")."""
    head = "| | " + " | ".join(columns) + " |\n|---|" + "---:|" * len(columns) + "\n"
    body = "".join(f"| {label} | "
                   + " | ".join(f"{results[k][g][key]:{_real_format(key)}}"
                                for k, g in columns.values()) + " |\n"
                   for key, label in REAL_ROWS)
    return head + body


HEADLINE_FIGURES = {"auc": "keypoint AUC", "pck@10": "PCK@10", "add_auc": "ADD AUC"}


def beats_baseline(model: dict, baseline: dict) -> str:
    """Which of the headline figures (``HEADLINE_FIGURES``) of one joint group of a model
    (``eval.real`` figures) beat the mean-pose baseline's: "beats the baseline on keypoint
    AUC and PCK@10", or "beats the baseline on none of ..." naming all three."""
    beats = [HEADLINE_FIGURES[k] for k in HEADLINE_FIGURES if model[k] > baseline[k]]
    names = beats or list(HEADLINE_FIGURES.values())
    listed = (", ".join(names[:-1]) + (" and " if beats else " or ") if len(names) > 1 else "") + names[-1]
    return "beats the baseline on " + ("" if beats else "none of ") + listed


def photos_or_absent(text: str, present: bool) -> str:
    """``text`` (Markdown that refers to a figure of the real photos) when the photos are
    here (``present``), else one line saying that it is left out, so that no reference
    points at a missing figure (:func:`real_photos_absent` says how to get them)."""
    return text if present else "*Left out: the real photos are not on this machine (see above).*"


def sim2real_counting(before: dict | None, scenes: bool = True) -> str:
    """How the sim-to-real study's tables count training (chapters 5 and 6), from
    ``cards.sim2real_runs``'s ``before``: steps (and ``scenes``) from the start of
    training, the first row being the paper-recipe training every `sim2real` row
    continued from; hours of `sim2real` training alone. Without ``before``: every count
    within its row's own training run."""
    if before is None:
        return ("Steps" + (", scenes" if scenes else "") + " and hours count within each row's own training run.")
    what = (f"{before['steps']:,} steps ({before['scenes']:,} scenes)" if scenes else f"{before['steps']:,} steps")
    return ("Steps" + (" and scenes" if scenes else "") + " count from the start of training: the first row is the "
            f"model after {what} on the paper's recipe, before any `sim2real` training, and every other row "
            "continued from those weights. The hours count the `sim2real` training alone "
            "(none for the first row).")


# ------------------------------------------------- chapter 5: the mesh Panda model
REAL_COLUMNS = (("auc", "all", "keypoint AUC, all"), ("auc", "moving", "AUC, moving"),
                ("pck@10", "all", "PCK@10, all"), ("found", "all", "found, all"),
                ("median_px", "all", "median error of found [px]"), ("median_depth_cm", "all", "median depth [cm]"),
                ("median_3d_cm", "all", "median 3D [cm]"), ("add_auc", "all", "ADD AUC"))


def real_comparison_table(results: dict, reference: dict | None = None) -> str:
    """Chapter 5's table of models on the real photos: one row per entry of ``results``
    (row label -> ``eval.real`` figures with the joint groups "all" and "moving"), in
    order, with the columns of :data:`REAL_COLUMNS`; then, given ``reference`` (a published
    figure: "label" and "auc", e.g. ``eval.real.DREAM_REFERENCE``), its keypoint AUC on a
    row of its own, every other column a dash (not published there)."""
    rows = []
    for label, figures in results.items():
        row = {"": label}
        for key, group, header in REAL_COLUMNS:
            row[header] = float(figures[group][key]) if figures.get(group) else float("nan")
        rows.append(row)
    if reference is not None:
        rows.append({"": reference["label"], **{h: float("nan") for _, _, h in REAL_COLUMNS},
                     REAL_COLUMNS[0][2]: float(reference["auc"])})
    return markdown_table(rows, formats={h: _real_format(k) for k, _, h in REAL_COLUMNS})


def describe_mesh_real(model: dict, baseline: dict, reference: dict | None = None, other: dict | None = None,
                       other_name: str = "", continued_from_other: bool = False) -> str:
    """Chapter 5's paragraph under the real-photo table. ``model``, ``baseline`` and
    ``other`` (a second model, named ``other_name``; optional): ``eval.real`` figures with
    "all" and "moving". Names the keypoint AUCs against the mean-pose baseline (which
    headline figures beat it, :func:`beats_baseline`; below it, the share of the
    baseline's AUC it reaches), the keypoints found and their median error, the depth
    error against the mean pose's (and why the mean pose is hard to beat there), the ADD AUC
    against the mean pose's (at 0: no photo has every keypoint found with a mean 3D error under 10 cm), the other
    model (``continued_from_other``: the model was warm-started from it, which the comparison
    then says), and the share of the published reference's AUC (``reference``: "auc", "what")."""
    m, b, mm, bm = model["all"], baseline["all"], model["moving"], baseline["moving"]
    text = (f"On all seven joints the model reaches a keypoint AUC of **{m['auc']:.2f}**, on the five moving joints "
            f"**{mm['auc']:.2f}**, against the mean pose's {b['auc']:.2f} and {bm['auc']:.2f}. On all joints it "
            f"{beats_baseline(m, b)}")
    if m["auc"] < b["auc"]:
        text += (f". Its AUC is {m['auc'] / b['auc']:.0%} of the baseline's, so on these photos it does not yet see "
                 "the arm better than a guess of its average pose")
    text += (f". It finds {m['found']:.0%} of the keypoints, and the median error of those it finds is "
             f"{m['median_px']:.0f} px. Its median depth error (the table's median depth: the error of the camera "
             "distance z of a found joint; the median 3D error also counts the error across the image) is "
             f"{m['median_depth_cm']:.0f} cm against the mean pose's {b['median_depth_cm']:.0f} cm"
             + (": the mean pose sits at the photos' average distance, so only depth that errs less than the "
                "photos' spread around it beats it." if m["median_depth_cm"] > b["median_depth_cm"] else "."))
    if "add_auc" in m and "add_auc" in b:
        text += (f" Its ADD AUC is {m['add_auc']:.3f} against the mean pose's {b['add_auc']:.3f}"
                 + (": no photo has all seven keypoints found with a mean 3D error under 10 cm."
                    if m["add_auc"] < 0.0005 else "."))
    if other is not None:
        o, om = other["all"], other["moving"]

        def against(ours: float, theirs: float) -> str:
            return "the same as" if abs(ours - theirs) < SAME_AUC else "above" if ours > theirs else "below"

        text += (f" The {other_name} reaches {o['auc']:.2f} on all joints and {om['auc']:.2f} on the moving ones, "
                 f"finding {o['found']:.0%} of the keypoints. On these photos the model's AUC is "
                 + (f"{against(m['auc'], o['auc'])} that model's on all joints and on the moving ones"
                    if against(m['auc'], o['auc']) == against(mm['auc'], om['auc']) else
                    f"{against(m['auc'], o['auc'])} that model's on all joints and {against(mm['auc'], om['auc'])} it "
                    "on the moving ones")
                 + f" (AUCs within {SAME_AUC} count as the same"
                 + ("; one model each, and this one continued from that one with more steps on another recipe, so "
                    "a difference is not the meshes' alone" if continued_from_other else "") + ").")
        # a median over the keypoints found pools whichever joints a model finds: with fewer
        # found, a lower median need not mean the same joints placed better
        lower = [(what, o[key], m[key], unit) for what, key, unit in
                 (("median error of the keypoints found", "median_px", "px"),
                  ("median 3D error", "median_3d_cm", "cm"))
                 if key in o and key in m and round(o[key]) < round(m[key])]
        if lower and o["found"] < m["found"]:
            text += (" That model's medians over the keypoints it finds are lower ("
                     + " and ".join(f"{what} {theirs:.0f} against {ours:.0f} {unit}" for what, theirs, ours, unit
                                    in lower)
                     + f"), but it finds {o['found']:.0%} of the keypoints against {m['found']:.0%}, so the medians "
                     "pool different joints and do not show which model places a given joint better.")
    if reference is not None and reference.get("auc"):
        text += (f" For scale, DREAM publishes a keypoint AUC of about {reference['auc']:.2f} on "
                 f"{reference['what']}"
                 + (f": {reference['auc'] / m['auc']:.0f} times ours, under those other conditions." if m["auc"] > 0
                    else "."))
    return text


# the rungs of the twin ladder (twin.LADDER): what each adds to the one above it
LADDER_RUNGS = {"mesh_twin": ("the arm's twin rendered from its meshes at the photo's camera and joint angles, on a "
                              "test-set background", "viewpoint and pose, in the model's own kind of image"),
                "mesh_pasted": ("the same twin pasted over the photo", "the real background"),
                "photo": ("the photo", "the real arm's look"),
                "mean_pose": ("every photo guessed as the average true pose", "the bar every rung must clear")}


def ladder_table(ladder: dict) -> str:
    """The twin ladder (``robotpose eval twin``: rung -> "all"/"moving" figures, rungs
    :data:`LADDER_RUNGS` present in ``ladder``, in that order) as a Markdown table: the
    image, what the rung adds, keypoint AUC and share found on all and on the moving
    joints, median error of the keypoints found."""
    rows = []
    for rung, (image, adds) in LADDER_RUNGS.items():
        if rung not in ladder:
            continue
        a, mv = ladder[rung]["all"], ladder[rung].get("moving") or {}
        rows.append({"rung": image, "adds": adds, "auc": a["auc"], "auc_m": mv.get("auc", float("nan")),
                     "found": a["found"], "found_m": mv.get("found", float("nan")), "px": a["median_px"]})
    return markdown_table(rows, formats={"found": ".0%", "found_m": ".0%", "px": ".0f", "auc": ".2f",
                                         "auc_m": ".2f"},
                          headers={"rung": "image", "adds": "what it adds", "auc": "AUC, all",
                                   "auc_m": "AUC, moving", "found": "found, all", "found_m": "found, moving",
                                   "px": "median error of found [px]"})




def describe_ladder(ladder: dict) -> str:
    """Which gaps the twin ladder shows open (``ladder``: rung -> figures, with
    "mesh_twin", "mesh_pasted", "photo" and "mean_pose"). Rules: the viewpoint and pose gap
    is open while the twin's all-joint AUC stays below the mean pose's; the background gap
    when the pasted twin loses more than ``LADDER_DROP`` of AUC, or finds at least 10
    points more keypoints while its AUC does not rise (peaks on the real clutter); the
    appearance gap when the photo loses more than ``LADDER_DROP`` of AUC against the
    pasted twin. Names the largest drop (``twin.largest_drop``)."""
    twin, pasted, photo, base = (ladder[k]["all"] for k in ("mesh_twin", "mesh_pasted", "photo", "mean_pose"))
    open_gaps = []
    text = (f"On the rendered twin, its own kind of image, the model reaches a keypoint AUC of {twin['auc']:.2f} "
            f"and finds {twin['found']:.0%} of the keypoints")
    if twin["auc"] < base["auc"]:
        open_gaps.append("viewpoint and pose")
        text += (f": below the mean pose's {base['auc']:.2f} already, so these close, wide-angle views of the arm are "
                 "hard for it before anything real enters the image")
    text += "."
    # more peaks over the real background, none of them better placed: the AUC does not rise
    found_more = pasted["found"] - twin["found"] >= 0.10 and pasted["auc"] <= twin["auc"]
    if twin["auc"] - pasted["auc"] > LADDER_DROP or found_more:
        open_gaps.append("background")
    if found_more:
        text += (f" Over the real background it finds more keypoints ({twin['found']:.0%} to {pasted['found']:.0%}) "
                 f"but not more right ones (AUC {twin['auc']:.2f} to {pasted['auc']:.2f}): the extra peaks land "
                 "away from their joints, on what the real background offers.")
    elif "background" in open_gaps:
        text += f" The real background costs {twin['auc'] - pasted['auc']:.2f} of AUC."
    elif pasted["auc"] - twin["auc"] > LADDER_DROP:
        text += (f" Over the real background it scores higher (AUC {twin['auc']:.2f} to "
                 f"{pasted['auc']:.2f}, keypoints found {twin['found']:.0%} to {pasted['found']:.0%}): the "
                 "background does not hurt it.")
    else:
        text += f" The real background changes little (AUC {twin['auc']:.2f} to {pasted['auc']:.2f}: no gap)."
    if pasted["auc"] - photo["auc"] > LADDER_DROP:
        open_gaps.append("appearance")
    drop = largest_drop(ladder)
    def flat_on_moving(step: str) -> bool:  # the step loses no more than a gap on the moving joints
        moving = moving_aucs(ladder, step)
        return moving is not None and moving[0] - moving[1] <= LADDER_DROP

    # a gap whose loss on all joints is not seen on the moving ones: named with where it is
    lost = {"background": (twin["auc"] - pasted["auc"], "the real background"),
            "appearance": (pasted["auc"] - photo["auc"], "the real arm's look")}
    still = {g for g, (loss, step) in lost.items() if g in open_gaps and loss > LADDER_DROP and flat_on_moving(step)}
    if drop is not None:
        step, before, after = drop
        text += (f" The largest drop comes with {step}: AUC "
                 + (f"{before:.2f} to {after:.2f}." if step == "the real background" else
                    f"{before:.2f} on the pasted twin to {after:.2f} on the photo."))
        if flat_on_moving(step):
            moving = moving_aucs(ladder, step)
            text += (f" On the moving joints alone the same step goes from {moving[0]:.2f} to {moving[1]:.2f}: "
                     "nearly all of that drop is in the joints the episode does not move, which the mean pose "
                     "gets almost for free.")
    # found is not right: a rung whose found keypoints land far from their joints
    for (before, after), rung in (((twin, pasted), "the real background"), ((pasted, photo), "the photo")):
        if after["median_px"] > max(3 * before["median_px"], 20):
            text += (f" With {rung}, {after['found']:.0%} of the keypoints are found (against {before['found']:.0%} "
                     f"on the rung before), but their median error grows from {before['median_px']:.0f} to "
                     f"{after['median_px']:.0f} px: half of the keypoints found lie {after['median_px']:.0f} px or "
                     "farther from their joints, since a keypoint counts as found wherever its belief peak lies.")
    if open_gaps:
        count = {1: "One gap is", 2: "Two gaps are", 3: "All three gaps are"}[len(open_gaps)]
        names = [GAP_NAMES[g] + (" (at the joints the episode does not move)" if g in still else "")
                 for g in open_gaps]
        # "the viewpoint and pose" holds an "and" already: a serial comma keeps the list readable
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + ", and " + names[-1]
        text += f" {count} open: {listed}."
    else:
        text += " No rung loses the arm: the three gaps are closed."
    return text + (" (The viewpoint and pose gap counts as open while the rendered twin scores less than the mean "
                   "pose; each "
                   f"later rung opens a gap when it loses more than {LADDER_DROP:.2f} of keypoint AUC against the rung "
                   f"before it, a threshold set by hand (no spread of the AUC over photos or runs "
                   f"is measured): on {twin.get('frames', 'so few')} photos smaller changes are not read.)")


# the gaps of the twin ladder as the sentence names them
GAP_NAMES = {"viewpoint and pose": "the viewpoint and pose", "background": "the real background",
             "appearance": "the real arm's look"}


RUNG_NAMES = {"mesh_twin": "on the rendered twin", "mesh_pasted": "with the twin pasted over the photo",
              "photo": "on the photo"}


def _rung_clause(outcomes: list[str], words) -> str:
    """What the model did with each joint on one rung: right, named wrong, on the arm, off it, missed."""
    groups = {}
    for outcome, word in zip(outcomes, words):
        groups.setdefault(outcome, []).append(word)
    if set(groups) <= {"missed", "outside the image"}:
        return "finds no joint" if "missed" in groups else "has no joint in the image"
    parts = []
    for outcome, phrase in (("right", "gets the {} right"), ("other joint", "puts the {} on another joint"),
                            ("on the arm", "puts the {} on the arm but away from the joint"),
                            ("off the arm", "puts the {} off the arm"), ("missed", "misses the {}")):
        if outcome in groups:
            parts.append(phrase.format(join_words(groups[outcome])))
    return join_words(parts)


def describe_ladder_photos(shown: list[dict], words, nearest_median_m: float, right_px: float,
                           arm_px: float) -> str:
    """The failure cases of chapter 5's ladder figure, written from what each shown photo's
    rungs hold. ``shown``: per photo {"label" (e.g. "median"), "name", "outcomes" (rung ->
    ``eval.real.joint_outcomes`` per joint), "nearest_m" (the camera distance of its
    nearest true joint)}; ``words``: the joints in words; ``nearest_median_m``: the median of
    "nearest_m" over all photos; ``right_px``, ``arm_px``: the tolerances the outcomes used.

    Per photo: what the model does on each rung, then the causes the rungs show: joints
    off the arm that appear only once the real background is there (the background), joints
    right on the render but not on the photo (the arm's look), and fewer than two joints
    right even on the render of a view whose nearest joint is closer than half the
    photos' median (a close-up the model did not learn)."""
    paragraphs = [f"A joint counts as right within {right_px:.0f} px of its true position, and as on the arm within "
                  f"{arm_px:.0f} px of the true chain."]
    for s in shown:
        o = s["outcomes"]
        clauses = [f"{RUNG_NAMES[r]} it {_rung_clause(o[r], words)}" for r in RUNG_NAMES if r in o]
        # one sentence per rung: a photo's three rungs in one sentence ran past 80 words
        text = f"*{s['label'].capitalize()} photo* ({s['name']}). " + " ".join(c[0].upper() + c[1:] + "."
                                                                              for c in clauses)
        causes = []
        off = {r: {w for w, x in zip(words, o[r]) if x == "off the arm"} for r in o}
        from_background = off.get("mesh_pasted", set()) - off.get("mesh_twin", set())
        if from_background:
            # what the same joints were on the twin: missed is not placed right
            before = {x for w, x in zip(words, o.get("mesh_twin", ())) if w in from_background}
            one = len(from_background) == 1
            causes.append(f"the {join_words(w for w in words if w in from_background)} "
                          + ("lands" if one else "land") + " off the arm once the real background is there, where on "
                          "the rendered twin " + ("it was" if one else "they were")
                          + (" missed, so the background moved " + ("it" if one else "them") + " but did not cost "
                             + ("it" if one else "them") if before == {"missed"} else " not off the arm"))
        right = {r: {w for w, x in zip(words, o[r]) if x == "right"} for r in o}
        lost = right.get("mesh_twin", set()) - right.get("photo", set())
        if lost and "photo" in o:
            causes.append(f"the {join_words(w for w in words if w in lost)}, right on the render, "
                          f"{'is' if len(lost) == 1 else 'are'} lost on the real arm")
        if len(right.get("mesh_twin", ())) < 2 and s["nearest_m"] < 0.5 * nearest_median_m:
            causes.append(f"even the render of this view defeats the model: its nearest joint is "
                          f"{s['nearest_m']:.2f} m from the camera, against a median of {nearest_median_m:.2f} m over "
                          "the photos, a close-up it did not learn")
        if causes:
            text += " What the rungs show: " + "; ".join(causes) + "."
        paragraphs.append(text)
    return "\n\n".join(paragraphs)


def auc_rules() -> str:
    """Chapter 5's hand-set rules for reading keypoint AUCs, as a Markdown list from the
    constants that apply them (:data:`SAME_AUC`, ``twin.LADDER_DROP``): none is measured;
    each is stated where it is used too (chapter 7's comparisons of single runs state
    theirs, :data:`ONE_RUN_GAP`, in their sentences)."""
    return ("How this chapter reads keypoint AUCs (rules set by hand, since no spread over seeds was measured):\n\n"
            f"* two AUCs within {SAME_AUC} count as the same;\n"
            f"* a rung of the twin ladder (below) opens a gap when it loses more than {LADDER_DROP} of AUC "
            "against the rung above it;\n"
            "* the ladder's first gap, viewpoint and pose, counts as open while the rendered twin scores less than "
            "the mean-pose baseline.")


# keypoint AUC gaps between single training runs that chapter 7 does not read as a ranking:
# no seed spread of the filmed validation AUC was measured, so twice the 0.01 its tables
# count as the same
ONE_RUN_GAP = 0.02


def one_run_rule() -> str:
    """Chapter 7's rule for reading single training runs, from :data:`ONE_RUN_GAP` and
    :data:`SAME_AUC`: the gap in keypoint AUC below which two runs are not ranked."""
    return (f"Between single runs, a gap in keypoint AUC under {ONE_RUN_GAP} is not read as a ranking: no spread over "
            f"seeds was measured, so the rule takes twice the {SAME_AUC} within which chapter 5 counts two AUCs as "
            "the same.")


def describe_backbone_studies(rows: list[dict], shipped_steps: int | None = None) -> str:
    """Chapter 7's reading of the mesh Panda's backbone and stride studies (``eval.panda_studies.
    study_rows``): per study, each trained row against its own control (the backbone as
    shipped), with its CPU minutes against the control's; which row is best on the
    filmed validation set's all-joint AUC; and, given ``shipped_steps`` (the shipped
    model's training steps), what share of them the studies' budget is."""
    parts = []
    studies = list(dict.fromkeys(r["study"] for r in rows))
    best_names = []
    for study in studies:
        mine = [r for r in rows if r["study"] == study and r["name"] != "start"]
        control = next((r for r in mine if r["control"]), None)
        if control is None:
            continue
        others = [r for r in mine if not r["control"]]
        clauses = [f"{r['label']}: {r['auc_all']:.3f} ({r['vs_control']:+.3f}, "
                   f"{r['cpu_min'] / control['cpu_min']:.1f} times the CPU time)" for r in others]
        parts.append(f"* the {study} study: the shipped setting (the control) reaches {control['auc_all']:.3f}; "
                     + "; ".join(clauses))
        best_names.append(max(mine, key=lambda r: r["auc_all"]))
    if not parts:
        return ""
    steps = max(r["steps"] for r in rows)
    text = (f"After {steps:,} steps from the same weights with the same seeds, on the filmed validation set "
            "(keypoint AUC, all joints; the change against the control in brackets):\n\n" + ";\n".join(parts)
            + ".\n\n")
    close = [r for r in rows if r["name"] != "start" and not r["control"] and abs(r["vs_control"]) < ONE_RUN_GAP]
    if all(b["control"] for b in best_names):
        text += "At this budget no row beats the backbone as shipped"
    else:
        text += "At this budget the best is " + ", ".join(b["label"] for b in best_names if not b["control"])
    text += ("; " + join_words([f"the {r['label']} lies within {abs(r['vs_control']):.3f} of its control"
                                for r in close])
             + f", and from one run each a gap under {ONE_RUN_GAP} is not read as a ranking." if close else ".")
    if shipped_steps:
        text += (f" That budget is {steps / shipped_steps:.0%} of the shipped model's {shipped_steps:,} steps; "
                 "whether a fine-tuned backbone or stride 4 pays for its changed or new weights over a longer run "
                 "is not measured here.")
    return text


def describe_recipe_choice(comparison: dict, first_part_steps: int | None = None) -> str:
    """The sentence on the recipe choice of a model record's "comparison" entry ("rule",
    "chosen", "arms": key -> {"recipe", "steps", "figures": {"model": {"all", "moving"}}}):
    which recipe the filmed validation set chose, at how many steps, with both arms'
    AUCs (and "steps_budget", where that number of steps came from, when the entry has
    it); ``first_part_steps`` (the model's first training part), when it equals the
    compared steps, says where that budget comes from. Raises KeyError when the chosen
    arm is missing."""
    arms = comparison["arms"]
    chosen = arms[comparison["chosen"]]
    others = [a for k, a in arms.items() if k != comparison["chosen"]]

    def figs(a):
        m = a["figures"]["model"]
        return f"{m['all']['auc']:.3f} / {m['moving']['auc']:.3f}"

    early = ("; the shipped mesh Panda model is that run, trained longer" if first_part_steps == chosen["steps"]
             else "")
    gap = chosen["figures"]["model"]["all"]["auc"] - max((a["figures"]["model"]["all"]["auc"] for a in others),
                                                         default=float("-inf"))
    budget = f" ({comparison['steps_budget']})" if comparison.get("steps_budget") else ""
    return (f"The recipe was chosen by a short trial of one run per recipe from the same start. Measured on the "
            f"filmed validation set after the same {chosen['steps']:,} steps{budget}, it chose `{chosen['recipe']}` "
            f"(keypoint AUC all / moving {figs(chosen)}) over "
            + ", ".join(f"`{a['recipe']}` ({figs(a)})" for a in others) + early
            + (f". That is one run per recipe: the gap is larger than {ONE_RUN_GAP}, the least gap between single "
               "runs read here as a ranking, but its size is not measured." if gap >= ONE_RUN_GAP else
               f". That is one run per recipe, and a gap under {ONE_RUN_GAP} between single runs is not read as a "
               "ranking: the choice was close to a toss."))


def recipe_choice_in_brief(comparison: dict) -> str:
    """Chapter 5's pointer to the recipe choice of a model record's "comparison" entry (the
    keys of :func:`describe_recipe_choice`, which chapter 7 gives in full): the recipe the
    model was trained on and the one it was compared with. Raises KeyError when the chosen
    arm is missing."""
    arms = comparison["arms"]
    chosen = arms[comparison["chosen"]]["recipe"]
    others = [f"`{a['recipe']}`" for k, a in arms.items() if k != comparison["chosen"]]
    return (f"Chapter 7 compares `{chosen}`, the recipe this model was trained on, with {join_words(others)} on the "
            "filmed validation set.")


def _setting(value) -> str:
    """A recipe parameter's value as the table writes it: ranges as "lo-hi", numbers short."""
    if isinstance(value, tuple):
        return "-".join(f"{v:.3g}" for v in value)
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def recipe_table(names: list[str], robot: str | None = None) -> str:
    """Chapter 5: a Markdown table of the training recipes ``names`` (``synth.RECIPES``), one
    row each: the recipe it builds on (``synth.recipe_base``) and the parameters it adds or
    changes over that base (changed values as "old -> new"); with ``robot``, that robot's
    recipe presets (``synth.RECIPE_PRESETS``, e.g. the Panda's camera radius) in the row too.

    Raises:
        ValueError: a name that is not a recipe.
    """
    rows = []
    for name in names:
        base = recipe_base(name)
        own = {**RECIPES[name], **RECIPE_PRESETS.get((name, robot), {})}
        under = {**RECIPES[base], **RECIPE_PRESETS.get((base, robot), {})} if base else {}
        changes = [f"`{k}` {_setting(under[k])} \u2192 {_setting(v)}" if k in under else f"`{k}` {_setting(v)}"
                   for k, v in own.items() if under.get(k, object()) != v]
        rows.append({"recipe": f"`{name}`", "builds on": f"`{base}`" if base else "\u2014",
                     "adds or changes": "; ".join(changes) if base else "nothing: the paper's randomisation"})
    return (markdown_table(rows) + "\nThe units of the settings:\n\n"
            "* fields of view are vertical, in degrees; `inclination_range` is the camera's angle from the "
            "vertical in radians; `r_min` and `r_max` bound the camera radius in metres;\n"
            "* a probability is the share of robots, scenes or images that get the effect;\n"
            "* `aim_offset` moves the point the camera aims at by up to that fraction of the robot's reach along "
            "each axis;\n"
            "* `max_distractors` and `collage_patches` are the most distractor objects and pasted background "
            "patches per scene; `distractor_depth` places distractors at that fraction of the camera's distance;\n"
            "* `color_jitter` and `white_balance` are the largest relative changes of brightness, contrast and "
            "saturation, and of each colour channel's gain; `gamma_range` bounds the exposure curve's exponent; "
            "`specular_range` the highlight's strength (1: full white).\n")
