"""Measured figures -> sentences and Markdown tables: what the chapters write about a number.

Every function here takes figures that were measured or read elsewhere (``eval/``,
``scorecard``, ``cards``) and returns text; nothing here loads a model, renders a scene or
measures. Chapters call these, draw (``viz/``) and show.

* Tables: :func:`markdown_table` (rows of numbers as a Markdown table; chapters display
  tables as tables, never as monospaced text), :func:`localization_tables`,
  :func:`report3d_table`, :func:`scorecard_markdown`.
* Chapter 2: :func:`describe_localization` (Fig. 6, the peak finders, Table I),
  :func:`localization_card_comparison` (a model's record against the chapter's report).
* Chapter 4: :func:`describe_wrong_robot`, :func:`describe_chains` (robot k named by its
  colour, ``TAB10_NAMES``), :func:`describe_perfect_decoding`, :func:`describe_predicted_counts`,
  :func:`compare_peak_finders_3d`, :func:`describe_shown_pair`, Table II
  (:func:`table_ii_markdown`, :func:`describe_table_ii`, :func:`table_ii_conditions`), the
  explore panel (:func:`scene_title`, :func:`describe_explored_scenes`); its verdict box
  text (:func:`runtime_verdict`).
* Chapter 1's verdict box text: :func:`renderer_verdict`; chapter 3's rule for the scenes
  its step-by-step figure shows: :func:`chosen_masks_rule`.
* Chapter 5: :func:`photos_or_absent`, the sim-to-real study (:func:`sim2real_counting`); the mesh
  Panda model (:func:`real_comparison_table`, :func:`describe_mesh_real`, the twin ladder:
  :func:`ladder_table`, :func:`describe_ladder`, :func:`describe_ladder_photos`; the studies:
  :func:`describe_backbone_studies`, :func:`describe_recipe_choice`).
* Chapter 6: :func:`describe_real_study`, :func:`describe_depth_study`,
  :func:`describe_onepass_comparison` with :func:`instance_training_budgets`,
  :func:`describe_instance_runtimes`, :func:`describe_train_bench`, the open problems
  (:func:`open_problems`, :func:`depth_next_step`); its verdict box text
  (:func:`onepass_verdict` with :func:`instance_budgets`).
* The scorecard: :func:`rules_text` (its verdict rules), :func:`decoding_text` (the
  one-pass decoding a figure was measured with).
* :func:`real_photos_absent`: the line a chapter shows instead of a real-photo figure when
  the photos are not on the machine.
"""
from __future__ import annotations

import numpy as np

from .peaks import peak_name
from .scorecard import (BASELINE_PARTLY, PARTLY_WITHIN, REPRODUCED_WITHIN, SHARE_PARTLY,
                        SHARE_REPRODUCED, ScoreRow, base_tip_medians)

# the instance models' names in tables and sentences (chapter 6, the intro)
ONEPASS_NAMES = {"onepass": "one-pass", "convgru": "recurrent (ConvGRU)"}


def _cell(value, fmt: str | None) -> str:
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            return "—"
        return format(float(value), fmt or ".3f")
    if isinstance(value, (int, np.integer)) and fmt:
        return format(int(value), fmt)
    return str(value).replace("|", "\\|")


def markdown_table(rows: list[dict], columns: list[str] | None = None, formats: dict[str, str] | None = None,
                   headers: dict[str, str] | None = None) -> str:
    """Rows (dicts) as a Markdown table: ``columns`` (default the first row's keys) in order;
    ``formats``: column -> format spec (floats default to ".3f", NaN shows as a dash);
    ``headers``: column -> header text. Numeric columns are right-aligned."""
    if not rows:
        return ""
    columns = columns or list(rows[0])
    formats, headers = formats or {}, headers or {}
    numeric = [all(isinstance(r.get(c), (int, float, np.integer, np.floating)) and not isinstance(r.get(c), bool)
                   for r in rows) for c in columns]
    head = "| " + " | ".join(headers.get(c, str(c)) for c in columns) + " |\n"
    rule = "|" + "|".join("---:" if n else "---" for n in numeric) + "|\n"
    body = "".join("| " + " | ".join(_cell(r.get(c, ""), formats.get(c)) for c in columns) + " |\n" for r in rows)
    return head + rule + body


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


def localization_tables(report, paper: dict | None = None) -> str:
    """Markdown tables of an ``eval.localization.LocalizationReport``: the pixel error per
    joint for each peak finder side by side (median, mean, misses; at 480x640), then Table
    I (depth error near and far, cm) beside the paper's (``paper``, default
    ``metrics.PAPER_TABLE_I``) and the median-depth baseline's mean."""
    from .metrics import PAPER_TABLE_I

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
    pixel = markdown_table(rows, formats={c: ".1f" for c in rows[0] if "median" in c or "mean" in c})
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
            f"test images:\n\n{pixel}\n\nDepth error where the true belief is at least $\\varphi$ (Table I) over "
            f"{depth['near']['n']:,} near and {depth['far']['n']:,} far pixels; the baseline predicts the median "
            f"true depth everywhere:\n\n{depth_md}")


def describe_localization(report, paper: dict | None = None) -> str:
    """Sentences that read a ``LocalizationReport``: Fig. 6's ordering (joints near the base
    against those near the tip), the two peak finders, and Table I against the paper and
    the median-depth baseline. Written from the numbers, for the chapter's prose."""
    from .metrics import PAPER_TABLE_I

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
                   "its peaks more precisely here.")
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
                   f"{d['mean'] / paper[rng]['mean']:.1f} times the paper's {paper[rng]['mean']:.2f} cm, and "
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
    column = {"50%": "median", "25%": "25 %", "75%": "75 %"}.get(column, column)
    return ("Table I" if table == "depth" else peak_name(table)) + f" {row} {column}"


def localization_card_comparison(robot: str, report, figures_on_card: dict | None, checkpoint: dict | None) -> str:
    """Markdown: the model's recorded evaluation on the test set (``figures_on_card``: the
    "test" figures of its eval.json, ``eval localization --json``) beside a chapter's
    ``LocalizationReport`` of the same ``checkpoint``, in sentences: whether the chapter
    reproduces the record entry by entry (same checkpoint, seed and scene count), else the
    headline figures side by side; whether Fig. 6's ordering holds on each; which peak
    finder is more precise. "" without a record that evaluates this checkpoint."""
    from .cards import differing_figures
    from .eval.testset import TEST_SEED

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
            card_figures.append(f"Table I {rng} mean {card_mean:.1f} cm")
    methods = [m for m in report.methods if pixel.get(m)]
    for m in methods:
        figures.append(f"{peak_name(m)} median over all joints "
                       f"{pixel[m][-1]['50%']:.1f} against "
                       f"{report.joint_table(m)[-1]['50%']:.1f} px")
        card_figures.append(f"{peak_name(m)} median over all joints "
                            f"{pixel[m][-1]['50%']:.1f} px")
    text = f"**{robot}, model card against this chapter.** "
    if reproduced:
        text += (f"The card and this chapter evaluate the same checkpoint on the same "
                 f"{n_here} test scenes (test seed {TEST_SEED}), and this chapter "
                 f"reproduces the card's figures: all {compared} figures of its "
                 "evaluation (each joint's mean, median, 75 % and counts for both "
                 "peak finders, and Table I) agree with this chapter's to the printed "
                 "two decimals ("
                 + "; ".join(card_figures) + "). ")
    elif same_scenes:
        (key, on_card, here_value), = diff[:1]
        text += (f"The card and this chapter evaluate the same checkpoint on the same "
                 f"{n_here} test scenes (test seed {TEST_SEED}), yet {len(diff)} of "
                 f"the {compared} figures of its evaluation differ from this "
                 "chapter's ("
                 + "; ".join(figures) + f"; the first that differs: {_entry_name(key)} "
                 f"{on_card:.2f} on the card against {here_value:.2f} here). With the "
                 "same scenes and checkpoint, the difference can only come from the "
                 "computation (device, library versions) or from a change of the "
                 "evaluation code since the card was written. ")
    else:
        text += (f"The card evaluates the same checkpoint on {scenes}, this chapter "
                 f"on {n_here}: " + "; ".join(figures) + ". ")
    holds_here, here = _ordering({m: base_tip_medians(report.joint_table(m)[:-1])
                                 for m in methods})
    holds_card, there = _ordering({m: base_tip_medians(pixel[m][:-1]) for m in methods})
    if reproduced:
        text += f"Fig. 6's ordering (base joints more precise than the tip) {there}. "
    elif holds_here == holds_card:
        text += (f"Fig. 6's ordering (base joints more precise than the tip) {there} "
                 f"on the card's {scenes}, as on these {n_here}. ")
    else:
        text += ("Fig. 6's ordering (base joints more precise than the tip): on these "
                 f"{n_here} scenes it {here}; on the card's {scenes} it {there}. ")
    best_here = min(methods, key=lambda m: report.joint_table(m)[-1]["50%"])
    best_card = min(methods, key=lambda m: pixel[m][-1]["50%"])
    if best_here != best_card:
        text += (f"The more precise peak finder over all joints is "
                 f"{peak_name(best_here)} here and {peak_name(best_card)} on the "
                 "card. ")
    if reproduced:
        text += "The introduction's scorecard quotes these figures."
    elif n_card and n_here < n_card:
        text += (f"With {n_here} scenes this chapter's figures are noisy; the "
                 "introduction's scorecard uses the card's.")
    else:
        text += "The introduction's scorecard uses the card's figures."
    return text


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
                     "near mean [cm]": nf["near"]["mean"], "near median [cm]": nf["near"]["50%"],
                     "far mean [cm]": nf["far"]["mean"], "far median [cm]": nf["far"]["50%"]})
    return markdown_table(rows, formats={c: ".1f" for c in rows[0] if "[" in c})


