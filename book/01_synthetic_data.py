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
# # 1. Synthesising training data
#
# There is no large dataset of photographs of robots with their joints annotated in 2D
# and 3D, and labelling one by hand is slow and imprecise. The paper therefore trains only
# on **rendered** images (§III-A): robots in random poses, drawn in random colours, seen by
# random cameras, pasted onto real photos, with some noise on top. This is *domain
# randomisation* {cite}`tobin2017domain`: if the training images vary wildly in everything
# that does not matter (colour, background, lighting, noise), the network has to learn the
# one thing that stays, the shape of the robot, and a real photo becomes just one more
# variation.
#
# Rendering gives the ground truth for free and exactly: instance masks, a depth map, and
# every joint in pixels and in 3D. This chapter builds that generator piece by piece:
#
# 1. robot models (kinematic chains and link geometry), checked against real photographs;
# 2. a ray caster that draws the link geometry with exact depth and instance ids;
# 3. the paper's randomisation, one parameter at a time;
# 4. a dataset that renders sample *i* from *(seed, i)*, identically everywhere.

# %% tags=["remove-cell"]
# On Colab, install the library first (elsewhere it is already installed by `make`).
import sys

if "google.colab" in sys.modules:
    import subprocess

    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "robotpose @ git+https://github.com/robotpose/robotpose"], check=True)

# %%
import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import HTML, display

from matplotlib_inline.backend_inline import set_matplotlib_formats

from robotpose_lib import config, viz
from robotpose_lib.robots import ROBOT_NAMES, get_robot

# This chapter's figures are mostly noisy photographs: JPEG keeps the page light (PNG
# made it 19 MB).
set_matplotlib_formats("jpeg", pil_kwargs={"quality": 85})
from robotpose_lib.synth import generate, params_for, posed_scene, render_scenes

QUICK = config.quick_mode()
H, W = config.pick((120, 160), (240, 320))  # figure size of rendered scenes
print(f"quick mode: {QUICK}; scenes rendered at {H}x{W}")

# %% [markdown]
# ## Robot models
#
# A robot arm is a chain of rigid links joined by revolute joints. Its *forward
# kinematics* maps the joint angles $q$ to the pose of every link, a product of one
# homogeneous transform per joint. We describe each transform with Denavit-Hartenberg
# parameters. Two robots are built in:
#
# * a **6-axis industrial arm** (a KUKA KR 16, the class of the Stäubli RX130 the paper
#   used in its real images), with $J = 6$ keypoints from the base to the flange;
# * the **Franka Emika Panda**, with its published modified-DH parameters and the 7
#   keypoints of DREAM {cite}`lee2020dream`, so that results can be checked on real photos.
#
# Each link carries a few geometric primitives (capsules, cylinders, boxes, spheres). For
# the Panda they were fitted once to the collision meshes that ship with pybullet
# (`scripts/fit_panda_geometry.py`); the fitted parameters live in the library.

# %%
for name in ROBOT_NAMES:
    robot = get_robot(name)
    print(f"{name:10s} dof={robot.dof}  J={robot.num_keypoints}  keypoints={robot.keypoint_names}")

# %%
fig = plt.figure(figsize=(10, 5))
for k, name in enumerate(ROBOT_NAMES):
    robot = get_robot(name)
    low, high = (np.asarray(t) for t in robot.sample_range)
    q = torch.tensor((low + high) / 2, dtype=torch.float64)[None]
    keypoints, link_T = robot.forward_kinematics(q)
    ax = fig.add_subplot(1, len(ROBOT_NAMES), k + 1, projection="3d")
    viz.plot_primitives(ax, robot.primitives(link_T), alpha=0.35)
    viz.plot_chain_3d(ax, keypoints[0].numpy(), color="k", label="keypoints")
    viz.set_equal_3d(ax, keypoints[0].numpy(), margin=0.3 * robot.reach)
    ax.set_title(f"{name}: link primitives and keypoint chain", fontsize=10)
    ax.set_xlabel("x [m]"); ax.set_ylabel("y [m]"); ax.set_zlabel("z [m]")
