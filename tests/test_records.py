"""Model folders as data: the card is rendered from lineage.json and eval.json, never the
other way round."""
import json

import pytest

from robotpose_lib import records
from robotpose_lib.checkpoint import SOURCE_MODELS_DIR


def _figures(auc: float) -> dict:
    metrics = {"auc": auc, "found": 0.5, "median_px": 12.25}
    return {"all": metrics, "moving": dict(metrics, auc=auc / 2)}


def test_card_is_written_from_the_records(tmp_path):
    lineage = {"name": "toy_model", "task": "localization", "robot": "panda", "recipe": "dream",
               "continue": "robotpose train localization ... --resume",
               "parts": [{"started_from": "x.pt", "command": "robotpose train a", "steps": 100, "batch_size": 8,
                          "wall_hours": 0.5, "machine": "2-core CPU", "date": "2026-12-07"},
                         {"started_from": "scratch", "command": "robotpose train b", "steps": 50, "batch_size": 8,
                          "wall_hours": 0.25, "machine": "2-core CPU", "date": "2026-12-07"}]}
    (tmp_path / records.LINEAGE).write_text(json.dumps(lineage))
    records.add_evaluation(tmp_path, "filmed", "robotpose eval filmed --json OUT",
                           {"model": _figures(0.4321), "baseline": _figures(0.1)}, "filmed validation set")
    records.add_evaluation(tmp_path, "twin", "robotpose eval twin --json OUT",
                           {row: _figures(0.2) for row in ("mesh_twin", "mesh_pasted", "photo", "mean_pose")})
    card = (tmp_path / records.CARD).read_text()
    assert "150 steps (1,200 synthetic scenes" in card and "0.75 h" in card
    assert "| model | 0.432 | 0.500 | 0.216 |" in card
    assert "| mesh twin, test-set background | 0.200 |" in card
    assert card == records.render_card(tmp_path)      # rendering again gives the same card
    assert json.loads((tmp_path / records.EVAL).read_text())["filmed"]["figures"]["model"]["all"]["auc"] == 0.4321


def test_a_parts_choice_between_instance_models_is_rendered_with_its_score(tmp_path):
    figures = {"mask_ap50": 0.2, "mask_ap": 0.1, "box_ap": 0.05, "counting_accuracy": 0.4, "mean_count": 2.5}
    lineage = {"name": "m", "task": "instances", "robot": "kuka_kr16", "recipe": "paper", "continue": "c",
               "parts": [{"started_from": "scratch", "command": "a", "steps": 10, "batch_size": 8,
                          "wall_hours": 0.1, "machine": "m", "choice": {
                              "rule": "the mean of mask AP@0.5 and counting accuracy", "command": "robotpose eval",
                              "candidates": {"old": figures, "new": dict(figures, counting_accuracy=0.6)}}}]}
    (tmp_path / records.LINEAGE).write_text(json.dumps(lineage))
    card = records.render_card(tmp_path)
    assert "Part 1's choice, by the mean of mask AP@0.5 and counting accuracy (`robotpose eval`)" in card
    assert "| old | 0.200 | 0.100 | 0.050 | 0.40 | 2.50 | 0.300 |" in card
    assert "| new | 0.200 | 0.100 | 0.050 | 0.60 | 2.50 | 0.400 |" in card


def test_broken_records_are_one_line(tmp_path):
    (tmp_path / records.LINEAGE).write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        records.render_card(tmp_path)
    with pytest.raises(FileNotFoundError, match="record not found"):
        records.render_card(tmp_path / "missing")


def test_a_choice_between_options_is_rendered_with_its_rule(tmp_path):
    lineage = {"name": "m", "task": "localization", "robot": "panda", "recipe": "dream", "continue": "c",
               "parts": []}
    (tmp_path / records.LINEAGE).write_text(json.dumps(lineage))
    arm = lambda auc: {"recipe": "r", "steps": 10, "figures": {"model": _figures(auc)}}  # noqa: E731
    records.add_evaluation(tmp_path, "comparison", "cmd", {"rule": "the higher AUC", "chosen": "A",
                                                           "arms": {"A": arm(0.3), "B": arm(0.1)}})
    card = (tmp_path / records.CARD).read_text()
    assert "Rule: the higher AUC. Chosen: **A**." in card
    assert "| A | r | 10 | 0.300 | 0.500 | 0.150 | 0.500 |" in card


