"""The sim-to-real additions to synthesis (distractors, materials, clutter, photometric
degradations), the real-photo metrics and the rendered twin."""

import cv2
import numpy as np
import pytest
import torch

from robotpose_lib import photometric
from robotpose_lib.eval import real as eval_real
from robotpose_lib.distractors import DistractorSet
from robotpose_lib.real_panda import RealPhoto
from robotpose_lib.robots import get_robot
from robotpose_lib.synth import SynthParams, generate, params_for, render_scenes, sample_scene

H, W = 96, 128


def test_paper_recipe_is_the_default_params():
    """The recipe 'paper' changes nothing: the paper's scenes keep their bytes."""
    a = generate("panda_primitive", 4, range(3), H, W, params_for("panda_primitive"))
    b = generate("panda_primitive", 4, range(3), H, W, params_for("panda_primitive", "paper"))
    for x, y in zip(a, b):
        assert np.array_equal(x.image, y.image) and np.array_equal(x.masks, y.masks)


def test_sim2real_samples_are_reproducible_and_differ_from_paper():
    p = params_for("panda_primitive", "sim2real")
    a = generate("panda_primitive", 9, range(4), H, W, p)
    b = generate("panda_primitive", 9, range(4), H, W, p)
    c = generate("panda_primitive", 9, range(4), H, W, params_for("panda_primitive"))
    assert all(np.array_equal(x.image, y.image) for x, y in zip(a, b))
    assert any(not np.array_equal(x.image, z.image) for x, z in zip(a, c))


def test_clutter_recipe_adds_hard_negatives_around_the_paper_robots():
    """'clutter' = the paper's scenes (same robots, poses and camera for a seed) with
    distractor objects and collage patches added: only the image differs."""
    clutter, paper = params_for("panda_primitive", "clutter"), params_for("panda_primitive")
    assert clutter.max_distractors > 0 and clutter.collage_patches > 0
    assert clutter.fov_y_deg == paper.fov_y_deg and clutter.r_max == paper.r_max
    a = generate("panda_primitive", 4, range(4), H, W, clutter)
    b = generate("panda_primitive", 4, range(4), H, W, paper)
    assert [x.num_robots for x in a] == [y.num_robots for y in b]
    assert all(np.allclose(x.joints_3d, y.joints_3d) for x, y in zip(a, b))
    assert all(not np.array_equal(x.image, y.image) for x, y in zip(a, b))


def test_unknown_recipe_and_bad_fields_are_errors():
    with pytest.raises(ValueError, match="recipe"):
        params_for("panda_primitive", "photoreal")
    with pytest.raises(ValueError, match="blur_probability"):
        SynthParams(blur_probability=1.5)
    with pytest.raises(ValueError, match="jpeg_quality"):
        SynthParams(jpeg_quality=(90, 10))


def _one_robot_scene(**overrides):
    params = params_for("panda_primitive", min_robots=1, max_robots=1, theta_vr=1.0, noise_amplitude=(0, 0),
                        **overrides)
    scene = sample_scene("panda_primitive", params, 0, 0, H, W)
    # a fixed, fully visible view: camera 2 m in front of the robot, looking at it
    scene.base_poses = np.eye(4)[None]
    scene.joint_angles = np.array([[0, 0, 0, -2.3, 0, 1.6, 0.0]])
    scene.K = np.array([[100.0, 0, (W - 1) / 2], [0, 100.0, (H - 1) / 2], [0, 0, 1]])
    from robotpose_lib.camera import look_at

    scene.camera_pose = look_at(torch.tensor([2.0, 0.0, 0.5]), torch.tensor([0.0, 0.0, 0.5])).numpy()
    return scene, params


def _wall_in_front(depth_m: float) -> DistractorSet:
    """One box covering the whole view at ``depth_m`` (camera frame)."""
    return DistractorSet(kind=np.array([3]), p0=np.array([[0.0, 0.0, depth_m]]), p1=np.array([[0.0, 0.0, depth_m]]),
                         radius=np.zeros(1), rotation=np.eye(3)[None], half_extents=np.array([[5.0, 5.0, 0.01]]),
                         colors=np.array([[1.0, 0.0, 0.0]]), textured=np.zeros(1, bool))


def test_distractor_in_front_hides_robot_and_joints():
    scene, params = _one_robot_scene()
    clear = render_scenes("panda_primitive", [scene], params)[0]
    assert clear.num_robots == 1 and clear.visibility.any()
    scene.distractors = _wall_in_front(0.5)
    hidden = render_scenes("panda_primitive", [scene], params)[0]
    # the robot is rendered but covered: no mask pixel, no visible joint, all pixels red
    assert hidden.masks.sum() == 0 and not hidden.visibility.any()
    assert np.all(hidden.image[..., 0] > 200) and np.all(hidden.image[..., 1] < 60)


