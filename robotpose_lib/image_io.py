"""Decoding user images: pixels only, with one-line errors and one-line warnings.

:func:`load_image` takes a path, a numpy array or a torch tensor and returns a
:class:`LoadedImage`: uint8 (H, W, 3) RGB, upright (the file's EXIF orientation applied
through :func:`camera_io.apply_orientation`, as every viewer and ``cv2.imread`` show it), plus
the original size and the scale applied. What can be read sensibly is converted with ONE
``warnings.warn`` line (grayscale -> RGB, alpha dropped, 16-bit -> 8-bit by the real bit
depth, float -> uint8, very large -> downscaled); what cannot raises
:class:`ImageInputError` (a ``ValueError``) with one line naming the input and the problem.

16-bit data (PNG, TIFF, uint16 arrays) is scaled by its real bit depth: a PNG ``sBIT``
chunk when present, else the data's range (12-bit camera data stored as 0..4095 becomes
0..255, not 0..15); the warning says which.

Very large files are decoded reduced where the format allows (JPEG DCT scaling via
Pillow's ``draft``), otherwise decoded and immediately box-reduced, so a 10000 x 10000
image costs one full decode (~300 MB for 8-bit RGB) and is never resized in float.

Camera descriptions live in :mod:`camera_io`, K under resizing in :mod:`camera`, and
letterboxing, undistortion and mapping pixels back in :mod:`network_input`;
:func:`load_intrinsics` here is :func:`camera_io.read_camera` returning K alone.
"""
from __future__ import annotations

import math
import os
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import camera, camera_io
from .camera import IntrinsicsError

MIN_SIDE = 32          # smaller than this cannot hold a recognisable robot
MAX_SIDE = 4096        # larger images are downscaled right after reading
EXIF_ORIENTATION = 0x0112

__all__ = ["ImageInputError", "IntrinsicsError", "LoadedImage", "load_image", "load_intrinsics",
           "png_significant_bits"]


class ImageInputError(ValueError):
    """An image input that cannot be used; the message names the input and the problem."""


@dataclass
class LoadedImage:
    """A decoded image and how it relates to the original.

    Attributes:
        image: uint8 (H, W, 3) RGB, upright.
        source: name of the input for messages (a path, or a description of an array).
        original_size: (H0, W0) of the upright original before any downscaling (for a file
            with EXIF orientation 5-8 this is the stored size transposed).
        scale: (sx, sy): returned pixel grid = original grid scaled by these factors under
            the pixel-centre convention u' = (u + 0.5) * sx - 0.5 (1.0 when not resized).
        notes: the conversions that were applied (also sent as one warning).
        orientation: the EXIF orientation (1..8) that was applied (1: none).
        bit_depth: significant bits per sample of the source (8, or e.g. 12 for 12-bit data
            in a 16-bit file).
    """

    image: np.ndarray
    source: str
    original_size: tuple[int, int]
    scale: tuple[float, float] = (1.0, 1.0)
    notes: tuple[str, ...] = ()
    orientation: int = 1
    bit_depth: int = 8

    @property
    def size(self) -> tuple[int, int]:
        return int(self.image.shape[0]), int(self.image.shape[1])

    @property
    def stored_size(self) -> tuple[int, int]:
        """(H, W) of the pixels as stored in the file (before the EXIF orientation)."""
        return camera_io.oriented_size(self.orientation, *self.original_size)

    def adjust_intrinsics(self, K) -> np.ndarray:
        """K (3, 3) of the original image -> K of the returned pixels (float64)."""
        return camera.scale_intrinsics(np.asarray(K, dtype=np.float64), *self.scale)

    def to_original(self, uv: np.ndarray) -> np.ndarray:
        """Pixel coordinates (..., 2) in the returned image -> in the original image."""
        return camera.rescale_pixels(uv, 1.0 / self.scale[0], 1.0 / self.scale[1])


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


