"""3D evaluation: matching predictions to true robots and the error bookkeeping, with
hand-made ground truth and predictions (perfect, shifted, missing, mixed)."""
import numpy as np
import pytest

from robotpose_lib.eval.pose3d import _foreign_fraction, counted_joints, match_poses, score_predictions
from robotpose_lib.types import RobotPose, Sample

H, W, J = 120, 160, 4


def _sample(seed=0, robots=2, depth=(2.0, 7.0)):
    rng = np.random.default_rng(seed)
    f = 150.0
    K = np.array([[f, 0, (W - 1) / 2], [0, f, (H - 1) / 2], [0, 0, 1]], np.float32)
    uv = np.stack([rng.uniform(5, W - 5, (robots, J)), rng.uniform(5, H - 5, (robots, J))], -1)
    z = np.repeat(np.asarray(depth[:robots], float)[:, None], J, 1)
    xyz = np.concatenate([(uv - K[:2, 2]) / f * z[..., None], z[..., None]], -1)
    return Sample(image=np.zeros((H, W, 3), np.uint8), masks=np.zeros((robots, H, W), bool),
                  depth=np.zeros((H, W), np.float32), joints_2d=uv.astype(np.float32),
                  joints_3d=xyz.astype(np.float32), visibility=np.ones((robots, J), bool), K=K,
                  joint_angles=np.zeros((robots, 6), np.float32), base_poses=np.tile(np.eye(4), (robots, 1, 1)),
                  camera_pose=np.eye(4), robot="panda_primitive")


def _pose(sample, r, shift_3d=0.0, score=0.9):
    return RobotPose(joints_2d=sample.joints_2d[r].copy(), joints_3d=sample.joints_3d[r] + shift_3d,
                     joint_scores=np.ones(J, np.float32), mask=None, score=score)


def test_perfect_predictions_in_any_order_have_zero_error():
    s = _sample()
    report = score_predictions({"nms": [[_pose(s, 1), _pose(s, 0)]]}, [s], "panda_primitive", J)
    assert report.matched["nms"].all() and report.misses("nms") == 0
    assert np.nanmax(report.errors_cm["nms"]) < 1e-4
    table = report.near_far("nms")
    assert table["near"]["n"] == J and table["far"]["n"] == J  # robots at 2 m and 7 m


def test_shift_is_measured_in_centimetres_and_missing_robots_are_misses():
    s = _sample()
    shifted = _pose(s, 0, shift_3d=np.array([0.03, 0.0, 0.04]))  # 5 cm
    report = score_predictions({"log": [[shifted]]}, [s], "panda_primitive", J)
    assert report.matched["log"].tolist() == [True, False]
    assert np.allclose(report.errors_cm["log"][0], 5.0, atol=1e-3)
    assert report.misses("log") == J and np.isnan(report.errors_cm["log"][1]).all()


def test_a_joint_not_found_is_a_miss_and_far_predictions_are_not_matched():
    s = _sample(robots=1)
    pose = _pose(s, 0)
    pose.joints_2d[2] = np.nan
    pose.joints_3d[2] = np.nan
    report = score_predictions({"nms": [[pose]]}, [s], "panda_primitive", J)
    assert report.misses("nms") == 1
    far = _pose(s, 0)
    far.joints_2d += 100.0
    assert match_poses([far], s.joints_2d, counted_joints(s), max_px=30.0).tolist() == [-1]


def test_joints_outside_the_frame_are_not_counted():
    s = _sample(robots=1)
    s.joints_2d[0, 0] = [-20.0, 10.0]
    assert counted_joints(s)[0].tolist() == [False, True, True, True]


def test_foreign_fraction_counts_joints_taken_from_the_other_robot():
    s = _sample(seed=3)
    mixed = _pose(s, 0)
    mixed.joints_2d[:1] = s.joints_2d[1, :1]  # first joint sits on the other robot
    assert _foreign_fraction([[mixed]], [s]) == pytest.approx(1 / J)
    assert _foreign_fraction([[_pose(s, 0), _pose(s, 1)]], [s]) == 0.0
