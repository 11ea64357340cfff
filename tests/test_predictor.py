"""Predictor: resizing with K, focal-normalised depth, masks and score order (checked on
a stand-in network with known outputs), checkpoint loading and input handling (on tiny
untrained checkpoints: nothing here depends on accuracy)."""
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from robotpose_lib.checkpoint import CheckpointError, save_checkpoint
from robotpose_lib.image_io import ImageInputError, IntrinsicsError
from robotpose_lib.models.instances import Instance
from robotpose_lib.models.instances import get_config as instance_config
from robotpose_lib.models.localization import get_config as localization_config
from robotpose_lib.predictor import Predictor, pretrained_paths
from robotpose_lib.targets import DepthCoding
from robotpose_lib.tasks import InstanceTask, LocalizationTask, num_joints_of

NET = (48, 64)  # network input (H, W)


def save_tiny_checkpoints(folder, robot="panda_primitive", size=NET, seed=0):
    """Untrained quick-config localization + instance checkpoints in the trainer's format."""
    torch.manual_seed(seed)
    loc_task = LocalizationTask(robot, localization_config("quick", input_size=size, backbone_weights=None),
                                num_joints_of(robot))
    loc = loc_task.build_model()
    (folder / f"{robot}_localization_cpu").mkdir(parents=True, exist_ok=True)
    (folder / f"{robot}_instances_cpu").mkdir(parents=True, exist_ok=True)
    loc_path = save_checkpoint(folder / f"{robot}_localization_cpu" / "model.pt", {
        "task": "localization", "robot": robot, "config": loc_task.config_dict(), "step": 0,
        "model": loc.state_dict(), "extra": loc_task.extra()})
    inst_task = InstanceTask(robot, instance_config("quick"), loc_task.config, loc_task.num_joints)
    model = inst_task.build_model()
    model.localization.load_state_dict(loc.state_dict())
    inst_path = save_checkpoint(folder / f"{robot}_instances_cpu" / "model.pt", {
        "task": "instances", "robot": robot, "config": inst_task.config_dict(), "step": 0,
        "model": model.state_dict(), "extra": inst_task.extra()})
    return loc_path, inst_path


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    return save_tiny_checkpoints(tmp_path_factory.mktemp("ckpt"))


pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.py


# ------------------------------------------------------------------ stand-in networks
CODING = DepthCoding(0.3, 5.0)
JOINTS_NET = np.array([[10.3, 12.6], [40.7, 30.2], [55.0, 8.4]])  # (x, y) at network resolution
DEPTHS = np.array([1.5, 2.0, 3.0])  # metres


