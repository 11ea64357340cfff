"""Fast paths of the compositing that must equal numpy's own results bit for bit."""
import numpy as np
import pytest

from robotpose_lib.photometric import uniform_float32


@pytest.mark.parametrize("drawn_before", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("shape", [(0,), (1,), (2,), (3,), (7, 5), (4, 5, 3), (9, 9, 3)])
def test_uniform_float32_is_numpys_float32_stream(drawn_before, shape):
    """The same values as rng.random(shape, dtype=float32), and the generator left in the
    same state (the kept 32-bit half included: later float32 and small-integer draws use it)."""
    make = lambda: np.random.Generator(np.random.PCG64(np.random.SeedSequence([3, drawn_before])))  # noqa: E731
    ours, theirs = make(), make()
    for g in (ours, theirs):
        g.random(drawn_before, dtype=np.float32)
    want = theirs.random(shape, dtype=np.float32)
    got = uniform_float32(ours, shape)
    assert got.dtype == np.float32 and got.shape == want.shape and np.array_equal(got, want)
    assert ours.bit_generator.state == theirs.bit_generator.state
    assert np.array_equal(ours.integers(0, 100, 5), theirs.integers(0, 100, 5))
    assert np.array_equal(ours.random(3, dtype=np.float32), theirs.random(3, dtype=np.float32))


def test_uniform_float32_of_another_bit_generator_is_numpys():
    a, b = np.random.Generator(np.random.Philox(1)), np.random.Generator(np.random.Philox(1))
    assert np.array_equal(uniform_float32(a, (5, 3)), b.random((5, 3), dtype=np.float32))


def _smooth_noise(height, width, rng, octaves=4):
    """backgrounds._smooth_noise as it was (a new array per octave)."""
    import cv2

    out = np.zeros((height, width, 3), np.float32)
    amplitude, total = 1.0, 0.0
    for octave in range(octaves):
        cells = 2 ** (octave + 1)
        grid = rng.random((cells + 1, cells + 1, 3), dtype=np.float32)
        out += amplitude * cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC)
        total += amplitude
        amplitude *= 0.5
    return np.clip(out / total, 0.0, 1.0)


def _old_procedural_texture(height, width, rng):
    """backgrounds.procedural_texture as it was (the two-colour kinds mixed per pixel in float)."""
    import cv2

    kind = rng.integers(4)
    if kind == 0:
        image = _smooth_noise(height, width, rng)
    else:
        c0, c1 = rng.random(3, dtype=np.float32), rng.random(3, dtype=np.float32)
        yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
        angle = rng.uniform(0, np.pi)
        period = rng.uniform(8, 80)
        coord = np.cos(angle) * xx + np.sin(angle) * yy
        if kind == 1:
            t = (np.sin(2 * np.pi * coord / period) > 0).astype(np.float32)
        elif kind == 2:
            other = -np.sin(angle) * xx + np.cos(angle) * yy
            t = ((np.floor(coord / period) + np.floor(other / period)) % 2).astype(np.float32)
        else:
            t = None
        if t is not None:
            image = c0 + t[..., None] * (c1 - c0)
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


def test_smooth_noise_as_matrix_products_equals_the_resized_octaves():
    """Bicubic upsampling written as matrix products equals cv2.resize's INTER_CUBIC sum of
    octaves within 2e-6 (float rounding), for sizes larger and smaller than the grids, and
    draws the same random numbers."""
    from robotpose_lib.backgrounds import _smooth_noise as fast

    for seed in range(8):
        for size in ((480, 640), (61, 83), (13, 200), (4, 5)):
            for octaves in (2, 4):
                a, b = np.random.default_rng(seed), np.random.default_rng(seed)
                got, want = fast(*size, a, octaves), _smooth_noise(*size, b, octaves)
                assert got.dtype == np.float32 and got.shape == want.shape
                assert np.abs(got - want).max() < 2e-6
                assert a.random() == b.random()


