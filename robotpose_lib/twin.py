"""The rendered twin of a real photograph: our robot rendered at the photo's joint angles
and calibration (DESIGN, "Measuring what matters").

Three images of the same arm in the same pose and view separate the gaps between our
synthetic training data and a real photo:

* ``twin``: the rendered robot on a background of our synthetic test set (no pixel of the photo):
  geometry and viewpoint only;
* ``pasted``: the rendered robot pasted over the real photo: adds the real background
  and clutter, keeps our robot's appearance;
* ``photo``: the real photo: adds the real robot's appearance.

A model that finds the twin but not the pasted twin is broken by backgrounds; one that
finds the pasted twin but not the photo, by the robot's appearance. The silhouette
overlay (:func:`silhouette_overlay`) checks that our geometry covers the real arm.
"""
from __future__ import annotations

import numpy as np

from .real_panda import RealPhoto
from .synth import params_for, render_scenes, sample_scene
from .types import Sample

VARIANTS = ("twin", "pasted", "photo")


def render_twin(photo: RealPhoto, robot: str = "panda", seed: int = 0, **param_overrides) -> Sample:
    """Our ``robot`` at ``photo``'s joint angles, extrinsics and K, at the photo's size.

    By default it wears the manufacturer-like white/grey finish with a highlight
    (``SynthParams.realistic_material_probability = 1``) on a test-split background, with
    no distractors, noise or degradations. ``param_overrides`` change any SynthParams.
    """
    from .backgrounds import BackgroundPool

    H, W = photo.image.shape[:2]
    overrides = dict(realistic_material_probability=1.0, specular_range=(0.3, 0.3),
                     noise_amplitude=(0.0, 0.0), min_robots=1, max_robots=1, theta_vr=1.0,
                     background=BackgroundPool(split="test"))
    overrides.update(param_overrides)
    params = params_for(robot, **overrides)
    scene = sample_scene(robot, params, seed, 0, H, W)
    scene.base_poses = np.eye(4)[None]
    scene.joint_angles = np.asarray(photo.joint_angles, float)[None]
    scene.camera_pose = np.asarray(photo.T_cam_base, float)
    scene.K = np.asarray(photo.K, float)
    return render_scenes(robot, [scene], params)[0]


def pasted_twin(photo: RealPhoto, twin: Sample) -> np.ndarray:
    """The twin's robot pixels pasted over the real photo: uint8 (H, W, 3)."""
    out = photo.image.copy()
    if len(twin.masks):
        robot = twin.masks.any(0)
        out[robot] = twin.image[robot]
    return out


def variant_images(photo: RealPhoto, seed: int = 0) -> dict[str, np.ndarray]:
    """The three images of :data:`VARIANTS` for one photo."""
    twin = render_twin(photo, seed=seed)
    return {"twin": twin.image, "pasted": pasted_twin(photo, twin), "photo": photo.image}


# the two steps from the twin to the photo, each adding one thing of the real photo
VARIANT_STEPS = {"pasted": "the real background, twin \u2192 pasted",
                 "photo": "the real robot's appearance, pasted \u2192 photo"}


def larger_step(values: dict, worse: str) -> tuple[str, float]:
    """The step (``VARIANT_STEPS``: twin -> pasted or pasted -> photo) that changes
    ``values`` ({variant: figure}) most in the ``worse`` direction ("up" for errors,
    "down" for AUC): (the step in words, the change)."""
    sign = 1 if worse == "up" else -1
    steps = {VARIANT_STEPS[b]: values[b] - values[a]
             for a, b in (("twin", "pasted"), ("pasted", "photo"))}
    name = max(steps, key=lambda k: sign * steps[k])
    return name, steps[name]


def silhouette_overlay(photo: RealPhoto, twin: Sample | None = None, alpha: float = 0.45) -> np.ndarray:
    """The photo with the twin's links tinted one colour each (uint8 (H, W, 3))."""
    import matplotlib

    twin = twin or render_twin(photo)
    out = photo.image.astype(np.float32)
    links = twin.link_ids.astype(int)
    cmap = matplotlib.colormaps["tab10"]
    for link in np.unique(links[links >= 0]):
        colour = np.array(cmap(int(link) % 10)[:3], np.float32) * 255
        sel = links == link
        out[sel] = (1 - alpha) * out[sel] + alpha * colour
    return np.clip(out, 0, 255).astype(np.uint8)


