"""Pinhole camera geometry: the one home of project, back-project, rescale, crop and the K
check.

Torch, device-agnostic, float32 unless the inputs say otherwise (``scale_intrinsics``,
``crop_intrinsics`` and ``rescale_pixels`` also take NumPy, float64 by default):
intrinsics, look-at extrinsics, the paper's hemisphere sampling (section III-A),
projection / back-projection, OpenGL matrices of an OpenCV camera, intrinsics and pixels
under resize and crop, and :class:`Camera`, which carries K and its pixel grid from the
network view to the 3D joints (and decodes the network's depth code to metres).
:func:`validate_K` is the one check of every K (:class:`IntrinsicsError`).

Reading a user's camera description and EXIF orientation is :mod:`camera_io`'s job; the
way from a user's image to the network input and back is :mod:`network_input`'s.

Conventions (CONTRIBUTING.md): camera frame as OpenCV (x right, y down, z forward), pixel
(u, v) with integer coordinates at pixel centres, world z up, metres and radians.
Resizing by (sx, sy) maps u' = (u + 0.5) sx - 0.5 (``cv2.resize``, ``F.interpolate``
with ``align_corners=False``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

__all__ = [
    "intrinsics", "intrinsics_from_fov", "look_at", "sample_hemisphere",
    "project", "backproject", "transform_points", "scale_intrinsics", "crop_intrinsics",
    "rescale_pixels", "Camera", "IntrinsicsError", "validate_K", "intrinsics_array",
]


def intrinsics(fx: float, fy: float, cx: float, cy: float, device=None,
               dtype=torch.float32) -> torch.Tensor:
    """K (3, 3) = [[fx, 0, cx], [0, fy, cy], [0, 0, 1]] (pixels)."""
    K = torch.tensor([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]], dtype=dtype, device=device)
    validate_K(K, batch=True)
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


def backproject(uv: torch.Tensor, z: torch.Tensor, K) -> torch.Tensor:
    """Camera-frame points (..., 3) = z * K^-1 [u, v, 1] (metres): the inverse of
    :func:`project` (paper Fig. 2, the last step of decoding).

    uv: (..., 2) pixels; z: (...) camera z in metres (NaN gives NaN points); K: (3, 3) or
    (..., 3, 3) broadcasting like :func:`project` (tensor or array). Computed in float64,
    returned in uv's dtype on uv's device.
    """
    K = torch.as_tensor(K, dtype=torch.float64, device=uv.device)
    uv1 = torch.cat([uv.double(), torch.ones_like(uv[..., :1], dtype=torch.float64)], dim=-1)
    rays = uv1 @ torch.linalg.inv(K).transpose(-1, -2)  # z = 1
    return (rays * z.double().unsqueeze(-1)).to(uv.dtype)


def transform_points(T: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """Apply rigid/affine transforms T (..., 4, 4) to points p (..., N, 3)."""
    return p @ T[..., :3, :3].transpose(-1, -2) + T[..., None, :3, 3]


def opengl_camera(K, T_cam_world, width: int, height: int, near: float = 0.05,
                  far: float = 50.0) -> tuple[np.ndarray, np.ndarray]:
    """OpenGL view and projection matrices (4, 4) of an OpenCV camera, for renderers that
    take them (pybullet's ``getCameraImage``: pass ``M.T.flatten()``, column-major).

    The view matrix flips y and z (OpenCV looks down +z with y down, OpenGL down -z with y
    up); the projection puts every point on the pixel :func:`project` gives it *in the
    images pybullet's TinyRenderer returns* (row 0 at the top). Its pixel grid is not
    OpenGL's textbook one (window x = u + 0.5): measured with the same URDF drawn by both
    renderers (tests/test_urdf.py, silhouette IoU 0.9999 with these offsets, 0.98 with the
    textbook ones), column u sits at window x = u and row v at window y = H - 1 - v.
    K (3, 3) in pixels; T_cam_world (4, 4) maps world points into the camera frame
    (metres); near/far clip distances in metres.

    Raises:
        ValueError: K or T_cam_world of the wrong shape, T_cam_world not a finite rigid
            transform (rotation, translation, last row 0 0 0 1), a size that is not a
            positive whole number of pixels, or 0 < near < far < inf violated.
    """
    K = validate_K(K)
    T = np.asarray(T_cam_world, np.float64)
    if T.shape != (4, 4):
        raise ValueError(f"T_cam_world: expected a (4, 4) matrix, got shape {T.shape}")
    if not np.isfinite(T).all():
        raise ValueError("T_cam_world: contains NaN or infinite values")
    R = T[:3, :3]
    if not np.allclose(T[3], (0, 0, 0, 1), atol=1e-9) or not np.allclose(R.T @ R, np.eye(3), atol=1e-4) \
            or np.linalg.det(R) < 0:
        raise ValueError("T_cam_world: not a rigid transform (expected a rotation, a translation and the "
                         "last row 0 0 0 1)")
    sizes_ok = all(np.isfinite(v) and float(v) == round(v) and v >= 1 for v in (width, height))
    if not sizes_ok or not 0 < near < far < np.inf:
        raise ValueError(f"opengl_camera: need a positive whole size in pixels and 0 < near < far < inf, got "
                         f"{width}x{height}, near {near}, far {far}")
    width, height = int(width), int(height)
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    view = np.diag([1.0, -1.0, -1.0, 1.0]) @ T
    projection = np.array([
        [2 * fx / width, 0, 1 - 2 * cx / width, 0],
        [0, 2 * fy / height, 2 * (cy + 1.0) / height - 1, 0],
        [0, 0, -(far + near) / (far - near), -2 * far * near / (far - near)],
        [0, 0, -1, 0]])
    return view, projection


def _copy(K):
    return K.clone() if isinstance(K, torch.Tensor) else K.copy()


def scale_intrinsics(K, sx: float, sy: float, dtype=np.float64):
    """Intrinsics after resizing the image by factors (sx, sy) (new size = old * s).

    Pixel-centre convention: u' = (u + 0.5) * sx - 0.5, v' = (v + 0.5) * sy - 0.5, which
    is what cv2.resize / torch interpolate(align_corners=False) do. K: (..., 3, 3) tensor
    (returned as a tensor) or array-like (returned as NumPy of ``dtype``, computed in it)."""
    K = K if isinstance(K, torch.Tensor) else np.asarray(K, dtype=dtype)
    K2 = _copy(K)
    K2[..., 0, :] = K[..., 0, :] * sx
    K2[..., 1, :] = K[..., 1, :] * sy
    K2[..., 0, 2] = (K[..., 0, 2] + 0.5) * sx - 0.5
    K2[..., 1, 2] = (K[..., 1, 2] + 0.5) * sy - 0.5
    return K2


def crop_intrinsics(K, x0: float, y0: float):
    """Intrinsics after cropping so that pixel (x0, y0) becomes (0, 0) (negative values pad).
    K: (..., 3, 3) tensor or array-like (float64 NumPy out)."""
    K = K if isinstance(K, torch.Tensor) else np.asarray(K, dtype=np.float64)
    K2 = _copy(K)
    K2[..., 0, 2] = K[..., 0, 2] - x0
    K2[..., 1, 2] = K[..., 1, 2] - y0
    return K2


def rescale_pixels(uv, sx: float, sy: float, dtype=np.float64) -> np.ndarray:
    """Pixel coordinates (..., 2) on a grid resized by (sx, sy): u' = (u + 0.5) sx - 0.5
    (NumPy of ``dtype``, computed in it; NaN stays NaN)."""
    out = np.array(uv, dtype=dtype)
    out[..., 0] = (out[..., 0] + 0.5) * sx - 0.5
    out[..., 1] = (out[..., 1] + 0.5) * sy - 0.5
    return out


@dataclass(frozen=True)
class Camera:
    """A pinhole camera on one pixel grid: K and the grid's size, and what is done with them.

    The object that carries K from the network view to the 3D joints, so that no caller
    joins the focal length to a depth decoder by hand.

    Attributes:
        K: (3, 3) float64 intrinsics in pixels of this grid (checked by :func:`validate_K`).
        size: (H, W) of the grid in pixels.
    """

    K: np.ndarray
    size: tuple[int, int]

    def __post_init__(self):
        object.__setattr__(self, "K", validate_K(self.K))
        object.__setattr__(self, "size", (int(self.size[0]), int(self.size[1])))

    @property
    def focal(self) -> float:
        """Focal length in pixels: sqrt(fx * fy) (fx itself when fx == fy)."""
        return float(math.sqrt(self.K[0, 0] * self.K[1, 1]))

    def project(self, points_cam: torch.Tensor) -> torch.Tensor:
        """Pixels (..., 2) of camera-frame points (..., 3) (metres): :func:`project`."""
        return project(points_cam, torch.as_tensor(self.K, dtype=points_cam.dtype, device=points_cam.device))

    def backproject(self, uv: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Camera-frame points (..., 3) at depth z (...) metres seen at pixels uv (..., 2):
        :func:`backproject`."""
        return backproject(uv, z, self.K)

    def resized(self, size: tuple[int, int]) -> "Camera":
        """The same camera on the grid resized to ``size`` (H, W) (:func:`scale_intrinsics`,
        the pixel-centre convention)."""
        (H, W), (h0, w0) = size, self.size
        return Camera(scale_intrinsics(self.K, W / w0, H / h0), (H, W))

    def cropped(self, x0: int, y0: int, size: tuple[int, int]) -> "Camera":
        """The camera on the window of ``size`` (H, W) whose pixel (0, 0) is pixel (x0, y0)
        here (negative values pad): :func:`crop_intrinsics`."""
        return Camera(crop_intrinsics(self.K, x0, y0), size)

    def metric_depth(self, d, coding, reference_width: int):
        """Network depth code D (array or tensor) -> metres (paper III-B, D = a / Z + b).

        ``coding``: the model's ``targets.DepthCoding``; ``reference_width``: the width of
        the training input (the coding's reference focal length is a fraction of it). The
        focal length is this grid's (:attr:`focal`).
        """
        return coding.decode(d, self.focal, reference_width)


# ----------------------------------------------------------------------- the K check

class IntrinsicsError(ValueError):
    """Camera intrinsics that cannot be used; the message names the input and the problem."""


def intrinsics_array(x, name: str, what: str = "K", batch: bool = False) -> np.ndarray:
    """K as float64 NumPy (3, 3) (or (B, 3, 3) where ``batch``) from the layouts
    :func:`validate_K` takes (array, nested list, tensor, 9 numbers row-major as in ROS
    CameraInfo, or an OpenCV/ROS ``{"rows", "cols", "data"}`` mapping), checking the shape
    only; ``what`` names it in messages (``camera_io`` passes the key it was read under).

    Raises:
        IntrinsicsError: not numbers, or another shape (one line naming ``name``)."""
    if isinstance(x, dict) and "data" in x:  # OpenCV FileStorage / ROS yaml {"rows", "cols", "data"}
        x = x["data"]
    try:
        if hasattr(x, "detach"):
            x = x.detach().cpu().numpy()
        K = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise IntrinsicsError(f"{name}: {what} must be a 3x3 array of numbers") from None
    if K.shape == (9,):  # ROS CameraInfo: row-major flat K
        K = K.reshape(3, 3)
    if K.shape != (3, 3) and not (batch and K.ndim == 3 and K.shape[1:] == (3, 3)):
        shapes = "(3, 3), (B, 3, 3)" if batch else "(3, 3)"
        raise IntrinsicsError(f"{name}: {what} must have shape {shapes} or 9 numbers, got shape {K.shape}")
    return K


def validate_K(K, name: str = "K", batch: bool = False) -> np.ndarray:
    """The one check of pinhole intrinsics (every K the library reads or builds passes it).

    K: (3, 3), or a batch (B, 3, 3) where ``batch``: a tensor (any device), an array,
    nested lists, 9 numbers (ROS CameraInfo, row-major) or ``{"data": [...]}`` (OpenCV /
    ROS yaml).

    Returns:
        K as float64 NumPy, (3, 3) or (B, 3, 3).

    Raises:
        IntrinsicsError (a ValueError), one line naming ``name``: not numbers, another
        shape, NaN or infinite values, a focal length fx or fy <= 0, or not upper
        triangular with last row (0, 0, 1).
    """
    K = intrinsics_array(K, name, batch=batch)
    if not np.isfinite(K).all():
        raise IntrinsicsError(f"{name}: K contains NaN or infinite values")
    fx, fy = K[..., 0, 0], K[..., 1, 1]
    if not ((fx > 0).all() and (fy > 0).all()):
        raise IntrinsicsError(f"{name}: focal lengths must be positive, got fx={np.min(fx):g}, fy={np.min(fy):g}")
    if not np.allclose(K[..., 2, :], [0.0, 0.0, 1.0]) or (K[..., 1, 0] != 0).any():
        raise IntrinsicsError(f"{name}: K must be upper triangular with last row (0, 0, 1), got last row "
                              f"{K.reshape(-1, 3, 3)[0, 2].tolist()}")
    return K
