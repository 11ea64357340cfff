# ---
# jupyter:
#   accelerator: GPU
#   colab:
#     gpuType: T4
#     provenance: []
#   jupytext:
#     formats: ipynb,py:percent
#     notebook_metadata_filter: accelerator,colab
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
# # From simulation to real photographs
#
# The paper's third claim (§I, §IV) is that a network trained only on *non-realistic*
# renders works on real images. This chapter tests that claim on real, calibrated
# photographs of a Franka Emika Panda, and shows how far our CPU-trained models get.
#
# You will learn:
#
# * how to measure a keypoint model on real photos the way DREAM {cite}`lee2020dream` does:
#   PCK, keypoint AUC, ADD, always beside a **mean-pose baseline**;
# * how a **rendered twin** of each photo (our robot at the photo's joint angles and
#   calibration) separates the three gaps between simulation and reality: geometry and
#   viewpoint, background clutter, and the robot's appearance;
# * what we changed in the synthetic data to close them (the `sim2real` recipe), and
#   what it did and did not achieve.
#
# The photographs are a public teleoperation episode (github.com/tristinxie/panda_dataset,
# MIT licence, copyright 2024 Tristin Xie). They are never copied into this repository:
# online (Colab) the chapter downloads the whole episode; offline it reads a sample of 15
# calibrated frames kept beside the repository.
#
# The 15 frames are a **development (dev) set**. No photo was ever trained on, but they
# were used to measure and compare training choices: frozen against fine-tuned backbone,
# and checkpoints along the training run (the sim-to-real study below and in chapter 6).
# The figures on them are therefore somewhat optimistic for the choices that were made.
# An acceptance figure would need photographs that no choice ever looked at, and this
# project does not have them.

# %% tags=["remove-cell"]
# On Colab, install the library first (elsewhere it is already installed by `make`).
import sys

REPOSITORY = "https://github.com/robotpose/robotpose"  # _config.yml repository.url (scripts/set_repository.py)
if "google.colab" in sys.modules:
    import subprocess

    subprocess.run([sys.executable, "-m", "pip", "install", "-q", f"robotpose @ git+{REPOSITORY}"], check=True)

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import Markdown, display

from robotpose_lib import config, narration, twin, viz
from robotpose_lib.book import quick_mode_note
from robotpose_lib.narration import (markdown_table, photos_or_absent,
                                     real_metrics_table, real_photos_absent)
from robotpose_lib.structures import covered_share
from robotpose_lib.cards import read_study, sim2real_runs, training_cost
from robotpose_lib.eval import real as eval_real
from robotpose_lib.real_panda import available_photos
from robotpose_lib.synth import generate, params_for
from robotpose_lib.viz.localization import draw_joint_errors

torch.set_num_threads(2)
warnings.filterwarnings("ignore", category=UserWarning)
QUICK = config.quick_mode()
print(f"Models run on: {config.default_device()}")
quick_mode_note()

# %% [markdown]
# ## The photographs and their ground truth
#
# Each frame comes with the camera intrinsics $K$, the camera's pose relative to the
# robot base (an OpenCV `rvec, tvec`) and the seven measured joint angles. Forward
# kinematics of the joint angles gives the 3D keypoints in the base frame (DREAM's seven:
# base, shoulder, elbow, forearm, wrist, flange region and hand); the extrinsics move them
# into the camera frame and $K$ projects them.

# %%
# on Colab the full episode (downloaded), else the dev sample beside the repository
photos, source = available_photos()
n_all = len(photos)
if QUICK:
    photos = photos[::3]  # quick mode: every third frame
if photos:
    (h0, w0), fy = photos[0].image.shape[:2], photos[0].K[1, 1]
    fov = np.degrees(2 * np.arctan(h0 / 2 / fy))
    print(f"{len(photos)} photos: {source}"
          + (f" (quick mode: every third of {n_all})" if QUICK else ""))
    print(f"{w0}x{h0} px, fy = {fy:.0f} px (vertical field of view {fov:.0f} degrees)")


# %% tags=["remove-input"]
display(Markdown(
    "If our conventions were wrong anywhere (axes, pixel centres, DH parameters), the yellow chains of "
    "{numref}`fig-real-truth` would miss the arm." if photos else
    real_photos_absent("every figure and table of this chapter that needs them") + " The cells below skip "
    "themselves."))

