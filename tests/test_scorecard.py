"""The scorecard's one-pass figures (robotpose_lib.scorecard.onepass_figures): read from a
robot's one-pass study file, or from the two models' eval.json without one; the NMS window is
named only when the file names it; a checkpoint that no longer matches is reported."""
import json

import numpy as np
import torch

from robotpose_lib import narration, scorecard
from robotpose_lib.book import onepass_robot_rows

def _figures(mask_ap50, mask_ap, box_ap50, box_ap, counting, n, **extra) -> dict:
    """What ``eval instances|onepass --json`` writes."""
    return {"mask_ap50": mask_ap50, "mask_ap": mask_ap, "box_ap50": box_ap50, "box_ap": box_ap,
            "counting_accuracy": counting["all"]["accuracy"], "counting": counting, "n": n, "seed": 12019,
            "step": 2800, "min_active_fraction": 0.002, "centre_threshold": None, "centre_nms": None, **extra}


ONEPASS = _figures(0.845, 0.423, 0.744, 0.448, {"1": {"images": 42, "accuracy": 0.952, "mean_predicted": 1.048},
                                                "all": {"images": 100, "accuracy": 0.86, "mean_predicted": 1.66}},
                   100, centre_threshold=0.3)
CONVGRU = _figures(0.293, 0.126, 0.182, 0.112, {"all": {"images": 60, "accuracy": 0.2, "mean_predicted": 4.167}},
                   60, step=800)


def _write_eval(folder, name, figures):
    (folder / name).mkdir(parents=True, exist_ok=True)
    (folder / name / "eval.json").write_text(json.dumps({"test": {"command": "robotpose eval ...",
                                                                  "figures": figures}}))
    (folder / name / "lineage.json").write_text(json.dumps({"name": name, "task": name.split("_")[-2],
                                                            "robot": "kuka_kr16", "parts": []}))


def _write_study(folder, study, robot="panda"):
    (folder / f"{robot}_onepass_cpu").mkdir(parents=True, exist_ok=True)
    (folder / f"{robot}_onepass_cpu" / "onepass_study.json").write_text(json.dumps(study))


def _study(**extra):
    summary = {"box_ap": 0.45, "mask_ap": 0.39, "mask_ap50": 0.70, "counting_accuracy": 0.7}
    return {"robot": "panda", "onepass_step": 2400, "centre_threshold": 0.25, **extra,
            "test": {"n": 100, "seed": 12019, "onepass": summary, "convgru": {**summary, "counting_accuracy": 0.37}},
            "robot_free": {"onepass": {"none_found": 0.9}}}


def test_figures_from_the_study_file_with_and_without_the_nms_window(tmp_path):
    _write_study(tmp_path, _study())
    f = scorecard.onepass_figures("panda", tmp_path)
    assert f["source"] == "panda_onepass_cpu/onepass_study.json" and f["centre_nms"] is None
    assert narration.decoding_text(f) == "centre threshold 0.25"
    one, rec = f["models"]["onepass"], f["models"]["convgru"]
    assert one["counting_accuracy"] == 0.7 and one["n"] == 100 and one["robot_free"] == 0.9
    assert np.isnan(rec["robot_free"]) and one["stale"] == ""
    _write_study(tmp_path, _study(centre_nms=5))
    f = scorecard.onepass_figures("panda", tmp_path)
    assert narration.decoding_text(f) == "centre threshold 0.25, NMS window 5x5"


def test_figures_from_the_records_without_a_study(tmp_path):
    assert scorecard.onepass_figures("kuka_kr16", tmp_path) is None
    _write_eval(tmp_path, "kuka_kr16_onepass_cpu", ONEPASS)
    _write_eval(tmp_path, "kuka_kr16_instances_cpu", CONVGRU)
    f = scorecard.onepass_figures("kuka_kr16", tmp_path)
    assert f["source"] == "kuka_kr16_onepass_cpu/eval.json" and narration.decoding_text(f) == "centre threshold 0.3"
    one, rec = f["models"]["onepass"], f["models"]["convgru"]
    assert (one["mask_ap"], one["mask_ap50"], one["box_ap"], one["counting_accuracy"], one["n"]) == \
        (0.423, 0.845, 0.448, 0.86, 100)
    assert (rec["mask_ap"], rec["counting_accuracy"], rec["n"], rec["source"]) == \
        (0.126, 0.2, 60, "kuka_kr16_instances_cpu/eval.json")
    _write_eval(tmp_path, "kuka_kr16_onepass_cpu", dict(ONEPASS, centre_threshold=0.35, centre_nms=5))
    f = scorecard.onepass_figures("kuka_kr16", tmp_path)
    assert (f["centre_threshold"], f["centre_nms"]) == (0.35, 5)
    rows = onepass_robot_rows([f])
    assert [(r["robot"], r["model"], r["test scenes"]) for r in rows] == \
        [("kuka_kr16", "one-pass", 100), ("kuka_kr16", "recurrent (ConvGRU)", 60)]
    assert np.isnan(rows[0]["robot-free: none found"])


