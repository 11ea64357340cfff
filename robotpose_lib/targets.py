"""Training targets of the localization network (paper section III-B, eqs. 1-2).

From a :class:`~robotpose_lib.types.Sample` we build, at the network's input resolution:

- belief maps B (J, H, W): a Gaussian of std ``sigma`` pixels around every joint, max over
  robots. Which joints get a Gaussian is ``TargetParams.joints``; the default "in_frame"
  draws every joint whose projection lies inside the image, occluded or not, because the
  kinematic chain needs all joints and the network can infer a hidden joint from the
  visible links (DREAM does the same). "visible" uses ``Sample.visibility``; "all" also
  draws the tails of joints just outside the frame.
- encoded depth D (1, H, W): a disc of constant depth centred at each joint (the paper's
  words under eq. 2): inside the weight region, the pixel takes the depth Z of the joint
  whose Gaussian is largest there (the nearest joint, since all share one sigma), encoded
  as inverse depth D = a / Z' + b in [0, 1] (see :class:`DepthCoding`); 0 elsewhere.
- weights W (1, H, W): 1 where max_j B_jp >= phi (eq. 2), else 0.

Depth stays metric across focal lengths: the network sees an object of size s at depth Z
through a camera of focal length f as f * s / Z pixels, so it can only know Z / f. We
therefore encode Z' = Z * f_ref / f_x (f_ref = ``fx_over_width_ref`` * W at the input
resolution) and multiply back by f_x / f_ref when decoding. Two cameras that produce the
same image (Z, f) and (2Z, 2f) get the same target; each decodes to its own metric depth.
"""
from __future__ import annotations

import math

from dataclasses import asdict, dataclass, field

import cv2
import numpy as np
import torch

from .camera import rescale_pixels, scale_intrinsics
from .robots import get_robot
from .types import Sample

# Ranges of the focal-normalised depth Z' (metres) per robot: the 0-100th percentiles of
# joint depth in 40 synthetic scenes were panda 0.38-3.75 m, kuka_kr16 0.95-10.5 m, and
# Z' = Z * 0.76 / (f_x / W) with f_x / W in 0.65-0.90 (synth.py's 45-60 degree fov),
# plus a margin. A narrow range spends the [0, 1] output on depths that occur.
DEPTH_RANGES = {"panda_primitive": (0.3, 5.0), "kuka_kr16": (0.8, 13.0), "panda": (0.3, 5.0)}


@dataclass
class DepthCoding:
    """Depth code D in [0, 1] of Z' in [z_min, z_max], D(z_min) = 1, D(z_max) = 0.

    ``kind="inverse"`` (the paper, III-B): D = a / Z' + b with a = 1 / (1 / z_min - 1 / z_max),
    b = -a / z_max. ``kind="log"`` (ours): D = log(z_max / Z') / log(z_max / z_min).

    Why "log": with the paper's squared error on D, an error dZ at depth Z costs
    (a dZ / Z^2)^2, so over the 0-10 m scenes of ``kuka_kr16`` a metre of error at 10 m
    costs 10^4 times less than at 1 m, and the far joints of Table I are barely trained
    (``scripts/depth_diagnosis.py``: the far error of the session-2 model equals the
    median-depth baseline's). With the log code the cost is (dZ / Z)^2 / log(z_max/z_min)^2:
    the same relative error costs the same at every depth, as apparent size (the cue the
    network has) gives depth to a constant relative precision.

    Values outside the range are clamped. Z' = Z * (fx_over_width_ref * width) / f_x is the
    depth normalised to a reference focal length (module docstring).

    Attributes:
        z_min, z_max: metres.
        fx_over_width_ref: reference focal length as a fraction of the image width (0.76 is
            the middle of the synthetic cameras' 45-60 degree vertical field of view).
        kind: "inverse" (paper) or "log".
    """

    z_min: float = 0.5
    z_max: float = 10.0
    fx_over_width_ref: float = 0.76
    kind: str = "inverse"

    KINDS = ("inverse", "log")

    def __post_init__(self):
        if not 0 < self.z_min < self.z_max:
            raise ValueError(f"DepthCoding: need 0 < z_min < z_max, got {self.z_min}, {self.z_max}")
        if self.kind not in self.KINDS:
            raise ValueError(f"DepthCoding.kind: expected one of {self.KINDS}, got {self.kind!r}")

    @property
    def a(self) -> float:
        return 1.0 / (1.0 / self.z_min - 1.0 / self.z_max)

    @property
    def b(self) -> float:
        return -self.a / self.z_max

    def _focal_ratio(self, fx, width: int):
        """f_ref / f_x (scalar or broadcastable array/tensor)."""
        return self.fx_over_width_ref * width / fx

    def encode(self, z, fx, width: int):
        """Metric depth z (metres, array or tensor) -> D in [0, 1] for a camera with focal
        length fx (pixels) at image width ``width`` (pixels)."""
        z_ref = z * self._focal_ratio(fx, width)
        lib = torch if isinstance(z_ref, torch.Tensor) else np
        z_ref = lib.clip(z_ref, self.z_min, self.z_max)
        if self.kind == "log":
            return lib.log(self.z_max / z_ref) / math.log(self.z_max / self.z_min)
        return self.a / z_ref + self.b

    def decode(self, d, fx, width: int):
        """D (array or tensor, clamped to [0, 1]) -> metric depth in metres."""
        lib = torch if isinstance(d, torch.Tensor) else np
        d = lib.clip(d, 0.0, 1.0)
        if self.kind == "log":
            z_ref = self.z_max * lib.exp(-d * math.log(self.z_max / self.z_min))
        else:
            z_ref = self.a / (d - self.b)
        return z_ref / self._focal_ratio(fx, width)


