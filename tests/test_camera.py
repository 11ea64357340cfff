import json
import math

import cv2
import numpy as np
import pytest
import torch

from robotpose_lib import camera, camera_io, network_input


def test_intrinsics_from_fov():
    K = camera.intrinsics_from_fov(64, 48, math.radians(60))
    f = 24 / math.tan(math.radians(30))
    assert torch.allclose(K, torch.tensor([[f, 0, 31.5], [0, f, 23.5], [0, 0, 1]]))
    assert K.dtype == torch.float32


BAD_K = [  # what the three old checks (check_intrinsics, validate_K, validate_intrinsics) refused
    (torch.eye(2), "shape"),
    (np.ones((2, 3, 4)), "shape"),
    ("not a matrix", "3x3 array of numbers"),
    (torch.tensor([[float("nan"), 0, 1], [0, 1, 1], [0, 0, 1]]), "NaN or infinite"),
    (np.array([[np.inf, 0, 1], [0, 1, 1], [0, 0, 1]]), "NaN or infinite"),
    (torch.tensor([[-1.0, 0, 1], [0, 1, 1], [0, 0, 1]]), "focal"),
    (np.array([[1.0, 0, 1], [0, 0.0, 1], [0, 0, 1]]), "focal"),
    (torch.tensor([[1.0, 0, 1], [0, 1, 1], [0, 1, 1]]), "last row"),
    (np.array([[1.0, 0, 1], [0.5, 1, 1], [0, 0, 1]]), "upper triangular"),
    (torch.stack([torch.eye(3), torch.tensor([[1.0, 0, 1], [0, -1, 1], [0, 0, 1]])]), "focal"),
]


@pytest.mark.parametrize("K, words", BAD_K)
def test_the_one_K_check_refuses_what_the_old_ones_refused(K, words):
    batch = isinstance(K, torch.Tensor) and K.dim() == 3
    with pytest.raises(camera.IntrinsicsError, match=words) as err:
        camera.validate_K(K, name="cam.json", batch=batch)
    assert "\n" not in str(err.value) and str(err.value).startswith("cam.json: ")
    if batch:  # without batch=True a stack of K is refused too (camera files hold one K)
        with pytest.raises(camera.IntrinsicsError, match="shape"):
            camera.validate_K(K)
    with pytest.raises(ValueError):  # the renderer's check (was check_intrinsics, a ValueError)
        camera.validate_K(K, batch=True)


def test_the_one_K_check_accepts_tensors_arrays_and_ros_layouts():
    K = [[500.0, 0, 320], [0, 500, 240], [0, 0, 1]]
    for form in (K, np.array(K), torch.tensor(K), sum(K, []), {"data": sum(K, [])}):
        out = camera.validate_K(form)
        assert out.dtype == np.float64 and out.shape == (3, 3)
        np.testing.assert_array_equal(out, K)
    assert camera.validate_K(torch.tensor([K, K]), batch=True).shape == (2, 3, 3)


def test_one_back_projection_equals_both_old_ones():
    """camera.backproject replaces camera.backproject (float math in the input dtype) and
    decode.back_project (float64 inside): bit for bit the latter, the former to float32."""
    g = torch.Generator().manual_seed(0)
    uv = torch.rand(4, 5, 2, generator=g) * 600
    z = torch.rand(4, 5, generator=g) * 9 + 0.5
    z[0, 0] = float("nan")
    K = np.array([[612.3, 0.0, 319.7], [0.0, 611.9, 241.2], [0.0, 0.0, 1.0]])
    # the old decode.back_project, verbatim
    Kt = torch.as_tensor(K, dtype=torch.float64)
    uv1 = torch.cat([uv.double(), torch.ones_like(uv[..., :1], dtype=torch.float64)], dim=-1)
    old_decode = ((uv1 @ torch.linalg.inv(Kt).T) * z.double()[..., None]).to(uv.dtype)
    # the old camera.backproject, verbatim
    K32 = torch.as_tensor(K, dtype=torch.float32)
    rays = torch.cat([uv, torch.ones_like(uv[..., :1])], dim=-1) @ torch.linalg.inv(K32).transpose(-1, -2)
    old_camera = rays * z.unsqueeze(-1)
    new = camera.backproject(uv, z, K)
    assert new.dtype == torch.float32
    assert torch.equal(torch.isnan(new), torch.isnan(old_decode))
    torch.testing.assert_close(new, old_decode, rtol=0, atol=0, equal_nan=True)
    torch.testing.assert_close(new, old_camera, rtol=1e-5, atol=1e-5, equal_nan=True)
    cam = camera.Camera(K, (480, 640))
    torch.testing.assert_close(cam.backproject(uv, z), new, rtol=0, atol=0, equal_nan=True)
    torch.testing.assert_close(cam.project(cam.backproject(uv[1:], z[1:]).double()), uv[1:].double(),
                               rtol=0, atol=1e-4)


