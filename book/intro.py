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
# # robotpose: 3D robot pose estimation from 2D images
#
# A tutorial book and an open reproduction of Heindl, Zambal, Pönitz, Pichler and
# Scharinger (2019), *3D Robot Pose Estimation from 2D Images* {cite}`heindl2019robotpose`
# (the authors' public repository, which holds the network architecture:
# [cheind/robot-pose](https://github.com/cheind/robot-pose)).
#
# **The problem.** A camera looks at a workspace shared by one or more robot arms. From a
# single colour image, without markers on the robots and without their controllers'
# joint readings, we want every arm in the image: how many there are, where each of its
# joints is in the image, and where each joint is in 3D, in metres in the camera frame.
# Robot arms are hard to see: smooth, nearly featureless, often the same model several
# times in one view, and there is no large set of photographs of robots annotated with
# their joints to learn from. The paper's answer is to learn from rendered images only,
# with two networks and a decoding step, and to check the result on real photographs.
#
# This book rebuilds that recipe piece by piece in a small library, `robotpose_lib`,
# trains the networks (on two CPU cores), measures them the way the paper does, and
# says plainly which of the paper's results it reproduces and which not yet.

# %% tags=["remove-cell"]
# On Colab, install the library first (elsewhere it is already installed by `make`).
import sys

REPOSITORY = "https://github.com/robotpose/robotpose"  # _config.yml repository.url (scripts/set_repository.py)
if "google.colab" in sys.modules:
    import subprocess

    subprocess.run([sys.executable, "-m", "pip", "install", "-q", f"robotpose @ git+{REPOSITORY}"], check=True)

# %% tags=["remove-input"]

import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from robotpose_lib import book, config, narration, scorecard, showcase, viz
from robotpose_lib.eval import pose3d
from robotpose_lib.predictor import Predictor
from robotpose_lib.cards import read_record, training_cost
from robotpose_lib.real_panda import load_real_panda
from robotpose_lib.viz.pipeline import plot_pipeline

# %% [markdown]
# ## The pipeline
#
# {numref}`fig-pipeline` follows one image through the paper's pipeline (its Fig. 2). A
# **localization network** (§III-B) turns the image into one *belief map* per joint type,
# whose peaks are the joints, and a sparse *depth map* around each joint. The belief maps
# cannot say which elbow belongs to which robot, so a **recurrent instance model**
# (§III-C) emits one mask per robot, step by step, until it emits an empty mask. The
# **decoding** multiplies each robot's mask into the belief maps, finds each joint's peak,
# reads the depth there and lifts the point into 3D with the camera intrinsics $K$. Both
# networks learn from **synthetic scenes** alone (§III-A): rendered robots in random poses,
# colours and cameras on photo backgrounds.

# %% tags=["remove-input"]
# one scene for both figures, chosen by a stated rule (robotpose_lib/showcase.py)
predictor = Predictor.from_pretrained("panda")
scene = showcase.median_test_scene(predictor, "panda", n=config.pick(6, 12), min_robots=2)
# both figures show the same window: the robots with a margin, at the image's aspect
window = viz.zoom_box(scene.sample.masks, aspect=4 / 3)

# %% tags=["remove-input"] mystnb={"figure": {"caption": "The paper's pipeline on a rendered Panda scene, drawn with the scene's exact training targets (what perfectly trained networks would output), the image panels cropped to the robots. Left to right: the image; the belief maps of all joints; the instance masks, one per recurrent step, overlaid in one panel; the largest robot's beliefs after masking, with its peaks (+); the robots' joints in 3D (camera frame).", "name": "fig-pipeline"}}
fig = plot_pipeline(**showcase.pipeline_from_targets(scene), window=window)
plt.show()

# %% [markdown]
# {numref}`fig-pipeline-networks` shows the same scene as the shipped networks see it: the
# Panda localization network's belief maps, the masks of its instance model (the
# one-pass model of chapter 6, the only one trained on the Panda's meshes; chapter 6
# compares it with the paper's recurrent model on the robots that have both), and
# the chains they decode, beside the true chains (dashed).

