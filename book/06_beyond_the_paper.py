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
# # Beyond the paper
#
# Reproducing a paper means measuring more than it reports: where a result falls short,
# the next question is why. This chapter collects what this project measured that the
# paper did not, and ends with the problems that remain open.
#
# You will learn:
#
# * how far real photographs are from the synthetic test set, and what training time
#   bought on them;
# * why the paper's depth code makes far joints hard to learn, measured on toy scenes and
#   on the reference model;
# * what a one-pass instance model changes against the recurrent one (accuracy, and cost as
#   robots are added);
# * what training throughput a CPU gives, and what each speed-up of the training recipe
#   is worth;
# * which problems remain open, and what to try next.
#
# Every section reads a study file that a script wrote beside the reference checkpoints
# (`assets/models/*/*_study.json`) or measures on the spot; when a file is absent the section
# says so in one line.

# %% tags=["remove-cell"]
# On Colab, install the library first (elsewhere it is already installed by `make`).
import sys

REPOSITORY = "https://github.com/robotpose/robotpose"  # _config.yml repository.url (scripts/set_repository.py)
if "google.colab" in sys.modules:
    import subprocess

    subprocess.run([sys.executable, "-m", "pip", "install", "-q", f"robotpose @ git+{REPOSITORY}"], check=True)

# %%
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown, display

from robotpose_lib import config, narration, scorecard
from robotpose_lib.book import (HARD_NEGATIVES_COLUMN, ONEPASS_NAMES, SHIPPED,
                                onepass_robot_rows, onepass_study_rows,
                                quick_mode_note)
from robotpose_lib.narration import markdown_table
from robotpose_lib.cards import read_study, training_cost
from robotpose_lib.eval.real import keypoint_metrics, mean_pose_baseline
from robotpose_lib.real_panda import load_real_panda
from robotpose_lib.viz.localization import plot_real_study
from robotpose_lib.viz.training import plot_throughput

QUICK = config.quick_mode()
DEVICE = config.default_device()
print(f"Models run on: {DEVICE}")
quick_mode_note()

# %% [markdown]
# ## Real photographs, measured
#
# The paper shows its model on 23 photographs of its own robot, with pixel errors in a
# figure and no number in the text. Chapter 5 measures our Panda models on calibrated
# photographs of a real Panda with DREAM's metrics. Here is what training time bought: the
# sim-to-real study (`scripts/sim2real_study.py`, written to
# `panda_localization_cpu/sim2real_study.json`) measured checkpoints of the sim-to-real training run, and a
# fine-tuned-backbone run stopped after the same wall time, on chapter 5's 15 calibrated development
# (dev) photos (one robot per photo, no instance masks). Those photos were never trained
# on, but they are the ones the backbone and checkpoint choices were compared on, so the
# figures below are somewhat optimistic for the choices made; an acceptance figure would
# need photographs this project does not have. The mean-pose baseline predicts every photo
# as the average true pose, computed from the photos themselves. The run names are the
# study file's, chapter 5 explains them; the run marked *(shipped)* is the model in the
# repository. Keypoint AUC is on all seven joints unless a sentence says otherwise.

# %% tags=["hide-input"]
real_study = read_study("panda_localization_cpu", "sim2real")
photos = load_real_panda()
baseline = keypoint_metrics(mean_pose_baseline(photos)) if photos else None
if real_study is None:
    print("No real-photo study file "
          "(assets/models/panda_localization_cpu/sim2real_study.json): "
          "run scripts/sim2real_study.py.")
