import math

import cv2
import numpy as np
import pytest
import torch

from robotpose_lib import camera


def test_intrinsics_from_fov():
    K = camera.intrinsics_from_fov(64, 48, math.radians(60))
    f = 24 / math.tan(math.radians(30))
    assert torch.allclose(K, torch.tensor([[f, 0, 31.5], [0, f, 23.5], [0, 0, 1]]))
    assert K.dtype == torch.float32


@pytest.mark.parametrize("K, words", [
    (torch.eye(2), "shape"),
    (torch.tensor([[float("nan"), 0, 1], [0, 1, 1], [0, 0, 1]]), "non-finite"),
    (torch.tensor([[-1.0, 0, 1], [0, 1, 1], [0, 0, 1]]), "focal"),
    (torch.tensor([[1.0, 0, 1], [0, 1, 1], [0, 1, 1]]), "last row"),
])
def test_check_intrinsics_errors(K, words):
    with pytest.raises(ValueError, match=words):
        camera.check_intrinsics(K)


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
