"""The introduction and the scorecard: the rule a shown scene was chosen by
(:func:`chosen_scene_rule`, chapters 2 and 4 too), the scorecard's table
(:func:`scorecard_markdown`), its verdict rules (:func:`rules_text`) and summary
(:func:`scorecard_summary`), the one-pass decoding a figure was measured with
(:func:`decoding_text`), and the verdict box every chapter opens with (:func:`verdict_box`)."""
from __future__ import annotations

import re

import numpy as np

from ..scorecard import (PARTLY_WITHIN, REPRODUCED_WITHIN, SHARE_PARTLY, SHARE_REPRODUCED,
                         ScoreRow)
from .tables import markdown_table


def rules_text() -> str:
    """The verdict rules as a Markdown list, from scorecard's constants."""
    return ("The verdicts follow these rules:\n\n"
            f"* an error is *reproduced* within {REPRODUCED_WITHIN:g} times the paper's, *partly* within "
            f"{PARTLY_WITHIN:g} times;\n"
            f"* a share that should be 1 is *reproduced* from {SHARE_REPRODUCED:.0%}, *partly* from "
            f"{SHARE_PARTLY:.0%};\n"
            "* an ordering is *reproduced* when it holds for both peak finders;\n"
            "* on real photos the model must beat the mean-pose baseline's keypoint AUC on all joints and on the "
            "moving ones (*partly*: on one of the two);\n"
            "* where the paper prints no number in its text, the verdict says so.")


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
            f"test set with {robots}, the one of median ranking error under {models}. The ranking error is the mean "
            f"2D joint error at {size[0]}x{size[1]}, each joint's error capped at {missing_px:.0f} px and a joint "
            "not found counted as the cap, so that a miss never ranks better than a found joint; the cap only ranks "
            "the scenes and is not the radius that matches chains to robots. The shown scene's ranking error is "
            f"{chosen_error:.1f} px; the {len(e)} scenes range from {e.min():.1f} to {e.max():.1f} px, {better} went "
            f"better and {worse} worse.")


def describe_shown_outcome(report, method: str = "nms", match_px: float = 40.0) -> str:
    """What the networks got right on one shown scene, so that a reader judges the figure by
    numbers (``report``: ``eval.pose3d.score_scene``'s :class:`Report3D` of that scene, its
    robots matched within ``match_px`` at 480x640): the
    true robots that got a chain, the counted joints found and their mean 3D error, and
    whether that reads as a success (every robot matched, at least 80% of the joints found
    and a mean error under 10 cm) or not."""
    counted = report.counted
    errors = report.errors_cm[method][counted]
    found = np.isfinite(errors)
    matched, robots = int(report.matched[method].sum()), len(report.matched[method])
    mean = float(np.mean(errors[found])) if found.any() else float("nan")
    good = matched == robots and found.mean() >= 0.8 and mean < 10.0
    return (f"On this scene {matched} of the {robots} true robots get a chain (chapter 4's matching: its joints "
            f"within {match_px:.0f} px of theirs on average, measured at 480x640), "
            f"{int(found.sum())} of their {int(counted.sum())} joints in the frame are found"
            + (f", {mean:.0f} cm from their true 3D positions on average" if found.any() else "")
            + (": a success. " if good else
               ": the median scene is not a success, and the figure shows how far off it is. ")
            + "Chapter 4 measures the whole test set.")


def scorecard_summary(rows: list[ScoreRow], onepass: list[dict]) -> str:
    """The sentences under the scorecard: how many claims got which verdict and which, and
    what the one-pass model (not in the paper, not scored) counts. ``onepass``: per robot
    ``{"robot", "onepass": figures, "convgru": figures}`` and optionally ``"training":
    {"onepass": str, "convgru": str}`` (how each was trained, e.g. "8,200 steps on the `clutter`
    recipe"), with
    figures holding ``counting_accuracy`` (share) and ``n`` (test scenes)."""
    from ..scorecard import NOT_YET, PARTLY, REPRODUCED

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
                 "on a GPU; each chapter's verdict box says what its measurements tell of a gap's cause, or that "
                 "it is not found yet, and chapter 6 what we tried against them.")
    if onepass:
        def trained(o, key):  # how the model was trained, when the caller knows (its text may hold parentheses)
            return f", trained {o['training'][key]}," if o.get("training", {}).get(key) else ""

        parts = [f"{o['onepass']['counting_accuracy']:.0%} of {o['onepass']['n']} {o['robot']} test scenes"
                 f"{trained(o, 'onepass')} against the recurrent model's {o['convgru']['counting_accuracy']:.0%} of "
                 f"{o['convgru']['n']}{trained(o, 'convgru').rstrip(',')}" for o in onepass]
        text += ("\n\nBeyond the paper, our one-pass instance model ([chapter 6](06_beyond_the_paper.ipynb)) "
                 "counts the robots right in " + ", and in ".join(parts) + ". "
                 + (("Each comparison is" if len(onepass) > 1 else "The comparison is")
                    + " therefore of model, data and budget together"
                    if all(o.get("training") for o in onepass) else
                    "The two were trained with other recipes and budgets")
                 + ". It is not scored: the paper has no such model.")
    return text


# the terms a chapter's verdict box uses before the chapter explains them, glossed in one line
VERDICT_TERMS = {
    "2": ("*NMS* and *LoG*: two ways to find a joint's peak in its belief map (non-maximum suppression, the "
          "Laplacian of Gaussian). *Kinematic fit*: the arm's joint angles and base pose searched so that its "
          "joints project onto given 2D joints, which gives their depth from the arm's shape. *Floors*: the "
          "depth errors that such a fit, or a network predicting the true depth map, would still leave."),
    "3": ("*COCO AP*: average precision of the masks (or their boxes) as detections, averaged over overlap "
          "thresholds (IoU) from 0.50 to 0.95. *End-of-sequence mask*: the empty mask after which the "
          "recurrent model stops; our rule stops below an active share of the image. *One-pass model*: ours, "
          "not the paper's: it finds every robot's mask in one pass (chapter 6)."),
}


def verdict_box(rows: list[ScoreRow], chapter: str, without_claims: str = "") -> str:
    """The box a chapter opens with (MyST admonition): the scorecard's claims measured in
    ``chapter`` (the paper's figure, ours, the verdict), their unscored notes under the
    table (``ScoreRow.note``) and, where a record measures it,
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
        notes = [r.note for r in mine if r.note]
        if notes:
            body += "\n" + " ".join(notes) + "\n"
        causes = list(dict.fromkeys(r.cause for r in mine if r.cause))
        cause = "\n**What causes the difference**: " + "; and ".join(causes) + ".\n" if causes else ""
        terms = "\n" + VERDICT_TERMS[chapter] + "\n" if chapter in VERDICT_TERMS else ""
        # a box that names causes says where its terms are explained
        after = ("\n*A summary up front: the chapter's sections below explain its terms and measurements.*"
                 if causes else "")
        body += terms + cause + after  # the terms first: the cause uses them
    return f":::{{admonition}} This chapter's verdict\n:class: tip\n\n{point_here(body, chapter)}\n:::\n"


def point_here(text: str, chapter: str) -> str:
    """``text`` (the scorecard's sentences, which name chapters for the introduction) as
    read inside ``chapter`` itself: "chapter 2's" -> "this chapter's", "(chapter 2, " ->
    "(this chapter, "; other chapters stay named."""
    return re.sub(rf"\bchapter {re.escape(chapter)}\b(?![.\d])", "this chapter", text)
