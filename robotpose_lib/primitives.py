"""A flat, batched list of geometric primitives: the contract between robot geometry
(`robots`) and the ray caster (`render`).

All primitives of all images in a batch live in one set of tensors of length N; the
``image_index`` column says which image each belongs to. Coordinates are in whatever
frame the caller chose (link frame for robot geometry, camera frame for rendering);
:meth:`Primitives.transformed` moves them between frames.

Kinds:
    SPHERE   centre ``p0``, ``radius``.
    CAPSULE  segment ``p0`` -> ``p1`` swept by a sphere of ``radius``.
    CYLINDER segment ``p0`` -> ``p1``, ``radius``, flat caps.
    BOX      centre ``p0``, axes = columns of ``rotation``, ``half_extents`` along them.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import torch

SPHERE, CAPSULE, CYLINDER, BOX = 0, 1, 2, 3
KIND_NAMES = {SPHERE: "sphere", CAPSULE: "capsule", CYLINDER: "cylinder", BOX: "box"}


class FlatBatch:
    """What every flat batched list of shapes shares: moving, selecting, concatenating.
    A subclass is a dataclass whose fields all have the leading dimension N."""

    def to(self, device):
        return type(self)(**{f.name: getattr(self, f.name).to(device) for f in fields(self)})

    def select(self, index: torch.Tensor):
        """The entries picked by a boolean mask or an index tensor."""
        return type(self)(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    @classmethod
    def cat(cls, parts: list):
        """Concatenate several lists into one."""
        return cls(**{f.name: torch.cat([getattr(p, f.name) for p in parts]) for f in fields(cls)})


@dataclass
class Shapes(FlatBatch):
    """The shape of N primitives, in whatever frame the holder says (see the module
    docstring for the meaning of each field per kind): kind: int64 (N,); p0, p1: float
    (N, 3) metres; radius: float (N,) metres; rotation: float (N, 3, 3); half_extents:
    float (N, 3) metres. ``Primitives`` adds where each one is drawn,
    ``robots.LinkGeometry`` the link it is attached to."""

    kind: torch.Tensor
    p0: torch.Tensor
    p1: torch.Tensor
    radius: torch.Tensor
    rotation: torch.Tensor
    half_extents: torch.Tensor


@dataclass
class Primitives(Shapes):
    """N primitives (see module docstring). Every field has leading dimension N: the
    :class:`Shapes` fields, and image_index: int64 (N,) image in the batch; instance_id:
    int64 (N,) robot index within its image; link_id: int64 (N,) link index within its
    robot.
    """

    image_index: torch.Tensor
    instance_id: torch.Tensor
    link_id: torch.Tensor

    def __len__(self) -> int:
        return int(self.kind.shape[0])

    @property
    def device(self) -> torch.device:
        return self.p0.device

    def transformed(self, T: torch.Tensor) -> "Primitives":
        """Apply rigid transforms. T: (4, 4) for all, or (N, 4, 4) one per primitive."""
        if T.dim() == 2:
            T = T.expand(len(self), 4, 4)
        R, t = T[:, :3, :3], T[:, :3, 3]
        return Primitives(
            kind=self.kind,
            p0=(R @ self.p0.unsqueeze(-1)).squeeze(-1) + t,
            p1=(R @ self.p1.unsqueeze(-1)).squeeze(-1) + t,
            radius=self.radius,
            rotation=R @ self.rotation,
            half_extents=self.half_extents,
            image_index=self.image_index,
            instance_id=self.instance_id,
            link_id=self.link_id,
        )

    @staticmethod
    def empty(device=None, dtype=torch.float32) -> "Primitives":
        z = lambda *s: torch.zeros(*s, device=device, dtype=dtype)
        zi = lambda: torch.zeros(0, device=device, dtype=torch.long)
        return Primitives(zi(), z(0, 3), z(0, 3), z(0), z(0, 3, 3), z(0, 3), zi(), zi(), zi())


@dataclass
class Triangles(FlatBatch):
    """N triangles, the mesh counterpart of :class:`Primitives` (one flat batched list).

    v0, v1, v2: float (N, 3) corners in metres; n0, n1, n2: float (N, 3) unit vertex
    normals (smooth shading; a flat triangle repeats its face normal);
    image_index, instance_id, link_id: int64 (N,) as for :class:`Primitives`.
    """

    v0: torch.Tensor
    v1: torch.Tensor
    v2: torch.Tensor
    n0: torch.Tensor
    n1: torch.Tensor
    n2: torch.Tensor
    image_index: torch.Tensor
    instance_id: torch.Tensor
    link_id: torch.Tensor

    def __len__(self) -> int:
        return int(self.v0.shape[0])

    @property
    def device(self) -> torch.device:
        return self.v0.device

    def transformed(self, T: torch.Tensor) -> "Triangles":
        """Apply rigid transforms. T: (4, 4) for all, or (N, 4, 4) one per triangle."""
        R, t = (T[:3, :3], T[:3, 3]) if T.dim() == 2 else (T[:, :3, :3], T[:, None, :3, 3].squeeze(1))
        point = lambda p: p @ R.T + t if T.dim() == 2 else (R @ p.unsqueeze(-1)).squeeze(-1) + t
        direction = lambda n: n @ R.T if T.dim() == 2 else (R @ n.unsqueeze(-1)).squeeze(-1)
        return Triangles(point(self.v0), point(self.v1), point(self.v2),
                         direction(self.n0), direction(self.n1), direction(self.n2),
                         self.image_index, self.instance_id, self.link_id)

    @staticmethod
    def empty(device=None, dtype=torch.float32) -> "Triangles":
        z = lambda: torch.zeros(0, 3, device=device, dtype=dtype)
        zi = lambda: torch.zeros(0, device=device, dtype=torch.long)
        return Triangles(z(), z(), z(), z(), z(), z(), zi(), zi(), zi())
