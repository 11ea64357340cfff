"""Robot models: FK against independently written DH code, geometry, registry."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from robotpose_lib.robots import ROBOT_NAMES, get_robot

REAL_PANDA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "real_panda_dev")
REAL_PANDA = os.environ.get("ROBOTPOSE_REAL_PANDA", os.path.abspath(REAL_PANDA))


# ---------------------------------------------------------------- independent reference FK
def rot_x(t):
    c, s = math.cos(t), math.sin(t)
    return np.array([[1, 0, 0, 0], [0, c, -s, 0], [0, s, c, 0], [0, 0, 0, 1.0]])


def rot_z(t):
    c, s = math.cos(t), math.sin(t)
    return np.array([[c, -s, 0, 0], [s, c, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1.0]])


def trans(x, y, z):
    T = np.eye(4)
    T[:3, 3] = [x, y, z]
    return T


def panda_reference_keypoints(q):
    """Craig DH from the table in real_panda_dev/README.md, composed of elementary moves."""
    a = [0, 0, 0, 0.0825, -0.0825, 0, 0.088]
    d = [0.333, 0, 0.316, 0, 0.384, 0, 0]
    alpha = [0, -math.pi / 2, math.pi / 2, math.pi / 2, -math.pi / 2, math.pi / 2, math.pi / 2]
    T = np.eye(4)
    origins = [T[:3, 3].copy()]
    for i in range(7):
        T = T @ rot_x(alpha[i]) @ trans(a[i], 0, 0) @ rot_z(q[i]) @ trans(0, 0, d[i])
        origins.append(T[:3, 3].copy())
    flange = (T @ trans(0, 0, 0.107))[:3, 3]
    # DREAM order: link0, link2, link3, link4, link6, link7, hand (flange)
    return np.stack([origins[0], origins[2], origins[3], origins[4], origins[6], origins[7], flange])


def kr16_reference_keypoints(q):
    """Standard DH (RotZ TransZ TransX RotX) with the KR 16 datasheet dimensions."""
    a = [0.26, 0.68, 0.035, 0, 0, 0]
    d = [0.675, 0, 0, 0.67, 0, 0.158]
    alpha = [-math.pi / 2, 0, -math.pi / 2, math.pi / 2, -math.pi / 2, 0]
    offset = [0, -math.pi / 2, 0, 0, 0, 0]
    T = np.eye(4)
    frames = [T]
    for i in range(6):
        T = T @ rot_z(q[i] + offset[i]) @ trans(0, 0, d[i]) @ trans(a[i], 0, 0) @ rot_x(alpha[i])
        frames.append(T)
    a1_axis = (frames[1] @ np.array([-0.26, 0, 0, 1.0]))[:3]
    return np.stack([frames[0][:3, 3], a1_axis, frames[1][:3, 3], frames[2][:3, 3],
                     frames[5][:3, 3], frames[6][:3, 3]])


def _random_q(robot, n, seed):
    g = torch.Generator().manual_seed(seed)
    low, high = robot.joint_limits
    return low + torch.rand(n, robot.dof, generator=g, dtype=torch.float64) * (high - low)


# ---------------------------------------------------------------- Panda
def test_panda_fk_matches_reference_at_random_angles():
    robot = get_robot("panda_primitive")
    q = _random_q(robot, 50, seed=1)
    kp, T = robot.forward_kinematics(q)
    assert kp.shape == (50, 7, 3) and T.shape == (50, robot.num_links, 4, 4)
    ref = np.stack([panda_reference_keypoints(qi) for qi in q.numpy()])
    assert np.abs(kp.numpy() - ref).max() < 1e-3


def test_panda_zero_pose_known_positions():
    # At q = 0 the arm is straight up: flange at x = 0.088, z = 0.333 + 0.316 + 0.384 - 0.107.
    kp, _ = get_robot("panda_primitive").forward_kinematics(torch.zeros(1, 7, dtype=torch.float64))
    np.testing.assert_allclose(kp[0, -1].numpy(), [0.088, 0, 0.333 + 0.316 + 0.384 - 0.107], atol=1e-9)
    np.testing.assert_allclose(kp[0, 3].numpy(), [0.0825, 0, 0.649], atol=1e-9)


def _real_panda_info():
    path = os.path.join(REAL_PANDA, "info.json")
    if not os.path.isfile(path):
        pytest.skip(f"real Panda sample not found at {REAL_PANDA}")
    with open(path) as fh:
        return json.load(fh)


def test_panda_fk_matches_reference_at_real_photo_angles():
    info = _real_panda_info()
    robot = get_robot("panda_primitive")
    for step in info["steps"].values():
        q = np.asarray(step["joint_angles"], dtype=np.float64)
        kp, _ = robot.forward_kinematics(torch.tensor(q[None]))
        assert np.abs(kp[0].numpy() - panda_reference_keypoints(q)).max() < 1e-3


def test_panda_sample_range_covers_real_photo_angles():
    info = _real_panda_info()
    low, high = get_robot("panda_primitive").sample_range
    for step in info["steps"].values():
        q = torch.tensor(step["joint_angles"], dtype=torch.float64)
        assert torch.all(q >= low) and torch.all(q <= high), q


def test_panda_keypoints_project_into_real_photos():
    cv2 = pytest.importorskip("cv2")
    info = _real_panda_info()
    K = np.asarray(info["calibration_info"]["intrinsic"], dtype=np.float64)
    ext = np.asarray(info["calibration_info"]["extrinsic"][0], dtype=np.float64)
    robot = get_robot("panda_primitive")
    for step in info["steps"].values():
        assert os.path.isfile(os.path.join(REAL_PANDA, step["img_file"]))
        kp, _ = robot.forward_kinematics(torch.tensor([step["joint_angles"]], dtype=torch.float64))
        uv, _ = cv2.projectPoints(kp[0].numpy(), ext[:3], ext[3:], K, None)
        uv = uv.reshape(-1, 2)
        assert np.all((uv >= 0) & (uv < [320, 240])), uv


def test_panda_hand_frame_is_flange_rotated():
    robot = get_robot("panda_primitive")
    q = _random_q(robot, 4, seed=3)
    kp, T = robot.forward_kinematics(q)
    hand, link7 = T[:, 8], T[:, 7]
    rel = torch.linalg.inv(link7) @ hand
    c = math.cos(-math.pi / 4)
    np.testing.assert_allclose(rel[:, :3, 3].numpy(), np.tile([0, 0, 0.107], (4, 1)), atol=1e-9)
    np.testing.assert_allclose(rel[:, 0, 0].numpy(), c, atol=1e-9)
    np.testing.assert_allclose(rel[:, 1, 0].numpy(), -c, atol=1e-9)  # sin(-pi/4)
    np.testing.assert_allclose(kp[:, 6].numpy(), hand[:, :3, 3].numpy())


# ---------------------------------------------------------------- KR 16
def test_kr16_fk_matches_reference():
    robot = get_robot("kuka_kr16")
    q = _random_q(robot, 50, seed=2)
    kp, _ = robot.forward_kinematics(q)
    ref = np.stack([kr16_reference_keypoints(qi) for qi in q.numpy()])
    assert np.abs(kp.numpy() - ref).max() < 1e-6


def test_kr16_home_pose():
    kp, _ = get_robot("kuka_kr16").forward_kinematics(torch.zeros(1, 6))
    expected = [[0, 0, 0], [0, 0, 0.675], [0.26, 0, 0.675], [0.26, 0, 1.355], [0.93, 0, 1.39], [1.088, 0, 1.39]]
    np.testing.assert_allclose(kp[0].numpy(), expected, atol=1e-5)


# ---------------------------------------------------------------- both robots
@pytest.mark.parametrize("name,J", [("panda_primitive", 7), ("kuka_kr16", 6)])
def test_keypoint_names_and_counts(name, J):
    robot = get_robot(name)
    assert robot.num_keypoints == J == len(set(robot.keypoint_names))
    assert len(robot.link_names) == robot.num_links
    low, high = robot.joint_limits
    s_low, s_high = robot.sample_range
    assert torch.all(low <= s_low) and torch.all(s_low < s_high) and torch.all(s_high <= high)
    q = robot.sample_joint_angles(100, torch.Generator().manual_seed(0))
    assert q.shape == (100, robot.dof)
    assert torch.all(q >= s_low.float() - 1e-6) and torch.all(q <= s_high.float() + 1e-6)
    assert 0 < robot.bounding_radius < robot.reach < 3


@pytest.mark.parametrize("name", ROBOT_NAMES)
def test_batched_fk_equals_one_by_one(name):
    robot = get_robot(name)
    q = _random_q(robot, 6, seed=4).float()
    kp, T = robot.forward_kinematics(q)
    assert kp.dtype == torch.float32
    for i in range(len(q)):
        kp_i, T_i = robot.forward_kinematics(q[i:i + 1])
        torch.testing.assert_close(kp[i:i + 1], kp_i)
        torch.testing.assert_close(T[i:i + 1], T_i)


def _distance_to_primitives(points: torch.Tensor, prims) -> torch.Tensor:
    """(M,) distance from each point to the nearest primitive (0 inside), brute force."""
    x = points[:, None, :]                                        # (M, 1, 3)
    d_seg = prims.p1 - prims.p0
    t = (((x - prims.p0) * d_seg).sum(-1) / (d_seg * d_seg).sum(-1).clamp_min(1e-12)).clamp(0, 1)
    seg = (x - prims.p0 - t[..., None] * d_seg).norm(dim=-1) - prims.radius    # capsule/sphere
    local = ((x - prims.p0)[..., None, :] @ prims.rotation).squeeze(-2)       # box frame
    box = (local.abs() - prims.half_extents).clamp_min(0).norm(dim=-1)
    d = torch.where(prims.kind == 3, box, seg)   # cylinders: the capsule bound is close enough
    return d.clamp_min(0).min(dim=1).values


@pytest.mark.parametrize("name", ROBOT_NAMES)
def test_keypoints_lie_on_their_robots_geometry(name):
    robot = get_robot(name)
    q = robot.sample_joint_angles(16, torch.Generator().manual_seed(5), dtype=torch.float64)
    kp, T = robot.forward_kinematics(q)
    prims = robot.primitives(T, image_index=torch.zeros(16, dtype=torch.long), instance_id=torch.arange(16))
    assert len(prims) == 16 * len(robot.geometry)
    for i in range(16):
        mine = prims.select(prims.instance_id == i)
        assert torch.all(mine.link_id < robot.num_links)
        dist = _distance_to_primitives(kp[i], mine)
        assert dist.max() < 0.05, (name, i, dist)


@pytest.mark.parametrize("name", ROBOT_NAMES)
def test_primitives_follow_a_base_transform(name):
    robot = get_robot(name)
    q = robot.sample_joint_angles(2, torch.Generator().manual_seed(6), dtype=torch.float64)
    _, T = robot.forward_kinematics(q)
    angle = 0.7
    M = torch.eye(4, dtype=torch.float64)
    M[:2, :2] = torch.tensor([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    M[:3, 3] = torch.tensor([1.0, -2.0, 0.5])
    a = robot.primitives(M @ T)
    b = robot.primitives(T).transformed(M)
    torch.testing.assert_close(a.p0, b.p0)
    torch.testing.assert_close(a.rotation, b.rotation)
    assert torch.equal(a.instance_id, torch.arange(2).repeat_interleave(len(robot.geometry)))


def test_geometry_json_loads_without_pybullet():
    code = ("import sys; sys.modules['pybullet'] = None; sys.modules['pybullet_data'] = None\n"
            "from robotpose_lib.robots import get_robot\n"
            "print(len(get_robot('panda_primitive').geometry))")
    root = os.path.join(os.path.dirname(__file__), "..")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root,
                         env={**os.environ, "PYTHONPATH": os.path.abspath(root)})
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.strip()) >= 9   # at least one primitive per Panda link


def test_unknown_robot_name():
    with pytest.raises(ValueError, match="known robots: panda_primitive, kuka_kr16, panda, kuka_iiwa, xarm6"):
        get_robot("staubli")


def test_bad_joint_shape():
    with pytest.raises(ValueError, match=r"\(B, 7\)"):
        get_robot("panda_primitive").forward_kinematics(torch.zeros(3, 6))


def test_a_former_robot_name_says_what_it_is_now():
    with pytest.raises(ValueError, match="'panda_mesh' is now 'panda'"):
        get_robot("panda_mesh")