def test_backgrounds_collage_and_jpeg_equal_their_former_code():
    """Procedural textures (two colours picked per pixel; smooth noise within one grey
    level on a few pixels), photo crops (cv2.flip), collage patches (np.copyto) and the
    JPEG round trip (cv2.cvtColor) give the former bytes."""
    import cv2
    from robotpose_lib.backgrounds import BackgroundPool, paste_collage, procedural_texture
    from robotpose_lib.photometric import jpeg_roundtrip

    for seed in range(40):
        a, b = np.random.default_rng(seed), np.random.default_rng(seed)
        kind = np.random.default_rng(seed).integers(4)
        got, want = procedural_texture(61, 83, a), _old_procedural_texture(61, 83, b)
        if kind in (1, 2):     # stripes, checkers: exact
            assert np.array_equal(got, want)
        else:                  # smooth noise under it: float rounding may move a pixel by one level
            diff = np.abs(got.astype(int) - want)
            assert diff.max() <= 1 and (diff > 0).mean() < 1e-3
        assert a.random() == b.random()
    pool = BackgroundPool(photo_probability=1.0)   # photos only: the procedural ones are checked above
    for seed in range(6):
        image = np.random.default_rng(seed).random((50, 70, 3)).astype(np.float32) * 255
        a, b = np.random.default_rng(seed), np.random.default_rng(seed)
        got = paste_collage(image, pool, a, 4)
        want = image.copy()                         # the former loop, on a copy
        for _ in range(4):
            h, w = int(b.uniform(0.1, 0.6) * 50) + 1, int(b.uniform(0.1, 0.6) * 70) + 1
            y, x = int(b.integers(0, 50 - h + 1)), int(b.integers(0, 70 - w + 1))
            patch = pool.draw(h, w, b)
            if b.random() < 0.5:
                want[y:y + h, x:x + w] = patch
            else:
                mask = np.zeros((h, w), np.uint8)
                cv2.ellipse(mask, (w // 2, h // 2), (max(1, w // 2), max(1, h // 2)), 0, 0, 360, 1, -1)
                region = want[y:y + h, x:x + w]
                region[mask > 0] = patch[mask > 0]
        assert np.array_equal(got, want)
        rgb = got.astype(np.uint8)
        ok, buf = cv2.imencode(".jpg", rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 40])
        want = np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1])
        assert np.array_equal(jpeg_roundtrip(rgb, 40), want)


def _old_color_transform(image, rng, jitter, white_balance, gamma_range):
    """photometric.color_transform as it was (a new array per step)."""
    import cv2

    gains = np.ones(3)
    if white_balance > 0:
        gains = rng.uniform(1 - white_balance, 1 + white_balance, 3)
    A, offset = np.diag(gains), 0.0
    if jitter > 0:
        brightness, contrast, saturation = rng.uniform(1 - jitter, 1 + jitter, 3)
        mean = float(np.dot(gains, cv2.mean(image)[:3])) / 3.0
        mix = saturation * np.eye(3) + (1 - saturation) / 3.0 * np.ones((3, 3))
        A = brightness * contrast * mix @ A
        offset = brightness * (1 - contrast) * mean
    out = image
    if white_balance > 0 or jitter > 0:
        out = cv2.transform(image, np.hstack([A, np.full((3, 1), offset)]).astype(np.float32))
    low, high = gamma_range
    if (low, high) != (1.0, 1.0):
        gamma = rng.uniform(low, high)
        out = cv2.pow(np.clip(out, 0, 255) * np.float32(1 / 255.0), gamma) * np.float32(255.0)
    return out.astype(np.float32, copy=False)


@pytest.mark.parametrize("args", [(0.3, 0.15, (0.7, 1.4)), (0.0, 0.0, (0.7, 1.4)), (0.3, 0.0, (1.0, 1.0))])
def test_color_transform_in_place_equals_the_former_steps_and_leaves_its_input(args):
    from robotpose_lib.photometric import color_transform

    for seed in range(6):
        image = (np.random.default_rng(seed).random((30, 40, 3)) * 300 - 20).astype(np.float32)
        before = image.copy()
        got = color_transform(image, np.random.default_rng(seed), *args)
        assert np.array_equal(got, _old_color_transform(before, np.random.default_rng(seed), *args))
        assert np.array_equal(image, before)
