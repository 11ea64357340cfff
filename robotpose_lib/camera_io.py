"""Reading what a user says about a camera and an image: camera descriptions and EXIF
orientation (NumPy float64, CPU; used by ``image_io``, ``network_input`` and ``predictor``).

* EXIF orientation: :func:`apply_orientation` turns stored pixels upright (as every viewer
  and ``cv2.imread`` show them), :func:`orientation_matrix` maps stored pixels to upright
  ones, :func:`oriented_size` gives the upright size;
* camera descriptions: :func:`read_camera` reads K (and distortion, and the image size it
  was calibrated at) from JSON, dicts (also ROS ``CameraInfo`` dumps) or arrays into a
  :class:`CameraDescription`; :func:`camera_for_image` checks it against one image
  (principal point inside, a field of view of 10-170 degrees), rescales it when it was
  given for another resolution of the same aspect, and rejects it otherwise (one-line
  :class:`camera.IntrinsicsError`).

Every K passes :func:`camera.validate_K`; the pixel conventions are :mod:`camera`'s.
"""
from __future__ import annotations

import json
import math
import os
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .camera import IntrinsicsError, intrinsics_array, scale_intrinsics, validate_K

__all__ = [
    "CameraDescription", "read_camera", "camera_for_image",
    "apply_orientation", "orientation_matrix", "oriented_size", "ORIENTATION_NAMES",
]

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
        K = intrinsics_array(value, name, key)
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
