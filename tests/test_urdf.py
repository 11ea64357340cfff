"""Robots from URDF files and meshes in the ray caster, checked against answers known by
construction: the same Panda from DH parameters, the same box as a primitive, the same
URDF drawn by pybullet."""
import math
import textwrap

import numpy as np
import pytest
import torch

from robotpose_lib import camera
from robotpose_lib.primitives import BOX, Primitives, Triangles
from robotpose_lib.render import render
from robotpose_lib.robots import MESH_ROBOT_NAMES, get_robot, load_urdf_robot, shipped_urdf
from robotpose_lib.synth import generate, params_for
from robotpose_lib.urdf import RobotSpec, URDFRobot


def test_mesh_panda_keypoints_equal_the_dh_panda():
    dh, mesh = get_robot("panda_primitive"), get_robot("panda")
    assert mesh.keypoint_names == dh.keypoint_names
    q = dh.sample_joint_angles(200, torch.Generator().manual_seed(0), dtype=torch.float64)
    kp_dh, _ = dh.forward_kinematics(q)
    kp_mesh, _ = mesh.forward_kinematics(q)
    assert float((kp_dh - kp_mesh).norm(dim=-1).max()) < 1e-3


@pytest.mark.parametrize("name", MESH_ROBOT_NAMES)
def test_mesh_robot_samples_project_their_keypoints(name):
    sample = generate(name, 0, [3], 120, 160, params_for(name, min_robots=2, max_robots=2, theta_vr=1.0))[0]
    assert len(sample.masks) >= 1
    K = torch.tensor(sample.K, dtype=torch.float64)
    uv = camera.project(torch.tensor(sample.joints_3d, dtype=torch.float64), K)
    assert np.allclose(uv.numpy(), sample.joints_2d, atol=1e-3)
    assert sample.link_ids.max() < get_robot(name).num_links


@pytest.mark.parametrize("name", MESH_ROBOT_NAMES)
def test_same_seed_same_bytes(name):
    params = params_for(name, "sim2real")
    a = generate(name, 7, [0, 1], 96, 128, params)
    b = generate(name, 7, [1], 96, 128, params)
    assert a[1].image.tobytes() == b[0].image.tobytes()
    assert a[1].depth.tobytes() == b[0].depth.tobytes()


def _box_triangles(centre, half):
    """A box of 12 triangles wound counter-clockwise seen from outside."""
    import trimesh

    m = trimesh.creation.box(extents=2 * np.asarray(half))
    v = torch.tensor(m.vertices[m.faces] + np.asarray(centre), dtype=torch.float32)   # (12, 3, 3)
    n = torch.tensor(np.repeat(m.face_normals[:, None], 3, 1), dtype=torch.float32)
    zeros = torch.zeros(12, dtype=torch.long)
    return Triangles(v[:, 0], v[:, 1], v[:, 2], n[:, 0], n[:, 1], n[:, 2], zeros, zeros, zeros)


@pytest.mark.parametrize("cull", [False, True])
def test_box_of_triangles_renders_as_the_box_primitive(cull):
    centre, half = [0.1, -0.05, 1.2], [0.2, 0.15, 0.1]
    K = camera.intrinsics(150.0, 150.0, 79.5, 59.5)
    prim = Primitives(kind=torch.tensor([BOX]), p0=torch.tensor([centre]), p1=torch.tensor([centre]),
                      radius=torch.zeros(1), rotation=torch.eye(3)[None], half_extents=torch.tensor([half]),
                      image_index=torch.zeros(1, dtype=torch.long), instance_id=torch.zeros(1, dtype=torch.long),
                      link_id=torch.zeros(1, dtype=torch.long))
    a = render(prim, K, 120, 160)
    b = render(None, K, 120, 160, triangles=_box_triangles(centre, half), cull_back_faces=cull)
    assert a.mask.sum() > 1000
    # pixels whose centre lies on an edge may go either way; elsewhere identical
    assert (a.mask != b.mask).sum() <= 2
    both = a.mask & b.mask
    assert torch.allclose(a.depth[both], b.depth[both], atol=1e-5)
    assert torch.allclose(a.normal[both], b.normal[both], atol=1e-4)