def test_camera_object_rescales_crops_and_decodes_depth():
    from robotpose_lib.targets import DepthCoding
    K = np.array([[400.0, 0.0, 319.5], [0.0, 400.0, 239.5], [0.0, 0.0, 1.0]])
    cam = camera.Camera(K, (480, 640))
    half = cam.resized((240, 320))
    np.testing.assert_array_equal(half.K, camera.scale_intrinsics(K, 0.5, 0.5))
    assert half.size == (240, 320) and half.focal == 200.0
    np.testing.assert_array_equal(cam.cropped(10, 20, (100, 100)).K, camera.crop_intrinsics(K, 10, 20))
    coding = DepthCoding(z_min=0.5, z_max=10.0)
    d = np.linspace(0.0, 1.0, 7)
    # what the five hand-built closures computed: coding.decode(d, fx, W)
    np.testing.assert_array_equal(half.metric_depth(d, coding, 320), coding.decode(d, 200.0, 320))
    with pytest.raises(camera.IntrinsicsError, match="focal"):
        camera.Camera(np.diag([0.0, 1.0, 1.0]), (4, 4))


def test_resize_sample_keeps_the_bytes_of_its_old_rescale():
    """targets.resize_sample now calls camera's rescale: same float32 values as the copy
    it had."""
    from robotpose_lib.synth import generate_one
    from robotpose_lib.targets import resize_sample
    s = generate_one("panda_primitive", seed=3, index=1, height=60, width=80)
    r = resize_sample(s, (45, 70))
    sx, sy = 70 / 80, 45 / 60
    joints = s.joints_2d.copy()
    joints[..., 0] = (joints[..., 0] + 0.5) * sx - 0.5
    joints[..., 1] = (joints[..., 1] + 0.5) * sy - 0.5
    K = s.K.copy()
    K[0, 0] *= sx
    K[1, 1] *= sy
    K[0, 2] = (K[0, 2] + 0.5) * sx - 0.5
    K[1, 2] = (K[1, 2] + 0.5) * sy - 0.5
    assert r.joints_2d.dtype == s.joints_2d.dtype and r.K.dtype == s.K.dtype
    np.testing.assert_array_equal(r.joints_2d, joints)
    np.testing.assert_array_equal(r.K, K)


def test_look_at_conventions():
    eye = torch.tensor([[3.0, 1.0, 2.0], [0.0, -4.0, 0.5]])
    target = torch.tensor([[0.0, 0.0, 0.5], [0.2, 0.1, 0.3]])
    T = camera.look_at(eye, target)
    R = T[:, :3, :3]
    assert torch.allclose(R @ R.transpose(1, 2), torch.eye(3).expand(2, 3, 3), atol=1e-6)
    assert torch.allclose(torch.linalg.det(R), torch.ones(2), atol=1e-6)
    # the target is on the optical axis at its distance, the eye at the origin
    tc = camera.transform_points(T, target[:, None, :])[:, 0]
    assert torch.allclose(tc[:, :2], torch.zeros(2, 2), atol=1e-5)
    assert torch.allclose(tc[:, 2], (target - eye).norm(dim=1), atol=1e-5)
    assert torch.allclose(camera.transform_points(T, eye[:, None, :])[:, 0], torch.zeros(2, 3), atol=1e-5)
    # world up points up in the image (smaller v), camera x is horizontal
    above = camera.transform_points(T, (target + torch.tensor([0, 0, 0.3]))[:, None, :])[:, 0]
    assert (above[:, 1] < 0).all()
    assert torch.allclose(R[:, 0, 2], torch.zeros(2), atol=1e-6)


