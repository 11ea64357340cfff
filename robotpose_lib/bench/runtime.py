"""The paper's Table II on this machine: runtimes of each step for 480x640 inputs.

`robotpose bench runtime` (:func:`benchmark`) prints mean and
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

Beyond the paper, :func:`runtime_by_robot_count` (``robotpose bench instances``,
:func:`instances_benchmark`) times the instance stage for scenes with 1 to 6 robots: the
one-pass model (``tasks/onepass.py``) beside the recurrent one, whose cost grows with the
robots (issue 10's flatness target).

Models: the reference models ``assets/models/{robot}_{localization,instances}_cpu/``
when present, else untrained ``cpu``-config models (the output says which;
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


def cpu_model() -> str:
    """The CPU's model name as the operating system reports it (Linux ``/proc/cpuinfo``,
    else ``platform.processor()``), or "an unnamed CPU"."""
    import platform

    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "an unnamed CPU"


def _timer(device: torch.device):
    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)
    return sync


def build_models(robot: str, device, localization: str | None = None, instances: str | None = None):
    """(LocalizationNet, InstanceNet, depth coding, description, trained instances) from the
    given or the reference checkpoints (``tasks.load_reference``), falling back to untrained
    ``cpu``-config models."""
    import warnings

    from ..predictor import Predictor
    from ..tasks import load_reference

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a localization-only checkpoint: intended here
        loc = load_reference(robot, "localization", checkpoint=localization, device=device, fallback="untrained")
        inst = load_reference(robot, "instances", checkpoint=instances, device=device, fallback="untrained")
        if inst.trained:
            pred = Predictor.from_reference(inst, localization_checkpoint=loc.path, device=device)
            return pred.localization, pred.instances, pred.depth_coding, f"trained: {inst.path}", True
    what = (f"localization trained ({loc.path})" if loc.trained
            else "localization UNTRAINED cpu config")
    return loc.model, inst.model.instances, loc.task.targets.depth, what + "; instances UNTRAINED cpu config", False


def scene_with_robots(robot: str, robots: int, seed: int = 0):
    """A 480x640 synthetic sample with exactly ``robots`` visible robots."""
    from ..synth import generate_one, params_for

    params = params_for(robot, min_robots=robots, max_robots=robots, theta_vr=1.0)
    for index in range(50):
        sample = generate_one(robot, seed, index, *SIZE, params=params)
        if sample.num_robots == robots:
            return sample
    return sample


def measure_table_ii(robot: str = "panda_primitive", localization: str | None = None, instances: str | None = None,
                     device="auto", threads: int = 1, repeats: int = 10, baseline_repeats: int = 3, warmup: int = 2,
                     robots: int = 3, method: str = "nms") -> dict:
    """The paper's Table II measured on this machine (module docstring) for ``robot``'s
    reference models (or the checkpoints ``localization`` / ``instances``), with ``threads``
    torch CPU threads while it runs (0 keeps torch's).

    Returns:
        {"device": text, "models": text, "repeats", "warmup", "baseline_repeats",
        "rows": [{"step", "mean_ms", "std_ms", "paper_mean_ms", "paper_std_ms"}] (paper: NaN
        where the paper has no row), "baselines": [{"step", "baseline", "ours_ms",
        "baseline_ms", "baseline_std_ms", "speedup", "same_peaks", "peaks", "baseline_peaks",
        "max_dxy_px"}], "found": robots found in the ``robots``-robot scene, "scene_robots",
        "trained_instances": bool}.
    """
    device = resolve_device(device)
    with torch_threads(threads or torch.get_num_threads()):
        sync = _timer(device)
        loc, inst, coding, what, trained_instances = build_models(robot, device, localization, instances)
        net_size = tuple(loc.config.input_size)
        J = loc.num_joints
        cpu_name = f"{cpu_model()}, {os.cpu_count()} CPU cores, torch threads {torch.get_num_threads()}"
        gpu = f", {torch.cuda.get_device_name(device)}" if device.type == "cuda" else ""
        rows = []  # (label, mean, std, paper key or None)
        slow_repeats = max(3, repeats // 2)  # the 480x640 forward pass and the whole prediction

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
        # the paper timed 480x640 inputs only: its figures stand beside that row, not this one
        rows.append((f"belief prediction ({net_size[0]}x{net_size[1]} net input)", m, s, None))
        m, s, _ = measure(forward_at(SIZE), slow_repeats, 1, sync)
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
        from ..peaks import log_peaks, nms_peaks

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
        m, s, poses = measure(lambda: predictor(sample.image, sample.K), slow_repeats, 1, sync)
        rows.append((f"whole prediction ({sample.num_robots} robots, {method})", m, s, None))

        table = []
        for label, m, sd, key in rows:
            paper = PAPER_TABLE_II.get(key) if key else None
            table.append({"step": label, "mean_ms": m, "std_ms": sd,
                          "paper_mean_ms": paper[0] if paper else float("nan"),
                          "paper_std_ms": paper[1] if paper else float("nan")})
        return {"device": f"{device}{gpu}; {cpu_name}", "models": what, "repeats": repeats, "warmup": warmup,
                "slow_repeats": slow_repeats,
                "baseline_repeats": baseline_repeats, "rows": table,
                "baselines": [{"step": name, "baseline": bname, "ours_ms": ours, "baseline_ms": bm,
                               "baseline_std_ms": bs, "speedup": bm / ours, "same_peaks": bool(same),
                               "peaks": n_ours, "baseline_peaks": n_ref, "max_dxy_px": worst}
                              for name, bname, ours, bm, bs, (same, n_ours, n_ref, worst) in baselines],
                "found": len(poses), "scene_robots": sample.num_robots, "trained_instances": trained_instances}


def benchmark(robot: str = "panda_primitive", localization: str | None = None, instances: str | None = None,
              device="auto", threads: int = 1, repeats: int = 10, baseline_repeats: int = 3, warmup: int = 2,
              robots: int = 3, method: str = "nms") -> int:
    """Print the paper's Table II on this machine (:func:`measure_table_ii`) for ``robot``'s
    reference models (or the checkpoints ``localization`` / ``instances``), with ``threads``
    torch CPU threads while it runs (0 keeps torch's). Returns 1 when a baseline found other peaks."""
    result = measure_table_ii(robot, localization, instances, device, threads, repeats, baseline_repeats, warmup,
                              robots, method)
    device = resolve_device(device)
    print(f"device {result['device']}; models: {result['models']}")
    print(f"repeats {repeats} after {warmup} warm-up (baselines {baseline_repeats}); "
          f"AMP {'on' if device.type == 'cuda' else 'off'}")
    print()
    print(f"{'step (480x640 input)':44s} {'mean ms':>9s} {'std':>8s} {'paper ms':>9s} {'std':>7s}")
    for r in result["rows"]:
        ref = (f"{r['paper_mean_ms']:9.2f} {r['paper_std_ms']:7.2f}" if np.isfinite(r["paper_mean_ms"])
               else f"{'-':>9s} {'-':>7s}")
        print(f"{r['step']:44s} {r['mean_ms']:9.2f} {r['std_ms']:8.2f} {ref}")
    print()
    print(f"{'ours vs baseline':24s} {'ours ms':>9s} | {'baseline':22s} {'mean ms':>9s} {'std':>7s} "
          f"{'speed-up':>8s} | same peaks (ours/baseline, max dxy px)")
    status = 0
    for b in result["baselines"]:
        print(f"{b['step']:24s} {b['ours_ms']:9.2f} | {b['baseline']:22s} {b['baseline_ms']:9.2f} "
              f"{b['baseline_std_ms']:7.2f} {b['speedup']:7.1f}x | {'yes' if b['same_peaks'] else 'NO'} "
              f"({b['peaks']}/{b['baseline_peaks']}, {b['max_dxy_px']:.2f})")
        status |= 0 if b["same_peaks"] else 1
    log = result["baselines"][1]
    whole = result["rows"][-1]["mean_ms"]
    print(f"\nfound {result['found']} robot(s) in the {result['scene_robots']}-robot scene"
          + ("" if result["trained_instances"] else " (untrained instance model: forced to the robot count)"))
    print(f"target: LoG >= 20x faster than blob_log with the same peaks: "
          f"{'met' if log['speedup'] >= 20 and log['same_peaks'] else 'NOT met'} ({log['speedup']:.1f}x)")
    print(f"target: whole prediction < 1 s: {'met' if whole < 1000 else 'NOT met'} ({whole:.0f} ms on {device})")
    return status


def instance_timings(model, images, rounds: int, device, threads: int = 1) -> list[dict]:
    """Runtime per robot of an :class:`~robotpose_lib.tasks.InstanceModel` (chapter 3):
    milliseconds of the localization network (once per image) and of the instance model's
    work for ``images[k - 1]`` showing k robots (context module once, then k + 1 ConvGRU
    steps with their refine block: k robots and the end-of-sequence step), at each image's
    size (uint8 (H, W, 3) at the model's input size).

    Rounds interleave the images, so that a change in the machine's load during the
    measurement hits every robot count alike; medians ignore the odd slow run. ``threads``
    torch CPU threads while it runs (default 1, as Table II: one thread per process is
    what a busy machine can give each; more threads than free cores slow every step).

    Returns:
        one row per k: "robots", "localization ms" (median over all images: its work does
        not depend on the robots), "instance ms" (median), "instance IQR ms",
        "instance ms / robots" (the instance time divided by the robot count, its fixed
        cost included: not the cost of one more robot), "total ms".
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
    with torch.inference_mode(), torch_threads(threads):
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
                     "instance IQR ms": float(q75 - q25), "instance ms / robots": inst_ms / k,
                     "total ms": loc_ms + inst_ms})
    return rows


def _median_ms(times: list[float]) -> float:
    return float(np.median(times) * 1000.0)


@torch.no_grad()
def runtime_by_robot_count(onepass, convgru=None, robot: str = "panda_primitive", counts=(1, 2, 3, 4, 5, 6),
                           repeats: int = 10, warmup: int = 2, min_active_fraction: float | None = None,
                           seed: int = 0) -> list[dict]:
    """Milliseconds of the instance stage of a one-pass model (``tasks.OnePassModel``) beside
    a recurrent one (``tasks.InstanceModel``, optional) on 480x640 synthetic scenes with each
    robot count (:func:`scene_with_robots`), resized to the models' input size; medians
    over ``repeats``, rounds interleaved over counts and models (a shared machine's load
    spreads over all rows alike). CPU, the caller's thread count.

    Rows: "robots" asked, "scene_robots" rendered, "localization_ms" (forward pass, shared
    by both models), "onepass_ms" (head + decoding) and "onepass_found";
    "onepass_forced_ms" / "onepass_forced_found" (every local maximum of the heatmap a
    centre, at most ``robots`` of them, no area rule: the decoding cost with as many
    instances as robots, whatever the model finds); "convgru_ms" / "convgru_found" (its
    stopping rule) and "convgru_forced_ms" (exactly robots + 1 steps, the cost when it
    counts right) when ``convgru`` is given. ``min_active_fraction`` None: the models'
    default (``models.instances.DEFAULT_MIN_ACTIVE_FRACTION``).
    """
    from ..models.instances import DEFAULT_MIN_ACTIVE_FRACTION
    from ..targets import image_to_tensor, resize_sample

    fraction = DEFAULT_MIN_ACTIVE_FRACTION if min_active_fraction is None else min_active_fraction
    size = tuple(onepass.localization.config.input_size)
    scenes = {}
    for n in counts:
        sample = resize_sample(scene_with_robots(robot, n, seed), size)
        images = image_to_tensor(sample.image)[None]
        own = None if convgru is None else convgru.instance_input(images)  # its own localization weights
        scenes[n] = (sample.num_robots, images, onepass.instance_input(images), own)
    onepass.eval()
    if convgru is not None:
        convgru.eval()
    timers = {"localization_ms": lambda n: onepass.instance_input(scenes[n][1]),
              "onepass_ms": lambda n: onepass.instances.predict(scenes[n][2], size, min_active_fraction=fraction),
              "onepass_forced_ms": lambda n: onepass.instances.predict(scenes[n][2], size, min_active_fraction=0.0,
                                                                       max_instances=n, centre_threshold=0.0)}
    if convgru is not None:
        timers["convgru_ms"] = lambda n: convgru.instances.predict(scenes[n][3], size, min_active_fraction=fraction)
        timers["convgru_forced_ms"] = lambda n: convgru.instances.predict(scenes[n][3], size, min_active_fraction=0.0,
                                                                          max_instances=n + 1)
    times = {(key, n): [] for key in timers for n in counts}
    found = {}
    for r in range(warmup + repeats):
        for n in counts:
            for key, fn in timers.items():
                t0 = time.perf_counter()
                result = fn(n)
                dt = time.perf_counter() - t0
                if r >= warmup:
                    times[(key, n)].append(dt)
                if key != "localization_ms":
                    found[(key, n)] = len(result[0])
    rows = []
    for n in counts:
        row = {"robots": n, "scene_robots": scenes[n][0]}
        row.update({key: _median_ms(times[(key, n)]) for key in timers})
        row["onepass_found"] = found[("onepass_ms", n)]
        row["onepass_forced_found"] = found[("onepass_forced_ms", n)]
        if convgru is not None:
            row["convgru_found"] = found[("convgru_ms", n)]
        rows.append(row)
    return rows


def flatness(rows, key: str = "onepass_ms") -> dict:
    """How flat a runtime column of :func:`runtime_by_robot_count` is: {"last_over_first",
    "max_over_min"} over the robot counts."""
    values = [r[key] for r in rows]
    return {"last_over_first": values[-1] / values[0], "max_over_min": max(values) / min(values)}


def instances_benchmark(robot: str = "panda_primitive", onepass: str | None = None, convgru: str | None = None,
                        robots: int = 6, repeats: int = 10, warmup: int = 2, threads: int = 1,
                        json_path: str | None = None) -> int:
    """Instance-stage runtime for 1..``robots`` robots: a one-pass checkpoint (default the
    robot's shipped ``{robot}_onepass_cpu.pt``; skipped with a note when there is none)
    beside a ConvGRU instance checkpoint (default the robot's shipped reference; "none" to
    skip), on the CPU with ``threads`` torch threads; prints the table (and writes the rows
    with their flatness to ``json_path``)."""
    import os

    from ..checkpoint import reference_path
    from ..tasks import load_model

    if robots < 1:
        raise ValueError(f"robots: expected at least 1, got {robots}")
    if repeats < 1:
        raise ValueError(f"repeats: expected at least 1, got {repeats}")
    if warmup < 0:
        raise ValueError(f"warmup: expected 0 or more, got {warmup}")
    if onepass is None:
        from ..robots import get_robot

        get_robot(robot)  # an unknown robot is an error, not a missing model
        onepass = str(reference_path(robot, "onepass", "cpu"))
        if not os.path.isfile(onepass):
            print(f"no one-pass model at {onepass}: skipped (give --onepass CKPT)")
            return 0
    with torch_threads(threads or torch.get_num_threads()):
        model, task, _ = load_model(onepass, "cpu", expect={"task": "onepass", "robot": robot})
        if convgru is None:
            path = reference_path(task.robot, "instances", "cpu")
            convgru = str(path) if os.path.isfile(path) else None
        other = None
        if convgru and convgru.lower() != "none":
            other, _, _ = load_model(convgru, "cpu", expect={"task": "instances", "robot": task.robot})
        rows = runtime_by_robot_count(model, other, task.robot, tuple(range(1, robots + 1)), repeats, warmup)
    keys = [k for k in ("localization_ms", "onepass_ms", "onepass_forced_ms", "convgru_ms", "convgru_forced_ms")
            if k in rows[0]]
    print(f"one-pass {onepass}; ConvGRU {convgru if other is not None else '-'}; {repeats} repeats, "
          f"torch threads {threads}; median ms of the instance stage (found instances in brackets)")
    print(f"{'robots':>6s} " + " ".join(f"{k[:-3]:>18s}" for k in keys))
    for r in rows:
        cells = []
        for k in keys:
            count = r.get(k[:-3] + "_found")
            cells.append(f"{r[k]:10.2f}" + (f" ({count:2d})  " if count is not None else " " * 7))
        print(f"{r['robots']:6d} " + " ".join(f"{c:>18s}" for c in cells))
    summary = {k: flatness(rows, k) for k in keys if k != "localization_ms"}
    for k, f in summary.items():
        print(f"{k}: last/first {f['last_over_first']:.2f}, max/min {f['max_over_min']:.2f}")
    if json_path:
        from ..fileio import write_json_atomic

        write_json_atomic(json_path, {"onepass": onepass, "convgru": convgru if other is not None else None,
                                      "repeats": repeats, "threads": threads, "rows": rows, "flatness": summary})
    return 0
