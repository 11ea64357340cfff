"""Pinhole camera helpers, and the one home of every pixel-grid transform between a
user's image and the network input.

Part 1 (torch, device-agnostic, float32 unless the inputs say otherwise): intrinsics,
look-at extrinsics, the paper's hemisphere sampling (section III-A), projection /
back-projection, intrinsics under resize and crop, and :class:`Camera`, which carries K
and its pixel grid from the network view to the 3D joints (and decodes the network's
depth code to metres). :func:`validate_K` is the one check of every K.

Part 2 (NumPy float64 / OpenCV, CPU; used by ``image_io`` and ``predictor``):

* EXIF orientation: :func:`apply_orientation` turns stored pixels upright (as every viewer
  and ``cv2.imread`` show them), :func:`orientation_matrix` maps stored pixels to upright
  ones;
* camera descriptions: :func:`read_camera` reads K (and distortion, and the image size it
  was calibrated at) from JSON, dicts (also ROS ``CameraInfo`` dumps) or arrays;
  :func:`camera_for_image` checks it against one image (principal point inside, a field
  of view of 10-170 degrees), rescales it when it was given for another resolution of the
  same aspect, and rejects it otherwise (one-line :class:`IntrinsicsError`);
* :class:`NetworkView` / :func:`network_view`: undistortion (OpenCV), resizing that keeps
  the aspect ratio (a network input of the image's own aspect for fully convolutional
  networks, or padding (letterbox), or cropping into the network's size), with square
  network pixels, the matching K of the network grid, and the way back for pixels and
  masks.

Conventions (CONTRIBUTING.md): camera frame as OpenCV (x right, y down, z forward), pixel
(u, v) with integer coordinates at pixel centres, world z up, metres and radians.
Resizing by (sx, sy) maps u' = (u + 0.5) sx - 0.5 (``cv2.resize``, ``F.interpolate``
with ``align_corners=False``).
"""
from __future__ import annotations

import json
import math
import os
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

