"""People's own photos and cameras (issue 11): the same synthetic scene stored, sized or
described differently must give the plain scene's joints and depth, or a clear error.

Every expected value comes from the plain scene: ``robotpose synth --robot panda_primitive --size
240x320 --seed 777`` scenes rendered in memory, predicted by the shipped reference
localization model (``Predictor.from_pretrained("panda_primitive", instances=False)``: one pose,
the strongest peak per joint, so no instance ambiguity blurs the comparison).

What the tolerances are made of (measured on these scenes, see each test):

* geometry alone is exact: a variant whose network input has the same pixels as the plain
  scene's (EXIF-rotated PNG, nearest-neighbour upscaling, padding, K for another
  resolution, 12-bit data, ROS CameraInfo) must agree to 0.01 px and 0.01%;
* the reference model is sensitive to pixel changes a person does not see: JPEG
  re-encoding moves its joints by a median 0.02-0.1 px but its depth by a median 1-2%,
  and a 0.6 px blur (what linear upscaling + downscaling does) raises its depth by ~9%;
  tests whose pixels necessarily change (JPEG, undistortion, other image shapes) compare
  medians over several scenes with bounds a few times those figures, far below the
  errors of the faults they guard against (15-52 px, 0.65-1.41 depth ratio, 4x depth).
"""
import json
import struct
import warnings
import zlib

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from robotpose_lib import camera, camera_io
from robotpose_lib.camera import IntrinsicsError
from robotpose_lib.data import SyntheticDataset
from robotpose_lib.image_io import load_image
from robotpose_lib.predictor import Predictor

pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.py
SEED, SIZE, N = 777, (240, 320), 16


@pytest.fixture(scope="module")
def predictor():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "localization-only checkpoint": intended
        pred = Predictor.from_pretrained("panda_primitive", instances=False, device="cpu")
    yield pred
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def scenes(predictor):
    """Up to 4 plain scenes (sample, K, plain pose) in which the model finds >= 5 joints."""
    out = []
    for sample in SyntheticDataset("panda_primitive", N, size=SIZE, seed=SEED).batch(range(N)):
        K = sample.K.astype(np.float64)
        (pose,) = predictor(sample.image, K)
        if np.isfinite(pose.joints_2d).all(1).sum() >= 5:
            out.append((sample, K, pose))
        if len(out) == 4:
            break
    assert len(out) == 4
    return out


