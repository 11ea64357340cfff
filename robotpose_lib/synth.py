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
from dataclasses import dataclass, field

import numpy as np
import torch

from . import camera
from .config import torch_threads
from .backgrounds import BackgroundPool
from .primitives import Primitives
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

    def __post_init__(self):
        if not 0.0 <= self.theta_vr <= 1.0:
            raise ValueError(f"theta_vr must lie in [0, 1], got {self.theta_vr}")
        if not 0 < self.r_min <= self.r_max:
            raise ValueError(f"need 0 < r_min <= r_max, got r_min={self.r_min}, r_max={self.r_max}")
        if not 0 <= self.min_robots <= self.max_robots:
            raise ValueError(f"need 0 <= min_robots <= max_robots, got {self.min_robots}, {self.max_robots}")
        if self.n_color < 1:
            raise ValueError(f"n_color must be positive, got {self.n_color}")

    def replace(self, **changes) -> "SynthParams":
        return dataclasses.replace(self, **changes)


# Per-robot scene presets: only parameters, no code branches. The Panda is a small arm
# usually seen from 0.5 to 3 m; the 6-axis industrial arm follows the paper (up to 10 m).
SCENE_PRESETS: dict[str, dict] = {
    "panda": dict(r_min=0.5, r_max=3.0, placement_radius=0.9),
    "kuka_kr16": dict(r_min=2.5, r_max=10.0, placement_radius=2.5),
}


def params_for(robot: str, **overrides) -> SynthParams:
    """Paper defaults, then the robot's preset, then ``overrides``."""
    get_robot(robot)  # validates the name
    return SynthParams(**{**SCENE_PRESETS.get(robot, {}), **overrides})


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
    eye = centre + radius * np.array([math.sin(inclination) * math.cos(azimuth),
                                      math.sin(inclination) * math.sin(azimuth),
                                      math.cos(inclination)])
    camera_pose = camera.look_at(torch.tensor(eye), torch.tensor(centre)).numpy()
    fov = math.radians(rng.uniform(*params.fov_y_deg))
    K = camera.intrinsics_from_fov(width, height, fov).double().numpy()

    light = rng.normal(size=3)
    light[2] = -abs(light[2]) - 0.5  # light on the camera's side of the scene
    light /= np.linalg.norm(light)
    ambient = rng.uniform(*params.ambient_range)
    noise = rng.uniform(*params.noise_amplitude)
    return Scene(seed, index, height, width, base_poses, visible, q, colors, camera_pose, K,
                 light, float(ambient), float(noise), (radius, inclination, azimuth), rng)


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


def _scene_geometry(robot, scenes: list[Scene], device) -> tuple[Primitives, list[dict]]:
    """Primitives (camera frame) of all visible robots of all scenes, and per-scene
    keypoints in the camera frame."""
    rows = [(s_i, r) for s_i, s in enumerate(scenes) for r in np.flatnonzero(s.visible)]
    per_scene = [dict(keypoints=np.zeros((0, len(robot.keypoint_names), 3)), rows=[]) for _ in scenes]
    if not rows:
        return Primitives.empty(device), per_scene
    q = torch.tensor(np.stack([scenes[s].joint_angles[r] for s, r in rows]), dtype=torch.float32, device=device)
    keypoints, link_T = robot.forward_kinematics(q)
    # camera <- world <- base, one transform per robot row
    T = torch.tensor(np.stack([scenes[s].camera_pose @ scenes[s].base_poses[r] for s, r in rows]),
                     dtype=torch.float32, device=device)
    image_index = torch.tensor([s for s, _ in rows], device=device)
    instance_id = torch.tensor([sum(1 for s2, _ in rows[:k] if s2 == s) for k, (s, _) in enumerate(rows)], device=device)
    prims = robot.primitives(link_T, image_index, instance_id)
    row_of_prim = torch.zeros(len(scenes), dtype=torch.long, device=device)
    counts = torch.bincount(image_index, minlength=len(scenes))
    row_of_prim[1:] = torch.cumsum(counts, 0)[:-1]
    prims = prims.transformed(T[row_of_prim[prims.image_index] + prims.instance_id])
    kp_cam = (T[:, None, :3, :3] @ keypoints.unsqueeze(-1)).squeeze(-1) + T[:, None, :3, 3]
    kp_cam = kp_cam.double().cpu().numpy()
    for k, (s, r) in enumerate(rows):
        per_scene[s]["rows"].append(r)
    for s in range(len(scenes)):
        sel = [k for k, (s2, _) in enumerate(rows) if s2 == s]
        per_scene[s]["keypoints"] = kp_cam[sel]
    return prims, per_scene