def describe_wrong_robot(rows: list[dict], images: int) -> str:
    """A paragraph reading ``WrongRobotResult.rows()`` (eval.pose3d; with masks, then without)
    on ``images`` two-robot scenes: one clause per column (robots with a chain, joints found,
    3D errors, joints on the other robot), from the measured numbers, not from what the
    method intends."""
    m, p = rows
    n = m["robots"]
    text = (f"With the masks {m['robots recovered']} of the {n} robots get a chain "
            f"and {m['joints found']:.0%} of the robots' joints are found; without "
            f"them {p['robots recovered']} and {p['joints found']:.0%} (one chain per "
            f"image, so at most {images} robots). ")
    if np.isfinite(m["mean 3D [cm]"]) and np.isfinite(p["mean 3D [cm]"]):
        text += (f"The joints found lie {m['mean 3D [cm]']:.1f} cm from the truth on "
                 f"average with the masks and {p['mean 3D [cm]']:.1f} cm without "
                 f"(medians {m['median 3D [cm]']:.1f} and "
                 f"{p['median 3D [cm]']:.1f} cm). ")
    a, b = m["joints on the other robot"], p["joints on the other robot"]
    if not (np.isfinite(a) and np.isfinite(b)):
        return text + ("No joint was found, so the share on the other robot is "
                       "unmeasured.")
    more = m["robots recovered"] - p["robots recovered"]
    gain = ("the masks recover more robots and joints" if more > 0 else
            "the masks recover no more robots" if more == 0 else
            "the masks recover fewer robots")
    if a < b - 0.02:
        purity = ("and keep more chains on their own robot: "
                  f"{a:.1%} of the joints found lie nearer the other robot's joint, "
                  f"against {b:.1%} without.")
    elif a > b + 0.02:
        purity = (f"but take more joints from the other robot ({a:.1%} against "
                  f"{b:.1%} without): where a mask covers both robots, its chain can "
                  "take joints from either.")
    else:
        purity = ("but do not reduce the share of joints taken from the other robot "
                  f"({a:.1%} against {b:.1%} without), as they would if each mask "
                  "covered one robot only.")
    return text + f"So here {gain}, {purity}"


# viz draws predicted robot k in the k-th colour of matplotlib's tab10 cycle
TAB10_NAMES = ("blue", "orange", "green", "red", "purple", "brown", "pink", "grey", "olive", "cyan")


def describe_chains(s, poses, match_px: float = 40.0) -> str:
    """Markdown: what each predicted robot (``Predictor`` poses) of one scene ``s`` is,
    measured against the truth: joints found, how many true robots its joints and mask lie
    on, whether it matches a true robot (``eval.pose3d.match_poses``, mean 2D joint distance
    below ``match_px`` pixels at 480x640), then whether the prediction is wrong and why.
    Robot k is named by its colour in ``viz`` drawings (matplotlib's tab10 cycle)."""
    from . import metrics
    from .eval import pose3d

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
                f"joints of {sources} true robot(s)")
        for j, q in enumerate(poses[:k]):  # chains drawn over each other
            same = int((np.linalg.norm(p.joints_2d - q.joints_2d, axis=-1) < 1).sum())
            if same:
                line += f"; {same} of its joints lie on robot {j}'s (drawn over them)"
        if p.mask is not None:  # true robots holding at least 10 % of its mask
            on = p.mask > 0.5
            share = (s.masks.astype(bool) & on).sum(axis=(1, 2)) / max(on.sum(), 1)
            line += f"; its mask lies on {int((share >= 0.1).sum())} true robot(s)"
        lines.append(line + ("; matched to a true robot" if k in match
                             else "; matched to none"))
        mixed += sources > 1
        few += 0 < found.sum() <= 2
    lost = int((match < 0).sum())
    text = (f"{len(poses)} robot(s) predicted for {s.num_robots} in the scene; "
            f"{s.num_robots - lost} true robot(s) matched to a prediction (mean 2D "
            f"distance of the joints below {match_px:.0f} px at 480x640):\n\n"
            + "\n".join(lines))
    extra = len(poses) - s.num_robots
    problems = [text for bad, text in (
        (lost, f"{lost} of the {s.num_robots} true robots have no matching chain"),
        (extra > 0, f"{extra} chain(s) too many"),
        (mixed, f"{mixed} chain(s) take their joints from more than one robot"),
        (few, f"{few} chain(s) have only one or two joints")) if bad]
    if problems:
        why = (["a mask lying on several robots gives a chain mixing them"]
               if mixed else [])
        why += (["a mask on a fragment of a robot gives a chain of few joints"]
                if few else [])
        text += ("\n\nSo this prediction is wrong: " + "; ".join(problems)
                 + ". Each chain is decoded inside one predicted mask, so it is only "
                 "as good as that mask" + (": " + "; ".join(why) if why else "")
                 + ". The masks come from the instance model that `Predictor` loaded.")
    else:
        text += "\n\nEvery true robot has its own chain here."
    return text


def rules_text() -> str:
    """The verdict rules in one paragraph (Markdown), from scorecard's constants."""
    return (f"Errors count as *reproduced* within {REPRODUCED_WITHIN:g} times the paper's, *partly* within "
            f"{PARTLY_WITHIN:g} times; a share that should be 1 is *reproduced* from {SHARE_REPRODUCED:.0%}, "
            f"*partly* from {SHARE_PARTLY:.0%}; an ordering is *reproduced* when it holds for both peak finders; "
            f"on real photos the model must beat the mean-pose baseline (*partly*: {BASELINE_PARTLY:.0%} of its "
            "score). Where the paper prints no number in its text, the verdict says so.")


def decoding_text(figures: dict) -> str:
    """The one-pass decoding a figures dict (``scorecard.onepass_figures``) was measured with:
    "centre threshold 0.3" and, when the file names it, ", NMS window 5x5" ("" when the
    file names no threshold)."""
    threshold, window = figures.get("centre_threshold"), figures.get("centre_nms")
    if threshold is None:
        return ""
    return f"centre threshold {threshold:g}" + (f", NMS window {window}x{window}" if window is not None else "")


def scorecard_markdown(rows: list[ScoreRow], chapter_links: dict[str, str] | None = None) -> str:
    """The rows as a Markdown table: claim | paper | ours | verdict | chapter (linked through
    ``chapter_links``: chapter -> document name, when given)."""
    def where(ch: str) -> str:
        return f"[{ch}]({chapter_links[ch]})" if chapter_links and ch in chapter_links else ch

    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    head = "| claim of the paper | paper | ours | verdict | chapter |\n|---|---|---|---|:-:|\n"
    return head + "".join(f"| {cell(r.claim)} | {cell(r.paper)} | {cell(r.ours)} | **{r.verdict}** | "
                          f"{where(r.chapter)} |\n" for r in rows)


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
            f"of the {n} counted joints ({scored.sum() / max(n, 1):.0%}): "
            f"{int(matched.sum())} of the {len(matched)} true robots are matched, "
            f"and of the {missed} missed joints {lost_robots} belong to the "
            f"{int((~matched).sum())} unmatched robots (no predicted chain within "
            f"{match_px:.0f} px of them: a missing or misplaced instance mask, or "
            f"a chain too far off) and {no_peak} to matched robots whose masked "
            f"belief map has no peak above {min_score:.1f}.")


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


def _real_format(key: str) -> str:
    """Format of a real-photo figure: px and cm to 1 decimal, shares (PCK, AUC, found) to 3."""
    return ".1f" if key.endswith(("_px", "_cm")) else ".3f"


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
    listed = (", ".join(names[:-1]) + " and " if len(names) > 1 else "") + names[-1]
    return "beats the baseline on " + ("" if beats else "none of ") + listed


def instance_training_budgets(robots, folder=None) -> str:
    """Sentences saying how each robot's two shipped instance models were trained: steps,
    scenes (steps x batch) and training hours summed over everything their weights descend
    from (``lineage.json``, :func:`cards.training_cost`) and the recipe stored in their
    weights (:func:`scorecard.training_recipe`); "" when a record is missing. Chapter 6
    puts it under the table that compares the two."""
    from .cards import training_cost
    from .scorecard import training_recipe

    parts = []
    for robot in robots:
        costs = {key: training_cost(f"{robot}_{task}_cpu", folder)
                 for key, task in (("onepass", "onepass"), ("convgru", "instances"))}
        if not all(c.steps for c in costs.values()):
            continue
        recipe = {key: training_recipe(robot, key, folder) or "?" for key in costs}
        budget = {key: f"{c.steps:,} steps, {c.scenes:,} scenes and {c.hours:.1f} h" for key, c in costs.items()}
        parts.append(f"*{robot}*: {budget['onepass']} of training on the {recipe['onepass']} recipe for the "
                     f"one-pass model; {budget['convgru']} on the {recipe['convgru']} recipe for the recurrent one.")
    if not parts:
        return ""
    return ("The two models were not trained alike, so every column of the table compares training budgets and "
            "data as well as models. " + " ".join(parts))


