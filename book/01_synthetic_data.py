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
# # Synthesising training data
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
# every joint in pixels and in 3D. This chapter builds that generator piece by piece.
#
# You will learn:
#
# * how a robot arm is described for rendering: a kinematic chain (forward kinematics)
#   with simple geometry on each link, checked against real photographs;
# * how a ray caster draws that geometry with exact depth and instance ids, on a CPU;
# * what each of the paper's random draws does to an image, and what the resulting
#   training distribution looks like;
# * how a dataset renders sample *i* from *(seed, i)* so that every run, worker and disk
#   copy sees the same bytes, and how fast it renders.

# %% tags=["remove-cell"]
# On Colab, install the library first (elsewhere it is already installed by `make`).
import sys

REPOSITORY = "https://github.com/robotpose/robotpose"  # _config.yml repository.url (scripts/set_repository.py)
if "google.colab" in sys.modules:
    import subprocess

    subprocess.run([sys.executable, "-m", "pip", "install", "-q", f"robotpose @ git+{REPOSITORY}"], check=True)

# %% tags=["remove-cell"]
# pybullet prints its build time when first imported: imported here, off the page
try:
    import pybullet  # noqa: F401
except ImportError:  # the comparison below is then skipped
    pass

# %% tags=["remove-input"]
# The chapter's verdict: the paper's §III-A has no figure to score; what this chapter
# checks instead, measured here (pybullet's silhouettes, the real photos drawn below).
from IPython.display import Markdown, display

from robotpose_lib import narration
from robotpose_lib.bench.meshes import pybullet_agreement
from robotpose_lib.book import chapter_verdict
from robotpose_lib.real_panda import load_real_panda

