"""Checkpoints that cannot hurt: nothing in a checkpoint file runs, through any command or
API (a pickle that would write a marker file: the marker never appears); foreign, broken
and ill-typed files and weights that do not fit are one line naming the file, without
Python warnings; the shipped checkpoints load unchanged; old (version 1) training
checkpoints still resume."""
import json
import os
import pickle
import random
import warnings
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from robotpose_lib import checkpoint
from robotpose_lib.checkpoint import VERSION, CheckpointError, load_checkpoint, load_weights, save_checkpoint
from robotpose_lib.cli import run_command
from robotpose_lib.tasks import load_model, localization_task
from robotpose_lib.toy import ToyDiscDataset
from robotpose_lib.train import TrainSettings, train

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "assets" / "models").glob("*/model.pt"))
TOY = ["--config", "quick", "--robot", "toy", "--n-scenes", "8", "--batch-size", "2", "--workers", "0",
       "--no-progress", "--threads", "1", "--steps", "1"]

pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.py


class Payload:
    """What an attacker pickles: unpickling it calls ``os.system`` (or another callable)."""

    def __init__(self, call, *args):
        self.call, self.args = call, args

    def __reduce__(self):
        return self.call, self.args


def _malicious(path: Path, marker: Path, how: str = "zip") -> Path:
    """A checkpoint that looks like a robotpose one, but unpickling it creates ``marker``."""
    attack = Payload(os.system, f"touch {marker}")
    doc = {"format": checkpoint.FORMAT, "version": 2, "task": "localization", "robot": "panda_primitive",
           "config": {"name": "quick"}, "step": 0, "model": {"w": torch.zeros(1)}, "extra": {"x": attack}}
    if how == "zip":
        torch.save(doc, path)
    elif how == "legacy":  # torch's pre-1.6 (non-zip) format
        torch.save(doc, path, _use_new_zipfile_serialization=False)
    elif how == "in-model":  # hidden among the weights
        doc["extra"] = {}
        doc["model"]["w"] = attack
        torch.save(doc, path)
    elif how == "open":  # another callable: builtins.open creating the marker
        doc["extra"] = {"x": Payload(open, str(marker), "w")}
        torch.save(doc, path)
    elif how == "pickle":  # a bare pickle, not a torch file
        path.write_bytes(pickle.dumps(doc, protocol=2))
    return path


@pytest.fixture
def evil(tmp_path):
    marker = tmp_path / "MARKER"
    yield _malicious(tmp_path / "evil.pt", marker), marker
    assert not marker.exists(), "code from a checkpoint ran"


def _one_refusal(err: str, path: Path) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert str(path) in lines[0] and "refused" in lines[0] and "Traceback" not in err and "Warning" not in err


@pytest.mark.parametrize("how", ["zip", "legacy", "in-model", "open", "pickle"])
def test_a_pickle_that_runs_code_is_refused_by_load_checkpoint(tmp_path, how):
    marker = tmp_path / "MARKER"
    path = _malicious(tmp_path / "evil.pt", marker, how)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning noise either
        with pytest.raises(CheckpointError, match="refused") as err:
            load_checkpoint(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)
    assert not marker.exists()


def test_no_api_that_reads_checkpoints_runs_their_code(evil, tmp_path):
    from robotpose_lib.eval.real import load_predictor
    from robotpose_lib.predictor import Predictor
    from robotpose_lib.tasks import instance_task, onepass_task

    path, _ = evil
    calls = [lambda: load_model(path), lambda: Predictor.load(path),
             lambda: load_predictor(None, str(path)), lambda: load_predictor(str(path), "none"),
             lambda: instance_task("quick", "panda_primitive", localization_checkpoint=path),
             lambda: onepass_task("quick", "panda_primitive", localization_checkpoint=path)]
    for call in calls:
        with pytest.raises(CheckpointError, match="refused"):
            call()
    task, data = localization_task("quick", "toy", input_size=(48, 64)), ToyDiscDataset(4, (48, 64))
    settings = TrainSettings(steps=1, batch_size=2, progress=False, device="cpu", threads=1, init_from=str(path))
    with pytest.raises(CheckpointError, match="refused"):
        train(task, data, tmp_path / "warm", settings)
    (tmp_path / "run").mkdir()
    _malicious(tmp_path / "run" / "checkpoint.pt", evil[1])
    settings.init_from = None
    with pytest.raises(CheckpointError, match="refused"):
        train(task, data, tmp_path / "run", settings, resume=True)


