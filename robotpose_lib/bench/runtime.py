"""The paper's Table II on this machine: runtimes of each step for 480x640 inputs.

`robotpose bench runtime` (or ``python -m robotpose_lib.bench.runtime``; :func:`benchmark`) prints mean and
std milliseconds over repeats after warm-up, beside the paper's numbers (GTX 1080 Ti,
``metrics.PAPER_TABLE_II``):

* belief prediction: the localization forward pass (last stage up-sampled) at the
  model's input size (240x320 for the ``cpu`` config; a 480x640 image is resized first,
  as the :class:`~robotpose_lib.predictor.Predictor` does) and at the full 480x640;
* instance mask per robot: one recurrent step of the instance model (ConvGRU step +
  refine block, mask at the network input size); the per-image initial state (context
  module + input gates) on its own row;
* NMS and LoG on J 480x640 belief maps, with the baselines measured in the same run
  (``scipy.ndimage.maximum_filter`` NMS, ``skimage.feature.blob_log``), their speed-up
  ratios and whether the same peaks were found (the functions of ``bench.decode``);
* the whole prediction: ``Predictor`` on a 480x640 synthetic image with 3 robots
  (reading the array, resizing, both networks, decoding), target under 1 s on a CPU.

Models: the reference checkpoints ``assets/checkpoints/{robot}_{localization,instances}
_cpu.pt`` when present, else untrained ``cpu``-config models (the output says which;
runtime does not depend on the weights, except through the number of instances found,
which is capped at the scene's robot count with untrained instance models).
"""
from __future__ import annotations

import os
import time

import numpy as np
import torch

from ..config import resolve_device, torch_threads
from ..metrics import PAPER_TABLE_II
from .decode import _blob_log, _compare, _scipy_nms, measure, synthetic_beliefs

SIZE = (480, 640)


def _timer(device: torch.device):
    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)
    return sync


def build_models(robot: str, device, localization: str | None = None, instances: str | None = None):
    """(LocalizationNet, InstanceNet, depth coding, description) from the given or the
    reference checkpoints, falling back to untrained ``cpu``-config models."""
    from ..models.instances import InstanceNet
    from ..models.instances import get_config as instance_config
    from ..models.localization import LocalizationNet
    from ..models.localization import get_config as localization_config
    from ..predictor import Predictor, pretrained_paths
    from ..targets import depth_coding_for
    from ..tasks import num_joints_of

    loc_path, inst_path = pretrained_paths(robot)
    loc_path = localization or loc_path
    inst_path = instances or inst_path
    if os.path.isfile(inst_path):
        pred = Predictor.load(inst_path, localization_checkpoint=loc_path if os.path.isfile(loc_path) else None,
                              robot=robot, device=device)
        return pred.localization, pred.instances, pred.depth_coding, f"trained: {inst_path}", True
    J = num_joints_of(robot)
    if os.path.isfile(loc_path):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pred = Predictor.load(loc_path, robot=robot, device=device)
        loc, coding, what = pred.localization, pred.depth_coding, f"localization trained ({loc_path})"
    else:
        loc = LocalizationNet(localization_config("cpu", backbone_weights=None), J).to(device).eval()
        coding, what = depth_coding_for(robot), "localization UNTRAINED cpu config"
    inst = InstanceNet(loc.backbone.out_channels + J + 1, instance_config("cpu")).to(device).eval()
    return loc, inst, coding, what + "; instances UNTRAINED cpu config", False


def scene_with_robots(robot: str, robots: int, seed: int = 0):
    """A 480x640 synthetic sample with exactly ``robots`` visible robots."""
    from ..synth import generate_one, params_for

    params = params_for(robot, min_robots=robots, max_robots=robots, theta_vr=1.0)
    for index in range(50):
        sample = generate_one(robot, seed, index, *SIZE, params=params)
        if sample.num_robots == robots:
            return sample
    return sample