def test_a_checkpoint_that_decodes_otherwise_is_reported(tmp_path, monkeypatch):
    _write_study(tmp_path, _study())
    (tmp_path / "panda_onepass_cpu" / "model.pt").write_bytes(b"")
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
    _write_study(tmp_path, _study())
    note = scorecard.onepass_counting_note(tmp_path)
    assert note.startswith("Beyond the paper (so not scored), our one-pass instance model")
    assert "70% of 100 test scenes (panda; its training budget not recorded)" in note
    # with records, how each instance model was trained stands beside its figure
    for name, recipe, steps in (("panda_onepass_cpu", "dream", 300), ("panda_instances_cpu", "paper", 200)):
        folder = tmp_path / name
        folder.mkdir(exist_ok=True)
        (folder / "lineage.json").write_text(json.dumps({
            "name": name, "task": name.split("_")[1], "robot": "panda", "recipe": recipe, "continue": "-",
            "parts": [{"started_from": "scratch", "command": "-", "recipe": recipe, "steps": steps,
                       "batch_size": 8, "wall_hours": 0.1, "machine": "-"}]}))
    note = scorecard.onepass_counting_note(tmp_path)
    assert ("70% of 100 test scenes (panda; trained 300 steps on `dream`, the recurrent model 200 steps on "
            "`paper`)") in note


def test_the_counting_claim_gives_the_true_mean_count_beside_the_predicted_one(tmp_path):
    # 40 scenes with 1 robot and 60 with 2 robots: the true mean count is 1.6
    counting = {"1": {"images": 40, "accuracy": 0.25, "mean_predicted": 3.0},
                "2": {"images": 60, "accuracy": 0.1, "mean_predicted": 5.0},
                "all": {"images": 100, "accuracy": 0.16, "mean_predicted": 4.2}}
    _write_eval(tmp_path, "kuka_kr16_instances_cpu", _figures(0.3, 0.1, 0.2, 0.1, counting, 100))
    row = next(r for r in scorecard._instance_rows(tmp_path) if r.short == "counting robots")
    assert "mean count 4.2, true 1.6" in row.ours and "16% of 100" in row.ours
    # both instance rows name the stopping rule they were measured with
    for row in scorecard._instance_rows(tmp_path):
        assert ("stopping below 0.2% of the image activated (mask above 0.5), a threshold that every robot of the "
                "validation scenes covers, not the paper's 5%") in row.ours


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
    _write_study(tmp_path, hard)
    assert onepass_robot_rows([scorecard.onepass_figures("panda", tmp_path)])[0][HARD_NEGATIVES_COLUMN] == 0.6


def test_the_counting_cause_names_steps_that_cover_several_robots():
    assert scorecard.separation_cause(None) == "" and scorecard.separation_cause({"scenes": 0}) == ""
    purity = {"single": 0.3, "union": 0.6, "none": 0.1, "scenes": 50}
    text = scorecard.separation_cause(purity)
    assert "only 30% of its steps emit exactly one robot on the 50 test scenes" in text and "60%" in text
    assert scorecard.separation_cause({**purity, "single": 0.7}) == ""


def test_depth_rows_name_the_depth_design_the_weights_have(tmp_path):
    """The scorecard's depth figures say where the model's depth design is not the paper's,
    read from the weights: the log code and the depth-context branch."""
    from robotpose_lib.checkpoint import save_checkpoint

    def weights(kind, context):
        path = tmp_path / f"{kind}_{context}.pt"
        save_checkpoint(path, {"task": "localization", "robot": "kuka_kr16", "step": 1,
                               "config": {"name": "cpu", "depth_context": context},
                               "model": {}, "extra": {"targets": {"depth": {"kind": kind}}}})
        return path

    assert scorecard._depth_design(weights("inverse", 0)) == ""
    assert scorecard._depth_design(weights("log", 4)) == (", with the log depth code and a depth-context branch "
                                                          "(not the paper's; chapter 2 explains both)")
    assert scorecard._depth_design(weights("inverse", 4)) == (", with a depth-context branch (not the paper's; "
                                                              "chapter 2 explains it)")
    assert scorecard._depth_design(tmp_path / "absent.pt") == ""
