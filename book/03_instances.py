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
# # Robot instances
#
# The localization network of the previous chapter predicts, for every joint type, a
# belief map with one peak per robot, and a depth map. With one robot in view that is
# enough to read off its kinematic chain. With several robots it is not: the belief maps
# say *where* the elbows are, not *whose* elbow each one is. The paper (§III-C) solves
# this with a second network that segments the robots one at a time, a recurrent
# network that emits one mask per step until it runs out of robots. The masks are then
# meant to cut the belief maps into one set per robot. Chapter 4 measures how well
# predicted masks do that, with the masks of a simpler one-pass model that chapter 6
# introduces and the pipeline uses by default.
#
# You will learn:
#
# * why belief maps alone cannot assemble several robots, shown on a rendered scene;
# * how the recurrent instance model works, and its permutation-invariant loss (soft IoU
#   and Hungarian matching, the paper's equations 4-6);
# * how it trains, live on toy scenes;
# * how to evaluate it: masks step by step, whether each step emits one robot,
#   precision-recall curves and AP (the paper's Fig. 7), and counting;
# * what the paper's own criticism (runtime grows with the number of robots, hard to
#   train) looks like when measured.

# %% tags=["remove-cell"]
# On Colab, install the library first (elsewhere it is already installed by `make`).
import sys

REPOSITORY = "https://github.com/robotpose/robotpose"  # _config.yml repository.url (scripts/set_repository.py)
if "google.colab" in sys.modules:
    import subprocess

    subprocess.run([sys.executable, "-m", "pip", "install", "-q", f"robotpose @ git+{REPOSITORY}"], check=True)

# %% tags=["remove-input"]
# The chapter's verdict, from the shipped models' records (robotpose_lib/scorecard.py)
from IPython.display import Markdown, display

from robotpose_lib.book import chapter_verdict

display(Markdown(chapter_verdict("3")))

# %%
import time

import cv2
import matplotlib.pyplot as plt
from IPython.display import Markdown, display
import numpy as np
import torch

from robotpose_lib import config, viz
from robotpose_lib.viz import instances as iv
from robotpose_lib.viz.training import (lineage_curve, mark_parts, plot_training_curve,
                                        relative_noise)
from robotpose_lib.ap import ap_table
from robotpose_lib.eval.testset import (TEST_SEED, VALIDATION_SEED, robot_count_shares,
                                       test_dataset, validation_dataset)
from robotpose_lib.models.instances import (DEFAULT_MIN_ACTIVE_FRACTION,
                                            PAPER_MIN_ACTIVE_FRACTION)
from robotpose_lib.structures import stopping_fraction
from robotpose_lib.bench.runtime import cpu_model, instance_timings
from robotpose_lib.cards import read_record, weight1_runs
from robotpose_lib.book import find_log, progress_table, quick_mode_note
from robotpose_lib import narration
from robotpose_lib.narration import markdown_table
from robotpose_lib.eval.instances import evaluate_instances, step_purity
from robotpose_lib.tasks import load_reference
from robotpose_lib.matching import matching_loss
from robotpose_lib.synth import generate, params_for
from robotpose_lib.toy import (counts_by_rule, disc_batch, sweep_runs, toy_steps,
                               toy_sweep, train_quick_toy)

QUICK = config.quick_mode()
DEVICE = config.default_device()
ROBOT = "kuka_kr16"  # the paper's robot class (a 6-axis industrial arm)
H, W = config.pick((120, 160), (240, 320))  # size of the illustration scenes
print(f"Models run on: {DEVICE}")
quick_mode_note()

# %% [markdown]
# ## Why instances are needed
#
# Below, a scene with three robots of the same model. The middle panel is what ideal
# belief maps tell: one dot per joint, coloured by joint *type* only. To draw kinematic
# chains we must decide which joint 2 goes with which joint 1, and so on up the chain.
# The obvious heuristic, linking each joint to the nearest joint of the next type, fails
# as soon as robots stand close together or overlap in the image (right panel, wrong
# links in red). We pick, among a few random three-robot scenes, the one where the
# heuristic goes wrong most often.

# %%
three = params_for(ROBOT, min_robots=3, max_robots=3, theta_vr=1.0)
candidates = generate(ROBOT, seed=7, indices=range(config.pick(6, 16)), height=H,
                      width=W, params=three)
# the three-robot scene, all joints in the frame, where nearest-neighbour chains go
# wrong most often
scene = iv.assignment_scene(candidates, robots=3)
n_wrong, n_links, peaks, chains = iv.wrong_links(scene.joints_2d)

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Why instances are needed. Left: the truth, one mask and chain per robot. Middle: what ideal belief maps say, one marker per joint, its colour and shape given by the joint type only. Right: chains assembled by linking each joint to the nearest joint of the next type; links between two different robots in red.", "name": "fig-assignment"}}
fig, axes = plt.subplots(1, 3, figsize=(10, 3.2))
truth_view = iv.instance_overlay(scene.image, scene.masks, alpha=0.35)
for r in range(scene.num_robots):
    truth_view = viz.draw_chain(truth_view, scene.joints_2d[r], scene.visibility[r],
                                viz.INSTANCE_COLORS[r % 10], radius=2, thickness=1)
axes[0].imshow(truth_view)
axes[0].set_title("ground truth: masks and chains per robot", fontsize=9)
axes[0].axis("off")
iv.plot_joint_peaks(axes[1], scene.image, scene.joints_2d,
                    np.ones(scene.joints_2d.shape[:2], bool),
                    "belief peaks: joint type only")
iv.joint_legend(axes[1])
iv.plot_chains(axes[2], scene.image, peaks, chains, "nearest-neighbour chains")
# zoom onto the robots (joints and masks) with a margin
uv = scene.joints_2d.reshape(-1, 2)
rows_any, cols_any = (np.flatnonzero(scene.masks.any((0, 2))),
                      np.flatnonzero(scene.masks.any((0, 1))))