def test_distractor_behind_robot_changes_only_background():
    scene, params = _one_robot_scene()
    clear = render_scenes("panda_primitive", [scene], params)[0]
    scene.distractors = _wall_in_front(4.0)
    behind = render_scenes("panda_primitive", [scene], params)[0]
    assert np.array_equal(clear.masks, behind.masks)
    assert np.array_equal(clear.visibility, behind.visibility)
    robot = clear.masks.any(0)
    assert np.array_equal(clear.image[robot], behind.image[robot])


def test_realistic_material_is_achromatic():
    scene, params = _one_robot_scene(realistic_material_probability=1.0)
    colors = scene.colors[0]
    assert np.all(colors.max(1) - colors.min(1) < 0.1)  # white/grey/dark grey links


def test_photometric_degradations_off_change_nothing_and_on_keep_shape():
    rng = np.random.default_rng(0)
    image = rng.uniform(0, 255, (H, W, 3)).astype(np.float32)
    off = SynthParams()
    assert np.array_equal(photometric.degrade(image, np.random.default_rng(1), off), image)
    on = SynthParams(color_jitter=0.3, white_balance=0.2, gamma_range=(0.7, 1.4), blur_probability=1.0,
                     jpeg_probability=1.0)
    out = photometric.finish(photometric.degrade(image, np.random.default_rng(1), on), np.random.default_rng(2), on)
    assert out.shape == (H, W, 3) and out.dtype == np.uint8
    assert not np.array_equal(out, np.clip(np.rint(image), 0, 255).astype(np.uint8))


# ------------------------------------------------------------------- real-photo metrics
def _predictions(pred_2d, true_2d, pred_3d=None, true_3d=None):
    F, J = true_2d.shape[:2]
    true_3d = np.ones((F, J, 3)) if true_3d is None else true_3d
    if pred_3d is None:  # as the predictor reports them: NaN in 3D where missed in 2D
        pred_3d = np.where(np.isnan(pred_2d[..., :1]), np.nan, true_3d)
    return eval_real.RealPredictions([f"f{i}" for i in range(F)], pred_2d, pred_3d, true_2d, true_3d)


def test_perfect_predictions_score_one():
    true = np.random.default_rng(0).uniform(0, 300, (4, 7, 2))
    m = eval_real.keypoint_metrics(_predictions(true.copy(), true))
    assert m["auc"] == pytest.approx(1.0, abs=0.011)  # the curve starts at 0 px, where it is 1 too
    assert m["pck@2.5"] == 1.0 and m["add_auc"] == pytest.approx(1.0, abs=0.011)
    assert m["median_px"] == 0.0 and m["found"] == 1.0


def test_missed_keypoints_count_as_wrong_and_shift_is_measured():
    true = np.zeros((2, 7, 2))
    pred = true + np.array([3.0, 4.0])  # 5 px off everywhere
    pred[0, 0] = np.nan                 # one keypoint missed
    m = eval_real.keypoint_metrics(_predictions(pred, true))
    assert m["pck@2.5"] == 0.0 and m["pck@10"] == pytest.approx(13 / 14)
    assert m["median_px"] == pytest.approx(5.0) and m["found"] == pytest.approx(13 / 14)
    # a missed keypoint makes its frame's ADD fail: only the other frame (0 cm) counts
    assert m["add_auc"] == pytest.approx(0.5, abs=0.01)
    moving = eval_real.keypoint_metrics(_predictions(pred, true), joints=[2, 3])
    assert moving["keypoints"] == 4 and moving["found"] == 1.0


def _synthetic_photo(q, name="f") -> RealPhoto:
    """A 'photo' whose truth comes from our FK: a fixed calibration, a plain image."""
    panda = get_robot("panda_primitive")
    K = np.array([[150.0, 0, 159.5], [0, 150.0, 119.5], [0, 0, 1]])
    rvec, tvec = np.array([1.2, 1.9, -1.4]), np.array([0.2, 0.35, 1.0])
    T = np.eye(4)
    T[:3, :3], T[:3, 3] = cv2.Rodrigues(rvec)[0], tvec
    kp = panda.forward_kinematics(torch.tensor(q, dtype=torch.float64)[None])[0][0].numpy()
    kp_cam = kp @ T[:3, :3].T + T[:3, 3]
    uv = kp_cam @ K.T
    return RealPhoto(name, np.full((240, 320, 3), 90, np.uint8), K, T, np.asarray(q, float), kp_cam,
                     uv[:, :2] / uv[:, 2:])


def test_mean_pose_baseline_is_perfect_on_a_still_robot():
    q = [-1.99, 1.12, 2.04, -2.07, -0.72, 1.78, 0.47]
    photos = [_synthetic_photo(q, f"f{i}") for i in range(3)]
    m = eval_real.keypoint_metrics(eval_real.mean_pose_baseline(photos))
    assert m["median_px"] == pytest.approx(0.0, abs=1e-9) and m["pck@2.5"] == 1.0


