"""Robot models: kinematic chains (Denavit-Hartenberg) with batched torch forward
kinematics, named keypoints, joint limits and link geometry as primitives.

Two robots are built here from primitives (see :func:`get_robot`):

* ``"panda_primitive"``: Franka Emika Panda, modified (Craig) DH parameters as published
  by Franka Emika, DREAM's 7 keypoints (Lee et al. 2020); link geometry fitted once to the
  Panda collision meshes (``scripts/fit_panda_geometry.py`` ->
  ``robot_data/panda_geometry.json``). Kept for comparison: ``"panda"`` is the same arm
  drawn from its URDF meshes (:data:`MESH_ROBOT_FOLDERS`), the Panda that synthesis renders.
* ``"kuka_kr16"``: KUKA KR 16, a 6-axis industrial arm of the class of the paper's Staubli
  RX130, standard DH parameters built from the datasheet dimensions, J = 6 keypoints,
  hand-designed geometry.

Frames: every pose is in the robot *base frame* (z up, base on the ground plane z = 0
unless the robot's base frame says otherwise). Units: metres and radians.

Link transforms ``(B, L, 4, 4)``: index 0 is the base (identity), index i = 1..dof is the
frame of link i after joint i, and a robot may append fixed frames (the Panda's hand).
"""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable
from importlib import resources
from pathlib import Path

import torch

from .primitives import BOX, CAPSULE, CYLINDER, SPHERE, Primitives, Shapes
from .urdf import RobotSpec, URDFRobot

KIND_BY_NAME = {"sphere": SPHERE, "capsule": CAPSULE, "cylinder": CYLINDER, "box": BOX}


# ----------------------------------------------------------------------------- DH maths
def dh_transforms(theta: torch.Tensor, a: torch.Tensor, d: torch.Tensor, alpha: torch.Tensor,
                  convention: str) -> torch.Tensor:
    """Per-joint homogeneous transforms from DH parameters.

    theta: (B, n) joint angles incl. offsets; a, d, alpha: (n,) parameters (m, m, rad).
    convention: ``"modified"`` (Craig: RotX(alpha) TransX(a) RotZ(theta) TransZ(d), with a
    and alpha of the *previous* axis stored in row i) or ``"standard"`` (RotZ(theta)
    TransZ(d) TransX(a) RotX(alpha)). Returns (B, n, 4, 4) transforms frame i-1 -> frame i.
    """
    ct, st = torch.cos(theta), torch.sin(theta)
    ca, sa = torch.cos(alpha).expand_as(theta), torch.sin(alpha).expand_as(theta)
    a, d = a.expand_as(theta), d.expand_as(theta)
    zero, one = torch.zeros_like(theta), torch.ones_like(theta)
    if convention == "modified":
        rows = [ct, -st, zero, a,
                st * ca, ct * ca, -sa, -sa * d,
                st * sa, ct * sa, ca, ca * d]
    elif convention == "standard":
        rows = [ct, -st * ca, st * sa, a * ct,
                st, ct * ca, -ct * sa, a * st,
                zero, sa, ca, d]
    else:
        raise ValueError(f"convention must be 'modified' or 'standard', got {convention!r}")
    rows += [zero, zero, zero, one]
    return torch.stack(rows, dim=-1).reshape(*theta.shape, 4, 4)


def _rot_z(angle: float) -> torch.Tensor:
    c, s = math.cos(angle), math.sin(angle)
    T = torch.eye(4, dtype=torch.float64)
    T[:2, :2] = torch.tensor([[c, -s], [s, c]], dtype=torch.float64)
    return T


def _translation(x: float, y: float, z: float) -> torch.Tensor:
    T = torch.eye(4, dtype=torch.float64)
    T[:3, 3] = torch.tensor([x, y, z], dtype=torch.float64)
    return T