SHIPPED = sorted(p.name for p in SOURCE_MODELS_DIR.iterdir() if (p / records.LINEAGE).is_file())


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_figures_are_reproduced_on_a_few_scenes(name):
    """Each shipped model's eval.json holds a "check": its evaluation on the first test
    scenes, written by ``robotpose eval TASK --n 4 --json``. Measured again here with the
    same functions, the figures agree (the weights and the evaluation code are what the
    record says; a few seconds a model on a CPU)."""
    import numpy as np

    from robotpose_lib.cards import differing_figures, read_record
    from robotpose_lib.decode import METHODS
    from robotpose_lib.eval.instances import evaluate_instances, summarize
    from robotpose_lib.eval.localization import evaluate_localization
    from robotpose_lib.eval.testset import test_dataset
    from robotpose_lib.tasks import load_model

    record = read_record(name, SOURCE_MODELS_DIR)
    check = record.figures("check")
    assert check is not None, f"{name}/eval.json: no 'check' entry"
    model, task, ckpt = load_model(record.weights, "cpu")
    assert ckpt["step"] == check["step"]
    if record.task == "localization":
        report = evaluate_localization(model, task, check["n"], seed=check["seed"], batch_size=8, methods=METHODS,
                                       device="cpu", progress=False, recipe=check["recipe"])
        diff, compared = differing_figures(check, report.figures())
        assert compared > 20 and not diff, diff[:3]
    else:
        data = test_dataset(task.robot, check["n"], task.input_size, check["seed"])
        fresh = summarize(evaluate_instances(model, data, task.input_size, batch_size=8, device="cpu",
                                             min_active_fraction=check["min_active_fraction"]))
        for key in ("mask_ap50", "mask_ap", "box_ap50", "box_ap", "counting_accuracy"):
            assert np.isclose(fresh[key], check[key], atol=1e-3, equal_nan=True), (key, fresh[key], check[key])


@pytest.mark.parametrize("name", SHIPPED)
def test_a_shipped_folder_is_named_for_the_robot_its_weights_were_trained_on(name):
    """``{robot}_{task}_cpu``: the lineage and the checkpoint name the same robot, so that
    ``Predictor.from_pretrained(robot)`` and each test set draw the robot the weights saw
    (the mesh-trained Panda models are ``panda_*``, the primitive-trained ones
    ``panda_primitive_*``)."""
    from robotpose_lib.cards import read_record
    from robotpose_lib.checkpoint import load_checkpoint, model_name
    from robotpose_lib.robots import get_robot

    record = read_record(name, SOURCE_MODELS_DIR)
    ckpt = load_checkpoint(record.weights)
    assert ckpt["robot"] == record.lineage["robot"] and ckpt["task"] == record.task
    assert name == model_name(ckpt["robot"], ckpt["task"])
    if ckpt["robot"] == "panda":
        assert hasattr(get_robot("panda"), "urdf_path")   # the Panda drawn from its URDF meshes


@pytest.mark.parametrize("name", [n for n in SHIPPED if not n.endswith("_localization_cpu")])
def test_a_shipped_instance_model_carries_its_robots_shipped_localization_weights(name):
    """An instance model (recurrent or one-pass) reads the maps of the localization network
    inside its file: that network is its robot's shipped localization model, weight for
    weight, so chapters 2, 3 and 6 describe one network per robot."""
    import torch

    from robotpose_lib.checkpoint import load_checkpoint, model_name

    ckpt = load_checkpoint(SOURCE_MODELS_DIR / name / "model.pt")
    localization = load_checkpoint(SOURCE_MODELS_DIR / model_name(ckpt["robot"], "localization") / "model.pt")
    inside = {k.removeprefix("localization."): v for k, v in ckpt["model"].items() if k.startswith("localization.")}
    assert set(inside) == set(localization["model"])
    assert all(torch.equal(inside[k], v) for k, v in localization["model"].items())


