"""A user's own URDF, spec and meshes gone wrong: every case is the right answer or one
clear line (ValueError / FileNotFoundError naming the file and the problem), never a
traceback from the command line, a hang, NaN or a silently wrong robot."""
import json
import math

import numpy as np
import pytest
import torch

from robotpose_lib import camera, meshes, robots
from robotpose_lib.primitives import Triangles
from robotpose_lib.render import render
from robotpose_lib.synth import SynthParams
from robotpose_lib.urdf import RobotSpec, URDFRobot

LIMIT = '<limit lower="-1" upper="1" effort="1" velocity="1"/>'


@pytest.fixture(autouse=True)
def private_cache_and_registry(tmp_path, monkeypatch):
    """Meshes cached in the test's folder; robots registered here are forgotten after."""
    monkeypatch.setenv("ROBOTPOSE_CACHE", str(tmp_path / "cache"))
    before = dict(robots._REGISTERED)
    yield
    robots._REGISTERED.clear()
    robots._REGISTERED.update(before)


def link(name, geometry='<box size="0.1 0.1 0.1"/>', origin=""):
    return f'<link name="{name}"><visual>{origin}<geometry>{geometry}</geometry></visual></link>'


def joint(name, parent, child, kind="revolute", extra=LIMIT, axis="0 1 0", xyz="0 0 0.1"):
    return (f'<joint name="{name}" type="{kind}"><parent link="{parent}"/><child link="{child}"/>'
            f'<origin xyz="{xyz}"/><axis xyz="{axis}"/>{extra}</joint>')


def write(tmp_path, body, name="toy", file="robot.urdf"):
    path = tmp_path / file
    path.write_text(f'<robot name="{name}">{body}</robot>')
    return path


def arm(tmp_path, **joint_args):
    return write(tmp_path, link("base") + link("arm") + joint("j1", "base", "arm", **joint_args))


def one_line(exc_info):
    assert "\n" not in str(exc_info.value)
    return str(exc_info.value)


# ----------------------------------------------------------------------------- the joint tree
@pytest.mark.parametrize("body, message", [
    # a loop back to a link gives it a second parent (was RecursionError)
    (link("base") + link("a") + link("b") + joint("j1", "base", "a") + joint("j2", "a", "b") + joint("j3", "b", "a"),
     "link 'a' is the child of two joints"),
    # a loop beside the tree: every link has one parent, one root, but c and d hang loose
    (link("base") + link("a") + link("c") + link("d") + joint("j1", "base", "a") + joint("j2", "c", "d")
     + joint("j3", "d", "c"), "c, d are not connected to the root link 'base'"),
    # a joint naming a link that is not defined (was KeyError)
    (link("base") + joint("j1", "base", "arm"), "joint 'j1' names link 'arm', which is not defined"),
    # a mimic joint following a joint that is not there (was KeyError)
    (link("base") + link("a") + link("b") + joint("j1", "base", "a")
     + joint("j2", "a", "b", extra=LIMIT + '<mimic joint="nope"/>'), "mimics joint 'nope', which is not defined"),
    (link("base") + link("a") + link("a") + joint("j1", "base", "a"), "link name(s) used more than once: a"),
    ("", "defines no link"),
])
def test_broken_joint_trees_are_one_line(tmp_path, body, message):
    with pytest.raises(ValueError) as err:
        URDFRobot(write(tmp_path, body))
    assert message in one_line(err)


@pytest.mark.parametrize("changes, message", [
    (dict(axis="0 0 0"), "zero axis"),                              # was a non-rigid cos(q) * I
    (dict(axis="nan 1 0"), "non-finite origin or axis"),            # was NaN keypoints
    (dict(xyz="nan 0 0.1"), "non-finite origin or axis"),
    (dict(extra='<limit lower="1" upper="-1" effort="1" velocity="1"/>'), "lower=1.0 > upper=-1.0"),
    (dict(kind="prismatic", extra=""), "prismatic joint 'j1' has no <limit"),   # was +-pi metres
])
def test_bad_joint_values_are_one_line(tmp_path, changes, message):
    with pytest.raises(ValueError) as err:
        URDFRobot(arm(tmp_path, **changes))
    assert message in one_line(err)


