"""Why is depth barely learned? Measurements on the synthetic test set (issue 10, item 1).

For a localization checkpoint, on n test scenes at the model's input size:

* floor: the training target itself, pooled to the backbone's grid and brought back to the
  input size as the network does (nearest), decoded: the error a perfect low-resolution
  prediction would still make (disc edges, neighbouring discs, the clamped range);
* the model's Table I error (every weight pixel) and its error in code units D;
* joint depth read at the true joint pixel against the median over the joint's disc;
* scale: a least-squares fit of predicted against true depth per joint (slope, R^2) and the
  error left after an oracle affine correction (if it drops a lot, the network has the
  ordering but a biased scale);
* per-robot scale: the error left after dividing each robot's joint depths by its own median
  ratio predicted/true (oracle): distance error against shape error;
* loss balance: the belief and depth terms of eq. 1 on the same batches.

Usage: python scripts/depth_diagnosis.py CHECKPOINT [--n 40] [--json OUT]
       python scripts/depth_diagnosis.py --toy [--json OUT]   (robotpose_lib.toy_depth: the
       paper's inverse code against the log code on toy balls, 2 seeds x 1000 steps, ~5 min)
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import asdict

import numpy as np
import torch
import torch.nn.functional as F

from robotpose_lib.camera import Camera
from robotpose_lib.eval.localization import true_depth_map
from robotpose_lib.fileio import dumps_json, write_json_atomic
from robotpose_lib.eval.testset import test_dataset
from robotpose_lib.losses import localization_loss, pool_targets
from robotpose_lib.targets import DepthCoding, LocalizationCollate, resize_sample
from robotpose_lib.tasks import load_model
from robotpose_lib.toy_depth import train_toy_depth

NEAR_M = 5.0  # Table I's split (kuka_kr16: 0-5 m near, 5-10 m far)


def summary(errors_cm: np.ndarray, true_m: np.ndarray, split: float) -> dict:
    out = {}
    for name, sel in (("near", true_m < split), ("far", true_m >= split), ("all", true_m > 0)):
        e = errors_cm[sel]
        out[name] = {"mean_cm": float(e.mean()) if len(e) else None,
                     "median_cm": float(np.median(e)) if len(e) else None, "n": int(len(e))}
    return out


def toy_study(json_path: str | None) -> None:
    rows = []
    for seed in (0, 1):
        for kind in DepthCoding.KINDS:
            r = train_toy_depth(kind, steps=1000, seed=seed)
            print(r, flush=True)
            rows.append({**asdict(r), "seed": seed, "steps": 1000, "batch": 16})
    if json_path:
        write_json_atomic(json_path, {"toy_depth": rows})


def main(argv: list[str] | None = None) -> int:
    """Exit codes as robotpose's: 0 done, 1 a failed input (one line on stderr), 2 usage."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("checkpoint", nargs="?", help="a localization checkpoint")
    ap.add_argument("--n", type=int, default=40, help="test scenes (default 40)")
    ap.add_argument("--json")
    ap.add_argument("--toy", action="store_true", help="the toy study instead of a checkpoint")
    args = ap.parse_args(argv)
    if args.toy and args.checkpoint:
        ap.error("give a CHECKPOINT or --toy, not both")
    if not args.toy and not args.checkpoint:
        ap.error("give a CHECKPOINT or --toy")
    if args.n < 1:
        ap.error(f"--n: expected at least 1 test scene, got {args.n}")
    torch.set_num_threads(1)
    try:
        if args.toy:
            toy_study(args.json)  # trains: gradients on
        else:
            with torch.no_grad():
                diagnose(args)
    except (ValueError, OSError, RuntimeError) as err:  # CheckpointError is a ValueError
        text = str(err).splitlines()[0] if str(err) else type(err).__name__
        print(f"depth_diagnosis.py: error: {text}", file=sys.stderr)
        return 1
    return 0


