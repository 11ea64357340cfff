"""Camera-like degradations of a composited synthetic image (our addition to paper §III-A).

Real photographs differ from clean renders in ways no geometry shows: white balance and
exposure, contrast and saturation, defocus blur, sensor noise and JPEG compression. DREAM
(Lee et al. 2020) and most sim-to-real work randomise them; the paper only adds uniform
noise. :func:`degrade` applies the ones that :class:`~robotpose_lib.synth.SynthParams`
switches on, each drawn from the sample's own random stream so that sample i stays the
same bytes on every call.

All functions take and return float32 (H, W, 3) images on the 0..255 scale (before the
final rounding to uint8), except :func:`jpeg_roundtrip` which works on uint8.
"""
from __future__ import annotations

import sys

import cv2
import numpy as np


def uniform_float32(rng: np.random.Generator, shape) -> np.ndarray:
    """``rng.random(shape, dtype=np.float32)``, bit for bit and leaving ``rng`` in the same
    state, about twice as fast for a PCG64 generator: numpy draws each float32 from one
    32-bit half of a 64-bit output (low half first, the high half kept for the next
    draw), as (u32 >> 8) / 2^24; here the 64-bit outputs come in one block
    (``random_raw``) and the halves are converted with array operations. Other bit
    generators (and big-endian machines) take numpy's own path."""
    bitgen = rng.bit_generator
    if not isinstance(bitgen, np.random.PCG64) or sys.byteorder != "little":
        return rng.random(shape, dtype=np.float32)
    n = int(np.prod(shape))
    state = bitgen.state
    first = 1 if state["has_uint32"] and n else 0   # a high half kept from an earlier draw comes first
    rest = n - first
    halves = bitgen.random_raw((rest + 1) // 2).view(np.uint32)   # low, high, low, high, ...
    if first or rest % 2:
        words = np.empty(n, np.uint32)
        words[:first] = state["uinteger"]
        words[first:] = halves[:rest]
    else:
        words = halves
    state = bitgen.state                     # as numpy leaves it: the last high half drawn is kept,
    if rest % 2:                             # and still to be used after an odd count
        state["has_uint32"], state["uinteger"] = 1, int(halves[rest])
    elif rest:
        state["has_uint32"], state["uinteger"] = 0, int(halves[rest - 1])
    elif first:
        state["has_uint32"] = 0
    bitgen.state = state
    words >>= 8
    out = words.astype(np.float32)
    out *= np.float32(1.0 / 16777216.0)
    return out.reshape(shape)


def color_transform(image: np.ndarray, rng: np.random.Generator, jitter: float,
                    white_balance: float, gamma_range: tuple[float, float]) -> np.ndarray:
    """Brightness, contrast, saturation (factors U(1 - jitter, 1 + jitter)), per-channel
    gains U(1 - white_balance, 1 + white_balance) and an exposure curve 255 (x/255)^gamma
    with gamma ~ U(gamma_range).

    Gains, saturation (about each pixel's grey level), contrast (about the image mean) and
    brightness together are one affine map of each pixel's RGB, applied as a single 3x3
    transform (the image mean after the gains is the mean of the channel means)."""
    gains = np.ones(3)
    if white_balance > 0:
        gains = rng.uniform(1 - white_balance, 1 + white_balance, 3)
    A, offset = np.diag(gains), 0.0
    if jitter > 0:
        brightness, contrast, saturation = rng.uniform(1 - jitter, 1 + jitter, 3)
        mean = float(np.dot(gains, cv2.mean(image)[:3])) / 3.0    # mean of image * gains
        mix = saturation * np.eye(3) + (1 - saturation) / 3.0 * np.ones((3, 3))
        A = brightness * contrast * mix @ A
        offset = brightness * (1 - contrast) * mean
    out = image
    if white_balance > 0 or jitter > 0:
        out = cv2.transform(image, np.hstack([A, np.full((3, 1), offset)]).astype(np.float32))
    low, high = gamma_range
    if (low, high) != (1.0, 1.0):
        gamma = rng.uniform(low, high)
        # in place on our own array (a new one when ``out`` is still the caller's image)
        out = np.clip(out, 0, 255, out=None if out is image else out)
        out *= np.float32(1 / 255.0)
        cv2.pow(out, gamma, dst=out)
        out *= np.float32(255.0)
    return out.astype(np.float32, copy=False)


def blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian defocus blur of ``sigma`` pixels."""
    return cv2.GaussianBlur(image, (0, 0), sigmaX=float(sigma), sigmaY=float(sigma))


def jpeg_roundtrip(image: np.ndarray, quality: int) -> np.ndarray:
    """uint8 (H, W, 3) RGB encoded as JPEG at ``quality`` (1..100) and decoded again."""
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:  # pragma: no cover - OpenCV always encodes a valid uint8 image
        raise RuntimeError("JPEG encoding failed")
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def degrade(image: np.ndarray, rng: np.random.Generator, params) -> np.ndarray:
    """Apply the degradations switched on in ``params`` (a SynthParams) in camera order:
    colour/exposure, blur, sensor noise (the paper's uniform noise, amplitude drawn by the
    scene), then JPEG. ``image`` float32 (H, W, 3) 0..255 -> uint8 (H, W, 3).

    Nothing is drawn from ``rng`` for a degradation that is off, so turning the new
    options off reproduces the paper's images byte for byte.
    """
    if params.color_jitter > 0 or params.white_balance > 0 or tuple(params.gamma_range) != (1.0, 1.0):
        image = color_transform(image, rng, params.color_jitter, params.white_balance,
                                tuple(params.gamma_range))
    if params.blur_probability > 0 and rng.random() < params.blur_probability:
        image = blur(image, rng.uniform(*params.blur_sigma))
    return image


def finish(image: np.ndarray, rng: np.random.Generator, params) -> np.ndarray:
    """Round to uint8, then the JPEG round trip when ``params`` draws one."""
    out = np.rint(image)
    np.clip(out, 0, 255, out=out)
    out = out.astype(np.uint8)
    if params.jpeg_probability > 0 and rng.random() < params.jpeg_probability:
        out = jpeg_roundtrip(out, int(rng.integers(params.jpeg_quality[0], params.jpeg_quality[1] + 1)))
    return out