def test_mimic_joint_declared_before_its_leader_follows_it(tmp_path):
    """A gripper's second finger mimics the first, written first in the file (was IndexError)."""
    slide = '<limit lower="0" upper="0.04" effort="1" velocity="1"/>'
    body = (link("base") + link("f1") + link("f2") + link("f3")
            + joint("m2", "base", "f2", "prismatic", slide + '<mimic joint="m1" multiplier="-1"/>', axis="1 0 0")
            + joint("m3", "base", "f3", "prismatic", slide + '<mimic joint="m2" multiplier="0"/>', axis="1 0 0")
            + joint("m1", "base", "f1", "prismatic", slide, axis="1 0 0"))
    robot = URDFRobot(write(tmp_path, body))
    assert robot.joint_names == ["m1"]
    _, T = robot.forward_kinematics(torch.tensor([[0.03]], dtype=torch.float64))
    x = {name: float(T[0, robot.link_names.index(name), 0, 3]) for name in ("f1", "f2", "f3")}
    assert x["f1"] == pytest.approx(0.03) and x["f2"] == pytest.approx(-0.03)
    assert x["f3"] == pytest.approx(0.0)   # multiplier 0 is 0 (was read as 1)


def test_prismatic_and_continuous_joints(tmp_path):
    slide = '<limit lower="0" upper="0.3" effort="1" velocity="1"/>'
    robot = URDFRobot(arm(tmp_path, kind="prismatic", extra=slide, axis="0 0 1"))
    kp, _ = robot.forward_kinematics(torch.tensor([[0.2]], dtype=torch.float64))
    assert torch.allclose(kp[0, 1], torch.tensor([0.0, 0.0, 0.3], dtype=torch.float64))
    free = URDFRobot(arm(tmp_path, kind="prismatic", extra=""), RobotSpec(sample_range={"j1": (0.0, 0.1)}))
    assert free.sample_range[1].tolist() == [0.1]
    turn = URDFRobot(arm(tmp_path, kind="continuous", extra=""))
    assert turn.joint_limits[0].tolist() == [-math.pi] and turn.joint_limits[1].tolist() == [math.pi]


# ----------------------------------------------------------------------------- geometry and meshes
@pytest.mark.parametrize("geometry, message", [
    ('<box size="0.2 0.1"/>', "box size must be 3 positive numbers"),      # was trimesh's "Extents must be (3,)!"
    ('<box size="0 0 0"/>', "box size must be 3 positive numbers"),
    ('<cylinder radius="-0.1" length="0.2"/>', "cylinder radius must be 1 positive number"),
])
def test_bad_shapes_name_the_link(tmp_path, geometry, message):
    path = write(tmp_path, link("base", geometry) + link("arm") + joint("j1", "base", "arm"))
    with pytest.raises(ValueError) as err:
        URDFRobot(path)
    assert "link 'base'" in one_line(err) and message in str(err.value)


def _box_file(tmp_path):
    import trimesh

    path = tmp_path / "box.stl"
    trimesh.creation.box(extents=(0.2, 0.1, 0.1)).export(path)
    return path


def _mesh_urdf(tmp_path, scale, file="box.stl"):
    scale = f' scale="{scale}"' if scale else ""
    return write(tmp_path, link("base", f'<mesh filename="{file}"{scale}/>') + link("arm") + joint("j1", "base", "arm"))


@pytest.mark.parametrize("scale", ["0 0 0", "1 1", "1 1 1 1", "nan 1 1"])
def test_bad_mesh_scale_is_one_line(tmp_path, scale):
    _box_file(tmp_path)
    with pytest.raises(ValueError) as err:
        URDFRobot(_mesh_urdf(tmp_path, scale))
    assert "mesh scale must be 1 or 3 non-zero finite numbers" in one_line(err)


