"""What the chapters share (robotpose_lib.book; their sentences: test_narration.py) and the
loader they use (tasks.load_reference: a reference model or an explicit stand-in): shipped
training logs, the progress table; and chapter 3's runtime per robot (bench.runtime)."""
import numpy as np
import pytest
import torch

from robotpose_lib import book, checkpoint
from robotpose_lib.bench.runtime import instance_timings
from robotpose_lib.models.instances import get_config as instance_config
from robotpose_lib.models.localization import get_config as localization_config
from robotpose_lib.tasks import InstanceTask, LocalizationTask

pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.py


def _stand_in():
    task = LocalizationTask("panda_primitive",
                            localization_config("quick", input_size=(48, 64), backbone_weights=None), 7)
    return task.build_model(), task


def test_load_reference_or_its_explicit_fallback(tmp_path, monkeypatch, capsys):
    from robotpose_lib.tasks import load_reference

    monkeypatch.setenv(checkpoint.MODELS_DIR_ENV, str(tmp_path))
    with pytest.raises(FileNotFoundError, match="no reference model panda_primitive_localization_cpu"):
        load_reference("panda_primitive")
    ref = load_reference("panda_primitive", device="cpu", fallback=_stand_in, fallback_source="a stand-in")
    assert not ref.trained and ref.source == "a stand-in" and not ref.model.training
    assert "no reference model panda_primitive_localization_cpu" in capsys.readouterr().out
    ref = load_reference("panda_primitive", "instances", device="cpu", fallback="untrained", untrained_config="quick")
    assert not ref.trained and ref.task.name == "instances" and "UNTRAINED 'quick'" in capsys.readouterr().out
    model, task = _stand_in()
    checkpoint.save_checkpoint(checkpoint.reference_path("panda_primitive"), {
        "task": task.name, "robot": "panda_primitive", "config": task.config_dict(), "step": 7,
        "model": model.state_dict(), "extra": task.extra()})
    ref = load_reference("panda_primitive", device="cpu", fallback=_stand_in)
    assert ref.trained and ref.checkpoint["step"] == 7 and "(7 training steps)" in ref.source
    assert ref.path == checkpoint.reference_path("panda_primitive")


def test_a_warm_started_model_names_the_model_it_came_from_and_its_steps(tmp_path):
    """Chapter 2 prints, beside a model's training steps, the shipped model it was
    warm-started from and that model's own steps (``cards.training_cost``); a model trained
    from scratch names none."""
    import json

    from robotpose_lib.cards import training_cost

    _lineage(tmp_path / "panda_primitive_localization_cpu", ("part1", "part2"))
    assert training_cost("panda_primitive_localization_cpu", tmp_path).warm_start is None
    _lineage(tmp_path / "source_model", ("part1", "part2", "part3"))
    record = json.loads((tmp_path / "panda_primitive_localization_cpu" / "lineage.json").read_text())
    record["parts"][0]["started_from"] = "assets/models/source_model/model.pt (then named old.pt)"
    (tmp_path / "panda_primitive_localization_cpu" / "lineage.json").write_text(json.dumps(record))
    start = training_cost("panda_primitive_localization_cpu", tmp_path).warm_start
    assert (start.name, start.steps) == ("source_model", 60)
    assert training_cost("panda_primitive_localization_cpu", tmp_path).steps == 40  # its own parts only


def _lineage(folder, runs=("part1",), robot="panda_primitive", task="localization"):
    import json

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "lineage.json").write_text(json.dumps({
        "name": folder.name, "task": task, "robot": robot, "recipe": "paper", "continue": "-",
        "parts": [{"run": r, "started_from": "scratch", "command": "-", "steps": 20, "batch_size": 8,
                   "wall_hours": 0.1, "machine": "-"} for r in runs]}))


def test_shipped_logs_are_found_by_run(tmp_path, monkeypatch):
    monkeypatch.setenv(checkpoint.MODELS_DIR_ENV, str(tmp_path))
    assert book.find_log("kuka_kr16", "instances", "eos1") is None  # no model folder
    folder = checkpoint.model_folder("kuka_kr16", "instances")
    _lineage(folder, ("part1", "part2"), "kuka_kr16", "instances")
    log = folder / "metrics.jsonl"
    log.write_text('{"step": 1, "lr": 0.1, "run": "eos1"}\n')
    assert book.find_log("kuka_kr16", "instances", "eos1") is None  # no loss logged
    log.write_text('{"step": 1, "loss": 2.0, "run": "eos1"}\n{"step": 2, "loss": 1.0, "run": "part2"}\n')
    assert book.find_log("kuka_kr16", "instances", "eos1") == [{"step": 1, "loss": 2.0, "run": "eos1"}]
    assert book.find_log("kuka_kr16", "instances")[0]["step"] == 2  # the last part's run


