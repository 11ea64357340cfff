"""Chapter 1 (synthetic data): the mesh renderer against the primitives
(:func:`describe_mesh_agreement`), the chapter's verdict box text (:func:`renderer_verdict`), the
training distribution and the render rates."""
from __future__ import annotations

import numpy as np

from ..metrics import chance_band


def describe_mesh_agreement(iou: float, differ: int, covered: int,
                            pybullet: tuple[float, float] | None = None, views: int = 3,
                            required: float = 0.97) -> str:
    """Chapter 1: the primitive Panda against the mesh Panda at the same joints and camera,
    and the mesh robots against pybullet.

    Args:
        iou: silhouette IoU of the two Pandas; ``differ``: pixels in one silhouette only;
            ``covered``: pixels in either.
        pybullet: (lowest, mean) silhouette IoU of our mesh render against pybullet's over
            ``views`` random views (``bench.meshes.pybullet_agreement``), None when pybullet
            is not installed; ``required``: the IoU the tests ask for.
    """
    if pybullet is None:
        pb_text = "pybullet is not installed here, so that check is skipped."
    else:
        low, mean = pybullet
        number = {2: "two", 3: "three", 4: "four", 5: "five"}.get(views, str(views))
        pb_text = (f"On {number} random views here their silhouettes agree at an IoU of at least "
                   f"{low:.3f} (mean {mean:.3f}); the tests ask for {required:g}.")
    return (f"The two Pandas share joints, keypoints and camera, and their silhouettes overlap "
            f"with an IoU of {iou:.2f}: the shape a network learns from primitives differs "
            f"in {differ} of the {covered} pixels "
            "covered by either silhouette. The mesh robots are checked against another renderer: "
            "pybullet draws the same URDF at the same joint angles and intrinsics "
            f"(`robotpose bench meshes`, `tests/test_urdf.py`). {pb_text}")


def renderer_verdict(pybullet: tuple[float, float] | None, views: int, photos: int,
                     required: float = 0.97) -> str:
    """Chapter 1's verdict box text (``verdict_box(..., without_claims=...)``): §III-A has
    no figure to score; what the chapter checks instead, with what was measured.

    Args:
        pybullet: (lowest, mean) silhouette IoU of our mesh Panda against pybullet's render
            over ``views`` random views (``bench.meshes.pybullet_agreement``), None when
            pybullet is not installed; ``required``: the IoU the tests ask for.
        photos: how many real Panda photos the chapter draws its chains over (0: none here).
    """
    number = {2: "two", 3: "three", 4: "four", 5: "five"}.get(views, str(views))
    if pybullet is None:
        check = "are not compared here (pybullet is not installed)"
    else:
        check = (f"have silhouettes that agree at an IoU of at least {pybullet[0]:.3f} over {number} random views "
                 f"(mean {pybullet[1]:.3f}; the tests ask for {required:g})")
    photo = (f"It also draws the chains of our forward kinematics over {photos} real, calibrated photographs of a "
             "Panda, for the eye to judge (no number)." if photos else
             "Its chains of our forward kinematics over real, calibrated photographs of a Panda need the photos, "
             "which are not here.")
    return ("**Nothing to score against the paper.** The paper's §III-A says how its training scenes are rendered "
            "and randomised, but gives no figure to compare with. What this chapter checks instead is that our "
            "renderer draws the Panda right from its URDF meshes. Drawn by our ray caster and by pybullet (a "
            "robotics simulator with its own renderer) at the same joint angles and intrinsics, the two renders "
            f"{check}. {photo} The robots drawn from primitives (the industrial arm, the primitive Panda) have no "
            "second renderer to be checked against.")