def test_triangles_and_primitives_occlude_each_other():
    K = camera.intrinsics(150.0, 150.0, 79.5, 59.5)
    near_box = _box_triangles([0, 0, 1.0], [0.1, 0.1, 0.1])
    far = Primitives(kind=torch.tensor([BOX]), p0=torch.tensor([[0.0, 0.0, 2.0]]), p1=torch.tensor([[0.0, 0.0, 2.0]]),
                     radius=torch.zeros(1), rotation=torch.eye(3)[None], half_extents=torch.tensor([[0.5, 0.5, 0.1]]),
                     image_index=torch.zeros(1, dtype=torch.long), instance_id=torch.ones(1, dtype=torch.long),
                     link_id=torch.zeros(1, dtype=torch.long))
    out = render(far, K, 120, 160, triangles=near_box)
    assert out.instance[0, 60, 80] == 0 and abs(float(out.depth[0, 60, 80]) - 0.9) < 1e-5
    assert out.instance[0, 60, 110] == 1 and abs(float(out.depth[0, 60, 110]) - 1.9) < 1e-5


def test_triangle_crossing_the_near_plane_is_clipped_not_lost():
    # a long triangle from behind the camera to far in front: its visible part is drawn
    v0, v1, v2 = torch.tensor([[0.0, 0.3, -1.0]]), torch.tensor([[0.3, 0.3, 3.0]]), torch.tensor([[-0.3, 0.3, 3.0]])
    n = torch.tensor([[0.0, -1.0, 0.0]])
    zero = torch.zeros(1, dtype=torch.long)
    out = render(None, camera.intrinsics(100.0, 100.0, 63.5, 47.5), 96, 128,
                 triangles=Triangles(v0, v1, v2, n, n, n, zero, zero, zero))
    assert out.mask.sum() > 100
    assert float(out.depth[out.mask].min()) > 0.01


@pytest.mark.parametrize("name", MESH_ROBOT_NAMES)
def test_silhouette_matches_pybullets_render_of_the_same_urdf(name):
    pytest.importorskip("pybullet")
    from robotpose_lib.bench.meshes import random_views, silhouette
    from robotpose_lib.bench.pybullet_baseline import pybullet_render

    robot = get_robot(name)
    path, spec = shipped_urdf(name)
    (q, T, K), = random_views(robot, 1, 240, 320, seed=11)
    ours = silhouette(robot, q, T, K, 240, 320)
    joints = robot.joint_values(q[0])   # sampled, held and mimic joints by name
    if name == "panda":
        held = spec.fixed_joints["panda_finger_joint1"]
        assert joints["panda_finger_joint2"] == joints["panda_finger_joint1"] == held
    theirs, _ = pybullet_render(str(path), joints, T.numpy(), K.numpy(), 240, 320)
    assert theirs.sum() > 500
    iou = (ours & theirs).sum() / (ours | theirs).sum()
    assert iou >= 0.97, f"{name}: silhouette IoU with pybullet {iou:.4f}"


# ----------------------------------------------------------------------------- bad input
URDF_TEMPLATE = """<?xml version="1.0"?>
<robot name="{name}">
  <link name="base"><visual><geometry>{base}</geometry></visual></link>
  <link name="arm"><visual><origin xyz="0 0 0.25"/><geometry><cylinder radius="0.05" length="0.5"/></geometry>
  </visual></link>
  <joint name="j1" type="{kind}"><parent link="base"/><child link="arm"/><origin xyz="0 0 0.1"/>
    <axis xyz="0 1 0"/><limit lower="-1" upper="1" effort="1" velocity="1"/></joint>
</robot>
"""


