"""The synthetic data generator (paper III-A): ground truth is exact and reproducible."""
import cv2
import numpy as np
import pytest

from robotpose_lib.robots import get_robot
from robotpose_lib.synth import SynthParams, generate, generate_one, params_for, sample_scene

H, W = 96, 128
ROBOTS = ["panda_primitive", "kuka_kr16"]


@pytest.fixture(scope="module", params=ROBOTS)
def batch(request):
    robot = request.param
    return robot, generate(robot, seed=3, indices=range(6), height=H, width=W)


def test_sample_shapes_and_types(batch):
    robot, samples = batch
    J = len(get_robot(robot).keypoint_names)
    for s in samples:
        R = s.num_robots
        assert s.image.shape == (H, W, 3) and s.image.dtype == np.uint8
        assert s.masks.shape == (R, H, W) and s.masks.dtype == bool
        assert s.depth.shape == (H, W) and s.depth.dtype == np.float32
        assert s.joints_2d.shape == (R, J, 2) and s.joints_3d.shape == (R, J, 3)
        assert s.visibility.shape == (R, J) and s.K.shape == (3, 3)
        assert s.joint_angles.shape == (R, get_robot(robot).dof)
        assert s.base_poses.shape == (R, 4, 4)
    assert any(s.num_robots > 0 for s in samples)


def test_joints_2d_is_projection_of_joints_3d_and_matches_opencv(batch):
    _, samples = batch
    for s in samples:
        if not s.num_robots:
            continue
        pts = s.joints_3d.reshape(-1, 3).astype(np.float64)
        ours = s.joints_2d.reshape(-1, 2)
        manual = (pts @ s.K.T.astype(np.float64))
        np.testing.assert_allclose(ours, manual[:, :2] / manual[:, 2:], atol=1e-3)
        cv, _ = cv2.projectPoints(pts, np.zeros(3), np.zeros(3), s.K.astype(np.float64), None)
        np.testing.assert_allclose(ours, cv.reshape(-1, 2), atol=1e-3)


def test_joints_3d_follow_forward_kinematics_and_poses(batch):
    robot, samples = batch
    model = get_robot(robot)
    import torch
    for s in samples:
        if not s.num_robots:
            continue
        kp, _ = model.forward_kinematics(torch.tensor(s.joint_angles))
        kp = kp.double().numpy()
        T = s.camera_pose.astype(np.float64) @ s.base_poses.astype(np.float64)  # (R, 4, 4)
        expected = np.einsum("rij,rkj->rki", T[:, :3, :3], kp) + T[:, None, :3, 3]
        np.testing.assert_allclose(s.joints_3d, expected, atol=1e-4)


def test_masks_agree_with_depth_and_do_not_overlap(batch):
    _, samples = batch
    for s in samples:
        union = s.masks.any(0)
        assert (s.masks.sum(0) <= 1).all()
        np.testing.assert_array_equal(union, s.depth > 0)
        np.testing.assert_array_equal(union, s.link_ids >= 0)
        assert (s.masks.reshape(s.num_robots, H * W).sum(1) > 0).all(), "empty masks must be dropped"


def test_visible_joints_lie_on_their_own_robot(batch):
    _, samples = batch
    checked = 0
    for s in samples:
        for r, j in zip(*np.nonzero(s.visibility)):
            u, v = np.rint(s.joints_2d[r, j]).astype(int)
            assert 0 <= u < W and 0 <= v < H
            patch = s.masks[r, max(0, v - 3): v + 4, max(0, u - 3): u + 4]
            assert patch.any(), f"visible joint {j} of robot {r} is off its mask"
            checked += 1
    assert checked > 0


def test_invisible_joints_outside_frame_are_marked(batch):
    _, samples = batch
    for s in samples:
        uv = s.joints_2d
        outside = (uv[..., 0] < -0.5) | (uv[..., 0] > W - 0.5) | (uv[..., 1] < -0.5) | (uv[..., 1] > H - 0.5)
        assert not (s.visibility & outside).any()


def test_same_seed_same_bytes_different_seed_differs():
    a = generate_one("panda_primitive", 7, 2, H, W)
    b = generate_one("panda_primitive", 7, 2, H, W)
    c = generate_one("panda_primitive", 8, 2, H, W)
    assert a.image.tobytes() == b.image.tobytes()
    assert a.depth.tobytes() == b.depth.tobytes()
    assert a.joints_2d.tobytes() == b.joints_2d.tobytes()
    assert a.image.tobytes() != c.image.tobytes()


def test_batched_rendering_equals_one_by_one():
    batched = generate("kuka_kr16", 11, range(4), H, W)
    for i, s in enumerate(batched):
        single = generate_one("kuka_kr16", 11, i, H, W)
        assert s.image.tobytes() == single.image.tobytes()
        np.testing.assert_array_equal(s.masks, single.masks)
        np.testing.assert_array_equal(s.depth, single.depth)
        np.testing.assert_array_equal(s.joints_3d, single.joints_3d)


def test_zero_visible_robots_gives_a_valid_sample():
    s = generate_one("panda_primitive", 0, 0, H, W, params=params_for("panda_primitive", theta_vr=0.0))
    assert s.num_robots == 0
    assert s.masks.shape == (0, H, W) and s.joints_2d.shape == (0, 7, 2)
    assert (s.depth == 0).all() and s.image.shape == (H, W, 3)


def test_robots_partly_out_of_frame_give_valid_samples():
    # A close camera that cuts robots at the image border.
    params = params_for("kuka_kr16", r_min=2.0, r_max=2.5, max_robots=3, min_robots=3, theta_vr=1.0)
    samples = generate("kuka_kr16", 5, range(5), H, W, params=params)
    cut = 0
    for s in samples:
        if s.num_robots:
            inside = s.visibility.sum()
            cut += int(inside < s.visibility.size)
            assert np.isfinite(s.joints_2d).all() and np.isfinite(s.joints_3d).all()
    assert cut > 0, "expected some robots partly out of frame"


def test_scene_draws_follow_the_paper_ranges():
    params = params_for("kuka_kr16")
    angles, radii = [], []
    for i in range(40):
        scene = sample_scene("kuka_kr16", params, 1, i, H, W)
        angles.append(scene.joint_angles.ravel())
        radii.append(scene.camera_spherical[0])
        assert 0 <= scene.noise_amplitude <= 30
    angles = np.concatenate(angles)
    assert angles.min() >= -np.pi / 2 and angles.max() <= np.pi / 2
    assert min(radii) >= params.r_min and max(radii) <= params.r_max


@pytest.mark.parametrize("bad", [dict(theta_vr=1.5), dict(r_min=0.0), dict(r_min=5.0, r_max=1.0),
                                 dict(min_robots=3, max_robots=1), dict(n_color=0)])
def test_bad_parameters_are_refused(bad):
    with pytest.raises(ValueError):
        SynthParams(**bad)