else:
    if baseline is None:
        print("The real photos are not on this machine: the figure and the text below "
              "go without the mean-pose baseline.")
    rows = [{"run": r["label"], "steps": r["step"], "hours": r["hours"],
             "AUC, all": r["all"]["auc"], "AUC, moving": r["moving"]["auc"],
             "found": r["all"]["found"]} for r in real_study["runs"]]
    # the parts before sim2real, from the shipped model's training logs
    cost = training_cost("panda_localization_cpu")
    before, first = cost.parts[:-1], real_study["runs"][0]
    pre = sum(part["steps"] for part in before)
    lead = (f"Measured on the {real_study['photos']} dev photos (keypoint AUC 0-20 px "
            "on all and on the moving joints; found: the share of all keypoints "
            "found; chapter 5 has the full table). Steps and hours count within each "
            "row's own training part")
    if (len(before) >= 2 and first["recipe"] == "paper"
            and first["step"] == before[-1]["steps"]):
        parts = ("parts 1 and 2" if len(before) == 2 else
                 f"parts 1 to {len(before)}")
        lead += (f": the first row's are part {len(before)}'s alone ({parts} trained "
                 f"{pre:,} steps in all), the others count from the start of the "
                 "`sim2real` part")
    display(Markdown(lead + ".\n\n"
                     + markdown_table(rows, formats={"steps": ",d", "hours": ".2f",
                                                     "found": ".0%"},
                                      headers={"steps": "steps in its part",
                                               "hours": "hours in its part"})))

# %% mystnb={"figure": {"caption": "Keypoint AUC (0-20 px, all seven joints) on the 15 dev photos of the real Panda against training time on the sim2real recipe, per backbone setting; dashed: the mean-pose baseline.", "name": "fig-real-study"}}
BACKBONES = {"cpu": "frozen backbone", "cpu_ft": "fine-tuned backbone"}
if real_study is not None:
    fig, ax = plt.subplots(figsize=(6.5, 3.3))
    named = [{**r, "config": BACKBONES.get(r["config"], r["config"])}
             for r in real_study["runs"]]
    plot_real_study(named, baseline["auc"] if baseline else None, key="all", ax=ax)
    plt.show()

# %% tags=["hide-input"]
if real_study is not None:
    timed = sorted([r for r in real_study["runs"]
                    if r["config"] == "cpu" and np.isfinite(r["hours"])],
                   key=lambda r: r["hours"])
    best = max(real_study["runs"], key=lambda r: r["all"]["auc"])
    shipped = next((r for r in real_study["runs"] if "(shipped)" in r["label"]), None)
    text = (f"On all seven joints the best run, *{best['label']}*, reaches a keypoint "
            f"AUC of {best['all']['auc']:.2f}")
    text += (f" against the mean-pose baseline's {baseline['auc']:.2f}: "
             + ("it beats the baseline." if best["all"]["auc"] > baseline["auc"] else
                f"{best['all']['auc'] / baseline['auc']:.0%} of it, so the model does "
                "not yet see the arm better than a guess of its average pose.")
             if baseline else ".")
    if shipped is not None and shipped is not best:
        text += (f" The model in the repository, *{shipped['label']}*, reaches "
                 f"{shipped['all']['auc']:.2f}: the last checkpoint is not the best "
                 "one on these photos.")
    if len(timed) >= 2:
        rising = all(b["all"]["auc"] >= a["all"]["auc"]
                     for a, b in zip(timed, timed[1:]))
        peak = max(timed, key=lambda r: r["all"]["auc"])
        text += (" With the frozen backbone the all-joint AUC went from "
                 f"{timed[0]['all']['auc']:.2f} after {timed[0]['hours']:.1f} h to "
                 f"{timed[-1]['all']['auc']:.2f} after {timed[-1]['hours']:.1f} h of "
                 "`sim2real` training"
                 + (", rising at every checkpoint: the run was still improving when "
                    "it stopped." if rising else
                    f", not monotonically: it peaked at {peak['all']['auc']:.2f} "
                    f"after {peak['hours']:.1f} h." if peak is not timed[-1] else
                    ", not monotonically."))
    tuned = [r for r in real_study["runs"] if r["config"] == "cpu_ft"]
    if tuned and timed:
        same = min(timed, key=lambda r: abs(r["hours"] - tuned[0]["hours"]))
        frozen_wins = same["all"]["auc"] > tuned[0]["all"]["auc"]
        text += (f" After the same {tuned[0]['hours']:.2f} h, fine-tuning the "
                 f"backbone reached an all-joint keypoint AUC of "
                 f"{tuned[0]['all']['auc']:.3f} "
                 f"(keypoints found {tuned[0]['all']['found']:.0%}), the frozen "
                 f"backbone {same['all']['auc']:.3f} ({same['all']['found']:.0%})"
                 + (": on a CPU, the frozen backbone's faster steps were worth more "
                    "than adapting the backbone." if frozen_wins else
                    ": adapting the backbone paid for its slower steps."))
    display(Markdown(text))

