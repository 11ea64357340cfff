"""Peak finding on 480x640 belief maps: our NMS / LoG against scipy / skimage baselines.

`robotpose bench decode` (:func:`benchmark`) prints mean and
std milliseconds over repeats after warm-up, the speed-up ratios, and whether the same
peaks were found, beside the paper's Table II (GTX 1080 Ti; their LoG an untuned CPU
implementation). The maps are J Gaussians of std ``--blob-sigma`` px at random joints
plus Gaussian noise, clipped to [0, 1] like sigmoid outputs, in two settings measured in
the same run:

* sparse (``--noise``, default 0.02): flat maps, a few tiles can hold a LoG peak;
* noisy (``--noisy-noise``, default 0.1): every tile's plain bound calls it active and the
  finest scale has peaks everywhere (hundreds of blobs per map).

Targets: LoG >= 20x faster than ``skimage.feature.blob_log`` on sparse maps and >= 10x on
noisy ones, with the same peaks. Torch and OpenCV run with ``--threads`` threads (default
1, like the single-threaded baselines).
"""
from __future__ import annotations

import time

import numpy as np
import torch

from robotpose_lib.config import resolve_device, torch_threads
from robotpose_lib.peaks import log_peaks, nms_peaks

PAPER_MS = {"nms": (0.41, 0.125), "log": (310.0, 3.225)}


