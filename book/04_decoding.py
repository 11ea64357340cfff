# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 4. From belief maps to 3D kinematic chains
#
# Chapters 2 and 3 trained two networks: one predicts, for every joint, a belief map and,
# for every pixel near a joint, its (inverse) depth; the other splits the image into one
# mask per robot. This chapter puts them together into the paper's last step (§III,
# Fig. 2) and into the interface a user calls on their own images:
#
# 1. **mask** each robot's belief maps with its instance mask,
# 2. find each joint's **peak**, by non-maximum suppression (NMS) or by a Laplacian of
#    Gaussian (LoG), refined to sub-pixel precision,
# 3. **read the depth** map at the peak and undo the inverse-depth coding,
# 4. **back-project** $(u, v, Z)$ with the camera intrinsics $K$ into the camera frame:
#    $X = Z\,K^{-1}(u, v, 1)^\top$.
#
# We first run these steps on *perfect* maps (the training targets of a rendered scene),
# which isolates what decoding itself costs in accuracy; then on the reference networks
# through `Predictor` and `robotpose predict`; then we measure 3D errors on the fixed
# synthetic test set, the effect of NMS versus LoG and of leaving out the instance masks,
# and the runtime of every step beside the paper's Table II.

# %% tags=["remove-cell"]
# On Colab, install the library first (elsewhere it is already installed by `make`).
import sys

if "google.colab" in sys.modules:
    import subprocess

    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "robotpose @ git+https://github.com/robotpose/robotpose"], check=True)

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
import torch

from robotpose_lib import config, decode, metrics, viz
from robotpose_lib.eval import pose3d
from robotpose_lib.eval.testset import close_pair_scenes, test_dataset
from robotpose_lib.book import reference_predictor
from robotpose_lib.robots import ROBOT_NAMES, get_robot
from robotpose_lib.synth import generate_one, params_for
from robotpose_lib.targets import TargetParams, depth_coding_for, make_targets

QUICK = config.quick_mode()
ROBOT = "panda"
SIZE = config.pick((240, 320), (480, 640))  # rendered scenes (the paper's images are 480x640)
N_TEST = config.pick(4, 100)  # scenes of the fixed synthetic test set
N_PAIRS = config.pick(3, 40)  # two-robot scenes for the wrong-robot experiment
names = get_robot(ROBOT).keypoint_names
print(f"quick mode: {QUICK}; scenes {SIZE[0]}x{SIZE[1]}; test scenes {N_TEST}; device {config.default_device()}")

# %% [markdown]
# ## Decoding perfect maps
#
# A scene with three robots, and as "network output" its training targets: the belief
# Gaussians, the inverse-depth discs and the true instance masks. The figure follows one
# robot through the steps: all beliefs, the robot's mask, the masked beliefs with the
# peaks found by NMS (crosses) and LoG (circles), and the decoded depth around them.

# %%
scene_params = params_for(ROBOT, min_robots=3, max_robots=3, theta_vr=1.0)
sample = generate_one(ROBOT, seed=4, index=2, height=SIZE[0], width=SIZE[1], params=scene_params)
H, W = sample.size
coding = depth_coding_for(ROBOT)
targets = make_targets(sample, (H, W), TargetParams(depth=coding))
beliefs = torch.from_numpy(targets["beliefs"])
depth = torch.from_numpy(targets["depth"])
masks = torch.from_numpy(sample.masks.astype(np.float32))
fx = float(sample.K[0, 0])


def to_metres(d):
    return coding.decode(d, fx, W)


decoded = {m: decode.decode_instances(beliefs, depth, masks, sample.K, method=m, depth_to_metres=to_metres)
           for m in ("nms", "log")}