def quietly(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def differences(plain, pose, to_plain=lambda uv: uv):
    """(pixel distances (n,), |relative depth differences| (n,)) over joints found in both;
    ``to_plain`` maps the variant's pixels to the plain image's."""
    a = plain.joints_2d.astype(np.float64)
    b = to_plain(pose.joints_2d.astype(np.float64))
    ok = np.isfinite(a).all(1) & np.isfinite(b).all(1)
    assert ok.sum() >= 4, "too few joints found in both to compare"
    return np.linalg.norm(a[ok] - b[ok], axis=1), np.abs(pose.joints_3d[ok, 2] / plain.joints_3d[ok, 2] - 1)


def assert_same(plain, pose, to_plain=lambda uv: uv, px=0.01, rel=1e-4):
    d, z = differences(plain, pose, to_plain)
    assert d.max() <= px and z.max() <= rel, (d, z)


# ------------------------------------------------------------------ EXIF orientation

def stored_for(image, orientation):
    """The stored pixels that EXIF ``orientation`` shows as ``image``."""
    inverse = {3: 3, 6: 8, 8: 6, 2: 2, 4: 4, 5: 5, 7: 7}[orientation]
    return camera_io.apply_orientation(image, inverse)


@pytest.mark.parametrize("orientation", [3, 5, 6, 8])
def test_exif_rotated_png_is_the_upright_scene(predictor, scenes, tmp_path, orientation):
    """Lossless (PNG with an eXIf chunk): the network sees the plain scene's pixels, so
    joints and depth are the plain scene's exactly, in the upright image's pixels."""
    sample, K, plain = scenes[0]
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"rot{orientation}.png"
    Image.fromarray(stored_for(sample.image, orientation)).save(path, exif=exif)
    loaded = load_image(path)
    assert loaded.original_size == SIZE and loaded.orientation == orientation
    assert np.array_equal(loaded.image, sample.image)
    (pose,) = predictor(str(path), K)
    assert_same(plain, pose)


def test_exif_rotated_jpeg_gives_the_upright_joints(predictor, scenes, tmp_path):
    """Issue case 2: a JPEG stored rotated 90 degrees with EXIF Orientation = 6. Compared
    with the same scene saved upright as JPEG (both re-encoded, so the model sees slightly
    different pixels: measured medians 0.02 px and 0.9%): median <= 0.5 px and <= 3%
    over 4 scenes (the fault: 15-52 px off, a 240x320 size for a 320x240 image)."""
    px, rel = [], []
    for i, (sample, K, _) in enumerate(scenes):
        Image.fromarray(sample.image).save(tmp_path / f"up{i}.jpg", quality=95)
        exif = Image.Exif()
        exif[0x0112] = 6
        Image.fromarray(stored_for(sample.image, 6)).save(tmp_path / f"rot{i}.jpg", quality=95, exif=exif)
        prepared = predictor.prepare(str(tmp_path / f"rot{i}.jpg"), K)
        assert prepared.original_size == SIZE  # (H, W) of the upright image
        (upright,) = predictor(str(tmp_path / f"up{i}.jpg"), K)
        (rotated,) = predictor(str(tmp_path / f"rot{i}.jpg"), K)
        d, z = differences(upright, rotated)
        px += list(d)
        rel += list(z)
    assert np.median(px) <= 0.5 and np.median(rel) <= 0.03, (np.median(px), np.median(rel))


# ------------------------------------------------------------------ other sizes of the same scene

def test_upscaled_image_with_its_K_gives_the_plain_joints(predictor, scenes):
    """2x nearest-neighbour upscaling with K scaled: area-downscaling gives back the plain
    pixels, so joints (mapped u -> (u + 0.5) / 2 - 0.5) and depth are the plain scene's.
    (Linear upscaling blurs; this model reads blur as distance, +9% depth: a property of
    the model, not of the geometry.)"""
    for sample, K, plain in scenes[:2]:
        big = np.repeat(np.repeat(sample.image, 2, 0), 2, 1)
        (pose,) = predictor(big, camera.scale_intrinsics(K, 2.0, 2.0))
        assert_same(plain, pose, lambda uv: (uv + 0.5) / 2 - 0.5)


@pytest.mark.parametrize("fit", ["extend", "crop"])
def test_padded_image_gives_the_plain_joints(predictor, scenes, fit):
    """The plain scene padded to 16:9 (54 px of black left, 53 right, cx + 54). 'crop'
    (the centre 320 columns) shows the network exactly the plain pixels: exact. The default
    'extend' (a 240x432 input at the plain scale) shows them beside the black bars, which
    the convolutions near the scene's border see instead of their own zero padding
    (measured: 0.006 px, 0.1% depth): 0.05 px and 0.5%."""
    px, rel = (0.01, 1e-4) if fit == "crop" else (0.05, 0.005)
    predictor.fit = fit
    try:
        for sample, K, plain in scenes[:2]:
            canvas = np.zeros((240, 427, 3), np.uint8)
            canvas[:, 54:374] = sample.image
            Kp = K.copy()
            Kp[0, 2] += 54
            (pose,) = predictor(canvas, Kp)
            assert_same(plain, pose, lambda uv: uv - [54.0, 0.0], px, rel)
    finally:
        predictor.fit = "extend"


def test_letterboxed_into_the_network_size_keeps_metric_depth(predictor, scenes):
    """fit='pad' (letterbox into 240x320) shows the padded scene 0.75x smaller: the
    geometry is right, the model is less accurate at that scale. Against the true depths
    (known by construction) the median relative error stays within 15% (session-4 model:
    13.2% padded, 5.2% plain; the old squeeze was off by 19-35%). Compared with the plain
    prediction instead of the truth, the two predictions' errors add up (15.9%), so the
    truth is the reference."""
    predictor.fit = "pad"
    try:
        rel_pad, rel_plain = [], []  # |predicted / true depth - 1| per joint found in both
        for sample, K, plain in scenes:
            canvas = np.zeros((240, 427, 3), np.uint8)
            canvas[:, 54:374] = sample.image
            Kp = K.copy()
            Kp[0, 2] += 54
            (pose,) = predictor(canvas, Kp)
            differences(plain, pose, lambda uv: uv - [54.0, 0.0])  # >= 4 joints in both
            true = sample.joints_3d[0, :, 2]
            ok = np.isfinite(pose.joints_3d[:, 2]) & np.isfinite(plain.joints_3d[:, 2])
            rel_pad += list(np.abs(pose.joints_3d[ok, 2] / true[ok] - 1))
            rel_plain += list(np.abs(plain.joints_3d[ok, 2] / true[ok] - 1))
        assert np.median(rel_pad) <= 0.15, (np.median(rel_pad), np.median(rel_plain))
    finally:
        predictor.fit = "extend"


@pytest.mark.slow
@pytest.mark.parametrize("robot", ["panda_primitive", "kuka_kr16"])
def test_other_aspect_ratios_keep_metric_depth(robot):
    """Issue case 1: the same scenes rendered at 16:9, 8:3 and 3:4 with their exact K.
    Squeezed into 4:3 they gave median predicted/true depth 0.81, 0.65, 1.41 (panda);
    now each aspect's median is within 15% of the 4:3 value (measured: <= 11%) and in
    [0.85, 1.2]. 12 scenes per aspect, shipped localization models (bench.aspect)."""
    from robotpose_lib.bench.aspect import aspect_table

    rows = aspect_table(robot, n=12, seed=SEED)
    base = rows["4:3"]["depth_ratio"]
    for name, row in rows.items():
        assert row["matched"] >= 15, (name, row)
        assert 0.85 <= row["depth_ratio"] <= 1.2 and abs(row["depth_ratio"] / base - 1) <= 0.15, (name, row)


# ------------------------------------------------------------------ camera descriptions

def test_K_of_another_resolution_is_rescaled_when_it_says_so(predictor, scenes, tmp_path):
    """Issue case 3: the same camera's K at 1280x960 on the 320x240 image. With width and
    height in the JSON it is rescaled (one warning line) and gives the plain result; without
    them it is a one-line error naming the file and the principal point (it used to place
    the joints at 4x the depth)."""
    sample, K, plain = scenes[0]
    K4 = camera.scale_intrinsics(K, 4.0, 4.0)
    path = tmp_path / "camera_1280.json"
    path.write_text(json.dumps({"K": K4.tolist(), "width": 1280, "height": 960}))
    with pytest.warns(UserWarning) as record:
        (pose,) = predictor(sample.image, str(path))
    msgs = [str(r.message) for r in record]
    assert len(msgs) == 1 and "camera_1280.json" in msgs[0] and "1280x960" in msgs[0] and "rescaled" in msgs[0]
    assert_same(plain, pose)
    bare = tmp_path / "camera_bare.json"
    bare.write_text(json.dumps({"K": K4.tolist()}))
    with pytest.raises(IntrinsicsError) as err:
        predictor(sample.image, str(bare))
    msg = str(err.value)
    assert "camera_bare.json" in msg and "principal point" in msg and "1280x960" in msg and "\n" not in msg
    wide = tmp_path / "camera_wide.json"
    wide.write_text(json.dumps({"K": K4.tolist(), "width": 1280, "height": 720}))
    with pytest.raises(IntrinsicsError, match="camera_wide.json.*aspect ratio"):
        predictor(sample.image, str(wide))


@pytest.mark.parametrize("layout", ["ros1", "ros2", "ros_yaml"])
def test_ros_camera_info_dumps_are_accepted(predictor, scenes, tmp_path, layout):
    """Issue case 6: ROS CameraInfo dumped to JSON (flat row-major K, or ROS 2's k, with
    width, height, D) and camera_info YAML as JSON give the plain result exactly."""
    sample, K, plain = scenes[0]
    flat = K.ravel().tolist()
    doc = {"ros1": {"header": {"frame_id": "camera"}, "height": 240, "width": 320, "distortion_model": "plumb_bob",
                    "D": [0.0] * 5, "K": flat, "R": np.eye(3).ravel().tolist(), "P": flat[:3] + [0] + flat[3:6]
                    + [0] + flat[6:] + [0], "binning_x": 0, "binning_y": 0},
           "ros2": {"height": 240, "width": 320, "distortion_model": "plumb_bob", "d": [], "k": flat},
           "ros_yaml": {"image_width": 320, "image_height": 240, "camera_name": "cam",
                        "camera_matrix": {"rows": 3, "cols": 3, "data": flat},
                        "distortion_model": "plumb_bob",
                        "distortion_coefficients": {"rows": 1, "cols": 5, "data": [0.0] * 5}}}[layout]
    path = tmp_path / f"{layout}.json"
    path.write_text(json.dumps(doc))
    cam = camera_io.read_camera(path)
    assert np.allclose(cam.K, K) and cam.size == SIZE and cam.dist is None
    (pose,) = predictor(sample.image, str(path))
    assert_same(plain, pose)


def distort(image, K, D):
    """The image a lens with distortion D would have taken (bilinear resampling)."""
    H, W = image.shape[:2]
    vv, uu = np.mgrid[0:H, 0:W].astype(np.float64)
    src = cv2.undistortPoints(np.stack([uu.ravel(), vv.ravel()], 1)[:, None], K, D, P=K).reshape(H, W, 2)
    return cv2.remap(image, src[..., 0].astype(np.float32), src[..., 1].astype(np.float32), cv2.INTER_LINEAR)


@pytest.mark.parametrize("key", ["D", "dist_coeffs"])
def test_distortion_coefficients_are_used(predictor, scenes, key):
    """Issue case 5: the scene through a barrel-distorting lens (k1 = -0.3) with its
    coefficients in the K JSON.

    Geometry, exact: the result equals the prediction on ``cv2.undistort`` of the image
    with the pinhole K, its joints pushed through the lens model. Against the plain scene:
    joints come back in the distorted image's pixels where the plain scene's joints are
    distorted to, median <= 1 px over 4 scenes (ignoring the coefficients: several px); the
    depth moves by the blur of two bilinear resamplings, which this model reads as
    distance (module doc: ~9-11%), so median <= 15%."""
    D = np.array([-0.3, 0.1, 0.001, -0.001, 0.0])

    def to_plain(uv):  # distorted pixels -> plain (undistorted) pixels
        out = np.full_like(uv, np.nan)
        ok = np.isfinite(uv).all(1)
        out[ok] = cv2.undistortPoints(uv[ok][:, None], K, D, P=K).reshape(-1, 2)
        return out

    used, ignored, rel = [], [], []
    for i, (sample, K, plain) in enumerate(scenes):
        image = distort(sample.image, K, D)
        (pose,) = predictor(image, {"K": K.tolist(), key: D.tolist()})
        if i == 0:
            (reference,) = predictor(cv2.undistort(image, K, D, None, K), K)
            assert_same(reference, pose, to_plain, px=0.01, rel=1e-4)
        d, z = differences(plain, pose, to_plain)
        used += list(d)
        rel += list(z)
        (naive,) = predictor(image, K)
        found = np.isfinite(plain.joints_2d).all(1) & np.isfinite(naive.joints_2d).all(1)
        ignored += list(np.linalg.norm(naive.joints_2d[found] - camera_distorted(plain.joints_2d[found], K, D), axis=1))
    assert np.median(used) <= 1.0 and np.median(rel) <= 0.15, (np.median(used), np.median(rel))
    assert np.median(ignored) >= 2 * np.median(used) + 1.0, (np.median(ignored), np.median(used))


def camera_distorted(uv, K, D):
    """Plain (pinhole) pixels -> where the distorting lens puts them."""
    x = (uv - K[:2, 2]) / [K[0, 0], K[1, 1]]
    pts = np.c_[x, np.ones(len(x))][:, None, :]
    return cv2.projectPoints(pts, np.zeros(3), np.zeros(3), K, D)[0].reshape(-1, 2)


# ------------------------------------------------------------------ bit depth

def png_with_sbit(path, data16, bits):
    """Write a 16-bit PNG (via OpenCV) and insert an sBIT chunk after IHDR."""
    assert cv2.imwrite(str(path), data16[..., ::-1] if data16.ndim == 3 else data16)
    raw = path.read_bytes()
    end_ihdr = 8 + 8 + 13 + 4
    body = bytes([bits] * (3 if data16.ndim == 3 else 1))
    chunk = struct.pack(">I", len(body)) + b"sBIT" + body + struct.pack(">I", zlib.crc32(b"sBIT" + body))
    path.write_bytes(raw[:end_ihdr] + chunk + raw[end_ihdr:])
    return path


@pytest.mark.parametrize("sbit", [None, 12])
def test_12_bit_data_in_a_16_bit_png_finds_the_joints(predictor, scenes, tmp_path, sbit):
    """Issue case 4: the scene as 12-bit data (value << 4) in a 16-bit PNG, with or without
    an sBIT chunk: scaled by its real bit depth it is the plain scene again (exact), and the
    one warning line says how it was scaled. (It used to be shifted right by 8: values
    0-15, no robot found.)"""
    sample, K, plain = scenes[0]
    path = tmp_path / "twelve.png"
    data = sample.image.astype(np.uint16) << 4
    if sbit:
        png_with_sbit(path, data, sbit)
    else:
        assert cv2.imwrite(str(path), data[..., ::-1])
    with pytest.warns(UserWarning) as record:
        loaded = load_image(path)
    (msg,) = [str(r.message) for r in record]
    assert "twelve.png" in msg and "16-bit" in msg and "12 significant bits" in msg
    assert ("sBIT" in msg) == bool(sbit) and ("range" in msg) == (not sbit)
    assert np.array_equal(loaded.image, sample.image) and loaded.bit_depth == 12
    (pose,) = quietly(predictor, str(path), K)
    assert_same(plain, pose)


def test_sbit_with_full_range_samples_is_shifted_by_8(tmp_path):
    """PNG's own convention: low-depth samples scaled to the full 16-bit range (sBIT says
    the original depth): the high byte is the value."""
    img = np.random.default_rng(0).integers(0, 256, (40, 50, 3), dtype=np.uint16)
    path = png_with_sbit(tmp_path / "full.png", img * 257, 8)
    with pytest.warns(UserWarning, match="full range"):
        assert np.array_equal(load_image(path).image, img)