def twin_study(predictor, photos: list[RealPhoto], method: str | None = None) -> dict:
    """Keypoint metrics (see ``eval.real.keypoint_metrics``) of ``predictor`` on each
    variant of every photo. Returns {variant: {"all": metrics, "moving": metrics}}."""
    return _study(predictor, photos, variant_images, VARIANTS, method)


def _study(predictor, photos: list[RealPhoto], make_images, variants, method: str | None) -> dict:
    from dataclasses import replace

    from .eval.real import MOVING_JOINTS, keypoint_metrics, predict_photos

    images = [make_images(p, seed=i) for i, p in enumerate(photos)]
    out = {}
    for variant in variants:
        posed = [replace(p, image=im[variant]) for p, im in zip(photos, images)]
        pred = predict_photos(predictor, posed, method)
        moving = MOVING_JOINTS.get(predictor.robot)
        out[variant] = {"all": keypoint_metrics(pred), "moving": keypoint_metrics(pred, moving) if moving else None}
    return out


# ------------------------------------------------------------------ mesh-accurate twin
MESH_VARIANTS = ("mesh_twin", "mesh_pasted")
PANDA_URDF = "franka_panda/panda.urdf"  # pybullet_data's Panda with its meshes (Apache-2.0)


def render_mesh_twin(photo: RealPhoto, finger_opening_m: float = 0.02) -> tuple[np.ndarray, np.ndarray]:
    """The Franka Panda with its manufacturer meshes (pybullet_data, Apache-2.0) at the
    photo's joint angles, extrinsics and K, drawn by pybullet's CPU renderer (TinyRenderer).

    Unlike :func:`render_twin` (our renderer, the robot and finish the models are trained
    on), this is pybullet's drawing of the same URDF meshes, with the URDF's own colours.
    Our primitive Panda (``panda_primitive``) agrees with it at a silhouette IoU of about
    0.9 on the dev photos.

    Returns:
        (rgb uint8 (H, W, 3), mask bool (H, W)) at the photo's size.

    Raises:
        ImportError: pybullet is not installed (``pip install pybullet``, the bench extra).
        ValueError: not 7 finite joint angles, a finger opening outside 0..0.04 m, or a
            camera :func:`~robotpose_lib.camera.opengl_camera` rejects.
    """
    angles = np.asarray(photo.joint_angles, float).ravel()
    if angles.shape != (7,) or not np.isfinite(angles).all():
        raise ValueError(f"render_mesh_twin: expected 7 finite joint angles, got {angles.tolist()}")
    if not 0.0 <= finger_opening_m <= 0.04:
        raise ValueError(f"render_mesh_twin: finger_opening_m must lie in 0..0.04 m (the Panda's finger "
                         f"joint range), got {finger_opening_m}")
    try:
        import pybullet as pb
        import pybullet_data
    except ImportError as exc:
        raise ImportError("the mesh twin needs pybullet: pip install pybullet") from exc
    from .camera import opengl_camera

    H, W = photo.image.shape[:2]
    client = pb.connect(pb.DIRECT)
    try:
        pb.setAdditionalSearchPath(pybullet_data.getDataPath(), physicsClientId=client)
        robot = pb.loadURDF(PANDA_URDF, useFixedBase=True, flags=pb.URDF_USE_MATERIAL_COLORS_FROM_MTL,
                            physicsClientId=client)
        names = [pb.getJointInfo(robot, j, physicsClientId=client)[1].decode()
                 for j in range(pb.getNumJoints(robot, physicsClientId=client))]
        for k, angle in enumerate(angles):
            pb.resetJointState(robot, names.index(f"panda_joint{k + 1}"), float(angle), physicsClientId=client)
        for finger in ("panda_finger_joint1", "panda_finger_joint2"):
            pb.resetJointState(robot, names.index(finger), finger_opening_m, physicsClientId=client)
        view, projection = opengl_camera(photo.K, photo.T_cam_base, W, H)
        _, _, rgba, _, seg = pb.getCameraImage(W, H, viewMatrix=view.T.flatten().tolist(),
                                               projectionMatrix=projection.T.flatten().tolist(),
                                               renderer=pb.ER_TINY_RENDERER, physicsClientId=client)
    finally:
        pb.disconnect(client)
    rgb = np.asarray(rgba, np.uint8).reshape(H, W, 4)[..., :3].copy()
    return rgb, np.asarray(seg).reshape(H, W) >= 0