r_show = int(np.argmax(sample.masks.sum(axis=(1, 2))))  # the largest robot
masked = decode.mask_beliefs(beliefs, masks[r_show])[0]
fig, axes = plt.subplots(1, 4, figsize=(16, 3.4))
axes[0].imshow(viz.draw_sample(sample)); axes[0].set_title(f"{sample.num_robots} robots, true joints")
axes[1].imshow(beliefs.max(0).values, cmap="magma"); axes[1].set_title("max over joints of B")
axes[2].imshow(masked.max(0).values, cmap="magma"); axes[2].set_title(f"beliefs x mask of robot {r_show}")
for m, marker in (("nms", "x"), ("log", "o")):
    uv = decoded[m][r_show].joints_2d
    axes[2].scatter(uv[:, 0], uv[:, 1], marker=marker, s=40, facecolors="none" if m == "log" else "c",
                    edgecolors="lime" if m == "log" else None, label=m.upper())
axes[2].legend(loc="lower right", fontsize=8)
z_img = np.where(targets["weight"][0] > 0, to_metres(targets["depth"][0]), np.nan)
im = axes[3].imshow(z_img, cmap="turbo"); axes[3].set_title("decoded depth Z [m] (discs)")
plt.colorbar(im, ax=axes[3], fraction=0.035)
for ax in axes:
    ax.axis("off")
plt.tight_layout()
plt.show()

for m in ("nms", "log"):
    err3 = np.stack([metrics.position_errors_cm(p.joints_3d, t) for p, t in zip(decoded[m], sample.joints_3d)])
    err2 = np.stack([metrics.pixel_errors(p.joints_2d, t) for p, t in zip(decoded[m], sample.joints_2d)])
    ok = pose3d.counted_joints(sample)
    print(f"{m.upper()} on perfect maps: mean 2D error {np.nanmean(err2[ok]):.3f} px, mean 3D error "
          f"{np.nanmean(err3[ok]):.2f} cm, max {np.nanmax(err3[ok]):.2f} cm, "
          f"joints missed {int(np.isnan(err3[ok]).sum())}")

# %% [markdown]
# On perfect maps decoding is nearly lossless (the numbers above): the sub-pixel fit of
# the logarithm of a sampled Gaussian is exact (NMS), the LoG's quadratic fit on its
# filter response is close. What can remain is not the peak finder's doing: a depth disc
# holds *one* depth (its joint's) and is read with bilinear interpolation, and where two
# joints' discs touch (a robot seen end-on, or two robots overlapping) the disc of the
# nearer joint wins. A joint hidden behind another robot has its belief peak outside its
# own robot's mask, so masking makes it a miss rather than a wrong position.
#
# **Why the mask matters.** Without masks, the strongest peak of "joint 3" belongs to
# whichever robot has the strongest response, and a chain can take its elbow from one
# robot and its wrist from another. Masking before peak finding makes each robot's chain
# use only its own pixels; we measure the effect on trained networks below.
#
# ## The reference networks
#
# `Predictor.from_pretrained(robot)` loads the shipped reference checkpoints
# (`assets/checkpoints/{robot}_localization_cpu.pt` and `..._instances_cpu.pt`, trained on
# a CPU in chapters 2 and 3). `predictor(image, K)` takes an image of any size, resizes it
# to the network's 240x320 input, scales $K$ with it (and uses the scaled focal length to
# decode depth, as in training), and maps the results back to the input's pixels. Without
# the reference checkpoints the cells below print a note and are skipped.

# %%
# ROBOTPOSE_PREDICTOR_CHECKPOINT replaces the Panda reference (e.g. a run of your own)
predictor, source = reference_predictor(ROBOT, os.environ.get("ROBOTPOSE_PREDICTOR_CHECKPOINT"))
HAS_MASKS = predictor is not None and predictor.instances is not None
if predictor is None:
    print("NOTE: no reference checkpoints: the sections using trained networks are skipped.")
else:
    print(f"predictor: {source}; input {predictor.input_size}; instance masks: {HAS_MASKS}; device {predictor.device}")

# %% [markdown]
# The chains predicted on the scene above, drawn in 2D over the image and in 3D (camera
# frame, metres) next to the ground truth (dashed).

# %%
if predictor is not None:
    poses = predictor(sample.image, sample.K)
    print(f"{len(poses)} robot(s) predicted, scores {[round(p.score, 3) for p in poses]}")
    viz.plot_prediction(sample, poses)
    plt.show()