__all__ = [
    "intrinsics", "intrinsics_from_fov", "look_at", "sample_hemisphere",
    "project", "backproject", "transform_points", "scale_intrinsics", "crop_intrinsics", "Camera",
    "IntrinsicsError", "CameraDescription", "read_camera", "validate_K", "camera_for_image",
    "apply_orientation", "orientation_matrix", "oriented_size", "ORIENTATION_NAMES",
    "fit_to_input", "FITS", "network_view", "NetworkView", "rescale_pixels",
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


# =============================================================================== part 2
# ----------------------------------------------------------------------- EXIF orientation

ORIENTATION_NAMES = {1: "upright", 2: "mirrored left-right", 3: "rotated 180 degrees",
                     4: "mirrored top-bottom", 5: "transposed", 6: "rotated 90 degrees clockwise",
                     7: "transversed", 8: "rotated 90 degrees counter-clockwise"}


def _check_orientation(orientation: int) -> int:
    if orientation not in ORIENTATION_NAMES:
        raise ValueError(f"EXIF orientation must be 1..8, got {orientation!r}")
    return int(orientation)


def oriented_size(orientation: int, height: int, width: int) -> tuple[int, int]:
    """(H, W) of the upright image whose stored pixels are ``height`` x ``width``."""
    return (width, height) if _check_orientation(orientation) >= 5 else (height, width)


def apply_orientation(image: np.ndarray, orientation: int) -> np.ndarray:
    """Stored pixels (H, W, ...) -> the upright image that EXIF ``orientation`` (1..8, tag
    0x0112) asks viewers to show (what ``PIL.ImageOps.exif_transpose`` and ``cv2.imread``
    do). Contiguous copy unless orientation is 1."""
    o = _check_orientation(orientation)
    a = image
    if o == 1:
        return a
    out = {2: lambda: a[:, ::-1], 3: lambda: a[::-1, ::-1], 4: lambda: a[::-1],
           5: lambda: a.swapaxes(0, 1), 6: lambda: np.rot90(a, -1), 7: lambda: a[::-1, ::-1].swapaxes(0, 1),
           8: lambda: np.rot90(a, 1)}[o]()
    return np.ascontiguousarray(out)


def orientation_matrix(orientation: int, height: int, width: int) -> np.ndarray:
    """A (3, 3) float64 with [u', v', 1] = A [u, v, 1]: stored pixel (u, v) of a ``height`` x
    ``width`` image -> its position in the upright image (see :func:`apply_orientation`)."""
    o, W1, H1 = _check_orientation(orientation), width - 1.0, height - 1.0
    rows = {1: [[1, 0, 0], [0, 1, 0]], 2: [[-1, 0, W1], [0, 1, 0]], 3: [[-1, 0, W1], [0, -1, H1]],
            4: [[1, 0, 0], [0, -1, H1]], 5: [[0, 1, 0], [1, 0, 0]], 6: [[0, -1, H1], [1, 0, 0]],
            7: [[0, -1, H1], [-1, 0, W1]], 8: [[0, 1, 0], [-1, 0, W1]]}[o]
    return np.array(rows + [[0, 0, 1]], dtype=np.float64)


# ----------------------------------------------------------------------- camera descriptions

class IntrinsicsError(ValueError):
    """Camera intrinsics that cannot be used; the message names the input and the problem."""


# field of view accepted for a camera description (degrees, each axis)
FOV_RANGE_DEG = (10.0, 170.0)
# OpenCV's distortion vectors: (k1, k2, p1, p2[, k3[, k4, k5, k6[, s1..s4[, tx, ty]]]])
OPENCV_DIST_LENGTHS = (4, 5, 8, 12, 14)
PINHOLE_MODELS = ("", "plumb_bob", "rational_polynomial", "radtan", "radial-tangential", "opencv", "pinhole")
FISHEYE_MODELS = ("equidistant", "fisheye", "kannala_brandt", "kb4", "opencv_fisheye")

_K_KEYS = ("K", "k", "camera_matrix", "cameraMatrix", "intrinsic_matrix", "intrinsics")
_D_KEYS = ("D", "d", "dist_coeffs", "distCoeffs", "dist", "distortion", "distortion_coefficients",
           "distortion_coeffs")
_SIZE_KEYS = (("width", "height"), ("image_width", "image_height"))


@dataclass
class CameraDescription:
    """A camera as a user describes it.

    Attributes:
        K: (3, 3) float64 pinhole intrinsics (pixels).
        dist: distortion coefficients (float64 (N,)), OpenCV's order for the pinhole models
            (N in 4, 5, 8, 12, 14) or (k1, k2, k3, k4) for the fisheye model; None when
            absent or all zero.
        model: "pinhole" (OpenCV's standard model) or "fisheye" (``cv2.fisheye``).
        size: (H, W) of the image K was calibrated for, or None when not given.
        source: how to call it in messages (a file name, "K", ...).
        notes: what was read (ROS layout, ...), for messages.
    """

    K: np.ndarray
    dist: np.ndarray | None = None
    model: str = "pinhole"
    size: tuple[int, int] | None = None
    source: str = "K"

    @property
    def distorted(self) -> bool:
        return self.dist is not None


def _matrix(x, name: str, what: str = "K", batch: bool = False) -> np.ndarray:
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
    K = _matrix(K, name, batch=batch)
    if not np.isfinite(K).all():
        raise IntrinsicsError(f"{name}: K contains NaN or infinite values")
    fx, fy = K[..., 0, 0], K[..., 1, 1]
    if not ((fx > 0).all() and (fy > 0).all()):
        raise IntrinsicsError(f"{name}: focal lengths must be positive, got fx={np.min(fx):g}, fy={np.min(fy):g}")
    if not np.allclose(K[..., 2, :], [0.0, 0.0, 1.0]) or (K[..., 1, 0] != 0).any():
        raise IntrinsicsError(f"{name}: K must be upper triangular with last row (0, 0, 1), got last row "
                              f"{K.reshape(-1, 3, 3)[0, 2].tolist()}")
    return K


def _first(d: dict, keys):
    for k in keys:
        if k in d and d[k] is not None:
            return k, d[k]
    return None, None


def _distortion(d: dict, name: str) -> tuple[np.ndarray | None, str]:
    key, value = _first(d, _D_KEYS)
    model_raw = str(d.get("distortion_model", d.get("camera_model", "")) or "").strip().lower()
    if model_raw in FISHEYE_MODELS:
        model = "fisheye"
    elif model_raw in PINHOLE_MODELS:
        model = "pinhole"
    else:
        raise IntrinsicsError(f"{name}: unsupported distortion_model {model_raw!r} (supported: plumb_bob, "
                              f"rational_polynomial, equidistant)")
    if value is None:
        return None, model
    if isinstance(value, dict) and "data" in value:
        value = value["data"]
    try:
        D = np.asarray(value, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise IntrinsicsError(f"{name}: {key} must be a list of numbers") from None
    if not np.isfinite(D).all():
        raise IntrinsicsError(f"{name}: {key} contains NaN or infinite values")
    if not D.any():
        return None, model  # all zero (e.g. a rectified ROS camera): nothing to undo
    if model == "fisheye":
        if D.size != 4:
            raise IntrinsicsError(f"{name}: the fisheye (equidistant) model takes 4 coefficients, {key} has {D.size}")
    elif D.size > OPENCV_DIST_LENGTHS[-1]:
        raise IntrinsicsError(f"{name}: {key} has {D.size} coefficients; OpenCV's model takes at most 14 "
                              f"(k1, k2, p1, p2, k3, k4, k5, k6, s1..s4, tx, ty)")
    elif D.size not in OPENCV_DIST_LENGTHS:  # the missing higher terms are zero
        D = np.pad(D, (0, min(n for n in OPENCV_DIST_LENGTHS if n > D.size) - D.size))
    return D, model


def _size(d: dict, name: str) -> tuple[int, int] | None:
    for wk, hk in _SIZE_KEYS:
        if wk in d or hk in d:
            if wk not in d or hk not in d:
                raise IntrinsicsError(f"{name}: give both {wk} and {hk} (the image size K was calibrated at)")
            try:
                w, h = float(d[wk]), float(d[hk])
            except (TypeError, ValueError):
                raise IntrinsicsError(f"{name}: {wk} and {hk} must be numbers") from None
            if w == 0 and h == 0:
                return None  # ROS leaves them 0 when unknown
            if not (w >= 1 and h >= 1 and w == int(w) and h == int(h)):
                raise IntrinsicsError(f"{name}: {wk}, {hk} must be positive integers, got {d[wk]}, {d[hk]}")
            return int(h), int(w)
    return None


def _from_mapping(d: dict, name: str) -> CameraDescription:
    key, value = _first(d, _K_KEYS)
    if value is not None:
        K = _matrix(value, name, key)
    else:
        keys = ("fx", "fy", "cx", "cy")
        missing = [k for k in keys if k not in d]
        if missing:
            raise IntrinsicsError(f"{name}: expected a 'K' 3x3 matrix (or ROS CameraInfo 'K'/'k' with 9 numbers) "
                                  f"or fx, fy, cx, cy; missing {', '.join(missing)}")
        try:
            fx, fy, cx, cy = (float(d[k]) for k in keys)
        except (TypeError, ValueError):
            raise IntrinsicsError(f"{name}: fx, fy, cx, cy must be numbers") from None
        K = np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])
    K = validate_K(K, name)
    dist, model = _distortion(d, name)
    return CameraDescription(K, dist, model, _size(d, name), name)