def test_mirroring_scale_keeps_faces_wound_outward(tmp_path):
    """scale -1 turned every face inward: back-face culling then drew the far side (depth
    of the back wall) instead of the near one."""
    _box_file(tmp_path)
    K = camera.intrinsics(60.0, 60.0, 31.5, 23.5)
    depth = {}
    for scale in ("1 1 1", "-1 1 1"):
        robot = URDFRobot(_mesh_urdf(tmp_path, scale))
        T = torch.eye(4, dtype=torch.float64).repeat(1, robot.num_links, 1, 1)
        T[..., 2, 3] = 1.0   # 1 m in front of the camera
        out = render(None, K, 48, 64, triangles=robot.triangles(T), cull_back_faces=True)
        depth[scale] = out.depth
    assert (depth["1 1 1"] > 0).sum() > 50
    assert torch.equal(depth["1 1 1"] > 0, depth["-1 1 1"] > 0)
    assert float((depth["1 1 1"] - depth["-1 1 1"]).abs().max()) < 1e-5
    assert float(depth["1 1 1"][depth["1 1 1"] > 0].max()) == pytest.approx(0.95, abs=1e-4)


@pytest.mark.parametrize("content", [b"", b"\x00garbage\xff" * 30, b"v 0 0 0\nv 1 0 0\nv 0 1 0\n"])
def test_unreadable_mesh_files_are_one_line(tmp_path, content):
    (tmp_path / "part.obj").write_bytes(content)
    with pytest.raises(ValueError) as err:
        URDFRobot(_mesh_urdf(tmp_path, None, "part.obj"))
    assert "link 'base'" in one_line(err) and "part.obj" in str(err.value)


def test_damaged_cache_entries_are_rebuilt(tmp_path):
    """A cache entry with out-of-range faces or NaN came back as the mesh; a truncated one
    raised BadZipFile."""
    import trimesh

    path = tmp_path / "ball.stl"
    trimesh.creation.icosphere(subdivisions=3, radius=0.1).export(path)
    fresh = meshes.load_link_mesh(path, None, 100)
    (entry,) = meshes.cache_dir().glob("*.npz")
    good = entry.read_bytes()
    damaged = [dict(vertices=fresh.vertices, faces=fresh.faces + 10_000, corner_normals=fresh.corner_normals),
               dict(vertices=fresh.vertices * np.nan, faces=fresh.faces, corner_normals=fresh.corner_normals),
               dict(vertices=fresh.vertices[:, :2], faces=fresh.faces, corner_normals=fresh.corner_normals),
               None]
    for arrays in damaged:
        if arrays is None:
            entry.write_bytes(good[:200])
        else:
            np.savez(entry, **arrays)
        mesh = meshes.load_link_mesh(path, None, 100)
        assert np.array_equal(mesh.faces, fresh.faces) and np.array_equal(mesh.vertices, fresh.vertices)
    with pytest.raises(ValueError, match="triangle budget must be an integer"):
        meshes.load_link_mesh(path, None, "800")


# ----------------------------------------------------------------------------- the spec
SPEC_URDF = (link("base") + link("arm") + link("hand") + link("tip", '<sphere radius="0.02"/>')
             + joint("j1", "base", "arm") + joint("j2", "arm", "hand") + joint("jf", "hand", "tip", "fixed", ""))