def _photo_folder(root: Path) -> Path:
    """One readable 'real photo' with its info.json (values need not be sensible)."""
    root.mkdir()
    cv2.imwrite(str(root / "f0.png"), np.zeros((48, 64, 3), np.uint8))
    info = {"calibration_info": {"intrinsic": [[60, 0, 32], [0, 60, 24], [0, 0, 1]], "extrinsic": [[0] * 5 + [2]]},
            "steps": {"1": {"img_file": "f0.png", "joint_angles": [0.0] * 7}}}
    (root / "info.json").write_text(json.dumps(info))
    return root


def test_no_command_that_reads_checkpoints_runs_their_code(evil, tmp_path, capsys):
    path, _ = evil
    photos = _photo_folder(tmp_path / "photos")
    (tmp_path / "run").mkdir()
    resume = _malicious(tmp_path / "run" / "checkpoint.pt", evil[1])
    commands = [
        ("predict", ["x.png", "--robot", "panda_primitive", "--checkpoint", str(path),
                     "--out", str(tmp_path / "p.json"),
                     "--fx", "60", "--fy", "60", "--cx", "32", "--cy", "24"], path),
        ("eval", ["localization", "--checkpoint", str(path), "--n", "1"], path),
        ("eval", ["instances", "--checkpoint", str(path), "--n", "1"], path),
        ("eval", ["real", "--data", str(photos), "--instances", str(path)], path),
        ("eval", ["real", "--data", str(photos), "--checkpoint", str(path), "--instances", "none"], path),
        ("train", ["localization", *TOY, "--out", str(tmp_path / "run"), "--resume"], resume),
        ("train", ["localization", *TOY, "--out", str(tmp_path / "warm"), "--init", str(path)], path),
        ("train", ["instances", "--config", "quick", "--robot", "panda_primitive", "--out", str(tmp_path / "inst"),
                   "--localization", str(path), "--steps", "1", "--no-progress"], path),
    ]
    for name, argv, named in commands:
        assert run_command(name, argv) == 1, (name, argv)
        _one_refusal(capsys.readouterr().err, named)


def test_shipped_checkpoints_load_unchanged_without_running_code():
    assert SHIPPED, "no shipped checkpoints"
    for path in SHIPPED:
        before = path.read_bytes()
        ckpt = load_checkpoint(path)
        assert ckpt["format"] == checkpoint.FORMAT and ckpt["version"] in checkpoint.READABLE_VERSIONS
        assert path.read_bytes() == before
    model, task, _ = load_model(ROOT / "assets" / "models" / "panda_primitive_localization_cpu" / "model.pt")
    assert task.robot == "panda_primitive" and not model.training


