"""The scorecard's one-pass figures (robotpose_lib.scorecard.onepass_figures): read from a
robot's one-pass study file, or from the two models' cards without one; the NMS window is
named only when the file names it; a checkpoint that no longer matches is reported."""
import json

import numpy as np
import pytest
import torch

from robotpose_lib import scorecard
from robotpose_lib.book import onepass_robot_rows

ONEPASS_CARD = """# kuka_kr16_onepass_cpu

- task: onepass, robot: kuka_kr16, config: `cpu`

## Evaluation on the fixed synthetic test set (`robotpose eval onepass --n 100`)

```
checkpoint x.pt: onepass, step 2800, 100 test scenes of kuka_kr16, seed 12019, min active fraction 0.002, {decoding}
average precision (COCO, IoU 0.50..0.95)
      IoU    box   mask
     0.50  0.744  0.845
0.50:0.95  0.448  0.423

counting accuracy by true robot count
true_count  images  accuracy  mean_predicted
         1      42     0.952           1.048
       all     100     0.860           1.660
```
"""

CONVGRU_CARD = """# kuka_kr16_instances_cpu

## Evaluation on the fixed synthetic test set

```
checkpoint y.pt: instances, step 800, 60 test scenes of kuka_kr16, seed 12019, min active fraction 0.002
average precision (COCO, IoU 0.50..0.95)
      IoU    box   mask
     0.50  0.182  0.293
0.50:0.95  0.112  0.126

counting accuracy by true robot count
true_count  images  accuracy  mean_predicted
       all      60     0.200           4.167
```
"""


def _study(**extra):
    summary = {"box_ap": 0.45, "mask_ap": 0.39, "mask_ap50": 0.70, "counting_accuracy": 0.7}
    return {"robot": "panda", "onepass_step": 2400, "centre_threshold": 0.25, **extra,
            "test": {"n": 100, "seed": 12019, "onepass": summary, "convgru": {**summary, "counting_accuracy": 0.37}},
            "robot_free": {"onepass": {"none_found": 0.9}}}


def test_figures_from_the_study_file_with_and_without_the_nms_window(tmp_path):
    (tmp_path / "panda_onepass_study.json").write_text(json.dumps(_study()))
    f = scorecard.onepass_figures("panda", tmp_path)
    assert f["source"] == "panda_onepass_study.json" and f["centre_nms"] is None
    assert scorecard.decoding_text(f) == "centre threshold 0.25"
    one, rec = f["models"]["onepass"], f["models"]["convgru"]
    assert one["counting_accuracy"] == 0.7 and one["n"] == 100 and one["robot_free"] == 0.9
    assert np.isnan(rec["robot_free"]) and one["stale"] == ""
    (tmp_path / "panda_onepass_study.json").write_text(json.dumps(_study(centre_nms=5)))
    f = scorecard.onepass_figures("panda", tmp_path)
    assert scorecard.decoding_text(f) == "centre threshold 0.25, NMS window 5x5"


def test_figures_from_the_cards_without_a_study(tmp_path):
    assert scorecard.onepass_figures("kuka_kr16", tmp_path) is None
    (tmp_path / "kuka_kr16_onepass_cpu.md").write_text(ONEPASS_CARD.format(decoding="centre threshold 0.3"))
    (tmp_path / "kuka_kr16_instances_cpu.md").write_text(CONVGRU_CARD)
    f = scorecard.onepass_figures("kuka_kr16", tmp_path)
    assert f["source"] == "kuka_kr16_onepass_cpu.md" and scorecard.decoding_text(f) == "centre threshold 0.3"
    one, rec = f["models"]["onepass"], f["models"]["convgru"]
    assert (one["mask_ap"], one["mask_ap50"], one["box_ap"], one["counting_accuracy"], one["n"]) == \
        (0.423, 0.845, 0.448, 0.86, 100)
    assert (rec["mask_ap"], rec["counting_accuracy"], rec["n"], rec["source"]) == \
        (0.126, 0.2, 60, "kuka_kr16_instances_cpu.md")
    (tmp_path / "kuka_kr16_onepass_cpu.md").write_text(
        ONEPASS_CARD.format(decoding="centre threshold 0.35, NMS window 5x5"))
    f = scorecard.onepass_figures("kuka_kr16", tmp_path)
    assert (f["centre_threshold"], f["centre_nms"]) == (0.35, 5)
    rows = onepass_robot_rows([f])
    assert [(r["robot"], r["model"], r["test scenes"]) for r in rows] == \
        [("kuka_kr16", "one-pass", 100), ("kuka_kr16", "recurrent (ConvGRU)", 60)]
    assert np.isnan(rows[0]["robot-free: none found"])