def test_twin_renders_the_photo_keypoints_where_the_calibration_puts_them():
    from robotpose_lib.twin import pasted_twin, render_twin

    photo = _synthetic_photo([-1.99, 1.12, 2.04, -2.07, -0.72, 1.78, 0.47])
    twin = render_twin(photo)
    assert twin.image.shape == photo.image.shape and twin.num_robots == 1
    np.testing.assert_allclose(twin.joints_2d[0], photo.joints_2d, atol=1e-3)
    np.testing.assert_allclose(twin.joints_3d[0], photo.joints_3d, atol=1e-5)
    pasted = pasted_twin(photo, twin)
    robot = twin.masks[0]
    assert robot.sum() > 500
    assert np.array_equal(pasted[~robot], photo.image[~robot]) and np.array_equal(pasted[robot], twin.image[robot])


def test_mesh_twin_covers_our_primitive_twin_and_the_keypoints():
    # The same pose and camera drawn by pybullet from the manufacturer's meshes and by our
    # ray caster from primitives: the silhouettes must agree (a wrong camera conversion or
    # joint order would put the arm elsewhere).
    pytest.importorskip("pybullet")
    from robotpose_lib.twin import mesh_variant_images, render_mesh_twin, render_twin

    photo = _synthetic_photo([-1.99, 1.12, 2.04, -2.07, -0.72, 1.78, 0.47])
    rgb, mask = render_mesh_twin(photo)
    prim = render_twin(photo).masks[0]
    assert rgb.shape == photo.image.shape and rgb.dtype == np.uint8
    assert (mask & prim).sum() / (mask | prim).sum() > 0.75
    u, v = np.round(photo.joints_2d).astype(int).T
    inside = (u >= 0) & (u < 320) & (v >= 0) & (v < 240)
    grown = cv2.dilate(mask.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    assert grown[v[inside], u[inside]].mean() >= 0.8
    images = mesh_variant_images(photo)
    assert np.array_equal(images["mesh_pasted"][~mask], photo.image[~mask])
    assert np.array_equal(images["mesh_twin"][mask], rgb[mask])


@pytest.mark.parametrize("change, message", [
    (dict(blur_sigma=(-1.0, 2.0)), "blur_sigma"), (dict(gamma_range=(0.0, 1.0)), "gamma_range"),
    (dict(gamma_range=(2.0, 1.0)), "gamma_range"), (dict(fov_y_deg=(0.0, 200.0)), "fov_y_deg"),
    (dict(specular_range=(0.0, 5.0)), "specular_range"), (dict(color_jitter=-1.0), "color_jitter"),
    (dict(aim_offset=-1.0), "aim_offset")])
def test_nonsense_sim2real_values_are_rejected_when_set(change, message):
    with pytest.raises(ValueError, match=message):
        params_for("panda_primitive", "sim2real", **change)


def _dev_copy(tmp_path, edit):
    """A copy of a tiny real-photo folder (one synthetic 'photo'), with info.json edited."""
    import json

    photo = _synthetic_photo([-1.99, 1.12, 2.04, -2.07, -0.72, 1.78, 0.47])
    cv2.imwrite(str(tmp_path / "f0.png"), photo.image)
    rvec = cv2.Rodrigues(photo.T_cam_base[:3, :3])[0].ravel().tolist()
    info = {"calibration_info": {"intrinsic": photo.K.tolist(),
                                 "extrinsic": [rvec + photo.T_cam_base[:3, 3].tolist()]},
            "steps": {"1": {"img_file": "f0.png", "joint_angles": photo.joint_angles.tolist()}}}
    edit(info)
    (tmp_path / "info.json").write_text(json.dumps(info))
    return tmp_path


@pytest.mark.parametrize("edit, error, message", [
    (lambda i: i["calibration_info"].pop("extrinsic"), ValueError, "extrinsic"),
    (lambda i: i["calibration_info"].update(intrinsic=[[1, 0, 1], [0, 1, 1]]), ValueError, "3x3"),
    (lambda i: i.update(steps={}), ValueError, "'steps' is empty"),
    (lambda i: i["steps"]["1"].update(joint_angles=[0.0] * 6), ValueError, "6 joint angles"),
    (lambda i: i["steps"]["1"].update(img_file="missing.png"), FileNotFoundError, "not found"),
])
def test_broken_real_photo_folders_are_one_line_errors_naming_the_file(tmp_path, edit, error, message):
    from robotpose_lib.real_panda import load_real_panda

    folder = _dev_copy(tmp_path, edit)
    with pytest.raises(error, match=message):
        load_real_panda(folder)


def test_a_good_real_photo_folder_gives_the_calibrated_keypoints(tmp_path):
    from robotpose_lib.real_panda import load_real_panda

    folder = _dev_copy(tmp_path, lambda i: None)
    (photo,) = load_real_panda(folder)
    expected = _synthetic_photo([-1.99, 1.12, 2.04, -2.07, -0.72, 1.78, 0.47])
    np.testing.assert_allclose(photo.joints_2d, expected.joints_2d, atol=1e-6)