def test_foreign_and_broken_files_are_one_line_without_warnings(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit.script is deprecated
        torch.jit.script(torch.nn.Linear(2, 2)).save(str(tmp_path / "script.pt"))
    cases = {"script.pt": "TorchScript"}
    with zipfile.ZipFile(tmp_path / "plain.zip", "w") as z:
        z.writestr("weights/readme.txt", "no pickle here")
    cases["plain.zip"] = "zip file without data.pkl"
    (tmp_path / "empty.pt").write_bytes(b"")
    cases["empty.pt"] = "empty file"
    (tmp_path / "random.pt").write_bytes(np.random.default_rng(0).bytes(500))
    cases["random.pt"] = "corrupt"
    good = save_checkpoint(tmp_path / "good.pt", {"task": "localization", "robot": "toy", "config": {},
                                                  "step": 1, "model": {"w": torch.ones(3)}})
    (tmp_path / "truncated.pt").write_bytes(good.read_bytes()[:200])
    cases["truncated.pt"] = "corrupt"
    torch.save([1, 2, 3], tmp_path / "list.pt")
    cases["list.pt"] = "not a robotpose checkpoint"
    for name, message in cases.items():
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(CheckpointError, match=message) as err:
                load_checkpoint(tmp_path / name)
        assert str(tmp_path / name) in str(err.value) and "\n" not in str(err.value), name


def test_the_cli_names_a_torchscript_file_in_one_line(tmp_path, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.script(torch.nn.Linear(2, 2)).save(str(tmp_path / "script.pt"))
    assert run_command("eval", ["localization", "--checkpoint", str(tmp_path / "script.pt"), "--n", "1"]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "TorchScript" in err and "script.pt" in err


@pytest.mark.parametrize("field, value, message", [
    ("step", "12", "field 'step' is str"), ("step", -3, "field 'step' is int -3"), ("task", 7, "field 'task' is int"),
    ("config", [1, 2], "field 'config' is list"), ("model", [torch.zeros(1)], "field 'model' is list"),
    ("model", {"w": 3.0}, "not name -> tensor"), ("extra", "x", "field 'extra' is str"),
    ("version", True, "field 'version' is bool"), ("version", 99, "version 99"),
    ("rng", [1], "field 'rng' is list"), ("step", 2.5, "field 'step' is float"),
])
def test_fields_of_the_wrong_type_are_named(tmp_path, field, value, message):
    doc = {"format": checkpoint.FORMAT, "version": 2, "task": "localization", "robot": "toy", "config": {},
           "step": 0, "model": {"w": torch.zeros(1)}, field: value}
    torch.save(doc, tmp_path / "odd.pt")
    with pytest.raises(CheckpointError, match=message) as err:
        load_checkpoint(tmp_path / "odd.pt")
    assert str(tmp_path / "odd.pt") in str(err.value) and "\n" not in str(err.value)


def test_save_refuses_objects_that_would_not_load_safely(tmp_path):
    with pytest.raises(ValueError, match=r"\['extra'\]\['x'\]: a pathlib\.\w*Path"):
        save_checkpoint(tmp_path / "c.pt", {"task": "t", "robot": "r", "config": {}, "step": 0, "model": {},
                                            "extra": {"x": Path("a")}})
    assert not list(tmp_path.iterdir())


def test_weights_that_do_not_fit_name_the_file_the_model_and_the_keys(tmp_path):
    task = localization_task("quick", "toy", input_size=(48, 64))
    model = task.build_model()
    state = dict(model.state_dict())
    names = list(state)
    state.pop(names[0])
    state["head.extra.weight"] = torch.zeros(2)
    state[names[1]] = torch.zeros(7, 7)
    with pytest.raises(CheckpointError) as err:
        load_weights(model, state, tmp_path / "w.pt")
    text = str(err.value)
    assert "\n" not in text and str(tmp_path / "w.pt") in text and type(model).__name__ in text
    assert f"1 missing ({names[0]})" in text and "1 unexpected (head.extra.weight)" in text
    assert f"{names[1]} 7x7 in the file" in text


def test_a_localization_checkpoint_that_does_not_fit_the_instance_model(tmp_path, capsys):
    """``train instances --localization`` once printed only 'Error(s) in loading state_dict
    for LocalizationNet:'; now: the file, the model and which weights."""
    from robotpose_lib.tasks import instance_task

    loc = localization_task("quick", "panda_primitive")
    state = loc.build_model().state_dict()
    key = next(k for k, v in state.items() if v.ndim == 4)
    state[key] = torch.zeros(1, 1, 1, 1)
    path = save_checkpoint(tmp_path / "loc.pt", {"task": "localization", "robot": "panda_primitive",
                                                 "config": loc.config_dict(), "step": 1, "model": state,
                                                 "extra": loc.extra()})
    with pytest.raises(CheckpointError, match=rf"weights do not fit LocalizationNet: 1 of another shape \({key}"):
        instance_task("quick", "panda_primitive", localization_checkpoint=path).build_model()
    argv = ["instances", "--config", "quick", "--robot", "panda_primitive", "--out", str(tmp_path / "inst"),
            "--localization", str(path), "--steps", "1", "--no-progress", "--batch-size", "1", "--n-scenes", "1"]
    assert run_command("train", argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "loc.pt" in err[0] and "LocalizationNet" in err[0] and "1x1x1x1" in err[0]


def test_a_version_1_training_checkpoint_with_numpy_rng_state_still_resumes(tmp_path):
    """Version 1 stored numpy's RNG state as a tuple with an array: still read (numpy's
    array reconstruction is the one addition to weights_only), and resumed to the same
    weights as a version-2 run."""
    task, data = localization_task("quick", "toy", input_size=(48, 64)), ToyDiscDataset(8, (48, 64))
    s = TrainSettings(steps=4, batch_size=2, ckpt_every=2, progress=False, device="cpu", threads=1)
    train(task, data, tmp_path / "ref", s)
    s.steps = 2
    train(task, data, tmp_path / "old", s)
    ckpt = torch.load(tmp_path / "old" / "checkpoint.pt", weights_only=True)
    keys = ckpt["rng"]["numpy"]
    ckpt["rng"]["numpy"] = (keys["name"], keys["keys"].numpy().astype(np.uint32), keys["pos"], keys["has_gauss"],
                            keys["cached_gaussian"])
    ckpt["version"] = 1
    torch.save(ckpt, tmp_path / "old" / "checkpoint.pt")  # as version 1 wrote it
    assert load_checkpoint(tmp_path / "old" / "checkpoint.pt")["version"] == 1
    s.steps = 4
    train(task, data, tmp_path / "old", s, resume=True)
    new, ref = load_checkpoint(tmp_path / "old" / "checkpoint.pt"), load_checkpoint(tmp_path / "ref" / "checkpoint.pt")
    assert new["version"] == VERSION and isinstance(new["rng"]["numpy"], dict)
    for k, v in ref["model"].items():
        assert torch.equal(v, new["model"][k]), k


def test_rng_state_round_trips_as_tensors_and_plain_values():
    state = checkpoint.rng_state()
    assert isinstance(state["numpy"]["keys"], torch.Tensor)
    a = (torch.rand(3), np.random.rand(3), random.random())
    checkpoint.set_rng_state(state)
    b = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[2] == b[2]


@pytest.mark.parametrize("version", [1, 2])
def test_a_checkpoint_from_before_the_panda_rename_keeps_meaning_its_robot(tmp_path, version):
    """Until version 3 "panda" was the arm drawn from primitives and "panda_mesh" the arm
    drawn from its URDF meshes; an old file is read with today's names, so it is never
    evaluated on, or resumed with, the other drawing. A user's URDF robot keeps its name."""
    payload = {"task": "localization", "config": {}, "step": 0, "model": {}}
    for old, new, source in (("panda", "panda_primitive", None), ("panda_mesh", "panda", None),
                             ("kuka_kr16", "kuka_kr16", None),
                             ("panda_mesh", "panda_mesh", {"urdf": "/x/panda.urdf", "spec": {}})):
        save_checkpoint(tmp_path / "c.pt", {**payload, "robot": old, "robot_source": source})
        raw = torch.load(tmp_path / "c.pt", weights_only=True)
        raw["version"] = version
        torch.save(raw, tmp_path / "c.pt")
        assert load_checkpoint(tmp_path / "c.pt")["robot"] == new
    save_checkpoint(tmp_path / "c.pt", {**payload, "robot": "panda"})  # today's file: as written
    assert load_checkpoint(tmp_path / "c.pt")["robot"] == "panda"
    with pytest.raises(CheckpointError, match="robot is 'panda_primitive' in the checkpoint"):
        raw["version"], raw["robot"], raw["robot_source"] = 2, "panda", None
        torch.save(raw, tmp_path / "c.pt")
        load_checkpoint(tmp_path / "c.pt", expect={"robot": "panda"})


def test_a_renamed_robot_is_named_in_the_mismatch_and_a_newer_file_is_named_so(tmp_path):
    save_checkpoint(tmp_path / "c.pt", {"task": "localization", "config": {}, "step": 0, "model": {},
                                        "robot": "panda"})
    raw = torch.load(tmp_path / "c.pt", weights_only=True)
    raw["version"] = 2
    torch.save(raw, tmp_path / "c.pt")
    with pytest.raises(CheckpointError, match="its robot 'panda' is today's 'panda_primitive'"):
        load_checkpoint(tmp_path / "c.pt", expect={"robot": "panda"})
    raw["version"] = VERSION + 1
    torch.save(raw, tmp_path / "c.pt")
    with pytest.raises(CheckpointError, match="newer robotpose"):
        load_checkpoint(tmp_path / "c.pt")