# %% [markdown]
# ## Why depth is hard: the depth code
#
# Chapter 2 explains the argument: with the paper's inverse code $D = a/Z + b$ and a
# squared error (eq. 1), an error $\Delta Z$ at depth $Z$ costs about
# $(a \Delta Z / Z^2)^2$, so the far joints barely contribute to the loss; chapter 2 also
# shows the toy scenes where a log code learns depth better. The depth study
# (`scripts/depth_diagnosis.py`, written to `kuka_kr16_localization_cpu/depth_study.json`) also diagnoses
# reference checkpoints on the test scenes: the error of the model's depth (Table I), the
# *floor* that the network's low-resolution targets impose (the error of a perfect
# prediction at the backbone's grid), a straight-line fit of predicted against true joint
# depth (a slope below 1 means the predictions are squeezed towards the middle), and the
# baseline that predicts the median depth everywhere. Its rows are the industrial arm's
# localization parts of chapter 2's training figure; the last is the shipped checkpoint.
# The study runs on its own test scenes (the table's column), not on the model cards'
# test scenes that chapter 2 and the introduction's scorecard use, so its Table I errors
# differ from theirs.

# %% tags=["hide-input"]
depth_study = read_study("kuka_kr16_localization_cpu", "depth")
diagnoses = (depth_study or {}).get("checkpoints", [])
if not diagnoses:
    print("No checkpoint diagnoses in a depth study file "
          "(assets/models/kuka_kr16_localization_cpu/depth_study.json): run "
          "scripts/depth_diagnosis.py CHECKPOINT.")
