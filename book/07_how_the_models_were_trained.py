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
# # How the reference models were trained
#
# The chapters before this one evaluate each reference model as it is shipped. None of
# them was trained in one go. On a CPU a model is trained in **phases**: each phase
# continues from the weights the phase before ended with, often with changed settings,
# and some checkpoints along the way were measured. This chapter keeps that record, read
# from the models' files, for a reader who wants to know where the weights of the
# earlier chapters come from, or who wants to continue a run. Nothing in it is needed to
# follow the method.
#
# You will learn:
#
# * which settings each phase of the localization networks changed, and how the two
#   terms of the loss moved (the networks of chapter 2);
# * how the depth errors of the industrial arm's network changed from checkpoint to
#   checkpoint (chapter 6 diagnoses the last one);
# * how the end-of-sequence error of the recurrent instance model fell with the heavier
#   weight of chapter 3;
# * why the backbone stays frozen, and what training time bought on real photographs
#   for the Panda drawn from primitives, the model that chapter 5's mesh model
#   continued from;
# * how the mesh model's recipe was chosen, and whether another backbone or a finer
#   stride learned it better at a short budget.

# %% tags=["remove-cell"]
# On Colab, install the library first (elsewhere it is already installed by `make`).
import sys

REPOSITORY = "https://github.com/robotpose/robotpose"  # _config.yml repository.url (scripts/set_repository.py)
if "google.colab" in sys.modules:
    import subprocess

    subprocess.run([sys.executable, "-m", "pip", "install", "-q", f"robotpose @ git+{REPOSITORY}"], check=True)

# %% tags=["remove-input"]
# The chapter's box: it scores no claim of the paper
from IPython.display import Markdown, display

from robotpose_lib.book import chapter_verdict

display(Markdown(chapter_verdict("7", without_claims=(
    "This chapter scores no claim of the paper. It is the record behind the models of "
    "chapters 2 to 6: how each was trained, phase by phase, and what was measured on "
    "the way."))))

# %%
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown, display

from robotpose_lib import narration
from robotpose_lib.book import depth_checkpoints, find_log
from robotpose_lib.cards import (mean_count, read_record, read_study, sim2real_runs,
                                 training_cost, training_phases, weight1_runs)
from robotpose_lib.eval.panda_studies import load_studies, study_rows
from robotpose_lib.eval.real import keypoint_metrics, mean_pose_baseline
from robotpose_lib.models.instances import DEFAULT_MIN_ACTIVE_FRACTION
from robotpose_lib.narration import markdown_table
from robotpose_lib.real_panda import load_real_panda
from robotpose_lib.viz.localization import plot_real_study
from robotpose_lib.viz.training import (last_stage_terms, lineage_curve, phase_key,
                                        plot_term_history, plot_training_curve,
                                        tenth_mean)

# the shipped localization networks of chapter 2, by robot
LOCALIZATION = {"panda": "panda_localization_cpu",
                "kuka_kr16": "kuka_kr16_localization_cpu"}

# %% [markdown]
# ## The localization networks, phase by phase
#
# The paper trains its network once, with $\lambda = 1$, its inverse depth code and
# every stage supervised at full size (eq. 1 to 3). Our reference networks were trained
# with `robotpose train localization --config cpu`, one per robot, in phases. The two
# were trained on different scenes. The industrial arm's network (`kuka_kr16`) saw the paper's
# recipe of synthetic scenes throughout. The shipped Panda network began on the Panda
# drawn from primitives (`panda_primitive`, chapter 1), with the paper's recipe and then
# the `sim2real` scenes of chapter 5, and its last phase continued on the arm drawn from
# its URDF meshes (`panda`) with chapter 5's `dream` recipe.
#
# The table lists each phase with the settings its recorded command trained with:
#
# * the robot the scenes drew and their recipe (chapters 1 and 5);
# * $\lambda$, the depth weight of eq. 1;
# * the depth code, the paper's inverse one or the log code of chapter 2's section on
#   depth, and the depth-context branch of chapter 2, given by its number of residual
#   blocks;
# * how stages 1 to N-1 were supervised, at full size as in the paper or coarsely at the
#   backbone's grid against pooled targets (`--set intermediate=low_res`), which makes a
#   step cheaper (chapter 6 measures by how much); the phases trained coarsely also ran
#   their passes in bfloat16, a 16-bit floating-point format, where the CPU supports it
#   (the losses in float32);
# * the learning rate each phase started at, which either stays (constant) or falls
#   along half a cosine over the steps the phase's command asked for.

