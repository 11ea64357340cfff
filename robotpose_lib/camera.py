"""Pinhole camera helpers: intrinsics, look-at extrinsics, the paper's hemisphere sampling
(section III-A), projection / back-projection and intrinsics under resize and crop.

Conventions (CONTRIBUTING.md): camera frame as OpenCV (x right, y down, z forward), pixel
(u, v) with integer coordinates at pixel centres, world z up, metres and radians.
All functions are torch, device-agnostic and float32 unless the inputs say otherwise.
"""
from __future__ import annotations

import math

import torch

__all__ = [
    "intrinsics", "intrinsics_from_fov", "check_intrinsics", "look_at", "sample_hemisphere",
    "project", "backproject", "transform_points", "scale_intrinsics", "crop_intrinsics",
]


def intrinsics(fx: float, fy: float, cx: float, cy: float, device=None,
               dtype=torch.float32) -> torch.Tensor:
    """K (3, 3) = [[fx, 0, cx], [0, fy, cy], [0, 0, 1]] (pixels)."""
    K = torch.tensor([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]], dtype=dtype, device=device)
    check_intrinsics(K)
    return K


def intrinsics_from_fov(width: int, height: int, fov_y_rad: float, device=None,
                        dtype=torch.float32) -> torch.Tensor:
    """K (3, 3) with square pixels, vertical field of view ``fov_y_rad`` and the principal
    point at the image centre ((W - 1) / 2, (H - 1) / 2) under the pixel-centre convention."""
    if not (0.0 < fov_y_rad < math.pi):
        raise ValueError(f"fov_y_rad must be in (0, pi), got {fov_y_rad}")
    if width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive, got width={width} height={height}")
    f = 0.5 * height / math.tan(0.5 * fov_y_rad)
    return intrinsics(f, f, (width - 1) / 2.0, (height - 1) / 2.0, device=device, dtype=dtype)


def check_intrinsics(K: torch.Tensor, name: str = "K") -> torch.Tensor:
    """Raise ValueError (one line) unless K is (3, 3) or (B, 3, 3), finite, with positive
    focal lengths and last row (0, 0, 1). Returns K unchanged."""
    if not isinstance(K, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(K).__name__}")
    if K.dim() not in (2, 3) or tuple(K.shape[-2:]) != (3, 3):
        raise ValueError(f"{name} must have shape (3, 3) or (B, 3, 3), got {tuple(K.shape)}")
    if not torch.isfinite(K).all():
        raise ValueError(f"{name} contains non-finite values")
    if not ((K[..., 0, 0] > 0).all() and (K[..., 1, 1] > 0).all()):
        raise ValueError(f"{name} focal lengths fx, fy must be positive")
    last = torch.tensor([0.0, 0.0, 1.0], dtype=K.dtype, device=K.device)
    if not torch.allclose(K[..., 2, :], last.expand_as(K[..., 2, :])) or K[..., 1, 0].abs().max() > 0:
        raise ValueError(f"{name} must be upper triangular with last row (0, 0, 1)")
    return K


def _normalize(v: torch.Tensor) -> torch.Tensor:
    return v / v.norm(dim=-1, keepdim=True).clamp_min(1e-12)


def look_at(eye, target, up=(0.0, 0.0, 1.0)) -> torch.Tensor:
    """Extrinsics of a camera at ``eye`` looking at ``target``.

    eye, target: (..., 3) world metres (broadcast); up: (3,) or (..., 3) world up direction.
    Returns T_cam_from_world (..., 4, 4) in the OpenCV convention: camera z towards the
    target, x right, y down (image "up" is as close to ``up`` as possible).
    When the view direction is parallel to ``up`` (camera straight above the target) a
    fallback up axis is used (the world axis least aligned with the view), so no NaN.
    """
    eye = torch.as_tensor(eye, dtype=torch.float32) if not isinstance(eye, torch.Tensor) else eye
    target = torch.as_tensor(target, dtype=eye.dtype, device=eye.device)
    up = torch.as_tensor(up, dtype=eye.dtype, device=eye.device)
    eye, target = torch.broadcast_tensors(eye, target)
    forward = target - eye
    if (forward.norm(dim=-1) < 1e-9).any():
        raise ValueError("look_at: eye and target coincide")
    z = _normalize(forward)
    up = up.expand_as(z)
    x = torch.linalg.cross(z, up)
    # Degenerate: view parallel to up. Use the world axis least aligned with the view.
    degenerate = (x.norm(dim=-1, keepdim=True) < 1e-6 * up.norm(dim=-1, keepdim=True).clamp_min(1e-12))
    if degenerate.any():
        eye3 = torch.eye(3, dtype=z.dtype, device=z.device)
        alt_up = eye3[z.abs().argmin(dim=-1)]
        x = torch.where(degenerate, torch.linalg.cross(z, alt_up), x)
    x = _normalize(x)
    y = torch.linalg.cross(z, x)  # down in the image
    R = torch.stack([x, y, z], dim=-2)  # rows: camera axes in world coordinates
    T = torch.zeros(*z.shape[:-1], 4, 4, dtype=z.dtype, device=z.device)
    T[..., :3, :3] = R
    T[..., :3, 3] = -(R @ eye.unsqueeze(-1)).squeeze(-1)
    T[..., 3, 3] = 1.0
    return T