else:
    rows = [{"checkpoint": d.get("label", d.get("checkpoint", "?")),
             "step": d.get("step", 0), "scenes": d.get("n_scenes", 0),
             "near mean": d["table1_model"]["near"]["mean_cm"],
             "far mean": d["table1_model"]["far"]["mean_cm"],
             "floor (all)": d["table1_floor_lowres_targets"]["all"]["mean_cm"],
             "baseline far": d["median_true_baseline"]["far"]["mean_cm"],
             "slope": d["joint_fit"]["slope"], "R²": d["joint_fit"]["r2"],
             "joints": d["joint_read_at_pixel"]["all"]["mean_cm"],
             "oracle scale": d.get("joint_after_oracle_robot_scale", {})
                              .get("all", {}).get("mean_cm", float("nan"))}
            for d in diagnoses]
    display(Markdown(markdown_table(
        rows, formats={"step": ",d", "near mean": ".1f", "far mean": ".1f",
                       "floor (all)": ".1f",
                       "baseline far": ".1f", "slope": ".2f", "R²": ".2f",
                       "joints": ".1f", "oracle scale": ".1f"},
        headers={"step": "steps of the part", "scenes": "test scenes",
                 "near mean": "near [cm]",
                 "far mean": "far [cm]", "floor (all)": "target floor [cm]",
                 "baseline far": "median baseline, far [cm]", "slope": "fit slope",
                 "joints": "joints, all [cm]",
                 "oracle scale": "joints after a per-robot oracle scale [cm]"})))
    def span(values, fmt):
        """'x' when all values print alike, else 'lowest to highest'."""
        low, high = format(min(values), fmt), format(max(values), fmt)
        return low if low == high else f"{low} to {high}"

    def than(ratio):
        return ("no better than" if ratio >= 1 else "barely better than" if ratio > 0.8
                else "better than")

    # one paragraph for all checkpoints: the ranges, then the shipped one (last row)
    to_floor = [r["far mean"] / r["floor (all)"] for r in rows]
    to_base = [r["far mean"] / r["baseline far"] for r in rows]
    verdicts = {than(x) for x in to_base}
    squeezed = [r["checkpoint"] for r in rows if r["slope"] < 0.9]
    shipped_row, shipped_ratio = rows[-1], to_base[-1]
    sentences = [
        f"Across the {len(rows)} checkpoints the far error is {span(to_floor, '.0f')} "
        "times the target floor, so the targets' resolution is not what limits it, "
        "and "
        f"{span(to_base, '.2f')} times the median-depth baseline's far error"
        + (f" ({verdicts.pop()} predicting one depth for every far joint, in every "
           "checkpoint)" if len(verdicts) == 1 else
           f"; the shipped checkpoint, *{shipped_row['checkpoint']}*, is "
           f"{than(shipped_ratio)} predicting one depth for every far joint "
           f"({shipped_ratio:.2f})")
        + ". Predicted against true joint depth the fit slope is "
        f"{span([r['slope'] for r in rows], '.2f')} (R² "
        f"{span([r['R²'] for r in rows], '.2f')})"
        + (": every checkpoint squeezes its predictions towards the middle of the "
           "range." if len(squeezed) == len(rows) else
           "; below 0.9, predictions squeezed towards the middle of the range, in "
           + ", ".join(f"*{c}*" for c in squeezed) + "." if squeezed else ".")]
    scaled = [r for r in rows if np.isfinite(r["oracle scale"])]
    if scaled:
        last = scaled[-1]
        sentences.append(
            "Dividing each robot's joint depths by its own median ratio of "
            "predicted to true depth (an oracle that knows each robot's "
            f"distance) takes the mean joint error of *{last['checkpoint']}* from "
            f"{last['joints']:.1f} to "
            f"{last['oracle scale']:.1f} cm: "
            + ("more than half of the error was each robot's distance, not the "
               "shape of the arm in depth."
               if last["oracle scale"] < 0.5 * last["joints"] else
               "each robot's distance is part of the error, not most of it."))
    display(Markdown("\n\n".join(sentences)))

# %% [markdown]
# ## One pass instead of one step per robot
#
# The paper's own criticism of its instance model (§V): it is tricky to train, and its
# runtime grows with the number of robots, one recurrent step each. Chapter 3 measures
# both. The library also has a *one-pass* instance model (`robotpose_lib/models/onepass.py`,
# in the style of Panoptic-DeepLab and CenterNet): on the same input it predicts a
# foreground mask, a heatmap of robot centres and, per pixel, the offset to its robot's
# centre, and assigns the foreground pixels to the centres in one vectorised step. A
# robot's one-pass study (`scripts/onepass_study.py`, written to
# `{robot}_onepass_cpu/onepass_study.json`) compares it with the recurrent model on the same test
# scenes; for a robot without a study file the table reads both models' cards (the output
# of `robotpose eval` on the fixed test set, written when each model was shipped).
#
# The paper's scenes hold nothing but robots in front of a photo, so a model trained on
# them can take any object that stands out for a robot. The test therefore also renders
# its robot-free scenes a second time with *hard negatives*: ray-cast spheres, capsules,
# cylinders and boxes, and patches of other test photos pasted over the background
# (`robotpose eval onepass --robot-free M --hard-negatives` for M such scenes). The
# training recipe `clutter` (`synth.RECIPES`) adds the same kind of objects to the
# paper's scenes, with training photos: it takes only the distractor objects and collage
# patches of chapter 5's `sim2real` recipe, not its cameras, materials and photometric
# changes. A model card says which recipe its model was trained on, and a one-pass
# model's decoding threshold is chosen on robot-free validation scenes of that recipe.

