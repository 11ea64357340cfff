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
# # From belief maps to 3D kinematic chains
#
# Chapters 2 and 3 introduced two networks: one predicts, for every joint, a belief map and,
# for every pixel near a joint, its coded depth; the other splits the image into one
# mask per robot. This chapter puts them together into the paper's last step (§III,
# Fig. 2) and into the interface a user calls on their own images:
#
# 1. **mask** each robot's belief maps with its instance mask,
# 2. find each joint's **peak**, by non-maximum suppression (NMS) or by a Laplacian of
#    Gaussian (LoG), refined to sub-pixel precision,
# 3. **read the depth** map at the peak and undo the depth coding the checkpoint was
#    trained with: the paper's inverse-depth code or our log code (chapter 2; the loaded
#    checkpoints' codes are printed in 4.3),
# 4. **back-project** $(u, v, Z)$ with the camera intrinsics $K$ into the camera frame:
#
# $$ X = Z\,K^{-1}(u, v, 1)^\top . $$
#
# You will learn:
#
# * what decoding itself costs in accuracy, measured on *perfect* maps (the training
#   targets of a rendered scene);
# * how to run the whole pipeline on any image with `Predictor` and `robotpose predict`;
# * how large the end-to-end 3D errors of the reference networks are, with NMS and LoG;
# * what the instance masks change when two robots share an image;
# * what each step costs in time, beside the paper's Table II.

# %% tags=["remove-cell"]
# On Colab, install the library first (elsewhere it is already installed by `make`).
import sys

REPOSITORY = "https://github.com/robotpose/robotpose"  # _config.yml repository.url (scripts/set_repository.py)
if "google.colab" in sys.modules:
    import subprocess

    subprocess.run([sys.executable, "-m", "pip", "install", "-q", f"robotpose @ git+{REPOSITORY}"], check=True)

# %% tags=["remove-input"]
# The chapter's verdict: no scored claim; the paper's Table II read from metrics
from IPython.display import Markdown, display

from robotpose_lib import config, metrics, narration
from robotpose_lib.book import chapter_verdict

display(Markdown(chapter_verdict(
    "4", without_claims=narration.runtime_verdict(
        metrics.PAPER_TABLE_II, metrics.PAPER_TABLE_II_GPU,
        on_gpu=config.default_device().type == "cuda"))))

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
import numpy as np
import torch

from robotpose_lib import config, decode, metrics, narration, showcase, viz
from robotpose_lib.eval import pose3d
from robotpose_lib.eval.testset import camera_scene, close_pair_scenes, test_dataset
from IPython.display import Markdown, display

from robotpose_lib.book import peak_name, quick_mode_note
from robotpose_lib.narration import (coinciding_chains, describe_chains,
                                     describe_coverage, describe_wrong_robot,
                                     markdown_table, report3d_table)
from robotpose_lib.camera import Camera
from robotpose_lib.cards import read_record
from robotpose_lib.checkpoint import load_checkpoint
from robotpose_lib.predictor import Predictor, pretrained_paths
from robotpose_lib.robots import get_robot
from robotpose_lib.synth import generate_one, params_for
from robotpose_lib.targets import TargetParams, depth_coding_for, make_targets

QUICK = config.quick_mode()
ROBOT = "panda"
# rendered scenes (the paper's images are 480x640)
SIZE = config.pick((240, 320), (480, 640))
N_TEST = config.pick(4, 100)  # scenes of the fixed synthetic test set
N_PAIRS = config.pick(3, 40)  # two-robot scenes for the wrong-robot experiment
names = get_robot(ROBOT).keypoint_names
print(f"Scenes {SIZE[0]}x{SIZE[1]}; test scenes: {N_TEST}; models run on: "
      f"{config.default_device()}")
quick_mode_note()


# %% [markdown]
# ## Decoding perfect maps
#
# A scene with three robots, and as "network output" its training targets: the belief
# Gaussians, the inverse-depth discs and the true instance masks. The figure follows one
# robot (the largest) through the steps: the beliefs of all joints, then the beliefs
# multiplied by that robot's mask (its outline drawn in white) with the peaks found by NMS
# (crosses) and LoG (circles), and the depth decoded on that robot's depth discs, one
# dot per disc at its joint (the other robots' discs as grey dots).

# %%
scene_params = params_for(ROBOT, min_robots=3, max_robots=3, theta_vr=1.0)
sample = generate_one(ROBOT, seed=4, index=2, height=SIZE[0], width=SIZE[1],
                      params=scene_params)
