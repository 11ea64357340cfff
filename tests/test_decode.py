"""Peaks (NMS, LoG) against exact synthetic positions and skimage/scipy; masking; 3D."""

import math

import numpy as np
import pytest
import scipy.ndimage as ndi
import torch
import torch.nn.functional as F
from skimage.feature import blob_log

from robotpose_lib import decode
from robotpose_lib import peaks as pk
from robotpose_lib.camera import Camera, project
from robotpose_lib.targets import DepthCoding


def gaussians(points, height, width, sigma, amplitude=1.0):
    """(len(points), H, W) float32 maps, one Gaussian per channel at (x, y)."""
    yy, xx = np.mgrid[:height, :width].astype(np.float64)
    maps = [amplitude * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma ** 2)) for x, y in points]
    return torch.tensor(np.stack(maps), dtype=torch.float32)


@pytest.fixture
def joints():
    rng = np.random.default_rng(3)
    return np.stack([rng.uniform(12, 84, 5), rng.uniform(12, 52, 5)], 1)  # (5, 2) x, y sub-pixel


@pytest.mark.parametrize("sigma", [2.0, 4.0])
def test_nms_subpixel_recovers_gaussian_centres(joints, sigma):
    maps = gaussians(joints, 64, 96, sigma)[None]
    xy, score = pk.max_peak_per_channel(maps, threshold=0.1)
    assert np.abs(xy[0].numpy() - joints).max() < 0.1
    assert (score > 0.9).all()
    peaks = pk.nms_peaks(maps, threshold=0.1)
    assert len(peaks) == len(joints) and peaks.channel.tolist() == list(range(len(joints)))
    assert np.abs(peaks.xy.numpy() - joints).max() < 0.1
    # without refinement the error is up to half a pixel: refinement is doing the work
    raw = pk.nms_peaks(maps, threshold=0.1, refine="none")
    assert np.abs(raw.xy.numpy() - joints).max() > 0.2


def test_nms_top_k_and_threshold():
    maps = gaussians([(10, 10), (40, 30), (70, 20)], 48, 96, 2.0).amax(0, keepdim=True)[None]
    maps[0, 0] *= torch.tensor([0.5, 1.0, 0.8]).repeat_interleave(32).view(1, 96)  # distinct heights
    assert len(pk.nms_peaks(maps, threshold=0.1)) == 3
    top = pk.nms_peaks(maps, threshold=0.1, top_k=2)
    assert len(top) == 2 and top.score[0] >= top.score[1]
    assert len(pk.nms_peaks(maps, threshold=0.9)) == 1


@pytest.mark.parametrize("sigma", [2.0, 4.0])
def test_log_subpixel_recovers_gaussian_centres(joints, sigma):
    maps = gaussians(joints, 64, 96, sigma)[None]
    peaks = pk.log_peaks(maps, threshold=0.1)
    assert len(peaks) == len(joints)
    assert np.abs(peaks.xy.numpy() - joints[peaks.channel.numpy()]).max() < 0.1
    # the scale-normalised response of a blob of std s peaks at sigma = s with value 1/2
    assert np.allclose(peaks.sigma.numpy(), sigma)
    assert np.allclose(peaks.score.numpy(), 0.5, atol=0.02)


def test_log_scale_space_matches_scipy_gaussian_laplace():
    rng = np.random.default_rng(0)
    img = rng.random((40, 50)).astype(np.float32)
    sigmas = (1.0, 2.5, 4.0, 12.0)  # 12: kernel radius 48 > 40 rows, repeated reflection
    cube = pk.log_scale_space(torch.from_numpy(img)[None, None], sigmas)[0, 0].numpy()
    ref = np.stack([-ndi.gaussian_laplace(img.astype(np.float64), s) * s * s for s in sigmas])
    assert np.abs(cube - ref).max() < 1e-5


def blob_log_peaks(channel_map, sigmas, threshold):
    b = blob_log(channel_map, min_sigma=sigmas[0], max_sigma=sigmas[-1], num_sigma=len(sigmas),
                 threshold=threshold, overlap=0.5)
    return sorted((float(r[1]), float(r[0]), round(float(r[2]), 6)) for r in b)


def our_peaks(peaks, channel):
    sel = peaks.channel == channel
    return sorted((float(p[0]), float(p[1]), round(float(s), 6))
                  for p, s in zip(peaks.pixel[sel].tolist(), peaks.sigma[sel].tolist()))