def _write_urdf(tmp_path, name="toy", base='<box size="0.2 0.2 0.1"/>', kind="revolute"):
    path = tmp_path / f"{name}.urdf"
    path.write_text(textwrap.dedent(URDF_TEMPLATE.format(name=name, base=base, kind=kind)))
    return path


def test_a_small_urdf_gets_default_keypoints_and_limits(tmp_path):
    robot = URDFRobot(_write_urdf(tmp_path))
    assert robot.keypoint_names == ["base", "arm"] and robot.dof == 1
    assert robot.joint_limits[0].tolist() == [-1.0] and robot.joint_limits[1].tolist() == [1.0]
    kp, T = robot.forward_kinematics(torch.tensor([[math.pi / 2]], dtype=torch.float64))
    assert torch.allclose(kp[0, 1], torch.tensor([0.0, 0.0, 0.1], dtype=torch.float64))
    # rotating the arm by pi/2 about y turns its +z axis into +x
    assert torch.allclose(T[0, 1, :3, 2], torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64), atol=1e-12)


def test_missing_mesh_is_one_line(tmp_path):
    path = _write_urdf(tmp_path, base='<mesh filename="meshes/nothing.stl"/>')
    with pytest.raises(FileNotFoundError, match="mesh file not found.*nothing.stl"):
        URDFRobot(path)


def test_urdf_without_actuated_joint_is_one_line(tmp_path):
    with pytest.raises(ValueError, match="no actuated joint"):
        URDFRobot(_write_urdf(tmp_path, kind="fixed"))


def test_spec_naming_a_missing_link_is_one_line(tmp_path):
    with pytest.raises(ValueError, match="lacks: gripper"):
        URDFRobot(_write_urdf(tmp_path), RobotSpec(keypoint_links=["base", "gripper"]))


def test_not_a_urdf_is_one_line(tmp_path):
    path = tmp_path / "broken.urdf"
    path.write_text("<robot><link")
    with pytest.raises(ValueError, match="not a readable URDF"):
        URDFRobot(path)


def test_spec_file_with_unknown_key_is_one_line(tmp_path):
    spec = tmp_path / "toy.robot.json"
    spec.write_text('{"keypoints": ["base"]}')
    with pytest.raises(ValueError, match="unknown key.*keypoints"):
        load_urdf_robot(_write_urdf(tmp_path), spec)


def test_registered_urdf_robot_renders_through_synthesis(tmp_path):
    path = _write_urdf(tmp_path, name="toy_arm_for_synthesis")
    robot = load_urdf_robot(path)
    assert get_robot("toy_arm_for_synthesis") is robot
    sample = generate("toy_arm_for_synthesis", 0, [0], 64, 80,
                      params_for("toy_arm_for_synthesis", min_robots=1, max_robots=1, theta_vr=1.0))[0]
    assert sample.joints_3d.shape[1:] == (2, 3)
    other = tmp_path / "other"
    other.mkdir()
    with pytest.raises(ValueError, match="already taken"):
        load_urdf_robot(_write_urdf(other, name="panda"))


# ----------------------------------------------------------------------------- appearance
def _flat_params(name, **changes):
    """One robot, full ambient light (shade 1), no noise, highlight or degradation."""
    return params_for(name, min_robots=1, max_robots=1, theta_vr=1.0, ambient_range=(1.0, 1.0),
                      noise_amplitude=(0.0, 0.0), **changes)


def test_urdf_colours_are_the_urdfs_material_colours():
    robot = get_robot("kuka_iiwa")
    sample = generate("kuka_iiwa", 0, [2], 120, 160, _flat_params("kuka_iiwa", urdf_color_probability=1.0))[0]
    for link in np.unique(sample.link_ids[sample.link_ids >= 0]):
        pixels = sample.image[sample.link_ids == link].astype(float)
        assert np.abs(pixels - 255 * robot.link_colors[link]).max() <= 1.0