def test_progress_table_measures_drops_between_fifths():
    rows = [{"step": i, "loss": v} for i, v in enumerate([8.0] * 4 + [4.0] * 4 + [2.0] * 4 + [1.0] * 4 + [1.0] * 4)]
    table = book.progress_table(rows, window=2)
    assert table["logged points"] == 20
    assert [table[f"drop {k}->{k + 1}"] for k in range(1, 5)] == pytest.approx([0.5, 0.5, 0.5, 0.0])
    assert table["relative noise"] == 0.0  # steps, not noise: std / mean is 1/3 at 3 of 18 points


def test_instance_timings_one_row_per_robot_count():
    torch.manual_seed(0)
    loc = localization_config("quick", input_size=(48, 64), backbone_weights=None)
    model = InstanceTask("panda_primitive", instance_config("quick"), loc, 7).build_model().eval()
    images = [np.zeros((48, 64, 3), np.uint8)] * 2
    rows = instance_timings(model, images, rounds=2, device="cpu")
    assert [r["robots"] for r in rows] == [1, 2]
    assert all(r["instance ms"] > 0 and r["total ms"] == r["localization ms"] + r["instance ms"] for r in rows)


def test_shipped_models_table_sums_the_parts(tmp_path):
    import json

    folder = tmp_path / "panda_primitive_localization_cpu"
    _lineage(folder, ("part1", "part2"))

    def write_log(rates):
        rows = [{"step": s, "loss": 1.0, "samples_per_s": rate, "run": run}
                for run, rate in zip(("part1", "part2"), rates) for s in (10, 20)]
        (folder / "metrics.jsonl").write_text("\n".join(json.dumps(r) for r in rows))

    write_log((4.0, 4.0))
    table, rows = book.shipped_models_table(folder=tmp_path)
    assert len(rows) == 1 and rows[0]["parts"] == 2 and rows[0]["steps"] == 40 and rows[0]["scenes seen"] == 320
    assert rows[0]["hours"] == pytest.approx(0.2)   # the lineage's wall hours
    # the folder's name, which other pages use, opens the row; runs are counted in rows, not shown
    assert table.splitlines()[2].startswith("| `panda_primitive_localization_cpu` | 40 | 320 |")
    assert rows[0]["samples/s"] == pytest.approx(4.0)
    # parts at different rates: the rate over all parts weights each by its steps
    write_log((4.0, 12.0))
    _, rows = book.shipped_models_table(folder=tmp_path)
    assert rows[0]["samples/s"] == pytest.approx((20 + 20) / (20 / 4.0 + 20 / 12.0))


def test_onepass_study_rows_read_both_layouts():
    summary = {"box_ap": 0.2, "mask_ap": 0.3, "mask_ap50": 0.6, "counting_accuracy": 0.7}
    columns = {"test": {"onepass": summary, "convgru": summary}, "robot_free": {"onepass": {"none_found": 0.9}},
               "runtime": {"robots": [1, 2], "onepass_ms": [5.0, 5.5], "convgru_forced_ms": [9.0, 14.0]}}
    rows, timing = book.onepass_study_rows(columns)
    assert [r["model"] for r in rows] == ["one-pass", "recurrent (ConvGRU)"]
    assert rows[0]["robot-free: none found"] == 0.9 and "robot-free: none found" not in rows[1]
    assert timing == [{"robots": 1, "onepass_ms": 5.0, "convgru_forced_ms": 9.0},
                      {"robots": 2, "onepass_ms": 5.5, "convgru_forced_ms": 14.0}]
    old = {"onepass": summary, "runtime": {"rows": [{"robots": 1, "onepass_ms": 4.0}]}}
    rows, timing = book.onepass_study_rows(old)
    assert len(rows) == 1 and timing == [{"robots": 1, "onepass_ms": 4.0}]
    assert book.onepass_study_rows({}) == ([], [])




def test_depth_checkpoints_read_the_shipped_study_and_say_when_it_is_missing(capsys):
    from robotpose_lib.book import depth_checkpoints

    rows = depth_checkpoints("kuka_kr16_localization_cpu")
    assert len(rows) >= 2 and "shipped" in rows[-1]["checkpoint"]
    steps = [r["step"] for r in rows]
    assert steps == sorted(steps)  # counted from the start of training: in training order
    assert depth_checkpoints("no_such_model_cpu") == []
    assert "no_such_model_cpu/depth_study.json" in capsys.readouterr().out