def depth_coding_for(robot: str, **overrides) -> DepthCoding:
    """The default :class:`DepthCoding` for a robot's synthetic depth range
    (:data:`DEPTH_RANGES`; another mesh robot: 0.2 to 4 reaches, around its scene preset's
    cameras at 0.4 to 2.5 reaches; else 0.5 to 10 m)."""
    if robot in DEPTH_RANGES:
        z_min, z_max = DEPTH_RANGES[robot]
    elif robot != "toy" and get_robot(robot).kind == "mesh":
        reach = get_robot(robot).reach
        z_min, z_max = round(0.2 * reach, 3), round(4.0 * reach, 3)
    else:
        z_min, z_max = 0.5, 10.0
    return DepthCoding(**{"z_min": z_min, "z_max": z_max, **overrides})


@dataclass
class TargetParams:
    """Target construction parameters (paper III-B).

    Attributes:
        sigma: std of the belief Gaussians in pixels at the target resolution.
        phi: weight threshold of eq. 2 (discs of radius sigma * sqrt(2 ln(1 / phi))).
        joints: which joints get a Gaussian: "in_frame", "visible" or "all".
        depth: the inverse depth coding.
    """

    sigma: float = 4.0
    phi: float = 0.3
    joints: str = "in_frame"
    depth: DepthCoding = field(default_factory=DepthCoding)

    def __post_init__(self):
        if self.joints not in ("in_frame", "visible", "all"):
            raise ValueError(f"TargetParams.joints: expected in_frame/visible/all, got {self.joints!r}")
        if self.sigma <= 0 or not 0 < self.phi < 1:
            raise ValueError(f"TargetParams: need sigma > 0 and 0 < phi < 1, got {self.sigma}, {self.phi}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TargetParams":
        d = dict(d)
        d["depth"] = DepthCoding(**d.get("depth", {}))
        return cls(**d)


def _selected_joints(sample: Sample, height: int, width: int, mode: str) -> np.ndarray:
    """bool (R, J): joints that get a Gaussian and a depth disc."""
    uv = sample.joints_2d
    in_front = sample.joints_3d[..., 2] > 0
    if mode == "all":
        return in_front
    if mode == "visible":
        return in_front & sample.visibility.astype(bool)
    inside = (uv[..., 0] >= -0.5) & (uv[..., 0] < width - 0.5) & \
             (uv[..., 1] >= -0.5) & (uv[..., 1] < height - 0.5)
    return in_front & inside


def make_targets(sample: Sample, output_size: tuple[int, int] | None = None,
                 params: TargetParams | None = None) -> dict[str, np.ndarray]:
    """Belief, depth and weight targets of one sample.

    The sample's joints and K must already be at ``output_size`` (use
    :func:`resize_sample`); by default output_size is the sample's image size.

    Returns:
        dict with "beliefs" float32 (J, H, W) in [0, 1], "depth" float32 (1, H, W) encoded
        inverse depth (0 outside the weight region), "weight" float32 (1, H, W) in {0, 1}.
    """
    params = params or TargetParams()
    H, W = output_size or sample.size
    R, J = sample.joints_2d.shape[:2]
    beliefs = np.zeros((J, H, W), np.float32)
    depth = np.zeros((1, H, W), np.float32)
    best = np.zeros((H, W), np.float32)  # largest Gaussian value at each pixel so far
    selected = _selected_joints(sample, H, W, params.joints)
    fx = float(sample.K[0, 0])
    xs, ys = np.arange(W, dtype=np.float32), np.arange(H, dtype=np.float32)
    inv = -0.5 / params.sigma ** 2
    for r in range(R):
        for j in range(J):
            if not selected[r, j]:
                continue
            u, v = sample.joints_2d[r, j]
            # Separable Gaussian: exp(-(dx^2 + dy^2) / 2s^2) = gy * gx.
            g = np.exp(inv * (ys - v) ** 2)[:, None] * np.exp(inv * (xs - u) ** 2)[None, :]
            np.maximum(beliefs[j], g, out=beliefs[j])
            closer = g > best
            d = params.depth.encode(float(sample.joints_3d[r, j, 2]), fx, W)
            depth[0][closer] = d
            best[closer] = g[closer]
    weight = (beliefs.max(axis=0, initial=0.0) >= params.phi).astype(np.float32)[None]
    depth *= weight
    return {"beliefs": beliefs, "depth": depth, "weight": weight}


def resize_sample(sample: Sample, size: tuple[int, int]) -> Sample:
    """A copy of ``sample`` with image, masks, depth and link ids resized to (H, W) and the
    2D joints and K scaled to match (pixel centres map to pixel centres:
    :func:`camera.rescale_pixels`, :func:`camera.scale_intrinsics`, in the sample's dtype)."""
    H, W = size
    h0, w0 = sample.size
    if (H, W) == (h0, w0):
        return sample
    sx, sy = W / w0, H / h0
    interp = cv2.INTER_AREA if sx < 1 and sy < 1 else cv2.INTER_LINEAR
    image = cv2.resize(sample.image, (W, H), interpolation=interp)
    masks = np.stack([cv2.resize(m.astype(np.uint8), (W, H), interpolation=cv2.INTER_NEAREST)
                      for m in sample.masks]).astype(bool) if len(sample.masks) else \
        np.zeros((0, H, W), bool)
    depth = cv2.resize(sample.depth, (W, H), interpolation=cv2.INTER_NEAREST)
    link_ids = None if sample.link_ids is None else cv2.resize(
        sample.link_ids, (W, H), interpolation=cv2.INTER_NEAREST)
    joints_2d = rescale_pixels(sample.joints_2d, sx, sy, dtype=sample.joints_2d.dtype)
    K = scale_intrinsics(sample.K, sx, sy, dtype=sample.K.dtype)
    return Sample(image=image, masks=masks, depth=depth, joints_2d=joints_2d,
                  joints_3d=sample.joints_3d, visibility=sample.visibility, K=K,
                  joint_angles=sample.joint_angles, base_poses=sample.base_poses,
                  camera_pose=sample.camera_pose, robot=sample.robot, link_ids=link_ids,
                  meta=dict(sample.meta))


def image_to_tensor(image: np.ndarray) -> torch.Tensor:
    """uint8 (H, W, 3) -> float (3, H, W) in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float().div_(255.0)


class LocalizationCollate:
    """Collate function: list of Samples -> batch dict at the model's input size.

    Picklable, so DataLoader workers run it (rendering + targets happen in the workers).

    Returns dict with "images" float (B, 3, H, W) in [0, 1], "beliefs" (B, J, H, W),
    "depth" (B, 1, H, W), "weight" (B, 1, H, W), "K" float (B, 3, 3) at the input size.
    """

    def __init__(self, input_size: tuple[int, int], params: TargetParams):
        self.input_size = tuple(input_size)
        self.params = params

    def __call__(self, samples: list[Sample]) -> dict[str, torch.Tensor]:
        if not samples:
            raise ValueError("samples: empty batch")
        out: dict[str, list] = {"images": [], "beliefs": [], "depth": [], "weight": [], "K": []}
        for s in samples:
            s = resize_sample(s, self.input_size)
            t = make_targets(s, self.input_size, self.params)
            out["images"].append(image_to_tensor(s.image))
            for k in ("beliefs", "depth", "weight"):
                out[k].append(torch.from_numpy(t[k]))
            out["K"].append(torch.from_numpy(np.asarray(s.K, np.float32)))
        return {k: torch.stack(v) for k, v in out.items()}