def png_significant_bits(path: str | os.PathLike) -> tuple[int, ...] | None:
    """The sBIT chunk of a PNG file (significant bits per channel), or None when the file
    is not a PNG or has no sBIT before its image data."""
    try:
        with open(path, "rb") as f:
            if f.read(8) != b"\x89PNG\r\n\x1a\n":
                return None
            while True:
                head = f.read(8)
                if len(head) < 8:
                    return None
                length, kind = struct.unpack(">I4s", head)
                if kind in (b"IDAT", b"IEND"):
                    return None
                if kind == b"sBIT":
                    data = f.read(length)
                    return tuple(int(b) for b in data) or None
                f.seek(length + 4, os.SEEK_CUR)  # data + CRC
    except OSError:
        return None


def _sixteen_to_eight(a: np.ndarray, sbit: tuple[int, ...] | None) -> tuple[np.ndarray, str, int]:
    """uint16 samples -> (uint8 samples, the note saying how, significant bits).

    Significant bits b: the PNG sBIT value when given, else the data's range
    (ceil(log2(max + 1)), at least 8). Data scaled to the full 16-bit range (as the PNG
    standard stores low-depth samples) is shifted right by 8; data in the low b bits (as
    machine-vision cameras store 10/12/14-bit samples) by b - 8.
    """
    hi = int(a.max()) if a.size else 0
    if sbit:
        bits, why = max(sbit), "PNG sBIT"
    else:
        bits, why = max(8, min(16, math.ceil(math.log2(hi + 1)))), f"the data's range, max {hi}"
    bits = max(8, min(16, bits))
    if hi >= (1 << bits):  # sBIT with samples scaled to the full 16-bit range
        shift = 8
        note = f"converted 16-bit to 8-bit (>> 8; {bits} significant bits per {why}, samples use the full range)"
    else:
        shift = bits - 8
        note = ("converted 16-bit to 8-bit (>> 8)" if bits == 16 else
                f"converted 16-bit data with {bits} significant bits ({why}) to 8-bit (>> {shift})")
    return (a >> shift).astype(np.uint8), note, bits


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
        a, note, _ = _sixteen_to_eight(a, None)
        notes.append(note)
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

def _exif_orientation(im) -> int:
    try:
        value = int(im.getexif().get(EXIF_ORIENTATION, 1))
    except Exception:  # noqa: BLE001 - a broken EXIF block must not stop the image
        return 1
    return value if 1 <= value <= 8 else 1


