"""Table I's geometric floors: answers known by construction."""
import numpy as np
import pytest

from robotpose_lib.eval.depth_floors import fit_kinematics, representation_floor
from robotpose_lib.synth import generate, params_for
from robotpose_lib.targets import TargetParams, depth_coding_for


def _scenes(n=3):
    params = params_for("kuka_kr16", min_robots=1, max_robots=1, theta_vr=1.0)
    return [s for s in generate("kuka_kr16", 5, range(n), 120, 160, params) if s.num_robots]


def test_the_target_at_stride_one_is_exact():
    targets = TargetParams(depth=depth_coding_for("kuka_kr16"))
    table = representation_floor(_scenes(), targets, (120, 160), stride=1)
    assert table["near"]["n"] + table["far"]["n"] > 0
    for side in ("near", "far"):
        if table[side]["n"]:
            assert table[side]["mean"] < 0.1          # centimetres: float rounding only
    coarse = representation_floor(_scenes(), targets, (120, 160), stride=8, upsampling="bilinear")
    assert max(coarse["near"]["mean"] if coarse["near"]["n"] else 0, coarse["far"]["mean"]) > 0.1
    with pytest.raises(ValueError, match="upsampling"):
        representation_floor(_scenes(), targets, (120, 160), stride=8, upsampling="cubic")


def test_the_depth_map_read_at_the_joints_is_exact_for_the_true_map_and_skips_unfittable_robots():
    from robotpose_lib.eval.depth_floors import regressed_at_joints
    from robotpose_lib.targets import make_targets

    targets = TargetParams(depth=depth_coding_for("kuka_kr16"))
    scenes = _scenes()
    maps = [make_targets(s, params=targets)["depth"][0].astype(np.float64) for s in scenes]
    table = regressed_at_joints(scenes, [s.joints_2d.astype(float) for s in scenes], maps, targets)
    assert table["near"]["n"] + table["far"]["n"] > 0
    for side in ("near", "far"):
        if table[side]["n"]:
            assert table[side]["mean"] < 1.0      # cm: the coding's float rounding and pixel rounding only
    # a depth map 10% too far everywhere is 10% off at every joint
    far_maps = [targets.depth.encode(1.1 * targets.depth.decode(m, float(s.K[0, 0]), 160), float(s.K[0, 0]), 160)
                for m, s in zip(maps, scenes)]
    off = regressed_at_joints(scenes, [s.joints_2d.astype(float) for s in scenes], far_maps, targets)
    side = "far" if off["far"]["n"] else "near"
    assert off[side]["mean"] > 5.0
    # robots with fewer than 4 joints found cannot be fitted and are left out here too
    none = [np.full_like(s.joints_2d, np.nan, dtype=float) for s in scenes]
    with pytest.raises(ValueError, match="4 joints"):
        regressed_at_joints(scenes, none, maps, targets)


def test_kinematic_fit_recovers_depth_from_exact_joints():
    s = _scenes(1)[0]
    joints, q, rms = fit_kinematics("kuka_kr16", s.joints_2d[0].astype(float), np.ones(6, bool), s.K.astype(float))
    assert rms < 0.5
    # the fitted joints project where the true ones do; their depth is close
    assert np.median(np.abs(joints[:, 2] - s.joints_3d[0, :, 2])) < 0.05
    with pytest.raises(ValueError, match="at least 4"):
        fit_kinematics("kuka_kr16", np.full((6, 2), np.nan), np.ones(6, bool), s.K.astype(float))


def test_paper_readme_recipe_draws_the_readmes_conditions():
    import math

    params = params_for("kuka_kr16", "paper_readme")
    samples = generate("kuka_kr16", 3, range(6), 60, 80, params)
    angles = np.concatenate([s.joint_angles for s in samples if s.num_robots])
    assert np.abs(angles).max() <= math.pi / 6 + 1e-6
    assert len({round(float(s.K[1, 1]), 6) for s in samples}) == 1     # one camera


def test_the_ablation_recipes_change_one_condition_each():
    import math

    for recipe, narrow, fixed in (("readme_joints", True, False), ("fixed_fov", False, True)):
        params = params_for("kuka_kr16", recipe)
        samples = generate("kuka_kr16", 3, range(8), 60, 80, params)
        angles = np.concatenate([s.joint_angles for s in samples if s.num_robots])
        assert (np.abs(angles).max() <= math.pi / 6 + 1e-6) == narrow
        assert (len({round(float(s.K[1, 1]), 6) for s in samples}) == 1) == fixed
