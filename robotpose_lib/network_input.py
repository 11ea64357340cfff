"""A user's image -> the network input, and back (NumPy float64 / OpenCV, CPU; used by
``predictor``).

:func:`fit_to_input` says where an image goes in the network input while keeping its
aspect ratio (a network input of the image's own aspect for fully convolutional networks,
or padding (letterbox), or cropping into the network's size), with square network pixels.
:func:`network_view` builds the :class:`NetworkView` of one image: undistortion (OpenCV),
that resizing, the matching K of the network grid (:class:`camera.Camera`), and the way
back for pixels and masks. The camera description comes from :mod:`camera_io`; K under
resize and crop from :mod:`camera` (its pixel-centre convention).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .camera import Camera, crop_intrinsics, rescale_pixels, scale_intrinsics
from .camera_io import CameraDescription, camera_for_image, read_camera

__all__ = ["fit_to_input", "FITS", "NetworkView", "network_view"]


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