def sample_hemisphere(generator: torch.Generator, n: int, r_min: float, r_max: float,
                      inclination_range=(0.0, math.pi / 2), center=(0.0, 0.0, 0.0),
                      dtype=torch.float32) -> torch.Tensor:
    """Random camera positions on the paper's hemisphere (section III-A).

    The paper draws radius c_r ~ U(0, r_max), inclination c_theta and azimuth
    c_phi ~ U(0, 2 pi). Here the radius is U(r_min, r_max): ``r_min`` is a floor because a
    radius of 0 puts the camera at the scene centre (degenerate view). The inclination is
    measured from the zenith (world +z): 0 is straight above ``center``, pi/2 is on the
    ground plane; it is U(inclination_range) (the paper writes U(0, pi), which on a
    hemisphere above the ground means (0, pi/2)).

    Returns eye positions (n, 3) world metres on the generator's device.
    """
    if not (0.0 <= r_min <= r_max):
        raise ValueError(f"need 0 <= r_min <= r_max, got r_min={r_min} r_max={r_max}")
    lo, hi = inclination_range
    if not (0.0 <= lo <= hi <= math.pi):
        raise ValueError(f"inclination_range must lie in [0, pi] and be ordered, got {inclination_range}")
    dev = generator.device
    u = torch.rand(n, 3, generator=generator, device=dev, dtype=torch.float64)
    r = r_min + (r_max - r_min) * u[:, 0]
    theta = lo + (hi - lo) * u[:, 1]
    phi = 2.0 * math.pi * u[:, 2]
    eye = torch.stack([r * torch.sin(theta) * torch.cos(phi),
                       r * torch.sin(theta) * torch.sin(phi),
                       r * torch.cos(theta)], dim=-1)
    return (eye + torch.as_tensor(center, dtype=torch.float64, device=dev)).to(dtype)


def project(points_cam: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """Pixel coordinates of camera-frame points.

    points_cam: (..., 3) metres; K: (3, 3), or (..., 3, 3) whose batch dims broadcast with
    the points' batch dims like ``torch.matmul`` (K (B,3,3) with points (B,N,3)).
    Returns uv (..., 2). Points with z <= 0 give meaningless (possibly inf) values.
    """
    h = points_cam @ K.transpose(-1, -2)
    return h[..., :2] / h[..., 2:3]


def backproject(uv: torch.Tensor, z: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """Camera-frame points (..., 3) at depth ``z`` (...) (camera z, metres) seen at pixels
    uv (..., 2). K as in :func:`project`. Inverse of :func:`project`."""
    ones = torch.ones_like(uv[..., :1])
    rays = torch.cat([uv, ones], dim=-1) @ torch.linalg.inv(K).transpose(-1, -2)  # z = 1
    return rays * z.unsqueeze(-1)


def transform_points(T: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """Apply rigid/affine transforms T (..., 4, 4) to points p (..., N, 3)."""
    return p @ T[..., :3, :3].transpose(-1, -2) + T[..., None, :3, 3]


def scale_intrinsics(K: torch.Tensor, sx: float, sy: float) -> torch.Tensor:
    """Intrinsics after resizing the image by factors (sx, sy) (new size = old * s).

    Pixel-centre convention: u' = (u + 0.5) * sx - 0.5, v' = (v + 0.5) * sy - 0.5, which
    is what cv2.resize / torch interpolate(align_corners=False) do. K: (..., 3, 3)."""
    K2 = K.clone()
    K2[..., 0, :] = K[..., 0, :] * sx
    K2[..., 1, :] = K[..., 1, :] * sy
    K2[..., 0, 2] = (K[..., 0, 2] + 0.5) * sx - 0.5
    K2[..., 1, 2] = (K[..., 1, 2] + 0.5) * sy - 0.5
    return K2


def crop_intrinsics(K: torch.Tensor, x0: float, y0: float) -> torch.Tensor:
    """Intrinsics after cropping so that pixel (x0, y0) becomes (0, 0). K: (..., 3, 3)."""
    K2 = K.clone()
    K2[..., 0, 2] = K[..., 0, 2] - x0
    K2[..., 1, 2] = K[..., 1, 2] - y0
    return K2