# %% tags=["hide-input"]
ONEPASS_ROBOTS = ("panda", "kuka_kr16")
figures = [f for f in map(scorecard.onepass_figures, ONEPASS_ROBOTS) if f is not None]
accuracy = onepass_robot_rows(figures)
if not figures:
    print("No one-pass figures: no one-pass study file and no one-pass eval.json in "
          "assets/models/.")
else:
    percent = ("count right", "robot-free: none found", HARD_NEGATIVES_COLUMN)
    columns = ["robot", "model", "test scenes", "box AP", "mask AP", "mask AP@0.5",
               "count right", "robot-free: none found"]
    if any(np.isfinite(r[HARD_NEGATIVES_COLUMN]) for r in accuracy):
        columns.append(HARD_NEGATIVES_COLUMN)
    table = markdown_table(accuracy, columns=columns,
                           formats={c: ".0%" if c in percent else ".3f"
                                    for c in accuracy[0]
                                    if c not in ("robot", "model", "test scenes")})
    sources = []
    for f in figures:
        files = dict.fromkeys(m["source"] for m in f["models"].values())
        sources.append(f"{f['robot']} from " + " and ".join(f"`{n}`" for n in files))
    sources = "; ".join(sources)
    seeds = {m["seed"] for f in figures for m in f["models"].values()} - {None}
    display(Markdown(
        "On the fixed synthetic test scenes"
        + (f" (seed {seeds.pop()})" if len(seeds) == 1 else "")
        + f", read from the files ({sources}; a dash: the file read holds no such "
          "figure):\n\n" + table))
    sentences = []
    for f in figures:
        a, b = f["models"]["onepass"], f["models"].get("convgru")
        if b is None:
            continue
        ap, bp = a["mask_ap"], b["mask_ap"]
        ac, bc = a["counting_accuracy"], b["counting_accuracy"]
        sentences.append(
            f"*{f['robot']}*: the one-pass model's mask AP is {a['mask_ap']:.3f} "
            f"against the recurrent model's {b['mask_ap']:.3f}, and it counts right "
            f"in {a['counting_accuracy']:.0%} of the scenes against "
            f"{b['counting_accuracy']:.0%}: it is "
            + ("better on both." if ap > bp and ac > bc else
               "worse on both." if ap < bp and ac < bc else
               "better on one and worse on the other.")
            + (f" The two were measured on different numbers of scenes ({a['n']} and "
               f"{b['n']})."
               if a["n"] != b["n"] else ""))
    free_n = {m["robot_free_n"] for f in figures for m in f["models"].values()
              if m.get("robot_free_n")}
    if free_n:
        sentences.append(
            "*Robot-free: none found* is the share of the "
            + "/".join(map(str, sorted(free_n)))
            + " robot-free test scenes in which the instance model alone (its masks, "
            "before the Predictor drops robots without joints) reports no robot; "
            "higher is better.")
    recipe = {(f["robot"], key): scorecard.training_recipe(f["robot"], key)
              for f in figures for key in f["models"]}
    hard = [(f["robot"], key, m) for f in figures for key, m in f["models"].items()
            if np.isfinite(m.get("robot_free_hard", np.nan))]
    if hard:
        sentences.append(
            "With hard negatives (the same scenes with distractor objects and "
            "patches of other test photos pasted in) the models alone find nothing "
            "in "
            + "; ".join(f"{m['robot_free_hard']:.0%} ({robot}, {ONEPASS_NAMES[key]}, "
                        f"trained on the {recipe.get((robot, key)) or '?'} recipe)"
                        for robot, key, m in hard)
            + ". The paper recipe has no objects but robots, while `sim2real` and "
              "`clutter` both add them, so this column compares training data as well "
              "as models.")
    budgets = narration.instance_training_budgets(
        [f["robot"] for f in figures if "convgru" in f["models"]])
    if budgets:
        sentences.append(budgets)
    decoded = [f"{f['robot']} {narration.decoding_text(f)}" for f in figures
               if narration.decoding_text(f)]
    if decoded:
        sentences.append("Each one-pass model decodes its centre heatmap with the "
                         "setting chosen for its checkpoint on validation scenes, "
                         "never on the test set: " + "; ".join(decoded) + ".")
    stale = [f"{f['robot']} {key}: {m['stale']}" for f in figures
             for key, m in f["models"].items() if m["stale"]]
    if stale:
        sentences.append(f"Not the shipped checkpoints' figures: {'; '.join(stale)}.")
    display(Markdown("\n\n".join(sentences)))