# %% tags=["hide-input"]
phases = {robot: training_phases(name) for robot, name in LOCALIZATION.items()}
phases = {robot: ph for robot, ph in phases.items() if ph}
if phases:
    display(Markdown(narration.describe_training_phases(phases)))
else:
    print("No reference model records here: no table of their training phases.")

# %% [markdown]
# {numref}`fig-reference-runs` follows the same phases in the training logs. The curves
# are the last stage's two terms *unweighted*, before $\lambda$ multiplies the depth
# term, so the depth curve stays far below the belief curve even in the phases that
# weight it by 50; what the weight did is read from the logs' weighted terms in the
# sentence under the figure. Where a phase changes the depth code, its depth term
# measures a different quantity from then on, and its level cannot be compared with the
# phases before.

# %% tags=["hide-input"] mystnb={"figure": {"caption": "The reference runs, phase after phase: the last stage's belief and depth terms (unweighted, smoothed) against the step; at each dotted line the training was continued from its last weights with the changes the title names (the table above lists every setting); each phase's number stands over its steps. The Panda's steps count from the start of its first phase, on primitives, so they include the steps of the model its mesh phase was warm-started from.", "name": "fig-reference-runs"}}
# each reference's logged phases, with what each changed from the one before
histories = {robot: list(zip([p.rows for p in ph], narration.phase_changes(ph)))
             for robot, ph in phases.items()}
histories = {robot: h for robot, h in histories.items()
             if len(h) >= 2 and all(rows for rows, _ in h)}
if histories:
    # one robot per row, each at the full column width, so that its phases stay legible
    fig, axes = plt.subplots(len(histories), 1, figsize=(8, 3.3 * len(histories)),
                             squeeze=False)
    for ax, (robot, history) in zip(axes[:, 0], histories.items()):
        # the phase numbers stand over their phases' steps, the dotted lines mark
        # where the training was continued; the title says what each phase changed
        plot_term_history([rows for rows, _ in history], ax=ax, smooth=20,
                          labels=[str(i) for i in range(1, len(history) + 1)])
        ax.set_xlabel("step")
        ax.set_title(f"{robot}\n" + phase_key([what for _, what in history], 95),
                     pad=14, fontsize=10)
    plt.tight_layout()
    plt.show()
else:
    print("reference training logs not found: skipping their plot")

# %% tags=["hide-input"]
# per phase: the last stage's belief, depth and weighted depth terms at its end
ends = {robot: [(what, last_stage_terms(rows)) for rows, what in history]
        for robot, history in histories.items()}
if ends:
    display(Markdown(narration.describe_depth_weight(ends)))

# %% [markdown]
# (depth-checkpoints)=
# ## Depth from checkpoint to checkpoint
#
# Chapter 6 diagnoses the depth of the industrial arm's shipped network in five measures
# (its list explains them). The same study (`scripts/depth_diagnosis.py`) also measured
# checkpoints along the run of {numref}`fig-reference-runs`, named here by their step
# counted from the start of training and by the depth code (and branch) each had been
# trained with; the last row is the shipped checkpoint. Each row also trained longer
# than the one before, so a row's change is not its code's or branch's alone: this is a
# record of one run, not a controlled study of the codes.

# %% tags=["hide-input"]
# steps counted from the start of training (the model's lineage.json)
depth_rows = depth_checkpoints("kuka_kr16_localization_cpu")
if depth_rows:
    display(Markdown(markdown_table(
        depth_rows, columns=narration.DEPTH_STUDY_COLUMNS,
        formats=narration.DEPTH_STUDY_FORMATS, headers=narration.DEPTH_STUDY_HEADERS)))
    display(Markdown(narration.describe_depth_study(depth_rows)))

# %% [markdown]
# ## The recurrent instance model's end-of-sequence weight
#
# Chapter 3 explains why the end-of-sequence term, with the paper's weight 1 and $L_2$
# read as a mean over pixels, gives the recurrent instance model little reason to stop,
# and that the shipped models therefore train with a heavier weight
# (`--set eos_weight=...`). One run per robot was trained with weight 1 first (for the
# Panda, on the Panda drawn from primitives, `panda_primitive`, on which its recurrent
# model was trained). Each robot's model card keeps how that run counted on synthetic
# test scenes. Those scenes have chapter 3's robots, cameras and seeds, but mostly other
# backgrounds (four scikit-image pictures that neither photo split holds, a cat, a
# colour wheel, a retina and a text page, and the test split's motorcycle), so they
# compare with chapter 3's counting only roughly; the table gives the number of scenes.

