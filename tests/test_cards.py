"""The model folders' records read as data (robotpose_lib.cards), and the scorecard built
from them (robotpose_lib.scorecard)."""
import json

import numpy as np
import pytest
import torch

from robotpose_lib import cards, narration, scorecard
from robotpose_lib.checkpoint import save_checkpoint
from robotpose_lib.fileio import dumps_json
from robotpose_lib.eval.localization import LocalizationReport

def _report() -> LocalizationReport:
    rng = np.random.default_rng(0)
    errors = rng.uniform(1, 20, (10, 4))
    errors[:, :2] = 2.0   # the base: precise
    errors[:, 2:] = 15.0  # the tip: not
    errors[0, 1] = np.nan  # a miss
    depth_true = np.concatenate([rng.uniform(1, 4, 50), rng.uniform(6, 9, 50)])
    return LocalizationReport("kuka_kr16", ["base", "a1", "wrist", "tip"], (240, 320), 2.0,
                              {"nms": errors, "log": errors * 0.5}, np.ones((10, 4), bool),
                              np.where(depth_true < 5, 60.0, 100.0), depth_true, 10)


def _instance_figures() -> dict:
    """What ``eval instances --json`` writes (``eval.instances.summarize`` and the run's
    settings)."""
    return {"mask_ap50": 0.3, "mask_ap": 0.11, "box_ap50": 0.2, "box_ap": 0.12, "counting_accuracy": 0.2,
            "counting": {"1": {"images": 25, "accuracy": 0.16, "mean_predicted": 3.48},
                         "2": {"images": 35, "accuracy": 0.23, "mean_predicted": 5.0},
                         "all": {"images": 60, "accuracy": 0.2, "mean_predicted": 4.367}},
            "n": 60, "seed": 12019, "min_active_fraction": 0.01, "centre_threshold": None, "centre_nms": None}


def _write_reference(folder, name, task, step, eval_step, figures, runs=("part1", "part2"), recipe="paper"):
    """A model folder: model.pt at ``step``, lineage.json of ``runs``, eval.json of a test-set
    evaluation at ``eval_step``."""
    path = folder / name
    path.mkdir(parents=True, exist_ok=True)
    save_checkpoint(path / "model.pt", {"task": task, "robot": "kuka_kr16", "config": {"name": "cpu"},
                                        "step": step, "model": {"w": torch.zeros(1)},
                                        "settings": {"recipe": recipe}})
    parts = [{"run": r, "started_from": "scratch", "command": "robotpose train ...", "steps": 1000 + 100 * k,
              "batch_size": 8, "wall_hours": 0.5, "machine": "2-core CPU"} for k, r in enumerate(runs)]
    (path / "lineage.json").write_text(json.dumps({"name": name, "task": task, "robot": "kuka_kr16",
                                                   "recipe": recipe, "parts": parts, "continue": "-"}))
    test = json.loads(dumps_json(dict(figures, step=eval_step)))
    (path / "eval.json").write_text(json.dumps({"test": {"title": "test set", "command": "robotpose eval ...",
                                                         "figures": test}}))
    return path