def synthetic_beliefs(num_joints: int = 7, height: int = 480, width: int = 640, blob_sigma: float = 4.0,
                      noise: float = 0.02, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """float32 (J, H, W) maps in [0, 1] and the true joint positions (J, 2) (x, y)."""
    rng = np.random.default_rng(seed)
    joints = np.stack([rng.uniform(20, width - 20, num_joints), rng.uniform(20, height - 20, num_joints)], 1)
    yy, xx = np.mgrid[:height, :width].astype(np.float32)
    maps = np.exp(-((xx[None] - joints[:, 0, None, None]) ** 2 + (yy[None] - joints[:, 1, None, None]) ** 2)
                  / (2 * blob_sigma ** 2))
    maps = maps + rng.normal(0, noise, maps.shape)
    return np.clip(maps, 0, 1).astype(np.float32), joints


def measure(fn, repeats: int, warmup: int, sync) -> tuple[float, float, object]:
    """(mean ms, std ms, last result) of ``fn()`` over ``repeats`` after ``warmup`` calls."""
    out = None
    for _ in range(warmup):
        out = fn()
    sync()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        sync()
        times.append((time.perf_counter() - t0) * 1e3)
    return float(np.mean(times)), float(np.std(times)), out


def _scipy_nms(maps: np.ndarray, threshold: float) -> list[np.ndarray]:
    from scipy.ndimage import maximum_filter
    pooled = maximum_filter(maps, size=(1, 3, 3), mode="constant", cval=-np.inf)
    j, y, x = np.nonzero((maps == pooled) & (maps > threshold))
    return [np.stack([x[j == c], y[j == c]], 1) for c in range(maps.shape[0])]


def _blob_log(maps: np.ndarray, sigmas: np.ndarray, threshold: float, overlap: float) -> list[np.ndarray]:
    from skimage.feature import blob_log
    out = []
    for m in maps:
        blobs = blob_log(m, min_sigma=sigmas[0], max_sigma=sigmas[-1], num_sigma=len(sigmas),
                         threshold=threshold, overlap=overlap)
        out.append(np.stack([blobs[:, 1], blobs[:, 0], blobs[:, 2]], 1) if len(blobs) else np.zeros((0, 3)))
    return out


def _compare(ours: list[np.ndarray], ref: list[np.ndarray]) -> tuple[bool, int, int, float]:
    """(same sets, our count, reference count, max position difference px of matched)."""
    same, worst = True, 0.0
    for a, b in zip(ours, ref):
        a = np.asarray(sorted(map(tuple, np.asarray(a, float).tolist())))
        b = np.asarray(sorted(map(tuple, np.asarray(b, float).tolist())))
        if a.shape != b.shape:
            same = False
            continue
        if len(a):
            diff = np.abs(a - b).max()
            worst = max(worst, float(np.abs(a[:, :2] - b[:, :2]).max()))
            same &= bool(diff == 0)
    return same, sum(len(a) for a in ours), sum(len(b) for b in ref), worst


def run_setting(label: str, maps: np.ndarray, sigmas: np.ndarray, threshold: float, device, sync,
                repeats: int, baseline_repeats: int, warmup: int) -> list[tuple]:
    """Rows (name, ms, std, paper key, baseline name, baseline ms, std, comparison) for one
    set of maps."""
    J = maps.shape[0]
    beliefs = torch.from_numpy(maps)[None].to(device)

    def ours_nms():
        return nms_peaks(beliefs, threshold=threshold, refine="none")

    def ours_log():
        return log_peaks(beliefs, sigmas=sigmas, threshold=threshold, refine="none")

    rows = []
    m, s, p = measure(ours_nms, repeats, warmup, sync)
    nms_ours = [p.pixel[p.channel == j].cpu().numpy() for j in range(J)]
    bm, bs, nms_ref = measure(lambda: _scipy_nms(maps, threshold), baseline_repeats, 1, lambda: None)
    rows.append((f"NMS {label}", m, s, "nms", "scipy maximum_filter", bm, bs, _compare(nms_ours, nms_ref)))
    m, s, p = measure(ours_log, repeats, warmup, sync)
    log_ours = [np.concatenate([p.pixel[p.channel == j].cpu().numpy(), p.sigma[p.channel == j, None].cpu().numpy()],
                               1) for j in range(J)]
    bm, bs, log_ref = measure(lambda: _blob_log(maps, sigmas, threshold, 0.5), baseline_repeats, 1, lambda: None)
    rows.append((f"LoG {label}", m, s, "log", "skimage blob_log", bm, bs, _compare(log_ours, log_ref)))
    return rows


def benchmark(joints: int = 7, height: int = 480, width: int = 640, blob_sigma: float = 4.0, noise: float = 0.02,
              noisy_noise: float = 0.1, sigmas: tuple[float, float, int] = (1.0, 8.0, 8), threshold: float = 0.1,
              repeats: int = 10, baseline_repeats: int = 3, warmup: int = 2, threads: int = 1, device="cpu",
              seed: int = 0) -> int:
    """NMS and LoG on synthetic belief maps (sparse, and noisy unless ``noisy_noise`` is 0)
    against scipy / skimage (module docstring). ``sigmas``: LoG (min, max, num) as
    blob_log's linspace; ``threads``: torch and OpenCV CPU threads while it runs. Returns 1
    when a baseline found other peaks."""
    import cv2

    with torch_threads(threads):
        cv2_threads = cv2.getNumThreads()
        cv2.setNumThreads(threads)
        try:
            device = resolve_device(device)
            sync = (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else (lambda: None)
            lo, hi, num = sigmas
            sigmas = np.linspace(float(lo), float(hi), int(num))
            print(f"maps: J={joints} {height}x{width}, blob sigma {blob_sigma} px; LoG sigmas "
                  f"{np.round(sigmas, 3).tolist()}, threshold {threshold}; device {device}, threads "
                  f"{torch.get_num_threads()} (torch), {cv2.getNumThreads()} (OpenCV)")
            settings = [("sparse", noise, 20.0)]
            if noisy_noise > 0:
                settings.append(("noisy", noisy_noise, 10.0))
            rows, targets = [], []
            for label, noise, target in settings:
                maps, _ = synthetic_beliefs(joints, height, width, blob_sigma, noise, seed)
                found = run_setting(f"{label} ({noise:g})", maps, sigmas, threshold, device, sync, repeats,
                                    baseline_repeats, warmup)
                rows += found
                targets.append((label, target, found[1]))
        finally:
            cv2.setNumThreads(cv2_threads)
        print(f"{'task':20s} {'mean ms':>9s} {'std':>7s} {'paper ms':>9s} | {'baseline':22s} {'mean ms':>9s} "
              f"{'std':>7s} {'speed-up':>8s} | same peaks (ours/baseline, max dxy px)")
        status = 0
        for name, m, s, key, bname, bm, bs, (same, n_ours, n_ref, worst) in rows:
            pm, ps = PAPER_MS[key]
            print(f"{name:20s} {m:9.2f} {s:7.2f} {pm:9.2f} | {bname:22s} {bm:9.2f} {bs:7.2f} {bm / m:7.1f}x | "
                  f"{'yes' if same else 'NO'} ({n_ours}/{n_ref}, {worst:.2f})")
            status |= 0 if same else 1
        for label, target, row in targets:
            speedup = row[5] / row[1]
            met = speedup >= target and row[7][0]
            print(f"target: LoG >= {target:.0f}x faster than blob_log on {label} maps with the same peaks: "
                  f"{'met' if met else 'NOT met'} ({speedup:.1f}x)")
        return status