# %% tags=["remove-input"] mystnb={"figure": {"caption": "The same scene through the shipped Panda networks: their belief maps (scaled to their maximum), their instance masks (one per robot found, overlaid in one panel, each robot in the colour it has in {numref}`fig-pipeline`), the largest mask's beliefs with their peaks (+), and the decoded 3D chains in colour beside the true ones (dashed, each in a dark shade of its robot's colour). The scene is the one of median ranking error among the candidates named in the text.", "name": "fig-pipeline-networks"}}
fig = plot_pipeline(**showcase.pipeline_from_networks(predictor, scene), window=window)
plt.show()

# %% tags=["remove-input"]
display(Markdown(narration.chosen_scene_rule(
    scene.errors, scene.error, 2, tuple(scene.sample.image.shape[:2]), showcase.MISSING_PX,
    "the shipped Panda networks") + " " + narration.describe_shown_outcome(
        pose3d.score_scene(predictor, scene.sample)[1])))

# %% [markdown]
# ## The method on one page
#
# The chapters build each step in turn; this is the whole method in the paper's notation,
# to come back to.
#
# | symbol | what it is |
# |---|---|
# | $I$ | the colour image, $H \times W$ pixels |
# | $K$ | the camera intrinsics ($3 \times 3$: focal lengths and principal point, in pixels) |
# | $B_j$, $\hat B_j$ | the belief map of joint $j$ (target, predicted): a Gaussian of standard deviation $\sigma$ pixels at each robot's joint $j$ |
# | $D$, $\hat D$ | the depth map: inverse depth $D = a / Z + b$ in $[0, 1]$, with $a$, $b$ set so that the depth range $[z_{min}, z_{max}]$ maps onto $[1, 0]$, defined on a disc around each joint (the industrial arm's shipped model uses a log code instead, chapter 2) |
# | $\varphi$ | the belief level that bounds those discs (their radius is $\sigma \sqrt{2 \ln (1/\varphi)}$ pixels) |
# | $\lambda$ | the weight of the depth term in the loss (the paper's is 1) |
# | $N$, $n$ | the number of stages of the localization network, and one of them |
# | $p$ | a pixel |
# | $R$ | the number of robots in the image |
# | $S_r$, $\hat S_r$ | the instance mask of robot $r = 1, \dots, R$ (target, predicted; chapter 3 writes the target $S'_r$); $S_{R+1}$ the empty end-of-sequence mask |
# | $A$ | a matching of true to predicted masks ($A_{ij} = 1$ when true mask $i$ is paired with predicted mask $j$) |
# | $L$, $L_{graph}$, $L_2$ | the loss of the localization network, of the instance model (the paper's name: it pairs masks as in a graph matching), and a squared error |
# | $X_j$ | the 3D position of joint $j$ in the camera frame, in metres |
#
# **Training** (chapter 2, eq. 1-3, written here as one sum; chapter 3, eq. 4-6). Every
# stage $n$ of the localization network is penalised for its belief and depth errors,
# the depth only near the joints ($W_p = 1$ where $\max_j B_{j,p} \ge \varphi$, else
# 0), and the stages' losses add up:
#
# $$ L = \sum_{n=1}^{N} \Big[ \sum_{j,p} \big(B_{j,p} - \hat B^{(n)}_{j,p}\big)^2
# + \lambda \sum_{p} W_p \big(D_p - \hat D^{(n)}_p\big)^2 \Big]. $$
#
# The instance model emits masks $\hat S_1, \hat S_2, \dots$ one per step. Its loss pairs
# the true masks with the predicted ones at the least total cost $C_{ij} = 1 -
# \mathrm{IoU}(S_i, \hat S_j)$ (a soft IoU, so that it has a gradient), whatever their
# order, and asks the step after the last robot for an empty mask (chapter 3 writes the
# three equations separately):
#
# $$ L_{graph} = \min_A \sum_{i,j} C_{ij} A_{ij} + L_2\big(\hat S_{R+1}, 0\big). $$
#
# **Decoding** (chapter 4). For each predicted mask $\hat S_r$ until the empty one:
#
# 1. mask the belief maps, $\hat B_j \odot \hat S_r$;
# 2. take each joint's peak $(u_j, v_j)$, by non-maximum suppression (NMS) or a
#    Laplacian of Gaussian (LoG);
# 3. read the depth map there and undo its code,
#    $Z_j = \frac{f_x}{f_{ref}} \, a / (\hat D(u_j, v_j) - b)$: our depth is coded at a
#    reference focal length $f_{ref}$, so the camera's own $f_x$ scales it back
#    (chapter 2; the log code is undone its own way);
# 4. lift the pixel into the camera frame, which gives the 3D joint in metres:
#
#    $$ X_j = Z_j \, K^{-1} (u_j, v_j, 1)^\top . $$
#
# {numref}`fig-pipeline` shows each of these steps on one scene.