@pytest.mark.parametrize("spec, message", [
    ({"keypoint_links": "base"}, "keypoint_links must be a non-empty list of names"),   # was read letter by letter
    ({"keypoint_links": [0, 1]}, "keypoint_links must be a non-empty list of names"),   # was TypeError
    ({"keypoint_links": ["base", "arm", "arm"]}, "keypoint_links names arm more than once"),
    ({"sampled_joints": ["j1", "j1"]}, "sampled_joints names j1 more than once"),
    ({"sample_range": {"j1": [0.5, -0.5]}}, "sample_range of 'j1' has low > high"),
    ({"sample_range": {"j1": 0.5}}, "sample_range of 'j1' must be [low, high]"),        # was TypeError
    ({"sample_range": {"j1": [0]}}, "sample_range of 'j1' must be [low, high]"),        # was IndexError
    ({"sample_range": {"j1": [0, 0.1, 0.2]}}, "sample_range of 'j1' must be [low, high]"),
    ({"sample_range": [[0, 1]]}, "sample_range must map joint names"),                 # was AttributeError
    ({"sample_range": None}, "sample_range must map joint names"),
    ({"fixed_joints": ["j2"]}, "fixed_joints must map joint names"),                   # was TypeError
    ({"fixed_joints": {"j2": "open"}}, "fixed_joints value of 'j2' must be a finite number"),
    ({"triangle_budget": 0}, "triangle_budget must be an integer of at least 4"),      # ignored for shapes
    ({"triangle_budget": "800"}, "triangle_budget must be an integer of at least 4"),
    ({"triangle_budget": True}, "triangle_budget must be an integer of at least 4"),
    ({"finish": "gold"}, "finish must be one of"),
    ({"name": 5}, "name must be a string"),
    ({"back_face_culling": "no"}, "back_face_culling must be true or false"),
])
def test_spec_values_of_the_wrong_type_name_the_spec_file(tmp_path, spec, message):
    urdf = write(tmp_path, SPEC_URDF)
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    with pytest.raises(ValueError) as err:
        robots.load_urdf_robot(urdf, tmp_path / "spec.json")
    assert str(tmp_path / "spec.json") in one_line(err) and message in str(err.value)


@pytest.mark.parametrize("spec, message", [
    (RobotSpec(sample_range={"j1": (2.0, 3.0)}), "lies outside its limits"),           # was an inverted range
    (RobotSpec(sampled_joints=["jf"]), "'jf', a fixed joint"),                          # was a dof that does nothing
    (RobotSpec(fixed_joints={"jf": 0.5}), "'jf', a fixed joint"),                       # was ignored
    (RobotSpec(sample_range={"jf": (0.0, 1.0)}), "'jf', a fixed joint"),
    (RobotSpec(sampled_joints=["j1", "j2"], fixed_joints={"j2": 0.3}), "both samples and holds joint(s) j2"),
    (RobotSpec(fixed_joints={"j2": 0.2}, sample_range={"j2": (0.0, 1.0)}), "not sampled: j2"),
    (RobotSpec(fixed_joints={"j2": 45.0}), "holds joint 'j2' at 45.0, outside its limits"),   # degrees?
])
def test_spec_that_does_not_fit_the_urdf_is_one_line(tmp_path, spec, message):
    with pytest.raises(ValueError) as err:
        URDFRobot(write(tmp_path, SPEC_URDF), spec)
    assert message in one_line(err)