u0, u1 = min(uv[:, 0].min(), cols_any.min()), max(uv[:, 0].max(), cols_any.max())
v0, v1 = min(uv[:, 1].min(), rows_any.min()), max(uv[:, 1].max(), rows_any.max())
margin = 0.15 * max(u1 - u0, v1 - v0) + 2
for ax in axes:
    ax.set_xlim(max(-0.5, u0 - margin), min(W - 0.5, u1 + margin))
    ax.set_ylim(min(H - 0.5, v1 + margin), max(-0.5, v0 - margin))
plt.tight_layout()
plt.show()

# %% tags=["hide-input"]
display(Markdown(narration.describe_assignment(n_wrong, n_links)))

# %% [markdown]
# A mask that covers one robot, and only that robot, removes the guesswork: multiply
# every belief map by it and only that robot's peaks remain, as with the true masks of
# {numref}`fig-assignment`. The masks the instance model predicts are only as good as
# that: where a predicted mask also covers another robot, or the background, the peaks
# there pass too. This chapter measures how far the predicted masks are from one robot
# per mask; chapter 4 measures how many joints then land on the other robot, decoded with
# predicted masks (those of chapter 6's one-pass model, for the mesh Panda) and without
# any.
#
# ## The recurrent idea
#
# How many robots are in an image is not known in advance, so the model cannot have a
# fixed number of outputs. The paper borrows the recurrent instance segmentation of
# Romera-Paredes and Torr {cite}`romera2016recurrent`: a convolutional GRU, or ConvGRU (a
# gated recurrent unit whose matrix products are convolutions, Ballas et al.
# {cite}`ballas2016convgru`), emits one mask per step, and an empty mask means "no more
# robots". Its input, which this chapter calls $F$ too, is chapter 2's features $F$ with
# the predicted belief and depth maps appended, at the feature resolution. A context module (convolution blocks with max-pooling, "M" in the
# paper's Fig. 5) looks at $F$ coarsely and seeds the hidden state; the cell then reads
# $F$ again at every step, and a refine block turns each hidden state into a
# full-resolution mask through a sigmoid. In training the model is unrolled $R+1$ steps
# for a scene with $R$ robots: $R$ masks and the end-of-sequence mask ({numref}`fig-unrolled`).

# %% mystnb={"figure": {"caption": "The instance model unrolled for R + 1 = 4 steps (the paper's Fig. 5): the context module seeds the ConvGRU's hidden state from F; at every step the cell reads F again and the refine block turns its hidden state into a full-resolution mask.", "name": "fig-unrolled"}}
iv.draw_unrolled_model(steps=4)
fig_w, fig_h = plt.gcf().get_size_inches()
plt.gcf().set_size_inches(10, fig_h * 10 / fig_w)
plt.show()

# %% [markdown]
# The hidden state is what the model "remembers" about robots it has already emitted;
# nothing else tells step 2 not to segment the robot of step 1 again.
#
# ## The matching loss
#
# The model may emit the robots in any order, so the loss must not depend on the order of
# the targets. For the first $R$ predicted masks $\hat S_j$ and the $R$ target masks
# $S'_i$ (the paper's notation: the prime marks a target, the hat a prediction) the
# paper computes a *soft IoU* cost from the inner product of the two masks (reshaped as
# vectors),
#
# (paper-eq-4)=
# $$ k = \langle S'_i, \hat S_j \rangle \tag{4} $$
#
# (paper-eq-5)=
# $$ C_{ij} = 1 - \frac{k}{\sum_{p \in \Omega} S'_{i,p} + \sum_{p \in \Omega} \hat S_{j,p} - k}, \tag{5} $$
#
# which works on mask values in $[0, 1]$ and so has a gradient. The loss is the cost of the
# minimum-weight one-to-one assignment of targets to predictions, plus the squared error
# of the $(R+1)$-th predicted mask against the empty end-of-sequence mask:
#
# (paper-eq-6)=
# $$ L_{graph} = \min_A \sum_{i=1}^{R} \sum_{j=1}^{R} C_{ij} A_{ij}
#   + L_2\big(\hat S_{R+1}, S'_{R+1}\big), \tag{6} $$
#
# where $A \in \{0, 1\}^{R \times R}$ pairs each target with one prediction and vice
# versa. The Hungarian method (`scipy.optimize.linear_sum_assignment`) finds the minimum;
# we take the mean over pixels for $L_2$ so that it lives on the same scale as the IoU terms.
#
# To see it at work, we make predictions for the scene above by hand
# ({numref}`fig-matching`): the true masks, blurred, **in a different order**, one of them
# shifted, and a faint blob left in the end-of-sequence step.

# %%
targets = torch.as_tensor(scene.masks, dtype=torch.float32)  # (R, H, W)
R = targets.shape[0]
order = np.roll(np.arange(R), 1)  # prediction j shows robot order[j]
made_up = []
for j in range(R):
    m = cv2.GaussianBlur(scene.masks[order[j]].astype(np.float32), (0, 0), 0.7)
    if j == 0:
        m = np.roll(m, (2, 2), axis=(0, 1))  # an imprecise prediction: 2 pixels off
    made_up.append(m)
first_mask = scene.masks[order[0]].astype(np.float32)
leftover = 0.4 * cv2.GaussianBlur(first_mask, (0, 0), 3.0)
made_up.append(leftover)  # the end-of-sequence step, not quite empty
predictions = torch.as_tensor(np.stack(made_up))[None]  # (1, R + 1, H, W)

result = matching_loss(predictions, targets[None], [R])
cost, assignment = result.costs[0], result.assignments[0]

permuted = torch.as_tensor(np.random.default_rng(0).permutation(R))
again = matching_loss(predictions, targets[permuted][None], [R])
print("assignment (target -> prediction step):",
      {i + 1: int(j) + 1 for i, j in enumerate(assignment)})
print(f"matched soft-IoU cost: {float(result.matched_cost[0]):.3f}  end-of-sequence "
      f"error: {float(result.eos_error[0]):.4f}  loss: {float(result.loss):.3f}")