else:
    print("skipped: no trained predictor")

# %% [markdown]
# The same on the command line, for a folder of images (JSON with 2D joints, 3D joints and
# scores per robot; one PNG overlay per image):
#
# ```bash
# robotpose predict photos/*.jpg --robot panda --fx 615 --fy 615 --cx 320 --cy 240 \
#     --out preds.json --overlay-dir overlays/
# ```
#
# ## 3D errors on the synthetic test set
#
# On the fixed test set of chapter 2 (its own seed and background photos), for each robot
# with a reference model (the Panda is seen from 0.5-3 m, the industrial arm from up to
# 10 m, so only the latter fills the far column), every true
# robot is matched to at most one predicted robot (by the mean 2D distance of their
# joints), and each joint that lies in the frame contributes its 3D distance to the truth,
# split like the paper's Table I into near $[0, 5)$ m and far $[5, 10]$ m by its true
# depth. Joints of unmatched robots and joints without a peak are *misses*, reported
# separately. Both peak finders decode the same network outputs.

# %%
predictors = {ROBOT: predictor}
for other in ROBOT_NAMES:
    if other != ROBOT:
        predictors[other] = reference_predictor(other)[0]
reports = {}
for robot, p in predictors.items():
    if p is None:
        print(f"{robot}: skipped, no trained predictor")
        continue
    test = test_dataset(robot, N_TEST, SIZE)
    reports[robot] = pose3d.evaluate_3d(p, [test[i] for i in range(len(test))])
    print(reports[robot].format(), "\n")
if reports:
    fig, axes = plt.subplots(len(reports), 2, figsize=(11, 3.4 * len(reports)), squeeze=False)
    for row, (robot, report) in zip(axes, reports.items()):
        for m in report.errors_cm:
            e = report.errors_cm[m][report.counted]
            z = report.true_depth_m[report.counted]
            ok = np.isfinite(e)
            if ok.any():
                row[0].hist(e[ok], bins=30, alpha=0.5, label=f"{m.upper()} (n={ok.sum()})")
                row[1].scatter(z[ok], e[ok], s=6, alpha=0.5, label=m.upper())
        row[0].set_xlabel("3D joint error [cm]"); row[0].set_ylabel(f"{robot}: joints"); row[0].legend()
        row[1].set_xlabel("true joint depth [m]"); row[1].set_ylabel("3D joint error [cm]"); row[1].legend()
        row[1].axvline(metrics.NEAR_FAR_SPLIT_M, color="gray", ls=":")
    plt.tight_layout()
    plt.show()


# %% [markdown]
# Read the tables above for NMS against LoG: both start from the same maps, so any
# difference comes from where each places the peak (the LoG prefers the centre of a blob
# at the scale of the belief Gaussian, NMS the brightest pixel) and from which joints each
# finds at all. The paper reports only depth errors over the depth discs (Table I, our
# chapter 2); the errors here are end-to-end, including the 2D error of the peak, which a
# depth error alone does not see.
#
# ## Without instance masks: two robots close together
#
# Scenes with exactly two robots standing close to each other, decoded twice from the
# same network outputs: with the predicted instance masks, and as if the image showed one
# robot (each joint's strongest peak anywhere). The last column counts the found joints
# that lie nearer to the *other* robot's joint than to their own robot's.

# %%
if HAS_MASKS:
    pairs = close_pair_scenes(ROBOT, N_PAIRS, size=SIZE)
    effect = pose3d.wrong_robot_effect(predictor, pairs)
    print(f"{len(pairs)} two-robot scenes")
    print(effect.format())
    s = pairs[0]
    viz.plot_prediction(s, predictor(s.image, s.K), "with instance masks")
    plt.show()
    prepared = predictor.prepare(s.image, s.K)
    net = predictor.network(prepared.tensor[None])
    plain = predictor.to_input(predictor.decode(net["beliefs"][0], net["depth"][0], net["instances"][0],
                                                prepared.K_net, use_masks=False), prepared)
    viz.plot_prediction(s, plain, "without masks: one chain from both robots' peaks")
    plt.show()