def test_a_checkpoint_that_decodes_otherwise_is_reported(tmp_path, monkeypatch):
    (tmp_path / "panda_onepass_study.json").write_text(json.dumps(_study()))
    (tmp_path / "panda_onepass_cpu.pt").write_bytes(b"")
    state = {"step": 2400, "model": {"instances.centre_threshold": torch.tensor(0.25),
                                     "instances.centre_nms": torch.tensor(3)}}
    monkeypatch.setattr(scorecard, "load_checkpoint", lambda path: state)
    assert scorecard.onepass_figures("panda", tmp_path)["models"]["onepass"]["stale"] == ""
    state["model"]["instances.centre_nms"] = torch.tensor(5)  # recalibrated after the study
    stale = scorecard.onepass_figures("panda", tmp_path)["models"]["onepass"]["stale"]
    assert "NMS window 3x3" in stale and "5x5" in stale
    state["step"] = 3000
    assert "step 3000" in scorecard.onepass_figures("panda", tmp_path)["models"]["onepass"]["stale"]


def test_the_counting_claim_names_the_one_pass_model(tmp_path):
    assert scorecard.onepass_counting_note(tmp_path) == ""
    (tmp_path / "panda_onepass_study.json").write_text(json.dumps(_study()))
    note = scorecard.onepass_counting_note(tmp_path)
    assert "one-pass" in note and "70% of 100 (panda)" in note


def test_the_counting_claim_gives_the_true_mean_count_beside_the_predicted_one(tmp_path):
    # 40 scenes with 1 robot and 60 with 2 robots: the true mean count is 1.6
    card = CONVGRU_CARD.replace("       all      60     0.200           4.167",
                                "         1      40     0.250           3.000\n"
                                "         2      60     0.100           5.000\n"
                                "       all     100     0.160           4.200")
    (tmp_path / "kuka_kr16_instances_cpu.md").write_text(card)
    row = next(r for r in scorecard._instance_rows(tmp_path) if r.short == "counting robots")
    assert "mean count 4.2, true 1.6" in row.ours and "16% of 100" in row.ours


def test_hard_negative_robot_free_figures_are_read_when_the_study_has_them(tmp_path):
    from robotpose_lib.book import HARD_NEGATIVES_COLUMN, onepass_study_rows

    plain = _study()
    assert np.isnan(scorecard.onepass_study_models(plain)["onepass"]["robot_free_hard"])
    hard = _study(robot_free_hard_negatives={"n": 40, "seed": 777, "onepass": {"none_found": 0.6},
                                             "convgru": {"none_found": 0.3}})
    models = scorecard.onepass_study_models(hard)
    assert (models["onepass"]["robot_free_hard"], models["convgru"]["robot_free_hard"]) == (0.6, 0.3)
    rows, _ = onepass_study_rows(hard)
    assert [r[HARD_NEGATIVES_COLUMN] for r in rows] == [0.6, 0.3]
    (tmp_path / "panda_onepass_study.json").write_text(json.dumps(hard))
    assert onepass_robot_rows([scorecard.onepass_figures("panda", tmp_path)])[0][HARD_NEGATIVES_COLUMN] == 0.6


def test_training_recipe_reads_the_model_card(tmp_path):
    assert scorecard.training_recipe("panda", "onepass", tmp_path) == ""
    (tmp_path / "panda_onepass_cpu.md").write_text(
        "# panda_onepass_cpu\n\n- reproduce: `robotpose train onepass --recipe clutter`\n")
    (tmp_path / "panda_instances_cpu.md").write_text(
        "# panda_instances_cpu\n\n- reproduce: `robotpose train instances --steps 5`\n")
    assert scorecard.training_recipe("panda", "onepass", tmp_path) == "clutter"
    assert scorecard.training_recipe("panda", "convgru", tmp_path) == "paper"
    with pytest.raises(ValueError, match="onepass"):
        scorecard.training_recipe("panda", "instances", tmp_path)
    with pytest.raises(ValueError, match="robot"):
        scorecard.training_recipe("pandaa", "onepass", tmp_path)