H, W = sample.size
coding = depth_coding_for(ROBOT)
targets = make_targets(sample, (H, W), TargetParams(depth=coding))
beliefs = torch.from_numpy(targets["beliefs"])
depth = torch.from_numpy(targets["depth"])
masks = torch.from_numpy(sample.masks.astype(np.float32))
grid = Camera(sample.K, (H, W))  # K of the maps' pixel grid: decodes depth to metres
decoded = {m: decode.decode_poses(beliefs, depth, masks, grid, method=m,
                                  depth_coding=coding)
           for m in ("nms", "log")}
r_show = int(np.argmax(sample.masks.sum(axis=(1, 2))))  # the largest robot
masked = decode.mask_beliefs(beliefs, masks[r_show])[0]
# the followed robot's joints, each the centre of one of its depth discs
own_uv = sample.joints_2d[r_show][pose3d.counted_joints(sample)[r_show]]

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Decoding perfect maps, followed for the largest robot. First panel: the scene with its true joints (that robot outlined in black and white). Second: the belief maps of all joints, dilated for display so that each peak shows (the title gives the radius). Third: the beliefs multiplied by that robot's mask (outline in white), zoomed onto that robot, with the peaks found by NMS (crosses) and LoG (circles). Last: the depth decoded on that robot's depth discs, one dot per disc at its joint (the other robots' discs as grey dots), over the robots' silhouettes.", "name": "fig-perfect"}}
from robotpose_lib.viz.decoding import (display_radius, plot_disc_depths,
                                        plot_found_peaks, widen_peaks)

# the Gaussians are a few pixels wide: dilated for display so that the peaks show
widen = display_radius(W)

fig, axes = plt.subplots(1, 4, figsize=(10, 3.0))
# chains edged in black: each shows on a robot of its own colour
axes[0].imshow(viz.draw_sample(sample, outline=(0, 0, 0)))
# the followed robot outlined and named, as in the panels that zoom onto it
# white under black: the outline shows on a dark robot as on a light one
axes[0].contour(sample.masks[r_show], levels=[0.5], colors="w", linewidths=2.6)
axes[0].contour(sample.masks[r_show], levels=[0.5], colors="k", linewidths=1.2)
top = np.argwhere(sample.masks[r_show]).min(axis=0)  # its topmost row, leftmost col
axes[0].text(top[1], max(top[0] - 4, 8), f"robot {r_show}", color="k", fontsize=9,
             fontweight="bold", bbox=dict(facecolor="w", alpha=0.8, pad=1, lw=0))
axes[0].set_title(f"{sample.num_robots} robots, true joints", fontsize=9)
axes[1].imshow(widen_peaks(beliefs.max(0).values, widen), cmap="magma")
axes[1].set_title(f"belief maps, max over joints\n(dilated {widen} px for display)",
                  fontsize=9)
# zoomed onto the robot, where its peaks are wide enough to show undilated
rows, cols = viz.zoom_box(sample.masks[r_show], aspect=W / H)
axes[2].imshow(masked.max(0).values, cmap="magma")
axes[2].contour(sample.masks[r_show], levels=[0.5], colors="w", linewidths=0.6)
axes[2].set_xlim(cols.start - 0.5, cols.stop - 0.5)
axes[2].set_ylim(rows.stop - 0.5, rows.start - 0.5)
axes[2].set_title(f"beliefs x mask of robot {r_show}\n(zoomed onto it)", fontsize=9)
plot_found_peaks(axes[2], {m: decoded[m][r_show].joints_2d for m in ("nms", "log")})
counted = pose3d.counted_joints(sample)
others = [sample.joints_2d[r][counted[r]] for r in range(sample.num_robots)
          if r != r_show]
plot_disc_depths(axes[3], grid.metric_depth(targets["depth"][0], coding, W), own_uv,
                 np.concatenate(others), r_show, silhouettes=sample.masks.any(0))
for ax in axes:
    ax.axis("off")
plt.tight_layout()
plt.show()

# %%
perfect = pose3d.decoding_errors(decoded, sample)  # one row per peak finder
display(Markdown("Decoding the perfect maps of this scene (joints counted: every "
                 f"robot's joints inside the frame, {sample.num_robots} robots of "
                 f"{len(names)} joints):\n\n" + markdown_table(
    perfect, formats={"mean 2D [px]": ".3f", "mean 3D [cm]": ".2f",
                      "max 3D [cm]": ".2f"})))

# %% tags=["hide-input"]
display(Markdown(narration.describe_perfect_decoding(perfect)))

# %% [markdown]
# Why so little: the sub-pixel fit of the logarithm of a sampled Gaussian (NMS) is exact
# for an isolated, ideal Gaussian, and the LoG's quadratic fit on its filter response is
# close; the table shows the LoG's small extra error. Beyond the peak finders, what can
# remain comes from the depth discs. A depth disc holds *one* depth (its joint's) and is read at the
# sub-pixel peak by bilinear interpolation between the four nearest pixels of the
# full-size map: inside a disc they all hold that depth, at a disc's edge one may not.
# Where two joints' discs touch (a robot seen end-on, or two robots overlapping), the
# disc of the nearer joint wins. A joint hidden behind another robot has its belief peak outside its
# own robot's mask, so masking makes it a miss rather than a wrong position.
#
# **Why the mask matters.** Without masks, the strongest peak of "joint 3" belongs to
# whichever robot has the strongest response, and a chain can take its elbow from one
# robot and its wrist from another. Masking before peak finding restricts each chain to
# the pixels of its mask. With the true masks used here, that is its own robot; a trained
# instance model's mask can also cover part of another robot, and then its chain can take
# joints from both. Section 4.4 measures on two-robot scenes which effect the reference
# networks' masks have, and its verdict is written from that measurement.
#
# ## The reference networks
#
# `Predictor.from_pretrained(robot)` loads the shipped reference checkpoints: the robot's
# localization network and an instance model, all trained on a CPU; chapters 2, 3, 5
# and 6 describe them. Where a robot ships both instance models, a rule on measured figures
# picks one (`checkpoint.default_instance_task`): the higher sum of mask AP@0.5 (chapter
# 3's average precision of the masks at an overlap, IoU, of at least 0.5) and counting
# accuracy on synthetic validation scenes. Neither the test set, whose figures this
# chapter reports, nor chapter 5's real photos play a part in this choice; a tie keeps
# the paper's recurrent model. `predictor(image, K)` takes an image of any size, resizes
# it to the network's 240x320 input, scales $K$ with it (and uses the scaled focal length to
# decode depth, as in training), and maps the results back to the input's pixels. Without
# the reference checkpoints the cells below print a note and are skipped.

# %%
# ROBOTPOSE_PREDICTOR_CHECKPOINT replaces the Panda reference (e.g. a run of your own)
override = os.environ.get("ROBOTPOSE_PREDICTOR_CHECKPOINT")
try:
    predictor = (Predictor.load(override, robot=ROBOT) if override
                 else Predictor.from_pretrained(ROBOT))
    source = override or ("reference localization + "
                          + Path(predictor.sources["checkpoint"]).parent.name)
except FileNotFoundError as missing:  # no reference models: skipped below
    print(f"note: {missing}")
    predictor = None
HAS_MASKS = predictor is not None and predictor.instances is not None
if predictor is None:
    print("NOTE: no reference checkpoints: the sections using trained networks are "
          "skipped.")
else:
    print(f"predictor: {source}")
    print(f"network input {predictor.input_size[0]}x{predictor.input_size[1]}; "
          f"instance masks: {'yes' if HAS_MASKS else 'no'}; device {predictor.device}")

# %% tags=["remove-input"]
# what the rest of the chapter runs, said before its figures
if predictor is not None:
    # whether the robot ships both instance models, so that the rule chose between them
    both = all(read_record(f"{ROBOT}_{task}_cpu") is not None
               for task in ("instances", "onepass"))
    display(Markdown(narration.pipeline_in_use(
        ROBOT, showcase.instance_model_kind(predictor),
        read_record(f"{ROBOT}_localization_cpu"), ships_both=both,
        robot_words=("the Panda drawn from its URDF meshes, the *mesh Panda* of chapters 1 and 5"
                     if ROBOT == "panda" else ""))))

# %% [markdown]
# {numref}`fig-predicted` shows the chains predicted on a scene of the fixed synthetic test
# set with two or more robots, drawn in 2D over the image and in 3D (camera frame,
# metres) next to the ground truth (dashed). The scene is chosen by a rule rather than by
# eye: among the first such test scenes, the one of median ranking error (the mean 2D
# joint error with each joint capped and a miss counted at the cap), so that about as
# many scenes go better as go worse; the sentences under the figure state the rule with
# its numbers. The introduction applies the same rule to test scenes rendered
# at the network's 240x320; where this chapter renders them larger (480x640 in the full
# build) they are other images, so the two can pick different scenes. The paper's Fig. 9
# shows such chains on its artificial test data beside their heat maps and masks; for
# our networks those are in the introduction's {numref}`fig-pipeline-networks`, and
# {numref}`fig-perfect` above shows them for perfect maps.

# %% mystnb={"figure": {"caption": "The reference networks through Predictor on the test scene of median 2D error among the first with two or more robots (the rule is stated under the figure): predicted chains over the image (white: the truth) and in 3D in the camera frame (each true chain dashed in a dark shade of the predicted robot matched to it). The number after each predicted robot in the legend is its score (defined below the figure).", "name": "fig-predicted"}}
if predictor is not None:
    # the test scene of median mean 2D joint error (robotpose_lib/showcase.py)
    typical = showcase.median_test_scene(predictor, ROBOT, n=config.pick(6, 12),
                                         size=SIZE, min_robots=2)
    poses = typical.poses
    title = (f"{narration.count_noun(len(poses), 'robot')} predicted, "
             f"{typical.sample.num_robots} in the "
             f"scene (test scene {typical.index})")
    viz.tidy_3d(viz.plot_prediction(typical.sample, poses, title))
    plt.show()
else:
    print("skipped: no trained predictor")

# %% [markdown]
# The number after each predicted robot in the legend is its **score**, by which
# `Predictor` ranks the robots of an image (`decode.select_instances`): the confidence of
# its instance mask (the mask's mean value over the pixels it activates) times the mean
# belief at its joints' peaks (0 for a joint not found). It ranks; it is not the
# probability that the chain is right. What each predicted chain above actually is:

# %% tags=["hide-input"]
MATCH_PX = 40.0  # largest mean 2D joint distance of a matched pair, at 480x640


if predictor is not None:
    display(Markdown(narration.chosen_scene_rule(
        typical.errors, typical.error, 2, SIZE, showcase.MISSING_PX,
        "the reference networks loaded above")))
    display(Markdown(describe_chains(typical.sample, poses, MATCH_PX)))

# %% [markdown]
# The industrial arm (`kuka_kr16`, the KUKA KR 16 of chapter 1), whose synthetic figures
# fill the introduction's scorecard, seen the same way and chosen by the same rule: {numref}`fig-predicted-kuka`. Its test scenes
# place the camera up to 10 m from the scene's centre (a robot's joints can lie farther),
# so its robots are often small in the image.

# %% mystnb={"figure": {"caption": "The industrial arm's reference networks through Predictor on its test scene of median 2D error among the first with two or more robots (the rule is stated under the figure), drawn as in the figure above.", "name": "fig-predicted-kuka"}}
try:
    other_predictor = Predictor.from_pretrained("kuka_kr16")
except FileNotFoundError as missing:  # no reference models of that robot
    print(f"skipped: {missing}")
    other_predictor = None
if other_predictor is not None:
    typical_kuka = showcase.median_test_scene(other_predictor, "kuka_kr16",
                                              n=config.pick(6, 12), size=SIZE,
                                              min_robots=2)
    title = (f"{narration.count_noun(len(typical_kuka.poses), 'robot')} predicted, "
             f"{typical_kuka.sample.num_robots} in the scene "
             f"(test scene {typical_kuka.index})")
    viz.tidy_3d(viz.plot_prediction(typical_kuka.sample, typical_kuka.poses, title))
    plt.show()

# %% tags=["hide-input"]
if other_predictor is not None:
    display(Markdown(narration.chosen_scene_rule(
        typical_kuka.errors, typical_kuka.error, 2, SIZE, showcase.MISSING_PX,
        "the industrial arm's reference networks")))
    display(Markdown(describe_chains(typical_kuka.sample, typical_kuka.poses,
                                     MATCH_PX)))

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
# On the fixed test set of chapter 2 (its own seed and background photos), the whole
# pipeline runs for the mesh Panda and the industrial arm, and each predicted 3D joint
# is set against the truth (the primitive Panda, whose models chapter 6 compares, is
# left out here). The rules:
#
# * **Image size.** The scenes are rendered at 480x640, the paper's size; `Predictor`
#   scales them down for its networks. Chapters 2 and 3 render the same scenes at their
#   networks' 240x320, so a robot at the image border can count at one size and not at
#   the other, and the robot totals can differ slightly.
# * **Matching.** Every true robot is matched to at most one predicted robot, by the mean
#   2D distance of their joints, at most 40 px at 480x640 (a sixteenth of the width): a
#   chain farther off lies beside the robot rather than on it, and counts as a miss
#   instead of adding a large error. The candidates are all the chains the instance model
#   emitted, before `Predictor` drops duplicates and chains without a joint, so the tables
#   are the pipeline's before that last step (the paragraph after them gives both counts).
# * **Joints counted.** Each joint in the frame contributes its 3D distance to the truth,
#   hidden joints too (chapter 2 leaves out joints hidden behind another robot, so it
#   counts fewer). Joints of unmatched robots and joints without a peak are *misses*,
#   reported separately.
# * **Near and far.** Like the paper's Table I, the errors are split by true depth into
#   near $[0, 5)$ m and far $[5, 10]$ m; joints beyond 10 m count in the figure below,
#   not in the table. The Panda's test cameras stay within 3 m of the scene's centre
#   (chapter 1's presets), so only the industrial arm fills the far column.
# * **What is measured.** Both peak finders decode the same network outputs. These are
#   3D errors of whole joints through the whole pipeline; Table I in chapter 2 measures
#   only the depth read from the map on each joint's disc, over other joints, so the two
#   need not agree even for the same network.

# %%
predictors = {ROBOT: predictor}
for other in ("panda", "kuka_kr16"):  # the robots with reference models
    if other == "kuka_kr16" and other != ROBOT:  # loaded for its figure above
        predictors[other] = other_predictor
    elif other != ROBOT:
        try:
            predictors[other] = Predictor.from_pretrained(other)
        except FileNotFoundError:  # no reference models of that robot
            predictors[other] = None
reports, kept = {}, {}
for robot, p in predictors.items():
    if p is None:
        print(f"{robot}: skipped, no trained predictor")
        continue
    test = test_dataset(robot, N_TEST, SIZE)
    samples = [test[i] for i in range(len(test))]
    reports[robot] = pose3d.evaluate_3d(p, samples, max_match_px=MATCH_PX)
    # robots Predictor itself returns (after dropping joint-less robots and duplicates)
    kept[robot] = sum(len(x) for x in p([t.image for t in samples],
                                        [t.K for t in samples]))
    rep = reports[robot]
    record = read_record(f"{robot}_localization_cpu")
    recipe = (" (localization net trained last on the "
              f"`{record.lineage['recipe']}` recipe)" if record is not None else "")
    if record is not None and record.lineage["recipe"] != "paper":
        # trained on other cameras than the test set's: said beside its figures
        trained = params_for(robot, record.lineage["recipe"])
        tested = params_for(robot)
        recipe += (f", whose cameras ({narration.camera_ranges(trained)}) differ "
                   f"from the test set's ({narration.camera_ranges(tested)})")
    kind = showcase.instance_model_kind(p)  # the default instance model of the robot
    recipe += f"; {kind} instance model"
    joints = int(rep.counted.sum())
    display(Markdown(f"**{robot}**{recipe}: {rep.num_images} test images, "
                     f"{len(rep.counted)} true robots, {joints} counted joints; "
                     f"depth decoded with the checkpoint's "
                     f"{p.depth_coding.kind} code.\n\n" + report3d_table(rep)))

# %% tags=["hide-input"]
for robot, rep in reports.items():
    method = next(iter(rep.errors_cm))
    min_score = predictors[robot].min_score
    display(Markdown(f"**{robot}**: "
                     + describe_coverage(rep, method, min_score, MATCH_PX)
                     + " So the errors describe the robots the pipeline finds, not "
                     "all robots of the test set."))

# %% tags=["hide-input"]
if reports:
    display(Markdown(narration.describe_predicted_counts(
        reports, kept, {r: predictors[r].duplicate_iou for r in reports}, MATCH_PX)))

# %% mystnb={"figure": {"caption": "End-to-end 3D joint errors on the synthetic test set, both peak finders on the same network outputs, one row per robot. Left: the share of each finder's found joints within a given error (cumulative, log scale; a curve further left and higher places more joints closer). Right: the errors against the joint's true depth, each joint a faint dot and each finder's median per depth bin a line; dotted: the near/far split of Table I; dashed: its far range's end at 10 m, beyond which joints count here but not in the table.", "name": "fig-3d-errors"}}
import itertools

FINDER_COLORS = {"nms": "C0", "log": "C1"}
if reports:
    fig, axes = plt.subplots(len(reports), 2, figsize=(10, 3.2 * len(reports)),
                             squeeze=False)
    for row, (robot, report) in zip(axes, reports.items()):
        for m in report.errors_cm:
            e = report.errors_cm[m][report.counted]
            z = report.true_depth_m[report.counted]
            ok = np.isfinite(e)
            if ok.any():
                # cumulative shares, not two overlaid histograms: both stay visible
                errors, n = np.sort(e[ok]), int(ok.sum())
                row[0].step(errors, np.arange(1, n + 1) / n, where="post", lw=1.8,
                            label=f"{peak_name(m)} (n={n})",
                            color=FINDER_COLORS.get(m, "gray"))
                color = FINDER_COLORS.get(m, "gray")
                row[1].scatter(z[ok], e[ok], s=5, alpha=0.3, color=color)
                # the two finders' clouds overlap; their medians per depth bin do not
                bins = [(z[ok] >= lo) & (z[ok] <= hi) for lo, hi in
                        itertools.pairwise(np.linspace(z[ok].min(), z[ok].max(), 9))]
                row[1].plot([z[ok][b].mean() for b in bins if b.sum() >= 5],
                            [np.median(e[ok][b]) for b in bins if b.sum() >= 5],
                            "o-", color=color, label=f"{peak_name(m)}: median per bin")
        row[0].set_xscale("log")
        # plain numbers at 1, 2, 5 x 10^k cm rather than powers of ten
        row[0].xaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
        row[0].xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        row[0].xaxis.set_minor_formatter(NullFormatter())
        row[0].set_xlabel("3D joint error [cm]")
        row[0].set_ylabel(f"{robot}: share of found joints\nwithin the error")
        row[0].set_ylim(0, 1)
        row[0].legend()
        row[1].set_xlabel("true joint depth [m]")
        row[1].set_ylabel("3D joint error [cm]")
        row[1].legend()
        row[1].axvline(metrics.NEAR_FAR_SPLIT_M, color="gray", ls=":")
        if row[1].get_xlim()[1] > 10:  # Table I's far range ends here
            row[1].axvline(10, color="gray", ls="--", lw=0.8)
            # inside the axes, below the top frame
            row[1].text(10, 0.97, " 10 m", va="top", fontsize=9,
                        transform=row[1].get_xaxis_transform())
    plt.tight_layout()
    plt.show()

# %% tags=["hide-input"]
for robot, rep in reports.items():
    text = narration.compare_peak_finders_3d(robot, rep, quick=QUICK,
                                             tests=len(reports))
    if text:
        display(Markdown(text))


# %% [markdown]
# Read the tables above for NMS against LoG: both start from the same maps, so any
# difference comes from where each places the peak (the LoG prefers the centre of a blob
# at the scale of the belief Gaussian, NMS the brightest pixel) and from which joints each
# finds at all. The paper reports only depth errors over the depth discs (Table I, our
# chapter 2); the errors here are end-to-end, including the 2D error of the peak, which a
# depth error alone does not see.
#
# ## Without instance masks: two robots in one image
#
# The scenes here hold exactly two mesh Pandas standing close to each other: both bases
# lie within half an arm's reach of the scene's centre, so that the robots often overlap
# in the image, though not in every scene. Each scene is decoded twice from the same
# outputs of the shipped Panda networks: with the predicted instance masks (the one-pass
# model's), and as if the image showed one robot (each joint's strongest peak anywhere). A chain's own robot is the one that most of its
# found joints lie nearer to. The last column counts the found joints that lie nearer to
# the *other* robot's joint than to their own robot's: what a chain takes from the second
# robot, the mixing that masks are meant to prevent.

# %%
if HAS_MASKS:
    pairs = close_pair_scenes(ROBOT, N_PAIRS, size=SIZE)
    effect = pose3d.wrong_robot_effect(predictor, pairs)
    effect_rows = effect.rows()
    table = markdown_table(effect_rows, formats={
        "joints found": ".0%", "mean 3D [cm]": ".1f", "median 3D [cm]": ".1f",
        "joints on the other robot": ".1%"})
    # both decodings of every scene from one network pass (NMS, as in the table)
    both = pose3d.decode_variants(predictor, pairs, {"masks": ("nms", True),
                                                     "plain": ("nms", False)})
    # per scene (found joints, of them nearer the other robot's joint), both ways
    per_scene = [(pose3d.other_robot_joints(m, s), pose3d.other_robot_joints(n, s))
                 for s, m, n in zip(pairs, both["masks"], both["plain"])]
    display(Markdown(f"On {len(pairs)} two-robot scenes:\n\n{table}\n\n"
                     + describe_wrong_robot(effect_rows, len(pairs), per_scene)))
else:
    print("skipped: needs the reference instance model")

# %% [markdown]
# {numref}`fig-masks-or-not` shows one of these scenes decoded both ways. It is picked on
# purpose as the clearest case of mixing, not a typical scene; the table gives the typical
# figures. So that the figure shows what the table's last column measures, the scene is
# the one where the two decodings differ most in the number of found joints that lie
# nearer the other robot's joint (ties broken by the difference in joints found), counted
# as in the table.

# %%
if HAS_MASKS:
    # the scene whose two decodings (decoded above) differ most
    pick = pose3d.most_differing_scene(per_scene)
    (found_m, foreign_m), (found_p, foreign_p) = per_scene[pick]
    display(Markdown(narration.describe_shown_pair(
        per_scene, pick, coinciding_chains(both["masks"][pick]))))
else:
    print("skipped: needs the reference instance model")

# %% tags=["hide-input"] mystnb={"figure": {"caption": "The two-robot scene of the table whose two decodings differ most in the number of found joints lying nearer the other robot's joint (the counts are in the titles and the sentence above). It is decoded from the same network outputs with the instance masks (top) and as if it showed one robot (bottom). Predicted chains are drawn over the image (white: the truth) and in 3D (each true chain dashed in a dark shade of the predicted robot matched to it; grey: a true robot no prediction is matched to). The legend numbers here are the mask confidences alone (1.00 without masks): these decodings skip Predictor's ranking.", "name": "fig-masks-or-not"}}
if HAS_MASKS:
    s = pairs[pick]
    masked_poses, plain_poses = both["masks"][pick], both["plain"][pick]
    fig = plt.figure(figsize=(10, 7))
    panels = ((masked_poses, "with instance masks: "
                             f"{narration.count_noun(len(masked_poses), 'chain')}; "
                             f"{foreign_m} of {found_m} joints on the other robot"),
              (plain_poses, f"without masks: one chain; {foreign_p} of {found_p} "
                            "joints on the other robot"))
    for row, (poses, title) in enumerate(panels):
        sub = fig.add_subfigure(plt.GridSpec(2, 1, figure=fig)[row])
        viz.tidy_3d(viz.plot_prediction(s, poses, title, fig=sub))
    plt.show()

# %% [markdown]
# ## Runtime (the paper's Table II)
#
# `robotpose bench runtime` times each step for 480x640 inputs on the computer that
# built this page, beside
# the paper's numbers (a GTX 1080 Ti), with the reference localization network of the
# Panda drawn from primitives and its recurrent instance model, the paper's design: not
# the mesh Panda pipeline of the sections above, which ships only the one-pass model.
# The primitive Panda ships both instance models (its default is the one the rule above
# picks), and the benchmark times the recurrent one because Table II does. Chapter 6
# times both instance models of the primitive Panda and of the industrial arm. Our
# models are CPU-sized; the paper's LoG was "an untuned CPU implementation" (its words,
# beside Table II), ours runs scale-space convolutions in torch (on the GPU when there
# is one, and on the CPU only over the tiles that can hold a peak), checked against
# `skimage.feature.blob_log` on the same maps. We set ourselves a target of one second
# for the whole prediction of a 3-robot 480x640 image on an ordinary CPU of a few cores,
# so that `robotpose predict` stays interactive on the machines most readers have (the
# paper sets none); the table says which CPU measured it.
# The paper's standard deviation for belief prediction (12.675 ms) exceeds its mean
# (10.95 ms); the paper does not say why, so read that mean as rough.

# %%
from robotpose_lib.bench import runtime

THREADS = 1  # torch CPU threads while timing (robotpose bench runtime --threads)
# the primitive Panda's recurrent instance model (chapter 3), timed here
TIMED = "panda_primitive"
table_ii = runtime.measure_table_ii(robot=TIMED, threads=THREADS,
                                    repeats=config.pick(3, 10),
                                    baseline_repeats=config.pick(1, 3))
display(Markdown(narration.table_ii_markdown(table_ii, TIMED)))

# %% tags=["hide-input"]
for paragraph in narration.describe_table_ii(table_ii):
    display(Markdown(paragraph))
display(Markdown(narration.table_ii_conditions(
    table_ii, len(names),
    showcase.instance_model_kind(predictor) if predictor is not None else None)))

# %% [markdown]
# ## Explore: your own scene
#
# With a running kernel, pick a scene (seed, number of robots, camera distance and field
# of view) and see the prediction and its errors redrawn. The static book shows a few
# settings fixed by hand (not chosen by their errors) as figures below it instead; they
# include failures, and the sentence after them compares the robots found in them with
# the test set of 4.3.

# %%
shown = []  # (setting, robots matched, true robots) of each scene drawn below


def explore(seed=0, robots=2, distance=1.8, fov=50.0, method="nms"):
    s = camera_scene(ROBOT, seed, robots, distance, fov, SIZE)
    if predictor is None:  # no trained networks: the scene and its truth alone
        viz.image_grid([viz.draw_sample(s)], cols=1,
                       titles=["truth (no trained predictor)"], size=5)
    else:
        poses, rep = pose3d.score_scene(predictor, s, method)
        shown.append(((seed, robots, distance, fov), int(rep.matched[method].sum()),
                      s.num_robots))
        title = narration.scene_title(poses, s.num_robots, rep, method)
        viz.tidy_3d(viz.plot_prediction(s, poses, title))
    plt.show()


import ipywidgets as widgets

from robotpose_lib.widgets import panel_controls, render_figures

_, show_figure = panel_controls(
    explore, seed=widgets.IntSlider(0, 0, 50, description="seed"),
    robots=widgets.IntSlider(2, 1, 3, description="robots"),
    distance=widgets.FloatSlider(value=1.8, min=0.6, max=3.0, step=0.1,
                                 description="distance [m]"),
    fov=widgets.FloatSlider(value=50.0, min=40.0, max=65.0, step=1.0,
                            description="fov y [deg]"),
    method=widgets.Dropdown(options=["nms", "log"], description="method"))

# %% tags=["hide-input"] mystnb={"figure": {"caption": "The panel at its first setting (seed 0, two robots, camera at 1.8 m, 50 deg field of view, NMS peaks); with a running kernel, the controls above redraw it. The title gives the robots predicted and true and the mean 3D error of the matched joints.", "name": "fig-explore-panel"}}
show_figure()

# %% tags=["hide-input"] mystnb={"figure": {"caption": "A few fixed settings of the panel, drawn in the static book, failures included; each bold title gives the setting (seed, number of robots, camera distance). A legend pairs each true robot with its nearest chain at any distance and gives that robot's score (mask confidence times its joints' mean belief). The sentence below counts a robot as matched only when its chain lies within the stated distance, so it can count fewer.", "name": "fig-explore-settings"}}
# static fallback: a few settings, as one figure
SETTINGS = config.pick([(1, 2, 1.5)], [(1, 1, 1.2), (2, 2, 1.8), (3, 3, 2.6)])
titles = [f"seed {seed}, {narration.count_noun(robots, 'robot')}, "
          f"camera at {distance} m" for seed, robots, distance in SETTINGS]
display(render_figures(lambda: [explore(*setting) for setting in SETTINGS],
                       figure_titles=titles))

# %% tags=["hide-input"]
if predictor is not None and shown and ROBOT in reports:
    rep, m0 = reports[ROBOT], next(iter(reports[ROBOT].matched))
    trained = None  # the recipe the shipped localization model was trained on last
    if override is None:
        settings = load_checkpoint(pretrained_paths(ROBOT)[0]).get("settings") or {}
        recipe = settings.get("recipe", "paper")
        trained = (recipe, params_for(ROBOT, recipe))
    display(Markdown(narration.describe_explored_scenes(
        shown, int(rep.matched[m0].sum()), len(rep.matched[m0]), m0, MATCH_PX,
        params_for(ROBOT), trained, ROBOT)))

# %% [markdown]
# ## What differs from the paper
#
# * **Masking**: as the paper, beliefs are multiplied by each instance mask before peak
#   finding. The masks come from the instance model that `Predictor` loads (4.2 says
#   which, and the tables of 4.3 name it per robot). That is our one-pass model (chapter
#   6) where the rule of 4.2 picks it or it is the only one, else the paper's recurrent
#   model (chapter 3). The recurrent model stops when fewer than 0.2% of the image's
#   pixels are active in its mask, instead of the paper's 5%, because most of our
#   synthetic robots cover less than 5% of the image; 0.2% is the largest step of a
#   1-2-5 scale that every robot of the validation scenes covers (chapter 3). The
#   runtime table of 4.5 times the recurrent model.
# * **Peaks**: NMS by max-pooling (3x3) then the best peak per joint, with a sub-pixel
#   fit of the logarithm of the belief; LoG as `blob_log` (same kernels and peak rule)
#   implemented with torch convolutions. The paper gives neither the sub-pixel method
#   nor its LoG parameters.
# * **Depth**: our scenes' cameras vary in field of view, and a robot's apparent size
#   depends on the focal length as well as its distance. Our depth channel is therefore
#   normalised to a reference focal length (chapter 2), and the decoded depth uses the
#   focal length of the network-resolution image. The paper does not say whether its
#   camera's field of view varied, and codes depth without it.
# * **A joint not found** has NaN coordinates and score 0, never a guessed position.
#
# ## Summary
#
# * Decoding is four small steps: mask, peak, depth, back-projection. On the perfect
#   maps of the one scene checked it lost almost nothing, which suggests that the
#   end-to-end errors are mostly the networks'.
# * `Predictor` and `robotpose predict` run the whole pipeline on any image and $K$,
#   resizing both consistently.
# * NMS and LoG decode the same maps; section 4.3 tests, joint by joint, whether either
#   places the joints closer for our networks, and section 4.4 how much masks help or hurt
#   when two robots share an image.
# * Every step is timed beside the paper's Table II; the paper timed its networks on a
#   GPU and its LoG on a CPU.
#
# ## Exercises
#
# 1. Decode the perfect maps with a larger belief $\sigma$ (`TargetParams(sigma=8)`):
#    expect nearly the same peaks (the sub-pixel fit is exact for an isolated Gaussian of
#    any width, but wider Gaussians overlap more) and depth discs that touch more often,
#    so slightly larger 3D errors where joints are close.
# 2. Run `robotpose predict` on a photo of your own with your camera's $f_x, f_y, c_x,
#    c_y$: expect chains on a robot only if it looks like the training scenes (chapter 5).
# 3. Time `robotpose bench runtime --threads 2` against the default: expect the belief
#    prediction to speed up by less than twice on two cores.
