"""Fast paths of the compositing: the noise stream equals numpy's own bit for bit; the
backgrounds, collage, JPEG round trip and colour transform give answers known by construction."""
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


def _kinds(kind, count):
    """Seeds whose procedural texture is of ``kind`` (the first draw picks it, of 4)."""
    seeds = [s for s in range(200) if np.random.default_rng(s).integers(4) == kind][:count]
    assert len(seeds) == count
    return seeds


class _Scripted:
    """Stands in for a Generator whose draws are chosen: ``integers``, ``random`` and
    ``uniform`` each return their next queued answer (``uniform`` checks its range)."""

    def __init__(self, integers, random, uniform):
        self.queues = {"integers": list(integers), "random": list(random), "uniform": list(uniform)}

    def integers(self, *args, **kwargs):
        return self.queues["integers"].pop(0)

    def random(self, *args, dtype=np.float64):
        return np.asarray(self.queues["random"].pop(0), dtype)

    def uniform(self, low, high):
        value = self.queues["uniform"].pop(0)
        assert low <= value <= high
        return value


C0, C1 = (0.0, 0.5, 1.0), (1.0, 0.25, 0.0)
C0_U8, C1_U8 = (0, 127, 255), (255, 63, 0)      # x 255, truncated: 127.5 -> 127, 63.75 -> 63


def test_stripes_at_angle_zero_are_vertical_bands_of_the_drawn_period():
    """Given angle 0 and period 13.3 (and drawing nothing else): every column is one
    colour; column x is the second colour on the first half of each period
    (0 < x mod 13.3 < 6.65), the first elsewhere (x = 0 included: sin 0 is not > 0); the
    two colours are the drawn ones x 255."""
    from robotpose_lib.backgrounds import procedural_texture

    period = 13.3
    rng = _Scripted([1], [C0, C1], [0.0, period])
    out = procedural_texture(40, 120, rng)
    assert not any(rng.queues.values())                         # drew kind, colours, angle, period
    assert out.shape == (40, 120, 3) and out.dtype == np.uint8
    assert (out == out[:1]).all()                               # constant down each column
    phase = np.arange(120) % period
    second = (phase > 0) & (phase < period / 2)
    assert second[1:7].all() and not second[7:14].any() and second[14:20].all()   # runs of 6-7 columns
    assert np.array_equal(out[0], np.where(second[:, None], C1_U8, C0_U8))


def test_checkers_at_angle_zero_flip_colour_at_each_period():
    """Given angle 0 and period 10 (and drawing nothing else): 10 x 10 cells, the cell
    (i, j) of rows 10i..10i+9 and columns 10j..10j+9 one colour, the first for i + j even
    and the second for i + j odd."""
    from robotpose_lib.backgrounds import procedural_texture

    rng = _Scripted([2], [C0, C1], [0.0, 10.0])
    out = procedural_texture(50, 70, rng)
    assert not any(rng.queues.values())                         # drew kind, colours, angle, period
    assert out.shape == (50, 70, 3) and out.dtype == np.uint8
    for i in range(5):
        for j in range(7):
            cell = out[10 * i:10 * i + 10, 10 * j:10 * j + 10].reshape(-1, 3)
            assert (cell == ((C0_U8, C1_U8)[(i + j) % 2])).all(), (i, j)


@pytest.mark.parametrize("kind", [1, 2])
def test_two_colour_textures_use_exactly_two_colours(kind):
    """Stripes and checkers with drawn colours, angle and period (at most 80 pixels, so
    120 x 160 pixels show both colours): exactly two colours, each on a real share of the
    image, and the same seed gives the same bytes."""
    from robotpose_lib.backgrounds import procedural_texture

    for seed in _kinds(kind, 5):
        out = procedural_texture(120, 160, np.random.default_rng(seed))
        assert out.shape == (120, 160, 3) and out.dtype == np.uint8
        colours, counts = np.unique(out.reshape(-1, 3), axis=0, return_counts=True)
        assert len(colours) == 2 and counts.min() > 0.05 * out.shape[0] * out.shape[1], seed
        assert out.tobytes() == procedural_texture(120, 160, np.random.default_rng(seed)).tobytes()


def test_noise_textures_are_smooth_span_a_range_and_follow_their_seed():
    """Smooth noise: neighbouring pixels differ by a few grey levels (white noise would
    differ by ~85 on average), each channel spans at least 80 levels, same seed -> same
    bytes, different seeds -> different images."""
    from robotpose_lib.backgrounds import procedural_texture

    images = []
    for seed in _kinds(0, 5):
        out = procedural_texture(120, 160, np.random.default_rng(seed))
        assert out.shape == (120, 160, 3) and out.dtype == np.uint8
        steps = np.concatenate([np.abs(np.diff(out.astype(int), axis=a)).ravel() for a in (0, 1)])
        assert steps.max() <= 16 and steps.mean() < 3, seed
        assert (np.ptp(out.reshape(-1, 3), axis=0) >= 80).all(), seed
        assert out.tobytes() == procedural_texture(120, 160, np.random.default_rng(seed)).tobytes()
        images.append(out.tobytes())
    assert len(set(images)) == len(images)