# %% tags=["hide-input"]
first_runs = weight1_runs()
if first_runs:
    display(Markdown(markdown_table(first_runs, formats={
        "count right": ".0%", **{c: ".1f" for c in first_runs[0] if "mean" in c}})))
    # the shipped model as its card evaluated it, and the weight of each training phase
    card = read_record("kuka_kr16_instances_cpu")
    test = card.figures("test") if card is not None else None
    shipped = ({"robot": "kuka_kr16", "mean count, 1 robot": mean_count(test),
                "count right": test["counting"]["all"]["accuracy"],
                "eos weight": [p["eos_weight"] for p in card.lineage["parts"]]}
               if test else None)
    display(Markdown(narration.describe_unstopped_runs(
        first_runs, shipped, where="of its model card's test scenes")))
else:
    print("The records of the weight-1 runs are not here.")

# %% [markdown]
# {numref}`fig-eos` sets the unweighted end-of-sequence error of the industrial arm's
# weight-1 run beside each phase of its shipped model.

# %% tags=["hide-input"] mystnb={"figure": {"caption": "The unweighted end-of-sequence error (eq. 6's second term) of a run with the paper's weight 1 and of each phase of the shipped model's training (its weight in the legend; each phase continues from the one before), on a log scale: thin lines the logged values with their spread, thick lines their trailing mean.", "name": "fig-eos"}}
ROBOT = "kuka_kr16"  # the paper's robot class
eos_record = read_record(f"{ROBOT}_instances_cpu")
eos_parts = eos_record.lineage["parts"] if eos_record is not None else []
phase_logs = eos_record.part_logs() if eos_record is not None else []
weight1_log = find_log(ROBOT, "instances", "eos1")  # the paper's weight 1
eos_values = {}  # run -> its logged end-of-sequence errors, in order
if weight1_log and phase_logs and all(any("eos_error" in r for r in rows)
                                      for rows in phase_logs):
    fig, ax = plt.subplots(figsize=(8, 3.4))
    rows_1 = [r for r in weight1_log if "eos_error" in r]
    eos_values["weight 1"] = np.array([r["eos_error"] for r in rows_1])
    plot_training_curve(ax, [r["step"] for r in rows_1], eos_values["weight 1"],
                        max(3, len(rows_1) // 20), "end-of-sequence weight 1",
                        color="C0")
    curve = lineage_curve(phase_logs, "eos_error")  # phases joined end to end
    for k, part in enumerate(eos_parts):
        mine = curve["part"] == k
        label = f"shipped model, phase {k + 1} (weight {part['eos_weight']:g})"
        eos_values[label] = curve["values"][mine]
        plot_training_curve(ax, curve["steps"][mine], curve["values"][mine],
                            max(3, int(mine.sum()) // 20), label, color=f"C{k + 1}")
    ax.set_yscale("log")
    ax.set_xlabel("step (the weight-1 run from 0; the shipped model's phases one "
                  "after the other)")
    ax.set_ylabel("end-of-sequence error (mean squared)")
    ax.set_title(ROBOT, fontsize=10)
    # one legend entry per run, its trailing mean (thin lines: the logged values)
    handles, labels = ax.get_legend_handles_labels()
    means = [(h, lab.rsplit(" (mean", 1)[0]) for h, lab in zip(handles, labels)
             if "(mean" in lab]
    ax.legend(*zip(*means), fontsize=9, loc="upper center",
              bbox_to_anchor=(0.5, -0.22), ncol=2, frameon=False)
    plt.show()
else:
    print("instance training logs not found; skipping the end-of-sequence plot")

# %% tags=["hide-input"]
if eos_values:
    first_e, *phase_e = eos_values.values()
    # mean counts where a scene holds one robot: the model card's (shipped) and the
    # weight-1 run's own evaluation, both in the record
    weight1 = next(r for r in eos_record.lineage["earlier_runs"] if r["run"] == "eos1")
    shipped_count = mean_count(eos_record.figures("test"))
    weight1_count = mean_count(weight1.get("evaluation", {}).get("figures"))
    display(Markdown(
        "The runs are not equally long: the weight-1 run trained "
        f"{weight1['steps']:,} steps, the shipped model "
        + narration.join_words([f"{p['steps']:,}" for p in eos_parts])
        + f" in its {len(eos_parts)} phases, each with batches of "
        f"{eos_parts[0]['batch_size']}. "
        + narration.describe_eos_errors(
            tenth_mean(first_e),
            [(tenth_mean(e, end=False), tenth_mean(e)) for e in phase_e],
            [p["eos_weight"] for p in eos_parts], DEFAULT_MIN_ACTIVE_FRACTION,
            shipped_count, weight1_count)))

# %% [markdown]
# ## The frozen backbone against a fine-tuned one
#
# Chapter 2's network keeps its EfficientNet-Lite0 backbone frozen, while the paper
# fine-tunes VGG16 with the stages. The choice was made on the Panda drawn from
# primitives: two runs from the same weights, one with the backbone frozen and one with
# it fine-tuned, each given about the same wall time, then evaluated on the same
# synthetic test scenes. A frozen backbone needs no backward pass, so in the same time
# it makes more steps.

# %% tags=["hide-input"]
# the comparison that kept the backbone frozen, in the primitive Panda's record
primitive = read_record("panda_primitive_localization_cpu")
parts = primitive.lineage["parts"] if primitive else []
compared = next((p for p in parts if "backbone_comparison" in p), None)
if compared is not None:
    display(Markdown(narration.describe_backbone_comparison(
        compared["backbone_comparison"], primitive.robot, compared.get("recipe", ""))))
else:
    print("The primitive Panda's record with the backbone comparison is not here.")

# %% [markdown]
# ## The primitive Panda on real photographs
#
# Before the Panda was drawn from its URDF meshes, its network was trained on the Panda
# drawn from primitives (`panda_primitive`, chapter 1), and chapter 5's mesh model
# continued from those weights. The sim-to-real study (`scripts/sim2real_study.py`)
# measured checkpoints of that primitive Panda's `sim2real` training run, and of a run
# with a fine-tuned backbone stopped after the same wall time, on chapter 5's 15
# calibrated development (dev) photos (one robot per photo, no instance masks). Those
# photos were never trained on and chose nothing: the backbone was chosen on the
# synthetic comparison above, and the shipped checkpoint is the end of its schedule,
# not the best row here. The mean-pose baseline predicts every photo as the average
# true pose, computed from the photos themselves. The first row is the network after its paper-recipe
# training, before any `sim2real` scene; every other row continued from those weights on
# `sim2real` scenes, named by its backbone setting and its hours of that training; the
# run marked *(shipped)* is the primitive Panda's network in the repository
# (`panda_primitive_localization_cpu`). Keypoint AUC is on all seven joints unless a
# sentence says otherwise.

# %% tags=["hide-input"]
real_study = read_study("panda_primitive_localization_cpu", "sim2real")
photos = load_real_panda()
baseline = keypoint_metrics(mean_pose_baseline(photos)) if photos else None
if real_study is None:
    print("No real-photo study file "
          "(assets/models/panda_primitive_localization_cpu/sim2real_study.json): "
          "run scripts/sim2real_study.py.")
else:
    if baseline is None:
        print("The real photos are not on this machine: the figure and the text below "
              "go without the mean-pose baseline.")
    # steps from the start of training (the shipped model's lineage.json)
    runs, before = sim2real_runs(real_study,
                                 training_cost("panda_primitive_localization_cpu"))
    rows = [{"run": r["label"], "steps": r["total_steps"], "hours": r["hours"],
             "AUC, all": r["all"]["auc"], "AUC, moving": r["moving"]["auc"],
             "found": r["all"]["found"]} for r in runs]
    lead = (f"Measured on the {real_study['photos']} dev photos (keypoint AUC 0-20 px "
            "on all and on the moving joints; found: the share of all keypoints "
            "found). "
            + narration.sim2real_counting(before, scenes=False))
    display(Markdown(lead + "\n\n"
                     + markdown_table(rows, formats={"steps": ",d", "hours": ".2f",
                                                     "found": ".0%"},
                                      headers={"steps": "steps from the start",
                                               "hours": "`sim2real` training [h]"})))

# %% mystnb={"figure": {"caption": "Keypoint AUC (0-20 px, all seven joints) on the 15 dev photos of the real Panda against training time on the sim2real recipe, per backbone setting, from the start (the star: the paper recipe only, at 0 h); dashed: the mean-pose baseline.", "name": "fig-real-study"}}
BACKBONES = {"cpu": "frozen backbone", "cpu_ft": "fine-tuned backbone"}
if real_study is not None:
    fig, ax = plt.subplots(figsize=(6.5, 3.3))
    named = [{**r, "config": BACKBONES.get(r["config"], r["config"])}
             for r in real_study["runs"]]
    # the shipped checkpoint: the frozen run's last, at the end of its schedule
    shipped = max((r for r in named if r["config"] == BACKBONES["cpu"]
                   and np.isfinite(r.get("hours", np.nan))), key=lambda r: r["hours"])
    plot_real_study(named, baseline["auc"] if baseline else None, key="all", ax=ax,
                    shipped=shipped)
    plt.show()

# %% tags=["hide-input"]
if real_study is not None:
    display(Markdown(narration.describe_real_study(runs, baseline)))

# %% [markdown]
# ## The mesh Panda: its recipe, its backbone and its stride
#
# The shipped Panda network of chapters 2, 4 and 5 continued from the primitive Panda's
# weights on the Panda drawn from its URDF meshes. Every choice for it was made on
# chapter 5's synthetic *filmed validation set*, never on the dev photos. Its recipe was
# chosen first, by a short trial: one run per recipe from the same start, measured after
# the same number of steps.

# %% tags=["hide-input"]
MESH_MODEL = "panda_localization_cpu"
mesh_record = read_record(MESH_MODEL)
mesh_cost = training_cost(MESH_MODEL)
display(Markdown(narration.one_run_rule()))
if mesh_record is not None and mesh_record.figures("comparison") is not None:
    display(Markdown(narration.describe_recipe_choice(
        mesh_record.figures("comparison"), mesh_record.lineage["parts"][0]["steps"])))
else:
    print(f"No recipe trial in the record of {MESH_MODEL} here.")

# %% [markdown]
# Two studies then asked whether another network learns the mesh Panda better at the
# same training budget (`scripts/backbone_study.py` runs them). Every row starts from
# the mesh model and trains for the same number of steps, with the same seeds and
# recipe, and is measured on the filmed validation set. Each study has its own control
# row, the frozen EfficientNet-Lite0 at stride 8 the model ships with, which keeps all
# the mesh model's weights, as the fine-tuned Lite0 row does. Two rows keep only the
# weights whose shapes still fit: Lite1 (the next larger network of the same family)
# starts its backbone from its own ImageNet weights, and stride 4 starts each stage's
# first convolution afresh.
# Those rows must relearn what the control already holds, so at this short budget they
# start behind it: the studies ask whether they catch up, not which network would win
# from scratch. The two studies started from the mesh model at different steps of its
# training (their first rows), so each row is compared with its own study's control
# only.

# %% tags=["hide-input"]
study = study_rows(load_studies())
if not study:
    print("No backbone or stride study records here (assets/studies/): no table.")
else:
    display(Markdown(markdown_table(
        study, columns=["study", "label", "steps", "cpu_min", "auc_all", "auc_moving",
                        "found_all"],
        formats={"cpu_min": ".1f", "found_all": ".0%", "steps": ",d"},
        headers={"label": "network", "steps": "steps", "cpu_min": "CPU [min]",
                 "auc_all": "AUC, all", "auc_moving": "AUC, moving",
                 "found_all": "found, all"})))
    display(Markdown(narration.describe_backbone_studies(study,
                                                         mesh_cost.steps or None)))

# %% [markdown]
# ## Summary
#
# * Each reference network was trained in phases on a CPU; the models' records keep
#   every phase's command, steps and settings, and the chapters evaluate the weights the
#   last phase left.
# * The depth weight $\lambda$ and the depth code changed between phases, so the
#   training curves of a later phase cannot be compared level for level with an earlier
#   one, and a checkpoint's depth errors mix the code's effect with the extra steps.
# * With the heavier end-of-sequence weight the term ended lower than in the weight-1
#   run, but the runs also differ in length and test backgrounds, so not all of the
#   difference is the weight's.
# * On real photographs, training time on the `sim2real` recipe has to be read against
#   the mean-pose baseline; on the dev photos the two backbones' early checkpoints were
#   too weak to rank.
# * The mesh model's recipe was chosen on the filmed validation set from one short run
#   per recipe; the backbone and stride studies, also single short runs from the mesh
#   model, found nothing that beats the shipped setting at their budget. Single runs
#   rank two choices only when they differ by more than the stated gap.
#
# ## Exercises
#
# 1. Read the model card of the industrial arm's localization network (chapter 2's box
#    on the reference models says where it is) and find the command of each phase of
#    {numref}`fig-reference-runs`. Which setting would you change first to make the
#    phases comparable with each other?
# 2. Train the primitive Panda's localization network (`panda_primitive`) for 30 more
#    minutes with its model card's continue command (a new run that starts from the
#    shipped weights with `--init`; add `--max-minutes 30`) and add it to the study with
#    `scripts/sim2real_study.py --append`: does the AUC rise above the best point of
#    {numref}`fig-real-study`, or stay within the spread of the points before it?
# 3. Retrain the industrial arm's network from its first phase with the log depth code
#    from the start (`--set depth_code=log`) for as many steps as the table's rows, and
#    diagnose it with `scripts/depth_diagnosis.py`: this separates the code from the
#    extra steps that the rows of the depth table mix.