# ----------------------------------------------------------------------------- geometry
@dataclass
class LinkGeometry(Shapes):
    """P primitives attached to links, parameters in their link's frame (float64, CPU):
    the :class:`primitives.Shapes` fields and link: int64 (P,) the link each is
    attached to.
    """

    link: torch.Tensor

    @staticmethod
    def from_records(records: list[dict]) -> "LinkGeometry":
        """Build from dicts ``{link, kind, p0?, p1?, radius?, rotation?, half_extents?}``."""
        P = len(records)
        g = LinkGeometry(
            link=torch.tensor([int(r["link"]) for r in records], dtype=torch.long),
            kind=torch.tensor([KIND_BY_NAME[r["kind"]] for r in records], dtype=torch.long),
            p0=torch.zeros(P, 3, dtype=torch.float64), p1=torch.zeros(P, 3, dtype=torch.float64),
            radius=torch.zeros(P, dtype=torch.float64),
            rotation=torch.eye(3, dtype=torch.float64).repeat(P, 1, 1),
            half_extents=torch.zeros(P, 3, dtype=torch.float64))
        for i, r in enumerate(records):
            if r["kind"] not in KIND_BY_NAME:
                raise ValueError(f"geometry record {i}: unknown kind {r['kind']!r}")
            for name in ("p0", "p1", "radius", "rotation", "half_extents"):
                if name in r:
                    getattr(g, name)[i] = torch.as_tensor(r[name], dtype=torch.float64)
            if r["kind"] == "sphere":
                g.p1[i] = g.p0[i]
        return g

    def __len__(self) -> int:
        return int(self.link.shape[0])


def load_geometry_json(name: str) -> LinkGeometry:
    """Load ``robot_data/<name>`` (a JSON with a ``primitives`` list of records)."""
    text = resources.files("robotpose_lib.robot_data").joinpath(name).read_text()
    data = json.loads(text)
    if "primitives" not in data:
        raise ValueError(f"robot_data/{name}: no 'primitives' list")
    return LinkGeometry.from_records(data["primitives"])


