"""Robots from a URDF file: links, joints and visual meshes, batched torch forward
kinematics, keypoints named by link.

The URDF is parsed by yourdfpy (a maintained URDF reader; only its XML model is used,
no scene graph); meshes are read and decimated by :mod:`robotpose_lib.meshes`. Forward
kinematics over the joint tree is a few lines of batched torch (:meth:`URDFRobot.
forward_kinematics`), so it runs on the training device with the rest of synthesis.

Keypoints follow DREAM's convention (Lee et al. 2020): a keypoint is the origin of a
link frame. A small :class:`RobotSpec` (a JSON file beside the URDF, or arguments) names
the keypoint links, the joints that are sampled and their range, joints held fixed (a
gripper's fingers), the default finish and the triangle budget; without a spec every
actuated joint is sampled within its limits and each actuated joint's child link, after
the root link, is a keypoint.

Joint types: revolute, continuous, prismatic, fixed (and mimic joints following another
joint). Link index 0 is the root link; the other links follow in the order of a
depth-first walk of the joint tree.
"""
from __future__ import annotations

import logging
import math
import numbers
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .fileio import read_json_object
from .meshes import DEFAULT_BUDGET, LinkMesh, corner_normals, load_link_mesh
from .primitives import Triangles

MOVING = ("revolute", "continuous", "prismatic")
FINISHES = ("urdf", "white")


@dataclass
class RobotSpec:
    """What a URDF does not say: which links are keypoints and how poses are drawn.

    Attributes:
        name: the robot's registry name (default: the URDF's robot name).
        keypoint_links: link names whose frame origins are the keypoints, in order
            (default: the root link, then the child link of every sampled joint).
        sampled_joints: actuated joints that form the pose vector q, in order (default:
            every actuated joint not held in ``fixed_joints``).
        sample_range: joint name -> (low, high) where poses are drawn, radians or metres
            (default: the joint's limits; a continuous joint takes (-pi, pi)).
        fixed_joints: joint name -> value for actuated joints that are not sampled (for
            example a gripper held open).
        finish: the robot's default look: ``"urdf"`` (the URDF's material colours) or
            ``"white"`` (white and light-grey shells, the manufacturer-like finish).
        triangle_budget: triangles per mesh after decimation (None keeps full meshes).
        back_face_culling: render only triangles facing the camera (twice as fast; right
            for closed meshes wound counter-clockwise, as pybullet's renderer assumes);
            False for meshes with open or inside-out parts.
        description: one line shown when the robots are listed.
    """

    name: str | None = None
    keypoint_links: list[str] | None = None
    sampled_joints: list[str] | None = None
    sample_range: dict[str, tuple[float, float]] = field(default_factory=dict)
    fixed_joints: dict[str, float] = field(default_factory=dict)
    finish: str = "urdf"
    triangle_budget: int | None = DEFAULT_BUDGET
    back_face_culling: bool = True
    description: str = ""

    @staticmethod
    def from_json(path: str | Path) -> "RobotSpec":
        """A spec from a JSON object with the attribute names as keys. Raises
        FileNotFoundError or ValueError (unknown key, not an object, bad JSON, a value of
        the wrong type)."""
        return RobotSpec.from_dict(read_json_object(path, "robot spec"), str(path))

    @staticmethod
    def from_dict(data, where: str = "robot spec") -> "RobotSpec":
        """A spec from a dict with the attribute names as keys (a ``"urdf"`` key is
        ignored), checked by :meth:`check`. Raises ValueError starting with ``where``."""
        if not isinstance(data, dict):
            raise ValueError(f"{where}: a robot spec must be a JSON object, got {type(data).__name__}")
        known = set(RobotSpec.__dataclass_fields__)
        unknown = sorted(set(data) - known - {"urdf"})
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {', '.join(map(str, unknown))} "
                             f"(known: {', '.join(sorted(known))})")
        data = {k: v for k, v in data.items() if k != "urdf"}
        spec = RobotSpec(**data)
        spec.check(where)
        spec.sample_range = {k: tuple(float(x) for x in v) for k, v in spec.sample_range.items()}
        return spec

    def check(self, where: str = "robot spec") -> None:
        """Raise ValueError (one line starting with ``where``) for a field of the wrong type
        or an impossible value; names the URDF lacks are checked by :class:`URDFRobot`."""
        def bad(key, text):
            raise ValueError(f"{where}: spec {key} {text}")

        number = lambda x: isinstance(x, numbers.Real) and not isinstance(x, bool) and math.isfinite(x)
        if self.name is not None and not isinstance(self.name, str):
            bad("name", f"must be a string, got {self.name!r}")
        for key in ("keypoint_links", "sampled_joints"):
            names = getattr(self, key)
            if names is None:
                continue
            if not isinstance(names, (list, tuple)) or not names or not all(isinstance(n, str) for n in names):
                bad(key, f"must be a non-empty list of names, got {names!r}")
            twice = sorted({n for n in names if list(names).count(n) > 1})
            if twice:
                bad(key, f"names {', '.join(twice)} more than once")
        if not isinstance(self.sample_range, dict):
            bad("sample_range", f"must map joint names to [low, high], got {self.sample_range!r}")
        for name, r in self.sample_range.items():
            if not (isinstance(r, (list, tuple)) and len(r) == 2 and all(number(x) for x in r)):
                bad("sample_range", f"of {name!r} must be [low, high] (two finite numbers), got {r!r}")
            if r[0] > r[1]:
                bad("sample_range", f"of {name!r} has low > high: {list(r)}")
        if not isinstance(self.fixed_joints, dict):
            bad("fixed_joints", f"must map joint names to values, got {self.fixed_joints!r}")
        for name, value in self.fixed_joints.items():
            if not number(value):
                bad("fixed_joints", f"value of {name!r} must be a finite number, got {value!r}")
        if self.finish not in FINISHES:
            bad("finish", f"must be one of {FINISHES}, got {self.finish!r}")
        budget = self.triangle_budget
        if budget is not None and not (isinstance(budget, int) and not isinstance(budget, bool) and budget >= 4):
            bad("triangle_budget", f"must be an integer of at least 4 (or null: full meshes), got {budget!r}")
        if not isinstance(self.back_face_culling, bool):
            bad("back_face_culling", f"must be true or false, got {self.back_face_culling!r}")
        if not isinstance(self.description, str):
            bad("description", f"must be a string, got {self.description!r}")


