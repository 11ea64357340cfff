"""`robotpose bench localization`: model size, training throughput and inference latency.

Prints, per configuration, parameters, forward FLOPs at the training input size,
training throughput in samples/s (one Adam step on a batch of random images with real
targets, the model alone; rendering is measured by ``robotpose bench synth``) and the
inference latency of one 480x640 image (last stage only) on the chosen device.

    robotpose bench localization [--train cpu,cpu_ft] [--infer cpu,paper] [--device cpu]
                                 [--batch-size 8] [--repeats 3] [--threads N]
"""
from __future__ import annotations

import time
from typing import Sequence

import numpy as np
import torch

from ..config import resolve_device, torch_threads
from ..losses import localization_loss
from ..models.localization import LocalizationNet, count_flops, count_parameters, get_config

NUM_JOINTS = 7  # Panda keypoints (DREAM's 7)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _targets(batch: int, size: tuple[int, int], device) -> dict[str, torch.Tensor]:
    """Sparse Gaussian belief targets like real ones (cost does not depend on values)."""
    H, W = size
    ys, xs = torch.meshgrid(torch.arange(H), torch.arange(W), indexing="ij")
    g = torch.exp(-((xs - W / 2) ** 2 + (ys - H / 2) ** 2) / 32.0)
    beliefs = g.expand(batch, NUM_JOINTS, H, W).contiguous()
    weight = (g >= 0.3).float().expand(batch, 1, H, W).contiguous()
    return {"beliefs": beliefs.to(device), "depth": (0.5 * weight).to(device),
            "weight": weight.to(device)}


def train_throughput(name: str, batch_size: int, repeats: int, device) -> float:
    """Samples per second of forward + backward + Adam step (median of ``repeats``)."""
    cfg = get_config(name)
    model = LocalizationNet(cfg, NUM_JOINTS).to(device).train()
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    x = torch.rand(batch_size, 3, *cfg.input_size, device=device)
    tgt = _targets(batch_size, cfg.input_size, device)
    times = []
    for i in range(repeats + 2):  # two warm-up steps: allocators, oneDNN kernel caches
        _sync(device)
        t0 = time.perf_counter()
        loss, _ = localization_loss(model(x).stages, tgt)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        _sync(device)
        if i >= 2:
            times.append(time.perf_counter() - t0)
    return batch_size / float(np.median(times))


def inference_latency(name: str, size: tuple[int, int], repeats: int, device) -> float:
    """Milliseconds for one image of ``size`` (last stage up-sampled), median."""
    model = LocalizationNet(get_config(name), NUM_JOINTS).to(device).eval()
    x = torch.rand(1, 3, *size, device=device)
    times = []
    with torch.no_grad():
        for i in range(repeats + 1):
            _sync(device)
            t0 = time.perf_counter()
            model(x, upsample="last")
            _sync(device)
            if i:
                times.append(time.perf_counter() - t0)
    return 1000 * float(np.median(times))


def benchmark(train: Sequence[str] = ("cpu", "cpu_ft"), infer: Sequence[str] = ("cpu", "paper"), device="cpu",
              batch_size: int = 8, repeats: int = 5, threads: int | None = None) -> int:
    """Print model sizes and FLOPs of the ``train`` and ``infer`` configs, training samples/s
    of ``train`` and 480x640 inference latency of ``infer`` (``threads``: torch CPU threads
    while it runs; None keeps torch's). Returns 0."""
    device = resolve_device(device)
    train_names, infer_names = list(train), list(infer)
    with torch_threads(threads or torch.get_num_threads()):
        print(f"device {device}, torch threads {torch.get_num_threads()}, J = {NUM_JOINTS}")
        print(f"{'config':8s} {'input':>9s} {'params':>9s} {'trainable':>9s} {'GFLOPs':>8s} "
              f"{'GFLOPs@480x640':>15s}")
        for name in dict.fromkeys(train_names + infer_names):
            cfg = get_config(name)
            model = LocalizationNet(cfg, NUM_JOINTS)
            print(f"{name:8s} {cfg.input_size[0]:>4d}x{cfg.input_size[1]:<4d} "
                  f"{count_parameters(model) / 1e6:8.2f}M {count_parameters(model, True) / 1e6:8.2f}M "
                  f"{count_flops(model, cfg.input_size) / 1e9:8.2f} "
                  f"{count_flops(model, (480, 640)) / 1e9:15.2f}", flush=True)
        print("(FLOPs: one image, forward, last stage up-sampled, 2 x multiply-adds)")
        for name in train_names:
            rate = train_throughput(name, batch_size, repeats, device)
            print(f"train {name:8s} batch {batch_size}: {rate:6.2f} samples/s "
                  f"({3600 * rate:,.0f} samples per hour)", flush=True)
        for name in infer_names:
            ms = inference_latency(name, (480, 640), repeats, device)
            print(f"infer {name:8s} 480x640: {ms:8.1f} ms per image", flush=True)
    return 0