# %% [markdown]
# ## What each chapter reproduces
#
# | chapter | the paper | what you build and measure |
# |---|---|---|
# | [1. Synthesising training data](01_synthetic_data.ipynb) | §III-A, Fig. 3 | robot models, a ray caster, the paper's randomisation, datasets |
# | [2. Joint localization](02_localization.ipynb) | §III-B, eq. 1-3, Fig. 4 and 6, Table I | targets, the staged network, training, pixel and depth errors; why depth is hard |
# | [3. Robot instances](03_instances.ipynb) | §III-C, eq. 4-6, Fig. 5 and 7 | the recurrent model, its matching loss, AP, counting, runtime per robot |
# | [4. From belief maps to 3D chains](04_decoding.ipynb) | Fig. 2 and 9, Table II | masking, NMS and LoG peaks, 3D errors, runtimes, the `Predictor` (the library's end-to-end object: both networks, then the decoding) |
# | [5. From simulation to real photographs](05_real_photos.ipynb) | §IV-B, Fig. 8 and 10 | real Panda photos, the keypoint metrics of DREAM {cite}`lee2020dream` (a network that finds a robot's keypoints in one photo, trained on renders), a rendered twin, a sim-to-real recipe |
# | [6. Beyond the paper](06_beyond_the_paper.ipynb) | §V (criticism) | what we measured that the paper did not, and the open problems |
# | [7. How the reference models were trained](07_how_the_models_were_trained.ipynb) | none | the record behind the shipped models: each phase of their training, and checkpoints measured on the way |
#
# ## Scorecard
#
# Each claim of the paper that can be measured, the paper's figure, ours, and a verdict.
# Our figures are read when this page is built from what the shipped models come with:
# their model cards (the evaluation `robotpose eval` wrote on the fixed synthetic test set
# when the model was shipped) and the real-photo study; the verdict follows from the two
# numbers by the rule under the table (`robotpose_lib/scorecard.py`). The synthetic figures
# are those of `kuka_kr16`, our 6-axis industrial arm, the closest to the paper's Stäubli
# RX130; the real photographs show a Franka Emika Panda (`panda`). Terms the chapters
# define, in brief:
#
# * **NMS** and **LoG** (the Laplacian of Gaussian): the two ways of finding a joint's
#   peak in its belief map (chapter 4 explains both; chapter 2 measures them).
# * The **recurrent** model: the paper's ConvGRU instance model (a convolutional gated recurrent unit that emits one robot's mask per step; chapter 3). The
#   **one-pass** model: our alternative, which predicts a heatmap of robot centres and
#   each pixel's offset to its robot's centre, and so finds every robot at once (chapter 6).
# * **COCO AP**: the average precision of the instance masks as detections, averaged over
#   ten thresholds of IoU (intersection over union, the overlap of two masks) from 0.50 to
#   0.95 (chapter 3, the paper's Fig. 7).
# * **Keypoint AUC** (after DREAM): the share of 2D joints found within a distance of
#   the truth (PCK, the percentage of correct keypoints), averaged over distances from 0
#   to 20 px in the photo's own pixels (the dev photos are 320 px wide and 240 high): the area under that curve,
#   from 0 (no joint within 20 px) to 1 (every joint exact); a missed joint counts as
#   never within. The
#   **dev photos**: 15 calibrated photographs of a real Panda that the models are
#   measured on, never trained on. The **mean-pose baseline** guesses every photo as the
#   photos' average pose (chapter 5).
# * A **recipe**: the randomisation a model trains on (`paper`: the paper's; `clutter`:
#   the paper's plus distractor objects; `sim2real`: close wide-angle cameras, white-grey
#   materials, clutter and camera-like degradations, the kind of scene real photos of arms
#   show; `dream`: `sim2real` plus DREAM's randomisation of the robot's own colours and
#   textures; chapters 5 and 6).
# * The **primitive Panda** (`panda_primitive`): the arm drawn from geometric primitives;
#   the **mesh Panda** (`panda`): drawn from the meshes of its URDF (the Unified Robot
#   Description Format, the file that lists a robot's links, joints and meshes; chapter 1).