# %% mystnb={"figure": {"caption": "Instance stage runtime against the number of robots in the scene, from the one-pass study files (one panel per robot that has one; medians; 'forced' variants decode exactly as many instances as there are robots).", "name": "fig-onepass-runtime"}}
LABELS = {"onepass_ms": "one-pass", "onepass_forced_ms": "one-pass, forced",
          "convgru_ms": "recurrent",
          "convgru_forced_ms": "recurrent, forced (k + 1 steps)"}
studies = {r: study for r in ONEPASS_ROBOTS
           if (study := read_study(f"{r}_onepass_cpu", "onepass")) is not None}
runtimes = {r: rows for r, study in studies.items()
            if (rows := onepass_study_rows(study)[1])}
if not runtimes:
    print("No one-pass study file with runtime figures "
          "(assets/models/ROBOT_onepass_cpu/onepass_study.json): no plot.")
else:
    fig, axes = plt.subplots(1, len(runtimes),
                             figsize=(6.5 if len(runtimes) == 1 else 9.5, 3.3),
                             squeeze=False)
    for ax, (robot, rows) in zip(axes[0], runtimes.items()):
        k = [r["robots"] for r in rows]
        for key, label in LABELS.items():
            if key in rows[0]:
                ax.plot(k, [r[key] for r in rows], "-o", label=label)
        ax.set_title(robot, fontsize=10)
        ax.set_xlabel("robots in the scene"); ax.set_ylabel("instance stage [ms]")
        ax.set_xticks(k); ax.legend(fontsize=8)
    plt.tight_layout()
    plt.show()

# %% tags=["hide-input"]
sentences = []
for robot, rows in runtimes.items():
    if not {"convgru_forced_ms", "onepass_forced_ms"} <= set(rows[0]):
        continue
    first, last = rows[0], rows[-1]
    sentences.append(
        f"*{robot}*: from {first['robots']} to {last['robots']} robots the recurrent "
        f"model's instance stage grows from {first['convgru_forced_ms']:.0f} to "
        f"{last['convgru_forced_ms']:.0f} ms "
        f"({last['convgru_forced_ms'] / first['convgru_forced_ms']:.1f} times), the "
        f"one-pass model's from {first['onepass_forced_ms']:.0f} to "
        f"{last['onepass_forced_ms']:.0f} ms "
        f"({last['onepass_forced_ms'] / first['onepass_forced_ms']:.1f} times), both "
        "forced to decode as many instances as there are robots (the red and orange "
        "curves).")
if sentences:
    gap = max((abs(r["onepass_ms"] / r["onepass_forced_ms"] - 1)
               for rows in runtimes.values() for r in rows
               if {"onepass_ms", "onepass_forced_ms"} <= set(r)), default=None)
    sentences.append(
        "Unforced, the recurrent model stops where its own end-of-sequence rule says "
        "(the green curve), so its time follows how many masks it emits rather than "
        "the robots in the scene"
        + (f"; the two one-pass curves stay within {gap:.0%} of each other."
           if gap is not None else "."))
missing = [r for r in ONEPASS_ROBOTS if r not in runtimes]
if missing:
    sentences.append(f"No study file with runtime figures for {', '.join(missing)}, "
                     "so no curve for it here.")
