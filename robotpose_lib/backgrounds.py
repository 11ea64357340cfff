"""Background images for the synthetic scenes (paper §III-A, "Background image").

The paper composites rendered robots on real photos drawn from a fixed pool, randomly
scaled and cropped, and keeps separate photo collections for training and testing. Here a
:class:`BackgroundPool` mixes three sources:

* procedural textures (smooth noise, stripes, checkers, random shapes), generated from the
  sample's random generator, so they cost no files;
* packaged photos, split into a ``train`` and a ``test`` set that share no photo, like the
  paper's city/industrial split: the training photos install with scikit-image
  (``skimage.data``; public domain or CC0, see each one's docstring), the test photos
  are indoor, workshop and street-side scenes shipped in ``robotpose_lib/photos/`` (their
  README gives each one's origin and licence) plus scikit-image's lab scene
  ``stereo_motorcycle``;
* any folder of images a user points to (for example a photo set downloaded on Colab).

All functions return uint8 (H, W, 3) RGB arrays.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch

from .config import torch_threads

# Photos that ship with the code (no download needed): a name ending in ".jpg" is a file in
# robotpose_lib/photos/ (see its README), any other name a scikit-image sample.
PACKAGED_PHOTOS = {
    "train": ("astronaut", "coffee", "rocket", "camera", "brick", "grass", "gravel", "moon",
              "coins", "clock", "hubble_deep_field", "immunohistochemistry"),
    "test": ("basketball1.jpg", "rubberwhale1.jpg", "aloeL.jpg", "left01.jpg",
             "box_in_scene.jpg", "stuff.jpg", "board.jpg", "building.jpg",
             "stereo_motorcycle"),
}
PHOTO_FOLDER = Path(__file__).with_name("photos")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}


def _as_rgb(image: np.ndarray) -> np.ndarray:
    """Any skimage/cv2 image (gray, bool, RGBA, uint16) -> uint8 (H, W, 3) RGB."""
    image = np.asarray(image)
    if image.dtype == bool:
        image = image.astype(np.uint8) * 255
    elif image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    elif image.dtype != np.uint8:
        image = np.clip(image * (255.0 if image.max() <= 1.0 else 1.0), 0, 255).astype(np.uint8)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    return np.ascontiguousarray(image[..., :3])


@functools.lru_cache(maxsize=4)
def packaged_photos(split: str = "train") -> tuple[np.ndarray, ...]:
    """The scikit-image photos of one split, loaded once per process."""
    if split not in PACKAGED_PHOTOS:
        raise ValueError(f"unknown background split {split!r}; choose 'train' or 'test'")
    import skimage.data

    photos = []
    for name in PACKAGED_PHOTOS[split]:
        if name.endswith(".jpg"):
            photos.append(_read_photo(str(PHOTO_FOLDER / name)))
            continue
        try:
            loaded = getattr(skimage.data, name)()
        except Exception:  # a photo missing from this scikit-image version: skip it
            continue
        for image in loaded if isinstance(loaded, tuple) else (loaded,):
            if is_photo(image):  # stereo_motorcycle also returns its disparity map
                photos.append(_as_rgb(image))
    return tuple(photos)


def is_photo(image) -> bool:
    """True for an image array usable as a photo: 2-D grey or (H, W, 3|4), uint8/uint16/
    bool, or float with every value finite and in [0, 1]. A disparity or depth map
    (float, unbounded, inf) is not."""
    image = np.asarray(image)
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)):
        return False
    if image.dtype in (np.uint8, np.uint16, bool):
        return True
    if not np.issubdtype(image.dtype, np.floating):
        return False
    return bool(np.isfinite(image).all() and image.min() >= 0.0 and image.max() <= 1.0)


def paste_collage(image: np.ndarray, pool: "BackgroundPool", rng: np.random.Generator,
                  count: int, inplace: bool = False) -> np.ndarray:
    """Cut-and-paste clutter: ``count`` rectangles or ellipses cut from other backgrounds
    of ``pool``, each 10-60 % of the image side, pasted at random places. ``image`` (H, W, 3)
    of any dtype; returns the same dtype (``image`` itself, changed, with ``inplace``)."""
    H, W = image.shape[:2]
    out = image if inplace else image.copy()
    for _ in range(count):
        h = int(rng.uniform(0.1, 0.6) * H) + 1
        w = int(rng.uniform(0.1, 0.6) * W) + 1
        y, x = int(rng.integers(0, H - h + 1)), int(rng.integers(0, W - w + 1))
        patch = pool.draw(h, w, rng)
        if rng.random() < 0.5:
            out[y:y + h, x:x + w] = patch
        else:
            mask = np.zeros((h, w), np.uint8)
            cv2.ellipse(mask, (w // 2, h // 2), (max(1, w // 2), max(1, h // 2)), 0, 0, 360, 1, -1)
            np.copyto(out[y:y + h, x:x + w], patch, where=mask.view(bool)[..., None])
    return out


def folder_photos(folder: str | Path) -> list[Path]:
    """Image files in a folder (recursively), sorted so that indices are reproducible."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"background folder {folder} does not exist")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ValueError(f"background folder {folder} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    return files


