"""Plain data containers passed between the stages of the pipeline.

Conventions (see README): camera frame as OpenCV (x right, y down, z forward), pixel
(u, v) with integer coordinates at pixel centres, metres and radians everywhere. World
frame z up. Images are uint8 HxWx3 RGB at I/O boundaries.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Names of the per-sample annotation arrays, as stored in memory and on disk.
ANNOTATION_KEYS = ("joints_2d", "joints_3d", "visibility", "K", "joint_angles", "base_poses")


@dataclass
class Sample:
    """One rendered training scene with exact ground truth.

    R is the number of *visible* robots (robots hidden by the visibility draw are not in
    the arrays), J the robot's keypoint count, H x W the image size.

    Attributes:
        image: uint8 (H, W, 3) RGB.
        masks: bool (R, H, W) instance masks, one per visible robot, in the same order as
            the other per-robot arrays.
        depth: float32 (H, W) camera z of the nearest robot surface in metres, 0 where no
            robot is hit.
        joints_2d: float32 (R, J, 2) projected keypoints (u, v) in pixels; may lie outside
            the image.
        joints_3d: float32 (R, J, 3) keypoints in the camera frame, metres.
        visibility: bool (R, J) keypoint inside the frame and not occluded.
        K: float32 (3, 3) pinhole intrinsics.
        joint_angles: float32 (R, dof) radians.
        base_poses: float32 (R, 4, 4) robot base frame -> world frame.
        camera_pose: float32 (4, 4) world frame -> camera frame (extrinsics).
        robot: name of the robot model.
        link_ids: int16 (H, W) link index of the surface hit, -1 where no robot.
        meta: free-form extras (seed, index, randomisation draws) for inspection.
    """

    image: np.ndarray
    masks: np.ndarray
    depth: np.ndarray
    joints_2d: np.ndarray
    joints_3d: np.ndarray
    visibility: np.ndarray
    K: np.ndarray
    joint_angles: np.ndarray
    base_poses: np.ndarray
    camera_pose: np.ndarray
    robot: str
    link_ids: np.ndarray | None = None
    meta: dict = field(default_factory=dict)

    @property
    def num_robots(self) -> int:
        return int(self.masks.shape[0])

    @property
    def size(self) -> tuple[int, int]:
        """(H, W) of the image."""
        return int(self.image.shape[0]), int(self.image.shape[1])

    def annotations(self) -> dict[str, np.ndarray]:
        """The annotation arrays under their canonical names (see ANNOTATION_KEYS)."""
        return {k: getattr(self, k) for k in ANNOTATION_KEYS}


@dataclass
class RobotPose:
    """One robot found in one image.

    Attributes:
        joints_2d: float32 (J, 2) pixel coordinates (u, v) in the *input* image; NaN for a
            joint that was not found.
        joints_3d: float32 (J, 3) camera-frame coordinates in metres; NaN when not found.
        joint_scores: float32 (J,) peak belief in [0, 1]; 0 when not found.
        mask: float32 (H, W) instance mask in [0, 1] at input-image resolution, or None.
        score: instance confidence in [0, 1] (mean activation of the mask).
    """

    joints_2d: np.ndarray
    joints_3d: np.ndarray
    joint_scores: np.ndarray
    mask: np.ndarray | None
    score: float
