"""Targets: belief Gaussians, depth discs, weights, focal-normalised inverse depth."""
import math

import numpy as np
import pytest
import torch

from robotpose_lib.targets import (DepthCoding, LocalizationCollate, TargetParams, make_targets,
                                   resize_sample)
from robotpose_lib.types import Sample


def make_sample(joints_3d, f=100.0, size=(60, 80)):
    """A sample with the given camera-frame joints (R, J, 3) projected with focal f."""
    H, W = size
    joints_3d = np.asarray(joints_3d, np.float32)
    R, J = joints_3d.shape[:2]
    K = np.array([[f, 0, (W - 1) / 2], [0, f, (H - 1) / 2], [0, 0, 1]], np.float32)
    uv = joints_3d[..., :2] / joints_3d[..., 2:] * f + K[:2, 2]
    image = np.zeros((H, W, 3), np.uint8)
    return Sample(image=image, masks=np.zeros((R, H, W), bool), depth=np.zeros((H, W), np.float32),
                  joints_2d=uv.astype(np.float32), joints_3d=joints_3d,
                  visibility=np.ones((R, J), bool), K=K, joint_angles=np.zeros((R, 0), np.float32),
                  base_poses=np.tile(np.eye(4, dtype=np.float32), (R, 1, 1)),
                  camera_pose=np.eye(4, dtype=np.float32), robot="toy")


def test_beliefs_are_gaussians_max_over_robots():
    s = make_sample([[[0.0, 0.0, 2.0], [0.3, 0.1, 2.0]], [[-0.4, -0.2, 3.0], [5.0, 0.0, 1.0]]])
    p = TargetParams(sigma=2.5, phi=0.3, depth=DepthCoding(0.5, 10.0))
    t = make_targets(s, params=p)
    assert t["beliefs"].shape == (2, 60, 80) and t["depth"].shape == (1, 60, 80)
    ys, xs = np.mgrid[0:60, 0:80]
    # joint 0 of both robots: independent max of two Gaussians
    g = [np.exp(-((xs - u) ** 2 + (ys - v) ** 2) / (2 * 2.5 ** 2)) for u, v in s.joints_2d[:, 0]]
    np.testing.assert_allclose(t["beliefs"][0], np.maximum(*g), atol=1e-6)
    # joint 1 of robot 1 projects far outside the frame: only robot 0's Gaussian is drawn
    u, v = s.joints_2d[0, 1]
    np.testing.assert_allclose(t["beliefs"][1], np.exp(-((xs - u) ** 2 + (ys - v) ** 2) / 12.5), atol=1e-6)


def test_joint_selection_modes():
    s = make_sample([[[0.0, 0.0, 2.0], [0.83, 0.0, 2.0]]])  # joint 1 just right of the frame
    assert s.joints_2d[0, 1, 0] > 80
    assert make_targets(s, params=TargetParams(joints="in_frame"))["beliefs"][1].max() == 0
    assert make_targets(s, params=TargetParams(joints="all"))["beliefs"][1].max() > 0.01
    s.visibility[0, 0] = False
    assert make_targets(s, params=TargetParams(joints="visible"))["beliefs"][0].max() == 0
    with pytest.raises(ValueError, match="joints"):
        TargetParams(joints="some")


def test_weights_are_discs_with_joint_depth():
    coding = DepthCoding(0.5, 10.0, fx_over_width_ref=100.0 / 80)  # f_ref == f: no rescale
    p = TargetParams(sigma=3.0, phi=0.3, depth=coding)
    s = make_sample([[[-0.5, 0.0, 2.0], [0.6, 0.2, 4.0]]])
    t = make_targets(s, params=p)
    radius = 3.0 * math.sqrt(2 * math.log(1 / 0.3))
    assert abs(t["weight"].sum() - 2 * math.pi * radius ** 2) < 0.15 * 2 * math.pi * radius ** 2
    np.testing.assert_array_equal(t["weight"][0], t["beliefs"].max(0) >= 0.3)
    assert np.all(t["depth"][t["weight"] == 0] == 0)
    z = coding.decode(t["depth"][0], 100.0, 80)
    for (u, v), zj in zip(s.joints_2d[0], s.joints_3d[0, :, 2]):
        near = (np.hypot(*np.mgrid[0:60, 0:80][::-1] - np.array([u, v])[:, None, None]) < radius - 1)
        np.testing.assert_allclose(z[near], zj, rtol=1e-5)


def test_depth_coding_range_and_round_trip():
    c = DepthCoding(0.5, 10.0, fx_over_width_ref=1.0)
    assert c.encode(0.5, 80.0, 80) == pytest.approx(1.0)
    assert c.encode(10.0, 80.0, 80) == pytest.approx(0.0, abs=1e-12)
    assert c.encode(20.0, 80.0, 80) == pytest.approx(0.0, abs=1e-12)  # clamped
    z = np.linspace(0.5, 10.0, 17)
    np.testing.assert_allclose(c.decode(c.encode(z, 80.0, 80), 80.0, 80), z, rtol=1e-6)
    zt = torch.linspace(0.6, 9.0, 5, dtype=torch.float64)
    torch.testing.assert_close(c.decode(c.encode(zt, 80.0, 80), 80.0, 80), zt)
    with pytest.raises(ValueError):
        DepthCoding(2.0, 1.0)


@pytest.mark.parametrize("kind", DepthCoding.KINDS)
def test_depth_codes_round_trip_and_keep_their_orientation(kind):
    c = DepthCoding(0.8, 13.0, fx_over_width_ref=1.0, kind=kind)
    z = np.linspace(0.8, 13.0, 33)
    d = c.encode(z, 80.0, 80)
    assert d[0] == pytest.approx(1.0) and d[-1] == pytest.approx(0.0, abs=1e-12)
    assert np.all(np.diff(d) < 0)  # nearer is larger
    np.testing.assert_allclose(c.decode(d, 80.0, 80), z, rtol=1e-9)
    zt = torch.linspace(1.0, 12.0, 5, dtype=torch.float64)
    torch.testing.assert_close(c.decode(c.encode(zt, 80.0, 80), 80.0, 80), zt)