# %% mystnb={"figure": {"caption": "Real photographs of the Panda with their ground truth: forward kinematics of the measured joint angles, projected with the calibration (yellow).", "name": "fig-real-truth"}}
if photos:
    shown = photos[:: max(1, len(photos) // 4)][:4]
    viz.image_grid([viz.draw_chain(p.image, p.joints_2d, color=(255, 255, 0), radius=3)
                    for p in shown],
                   cols=2, size=4.75, titles=[p.name for p in shown])
    plt.show()

# %% [markdown]
# Compare these with the scenes of chapter 1: a wide-angle webcam close to the robot,
# the base low at one side, the arm reaching towards the camera and leaving the frame, a
# white-and-grey arm with a gripper and a calibration board, a cluttered lab behind it.
# None of that is in the paper's randomisation.
#
# ## How to score a model on real photos
#
# We follow DREAM. For every frame only the highest-scoring robot counts. A keypoint's
# error is its pixel distance to the truth; **PCK@t** is the share of keypoints within
# $t$ pixels (a keypoint the model did not find counts as wrong), and the **keypoint AUC**
# is the area under the PCK curve from 0 to 20 px, normalised to 1. In 3D, a frame's
# **ADD** is the mean distance between predicted and true keypoints, and the ADD AUC runs
# from 0 to 10 cm. Every figure comes beside the **mean-pose baseline**: each frame
# "predicted" as the episode's average true keypoints. In a teleoperation episode the
# base never moves and the arm moves little, so this oracle scores well; a model that
# cannot beat it does not see the arm. The moving joints (elbow to hand) are reported on
# their own, since the base and shoulder are nearly free points for the baseline.

# %%
if photos:
    predictor = eval_real.load_predictor(None, None)  # the shipped reference models
    single = eval_real.load_predictor(None, "none")  # the same, one robot, no masks
    with_masks = eval_real.evaluate_real(predictor, photos, method="nms")
    without = eval_real.evaluate_real(single, photos, method="nms")
    results = {"model": with_masks["model"], "single": without["model"],
               "baseline": with_masks["baseline"]}
    display(Markdown(real_metrics_table(results, {
        "ours, all joints": ("model", "all"), "ours, moving": ("model", "moving"),
        "ours w/o masks, all": ("single", "all"),
        "ours w/o masks, moving": ("single", "moving"),
        "mean pose, all": ("baseline", "all"),
        "mean pose, moving": ("baseline", "moving")})))

# %% [markdown]
# For scale: DREAM, trained on a GPU with more than 100,000 photorealistic-ish synthetic
# images and a fine-tuned VGG19 encoder, reports a keypoint AUC of about 0.72 on its own
# real Panda photographs {cite}`lee2020dream`. The paragraph below is written from the
# numbers above when the chapter runs.

# %% tags=["hide-input"]
if photos:
    display(Markdown(narration.describe_real_results(
        results, np.mean(with_masks["robots_found"]))))

# %% [markdown]
# ## Predictions on the photos

# %% tags=["remove-input"]
display(Markdown(photos_or_absent(
    "In {numref}`fig-real-predictions` yellow is the truth, cyan the best robot the "
    "model reports. The photos are sorted by the model's median error, best first; the "
    "last ones are the failure cases discussed below.", bool(photos))))

# %% mystnb={"figure": {"caption": "The shipped models on real photos: truth in yellow, the best robot the model reports in cyan; each predicted joint is joined to its true joint by a red line; top row the two best, bottom row the two worst photos by median pixel error, among the photos where the model finds at least one joint.", "name": "fig-real-predictions"}}
if photos:
    pred_2d = np.array(with_masks["predictions"]["pred_2d"])
    err = np.linalg.norm(pred_2d - np.array(with_masks["predictions"]["true_2d"]),
                         axis=-1)
    med = np.array([np.nanmedian(e) if np.isfinite(e).any() else np.inf for e in err])
    # rank only photos with a found joint: "none found" has no error to rank
    order = [i for i in np.argsort(med) if np.isfinite(med[i])]
    pick = order[:2] + order[-2:] if len(order) >= 4 else order
    tiles = []
    for i in pick:
        img = viz.draw_chain(photos[i].image, photos[i].joints_2d, color=(255, 255, 0),
                             radius=3)
        tiles.append(draw_joint_errors(img, pred_2d[i], photos[i].joints_2d))
    viz.image_grid(tiles, cols=2, size=4.75,
                   titles=[f"{photos[i].name}: median {med[i]:.0f} px, "
                           f"{int(np.isfinite(pred_2d[i]).all(axis=1).sum())} of "
                           f"{len(pred_2d[i])} joints found" for i in pick])
    plt.show()

# %% tags=["remove-input"]
if photos:
    display(Markdown(f"The model finds at least one joint in {len(order)} of the "
                     f"{len(photos)} photos."))

# %% [markdown]
# ## The rendered twin: which gap breaks the model?
#
# For every photo we render our Panda at the photo's joint angles, extrinsics and $K$
# (`robotpose_lib.twin`). Three images of the same arm in the same view:
#
# * **twin**: the rendered robot on one of our synthetic backgrounds;
# * **pasted**: the rendered robot pasted over the real photo;
# * **photo**: the real photo.
#
# First, the silhouette of the twin over the photo, one colour per link: our primitive
# geometry (fitted to the Panda's collision meshes, chapter 1) covers the real arm, the
# gripper included; the calibration board the robot holds is not part of our model.

# %% tags=["remove-input"]
display(Markdown(photos_or_absent(
    "{numref}`fig-twin` shows the twins of three photos.", bool(photos))))

# %% mystnb={"figure": {"caption": "Rendered twins of three photos (rows): our geometry's silhouette over the photo, one colour per link; the twin on a synthetic background; the twin pasted over the real photo.", "name": "fig-twin"}}
if photos:
    shown = photos[:: max(1, len(photos) // 3)][:3]
    tiles = []
    for p in shown:
        images = twin.variant_images(p)
        tiles += [twin.silhouette_overlay(p), images["twin"], images["pasted"]]
    titles = ["silhouette over photo", "twin", "twin pasted on photo"] * len(shown)
    viz.image_grid(tiles, cols=3, size=2.6, titles=titles)
    plt.show()

# %% [markdown]
# The table runs the shipped models (one robot per image, no masks) on the three images
# of every photo. Each image removes one difference from the next: if the model fails
# on the twin already, its own kind of image, the camera viewpoint and the arm's poses
# are what it cannot handle, and no realism in the rendering would fix that. Keypoint
# AUC and the share found are means over keypoints, so the column *base and shoulder*
# (the two joints that do not move in this episode) follows from the all-joint and the
# moving-joint columns.

# %%
if photos:
    study = twin.twin_study(single, photos, method="nms")
    rows = [{"image": v, "AUC all": r["all"]["auc"],
             "AUC base+shoulder": eval_real.fixed_joints(r, "auc"),
             "AUC moving": r["moving"]["auc"], "found all": r["all"]["found"],
             "found moving": r["moving"]["found"],
             "median px": r["all"]["median_px"]} for v, r in study.items()]
    display(Markdown(markdown_table(
        rows, formats={"found all": ".0%", "found moving": ".0%", "median px": ".1f"},
        headers={"AUC all": "keypoint AUC, all",
                 "AUC base+shoulder": "AUC, base and shoulder",
                 "AUC moving": "AUC, moving", "found all": "found, all",
                 "found moving": "found, moving",
                 "median px": "median error, all [px]"})))
    display(Markdown(narration.describe_twin_study(study)))

# %% [markdown]
# ## What we changed in the synthetic data
#
# Every change is a field of `SynthParams`, off by default so that the paper's recipe
# keeps its images byte for byte; the recipe `sim2real` (`synth.RECIPES`) switches them on:
#
# * **cameras** like a webcam near the robot: vertical field of view 40-95 degrees, the
#   Panda 0.4-1.8 m away, the camera aimed off the robot's centre so that the arm is cut by
#   the image border;
# * **materials**: a third of the robots white to light grey with dark grey links and a
#   specular highlight, a quarter in random greys, the rest in the paper's random colours;
# * **clutter** (on its own, without the rest of this list, the recipe `clutter` of
#   chapter 6): up to eight *distractors* (spheres, capsules, cylinders, boxes in flat
#   colours or photo textures) rendered by the same ray caster, so they hide joints in front
#   of the robot exactly; up to four patches of other backgrounds pasted over the background;
# * **camera effects**: white balance, exposure (gamma), contrast and saturation jitter,
#   defocus blur and JPEG compression, on top of the paper's uniform noise.

# %% [markdown]
# {numref}`fig-recipes` renders the same scene indices with both recipes. A scene may hold
# no visible robot (the paper's visibility draw), or one far away; the cell below shows
# the first four indices in which the robots cover at least 5 % of the image in both.

# %% mystnb={"figure": {"caption": "The same four scene indices rendered with the paper's recipe (top row) and the sim2real recipe (bottom row): the first indices of the dataset in which the robots cover at least 5 % of the image with both recipes.", "name": "fig-recipes"}}
candidates = {name: generate("panda", 11, range(24), 240, 320,
                             params_for("panda", name))
              for name in ("paper", "sim2real")}

chosen = [i for i in range(24)
          if min(covered_share(candidates[name][i].masks)
                 for name in candidates) >= 0.05][:4]
viz.image_grid([candidates[name][i].image for name in candidates for i in chosen],
               cols=4, size=2.2,
               titles=[f"{name} #{i}" for name in candidates for i in chosen])
plt.show()

# %% [markdown]
# ## Training on the new recipe
#
# The shipped Panda localization model (the one chapter 2 evaluates and this chapter runs)
# was trained first on the paper's recipe; the run was then continued on `sim2real`
# scenes. Its model record (`assets/models/panda_localization_cpu/`, `card.md` and
# `lineage.json`) gives the commands, the scenes seen and the training time. On the dev
# photos, the sim-to-real study (read from
# `assets/models/panda_localization_cpu/sim2real_study.json`, written by
# `scripts/sim2real_study.py`) measured checkpoints along the `sim2real` training, and a
# fine-tuned-backbone run continued from the same paper-recipe weights for the same wall
# time. The first row, *paper recipe only*, is the model before any `sim2real` training.
# The row marked *(shipped)*, at the end of the schedule, is the model in the repository,
# the one this chapter runs. The table reports keypoint AUC on both joint sets: all seven
# joints and the five moving ones.

# %%
study_file = read_study("panda_localization_cpu", "sim2real")
if study_file is not None:
    # steps and scenes from the start of training (the shipped model's lineage.json)
    runs, before = sim2real_runs(study_file, training_cost("panda_localization_cpu"))
    rows = [{"run": r["label"], "steps": r["total_steps"],
             "scenes seen": r["total_scenes"], "hours": r["hours"],
             "AUC all": r["all"]["auc"],
             "AUC moving": r["moving"]["auc"], "found": r["all"]["found"],
             "median px": r["all"]["median_px"]}
            for r in runs]
    formats = {"steps": ",d", "scenes seen": ",d", "hours": ".2f", "found": ".2f",
               "median px": ".1f"}
    lead = (f"Measured on the {study_file['photos']} dev photos, one robot per photo "
            "(no masks; found and median px on all joints"
            + ("; a dash: no training log" if before is None
               and any(np.isnan(r["hours"]) for r in rows) else "") + "). "
            + narration.sim2real_counting(before))
    display(Markdown(lead + "\n\n" + markdown_table(
        rows, formats=formats,
        headers={"steps": "steps from the start",
                 "scenes seen": "scenes from the start",
                 "hours": "`sim2real` training [h]"})))
    display(Markdown(narration.describe_sim2real_best(runs) + " Chapter 6 plots the "
                     "all-joint AUC against training time."))
else:
    print("No sim2real study file "
          "(assets/models/panda_localization_cpu/sim2real_study.json): run "
          "scripts/sim2real_study.py.")

# %% [markdown]
# ## Failure cases, and what a GPU would change
#
# Compare the worst frames above with the best: in this
# episode the camera is close, the gripper and the calibration board can fill much of the
# image, and the elbow often leaves the frame. Our model is a CPU miniature (a frozen
# EfficientNet-Lite0 cut at stride 8 and three 64-wide stages) that saw the scenes
# counted in the shipped row above; DREAM fine-tunes a VGG19 encoder-decoder on 100,000+
# images.
# With a Colab or other GPU, `scripts/gpu_train.sh OUT MINUTES` trains the `gpu`
# configuration (the paper's five 128-wide stages with 7x7 kernels on a *fine-tuned*
# Lite0, no download needed) on the same recipe and evaluates it on these photos. To go
# further: add your own background photos without robots (`BackgroundPool(folders=...)`,
# e.g. an unpacked COCO image folder), train longer, and fine-tune the backbone.
#
# ## Summary
#
# * Real-photo metrics only mean something beside a baseline: the mean-pose oracle of a
#   teleoperation episode is strong.
# * The rendered twin turns "it does not work on real photos" into measured gaps: geometry
#   and viewpoint, background, appearance.
# * Domain randomisation must cover the *kind* of camera, robot finish and clutter of the
#   target photos; the paper's random colours on a few photos do not.
#
# ## Exercises
#
# 1. Turn one `sim2real` option off (for example `params_for("panda", "sim2real",
#    max_distractors=0)`), render a few scenes and describe what the network no longer sees.
# 2. Evaluate the paper-recipe model (the shipped model's weights before its `sim2real`
#    training; `lineage.json` names the file and the commit that holds it; save it as
#    `paper_recipe.pt`) with `robotpose eval real --checkpoint paper_recipe.pt
#    --instances none`, and compare it with the shipped one: which keypoints improved?
# 3. Render the twin of one photo with `twin.render_twin(photo, realistic_material_probability=0)`
#    (random colours) and run the model on it: how much does the robot's finish matter?
