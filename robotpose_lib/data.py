"""Datasets of synthetic samples: rendered on the fly, or written to and read from disk.

On-disk format (one folder; ``NNNNNN`` is the zero-padded sample index)::

    dataset.json          {"format": "robotpose-synth", "version": 2, "robot", "seed", "n",
                           "height", "width", "joint_names", "params"}
                          (version 1: the same, but robot "panda" was today's
                          "panda_primitive"; read with today's names, as checkpoints)
    images/NNNNNN.png     uint8 RGB image
    masks/NNNNNN.png      uint8 instance ids: 0 background, r + 1 for robot r
    annotations/NNNNNN.npz joints_2d, joints_3d, visibility, K, joint_angles, base_poses,
                           camera_pose, depth (float32 metres, 0 = no robot), link_ids

Each sample's files are written atomically (``fileio.atomic_file``: temporary name, then
rename) and the writer skips samples that are already complete, so an interrupted
``robotpose synth`` run picks up where it stopped; the writer holds ``run.lock``
(``fileio.FolderLock``: a second writer gets one line naming the first) and removes the
temporary files a killed run left. A reader meeting a missing or truncated file names it
and the problem.
"""
from __future__ import annotations

import dataclasses
import json
import zipfile
from pathlib import Path

import cv2
import numpy as np
from torch.utils.data import Dataset

from .fileio import TEMP_SUFFIX, FolderLock, atomic_file, dumps_json, write_atomic, write_json_atomic
from .robots import ensure_robot, get_robot, name_today, robot_source
from .synth import SynthParams, generate, params_for
from .toy import ToyDiscDataset
from .types import ANNOTATION_KEYS, Sample

FORMAT_NAME, FORMAT_VERSION = "robotpose-synth", 2
_EXTRA_KEYS = ("camera_pose", "depth", "link_ids")


class SyntheticDataset(Dataset):
    """Sample ``i`` rendered from ``(seed, i)``: identical on every call and in every worker.

    Args:
        robot: robot name (``robots.known_robots()``).
        n: number of samples.
        size: (H, W) of the images.
        seed: dataset seed; a test set uses its own seed and is never trained on.
        params: randomisation parameters (default: paper defaults + the robot's preset).
    """

    def __init__(self, robot: str, n: int, size: tuple[int, int] = (480, 640), seed: int = 0,
                 params: SynthParams | None = None):
        get_robot(robot)
        if n < 0:
            raise ValueError(f"dataset length must be non-negative, got {n}")
        self.robot, self.n, self.size, self.seed = robot, int(n), tuple(size), int(seed)
        self.params = params or params_for(robot)
        # a robot from a user's URDF is registered again in worker processes that start
        # afresh (spawn) instead of inheriting the registry (fork)
        self.robot_source = robot_source(robot)

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        ensure_robot(self.robot, self.robot_source)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> Sample:
        if not 0 <= index < self.n:
            raise IndexError(f"sample {index} out of range for a dataset of {self.n}")
        return generate(self.robot, self.seed, [index], *self.size, params=self.params)[0]

    def batch(self, indices) -> list[Sample]:
        """Several samples rendered in one batched call (same bytes as one by one)."""
        return generate(self.robot, self.seed, list(indices), *self.size, params=self.params)


# ---------------------------------------------------------------- writing


def _png_bytes(image: np.ndarray) -> bytes:
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".png", image)
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return buf.tobytes()


def _paths(root: Path, index: int) -> dict[str, Path]:
    name = f"{index:06d}"
    return {"image": root / "images" / f"{name}.png",
            "mask": root / "masks" / f"{name}.png",
            "annotations": root / "annotations" / f"{name}.npz"}


def _params_json(params: SynthParams) -> dict:
    d = dataclasses.asdict(params)
    bg = params.background
    d["background"] = {"split": bg.split, "photo_probability": bg.photo_probability,
                       "folders": list(bg.folders), "use_packaged": bg.use_packaged,
                       "scale_range": list(bg.scale_range)}
    return d


def write_sample(root: str | Path, index: int, sample: Sample) -> None:
    """Write one sample's three files (annotations last: its presence marks completion)."""
    root = Path(root)
    paths = _paths(root, index)
    for p in paths.values():
        p.parent.mkdir(parents=True, exist_ok=True)
    if sample.num_robots > 254:
        raise ValueError("the mask PNG format holds at most 254 robots per image")
    ids = np.zeros(sample.size, np.uint8)
    for r, m in enumerate(sample.masks):
        ids[m] = r + 1
    write_atomic(paths["image"], _png_bytes(sample.image))
    write_atomic(paths["mask"], _png_bytes(ids))
    arrays = {k: getattr(sample, k) for k in ANNOTATION_KEYS + _EXTRA_KEYS}
    with atomic_file(paths["annotations"]) as f:
        np.savez_compressed(f, **arrays)