def diagnose(args) -> None:
    model, task, ckpt = load_model(args.checkpoint, device="cpu", expect={"task": "localization"})
    coding = task.targets.depth
    H, W = task.input_size
    stride = model.stride
    split = NEAR_M if task.robot == "kuka_kr16" else 1.0
    data = test_dataset(task.robot, args.n, (H, W))
    collate = LocalizationCollate((H, W), task.targets)
    pix_err, pix_err_floor, pix_true, d_units = [], [], [], []
    joint_true, joint_at_px, joint_median, joint_robot = [], [], [], []
    belief_terms, depth_terms = [], []
    for i in range(len(data)):
        s = resize_sample(data[i], (H, W))
        grid = Camera(s.K, (H, W))
        batch = collate([s])
        out = model(batch["images"], upsample="all")
        loss, parts = localization_loss(out.stages, batch, 1.0)
        belief_terms.append(parts[f"belief_{len(out.stages) - 1}"])
        depth_terms.append(parts[f"depth_{len(out.stages) - 1}"])
        d_pred = out.stages[-1][1][0, 0].float().numpy().astype(np.float64)
        z_pred = grid.metric_depth(d_pred, coding, W)
        z_true = true_depth_map(s, task.targets)
        region = z_true > 0
        if not region.any():
            continue
        # floor: the targets pooled to the backbone grid as the low-res stages see them
        # (losses.pool_targets), brought back to the input size by nearest
        coarse = pool_targets(batch, (-(-H // stride), -(-W // stride)))
        floor_d = F.interpolate(coarse["depth"], size=(H, W), mode="nearest")[0, 0].numpy().astype(np.float64)
        z_floor = grid.metric_depth(floor_d, coding, W)
        pix_err.append(np.abs(z_pred - z_true)[region] * 100)
        pix_err_floor.append(np.abs(z_floor - z_true)[region] * 100)
        pix_true.append(z_true[region])
        d_units.append(np.abs(d_pred - batch["depth"][0, 0].numpy())[region])
        # per joint: read at the true pixel vs the median over its disc
        radius = task.targets.sigma * np.sqrt(2 * np.log(1 / task.targets.phi))
        yy, xx = np.mgrid[0:H, 0:W]
        for r in range(s.num_robots):
            for j in range(s.joints_2d.shape[1]):
                u, v = s.joints_2d[r, j]
                z = float(s.joints_3d[r, j, 2])
                if not (0 <= round(u) < W and 0 <= round(v) < H and z > 0):
                    continue
                disc = ((xx - u) ** 2 + (yy - v) ** 2 <= radius ** 2) & region
                joint_true.append(z)
                joint_robot.append((i, r))
                joint_at_px.append(float(z_pred[int(round(v)), int(round(u))]))
                joint_median.append(float(np.median(z_pred[disc])) if disc.any() else np.nan)
    if len(joint_true) < 2:
        raise ValueError(f"only {len(joint_true)} visible joints in the {args.n} test scenes (some hold no "
                         "robot): too few to fit; give a larger --n")
    e, ef, zt, du = (np.concatenate(x) for x in (pix_err, pix_err_floor, pix_true, d_units))
    jt, jp, jm = np.array(joint_true), np.array(joint_at_px), np.array(joint_median)
    slope, intercept = np.polyfit(jt, jp, 1)
    r2 = 1 - np.sum((jp - (slope * jt + intercept)) ** 2) / np.sum((jp - jp.mean()) ** 2)
    corrected = (jp - intercept) / slope  # oracle affine correction of the prediction
    # oracle per-robot scale: each robot's joints divided by the median ratio predicted/true
    # over that robot. If this removes most of the error, the network has the robot's shape in
    # depth but not its distance (a global scale cue is missing), not per-joint noise.
    ratio = jp / jt
    rescaled = jp.copy()
    for robot in set(joint_robot):  # (scene, robot) pairs
        sel = np.array([k == robot for k in joint_robot])
        rescaled[sel] = jp[sel] / np.median(ratio[sel])
    result = {
        "checkpoint": args.checkpoint, "robot": task.robot, "step": ckpt.get("step"), "n_scenes": args.n,
        "input_size": [H, W], "stride": stride, "depth_range_m": [coding.z_min, coding.z_max],
        "split_m": split,
        "table1_model": summary(e, zt, split),
        "table1_floor_lowres_targets": summary(ef, zt, split),
        "code_error_D": {"mean": float(du.mean()), "median": float(np.median(du))},
        "joint_read_at_pixel": summary(np.abs(jp - jt) * 100, jt, split),
        "joint_read_disc_median": summary(np.abs(jm - jt) * 100, jt, split),
        "joint_fit": {"slope": float(slope), "intercept_m": float(intercept), "r2": float(r2)},
        "joint_after_oracle_affine": summary(np.abs(corrected - jt) * 100, jt, split),
        "joint_after_oracle_robot_scale": summary(np.abs(rescaled - jt) * 100, jt, split),
        "median_true_baseline": summary(np.abs(np.median(jt) - jt) * 100, jt, split),
        "loss_last_stage": {"belief": float(np.mean(belief_terms)), "depth": float(np.mean(depth_terms)),
                            "depth_weight": task.depth_weight},
    }
    print(dumps_json(result, indent=1))
    if args.json:
        write_json_atomic(args.json, result)


if __name__ == "__main__":
    sys.exit(main())
