"""Bad inputs a user may give the newest commands: one line and the documented exit code,
never a traceback nor a silent run (robotpose --help: 1 a failed input, 2 usage)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from robotpose_lib.cli import run_command
from robotpose_lib.tasks.localization import localization_task

ROOT = Path(__file__).resolve().parents[1]
ONEPASS = ROOT / "assets" / "models" / "panda_primitive_onepass_cpu" / "model.pt"


def _depth_diagnosis():
    spec = importlib.util.spec_from_file_location("depth_diagnosis", ROOT / "scripts" / "depth_diagnosis.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("argv, message", [
    (["--repeats", "0", "--convgru", "none"], "repeats: expected at least 1, got 0"),
    (["--warmup", "-1", "--convgru", "none"], "warmup: expected 0 or more"),
    (["--robot", "nosuch"], "unknown robot 'nosuch'"),
])
def test_bench_instances_rejects_bad_counts_and_robots(argv, message, capsys):
    assert run_command("bench", ["instances", "--robots", "1", *argv]) == 1
    captured = capsys.readouterr()
    assert message in captured.err and len(captured.err.strip().splitlines()) == 1
    assert "skipped" not in captured.out  # an unknown robot is not a missing model


def test_train_onepass_on_the_toy_robot_skips_or_refuses_calibration(tmp_path, capsys):
    from robotpose_lib.cli import train as train_cli

    argv = ["onepass", "--config", "quick", "--robot", "toy", "--out", str(tmp_path / "run"), "--steps", "1"]
    assert run_command("train", [*argv, "--calibrate", "3"]) == 2
    assert "toy robot has no validation scenes" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()  # refused before training
    args = train_cli.build_parser().parse_args(argv)
    assert train_cli.check(args) is None and args.calibrate == 0
    args = train_cli.build_parser().parse_args(["onepass", "--config", "quick", "--robot", "panda_primitive",
                                                "--out", "x"])
    assert train_cli.check(args) is None and args.calibrate == 40


@pytest.mark.parametrize("weight", ["abc", None, True, -1.0, float("nan")])
def test_depth_weight_must_be_a_number(weight):
    with pytest.raises(ValueError, match="depth_weight: expected a number >= 0") as info:
        localization_task("quick", "panda_primitive", depth_weight=weight)
    assert "\n" not in str(info.value)
    assert localization_task("quick", "panda_primitive", depth_weight=2).depth_weight == 2.0


def test_depth_diagnosis_usage_and_checkpoint_errors(capsys):
    script = _depth_diagnosis()
    for argv in ([], ["x.pt", "--toy"], ["x.pt", "--n", "0"]):
        with pytest.raises(SystemExit) as stop:
            script.main(argv)
        assert stop.value.code == 2
    capsys.readouterr()
    for argv, message in ((["/nonexistent/loc.pt"], "checkpoint not found"),
                          ([str(ONEPASS), "--n", "2"], "task is 'onepass' in the checkpoint, 'localization'")):
        assert script.main(argv) == 1
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1


def test_depth_diagnosis_toy_study_trains_with_gradients(monkeypatch, tmp_path):
    script = _depth_diagnosis()
    seen = []

    def fake_train(kind, steps, seed):  # the real one trains a small net for ~1 min
        seen.append(torch.is_grad_enabled())
        return kind

    monkeypatch.setattr(script, "train_toy_depth", fake_train)
    monkeypatch.setattr(script, "asdict", lambda r: {"kind": r})
    assert script.main(["--toy", "--json", str(tmp_path / "toy.json")]) == 0
    assert seen and all(seen)  # main's no_grad once switched them off: the toy study could not train
    assert (tmp_path / "toy.json").exists()


@pytest.mark.parametrize("info", [[1, 2], {"calibration_info": [], "steps": {}},
                                  {"calibration_info": {"intrinsic": [[1, 0, 0]] * 3, "extrinsic": [[0] * 6]},
                                   "steps": ["a.png"]}])
def test_real_photo_folder_of_the_wrong_json_shape_is_named(tmp_path, info):
    import json

    from robotpose_lib.real_panda import load_real_panda

    (tmp_path / "info.json").write_text(json.dumps(info))
    with pytest.raises(ValueError, match="missing or malformed structure") as err:
        load_real_panda(tmp_path)
    assert "\n" not in str(err.value) and "info.json" in str(err.value)


def _shifted(z):
    T = np.eye(4)
    T[2, 3] = z
    return T


@pytest.mark.parametrize("T, size, clip, message", [
    (np.full((4, 4), np.nan), (320, 240), {}, "NaN or infinite"),
    (np.diag([2.0, 2.0, 2.0, 1.0]), (320, 240), {}, "not a rigid transform"),
    (np.diag([1.0, 1.0, -1.0, 1.0]), (320, 240), {}, "not a rigid transform"),  # a mirror
    (np.vstack([np.eye(4)[:3], [1.0, 1.0, 1.0, 1.0]]), (320, 240), {}, "not a rigid transform"),
    (np.eye(4), (320.5, 240), {}, "positive whole size"),
    (np.eye(4), (float("nan"), 240), {}, "positive whole size"),
    (np.eye(4), (320, 240), {"far": float("inf")}, "0 < near < far < inf"),
])
def test_opengl_camera_rejects_what_would_be_a_silent_nan_or_skewed_render(T, size, clip, message):
    from robotpose_lib.camera import opengl_camera

    K = np.array([[150.0, 0, 160], [0, 150, 120], [0, 0, 1]])
    with pytest.raises(ValueError, match=message):
        opengl_camera(K, T, *size, **clip)
    view, projection = opengl_camera(K, _shifted(1.0), 320.0, 240)  # whole floats are fine
    assert np.isfinite(view).all() and np.isfinite(projection).all()


@pytest.mark.parametrize("angles, finger", [(np.zeros(3), 0.02), (np.full(7, np.nan), 0.02),
                                            (np.zeros(7), -1.0), (np.zeros(7), 0.5)])
def test_mesh_twin_rejects_short_or_nan_joint_angles_and_impossible_fingers(angles, finger):
    from robotpose_lib.real_panda import RealPhoto
    from robotpose_lib.twin import render_mesh_twin

    photo = RealPhoto("x", np.zeros((48, 64, 3), np.uint8), np.array([[50.0, 0, 32], [0, 50, 24], [0, 0, 1]]),
                      _shifted(2.0), angles, np.zeros((1, 3)), np.zeros((1, 2)))
    with pytest.raises(ValueError, match="render_mesh_twin") as err:  # before pybullet is imported
        render_mesh_twin(photo, finger_opening_m=finger)
    assert "\n" not in str(err.value)


# --------------------------------------------- paths from data files, standard JSON (issue 21)
def _photo_folder(root: Path, img_file: str = "f0.png") -> Path:
    """One plain 'real photo' (320x240) and its info.json naming ``img_file``."""
    import json

    import cv2

    root.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(root / "f0.png"), np.full((240, 320, 3), 90, np.uint8))
    info = {"calibration_info": {"intrinsic": [[150.0, 0, 159.5], [0, 150.0, 119.5], [0, 0, 1]],
                                 "extrinsic": [[1.2, 1.9, -1.4, 0.2, 0.35, 1.0]]},
            "steps": {"1": {"img_file": img_file, "joint_angles": [0.0, -0.3, 0.0, -2.2, 0.0, 2.0, 0.8]}}}
    (root / "info.json").write_text(json.dumps(info))
    return root


def test_photo_names_that_leave_the_data_folder_are_refused(tmp_path, capsys):
    """A real-photo info.json whose img_file is ``../...`` or absolute was read from
    outside --data and evaluated with exit 0; now one line and exit 1, nothing read."""
    from robotpose_lib.real_panda import load_real_panda

    outside = _photo_folder(tmp_path / "elsewhere")
    for name in ("../elsewhere/f0.png", str(outside / "f0.png")):
        folder = _photo_folder(tmp_path / "data", name)
        with pytest.raises(ValueError, match="leaves the folder") as err:
            load_real_panda(folder)
        assert "\n" not in str(err.value) and "info.json" in str(err.value) and "img_file" in str(err.value)
        assert run_command("eval", ["real", "--data", str(folder), "--instances", "none"]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "leaves the folder" in err[0] and repr(name) in err[0]


def test_a_download_whose_served_name_leaves_the_folder_writes_nothing_outside(tmp_path, monkeypatch):
    import io
    import json
    import urllib.request

    from robotpose_lib import real_panda

    served = {"info.json": json.dumps({"steps": {"0": {"img_file": "rgb/0.png"}, "1": {"img_file": "../x"}}}),
              "rgb/0.png": "png bytes", "../x": "escaped"}
    fetched = []

    def urlopen(url, timeout):  # the network, mocked: serves by file name
        name = url.split(real_panda.EPISODE_FOLDER + "/", 1)[1]
        fetched.append(name)
        return io.BytesIO(served[name].encode())

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    dest = tmp_path / "a" / "dest"
    with pytest.raises(ValueError, match=r"img_file '\.\./x' leaves the folder") as err:
        real_panda.download_panda_episode(dest)
    assert "\n" not in str(err.value)
    assert fetched == ["info.json"]  # every name is checked before any frame is fetched
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()) == ["a/dest/info.json"]
    served["info.json"] = json.dumps({"steps": {"0": {"img_file": "rgb/0.png"}}})
    (dest / "info.json").unlink()
    assert real_panda.download_panda_episode(dest) == dest
    assert (dest / "rgb" / "0.png").read_text() == "png bytes"
    assert sorted(p.name for p in dest.rglob("*") if p.is_file()) == ["0.png", "info.json"]  # no temporary files


def test_eval_real_json_is_standard_json_with_null(tmp_path, capsys):
    """eval real --json wrote NaN tokens (about 150 on the default run) that standard JSON
    parsers reject; now null, written atomically, and a second run says it replaced it."""
    import json

    folder = _photo_folder(tmp_path / "data")
    out = tmp_path / "figures.json"
    assert run_command("eval", ["real", "--data", str(folder), "--instances", "none", "--json", str(out)]) == 0
    text = out.read_text()

    def refuse(token):
        raise ValueError(f"not standard JSON: {token}")

    doc = json.loads(text, parse_constant=refuse)
    assert "NaN" not in text and "null" in text and doc
    assert f"figures -> {out}" in capsys.readouterr().out
    assert run_command("eval", ["real", "--data", str(folder), "--instances", "none", "--json", str(out)]) == 0
    assert "replaced the earlier file" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["real", "--checkpoint", "assets/models/kuka_kr16_localization_cpu/model.pt", "--instances", "none"],
     "the model's keypoints (kuka_kr16) are not panda's"),
    (["twin", "--instances", "none", "--scene-robot", "panda_primitive"],
     "the twin ladder draws the arm from its URDF meshes"),
])
def test_eval_on_the_panda_photos_refuses_another_robots_model_and_a_primitive_twin(argv, message, capsys):
    from robotpose_lib.real_panda import find_real_panda_dir

    if find_real_panda_dir() is None:
        pytest.skip("the dev photos are not here")
    argv = [a.replace("assets/", str(ROOT / "assets") + "/") for a in argv]
    assert run_command("eval", argv) == 1
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