# ------------------------------------------------------------------ chapter 4 (decoding)
def describe_perfect_decoding(rows: list[dict]) -> str:
    """The sentence under chapter 4's table of decoded perfect maps (§4.1). ``rows``: one
    dict per peak finder (``eval.pose3d.decoding_errors``: "peaks", "mean 3D [cm]",
    "max 3D [cm]"), the first two are named. Decoding counts as nearly lossless when the
    better mean 3D error is below 1 cm. Raises ValueError for fewer than two rows."""
    if len(rows) < 2:
        raise ValueError(f"rows: expected one per peak finder (two), got {len(rows)}")
    a, b = rows[:2]
    best = min(rows, key=lambda r: r["mean 3D [cm]"])
    return (f"On perfect maps the mean 3D error is {a['mean 3D [cm]']:.2f} cm with {a['peaks']} and "
            f"{b['mean 3D [cm]']:.2f} cm with {b['peaks']} (largest: "
            f"{max(r['max 3D [cm]'] for r in rows):.1f} cm): "
            + ("decoding is nearly lossless." if best["mean 3D [cm]"] < 1.0 else
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
    return ("**Predicted against true robots.** The column *predicted* counts every mask the instance model "
            "emitted (the recurrent model: until its stopping rule ended the sequence; the one-pass model: one per "
            "robot centre it found), each decoded into a chain: "
            + "; ".join(counts) + ". "
            + (f"For {' and '.join(over)} the instance model emits more robots than the images hold: it does not "
               "always find exactly the robots there are (chapters 3 and 6 measure how often each instance model "
               "counts right). `Predictor` then drops chains without a found joint and masks that overlap a "
               "better-scored one by more than "
               f"IoU {duplicate_iou[over[0]]:.1f}, which the kept counts show. " if over else
               "The instance model emits no more robots than the images hold. ")
            + "Robots beyond the true ones do not enter the error columns: each true robot is matched to at most "
            "one prediction (Hungarian assignment on the mean 2D distance of their joints, accepted below "
            f"{match_px:.0f} px at 480x640), errors are taken only over matched pairs, and an unmatched prediction "
            "appears only in *predicted*. An unmatched true robot counts its joints as *missed*. So the errors "
            "measure how well the robots that are found are placed, not how many false robots come with them.")


def compare_peak_finders_3d(robot: str, report, quick: bool = False) -> str:
    """Chapter 4.3: the median 3D error over all found joints (near and far together) of
    the two peak finders of an ``eval.pose3d.Report3D``, their misses, and which is more
    precise (more than 5 % apart) or that they are within 5 %; with ``quick`` a note that
    the figures come from a handful of scenes. "" unless both medians are finite."""
    medians = {m: float(np.nanmedian(e[report.counted])) if np.isfinite(e[report.counted]).any()
               else float("nan") for m, e in report.errors_cm.items()}
    if len(medians) != 2 or not all(np.isfinite(v) for v in medians.values()):
        return ""
    (a, ea), (b, eb) = medians.items()
    return (f"**{robot}**: median 3D error over all its found joints (near and far together) {ea:.1f} cm with "
            f"{peak_name(a)} and {eb:.1f} cm with {peak_name(b)}, {report.misses(a)} and {report.misses(b)} joints "
            "missed; "
            + (f"{peak_name(a if ea < eb else b)} is more precise here." if abs(ea - eb) > 0.05 * min(ea, eb) else
               "the two peak finders are within 5 % of each other.")
            + (" Quick mode: a handful of scenes." if quick else ""))


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
            + "".join(f"With the masks {c}: two masks lead to the same joints, so one of the two chains is "
                      "matched to a robot it does not lie on. " for c in coinciding)).rstrip()


def table_ii_markdown(table_ii: dict, robot: str) -> str:
    """Chapter 4.5: the paper's Table II measured here (``bench.runtime.measure_table_ii``)
    as Markdown: the conditions, the table of steps beside the paper's (ms), and our peak
    finders against the libraries they replace."""
    return (f"On {table_ii['device']}; each step's mean and standard deviation over {table_ii['repeats']} runs "
            f"after {table_ii['warmup']} warm-up runs (the 480x640 belief prediction and the whole prediction: at "
            f"most that many), {robot} reference models; the instance rows and the whole prediction run the "
            "paper's recurrent (ConvGRU) instance model:\n\n"
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
             f"takes {mask_row['mean_ms']:.0f} ms against the paper's {mask_row['paper_mean_ms']:.2f} ms. The whole "
             f"prediction of the {table_ii['scene_robots']}-robot scene ({table_ii['found']} found) takes "
             f"{whole['mean_ms']:.0f} ms"
             + ((", within" if whole["mean_ms"] < 1000 else ", over") + " the one-second target for a CPU (above)."
                if on_cpu else " on this GPU."))
    nms, log = rows["joint localization NMS"], rows["joint localization LoG"]
    second = (f"The peak finders: our NMS takes {nms['mean_ms']:.1f} ms against the paper's "
              f"{nms['paper_mean_ms']:.2f} ms, {nms['mean_ms'] / nms['paper_mean_ms']:.0f} times "
              + ("longer" if nms["mean_ms"] > nms["paper_mean_ms"] else "shorter")
              + (": ours scans every joint's full 480x640 map on this CPU, the paper's figure comes from its GPU "
                 "machine; " if on_cpu else "; ")
              + f"our LoG takes {log['mean_ms']:.0f} ms against the paper's {log['paper_mean_ms']:.0f} ms (a CPU "
              "implementation), "
              + ("faster" if log["mean_ms"] < log["paper_mean_ms"] else "slower")
              + (": on a CPU ours convolves only the tiles that can hold a peak."
                 if on_cpu and log["mean_ms"] < log["paper_mean_ms"] else "."))
    return [first, second]


def table_ii_conditions(table_ii: dict, joints: int, threads: int, default_threads: int,
                        predictor_model: str | None = None) -> str:
    """Chapter 4.5: what each row of Table II times (``joints``: belief maps per peak
    finder run; ``threads``: torch threads while timing; ``default_threads``: torch's
    default here, which chapter 3 times with), and why chapters 3 and 6 give other figures.
    ``predictor_model``: the instance model ``Predictor.from_pretrained`` loads
    ("one-pass" or "recurrent", ``showcase.instance_model_kind``); when it is not the
    recurrent one, a sentence says that the benchmark times the recurrent model instead."""
    other = ("" if predictor_model in (None, "recurrent") else
             f" `Predictor.from_pretrained`, which the sections above use, loads the {predictor_model} instance "
             "model by default; the benchmark times the paper's recurrent one, as its Table II does, so the "
             "whole prediction row is not the time of the default `Predictor` (chapter 6 times the two instance "
             "models side by side).")
    return ("What each row times: the localization network on one random image, at the network's own input size "
            "(first row) and at 480x640; the instance model's context module and input gates (once per image) and "
            "one ConvGRU step with its refine block (once per robot) on the features of the first row's input; "
            f"each peak finder on synthetic 480x640 belief maps of {joints} joints; and `Predictor` end to end "
            "(resizing, both networks, masking, peaks, depth, back-projection) on a rendered 480x640 scene with "
            f"{table_ii['scene_robots']} robots, its instance model the recurrent one of the rows above.{other} "
            "Chapters 3 and 6 time under other conditions, so their figures "
            "differ from these: chapter 3 runs the instance model with torch's default thread count "
            f"({default_threads} here, against {threads} above) on its own test scenes, as medians of the context "
            "module plus k + 1 steps for k robots with a line fitted through them; chapter 6 reads a one-pass study "
            "file whose times were measured once, when the study was run, on that machine and with its own thread "
            "setting. Compare times within one table, not across chapters.")


def runtime_verdict(paper: dict, gpu: str, on_gpu: bool = False) -> str:
    """Chapter 4's verdict box text (``verdict_box(..., without_claims=...)``): nothing to
    score, the paper's Table II (``paper``: ``metrics.PAPER_TABLE_II``, ms per step; ``gpu``:
    the GPU it was timed on) read out, and what the chapter measures instead (``on_gpu``:
    whether this build times ours on a GPU)."""
    ms = {k: v[0] for k, v in paper.items()}
    hardware = "a GPU" if on_gpu else "a CPU"
    return ("**No claim to score.** The paper gives no figure for the 3D error of its whole pipeline (its Table I, "
            "chapter 2, measures depth on the depth discs only). Its Table II times each step on a GPU "
            f"({gpu}): the belief prediction {ms['belief prediction']:.2f} ms, each robot's instance mask "
            f"{ms['instance mask (per robot)']:.2f} ms, NMS {ms['joint localization NMS']:.2f} ms and LoG "
            f"{ms['joint localization LoG']:.0f} ms (a CPU implementation). Those are times of its networks on "
            "its hardware, not results that smaller networks on other hardware can reach or miss, so they are "
            "set beside ours, not scored. This chapter measures what the paper leaves out, the end-to-end 3D "
            f"errors of the shipped networks on the synthetic test set, and times each of our steps on {hardware} "
            "beside the paper's (section *Runtime*).")


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
            test set of 4.3, for comparison (within 15 points: "typical").
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
    text = (f"In the {len(shown)} scenes drawn above, the models match {n_match} of the {n_true} true robots to a "
            f"chain within {match_px:.0f} px ({here:.0%}); on the test set of 4.3, {peak_name(method)} matched "
            f"{test_matched} of {test_robots} ({test:.0%}). "
            + ("So the failures above are typical of these models, not unlucky picks." if abs(here - test) <= 0.15
               else "These few scenes went worse than the test set, where failures of this kind occur too "
               f"({test_robots - test_matched} of {test_robots} robots unmatched)." if here < test else
               "These few scenes went better than the test set.")
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


# ----------------------------------------------------------------------- chapters 1 to 3
# The sentences of chapters 1 (synthetic data), 2 (localization) and 3 (instances), each
# written from the figures the chapter measured and passes in.

def describe_mesh_agreement(iou: float, differ: int, covered: int,
                            pybullet: tuple[float, float] | None = None, views: int = 3,
                            required: float = 0.97) -> str:
    """Chapter 1: the primitive Panda against the mesh Panda at the same joints and camera,
    and the mesh robots against pybullet.

    Args:
        iou: silhouette IoU of the two Pandas; ``differ``: pixels in one silhouette only;
            ``covered``: pixels in either.
        pybullet: (lowest, mean) silhouette IoU of our mesh render against pybullet's over
            ``views`` random views (``bench.meshes.pybullet_agreement``), None when pybullet
            is not installed; ``required``: the IoU the tests ask for.
    """
    if pybullet is None:
        pb_text = "pybullet is not installed here, so that check is skipped."
    else:
        low, mean = pybullet
        number = {2: "two", 3: "three", 4: "four", 5: "five"}.get(views, str(views))
        pb_text = (f"On {number} random views here their silhouettes agree at an IoU of at least "
                   f"{low:.3f} (mean {mean:.3f}); the tests ask for {required:g}.")
    return (f"The two Pandas share joints, keypoints and camera, and their silhouettes overlap "
            f"with an IoU of {iou:.2f}: the shape a network learns from primitives differs "
            f"in {differ} of the {covered} pixels "
            "covered by either silhouette. The mesh robots are checked against another renderer: "
            "pybullet draws the same URDF at the same joint angles and intrinsics "
            f"(`robotpose bench meshes`, `tests/test_urdf.py`). {pb_text}")


def renderer_verdict(pybullet: tuple[float, float] | None, views: int, photos: int,
                     required: float = 0.97) -> str:
    """Chapter 1's verdict box text (``verdict_box(..., without_claims=...)``): §III-A has
    no figure to score; what the chapter checks instead, with what was measured.

    Args:
        pybullet: (lowest, mean) silhouette IoU of our mesh Panda against pybullet's render
            over ``views`` random views (``bench.meshes.pybullet_agreement``), None when
            pybullet is not installed; ``required``: the IoU the tests ask for.
        photos: how many real Panda photos the chapter draws its chains over (0: none here).
    """
    number = {2: "two", 3: "three", 4: "four", 5: "five"}.get(views, str(views))
    if pybullet is None:
        check = "(pybullet is not installed here, so this page skips that comparison)"
    else:
        check = (f"whose silhouettes agree at an IoU of at least {pybullet[0]:.3f} over {number} random views "
                 f"(mean {pybullet[1]:.3f}; the tests ask for {required:g})")
    photo = (f"the chains of our forward kinematics drawn over {photos} real, calibrated photographs of a Panda, "
             "for the eye to judge (no number)" if photos else
             "the chains of our forward kinematics over real, calibrated photographs of a Panda, which are not "
             "here")
    return ("**No claim to score.** The paper's §III-A says how its training scenes are rendered and randomised, "
            "but gives no figure to compare with. What this chapter checks instead is that our renderer draws the "
            "arm right: the Panda drawn from its URDF meshes by our ray caster and by pybullet at the same joint "
            f"angles and intrinsics, {check}; and {photo}.")


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
    return ("The rows are chosen by a rule, not by eye: for each number of robots, among the first scenes with "
            "exactly that many robots rendered from the test distribution (the test set's parameters and "
            "background photos, every robot kept in view), the scene of median *mean best IoU* under "
            f"{model}: for each true robot, the best IoU of a mask the model emits before the "
            f"{min_active_fraction:.1%} stopping rule ends the sequence (0 for a robot that no such mask "
            "overlaps), averaged over the scene's robots; 1 is perfect. The shown scene's value per row: "
            + "; ".join(rows) + ".")


def describe_training_distribution(counts: dict, depths: dict, far_m: float = 5.0) -> str:
    """Chapter 1: Markdown bullets reading the training distribution of each robot's preset.

    Args:
        counts: robot -> robots per scene (S,) of its random scenes.
        depths: robot -> camera z of every joint of those scenes, metres.
        far_m: where the paper's far range begins (its Table I splits at 5 m).

    Returns:
        one bullet per robot (scenes without a robot, with two or more, the 5th-95th
        percentile of the joints' depth, the share beyond ``far_m``), and a closing line
        when the robots' counts agree scene by scene (both presets draw them alike).
    """
    lines = []
    for name, c in counts.items():
        c, z = np.asarray(c), np.asarray(depths[name])
        lines.append(f"* **{name}**: {np.mean(c == 0):.0%} of the {len(c)} "
                     "scenes show no robot (they teach the networks to say so) and "
                     f"{np.mean(c >= 2):.0%} show two or more; the joints lie "
                     f"{np.percentile(z, 5):.1f} to {np.percentile(z, 95):.1f} m from the "
                     f"camera (5th to 95th percentile), {np.mean(z >= far_m):.0%} of them in "
                     f"the paper's far range beyond {far_m:g} m.")
    listed = [list(np.asarray(c)) for c in counts.values()]
    if listed and all(c == listed[0] for c in listed):
        lines.append("\nThe robot counts agree between the robots because both presets "
                     "draw the number of robots and which of them are shown first, "
                     "from the same distributions and the same seed; the robots differ "
                     "in what follows (poses, distances, which joints are visible).")
    return "\n".join(lines)


def describe_render_rates(rates: dict[str, float], scenes: int, threads: int,
                          batch: int = 8) -> str:
    """Chapter 1: Markdown on the synthesiser's measured speed (``bench.synth``): robot ->
    samples per second for ``scenes`` three-robot scenes at 480x640 with ``threads`` torch
    threads, and what the slower rate means for one batch of ``batch`` scenes."""
    return (f"Rendered {scenes} three-robot scenes at 480x640 for each robot model "
            f"({threads} torch threads):\n\n"
            + "\n".join(f"* **{name}**: {rate:.1f} samples/s" for name, rate in rates.items())
            + f"\n\nAt the slower rate one batch of {batch} scenes takes "
              f"{batch / min(rates.values()):.1f} s to render at the paper's resolution; the "
              "reference models train at 240x320 on a quarter of the pixels, with rendering "
              "in a parallel worker process, and chapter 6 shows their training throughput.")


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


def describe_depth_weight(ends: dict) -> str:
    """Chapter 2: Markdown on what the depth weight lambda of eq. 1 did in the reference runs.

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
            + f"), while the unweighted depth term plotted above went from {d1:.1e} to "
            f"{d2:.1e} ({d2 / d1 - 1:+.0%}).")
    if not lines:
        return ""
    return ("Read from the same logs (the mean over the last tenth of each phase's logged "
            "steps; the weighted depth term is the stage's logged loss minus its belief "
            "term): " + " ".join(lines))


def describe_stage_maps(stats: list[dict], joint_labels, sigma: float, separation: float,
                        robot: str) -> str:
    """Chapter 2: Markdown reading the belief maps of one scene stage by stage (paper III-B,
    Wei et al.'s pose machines refine their estimates from stage to stage).

    Args:
        stats: per stage ``viz.localization.stage_map_figures``: "max" (largest belief),
            "visible" (joints whose map reaches the visibility level, 0.05), "half_area"
            (joint -> pixels at or above half its map's maximum) and "second" (joints with a
            second peak at least half as high, more than ``separation`` px away).
        joint_labels: the joints' names; ``sigma``: the targets' Gaussian, px.

    Returns:
        the figures in words and a verdict: the later stages refine when the beliefs rise
        from stage to stage, the blobs narrow (the last stage's median area below 0.8 times
        the first's) and no joint keeps two candidates.
    """
    n_stages, n_joints = len(stats), len(joint_labels)
    # pixels at or above half the maximum of a target's Gaussian: a disc of radius
    # sigma * sqrt(2 ln 2)
    target_area = np.pi * 2 * np.log(2) * sigma ** 2
    areas = {i: float(np.median(list(st["half_area"].values())))
             for i, st in enumerate(stats, 1) if st["half_area"]}
    peaks = [st["max"] for st in stats]
    text = ("What {numref}`fig-stages` shows, in numbers (the maps of the crop): the "
            "largest belief of any joint is "
            + ", ".join(f"{m:.2f}" for m in peaks) + f" in stages 1 to {n_stages} "
            "(a target's peak is 1), and "
            + ", ".join(str(len(st["visible"])) for st in stats)
            + f" of the {n_joints} joints' maps reach 0.05, below which a map hardly "
              "shows. ")
    if areas:
        text += ("Where a map shows, its blob covers a median of "
                 + ", ".join(f"{a:.0f} pixels in stage {i}" for i, a in areas.items())
                 + f" at half its maximum, against {target_area:.0f} for a target's "
                   f"Gaussian (sigma {sigma:g} px). ")
    last = stats[-1]
    if last["second"]:
        names = ", ".join(joint_labels[j] for j in last["second"])
        text += (f"In stage {n_stages}, {len(last['second'])} of the joints ({names}) "
                 "light a second peak at least half as high as their first, more than "
                 f"{separation:g} px from it: two candidates for one joint. ")
    else:
        text += (f"In stage {n_stages} no joint lights a second peak at least half as "
                 f"high as its first, more than {separation:g} px from it. ")
    rising = all(b > a for a, b in zip(peaks, peaks[1:]))
    first_area = next(iter(areas.values()), np.nan)
    last_area = areas.get(n_stages, np.nan)
    narrower = len(areas) >= 2 and last_area < 0.8 * first_area
    wider = len(areas) >= 2 and last_area > 1.25 * first_area
    did = ["raise the beliefs from stage to stage" if rising
           else "do not raise the beliefs steadily"]
    did.append("narrow the blobs" if narrower else
               "widen the blobs rather than sharpen them" if wider else
               "keep the blobs about as wide")
    if last["second"]:
        did.append(f"leave {len(last['second'])} joints with two candidates")
    refined = rising and narrower and not last["second"]
    return text + (f"So on this scene the later stages of the {robot} model "
                   + ", ".join(did[:-1]) + " and " + did[-1]
                   + ("; that is the refinement the paper's design aims at." if refined else
                      "; the refinement stage by stage that the paper's design aims at does "
                      "not show on this model's maps."))


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
            lines.append(f"seed {seed}: median error {inv['median_cm']:.0f} cm with "
                         f"the inverse code, {log['median_cm']:.0f} cm with the log "
                         f"code ({inv['steps']} steps each; far mean "
                         f"{inv['far_mean_cm']:.0f} against {log['far_mean_cm']:.0f} "
                         "cm)")
    wins = sum(1 for r in runs if r["kind"] == "log" and r["median_cm"] < next(
        (i["median_cm"] for i in runs if i["kind"] == "inverse" and i["seed"] == r["seed"]),
        np.inf))
    return ("On the toy scenes, " + "; ".join(lines) + ". "
            + ("The log code has the smaller median error with every seed"
               if wins == len(lines) else
               f"The log code has the smaller median error with {wins} of "
               f"{len(lines)} seeds")
            + ". Chapter 6 diagnoses the reference model itself: how far its "
              "far error is from what its targets allow.")


def describe_real_photo_errors(errors_px, depth_errors_cm, width: int, off: int,
                               wrong_joint: int, wrong_in, no_joint: int) -> str:
    """Chapter 2: Markdown reading the localization model on real photos (one robot, no
    mask; ``eval.real.evaluate_photos``).

    Args:
        errors_px: (photos, J) pixel errors in the photos' resolution (NaN: no peak).
        depth_errors_cm: (photos, J) |predicted - true| camera z, cm (NaN: no peak).
        width: the photos' width in pixels (5 % of it is "near the truth").
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
        f"Over all photos the median error is {median:.0f} px "
        f"({median / width:.0%} of the photo's width), "
        f"{int(np.isnan(errs).sum())} of {errs.size} joints have no peak, and "
        f"{near:.0%} of the found joints lie within 5 % of the width of the truth; "
        f"the median depth error is {np.nanmedian(depth_errors_cm):.0f} cm. "
        + ("Fewer than half of the found joints are near the truth"
           if near < 0.5 else "Most found joints are near the truth")
        + (f". Of the {off} found joints farther off, {wrong_joint} lie within 5 % "
           "of the width of another joint of the arm: the model found a joint of the "
           "robot, but not the one it names"
           + (f" (in {' and '.join(wrong_in)} above, red lines join such predictions "
              "to their true joints)" if wrong_in else "")
           + (f"; the other {off - wrong_joint} are farther than that from every "
              "joint" if off > wrong_joint else "")
           if off else "")
        + (f"; in {no_joint} of {errs.shape[0]} photos no joint is found at all"
           if no_joint else "")
        + ". This model already carries chapter 5's `sim2real` training, so this is "
          "the gap between rendered and real images that remains after it; chapter 5 "
          "measures that gap and what its training changed.")


def shown_count(fractions, rule: float) -> str:
    """Chapter 3: the robots a stopping rule counts from a scene's per-step active shares
    (``structures.count_by_rule``; ``rule`` a fraction), as a table cell: "3", or "≥ 5
    (never stopped)" when every step run counted (the rule never fired)."""
    from .structures import count_by_rule

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


def describe_toy_steps(steps: int, seconds: float, quick: bool) -> str:
    """Chapter 3: the caption-like reading of the toy model's steps (Fig. 3.5), after
    ``steps`` training steps that took ``seconds``; ``quick``: a quick build's short run."""
    return ("Each row of {numref}`fig-toy-steps` is one held-out scene; the columns after "
            f"the first are the model's steps, after {steps:,} training steps "
            f"({seconds:.0f} s)"
            + (" only: quick mode, so the masks are rough" if quick else "")
            + ". The step purity measured on the toy scenes further below says how often a "
              "step emits exactly one disc.")


def describe_step_counts(labels, fractions, paper_rule: float, our_rule: float) -> str:
    """Chapter 3: Markdown table of what each stopping rule counts in the scenes of Fig. 3.7.

    Args:
        labels: per scene its row label ("2 robots").
        fractions: per scene the active share of each step run (T,), all scenes the same T.
        paper_rule, our_rule: the two rules' fractions (the paper's 5 %, ours).
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
        text += ("Most of what the masks light up is background: blobs on the photo around "
                 "and between the robots, not robot outlines. Where a step covers two robots, "
                 "it covers that background with them: it is not the union of two robot "
                 "shapes.")
    else:
        text += "Most of what the masks light up lies on the robots."
    return text


def describe_step_purity(purity: dict, scenes: int, activation: dict | None = None) -> str:
    """Chapter 3: Markdown reading ``eval.instances.step_purity`` on ``scenes`` test scenes
    with two or more robots (does each step cover one robot?), with, when given, where those
    steps light up (``eval.instances.activation_on_robots`` of the same steps), so that a
    step that "covers two robots" is not read as a union of robot shapes when it lights up
    the background around them."""
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
    return text + ("Most steps emit one robot, as the paper intends."
                   if purity["single"] > 0.5 else
                   "Most steps do **not** emit one robot: the model has not learnt the "
                   "instance separation the paper describes, and its counts below come from "
                   "masks fading step by step, not from one robot per step.")


def describe_canvas(rows: list[dict], steps: int, quick: bool) -> str:
    """Chapter 3: the toy model without and with canvas feedback (``rows``: the two rows of
    the chapter's table, "count right (2 %)" and "steps with one disc" shares), trained
    ``steps`` steps from the same seed; a change of the counting accuracy within 2 points
    reads as unchanged."""
    without, with_canvas = rows
    gain = with_canvas["count right (2 %)"] - without["count right (2 %)"]
    return (f"After {steps} toy training steps from the same seed, the canvas "
            + (f"raises the counting accuracy by {gain:.0%} points" if gain > 0.02 else
               f"lowers the counting accuracy by {-gain:.0%} points" if gain < -0.02
               else "leaves the counting accuracy unchanged")
            + ", and the share of one-disc steps goes from "
              f"{without['steps with one disc']:.0%} to "
              f"{with_canvas['steps with one disc']:.0%}"
            + (" (quick mode: a short run, so this comparison is noisy)." if quick else ".")
            + " The reference models were trained without the canvas; retraining them with it "
              "is an open step.")


def describe_coco_ap(box: dict[str, float], mask: dict[str, float], ours: str,
                     trained: bool = True) -> str:
    """Chapter 3: COCO's headline AP (IoU 0.50:0.95) of boxes and masks with our stopping
    rule (label ``ours``, e.g. "0.2%") and the paper's 5 % rule (``box``/``mask``: rule
    label -> AP, with keys ``ours`` and "5 %"); ``trained`` False adds that the model is an
    untrained stand-in."""
    return (f"COCO AP (IoU 0.50:0.95) with our {ours} rule: boxes "
            f"{box[ours]:.3f}, masks {mask[ours]:.3f}; with the "
            f"paper's 5 % rule {box['5 %']:.3f} and {mask['5 %']:.3f}. The "
            "paper's own AP values are in its Fig. 7b only, so the introduction's scorecard "
            "cannot compare them."
            + ("" if trained else " (An UNTRAINED stand-in model: these numbers mean nothing.)"))


def describe_counting(total: dict, singles: dict | None, ours: str) -> str:
    """Chapter 3: counting accuracy in words, from the chapter's counting table (``total``:
    its "all" row, ``singles``: its one-robot row or None; columns "right (LABEL)" and
    "mean count (LABEL)" for the rule labels ``ours`` and "5 %", and "scenes")."""
    return (f"With the {ours} rule the count is right in {total[f'right ({ours})']:.0%} of "
            f"the {total['scenes']} test scenes (the paper's 5 % rule: "
            f"{total['right (5 %)']:.0%})"
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
    agree = all(format(a, f) == format(b, f) for _, a, b, f in pairs)
    if not same_rule:
        verdict = "with another stopping rule than this chapter's, so they differ"
    elif not same_scenes:
        verdict = (f"on more scenes than this chapter's {scenes}, so they "
                   "differ by which scenes are counted")
    elif agree:
        verdict = "the same as this chapter's"
    else:
        verdict = ("on the same scenes with the same rule, yet not this chapter's: "
                   "the record needs measuring again")
    return ("The introduction's scorecard quotes the model's recorded evaluation (its "
            f"`eval.json`, as in chapter 2): the first {card_all['images']} test scenes, "
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
        f"thread{'s' if threads != 1 else ''} (medians damp other processes' load); timed "
        "are the localization network's forward pass and the instance model's context "
        "module plus k + 1 ConvGRU and refine steps:\n\n"
        + markdown_table(rows, formats={c: ".1f" for c in rows[0] if "ms" in c})
        + f"\n\nA least-squares line over 1 to {last['robots']} robots gives "
          f"about {intercept:.0f} ms plus {slope:.1f} ms per robot for the instance "
          f"model, against {first['localization ms']:.0f} ms for the "
          "localization network: "
        + (f"each robot adds {slope / first['localization ms']:.0%} of a "
           "localization pass."
           if slope > 0 else
           "the noise of a shared machine hides the per-robot cost at this size.")
        + f" The {slope:.1f} ms is the cost of one more robot (the line's slope). The "
          "column \"instance ms / robots\" is the instance time divided by the robot "
          "count, so it also carries a share of the fixed part (the context module and "
          "the end-of-sequence step): "
          f"{first['instance ms / robots']:.1f} ms with "
          f"{first['robots']} robot{'s' * (first['robots'] != 1)}, "
          f"{last['instance ms / robots']:.1f} ms with {last['robots']}."
        + (" (Quick mode: few rounds on a shared machine, so these timings are noisy.)"
           if quick else "")
        + " Chapters 4 and 6 time under other conditions, so their milliseconds differ "
          "from these: chapter 4's Table II times one ConvGRU step alone with one torch "
          "thread, as means; chapter 6 reads the times its one-pass study measured "
          "once, on that run's machine and with its thread setting. Compare times "
          "within one table.")


def describe_log_noise(noise: dict[str, float], noise_last: dict[str, float]) -> str:
    """Chapter 3: the relative noise of the instance and the localization runs' logged loss
    (``viz.training.relative_noise``), over their whole training (``noise``) and over its
    last phase (``noise_last``; keys "instances" and "localization"): which is noisier,
    and whether the last phase tells the same."""
    louder = noise["instances"] > noise["localization"]
    louder_last = noise_last["instances"] > noise_last["localization"]
    return (f"Over all their phases, the instance run's relative noise is "
            f"{noise['instances']:.2f} against the localization run's "
            f"{noise['localization']:.2f}: "
            + ("the matching loss is the noisier of the two" if louder else
               "the localization run is the noisier one, so these two logs alone do not "
               "show the instance model as the harder one to train")
            + f". In their last phases alone the two are {noise_last['instances']:.2f} "
              f"and {noise_last['localization']:.2f}"
            + (": equal at two decimals." if f"{noise_last['instances']:.2f}"
               == f"{noise_last['localization']:.2f}" else
               ", in the same order." if louder == louder_last else
               ", in the other order: the verdict depends on the phase of the run.")
            + " The localization run's loss itself changes between phases (chapter 2 "
              "says what each phase changed), so its drops between fifths mix progress "
              "with those changes. The seed sweep below looks at training across runs.")


def describe_unstopped_runs(rows: list[dict]) -> str:
    """Chapter 3: the runs trained with the paper's end-of-sequence weight 1 (``rows``: per
    robot "robot" and "mean count, 1 robot"): whether they stopped, from the worst one's
    mean count where the scene holds one robot. Raises ValueError for no rows."""
    if not rows:
        raise ValueError("rows: no run with the paper's end-of-sequence weight")
    worst = max(rows, key=lambda r: r.get("mean count, 1 robot", 0))
    count = worst.get("mean count, 1 robot", float("nan"))
    return (("They did not stop" if count > 1.5 else "They mostly stopped")
            + f": where there was one robot, the {worst['robot']} model counted "
              f"{count:.1f} on average.")


def describe_eos_errors(first_end: float, p1_end: float, p2_start: float, p2_end: float,
                        our_rule: float, ours_count: float | None,
                        weight1_count: float | None) -> str:
    """Chapter 3: Markdown reading the end-of-sequence error (eq. 6's second term) of the
    instance runs (Fig. 3.11).

    Args:
        first_end: where the run with the paper's weight 1 ends (the mean over its last
            tenth of logged steps, ``viz.training.tenth_mean``); ``p1_end``: where the
            shipped model's first phase of training ends; ``p2_start``, ``p2_end``: where
            its second phase (continuing the first with the heavier weight) starts and ends.
        our_rule: our stopping rule's active fraction; ``ours_count``: the shipped model's
            mean count where the scene holds one robot (the chapter's counting table), or
            None; ``weight1_count``: the weight-1 run's, or None.

    Returns:
        whether the heavier weight lowered the error and whether it stayed down in phase 2,
        what leftover mask the error amounts to, and which of a leftover mask or a faint
        haze the counts point to.
    """
    ours = f"{our_rule:.1%}"
    return (
        "Averaged over the last tenth of each run's logged steps, the end-of-sequence "
        f"error ends at {first_end:.4f} with weight 1, {p1_end:.4f} after the "
        f"shipped model's phase 1 and {p2_end:.4f} after its phase 2"
        + (f": the heavier weight lowered it by {1 - p1_end / first_end:.0%}"
           if p1_end < first_end else ": the heavier weight did not lower it")
        + (f". It did not stay down: phase 2 began at {p2_start:.4f} (its first "
           "tenth) and climbed back"
           + (" above where phase 1 ended" if p2_end > p1_end else "")
           if p2_end > 1.1 * p2_start else
           f". Phase 2 kept it down (its first tenth: {p2_start:.4f})")
        + f". An error of {p2_end:.4f} is what a leftover mask fully activated on "
          f"{p2_end:.2%} of the image would leave"
        + (f", {p2_end / our_rule:.0f} times the share our {ours} stopping "
           "rule lets through" if p2_end >= 1.5 * our_rule else "")
        + "; a faint haze below the activation threshold of 0.5 could leave the same "
          "error without counting"
        + (". The counting table above tells which: where there is one robot the "
           f"shipped model counts {ours_count:.1f} on average, so "
           + ("its steps after the robot often stay above the rule" if ours_count > 1.5
              else "it mostly stops after the robot and the error is mostly haze")
           + (f" (the weight-1 run: {weight1_count:.1f}, on other background photos)"
              if weight1_count else "")
           if ours_count is not None else "")
        + ".")


# the toy sweep's columns: name in the text, how a value and a difference are shown, and
# the step of the shown numbers (differences are compared as shown)
SWEEP_COLUMNS = {"count right": ("counting accuracy", lambda x: f"{x:.0%}",
                                 lambda x: f"{100 * x:.0f} points", 0.01),
                 "final cost per disc": ("final cost per disc", lambda x: f"{x:.3f}",
                                         lambda x: f"{x:.3f}", 0.001)}


def _column(rows: list[dict], name: str) -> np.ndarray:
    return np.array([r[name] for r in rows])


def seed_effect(same: list[dict], rows: list[dict], what: str) -> str:
    """Chapter 3: whether a change of setting (``what``, e.g. "the end-of-sequence weight of
    20"; its runs ``rows``) moves each column of ``SWEEP_COLUMNS`` (``toy.toy_sweep`` rows)
    by more than the seeds of the default setting (``same``) spread on it (highest minus
    lowest), both compared as shown: "<what> raises the counting accuracy from 50% to 60%
    (10 points, more than the seeds' spread: an effect) and ..."."""
    parts = []
    for c, (name, show, gap, step) in SWEEP_COLUMNS.items():
        floor = round(float(np.ptp(_column(same, c))) / step)
        before, after = _column(same, c).mean(), _column(rows, c).mean()
        change = after - before
        parts.append(
            f"{'raises' if change > 0 else 'lowers'} the {name} from {show(before)} "
            f"to {show(after)} ({gap(abs(change))}, "
            + ("more than the seeds' spread: an effect)"
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
        f"between {show(_column(same, c).min())} and {show(_column(same, c).max())} in "
        f"{name} ({gap(np.ptp(_column(same, c)))} apart)"
        for c, (name, show, gap, _) in SWEEP_COLUMNS.items())
    return (f"With the same settings, the {len(same)} seeds end {seed_text}: the seed "
            "alone moves a short run's end point that much. Against that spread, "
            + seed_effect(same, faster, "the three times larger learning rate")
            + ", and " + seed_effect(same, heavier, "the end-of-sequence weight of 20") + "."
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
            + (": they stop too early, the trade-off the weight controls, as the Panda "
               "instance model did after its first phase of training"
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
                 + (f" (mostly by lighting up the background: "
                    f"{activation['on_robot']:.0%} of what they activate lies on a robot)"
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
        "plus an end-of-sequence term that teaches it when to stop"
        + ("; with the paper's weight of 1 the model did not stop." if unstopped else "."),
        "* The paper's 5 % stopping rule assumes robots that fill a good part of the "
        f"image; in our test scenes the median robot covers {100 * median_area:.1f} % "
        f"of the image, so we also evaluate with {ours}.",
        f"* The instance model's cost grows by about {slope_ms:.1f} ms per robot here; the "
        "logs and the seed sweep put numbers on how tricky it is to train.",
    ])


# ---------------------------------------------------------------- the introduction
def chosen_scene_rule(errors, chosen_error: float, min_robots: int, size: tuple[int, int],
                      missing_px: float, models: str, max_robots: int | None = None) -> str:
    """The sentence that states how a shown scene was chosen (``showcase.median_test_scene``,
    ``showcase.median_localization_scene``): ``errors`` the candidates' mean 2D joint
    errors (px at ``size``), ``chosen_error`` the shown scene's, ``models`` what predicted
    them (e.g. "the shipped Panda networks"), the candidates holding ``min_robots`` to
    ``max_robots`` robots (None: no upper bound)."""
    e = np.asarray(errors, dtype=float)
    e = e[np.isfinite(e)]
    better = int((e < chosen_error).sum())
    worse = int((e > chosen_error).sum())
    plural = "s" * (min_robots != 1)
    robots = (f"at least {min_robots} robot{plural}" if max_robots is None else
              f"exactly {min_robots} robot{plural}" if max_robots == min_robots else
              f"{min_robots} to {max_robots} robots")
    return (f"The scene is chosen by a rule, not by eye: of the first {len(e)} scenes of the fixed synthetic "
            f"test set with {robots}, the one of median error under {models} (mean 2D "
            f"joint error {chosen_error:.1f} px at {size[0]}x{size[1]}, a joint not found counting as "
            f"{missing_px:.0f} px; the {len(e)} scenes range from {e.min():.1f} to {e.max():.1f} px, "
            f"{better} went better and {worse} worse).")


def scorecard_summary(rows: list[ScoreRow], onepass: list[dict]) -> str:
    """The sentences under the scorecard: how many claims got which verdict and which, and
    what the one-pass model (not in the paper, not scored) counts. ``onepass``: per robot
    ``{"robot", "onepass": figures, "convgru": figures, "sources": [file, ...]}`` with
    figures holding ``counting_accuracy`` (share) and ``n`` (test scenes)."""
    from .scorecard import NOT_YET, PARTLY, REPRODUCED

    verdicts = (REPRODUCED, PARTLY, NOT_YET)
    scored = [r for r in rows if r.verdict in verdicts]
    counts = {v: sum(r.verdict == v for r in scored) for v in verdicts}
    text = f"Of the {len(scored)} claims with a verdict: " + ", ".join(f"{counts[v]} {v}" for v in verdicts) + "."
    for v in verdicts:
        claims = [r.short for r in scored if r.verdict == v]
        if claims:
            text += f" {v.capitalize()}: " + ", ".join(claims) + "."
    if counts[NOT_YET]:
        text += (" The shipped models are CPU miniatures (next section), where the paper trained for 30 epochs "
                 "on a GPU; the chapters show where each gap comes from, and chapter 6 what we tried against it.")
    if onepass:
        parts = [f"{o['onepass']['counting_accuracy']:.0%} of {o['onepass']['n']} {o['robot']} test scenes against "
                 f"the recurrent model's {o['convgru']['counting_accuracy']:.0%} of {o['convgru']['n']}"
                 for o in onepass]
        sources = list(dict.fromkeys(src for o in onepass for src in o["sources"]))
        text += ("\n\nBeyond the paper, our one-pass instance model ([chapter 6](06_beyond_the_paper.ipynb)) "
                 "counts the robots right in " + ", and in ".join(parts) + " (read from "
                 + ", ".join(f"`{s}`" for s in sources) + "). It is not scored: the paper has no such model.")
    return text


# ------------------------------------------------------------ chapter 5 (real photos)
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
            "continued from those weights. The hours are those of `sim2real` training alone, as in the run names "
            "(none for the first row).")


# ------------------------------------------------- chapter 5: the mesh Panda model
REAL_COLUMNS = (("auc", "all", "keypoint AUC, all"), ("auc", "moving", "AUC, moving"),
                ("pck@10", "all", "PCK@10, all"), ("found", "all", "found, all"),
                ("median_px", "all", "median error of found [px]"), ("median_3d_cm", "all", "median 3D [cm]"),
                ("add_auc", "all", "ADD AUC"))


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
                       other_name: str = "") -> str:
    """Chapter 5's paragraph under the real-photo table. ``model``, ``baseline`` and
    ``other`` (a second model, named ``other_name``; optional): ``eval.real`` figures with
    "all" and "moving". Names the keypoint AUCs against the mean-pose baseline (which
    headline figures beat it, :func:`beats_baseline`; below it, the share of the
    baseline's AUC it reaches), the keypoints found and their median error, the depth
    error against the mean pose's (and why the mean pose is hard to beat there), the other
    model, and the share of the published reference's AUC (``reference``: "auc", "what")."""
    m, b, mm, bm = model["all"], baseline["all"], model["moving"], baseline["moving"]
    text = (f"On all seven joints the model reaches a keypoint AUC of **{m['auc']:.2f}**, on the five moving joints "
            f"**{mm['auc']:.2f}**, against the mean pose's {b['auc']:.2f} and {bm['auc']:.2f}: on all joints it "
            f"{beats_baseline(m, b)}")
    if m["auc"] < b["auc"]:
        text += (f"; its AUC is {m['auc'] / b['auc']:.0%} of the baseline's, so on these photos it does not yet see "
                 "the arm better than a guess of its average pose")
    text += (f". It finds {m['found']:.0%} of the keypoints, and the median error of those it finds is "
             f"{m['median_px']:.0f} px. Its median depth error is {m['median_depth_cm']:.0f} cm against the mean "
             f"pose's {b['median_depth_cm']:.0f} cm"
             + (": the mean pose sits at the photos' average distance, so only depth that errs less than the "
                "photos' spread around it beats it." if m["median_depth_cm"] > b["median_depth_cm"] else "."))
    if other is not None:
        o, om = other["all"], other["moving"]

        def against(ours: float, theirs: float) -> str:
            return "the same as" if abs(ours - theirs) < 0.01 else "above" if ours > theirs else "below"

        text += (f" The {other_name} reaches {o['auc']:.2f} on all joints and {om['auc']:.2f} on the moving ones, "
                 f"finding {o['found']:.0%} of the keypoints: on these photos the model's AUC is "
                 f"{against(m['auc'], o['auc'])} the {other_name}'s on all joints (within 0.01 counts as the "
                 f"same) and {against(mm['auc'], om['auc'])} it on the moving ones.")
    if reference is not None and reference.get("auc"):
        text += (f" For scale, DREAM's published keypoint AUC of about {reference['auc']:.2f} ({reference['what']}) "
                 f"is {reference['auc'] / max(m['auc'], 1e-9):.0f} times ours." if m["auc"] > 0 else
                 f" For scale, DREAM publishes a keypoint AUC of about {reference['auc']:.2f} ({reference['what']}).")
    return text


# the rungs of the twin ladder (twin.LADDER): what each adds to the one above it
LADDER_RUNGS = {"mesh_twin": ("the arm's twin rendered from its meshes at the photo's camera and joint angles, on a "
                              "synthetic background", "viewpoint and pose, in the model's own kind of image"),
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


LADDER_DROP = 0.05  # a rung that loses more keypoint AUC than this opens a gap


def describe_ladder(ladder: dict) -> str:
    """Which gaps the twin ladder shows open (``ladder``: rung -> figures, with
    "mesh_twin", "mesh_pasted", "photo" and "mean_pose"). Rules: the viewpoint and pose gap
    is open while the twin's all-joint AUC stays below the mean pose's; the background gap
    when the pasted twin loses more than ``LADDER_DROP`` of AUC, or finds at least 10
    points more keypoints without gaining ``LADDER_DROP`` of AUC (peaks on the real
    clutter); the appearance gap when the photo loses more than ``LADDER_DROP`` of AUC
    against the pasted twin. Names the largest drop."""
    twin, pasted, photo, base = (ladder[k]["all"] for k in ("mesh_twin", "mesh_pasted", "photo", "mean_pose"))
    open_gaps = []
    text = (f"On the rendered twin, its own kind of image, the model reaches a keypoint AUC of {twin['auc']:.2f} "
            f"and finds {twin['found']:.0%} of the keypoints")
    if twin["auc"] < base["auc"]:
        open_gaps.append("viewpoint and pose")
        text += (f": below the mean pose's {base['auc']:.2f} already, so these close, wide-angle views of the arm are "
                 "hard for it before anything real enters the image")
    text += "."
    found_more = pasted["found"] - twin["found"] >= 0.10 and pasted["auc"] - twin["auc"] < LADDER_DROP
    if twin["auc"] - pasted["auc"] > LADDER_DROP or found_more:
        open_gaps.append("background")
    if found_more:
        text += (f" Over the real background it finds more keypoints ({twin['found']:.0%} to {pasted['found']:.0%}) "
                 f"but not more right ones (AUC {twin['auc']:.2f} to {pasted['auc']:.2f}): the extra peaks land "
                 "away from their joints, on what the real background offers.")
    elif "background" in open_gaps:
        text += f" The real background costs {twin['auc'] - pasted['auc']:.2f} of AUC."
    else:
        text += f" The real background changes little (AUC {twin['auc']:.2f} to {pasted['auc']:.2f})."
    drops = {"the real background": twin["auc"] - pasted["auc"], "the real arm's look": pasted["auc"] - photo["auc"]}
    if drops["the real arm's look"] > LADDER_DROP:
        open_gaps.append("appearance")
    largest = max(drops, key=drops.get)
    if drops[largest] > LADDER_DROP:
        text += (f" The largest drop comes with {largest}: AUC "
                 + (f"{twin['auc']:.2f} to {pasted['auc']:.2f}." if largest == "the real background" else
                    f"{pasted['auc']:.2f} on the pasted twin to {photo['auc']:.2f} on the photo."))
    if open_gaps:
        count = {1: "One gap is", 2: "Two gaps are", 3: "All three gaps are"}[len(open_gaps)]
        text += f" {count} open: {_joint_list(open_gaps)}."
    else:
        text += " No rung loses the arm: the three gaps are closed."
    return text


def _joint_list(words) -> str:
    words = list(words)
    return (", ".join(words[:-1]) + " and " if len(words) > 1 else "") + words[-1] if words else ""


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
            parts.append(phrase.format(_joint_list(groups[outcome])))
    return _joint_list(parts)


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
        text = f"*{s['label'].capitalize()} photo* ({s['name']}): " + "; ".join(clauses) + "."
        causes = []
        off = {r: {w for w, x in zip(words, o[r]) if x == "off the arm"} for r in o}
        from_background = off.get("mesh_pasted", set()) - off.get("mesh_twin", set())
        if from_background:
            causes.append(f"the real background draws the {_joint_list(w for w in words if w in from_background)} "
                          "away from the arm: the rendered twin alone does not")
        right = {r: {w for w, x in zip(words, o[r]) if x == "right"} for r in o}
        lost = right.get("mesh_twin", set()) - right.get("photo", set())
        if lost and "photo" in o:
            causes.append(f"the {_joint_list(w for w in words if w in lost)}, right on the render, "
                          f"{'is' if len(lost) == 1 else 'are'} lost on the real arm")
        if len(right.get("mesh_twin", ())) < 2 and s["nearest_m"] < 0.5 * nearest_median_m:
            causes.append(f"even the render of this view defeats the model: its nearest joint is "
                          f"{s['nearest_m']:.2f} m from the camera, against a median of {nearest_median_m:.2f} m over "
                          "the photos, a close-up it did not learn")
        if causes:
            text += " What the rungs show: " + "; ".join(causes) + "."
        paragraphs.append(text)
    return "\n\n".join(paragraphs)


def describe_backbone_studies(rows: list[dict], shipped_steps: int | None = None) -> str:
    """Chapter 5's reading of the backbone and stride studies (``eval.panda_studies.
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
        parts.append(f"in the {study} study the shipped setting (the control) reaches {control['auc_all']:.3f}; "
                     + "; ".join(clauses))
        best_names.append(max(mine, key=lambda r: r["auc_all"]))
    if not parts:
        return ""
    steps = max(r["steps"] for r in rows)
    text = (f"After {steps:,} steps from the same weights with the same seeds, on the filmed validation set "
            "(keypoint AUC, all joints; the change against the control in brackets): " + "; ".join(parts) + ".")
    if all(b["control"] for b in best_names):
        text += " At this budget the backbone as shipped stays the best choice."
    else:
        text += (" At this budget the best is " + ", ".join(b["label"] for b in best_names if not b["control"])
                 + ".")
    if shipped_steps:
        text += (f" That budget is {steps / shipped_steps:.0%} of the shipped model's {shipped_steps:,} steps; "
                 "whether a fine-tuned backbone or stride 4 pays for its changed or new weights over a longer run "
                 "is not measured here.")
    return text


def describe_recipe_choice(comparison: dict) -> str:
    """The sentence on the recipe choice of a model record's "comparison" entry ("rule",
    "chosen", "arms": key -> {"recipe", "steps", "figures": {"model": {"all", "moving"}}}):
    which recipe the filmed validation set chose, at how many steps, with both arms'
    AUCs. Raises KeyError when the chosen arm is missing."""
    arms = comparison["arms"]
    chosen = arms[comparison["chosen"]]
    others = [a for k, a in arms.items() if k != comparison["chosen"]]

    def figs(a):
        m = a["figures"]["model"]
        return f"{m['all']['auc']:.3f} / {m['moving']['auc']:.3f}"

    return (f"At the same {chosen['steps']:,} steps from the same start, the filmed validation set chose the recipe "
            f"`{chosen['recipe']}` (keypoint AUC all / moving {figs(chosen)}) over "
            + ", ".join(f"`{a['recipe']}` ({figs(a)})" for a in others) + ".")


def verdict_box(rows: list[ScoreRow], chapter: str, without_claims: str = "") -> str:
    """The box a chapter opens with (MyST admonition): the scorecard's claims measured in
    ``chapter`` (the paper's figure, ours, the verdict) and, where a record measures it,
    the main cause of the difference (``ScoreRow.cause``, each cause once). A chapter
    without a scored claim shows ``without_claims`` instead.

    Raises:
        ValueError: no claim for ``chapter`` and no ``without_claims`` text."""
    mine = [r for r in rows if r.chapter == chapter]
    if not mine and not without_claims:
        raise ValueError(f"chapter {chapter}: no scored claim, and no text to show instead")
    body = without_claims
    if mine:
        body = markdown_table([{"the paper's claim": r.claim, "the paper": r.paper, "ours": r.ours,
                                "verdict": r.verdict} for r in mine])
        causes = list(dict.fromkeys(r.cause for r in mine if r.cause))
        if causes:
            body += "\n**Main cause of the difference**: " + "; and ".join(causes) + "."
    return f":::{{admonition}} This chapter's verdict\n:class: tip\n\n{body}\n:::\n"


# ---------------------------------------------------------- chapter 6 (beyond the paper)
def describe_real_study(runs: list[dict], baseline: dict | None = None) -> str:
    """Chapter 6's reading of the sim-to-real study on the dev photos (``runs``: the
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
    text = f"On all seven joints the best run, *{best['label']}*, reaches a keypoint AUC of {best['all']['auc']:.2f}"
    text += (f" against the mean-pose baseline's {baseline['auc']:.2f}: "
             + ("it beats the baseline." if best["all"]["auc"] > baseline["auc"] else
                f"{best['all']['auc'] / baseline['auc']:.0%} of it, so the model does not yet see the arm better "
                "than a guess of its average pose.")
             if baseline else ".")
    if shipped is not None and shipped is not best:
        text += (f" The model in the repository, *{shipped['label']}*, reaches {shipped['all']['auc']:.2f}: the "
                 "last checkpoint is not the best one on these photos.")
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
        same = min(timed, key=lambda r: abs(r["hours"] - tuned[0]["hours"]))
        frozen_wins = same["all"]["auc"] > tuned[0]["all"]["auc"]
        text += (f" After the same {tuned[0]['hours']:.2f} h, fine-tuning the backbone reached an all-joint "
                 f"keypoint AUC of {tuned[0]['all']['auc']:.3f} (keypoints found {tuned[0]['all']['found']:.0%}), "
                 f"the frozen backbone {same['all']['auc']:.3f} ({same['all']['found']:.0%})"
                 + (": on a CPU, the frozen backbone's faster steps were worth more than adapting the backbone."
                    if frozen_wins else ": adapting the backbone paid for its slower steps."))
    return text


def _span(values, fmt: str) -> str:
    """'x' when all values print alike, else 'lowest to highest'."""
    low, high = format(min(values), fmt), format(max(values), fmt)
    return low if low == high else f"{low} to {high}"


def _than(ratio: float) -> str:
    """A model's error against a baseline's, ``ratio`` = model / baseline, in words."""
    return "no better than" if ratio >= 1 else "barely better than" if ratio > 0.8 else "better than"


def describe_depth_study(rows: list[dict]) -> str:
    """Chapter 6's paragraphs on the depth study's checkpoint diagnoses (``rows``:
    ``cards.depth_study_rows``, the shipped checkpoint last): the far error against the
    targets' floor and the median-depth baseline (ratio >= 1 "no better than", above 0.8
    "barely better than"), the slope of predicted against true joint depth (below 0.9:
    squeezed towards the middle), and how much of the last checkpoint's joint error an
    oracle scale per robot removes (more than half: "each robot's distance"). Raises
    ValueError for no rows."""
    if not rows:
        raise ValueError("rows: no checkpoint diagnoses")
    to_floor = [r["far mean"] / r["floor (all)"] for r in rows]
    to_base = [r["far mean"] / r["baseline far"] for r in rows]
    verdicts = {_than(x) for x in to_base}
    squeezed = [r["checkpoint"] for r in rows if r["slope"] < 0.9]
    shipped_row, shipped_ratio = rows[-1], to_base[-1]
    sentences = [
        f"Across the {len(rows)} checkpoints the far error is {_span(to_floor, '.0f')} times the target floor, so "
        f"the targets' resolution is not what limits it, and {_span(to_base, '.2f')} times the median-depth "
        "baseline's far error"
        + (f" ({verdicts.pop()} predicting one depth for every far joint, in every checkpoint)" if len(verdicts) == 1
           else f"; the shipped checkpoint, *{shipped_row['checkpoint']}*, is {_than(shipped_ratio)} predicting one "
           f"depth for every far joint ({shipped_ratio:.2f})")
        + f". Predicted against true joint depth the fit slope is {_span([r['slope'] for r in rows], '.2f')} (R² "
        f"{_span([r['R²'] for r in rows], '.2f')})"
        + (": every checkpoint squeezes its predictions towards the middle of the range." if len(squeezed) == len(rows)
           else "; below 0.9, predictions squeezed towards the middle of the range, in "
           + ", ".join(f"*{c}*" for c in squeezed) + "." if squeezed else ".")]
    scaled = [r for r in rows if np.isfinite(r["oracle scale"])]
    if scaled:
        last = scaled[-1]
        sentences.append(
            "Dividing each robot's joint depths by its own median ratio of predicted to true depth (an oracle that "
            f"knows each robot's distance) takes the mean joint error of *{last['checkpoint']}* from "
            f"{last['joints']:.1f} to {last['oracle scale']:.1f} cm: "
            + ("more than half of the error was each robot's distance, not the shape of the arm in depth."
               if last["oracle scale"] < 0.5 * last["joints"] else
               "each robot's distance is part of the error, not most of it."))
    return "\n\n".join(sentences)


def describe_onepass_comparison(figures: list[dict], recipes: dict, budgets: str = "") -> str:
    """Chapter 6's paragraphs under the table of one-pass against recurrent (ConvGRU)
    instance models (``figures``: ``scorecard.onepass_figures`` per robot): per robot,
    mask AP and counting accuracy and which model is better (and scene counts when they
    differ); what the robot-free column means; the hard-negatives column with each model's
    training recipe (``recipes``: (robot, "onepass"|"convgru") -> recipe,
    ``scorecard.training_recipe``); the one-pass decoding settings (:func:`decoding_text`)
    and stale figures. ``budgets`` (:func:`instance_training_budgets`: how differently the
    two were trained) follows the per-robot comparison."""
    sentences = []
    for f in figures:
        a, b = f["models"]["onepass"], f["models"].get("convgru")
        if b is None:
            continue
        ap, bp = a["mask_ap"], b["mask_ap"]
        ac, bc = a["counting_accuracy"], b["counting_accuracy"]
        sentences.append(
            f"*{f['robot']}*: the one-pass model's mask AP is {a['mask_ap']:.3f} against the recurrent model's "
            f"{b['mask_ap']:.3f}, and it counts right in {a['counting_accuracy']:.0%} of the scenes against "
            f"{b['counting_accuracy']:.0%}: it is "
            + ("better on both." if ap > bp and ac > bc else "worse on both." if ap < bp and ac < bc else
               "better on one and worse on the other.")
            + (f" The two were measured on different numbers of scenes ({a['n']} and {b['n']})."
               if a["n"] != b["n"] else ""))
    if budgets:  # beside the per-robot comparison: the two were trained differently
        sentences.append(budgets)
    free_n = {m["robot_free_n"] for f in figures for m in f["models"].values() if m.get("robot_free_n")}
    if free_n:
        sentences.append(
            "*Robot-free: none found* is the share of the " + "/".join(map(str, sorted(free_n)))
            + " robot-free test scenes in which the instance model alone (its masks, before the Predictor drops "
            "robots without joints) reports no robot; higher is better.")
    hard = [(f["robot"], key, m) for f in figures for key, m in f["models"].items()
            if np.isfinite(m.get("robot_free_hard", np.nan))]
    if hard:
        sentences.append(
            "With hard negatives (the same scenes with distractor objects and patches of other test photos pasted "
            "in) the models alone find nothing in "
            + "; ".join(f"{m['robot_free_hard']:.0%} ({robot}, {ONEPASS_NAMES[key]}, trained on the "
                        f"{recipes.get((robot, key)) or '?'} recipe)" for robot, key, m in hard)
            + ". The paper recipe has no objects but robots, while `sim2real` and `clutter` both add them, so this "
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
    sentences = []
    for robot, rows in runtimes.items():
        if not {"convgru_forced_ms", "onepass_forced_ms"} <= set(rows[0]):
            continue
        first, last = rows[0], rows[-1]
        sentences.append(
            f"*{robot}*: from {first['robots']} to {last['robots']} robots the recurrent model's instance stage grows "
            f"from {first['convgru_forced_ms']:.0f} to {last['convgru_forced_ms']:.0f} ms "
            f"({last['convgru_forced_ms'] / first['convgru_forced_ms']:.1f} times), the one-pass model's from "
            f"{first['onepass_forced_ms']:.0f} to {last['onepass_forced_ms']:.0f} ms "
            f"({last['onepass_forced_ms'] / first['onepass_forced_ms']:.1f} times), both forced to decode as many "
            "instances as there are robots (the red and orange curves).")
    if sentences:
        gap = max((abs(r["onepass_ms"] / r["onepass_forced_ms"] - 1) for rows in runtimes.values() for r in rows
                   if {"onepass_ms", "onepass_forced_ms"} <= set(r)), default=None)
        sentences.append(
            "Unforced, the recurrent model stops where its own end-of-sequence rule says (the green curve), so its "
            "time follows how many masks it emits rather than the robots in the scene"
            + (f"; the two one-pass curves stay within {gap:.0%} of each other." if gap is not None else "."))
    missing = [r for r in robots if r not in runtimes]
    if missing:
        sentences.append(f"No study file with runtime figures for {', '.join(missing)}, so no curve for it here.")
    return " ".join(sentences)


def describe_train_bench(bench: list[dict], config_name: str, quick: bool = False) -> str:
    """Chapter 6's table of one optimiser step per recipe variant (``bench.train.throughput``
    rows: "variant", "samples_per_s", "speedup" against fp32 eager, "input", "batch",
    "device", "threads"; the shipped recipe last) with the conditions before it and the
    shipped recipe's speed-up after it; a note when the CPU has no native bfloat16 (the
    third row says so) and, with ``quick``, that the rows are noisy."""
    H, W = bench[0]["input"]
    return (f"`{config_name}` configuration, batch {bench[0]['batch']}, input {H}x{W}, {bench[0]['device']}, "
            f"{bench[0]['threads']} torch thread:\n\n"
            + markdown_table(bench, columns=["variant", "samples_per_s", "speedup"],
                             formats={"samples_per_s": ".1f", "speedup": ".2f"},
                             headers={"samples_per_s": "samples/s", "speedup": "x fp32 eager"})
            + f"\n\nThe shipped recipe trains {bench[-1]['speedup']:.1f} times as many samples per second as plain "
              "fp32 here. "
            + ("On a CPU without native bfloat16 the mixed-precision step is not taken (its row says so). "
               if len(bench) > 2 and "not native" in bench[2]["variant"] else "")
            + ("Quick mode: a tiny network timed over two steps on a shared machine, so the rows are noisy; the "
               "reference runs' logs above are the better guide." if quick else ""))


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
               "the rest is the shape of the arm in depth, so train a larger network for longer on a GPU "
               "(`scripts/gpu_train.sh`)"))


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
    from .scorecard import NOT_YET, PARTLY

    groups: dict[str, list] = {}
    for r in rows:
        if r.verdict in (NOT_YET, PARTLY):
            key = next((k for k in next_steps if r.claim.startswith(k)), r.claim)
            groups.setdefault(key, []).append(r)
    if not groups:
        return "Every scored claim is reproduced by the shipped models."
    return "\n".join(_problem_bullet(k, g, next_steps.get(k)) for k, g in groups.items())


def instance_budgets(robots, folder=None) -> dict[str, dict[str, dict]]:
    """How each robot's two shipped instance models were trained, read from their records:
    {robot: {"onepass": {"steps", "scenes", "hours", "recipe"}, "convgru": {...}}} (steps,
    scenes = steps x batch and wall hours summed over what the weights descend from,
    :func:`cards.training_cost`; the recipe stored in the weights,
    :func:`scorecard.training_recipe`, "?" without weights). A robot missing either record
    is left out."""
    from .cards import training_cost
    from .scorecard import training_recipe

    out = {}
    for robot in robots:
        costs = {key: training_cost(f"{robot}_{task}_cpu", folder)
                 for key, task in (("onepass", "onepass"), ("convgru", "instances"))}
        if all(c.steps for c in costs.values()):
            out[robot] = {key: {"steps": c.steps, "scenes": c.scenes, "hours": c.hours,
                                "recipe": training_recipe(robot, key, folder) or "?"} for key, c in costs.items()}
    return out


def onepass_verdict(figures: list[dict], budgets: dict) -> str:
    """Chapter 6's opening box text (it scores no claim of the paper): per robot with both
    instance models in ``figures`` (``scorecard.onepass_figures``), how often each counts
    the robots right on the fixed synthetic test scenes, with both models' training budgets
    (``budgets``: :func:`instance_budgets`) in the same sentence; a stale record says so.
    Without a robot that has both, only that no claim is scored."""
    def budget(b: dict) -> str:
        return f"{b['steps']:,} steps ({b['scenes']:,} scenes, {b['hours']:.1f} h) on the {b['recipe']} recipe"

    parts = []
    for f in figures:
        models, b = f.get("models", {}), budgets.get(f["robot"])
        if not {"onepass", "convgru"} <= set(models) or b is None:
            continue
        o, c = models["onepass"], models["convgru"]
        stale = "; ".join(s for s in (o.get("stale"), c.get("stale")) if s)
        parts.append(f"on {o['n']} {f['robot']} test scenes our one-pass instance model counts the robots right in "
                     f"{o['counting_accuracy']:.0%}, trained for {budget(b['onepass'])}, the paper's recurrent "
                     f"model (our implementation) in {c['counting_accuracy']:.0%}, trained for {budget(b['convgru'])}"
                     + (f" (the record: {stale})" if stale else ""))
    if not parts:
        return ("This chapter scores no claim of the paper: it measures what the paper did not (no record of "
                "both instance models is here to summarise).")
    return ("This chapter scores no claim of the paper: it measures what the paper did not. Its main result: "
            + "; ".join(parts) + ". The two models differ in training budget and data as well as in design, so "
            "each comparison is of all three together.")