def test_every_texture_kind_is_sized_and_reproducible():
    from robotpose_lib.backgrounds import procedural_texture

    for kind in range(4):
        for seed in _kinds(kind, 2):
            a = procedural_texture(61, 83, np.random.default_rng(seed))
            assert a.shape == (61, 83, 3) and a.dtype == np.uint8 and a.flags.c_contiguous
            assert a.tobytes() == procedural_texture(61, 83, np.random.default_rng(seed)).tobytes()


def test_smooth_noise_as_matrix_products_equals_the_resized_octaves():
    """Octave o is a random (2^(o+1) + 1)^2 grid (drawn in that order) resized by
    cv2.resize INTER_CUBIC with weight 2^-o, over the weights' total, clipped to [0, 1]:
    equal within 2e-6 (float rounding) for sizes larger and smaller than the grids, and
    the generator left where those grids leave it."""
    import cv2
    from robotpose_lib.backgrounds import _smooth_noise

    for seed in range(4):
        for height, width in ((480, 640), (61, 83), (13, 200), (4, 5)):
            for octaves in (1, 2, 4):
                a, b = np.random.default_rng(seed), np.random.default_rng(seed)
                got = _smooth_noise(height, width, a, octaves)
                grids = [b.random((n, n, 3), dtype=np.float32) for n in (3, 5, 9, 17)[:octaves]]
                weights = (1.0, 0.5, 0.25, 0.125)[:octaves]
                want = sum(w * cv2.resize(g, (width, height), interpolation=cv2.INTER_CUBIC)
                           for w, g in zip(weights, grids)) / sum(weights)
                assert got.dtype == np.float32 and got.shape == (height, width, 3)
                assert np.abs(got - np.clip(want, 0, 1)).max() < 2e-6
                assert 0.0 <= got.min() and got.max() <= 1.0
                assert a.random() == b.random()


def _one_colour_pool(tmp_path, colour=(0, 255, 0)):
    """Photos only, from a folder holding one single-colour photo: every patch is ``colour``."""
    import cv2
    from robotpose_lib.backgrounds import BackgroundPool

    photo = np.empty((40, 60, 3), np.uint8)
    photo[:] = colour
    cv2.imwrite(str(tmp_path / "flat.png"), photo[..., ::-1])
    return BackgroundPool(folders=(str(tmp_path),), use_packaged=False, photo_probability=1.0)


def test_collage_pastes_only_patch_pixels_and_keeps_dtype(tmp_path):
    """With one single-colour photo in the pool, each pixel of the collage is either the
    image's own or that colour, some pixels change, the dtype is kept, the input is left
    as it was (a copy) unless ``inplace``, and the same seed gives the same collage."""
    from robotpose_lib.backgrounds import paste_collage

    pool = _one_colour_pool(tmp_path)
    for seed in range(6):
        image = (np.random.default_rng(seed).random((50, 70, 3)) * 255).astype(np.float32)
        before = image.copy()
        got = paste_collage(image, pool, np.random.default_rng(seed), 4)
        assert got.dtype == np.float32 and got.shape == image.shape and got is not image
        assert np.array_equal(image, before)
        changed = (got != image).any(axis=2)
        assert changed.any() and (got[changed] == (0, 255, 0)).all()
        assert np.array_equal(paste_collage(image, pool, np.random.default_rng(seed), 4), got)
        same = paste_collage(image, pool, np.random.default_rng(seed), 4, inplace=True)
        assert same is image and np.array_equal(image, got)
    image = np.random.default_rng(9).integers(0, 256, (30, 40, 3), dtype=np.uint8)
    assert paste_collage(image, pool, np.random.default_rng(0), 3).dtype == np.uint8
    assert np.array_equal(paste_collage(image, pool, np.random.default_rng(0), 0), image)


