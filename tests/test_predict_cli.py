"""`robotpose predict`: the JSON format, overlays, and every kind of bad input giving one
line and a non-zero exit code without stopping the other images (tiny untrained
checkpoints: nothing here depends on accuracy)."""
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from robotpose_lib.checkpoint import save_checkpoint
from robotpose_lib.models.instances import get_config as instance_config
from robotpose_lib.models.localization import get_config as localization_config
from robotpose_lib.cli import run_command
from robotpose_lib.tasks import InstanceTask, LocalizationTask, num_joints_of

K_ARGS = ["--fx", "60", "--fy", "60", "--cx", "31.5", "--cy", "23.5"]


def main(argv):
    """``robotpose predict ARGV``: exit code 0, 1 (an input failed) or 2 (usage)."""
    return run_command("predict", argv)
KEYS_ROBOT = {"score", "joints_2d", "joints_3d", "joint_scores"}


def _instance_checkpoint(path, robot="panda_primitive"):
    """An untrained quick-config instance checkpoint (48x64 input) in the trainer's format."""
    torch.manual_seed(0)
    loc_task = LocalizationTask(robot, localization_config("quick", input_size=(48, 64), backbone_weights=None),
                                num_joints_of(robot))
    task = InstanceTask(robot, instance_config("quick"), loc_task.config, loc_task.num_joints)
    return save_checkpoint(path, {"task": "instances", "robot": robot, "config": task.config_dict(), "step": 0,
                                  "model": task.build_model().state_dict(), "extra": task.extra()})


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("predict")
    rng = np.random.default_rng(0)
    out = {"ckpt": _instance_checkpoint(root / "inst.pt"), "root": root}
    for name, shape in (("a.png", (48, 64, 3)), ("b.jpg", (96, 128, 3))):
        Image.fromarray(rng.integers(0, 255, shape, dtype=np.uint8)).save(root / name)
        out[name] = root / name
    Image.fromarray(rng.integers(0, 255, (48, 64), dtype=np.uint8)).save(root / "gray.png")
    (root / "text.png").write_text("this is not an image\n")
    png = (root / "a.png").read_bytes()
    (root / "truncated.png").write_bytes(png[: len(png) // 2])
    Image.fromarray(np.zeros((1, 1, 3), np.uint8)).save(root / "tiny.png")
    (root / "K.json").write_text(json.dumps({"K": [[60, 0, 31.5], [0, 60, 23.5], [0, 0, 1]]}))
    (root / "K_2x2.json").write_text(json.dumps({"K": [[60, 0], [0, 60]]}))
    (root / "corrupt.pt").write_bytes(b"\x00garbage" * 10)
    return out


pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.py


def run(files, tmp_path, images, extra=(), capsys=None, k_args=K_ARGS):
    out = tmp_path / "preds.json"
    argv = [str(files[i]) if i in files else str(files["root"] / i) for i in images]
    argv += ["--robot", "panda_primitive", "--checkpoint", str(files["ckpt"]), "--out", str(out), *k_args, *extra]
    code = main(argv)
    captured = capsys.readouterr()
    doc = json.loads(out.read_text()) if out.exists() else None
    return code, doc, captured.err


def _one_line_naming(err, what, problem):
    lines = [line for line in err.splitlines() if what in line]
    assert len(lines) == 1 and problem in lines[0], err
    assert "Traceback" not in err


def test_writes_the_documented_json_and_overlays(files, tmp_path, capsys):
    code, doc, err = run(files, tmp_path, ["a.png", "b.jpg"], ["--overlay-dir", str(tmp_path / "ov")], capsys)
    assert code == 0, err
    assert set(doc) == {"robot", "joint_names", "images"} and doc["robot"] == "panda_primitive"
    assert len(doc["joint_names"]) == 7
    assert [(i["file"], i["width"], i["height"]) for i in doc["images"]] == [
        (str(files["a.png"]), 64, 48), (str(files["b.jpg"]), 128, 96)]
    for image in doc["images"]:
        assert set(image) == {"file", "width", "height", "robots"}
        scores = [r["score"] for r in image["robots"]]
        assert scores == sorted(scores, reverse=True)
        for r in image["robots"]:
            assert set(r) == KEYS_ROBOT
            assert len(r["joints_2d"]) == 7 and all(len(p) == 2 for p in r["joints_2d"])
            assert len(r["joints_3d"]) == 7 and all(len(p) == 3 for p in r["joints_3d"])
            # untrained beliefs find no joint: NaN -> null, score 0
            for p, s in zip(r["joints_2d"], r["joint_scores"]):
                assert (p == [None, None]) == (s == 0)
    text = (tmp_path / "preds.json").read_text()
    assert "NaN" not in text
    overlays = sorted(p.name for p in (tmp_path / "ov").iterdir())
    assert overlays == ["a.png", "b.png"]
    assert Image.open(tmp_path / "ov" / "b.png").size == (128, 96)


def test_intrinsics_file_gives_the_same_result(files, tmp_path, capsys):
    _, by_flags, _ = run(files, tmp_path, ["a.png"], capsys=capsys)
    code, by_file, _ = run(files, tmp_path, ["a.png"], capsys=capsys,
                           k_args=["--intrinsics", str(files["root"] / "K.json")])
    assert code == 0 and by_file == by_flags


def test_convertible_input_gets_one_warning_line(files, tmp_path, capsys):
    code, doc, err = run(files, tmp_path, ["gray.png"], capsys=capsys)
    assert code == 0 and len(doc["images"]) == 1
    _one_line_naming(err, "gray.png", "grayscale")


@pytest.mark.parametrize("bad, problem", [
    ("missing.png", "file not found"),
    ("text.png", "not an image"),
    ("truncated.png", "truncated"),
    ("tiny.png", "too small"),
])
def test_one_bad_file_does_not_stop_the_batch(files, tmp_path, capsys, bad, problem):
    code, doc, err = run(files, tmp_path, ["a.png", bad, "b.jpg"], capsys=capsys)
    assert code == 1
    assert [i["file"] for i in doc["images"]] == [str(files["a.png"]), str(files["b.jpg"])]
    _one_line_naming(err, bad, problem)


@pytest.mark.parametrize("k_args, problem", [
    (["--intrinsics", "K_2x2.json"], "shape"),
    (["--fx", "-60", "--fy", "60", "--cx", "31.5", "--cy", "23.5"], "positive"),
    (["--fx", "60", "--fy", "60"], "missing --cx --cy"),
    (["--intrinsics", "nowhere.json"], "file not found"),
])
def test_bad_intrinsics_fail_with_one_line(files, tmp_path, capsys, k_args, problem):
    k_args = [str(files["root"] / a) if a.endswith(".json") else a for a in k_args]
    code, doc, err = run(files, tmp_path, ["a.png"], capsys=capsys, k_args=k_args)
    assert code != 0 and doc is None
    assert len(err.strip().splitlines()) == 1 and problem in err and "Traceback" not in err


def test_checkpoint_for_another_robot_or_corrupt(files, tmp_path, capsys):
    out = str(tmp_path / "p.json")
    code = main([str(files["a.png"]), "--robot", "kuka_kr16", "--checkpoint", str(files["ckpt"]), "--out", out,
                 *K_ARGS])
    err = capsys.readouterr().err
    assert code != 0 and "robot is 'panda_primitive' in the checkpoint" in err and str(files["ckpt"]) in err
    code = main([str(files["a.png"]), "--robot", "panda_primitive", "--checkpoint", str(files["root"] / "corrupt.pt"),
                 "--out", out, *K_ARGS])
    err = capsys.readouterr().err
    assert code != 0 and "corrupt.pt" in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_command_line_entry_point_has_no_traceback(files, tmp_path):
    """Through the installed dispatcher: a missing reference checkpoint is one line."""
    res = subprocess.run([sys.executable, "-m", "robotpose_lib.cli", "predict", str(files["a.png"]), "--robot",
                          "panda_primitive", "--checkpoint", str(tmp_path / "none.pt"),
                          "--out", str(tmp_path / "p.json"),
                          *K_ARGS], capture_output=True, text=True, timeout=120)
    assert res.returncode != 0 and "none.pt" in res.stderr and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_two_predict_processes_writing_one_output(files, tmp_path):
    """Two ``robotpose predict`` processes with the same --out: the file is always one
    run's whole, standard JSON (written atomically), and a writer that finds the file
    written by the other while it ran says so in one warning line naming it. Whether the
    two runs overlap depends on the machine's load (a busy CI machine can finish one before
    the other starts), so the warning is checked for its wording, not required; the
    concurrent-write rule itself is tested deterministically in test_fileio.py."""
    out = tmp_path / "same.json"
    procs = [subprocess.Popen([sys.executable, "-m", "robotpose_lib.cli", "predict", str(files[image]), "--robot",
                               "panda_primitive", "--checkpoint", str(files["ckpt"]), "--out", str(out), *K_ARGS],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for image in ("a.png", "b.jpg")]
    results = [(p.wait(timeout=120), *p.communicate()) for p in procs]
    assert [code for code, _, _ in results] == [0, 0], results

    def refuse(token):
        raise ValueError(f"not standard JSON: {token}")

    doc = json.loads(out.read_text(), parse_constant=refuse)
    assert [Path(i["file"]).name for i in doc["images"]] in (["a.png"], ["b.jpg"])
    for _, _, err in results:
        assert not err or err.strip() == (f"robotpose predict: warning: {out} was written by another process while "
                                          f"this one ran; replaced with this run's output"), err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["same.json"]


def test_a_per_image_camera_file_outside_the_mapping_folder_is_refused(files, tmp_path, capsys):
    (tmp_path / "cams").mkdir()
    (tmp_path / "K.json").write_text(json.dumps({"K": [[60, 0, 31.5], [0, 60, 23.5], [0, 0, 1]]}))
    for target in ("../K.json", str(tmp_path / "K.json")):
        (tmp_path / "cams" / "cameras.json").write_text(json.dumps({"a.png": target}))
        code = main([str(files["a.png"]), "--robot", "panda_primitive", "--checkpoint", str(files["ckpt"]), "--out",
                     str(tmp_path / "p.json"), "--intrinsics", str(tmp_path / "cams" / "cameras.json")])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 1 and len(err) == 1 and "camera file" in err[0] and "leaves the folder" in err[0], err


# ------------------------------------------------------------------ a folder of user photos

@pytest.fixture(scope="module")
def photo_folder(tmp_path_factory):
    """A folder as a user has it: good files of several kinds, phone-style JPEGs, and one
    file of each bad kind, with per-image intrinsics in cameras.json."""
    from robotpose_lib.camera import scale_intrinsics
    from robotpose_lib.camera_io import apply_orientation
    from robotpose_lib.data import SyntheticDataset

    root = tmp_path_factory.mktemp("photos")
    plain = SyntheticDataset("panda_primitive", 10, size=(240, 320), seed=777)[9]
    wide = SyntheticDataset("panda_primitive", 10, size=(240, 427), seed=777)[9]
    K = plain.K.astype(float)
    cams = {}
    Image.fromarray(plain.image).save(root / "plain.png")
    cams["plain.png"] = {"K": K.tolist()}
    # phone style: 640x480 upright, stored rotated with EXIF orientation 6 and camera tags,
    # calibrated at 1280x960 (K file with width/height, referenced by name)
    exif = Image.Exif()
    exif[0x0112], exif[0x010F], exif[0x0110] = 6, "PhoneMaker", "Phone 12"
    big = np.repeat(np.repeat(plain.image, 2, 0), 2, 1)
    Image.fromarray(apply_orientation(big, 8)).save(root / "IMG_0001.JPG", exif=exif, quality=92)
    (root / "phone_cam.json").write_text(json.dumps({"K": scale_intrinsics(K, 4, 4).tolist(), "width": 1280,
                                                     "height": 960}))
    cams["IMG_0001.JPG"] = "phone_cam.json"
    Image.fromarray(wide.image).save(root / "wide.png")
    cams["wide.png"] = {"K": wide.K.astype(float).ravel().tolist(), "width": 427, "height": 240, "D": [0] * 5}
    cv2.imwrite(str(root / "twelve_bit.png"), (plain.image.astype(np.uint16) << 4)[..., ::-1])
    cams["twelve_bit.png"] = {"K": K.tolist()}
    # bad ones
    (root / "broken.jpg").write_text("not a photo\n")
    cams["broken.jpg"] = {"K": K.tolist()}
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(root / "tiny.png")
    cams["tiny.png"] = {"K": K.tolist()}
    Image.fromarray(plain.image).save(root / "wrong_k.png")
    cams["wrong_k.png"] = {"K": scale_intrinsics(K, 4, 4).tolist()}  # 1280x960 K, no size given
    Image.fromarray(plain.image).save(root / "no_entry.png")
    (root / "notes.txt").write_text("calibration notes\n")
    (root / "cameras.json").write_text(json.dumps(cams))
    return root


@pytest.mark.slow
def test_a_folder_of_mixed_photos(photo_folder, tmp_path, capsys):
    """Results for every good file, one stderr line per problem (each bad file named once,
    each conversion or K rescale one warning), exit code 1 because some inputs failed."""
    out = tmp_path / "preds.json"
    code = main([str(photo_folder), "--robot", "panda_primitive", "--intrinsics", str(photo_folder / "cameras.json"),
                 "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    doc = json.loads(out.read_text())
    got = {Path(i["file"]).name: i for i in doc["images"]}
    assert sorted(got) == ["IMG_0001.JPG", "plain.png", "twelve_bit.png", "wide.png"]
    assert (got["IMG_0001.JPG"]["width"], got["IMG_0001.JPG"]["height"]) == (640, 480)  # upright
    assert (got["wide.png"]["width"], got["wide.png"]["height"]) == (427, 240)
    for name, image in got.items():
        found = [sum(p != [None, None] for p in r["joints_2d"]) for r in image["robots"]]
        assert found and max(found) >= 4, (name, found)
    # the phone photo's best robot is the plain one's, at 2x the pixels (u -> 2u + 0.5)
    best = lambda image: max(image["robots"], key=lambda r: r["score"])
    a, b = np.array(best(got["plain.png"])["joints_2d"], float), np.array(best(got["IMG_0001.JPG"])["joints_2d"], float)
    ok = np.isfinite(a).all(1) & np.isfinite(b).all(1)
    assert ok.sum() >= 4 and np.median(np.abs((b[ok] + 0.5) / 2 - 0.5 - a[ok])) < 1.0
    lines = err.strip().splitlines()
    for bad, problem in (("broken.jpg", "not an image"), ("tiny.png", "too small"),
                         ("wrong_k.png", "principal point"), ("no_entry.png", "no intrinsics")):
        _one_line_naming(err, bad, problem)
    _one_line_naming(err, "twelve_bit.png", "12 significant bits")
    _one_line_naming(err, "phone_cam.json", "rescaled")
    assert len(lines) == 6, err
    assert "notes.txt" not in err and "cameras.json" not in err.replace(str(photo_folder / "cameras.json"), "")
