"""Reading user images and intrinsics, with one-line errors and one-line warnings.

:func:`load_image` takes a path, a numpy array or a torch tensor and returns a
:class:`LoadedImage`: uint8 (H, W, 3) RGB plus the original size and the scale applied.
What can be read sensibly is converted with ONE ``warnings.warn`` line (grayscale -> RGB,
alpha dropped, 16-bit -> 8-bit, float -> uint8, very large -> downscaled); what cannot
raises :class:`ImageInputError` (a ``ValueError``) with one line naming the input and the
problem. :func:`load_intrinsics` reads K from JSON, a dict or an array and validates it
(:class:`IntrinsicsError`).

Very large files are decoded reduced where the format allows (JPEG DCT scaling via
Pillow's ``draft``), otherwise decoded and immediately box-reduced, so a 10000 x 10000
image costs one full decode (~300 MB for 8-bit RGB) and is never resized in float.
Use :meth:`LoadedImage.adjust_intrinsics` to carry K over to the returned pixels.
"""
from __future__ import annotations

import json
import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MIN_SIDE = 32          # smaller than this cannot hold a recognisable robot
MAX_SIDE = 4096        # larger images are downscaled right after reading


class ImageInputError(ValueError):
    """An image input that cannot be used; the message names the input and the problem."""


class IntrinsicsError(ValueError):
    """Camera intrinsics that cannot be used; the message names the input and the problem."""


@dataclass
class LoadedImage:
    """A decoded image and how it relates to the original.

    Attributes:
        image: uint8 (H, W, 3) RGB.
        source: name of the input for messages (a path, or a description of an array).
        original_size: (H0, W0) before any downscaling.
        scale: (sx, sy): returned pixel grid = original grid scaled by these factors under
            the pixel-centre convention u' = (u + 0.5) * sx - 0.5 (1.0 when not resized).
        notes: the conversions that were applied (also sent as one warning).
    """

    image: np.ndarray
    source: str
    original_size: tuple[int, int]
    scale: tuple[float, float] = (1.0, 1.0)
    notes: tuple[str, ...] = ()

    @property
    def size(self) -> tuple[int, int]:
        return int(self.image.shape[0]), int(self.image.shape[1])

    def adjust_intrinsics(self, K) -> np.ndarray:
        """K (3, 3) of the original image -> K of the returned pixels (float64)."""
        K = np.array(K, dtype=np.float64)
        sx, sy = self.scale
        out = K.copy()
        out[0, :] = K[0, :] * sx
        out[1, :] = K[1, :] * sy
        out[0, 2] = (K[0, 2] + 0.5) * sx - 0.5  # as camera.scale_intrinsics
        out[1, 2] = (K[1, 2] + 0.5) * sy - 0.5
        return out

    def to_original(self, uv: np.ndarray) -> np.ndarray:
        """Pixel coordinates (..., 2) in the returned image -> in the original image."""
        uv = np.asarray(uv, dtype=np.float64)
        s = np.asarray(self.scale)
        return (uv + 0.5) / s - 0.5


# ----------------------------------------------------------------------------- helpers

def _describe(x) -> str:
    return f"{type(x).__module__.split('.')[0]} {type(x).__name__} of shape {tuple(x.shape)} and dtype {x.dtype}"


def _check_size(h: int, w: int, name: str, min_side: int) -> None:
    if min(h, w) < min_side:
        raise ImageInputError(f"{name}: image too small ({w}x{h} px; need at least {min_side} px a side "
                              f"to hold a robot)")


def _warn(name: str, notes: list[str]) -> None:
    if notes:
        warnings.warn(f"{name}: " + "; ".join(notes), UserWarning, stacklevel=3)


def _downscale_array(img: np.ndarray, max_side: int, notes: list[str]) -> tuple[np.ndarray, tuple[float, float]]:
    h, w = img.shape[:2]
    if max(h, w) <= max_side:
        return img, (1.0, 1.0)
    import cv2
    s = max_side / max(h, w)
    nw, nh = max(1, round(w * s)), max(1, round(h * s))
    notes.append(f"downscaled from {w}x{h} to {nw}x{nh}")
    return cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA), (nw / w, nh / h)