@functools.lru_cache(maxsize=256)
def _read_photo(path: str) -> np.ndarray:
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"background image {path} could not be read")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def random_crop(photo: np.ndarray, height: int, width: int, rng: np.random.Generator,
                scale_range: tuple[float, float] = (1.0, 2.0)) -> np.ndarray:
    """Randomly scale, crop and flip a photo to (height, width).

    ``scale`` ~ U(scale_range) zooms in relative to the smallest scale that covers the
    output, so 1 shows the largest possible part of the photo.
    """
    ph, pw = photo.shape[:2]
    cover = max(height / ph, width / pw)
    scale = cover * rng.uniform(*scale_range)
    ch, cw = min(ph, height / scale), min(pw, width / scale)
    y0 = rng.uniform(0, ph - ch)
    x0 = rng.uniform(0, pw - cw)
    crop = photo[int(y0): int(y0 + ch), int(x0): int(x0 + cw)]
    crop = cv2.resize(crop, (width, height), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.5:
        crop = cv2.flip(crop, 1)   # = crop[:, ::-1], contiguous
    return np.ascontiguousarray(crop)


@functools.lru_cache(maxsize=64)
def _cubic_weights(n_out: int, n_in: int) -> torch.Tensor:
    """(n_out, n_in) float32 matrix of ``cv2.resize``'s bicubic upsampling from n_in to n_out
    samples: pixel centres aligned, Keys' kernel with A = -0.75, indices past the border
    clamped to it (cached: do not modify)."""
    f = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
    s = np.floor(f)
    x = f - s
    A = -0.75
    w = np.stack([((A * (x + 1) - 5 * A) * (x + 1) + 8 * A) * (x + 1) - 4 * A,
                  ((A + 2) * x - (A + 3)) * x * x + 1,
                  ((A + 2) * (1 - x) - (A + 3)) * (1 - x) * (1 - x) + 1], 1)
    w = np.concatenate([w, 1 - w.sum(1, keepdims=True)], 1)
    M = np.zeros((n_out, n_in))
    for k in range(4):
        np.add.at(M, (np.arange(n_out), np.clip(s.astype(int) - 1 + k, 0, n_in - 1)), w[:, k])
    return torch.from_numpy(M.astype(np.float32))


def _smooth_noise(height: int, width: int, rng: np.random.Generator, octaves: int = 4) -> np.ndarray:
    """Multi-octave value noise in [0, 1], float32 (H, W, 3): octave o is a random
    (2^(o+1) + 1)^2 grid upsampled bicubically (as ``cv2.resize`` INTER_CUBIC does) with
    weight 2^-o, the sum divided by the weights' total.

    A bicubic upsampling is two matrix products, Wy G Wx^T, so every octave's columns are
    upsampled first (tiny) and all octaves' rows together in one matrix product: about four
    times faster than four full-size resizes, and equal to them within 1e-6."""
    amplitude, total, layers = 1.0, 0.0, []
    for octave in range(octaves):
        cells = 2 ** (octave + 1)
        grid = rng.random((cells + 1, cells + 1, 3), dtype=np.float32)
        layers.append((amplitude, grid))
        total += amplitude
        amplitude *= 0.5
    # columns: (k, W, 3) per octave, weighted; rows: (H, sum of k) for all octaves at once.
    # In torch on one thread: numpy's BLAS would start threads that spin on a busy machine.
    with torch_threads(1):
        cols = torch.cat([float(a / total) * torch.matmul(_cubic_weights(width, g.shape[1]), torch.from_numpy(g))
                          for a, g in layers])
        rows = torch.cat([_cubic_weights(height, g.shape[0]) for _, g in layers], 1)
        out = (rows @ cols.reshape(len(cols), -1)).numpy().reshape(height, width, 3)
    return np.clip(out, 0.0, 1.0, out=out)


@functools.lru_cache(maxsize=8)
def _pixel_grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column coordinates (H, W) float32 (read-only, cached)."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    yy.flags.writeable = xx.flags.writeable = False
    return yy, xx


def procedural_texture(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """One random procedural background: noise, stripes, checkers or shapes."""
    kind = rng.integers(4)
    if kind == 0:
        image = _smooth_noise(height, width, rng)
    else:
        c0, c1 = rng.random(3, dtype=np.float32), rng.random(3, dtype=np.float32)
        yy, xx = _pixel_grid(height, width)
        angle = rng.uniform(0, np.pi)
        period = rng.uniform(8, 80)
        coord = np.cos(angle) * xx + np.sin(angle) * yy
        if kind == 1:  # stripes
            t = (np.sin(2 * np.pi * coord / period) > 0).astype(np.float32)
        elif kind == 2:  # checkers
            other = -np.sin(angle) * xx + np.cos(angle) * yy
            t = ((np.floor(coord / period) + np.floor(other / period)) % 2).astype(np.float32)
        else:  # random rectangles and circles on smooth noise
            t = None
        if t is not None:   # two colours: each as (c0 + t (c1 - c0)) would give it, picked per pixel
            two = np.stack([(np.clip(c0 + np.float32(k) * (c1 - c0), 0, 1) * 255).astype(np.uint8) for k in (0, 1)])
            return np.take(two, (t > 0).view(np.uint8), axis=0)
        else:
            image = _smooth_noise(height, width, rng, octaves=2)
            canvas = (image * 255).astype(np.uint8)
            for _ in range(int(rng.integers(5, 25))):
                colour = tuple(int(c) for c in rng.integers(0, 256, 3))
                x, y = int(rng.integers(width)), int(rng.integers(height))
                size = int(rng.integers(5, max(6, min(height, width) // 3)))
                if rng.random() < 0.5:
                    cv2.circle(canvas, (x, y), size, colour, -1)
                else:
                    cv2.rectangle(canvas, (x - size, y - size // 2), (x + size, y + size // 2), colour, -1)
            return canvas
    return (np.clip(image, 0, 1) * 255).astype(np.uint8)


@dataclass
class BackgroundPool:
    """Where backgrounds come from, and in what proportion.

    Attributes:
        split: which packaged photo set ('train' or 'test') to draw from.
        photo_probability: chance of a photo (packaged or folder) instead of a procedural
            texture; 0 gives textures only.
        folders: extra folders of photos; when given, their photos join the pool.
        use_packaged: include scikit-image's photos.
        scale_range: random zoom of a photo (see :func:`random_crop`).
    """

    split: str = "train"
    photo_probability: float = 0.7
    folders: tuple[str, ...] = ()
    use_packaged: bool = True
    scale_range: tuple[float, float] = (1.0, 2.0)
    _files: list = field(default_factory=list, init=False, repr=False)

    def __post_init__(self):
        self._files = [str(p) for folder in self.folders for p in folder_photos(folder)]
        if self.split not in PACKAGED_PHOTOS:
            raise ValueError(f"unknown background split {self.split!r}; choose 'train' or 'test'")

    def _num_photos(self) -> int:
        packaged = len(packaged_photos(self.split)) if self.use_packaged else 0
        return packaged + len(self._files)

    def draw(self, height: int, width: int, rng: np.random.Generator) -> np.ndarray:
        """A background of (height, width) drawn with ``rng``: uint8 (H, W, 3)."""
        n_photos = self._num_photos()
        if n_photos and rng.random() < self.photo_probability:
            k = int(rng.integers(n_photos))
            packaged = packaged_photos(self.split) if self.use_packaged else ()
            photo = packaged[k] if k < len(packaged) else _read_photo(self._files[k - len(packaged)])
            return random_crop(photo, height, width, rng, self.scale_range)
        return procedural_texture(height, width, rng)

