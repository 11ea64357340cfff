"""`robotpose bench train`: training throughput of the shipped recipe against plain fp32.

One optimiser step (forward, loss, backward, Adam) of the localization task on a real
rendered batch, timed as the median of ``--repeats`` steps after two warm-up steps, in
samples per second. Rendering is left out: it runs in a DataLoader worker in parallel
(``robotpose bench synth`` measures it; about 50 samples/s at 240x320 on one core, so it
does not limit training). Variants, all in the same run:

* ``fp32 eager``      the baseline: float32, NCHW, every stage up-sampled (paper eq. 3);
* ``+ channels_last`` NHWC memory format;
* ``+ bf16``          bfloat16 autocast where the CPU has native bf16 (``config.autocast_dtype``);
* ``shipped``         the above plus intermediate stages supervised at the backbone grid
  (``LocalizationTask(intermediate="low_res")``): the recipe ``robotpose train`` uses.

    robotpose bench train [--config cpu] [--robot panda] [--batch-size 8] [--repeats 5]
                          [--threads 1] [--device cpu]
"""
from __future__ import annotations

import time

import numpy as np
import torch

from ..config import autocast_dtype, resolve_device, torch_threads


def step_throughput(task, batch: dict, device, amp: bool, channels_last: bool, repeats: int) -> float:
    """Samples per second of one training step of ``task`` on ``batch`` (median)."""
    torch.manual_seed(0)
    model = task.build_model().to(device).train()
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    batch = {k: v.to(device) for k, v in batch.items()}
    if channels_last:
        batch["images"] = batch["images"].contiguous(memory_format=torch.channels_last)
    dtype = autocast_dtype(device) if amp else None
    times = []
    for i in range(repeats + 2):  # two warm-up steps: allocator, oneDNN kernel caches
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t0 = time.perf_counter()
        with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
            loss, _ = task.loss(model, batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if i >= 2:
            times.append(time.perf_counter() - t0)
    return len(batch["images"]) / float(np.median(times))


def throughput(config: str = "cpu", robot: str = "panda", batch_size: int = 8, repeats: int = 5, threads: int = 1,
               device="cpu") -> list[dict]:
    """Training samples per second of ``config`` for ``robot`` in each variant (module
    docstring), measured in this run with ``threads`` torch CPU threads.

    Returns:
        rows {"variant", "samples_per_s", "speedup"} (speedup: over "fp32 eager"), plus
        "device", "threads", "input" (H, W) and "batch" in every row.
    """
    from ..data import SyntheticDataset
    from ..tasks import localization_task

    if batch_size < 1 or repeats < 1:
        raise ValueError(f"batch_size and repeats: must be at least 1, got {batch_size}, {repeats}")
    device = resolve_device(device)
    paper = localization_task(config, robot)
    shipped = localization_task(config, robot, intermediate="low_res")
    data = SyntheticDataset(robot, batch_size, size=paper.input_size, seed=0)
    batch = paper.collate([data[i] for i in range(batch_size)])
    dtype = autocast_dtype(device)
    variants = [("fp32 eager", paper, False, False), ("+ channels_last", paper, False, True),
                (f"+ {dtype}".replace("torch.", "") if dtype else "+ amp (not native here)", paper, True, True),
                ("shipped (+ low-res intermediate loss)", shipped, True, True)]
    rows = []
    with torch_threads(threads):
        for label, task, amp, cl in variants:
            rate = step_throughput(task, batch, device, amp, cl, repeats)
            rows.append({"variant": label, "samples_per_s": rate, "speedup": rate / rows[0]["samples_per_s"]
                         if rows else 1.0, "device": str(device), "threads": threads,
                         "input": tuple(paper.input_size), "batch": batch_size})
    return rows


def benchmark(config: str = "cpu", robot: str = "panda", batch_size: int = 8, repeats: int = 5, threads: int = 1,
              device="cpu") -> int:
    """Print training steps per second of ``config`` for ``robot`` (:func:`throughput`):
    fp32 eager, + channels_last, + native mixed precision, and the shipped recipe (+ the
    low-res intermediate loss), with ``threads`` torch CPU threads. Returns 0."""
    device = resolve_device(device)
    from ..tasks import localization_task

    H, W = localization_task(config, robot).input_size
    print(f"device {device}, torch threads {threads}, config {config}, robot {robot}, "
          f"batch {batch_size}, input {H}x{W}")
    for row in throughput(config, robot, batch_size, repeats, threads, device):
        print(f"{row['variant']:40s} {row['samples_per_s']:7.2f} samples/s  {row['speedup']:5.2f}x fp32 eager",
              flush=True)
    return 0