def test_look_at_straight_down_is_finite():
    T = camera.look_at(torch.tensor([0.0, 0.0, 5.0]), torch.zeros(3))
    assert torch.isfinite(T).all()
    R = T[:3, :3]
    assert torch.allclose(R @ R.T, torch.eye(3), atol=1e-6)
    assert torch.allclose(R[2], torch.tensor([0.0, 0.0, -1.0]))


def test_sample_hemisphere_ranges_and_determinism():
    g = torch.Generator().manual_seed(3)
    eye = camera.sample_hemisphere(g, 2000, 0.5, 10.0, center=(1.0, 2.0, 0.0))
    rel = eye - torch.tensor([1.0, 2.0, 0.0])
    r = rel.norm(dim=1)
    assert eye.shape == (2000, 3) and eye.dtype == torch.float32
    assert (r >= 0.5 - 1e-4).all() and (r <= 10 + 1e-4).all()
    assert (rel[:, 2] >= -1e-5).all()
    assert abs(float(r.mean()) - 5.25) < 0.3  # uniform radius
    g2 = torch.Generator().manual_seed(3)
    assert torch.equal(eye, camera.sample_hemisphere(g2, 2000, 0.5, 10.0, center=(1.0, 2.0, 0.0)))
    g3 = torch.Generator().manual_seed(3)
    near_zenith = camera.sample_hemisphere(g3, 500, 1.0, 2.0, inclination_range=(0.0, 0.3))
    incl = torch.acos(near_zenith[:, 2] / near_zenith.norm(dim=1))
    assert float(incl.max()) <= 0.3 + 1e-4
    with pytest.raises(ValueError, match="r_min"):
        camera.sample_hemisphere(g, 3, 2.0, 1.0)


def test_project_backproject_round_trip_and_batched_K():
    K = torch.tensor([[[500.0, 2.0, 320.0], [0, 480.0, 240.0], [0, 0, 1]],
                      [[300.0, 0.0, 100.0], [0, 310.0, 90.0], [0, 0, 1]]])
    p = torch.randn(2, 7, 3) + torch.tensor([0, 0, 4.0])
    uv = camera.project(p, K)
    assert uv.shape == (2, 7, 2)
    assert torch.allclose(camera.backproject(uv, p[..., 2], K), p, atol=1e-4)
    # independent: u = (fx x + s y) / z + cx
    x, y, z = p[1].unbind(-1)
    assert torch.allclose(uv[1, :, 0], 300 * x / z + 100, atol=1e-3)
    assert torch.allclose(uv[1, :, 1], 310 * y / z + 90, atol=1e-3)


def test_project_agrees_with_cv2():
    K = camera.intrinsics(520.0, 515.0, 319.5, 239.5)
    T = camera.look_at(torch.tensor([2.0, -3.0, 1.5]), torch.tensor([0.0, 0.0, 0.6]))
    pw = torch.rand(20, 3) * torch.tensor([1.0, 1.0, 1.5])
    uv = camera.project(camera.transform_points(T, pw), K)
    rvec, _ = cv2.Rodrigues(T[:3, :3].double().numpy())
    ref, _ = cv2.projectPoints(pw.double().numpy(), rvec, T[:3, 3].double().numpy(),
                               K.double().numpy(), np.zeros(5))
    assert np.allclose(uv.numpy(), ref[:, 0, :], atol=1e-3)


def test_transform_points_matches_matrix_product():
    T = camera.look_at(torch.tensor([1.0, 2.0, 3.0]), torch.zeros(3))
    p = torch.randn(5, 3)
    hom = torch.cat([p, torch.ones(5, 1)], 1) @ T.T
    assert torch.allclose(camera.transform_points(T, p), hom[:, :3], atol=1e-5)