def read_camera(src, name: str | None = None) -> CameraDescription:
    """A camera description from a JSON file, a dict, an array/tensor K or a
    :class:`CameraDescription` (returned as is).

    JSON/dict layouts: ``{"K": [[3x3]]}``; ``{"fx", "fy", "cx", "cy"}``; a ROS CameraInfo
    dump (``K``, or ROS 2's ``k``, as 9 row-major numbers, ``D``/``d``, ``width``,
    ``height``, ``distortion_model``); a ROS camera_info YAML as JSON (``camera_matrix``
    ``{"rows", "cols", "data"}``, ``distortion_coefficients``, ``image_width``,
    ``image_height``). Optional: distortion under ``D``, ``dist_coeffs`` (OpenCV order),
    ``distortion_model`` (plumb_bob, rational_polynomial, equidistant), and the image size
    K belongs to as ``width``/``height`` (used by :func:`camera_for_image`).

    Raises:
        IntrinsicsError: one line naming the input and the problem.
    """
    if isinstance(src, CameraDescription):
        return src
    if isinstance(src, (str, os.PathLike)):
        path = Path(src)
        label = name or str(path)
        if not path.is_file():
            raise IntrinsicsError(f"{label}: file not found")
        try:
            data = json.loads(path.read_text())
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise IntrinsicsError(f"{label}: not valid JSON ({e})") from None
        if isinstance(data, dict):
            return _from_mapping(data, label)
        return CameraDescription(validate_K(data, label), source=label)
    if isinstance(src, dict):
        return _from_mapping(src, name or "intrinsics")
    label = name or "K"
    return CameraDescription(validate_K(src, label), source=label)