def mesh_variant_images(photo: RealPhoto, seed: int = 0) -> dict[str, np.ndarray]:
    """``mesh_twin`` (the mesh render on a test-split background) and ``mesh_pasted`` (over
    the real photo) for one photo."""
    from .backgrounds import BackgroundPool

    rgb, mask = render_mesh_twin(photo)
    H, W = mask.shape
    background = BackgroundPool(split="test").draw(H, W, np.random.default_rng(seed))  # uint8
    twin, pasted = background.copy(), photo.image.copy()
    twin[mask] = rgb[mask]
    pasted[mask] = rgb[mask]
    return {"mesh_twin": twin, "mesh_pasted": pasted}


def mesh_twin_study(predictor, photos: list[RealPhoto], method: str | None = None) -> dict:
    """:func:`twin_study` for pybullet's drawing of the arm (:data:`MESH_VARIANTS`): does a
    model find the real arm's shape when nothing else is real?"""
    return _study(predictor, photos, mesh_variant_images, MESH_VARIANTS, method)


# ------------------------------------------------------------------------ the twin ladder
LADDER = ("mesh_twin", "mesh_pasted", "photo", "mean_pose")
LADDER_DROP = 0.05  # a rung that loses more keypoint AUC than this opens a gap


# the ladder's steps by the name chapter 5 gives them: (the rung before, the rung after)
LADDER_STEPS = {"the real background": ("mesh_twin", "mesh_pasted"),
                "the real arm's look": ("mesh_pasted", "photo")}


def largest_drop(ladder: dict) -> tuple[str, float, float] | None:
    """The step of the twin ladder (``ladder``: rung -> {"all": figures}) that loses the
    most all-joint keypoint AUC: ("the real background", twin AUC, pasted AUC) or ("the
    real arm's look", pasted AUC, photo AUC); None when neither loses more than
    :data:`LADDER_DROP`. Chapter 5's reading and the scorecard's cause both name it."""
    steps = [(step, ladder[a]["all"]["auc"], ladder[b]["all"]["auc"]) for step, (a, b) in LADDER_STEPS.items()]
    step = max(steps, key=lambda s: s[1] - s[2])
    return step if step[1] - step[2] > LADDER_DROP else None


def moving_aucs(ladder: dict, step: str) -> tuple[float, float] | None:
    """The keypoint AUC on the moving joints alone before and after the ladder step
    ``step`` (a key of :data:`LADDER_STEPS`); None when the ladder has no moving-joint
    figures."""
    aucs = [(ladder[k].get("moving") or {}).get("auc") for k in LADDER_STEPS[step]]
    return None if None in aucs else (float(aucs[0]), float(aucs[1]))


LADDER_LABELS = {"mesh_twin": "mesh twin, test-set background", "mesh_pasted": "mesh twin pasted on the photo",
                 "photo": "the photo", "mean_pose": "mean-pose baseline"}


def ladder_images(photo: RealPhoto, seed: int = 0, robot: str = "panda") -> dict[str, np.ndarray]:
    """``mesh_twin`` (``robot``, the real arm's meshes, drawn by our renderer at the photo's
    joint angles and calibration on a test-split background), ``mesh_pasted`` (the same
    robot pixels over the photo) and ``photo``."""
    twin = render_twin(photo, robot=robot, seed=seed)
    return {"mesh_twin": twin.image, "mesh_pasted": pasted_twin(photo, twin), "photo": photo.image}


def twin_ladder(predictor, photos: list[RealPhoto], method: str | None = None, robot: str = "panda") -> dict:
    """The twin ladder (issue 20): keypoint metrics of ``predictor`` on the rows of
    :data:`LADDER` for every photo. Which step loses the arm says which gap is open:
    viewpoint and model (``mesh_twin``), background (``mesh_pasted``), appearance
    (``photo``); ``mean_pose`` is the baseline every row must beat.

    Returns {row: {"all": metrics, "moving": metrics or None}} (``eval.real.keypoint_metrics``).
    """
    from .eval.real import MOVING_JOINTS, keypoint_metrics, mean_pose_baseline

    out = _study(predictor, photos, lambda p, seed: ladder_images(p, seed, robot), LADDER[:3], method)
    base = mean_pose_baseline(photos)
    moving = MOVING_JOINTS.get(predictor.robot)
    out["mean_pose"] = {"all": keypoint_metrics(base), "moving": keypoint_metrics(base, moving) if moving else None}
    return out