def test_scale_intrinsics_matches_cv2_resize():
    H, W, sx, sy = 30, 40, 2.0, 1.5
    K = camera.intrinsics(50.0, 45.0, 19.0, 14.5)
    vv, uu = np.mgrid[0:H, 0:W].astype(np.float32)
    img = np.stack([uu, vv], -1)
    big = cv2.resize(img, (int(W * sx), int(H * sy)), interpolation=cv2.INTER_LINEAR)
    K2 = camera.scale_intrinsics(K, sx, sy)
    # interior pixels of the resized image hold the old pixel coordinates they sample
    pts = torch.tensor([[10.0, 7.0], [41.0, 20.0], [60.0, 30.0]])  # (u', v') in the big image
    old = torch.from_numpy(big[pts[:, 1].long(), pts[:, 0].long()])
    ray_new = camera.backproject(pts, torch.ones(3), K2)
    ray_old = camera.backproject(old, torch.ones(3), K)
    assert torch.allclose(ray_new, ray_old, atol=1e-4)
    # and projecting with K2 equals the pixel-centre mapping of projecting with K
    p = torch.randn(6, 3) + torch.tensor([0, 0, 3.0])
    uv, uv2 = camera.project(p, K), camera.project(p, K2)
    assert torch.allclose(uv2, (uv + 0.5) * torch.tensor([sx, sy]) - 0.5, atol=1e-3)


def test_crop_intrinsics_matches_array_crop():
    K = camera.intrinsics(50.0, 45.0, 19.0, 14.5)
    x0, y0 = 7, 4
    Kc = camera.crop_intrinsics(K, x0, y0)
    p = torch.randn(6, 3) + torch.tensor([0, 0, 3.0])
    assert torch.allclose(camera.project(p, Kc), camera.project(p, K) - torch.tensor([x0, y0]), atol=1e-4)
    back = camera.scale_intrinsics(camera.scale_intrinsics(K, 2.0, 3.0), 0.5, 1 / 3)
    assert torch.allclose(back, K, atol=1e-4)


# ----------------------------------------------------------------------------- part 2: user images

@pytest.mark.parametrize("orientation", range(1, 9))
def test_apply_orientation_matches_pil_and_the_matrix(orientation):
    from PIL import Image, ImageOps

    stored = np.random.default_rng(orientation).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    exif = Image.Exif()
    exif[0x0112] = orientation
    im = Image.fromarray(stored)
    im.info["exif"] = exif.tobytes()
    want = np.asarray(ImageOps.exif_transpose(im))
    got = camera_io.apply_orientation(stored, orientation)
    assert np.array_equal(got, want)
    assert got.shape[:2] == camera_io.oriented_size(orientation, 5, 7)
    A = camera_io.orientation_matrix(orientation, 5, 7)
    for v in range(5):
        for u in range(7):
            u2, v2, _ = A @ [u, v, 1]
            assert np.array_equal(got[int(v2), int(u2)], stored[v, u])


def test_fit_to_input_modes():
    net = (240, 320)
    assert network_input.fit_to_input((480, 640), net, "pad") == ((240, 320), (0, 0), net)
    assert network_input.fit_to_input((480, 640), net, "extend") == ((240, 320), (0, 0), net)
    # 16:9: extend keeps the scale (canvas padded to a multiple of 8), pad shrinks, crop cuts
    assert network_input.fit_to_input((240, 427), net, "extend") == ((240, 427), (2, 0), (240, 432))
    assert network_input.fit_to_input((240, 427), net, "pad") == ((180, 320), (0, 30), net)
    assert network_input.fit_to_input((240, 427), net, "crop") == ((240, 427), (-54, 0), net)
    # portrait: the shorter side (width) goes to 240
    assert network_input.fit_to_input((640, 480), net, "extend") == ((320, 240), (0, 0), (320, 240))
    # a panorama is capped at 4 network inputs' worth of pixels
    (nh, nw), _, (Hc, Wc) = network_input.fit_to_input((100, 5000), net, "extend")
    assert Hc * Wc <= 4 * 240 * 320 * 1.05  # (+ padding to multiples of 8) and abs(nw / nh - 50) < 1
    # non-square pixels (fy = 2 fx): the network grid gets square pixels
    (nh, nw), _, _ = network_input.fit_to_input((96, 128), (48, 64), "pad", pixel_aspect=2.0)
    assert (nh, nw) == (24, 64)
    with pytest.raises(ValueError, match="fit"):
        network_input.fit_to_input((10, 10), net, "stretch")


def _K(fx, fy, cx, cy):
    return np.array([[fx, 0, cx], [0, fy, cy], [0, 0, 1.0]])