plt.tight_layout()
plt.show()

# %% [markdown]
# ### Checking the Panda against real photographs
#
# If the kinematics or our camera conventions were wrong anywhere, it would show here.
# Five real, calibrated photographs of a Panda come with their measured joint angles and
# the camera's intrinsics and extrinsics (they are not part of this repository; the cell
# skips when the folder is absent). We run our forward kinematics on the joint angles,
# move the keypoints into the camera frame with the extrinsics and project them with $K$.

# %%
from robotpose_lib.real_panda import load_real_panda

photos = load_real_panda()  # [] when the folder is absent
if photos:
    overlays = [viz.draw_chain(p.image, p.joints_2d, color=(255, 255, 0), radius=3) for p in photos]
    viz.image_grid(overlays, cols=len(overlays), size=3.0)
    plt.suptitle("Our Panda forward kinematics projected onto real photographs", y=1.02)
    plt.show()
else:
    print("real_panda_dev not found: skipping the real-photo check")

# %% [markdown]
# ## Rendering with a ray caster
#
# The paper renders with Blender. We need something lighter that runs anywhere, in a
# DataLoader worker, on a CPU or a GPU: a ray caster written in PyTorch. For every pixel
# $(u, v)$ the camera ray is $K^{-1}[u, v, 1]^T$, and each primitive has a closed-form ray
# intersection (a quadratic for spheres, capsules and cylinders, slabs for boxes). The
# nearest hit per pixel gives the **depth** (camera $z$ in metres), the **instance id**
# (which robot), the **link id** and the **surface normal**. On the CPU the caster culls:
# each primitive is tested only against the rays inside its projected bounding rectangle.
#
# Colour is applied afterwards: every robot, or every link, gets a colour, shaded with a
# Lambertian term from a random light, and everything that is not robot shows the
# background photo.

# %%
scene = posed_scene("kuka_kr16", [0.3, -0.6, 0.4, 0.5, 0.8, 0.0], radius=5.0,
                    inclination=1.1, azimuth=0.6, height=H, width=W, seed=1)
sample = render_scenes("kuka_kr16", [scene], params_for("kuka_kr16"))[0]
panels = [sample.image, viz.color_masks(sample.masks), viz.color_depth(sample.depth),
          viz.draw_sample(sample)]
viz.image_grid(panels, cols=4, titles=["image", "instance masks", "depth (camera z)", "projected joints"])
plt.show()
print("depth range of the robot: %.2f .. %.2f m" % (sample.depth[sample.depth > 0].min(), sample.depth.max()))

# %% [markdown]
# ## The paper's randomisation
#
# Every draw of §III-A is a named parameter of `SynthParams`, with the paper's default:
#
# | paper | parameter | default |
# |---|---|---|
# | robot visibility $v_r \sim \mathrm{Bernoulli}(\theta_{vr})$ | `theta_vr` | 0.75 |
# | colour from $n_{color}$ hues linearly spaced in HSV, per robot or per link | `n_color` | 400 |
# | camera on a hemisphere, radius $c_r \sim U(0, r_{max})$ | `r_max` | 10 m |
# | joint angles $\alpha_j \sim U(-\pi/2, \pi/2)$ | `joint_range` | robot's own range |
# | background photo, randomly scaled and cropped | `background` | train photos + textures |
# | noise amplitude $a \sim U(0, 30)$ | `noise_amplitude` | (0, 30) |
#
# Where the paper leaves a range degenerate we add a floor (a camera radius of 0 puts the
# camera inside a robot: `r_min`), and per-robot *presets* set ranges that suit the robot
# (the Panda is seen from 0.5 to 3 m). Here is a grid of random training scenes, like the
# paper's Fig. 3, with each robot's projected joints drawn on top (hollow dots: joints
# outside the frame or hidden behind another robot).

