"""The paper's data synthesis (§III-A): random robot scenes with exact ground truth.

A scene is drawn from ``(seed, index)`` alone, so sample ``i`` is the same bytes on every
call, in every DataLoader worker, batched or not. Drawing happens in two steps:

1. :func:`sample_scene` draws every random choice with NumPy (robot count, placement,
   visibility, joint angles, colours, camera, light, noise) into a :class:`Scene`;
2. :func:`render_scenes` renders any number of scenes in one batched ray-casting call and
   composites each on its background, producing :class:`~robotpose_lib.types.Sample`.

Deviations from the paper, all parameters of :class:`SynthParams`:

* The camera radius is drawn from U(r_min, r_max) instead of U(0, r_max): a radius near 0
  puts the camera inside a robot. The inclination is measured from the zenith and drawn
  from U(0, pi/2), the upper hemisphere, since U(0, pi) would put cameras below the floor.
* The paper leaves the robot count implicit; we draw 1..max_robots robots, then hide each
  with probability 1 - theta_vr.
* Robots rendered but entirely outside the frame are dropped from the arrays, like robots
  hidden by the visibility draw.
"""
from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass, field

import numpy as np
import torch

from . import camera
from .config import torch_threads
from .backgrounds import BackgroundPool, paste_collage
from .distractors import DistractorSet, random_rotation, sample_distractors
from .photometric import degrade, finish, uniform_float32
from .primitives import BOX, CYLINDER, Primitives, Triangles
from .render import render
from .robots import get_robot
from .types import Sample