def describe_training_distribution(counts: dict, depths: dict, far_m: float = 5.0,
                                   averages: dict | None = None) -> str:
    """Chapter 1: Markdown bullets reading the training distribution of each robot's preset.

    Args:
        counts: robot -> robots per scene (S,) of its random scenes.
        depths: robot -> camera z of every joint of those scenes, metres.
        far_m: where the paper's far range begins (its Table I splits at 5 m).
        averages: robot -> the shares of scenes with 0, 1, 2, ... robots that its
            parameters draw on average (``eval.testset.robot_count_shares``), or None.

    Returns:
        one bullet per robot (scenes without a robot, with two or more, each beside its
        average when given, and a flag where the sample lies beyond two binomial standard
        errors of it; the 5th-95th percentile of the joints' depth, the share beyond
        ``far_m``), and a closing line when the robots' counts agree scene by scene.
    """
    lines = []
    n = len(next(iter(counts.values()), []))
    band = chance_band(0.5, n) if n else 0.0  # at a share of one half, the widest

    def share(x: float, avg: float | None) -> str:
        if avg is None:
            return f"{x:.0%}"
        off = abs(x - avg) > chance_band(avg, n)
        return f"{x:.0%} (average {avg:.0%}" + ("; beyond two standard errors: an unusual sample" if off else "") + ")"

    for name, c in counts.items():
        c, z = np.asarray(c), np.asarray(depths[name])
        avg = None if averages is None or name not in averages else np.asarray(averages[name])
        lines.append(f"* **{name}**: {share(np.mean(c == 0), None if avg is None else float(avg[0]))} of the "
                     f"{len(c)} scenes show no robot (they teach the networks to say so) and "
                     f"{share(np.mean(c >= 2), None if avg is None else float(avg[2:].sum()))} show two or more; "
                     f"the joints lie {np.percentile(z, 5):.1f} to {np.percentile(z, 95):.1f} m from the "
                     f"camera (5th to 95th percentile), {np.mean(z >= far_m):.0%} of them in "
                     f"the paper's far range beyond {far_m:g} m.")
    if n:
        lines.append(f"\nThese are the shares of one sample of {n} scenes"
                     + (", beside the averages the parameters draw (chapter 3's robot-count table gives them too)"
                        if averages else "")
                     + f": chance alone moves such a share by up to about {100 * band:.0f} points either way in most "
                     "samples (two binomial standard errors).")
    listed = [list(np.asarray(c)) for c in counts.values()]
    if len(listed) > 1 and all(c == listed[0] for c in listed):  # several robots, one draw
        lines.append("\nThe robot counts agree between the robots because both presets "
                     "draw the number of robots and which of them are shown first, "
                     "from the same distributions and the same seed (so a share that is unusual for one "
                     "is unusual for both: one draw, not two); the robots differ "
                     "in what follows (poses, distances, which joints are visible).")
    return "\n".join(lines)


def describe_scene_presets(presets: dict[str, dict], default_r_min: float) -> str:
    """Chapter 1: one sentence per robot preset giving its camera radius range and the
    radius of the disc its robots stand on (metres), read from ``synth.SCENE_PRESETS``.

    Args:
        presets: robot -> the parameters its preset overrides (``r_min``, ``r_max``,
            ``placement_radius``).
        default_r_min: ``SynthParams.r_min``, the floor where a preset sets none.

    Raises:
        ValueError: when ``presets`` is empty.
    """
    if not presets:
        raise ValueError("no scene presets to describe")
    parts = [f"`{name}` from {p.get('r_min', default_r_min):g} to {p['r_max']:g} m, its robots "
             f"standing within {p['placement_radius']:g} m of the scene's centre"
             for name, p in presets.items() if "r_max" in p and "placement_radius" in p]
    return ("Each preset sets the camera radius and where the robots stand: "
            + "; ".join(parts) + ". These ranges were set by hand from each arm's size "
            "and are not tuned; chapter 5's "
            "recipes change them for close, wide-angle views.")


def describe_render_rates(rates: dict[str, float], scenes: int, threads: int,
                          batch: int = 8, cpu: str | None = None) -> str:
    """Chapter 1: Markdown on the synthesiser's measured speed (``bench.synth``): robot ->
    samples per second for ``scenes`` three-robot scenes at 480x640 with ``threads`` torch
    threads (on ``cpu``, its model name, when given), and what the slower rate means for
    one batch of ``batch`` scenes."""
    on = f" on {cpu}" if cpu else ""
    return (f"Rendered {scenes} three-robot scenes at 480x640 for each robot model "
            f"({threads} torch threads{on}):\n\n"
            + "\n".join(f"* **{name}**: {rate:.1f} samples/s" for name, rate in rates.items())
            + f"\n\nAt the slower rate one batch of {batch} scenes takes "
              f"{batch / min(rates.values()):.1f} s to render at the paper's resolution; the "
              "reference models train at 240x320 on a quarter of the pixels, most of them "
              "rendering their scenes in a second process beside the training; the introduction's "
              "table of the shipped models gives their training throughput.")