display(Markdown(" ".join(sentences)))

# %% [markdown]
# ## Training throughput on a CPU
#
# Every reference model was trained on a laptop-class CPU, so samples per second decided
# how much each model could learn. The training logs record the throughput of every part
# of every run ({numref}`fig-throughput`); the parts trained later used a faster recipe
# (bfloat16 autocast and channels-last memory where the CPU supports them, and the
# intermediate stages supervised at the backbone's grid instead of the full image).

# %% mystnb={"figure": {"caption": "Median training throughput of each part of each reference run, from the training logs (one CPU core per run; lighter bars: the first parts of a run).", "name": "fig-throughput"}}
costs = [c for c in (training_cost(name) for name in SHIPPED) if c.parts]
if costs:
    fig, ax = plt.subplots(figsize=(7.5, 3.2))
    plot_throughput(costs, ax=ax)
    plt.show()
else:
    print("No training logs of the reference models here: no figure.")

# %% [markdown]
# What each step of the recipe is worth, measured now on this machine (`robotpose bench
# train`: one optimiser step of the localization network on a rendered batch, median of a
# few steps after two warm-up steps; rendering is left out, it runs in a parallel worker):

# %%
from robotpose_lib.bench.train import throughput

bench_config = config.pick("quick", "cpu")
bench = throughput(bench_config, "panda", batch_size=config.pick(4, 8),
                   repeats=config.pick(2, 3), threads=1, device=DEVICE)
H, W = bench[0]["input"]
display(Markdown(
    f"`{bench_config}` configuration, batch {bench[0]['batch']}, input {H}x{W}, "
    f"{bench[0]['device']}, {bench[0]['threads']} torch thread:\n\n" + markdown_table(
        bench, columns=["variant", "samples_per_s", "speedup"],
        formats={"samples_per_s": ".1f", "speedup": ".2f"},
        headers={"samples_per_s": "samples/s", "speedup": "x fp32 eager"})
    + f"\n\nThe shipped recipe trains {bench[-1]['speedup']:.1f} times as many "
      "samples per second as plain fp32 here. "
    + ("On a CPU without native bfloat16 the mixed-precision step is not taken (its "
       "row says so). " if "not native" in bench[2]["variant"] else "")
    + ("Quick mode: a tiny network timed over two steps on a shared machine, so the "
       "rows are noisy; the reference runs' logs above are the better guide."
       if QUICK else "")))

# %% [markdown]
# ## Open problems
#
# The scorecard of the introduction, restricted to what is not yet reproduced, with what
# we would try next:

# %% tags=["hide-input"]
scaled = [d for d in diagnoses if "joint_after_oracle_robot_scale" in d]
if scaled:
    d = scaled[-1]
    share = 1 - (d["joint_after_oracle_robot_scale"]["all"]["mean_cm"]
                 / d["joint_read_at_pixel"]["all"]["mean_cm"])
    depth_next = (f"in the depth study above, knowing each robot's distance removes "
                  f"{share:.0%} of the joint depth error of *{d.get('label', '?')}*; "
                  + ("so predict each robot's distance better (from its apparent "
                     "size, for example) before anything else"
                     if share >= 0.5 else
                     "the rest is the shape of the arm in depth, so train a larger "
                     "network for longer on a GPU (`scripts/gpu_train.sh`)"))
else:
    depth_next = ("diagnose the shipped checkpoint with `scripts/depth_diagnosis.py` "
                  "to see how much of the error is each robot's distance")