def _array_to_rgb8(a: np.ndarray, name: str, notes: list[str]) -> np.ndarray:
    """Any supported (H, W[, C]) array -> uint8 (H, W, 3), recording conversions."""
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)):
        raise ImageInputError(f"{name}: expected an HxW, HxWx3 or HxWx4 image, got shape {tuple(a.shape)}")
    if a.ndim == 3 and a.shape[2] == 4:
        a = a[..., :3]
        notes.append("dropped the alpha channel (RGBA -> RGB)")
    if a.dtype == np.uint8:
        pass
    elif a.dtype == np.uint16:
        a = (a >> 8).astype(np.uint8)
        notes.append("converted 16-bit to 8-bit")
    elif np.issubdtype(a.dtype, np.floating):
        if not np.isfinite(a).all():
            raise ImageInputError(f"{name}: float image contains NaN or infinite values")
        lo, hi = float(a.min()), float(a.max())
        if lo < 0 or hi > 1:
            raise ImageInputError(f"{name}: float image values must lie in [0, 1], got [{lo:.3g}, {hi:.3g}]")
        a = np.round(a * 255).astype(np.uint8)
        notes.append("converted float [0, 1] to uint8")
    elif a.dtype == np.bool_ or not np.issubdtype(a.dtype, np.integer):
        raise ImageInputError(f"{name}: unsupported image dtype {a.dtype} (use uint8, uint16 or float in [0, 1])")
    else:
        lo, hi = int(a.min()), int(a.max())
        if lo < 0 or hi > 255:
            raise ImageInputError(f"{name}: integer image values must lie in [0, 255], got [{lo}, {hi}]")
        a = a.astype(np.uint8)
        notes.append(f"converted {a.dtype} to uint8")
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
        notes.append("converted grayscale to RGB")
    return np.ascontiguousarray(a)


# ----------------------------------------------------------------------------- files

def _load_file(path: Path, min_side: int, max_side: int) -> LoadedImage:
    from PIL import Image, UnidentifiedImageError

    name = str(path)
    if not path.exists():
        raise ImageInputError(f"{name}: file not found")
    if not path.is_file():
        raise ImageInputError(f"{name}: not a file")
    limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None  # we downscale large images ourselves
    try:
        try:
            im = Image.open(path)
        except UnidentifiedImageError:
            raise ImageInputError(f"{name}: not an image (unrecognised file format)") from None
        except OSError as e:
            raise ImageInputError(f"{name}: cannot be read ({e})") from None
        with im:
            w0, h0 = im.size
            _check_size(h0, w0, name, min_side)
            notes: list[str] = []
            raw_mode = im.tile[0][3] if im.tile and len(im.tile[0]) > 3 and isinstance(im.tile[0][3], str) else ""
            if ";16" in raw_mode and "16" not in im.mode:
                notes.append("converted 16-bit to 8-bit")  # Pillow reads 48-bit PNG as RGB
            factor = 1
            if max(w0, h0) > max_side and im.format == "JPEG":
                # decode at 1/2, 1/4 or 1/8 scale inside libjpeg: the full image never exists
                # (draft picks the strongest reduction that still covers the requested size)
                im.draft(im.mode, (w0 * max_side // max(w0, h0), h0 * max_side // max(w0, h0)))
            try:
                im.load()
            except (OSError, SyntaxError, ValueError) as e:
                raise ImageInputError(f"{name}: truncated or corrupt image data ({e})") from None
            dw = im.size[0] / w0  # JPEG draft scale (1 otherwise)
            if max(im.size) > max_side:
                factor = math.ceil(max(im.size) / max_side)
                im = im.reduce(factor)  # box filter, u' = (u + 0.5) / factor - 0.5
            sx = sy = dw / factor
            if max(im.size) < max(w0, h0):
                notes.append(f"downscaled from {w0}x{h0} to {im.size[0]}x{im.size[1]}")
            mode = im.mode
            if mode in ("I;16", "I;16B", "I;16L", "I"):
                a = np.asarray(im).astype(np.uint32)
                a = (np.clip(a, 0, 65535) >> 8).astype(np.uint8)
                notes.append("converted 16-bit to 8-bit")
            elif mode == "F":
                a = _array_to_rgb8(np.asarray(im), name, notes)
            elif mode == "RGB":
                a = np.asarray(im)
            elif mode in ("L", "1"):
                a = np.asarray(im.convert("L"))
            elif mode in ("RGBA", "LA", "PA", "RGBa", "La") or (mode == "P" and "transparency" in im.info):
                a = np.asarray(im.convert("RGBA"))[..., :3]
                notes.append("dropped the alpha channel (RGBA -> RGB)")
            else:  # P, CMYK, YCbCr, LAB, HSV
                a = np.asarray(im.convert("RGB"))
                if mode != "P":
                    notes.append(f"converted {mode} to RGB")
    finally:
        Image.MAX_IMAGE_PIXELS = limit
    if a.ndim == 2:
        notes.append("converted grayscale to RGB")
        a = np.repeat(a[..., None], 3, axis=2)
    _warn(name, notes)
    return LoadedImage(np.ascontiguousarray(a), name, (h0, w0), (sx, sy), tuple(notes))


# ----------------------------------------------------------------------------- public

def load_image(src, min_side: int = MIN_SIDE, max_side: int = MAX_SIDE, name: str | None = None) -> LoadedImage:
    """Read an image for the predictor: uint8 (H, W, 3) RGB plus size and scale records.

    Args:
        src: a path (str or Path); a numpy array HxW (gray), HxWx1, HxWx3 (RGB), HxWx4
            (RGBA) of uint8, uint16, integers in [0, 255] or floats in [0, 1]; or a torch
            tensor 3xHxW / 1xHxW / HxWx3 (float in [0, 1], the library's internal
            convention, converted without a warning; or uint8).
        min_side: smallest accepted side in pixels.
        max_side: images with a longer side are downscaled to at most this (see
            ``LoadedImage.scale`` and ``adjust_intrinsics``).
        name: how to call the input in messages (default: the path or a description).

    Raises:
        ImageInputError: one line naming the input and the problem (missing file, not an
            image, truncated data, too small, wrong shape or dtype, values out of range).
    """
    if min_side < 1 or max_side < min_side:
        raise ValueError(f"load_image: need 1 <= min_side <= max_side, got {min_side}, {max_side}")
    if isinstance(src, (str, os.PathLike)):
        path = Path(src)
        loaded = _load_file(path, min_side, max_side)
        if name is not None:
            loaded.source = name
        return loaded
    notes: list[str] = []
    try:
        import torch
        is_tensor = torch.is_tensor(src)
    except ImportError:  # pragma: no cover
        is_tensor = False
    if is_tensor:
        label = name or _describe(src)
        t = src.detach().cpu()
        if t.dim() == 4:
            raise ImageInputError(f"{label}: a batch of images; pass one image (3xHxW) at a time or a list")
        if t.dim() == 3 and t.shape[0] in (1, 3, 4) and t.shape[-1] not in (1, 3, 4):
            t = t.permute(1, 2, 0)  # CHW -> HWC
        if t.is_floating_point():
            a = t.float().numpy()
            if a.size and np.isfinite(a).all() and a.min() >= 0 and a.max() <= 1:
                a = np.round(a * 255).astype(np.uint8)  # the library's own float convention
        else:
            a = t.numpy()
    elif isinstance(src, np.ndarray):
        label = name or _describe(src)
        a = src
    else:
        raise ImageInputError(f"{name or type(src).__name__}: expected a file path, a numpy array or a torch "
                              f"tensor, got {type(src).__name__}")
    if a.ndim >= 2:
        _check_size(a.shape[0], a.shape[1], label, min_side)
    rgb = _array_to_rgb8(a, label, notes)
    h0, w0 = rgb.shape[:2]
    rgb, scale = _downscale_array(rgb, max_side, notes)
    _warn(label, notes)
    return LoadedImage(rgb, label, (h0, w0), scale, tuple(notes))


def _intrinsics_from_mapping(d: dict, name: str) -> np.ndarray:
    if "K" in d:
        return _as_matrix(d["K"], name)
    keys = ("fx", "fy", "cx", "cy")
    missing = [k for k in keys if k not in d]
    if missing:
        raise IntrinsicsError(f"{name}: expected a 'K' 3x3 matrix or fx, fy, cx, cy; missing {', '.join(missing)}")
    try:
        fx, fy, cx, cy = (float(d[k]) for k in keys)
    except (TypeError, ValueError):
        raise IntrinsicsError(f"{name}: fx, fy, cx, cy must be numbers") from None
    return np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])


