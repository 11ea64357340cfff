"""load_image / load_intrinsics: every bad input gives its one-line error, conversions warn once."""
import json
import warnings

import cv2
import numpy as np
import pytest
import torch

from robotpose_lib.camera import scale_intrinsics
from robotpose_lib.image_io import (ImageInputError, IntrinsicsError, LoadedImage, load_image,
                                    load_intrinsics)


def rgb(h=48, w=64, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def write(path, array_rgb_or_gray):
    a = array_rgb_or_gray
    if a.ndim == 3 and a.shape[2] == 3:
        a = a[..., ::-1]
    elif a.ndim == 3 and a.shape[2] == 4:
        a = a[..., [2, 1, 0, 3]]
    assert cv2.imwrite(str(path), a)
    return path


def load_quietly(src, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning expected
        return load_image(src, **kw)


def load_warning_once(src, expected, **kw):
    with pytest.warns(UserWarning) as record:
        out = load_image(src, **kw)
    assert len(record) == 1, [str(r.message) for r in record]
    msg = str(record[0].message)
    assert expected in msg and "\n" not in msg
    return out


# ----------------------------------------------------------------------------- files

def test_rgb_png_round_trip(tmp_path):
    img = rgb()
    out = load_quietly(write(tmp_path / "scene.png", img))
    assert isinstance(out, LoadedImage) and out.image.dtype == np.uint8
    assert np.array_equal(out.image, img)
    assert out.original_size == (48, 64) and out.scale == (1.0, 1.0)


@pytest.mark.parametrize("kind", ["missing", "directory", "text", "truncated", "tiny", "small"])
def test_bad_files_give_one_line_errors_naming_the_file(tmp_path, kind):
    path = tmp_path / f"bad_{kind}.png"
    expected = {"missing": "not found", "directory": "not a file", "text": "not an image",
                "truncated": "truncated", "tiny": "too small", "small": "too small"}[kind]
    if kind == "directory":
        path.mkdir()
    elif kind == "text":
        path.write_text("this is not a picture\n")
    elif kind == "truncated":
        data = write(tmp_path / "full.png", rgb(64, 64)).read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "tiny":
        write(path, rgb(1, 1))
    elif kind == "small":
        write(path, rgb(31, 200))
    with pytest.raises(ImageInputError) as err:
        load_image(path)
    msg = str(err.value)
    assert path.name in msg and expected in msg and "\n" not in msg
    assert isinstance(err.value, ValueError)


def test_truncated_jpeg_is_an_error(tmp_path):
    data = cv2.imencode(".jpg", rgb(64, 64))[1].tobytes()
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageInputError, match="cut.jpg.*truncated"):
        load_image(path)


def test_min_side_is_a_parameter(tmp_path):
    path = write(tmp_path / "small.png", rgb(20, 20))
    assert load_quietly(path, min_side=16).image.shape == (20, 20, 3)


@pytest.mark.parametrize("kind, expected", [("gray", "grayscale"), ("rgba", "alpha"), ("gray16", "16-bit"),
                                            ("rgb16", "16-bit")])
def test_convertible_files_warn_once(tmp_path, kind, expected):
    img = rgb()
    if kind == "gray":
        data, want = img[..., 0], np.repeat(img[..., :1], 3, 2)
    elif kind == "rgba":
        data, want = np.concatenate([img, img[..., :1]], 2), img
    elif kind == "gray16":
        data = img[..., 0].astype(np.uint16) * 256 + 100  # the low byte is dropped
        want = np.repeat(img[..., :1], 3, 2)
    else:
        data, want = img.astype(np.uint16) * 256 + 7, img
    out = load_warning_once(write(tmp_path / f"{kind}.png", data), expected)
    assert out.image.shape == (48, 64, 3) and np.array_equal(out.image, want)


def test_large_files_are_downscaled_and_k_follows(tmp_path):
    img = cv2.resize(rgb(30, 40), (400, 300), interpolation=cv2.INTER_NEAREST)
    for ext in ("png", "jpg"):
        path = write(tmp_path / f"big.{ext}", img)
        out = load_warning_once(path, "downscaled", max_side=100)
        h, w = out.size
        assert max(h, w) <= 100 and out.original_size == (300, 400)
        sx, sy = out.scale
        assert abs(w - 400 * sx) <= 1 and abs(h - 300 * sy) <= 1
        K = np.array([[500.0, 0, 199.5], [0, 500.0, 149.5], [0, 0, 1]])
        ref = scale_intrinsics(torch.tensor(K), sx, sy).numpy()
        assert np.allclose(out.adjust_intrinsics(K), ref)
        # the image centre stays the image centre
        assert np.allclose(out.to_original([(w - 1) / 2, (h - 1) / 2]), [199.5, 149.5])


# ----------------------------------------------------------------------------- arrays

def test_uint8_rgb_array_passes_without_warning():
    img = rgb()
    out = load_quietly(img)
    assert np.array_equal(out.image, img)


@pytest.mark.parametrize("kind, expected", [("gray", "grayscale"), ("gray1", "grayscale"), ("rgba", "alpha"),
                                            ("uint16", "16-bit"), ("float", "float")])
def test_convertible_arrays_warn_once(kind, expected):
    img = rgb()
    data = {"gray": img[..., 0], "gray1": img[..., :1], "rgba": np.concatenate([img, img[..., :1]], 2),
            "uint16": img.astype(np.uint16) * 257, "float": img / 255.0}[kind]
    out = load_warning_once(data, expected)
    assert out.image.dtype == np.uint8 and out.image.shape == (48, 64, 3)
    want = np.repeat(img[..., :1], 3, 2) if kind.startswith("gray") else img
    assert np.array_equal(out.image, want)


def test_large_array_is_downscaled():
    out = load_warning_once(np.zeros((300, 500, 3), np.uint8), "downscaled", max_side=250)
    assert out.size == (150, 250) and out.scale == (0.5, 0.5)


@pytest.mark.parametrize("data, expected", [
    (np.zeros((1, 1, 3), np.uint8), "too small"),
    (np.zeros((64, 64, 2), np.uint8), "shape"),
    (np.zeros((2, 64, 64, 3), np.uint8), "shape"),
    (np.zeros(64, np.uint8), "shape"),
    (np.full((64, 64, 3), 2.0), "[0, 1]"),
    (np.full((64, 64, 3), np.nan), "NaN"),
    (np.zeros((64, 64, 3), bool), "dtype"),
    (np.full((64, 64), 300, np.int32), "[0, 255]"),
    ("not a path but a string that does not exist.png", "not found"),
    (12345, "expected a file path"),
])
def test_bad_arrays_give_one_line_errors(data, expected):
    with pytest.raises(ImageInputError) as err:
        load_image(data)
    assert expected in str(err.value) and "\n" not in str(err.value)


def test_torch_tensors_chw_and_hwc():
    img = rgb()
    chw = torch.from_numpy(img).permute(2, 0, 1).float() / 255
    assert np.array_equal(load_quietly(chw).image, img)
    assert np.array_equal(load_quietly(torch.from_numpy(img)).image, img)
    with pytest.raises(ImageInputError, match="batch"):
        load_image(chw[None])


# ----------------------------------------------------------------------------- intrinsics

def test_load_intrinsics_from_json_dict_and_array(tmp_path):
    K = [[600.0, 0, 320.0], [0, 610.0, 240.0], [0, 0, 1]]
    (tmp_path / "k.json").write_text(json.dumps({"K": K}))
    (tmp_path / "f.json").write_text(json.dumps({"fx": 600, "fy": 610, "cx": 320, "cy": 240}))
    for src in (tmp_path / "k.json", str(tmp_path / "f.json"), {"K": K}, np.array(K), torch.tensor(K)):
        out = load_intrinsics(src)
        assert out.dtype == np.float64 and np.array_equal(out, np.array(K))


@pytest.mark.parametrize("content, expected", [
    ({"K": [[1, 0, 0], [0, 1, 0]]}, "shape"),
    ({"K": [[600, 0, 320], [0, 600, 240], [0, 0, 2]]}, "last row"),
    ({"K": [[-600, 0, 320], [0, 600, 240], [0, 0, 1]]}, "positive"),
    ({"fx": 0, "fy": 600, "cx": 320, "cy": 240}, "positive"),
    ({"fx": 600, "fy": 600, "cx": 320}, "missing cy"),
    ({"fx": "a", "fy": 600, "cx": 320, "cy": 240}, "numbers"),
    ({"K": [[600, 0, None], [0, 600, 240], [0, 0, 1]]}, "NaN"),
    ("{not json", "JSON"),
    (None, "not found"),
])
def test_bad_intrinsics_files_give_one_line_errors(tmp_path, content, expected):
    path = tmp_path / "camera_K.json"
    if content is not None:
        path.write_text(content if isinstance(content, str) else json.dumps(content))
    with pytest.raises(IntrinsicsError) as err:
        load_intrinsics(path)
    msg = str(err.value)
    assert "camera_K.json" in msg and expected in msg and "\n" not in msg
    assert isinstance(err.value, ValueError)


def test_bad_intrinsics_arrays():
    with pytest.raises(IntrinsicsError, match="non|NaN"):
        load_intrinsics(np.full((3, 3), np.inf))
    with pytest.raises(IntrinsicsError, match="shape"):
        load_intrinsics(np.eye(4))


# ----------------------------------------------------------------------------- EXIF, bit depth

@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_exif_orientation_is_applied_quietly(tmp_path, orientation):
    """Stored pixels are turned upright as viewers and cv2.imread show them; the original
    size is the upright one; no warning (it is what every viewer does)."""
    from PIL import Image

    from robotpose_lib import camera_io

    upright = rgb(48, 64)
    inverse = {1: 1, 3: 3, 6: 8, 8: 6}[orientation]
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "phone.png"
    Image.fromarray(camera_io.apply_orientation(upright, inverse)).save(path, exif=exif)
    out = load_quietly(path)
    assert np.array_equal(out.image, upright) and out.original_size == (48, 64)
    assert out.orientation == orientation
    assert out.stored_size == ((64, 48) if orientation in (6, 8) else (48, 64))
    jpg = tmp_path / "phone.jpg"
    Image.fromarray(camera_io.apply_orientation(upright, inverse)).save(jpg, exif=exif, quality=100)
    assert np.array_equal(load_quietly(jpg).image, cv2.imread(str(jpg))[..., ::-1])  # OpenCV agrees


def test_large_rotated_jpeg_is_downscaled_upright(tmp_path):
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = 6
    stored = cv2.resize(rgb(30, 40), (400, 300), interpolation=cv2.INTER_NEAREST)  # 400 wide, 300 high
    path = tmp_path / "big.jpg"
    Image.fromarray(stored).save(path, exif=exif)
    out = load_warning_once(path, "downscaled", max_side=100)
    assert out.original_size == (400, 300) and out.size[0] > out.size[1]  # upright: taller than wide
    sx, sy = out.scale
    assert abs(out.size[1] - 300 * sx) <= 1 and abs(out.size[0] - 400 * sy) <= 1


@pytest.mark.parametrize("bits", [10, 12, 14])
def test_low_bit_depth_in_uint16_is_scaled_by_its_range(bits):
    img = rgb()
    data = img.astype(np.uint16) << (bits - 8)
    out = load_warning_once(data, f"{bits} significant bits")
    assert np.array_equal(out.image, img)


def test_png_significant_bits(tmp_path):
    from robotpose_lib.image_io import png_significant_bits

    path = write(tmp_path / "plain.png", rgb())
    assert png_significant_bits(path) is None
    assert png_significant_bits(write(tmp_path / "x.jpg", rgb())) is None
    from test_user_images import png_with_sbit

    assert png_significant_bits(png_with_sbit(tmp_path / "s.png", rgb().astype(np.uint16) << 2, 10)) == (10, 10, 10)