NEXT = {
    "Depth error": depth_next,
    "Joints near the base": "train longer; the paper's stride-4 features (`paper` "
                            "config) place peaks more finely",
    "One mask per robot": "use the one-pass model of the section above, or feed the "
                          "emitted masks back to the recurrent model "
                          "(`canvas_feedback`, chapter 3)",
    "Trained on renders only": "the shipped model already trains on chapter 5's "
                               "`sim2real` recipe; add backgrounds of real labs and "
                               "workshops (`BackgroundPool(folders=...)`), fine-tune "
                               "a larger network on a GPU, and measure on photographs "
                               "that no training choice has seen",
}
open_rows = [r for r in scorecard.scorecard(photos=photos)
             if r.verdict in (scorecard.NOT_YET, scorecard.PARTLY)]
groups = {}  # one bullet per NEXT entry (near and far depth share one)
for r in open_rows:
    key = next((k for k in NEXT if r.claim.startswith(k)), r.claim)
    groups.setdefault(key, []).append(r)


def ours(r) -> str:
    """The scorecard's figures; the real-photo AUC is on all seven joints."""
    return r.ours + (", on all seven joints"
                     if r.chapter == "5" and "joint" not in r.ours else "")


def bullet(key: str, rows: list) -> str:
    """One Markdown bullet: the claim, then paper, ours and next, each a sentence."""
    if len(rows) == 1:
        r = rows[0]
        return (f"* **{r.claim}** ({r.verdict}). Paper: {r.paper}. Ours: {ours(r)}. "
                f"Next: {NEXT.get(key, 'see chapter ' + r.chapter)}.")
    # near and far depth: one heading, the source (e.g. "Table I") once
    whats = [r.claim[len(key):].strip(" ,") or r.claim for r in rows]
    tails = {w.rpartition(", ")[2] for w in whats}
    source = tails.pop() if len(tails) == 1 and all(", " in w for w in whats) else ""
    heading = f"{key}, {source}" if source else key
    parts = []
    for w, r in zip(whats, rows):
        w = w.rpartition(", ")[0] if source else w
        parts.append(f"{w[0].upper() + w[1:]} ({r.verdict}): paper {r.paper}; "
                     f"ours {ours(r)}.")
    return f"* **{heading}**. " + " ".join(parts) + f" Next: {NEXT[key]}."


if groups:
    display(Markdown("\n".join(bullet(k, rows) for k, rows in groups.items())))
else:
    display(Markdown("Every scored claim is reproduced by the shipped models."))

# %% [markdown]
# Two problems the scorecard cannot show. First, the paper's own test data and real
# photographs are not public, so a reproduction can only compare with its numbers on our
# own test sets; a shared benchmark of robot photographs with joint annotations (DREAM's
# {cite}`lee2020dream` is one for the Panda) would make comparisons traceable, as the
# paper itself asks. Second, the instance model's stopping rule (a share of activated
# pixels) depends on how large robots appear; chapter 3 measures how often it counts
# right with the paper's threshold and with ours.
#
# ## Summary
#
# * Real photographs need a baseline to mean anything: the study above measures what
#   training time and the backbone setting bought against the mean-pose guess.
# * The paper's inverse depth code with a squared error hardly trains far joints; the
#   diagnosis separates that from the targets' resolution (the floor).
# * A one-pass instance head removes the per-robot loop of the recurrent model; its study
#   file puts numbers on accuracy and runtime.
# * Training throughput on a CPU is a design constraint: each step of the shipped recipe
#   is measured above.
#
# ## Exercises
#
# 1. Train the toy depth model of chapter 2 for a quarter of the steps
#    (`toy_depth.train_toy_depth`): expect larger errors with both codes, and the far
#    errors of the inverse code to stay the largest.
# 2. Train the Panda localization model for 30 more minutes with
#    `robotpose train localization --resume` on its run folder and add it to the study with
#    `scripts/sim2real_study.py --append`: does the AUC rise above the best point of
#    {numref}`fig-real-study`, or stay in its noisy band?
# 3. Time `robotpose bench train --threads 2` against `--threads 1`: expect less than
#    twice the samples per second from the second thread: one thread per run gives more
#    scenes per CPU hour, which is why each reference model trained with one torch
#    thread (most runs rendering their scenes in a second process).