# %%
for name in ROBOT_NAMES:
    samples = generate(name, seed=0, indices=range(8), height=H, width=W)
    viz.image_grid([viz.draw_sample(s) for s in samples], cols=4,
                   titles=[f"{s.num_robots} robot(s), a={s.meta['noise_amplitude']:.0f}" for s in samples])
    plt.suptitle(f"Random training scenes: {name}", y=1.02)
    plt.show()

# %% [markdown]
# ### One parameter at a time
#
# To see what each draw does, we fix a scene and change one parameter: the noise
# amplitude, the camera radius, colouring per robot versus per link, and the background
# source.

# %%
base = params_for("kuka_kr16", min_robots=2, max_robots=2, theta_vr=1.0)
rows = {
    "noise a": [base.replace(noise_amplitude=(a, a)) for a in (0, 15, 30)],
    "camera radius": [base.replace(r_min=r, r_max=r) for r in (4.0, 6.5, 10.0)],
    "colours": [base.replace(per_link_color_probability=p) for p in (0.0, 1.0, 1.0)],
}
from robotpose_lib.backgrounds import BackgroundPool

rows["background"] = [base.replace(background=BackgroundPool(photo_probability=p, split=s))
                      for p, s in ((0.0, "train"), (1.0, "train"), (1.0, "test"))]
labels = {"noise a": ["a = 0", "a = 15", "a = 30"], "camera radius": ["4 m", "6.5 m", "10 m"],
          "colours": ["per robot", "per link", "per link (other draw)"],
          "background": ["procedural", "train photos", "test photos"]}
images, titles = [], []
for row, params in rows.items():
    for k, p in enumerate(params):
        seed_index = 2 if row == "colours" and k == 2 else 1
        images.append(generate("kuka_kr16", seed=seed_index, indices=[4], height=H, width=W, params=p)[0].image)
        titles.append(f"{row}: {labels[row][k]}")
viz.image_grid(images, cols=3, titles=titles)
plt.show()

# %% [markdown]
# ### What the training distribution looks like
#
# Statistics over many random scenes tell us what the networks will see: how many robots
# per image, how many joints are visible, and how far the robots are from the camera
# (the paper splits its depth errors at 5 m into *near* and *far*).

# %%
N_STATS = config.pick(24, 200)
stats = {name: generate(name, seed=123, indices=range(N_STATS), height=H, width=W) for name in ROBOT_NAMES}
fig, axes = plt.subplots(1, 3, figsize=(13, 3.2))
for name, samples in stats.items():
    counts = [s.num_robots for s in samples]
    axes[0].hist(counts, bins=np.arange(-0.5, 4.5), alpha=0.6, label=name)
    vis = np.concatenate([s.visibility.mean(1) for s in samples if s.num_robots])
    axes[1].hist(vis, bins=np.linspace(0, 1, 9), alpha=0.6, label=name)
    z = np.concatenate([s.joints_3d[..., 2].ravel() for s in samples if s.num_robots])
    axes[2].hist(z, bins=30, alpha=0.6, label=name)
axes[0].set_xlabel("robots in the image"); axes[1].set_xlabel("fraction of joints visible")
axes[2].set_xlabel("joint depth z [m]")
for ax in axes:
    ax.legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Explore: joint angles and camera
#
# With a running kernel, the sliders below re-render the scene. In the static HTML book
# there is no kernel, so the animation after it shows the same exploration as precomputed
# frames: the camera circles the robot while one joint sweeps.

# %%
import ipywidgets as widgets

robot_kr = get_robot("kuka_kr16")
sliders = {f"q{j + 1}": widgets.FloatSlider(value=0.3, min=-math.pi / 2, max=math.pi / 2, step=0.05,
                                             description=f"joint {j + 1}") for j in range(robot_kr.dof)}
camera_sliders = {
    "azimuth": widgets.FloatSlider(value=0.6, min=0, max=2 * math.pi, step=0.05, description="azimuth"),
    "inclination": widgets.FloatSlider(value=1.1, min=0.05, max=math.pi / 2, step=0.05, description="inclination"),
    "radius": widgets.FloatSlider(value=5.0, min=2.5, max=10.0, step=0.1, description="radius [m]"),
}