@pytest.mark.parametrize("fit", network_input.FITS)
@pytest.mark.parametrize("size", [(240, 320), (300, 700), (500, 260), (97, 131)])
def test_network_view_round_trips_points_and_masks(fit, size):
    """A 3D point projects to network pixel p with K_net; to_image(p) is its projection with
    the user's K; masks warped forward and mapped back return to the same pixels."""
    H, W = size
    K = _K(0.9 * W, 0.9 * W, (W - 1) / 2 + 3, (H - 1) / 2 - 2)
    view = network_input.network_view(K, size, (240, 320), fit)
    X = np.array([[0.1, -0.05, 2.0], [-0.2, 0.1, 3.0], [0.0, 0.0, 1.0]])
    p_net = (X @ view.K_net.T)[:, :2] / X[:, 2:]
    p_img = (X @ K.T)[:, :2] / X[:, 2:]
    assert np.abs(view.to_image(p_net) - p_img).max() < 1e-9
    assert abs(view.K_net[0, 0] / view.K_net[1, 1] - 1) < 0.01  # square network pixels
    # a disc in the image, through the network grid and back
    vv, uu = np.mgrid[0:H, 0:W]
    disc = (((uu - W / 2) ** 2 + (vv - H / 2) ** 2) < (min(H, W) / 4) ** 2).astype(np.uint8) * 255
    net = view.warp(np.repeat(disc[..., None], 3, 2))[..., 0].astype(np.float32) / 255
    assert net.shape == view.net_size
    back = view.mask_to_loaded(net)
    inner = (((uu - W / 2) ** 2 + (vv - H / 2) ** 2) < (min(H, W) / 4 - 3) ** 2)
    outer = (((uu - W / 2) ** 2 + (vv - H / 2) ** 2) > (min(H, W) / 4 + 3) ** 2)
    if fit != "crop":
        assert back[inner].min() > 0.9
    assert back[outer].max() < 0.1
    x0, y0, x1, y1 = view.content_box
    assert view.content_mask().sum() == (x1 - x0) * (y1 - y0)


def test_network_view_with_distortion_round_trips():
    H, W = 240, 320
    K = _K(280.0, 280.0, 160.0, 118.0)
    D = np.array([-0.3, 0.1, 0.001, -0.002, 0.01])
    view = network_input.network_view({"K": K.tolist(), "D": D.tolist()}, (H, W), (240, 320))
    X = np.array([[0.1, -0.05, 2.0], [-0.5, 0.3, 3.0], [0.0, 0.0, 1.0]])
    p_net = (X @ view.K_net.T)[:, :2] / X[:, 2:]
    p_img = cv2.projectPoints(X[:, None], np.zeros(3), np.zeros(3), K, D)[0].reshape(-1, 2)
    assert np.abs(view.to_image(p_net) - p_img).max() < 1e-6
    assert np.isnan(view.to_image(np.array([[np.nan, np.nan]]))).all()
    fisheye = {"K": K.tolist(), "D": [0.1, 0.01, 0.0, 0.0], "distortion_model": "equidistant"}
    fish = network_input.network_view(fisheye, (H, W), (240, 320))
    p_fish = cv2.fisheye.projectPoints(X[:, None], np.zeros(3), np.zeros(3), K, fish.camera.dist)[0].reshape(-1, 2)
    assert np.abs(fish.to_image(p_net) - p_fish).max() < 1e-6


@pytest.mark.parametrize("doc, words", [
    ({"K": [[280, 0, 639.5], [0, 280, 479.5], [0, 0, 1]]}, "principal point (639.5, 479.5) lies outside"),
    ({"fx": 5, "fy": 5, "cx": 159.5, "cy": 119.5}, "field of view"),
    ({"fx": 5000, "fy": 5000, "cx": 159.5, "cy": 119.5}, "field of view"),
    ({"fx": 900, "fy": 900, "cx": 639.5, "cy": 359.5, "width": 1280, "height": 720}, "aspect ratio"),
    ({"fx": 900, "fy": 900, "cx": 119.5, "cy": 159.5, "width": 240, "height": 320}, "aspect ratio"),
    ({"K": [1, 0, 0, 0, 1, 0]}, "9 numbers"),
    ({"fx": 300, "fy": 300, "cx": 159.5, "cy": 119.5, "D": [0.1] * 15}, "at most 14"),
    ({"fx": 300, "fy": 300, "cx": 159.5, "cy": 119.5, "D": [0.1] * 5, "distortion_model": "equidistant"},
     "4 coefficients"),
    ({"fx": 300, "fy": 300, "cx": 159.5, "cy": 119.5, "distortion_model": "omnidir"}, "distortion_model"),
    ({"fx": 300, "fy": 300, "cx": 159.5, "cy": 119.5, "width": 320}, "both width and height"),
])
def test_bad_camera_descriptions_are_one_line_errors_naming_the_file(tmp_path, doc, words):
    path = tmp_path / "cam.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(camera.IntrinsicsError) as err:
        camera_io.camera_for_image(path, (240, 320), "photo.png")
    msg = str(err.value)
    assert msg.startswith(str(path)) and words in msg and "\n" not in msg