else:
    print("skipped: needs the reference instance model")

# %% [markdown]
# Without masks at most one robot per image can be recovered, and where both robots are
# in view its chain picks up joints of the other one. With masks each robot keeps its own
# joints, as long as the instance model separates the two robots; where it merges them
# into one mask, the masked decoding makes the same mistake.
#
# ## Runtime (the paper's Table II)
#
# `robotpose bench runtime` times each step for 480x640 inputs on this machine, beside
# the paper's numbers (a GTX 1080 Ti). Our models are CPU-sized; the paper's LoG was an
# untuned CPU implementation, ours runs scale-space convolutions in torch (on the GPU
# when there is one, and on the CPU only over the tiles that can hold a peak), checked
# against `skimage.feature.blob_log` on the same maps. The whole prediction of a 3-robot
# 480x640 image has a target of one second on a laptop CPU.

# %%
from robotpose_lib.bench import runtime

_ = runtime.benchmark(robot=ROBOT, repeats=config.pick(3, 10), baseline_repeats=config.pick(1, 3))

# %% [markdown]
# ## Explore: your own scene
#
# With a running kernel, pick a scene (seed, number of robots, camera distance and field
# of view) and see the prediction and its errors redrawn. The static book shows a few
# settings as fixed figures below it instead.

# %%
def explore(seed=0, robots=2, distance=1.8, fov=50.0, method="nms"):
    params = params_for(ROBOT, min_robots=robots, max_robots=robots, theta_vr=1.0,
                        r_min=distance, r_max=distance, fov_y_deg=(fov, fov))
    s = generate_one(ROBOT, seed=seed, index=0, height=SIZE[0], width=SIZE[1], params=params)
    if predictor is None:
        viz.image_grid([viz.draw_sample(s)], cols=1, titles=["truth (no trained predictor)"], size=5)
        plt.show()
        return
    poses = predictor(s.image, s.K, method=method)
    rep = pose3d.score_predictions({method: [poses]}, [s], ROBOT, predictor.num_joints)
    e = rep.errors_cm[method][rep.counted]
    viz.plot_prediction(s, poses, f"{len(poses)} predicted / {s.num_robots} true; mean 3D error "
                                  f"{np.nanmean(e) if np.isfinite(e).any() else float('nan'):.1f} cm")
    plt.show()


import ipywidgets as widgets

from robotpose_lib.widgets import panel

_ = panel(explore, seed=widgets.IntSlider(0, 0, 50, description="seed"),
          robots=widgets.IntSlider(2, 1, 3, description="robots"),
          distance=widgets.FloatSlider(value=1.8, min=0.6, max=3.0, step=0.1, description="distance [m]"),
          fov=widgets.FloatSlider(value=50.0, min=40.0, max=65.0, step=1.0, description="fov y [deg]"),
          method=widgets.Dropdown(options=["nms", "log"], description="method"))

# %%
# static fallback: a few settings
for seed, robots, distance in config.pick([(1, 2, 1.5)], [(1, 1, 1.2), (2, 2, 1.8), (3, 3, 2.6)]):
    explore(seed, robots, distance)

# %% [markdown]
# ## What differs from the paper
#
# * **Masking**: as the paper, beliefs are multiplied by each instance mask before peak
#   finding; instances come from our recurrent model (chapter 3) with a 0.2 % stopping
#   rule instead of the paper's 5 %, because most of our synthetic robots cover less than
#   5 % of the image.
# * **Peaks**: NMS by max-pooling (3x3) then the best peak per joint, with a sub-pixel
#   fit of the logarithm of the belief; LoG as `blob_log` (same kernels and peak rule)
#   implemented with torch convolutions. The paper gives neither the sub-pixel method
#   nor its LoG parameters.
# * **Depth**: our depth channel is normalised to a reference focal length (chapter 2), so
#   the decoded depth uses the focal length of the network-resolution image; the paper
#   trains and tests with one camera.
# * **A joint not found** has NaN coordinates and score 0, never a guessed position.
