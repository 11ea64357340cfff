"""Distractor objects: random spheres, capsules, cylinders and boxes flying between the
camera and the scene (our addition to paper §III-A, after DREAM's "flying distractors").

Real photographs are cluttered: tables, chairs, monitors, boxes, cables, often in front of
the robot. A photo background alone shows clutter only *behind* the robot and never hides
a joint. Distractors are rendered by the same ray caster as the robots, so they occlude
robots (and hide joints: :func:`synth._visibility` counts them) exactly.

A draw is a :class:`DistractorSet` of camera-frame primitives with a colour each; some are
"textured" with the pixels of another background image instead of one flat colour.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .primitives import BOX, CAPSULE, CYLINDER, SPHERE, Primitives


@dataclass
class DistractorSet:
    """n distractors of one scene, camera frame, metres (float64 NumPy).

    kind (n,) int, p0 (n, 3), p1 (n, 3), radius (n,), rotation (n, 3, 3),
    half_extents (n, 3), colors (n, 3) RGB in [0, 1], textured (n,) bool.
    """

    kind: np.ndarray
    p0: np.ndarray
    p1: np.ndarray
    radius: np.ndarray
    rotation: np.ndarray
    half_extents: np.ndarray
    colors: np.ndarray
    textured: np.ndarray

    def __len__(self) -> int:
        return int(self.kind.shape[0])

    @staticmethod
    def concatenate(parts: list["DistractorSet"]) -> "DistractorSet":
        """One set holding the distractors of ``parts`` in order."""
        fields = DistractorSet.__dataclass_fields__
        return DistractorSet(*(np.concatenate([getattr(p, f) for p in parts]) for f in fields))

    @staticmethod
    def empty() -> "DistractorSet":
        z = np.zeros
        return DistractorSet(z(0, int), z((0, 3)), z((0, 3)), z(0), z((0, 3, 3)), z((0, 3)), z((0, 3)), z(0, bool))

    def primitives(self, image_index: int, first_instance: int, device="cpu") -> Primitives:
        """As renderer primitives of image ``image_index`` with instance ids
        ``first_instance, first_instance + 1, ...`` (after the robots of the image)."""
        n = len(self)
        f = lambda a: torch.tensor(a, dtype=torch.float32, device=device)  # noqa: E731
        return Primitives(
            kind=torch.tensor(self.kind, dtype=torch.long, device=device),
            p0=f(self.p0), p1=f(self.p1), radius=f(self.radius), rotation=f(self.rotation),
            half_extents=f(self.half_extents),
            image_index=torch.full((n,), image_index, dtype=torch.long, device=device),
            instance_id=torch.arange(first_instance, first_instance + n, device=device),
            link_id=torch.zeros(n, dtype=torch.long, device=device))


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A uniformly random rotation matrix (QR of a Gaussian matrix, sign-fixed)."""
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q


def sample_distractors(rng: np.random.Generator, count: int, K: np.ndarray, height: int,
                       width: int, distance: float, size_range: tuple[float, float],
                       depth_range: tuple[float, float], textured_probability: float) -> DistractorSet:
    """Draw ``count`` distractors inside the camera's view.

    Args:
        K: (3, 3) intrinsics; the centres are drawn over the image widened by 20 %.
        distance: camera distance to the scene centre (m); depths are fractions of it.
        size_range: (low, high) size in metres (sphere radius, half the length of a
            capsule/cylinder, largest half-extent of a box).
        depth_range: (low, high) camera z of the centre as a fraction of ``distance``.
        textured_probability: chance that a distractor shows background pixels instead of
            one colour.
    """
    if count <= 0:
        return DistractorSet.empty()
    kind = rng.integers(0, 4, count)
    z = rng.uniform(*depth_range, count) * distance
    u = rng.uniform(-0.2 * width, 1.2 * width, count)
    v = rng.uniform(-0.2 * height, 1.2 * height, count)
    centre = np.stack([(u - K[0, 2]) * z / K[0, 0], (v - K[1, 2]) * z / K[1, 1], z], 1)
    size = rng.uniform(*size_range, count)
    size = np.minimum(size, 0.8 * z)  # keep every distractor in front of the camera
    direction = rng.normal(size=(count, 3))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    thin = size * rng.uniform(0.15, 0.6, count)
    p0, p1 = centre.copy(), centre.copy()
    radius = np.where(kind == SPHERE, size, thin)
    along = (kind == CAPSULE) | (kind == CYLINDER)
    p0[along] = centre[along] - direction[along] * size[along, None]
    p1[along] = centre[along] + direction[along] * size[along, None]
    rotation = np.stack([random_rotation(rng) for _ in range(count)])
    half = size[:, None] * rng.uniform(0.2, 1.0, (count, 3))
    half[:, 0] = size
    half = np.where((kind == BOX)[:, None], half, 0.0)
    colors = rng.random((count, 3))
    textured = rng.random(count) < textured_probability
    return DistractorSet(kind, p0, p1, radius, rotation, half, colors, textured)