class KnownLocalization(nn.Module):
    """Outputs Gaussians at JOINTS_NET and, around each, the depth code of DEPTHS for the
    focal length of the network-resolution grid (``fx_net``)."""

    def __init__(self, fx_net):
        super().__init__()
        self.num_joints = 3
        self.config = SimpleNamespace(input_size=NET)
        self.backbone = SimpleNamespace(out_channels=4)
        self.fx_net = fx_net
        self.calls = []

    def forward(self, images, upsample="last"):
        self.calls.append(tuple(images.shape))
        B = images.shape[0]
        H, W = NET
        yy, xx = np.mgrid[:H, :W]
        beliefs = np.stack([np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * 2.0 ** 2)) for x, y in JOINTS_NET])
        nearest = np.argmin([(xx - x) ** 2 + (yy - y) ** 2 for x, y in JOINTS_NET], axis=0)
        depth = CODING.encode(DEPTHS[nearest], self.fx_net, W)[None]
        b = torch.tensor(beliefs, dtype=torch.float32)[None].expand(B, -1, -1, -1)
        d = torch.tensor(depth, dtype=torch.float32)[None].expand(B, -1, -1, -1)
        low = torch.zeros(B, 4, H // 8, W // 8)
        return SimpleNamespace(beliefs=b, depth=d, features=torch.zeros(B, 4, H // 8, W // 8), low_res=[low])


class HalvesInstances(nn.Module):
    """Two instances: the right half (score 0.6) and the left half (score 0.9)."""

    in_channels = 4 + 3 + 1

    def predict(self, F, out_size, **kwargs):
        H, W = out_size
        left = torch.zeros(H, W)
        left[:, : W // 2] = 1.0
        return [[Instance(1 - left, 0.6, None), Instance(left, 0.9, None)] for _ in range(F.shape[0])]


def _K(fx, fy, cx, cy):
    return np.array([[fx, 0, cx], [0, fy, cy], [0, 0, 1.0]])


def test_resize_maps_joints_back_and_decodes_depth_with_the_network_focal_length():
    # input 2x the network size: network pixel u maps to (u + 0.5) * 2 - 0.5
    K_in = _K(120.0, 120.0, 63.0, 48.5)
    fx_net = 120.0 * NET[1] / 128
    pred = Predictor(KnownLocalization(fx_net), None, "panda_primitive", depth_coding=CODING, device="cpu")
    image = np.zeros((96, 128, 3), np.uint8)
    (pose,) = pred(image, K_in)
    expected_uv = (JOINTS_NET + 0.5) * 2 - 0.5
    assert np.abs(pose.joints_2d - expected_uv).max() < 0.05
    # 3D = Z K_in^-1 [u, v, 1] with the input K and the input pixels
    rays = np.c_[expected_uv, np.ones(3)] @ np.linalg.inv(K_in).T
    assert np.abs(pose.joints_3d - rays * DEPTHS[:, None]).max() < 0.01
    assert pose.mask is None and pose.score == 1.0 and (pose.joint_scores > 0.9).all()


def test_other_aspect_ratio_is_letterboxed_not_squeezed():
    # 96x176 (11:6) into 48x64 (4:3): scale 64/176 = 0.364 across, 35/96 down (the content
    # height rounds to 35 rows), placed at rows 6..40; all three joints lie inside
    K_in = _K(176.0, 176.0, 87.5, 47.5)
    pred = Predictor(KnownLocalization(64.0), None, "panda_primitive", depth_coding=CODING, device="cpu", fit="pad")
    view = pred.prepare(np.zeros((96, 176, 3), np.uint8), K_in).view
    assert view.offset == (0, 6) and view.scale == (64 / 176, 35 / 96) and view.content_box == (0, 6, 64, 41)
    assert view.K_net[0, 0] == pytest.approx(64.0) and view.network_camera.focal == pytest.approx(64.0, rel=0.003)
    pred.localization.fx_net = view.network_camera.focal  # the network "sees" the depth at this focal length
    (pose,) = pred(np.zeros((96, 176, 3), np.uint8), K_in)
    expected_uv = (JOINTS_NET - view.offset + 0.5) / view.scale - 0.5
    assert np.abs(pose.joints_2d - expected_uv).max() < 0.05
    rays = np.c_[expected_uv, np.ones(3)] @ np.linalg.inv(K_in).T
    assert np.abs(pose.joints_3d - rays * DEPTHS[:, None]).max() < 0.01  # the same metric depth


def test_peaks_on_the_letterbox_padding_are_ignored():
    # 96x256 (8:3): content 24x64 at rows 12..35; joint 2 (y = 8.4) lies on the padding
    # (min_score 0.5: its Gaussian's tail on the content, 0.2 at row 12, is not a peak)
    pred = Predictor(KnownLocalization(200.0 / 4), None, "panda_primitive", depth_coding=CODING, device="cpu",
                     min_score=0.5, fit="pad")
    (pose,) = pred(np.zeros((96, 256, 3), np.uint8), _K(200.0, 200.0, 127.5, 47.5))
    assert np.isfinite(pose.joints_2d[:2]).all() and np.isnan(pose.joints_2d[2]).all()
    assert pose.joint_scores[2] == 0


def test_non_square_pixels_are_made_square_for_the_network():
    # fy = 2 fx: the image is resampled so that fx_net = fy_net = 30 (96x128 -> 24x64: x by
    # 1/2, y by 1/4, at rows 12..35), and depth is decoded with that focal length
    K_in = _K(60.0, 120.0, 63.5, 47.5)
    pred = Predictor(KnownLocalization(30.0), None, "panda_primitive", depth_coding=CODING, device="cpu", min_score=0.5,
                     fit="pad")
    with pytest.warns(UserWarning, match="non-square"):
        prepared = pred.prepare(np.zeros((96, 128, 3), np.uint8), K_in)
    assert prepared.view.scale == (0.5, 0.25) and prepared.view.offset == (0, 12)
    assert prepared.K_net[0, 0] == prepared.K_net[1, 1] == 30.0
    with pytest.warns(UserWarning, match="non-square"):
        (pose,) = pred(np.zeros((96, 128, 3), np.uint8), K_in)
    assert np.isfinite(pose.joints_2d[:2]).all() and np.isnan(pose.joints_2d[2]).all()  # joint 2: padding
    uv = np.c_[(JOINTS_NET[:2, 0] + 0.5) * 2 - 0.5, (JOINTS_NET[:2, 1] - 12 + 0.5) * 4 - 0.5]
    assert np.abs(pose.joints_2d[:2] - uv).max() < 0.05
    rays = np.c_[uv, np.ones(2)] @ np.linalg.inv(K_in).T
    assert np.abs(pose.joints_3d[:2] - rays * DEPTHS[:2, None]).max() < 0.01


def test_depth_scales_with_the_focal_length_of_the_input():
    # The same pixels through a camera with twice the focal length: the decoded depth
    # doubles (Z' = Z f_ref / f_x is what the network sees), as in targets.DepthCoding.
    fx_net = 100.0 * NET[1] / 128
    pred = Predictor(KnownLocalization(fx_net), None, "panda_primitive", depth_coding=CODING, device="cpu")
    image = np.zeros((96, 128, 3), np.uint8)
    z1 = pred(image, _K(100.0, 100.0, 63.5, 47.5))[0].joints_3d[:, 2]
    z2 = pred(image, _K(200.0, 200.0, 63.5, 47.5))[0].joints_3d[:, 2]
    assert np.allclose(z1, DEPTHS, atol=1e-3) and np.allclose(z2, 2 * DEPTHS, atol=1e-3)


def test_instances_mask_the_beliefs_and_come_ordered_by_score():
    fx_net = 100.0 * NET[1] / 64
    pred = Predictor(KnownLocalization(fx_net), HalvesInstances(), "panda_primitive", depth_coding=CODING, device="cpu")
    image = np.zeros((48, 64, 3), np.uint8)
    poses = pred(image, _K(100.0, 100.0, 31.5, 23.5))
    # each robot's score: its mask confidence (0.9 left, 0.6 right) x its mean joint belief
    # (decode.select_instances); best first
    by_side = {("left" if np.isfinite(p.joints_2d[0]).all() else "right"): p for p in poses}
    left, right = by_side["left"], by_side["right"]
    assert left.score == pytest.approx(0.9 * float(np.mean(left.joint_scores)), rel=1e-5)
    assert right.score == pytest.approx(0.6 * float(np.mean(right.joint_scores)), rel=1e-5)
    assert [p.score for p in poses] == sorted([left.score, right.score], reverse=True)
    # joint 0 lies in the left half, joints 1 and 2 in the right half
    assert np.isfinite(left.joints_2d[0]).all() and np.isnan(left.joints_2d[1:]).all()
    assert (left.joint_scores[1:] == 0).all()
    assert np.isnan(right.joints_2d[0]).all() and np.abs(right.joints_2d[1:] - JOINTS_NET[1:]).max() < 0.05
    assert left.mask.shape == (48, 64) and left.mask[:, :32].min() == 1.0


def test_batched_call_takes_lists_and_one_or_many_K():
    fx_net = 100.0 * NET[1] / 128
    loc = KnownLocalization(fx_net)
    pred = Predictor(loc, None, "panda_primitive", depth_coding=CODING, device="cpu")
    a, b = np.zeros((96, 128, 3), np.uint8), np.zeros((48, 64, 3), np.uint8)
    K_a, K_b = _K(100.0, 100.0, 63.5, 47.5), _K(50.0, 50.0, 31.5, 23.5)
    out = pred([a, b], [K_a, K_b])
    assert len(out) == 2 and all(len(r) == 1 for r in out)
    assert loc.calls[-1] == (2, 3, *NET)  # one batched forward pass
    # both inputs show the same network image with the same K at network resolution
    assert np.allclose(out[0][0].joints_3d, out[1][0].joints_3d, atol=1e-4)
    assert np.allclose(out[1][0].joints_2d, JOINTS_NET, atol=0.05)
    same_K = pred([a, a], K_a)
    assert np.allclose(same_K[0][0].joints_3d, out[0][0].joints_3d)


# ------------------------------------------------------------------ real (untrained) models
def test_load_instance_checkpoint_and_predict(checkpoints):
    _, inst = checkpoints
    pred = Predictor.load(inst, device="cpu")
    assert pred.instances is not None and pred.robot == "panda_primitive" and pred.input_size == NET
    image = np.random.default_rng(0).integers(0, 255, (60, 90, 3), dtype=np.uint8)
    poses = pred(image, _K(80.0, 80.0, 44.5, 29.5))
    assert len(poses) <= pred.max_instances
    scores = [p.score for p in poses]
    assert scores == sorted(scores, reverse=True)
    for p in poses:
        assert p.joints_2d.shape == (7, 2) and p.joints_3d.shape == (7, 3) and p.joint_scores.shape == (7,)
        assert p.mask.shape == (60, 90)
        # a joint is either found (finite 2D, score > min_score) or NaN with score 0
        found = np.isfinite(p.joints_2d).all(axis=1)
        assert ((p.joint_scores > pred.min_score) == found).all()


def test_path_tensor_and_array_inputs_agree(checkpoints, tmp_path):
    from PIL import Image

    pred = Predictor.load(checkpoints[1], device="cpu")
    image = np.random.default_rng(1).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    Image.fromarray(image).save(tmp_path / "x.png")
    K = _K(60.0, 60.0, 31.5, 23.5)
    from_array = pred(image, K)
    from_path = pred(str(tmp_path / "x.png"), K)
    from_tensor = pred(torch.from_numpy(image).permute(2, 0, 1).float() / 255, torch.tensor(K))
    for other in (from_path, from_tensor):
        assert len(other) == len(from_array)
        for p, q in zip(other, from_array):
            assert p.score == pytest.approx(q.score)


def test_localization_only_checkpoint_assumes_one_robot(checkpoints):
    with pytest.warns(UserWarning, match="one robot per image"):
        pred = Predictor.load(checkpoints[0], device="cpu")
    assert pred.instances is None
    assert len(pred(np.zeros((48, 64, 3), np.uint8), _K(60, 60, 31.5, 23.5))) == 1


def test_from_pretrained_names_the_missing_file(tmp_path, checkpoints):
    with pytest.raises(FileNotFoundError, match="panda_primitive_localization_cpu/model.pt"):
        Predictor.from_pretrained("panda_primitive", models_dir=tmp_path)
    folder = checkpoints[0].parent.parent
    pred = Predictor.from_pretrained("panda_primitive", models_dir=folder, device="cpu")
    assert pred.instances is not None
    assert pretrained_paths("panda_primitive", models_dir=folder) == checkpoints


def test_checkpoint_for_another_robot_or_corrupt_is_one_line_error(checkpoints, tmp_path):
    with pytest.raises(CheckpointError, match="robot is 'panda_primitive' in the checkpoint"):
        Predictor.load(checkpoints[1], robot="kuka_kr16")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError) as err:
        Predictor.load(bad)
    assert str(bad) in str(err.value) and "\n" not in str(err.value)


def test_bad_images_and_intrinsics_raise_one_line_errors(checkpoints, tmp_path):
    pred = Predictor.load(checkpoints[1], device="cpu")
    K = _K(60.0, 60.0, 31.5, 23.5)
    with pytest.raises(ImageInputError, match="too small"):
        pred(np.zeros((1, 1, 3), np.uint8), K)
    with pytest.raises(ImageInputError, match="file not found"):
        pred(str(tmp_path / "missing.png"), K)
    with pytest.raises(IntrinsicsError, match="shape"):
        pred(np.zeros((48, 64, 3), np.uint8), np.eye(2))
    with pytest.raises(IntrinsicsError, match="positive"):
        pred(np.zeros((48, 64, 3), np.uint8), _K(-60.0, 60.0, 31.5, 23.5))


def test_rejects_unknown_method_and_mismatched_instance_model():
    loc = KnownLocalization(100.0)
    with pytest.raises(ValueError, match="method"):
        Predictor(loc, None, "panda_primitive", method="blob")
    wrong = HalvesInstances()
    wrong.in_channels = 5
    with pytest.raises(ValueError, match="input channels"):
        Predictor(loc, wrong, "panda_primitive")


def test_the_default_instance_model_follows_the_stated_rule(tmp_path):
    """checkpoint.default_instance_task: mask AP@0.5 + counting accuracy on synthetic
    validation scenes (the test set and the dev photos only measure: neither decides);
    ties keep the paper's model."""
    import json

    from robotpose_lib.checkpoint import default_instance_task

    def model(task, ap50, counting, auc=None, test=(1.0, 1.0)):
        folder = tmp_path / f"panda_{task}_cpu"
        folder.mkdir(exist_ok=True)
        (folder / "model.pt").write_bytes(b"")
        figures = {"mask_ap50": ap50, "counting_accuracy": counting}
        evals = {"test": {"figures": {"mask_ap50": test[0], "counting_accuracy": test[1]}}}
        if ap50 is not None:
            evals["validation"] = {"figures": figures}
        if auc is not None:
            evals["real"] = {"figures": {"model": {"all": {"auc": auc}}}}
        (folder / "eval.json").write_text(json.dumps(evals))

    assert default_instance_task("panda", folder=tmp_path) == "instances"   # nothing shipped: the paper's
    model("onepass", None, None)
    assert default_instance_task("panda", folder=tmp_path) == "onepass"     # the only one shipped
    model("instances", None, None)
    assert default_instance_task("panda", folder=tmp_path) == "instances"   # nothing measured
    model("onepass", None, None, test=(0.0, 0.0))
    assert default_instance_task("panda", folder=tmp_path) == "instances"   # test figures alone do not decide
    model("instances", 0.25, 0.35, auc=0.08, test=(0.0, 0.0))
    model("onepass", 0.10, 0.10)
    assert default_instance_task("panda", folder=tmp_path) == "instances"   # validation, not test, decides
    model("instances", 0.25, 0.35, auc=0.08)
    model("onepass", 0.80, 0.80, auc=0.06)
    assert default_instance_task("panda", folder=tmp_path) == "onepass"     # 1.66 against 0.68
    model("instances", 0.70, 0.70, auc=0.30)
    assert default_instance_task("panda", folder=tmp_path) == "onepass"     # 1.40 against 1.60: photos do not count
    model("instances", 0.80, 0.80)
    assert default_instance_task("panda", folder=tmp_path) == "instances"   # a tie keeps the paper's


def test_from_pretrained_names_what_a_robot_ships_and_former_names():
    """The mesh Panda ships a one-pass model only: asking for the recurrent one says so and
    how to go without; a former robot name says what it is now."""
    with pytest.raises(FileNotFoundError, match="'panda' ships 'onepass' only; without one"):
        Predictor.from_pretrained("panda", instances="instances")
    with pytest.raises(FileNotFoundError, match="'panda_mesh' is now 'panda'"):
        Predictor.from_pretrained("panda_mesh")
    assert Predictor.from_pretrained("panda", instances="default").instances is not None