def show_posed(azimuth, inclination, radius, **q):
    scene = posed_scene("kuka_kr16", [q[f"q{j + 1}"] for j in range(robot_kr.dof)], radius,
                        inclination, azimuth, height=H, width=W, seed=3)
    s = render_scenes("kuka_kr16", [scene], params_for("kuka_kr16"))[0]
    viz.image_grid([viz.draw_sample(s), viz.color_depth(s.depth)], cols=2, titles=["image + joints", "depth"])


from robotpose_lib.widgets import panel

_ = panel(show_posed, **camera_sliders, **sliders)

# %%
n_frames = config.pick(6, 24)
frames = []
for k in range(n_frames):
    t = k / n_frames
    q = [0.3, -0.6 + 0.8 * math.sin(2 * math.pi * t), 0.4, 0.5, 0.8, 0.0]
    scene = posed_scene("kuka_kr16", q, 5.0, 1.1, 2 * math.pi * t, height=H, width=W, seed=3)
    frames.append(viz.draw_sample(render_scenes("kuka_kr16", [scene], params_for("kuka_kr16"))[0]))
display(HTML(viz.animation_html(frames)))

# %% [markdown]
# ## Datasets: on the fly and on disk
#
# `SyntheticDataset(robot, n, size, seed)` renders sample *i* from the pair *(seed, i)*
# alone, so it returns the same bytes on every call, in every DataLoader worker, and
# whether scenes are rendered one by one or in a batch. A test set is simply another seed
# (with the *test* background photos, which share no photo with the training ones, as the
# paper kept separate city and industrial photo collections).
#
# The same samples can be written to disk (PNG images and instance masks, one NPZ of
# annotations per sample) with the command line tool:
#
# ```bash
# robotpose synth --robot panda --n 10000 --size 480x640 --seed 0 --out data/panda_train
# ```
#
# An interrupted run resumes where it stopped. The annotation arrays carry the names
# `joints_2d`, `joints_3d`, `visibility`, `K`, `joint_angles` and `base_poses`.

# %%
import tempfile

from robotpose_lib.data import DiskDataset, SyntheticDataset, write_dataset

ds = SyntheticDataset("panda", n=4, size=(H, W), seed=42)
with tempfile.TemporaryDirectory() as tmp:
    write_dataset(tmp, ds, progress=False)
    disk = DiskDataset(tmp)
    same = all(ds[i].image.tobytes() == disk[i].image.tobytes() for i in range(len(ds)))
    print("written files:", sorted(p.name for p in Path(tmp).iterdir()))
    print("on-disk samples identical to the rendered ones:", same)
    print({k: v.shape for k, v in disk[0].annotations().items()})

# %% [markdown]
# ### How fast is it?
#
# Training renders on the fly, so the generator must keep up with the network. A short
# measurement on this machine (the full benchmark, `robotpose bench synth`, compares with
# pybullet's CPU renderer in the same run):

# %%
from robotpose_lib.bench.synth import synth_throughput

n_bench = config.pick(8, 48)
for name in ROBOT_NAMES:
    rate = synth_throughput(name, n_bench, 480, 640, batch=8)
    print(f"{name:10s} {rate:5.1f} full samples/s at 480x640 with 3 robots "
          f"(torch threads: {torch.get_num_threads()})")

# %% [markdown]
# ## What differs from the paper
#
# * A PyTorch ray caster of primitives instead of Blender meshes: the links are capsules,
#   cylinders and boxes. For the Panda they are fitted to the real collision meshes; the
#   industrial arm is drawn from datasheet proportions.
# * The camera radius has a floor (`r_min`) and the camera stays on the upper hemisphere.
# * The field of view varies (45 to 60 degrees) so that the depth coding of chapter 2 can be
#   tested across focal lengths.
# * Background photos come from scikit-image's sample images, plus procedural textures, plus
#   any folder you point `BackgroundPool(folders=...)` at.