# %% tags=["remove-input"]
rows = scorecard.scorecard(photos=load_real_panda())
links = {str(k): f"{name}.ipynb" for k, name in enumerate(
    ["", "01_synthetic_data", "02_localization", "03_instances", "04_decoding", "05_real_photos"]) if k}
display(Markdown(narration.scorecard_markdown(rows, links)))
onepass = []
for robot in scorecard.ONEPASS_ROBOTS:
    models = (scorecard.onepass_figures(robot) or {}).get("models", {})
    if {"onepass", "convgru"} <= set(models):
        costs = {k: training_cost(f"{robot}_{task}_cpu")
                 for k, task in (("onepass", "onepass"), ("convgru", "instances"))}
        training = {k: f"{c.steps:,} steps {narration.trained_on(c.recipe_steps())}"
                    for k, c in costs.items()}
        onepass.append({"robot": robot, **{k: models[k] for k in ("onepass", "convgru")},
                        "training": training})
sentence = narration.scorecard_summary(rows, onepass)
display(Markdown(f"{narration.rules_text()}\n\n{sentence}"))

# %% [markdown]
# ## The shipped models: CPU miniatures
#
# The repository ships reference models for each robot: a localization network and our
# one-pass instance model (chapter 6), and for the industrial arm and the primitive Panda
# the paper's recurrent instance model too. Each comes with its *model card*: the
# commands that trained it, the scenes it saw, and its evaluations. Each was trained on
# a two-core CPU, with its scenes rendered on the fly. None was trained in one go but in
# *phases*: each phase continued from the weights the one before ended with, sometimes
# on other scenes or settings (chapter 7 records every phase). "Trained last on" names
# the scenes of a model's last phase.
#
# The table gives each model's training steps, the scenes it saw and its hours, summed
# over its phases. The throughput column is in samples per second, rendering included
# (each run's median logged rate; over several runs, their total scenes divided by the
# time those rates imply). The hours also count
# checkpoints, logging and evaluations, so scenes / hours need not match the
# throughput. A model warm-started from another shipped model (the mesh Panda's from the
# primitive Panda's) names it, and the last column adds the scenes that model saw. Each
# model goes by its folder's name (robot, task and `cpu` configuration), which figure
# titles and printed lines in the chapters use.
#
# :::{admonition} Where the models and their records are
# :class: dropdown
# Each model has a folder `assets/models/NAME/`: the weights `model.pt`, `lineage.json`
# with the commands that trained it, `eval.json` with its evaluations, `metrics.jsonl`
# with its training log, and `card.md` written from them; the index
# `assets/models/README.md` lists them. `python scripts/render_records.py` writes the
# cards and the index again from the JSON records.
# :::

# %% tags=["remove-input"]
table, shipped = book.shipped_models_table()
# the batch sizes of every recorded training phase (scenes = steps x batch)
batch_sizes = sorted({part["batch_size"] for name in book.SHIPPED
                      if (rec := read_record(name)) is not None
                      for part in rec.lineage["parts"] if part.get("batch_size")})
PAPER_SCENES, PAPER_EPOCHS = 10_000, 30  # §IV-A: 10,000 scenes, 30 epochs
if shipped:
    display(Markdown(table))
    most = max((r for r in shipped if r["task"] == "localization"),
               key=lambda r: r["scenes from scratch"])
    display(Markdown(
        # the table's hours as printed (0.1 h), so that the total is their sum
        f"In all {sum(round(r['hours'], 1) for r in shipped):.1f} hours of training for "
        f"{len(shipped)} models. "
        + (f"Each training step took one batch of {' or '.join(map(str, batch_sizes))} "
           "scenes. " if batch_sizes else "")
        + "The most "
        f"trained localization network ({most['model']}) saw {most['scenes from scratch']:,} scenes"
        + (f", counting those of the model it was warm-started from ({most['continued from']})"
           if most["continued from"] != "—" else "")
        + "".join(f"; the industrial arm's ({r['model']}), whose figures the scorecard "
                  f"scores, saw {r['scenes from scratch']:,}"
                  for r in shipped if r["task"] == "localization"
                  and r["robot"] == "kuka_kr16" and r is not most)
        + f"; the paper's saw {PAPER_EPOCHS * PAPER_SCENES:,} "
        f"({PAPER_EPOCHS} epochs of {PAPER_SCENES:,} scenes) with a larger network (VGG16 features, five "
        "stages of 128 channels) at twice our input resolution."))