def _warn(message: str) -> None:
    warnings.warn(message, UserWarning, stacklevel=3)


def camera_for_image(camera, image_size: tuple[int, int], image_name: str = "the image",
                     stored_size: tuple[int, int] | None = None) -> CameraDescription:
    """Check a camera description against one image and return it with K for that image.

    Args:
        camera: anything :func:`read_camera` takes.
        image_size: (H, W) of the (upright) image K should describe.
        image_name: how to call the image in messages.
        stored_size: (H, W) of the stored pixels when EXIF rotated them (for the message
            when K belongs to the unrotated image).

    A K given for another resolution (``width``/``height`` in the description) of the same
    aspect ratio (within 1 %) is rescaled to the image with a one-line warning; another
    aspect ratio is an error. Errors (:class:`IntrinsicsError`, one line naming the
    description, the image and the problem): principal point outside the image, a field
    of view outside 10-170 degrees on either axis. Warnings (one line each): principal
    point far from the centre (more than 30 % of the size), fx and fy more than 5 % apart,
    non-zero skew.
    """
    cam = read_camera(camera)
    H, W = int(image_size[0]), int(image_size[1])
    where = f"{image_name} ({W}x{H})"
    K = cam.K
    if cam.size is not None and cam.size != (H, W):
        Hc, Wc = cam.size
        sx, sy = W / Wc, H / Hc
        if stored_size is not None and (Hc, Wc) == tuple(stored_size) and (Hc, Wc) != (H, W):
            raise IntrinsicsError(f"{cam.source}: K is for a {Wc}x{Hc} image but {where} is shown rotated by its "
                                  f"EXIF orientation; give K of the upright {W}x{H} image")
        if abs(sx / sy - 1.0) > 0.01:
            raise IntrinsicsError(f"{cam.source}: K is for a {Wc}x{Hc} image, {where} has another aspect ratio "
                                  f"(crop or pad K yourself, or calibrate at this size)")
        K = scale_intrinsics(K, sx, sy)
        _warn(f"{cam.source}: K for {Wc}x{Hc} rescaled to {where} (fx {cam.K[0, 0]:.1f} -> {K[0, 0]:.1f})")
        cam = replace(cam, K=K, size=(H, W))
    fx, fy, skew, cx, cy = K[0, 0], K[1, 1], K[0, 1], K[0, 2], K[1, 2]
    if not (-0.5 <= cx <= W - 0.5 and -0.5 <= cy <= H - 0.5):
        hint = ""
        if cam.size is None and cx > W - 0.5 and cy > H - 0.5:
            hint = (f"; K looks like it belongs to a {2 * cx + 1:.0f}x{2 * cy + 1:.0f} image (add \"width\" and "
                    f"\"height\" to the K JSON to have it rescaled)")
        raise IntrinsicsError(f"{cam.source}: principal point ({cx:.1f}, {cy:.1f}) lies outside {where}{hint}")
    fov = (math.degrees(2 * math.atan2(W / 2, fx)), math.degrees(2 * math.atan2(H / 2, fy)))
    lo, hi = FOV_RANGE_DEG
    for axis, f, deg in (("fx", fx, fov[0]), ("fy", fy, fov[1])):
        if not lo <= deg <= hi:
            raise IntrinsicsError(f"{cam.source}: {axis}={f:g} px means a {deg:.1f} degree field of view on "
                                  f"{where} (expected {lo:.0f}-{hi:.0f}); K does not describe this image")
    off = max(abs(cx - (W - 1) / 2) / W, abs(cy - (H - 1) / 2) / H)
    if off > 0.3:
        _warn(f"{cam.source}: principal point ({cx:.1f}, {cy:.1f}) is far from the centre of {where}; check "
              f"that K belongs to this image")
    if abs(fx / fy - 1.0) > 0.05:
        _warn(f"{cam.source}: fx={fx:g} and fy={fy:g} differ by {abs(fx / fy - 1) * 100:.0f} % (non-square "
              f"pixels); {where} is resampled to square pixels for the network")
    if skew != 0:
        _warn(f"{cam.source}: K has skew {skew:g}; the network sees the skewed pixels of {where}")
    return cam