def test_record_logs_and_lineage_cost(tmp_path):
    path = _write_reference(tmp_path, "kuka_kr16_instances_cpu", "instances", 800, 800, _instance_figures())
    rows = [{"step": s, "loss": 1.0, "samples_per_s": rate, "run": run}
            for run, rate in (("eos1", 2.0), ("part1", 5.0), ("part2", 7.0)) for s in (100, 200)]
    (path / "metrics.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    record = cards.read_record("kuka_kr16_instances_cpu", tmp_path)
    assert (record.task, record.robot) == ("instances", "kuka_kr16")
    assert record.figures("test")["box_ap"] == 0.12 and record.figures("real") is None
    assert list(record.logs()) == ["eos1", "part1", "part2"]
    assert [rows[0]["run"] for rows in record.part_logs()] == ["part1", "part2"]  # eos1 is no part
    cost = cards.training_cost("kuka_kr16_instances_cpu", tmp_path)
    assert [p["run"] for p in cost.parts] == ["part1", "part2"]
    assert cost.steps == 2100 and cost.scenes == 16800 and cost.hours == 1.0
    assert [p["samples_per_s"] for p in cost.parts] == [5.0, 7.0]
    assert cards.training_seconds([{"time": 0}, {"time": 100}, {"time": 5000}, {"time": 5050}]) == 150
    assert cards.read_record("missing", tmp_path) is None and not cards.training_cost("missing", tmp_path).parts
    assert cards.read_study("kuka_kr16_instances_cpu", "absent", tmp_path) is None
    (path / "bad_study.json").write_text("{")
    with pytest.raises(ValueError, match="bad_study.json: not valid JSON"):
        cards.read_study("kuka_kr16_instances_cpu", "bad", tmp_path)


def test_parts_without_run_labels_read_their_own_rows(tmp_path):
    """A log of resumed runs carries no labels (steps keep counting), a warm-started part's
    rows are labelled partN; each lineage part gets its own rows and rate, not the first's."""
    path = _write_reference(tmp_path, "panda_onepass_cpu", "onepass", 800, 800, _instance_figures())
    lineage = json.loads((path / "lineage.json").read_text())
    lineage["parts"] = [dict(p, steps=n) for p, n in zip(lineage["parts"] * 3, (100, 200, 50))]
    for p in lineage["parts"]:
        p.pop("run", None)
    (path / "lineage.json").write_text(json.dumps(lineage))
    rows = ([{"step": s, "loss": 1.0, "samples_per_s": 4.0} for s in (50, 100)]            # part 1
            + [{"step": s, "loss": 1.0, "samples_per_s": 8.0} for s in (150, 300)]         # part 2, resumed
            + [{"step": s, "loss": 1.0, "samples_per_s": 20.0, "run": "part3"} for s in (25, 50)])  # warm
    (path / "metrics.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    record = cards.read_record("panda_onepass_cpu", tmp_path)
    assert [[r["step"] for r in part] for part in record.part_rows()] == [[50, 100], [150, 300], [25, 50]]
    assert [p["samples_per_s"] for p in cards.training_cost("panda_onepass_cpu", tmp_path).parts] == [4.0, 8.0, 20.0]


def test_verdict_rules():
    assert scorecard.error_verdict(6.0, 5.81) == scorecard.REPRODUCED
    assert scorecard.error_verdict(11.0, 5.81) == scorecard.PARTLY
    assert scorecard.error_verdict(60.0, 5.81) == scorecard.NOT_YET
    assert scorecard.error_verdict(float("nan"), 5.81) == scorecard.NOT_MEASURED
    assert scorecard.share_verdict(0.95) == scorecard.REPRODUCED and scorecard.share_verdict(0.2) == scorecard.NOT_YET
    assert scorecard.order_verdict([True, False]) == scorecard.PARTLY
    assert scorecard.baseline_verdict(0.5, 0.4) == scorecard.REPRODUCED
    assert scorecard.baseline_verdict(0.1, 0.45) == scorecard.NOT_YET
    assert scorecard.baseline_verdict(0.23, 0.45) == scorecard.NOT_YET   # half the baseline's score does not count
    assert scorecard.baseline_verdict(0.23, 0.45, 0.25, 0.22) == scorecard.PARTLY   # beaten on the moving joints
    assert scorecard.baseline_verdict(0.5, 0.45, 0.25, 0.22) == scorecard.REPRODUCED
    assert "1.2 times" in narration.rules_text()


def test_scorecard_reads_records_and_flags_stale_ones(tmp_path):
    report = _report()
    loc = dict(report.figures(), n=10, seed=12019, recipe="paper")
    _write_reference(tmp_path, "kuka_kr16_localization_cpu", "localization", 1800, 1800, loc)
    _write_reference(tmp_path, "kuka_kr16_instances_cpu", "instances", 900, 800, _instance_figures())  # stale
    rows = scorecard.scorecard(tmp_path)
    by_claim = {r.claim.split(",")[0]: r for r in rows}
    near = rows[0]
    assert near.claim.startswith("Depth error near")
    assert near.verdict == scorecard.NOT_YET and "60.0 cm mean" in near.ours
    assert by_claim["Joints near the base found more precisely than the tip"].verdict == scorecard.REPRODUCED
    counted = by_claim["One mask per robot"]
    assert counted.verdict == scorecard.STALE and "weights hold step 900" in counted.ours
    real = rows[-1]
    assert real.verdict == scorecard.NOT_MEASURED  # no study file here
    table = narration.scorecard_markdown(rows, {"2": "02_localization.ipynb"})
    assert table.count("\n") == len(rows) + 2 and "[2](02_localization.ipynb)" in table
    assert scorecard.verdict_counts(rows)[scorecard.STALE] == 2


def test_differing_figures_names_what_changed():
    figures = json.loads(dumps_json(_report().figures()))
    other = json.loads(json.dumps(figures))
    assert cards.differing_figures(figures, other)[0] == []
    far = figures["table_i_cm"]["far"]["mean"]
    # a hundredth of a cm is within the relative tolerance for a far mean of tens of cm
    other["table_i_cm"]["far"]["mean"] = far + max(0.01, 4e-4 * far)
    assert cards.differing_figures(figures, other)[0] == []
    other["table_i_cm"]["far"]["mean"] = far + max(0.01, 6e-4 * far)
    diff, compared = cards.differing_figures(figures, other)
    assert [d[0] for d in diff] == [("depth", "far", "mean")] and compared > 20


def test_mean_count_reads_both_stored_forms_of_the_counting():
    from robotpose_lib.cards import mean_count

    # the model cards' eval.json keys the counting by the true count as text ...
    card = {"counting": {"0": {"mean_predicted": 0.8}, "1": {"images": 42, "mean_predicted": 2.75}}}
    # ... the earlier runs' evaluations in lineage.json list rows with a "true_count"
    lineage = {"counting": [{"true_count": 0, "mean_predicted": 0.3},
                            {"true_count": 1, "images": 25, "mean_predicted": 5.64}]}
    assert mean_count(card) == 2.75 and mean_count(lineage) == 5.64
    assert mean_count(card, 0) == 0.8 and mean_count(lineage, 0) == 0.3
    assert mean_count(card, 3) is None and mean_count(lineage, 3) is None
    assert mean_count(None) is None and mean_count({}) is None


def test_weight1_runs_read_each_robots_earlier_run(tmp_path):
    """The runs with the paper's end-of-sequence weight, from the shipped records; a robot
    without such a run (or without a record) gives no row."""
    rows = cards.weight1_runs()
    assert [r["robot"] for r in rows] == ["kuka_kr16", "panda_primitive"]
    assert all(r["mean count, 1 robot"] > 1.5 and 0 <= r["count right"] <= 1 for r in rows)  # they did not stop
    assert cards.weight1_runs(("panda",)) == [] and cards.weight1_runs(folder=tmp_path) == []