def test_jpeg_roundtrip_keeps_size_channel_order_and_flat_colours():
    """uint8 (H, W, 3) back; flat red, green, blue and grey come back within a few levels
    (so RGB is not swapped with BGR); a smooth image loses less at quality 95 than at 20."""
    from robotpose_lib.photometric import jpeg_roundtrip

    for colour in ((255, 0, 0), (0, 255, 0), (0, 0, 255), (128, 128, 128)):
        image = np.empty((32, 48, 3), np.uint8)
        image[:] = colour
        out = jpeg_roundtrip(image, 40)
        assert out.shape == image.shape and out.dtype == np.uint8
        assert np.abs(out.astype(int) - colour).max() <= 4, colour
    yy, xx = np.mgrid[0:64, 0:96]
    image = np.stack([xx * 2, yy * 3, (xx + yy)], axis=2).astype(np.uint8)
    error = {q: np.abs(jpeg_roundtrip(image, q).astype(int) - image).mean() for q in (20, 95)}
    assert error[95] < error[20] and error[95] < 2


def _image(seed, low=-20.0, high=280.0):
    return (np.random.default_rng(seed).random((30, 40, 3)) * (high - low) + low).astype(np.float32)


def test_color_transform_with_nothing_switched_on_is_the_identity_and_draws_nothing():
    """No jitter, no white balance, gamma fixed at 1: the values come back unchanged (those
    outside 0..255 too: nothing clips them) as float32, and the generator is not used."""
    from robotpose_lib.photometric import color_transform

    image = _image(0)
    rng = np.random.default_rng(1)
    state = rng.bit_generator.state
    out = color_transform(image, rng, 0.0, 0.0, (1.0, 1.0))
    assert out.dtype == np.float32 and np.array_equal(out, image)
    assert rng.bit_generator.state == state


@pytest.mark.parametrize("gamma, grey, want", [(2.0, 127.5, 63.75), (0.5, 63.75, 127.5),
                                               (2.0, 0.0, 0.0), (2.0, 255.0, 255.0),
                                               (3.0, 51.0, 2.04), (2.0, 300.0, 255.0),
                                               (2.0, -10.0, 0.0)])
def test_color_transform_gamma_maps_a_known_grey_to_its_known_value(gamma, grey, want):
    """Gamma g alone: 255 (x / 255)^g after clipping to 0..255, e.g. 127.5 -> 63.75 at g = 2
    and 51 -> 255 * 0.2^3 = 2.04 at g = 3."""
    from robotpose_lib.photometric import color_transform

    image = np.full((4, 5, 3), grey, np.float32)
    out = color_transform(image, np.random.default_rng(0), 0.0, 0.0, (gamma, gamma))
    assert out.dtype == np.float32 and out.shape == image.shape
    assert np.abs(out - want).max() < 1e-3


def test_color_transform_white_balance_alone_scales_each_channel_by_one_gain():
    """White balance b alone: out / in is one constant per channel, within [1 - b, 1 + b]."""
    from robotpose_lib.photometric import color_transform

    image = _image(2, 10.0, 250.0)
    out = color_transform(image, np.random.default_rng(3), 0.0, 0.2, (1.0, 1.0))
    gains = (out / image).reshape(-1, 3)
    assert np.abs(gains - gains[0]).max() < 1e-5
    assert ((gains[0] >= 0.8 - 1e-6) & (gains[0] <= 1.2 + 1e-6)).all()


def test_color_transform_jitter_keeps_a_flat_grey_flat_and_grey():
    """Jitter j alone on a flat grey v: saturation leaves a grey grey and contrast about the
    mean leaves a flat image flat, so the result is brightness * v, the same everywhere and
    in every channel, with brightness within [1 - j, 1 + j]."""
    from robotpose_lib.photometric import color_transform

    for seed in range(5):
        image = np.full((6, 7, 3), 100.0, np.float32)
        out = color_transform(image, np.random.default_rng(seed), 0.3, 0.0, (1.0, 1.0))
        assert np.abs(out - out[0, 0, 0]).max() < 1e-3
        assert 70.0 - 1e-3 <= out[0, 0, 0] <= 130.0 + 1e-3


@pytest.mark.parametrize("args", [(0.3, 0.15, (0.7, 1.4)), (0.0, 0.0, (0.7, 1.4)), (0.3, 0.0, (1.0, 1.0)),
                                  (0.0, 0.0, (1.0, 1.0))])
def test_color_transform_leaves_its_input_and_follows_the_generator(args):
    """The caller's image is never changed; the same generator state gives the same bytes,
    other seeds other images (when anything random is switched on)."""
    from robotpose_lib.photometric import color_transform

    image = _image(4)
    before = image.copy()
    outs = [color_transform(image, np.random.default_rng(seed), *args) for seed in (5, 5, 6)]
    assert np.array_equal(image, before)
    assert all(o.dtype == np.float32 and o.shape == image.shape for o in outs)
    assert outs[0].tobytes() == outs[1].tobytes()
    assert (outs[0].tobytes() != outs[2].tobytes()) == (args != (0.0, 0.0, (1.0, 1.0)))