@dataclass
class SynthParams:
    """Randomisation parameters of paper §III-A, with the paper's defaults.

    Paper names: ``theta_vr`` (robot visibility ~ Bernoulli(theta_vr), per robot per
    frame), ``n_color`` (colours sampled uniformly from n_color hues linearly spaced in
    HSV), ``r_max`` (camera radius on the hemisphere, metres), ``joint_range`` (joint
    angles ~ U(-pi/2, pi/2)), ``noise_amplitude`` (a ~ U(0, 30) on the 0..255 scale).

    Our additions (not in the paper) are documented per attribute.

    Attributes:
        theta_vr: probability that a placed robot is rendered (paper: 0.75).
        n_color: number of linearly spaced hues (paper: 400).
        per_link_color_probability: chance that a robot gets one colour per link instead
            of one colour overall (the paper colours "every robot, or every joint").
        saturation_range, value_range: HSV saturation/value of robot colours (ours).
        r_min: floor of the camera radius in metres (ours; the paper's 0 is degenerate).
        r_max: largest camera radius in metres (paper: 10).
        inclination_range: camera angle from the zenith, radians (ours: upper hemisphere).
        joint_range: (low, high) joint angle range in radians, or None for the robot's own
            sampling range (U(-pi/2, pi/2) for every robot unless its model says otherwise).
        min_robots, max_robots: robots placed per scene before the visibility draw (ours).
        placement_radius: robots stand in a disc of this radius (m) around the origin (ours).
        look_at_height: the camera aims at the scene centre raised by this fraction of the
            robot's reach (ours).
        fov_y_deg: vertical field of view range in degrees (ours; the focal length varies so
            that depth coding can be tested across intrinsics).
        noise_amplitude: (low, high) of the noise amplitude a on 0..255 (paper: (0, 30)).
        ambient_range: ambient share of the Lambertian shading (ours).
        background: where backgrounds come from (see :class:`BackgroundPool`).

    Sim-to-real additions (ours; every default switches the option off, so the defaults
    render the paper's images byte for byte; :data:`RECIPES` names useful settings):

    Attributes:
        aim_offset: the camera aims at the scene centre moved by U(-a, a) * reach along
            each world axis: robots off the image centre, cut by the border at close range.
        achromatic_probability: chance that a robot's random colours are white, grey or
            black (saturation <= 0.08) instead of saturated hues.
        realistic_material_probability: chance that a robot wears a manufacturer-like
            finish instead of random colours: white to light grey links, each link dark
            grey with probability ``dark_link_probability`` (the Panda's joint caps).
        dark_link_probability: see above.
        specular_range: strength of a Blinn-Phong highlight (0..1 of full white), drawn
            per scene; glossy paint and metal.
        shininess: Blinn-Phong exponent of the highlight.
        max_distractors: 0..max random primitives flying in the view (see distractors).
        distractor_size: size range of distractors as fractions of the robot's reach.
        distractor_depth: camera z of distractors as fractions of the camera distance.
        distractor_texture_probability: chance that a distractor shows photo/texture
            pixels instead of one colour.
        collage_patches: 0..max patches of other backgrounds pasted over the background
            (cut-and-paste clutter, see backgrounds.paste_collage).
        color_jitter, white_balance, gamma_range, blur_probability, blur_sigma,
            jpeg_probability, jpeg_quality: photometric degradations (see photometric).

    Mesh-robot additions (ours, after DREAM's domain randomisation, Tremblay et al. 2018;
    defaults off; robots without URDF colours ignore ``urdf_color_probability``):

    Attributes:
        urdf_color_probability: chance that a robot wears its own look instead of random
            colours: its URDF's material colours (:attr:`URDFRobot.link_colors`), or, for a
            robot whose spec says ``finish: "white"`` (the Panda's URDF colours it one flat
            white), white to light-grey shells with dark links (``dark_link_probability``).
        texture_probability: chance that a robot's links carry a random procedural texture
            fixed to the link (stripes, checks or blotches in link coordinates, so the
            pattern moves with the link) mixing its colour with a second random colour.
        texture_frequency: range of the texture's spatial frequency, cycles per metre.

    Filmed views (ours; how people film arms, not how the paper orbits them; defaults off):

    Attributes:
        filmed_probability: chance that a scene's camera is placed as a person films an
            arm instead of on the paper's hemisphere: aimed at a random point on a random
            robot's keypoint chain (anywhere from base to hand, so the base or the hand may
            leave the frame), from a distance log-uniform in ``filmed_distance`` and a
            direction ``filmed_elevation_deg`` above the horizontal (kept above the floor).
        filmed_distance: (low, high) metres from the aimed point on the arm.
        filmed_elevation_deg: (low, high) elevation of the view direction, degrees.
        held_object_probability: chance that a robot holds an object at its last keypoint
            (a board, a box or a tool-like cylinder, 4-25 cm, random pose and colour or
            texture), drawn and occluding like a distractor.
    """

    theta_vr: float = 0.75
    n_color: int = 400
    per_link_color_probability: float = 0.5
    saturation_range: tuple[float, float] = (0.3, 1.0)
    value_range: tuple[float, float] = (0.3, 1.0)
    r_min: float = 2.5
    r_max: float = 10.0
    inclination_range: tuple[float, float] = (0.0, math.pi / 2)
    joint_range: tuple[float, float] | None = None
    min_robots: int = 1
    max_robots: int = 3
    placement_radius: float = 2.5
    look_at_height: float = 0.4
    fov_y_deg: tuple[float, float] = (45.0, 60.0)
    noise_amplitude: tuple[float, float] = (0.0, 30.0)
    ambient_range: tuple[float, float] = (0.25, 0.5)
    background: BackgroundPool = field(default_factory=BackgroundPool)
    aim_offset: float = 0.0
    achromatic_probability: float = 0.0
    realistic_material_probability: float = 0.0
    dark_link_probability: float = 0.25
    specular_range: tuple[float, float] = (0.0, 0.0)
    shininess: float = 30.0
    max_distractors: int = 0
    distractor_size: tuple[float, float] = (0.02, 0.15)
    distractor_depth: tuple[float, float] = (0.3, 1.5)
    distractor_texture_probability: float = 0.5
    collage_patches: int = 0
    color_jitter: float = 0.0
    white_balance: float = 0.0
    gamma_range: tuple[float, float] = (1.0, 1.0)
    blur_probability: float = 0.0
    blur_sigma: tuple[float, float] = (0.3, 1.5)
    jpeg_probability: float = 0.0
    jpeg_quality: tuple[int, int] = (30, 95)
    urdf_color_probability: float = 0.0
    texture_probability: float = 0.0
    texture_frequency: tuple[float, float] = (8.0, 60.0)
    filmed_probability: float = 0.0
    filmed_distance: tuple[float, float] = (0.3, 3.0)
    filmed_elevation_deg: tuple[float, float] = (-15.0, 75.0)
    held_object_probability: float = 0.0

    def __post_init__(self):
        if not 0.0 <= self.theta_vr <= 1.0:
            raise ValueError(f"theta_vr must lie in [0, 1], got {self.theta_vr}")
        if not 0 < self.r_min <= self.r_max:
            raise ValueError(f"need 0 < r_min <= r_max, got r_min={self.r_min}, r_max={self.r_max}")
        if not 0 <= self.min_robots <= self.max_robots:
            raise ValueError(f"need 0 <= min_robots <= max_robots, got {self.min_robots}, {self.max_robots}")
        if self.n_color < 1:
            raise ValueError(f"n_color must be positive, got {self.n_color}")
        for name in ("achromatic_probability", "realistic_material_probability", "dark_link_probability",
                     "distractor_texture_probability", "blur_probability", "jpeg_probability",
                     "urdf_color_probability", "texture_probability", "filmed_probability",
                     "held_object_probability"):
            value = getattr(self, name)
            if not (isinstance(value, numbers.Real) and 0.0 <= value <= 1.0):
                raise ValueError(f"{name} must lie in [0, 1], got {value!r}")
        def ordered(name, low_bound, high_bound, strict_low=False):
            pair = getattr(self, name)
            numeric = isinstance(pair, (tuple, list)) and len(pair) == 2 and all(
                isinstance(x, numbers.Real) for x in pair)
            low, high = pair if numeric else (math.nan, math.nan)   # not two numbers: refused below
            ok = (low > low_bound if strict_low else low >= low_bound) and low <= high <= high_bound
            if not ok:
                raise ValueError(f"{name} must be a range (low, high) with low <= high within "
                                 f"{'(' if strict_low else '['}{low_bound}, {high_bound}], got {pair!r}")

        ordered("fov_y_deg", 0.0, 179.0, strict_low=True)
        ordered("blur_sigma", 0.0, 50.0, strict_low=True)
        ordered("gamma_range", 0.0, 10.0, strict_low=True)
        ordered("specular_range", 0.0, 1.0)
        ordered("noise_amplitude", 0.0, 255.0)
        ordered("texture_frequency", 0.0, 1e4, strict_low=True)
        ordered("filmed_distance", 0.0, 1e3, strict_low=True)
        ordered("filmed_elevation_deg", -90.0, 90.0)
        for name in ("aim_offset", "color_jitter", "white_balance"):
            if not 0.0 <= getattr(self, name) < (10.0 if name == "aim_offset" else 1.0):
                raise ValueError(f"{name} must be >= 0{' and < 1' if name != 'aim_offset' else ''}, "
                                 f"got {getattr(self, name)}")
        if self.max_distractors < 0 or self.collage_patches < 0:
            raise ValueError("max_distractors and collage_patches must be >= 0")
        if not 1 <= self.jpeg_quality[0] <= self.jpeg_quality[1] <= 100:
            raise ValueError(f"jpeg_quality must be a range within 1..100, got {self.jpeg_quality}")

    def replace(self, **changes) -> "SynthParams":
        return dataclasses.replace(self, **changes)


# Per-robot scene presets: only parameters, no code branches. The Panda is a small arm
# usually seen from 0.5 to 3 m; the 6-axis industrial arm follows the paper (up to 10 m).
SCENE_PRESETS: dict[str, dict] = {
    "panda_primitive": dict(r_min=0.5, r_max=3.0, placement_radius=0.9),
    "kuka_kr16": dict(r_min=2.5, r_max=10.0, placement_radius=2.5),
    "panda": dict(r_min=0.5, r_max=3.0, placement_radius=0.9),   # the same arm as "panda_primitive"
}