@pytest.mark.parametrize("mode", ["dense", "tiled", "sparse"])
def test_log_finds_the_same_peaks_as_skimage_blob_log(mode):
    rng = np.random.default_rng(1)
    H, W = 70, 90
    maps = []
    for _ in range(3):
        pts = np.stack([rng.uniform(0, W, 4), rng.uniform(0, H, 4)], 1)  # some near the border
        m = sum(rng.uniform(0.3, 1) * gaussians([p], H, W, rng.uniform(1.5, 5))[0] for p in pts)
        maps.append(np.clip(m.numpy() + rng.normal(0, 0.03, (H, W)), 0, None).astype(np.float32))
    maps = np.stack(maps)
    sigmas = np.linspace(1, 6, 6)
    peaks = pk.log_peaks(torch.from_numpy(maps)[None], sigmas=sigmas, threshold=0.08, mode=mode, tile=16)
    total = 0
    for j in range(3):
        ref = blob_log_peaks(maps[j], sigmas, 0.08)
        assert our_peaks(peaks, j) == ref
        total += len(ref)
    assert total >= 6  # the comparison is not vacuous
    if mode == "tiled":  # ... and tiles were skipped
        kernels = [pk._log_kernel(s) for s in sigmas]
        active = pk._active_tiles(torch.from_numpy(maps), kernels, 0.08, 16)
        assert 0 < active.sum() < active.numel()


def test_log_tiled_equals_dense_on_signed_noise():
    """The tile-skipping bound holds for any values, not only non-negative beliefs."""
    rng = np.random.default_rng(2)
    maps = torch.from_numpy(ndi.gaussian_filter(rng.normal(0, 1, (2, 3, 50, 70)), (0, 0, 2, 2))).float()
    sigmas = (1.0, 2.0, 3.0, 4.0)
    dense = pk.log_peaks(maps, sigmas, threshold=0.02, mode="dense", overlap=1)
    tiled = pk.log_peaks(maps, sigmas, threshold=0.02, mode="tiled", tile=16, overlap=1)
    assert len(dense) > 10
    key = lambda p: sorted(zip(p.batch.tolist(), p.channel.tolist(), map(tuple, p.pixel.tolist()), p.sigma.tolist()))
    assert key(dense) == key(tiled)


def key_of(p):
    return sorted(zip(p.batch.tolist(), p.channel.tolist(), map(tuple, p.pixel.tolist()), p.sigma.tolist(),
                      p.score.tolist()))


@pytest.mark.parametrize("noise", [0.0, 0.05, 0.15])
def test_log_sparse_equals_dense_on_noisy_beliefs(noise):
    """The sparse CPU path (plain and smoothed bounds, tile groups, whole-map slices) finds
    the dense scale space's peaks, scores and sub-pixel positions, on flat and on noisy
    maps (where every tile's plain bound is active), with blobs at the borders."""
    rng = np.random.default_rng(5)
    H, W = 120, 150
    pts = np.concatenate([rng.uniform(0, 1, (4, 2)) * [W, H], [[0.3, 0.2], [W - 1.2, H - 0.7]]])
    maps = gaussians(pts, H, W, 3.0) * torch.tensor(rng.uniform(0.4, 1, len(pts)), dtype=torch.float32)[:, None, None]
    maps = (maps + torch.tensor(rng.normal(0, noise, maps.shape), dtype=torch.float32)).clamp(0, 1)
    maps = maps.view(2, 3, H, W)
    sigmas = np.linspace(1, 8, 8)
    dense = pk.log_peaks(maps, sigmas, threshold=0.1, mode="dense")
    sparse = pk.log_peaks(maps, sigmas, threshold=0.1, mode="sparse", tile=16)
    assert len(dense) >= 6
    a, b = key_of(dense), key_of(sparse)
    assert [k[:4] for k in a] == [k[:4] for k in b]
    assert np.allclose([k[4] for k in a], [k[4] for k in b], atol=1e-5)
    order = lambda p: np.lexsort((p.pixel[:, 0].numpy(), p.pixel[:, 1].numpy(), p.channel.numpy(), p.batch.numpy()))
    assert np.abs(dense.xy.numpy()[order(dense)] - sparse.xy.numpy()[order(sparse)]).max() < 1e-3
    if noise:  # the smoothed bound did its job: the largest scales were not computed everywhere
        kernels = [pk._log_kernel(s) for s in sigmas]
        plain = pk._exceeds(pk._tile_bounds(maps.view(6, H, W), [(k.sigma ** 2, k) for k in kernels], 16),
                                0.1)
        assert plain[:, -1].float().mean() > 0.5
        tight = plain.clone()
        busy = tight.float().mean(dim=(2, 3)) > pk.SMOOTHED_BOUND_ABOVE
        pk._tighten(maps.view(6, H, W).numpy().copy(), tight, busy, kernels, 0.1, 16,
                        maps.view(6, H, W).abs().amax(dim=(1, 2)))
        assert tight[:, -1].float().mean() < 0.5 * plain[:, -1].float().mean()