else:
    display(Markdown("No reference models were found in this checkout: the chapters use small stand-ins."))

# %% [markdown]
# The networks are miniatures of the paper's: a frozen ImageNet-pretrained
# EfficientNet-Lite0 cut at stride 8 (one feature cell per 8x8 pixels) instead of VGG16
# at stride 4, three stages of 64 channels instead of five of 128, and 240x320 inputs
# instead of 480x640 (chapter 2 counts their parameters and floating-point operations).
# Read every result in this book as "what this recipe reaches
# with a few CPU hours", not as the paper's ceiling.
#
# ## How to read and run this book
#
# **Read.** Each chapter opens with what you will learn and ends with a summary and
# exercises. Every figure, table and number comes from executing the chapter when the book
# was built (or, where a chapter says so, is read from a model card or a study record).
# Where a sentence depends on a measurement, it is generated from the numbers of the run
# that built the page, not typed in. Equations carry the paper's numbers (eq. 1 to 6).

# %% tags=["remove-input"]
# the test scenes of the model records (each eval.json names its number)
record = read_record("kuka_kr16_localization_cpu")
n_card = (record.figures("test") or {}).get("n") if record is not None else None
display(Markdown(
    "In the full build, chapters 2 and 3 evaluate the same "
    + (f"{int(n_card)} " if n_card else "")
    + "synthetic test scenes as the model cards, so the figures the scorecard quotes "
    "reappear there; both chapters compare them with the cards' and say whether they "
    "agree. Chapter 4 renders the same scenes at 480x640, which makes them other "
    "images. A quick-mode build (below) evaluates a few scenes only, so its figures are "
    "noisy and differ from the cards'. The studies of chapters 6 and 7 say how many "
    "scenes each used."))
display(Markdown(
    "**This build** ran in *quick mode* (`ROBOTPOSE_QUICK=1`): small test sets, short live training runs "
    "and small figures, so its numbers are noisy; `make book` builds the full version."
    if config.quick_mode() else
    "**This build** is the full one (`make book`): full test sets and live training runs."))

# %% [markdown]
# **Run on a CPU.** Clone the repository and run `make book` (Linux, Python 3.11): it
# creates a virtual environment with the pinned versions, executes every chapter and
# writes the HTML to `_build/html`. `ROBOTPOSE_QUICK=1 make book` does the same with tiny
# sizes in minutes; `make test` runs the library's tests and builds the book in quick
# mode. Chapters never train the reference models: they load them from
# `assets/models/` and train only small models live, to show the mechanics.
#
# **Run on Colab.** The rocket button at the top of each chapter opens it in Colab (the
# notebooks ask Colab for a GPU); the chapter's first cell installs the library from the
# repository. With a GPU, the reference networks, their evaluation and chapter 2's live
# training run on it (each chapter prints its device); the ray caster of chapter 1 and the
# toy models of chapter 3 stay on the CPU, where they are fast enough. On a GPU chapter 2's
# live run trains the `gpu` configuration, the paper's stage sizes, for its 600 steps
# instead of the tiny `quick` configuration; to train the reference models at that size
# for longer, run `scripts/gpu_train.sh OUT MINUTES` there. The code moves to CUDA
# devices, but no GPU was at hand for this book: every figure was computed on a CPU and
# the GPU path has never run on a GPU, so a run on Colab's GPU may meet problems ours did
# not. Every chapter also runs on Colab's CPU, more slowly.
#
# **Use the library.** `robotpose predict photo.png --robot panda --fx ... --out preds.json`
# runs the whole pipeline on your own images; `robotpose train`, `robotpose eval` and
# `robotpose bench` reproduce every model and number in the book (see the README).
#
# ## References
#
# ```{bibliography}
# ```