photos = load_real_panda()  # [] when the folder is absent
shown = photos[:: max(1, len(photos) // 4)][:4]  # the photos of the check below
PYBULLET_VIEWS = 3
try:  # pybullet comes with the book's bench extra; without it the check is skipped
    pybullet = pybullet_agreement(n_views=PYBULLET_VIEWS)["panda"]
except ImportError:
    pybullet = None
display(Markdown(chapter_verdict(
    "1", without_claims=narration.renderer_verdict(pybullet, PYBULLET_VIEWS, len(shown)))))

# %%
import math
from pathlib import Path

import matplotlib.pyplot as plt
import torch
from IPython.display import HTML, Markdown, display

from matplotlib_inline.backend_inline import set_matplotlib_formats

from robotpose_lib import config, viz
from robotpose_lib.book import quick_mode_note
from robotpose_lib.narration import markdown_table
from robotpose_lib.robots import ROBOT_NAMES, get_robot

# This chapter's figures are mostly noisy photographs, which PNG compresses poorly:
# JPEG keeps the page light.
set_matplotlib_formats("jpeg", pil_kwargs={"quality": 85})
from robotpose_lib.synth import generate, params_for, posed_scene, render_scenes

QUICK = config.quick_mode()
H, W = config.pick((120, 160), (240, 320))  # figure size of rendered scenes
TRAINED = ("kuka_kr16", "panda")  # the robots the later chapters train on
# the ray caster renders on the CPU here (on a GPU: render_scenes(..., device="cuda"))
print(f"Scenes rendered at {H}x{W} on the CPU.")
quick_mode_note()

# %% [markdown]
# ## Robot models
#
# A robot arm is a chain of rigid links joined by revolute joints. Its *forward
# kinematics* maps the joint angles $q$ to the pose of every link, a product of one
# homogeneous transform per joint. We describe each transform with Denavit-Hartenberg
# (DH) parameters: four numbers per joint (a link length, a twist, an offset and the
# joint angle) that fix how one joint's frame sits on the previous one; the *modified*
# convention attaches each frame at the start of its link instead of its end. Two robots
# are built this way:
#
# * a **6-axis industrial arm** (a KUKA KR 16, the class of the Stäubli RX130 the paper
#   used in its real images), with $J = 6$ keypoints from the base to the flange (the plate at the wrist where a tool is mounted);
# * the **Franka Emika Panda** (`panda_primitive`), with its published modified-DH
#   parameters and the 7 keypoints of DREAM (Deep Robot-to-camera Extrinsics for
#   Articulated Manipulators) {cite}`lee2020dream`, so that results can be
#   checked on real photos.
#
# Each link carries a few geometric primitives (capsules, cylinders, boxes, spheres). For
# the Panda they were fitted once to the collision meshes that ship with pybullet
# (`scripts/fit_panda_geometry.py`); the fitted parameters live in the library. The Panda
# the later chapters train on, `panda`, is the same arm drawn from its URDF meshes
# (below); this primitive one stays for comparison.

# %%
# the two primitive robots, and the Panda from its URDF meshes (shown further below)
robot_rows = [{"robot": name,
               "drawn from": "URDF meshes" if name == "panda" else "primitives",
               "joints (dof)": get_robot(name).dof,
               "keypoints J": get_robot(name).num_keypoints,
               "keypoint names": ", ".join(get_robot(name).keypoint_names)}
              for name in (*ROBOT_NAMES, "panda")]
display(Markdown(markdown_table(robot_rows)))

# %% mystnb={"figure": {"caption": "The two robots built from primitives at the middle of their joint ranges (the Panda from its URDF meshes, `panda`, follows in the section on URDF meshes), in the robot's base frame: link primitives (translucent, one colour per link) and the keypoint chain (magenta dots and lines, outlined in white, drawn over the primitives).", "name": "fig-robots"}}
from robotpose_lib.viz.synthetic import (crop_to_robots, plot_posed, plot_robot_models,
                                         plot_scene_panels, plot_training_distribution,
                                         robot_panels, scene_statistics,
                                         scene_thumbnail)

plot_robot_models(ROBOT_NAMES)
plt.show()

# %% [markdown]
# ### Checking the Panda against real photographs
#
# If the kinematics or our camera conventions were wrong anywhere, it would show here.
# Real, calibrated photographs of a Panda come with their measured joint angles and the
# camera's intrinsics and extrinsics (a public teleoperation episode, MIT licence, copyright
# 2024 Tristin Xie, not part of this repository; chapter 5 uses them in full). We run our
# forward kinematics on the joint angles, move the keypoints into the camera frame with
# the extrinsics and project them with $K$.

# %% tags=["remove-input"]
from robotpose_lib.narration import real_photos_absent

# photos and shown: loaded with the verdict at the top of the chapter
display(Markdown(f"{{numref}}`fig-fk-photos` shows the projected chains over {len(shown)} of the {len(photos)} "
                 "photos (numbers " + narration.join_words(
                     [str(i + 1) for i, p in enumerate(photos) if any(p is q for q in shown)]) + " of the sample's list, "
                 "whose frames are not evenly spaced in the episode); each is titled by its "
                 "file name, which "
                 f"ends in its frame number in the episode (`{shown[-1].name}`: frame "
                 f"{shown[-1].name.rsplit('_f', 1)[-1]})." if photos
                 else real_photos_absent("the photo check")))

# %% mystnb={"figure": {"caption": "Our Panda forward kinematics, projected with each photo's calibration, over real photographs (yellow). If the chains follow the arm, the kinematics and the camera conventions agree with reality.", "name": "fig-fk-photos"}}
from robotpose_lib.real_panda import load_real_panda

photos = load_real_panda()  # the dev photos of chapter 5; [] when the folder is absent
shown = photos[:: max(1, len(photos) // 4)][:4]  # four spread over the sample
if photos:
    overlays = [viz.draw_chain(p.image, p.joints_2d, color=(255, 255, 0), radius=4)
                for p in shown]
    viz.image_grid(overlays, cols=2, titles=[p.name for p in shown], size=4.75)
    plt.show()

# %% [markdown]
# ## Rendering with a ray caster
#
# The paper renders with Blender. We need something lighter that runs anywhere, in a
# DataLoader worker (a background process that prepares batches while the network
# trains), on a CPU or a GPU: a ray caster written in PyTorch. For every pixel
# $(u, v)$ the camera ray is $K^{-1}[u, v, 1]^T$, and each primitive has a closed-form ray
# intersection (a quadratic for spheres, capsules and cylinders, slabs for boxes). The
# nearest hit per pixel gives the **depth** (camera $z$ in metres), the **instance id**
# (which robot), the **link id** and the **surface normal**. On the CPU the caster culls:
# each primitive is tested only against the rays inside its projected bounding rectangle.
#
# Colour is applied afterwards: every robot, or every link, gets a colour, shaded with a
# Lambertian term (brightness proportional to the cosine between the surface normal and
# the light's direction) from a random light, and everything that is not robot shows the
# background photo.

# %% mystnb={"figure": {"caption": "One rendered scene and what the ray caster returns with it: the composited image and the projected joints (top), the instance mask and the depth map (bottom). The depth map shows camera z on a colour scale from 0 m (dark blue) to the farthest robot pixel (dark red; the colour bar is in metres). The robot fills only the top of that scale: its nearer parts are yellow to orange, its farther parts red. Pixels that hit no robot have no depth and are grey; the line printed below gives the range.", "name": "fig-render"}}
scene = posed_scene("kuka_kr16", [0.3, -0.6, 0.4, 0.5, 0.8, 0.0], radius=3.5,
                    inclination=1.1, azimuth=0.6, height=H, width=W, seed=1)
sample = render_scenes("kuka_kr16", [scene], params_for("kuka_kr16"))[0]
plot_scene_panels(sample, size=4.75)
plt.show()
print(f"depth of the robot's pixels: {sample.depth[sample.depth > 0].min():.2f} .. "
      f"{sample.depth.max():.2f} m")

# %% [markdown]
# ### Robots from their URDF meshes
#
# Primitives are cheap, but they are not the arm a camera sees: the paper rendered CAD
# shapes. Robot makers publish their arms as a URDF file (links, joints, limits) with one
# mesh per link. The library reads a URDF (`robotpose_lib.urdf`, with yourdfpy and
# trimesh) and runs the forward kinematics over its joint tree in PyTorch. Each mesh is
# simplified once to a triangle budget (*decimation*: at most 800 triangles per Panda link;
# `python -m robotpose_lib.bench.meshes` measures how closely the silhouettes of each
# budget match the full meshes'), and the triangles are ray-cast in the same pass as the primitives
# (`render(..., triangles=...)`). Depth stays exact: the ray of pixel $(u, v)$ is
# $K^{-1}[u, v, 1]^T$, whose $z$ is 1, so a hit at $t$ times that ray has camera $z = t$:
# the depth is the ray parameter itself. Three arms ship with their meshes: the Panda
# (`panda`, with the same 7 keypoints of DREAM as `panda_primitive` above; the shipped
# Panda models of chapters 2, 4 and 5 were trained on it last), the KUKA LBR iiwa and the UFACTORY xArm6 (a keypoint at the
# base and at each joint's link). The industrial arm of
# the later chapters, the KR 16, stays a primitive robot: no URDF with its meshes comes
# with the packages this book installs. The figure shows the Panda both ways, at the same
# joint angles and camera, and the two mesh arms beside them.

# %% mystnb={"figure": {"caption": "Top: the Panda drawn from primitives fitted to its collision meshes (left) and from its URDF meshes (middle), at the same joint angles and camera, both in white shells with a highlight, on plain grey; right: where their silhouettes differ (red: primitives only, blue: meshes only, grey: both). Bottom: the two other arms that ship with their meshes, in their URDF colours. Each panel is cropped to its robots (the three Panda panels to the same window).", "name": "fig-mesh-robots"}}
q_show = [0.4, -0.3, 0.2, -2.0, 0.3, 1.9, 0.6]
view = dict(radius=1.15, inclination=1.15, azimuth=0.9, height=H, width=W, seed=2)
white = dict(realistic_material_probability=1.0, dark_link_probability=0.0,
             specular_range=(0.3, 0.3), noise_amplitude=(0.0, 0.0))
shown_robots = {}
for name in ("panda_primitive", "panda"):
    look = params_for(name, **white)
    scene = posed_scene(name, q_show, params=look, **view)
    shown_robots[name] = render_scenes(name, [scene], look)[0]
prim_mask = shown_robots["panda_primitive"].masks.any(0)
mesh_mask = shown_robots["panda"].masks.any(0)
others = []
for name, q in (("kuka_iiwa", [0.5, 0.6, -0.3, -1.1, 0.4, 0.8, 0.0]),
                ("xarm6", [0.5, -0.4, -0.6, 0.3, 0.9, 0.0])):
    own = params_for(name, urdf_color_probability=1.0, noise_amplitude=(0.0, 0.0))
    scene = posed_scene(name, q, params=own, **dict(view, radius=1.4, inclination=1.1))
    arm = render_scenes(name, [scene], own)[0]
    others.append(crop_to_robots(viz.robots_on_grey(arm), arm.masks))
pandas = [viz.robots_on_grey(shown_robots["panda_primitive"]),
          viz.robots_on_grey(shown_robots["panda"]),
          viz.silhouette_difference(prim_mask, mesh_mask)]
# the three Panda panels share one window, around both silhouettes
panels = [crop_to_robots(p, prim_mask | mesh_mask) for p in pandas] + others
robot_panels(panels, cols=3, size=4.0,
             titles=["panda_primitive (primitives)", "panda (URDF meshes)",
                     "silhouette difference", "kuka_iiwa (URDF colours)",
                     "xarm6 (URDF colours)"])
plt.show()
iou_shapes = (prim_mask & mesh_mask).sum() / max((prim_mask | mesh_mask).sum(), 1)
print(f"silhouette IoU, primitives vs meshes: {iou_shapes:.2f}")

# %% tags=["remove-input"]
from robotpose_lib.narration import describe_mesh_agreement

# pybullet: measured with the verdict at the top of the chapter
display(Markdown(describe_mesh_agreement(
    iou_shapes, int((prim_mask ^ mesh_mask).sum()), int((prim_mask | mesh_mask).sum()),
    pybullet, views=PYBULLET_VIEWS)))

# %% [markdown]
# ## The paper's randomisation
#
# Every draw of §III-A is a named parameter of `SynthParams`; its default is the paper's
# value where the paper gives one, else ours:
#
# | paper | parameter | default | from |
# |---|---|---|---|
# | robot visibility $v_r \sim \mathrm{Bernoulli}(\theta_{vr})$ | `theta_vr` | 0.75 | the paper (§IV-A) |
# | colour from $n_{color}$ hues linearly spaced in HSV (hue, saturation, value), per robot or per link | `n_color` | 400 | the paper (§IV-A) |
# | camera on a hemisphere, radius $c_r \sim U(0, r_{max})$ | `r_max` | 10 m | the paper (§IV-A) |
# | joint angles $\alpha_j \sim U(-\pi/2, \pi/2)$ | `joint_range` | robot's own range (the industrial arm: $\pm\pi/2$ within its limits) | the paper (§III-A), within each robot's limits (ours) |
# | background photo, randomly scaled and cropped | `background` | train photos + textures | ours (the paper used two collections of city and industrial photos, §IV-A) |
# | noise amplitude $a \sim U(0, 30)$, in grey levels of 0-255 | `noise_amplitude` | (0, 30) | the paper (§III-A) |
#
# Where the paper leaves a range degenerate we add a floor, `r_min` (a camera radius of 0
# puts the camera at the scene's centre, among the robots), and per-robot *presets* set
# ranges that suit the robot's size.

# %% tags=["remove-input"]
from robotpose_lib.narration import describe_scene_presets
from robotpose_lib.synth import SCENE_PRESETS, SynthParams

display(Markdown(describe_scene_presets(SCENE_PRESETS, SynthParams().r_min)))

# %% [markdown]
# {numref}`fig-random-scenes` shows random training
# scenes, like the paper's Fig. 3, with each robot's projected joints drawn on top (a
# hollow dot, white inside: a joint hidden from the camera; joints outside the frame are
# not drawn).

# %% mystnb={"figure": {"caption": "Random training scenes of the paper's randomisation (its Fig. 3): the industrial arm in the first two rows, the Panda in the last two; titles give the number of robots and the noise amplitude a. Each scene is cut to its robots and enlarged at most 2.5 times (scenes without robots whole).", "name": "fig-random-scenes"}}
scenes = [s for name in ("kuka_kr16", "panda")
          for s in generate(name, seed=0, indices=range(8), height=H, width=W)]
robot_panels([scene_thumbnail(s, max_zoom=2.5) for s in scenes], cols=4, size=2.5,
             fontsize=12,
             titles=[f"{s.num_robots} robot{'s' * (s.num_robots != 1)}, "
                     f"a = {s.meta['noise_amplitude']:.0f}" for s in scenes])
plt.show()

# %% [markdown]
# ### One parameter at a time
#
# To see what each draw does, we fix a scene and change one parameter per row
# ({numref}`fig-one-parameter`): the noise amplitude, the camera radius, colouring per robot
# versus per link, and the background source.

# %% mystnb={"figure": {"caption": "One parameter at a time, on the same scene: noise amplitude, camera radius, colouring per robot or per link, and the background source (procedural textures, training photos, test photos; the two photo sets share no photo). The noise panels show a window a quarter of the image's size around a robot, enlarged 4x, so that the per-pixel noise shows. The panel 'per link (other draw)' is another scene (another seed, so other poses and another background), to show a second draw of link colours.", "name": "fig-one-parameter"}}
base = params_for("kuka_kr16", min_robots=2, max_robots=2, theta_vr=1.0)
rows = {
    "noise a": [base.replace(noise_amplitude=(a, a)) for a in (0, 15, 30)],
    "camera radius": [base.replace(r_min=r, r_max=r) for r in (4.0, 6.5, 10.0)],
    "colours": [base.replace(per_link_color_probability=p) for p in (0.0, 1.0, 1.0)],
}
from robotpose_lib.backgrounds import BackgroundPool
from robotpose_lib.viz.synthetic import zoom_on_robot

rows["background"] = [base.replace(
                          background=BackgroundPool(photo_probability=p, split=s))
                      for p, s in ((0.0, "train"), (1.0, "train"), (1.0, "test"))]
labels = {"noise a": ["a = 0", "a = 15", "a = 30"],
          "camera radius": ["4 m", "6.5 m", "10 m"],
          "colours": ["per robot", "per link", "per link (other draw)"],
          "background": ["procedural", "train photos", "test photos"]}
images, titles = [], []
for row, params in rows.items():
    for k, p in enumerate(params):
        seed_index = 2 if row == "colours" and k == 2 else 1
        sample = generate("kuka_kr16", seed=seed_index, indices=[4], height=H, width=W,
                          params=p)[0]
        if row == "noise a":  # per-pixel noise: shown 4x enlarged around a robot
            images.append(zoom_on_robot(sample.image, sample.masks, factor=4))
            titles.append(f"{row}: {labels[row][k]} (4x zoom)")
        else:
            images.append(sample.image)
            titles.append(f"{row}: {labels[row][k]}")
viz.image_grid(images, cols=3, titles=titles)
plt.show()

# %% [markdown]
# ### The two photo sets
#
# The paper trained on city photos and tested on industrial ones, so that a test score
# says something about backgrounds the network has never seen. Ours do the same with
# photos that ship with the code ({numref}`fig-photo-sets`): the training set is
# scikit-image's sample images (portraits, a rocket, coins, textures), the test set indoor,
# workshop and street-side scenes, the kind of place a robot arm stands in (offices, desks,
# a lab, a circuit board, a potted plant on a cloth, a building's front, and a motorcycle
# in a lab, which appears twice: both views of a stereo pair). Every photo is randomly
# scaled and cropped for each scene, and a share of the backgrounds are procedural
# textures instead. Four other scikit-image pictures (a cat, a colour wheel, a retina and a
# text page), with the test set's motorcycle, are the backgrounds of a few comparisons
# in chapter 7, which says so.

# %% tags=["hide-input"] mystnb={"figure": {"caption": "The packaged background photos, each shrunk to a thumbnail: the training set (scikit-image's sample images) and the test set (indoor, workshop and street-side scenes; the motorcycle appears twice: both views of a stereo pair; `robotpose_lib/photos/README.md` gives each one's origin and licence). The fixed synthetic test set that the chapters evaluate on uses only the test set (a few comparisons in chapter 7 used other pictures, and say so).", "name": "fig-photo-sets"}}
from robotpose_lib.backgrounds import packaged_photos

thumbs, thumb_titles = [], []
for split in ("train", "test"):
    for photo in packaged_photos(split):
        thumbs.append(viz.fit_thumbnail(photo, 96, 128))
        thumb_titles.append(split)
viz.image_grid(thumbs, cols=6, titles=thumb_titles, size=1.5)
plt.show()

# %% [markdown]
# ### What the training distribution looks like
#
# Statistics over many random scenes tell us what the networks will see
# ({numref}`fig-distribution`): how many robots per image, how many joints are visible, and
# how far the robots are from the camera (the paper splits its depth errors at 5 m into
# *near* and *far*).

# %% mystnb={"figure": {"caption": "The training distribution of each robot's preset, as histograms: how many scenes show 0 to 3 robots, how many robots show a given share of their joints, and how many joints lie at a given depth.", "name": "fig-distribution"}}
N_STATS = config.pick(24, 200)
stats = {name: scene_statistics(generate(name, seed=123, indices=range(N_STATS),
                                         height=H, width=W))
         for name in TRAINED}
plot_training_distribution(stats)
plt.show()

# %% tags=["hide-input"]
from robotpose_lib.narration import describe_training_distribution

from robotpose_lib.eval.testset import robot_count_shares

display(Markdown(describe_training_distribution(
    {name: st["robots"] for name, st in stats.items()},
    {name: st["depth"] for name, st in stats.items()},
    # what the parameters draw on average (no rendering: fast)
    averages={name: robot_count_shares(name) for name in stats})))

# %% [markdown]
# Only the industrial arm reaches the paper's far range (beyond 5 m), and the Panda stays
# in the near part: every far-range figure of this book is the industrial arm's.
#
# ## Explore: joint angles and camera
#
# With a running kernel, the sliders below re-render the scene. In the static HTML book
# there is no kernel, so the animation after it shows the same exploration as precomputed
# frames: the camera circles the robot while one joint sweeps.

# %%
import ipywidgets as widgets

robot_kr = get_robot("kuka_kr16")
sliders = {f"q{j + 1}": widgets.FloatSlider(value=0.3, min=-math.pi / 2,
                                            max=math.pi / 2, step=0.05,
                                            description=f"joint {j + 1}")
           for j in range(robot_kr.dof)}
camera_sliders = {
    "azimuth": widgets.FloatSlider(value=0.6, min=0, max=2 * math.pi, step=0.05,
                                   description="azimuth"),
    "inclination": widgets.FloatSlider(value=1.1, min=0.05, max=math.pi / 2, step=0.05,
                                       description="inclination"),
    "radius": widgets.FloatSlider(value=5.0, min=2.5, max=10.0, step=0.1,
                                  description="radius [m]"),
}


def show_posed(azimuth, inclination, radius, **q):
    plot_posed("kuka_kr16", [q[f"q{j + 1}"] for j in range(robot_kr.dof)], radius,
               inclination, azimuth, size=(H, W), seed=3)


from robotpose_lib.widgets import panel_controls

_, show_figure = panel_controls(show_posed, **camera_sliders, **sliders)

# %% tags=["hide-input"] mystnb={"figure": {"caption": "The posed industrial arm at the controls' first setting (with a running kernel, the controls above redraw it): the image with its joints, and its depth (colour bar in metres), both cropped to the robot (the title gives the enlargement).", "name": "fig-pose-panel"}}
show_figure()

# %% mystnb={"figure": {"caption": "The exploration as an animation (use the controls): the camera circles the industrial arm while its second joint sweeps; every frame is cropped to the same window around the arm.", "name": "fig-animation"}}
n_frames = config.pick(6, 24)
samples = []
for k in range(n_frames):
    t = k / n_frames
    q = [0.3, -0.6 + 0.8 * math.sin(2 * math.pi * t), 0.4, 0.5, 0.8, 0.0]
    scene = posed_scene("kuka_kr16", q, 5.0, 1.1, 2 * math.pi * t, height=H, width=W,
                        seed=3)
    samples.append(render_scenes("kuka_kr16", [scene], params_for("kuka_kr16"))[0])
# one window around the arm in every frame (as Fig. 1.9): it fills the frame, no jumps
display(HTML(viz.animation_html(viz.window_frames(samples))))

# %% [markdown]
# ## Datasets: on the fly and on disk
#
# `SyntheticDataset(robot, n, size, seed)` renders sample *i* from the pair *(seed, i)*
# alone, so it returns the same bytes on every call, in every DataLoader worker, and
# whether scenes are rendered one by one or in a batch. A test set is simply another seed
# (with the *test* background photos, which share no photo with the training ones, as the
# paper trained on city photos and tested on industrial ones: ours train on scikit-image's
# sample images and test on indoor, workshop and street-side scenes).
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
    same = all(ds[i].image.tobytes() == disk[i].image.tobytes()
               for i in range(len(ds)))
    print("written files:", sorted(p.name for p in Path(tmp).iterdir()))
    print("on-disk samples identical to the rendered ones:", same)
    print("annotation arrays of sample 0 (name: shape):")
    for field, array in disk[0].annotations().items():
        print(f"  {field}: {tuple(array.shape)}")

# %% [markdown]
# ### How fast is it?
#
# Training renders on the fly, so the generator must keep up with the network. A short
# measurement on the computer that built this page (the full benchmark, `robotpose bench synth`, compares with
# pybullet's CPU renderer in the same run):

# %%
from robotpose_lib.bench.runtime import cpu_model
from robotpose_lib.bench.synth import synth_throughput
from robotpose_lib.narration import describe_render_rates

n_bench = config.pick(8, 48)
rates = {name: synth_throughput(name, n_bench, 480, 640, batch=8)
         for name in TRAINED + ("panda_primitive",)}
threads = torch.get_num_threads()
display(Markdown(describe_render_rates(rates, n_bench, threads, batch=8,
                                       cpu=cpu_model())))

# %% [markdown]
# ## Your own robot
#
# Everything above works for any arm with a URDF. A small *robot spec* says what the URDF
# does not: which links are the keypoints (DREAM's convention: a keypoint is a link frame's
# origin), where joint angles are drawn, joints held fixed (a gripper), and the triangle
# budget; without one, every actuated joint's child link is a keypoint and angles are drawn
# within the joint limits. From the command line the same steps are
# `robotpose robots --urdf my_arm.urdf [--spec my_arm.robot.json]` (check that it loads
# and list its keypoints; a `my_arm.robot.json` beside the URDF is read by default),
# `robotpose synth --urdf my_arm.urdf --n 1000 --out data/my_arm` and
# `robotpose train localization --config cpu --urdf my_arm.urdf --out runs/my_arm`.
#
# Here the iiwa's URDF stands in for yours. `load_urdf_robot` reads it with a spec of our
# own and registers the robot under the spec's name, so every function that takes a robot
# name (`generate`, `params_for`, `SyntheticDataset`, training) accepts `"my_arm"`. Then we
# render samples with the `dream` recipe (a named set of `SynthParams`: chapter 5's
# sim-to-real cameras, clutter and degradations, plus the robot's own colours and textures
# fixed to its links, after DREAM) and train the tiny `quick` localization model of
# chapter 2 on them for a short while. The printed *reach* is the farthest any point of
# the meshes gets from the base origin over random joint angles (it frames the cameras).

# %%
from robotpose_lib.robots import load_urdf_robot, shipped_urdf
from robotpose_lib.urdf import RobotSpec

urdf_path, _ = shipped_urdf("kuka_iiwa")  # stands in for your robot's URDF path
links = ["lbr_iiwa_link_0", "lbr_iiwa_link_2", "lbr_iiwa_link_4", "lbr_iiwa_link_6",
         "lbr_iiwa_link_7"]
ranges = {f"lbr_iiwa_joint_{i}": (-1.2, 1.2) for i in range(1, 8)}
my_spec = RobotSpec(name="my_arm", keypoint_links=links, sample_range=ranges)
my_arm = load_urdf_robot(urdf_path, my_spec)
print(f"{my_arm.name}: {my_arm.dof} joints, {my_arm.num_triangles} triangles, "
      f"reach {my_arm.reach:.2f} m")
print("keypoints:", ", ".join(my_arm.keypoint_names))

# %% mystnb={"figure": {"caption": "Training samples of the registered arm (the 'dream' recipe: cameras close and aimed off-centre, flying distractor shapes, photo patches, sometimes its URDF colours or textures fixed to its links). Its five keypoints are drawn as chains, one colour per robot; hollow dots are keypoints hidden from the camera (keypoints outside the frame are not drawn). A scene may show no robot at all (robots are hidden at random or fall outside the view), as in training.", "name": "fig-own-robot"}}
my_samples = generate("my_arm", 0, range(6), H, W, params_for("my_arm", "dream"))
viz.image_grid([viz.draw_sample(s) for s in my_samples], cols=3, size=3.6)
plt.show()

# %% mystnb={"figure": {"caption": "A short run of the quick localization model on the registered arm (200 steps in the full build): the loss of each of the model's stages (chapter 2 explains stages and eq. 1) against the step, one batch's loss every 5 steps. Far too short for the loss to fall: a demonstration of the mechanics, not a trained model.", "name": "fig-own-robot-training"}}
import tempfile

from robotpose_lib.checkpoint import load_checkpoint
from robotpose_lib.data import SyntheticDataset
from robotpose_lib.tasks import localization_task
from robotpose_lib.train import TrainSettings, train
from robotpose_lib.viz.training import plot_loss_curves

own_task = localization_task("quick", "my_arm")
own_steps = config.pick(10, 200)
own_data = SyntheticDataset("my_arm", own_steps * 4, size=own_task.input_size, seed=5,
                            params=params_for("my_arm", "dream"))
own_dir = Path(tempfile.mkdtemp(prefix="robotpose_ch1_"))
settings = TrainSettings(steps=own_steps, batch_size=4, ckpt_every=own_steps,
                         log_every=5, num_workers=0, threads=1)
own_run = train(own_task, own_data, own_dir, settings)
ax = plot_loss_curves(own_dir)
ax.figure.set_size_inches(8, 3)
ax.set_title(f"my_arm: quick localization model, {own_run['step']} steps", fontsize=9)
plt.show()
print(f"{own_run['step']} steps of 4 scenes in {own_run['seconds']:.0f} s")
source = load_checkpoint(own_dir / "checkpoint.pt")["robot_source"]
urdf_name = Path(source["urdf"]).name
links = len(source["spec"]["keypoint_links"])
print(f"the checkpoint records its robot's source, {urdf_name} and a spec with")
print(f"{links} keypoint links: Predictor.load and robotpose predict rebuild it")

# %% [markdown]
# ## What differs from the paper
#
# * A PyTorch ray caster instead of Blender. The industrial arm's reference models were
#   trained on a robot drawn from primitives (capsules, cylinders, boxes from datasheet
#   proportions), as were the Panda's recurrent instance model and the models the shipped
#   Panda model continued from (`panda_primitive`, fitted to the real collision meshes).
#   The shipped Panda models were trained last on robots from URDF meshes (`panda`;
#   `kuka_iiwa`, `xarm6` or your own render the same way), closer to the paper's CAD
#   renders.
# * The camera radius has a floor (`r_min`) and the camera stays on the upper hemisphere.
# * The vertical field of view varies (45 to 60 degrees) so that the depth coding of chapter 2 can be
#   tested across focal lengths.
# * Background photos are small sets that ship with the code, plus procedural textures,
#   plus any folder you point `BackgroundPool(folders=...)` at: training on scikit-image's
#   sample images (portraits, textures, a rocket, coins), testing on indoor, workshop and
#   street-side scenes (offices, desks, a lab, a circuit board, a potted plant, a
#   building's front, a motorcycle in both views of a stereo pair).
#   `robotpose_lib/photos/README.md` gives each test photo's origin and licence; the
#   training photos' licences are in their scikit-image docstrings (public domain or CC0).
#
# ## Summary
#
# * Rendering gives exact labels for free: masks, depth and every joint in 2D and 3D.
# * A robot is a kinematic chain plus simple geometry; the Panda's kinematic chain
#   projects onto real photographs where the arm is (the photo check above).
# * The paper's randomisation varies everything but the robot's shape: colours, cameras,
#   backgrounds, noise; a test set is the same generator with its own seed and its own
#   background photos.
# * The generator is deterministic per *(seed, i)* and fast enough to train from on the fly.
#
# ## Exercises
#
# 1. Render the grid of {numref}`fig-random-scenes` with `params_for("panda", theta_vr=0.3)`:
#    expect more scenes with fewer robots (each robot is kept with probability
#    $\theta_{vr}$), some with none at all.
# 2. Set `noise_amplitude=(30, 30)` and look at a few scenes: the robot is still easy to see
#    for you; chapter 2's network must learn to see it too.
# 3. Add a folder of your own photos with `BackgroundPool(folders=["my_photos"])` and
#    render with it: expect scenes that look like your workspace. Chapter 5 measures
#    whether a real background costs a model trained on other backgrounds anything.