# Named training recipes: only parameters. "paper" is the paper's randomisation;
# "sim2real" adds what the real Panda photographs (../shared/data/real_panda_dev, chapter 5)
# showed the paper's scenes lack: wide-angle cameras close to the robot and aimed off its
# centre, white/grey robots with highlights, clutter in front of and behind the robot,
# and camera-like degradations. Ranges are chosen from the photos' *kind* (a lab webcam
# of about 77 degrees, 0.4-1.2 m), never fitted to the photos themselves.
# "clutter" is the paper's scenes plus hard negatives only: ray-cast distractor objects
# (spheres, capsules, cylinders, boxes: link-like shapes that are not robots) and collage
# patches of other training photos, so that an instance model learns to leave non-robot
# objects alone without the sim2real recipe's cameras and materials.
RECIPES: dict[str, dict] = {
    "paper": {},
    "clutter": dict(max_distractors=8, collage_patches=4),
    "sim2real": dict(
        fov_y_deg=(40.0, 95.0), aim_offset=0.35, achromatic_probability=0.25,
        realistic_material_probability=0.35, specular_range=(0.0, 0.6), max_distractors=8,
        collage_patches=4, color_jitter=0.3, white_balance=0.15, gamma_range=(0.7, 1.4),
        blur_probability=0.3, jpeg_probability=0.5, inclination_range=(0.2, 1.75)),
}
# "dream": sim2real plus DREAM's randomisation of the robot's own look, for mesh robots:
# its URDF colours now and then, and textures fixed to its links.
RECIPES["dream"] = dict(RECIPES["sim2real"], urdf_color_probability=0.15, texture_probability=0.3)
# "filmed": one robot filmed the way people film arms (SynthParams' filmed views): camera
# 0.3-3 m from a random point of the arm, 40-100 degree field of view, occluders in front of
# it, an object in the hand half of the time, manufacturer-like or achromatic finishes more
# often than colours, camera-like degradations. The synthetic validation set for choosing
# Panda models (eval/testset.filmed_validation) draws from it on test photos; it is written
# from that description, never from the dev photos.
RECIPES["filmed"] = dict(
    min_robots=1, max_robots=1, theta_vr=1.0, filmed_probability=1.0, filmed_distance=(0.3, 3.0),
    fov_y_deg=(40.0, 100.0), realistic_material_probability=0.5, achromatic_probability=0.3,
    urdf_color_probability=0.2, specular_range=(0.0, 0.6), max_distractors=6, distractor_depth=(0.15, 1.0),
    held_object_probability=0.5, collage_patches=3, color_jitter=0.3, white_balance=0.15,
    gamma_range=(0.7, 1.4), blur_probability=0.3, jpeg_probability=0.5)
# "paper_readme": the conditions the paper's public repository states for its model
# (github cheind/robot-pose, README: "trained on 10.000 non-realistic images of robots
# (joint angle-range [-30,30] degrees)"), narrower than the paper's text (U(-pi/2, pi/2)),
# and one fixed camera (the paper never says its intrinsics varied): a field of view of
# 52.5 degrees, the middle of our 45-60 degree range. Table I's ablation (issue 22).
RECIPES["paper_readme"] = dict(joint_range=(-math.pi / 6, math.pi / 6), fov_y_deg=(52.5, 52.5))
# Its two conditions one at a time, for the ablation: the README's joint range with our
# random field of view, and the paper's joint range with one fixed field of view.
RECIPES["readme_joints"] = dict(joint_range=RECIPES["paper_readme"]["joint_range"])
RECIPES["fixed_fov"] = dict(fov_y_deg=RECIPES["paper_readme"]["fov_y_deg"])
# "dream_filmed": dream's randomisation with filmed views in 70 % of the scenes (the rest
# orbit as in the paper) and objects in the hand: training data that covers "filmed".
RECIPES["dream_filmed"] = dict(RECIPES["dream"], filmed_probability=0.7, fov_y_deg=(40.0, 100.0),
                               held_object_probability=0.3, distractor_depth=(0.15, 1.5))
# Robot-specific recipe settings on top (the Panda is often filmed from under a metre).
RECIPE_PRESETS: dict[tuple[str, str], dict] = {
    ("sim2real", "panda_primitive"): dict(r_min=0.4, r_max=1.8),
    ("sim2real", "panda"): dict(r_min=0.4, r_max=1.8),
    ("dream", "panda_primitive"): dict(r_min=0.4, r_max=1.8),
    ("dream", "panda"): dict(r_min=0.4, r_max=1.8),
}


def recipe_base(name: str) -> str | None:
    """The recipe that ``name`` builds on: among the other recipes of :data:`RECIPES`
    whose parameters ``name`` also sets, the one with the most ("paper" sets none, so every
    recipe builds on at least it; "paper" itself builds on nothing).

    Raises:
        ValueError: ``name`` is not a recipe.
    """
    if name not in RECIPES:
        raise ValueError(f"recipe: unknown name {name!r} (expected one of {sorted(RECIPES)})")
    if name == "paper":
        return None
    keys = set(RECIPES[name])
    bases = [other for other in RECIPES if other != name and set(RECIPES[other]) <= keys
             and RECIPES[other] != RECIPES[name]]
    return max(bases, key=lambda other: (len(RECIPES[other]), other == "paper"))


def scene_preset(robot: str) -> dict:
    """The robot's scene preset (:data:`SCENE_PRESETS`). A mesh robot without one is framed
    like the Panda relative to its size: cameras 0.4-2.5 reaches away, bases in a disc of
    0.75 reach (the Panda's preset over its reach)."""
    model = get_robot(robot)   # validates the name
    if robot in SCENE_PRESETS:
        return SCENE_PRESETS[robot]
    if model.kind == "mesh":
        reach = model.reach
        return dict(r_min=round(0.4 * reach, 3), r_max=round(2.5 * reach, 3), placement_radius=round(0.75 * reach, 3))
    return {}


def params_for(robot: str, recipe: str = "paper", **overrides) -> SynthParams:
    """Paper defaults, then the robot's preset (:func:`scene_preset`), then the named recipe
    (see :data:`RECIPES`, with :data:`RECIPE_PRESETS`), then ``overrides``."""
    preset = scene_preset(robot)
    if recipe not in RECIPES:
        raise ValueError(f"recipe: unknown name {recipe!r} (expected one of {sorted(RECIPES)})")
    return SynthParams(**{**preset, **RECIPES[recipe], **RECIPE_PRESETS.get((recipe, robot), {}), **overrides})


@dataclass
class Scene:
    """Every random draw of one sample (before rendering). Arrays are float64 NumPy.

    Per placed robot (n of them): ``base_poses`` (n, 4, 4) base -> world, ``visible`` (n,),
    ``joint_angles`` (n, dof), ``colors`` (n, L, 3) RGB in [0, 1] per link.
    Camera: ``camera_pose`` (4, 4) world -> camera, ``K`` (3, 3). Light: unit direction in
    the camera frame pointing towards the light, ``ambient``. ``rng`` continues the
    sample's random stream for compositing (background, noise).
    """

    seed: int
    index: int
    height: int
    width: int
    base_poses: np.ndarray
    visible: np.ndarray
    joint_angles: np.ndarray
    colors: np.ndarray
    camera_pose: np.ndarray
    K: np.ndarray
    light_dir: np.ndarray
    ambient: float
    noise_amplitude: float
    camera_spherical: tuple[float, float, float]
    rng: np.random.Generator
    specular: float = 0.0
    distractors: DistractorSet = field(default_factory=DistractorSet.empty)
    texture: "LinkTexture | None" = None