def write_dataset(root: str | Path, dataset: SyntheticDataset, batch_size: int = 8,
                  progress: bool = True) -> Path:
    """Render ``dataset`` into ``root`` (see module docstring); resumes an interrupted run."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    with FolderLock(root, "dataset folder"):
        for sub in ("images", "masks", "annotations", "."):
            for tmp in (root / sub).glob(f"*{TEMP_SUFFIX}"):
                tmp.unlink(missing_ok=True)  # a killed writer's half-written file
        return _write_dataset(root, dataset, batch_size, progress)


def _write_dataset(root: Path, dataset: SyntheticDataset, batch_size: int, progress: bool) -> Path:
    """:func:`write_dataset` while holding the folder."""
    from tqdm import tqdm  # text bars: widget bars stalled notebook execution (nbclient)

    header = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "robot": dataset.robot,
              "seed": dataset.seed, "n": dataset.n, "height": dataset.size[0],
              "width": dataset.size[1], "joint_names": list(get_robot(dataset.robot).keypoint_names),
              "params": _params_json(dataset.params)}
    header = json.loads(dumps_json(header))  # tuples -> lists, as they come back from disk
    meta_path = root / "dataset.json"
    if meta_path.exists():
        old = json.loads(meta_path.read_text())
        if {k: old.get(k) for k in header} != header:
            raise ValueError(f"{meta_path} describes a different dataset; choose another --out")
    else:
        write_json_atomic(meta_path, header)
    todo = [i for i in range(dataset.n) if not _paths(root, i)["annotations"].exists()]
    with tqdm(total=dataset.n, initial=dataset.n - len(todo), desc=f"synth {dataset.robot}",
              unit="img", disable=not progress) as bar:
        for start in range(0, len(todo), batch_size):
            chunk = todo[start: start + batch_size]
            for i, sample in zip(chunk, dataset.batch(chunk)):
                write_sample(root, i, sample)
            bar.update(len(chunk))
    return root


# ---------------------------------------------------------------- reading


def _read_png(path: Path, flags: int) -> np.ndarray:
    if not path.exists():
        raise FileNotFoundError(f"{path}: file is missing")
    data = np.fromfile(path, np.uint8)
    image = cv2.imdecode(data, flags) if data.size else None
    if image is None:
        raise ValueError(f"{path}: not a readable PNG (truncated or corrupt)")
    return image


def read_sample(root: str | Path, index: int, robot: str | None = None) -> Sample:
    """Read sample ``index`` written by :func:`write_sample`."""
    root = Path(root)
    paths = _paths(root, index)
    image = cv2.cvtColor(_read_png(paths["image"], cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    ids = _read_png(paths["mask"], cv2.IMREAD_UNCHANGED)
    if ids.shape != image.shape[:2]:
        raise ValueError(f"{paths['mask']}: mask size {ids.shape} differs from image size {image.shape[:2]}")
    path = paths["annotations"]
    if not path.exists():
        raise FileNotFoundError(f"{path}: file is missing")
    try:
        with np.load(path) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as err:
        raise ValueError(f"{path}: not a readable annotation file (truncated or corrupt: {err})") from None
    missing = [k for k in ANNOTATION_KEYS + _EXTRA_KEYS if k not in arrays]
    if missing:
        raise ValueError(f"{path}: missing arrays {', '.join(missing)}")
    R = arrays["joints_2d"].shape[0]
    masks = ids[None] == (np.arange(R) + 1)[:, None, None]
    return Sample(image=image, masks=masks, robot=robot or "", meta={"index": index, "root": str(root)},
                  **{k: arrays[k] for k in ANNOTATION_KEYS + _EXTRA_KEYS})


class DiskDataset(Dataset):
    """A dataset written by :func:`write_dataset` (or ``robotpose synth``)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        meta_path = self.root / "dataset.json"
        if not meta_path.exists():
            raise FileNotFoundError(f"{meta_path}: file is missing (is {self.root} a robotpose dataset?)")
        try:
            self.meta = json.loads(meta_path.read_text())
        except json.JSONDecodeError as err:
            raise ValueError(f"{meta_path}: not valid JSON ({err})") from None
        if self.meta.get("format") != FORMAT_NAME:
            raise ValueError(f"{meta_path}: not a {FORMAT_NAME} dataset")
        if self.meta.get("version", 1) < 2:
            self.meta["robot"] = name_today(self.meta["robot"], self.meta.get("robot_source"))
        self.robot = self.meta["robot"]
        self.size = (self.meta["height"], self.meta["width"])

    def __len__(self) -> int:
        return int(self.meta["n"])

    def __getitem__(self, index: int) -> Sample:
        if not 0 <= index < len(self):
            raise IndexError(f"sample {index} out of range for a dataset of {len(self)}")
        return read_sample(self.root, index, self.robot)


def training_dataset(data: str, robot: str, n: int, size: tuple[int, int], seed: int = 0,
                     recipe: str = "paper") -> Dataset:
    """The training data ``robotpose train --data`` names: "synthetic" (``n`` scenes of
    ``robot`` rendered on the fly at ``size`` from ``seed`` with the synthesis ``recipe``),
    "toy" (or robot "toy": :class:`~robotpose_lib.toy.ToyDiscDataset`), or the folder of a
    dataset written by :func:`write_dataset`."""
    if data == "toy" or robot == "toy":
        return ToyDiscDataset(n, size, seed)
    if data == "synthetic":
        return SyntheticDataset(robot, n, size=size, seed=seed, params=params_for(robot, recipe))
    folder = DiskDataset(data)
    if robot is not None and folder.robot != robot:
        raise ValueError(f"{data}: a dataset of robot {folder.robot!r}, but the run trains {robot!r} "
                         f"(--robot {folder.robot}, or another --data)")
    return folder