# ----------------------------------------------------------------------------- the model
@dataclass
class RobotModel:
    """A serial revolute arm described by DH parameters.

    Attributes:
        name: registry name.
        keypoint_names: J names; keypoint j is point ``keypoint_offsets[j]`` (metres, in
            the frame of link ``keypoint_links[j]``).
        link_names: L names of the frames returned by :meth:`forward_kinematics`.
        dh_a, dh_d, dh_alpha, dh_theta_offset: (dof,) float64 DH parameters (m, rad).
        convention: ``"modified"`` or ``"standard"`` (see :func:`dh_transforms`).
        joint_limits: (low, high) float64 (dof,) radians (datasheet).
        sample_range: (low, high) float64 (dof,) radians; where synthetic poses are drawn
            (the paper: U(-pi/2, pi/2), clipped to the joint limits unless a robot says
            otherwise).
        tool_transforms: fixed (4, 4) frames appended after link ``dof``, each relative
            to the previous frame (the Panda's hand).
        geometry_loader: ``f(model) -> LinkGeometry``, called on first use.
        bounding_radius: footprint radius of the base on the ground (m): bases closer
            than the sum of two radii overlap.
        reach: largest distance (m) of any geometry from the base origin over the joint
            limits (estimated from 4096 seeded random poses + a 2 cm margin); frames
            the camera.
    """

    name: str
    keypoint_names: list[str]
    keypoint_links: list[int]
    keypoint_offsets: torch.Tensor
    link_names: list[str]
    dh_a: torch.Tensor
    dh_d: torch.Tensor
    dh_alpha: torch.Tensor
    dh_theta_offset: torch.Tensor
    convention: str
    joint_limits: tuple[torch.Tensor, torch.Tensor]
    sample_range: tuple[torch.Tensor, torch.Tensor]
    bounding_radius: float
    geometry_loader: Callable[["RobotModel"], LinkGeometry]
    tool_transforms: list[torch.Tensor] = field(default_factory=list)
    description: str = ""
    kind = "primitives"   # what the renderer draws (URDFRobot: "mesh"); not a field

    def __post_init__(self):
        self._geometry: LinkGeometry | None = None
        self._reach: float | None = None

    # -- sizes
    @property
    def dof(self) -> int:
        return int(self.dh_a.shape[0])

    @property
    def num_keypoints(self) -> int:
        return len(self.keypoint_names)

    @property
    def num_links(self) -> int:
        return self.dof + 1 + len(self.tool_transforms)

    @property
    def geometry(self) -> LinkGeometry:
        if self._geometry is None:
            self._geometry = self.geometry_loader(self)
        return self._geometry

    # -- kinematics
    def forward_kinematics(self, q: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Keypoints and link frames in the base frame.

        q: (B, dof) joint angles in radians (any float dtype/device; outputs follow it).
        Returns keypoints (B, J, 3) metres and link_transforms (B, L, 4, 4) mapping link
        coordinates to base coordinates (L = :attr:`num_links`, index 0 = base).
        """
        if q.dim() != 2 or q.shape[1] != self.dof:
            raise ValueError(f"q must have shape (B, {self.dof}) for {self.name}, got {tuple(q.shape)}")
        if not q.is_floating_point():
            q = q.double()
        kw = dict(device=q.device, dtype=q.dtype)
        theta = q + self.dh_theta_offset.to(**kw)
        steps = dh_transforms(theta, self.dh_a.to(**kw), self.dh_d.to(**kw), self.dh_alpha.to(**kw),
                              self.convention)
        B = q.shape[0]
        frames = [torch.eye(4, **kw).expand(B, 4, 4)]
        for i in range(self.dof):
            frames.append(frames[-1] @ steps[:, i])
        for T in self.tool_transforms:
            frames.append(frames[-1] @ T.to(**kw))
        link_transforms = torch.stack(frames, dim=1)
        T_kp = link_transforms[:, self.keypoint_links]                        # (B, J, 4, 4)
        offsets = self.keypoint_offsets.to(**kw)                              # (J, 3)
        keypoints = (T_kp[..., :3, :3] @ offsets.unsqueeze(-1)).squeeze(-1) + T_kp[..., :3, 3]
        return keypoints, link_transforms

    # -- geometry
    def primitives(self, link_transforms: torch.Tensor, image_index: torch.Tensor | None = None,
                   instance_id: torch.Tensor | None = None) -> Primitives:
        """The robot's primitives placed by ``link_transforms``.

        link_transforms: (B, L, 4, 4) from :meth:`forward_kinematics` (possibly already
        premultiplied by a base pose / camera pose: the primitives land in whatever frame
        the transforms map to). image_index, instance_id: int64 (B,) per robot (default
        0 and arange(B)). Returns Primitives with N = B * P entries, robot-major order.
        """
        if link_transforms.dim() != 4 or link_transforms.shape[1:] != (self.num_links, 4, 4):
            raise ValueError(f"link_transforms must have shape (B, {self.num_links}, 4, 4) for "
                             f"{self.name}, got {tuple(link_transforms.shape)}")
        B = link_transforms.shape[0]
        dev, dt = link_transforms.device, link_transforms.dtype
        if image_index is None:
            image_index = torch.zeros(B, dtype=torch.long, device=dev)
        if instance_id is None:
            instance_id = torch.arange(B, dtype=torch.long, device=dev)
        image_index, instance_id = torch.as_tensor(image_index, device=dev), torch.as_tensor(instance_id, device=dev)
        if image_index.shape != (B,) or instance_id.shape != (B,):
            raise ValueError(f"image_index and instance_id must have shape ({B},)")
        g = self.geometry
        P = len(g)
        rep = lambda t: t.to(device=dev, dtype=dt).unsqueeze(0).expand(B, *t.shape).reshape(B * P, *t.shape[1:])
        local = Primitives(
            kind=g.kind.to(dev).repeat(B), p0=rep(g.p0), p1=rep(g.p1), radius=rep(g.radius),
            rotation=rep(g.rotation), half_extents=rep(g.half_extents),
            image_index=image_index.long().repeat_interleave(P),
            instance_id=instance_id.long().repeat_interleave(P),
            link_id=g.link.to(dev).repeat(B))
        T = link_transforms[:, g.link.to(dev)].reshape(B * P, 4, 4)
        return local.transformed(T)

    # -- sampling and extents
    def sample_joint_angles(self, n: int, generator: torch.Generator | None = None,
                            device=None, dtype=torch.float32) -> torch.Tensor:
        """(n, dof) angles uniform in :attr:`sample_range` (drawn on CPU, then moved)."""
        low, high = self.sample_range
        u = torch.rand(n, self.dof, generator=generator, dtype=torch.float64)
        return (low + u * (high - low)).to(device=device, dtype=dtype)

    @property
    def reach(self) -> float:
        if self._reach is None:
            g = torch.Generator().manual_seed(0)
            low, high = self.joint_limits
            q = low + torch.rand(4096, self.dof, generator=g, dtype=torch.float64) * (high - low)
            kp, T = self.forward_kinematics(q)
            prims = self.primitives(T)
            pts = torch.cat([kp.reshape(-1, 3), prims.p0, prims.p1])
            pad = torch.cat([torch.zeros(kp.shape[0] * kp.shape[1], dtype=torch.float64),
                             prims.radius + prims.half_extents.norm(dim=-1),
                             prims.radius + prims.half_extents.norm(dim=-1)])
            self._reach = float((pts.norm(dim=-1) + pad).max()) + 0.02
        return self._reach


# ----------------------------------------------------------------------------- Panda
PANDA_JOINT_LIMITS = (  # Franka Emika Panda datasheet, radians
    [-2.8973, -1.7628, -2.8973, -3.0718, -2.8973, -0.0175, -2.8973],
    [2.8973, 1.7628, 2.8973, -0.0698, 2.8973, 3.7525, 2.8973])
# Where synthetic Panda poses are drawn. The paper's U(-pi/2, pi/2) does not fit the Panda:
# its zero pose puts joints 4 and 6 at their limits. The bending joints 2, 4, 6 take the
# paper's width pi around a centre (joint 2 upright, 4 and 6 at the manufacturer's "ready"
# pose -3pi/4 and pi/2), clipped to the limits; the roll joints 1, 3, 5, 7 turn links about
# their own axes without folding the arm, so they use their full range. The joint angles of
# the 5 real photos in real_panda_dev lie inside this range.
PANDA_SAMPLE_CENTRE = [0.0, 0.0, 0.0, -3 * math.pi / 4, 0.0, math.pi / 2, 0.0]
PANDA_FULL_RANGE_JOINTS = [0, 2, 4, 6]


def _panda() -> RobotModel:
    f64 = lambda x: torch.tensor(x, dtype=torch.float64)
    low, high = f64(PANDA_JOINT_LIMITS[0]), f64(PANDA_JOINT_LIMITS[1])
    centre = f64(PANDA_SAMPLE_CENTRE)
    s_low, s_high = torch.maximum(centre - math.pi / 2, low), torch.minimum(centre + math.pi / 2, high)
    full = PANDA_FULL_RANGE_JOINTS
    s_low[full], s_high[full] = low[full], high[full]
    # Links: 0 = panda_link0 (base), 1..7 = panda_link1..7, 8 = panda_hand: the flange
    # (d = 0.107 along z7) rotated -pi/4 about z, as the URDF's panda_hand frame; its
    # origin is the flange, the DREAM keypoint "panda_hand".
    flange_to_hand = _translation(0, 0, 0.107) @ _rot_z(-math.pi / 4)
    return RobotModel(
        name="panda_primitive",
        keypoint_names=["panda_link0", "panda_link2", "panda_link3", "panda_link4",
                        "panda_link6", "panda_link7", "panda_hand"],
        keypoint_links=[0, 2, 3, 4, 6, 7, 8],
        keypoint_offsets=torch.zeros(7, 3, dtype=torch.float64),
        link_names=[f"panda_link{i}" for i in range(8)] + ["panda_hand"],
        dh_a=f64([0, 0, 0, 0.0825, -0.0825, 0, 0.088]),
        dh_d=f64([0.333, 0, 0.316, 0, 0.384, 0, 0]),
        dh_alpha=f64([0, -math.pi / 2, math.pi / 2, math.pi / 2, -math.pi / 2, math.pi / 2, math.pi / 2]),
        dh_theta_offset=torch.zeros(7, dtype=torch.float64),
        convention="modified",
        joint_limits=(low, high),
        sample_range=(s_low, s_high),
        bounding_radius=0.16,   # link0 footprint: x in [-0.154, 0.072], y in [-0.095, 0.095]
        geometry_loader=lambda model: load_geometry_json("panda_geometry.json"),
        tool_transforms=[flange_to_hand],
        description="Franka Emika Panda (modified DH, Franka Emika documentation); "
                    "geometry fitted to the collision meshes of pybullet_data/franka_panda "
                    "(from franka_ros, Apache-2.0).",
    )


# ----------------------------------------------------------------------------- KUKA KR 16
KR16_DIMENSIONS = dict(  # KUKA KR 16(-2) datasheet, metres
    base_height=0.675, shoulder_offset=0.26, upper_arm=0.68, elbow_offset=0.035,
    forearm=0.67, flange=0.158)
KR16_JOINT_LIMITS = (  # KR 16 datasheet software limits (A1..A6), in our zero, radians
    [math.radians(x) for x in (-185, -65, -220, -350, -130, -350)],
    [math.radians(x) for x in (185, 125, 64, 350, 130, 350)])
# The datasheet's A2 in [-155, 35] and A3 in [-130, 154] degrees are about KUKA's zero; our
# q = 0 is KUKA's home (A2 = -90, A3 = +90) with the same directions (positive q2 tilts
# the upper arm forward, positive q3 lowers the forearm), so q2 = A2 + 90, q3 = A3 - 90.


def _kr16_geometry(model: "RobotModel") -> LinkGeometry:
    """Hand-designed primitives of the KR 16, roughly to the datasheet's proportions.

    Written in the base frame at q = 0 (upper arm vertical, forearm horizontal along +x)
    and moved into each link's frame with the inverse link transform at q = 0.
    """
    D = KR16_DIMENSIONS
    h, a1, l2, a3, l4, l6 = (D[k] for k in ("base_height", "shoulder_offset", "upper_arm",
                                              "elbow_offset", "forearm", "flange"))
    zs, ze = h, h + l2                  # shoulder and elbow heights at q = 0
    zf = ze + a3                        # forearm axis height
    xw = a1 + l4                        # wrist centre x
    world = [
        # link 0: floor plate and fixed base
        dict(link=0, kind="box", p0=[0.0, 0, 0.05], half_extents=[0.26, 0.26, 0.05]),
        dict(link=0, kind="cylinder", p0=[0, 0, 0.0], p1=[0, 0, 0.30], radius=0.20),
        # link 1: rotating column carrying the shoulder (A2) bearing, offset 0.26 forward
        dict(link=1, kind="cylinder", p0=[0, 0, 0.30], p1=[0, 0, h - 0.08], radius=0.19),
        dict(link=1, kind="box", p0=[a1 / 2, 0, h - 0.06], half_extents=[a1 / 2 + 0.10, 0.17, 0.12]),
        dict(link=1, kind="cylinder", p0=[a1, -0.22, zs], p1=[a1, 0.22, zs], radius=0.15),
        # link 2: upper arm (A2 -> A3) with the A3 housing
        dict(link=2, kind="capsule", p0=[a1, 0.0, zs + 0.08], p1=[a1, 0.0, ze - 0.08], radius=0.10),
        dict(link=2, kind="cylinder", p0=[a1, -0.17, ze], p1=[a1, 0.17, ze], radius=0.12),
        # link 3: elbow housing with the A4 motors, stub of the forearm
        dict(link=3, kind="box", p0=[a1 - 0.06, 0, zf], half_extents=[0.17, 0.13, 0.13]),
        dict(link=3, kind="cylinder", p0=[a1 + 0.10, 0, zf], p1=[a1 + 0.25, 0, zf], radius=0.10),
        # link 4: forearm tube to the wrist
        dict(link=4, kind="capsule", p0=[a1 + 0.25, 0, zf], p1=[xw - 0.12, 0, zf], radius=0.075),
        dict(link=4, kind="box", p0=[xw - 0.06, 0, zf], half_extents=[0.06, 0.09, 0.07]),
        # link 5: wrist (A5 housing)
        dict(link=5, kind="cylinder", p0=[xw, -0.075, zf], p1=[xw, 0.075, zf], radius=0.065),
        dict(link=5, kind="capsule", p0=[xw, 0, zf], p1=[xw + l6 - 0.05, 0, zf], radius=0.05),
        # link 6: flange disc
        dict(link=6, kind="cylinder", p0=[xw + l6 - 0.05, 0, zf], p1=[xw + l6, 0, zf], radius=0.063),
    ]
    _, T0 = model.forward_kinematics(torch.zeros(1, model.dof, dtype=torch.float64))
    T0 = T0[0]
    records = []
    for r in world:
        Tinv = torch.linalg.inv(T0[r["link"]])
        R, t = Tinv[:3, :3], Tinv[:3, 3]
        out = dict(r)
        for key in ("p0", "p1"):
            if key in r:
                out[key] = (R @ torch.tensor(r[key], dtype=torch.float64) + t).tolist()
        if r["kind"] == "box":
            out["rotation"] = R.tolist()   # box axes were the base axes at q = 0
        records.append(out)
    return LinkGeometry.from_records(records)


def _kuka_kr16() -> RobotModel:
    D = KR16_DIMENSIONS
    f64 = lambda x: torch.tensor(x, dtype=torch.float64)
    low, high = f64(KR16_JOINT_LIMITS[0]), f64(KR16_JOINT_LIMITS[1])
    half_pi = math.pi / 2
    # Standard DH (our own frame assignment, dimensions from the datasheet). q = 0 is
    # KUKA's home pose (A2 = -90 deg, A3 = +90 deg): upper arm vertical, forearm
    # horizontal along +x, wrist straight, so the flange is at
    # (0.26 + 0.67 + 0.158, 0, 0.675 + 0.68 + 0.035).
    return RobotModel(
        name="kuka_kr16",
        keypoint_names=["kr16_base", "kr16_a1", "kr16_shoulder", "kr16_elbow", "kr16_wrist", "kr16_flange"],
        # base on the floor; A1 axis at shoulder height (top of the rotating column);
        # shoulder = A2 axis; elbow = A3 axis; wrist centre = A4/A5/A6 intersection; flange.
        keypoint_links=[0, 1, 1, 2, 5, 6],
        keypoint_offsets=f64([[0, 0, 0], [-D["shoulder_offset"], 0, 0], [0, 0, 0], [0, 0, 0],
                              [0, 0, 0], [0, 0, 0]]),
        link_names=["kr16_base", "kr16_column", "kr16_upper_arm", "kr16_elbow", "kr16_forearm",
                    "kr16_wrist", "kr16_flange"],
        dh_a=f64([D["shoulder_offset"], D["upper_arm"], D["elbow_offset"], 0, 0, 0]),
        dh_d=f64([D["base_height"], 0, 0, D["forearm"], 0, D["flange"]]),
        dh_alpha=f64([-half_pi, 0, -half_pi, half_pi, -half_pi, 0]),
        dh_theta_offset=f64([0, -half_pi, 0, 0, 0, 0]),
        convention="standard",
        joint_limits=(low, high),
        sample_range=(torch.clamp(torch.full((6,), -half_pi, dtype=torch.float64), low, high),
                      torch.clamp(torch.full((6,), half_pi, dtype=torch.float64), low, high)),
        bounding_radius=0.37,   # 0.26 m half-width floor plate (diagonal 0.37 m)
        geometry_loader=_kr16_geometry,
        description="KUKA KR 16 (standard DH from the KR 16-2 datasheet dimensions "
                    "675/260/680/35/670/158 mm); hand-designed primitive geometry.",
    )


# ----------------------------------------------------------------------------- registry
_BUILDERS = {"panda_primitive": _panda, "kuka_kr16": _kuka_kr16}
ROBOT_NAMES = tuple(_BUILDERS)   # the robots built from primitives (both have trained models)
# Robots from URDF meshes shipped in robot_data/<folder>/ (robot.json names the URDF, the
# keypoint links and the sampling range; scripts/ship_urdf_robots.py made the meshes).
MESH_ROBOT_FOLDERS = {"panda": "franka_panda", "kuka_iiwa": "kuka_iiwa", "xarm6": "xarm6"}
MESH_ROBOT_NAMES = tuple(MESH_ROBOT_FOLDERS)
_REGISTERED: dict[str, "URDFRobot"] = {}


def shipped_urdf(name: str) -> tuple[Path, RobotSpec]:
    """The URDF file and spec of a shipped mesh robot (see :data:`MESH_ROBOT_FOLDERS`)."""
    folder = Path(str(resources.files("robotpose_lib.robot_data").joinpath(MESH_ROBOT_FOLDERS[name])))
    spec_path = folder / "robot.json"
    return folder / json.loads(spec_path.read_text())["urdf"], RobotSpec.from_json(spec_path)


def load_urdf_robot(urdf_path: str | Path, spec: RobotSpec | str | Path | None = None) -> "URDFRobot":
    """A :class:`~robotpose_lib.urdf.URDFRobot` from a URDF file, registered under its
    name so that :func:`get_robot` (synthesis, datasets, training) finds it.

    spec: a RobotSpec, a JSON spec file, or None: ``<urdf stem>.robot.json`` or
    ``robot.json`` beside the URDF when present, else the defaults. Raises
    FileNotFoundError / ValueError (one line) for a missing file or a bad URDF or spec,
    and ValueError when the name is taken by another robot.
    """
    return _register(_urdf_robot(urdf_path, spec))


def _urdf_robot(urdf_path: str | Path, spec: RobotSpec | str | Path | None) -> "URDFRobot":
    """:func:`load_urdf_robot` without registering."""
    urdf_path = Path(urdf_path)
    if spec is None:
        for candidate in (urdf_path.with_name(urdf_path.stem + ".robot.json"), urdf_path.with_name("robot.json")):
            if candidate.is_file():
                try:
                    data = json.loads(candidate.read_text())
                except (json.JSONDecodeError, UnicodeDecodeError):
                    data = None   # RobotSpec.from_json names the problem
                if not isinstance(data, dict) or data.get("urdf", urdf_path.name) == urdf_path.name:
                    spec = candidate
                    break
    if isinstance(spec, (str, Path)):
        spec = RobotSpec.from_json(spec)
    return URDFRobot(urdf_path, spec)


def _register(robot: "URDFRobot") -> "URDFRobot":
    builtin = robot.name in _BUILDERS or robot.name in MESH_ROBOT_FOLDERS
    same = robot.name in _REGISTERED and _REGISTERED[robot.name].urdf_path.resolve() == robot.urdf_path.resolve()
    if builtin or (robot.name in _REGISTERED and not same):
        raise ValueError(f"robot name {robot.name!r} is already taken; give the spec another 'name'")
    _REGISTERED[robot.name] = robot
    return robot


def robot_source(name: str) -> dict | None:
    """What rebuilds a robot registered from a user's URDF in another process (a
    checkpoint stores it): ``{"urdf": absolute path, "spec": RobotSpec fields}``; None for
    the robots that ship with the library."""
    if name not in _REGISTERED:
        return None
    robot = _REGISTERED[name]
    return {"urdf": str(robot.urdf_path.resolve()), "spec": dataclasses.asdict(robot.spec)}


def ensure_robot(name: str, source: dict | None = None):
    """:func:`get_robot`, registering a user's URDF robot from ``source`` (see
    :func:`robot_source`) first when the name is not known yet. Raises ValueError or
    FileNotFoundError (one line) when it cannot."""
    if name in _BUILDERS or name in MESH_ROBOT_FOLDERS or name in _REGISTERED or not source:
        return get_robot(name)
    if not isinstance(source, dict) or not isinstance(source.get("urdf"), str):
        raise ValueError(f"robot {name!r}: its source must name a URDF file, got {source!r}")
    if not Path(source["urdf"]).is_file():
        raise FileNotFoundError(f"robot {name!r} was built from {source['urdf']}, which is not here; "
                                "load its URDF first (robots.load_urdf_robot or --urdf)")
    spec = RobotSpec.from_dict(source.get("spec") or {}, f"robot {name!r}: the spec stored with it")
    robot = _urdf_robot(source["urdf"], spec)
    if robot.name != name:
        raise ValueError(f"{source['urdf']} builds robot {robot.name!r}, not {name!r}")
    return _register(robot)


# Checkpoint format 3 and dataset format 2 renamed the Panda: the Panda that synthesis
# renders became the one drawn from its URDF meshes. Older files are read with today's
# names (old name -> today's), so an old file keeps meaning the robot it was made with.
RENAMED_ROBOTS = {"panda": "panda_primitive", "panda_mesh": "panda"}
# names that are no robot today, and what they became
FORMER_NAMES = {old: new for old, new in RENAMED_ROBOTS.items() if old not in _BUILDERS | MESH_ROBOT_FOLDERS}


def name_today(name: str, source: dict | None = None) -> str:
    """The robot that ``name`` meant in a file written before the rename (checkpoint
    format < 3, dataset format < 2): today's name of a shipped robot; a user's URDF robot
    (``source`` given) keeps its name."""
    return name if source else RENAMED_ROBOTS.get(name, name)


def renamed_hint(name: str) -> str:
    """" ('panda_mesh' is now 'panda' ...)" for a robot name that was renamed, else ""."""
    if name in FORMER_NAMES:
        return (f" ({name!r} is now {FORMER_NAMES[name]!r}; the Panda drawn from primitives, once 'panda', "
                "is 'panda_primitive')")
    return ""


def known_robots() -> tuple[str, ...]:
    """Every robot name :func:`get_robot` accepts now: primitive, shipped mesh and registered."""
    return ROBOT_NAMES + MESH_ROBOT_NAMES + tuple(_REGISTERED)


@lru_cache(maxsize=None)
def _shipped(name: str):
    if name in _BUILDERS:
        return _BUILDERS[name]()
    return URDFRobot(*shipped_urdf(name))


def get_robot(name: str):
    """The robot called ``name``: a :class:`RobotModel` (primitives) or a
    :class:`~robotpose_lib.urdf.URDFRobot` (meshes); one shared instance per name.
    Raises ValueError for an unknown name."""
    if name in _REGISTERED:
        return _REGISTERED[name]
    if name not in _BUILDERS and name not in MESH_ROBOT_FOLDERS:
        raise ValueError(f"unknown robot {name!r}{renamed_hint(name)}; known robots: {', '.join(known_robots())}")
    return _shipped(name)