def test_log_code_gives_equal_relative_error_the_same_code_error():
    # The reason for the log code: 10% too far costs the same at 1 m and at 10 m, while
    # the paper's inverse code charges the far error far less.
    log = DepthCoding(0.8, 13.0, fx_over_width_ref=1.0, kind="log")
    inv = DepthCoding(0.8, 13.0, fx_over_width_ref=1.0)
    for c, ratio in ((log, 1.0), (inv, 0.1)):
        e_near = abs(c.encode(1.0, 80.0, 80) - c.encode(1.1, 80.0, 80))
        e_far = abs(c.encode(10.0, 80.0, 80) - c.encode(11.0, 80.0, 80))
        assert e_far / e_near == pytest.approx(ratio, rel=0.01)
    with pytest.raises(ValueError, match="kind"):
        DepthCoding(0.8, 13.0, kind="linear")


def test_depth_is_metric_across_focal_lengths():
    c = DepthCoding(0.3, 12.0)
    p = TargetParams(sigma=2.0, depth=c)
    joints = np.array([[[0.1, -0.05, 2.0], [-0.2, 0.1, 3.0]]], np.float32)
    near = make_sample(joints, f=100.0)
    # Same image from twice the distance with twice the focal length (the same lateral
    # extent seen through a longer lens): identical targets.
    far = make_sample(joints * np.array([1, 1, 2], np.float32), f=200.0)
    np.testing.assert_allclose(near.joints_2d, far.joints_2d, atol=1e-4)
    t_near, t_far = make_targets(near, params=p), make_targets(far, params=p)
    np.testing.assert_allclose(t_near["depth"], t_far["depth"], atol=1e-6)
    # ...but each decodes to its own metric depth with its own focal length.
    u, v = np.round(near.joints_2d[0, 0]).astype(int)
    assert c.decode(t_near["depth"][0, v, u], 100.0, 80) == pytest.approx(2.0, rel=1e-5)
    assert c.decode(t_far["depth"][0, v, u], 200.0, 80) == pytest.approx(4.0, rel=1e-5)
    # Same scene, different zoom: different targets, same decoded metric depth.
    zoom = make_sample(joints, f=140.0)
    t_zoom = make_targets(zoom, params=p)
    u2, v2 = np.round(zoom.joints_2d[0, 1]).astype(int)
    assert c.decode(t_zoom["depth"][0, v2, u2], 140.0, 80) == pytest.approx(3.0, rel=1e-5)


def test_resize_keeps_projection_consistent():
    s = make_sample([[[0.13, -0.07, 2.0], [-0.3, 0.2, 3.0]]], f=100.0, size=(60, 80))
    s.image[int(round(s.joints_2d[0, 0, 1])), int(round(s.joints_2d[0, 0, 0]))] = 255
    r = resize_sample(s, (30, 40))
    assert r.image.shape == (30, 40, 3)
    proj = r.joints_3d[..., :2] / r.joints_3d[..., 2:] * np.diag(r.K)[:2] + r.K[:2, 2]
    np.testing.assert_allclose(proj, r.joints_2d, atol=1e-4)
    bright = np.unravel_index(r.image[..., 0].argmax(), r.image.shape[:2])
    assert abs(bright[0] - r.joints_2d[0, 0, 1]) <= 1 and abs(bright[1] - r.joints_2d[0, 0, 0]) <= 1


def test_collate_batches_at_input_size():
    s = make_sample([[[0.0, 0.0, 2.0]]], size=(60, 80))
    s.image[:] = 200
    batch = LocalizationCollate((30, 40), TargetParams(sigma=1.5))([s, s])
    assert batch["images"].shape == (2, 3, 30, 40) and batch["images"].dtype == torch.float32
    assert batch["beliefs"].shape == (2, 1, 30, 40) and batch["weight"].shape == (2, 1, 30, 40)
    assert batch["K"][0, 0, 0].item() == pytest.approx(50.0)
    assert batch["images"].max().item() == pytest.approx(200 / 255)


def test_targets_of_a_rendered_sample():
    data = pytest.importorskip("robotpose_lib.data")
    try:
        sample = data.SyntheticDataset("panda_primitive", 4, size=(60, 80), seed=3)[1]
    except (ImportError, FileNotFoundError) as exc:  # generator assets not there yet
        pytest.skip(f"synthetic data unavailable: {exc}")
    coding = DepthCoding(0.3, 5.0)
    t = make_targets(sample, params=TargetParams(sigma=2.0, depth=coding))
    J = sample.joints_2d.shape[1]
    assert t["beliefs"].shape == (J, 60, 80)
    fx = float(sample.K[0, 0])
    for r in range(sample.num_robots):
        for j in range(J):
            u, v = sample.joints_2d[r, j]
            if not (0 <= u <= 79 and 0 <= v <= 59) or sample.joints_3d[r, j, 2] <= 0:
                continue
            iu, iv = int(round(u)), int(round(v))
            assert t["beliefs"][j, iv, iu] > 0.8  # a Gaussian peak on every in-frame joint
            z = coding.decode(t["depth"][0, iv, iu], fx, 80)
            zs = sample.joints_3d[:, :, 2][np.hypot(*(sample.joints_2d - [u, v]).transpose(2, 0, 1)) < 1.5]
            assert np.min(np.abs(zs - z)) < 1e-3 * z  # the disc holds a nearby joint's depth