print(f"loss with the targets shuffled: {float(again.loss):.3f} (permutation "
      "invariant)")

# %% tags=["hide-input"] mystnb={"figure": {"caption": "The matching loss on hand-made predictions: the targets (top), the predictions in another order with one shifted and a faint end-of-sequence blob (bottom), and the soft-IoU cost matrix of eq. 5 with the Hungarian assignment framed.", "name": "fig-matching"}}
# show the region around the robots only (the loss above uses the whole image)
rows_any, cols_any = (np.flatnonzero(scene.masks.any((0, 2))),
                      np.flatnonzero(scene.masks.any((0, 1))))
pad = max(4, (rows_any[-1] - rows_any[0]) // 5)
crop = (slice(max(0, rows_any[0] - pad), rows_any[-1] + pad + 1),
        slice(max(0, cols_any[0] - pad), cols_any[-1] + pad + 1))
iv.plot_matching_example(scene.masks, made_up, cost, assignment, crop)
plt.show()


# %% [markdown]
# The framed cells are the pairs the Hungarian method picked ({ref}`eq. 6 <paper-eq-6>`):
# the diagonal of the matrix would have paired each target with the wrong prediction. The shifted prediction still
# wins its robot, at a higher cost; that cost is what its gradient reduces.
# The end-of-sequence term is small although the leftover blob is plainly visible: it is a
# mean over all pixels, most of which are already zero. Its job is to push the mask below
# the stopping rule's activation threshold, not to make it exactly empty.
#
# ## A live training run on toy scenes
#
# Training the real instance model needs the localization network's features for every
# image, which takes far longer than a chapter should. The recurrent idea itself can be
# watched on toy scenes (`toy.disc_batch`): 0 to 3 discs that do not overlap,
# and as input $F$ what a perfect localization network would provide: where *some* disc
# is (the union of the discs) and the pixel coordinates. Which pixels belong to which
# disc, and how many discs there are, the model must work out itself, step by step. The
# toy model is small enough to train on the CPU in any case.

# %% mystnb={"figure": {"caption": "Training the toy instance model: the matching loss per batch and the soft-IoU cost per disc, each with its trailing mean and spread.", "name": "fig-toy-loss"}}
TOY_STEPS = config.pick(150, 1000)
TOY_BATCH, TOY_SIZE = 16, (32, 32)

start = time.perf_counter()
toy, toy_log = train_quick_toy(TOY_STEPS, batch_size=TOY_BATCH, size=TOY_SIZE)
took = time.perf_counter() - start
print(f"{TOY_STEPS} steps of {TOY_BATCH} scenes in {took:.0f} s")

fig, ax = plt.subplots(figsize=(7, 3))
steps_axis = np.arange(1, TOY_STEPS + 1)
plot_training_curve(ax, steps_axis, toy_log["loss"], window=25, label="loss")
plot_training_curve(ax, steps_axis, toy_log["cost_per_disc"], window=25,
                    label="soft-IoU cost per disc", color="C1")
ax.set_ylabel("per batch")
ax.set_title("toy instance model: matching loss during training", fontsize=10)
plt.show()

# %% [markdown]
# On held-out toy scenes (the same kind of disc scenes, drawn with a seed that the
# training never used) we let the model run with
# the stopping rule and count. The paper's rule ends the sequence at the first step in
# which fewer than 5% of the pixels are activated (mask value above 0.5); the steps
# before it are the count, so a step with exactly 5% still counts. The smallest discs
# cover less than 5%, so we count with 2% as well. These held-out scenes serve every
# toy result of the chapter (here, and the seed sweep at the end of the chapter).

# %%
held_out = torch.Generator().manual_seed(12345)
f_test, masks_test, counts_test = disc_batch(128, held_out, size=TOY_SIZE)
# 3 discs at most + end of sequence + one more
toy_masks, fractions = toy_steps(toy, f_test, TOY_SIZE, steps=5)
truth = counts_test.numpy()
toy_right = {rule: float(np.mean(counts_by_rule(fractions, rule) == truth))
             for rule in (0.05, 0.02)}
display(Markdown(narration.describe_toy_counts(toy_right, counts_test.numpy())))

# %% mystnb={"figure": {"caption": "The toy model on held-out scenes, one scene per row: the first held-out scene of each disc count from 0 to 3, not chosen by the result. Each row shows the discs coloured by true instance, then the model's masks step by step. A step's title gives its share of activated pixels: green while the 2% rule counts a disc, red where it stops (the end-of-sequence step), grey for the steps after it, which are drawn but which the rule never reaches.", "name": "fig-toy-steps"}}
show = [int(np.flatnonzero(counts_test.numpy() == c)[0]) for c in range(4)
        if (counts_test.numpy() == c).any()]
fig = iv.plot_step_masks(
    [np.repeat((masks_test[b].amax(0).numpy() * 255).astype(np.uint8)[..., None], 3,
               axis=2) for b in show],
    [toy_masks[b] for b in show],
    [masks_test[b, : int(counts_test[b])].numpy() > 0.5 for b in show],
    min_active_fraction=0.02, size=10 / 6,
    row_labels=[f"{c} disc{'s' * (c != 1)}" for c in counts_test[show].tolist()],
    fontsize=13, truth_overlay=True, thresholds=(0.05, 0.02))
plt.show()

# %% tags=["hide-input"]
display(Markdown(narration.describe_toy_steps(
    TOY_STEPS, took, QUICK, truth[show], counts_by_rule(fractions[show], 0.02))))

# %% [markdown]
# ## The reference model
#
# The reference model was trained with `robotpose train instances --config cpu` on top of
# a frozen `cpu` localization network. Its checkpoint holds both networks: chapter 2's
# reference localization network for the industrial arm, and the instance network,
# trained last over those very weights, so the maps it reads are the ones it learned
# from (chapter 7 follows its training).
# Chapter 4's `Predictor` uses the one-pass model of chapter 6 by default; the recurrent
# model appears there only in the runtime table (the paper's Table II), timed with the
# primitive Panda's.
# When the reference model is not available (for example when `$ROBOTPOSE_MODELS_DIR`
# names a folder without it), the chapter falls back to an untrained small model so that
# every cell still runs; its numbers then mean nothing, and a note says so.

# %%
# the reference folder: $ROBOTPOSE_MODELS_DIR, else the checkpoints in the package;
# without it an untrained 'quick' model stands in (the same code path)
reference = load_reference(ROBOT, "instances", device=DEVICE, verbose=True,
                           fallback="untrained", untrained_config="quick",
                           fallback_source="an UNTRAINED 'quick' model, so the "
                                           "masks, AP and counts below are "
                                           "meaningless")
model, task, TRAINED = reference.model, reference.task, reference.trained
IN_H, IN_W = task.input_size
print(f"model input {IN_H}x{IN_W}; instance model parameters: "
      f"{sum(p.numel() for p in model.instances.parameters()):,}")

# %% [markdown]
# ### Test data and stopping rules
#
# Evaluation uses a fixed synthetic test set: its own seed, never trained on, and
# background photos from the *test* split, which no training image uses.
#
# Before running the model, one look at the test robots' sizes. The paper stops iterating
# when less than 5% of the image is activated. Our scenes place cameras up to 10 m from
# industrial arms (as the paper), so many robots cover only a small part of the image.
# {numref}`fig-areas` shows each robot's mask area as a share of the image. Our own rule
# (the default of `robotpose eval instances`) stops at a much smaller fraction: the
# largest step of a 1-2-5 scale (0.1%, 0.2%, 0.5%, ...) that every robot of the
# validation scenes covers (`structures.stopping_fraction`). Validation scenes come from
# the training distribution with their own seed, so the rule does not read the test set;
# the cell under the figure applies it and prints how many test robots reach it too.

# %% mystnb={"figure": {"caption": "Mask area of every robot in the test scenes as a share of the image (log scale), with the paper's 5% stopping rule and ours.", "name": "fig-areas"}}
# the same test set as `robotpose eval instances` (robotpose_lib/eval/testset.py);
# the full build evaluates the model card's 100 scenes (its default --n)
N_TEST = config.pick(16, 100)
test_samples = test_dataset(ROBOT, N_TEST, (IN_H, IN_W)).batch(range(N_TEST))
print(f"test set: {N_TEST} scenes at {IN_H}x{IN_W}, seed {TEST_SEED} (no training run "
      "uses it), test background photos")

PAPER_FRACTION = PAPER_MIN_ACTIVE_FRACTION  # the paper's stopping rule
# ours, the default of `robotpose eval instances`
SMALL_FRACTION = DEFAULT_MIN_ACTIVE_FRACTION
SMALL = f"{SMALL_FRACTION:.1%}"
area = np.array([m.sum() / m.size for s in test_samples for m in s.masks])
fig, ax = plt.subplots(figsize=(7, 3))
iv.plot_area_fractions(ax, area, {"paper": PAPER_FRACTION, "ours": SMALL_FRACTION})
ax.set_title(f"{len(area)} robots in {N_TEST} test scenes", fontsize=10)
plt.show()
print(f"median robot area: {100 * np.median(area):.2f}% of the image\n"
      f"the paper's rule stops below {PAPER_FRACTION:.0%}, which "
      f"{np.mean(area >= PAPER_FRACTION):.0%} of robots reach\n"
      f"ours stops below {SMALL}, which {np.mean(area >= SMALL_FRACTION):.0%} reach")
# the rule applied to validation scenes (training distribution and photos, own seed)
val_area = np.array([m.sum() / m.size for s in validation_dataset(
    ROBOT, N_TEST, (IN_H, IN_W)).batch(range(N_TEST)) for m in s.masks])
chosen = stopping_fraction(val_area)
print(f"on {N_TEST} validation scenes (seed {VALIDATION_SEED}, neither a training "
      f"nor the test seed) the smallest of {len(val_area)} robots covers "
      f"{val_area.min():.2%}: the rule gives {chosen:.1%}"
      + (" (the library's default)" if chosen == SMALL_FRACTION else
         f", not the library's default {SMALL}"))

# %% [markdown]
# A trained model that segments a small robot perfectly would still be stopped before it
# by the 5% rule, and every robot after it would be lost too. We therefore evaluate with
# both rules and use the smaller fraction in the figures.
#
# ### Masks step by step
#
# {numref}`fig-steps` shows one scene for each count of 1 to 4 robots (all visible),
# rendered from the test distribution and chosen by a rule rather than by eye. Among the
# first few scenes with that many robots, it is the one whose masks are of median
# quality. The quality is the mean over the scene's robots of each robot's best IoU with
# a mask the model emits before the stopping rule ends the sequence; the sentence under
# the figure states the rule with its numbers. The model runs five steps on each, so the
# grid also shows what it emits after the end of the sequence. A step's title gives its
# share of activated pixels, green while the smaller fraction's rule counts a robot, red
# where it stops. The shares carry as many decimals as it takes to show on which side of 5% and
# of the smaller fraction they fall (4.97% is below the paper's rule, although it would
# round to 5.0%).

# %% mystnb={"figure": {"caption": "The reference instance model step by step on scenes with 1 to 4 robots (rows), each the scene of median mask quality among its candidates (the rule is stated under the figure) and zoomed onto its robots: the image with the true instances in colour, then the mask of each of five steps (white: activated; the title's share is of the whole image, green while the rule counts a robot, red where it stops, grey after). The rows with three and four robots span most of the image, so their robots stay small.", "name": "fig-steps"}}
from robotpose_lib import showcase

# per robot count, the scene of median mean best IoU among the first candidates
chosen = showcase.median_instance_scenes(model, ROBOT, counts=range(1, 5),
                                         n=config.pick(3, 9), size=(IN_H, IN_W),
                                         min_active_fraction=SMALL_FRACTION,
                                         steps=5, device=DEVICE)
step_images = [c.sample.image for c in chosen]
step_masks = [c.masks for c in chosen]
step_truth = [c.sample.masks for c in chosen]
step_labels = [f"{c.sample.num_robots} robot{'s' * (c.sample.num_robots != 1)}"
               for c in chosen]
# each row zoomed onto its robots (one window for the image, the truth and every step)
zooms = [viz.zoom_box(truth, aspect=4 / 3) for truth in step_truth]
iv.plot_step_masks([im[z] for im, z in zip(step_images, zooms)],
                   [m[:, z[0], z[1]] for m, z in zip(step_masks, zooms)],
                   [t[:, z[0], z[1]] for t, z in zip(step_truth, zooms)],
                   min_active_fraction=SMALL_FRACTION,
                   row_labels=step_labels, size=10 / 6, fontsize=13,
                   truth_overlay=True, thresholds=(PAPER_FRACTION, SMALL_FRACTION),
                   fractions=[iv.active_fractions(m) for m in step_masks])
plt.show()

# %% tags=["hide-input"]
from robotpose_lib.eval.instances import activation_on_robots

display(Markdown(narration.chosen_masks_rule(
    chosen, SMALL_FRACTION, "the reference instance model" if TRAINED
    else "the untrained stand-in model")))
display(Markdown(narration.describe_step_counts(
    step_labels, [iv.active_fractions(m) for m in step_masks], PAPER_FRACTION,
    SMALL_FRACTION)))
# where the steps that should each emit a robot light up: on robots or background
shown_activation = activation_on_robots(step_masks, step_truth)
display(Markdown(narration.describe_step_activation(shown_activation)))

# %% [markdown]
# ### Does each step emit one robot?
#
# The grid above can be read for the one property the recurrent model exists for: each
# step should cover *one* robot. `eval.instances.step_purity` measures it on the test
# scenes with two or more robots: a step covers a robot when at least half of the robot's
# pixels are activated in the step's mask; a step can cover two or more robots (by
# outlining both, or by lighting up the background around them as well), and a robot
# covered by several steps is emitted repeatedly. Beside it,
# `eval.instances.activation_on_robots` says how much of what the same steps activate
# lies on a robot at all.

# %%
multi = [s for s in test_samples if s.num_robots >= 2]
if multi:
    batch = task.collate(multi)
    with torch.no_grad():
        n_steps = int(batch["counts"].max()) + 1
        masks = model(batch["images"].to(DEVICE), steps=n_steps).cpu().numpy()
    purity = step_purity(masks, batch["masks"].numpy(), batch["counts"])
    counts = [int(c) for c in batch["counts"]]
    activation = activation_on_robots(
        list(masks), [batch["masks"].numpy()[b, :c] for b, c in enumerate(counts)])
    display(Markdown(narration.describe_step_purity(purity, len(multi), activation,
                                                    shown_activation)))
else:
    purity = activation = None
    print("no test scene with two or more robots in this (quick) test set")

# %% [markdown]
# Why can the model settle for masks that cover several robots? With the matching loss,
# emitting one mask over two robots at both steps costs about as much as emitting one
# robot twice, and the only
# memory of what was already emitted is the GRU's hidden state. Ren and Zemel
# {cite}`ren2017recurrent` feed the masks emitted so far (a *canvas*) back into the
# recurrent cell; `InstanceConfig(canvas_feedback=True)` does the same here. Whether
# it helps on the toy discs is measured with the seed sweep at the end of the chapter,
# where the same number of steps with other seeds shows how much of a difference chance
# alone makes.

# %% [markdown]
# ### Average precision (the paper's Fig. 7)
#
# The paper scores the masks as detections with the average precision (AP) of the COCO
# detection benchmark: a detection is
# a true positive at IoU threshold $t$ when it overlaps a not yet matched robot with IoU
# $\ge t$; detections of all test images are ranked by confidence (the mean mask value
# over its activated pixels), and precision is averaged over 101 recall levels. The paper
# scores boxes, each around the pixels of a mask above 0.6 (the paper's own threshold
# for boxes, stricter than the 0.5 that counts a pixel as activated for stopping); we
# report boxes and masks. `ap.py`
# reproduces pycocotools' numbers (checked in the tests).

# %% mystnb={"figure": {"caption": "Precision-recall curves of the reference model's boxes (left) and masks (right) on the test set (the paper's Fig. 7a): one curve per IoU threshold of COCO's ten, 0.50 to 0.95 in steps of 0.05, each in the legend with its AP. Solid and dashed curves alternate, so that curves lying on top of each other both show. A threshold where nothing is matched draws no curve; one where only a robot or two are matched is a point or a stub at the left edge, drawn with dots. The recall axis runs to 1, as in the paper's figure, so a curve ends where the model's recall ends.", "name": "fig-pr"}}
start = time.perf_counter()
evaluations = {
    # the settings of `robotpose eval instances` (batch 8; the other defaults)
    rule: evaluate_instances(model, test_samples, (IN_H, IN_W), batch_size=8,
                             device=DEVICE, min_active_fraction=rule)
    for rule in (PAPER_FRACTION, SMALL_FRACTION)
}
print(f"evaluated {N_TEST} test scenes twice in {time.perf_counter() - start:.0f} s"
      + ("" if TRAINED else "  (UNTRAINED model: numbers meaningless)"))
small, paper = evaluations[SMALL_FRACTION], evaluations[PAPER_FRACTION]

fig, axes = plt.subplots(1, 2, figsize=(10, 4.6))
for ax, (kind, plural) in zip(axes, (("box", "boxes"), ("mask", "masks"))):
    # the legend inside the axes, where the curves leave room, in a readable size
    # every IoU threshold of the table below, each with its legend entry
    iv.plot_pr_curves(ax, small[kind], title=f"{plural} (stopping at {SMALL})",
                      fontsize=11, legend_loc="inside")
    ax.tick_params(labelsize=11)
plt.tight_layout()
plt.show()

# %% tags=["hide-input"]
ap_rows = ap_table({"box, 5%": paper["box"], "mask, 5%": paper["mask"],
                    f"box, {SMALL}": small["box"], f"mask, {SMALL}": small["mask"]})
display(Markdown("Average precision at each IoU threshold (the paper's Fig. 7b; "
                 "columns: detections and the stopping rule):\n\n"
                 + markdown_table(ap_rows)))

# %% [markdown]
# Each curve is one IoU threshold: the higher the threshold, the tighter a mask must fit
# to count, and the earlier the curve drops. The last row of the table is COCO's headline
# AP, the mean over the thresholds 0.50 to 0.95.

# %% tags=["hide-input"]
head = ap_rows[-1]
display(Markdown(narration.describe_coco_ap(
    {rule: head[f"box, {rule}"] for rule in (SMALL, "5%")},
    {rule: head[f"mask, {rule}"] for rule in (SMALL, "5%")}, SMALL, TRAINED)))

# %% [markdown]
# ### Counting robots
#
# The number of steps before the stopping rule fires is the model's robot count. The
# table gives, per true number of robots in the test scenes, how often the count is
# exactly right and the mean predicted count, for both stopping rules. A model that never
# stops is cut off after 10 masks (`max_instances` of the evaluation), so a mean count
# can reach at most 10.

# %% tags=["hide-input"]
rows = []
for a, b in zip(paper["counting"], small["counting"]):
    rows.append({"true robots": a["true_count"], "scenes": a["images"],
                 "right (5%)": a["accuracy"], "mean count (5%)": a["mean_predicted"],
                 f"right ({SMALL})": b["accuracy"],
                 f"mean count ({SMALL})": b["mean_predicted"]})
display(Markdown(markdown_table(rows, formats={c: ".2f" for c in rows[0]
                                               if "right" in c or "mean" in c})))
total = rows[-1]
singles = next((r for r in rows if r["true robots"] == 1), None)
display(Markdown(narration.describe_counting(total, singles, SMALL)))
# the robots these test scenes hold, against what their parameters draw on average
by_count = {r["true robots"]: r["scenes"] for r in rows if r["true robots"] != "all"}
display(Markdown(narration.describe_test_counts(by_count, robot_count_shares(ROBOT))))

# %% tags=["hide-input"]
# the model's recorded evaluation (eval.json: `robotpose eval instances --n 100
# --json`), read by the introduction's scorecard: the full build evaluates the same
# scenes with the same rule
record = read_record(f"{ROBOT}_instances_cpu")
card_eval = record.figures("test") if TRAINED and record is not None else None
if card_eval:
    ap50 = next(r for r in ap_rows if r["IoU"] == "0.50")
    here = {"box AP": head[f"box, {SMALL}"], "mask AP": head[f"mask, {SMALL}"],
            "mask AP at IoU 0.5": ap50[f"mask, {SMALL}"],
            "count right": total[f"right ({SMALL})"]}
    display(Markdown(narration.provenance_note(
        narration.instance_record_comparison(card_eval, here, total["scenes"],
                                             SMALL_FRACTION),
        "These figures against the model card")))

# %% [markdown]
# ## The paper's criticism, measured
#
# The paper closes with: the instance model "is rather tricky to train and its runtime is
# lower bounded by the number of instances in the image". Both can be measured.
#
# ### Runtime per robot
#
# The localization network runs once per image; the instance model then runs its context
# module once and one ConvGRU step plus the refine block *per robot*, and one more step
# to see the empty mask. We time these parts on the scenes above (1 to 4 robots) at the
# model's input size, on the computer that built this page, one image at a time. Only the networks' forward
# passes are timed: the stopping rule, mask thresholding and boxes are not, and the
# instance model is run for exactly $k + 1$ steps on a scene with $k$ robots, as if it
# counted right. The localization network's work does not depend on the robots, so its
# time is one median over all the scenes, the same in every row.

# %% mystnb={"figure": {"caption": "Runtime of the two networks on scenes with 1 to 4 robots on the computer that built this page, stacked: the localization network (bottom) runs once per image, the instance model (top) once per robot plus the end-of-sequence step.", "name": "fig-runtime"}}
ROUNDS = config.pick(5, 20)
# rounds interleave the scenes (a slow stretch hits every robot count alike); medians
# ignore the odd slow run
TIMING_THREADS = 1  # as chapter 4's Table II
timing_rows = instance_timings(model, step_images, ROUNDS, DEVICE, TIMING_THREADS)
slope, intercept = np.polyfit([r["robots"] for r in timing_rows],
                              [r["instance ms"] for r in timing_rows], 1)

fig, ax = plt.subplots(figsize=(6, 3))
ks = [r["robots"] for r in timing_rows]
ax.bar(ks, [r["localization ms"] for r in timing_rows],
       label="localization network (once)")
ax.bar(ks, [r["instance ms"] for r in timing_rows],
       bottom=[r["localization ms"] for r in timing_rows],
       label="instance model (k + 1 steps)")
ax.set_xlabel("robots in the image")
ax.set_ylabel(f"ms on {DEVICE.type}")
ax.set_xticks(ks)
ax.legend(fontsize=8)
plt.show()

# %% tags=["hide-input"]
# the device, with the CPU's model name when it is the CPU
device_name = DEVICE.type if DEVICE.type != "cpu" else f"the CPU ({cpu_model()})"
display(Markdown(narration.describe_instance_runtime(
    timing_rows, ROUNDS, (IN_H, IN_W), device_name, TIMING_THREADS, slope,
    intercept, QUICK)))

# %% [markdown]
# By construction the instance model's time grows linearly with the number of robots:
# every robot costs one ConvGRU step and one refine pass up to the image size; the line
# fitted above gives the cost per robot measured here (timings vary from round to round;
# the interquartile range in the table says how much). Whether that matters depends on how
# it compares with the localization network: each bar stacks the instance model's time
# (top) on the localization network's (bottom) for one robot count (the paper
# measured 17.75 ms per instance mask against 10.95 ms for the belief maps on a GTX 1080 Ti
# at 480x640, Table II).
#
# ### Is it hard to train?
#
# The reference runs' metrics logs show how the matching loss behaved during training.
# Each reference was trained in phases, each continuing from the weights the one before
# ended with (the model cards give the commands); the figure joins all phases in training
# order, with a dotted line and the phase's number where the training was continued. Two
# symptoms of a model that is hard to
# train are noise (the loss jumps between batches far more than it improves) and plateaus
# (long stretches without progress). We measure both: the relative noise is the standard
# deviation of the logged loss within a trailing window divided by its mean (the median
# over the run; no window crosses from one phase into the next), and the progress per
# fifth of the run
# is the relative drop of the mean loss from one fifth to the next. The window is a
# twentieth of each run's logged points, so that it spans the same share of a long run as
# of a short one, and the ratio has no unit: the two runs' figures compare although their
# losses, lengths and logging differ.

# %% tags=["hide-input"]
logs = {"instances": find_log(ROBOT, "instances"),
        "localization": find_log(ROBOT, "localization")}
records = {run: read_record(f"{ROBOT}_{run}_cpu")
           for run in ("instances", "localization")}
lineages = {run: [rows for rows in (rec.part_logs() if rec is not None else [])
                  if any("loss" in r for r in rows)]
            for run, rec in records.items()}
display(Markdown(
    "For comparison the same numbers are computed for the localization network's "
    f"run ({len(lineages['localization'])} "
    f"phase{'s' * (len(lineages['localization']) != 1)} of training)."
    if lineages["localization"] else
    "The localization network's logs are not in this checkout, so its run cannot "
    "serve for comparison here."))

# %% tags=["hide-input"] mystnb={"figure": {"caption": "The reference runs' logged loss per batch over all their phases of training, with its trailing mean and spread; dotted lines mark where the training was continued, and each phase's number stands over its steps. Left: the instance model's matching loss (eq. 6), with its soft-IoU cost per robot when logged; the weight of its end-of-sequence term changes between phases, so its level can jump at a dotted line. Right: the localization network's loss (eq. 3, per pixel, log scale). Eq. 3 sums the belief and weighted depth terms of every stage, so this total lies several times above the last stage's unweighted belief term of chapter 7's figure of the reference runs.", "name": "fig-instance-logs"}}
summary, noise_last = [], {}
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
for ax, (run, paths), color in zip(axes, lineages.items(), ("C0", "C2")):
    if not paths:
        continue
    curve = lineage_curve(paths)
    values, parts = curve["values"], curve["part"]
    window = max(3, len(values) // 20)
    plot_training_curve(ax, curve["steps"], values, window, "loss", color=color,
                        parts=parts)
    if run == "instances" and all(any("cost_per_robot" in r for r in p)
                                  for p in paths):
        cost = lineage_curve(paths, "cost_per_robot")
        plot_training_curve(ax, cost["steps"], cost["values"], window,
                            "soft-IoU cost per robot", color="C1", parts=cost["part"])
    if run == "localization":
        ax.set_yscale("log")
    ax.set_ylabel({"instances": "matching loss (eq. 6) per batch",
                   "localization": "loss (eq. 3) per pixel"}[run])
    mark_parts(ax, curve["starts"], [str(i + 1) for i in range(len(paths))])
    total_steps = int(sum(curve["lengths"]))
    what = {"instances": "instance model", "localization": "localization network"}[run]
    ax.set_title(f"reference {what}, {total_steps:,} steps", fontsize=10, pad=14)
    last = parts == parts.max()
    noise_last[run] = relative_noise(values[last], window)
    drops = progress_table([{"loss": v} for v in values], window)
    summary.append({"run": run, "phases": len(paths), "steps": total_steps,
                    "logged points": len(values), "window (points)": window,
                    "relative noise": relative_noise(values, window, parts),
                    "noise, last phase": noise_last[run],
                    **{k.replace("->", "→"): v for k, v in drops.items()
                       if k.startswith("drop")}})
if not lineages["instances"]:
    print("no metrics log of the reference instance run found; showing the toy run of "
          "this chapter instead")
    toy_rows = [{"step": s + 1, "loss": v} for s, v in enumerate(toy_log["loss"])]
    plot_training_curve(axes[0], np.arange(1, TOY_STEPS + 1), toy_log["loss"], 25,
                        "loss")
    axes[0].set_title("toy run (no reference log)", fontsize=10)
    axes[0].set_ylabel("matching loss (eq. 6) per batch")
    summary.insert(0, {"run": "toy instances", **progress_table(toy_rows, 25)})
if not lineages["localization"]:
    axes[1].text(0.5, 0.5, "no localization log found", ha="center", va="center")
    axes[1].axis("off")
plt.tight_layout()
plt.show()

# %% tags=["hide-input"]
numeric = [c for c in summary[0]
           if c not in ("run", "phases", "steps", "logged points", "window (points)")]
summary_formats = {"steps": ",", **{c: ".2f" for c in numeric}}
display(Markdown(markdown_table(summary, formats=summary_formats)))
noise = {r["run"]: r["relative noise"] for r in summary}
if "instances" in noise and "localization" in noise:
    display(Markdown(narration.describe_log_noise(noise, noise_last)))

# %% [markdown]
# A drop close to zero (or negative) between fifths of a run is a plateau; a relative
# noise comparable to the drops means single batches say little about progress, which
# makes runs hard to compare and learning rates hard to tune. The matching loss has two
# structural sources of noise that a per-pixel loss lacks: a batch's loss depends on how
# many robots its scenes hold (each adds a term of up to 1; the cost *per robot*, when
# logged, removes this one), and on which target the Hungarian method pairs with which
# step, a pairing that can switch from one batch to the next.

# %% [markdown]
# ### Teaching it to stop
#
# The end-of-sequence term of eq. 6 is what teaches the model to stop. We read its $L_2$
# as a mean over pixels: the paper says "the standard squared error" without saying
# whether it is summed or averaged over the pixels, and a sum would weigh the term tens
# of thousands of times more. With that reading and the paper's weight 1, a leftover
# mask the size of a small robot (about 1% of the image) costs about 0.01, against up to
# 1 for a missed robot, so the model has little reason to clear it. The shipped models
# are therefore trained with a heavier end-of-sequence term (`--set eos_weight=...`);
# chapter 7 sets runs trained with the paper's weight beside them.

# %% tags=["remove-input"]
# the weights the reference model was trained with, one per phase (its lineage.json)
eos_record = read_record(f"{ROBOT}_instances_cpu")
eos_weights = sorted({p["eos_weight"] for p in eos_record.lineage["parts"]
                      if "eos_weight" in p}) if eos_record is not None else []
if eos_weights:
    display(Markdown(f"The {ROBOT} reference model was trained with end-of-sequence "
                     "weights of " + narration.join_words([f"{w:g}" for w in eos_weights])
                     + " over its phases of training."))

# %% [markdown]
# Whether a model is *tricky* to train is better seen across runs than in one log:
# we train the toy model of this chapter again with two more seeds, with a three times
# larger learning rate, with canvas feedback (two seeds), and with the end-of-sequence
# term weighted 20 times (heavy enough to show the other side of the trade-off that the
# weight controls). All runs have the same number of steps, and we compare
# where each run ends: the mean soft-IoU cost per disc over its last tenth of steps, and
# on the held-out toy scenes the counting accuracy (2% rule) and the mean count.
#
# The three seeds of the default setting tell how far chance alone moves these end
# points. We therefore read a change of setting as an effect on a column only where it
# moves the mean of its runs by more than the seeds spread on that column (highest
# minus lowest value), and with fewer than three runs on either side only as a sign of
# one.

# %%
SWEEP_STEPS = config.pick(40, 400)
# (seed, learning rate, end-of-sequence weight[, canvas feedback])
SETTINGS = [(0, 1e-3, 1), (1, 1e-3, 1), (2, 1e-3, 1), (0, 3e-3, 1), (1, 3e-3, 1),
            (0, 1e-3, 20), (1, 1e-3, 20), (0, 1e-3, 1, True), (1, 1e-3, 1, True)]
sweep_models = []  # each run's model, for the canvas's one-disc steps below
sweep = toy_sweep(SETTINGS, SWEEP_STEPS, f_test, counts_test, size=TOY_SIZE,
                  models=sweep_models)
TRUE_MEAN = float(counts_test.float().mean())
display(Markdown(f"{SWEEP_STEPS} toy training steps each (the held-out scenes hold "
                 f"{TRUE_MEAN:.2f} discs on average):\n\n"
                 + markdown_table(sweep, formats={"lr": "g",
                                                  "final cost per disc": ".3f",
                                                  "count right": ".0%",
                                                  "mean count": ".2f"})))

# %% tags=["hide-input"]
same = sweep_runs(sweep, 1e-3, 1)  # the default setting, its seeds
display(Markdown(narration.describe_toy_sweep(
    same, sweep_runs(sweep, 3e-3, 1), sweep_runs(sweep, 1e-3, 20), QUICK)))

# %% tags=["hide-input"]
display(Markdown(narration.describe_heavy_eos(sweep_runs(sweep, 1e-3, 20), same,
                                              TRUE_MEAN)))

# %% [markdown]
# Canvas feedback is meant to change what each step emits, so beside the count the
# table gives each run's share of steps that cover exactly one disc, and of steps that
# cover several (the measure of {numref}`fig-steps`, on the held-out toy scenes with two
# or more discs):

# %%
canvas_rows = []
for row, net in zip(sweep, sweep_models):
    if row["lr"] == 1e-3 and row["end-of-sequence weight"] == 1:
        out, _ = toy_steps(net, f_test, TOY_SIZE, steps=5)
        p = step_purity(out, masks_test.numpy(), counts_test)
        canvas_rows.append({**row, "steps with one disc": p["single"],
                            "steps covering several": p["union"]})
display(Markdown(markdown_table(
    canvas_rows, columns=["canvas feedback", "seed", "steps with one disc",
                          "steps covering several", "count right"],
    formats={c: ".0%" for c in ("steps with one disc", "steps covering several",
                                "count right")})))
display(Markdown(narration.describe_canvas(
    [r for r in canvas_rows if r["canvas feedback"] == "no"],
    [r for r in canvas_rows if r["canvas feedback"] == "yes"], SWEEP_STEPS, QUICK)))

# %% [markdown]
# ## Summary

# %% tags=["hide-input"]
# the runs with the paper's end-of-sequence weight (chapter 7): did they stop?
first_runs = weight1_runs()
unstopped = bool(first_runs) and max(r.get("mean count, 1 robot", 0)
                                     for r in first_runs) > 1.5
display(Markdown(narration.instances_summary(
    purity, total[f"right ({SMALL})"], float(np.median(area)), SMALL, slope, unstopped,
    activation)))

# %% [markdown]
# ## Exercises
#
# 1. Run the seed sweep's default and canvas settings for more steps
#    (`SWEEP_STEPS = 3000`). The canvas tells the cell which discs it has already
#    emitted, so Ren and Zemel's argument predicts more one-disc steps and better counts
#    with it once trained long enough. Check whether the longer runs put the canvas
#    ahead on both columns by more than the seeds' spread.
# 2. Evaluate the reference model with `min_active_fraction=0.005` or `0.01`: expect fewer
#    robots counted per scene, better counts where it over-counts and the smallest
#    robots lost. Choose on scenes of another seed (`robotpose eval instances --seed
#    31337`, the library's validation seed), never on the test scenes, and compare your
#    choice with the 0.2% rule, which reads the validation scenes' robot areas only.
# 3. The industrial arm's reference was trained with heavier end-of-sequence weights than
#    the paper's 1 ({numref}`fig-eos` gives each phase's). Add weight 5 with seeds 0, 1
#    and 2 to the toy sweep and apply the rule above: does weight 5 move the counting
#    accuracy, the mean count or the cost per disc by more than the seeds' spread, and if
#    so, towards the default's counts or towards weight 20's early stops?