def test_spec_beside_the_urdf_that_is_not_json_is_named(tmp_path):
    urdf = write(tmp_path, SPEC_URDF, file="toy.urdf")
    (tmp_path / "toy.robot.json").write_text("{")
    with pytest.raises(ValueError, match="toy.robot.json: not valid JSON"):
        robots.load_urdf_robot(urdf)
    (tmp_path / "toy.robot.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="toy.robot.json: a robot spec must be a JSON object"):
        robots.load_urdf_robot(urdf)


# ----------------------------------------------------------------------------- stored sources
@pytest.mark.parametrize("spec", [[1], {"bogus": 1}, {"sample_range": {"j1": 1}}, {"keypoint_links": [1]}])
def test_a_checkpoints_stored_spec_of_the_wrong_type_is_one_line(tmp_path, spec):
    urdf = write(tmp_path, SPEC_URDF, name="stored_spec_arm")
    with pytest.raises(ValueError) as err:   # was TypeError / AttributeError
        robots.ensure_robot("stored_spec_arm", {"urdf": str(urdf), "spec": spec})
    assert "robot 'stored_spec_arm'" in one_line(err)


def test_a_source_building_another_robot_registers_nothing(tmp_path):
    urdf = write(tmp_path, SPEC_URDF, name="some_other_arm")
    with pytest.raises(ValueError, match="builds robot 'some_other_arm', not 'wanted_arm'"):
        robots.ensure_robot("wanted_arm", {"urdf": str(urdf), "spec": {}})
    assert "some_other_arm" not in robots.known_robots()


def test_a_moved_urdf_is_found_once_loaded_from_its_new_place(tmp_path):
    moved = write(tmp_path, SPEC_URDF, name="moved_arm")
    source = {"urdf": str(tmp_path / "old" / "robot.urdf"), "spec": {}}
    with pytest.raises(FileNotFoundError, match="which is not here"):
        robots.ensure_robot("moved_arm", source)
    robot = robots.load_urdf_robot(moved)
    assert robots.ensure_robot("moved_arm", source) is robot


# ----------------------------------------------------------------------------- command line
@pytest.mark.parametrize("body", ["", "<robot><link", None])
def test_robots_command_on_broken_urdfs_is_one_line(tmp_path, capsys, caplog, body):
    from robotpose_lib.cli import main

    if body is None:   # a loop: was a RecursionError
        path = write(tmp_path, link("base") + link("a") + joint("j1", "base", "a") + joint("j2", "a", "a"))
    else:
        path = tmp_path / "robot.urdf"
        path.write_text(body)
    assert main(["robots", "--urdf", str(path)]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("robotpose robots: error: ") and str(path) in err
    # yourdfpy logged its parse errors (printed on stderr outside pytest) before raising
    assert not [r for r in caplog.records if r.name.startswith("yourdfpy")]


def test_predict_and_eval_take_urdf(tmp_path, capsys):
    """The moved-URDF message says '--urdf': predict and eval take it (and its --spec)."""
    from robotpose_lib.cli import main

    urdf = write(tmp_path, SPEC_URDF, name="cli_urdf_arm")
    image = tmp_path / "a.png"
    image.write_bytes(b"")
    args = [str(image), "--fx", "50", "--fy", "50", "--cx", "32", "--cy", "24", "--out", str(tmp_path / "o.json")]
    assert main(["predict", *args, "--robot", "panda_primitive", "--urdf", str(urdf)]) == 1
    assert "--robot panda_primitive but" in capsys.readouterr().err
    assert main(["eval", "filmed", "--spec", "x.json"]) == 2
    assert "--spec: only with --urdf" in capsys.readouterr().err


# ----------------------------------------------------------------------------- synthesis and rendering
@pytest.mark.parametrize("changes", [dict(filmed_distance=1.0), dict(filmed_distance=(1.0,)),
                                     dict(filmed_distance=("0.3", "3")), dict(texture_probability="0.5"),
                                     dict(filmed_distance=(0.0, 1.0)), dict(held_object_probability=-0.1)])
def test_synth_params_out_of_range_are_one_line(changes):
    (name,) = changes
    with pytest.raises(ValueError, match=name):   # was TypeError for the wrong types
        SynthParams(**changes)


def test_triangles_that_are_degenerate_nan_or_around_the_camera_render_finite():
    import trimesh

    K = camera.intrinsics(60.0, 60.0, 31.5, 23.5)
    box = torch.tensor(trimesh.creation.box(extents=(1.0, 1.0, 1.0)).triangles, dtype=torch.float32)
    bad = torch.tensor([[[math.nan, 0, 1], [0.1, 0, 1], [0, 0.1, 1]],        # NaN corner
                        [[0, 0, 1], [0.1, 0, 1], [0.2, 0, 1]],               # zero area
                        [[0, 0, 0], [1, 0, 2], [0, 1, 2]]])                   # a corner at the camera
    v = torch.cat([box, bad])
    n = torch.zeros_like(v)
    zeros = torch.zeros(len(v), dtype=torch.long)
    tris = Triangles(v[:, 0], v[:, 1], v[:, 2], n[:, 0], n[:, 1], n[:, 2], zeros, zeros, zeros)
    out = render(None, K, 48, 64, triangles=tris)   # the camera sits inside the box
    assert bool(out.mask.all()) and torch.allclose(out.depth, torch.full_like(out.depth, 0.5))
    assert bool(torch.isfinite(out.normal).all())