LOOK_STREAM = 1  # third SeedSequence entry of the robot-look stream (see sample_scene)
EXTRA_STREAM = 2  # ... of the filmed-view and held-object stream


def sample_rng(seed: int, index: int) -> np.random.Generator:
    """The random stream of sample ``index`` of dataset ``seed``."""
    if seed < 0 or index < 0:
        raise ValueError(f"seed and index must be non-negative, got seed={seed}, index={index}")
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), int(index)])))


def _hsv_to_rgb(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Vectorised HSV -> RGB, all in [0, 1]."""
    i = np.floor(h * 6.0).astype(int) % 6
    f = h * 6.0 - np.floor(h * 6.0)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    table = np.stack([np.stack(c, -1) for c in ((v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q))])
    return np.take_along_axis(table, i[None, ..., None].repeat(3, -1), 0)[0]


def _place_robots(rng: np.random.Generator, n: int, radius: float, clearance: float) -> np.ndarray:
    """Up to n ground positions (x, y) in a disc, pairwise at least ``clearance`` apart."""
    positions: list[np.ndarray] = []
    for _ in range(n):
        for _attempt in range(50):
            r, a = radius * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
            p = np.array([r * math.cos(a), r * math.sin(a)])
            if all(np.linalg.norm(p - q) >= clearance for q in positions):
                positions.append(p)
                break
    return np.array(positions).reshape(-1, 2)


def sample_scene(robot_name: str, params: SynthParams, seed: int, index: int,
                 height: int, width: int) -> Scene:
    """Draw every random choice of sample (seed, index) (see module docstring)."""
    robot = get_robot(robot_name)
    rng = sample_rng(seed, index)
    n = int(rng.integers(params.min_robots, params.max_robots + 1))
    xy = _place_robots(rng, n, params.placement_radius, 2.0 * robot.bounding_radius)
    n = len(xy)
    yaw = rng.uniform(0, 2 * math.pi, n)
    base_poses = np.tile(np.eye(4), (n, 1, 1))
    base_poses[:, 0, 0], base_poses[:, 0, 1] = np.cos(yaw), -np.sin(yaw)
    base_poses[:, 1, 0], base_poses[:, 1, 1] = np.sin(yaw), np.cos(yaw)
    base_poses[:, :2, 3] = xy
    visible = rng.random(n) < params.theta_vr

    if params.joint_range is not None:
        low, high = params.joint_range
    else:  # the robot's own per-joint sampling range (paper: U(-pi/2, pi/2))
        low, high = (np.asarray(t, dtype=np.float64) for t in robot.sample_range)
    limits_low = robot.joint_limits[0].double().numpy()
    limits_high = robot.joint_limits[1].double().numpy()
    q = rng.uniform(low, high, (n, robot.dof))
    q = np.clip(q, limits_low, limits_high)

    n_links = robot.num_links
    per_link = rng.random(n) < params.per_link_color_probability
    hue_idx = rng.integers(0, params.n_color, (n, n_links))
    hue_idx[~per_link] = hue_idx[~per_link, :1]  # one colour for the whole robot
    sat = rng.uniform(*params.saturation_range, (n, n_links))
    val = rng.uniform(*params.value_range, (n, n_links))
    sat[~per_link], val[~per_link] = sat[~per_link, :1], val[~per_link, :1]
    colors = _hsv_to_rgb(hue_idx / params.n_color, sat, val)

    radius = rng.uniform(params.r_min, params.r_max)
    inclination = rng.uniform(*params.inclination_range)
    azimuth = rng.uniform(0, 2 * math.pi)
    centre = np.zeros(3)
    if n:
        centre[:2] = xy.mean(0)
    centre[2] = params.look_at_height * robot.reach
    target = centre.copy()
    eye = centre + radius * np.array([math.sin(inclination) * math.cos(azimuth),
                                      math.sin(inclination) * math.sin(azimuth),
                                      math.cos(inclination)])
    fov = math.radians(rng.uniform(*params.fov_y_deg))
    K = camera.intrinsics_from_fov(width, height, fov).double().numpy()

    light = rng.normal(size=3)
    light[2] = -abs(light[2]) - 0.5  # light on the camera's side of the scene
    light /= np.linalg.norm(light)
    ambient = rng.uniform(*params.ambient_range)
    noise = rng.uniform(*params.noise_amplitude)
    # Sim-to-real draws come last and only when switched on: the paper's scenes keep
    # their bytes.
    if params.aim_offset > 0:
        target = target + rng.uniform(-params.aim_offset, params.aim_offset, 3) * robot.reach
    # Filmed views and held objects draw from a stream of their own (the main stream stays
    # as it was), and replace the orbiting camera when drawn.
    extra = np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), int(index), EXTRA_STREAM])))
    hand_T = None
    if n and (params.filmed_probability > 0 or params.held_object_probability > 0):
        kp_base, link_T = robot.forward_kinematics(torch.tensor(q, dtype=torch.float64))
        keypoints_world = np.einsum("nij,nkj->nki", base_poses[:, :3, :3], kp_base.numpy()) + base_poses[:, None, :3, 3]
        hand_T = base_poses @ link_T[:, robot.keypoint_links[-1]].numpy()     # (n, 4, 4) world <- hand
        if extra.random() < params.filmed_probability:
            eye, target, K, (radius, inclination, azimuth) = _filmed_camera(
                extra, keypoints_world[int(extra.integers(0, n))], params, height, width)
    camera_pose = camera.look_at(torch.tensor(eye), torch.tensor(target)).numpy()
    colors = _sim2real_colors(rng, params, colors)
    specular = float(rng.uniform(*params.specular_range)) if params.specular_range[1] > 0 else 0.0
    distractors = DistractorSet.empty()
    if params.max_distractors > 0:
        size = tuple(f * robot.reach for f in params.distractor_size)
        distractors = sample_distractors(rng, int(rng.integers(0, params.max_distractors + 1)), K,
                                         height, width, radius, size, params.distractor_depth,
                                         params.distractor_texture_probability)
    if hand_T is not None and params.held_object_probability > 0:
        held = [held_object(extra, camera_pose @ T, params.distractor_texture_probability)
                for T, shown in zip(hand_T, visible) if shown and extra.random() < params.held_object_probability]
        if held:
            distractors = DistractorSet.concatenate([distractors, *held])
    # The robot's own look (mesh robots) comes from a stream of its own: switching it on or
    # off changes the robot's pixels only, never the camera, background or clutter.
    look = np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), int(index), LOOK_STREAM])))
    if params.urdf_color_probability > 0 and n and hasattr(robot, "link_colors"):
        own = look.random(n) < params.urdf_color_probability
        colors = np.where(own[:, None, None], _own_look(look, robot, n, params), colors)
    texture = sample_texture(look, n, n_links, params) if params.texture_probability > 0 else None
    return Scene(seed, index, height, width, base_poses, visible, q, colors, camera_pose, K,
                 light, float(ambient), float(noise), (radius, inclination, azimuth), rng,
                 specular, distractors, texture)


@dataclass
class LinkTexture:
    """Per placed robot (n): ``on`` (n,) bool, ``kind`` (n,) 0 stripes / 1 checks /
    2 blotches, ``frequency`` (n,) cycles per metre, ``axes`` (n, 3, 3) unit directions,
    ``phase`` (n, 3) radians, ``second`` (n, L, 3) the second colour per link."""

    on: np.ndarray
    kind: np.ndarray
    frequency: np.ndarray
    axes: np.ndarray
    phase: np.ndarray
    second: np.ndarray

    def select(self, rows: np.ndarray) -> "LinkTexture":
        return LinkTexture(*(getattr(self, f.name)[rows] for f in dataclasses.fields(self)))


def sample_texture(rng: np.random.Generator, n: int, n_links: int, params: SynthParams) -> LinkTexture:
    """The random textures of n robots (see :attr:`SynthParams.texture_probability`)."""
    axes = rng.normal(size=(n, 3, 3))
    axes /= np.linalg.norm(axes, axis=-1, keepdims=True)
    return LinkTexture(on=rng.random(n) < params.texture_probability, kind=rng.integers(0, 3, n),
                       frequency=rng.uniform(*params.texture_frequency, n), axes=axes,
                       phase=rng.uniform(0, 2 * math.pi, (n, 3)),
                       second=_hsv_to_rgb(rng.random((n, n_links)), rng.uniform(0, 1, (n, n_links)),
                                          rng.uniform(0.1, 1, (n, n_links))))


def texture_weight(points: np.ndarray, kind: int, frequency: float, axes: np.ndarray, phase: np.ndarray) -> np.ndarray:
    """(M,) in [0, 1]: the share of the second colour at link-frame points (M, 3) metres."""
    x = 2 * math.pi * frequency * (points @ axes.T) + phase                # (M, 3)
    if kind == 0:                                                           # stripes
        return (np.sin(x[:, 0]) > 0).astype(np.float64)
    if kind == 1:                                                           # checks
        return ((np.sin(x) > 0).sum(1) % 2).astype(np.float64)
    return np.clip(0.5 + 0.8 * np.sin(x).sum(1) / 3, 0, 1)                 # blotches


def _textured_albedo(W: int, K: np.ndarray, albedo: np.ndarray, pixels: np.ndarray, robot_of: np.ndarray,
                     link_of: np.ndarray, depth: np.ndarray, cam_from_link: np.ndarray,
                     tex: LinkTexture) -> np.ndarray:
    """Albedo (M, 3) of robot pixels (flat indices ``pixels`` into an image W wide, seen
    with K) with link textures mixed in. ``cam_from_link``: (R, L, 4, 4) camera <- link of
    the rendered robots; ``tex`` of the same robots."""
    v, u = np.divmod(pixels, W)
    z = depth.ravel()[pixels]
    cam = np.stack([(u - K[0, 2] - K[0, 1] * (v - K[1, 2]) / K[1, 1]) / K[0, 0] * z,
                    (v - K[1, 2]) / K[1, 1] * z, z], 1)
    out = albedo.copy()
    for r in np.flatnonzero(tex.on):
        sel = robot_of == r
        if not sel.any():
            continue
        T = cam_from_link[r, link_of[sel]]                                  # (m, 4, 4)
        local = np.einsum("mji,mj->mi", T[:, :3, :3], cam[sel] - T[:, :3, 3])
        w = texture_weight(local, int(tex.kind[r]), float(tex.frequency[r]), tex.axes[r], tex.phase[r])
        out[sel] = (1 - w)[:, None] * albedo[sel] + w[:, None] * tex.second[r, link_of[sel]]
    return out


def _filmed_camera(rng: np.random.Generator, chain: np.ndarray, params: SynthParams, height: int, width: int):
    """A camera as people film arms (see :attr:`SynthParams.filmed_probability`).

    chain: (J, 3) world keypoints of the filmed robot. Returns eye (3,), target (3,),
    K (3, 3) and (distance, inclination from the zenith, azimuth)."""
    j = int(rng.integers(0, len(chain) - 1)) if len(chain) > 1 else 0
    aim = chain[j] + rng.random() * (chain[min(j + 1, len(chain) - 1)] - chain[j])
    lo, hi = params.filmed_distance
    distance = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
    elevation = np.radians(rng.uniform(*params.filmed_elevation_deg))
    azimuth = rng.uniform(0, 2 * math.pi)
    direction = np.array([math.cos(elevation) * math.cos(azimuth), math.cos(elevation) * math.sin(azimuth),
                          math.sin(elevation)])
    eye = aim + distance * direction
    eye[2] = max(eye[2], 0.05)                       # a camera stays above the floor
    target = aim + rng.normal(scale=0.15 * distance, size=3)   # the arm need not be centred
    if np.linalg.norm(target - eye) < 1e-3:
        target = aim
    fov = math.radians(rng.uniform(*params.fov_y_deg))
    K = camera.intrinsics_from_fov(width, height, fov).double().numpy()
    return eye, target, K, (distance, math.pi / 2 - elevation, azimuth)


def held_object(rng: np.random.Generator, cam_from_hand: np.ndarray, textured_probability: float) -> DistractorSet:
    """One object in a robot's hand (camera frame): a board, a box or a tool-like cylinder
    of 4-25 cm, its centre a few centimetres beyond the hand along the hand's z axis."""
    R, t = cam_from_hand[:3, :3], cam_from_hand[:3, 3]
    size = rng.uniform(0.04, 0.25)
    centre = t + R @ np.array([rng.normal(scale=0.02), rng.normal(scale=0.02), rng.uniform(0.05, 0.12) + size / 2])
    kind = int(rng.integers(0, 3))              # 0 board, 1 box, 2 cylinder
    rotation = R @ random_rotation(rng) if kind < 2 else np.eye(3)
    if kind == 0:
        half = np.array([size / 2, size * rng.uniform(0.3, 0.8) / 2, rng.uniform(0.003, 0.012)])
    else:
        half = size / 2 * rng.uniform(0.3, 1.0, 3)
    axis = R @ np.array([0.0, 0.0, 1.0])
    p0 = centre - axis * size / 2 if kind == 2 else centre
    p1 = centre + axis * size / 2 if kind == 2 else centre
    return DistractorSet(kind=np.array([CYLINDER if kind == 2 else BOX]), p0=p0[None], p1=p1[None],
                         radius=np.array([size * rng.uniform(0.08, 0.25) if kind == 2 else 0.0]),
                         rotation=rotation[None], half_extents=(half if kind < 2 else np.zeros(3))[None],
                         colors=rng.random((1, 3)), textured=np.array([rng.random() < textured_probability]))


def _own_look(rng: np.random.Generator, robot, n: int, params: SynthParams) -> np.ndarray:
    """(n, L, 3) the robot's own colours: its URDF's materials (spec finish "urdf"), or
    white to light-grey shells with dark links (finish "white": the manufacturer's look
    where the URDF's materials are one flat white, as the Panda's)."""
    if getattr(robot, "finish", "urdf") != "white":
        return np.broadcast_to(robot.link_colors[None], (n, *robot.link_colors.shape))
    white = rng.uniform(0.8, 1.0, (n, 1, 1)) + rng.uniform(-0.02, 0.02, (n, 1, 3))
    dark = rng.random((n, robot.num_links)) < params.dark_link_probability
    return np.clip(np.where(dark[..., None], rng.uniform(0.08, 0.3, (n, robot.num_links, 1)), white), 0, 1)


def _sim2real_colors(rng: np.random.Generator, params: SynthParams, colors: np.ndarray) -> np.ndarray:
    """Robots recoloured achromatic or with a white/grey manufacturer finish (see
    SynthParams); ``colors`` (n, L, 3) unchanged when both options are off."""
    n, n_links = colors.shape[:2]
    if params.achromatic_probability > 0 and n:
        grey = rng.random(n) < params.achromatic_probability
        value = rng.uniform(0.1, 1.0, (n, 1, 1))
        tint = rng.uniform(-0.04, 0.04, (n, 1, 3))
        colors = np.where(grey[:, None, None], np.clip(value + tint, 0, 1), colors)
    if params.realistic_material_probability > 0 and n:
        finish = rng.random(n) < params.realistic_material_probability
        white = rng.uniform(0.78, 1.0, (n, 1, 1)) + rng.uniform(-0.03, 0.03, (n, 1, 3))
        dark = rng.random((n, n_links)) < params.dark_link_probability
        dark_value = rng.uniform(0.08, 0.3, (n, n_links, 1))
        material = np.where(dark[..., None], dark_value, np.broadcast_to(white, (n, n_links, 3)))
        colors = np.where(finish[:, None, None], np.clip(material, 0, 1), colors)
    return colors


def posed_scene(robot_name: str, joint_angles, radius: float, inclination: float, azimuth: float,
                height: int = 480, width: int = 640, fov_y_deg: float = 50.0,
                params: SynthParams | None = None, seed: int = 0) -> Scene:
    """A scene with one robot at the origin in chosen joint angles, seen from a chosen
    camera (spherical coordinates around the robot, angles in radians). Colours,
    background and noise still come from ``seed``. For widgets and figures."""
    robot = get_robot(robot_name)
    params = params or params_for(robot_name)
    scene = sample_scene(robot_name, params.replace(min_robots=1, max_robots=1, theta_vr=1.0),
                         seed, 0, height, width)
    q = np.asarray(joint_angles, float).reshape(1, robot.dof)
    centre = np.array([0.0, 0.0, params.look_at_height * robot.reach])
    eye = centre + radius * np.array([math.sin(inclination) * math.cos(azimuth),
                                      math.sin(inclination) * math.sin(azimuth), math.cos(inclination)])
    scene.base_poses = np.eye(4)[None]
    scene.joint_angles = q
    scene.camera_pose = camera.look_at(torch.tensor(eye), torch.tensor(centre)).numpy()
    scene.K = camera.intrinsics_from_fov(width, height, math.radians(fov_y_deg)).double().numpy()
    scene.camera_spherical = (radius, inclination, azimuth)
    return scene


def _scene_geometry(robot, scenes: list[Scene], device) -> tuple[Primitives, Triangles, list[dict], object]:
    """Primitives or mesh triangles (camera frame) of all visible robots of all scenes,
    per-scene keypoints in the camera frame, and for mesh robots the ``triangle_normals``
    function of :func:`render` (their triangles carry no corner normals), else None."""
    rows = [(s_i, r) for s_i, s in enumerate(scenes) for r in np.flatnonzero(s.visible)]
    per_scene = [dict(keypoints=np.zeros((0, len(robot.keypoint_names), 3)), rows=[]) for _ in scenes]
    prims, tris = Primitives.empty(device), Triangles.empty(device)
    interpolate = None
    if not rows:
        return prims, tris, per_scene, interpolate
    q = torch.tensor(np.stack([scenes[s].joint_angles[r] for s, r in rows]), dtype=torch.float32, device=device)
    keypoints, link_T = robot.forward_kinematics(q)
    # camera <- world <- base, one transform per robot row
    T = torch.tensor(np.stack([scenes[s].camera_pose @ scenes[s].base_poses[r] for s, r in rows]),
                     dtype=torch.float32, device=device)
    image_index = torch.tensor([s for s, _ in rows], device=device)
    instance_id = torch.tensor([sum(1 for s2, _ in rows[:k] if s2 == s) for k, (s, _) in enumerate(rows)],
                               device=device)
    if robot.kind == "mesh":
        cam_link_T = T[:, None] @ link_T
        tris = robot.triangles(cam_link_T, image_index, instance_id, normals=False)
        interpolate = robot.normal_interpolator(cam_link_T)
    else:
        prims = robot.primitives(link_T, image_index, instance_id)
        row_of_prim = torch.zeros(len(scenes), dtype=torch.long, device=device)
        counts = torch.bincount(image_index, minlength=len(scenes))
        row_of_prim[1:] = torch.cumsum(counts, 0)[:-1]
        prims = prims.transformed(T[row_of_prim[prims.image_index] + prims.instance_id])
    kp_cam = (T[:, None, :3, :3] @ keypoints.unsqueeze(-1)).squeeze(-1) + T[:, None, :3, 3]
    kp_cam = kp_cam.double().cpu().numpy()
    textured = any(s.texture is not None for s in scenes)
    cam_from_link = (T[:, None] @ link_T).double().cpu().numpy() if textured else None
    for k, (s, r) in enumerate(rows):
        per_scene[s]["rows"].append(r)
    for s in range(len(scenes)):
        sel = [k for k, (s2, _) in enumerate(rows) if s2 == s]
        per_scene[s]["keypoints"] = kp_cam[sel]
        if textured:
            per_scene[s]["cam_from_link"] = cam_from_link[sel]
    return prims, tris, per_scene, interpolate


def _visibility(joints_2d: np.ndarray, joints_3d: np.ndarray, instance: np.ndarray,
                depth: np.ndarray, window: int = 2) -> np.ndarray:
    """(R, J) bool: inside the frame, with a pixel of its own robot within ``window``
    pixels, and not hidden behind another robot. Self-occlusion is not counted: a joint
    sits inside its own robot's silhouette.

    All joints at once: each joint's (2 window + 1)^2 patch is gathered with coordinates
    clamped to the image, which repeats border pixels of the patch and so leaves "any
    pixel of its own robot" unchanged."""
    H, W = instance.shape
    R, J = joints_2d.shape[:2]
    uv = np.rint(joints_2d).astype(int)
    inside = (uv[..., 0] >= 0) & (uv[..., 0] < W) & (uv[..., 1] >= 0) & (uv[..., 1] < H) & (joints_3d[..., 2] > 0)
    vis = np.zeros((R, J), bool)
    r, j = np.nonzero(inside)
    if len(r) == 0:
        return vis
    u, v = uv[r, j, 0], uv[r, j, 1]
    step = np.arange(-window, window + 1)
    rows = np.clip(v[:, None] + step, 0, H - 1)                            # (n, 2w + 1)
    cols = np.clip(u[:, None] + step, 0, W - 1)
    patch = instance[rows[:, :, None], cols[:, None, :]]                   # (n, 2w + 1, 2w + 1)
    near_own = (patch == r[:, None, None]).any((1, 2))
    owner = instance[v, u]
    hidden = (owner >= 0) & (owner != r) & (depth[v, u] < joints_3d[r, j, 2])
    vis[r, j] = near_own & ~hidden
    return vis


@dataclass
class _Hits:
    """The covered pixels of one image (see :class:`~robotpose_lib.render.RenderHits`):
    flat indices ``pixel`` (M,) ascending, ``instance``, ``link`` (M,), ``normal`` (3, M)
    facing the camera, ``ray`` (2, M) (dx, dy) of the rays (dx, dy, 1)."""

    pixel: np.ndarray
    instance: np.ndarray
    link: np.ndarray
    normal: np.ndarray
    ray: np.ndarray


def _put_rows(out: np.ndarray, index: np.ndarray, rows: np.ndarray) -> None:
    """``out[index] = rows`` for C-contiguous float32 (N, 3) ``out`` and (M, 3) ``rows``,
    moving each row as one 12-byte item (about four times faster than fancy indexing)."""
    item = np.dtype((np.void, 12))
    rows = np.ascontiguousarray(rows, dtype=np.float32)
    np.put(out.view(item).reshape(-1), index, rows.view(item).reshape(-1))


def _shade(albedo: np.ndarray, normal: np.ndarray, ray: np.ndarray, light: np.ndarray, ambient: float,
           specular: float, shininess: float) -> np.ndarray:
    """(M, 3) float32 0..255 colours of lit pixels: Lambertian with ``ambient`` share and
    one directional light (unit ``light``, towards the light), plus a Blinn-Phong highlight
    of strength ``specular``. albedo (M, 3) in [0, 1], normal (3, M) unit, facing the
    camera; ray (2, M): (dx, dy) of the view rays (dx, dy, 1).

    The half vector's cosine comes without forming vectors: with the unit view direction
    v = -r / |r|, |v + l| = sqrt(2 + 2 v.l), so n.h = (n.v + n.l) / sqrt(2 + 2 v.l)."""
    lx, ly, lz = (np.float32(c) for c in light)
    nx, ny, nz = normal
    n_l = nx * lx + ny * ly + nz * lz
    shade = np.clip(n_l, 0.0, 1.0)
    shade *= np.float32(1.0 - ambient)
    shade += np.float32(ambient)
    out = albedo * (np.float32(255.0) * shade)[:, None]
    if specular > 0:
        dx, dy = ray
        inv = 1.0 / np.sqrt(dx * dx + dy * dy + 1.0)
        n_v = -(nx * dx + ny * dy + nz) * inv
        v_l = -(dx * lx + dy * ly + lz) * inv
        cos_h = np.clip((n_v + n_l) / np.sqrt(2.0 + 2.0 * v_l), 0.0, 1.0)
        out += (np.float32(255.0 * specular) * cos_h ** np.float32(shininess))[:, None]
    return out


def _composite(scene: Scene, colors: np.ndarray, hits: _Hits, params: SynthParams, depth: np.ndarray | None = None,
               cam_from_link: np.ndarray | None = None, texture: LinkTexture | None = None) -> np.ndarray:
    """Shade robots and distractors (Lambertian, one directional light, optional
    Blinn-Phong highlight) over a background, add noise and the photometric degradations.

    ``hits``: the covered pixels (:class:`_Hits`). Instance ids 0..R-1 are the R robots
    (``colors`` (R, L, 3)), ids from R on the scene's distractors. ``texture`` (of the R
    robots) with ``depth`` (H, W) and ``cam_from_link`` (R, L, 4, 4) mixes link textures
    into the robots' colours."""
    H, W = scene.height, scene.width
    image = params.background.draw(H, W, scene.rng).astype(np.float32)
    if params.collage_patches > 0:
        paste_collage(image, params.background, scene.rng, int(scene.rng.integers(0, params.collage_patches + 1)),
                      inplace=True)
    R, L = colors.shape[:2]
    pixels = hits.pixel
    if len(pixels):
        owner, part = hits.instance, hits.link
        robot_hit = owner < R
        d = scene.distractors
        # one table of every colour: the robots' links, then the distractors
        table = np.concatenate([colors.reshape(R * L, 3), d.colors]).astype(np.float32)
        albedo = np.take(table, np.where(robot_hit, owner * L + part, owner + (R * L - R)), axis=0)
        if texture is not None and texture.on.any():
            albedo[robot_hit] = _textured_albedo(scene.width, scene.K, albedo[robot_hit].astype(np.float64),
                                                 pixels[robot_hit], owner[robot_hit], part[robot_hit], depth,
                                                 cam_from_link, texture)
        if not robot_hit.all() and d.textured.any():
            # screen-space texture: the pixels of another background
            photo = params.background.draw(H, W, scene.rng).reshape(-1, 3)
            textured = np.flatnonzero(~robot_hit)
            textured = textured[d.textured[owner[textured] - R]]
            _put_rows(albedo, textured, np.take(photo, np.take(pixels, textured), axis=0) * np.float32(1 / 255.0))
        shaded = _shade(albedo, hits.normal, hits.ray, scene.light_dir, scene.ambient, scene.specular,
                        params.shininess)
        _put_rows(image.reshape(-1, 3), pixels, shaded)
    image = degrade(image, scene.rng, params)
    a = scene.noise_amplitude
    if a > 0:  # uniform noise in [-a, a] on the 0..255 scale
        noise = uniform_float32(scene.rng, image.shape)   # = rng.random(..., float32), faster
        noise *= np.float32(2.0 * a)
        noise -= np.float32(a)
        image += noise
    return finish(image, scene.rng, params)


def render_scenes(robot_name: str, scenes: list[Scene], params: SynthParams,
                  device: str | torch.device = "cpu") -> list[Sample]:
    """Render scenes in one batched ray-casting call and composite each (see module doc)."""
    if not scenes:
        return []
    robot = get_robot(robot_name)
    H, W = scenes[0].height, scenes[0].width
    if any((s.height, s.width) != (H, W) for s in scenes):
        raise ValueError("scenes rendered together must share one image size")
    # Many small tensor ops: single-threaded on the CPU is fastest (see config.torch_threads).
    with torch_threads(1 if torch.device(device).type == "cpu" else torch.get_num_threads()):
        prims, tris, geometry, interpolate = _scene_geometry(robot, scenes, device)
        extra = [s.distractors.primitives(b, len(geometry[b]["rows"]), device)
                 for b, s in enumerate(scenes) if len(s.distractors)]
        if extra:
            prims = Primitives.cat([prims, *extra])
        K = torch.tensor(np.stack([s.K for s in scenes]), dtype=torch.float32, device=device)
        out = render(prims, K, H, W, batch_size=len(scenes), triangles=tris,
                     cull_back_faces=getattr(robot, "back_face_culling", False), normals="hits",
                     triangle_normals=interpolate)
    depth_all = out.depth.cpu().numpy()
    hit = out.hits
    pixel, hit_instance, hit_link = (x.cpu().numpy() for x in (hit.pixel, hit.instance, hit.link))
    hit_normal, hit_ray = hit.normal.cpu().numpy(), hit.ray.cpu().numpy()
    bounds = np.searchsorted(pixel, np.arange(len(scenes) + 1) * (H * W))   # each image's run of hits

    samples = []
    for b, scene in enumerate(scenes):
        rows = np.asarray(geometry[b]["rows"], dtype=int)
        joints_3d = geometry[b]["keypoints"]
        depth = depth_all[b]
        colors = scene.colors[rows] if len(rows) else np.zeros((0, robot.num_links, 3))
        texture = scene.texture.select(rows) if scene.texture is not None else None
        sl = slice(bounds[b], bounds[b + 1])
        hits = _Hits(pixel[sl] - b * (H * W), hit_instance[sl], hit_link[sl], hit_normal[:, sl], hit_ray[:, sl])
        image = _composite(scene, colors, hits, params, depth, geometry[b].get("cam_from_link"), texture)
        # id images from the covered pixels (int16: robots and distractors are few)
        instance = np.full(H * W, -1, np.int16)
        instance[hits.pixel] = hits.instance
        instance = instance.reshape(H, W)
        masks = instance[None] == np.arange(len(rows), dtype=np.int16)[:, None, None]
        joints_2d = (joints_3d @ scene.K.T)
        joints_2d = joints_2d[..., :2] / joints_2d[..., 2:3]
        visibility = _visibility(joints_2d, joints_3d, instance, depth)
        keep = np.bincount(hits.instance[hits.instance < len(rows)], minlength=len(rows)) > 0   # robots
        on_robot = keep[np.minimum(hits.instance, len(rows) - 1)] & (hits.instance < len(rows)) if len(rows) \
            else np.zeros(len(hits.pixel), bool)   # pixels of kept robots: their link ids (others -1)
        link_ids = np.full(H * W, -1, np.int16)   # entirely out of frame are dropped (above)
        link_ids[hits.pixel[on_robot]] = hits.link[on_robot]
        link_ids = link_ids.reshape(H, W)
        samples.append(Sample(
            image=image,
            masks=masks[keep],
            depth=depth.astype(np.float32),
            joints_2d=joints_2d[keep].astype(np.float32),
            joints_3d=joints_3d[keep].astype(np.float32),
            visibility=visibility[keep],
            K=scene.K.astype(np.float32),
            joint_angles=scene.joint_angles[rows][keep].astype(np.float32),
            base_poses=scene.base_poses[rows][keep].astype(np.float32),
            camera_pose=scene.camera_pose.astype(np.float32),
            robot=robot_name,
            link_ids=link_ids,
            meta=dict(seed=scene.seed, index=scene.index, placed=int(len(scene.visible)),
                      rendered=int(len(rows)), noise_amplitude=scene.noise_amplitude,
                      camera_radius=scene.camera_spherical[0],
                      camera_inclination=scene.camera_spherical[1],
                      camera_azimuth=scene.camera_spherical[2]),
        ))
    return samples


def generate(robot: str, seed: int, indices, height: int = 480, width: int = 640,
             params: SynthParams | None = None, device: str | torch.device = "cpu") -> list[Sample]:
    """Samples ``indices`` of dataset ``seed`` (batched rendering, same bytes as one by one)."""
    params = params or params_for(robot)
    if height < 8 or width < 8:
        raise ValueError(f"image size {height}x{width} is too small (at least 8x8)")
    scenes = [sample_scene(robot, params, seed, int(i), height, width) for i in indices]
    return render_scenes(robot, scenes, params, device)


def generate_one(robot: str, seed: int, index: int, height: int = 480, width: int = 640,
                 params: SynthParams | None = None) -> Sample:
    """Sample ``index`` of dataset ``seed``."""
    return generate(robot, seed, [index], height, width, params)[0]