@dataclass
class _Joint:
    name: str
    kind: str
    parent: int
    child: int
    origin: np.ndarray           # (4, 4) parent link -> joint frame at q = 0
    axis: np.ndarray             # (3,) unit
    source: tuple                # ("q", i) | ("fixed", value) | ("mimic", i, multiplier, offset): q_i * m + o


def _resolve_mesh_path(filename: str, urdf_path: Path) -> Path:
    """A URDF mesh filename (``package://pkg/...``, ``file://...``, relative or absolute)
    as a file path: package names are looked up as folders at or above the URDF's."""
    base = urdf_path.parent
    if filename.startswith("file://"):
        filename = filename[len("file://"):]
    if filename.startswith("package://"):
        rest = Path(filename[len("package://"):])
        tails = [rest, Path(*rest.parts[1:])] if len(rest.parts) > 1 else [rest]
        for folder in [base, *base.parents]:
            for tail in tails:
                if (folder / tail).is_file():
                    return folder / tail
        return base / rest
    path = Path(filename)
    return path if path.is_absolute() else base / path


def _primitive_mesh(geometry) -> tuple[np.ndarray, np.ndarray]:
    """A URDF box, cylinder or sphere as a triangle mesh (trimesh.creation). Raises
    ValueError for sizes that are not positive finite numbers (box: three)."""
    import trimesh

    def sizes(what, values, n):
        v = np.asarray(values if values is not None else [], np.float64).reshape(-1)
        if v.shape != (n,) or not np.isfinite(v).all() or (v <= 0).any():
            raise ValueError(f"{what} must be {n} positive number{'s' if n > 1 else ''}, got {values}")
        return v

    if geometry.box is not None:
        m = trimesh.creation.box(extents=sizes("box size", geometry.box.size, 3))
    elif geometry.cylinder is not None:
        c = geometry.cylinder
        m = trimesh.creation.cylinder(radius=sizes("cylinder radius", c.radius, 1)[0],
                                      height=sizes("cylinder length", c.length, 1)[0], sections=24)
    else:
        m = trimesh.creation.icosphere(subdivisions=2, radius=sizes("sphere radius", geometry.sphere.radius, 1)[0])
    return np.asarray(m.vertices, np.float64), np.asarray(m.faces, np.int64)