def _as_matrix(x, name: str) -> np.ndarray:
    try:
        if hasattr(x, "detach"):
            x = x.detach().cpu().numpy()
        K = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise IntrinsicsError(f"{name}: K must be a 3x3 array of numbers") from None
    if K.shape != (3, 3):
        raise IntrinsicsError(f"{name}: K must have shape (3, 3), got {K.shape}")
    return K


def validate_intrinsics(K: np.ndarray, name: str = "K") -> np.ndarray:
    """Raise IntrinsicsError unless K is a finite 3x3 pinhole matrix with fx, fy > 0 and
    last row (0, 0, 1). Returns K as float64."""
    K = _as_matrix(K, name)
    if not np.isfinite(K).all():
        raise IntrinsicsError(f"{name}: K contains NaN or infinite values")
    if not (K[0, 0] > 0 and K[1, 1] > 0):
        raise IntrinsicsError(f"{name}: focal lengths must be positive, got fx={K[0, 0]:g}, fy={K[1, 1]:g}")
    if not np.allclose(K[2], [0.0, 0.0, 1.0]) or K[1, 0] != 0:
        raise IntrinsicsError(f"{name}: K must be upper triangular with last row (0, 0, 1), got last row "
                              f"{K[2].tolist()}")
    return K


def load_intrinsics(src, name: str | None = None) -> np.ndarray:
    """K (3, 3) float64 from a JSON file ({"K": [[...]]} or {"fx", "fy", "cx", "cy"}), a
    dict of the same, or a 3x3 array / nested list / tensor; validated.

    Raises:
        IntrinsicsError: one line naming the input and the problem.
    """
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
            K = _intrinsics_from_mapping(data, label)
        else:
            K = _as_matrix(data, label)
    elif isinstance(src, dict):
        label = name or "intrinsics"
        K = _intrinsics_from_mapping(src, label)
    else:
        label = name or "K"
        K = _as_matrix(src, label)
    return validate_intrinsics(K, label)
