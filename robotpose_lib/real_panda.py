"""Read the small set of real, calibrated Panda photographs that sits beside the
repository (``../shared/data/real_panda_dev``; MIT licence, never copied into the tree).

Ground-truth keypoints are our forward kinematics of the measured joint angles, moved into
the camera frame with the calibrated extrinsics and projected with the intrinsics.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from .fileio import inside, write_atomic
from .robots import get_robot

ENV_VAR = "ROBOTPOSE_REAL_PANDA"


@dataclass
class RealPhoto:
    """One photograph: image uint8 (H, W, 3) RGB, K (3, 3), T_cam_base (4, 4),
    joint_angles (7,), joints_3d (J, 3) camera frame metres, joints_2d (J, 2) pixels."""

    name: str
    image: np.ndarray
    K: np.ndarray
    T_cam_base: np.ndarray
    joint_angles: np.ndarray
    joints_3d: np.ndarray
    joints_2d: np.ndarray


def find_real_panda_dir(start: str | Path | None = None) -> Path | None:
    """The folder from $ROBOTPOSE_REAL_PANDA, else ``shared/data/real_panda_dev`` beside any
    parent of ``start`` (default: this file); None when absent."""
    if os.environ.get(ENV_VAR):
        p = Path(os.environ[ENV_VAR])
        return p if (p / "info.json").exists() else None
    here = Path(start or __file__).resolve()
    for parent in [here, *here.parents]:
        for candidate in (parent / "shared" / "data" / "real_panda_dev",
                          parent.parent / "shared" / "data" / "real_panda_dev"):
            if (candidate / "info.json").exists():
                return candidate
    return None


# The full public episode the dev photos are sampled from (MIT licence, (c) 2024 Tristin
# Xie): github.com/tristinxie/panda_dataset, folder panda_dataset/panda_1, pinned commit.
EPISODE_REPO = "tristinxie/panda_dataset"
EPISODE_COMMIT = "8c443122572b1d6e9b268749cdafde88e813dc25"
EPISODE_FOLDER = "panda_dataset/panda_1"


def download_panda_episode(dest: str | Path, timeout: float = 30.0) -> Path:
    """Download the full episode (info.json and every frame it names) into ``dest`` for
    Colab and other machines online; files already there are kept. Offline it raises one
    ``RuntimeError`` line. A frame name in the served info.json that would leave ``dest``
    (``../x``, an absolute path) is refused with one ``ValueError`` line before anything is
    fetched; every file is written atomically.

    Returns:
        ``dest``, readable by :func:`load_real_panda`.
    """
    import urllib.request

    from tqdm import tqdm

    base = f"https://raw.githubusercontent.com/{EPISODE_REPO}/{EPISODE_COMMIT}/{EPISODE_FOLDER}"
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)

    def fetch(name: str, target: Path) -> None:
        if target.exists():
            return
        try:
            with urllib.request.urlopen(f"{base}/{name}", timeout=timeout) as response:
                data = response.read()
        except OSError as err:
            raise RuntimeError(f"could not download {base}/{name} ({err})") from None
        write_atomic(target, data)

    source = dest / "info.json"
    fetch("info.json", source)
    try:
        names = [s["img_file"] for s in json.loads(source.read_text())["steps"].values()]
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as err:
        raise ValueError(f"{source}: not the episode's info.json (no steps with img_file: {err})") from None
    targets = [inside(dest, name, source, "img_file") for name in names]  # all checked before any download
    for name, target in tqdm(list(zip(names, targets)), desc="panda_1 frames"):
        fetch(name, target)
    return dest


def load_real_panda(folder: str | Path | None = None) -> list[RealPhoto]:
    """All photographs of the folder with their ground truth; [] when it is absent.

    Raises:
        ValueError: one line naming ``info.json`` (or the image) and what is wrong with it.
        FileNotFoundError: an image that ``info.json`` names is missing.
    """
    folder = Path(folder) if folder else find_real_panda_dir()
    if folder is None or not (folder / "info.json").exists():
        return []
    source = folder / "info.json"
    try:
        info = json.loads(source.read_text())
        calibration = info["calibration_info"]
        K = np.array(calibration["intrinsic"], float)
        rvec_tvec = np.array(calibration["extrinsic"][0], float).ravel()
        steps = list(info["steps"].items())
    except json.JSONDecodeError as err:
        raise ValueError(f"{source}: not valid JSON ({err})") from None
    except (KeyError, IndexError, TypeError, AttributeError) as err:
        # a KeyError names the field; the others describe a wrong type (a list where an object belongs)
        what = f"field {err}" if isinstance(err, KeyError) else f"structure ({err})"
        raise ValueError(f"{source}: missing or malformed {what} (expected an object with "
                         f"calibration_info.intrinsic, calibration_info.extrinsic[0] and steps)") from None
    except ValueError as err:
        raise ValueError(f"{source}: calibration is not numeric ({err})") from None
    if K.shape != (3, 3):
        raise ValueError(f"{source}: intrinsic must be 3x3, got shape {K.shape}")
    if rvec_tvec.shape != (6,):
        raise ValueError(f"{source}: extrinsic[0] must be 6 numbers (rvec, tvec), got {rvec_tvec.size}")
    if not steps:
        raise ValueError(f"{source}: 'steps' is empty")
    T = np.eye(4)
    T[:3, :3] = cv2.Rodrigues(rvec_tvec[:3])[0]
    T[:3, 3] = rvec_tvec[3:]
    panda = get_robot("panda")
    photos = []
    for key, step in steps:
        try:
            name = step["img_file"]
            angles = np.asarray(step["joint_angles"], float).ravel()
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"{source}: step {key} lacks img_file or numeric joint_angles ({err})") from None
        path = inside(folder, name, source, f"step {key}: img_file")
        if angles.size < panda.dof:
            raise ValueError(f"{source}: step {key} ({path.name}) has {angles.size} joint angles, "
                             f"expected {panda.dof}")
        if not path.is_file():
            raise FileNotFoundError(f"{path}: image named in {source.name} not found")
        bgr = cv2.imread(str(path))
        if bgr is None:
            raise ValueError(f"{path}: not a readable image")
        q = angles[: panda.dof]
        kp = panda.forward_kinematics(torch.tensor(q)[None])[0][0].numpy()
        kp_cam = kp @ T[:3, :3].T + T[:3, 3]
        uv = kp_cam @ K.T
        photos.append(RealPhoto(path.stem, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), K, T, q, kp_cam,
                                uv[:, :2] / uv[:, 2:]))
    return photos


def available_photos(colab_folder: str = "data/panda_1") -> tuple[list[RealPhoto], str]:
    """(the real Panda photos, where they came from): on Colab the full episode, downloaded
    into ``colab_folder``; elsewhere, or when the download fails (said in one printed line),
    the dev sample (:func:`find_real_panda_dir`); ([], "none") without photos."""
    import sys

    if "google.colab" in sys.modules:
        try:
            return (load_real_panda(download_panda_episode(colab_folder)),
                    "full episode (downloaded)")
        except RuntimeError as err:
            print(f"download failed ({err}); trying the local sample")
    folder = find_real_panda_dir()
    if folder is None:
        return [], "none"
    return load_real_panda(folder), f"the dev sample in {folder.parent.name}/{folder.name}"