def _rotation_about(axis: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """(B, 3, 3) rotations by ``angle`` (B,) about the unit ``axis`` (3,) (Rodrigues)."""
    x, y, z = axis.unbind()
    c, s = torch.cos(angle), torch.sin(angle)
    C = 1.0 - c
    return torch.stack([c + x * x * C, x * y * C - z * s, x * z * C + y * s,
                        y * x * C + z * s, c + y * y * C, y * z * C - x * s,
                        z * x * C - y * s, z * y * C + x * s, c + z * z * C], -1).reshape(-1, 3, 3)


class URDFRobot:
    """A robot read from a URDF file: the same interface as
    :class:`~robotpose_lib.robots.RobotModel`, with meshes instead of primitives.

    Attributes: ``name``, ``keypoint_names`` (= keypoint link names), ``keypoint_links``
    (their link indices), ``link_names`` (L, index 0 the root), ``joint_names`` (the dof
    sampled joints), ``joint_limits`` and ``sample_range`` ((dof,) float64 low and high),
    ``link_colors`` ((L, 3) the URDF's material colours, RGB in [0, 1], light grey where
    none is given), ``finish``, ``urdf_path``, ``description``.

    Raises (one line each): FileNotFoundError for a missing URDF or mesh file,
    ValueError for a URDF with no actuated joint, a spec naming a link or joint the URDF
    lacks, or an unreadable file.
    """

    kind = "mesh"

    def __init__(self, urdf_path: str | Path, spec: RobotSpec | None = None):
        import yourdfpy

        path = Path(urdf_path)
        if not path.is_file():
            raise FileNotFoundError(f"URDF file not found: {path}")
        spec = spec or RobotSpec()
        spec.check(str(path))
        self.spec = spec
        log = logging.getLogger("yourdfpy")   # it logs parse errors that are raised anyway
        level = log.level
        log.setLevel(logging.CRITICAL + 1)
        try:
            urdf = yourdfpy.URDF.load(str(path), load_meshes=False, build_scene_graph=False,
                                      build_collision_scene_graph=False, load_collision_meshes=False)
        except Exception as exc:  # lxml and yourdfpy raise many kinds for broken files
            raise ValueError(f"{path}: not a readable URDF ({type(exc).__name__}: {exc})") from None
        finally:
            log.setLevel(level)
        model = urdf.robot
        self.urdf_path = path
        self.name = spec.name or model.name
        self.description = spec.description or f"{model.name} from {path.name}"
        self.finish = spec.finish
        self.back_face_culling = bool(spec.back_face_culling)
        self._build_tree(model, path, spec)
        self._build_meshes(model, path, spec.triangle_budget)
        kp = spec.keypoint_links or [self.link_names[0]] + [self.link_names[j.child] for j in self._joints
                                                            if j.source[0] == "q"]
        missing = [n for n in kp if n not in self.link_names]
        if missing:
            raise ValueError(f"{path}: the spec names link(s) the URDF lacks: {', '.join(missing)} "
                             f"(links: {', '.join(self.link_names)})")
        self.keypoint_names = list(kp)
        self.keypoint_links = [self.link_names.index(n) for n in kp]
        self._reach: float | None = None

    # -- building
    def _build_tree(self, model, path: Path, spec: RobotSpec) -> None:
        link_names = [link.name for link in model.links]
        for kind, names in (("link", link_names), ("joint", [j.name for j in model.joints])):
            twice = sorted({n for n in names if names.count(n) > 1})
            if twice:
                raise ValueError(f"{path}: {kind} name(s) used more than once: {', '.join(twice)}")
        parent_of: dict[str, str] = {}
        for j in model.joints:
            for end in (j.parent, j.child):
                if end not in link_names:
                    raise ValueError(f"{path}: joint {j.name!r} names link {end!r}, which is not defined")
            if j.child in parent_of:
                raise ValueError(f"{path}: link {j.child!r} is the child of two joints "
                                 f"({parent_of[j.child]!r}, {j.name!r}); the links must form one tree")
            parent_of[j.child] = j.name
        joints = {j.name: j for j in model.joints}
        roots = [n for n in link_names if n not in parent_of]
        if not link_names:
            raise ValueError(f"{path}: the URDF defines no link")
        if len(roots) != 1:
            raise ValueError(f"{path}: the links must form one tree, found roots {roots}")
        for j in model.joints:
            if j.mimic is not None and j.type in MOVING and j.mimic.joint not in joints:
                raise ValueError(f"{path}: joint {j.name!r} mimics joint {j.mimic.joint!r}, which is not defined")
        actuated = [j.name for j in model.joints if j.type in MOVING and j.mimic is None]
        if not actuated:
            raise ValueError(f"{path}: the URDF has no actuated joint (revolute, continuous or prismatic)")
        for name in [*spec.fixed_joints, *spec.sample_range, *(spec.sampled_joints or [])]:
            if name not in joints:
                raise ValueError(f"{path}: the spec names joint {name!r} the URDF lacks")
            if name not in actuated:
                what = "a mimic joint" if joints[name].mimic is not None else f"a {joints[name].type} joint"
                raise ValueError(f"{path}: the spec names joint {name!r}, {what}: only actuated joints "
                                 f"are sampled or held ({', '.join(actuated)})")
        held = sorted(set(spec.sampled_joints or []) & set(spec.fixed_joints))
        if held:
            raise ValueError(f"{path}: the spec both samples and holds joint(s) {', '.join(held)}")
        sampled = spec.sampled_joints or [n for n in actuated if n not in spec.fixed_joints]
        if not sampled:
            raise ValueError(f"{path}: no joint left to sample (all actuated joints are fixed by the spec)")
        unsampled = [n for n in spec.sample_range if n not in sampled]
        if unsampled:
            raise ValueError(f"{path}: the spec gives a sample_range for joint(s) that are not sampled: "
                             f"{', '.join(unsampled)}")
        self.joint_names = list(sampled)
        by_parent: dict[str, list] = {}
        for j in model.joints:
            by_parent.setdefault(j.parent, []).append(j)
        order: list = []
        self._walk(roots[0], by_parent, order)   # depth-first, children in file order
        self.link_names = [roots[0]] + [j.child for j in order]
        cut_off = [n for n in link_names if n not in self.link_names]
        if cut_off:   # one parent each and one root: the rest hang in a loop of joints
            raise ValueError(f"{path}: link(s) {', '.join(cut_off)} are not connected to the root link "
                             f"{roots[0]!r} (a loop of joints?)")
        index = {n: i for i, n in enumerate(self.link_names)}
        low, high, s_low, s_high = [], [], [], []
        self._joints = []
        for j in order:
            origin = np.eye(4) if j.origin is None else np.asarray(j.origin, np.float64)
            axis = np.asarray(j.axis if j.axis is not None else (1.0, 0, 0), np.float64)
            if not (np.isfinite(origin).all() and np.isfinite(axis).all()):
                raise ValueError(f"{path}: joint {j.name!r} has a non-finite origin or axis")
            if j.type in MOVING and np.linalg.norm(axis) < 1e-9:
                raise ValueError(f"{path}: joint {j.name!r} has a zero axis")
            axis = axis / max(np.linalg.norm(axis), 1e-12)
            if j.type not in MOVING:
                source = ("fixed", 0.0)
            elif j.mimic is not None:
                m = j.mimic
                source = ("mimic", m.joint, 1.0 if m.multiplier is None else float(m.multiplier),
                          0.0 if m.offset is None else float(m.offset))
            elif j.name in spec.fixed_joints:
                source = ("fixed", float(spec.fixed_joints[j.name]))
            elif j.name in sampled:
                source = ("q", sampled.index(j.name))
            else:
                source = ("fixed", 0.0)
            kind = j.type if j.type in MOVING else "fixed"
            self._joints.append(_Joint(j.name, kind, index[j.parent], index[j.child], origin, axis, source))
        limits = {}
        for name in actuated:
            j = joints[name]
            lo = hi = None
            if j.type != "continuous" and j.limit is not None:
                lo, hi = j.limit.lower, j.limit.upper
            if lo is None or hi is None:
                if j.type == "prismatic":   # metres: no sensible default
                    if name in spec.sample_range:
                        lo, hi = spec.sample_range[name]
                    elif name in sampled:
                        raise ValueError(f"{path}: prismatic joint {name!r} has no <limit lower upper>; "
                                         "give its sample_range in the spec")
                    else:   # held: at its spec value, or 0
                        lo = hi = float(spec.fixed_joints.get(name, 0.0))
                else:
                    lo, hi = -math.pi, math.pi
            lo, hi = float(lo), float(hi)
            if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
                raise ValueError(f"{path}: joint {name!r} has limits lower={lo} > upper={hi} or not finite")
            limits[name] = (lo, hi)
        for name, value in spec.fixed_joints.items():
            lo, hi = limits[name]
            if not lo - 1e-9 <= value <= hi + 1e-9 and joints[name].type != "continuous":
                raise ValueError(f"{path}: the spec holds joint {name!r} at {value}, outside its limits "
                                 f"[{lo}, {hi}]")
        for name in sampled:
            lo, hi = limits[name]
            low.append(lo)
            high.append(hi)
            r = spec.sample_range.get(name, (lo, hi))
            s_low.append(max(lo, float(r[0])))
            s_high.append(min(hi, float(r[1])))
            if s_low[-1] > s_high[-1]:
                raise ValueError(f"{path}: the spec's sample_range {list(r)} of joint {name!r} lies outside "
                                 f"its limits [{lo}, {hi}]")
        # a mimic joint follows its leader's value: resolved here to the pose entry it scales
        # (("mimic", i, multiplier, offset): q[:, i] * multiplier + offset) or a fixed value,
        # so forward kinematics needs no order among joints
        by_name = {jt.name: jt for jt in self._joints}

        def resolve(jt, chain):
            if jt.source[0] != "mimic" or not isinstance(jt.source[1], str):
                return jt.source
            if jt.name in chain:
                raise ValueError(f"{path}: mimic joints follow each other in a loop: {', '.join(chain)}")
            _, leader, mult, off = jt.source
            if leader not in by_name:   # a leader off the tree cannot happen; a fixed joint reads 0
                return ("fixed", off)
            lead = resolve(by_name[leader], [*chain, jt.name])
            if lead[0] == "fixed":
                return ("fixed", lead[1] * mult + off)
            lead_mult, lead_off = (1.0, 0.0) if lead[0] == "q" else lead[2:]
            return ("mimic", lead[1], lead_mult * mult, lead_off * mult + off)

        for jt in self._joints:
            jt.source = resolve(jt, [])
        f64 = lambda x: torch.tensor(x, dtype=torch.float64)
        self.joint_limits = (f64(low), f64(high))
        self.sample_range = (f64(s_low), f64(s_high))
        self._origins = torch.tensor(np.stack([j.origin for j in self._joints]) if self._joints
                                     else np.zeros((0, 4, 4)), dtype=torch.float64)

    @staticmethod
    def _walk(link: str, by_parent: dict, order: list) -> None:
        for j in by_parent.get(link, []):
            order.append(j)
            URDFRobot._walk(j.child, by_parent, order)

    def _build_meshes(self, model, path: Path, budget: int | None) -> None:
        materials = {m.name: m for m in model.materials}
        for link in model.links:
            for v in link.visuals:
                if v.material is not None and v.material.name and v.material.color is not None:
                    materials.setdefault(v.material.name, v.material)
        parts, colors = [], np.full((len(self.link_names), 3), 0.8)
        links = {link.name: link for link in model.links}
        for i, name in enumerate(self.link_names):
            for v in links[name].visuals:
                g = v.geometry
                try:
                    if g.mesh is not None:
                        if not g.mesh.filename:
                            raise ValueError("<mesh> has no filename")
                        file = _resolve_mesh_path(g.mesh.filename, path)
                        if not file.is_file():
                            raise FileNotFoundError(f"{path}: link {name!r}: mesh file not found: {file}")
                        mesh = load_link_mesh(file, g.mesh.scale, budget)
                    elif g.box is not None or g.cylinder is not None or g.sphere is not None:
                        vert, faces = _primitive_mesh(g)
                        mesh = LinkMesh(vert, faces, corner_normals(vert, faces))
                    else:
                        continue
                    if v.origin is not None:
                        mesh = mesh.transformed(np.asarray(v.origin, np.float64))
                    if not np.isfinite(mesh.vertices).all():
                        raise ValueError("the visual has non-finite coordinates (origin or mesh)")
                except ValueError as exc:
                    raise ValueError(f"{path}: link {name!r}: {exc}") from None
                parts.append((i, mesh))
                mat = v.material
                if mat is not None and mat.color is None and mat.name in materials:
                    mat = materials[mat.name]
                if mat is not None and mat.color is not None:
                    colors[i] = np.clip(np.asarray(mat.color.rgba[:3], np.float64), 0, 1)
        if not parts:
            raise ValueError(f"{path}: no link has a visual mesh or shape to render")
        tri = np.concatenate([m.vertices[m.faces] for _, m in parts])               # (F, 3, 3)
        self._tri_vertices = torch.tensor(tri, dtype=torch.float64)
        self._tri_normals = torch.tensor(np.concatenate([m.corner_normals for _, m in parts]), dtype=torch.float64)
        self._tri_link = torch.tensor(np.concatenate([np.full(m.num_triangles, i) for i, m in parts]),
                                      dtype=torch.long)
        self.link_colors = colors
        self.triangles_per_link = np.bincount(self._tri_link.numpy(), minlength=len(self.link_names))

    # -- sizes
    @property
    def dof(self) -> int:
        return len(self.joint_names)

    @property
    def num_keypoints(self) -> int:
        return len(self.keypoint_names)

    @property
    def num_links(self) -> int:
        return len(self.link_names)

    @property
    def num_triangles(self) -> int:
        return int(self._tri_link.shape[0])

    # -- kinematics
    def forward_kinematics(self, q: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Keypoints (B, J, 3) metres and link_transforms (B, L, 4, 4) (link -> root
        frame) for joint values q (B, dof), radians or metres (prismatic). Outputs
        follow q's dtype and device. Raises ValueError for a wrong shape."""
        if q.dim() != 2 or q.shape[1] != self.dof:
            raise ValueError(f"q must have shape (B, {self.dof}) for {self.name}, got {tuple(q.shape)}")
        if not q.is_floating_point():
            q = q.double()
        kw = dict(device=q.device, dtype=q.dtype)
        B = q.shape[0]
        origins = self._origins.to(**kw)
        frames: list = [None] * self.num_links
        frames[0] = torch.eye(4, **kw).expand(B, 4, 4)
        for k, j in enumerate(self._joints):
            if j.source[0] == "q":
                value = q[:, j.source[1]]
            elif j.source[0] == "mimic":
                value = q[:, j.source[1]] * j.source[2] + j.source[3]
            else:
                value = torch.full((B,), j.source[1], **kw)
            T = frames[j.parent] @ origins[k]
            if j.kind != "fixed":
                axis = torch.as_tensor(j.axis, **kw)
                motion = torch.eye(4, **kw).repeat(B, 1, 1)
                if j.kind == "prismatic":
                    motion[:, :3, 3] = value[:, None] * axis
                else:
                    motion[:, :3, :3] = _rotation_about(axis, value)
                T = T @ motion
            frames[j.child] = T
        link_transforms = torch.stack(frames, dim=1)
        keypoints = link_transforms[:, self.keypoint_links, :3, 3]
        return keypoints, link_transforms

    def joint_values(self, q) -> dict[str, float]:
        """Every moving joint's value (radians or metres) at the pose ``q`` (dof,): the
        sampled joints, those the spec holds fixed and mimic joints (what another simulator,
        which sets joints by name, needs to show the same pose)."""
        q = [float(v) for v in q]
        if len(q) != self.dof:
            raise ValueError(f"q must have {self.dof} values for {self.name}, got {len(q)}")
        out = {}
        for j in self._joints:
            if j.kind == "fixed":
                continue
            kind, *rest = j.source
            out[j.name] = q[rest[0]] if kind == "q" else q[rest[0]] * rest[1] + rest[2] if kind == "mimic" else rest[0]
        return out

    def sample_joint_angles(self, n: int, generator: torch.Generator | None = None,
                            device=None, dtype=torch.float32) -> torch.Tensor:
        """(n, dof) joint values uniform in :attr:`sample_range` (drawn on CPU, then moved)."""
        low, high = self.sample_range
        u = torch.rand(n, self.dof, generator=generator, dtype=torch.float64)
        return (low + u * (high - low)).to(device=device, dtype=dtype)

    # -- geometry
    def _local_mesh(self, dev, dt) -> dict:
        """The meshes in link frames on ``dev`` as ``dt``, cached: per link (first, last)
        triangle range (triangles are stored link by link), corners (3, F, 3) and corner
        normals as (F, 9) (n0, n1, n2)."""
        key = (str(dev), dt)
        cache = self.__dict__.setdefault("_mesh_cache", {})
        if key not in cache:
            counts = np.bincount(self._tri_link.numpy(), minlength=self.num_links)
            starts = np.concatenate([[0], np.cumsum(counts)])
            cache[key] = dict(
                ranges=[(i, int(starts[i]), int(starts[i + 1])) for i in range(self.num_links) if counts[i]],
                corners=self._tri_vertices.permute(1, 0, 2).contiguous().to(dev, dt),
                normals=self._tri_normals.reshape(-1, 9).contiguous().to(dev, dt),
                normal_rows=self._tri_normals.reshape(-1, 9).T.contiguous().to(dev, dt),   # (9, F)
                link=self._tri_link.to(dev))
        return cache[key]

    def triangles(self, link_transforms: torch.Tensor, image_index: torch.Tensor | None = None,
                  instance_id: torch.Tensor | None = None, normals: bool = True) -> Triangles:
        """The robot's visual meshes placed by ``link_transforms`` (B, L, 4, 4) (into
        whatever frame they map to). Returns Triangles with B * F entries, robot-major.

        ``normals=False`` leaves the corner normals out (n0, n1, n2 are zero placeholders
        that cost no memory): render with ``triangle_normals=``
        :meth:`normal_interpolator` to shade only the pixels that are hit."""
        if link_transforms.dim() != 4 or link_transforms.shape[1:] != (self.num_links, 4, 4):
            raise ValueError(f"link_transforms must have shape (B, {self.num_links}, 4, 4) for "
                             f"{self.name}, got {tuple(link_transforms.shape)}")
        B = link_transforms.shape[0]
        dev, dt = link_transforms.device, link_transforms.dtype
        F = self.num_triangles
        if image_index is None:
            image_index = torch.zeros(B, dtype=torch.long, device=dev)
        if instance_id is None:
            instance_id = torch.arange(B, dtype=torch.long, device=dev)
        mesh = self._local_mesh(dev, dt)
        Rt = link_transforms[..., :3, :3].transpose(-1, -2)                    # (B, L, 3, 3)
        t = link_transforms[..., None, :3, 3]                                   # (B, L, 1, 3)
        # link by link: (3 F_l, 3) corners times each robot's rotation, into (3, B, F, 3)
        verts = torch.empty(3, B, F, 3, device=dev, dtype=dt)
        norms = torch.empty(3, B, F, 3, device=dev, dtype=dt) if normals else None
        local_n = mesh["normals"].view(F, 3, 3).permute(1, 0, 2) if normals else None
        for i, a, b in mesh["ranges"]:
            part = torch.matmul(mesh["corners"][:, a:b].reshape(1, -1, 3), Rt[:, i]).add_(t[:, i])
            verts[:, :, a:b] = part.view(B, 3, b - a, 3).transpose(0, 1)
            if normals:
                part = torch.matmul(local_n[:, a:b].reshape(1, -1, 3), Rt[:, i])
                norms[:, :, a:b] = part.view(B, 3, b - a, 3).transpose(0, 1)
        v0, v1, v2 = verts.view(3, B * F, 3).unbind(0)
        if normals:
            n0, n1, n2 = norms.view(3, B * F, 3).unbind(0)
        else:
            n0 = n1 = n2 = torch.zeros(1, 3, device=dev, dtype=dt).expand(B * F, 3)
        return Triangles(v0, v1, v2, n0, n1, n2,
                         torch.as_tensor(image_index, device=dev).long().repeat_interleave(F),
                         torch.as_tensor(instance_id, device=dev).long().repeat_interleave(F),
                         mesh["link"].repeat(B))

    def normal_interpolator(self, link_transforms: torch.Tensor):
        """The ``triangle_normals`` function of :func:`~robotpose_lib.render.render` for
        :meth:`triangles` (``normals=False``) placed by the same ``link_transforms``
        (B, L, 4, 4): (index (M,), bary (3, M)) -> (3, M), the corner normals interpolated
        in the link's frame, then rotated into the camera's (only the pixels hit)."""
        B = link_transforms.shape[0]
        dev, dt = link_transforms.device, link_transforms.dtype
        mesh = self._local_mesh(dev, dt)
        F, L = self.num_triangles, self.num_links
        rot = link_transforms[..., :3, :3].reshape(B * L, 9).T.contiguous()   # (9, B L): rows gather contiguous

        def interpolate(index: torch.Tensor, bary: torch.Tensor) -> torch.Tensor:
            robot = index // F
            face = index - robot * F
            corners = mesh["normal_rows"].index_select(1, face)                 # (9, M)
            w, u, v = bary.to(dt)
            local = [w * corners[k] + u * corners[3 + k] + v * corners[6 + k] for k in range(3)]
            R = rot.index_select(1, robot * L + mesh["link"].index_select(0, face))   # (9, M)
            return torch.stack([R[3 * r] * local[0] + R[3 * r + 1] * local[1] + R[3 * r + 2] * local[2]
                                for r in range(3)]).to(bary.dtype)

        return interpolate

    @property
    def bounding_radius(self) -> float:
        """Footprint radius (m) of the root link's mesh on the ground plane."""
        base = self._tri_vertices[self._tri_link == 0]
        if base.numel() == 0:
            return 0.1
        return float(base[..., :2].norm(dim=-1).max())

    @property
    def reach(self) -> float:
        """Largest distance (m) of any mesh vertex from the root origin over 1024 seeded
        random poses within the joint limits, plus 2 cm."""
        if self._reach is None:
            g = torch.Generator().manual_seed(0)
            low, high = self.joint_limits
            q = low + torch.rand(1024, self.dof, generator=g, dtype=torch.float64) * (high - low)
            _, T = self.forward_kinematics(q)
            radius = 0.0
            for i in range(self.num_links):
                pts = self._tri_vertices[self._tri_link == i].reshape(-1, 3)
                if pts.numel() == 0:
                    continue
                centre = pts.mean(0)
                r = float((pts - centre).norm(dim=1).max())
                c = (T[:, i, :3, :3] @ centre) + T[:, i, :3, 3]
                radius = max(radius, float(c.norm(dim=1).max()) + r)
            self._reach = radius + 0.02
        return self._reach
