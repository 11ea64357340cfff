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


def load_real_panda(folder: str | Path | None = None) -> list[RealPhoto]:
    """All photographs of the folder with their ground truth; [] when it is absent."""
    folder = Path(folder) if folder else find_real_panda_dir()
    if folder is None or not (folder / "info.json").exists():
        return []
    info = json.loads((folder / "info.json").read_text())
    K = np.array(info["calibration_info"]["intrinsic"], float)
    rvec_tvec = np.array(info["calibration_info"]["extrinsic"][0], float)
    T = np.eye(4)
    T[:3, :3] = cv2.Rodrigues(rvec_tvec[:3])[0]
    T[:3, 3] = rvec_tvec[3:]
    panda = get_robot("panda")
    photos = []
    for step in info["steps"].values():
        path = folder / step["img_file"]
        bgr = cv2.imread(str(path))
        if bgr is None:
            raise ValueError(f"{path}: not a readable image")
        q = np.array(step["joint_angles"][: panda.dof], float)
        kp = panda.forward_kinematics(torch.tensor(q)[None])[0][0].numpy()
        kp_cam = kp @ T[:3, :3].T + T[:3, 3]
        uv = kp_cam @ K.T
        photos.append(RealPhoto(path.stem, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), K, T, q, kp_cam,
                                uv[:, :2] / uv[:, 2:]))
    return photos