def benchmark(robot: str = "panda", localization: str | None = None, instances: str | None = None,
              device="auto", threads: int = 1, repeats: int = 10, baseline_repeats: int = 3, warmup: int = 2,
              robots: int = 3, method: str = "nms") -> int:
    """Print the paper's Table II on this machine (module docstring) for ``robot``'s reference
    models (or the checkpoints ``localization`` / ``instances``), with ``threads`` torch CPU
    threads while it runs (0 keeps torch's). Returns 1 when a baseline found other peaks."""
    device = resolve_device(device)
    with torch_threads(threads or torch.get_num_threads()):
        sync = _timer(device)
        loc, inst, coding, what, trained_instances = build_models(robot, device, localization, instances)
        net_size = tuple(loc.config.input_size)
        J = loc.num_joints
        cpu_name = f"{os.cpu_count()} CPU cores, torch threads {torch.get_num_threads()}"
        gpu = f", {torch.cuda.get_device_name(device)}" if device.type == "cuda" else ""
        print(f"device {device}{gpu}; {cpu_name}; models: {what}")
        print(f"repeats {repeats} after {warmup} warm-up (baselines {baseline_repeats}); "
              f"AMP {'on' if device.type == 'cuda' else 'off'}")
        rows = []  # (label, mean, std, paper key or None)

        # --- belief prediction
        autocast = torch.autocast(device_type="cuda", dtype=torch.float16, enabled=device.type == "cuda")
        image = torch.rand(1, 3, *SIZE, device=device)

        def forward_at(size):
            def run():
                with torch.inference_mode(), autocast:
                    x = image if size == SIZE else torch.nn.functional.interpolate(image, size=size, mode="area")
                    return loc(x, upsample="last")
            return run

        m, s, out_net = measure(forward_at(net_size), repeats, warmup, sync)
        rows.append((f"belief prediction ({net_size[0]}x{net_size[1]} net input)", m, s, "belief prediction"))
        m, s, _ = measure(forward_at(SIZE), max(3, repeats // 2), 1, sync)
        rows.append(("belief prediction (480x640 net input)", m, s, "belief prediction"))

        # --- instance model
        F = torch.cat([out_net.features, out_net.low_res[-1]], dim=1)
        with torch.inference_mode(), autocast:
            h0, gates = inst.initial_state(F)

        def init():
            with torch.inference_mode(), autocast:
                return inst.initial_state(F)

        def one_step():
            with torch.inference_mode(), autocast:
                return inst.step(gates, h0, net_size)

        m, s, _ = measure(init, repeats, warmup, sync)
        rows.append(("instance initial state (per image)", m, s, None))
        m, s, _ = measure(one_step, repeats, warmup, sync)
        rows.append(("instance mask (per robot)", m, s, "instance mask (per robot)"))

        # --- peak finding on 480x640 maps, ours vs baselines (bench.decode's functions)
        from ..decode import log_peaks, nms_peaks

        maps, _ = synthetic_beliefs(J, *SIZE)
        beliefs = torch.from_numpy(maps)[None].to(device)
        sigmas = np.linspace(1.0, 8.0, 8)
        threshold = 0.1
        m, s, p = measure(lambda: nms_peaks(beliefs, threshold=threshold, refine="none"), repeats, warmup, sync)
        nms_ours = [p.pixel[p.channel == j].cpu().numpy() for j in range(J)]
        bm, bs, nms_ref = measure(lambda: _scipy_nms(maps, threshold), baseline_repeats, 1, lambda: None)
        rows.append(("joint localization NMS", m, s, "joint localization NMS"))
        baselines = [("NMS", "scipy maximum_filter", m, bm, bs, _compare(nms_ours, nms_ref))]
        m, s, p = measure(lambda: log_peaks(beliefs, sigmas=sigmas, threshold=threshold, refine="none"),
                          repeats, warmup, sync)
        log_ours = [np.concatenate([p.pixel[p.channel == j].cpu().numpy(),
                                    p.sigma[p.channel == j, None].cpu().numpy()], 1) for j in range(J)]
        bm, bs, log_ref = measure(lambda: _blob_log(maps, sigmas, threshold, 0.5), baseline_repeats, 1, lambda: None)
        rows.append(("joint localization LoG", m, s, "joint localization LoG"))
        baselines.append(("LoG", "skimage blob_log", m, bm, bs, _compare(log_ours, log_ref)))

        # --- whole prediction
        from ..predictor import Predictor

        sample = scene_with_robots(robot, robots)
        # An untrained instance model finds an arbitrary number of robots: make it produce
        # exactly the scene's count (every step accepted, steps capped) so that the time is
        # that of a 3-robot prediction.
        limits = {} if trained_instances else {"max_instances": robots, "min_active_fraction": 0.0}
        predictor = Predictor(loc, inst, robot, depth_coding=coding, device=device, method=method, **limits)
        m, s, poses = measure(lambda: predictor(sample.image, sample.K), max(3, repeats // 2), 1, sync)
        rows.append((f"whole prediction ({sample.num_robots} robots, {method})", m, s, None))

        print()
        print(f"{'step (480x640 input)':44s} {'mean ms':>9s} {'std':>8s} {'paper ms':>9s} {'std':>7s}")
        for label, m, s, key in rows:
            paper = PAPER_TABLE_II.get(key) if key else None
            ref = f"{paper[0]:9.2f} {paper[1]:7.2f}" if paper else f"{'-':>9s} {'-':>7s}"
            print(f"{label:44s} {m:9.2f} {s:8.2f} {ref}")
        print()
        print(f"{'ours vs baseline':24s} {'ours ms':>9s} | {'baseline':22s} {'mean ms':>9s} {'std':>7s} "
              f"{'speed-up':>8s} | same peaks (ours/baseline, max dxy px)")
        status = 0
        for name, bname, ours, bm, bs, (same, n_ours, n_ref, worst) in baselines:
            print(f"{name:24s} {ours:9.2f} | {bname:22s} {bm:9.2f} {bs:7.2f} {bm / ours:7.1f}x | "
                  f"{'yes' if same else 'NO'} ({n_ours}/{n_ref}, {worst:.2f})")
            status |= 0 if same else 1
        log_speedup = baselines[1][3] / baselines[1][2]
        whole = rows[-1][1]
        print(f"\nfound {len(poses)} robot(s) in the {sample.num_robots}-robot scene"
              + ("" if trained_instances else " (untrained instance model: forced to the robot count)"))
        print(f"target: LoG >= 20x faster than blob_log with the same peaks: "
              f"{'met' if log_speedup >= 20 and baselines[1][5][0] else 'NOT met'} ({log_speedup:.1f}x)")
        print(f"target: whole prediction < 1 s: {'met' if whole < 1000 else 'NOT met'} ({whole:.0f} ms on {device})")
        return status


def instance_timings(model, images, rounds: int, device) -> list[dict]:
    """Runtime per robot of an :class:`~robotpose_lib.tasks.InstanceModel` (chapter 3):
    milliseconds of the localization network (once per image) and of the instance model's
    work for ``images[k - 1]`` showing k robots (context module once, then k + 1 ConvGRU
    steps with their refine block: k robots and the end-of-sequence step), at each image's
    size (uint8 (H, W, 3) at the model's input size).

    Rounds interleave the images, so that a change in the machine's load during the
    measurement hits every robot count alike; medians ignore the odd slow run.

    Returns:
        one row per k: "robots", "localization ms" (median over all images: its work does
        not depend on the robots), "instance ms" (median), "instance IQR ms",
        "instance ms per robot", "total ms".
    """
    from ..targets import image_to_tensor

    sync = _timer(torch.device(device))

    def milliseconds(fn) -> float:
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        return 1000 * (time.perf_counter() - t0)

    def instance_steps(F, k, size):
        h, gates = model.instances.initial_state(F)  # context module: once per image
        for _ in range(k + 1):  # k robots and the end-of-sequence step
            _, h = model.instances.step(gates, h, size)

    times = {k: {"localization": [], "instance": []} for k in range(1, len(images) + 1)}
    with torch.inference_mode():
        inputs = {k: image_to_tensor(image)[None].to(device) for k, image in enumerate(images, start=1)}
        features = {k: model.instance_input(x) for k, x in inputs.items()}
        for k in inputs:  # warm-up
            instance_steps(features[k], k, tuple(inputs[k].shape[-2:]))
        for _ in range(rounds):
            for k in inputs:
                size = tuple(inputs[k].shape[-2:])
                times[k]["localization"].append(milliseconds(lambda: model.instance_input(inputs[k])))
                times[k]["instance"].append(milliseconds(lambda: instance_steps(features[k], k, size)))
    loc_ms = float(np.median([x for t in times.values() for x in t["localization"]]))
    rows = []
    for k, t in times.items():
        inst_ms = float(np.median(t["instance"]))
        q25, q75 = np.percentile(t["instance"], [25, 75])
        rows.append({"robots": k, "localization ms": loc_ms, "instance ms": inst_ms,
                     "instance IQR ms": float(q75 - q25), "instance ms per robot": inst_ms / k,
                     "total ms": loc_ms + inst_ms})
    return rows


if __name__ == "__main__":  # python -m robotpose_lib.bench.runtime ARGS = robotpose bench runtime ARGS
    import sys

    from robotpose_lib.cli import main

    sys.exit(main(["bench", "runtime", *sys.argv[1:]]))