def test_log_sparse_on_signed_values_and_nan():
    rng = np.random.default_rng(2)
    maps = torch.from_numpy(ndi.gaussian_filter(rng.normal(0, 1, (2, 3, 50, 70)), (0, 0, 2, 2))).float()
    maps[0, 1, 20:23, 30:33] = float("nan")
    sigmas = (1.0, 2.0, 3.0, 4.0)
    dense = pk.log_peaks(maps, sigmas, threshold=0.02, mode="dense", overlap=1)
    sparse = pk.log_peaks(maps, sigmas, threshold=0.02, mode="sparse", tile=16, overlap=1)
    assert len(dense) > 10
    near_nan = lambda p: ((p.batch == 0) & (p.channel == 1) & ((p.pixel - torch.tensor([31, 21])).abs().amax(1) < 20))
    keep_d, keep_s = ~near_nan(dense), ~near_nan(sparse)  # next to NaN the two paths may differ
    assert [k[:4] for k in key_of(dense.select(keep_d))] == [k[:4] for k in key_of(sparse.select(keep_s))]
    assert not torch.isnan(sparse.score).any()
    with pytest.raises(ValueError, match="sparse"):
        pk.log_peaks(maps[:, :, :10, :10], sigmas=(1.0, 8.0), mode="sparse")  # kernel wider than the map


def test_vectorised_disc_overlaps_match_blob_log_formula():
    rng = np.random.default_rng(0)
    p1, p2 = rng.uniform(0, 20, (500, 2)), rng.uniform(0, 20, (500, 2))
    s1, s2 = rng.choice([1.0, 2.0, 3.0, 8.0], 500), rng.choice([1.0, 2.0, 3.0, 8.0], 500)
    p2[:10] = p1[:10]
    one = np.array([pk._disc_overlap(a, b, c, d) for a, b, c, d in zip(p1, s1, p2, s2)])
    assert np.allclose(pk._disc_overlaps(p1, s1, p2, s2), one, atol=1e-12)