def test_the_models_index_is_rendered_from_the_records_as_they_are():
    """assets/models/README.md and every card.md are what scripts/render_records.py writes
    from today's records (a stale index once kept a model's old step count)."""
    assert (SOURCE_MODELS_DIR / records.INDEX).read_text() == records.render_index(SOURCE_MODELS_DIR)
    for name in SHIPPED:
        card = (SOURCE_MODELS_DIR / name / records.CARD).read_text()
        assert card == records.render_card(SOURCE_MODELS_DIR / name), name


def test_each_shipped_models_last_part_trained_on_the_recipe_its_weights_store():
    """The lineage's per-part recipes (what chapters say a model was trained on) agree with
    the settings saved in the weights by the training run itself."""
    import json

    from robotpose_lib.checkpoint import load_checkpoint, models_dir

    for lineage_path in sorted(models_dir().glob("*/lineage.json")):
        lineage = json.loads(lineage_path.read_text())
        assert all(p.get("recipe") for p in lineage["parts"]), f"{lineage_path.parent.name}: a part without recipe"
        stored = (load_checkpoint(lineage_path.parent / "model.pt").get("settings") or {}).get("recipe") or "paper"
        assert lineage["parts"][-1]["recipe"] == stored == lineage["recipe"], lineage_path.parent.name


def test_each_recorded_command_and_its_settings_agree_and_the_last_part_matches_the_weights():
    """A part's "settings" are what the train CLI reads from its recorded command (defaults
    resolved), so chapter 2's table of phases says what each phase trained with; the last
    part's settings are also those the training run stored in the shipped weights."""
    from robotpose_lib.checkpoint import load_checkpoint, models_dir
    from robotpose_lib.cli.train import training_settings

    for lineage_path in sorted(models_dir().glob("*/lineage.json")):
        name = lineage_path.parent.name
        parts = json.loads(lineage_path.read_text())["parts"]
        for i, part in enumerate(parts, 1):
            if part.get("command"):
                assert part["settings"] == training_settings(part["command"]), (name, i)
            else:
                assert "settings" not in part, (name, i)
        last, ckpt = parts[-1]["settings"], load_checkpoint(lineage_path.parent / "model.pt")
        stored = ckpt["settings"]
        assert (last["lr"], last["schedule"], last["recipe"]) == (stored["lr"], stored["schedule"],
                                                                   stored.get("recipe") or "paper"), name
        if ckpt["task"] == "localization":
            extra = ckpt["extra"]
            assert (last["depth_weight"], last["intermediate"]) == (extra["depth_weight"], extra["intermediate"]), name
            assert last["depth_code"] == extra["targets"]["depth"].get("kind", "inverse"), name
            assert last["depth_context"] == (ckpt["config"].get("depth_context") or 0), name


def test_a_command_the_train_cli_rejects_is_not_read_as_settings():
    from robotpose_lib.cli.train import training_settings

    with pytest.raises(ValueError, match="not a robotpose train command"):
        training_settings("python train.py --steps 10")
    with pytest.raises(ValueError, match="robotpose train rejects it"):
        training_settings("robotpose train localization --config cpu --robot panda --out r --max-minutes M")
    with pytest.raises(ValueError, match="unknown field"):
        training_settings("robotpose train localization --config cpu --robot panda --out r --set depth_wieght=5")
    settings = training_settings("robotpose train localization --config cpu --robot kuka_kr16 --out r "
                                 "--set depth_code=log --lr 5e-4")
    assert (settings["depth_code"], settings["depth_weight"], settings["intermediate"], settings["lr"]) == \
        ("log", 1.0, "full", 5e-4)
