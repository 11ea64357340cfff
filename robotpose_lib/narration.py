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
  colour, ``TAB10_NAMES``).
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
    problems = [f"{lost} of the {s.num_robots} true robots have no matching chain"
                ] if lost else []
    if len(poses) > s.num_robots:
        problems.append(f"{len(poses) - s.num_robots} chain(s) too many")
    if mixed:
        problems.append(f"{mixed} chain(s) take their joints from more than one robot")
    if few:
        problems.append(f"{few} chain(s) have only one or two joints")
    if problems:
        why = (["a mask lying on several robots gives a chain mixing them"]
               if mixed else [])
        why += (["a mask on a fragment of a robot gives a chain of few joints"]
                if few else [])
        text += ("\n\nSo this prediction is wrong: " + "; ".join(problems)
                 + ". Each chain is decoded inside one predicted mask, so it is only "
                 "as good as that mask" + (": " + "; ".join(why) if why else "")
                 + ". The masks come from chapter 3's instance model.")
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
    """A sentence saying how each robot's two shipped instance models were trained: steps
    summed over their parts (``lineage.json``, :func:`cards.training_cost`) and the
    recipe stored in their weights (:func:`scorecard.training_recipe`); "" when a record is
    missing. Chapter 6 puts it under the table that compares the two."""
    from .cards import training_cost
    from .scorecard import training_recipe

    parts = []
    for robot in robots:
        steps = {key: sum(p["steps"] for p in training_cost(f"{robot}_{task}_cpu", folder).parts)
                 for key, task in (("onepass", "onepass"), ("convgru", "instances"))}
        if not all(steps.values()):
            continue
        recipe = {key: training_recipe(robot, key, folder) or "?" for key in steps}
        parts.append(f"{robot}: {steps['onepass']:,} steps on the {recipe['onepass']} recipe for the one-pass "
                     f"model, {steps['convgru']:,} on the {recipe['convgru']} recipe for the recurrent one")
    if not parts:
        return ""
    return ("The two models were not trained alike (" + "; ".join(parts) + "), so every column of the table "
            "compares training budgets and data as well as models.")