def test_max_filter_matches_max_pool():
    x = torch.randn(2, 3, 17, 23)
    for k in (1, 3, 5):
        assert torch.equal(pk._max_filter2d(x, k), F.max_pool2d(x, k, 1, k // 2))


def two_robot_scene():
    """Joint 0 of robot A at (20.3, 30.6), of robot B at (70.7, 25.2); masks split at x=45."""
    H, W = 60, 96
    a = gaussians([(20.3, 30.6), (30.2, 20.4)], H, W, 3.0)
    b = gaussians([(70.7, 25.2), (60.4, 40.9)], H, W, 3.0)
    beliefs = torch.maximum(a, b)
    masks = torch.zeros(2, H, W)
    masks[0, :, :45] = 1
    masks[1, :, 45:] = 1
    return beliefs, masks


def test_masking_removes_the_other_robots_peaks():
    beliefs, masks = two_robot_scene()
    masked = decode.mask_beliefs(beliefs, masks)  # (2, J, H, W)
    assert masked.shape == (2, 2, 60, 96)
    for method in ("nms", "log"):
        poses = decode.decode_poses(beliefs, torch.ones(60, 96), masks, np.eye(3), method=method)
        assert np.abs(poses[0].joints_2d - [(20.3, 30.6), (30.2, 20.4)]).max() < 0.1
        assert np.abs(poses[1].joints_2d - [(70.7, 25.2), (60.4, 40.9)]).max() < 0.1
        assert poses[0].score == poses[1].score == 1.0
    # unmasked, both robots' joint 0 are peaks of one map
    assert len(pk.nms_peaks(beliefs[None, :1], threshold=0.5)) == 2


def test_back_projection_round_trip_with_camera_project():
    K = torch.tensor([[300.0, 0, 47.5], [0, 310.0, 31.5], [0, 0, 1]])
    points = torch.tensor([[-0.2, 0.05, 2.0], [0.1, -0.1, 3.5], [0.15, 0.12, 5.0]])
    uv = project(points, K).numpy()
    beliefs = gaussians(uv, 64, 96, 4.0)
    # depth map: each joint's depth on a disc around it, stored as the network's code D
    coding = DepthCoding(z_min=0.1, z_max=20.0)  # the scene's depths inside its range
    yy, xx = np.mgrid[:64, :96]
    codes = np.full((64, 96), 0.1, np.float32)
    for (u, v), z in zip(uv, points[:, 2].numpy()):
        codes[(xx - u) ** 2 + (yy - v) ** 2 < 36] = coding.encode(z, math.sqrt(300.0 * 310.0), 96)
    grid = Camera(K.numpy(), (64, 96))
    pose = decode.decode_poses(beliefs, torch.from_numpy(codes)[None], None, grid, method="nms",
                               depth_coding=coding)[0]
    assert np.abs(pose.joints_2d - uv).max() < 0.1
    # 0.1 px at f = 300 px and z = 5 m is < 2 mm
    assert np.abs(pose.joints_3d - points.numpy()).max() < 2e-3
    # and the pinhole maths by hand for one joint
    u, v = pose.joints_2d[1]
    z = pose.joints_3d[1, 2]
    assert np.allclose(pose.joints_3d[1, :2], [(u - 47.5) / 300 * z, (v - 31.5) / 310 * z], atol=1e-5)


@pytest.mark.parametrize("method", ["nms", "log"])
def test_missing_joint_gives_nan_and_zero_score(method):
    beliefs, masks = two_robot_scene()
    beliefs = torch.cat([beliefs, torch.zeros(1, 60, 96)])  # joint 2: nothing anywhere
    beliefs[1, :, :45] = 0  # robot A's joint 1 is not visible
    poses = decode.decode_poses(beliefs, torch.full((60, 96), 2.0), masks, np.eye(3), method=method)
    a, b = poses
    for pose, missing in ((a, [1, 2]), (b, [2])):
        assert np.isnan(pose.joints_2d[missing]).all() and np.isnan(pose.joints_3d[missing]).all()
        assert (pose.joint_scores[missing] == 0).all()
        found = [j for j in range(3) if j not in missing]
        assert np.isfinite(pose.joints_3d[found]).all() and (pose.joint_scores[found] > 0.9).all()
        assert np.allclose(pose.joints_3d[found, 2], 2.0)


def test_invalid_depth_keeps_2d_and_gives_nan_3d():
    beliefs, _ = two_robot_scene()
    pose = decode.decode_poses(beliefs, torch.zeros(60, 96), None, np.eye(3))[0]
    assert np.isfinite(pose.joints_2d).all() and np.isnan(pose.joints_3d).all()


def test_bad_inputs_raise_one_line_errors():
    with pytest.raises(ValueError, match="beliefs"):
        pk.nms_peaks(torch.zeros(3, 10, 10))
    with pytest.raises(ValueError, match="kernel_size"):
        pk.nms_peaks(torch.zeros(1, 3, 10, 10), kernel_size=2)
    with pytest.raises(ValueError, match="mask"):
        decode.decode_poses(torch.zeros(3, 10, 10), torch.ones(10, 10), torch.ones(8, 10), np.eye(3))
    with pytest.raises(ValueError, match="method"):
        decode.decode_poses(torch.zeros(3, 10, 10), torch.ones(10, 10), None, np.eye(3), method="x")
    with pytest.raises(ValueError, match="sigmas"):
        pk.log_peaks(torch.zeros(1, 1, 10, 10), sigmas=())


def test_select_instances_ranks_by_joint_evidence_and_drops_duplicates_and_empty_robots():
    from robotpose_lib.decode import select_instances
    from robotpose_lib.types import RobotPose

    def pose(mask, joint_scores, score):
        joint_scores = np.asarray(joint_scores, np.float32)
        xy = np.where(joint_scores[:, None] > 0, 5.0, np.nan).repeat(2, 1).astype(np.float32)
        return RobotPose(joints_2d=xy, joints_3d=np.zeros((len(joint_scores), 3), np.float32),
                         joint_scores=joint_scores, mask=mask, score=score)

    left, right = np.zeros((8, 8), np.float32), np.zeros((8, 8), np.float32)
    left[:, :4], right[:, 4:] = 0.9, 0.9
    confident_but_empty = pose(right, [0, 0, 0], 0.99)         # a mask without any joint
    weak_mask_strong_joints = pose(left, [0.8, 0.9, 0.7], 0.6)
    duplicate = pose(left * 0.95, [0.5, 0.5, 0.5], 0.7)         # the same robot again
    kept = select_instances([confident_but_empty, duplicate, weak_mask_strong_joints])
    assert len(kept) == 1
    assert kept[0].joint_scores.tolist() == pytest.approx([0.8, 0.9, 0.7])
    assert kept[0].score == pytest.approx(0.6 * 0.8)
    assert len(select_instances([confident_but_empty], min_joints=0)) == 1
    with pytest.raises(ValueError, match="duplicate_iou"):
        select_instances([], duplicate_iou=0.0)