def test_textures_change_only_robot_pixels_and_stay_on_the_links():
    plain = generate("kuka_iiwa", 0, [2], 120, 160, _flat_params("kuka_iiwa"))[0]
    textured = generate("kuka_iiwa", 0, [2], 120, 160,
                        _flat_params("kuka_iiwa", texture_probability=1.0, texture_frequency=(20.0, 20.0)))[0]
    robot = plain.link_ids >= 0
    assert np.array_equal(plain.image[~robot], textured.image[~robot])
    assert (plain.image[robot] != textured.image[robot]).any(axis=-1).mean() > 0.2
    assert np.array_equal(plain.depth, textured.depth) and np.array_equal(plain.joints_2d, textured.joints_2d)


def test_texture_is_fixed_to_the_link():
    from robotpose_lib.synth import texture_weight

    rng = np.random.default_rng(0)
    points = rng.normal(size=(50, 3)) * 0.1
    axes = np.eye(3)
    # the same link points give the same pattern, wherever the link is in the camera frame
    for kind in range(3):
        w = texture_weight(points, kind, 25.0, axes, np.zeros(3))
        assert w.shape == (50,) and 0 <= w.min() and w.max() <= 1
        assert np.array_equal(w, texture_weight(points.copy(), kind, 25.0, axes, np.zeros(3)))


# ----------------------------------------------------------------------------- commands
def test_robots_command_lists_every_robot_with_keypoints(capsys):
    from robotpose_lib.cli import main

    assert main(["robots"]) == 0
    out = capsys.readouterr().out
    for name in ("panda_primitive", "kuka_kr16", *MESH_ROBOT_NAMES):
        assert f"{name}: " in out
    assert "panda_link0, panda_link2, panda_link3, panda_link4, panda_link6, panda_link7, panda_hand" in out


def test_spec_without_urdf_is_a_usage_error(capsys):
    from robotpose_lib.cli import main

    assert main(["synth", "--spec", "x.json", "--n", "1", "--out", "nowhere"]) == 2
    assert "--spec: only with --urdf" in capsys.readouterr().err