# ----------------------------------------------------------------------- image -> network

FITS = ("extend", "pad", "crop")
EXTEND_MULTIPLE = 8       # "extend" canvases are padded to a multiple of this (pixels)
EXTEND_MAX_AREA = 4.0     # ... and hold at most this many network inputs' worth of pixels


def fit_to_input(image_size: tuple[int, int], net_size: tuple[int, int], fit: str = "extend",
                 pixel_aspect: float = 1.0) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    """Where an (h, w) image goes in the network input: ((nh, nw), (ox, oy), (Hc, Wc)).

    The image is resized to nh x nw (square network pixels: ``pixel_aspect`` = fy / fx of
    the image, and fx * sx = fy * sy up to the rounding of nh, nw) and placed with its pixel
    (0, 0) at pixel (ox, oy) of an Hc x Wc network input (the "canvas"):

    * ``"extend"``: the canvas takes the image's aspect ratio: the image's shorter side is
      resized to the network's shorter side (so a 4:3 image fills exactly the network's
      (H, W) and a 16:9 one becomes H x 16/9 H at the same pixel scale), then padded to a
      multiple of 8 pixels; for very elongated images the scale is reduced so that the
      canvas holds at most 4 network inputs' worth of pixels. For fully convolutional
      networks (ours): objects keep the size they had in training whatever the aspect.
    * ``"pad"``: letterbox into the network's (H, W): all of the image is seen, smaller,
      with bars;
    * ``"crop"``: the image fills the network's (H, W), its borders are lost (negative
      offsets).
    """
    if fit not in FITS:
        raise ValueError(f"fit: expected one of {', '.join(FITS)}, got {fit!r}")
    h, w = image_size
    H, W = net_size
    if min(h, w, H, W) < 1:
        raise ValueError(f"fit_to_input: sizes must be positive, got image {image_size}, network {net_size}")
    a = math.sqrt(pixel_aspect)  # sx = s * a, sy = s / a  =>  sx / sy = fy / fx
    ws, hs = w * a, h / a        # the image's extent in square pixels
    if fit == "extend":
        s = min(H, W) / min(ws, hs)
        s = min(s, math.sqrt(EXTEND_MAX_AREA * H * W / (ws * hs)))
        nw, nh = max(1, round(ws * s)), max(1, round(hs * s))
        m = EXTEND_MULTIPLE
        Wc, Hc = -(-nw // m) * m, -(-nh // m) * m
        return (nh, nw), ((Wc - nw) // 2, (Hc - nh) // 2), (Hc, Wc)
    s = (min if fit == "pad" else max)(W / ws, H / hs)
    nw, nh = max(1, round(ws * s)), max(1, round(hs * s))
    if fit == "pad":
        nw, nh = min(nw, W), min(nh, H)
    else:
        nw, nh = max(nw, W), max(nh, H)
    return (nh, nw), ((W - nw) // 2, (H - nh) // 2), (H, W)


@dataclass
class NetworkView:
    """How one user image maps onto the network input, and back.

    Grids: *original* (the user's upright image, (H0, W0): reported coordinates), *loaded*
    (what ``image_io.load_image`` returned: the original, downscaled by ``load_scale`` when
    it was very large), *network* (``net_size``). Undistortion (when ``camera.dist`` is set)
    happens on the loaded grid; the undistorted image is resized by ``scale`` and placed at
    ``offset`` (see :func:`fit_to_input`).

    Attributes:
        camera: the description of the original image (K for (H0, W0), distortion).
        original_size, loaded_size, net_size: (H, W) of the three grids (``net_size`` is
            the canvas actually fed to the network, see :func:`fit_to_input`).
        load_scale: (sx, sy) loaded = original resized by these.
        scale: (sx, sy) network = loaded (undistorted) resized by these, then
        offset: (ox, oy) network pixel of loaded pixel (0, 0) (negative: cropped).
        K_loaded: (3, 3) pinhole K of the (undistorted) loaded grid.
        K_net: (3, 3) pinhole K of the network grid.
        pad_value: grey level of the padding (0..255).
    """

    camera: CameraDescription
    original_size: tuple[int, int]
    loaded_size: tuple[int, int]
    net_size: tuple[int, int]
    load_scale: tuple[float, float]
    scale: tuple[float, float]
    offset: tuple[int, int]
    K_loaded: np.ndarray
    K_net: np.ndarray
    pad_value: int = 0

    @property
    def network_camera(self) -> Camera:
        """The pinhole :class:`Camera` of the network grid (``K_net``, ``net_size``)."""
        return Camera(self.K_net, self.net_size)

    @property
    def content_box(self) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1): network pixels x0 <= x < x1, y0 <= y < y1 show the image."""
        H, W = self.net_size
        h, w = self.loaded_size
        nw, nh = round(w * self.scale[0]), round(h * self.scale[1])
        ox, oy = self.offset
        return max(ox, 0), max(oy, 0), min(ox + nw, W), min(oy + nh, H)

    def content_mask(self) -> np.ndarray:
        """bool (H_n, W_n): True where the network input shows the image (not padding)."""
        x0, y0, x1, y1 = self.content_box
        m = np.zeros(self.net_size, dtype=bool)
        m[y0:y1, x0:x1] = True
        return m

    # --------------------------------------------------------------- pixels forward
    def undistort(self, image: np.ndarray) -> np.ndarray:
        """The loaded image with the lens distortion removed (pinhole ``K_loaded``)."""
        import cv2

        cam = self.camera
        if cam.dist is None:
            return image
        if cam.model == "fisheye":
            return cv2.fisheye.undistortImage(image, self.K_loaded, cam.dist, Knew=self.K_loaded)
        return cv2.undistort(image, self.K_loaded, cam.dist, None, self.K_loaded)

    def warp(self, image: np.ndarray) -> np.ndarray:
        """Loaded image (h, w, C) uint8 -> network input (H_n, W_n, C): undistorted,
        resized (area averaging when shrinking), padded with ``pad_value`` or cropped."""
        import cv2

        h, w = self.loaded_size
        if image.shape[:2] != (h, w):
            raise ValueError(f"warp: image is {image.shape[1]}x{image.shape[0]}, the view was made for {w}x{h}")
        img = self.undistort(image)
        nw, nh = round(w * self.scale[0]), round(h * self.scale[1])
        if (nh, nw) != (h, w):
            interp = cv2.INTER_AREA if (nh < h and nw < w) else cv2.INTER_LINEAR
            img = cv2.resize(img, (nw, nh), interpolation=interp)
        H, W = self.net_size
        ox, oy = self.offset
        if (ox, oy, nh, nw) == (0, 0, H, W):
            return img if img.flags.writeable and img.flags.c_contiguous else np.array(img)
        out = np.full((H, W) + img.shape[2:], self.pad_value, dtype=img.dtype)
        x0, y0, x1, y1 = self.content_box
        out[y0:y1, x0:x1] = img[y0 - oy:y1 - oy, x0 - ox:x1 - ox]
        return out

    # --------------------------------------------------------------- pixels back
    def net_to_loaded(self, uv) -> np.ndarray:
        """Network pixels (..., 2) -> undistorted loaded-grid pixels."""
        uv = np.array(uv, dtype=np.float64)
        uv[..., 0] -= self.offset[0]
        uv[..., 1] -= self.offset[1]
        return rescale_pixels(uv, 1.0 / self.scale[0], 1.0 / self.scale[1])

    def to_image(self, uv) -> np.ndarray:
        """Network pixels (..., 2) -> pixels of the user's (original, upright, distorted)
        image. NaN stays NaN."""
        uv = np.asarray(uv, dtype=np.float64)
        loaded = self.net_to_loaded(uv)
        out = rescale_pixels(loaded, 1.0 / self.load_scale[0], 1.0 / self.load_scale[1])
        cam = self.camera
        if cam.dist is None:
            return out
        import cv2

        flat = loaded.reshape(-1, 2)
        ok = np.isfinite(flat).all(axis=1)
        res = np.full_like(flat, np.nan)
        if ok.any():
            Kl = self.K_loaded
            x = (flat[ok, 0] - Kl[0, 2] - Kl[0, 1] * (flat[ok, 1] - Kl[1, 2]) / Kl[1, 1]) / Kl[0, 0]
            y = (flat[ok, 1] - Kl[1, 2]) / Kl[1, 1]
            pts = np.stack([x, y, np.ones_like(x)], 1)[:, None, :]
            zero = np.zeros(3)
            if cam.model == "fisheye":
                px, _ = cv2.fisheye.projectPoints(pts, zero, zero, cam.K, cam.dist)
            else:
                px, _ = cv2.projectPoints(pts, zero, zero, cam.K, cam.dist)
            res[ok] = px.reshape(-1, 2)
        return res.reshape(uv.shape)

    def loaded_to_net_maps(self) -> tuple[np.ndarray, np.ndarray]:
        """For every loaded-grid pixel, where it is in the network input: (map_x, map_y)
        float32 (h, w) for ``cv2.remap`` (through the undistortion when there is one)."""
        import cv2

        h, w = self.loaded_size
        vv, uu = np.mgrid[0:h, 0:w].astype(np.float64)
        if self.camera.dist is not None:
            pts = np.stack([uu.ravel(), vv.ravel()], 1)[:, None, :]
            if self.camera.model == "fisheye":
                und = cv2.fisheye.undistortPoints(pts, self.K_loaded, self.camera.dist, P=self.K_loaded)
            else:
                und = cv2.undistortPoints(pts, self.K_loaded, self.camera.dist, P=self.K_loaded)
            uu, vv = und[:, 0, 0].reshape(h, w), und[:, 0, 1].reshape(h, w)
        nx = (uu + 0.5) * self.scale[0] - 0.5 + self.offset[0]
        ny = (vv + 0.5) * self.scale[1] - 0.5 + self.offset[1]
        return nx.astype(np.float32), ny.astype(np.float32)

    def mask_to_loaded(self, mask: np.ndarray) -> np.ndarray:
        """A network-grid map (H_n, W_n) float -> the loaded grid (h, w) (bilinear; 0 where
        the image's pixel was cropped away)."""
        import cv2

        mask = np.asarray(mask, dtype=np.float32)
        h, w = self.loaded_size
        if self.camera.dist is None:
            sx, sy = self.scale
            ox, oy = self.offset
            M = np.array([[sx, 0, (0.5 * sx - 0.5) + ox], [0, sy, (0.5 * sy - 0.5) + oy]], dtype=np.float64)
            return cv2.warpAffine(mask, M, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                  borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
        mx, my = self.loaded_to_net_maps()
        return cv2.remap(mask, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)


def network_view(camera, loaded_size: tuple[int, int], net_size: tuple[int, int], fit: str = "extend",
                 load_scale: tuple[float, float] = (1.0, 1.0), original_size: tuple[int, int] | None = None,
                 pad_value: int = 0, image_name: str = "the image", check: bool = True,
                 stored_size: tuple[int, int] | None = None) -> NetworkView:
    """The :class:`NetworkView` of one image.

    Args:
        camera: description of the *original* image (anything :func:`read_camera` takes);
            checked and rescaled by :func:`camera_for_image` unless ``check`` is False.
        loaded_size: (h, w) of the pixels at hand (``LoadedImage.size``).
        net_size: (H_n, W_n) network input (its training size).
        fit: 'extend' (default), 'pad' (letterbox) or 'crop' (see :func:`fit_to_input`).
        load_scale: (sx, sy) of the loaded grid relative to the original.
        original_size: (H0, W0) of the original image (default ``loaded_size``).
        pad_value: grey level (0..255) of the letterbox bars.
        image_name, stored_size: for :func:`camera_for_image`'s messages.
    """
    original_size = tuple(original_size or loaded_size)
    cam = camera_for_image(camera, original_size, image_name, stored_size) if check else read_camera(camera)
    K_loaded = scale_intrinsics(cam.K, *load_scale)
    (nh, nw), offset, canvas = fit_to_input(loaded_size, net_size, fit, pixel_aspect=K_loaded[1, 1] / K_loaded[0, 0])
    h, w = loaded_size
    scale = (nw / w, nh / h)
    K_net = crop_intrinsics(scale_intrinsics(K_loaded, *scale), -offset[0], -offset[1])
    return NetworkView(cam, original_size, tuple(loaded_size), tuple(canvas), tuple(load_scale), scale,
                       offset, K_loaded, K_net, int(pad_value))