def _visibility(joints_2d: np.ndarray, joints_3d: np.ndarray, instance: np.ndarray,
                depth: np.ndarray, window: int = 2) -> np.ndarray:
    """(R, J) bool: inside the frame, with a pixel of its own robot within ``window``
    pixels, and not hidden behind another robot. Self-occlusion is not counted: a joint
    sits inside its own robot's silhouette."""
    H, W = instance.shape
    R, J = joints_2d.shape[:2]
    uv = np.rint(joints_2d).astype(int)
    inside = (uv[..., 0] >= 0) & (uv[..., 0] < W) & (uv[..., 1] >= 0) & (uv[..., 1] < H) & (joints_3d[..., 2] > 0)
    vis = np.zeros((R, J), bool)
    for r, j in zip(*np.nonzero(inside)):
        u, v = uv[r, j]
        patch = instance[max(0, v - window): v + window + 1, max(0, u - window): u + window + 1]
        owner = instance[v, u]
        hidden = owner >= 0 and owner != r and depth[v, u] < joints_3d[r, j, 2]
        vis[r, j] = bool((patch == r).any()) and not hidden
    return vis


def _composite(scene: Scene, colors: np.ndarray, instance: np.ndarray, link: np.ndarray,
               normal: np.ndarray, params: SynthParams) -> np.ndarray:
    """Shade robots (Lambertian, one directional light) over a background, add noise."""
    H, W = scene.height, scene.width
    image = params.background.draw(H, W, scene.rng).astype(np.float32)
    hit = instance >= 0
    if hit.any():
        albedo = colors[instance[hit], link[hit]]  # (P, 3)
        lambert = np.clip(normal[hit] @ scene.light_dir, 0.0, 1.0)
        shade = scene.ambient + (1.0 - scene.ambient) * lambert
        image[hit] = 255.0 * albedo * shade[:, None]
    a = scene.noise_amplitude
    if a > 0:  # uniform noise in [-a, a] on the 0..255 scale
        noise = scene.rng.random(image.shape, dtype=np.float32)
        image += (2.0 * a) * noise - a
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


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
        prims, geometry = _scene_geometry(robot, scenes, device)
        K = torch.tensor(np.stack([s.K for s in scenes]), dtype=torch.float32, device=device)
        out = render(prims, K, H, W, batch_size=len(scenes))
    depth_all = out.depth.cpu().numpy()
    instance_all = out.instance.cpu().numpy()
    link_all = out.link.cpu().numpy()
    normal_all = out.normal.cpu().numpy()

    samples = []
    for b, scene in enumerate(scenes):
        rows = np.asarray(geometry[b]["rows"], dtype=int)
        joints_3d = geometry[b]["keypoints"]
        instance, depth = instance_all[b], depth_all[b]
        colors = scene.colors[rows] if len(rows) else np.zeros((0, robot.num_links, 3))
        image = _composite(scene, colors, instance, link_all[b], normal_all[b], params)
        masks = instance[None] == np.arange(len(rows))[:, None, None]
        joints_2d = (joints_3d @ scene.K.T)
        joints_2d = joints_2d[..., :2] / joints_2d[..., 2:3]
        visibility = _visibility(joints_2d, joints_3d, instance, depth)
        keep = masks.reshape(len(rows), H * W).any(1)  # robots entirely out of frame are dropped
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
            link_ids=np.where(np.isin(instance, np.flatnonzero(keep)), link_all[b], -1).astype(np.int16),
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
