"""Each chapter's verdict box and the introduction's sentences (narration, scorecard causes):
written from records whose answers are known by construction."""
import json

import numpy as np
import pytest

from robotpose_lib import narration, scorecard
from robotpose_lib.scorecard import NOT_YET, PARTLY, REPRODUCED, ScoreRow


def _row(chapter, verdict, short, cause=""):
    return ScoreRow(f"claim {short}", "paper fig", f"ours {short}", verdict, chapter, short, cause)


def test_verdict_box_shows_its_chapters_claims_and_each_cause_once():
    rows = [_row("2", NOT_YET, "near", "the 2D joints"), _row("2", NOT_YET, "far", "the 2D joints"),
            _row("3", REPRODUCED, "count")]
    box = narration.verdict_box(rows, "2")
    assert box.startswith(":::{admonition}") and box.rstrip().endswith(":::")
    assert "ours near" in box and "ours far" in box and "ours count" not in box
    assert box.count("the 2D joints") == 1 and "What causes the difference" in box
    # a reproduced claim has no cause: no cause line
    assert "What causes the difference" not in narration.verdict_box(rows, "3")
    # an unscored note stands under the table, not in its cell (the introduction's table leaves it out)
    noted = [ScoreRow("claim", "paper fig", "ours", REPRODUCED, "3", "count", "", "Beyond the paper, a one-pass.")]
    box = narration.verdict_box(noted, "3")
    assert "| ours |" in box and "\nBeyond the paper, a one-pass.\n" in box
    assert "one-pass" not in narration.scorecard_markdown(noted)
    assert "nothing scored" in narration.verdict_box(rows, "1", without_claims="nothing scored")
    with pytest.raises(ValueError, match="chapter 1"):
        narration.verdict_box(rows, "1")
    # the scorecard's chapter names point here inside the chapter itself, elsewhere stay
    named = [_row("2", NOT_YET, "depth", "see chapter 2's floors table (chapter 2, the floors) and chapter 3's")]
    box = narration.verdict_box(named, "2")
    assert "see this chapter's floors table (this chapter, the floors) and chapter 3's" in box


def test_scorecard_summary_counts_the_verdicts():
    rows = [_row("2", NOT_YET, "near"), _row("2", REPRODUCED, "order"), _row("3", PARTLY, "count"),
            _row("3", scorecard.NO_PAPER_NUMBER, "unscored-claim")]
    text = narration.scorecard_summary(rows, [])
    assert text.startswith("Of the 3 claims with a verdict: 1 reproduced, 1 partly, 1 not yet.")
    assert "Not yet: near." in text and "unscored-claim" not in text and "one-pass" not in text
    onepass = [{"robot": "kuka_kr16", "onepass": {"counting_accuracy": 0.82, "n": 100},
                "convgru": {"counting_accuracy": 0.21, "n": 100}}]
    text = narration.scorecard_summary(rows, onepass)
    assert "82% of 100 kuka_kr16 test scenes against the recurrent model's 21% of 100" in text
    assert "The two were trained with other recipes and budgets. It is not scored" in text and ".json" not in text
    # how each was trained, when known, in the same sentence as the comparison
    onepass[0]["training"] = {"onepass": "8,200 steps on the `clutter` recipe",
                              "convgru": "2,000 steps on the `paper` recipe"}
    text = narration.scorecard_summary(rows, onepass)
    assert ("82% of 100 kuka_kr16 test scenes, trained 8,200 steps on the `clutter` recipe, against the recurrent "
            "model's 21% of 100, trained 2,000 steps on the `paper` recipe.") in text
    assert "The comparison is therefore of model, data and budget together" in text  # one robot: one comparison


def test_chosen_scene_rule_says_how_many_went_better_and_worse():
    text = narration.chosen_scene_rule([3.0, 9.0, 5.0, np.nan, 7.0], 5.0, 2, (240, 320), 40.0, "the networks")
    assert "first 4 scenes" in text and "1 went better and 2 worse" in text
    assert "from 3.0 to 9.0 px" in text and "error is 5.0 px" in text and "joint error at 240x320" in text


def test_twin_cause_names_the_rung_where_the_gap_opens(tmp_path):
    folder = tmp_path / scorecard.MESH_PANDA_MODEL
    folder.mkdir()
    (folder / "lineage.json").write_text(json.dumps({"name": folder.name, "task": "localization", "robot": "panda",
                                                     "recipe": "dream", "parts": [], "continue": "-"}))
    assert scorecard.twin_cause(tmp_path) == ""

    def ladder(twin, pasted, photo):
        return {k: {"all": {"auc": v}} for k, v in
                (("mesh_twin", twin), ("mesh_pasted", pasted), ("photo", photo))}

    def store(figures):  # eval.json as `robotpose eval twin --json` writes it
        (folder / "eval.json").write_text(json.dumps({"twin": {"title": "twin", "command": "-", "figures": figures}}))

    store(ladder(0.6, 0.55, 0.1))
    assert "the largest drop between rungs comes with the real arm's look" in scorecard.twin_cause(tmp_path)
    store(ladder(0.6, 0.3, 0.28))
    assert "the largest drop between rungs comes with the real background, AUC 0.60" in scorecard.twin_cause(tmp_path)
    store(ladder(0.33, 0.35, 0.32))   # the rules of chapter 5's reading: no drop above 0.05
    assert "No rung loses more than 0.05 of AUC" in scorecard.twin_cause(tmp_path)
    moving = {k: {"all": {"auc": a}, "moving": {"auc": m}} for k, a, m in
              (("mesh_twin", 0.33, 0.18), ("mesh_pasted", 0.35, 0.22), ("photo", 0.23, 0.21))}
    store(moving)
    assert "(all joints; on the moving joints 0.18, 0.22 and 0.21, the rendered twin the lowest rung)" \
        in scorecard.twin_cause(tmp_path)
    store({**ladder(0.1, 0.1, 0.3), "mean_pose": {"all": {"auc": 0.45}}})
    assert "The rendered twin already stays below the mean-pose baseline (0.10 against 0.45" in \
        scorecard.twin_cause(tmp_path)


def test_the_shipped_records_give_a_cause_for_every_claim_not_reproduced():
    rows = scorecard.scorecard()
    for r in rows:
        if r.verdict in (NOT_YET, PARTLY) and r.chapter in ("2", "3"):
            assert r.cause, r.claim


def test_the_real_photo_claim_scores_the_model_chapter_5_measures():
    """Scored on the mesh-trained Panda model's own record (chosen on synthetic validation
    scenes), with the primitive default named beside it; the figure is the record's."""
    from robotpose_lib.cards import read_record

    row = next(r for r in scorecard.scorecard() if r.chapter == "5")
    auc = read_record(scorecard.MESH_PANDA_MODEL).figures("real")["model"]["all"]["auc"]
    assert f"keypoint AUC {auc:.2f}" in row.ours and "meshes" in row.ours


def test_depth_cause_leads_with_its_state_one_sentence_each():
    text = scorecard.depth_cause()
    if not text:
        pytest.skip("no Table I study record in this checkout")
    assert text.startswith("not found yet. The paper's test conditions do not explain it as far as one short run "
                           "tells: the network, fine-tuned for ")
    assert ". Under those conditions, fitting" in text and ";" not in text.split(". ")[1]