def test_a_model_trained_from_a_urdf_loads_in_a_fresh_process(tmp_path):
    import subprocess
    import sys

    from robotpose_lib.cli import main

    urdf = _write_urdf(tmp_path, name="toy_arm_for_training")
    assert main(["synth", "--urdf", str(urdf), "--n", "2", "--size", "48x64", "--out", str(tmp_path / "data")]) == 0
    assert main(["train", "localization", "--config", "quick", "--urdf", str(urdf), "--out", str(tmp_path / "run"),
                 "--steps", "2", "--no-progress"]) == 0
    code = ("import warnings; warnings.simplefilter('ignore')\n"
            "from robotpose_lib.predictor import Predictor\n"
            f"p = Predictor.load({str(tmp_path / 'run' / 'checkpoint.pt')!r})\n"
            "print(p.robot, p.joint_names)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "toy_arm_for_training ['base', 'arm']" in out.stdout


@pytest.mark.parametrize("name", ["kuka_iiwa", "xarm6"])
def test_shipped_mesh_arms_train_a_quick_localization_model(tmp_path, name):
    from robotpose_lib.cli import main
    from robotpose_lib.tasks import load_model

    assert main(["train", "localization", "--config", "quick", "--robot", name, "--recipe", "dream",
                 "--out", str(tmp_path), "--steps", "2", "--no-progress"]) == 0
    model, task, ckpt = load_model(tmp_path / "checkpoint.pt")
    assert ckpt["robot"] == name and task.num_joints == get_robot(name).num_keypoints


def test_warm_start_crosses_robots_with_the_same_keypoints_only(tmp_path):
    from robotpose_lib.cli import main

    assert main(["train", "localization", "--config", "quick", "--robot", "panda_primitive",
                 "--out", str(tmp_path / "a"),
                 "--steps", "1", "--no-progress"]) == 0
    init = str(tmp_path / "a" / "checkpoint.pt")
    assert main(["train", "localization", "--config", "quick", "--robot", "panda", "--init", init,
                 "--out", str(tmp_path / "b"), "--steps", "1", "--no-progress"]) == 0
    assert main(["train", "localization", "--config", "quick", "--robot", "kuka_iiwa", "--init", init,
                 "--out", str(tmp_path / "c"), "--steps", "1", "--no-progress"]) == 1


# ----------------------------------------------------------------------------- filmed views
def test_filmed_cameras_keep_their_distance_and_stay_above_the_floor():
    params = params_for("panda", "filmed")
    for s in generate("panda", 4, range(12), 60, 80, params):
        assert 0.3 - 1e-9 <= s.meta["camera_radius"] <= 3.0 + 1e-9
        eye_world = -s.camera_pose[:3, :3].T @ s.camera_pose[:3, 3]
        assert eye_world[2] >= 0.05 - 1e-6
        fov = 2 * np.degrees(np.arctan(0.5 * 60 / s.K[1, 1]))
        assert 40 - 1e-6 <= fov <= 100 + 1e-6


def test_held_objects_sit_at_the_hand():
    from robotpose_lib.synth import sample_scene

    params = params_for("panda", "filmed", held_object_probability=1.0, max_distractors=0)
    scene = sample_scene("panda", params, 4, 3, 60, 80)
    assert len(scene.distractors) == 1
    robot = get_robot("panda")
    kp, _ = robot.forward_kinematics(torch.tensor(scene.joint_angles))
    hand = (scene.camera_pose @ scene.base_poses[0] @ np.append(kp[0, -1].numpy(), 1.0))[:3]
    assert np.linalg.norm(scene.distractors.p0[0] - hand) < 0.3


def test_filmed_validation_is_measured_like_photos():
    from robotpose_lib.eval.real import keypoints_in_frame, mean_pose_baseline, keypoint_metrics
    from robotpose_lib.eval.testset import filmed_validation

    photos = filmed_validation(n=6, size=(60, 80))
    assert 4 <= len(photos) <= 6
    again = filmed_validation(n=6, size=(60, 80))
    assert all(np.array_equal(a.image, b.image) for a, b in zip(photos, again))
    for p in photos:
        uv = camera.project(torch.tensor(p.joints_3d), torch.tensor(p.K)).numpy()
        assert np.allclose(uv, p.joints_2d, atol=1e-3)
    shown = keypoints_in_frame(photos)
    base = keypoint_metrics(mean_pose_baseline(photos))
    assert base["keypoints"] == int(shown.sum()) and base["found"] == 1.0


def test_twin_ladder_command_writes_every_row(tmp_path):
    import json

    from robotpose_lib.cli import main
    from robotpose_lib.real_panda import find_real_panda_dir
    from robotpose_lib.twin import LADDER

    if find_real_panda_dir() is None:
        pytest.skip("no real_panda_dev photos beside the repository")
    out = tmp_path / "ladder.json"
    assert main(["eval", "twin", "--instances", "none", "--json", str(out)]) == 0
    ladder = json.loads(out.read_text())
    assert set(ladder) == set(LADDER)
    assert ladder["mean_pose"]["all"]["found"] == 1.0
    for row in LADDER:
        assert 0.0 <= ladder[row]["all"]["auc"] <= 1.0 and ladder[row]["moving"] is not None


def test_a_white_finish_robot_wears_grey_shells_as_its_own_look():
    params = _flat_params("panda", urdf_color_probability=1.0)
    sample = generate("panda", 0, [1], 120, 160, params)[0]
    robot = sample.link_ids >= 0
    pixels = sample.image[robot].astype(int)
    assert robot.sum() > 50
    assert np.abs(pixels - pixels.mean(axis=1, keepdims=True)).max() <= 8    # achromatic