def test_k_for_the_unrotated_image_names_the_exif_rotation():
    cam = {"fx": 300, "fy": 300, "cx": 119.5, "cy": 159.5, "width": 240, "height": 320}
    with pytest.raises(camera.IntrinsicsError, match="EXIF orientation"):
        camera_io.camera_for_image(cam, (240, 320), "phone.jpg", stored_size=(320, 240))


@pytest.mark.parametrize("doc, words", [
    ({"fx": 300, "fy": 300, "cx": 310.0, "cy": 119.5}, "far from the centre"),
    ({"fx": 300, "fy": 330, "cx": 159.5, "cy": 119.5}, "non-square"),
    ({"K": [[300, 2, 159.5], [0, 300, 119.5], [0, 0, 1]]}, "skew"),
    ({"fx": 1200, "fy": 1200, "cx": 639.5, "cy": 479.5, "width": 1280, "height": 960}, "rescaled"),
])
def test_dubious_camera_descriptions_warn_one_line(doc, words):
    with pytest.warns(UserWarning) as record:
        cam = camera_io.camera_for_image(doc, (240, 320), "photo.png")
    (msg,) = [str(r.message) for r in record]
    assert words in msg and "photo.png" in msg and "\n" not in msg
    if "width" in doc:
        assert np.allclose(cam.K, [[300, 0, 159.5], [0, 300, 119.5], [0, 0, 1]]) and cam.size == (240, 320)


def test_plain_camera_description_is_quiet():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cam = camera_io.camera_for_image(np.array(_K(300, 300, 159.5, 119.5)), (240, 320))
    assert cam.dist is None and cam.size is None
    # OpenCV's shorter distortion vectors are padded with zeros; all-zero means none
    assert camera_io.read_camera({"fx": 1, "fy": 1, "cx": 0, "cy": 0, "D": [0.1, 0.01, 0, 0, 0, 0.02]}).dist.size == 8
    assert camera_io.read_camera({"fx": 1, "fy": 1, "cx": 0, "cy": 0, "dist_coeffs": [0, 0, 0, 0, 0]}).dist is None


def test_opengl_camera_projects_to_the_same_pixels_as_project_in_tinyrenderers_grid():
    from robotpose_lib.camera import look_at, opengl_camera, project

    K = np.array([[151.0, 0, 161.3], [0, 150.2, 118.7], [0, 0, 1]])
    T = look_at([1.5, -0.8, 1.2], [0.1, 0.2, 0.4]).double().numpy()
    view, proj = opengl_camera(K, T, 320, 240)
    rng = np.random.default_rng(0)
    world = rng.uniform(-0.5, 0.8, (50, 3))
    clip = (proj @ view @ np.c_[world, np.ones(50)].T).T
    ndc = clip[:, :3] / clip[:, 3:]
    u = (ndc[:, 0] + 1) / 2 * 320                # TinyRenderer's grid (see opengl_camera), row 0 on top
    v = (1 - ndc[:, 1]) / 2 * 240 - 1
    cam = world @ T[:3, :3].T + T[:3, 3]
    expected = project(torch.from_numpy(cam), torch.from_numpy(K)).numpy()
    np.testing.assert_allclose(np.c_[u, v], expected, atol=1e-9)
    assert np.all(np.abs(ndc[:, 2]) < 1)             # inside the clip range
    with pytest.raises(ValueError, match="T_cam_world"):
        opengl_camera(K, np.eye(3), 320, 240)
    with pytest.raises(ValueError, match="near"):
        opengl_camera(K, T, 320, 240, near=1.0, far=0.5)