def _decode_16bit(path: Path, name: str, sbit) -> tuple[np.ndarray, str, int]:
    """16-bit multi-channel PNG/TIFF -> uint8 RGB(A) via OpenCV (Pillow keeps 8 bits of it)."""
    import cv2

    data = cv2.imdecode(np.fromfile(str(path), dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if data is None or data.dtype != np.uint16:
        raise ImageInputError(f"{name}: 16-bit image data cannot be decoded")
    if data.ndim == 3 and data.shape[2] == 3:
        data = data[..., ::-1]
    elif data.ndim == 3 and data.shape[2] == 4:
        data = data[..., [2, 1, 0, 3]]
    return _sixteen_to_eight(np.ascontiguousarray(data), sbit)


def _load_file(path: Path, min_side: int, max_side: int) -> LoadedImage:
    from PIL import Image, UnidentifiedImageError

    name = str(path)
    if not path.exists():
        raise ImageInputError(f"{name}: file not found")
    if not path.is_file():
        raise ImageInputError(f"{name}: not a file")
    limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None  # we downscale large images ourselves
    bits = 8
    try:
        try:
            im = Image.open(path)
        except UnidentifiedImageError:
            raise ImageInputError(f"{name}: not an image (unrecognised file format)") from None
        except OSError as e:
            raise ImageInputError(f"{name}: cannot be read ({e})") from None
        with im:
            w0, h0 = im.size  # stored
            _check_size(h0, w0, name, min_side)
            notes: list[str] = []
            raw_mode = im.tile[0][3] if im.tile and len(im.tile[0]) > 3 and isinstance(im.tile[0][3], str) else ""
            sixteen_multi = ";16" in raw_mode and "16" not in im.mode and im.mode not in ("I", "F")
            sbit = png_significant_bits(path) if im.format == "PNG" else None
            # after the tile check: reading a PNG's EXIF (eXIf may follow the data) loads it,
            # which is wasted on 48-bit data (decoded again below) but keeps the orientation
            orientation = _exif_orientation(im)
            if max(w0, h0) > max_side and im.format == "JPEG":
                # decode at 1/2, 1/4 or 1/8 scale inside libjpeg: the full image never exists
                # (draft picks the strongest reduction that still covers the requested size)
                im.draft(im.mode, (w0 * max_side // max(w0, h0), h0 * max_side // max(w0, h0)))
            if sixteen_multi:  # 48/64-bit RGB(A): Pillow would keep the high byte only
                a, note, bits = _decode_16bit(path, name, sbit)
                notes.append(note)
                a, (sx, sy) = _reduce_array(a, max_side)
            else:
                try:
                    im.load()
                except (OSError, SyntaxError, ValueError) as e:
                    raise ImageInputError(f"{name}: truncated or corrupt image data ({e})") from None
                dw = im.size[0] / w0  # JPEG draft scale (1 otherwise)
                factor = 1
                if max(im.size) > max_side:
                    factor = math.ceil(max(im.size) / max_side)
                    im = im.reduce(factor)  # box filter, u' = (u + 0.5) / factor - 0.5
                sx = sy = dw / factor
                mode = im.mode
                if mode in ("I;16", "I;16B", "I;16L", "I"):
                    g = np.clip(np.asarray(im).astype(np.int64), 0, 65535).astype(np.uint16)
                    a, note, bits = _sixteen_to_eight(g, sbit)
                    notes.append(note)
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
            if max(a.shape[:2]) < max(w0, h0):
                notes.append(f"downscaled from {w0}x{h0} to {a.shape[1]}x{a.shape[0]}")
    finally:
        Image.MAX_IMAGE_PIXELS = limit
    if a.ndim == 3 and a.shape[2] == 4:
        a = a[..., :3]
        notes.append("dropped the alpha channel (RGBA -> RGB)")
    if a.ndim == 2:
        notes.append("converted grayscale to RGB")
        a = np.repeat(a[..., None], 3, axis=2)
    a = camera_io.apply_orientation(a, orientation)
    if orientation >= 5:
        sx, sy = sy, sx
    _warn(name, notes)
    return LoadedImage(np.ascontiguousarray(a), name, camera_io.oriented_size(orientation, h0, w0), (sx, sy),
                       tuple(notes), orientation, bits)


def _reduce_array(a: np.ndarray, max_side: int) -> tuple[np.ndarray, tuple[float, float]]:
    """Box-reduce by an integer factor so that the longer side is at most max_side."""
    h, w = a.shape[:2]
    if max(h, w) <= max_side:
        return a, (1.0, 1.0)
    import cv2

    factor = math.ceil(max(h, w) / max_side)
    nw, nh = -(-w // factor), -(-h // factor)
    return cv2.resize(a, (nw, nh), interpolation=cv2.INTER_AREA), (nw / w, nh / h)


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


def load_intrinsics(src, name: str | None = None) -> np.ndarray:
    """K (3, 3) float64 from anything :func:`camera_io.read_camera` reads (JSON file, dict,
    ROS CameraInfo dump, 3x3 array / nested list / tensor), validated. Distortion and image
    size are dropped here: use :func:`camera_io.read_camera` to keep them.

    Raises:
        IntrinsicsError: one line naming the input and the problem.
    """
    return camera_io.read_camera(src, name).K