def format_ladder(ladder: dict) -> str:
    """The ladder as a text table: keypoint AUC and keypoints found, all and moving joints."""
    lines = [f"{'':34s}{'AUC all':>9s}{'found all':>11s}{'AUC moving':>12s}{'found moving':>14s}"]
    for row in LADDER:
        m = ladder[row]
        moving = m["moving"] or {"auc": float("nan"), "found": float("nan")}
        lines.append(f"{LADDER_LABELS[row]:34s}{m['all']['auc']:9.3f}{m['all']['found']:11.3f}"
                     f"{moving['auc']:12.3f}{moving['found']:14.3f}")
    return "\n".join(lines)


def ladder_predictions(predictor, photos: list[RealPhoto], indices, method: str | None = None,
                       robot: str = "panda") -> tuple[dict[str, np.ndarray], dict[str, list[np.ndarray]]]:
    """The best robot's 2D keypoints (``predictor``'s highest score) on each image of the
    twin ladder (:func:`ladder_images`: "mesh_twin", "mesh_pasted", "photo") of the photos
    ``photos[i]`` for i in ``indices``; each twin is drawn with seed i, as
    :func:`twin_ladder` draws it for the whole list, so the images are those it measured.

    Returns:
        (predictions, images): {rung: (len(indices), J, 2) pixels of the photo, NaN where
        missed} and {rung: [uint8 (H, W, 3) image per index]}.

    Raises:
        ValueError: an index outside ``photos``.
    """
    indices = [int(i) for i in indices]
    if any(not 0 <= i < len(photos) for i in indices):
        raise ValueError(f"ladder_predictions: indices {indices} outside 0..{len(photos) - 1}")
    rungs = LADDER[:3]
    out = {r: np.full((len(indices), predictor.num_joints, 2), np.nan) for r in rungs}
    shown: dict[str, list[np.ndarray]] = {r: [] for r in rungs}
    for k, i in enumerate(indices):
        images = ladder_images(photos[i], seed=i, robot=robot)
        for rung in rungs:
            shown[rung].append(images[rung])
            poses = predictor(images[rung], photos[i].K, method=method)
            if poses:
                out[rung][k] = max(poses, key=lambda p: p.score).joints_2d
    return out, shown


def ladder_outcomes(predictions: dict[str, np.ndarray], photos: list[RealPhoto], chosen: dict[str, int],
                    right_px: float, arm_px: float) -> list[dict]:
    """What became of each joint on each rung of the chosen photos
    (``eval.real.joint_outcomes``), for ``narration.describe_ladder_photos``.

    Args:
        predictions: :func:`ladder_predictions`' first result for the indices
            ``list(chosen.values())``, in that order.
        photos: the photo list the indices point into.
        chosen: label -> photo index (``eval.real.chosen_photos``).
        right_px, arm_px: the tolerances of ``joint_outcomes`` (pixels, > 0).

    Returns:
        per chosen photo {"label", "name", "nearest_m" (camera distance of its nearest
        true joint in front of the camera, metres), "outcomes": {rung: [outcome per joint]}}.

    Raises:
        ValueError: predictions that do not hold one row per chosen photo.
    """
    from .eval.real import joint_outcomes, keypoints_in_frame

    if any(len(p) != len(chosen) for p in predictions.values()):
        raise ValueError(f"ladder_outcomes: {len(chosen)} chosen photos, predictions of "
                         f"{[len(p) for p in predictions.values()]}")
    out = []
    for k, (label, i) in enumerate(chosen.items()):
        photo = photos[i]
        in_frame = keypoints_in_frame([photo])[0]
        z = photo.joints_3d[:, 2]
        out.append({"label": label, "name": photo.name, "nearest_m": float(z[z > 0].min()) if (z > 0).any()
                    else float("nan"),
                    "outcomes": {r: joint_outcomes(p[k], photo.joints_2d, right_px, arm_px, in_frame)
                                 for r, p in predictions.items()}})
    return out
