"""Visual meshes of URDF links: loaded, decimated once to a triangle budget, cached.

A link's mesh file (OBJ, STL or DAE, read by trimesh; DAE needs pycollada) is scaled,
placed by its ``<visual><origin>``, its duplicate vertices merged, and decimated with
fast-simplification (quadric error metrics) to at most ``budget`` triangles. Per-corner
normals are the smooth vertex normal, or the face normal across a sharp edge (more than
:data:`SHARP_EDGE_DEG` between them), so rendered shells shade smoothly without rounding
off their edges.

Decimation takes seconds for the 10-20k-triangle Panda meshes, so results are cached as
``.npz`` files keyed by the mesh file's bytes, its scale and the budget, in
``$ROBOTPOSE_CACHE/meshes`` (default ``~/.cache/robotpose/meshes``). A cache that cannot
be written is skipped silently: the mesh is then decimated on every load.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SHARP_EDGE_DEG = 50.0
CACHE_VERSION = 1
DEFAULT_BUDGET = 800   # triangles per mesh; see the budget study in bench.synth


@dataclass
class LinkMesh:
    """One mesh in its link's frame.

    vertices: float64 (V, 3) metres; faces: int64 (F, 3) vertex indices;
    corner_normals: float64 (F, 3, 3) unit normal of each face's three corners.
    """

    vertices: np.ndarray
    faces: np.ndarray
    corner_normals: np.ndarray

    @property
    def num_triangles(self) -> int:
        return int(self.faces.shape[0])

    def transformed(self, T: np.ndarray) -> "LinkMesh":
        """The mesh moved by a (4, 4) rigid transform."""
        R, t = T[:3, :3], T[:3, 3]
        return LinkMesh(self.vertices @ R.T + t, self.faces, self.corner_normals @ R.T)

    @staticmethod
    def concatenate(parts: list["LinkMesh"]) -> "LinkMesh":
        if not parts:
            return LinkMesh(np.zeros((0, 3)), np.zeros((0, 3), np.int64), np.zeros((0, 3, 3)))
        offsets = np.cumsum([0] + [len(p.vertices) for p in parts[:-1]])
        return LinkMesh(np.concatenate([p.vertices for p in parts]),
                        np.concatenate([p.faces + o for p, o in zip(parts, offsets)]),
                        np.concatenate([p.corner_normals for p in parts]))


def cache_dir() -> Path:
    root = os.environ.get("ROBOTPOSE_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "robotpose")
    return Path(root) / "meshes"


def check_scale(scale, path) -> np.ndarray | None:
    """A URDF ``<mesh scale>`` (None, a number or 3 numbers) as (3,) float64, or None.
    Raises ValueError naming ``path`` for another length, a zero or a non-finite number."""
    if scale is None:
        return None
    try:
        s = np.asarray(scale, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        s = np.zeros(0)
    if s.shape not in ((1,), (3,)) or not np.isfinite(s).all() or (s == 0).any():
        raise ValueError(f"{path}: mesh scale must be 1 or 3 non-zero finite numbers, got {scale}")
    return np.broadcast_to(s, (3,)).copy()


def read_mesh(path: str | Path, scale=None) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (V, 3) float64 and faces (F, 3) int64 of a mesh file, duplicates merged.

    scale: None, a number or 3 numbers (the URDF's ``<mesh scale>``); a mirroring scale
    (an odd number of negative factors) reverses the faces' winding, so they stay
    counter-clockwise seen from outside.
    Raises FileNotFoundError for a missing file, ValueError for a file with no triangles
    or a bad scale.
    """
    import trimesh

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"mesh file not found: {path}")
    scale = check_scale(scale, path)
    try:
        mesh = trimesh.load(str(path), force="mesh", process=False)
    except Exception as exc:  # trimesh raises many kinds for unreadable files
        raise ValueError(f"{path}: cannot read the mesh ({exc})") from None
    vertices = np.asarray(mesh.vertices, dtype=np.float64)
    faces = np.asarray(mesh.faces, dtype=np.int64)
    if faces.size == 0:
        raise ValueError(f"{path}: the mesh has no triangles")
    if scale is not None:
        vertices = vertices * scale
        if np.prod(scale) < 0:
            faces = faces[:, ::-1]
    merged = trimesh.Trimesh(vertices, faces, process=True)   # merges duplicate vertices
    vertices, faces = np.asarray(merged.vertices, np.float64), np.asarray(merged.faces, np.int64)
    if faces.size == 0 or not np.isfinite(vertices).all():
        raise ValueError(f"{path}: the mesh has no triangles with finite corners")
    return vertices, faces


def decimate(vertices: np.ndarray, faces: np.ndarray, budget: int) -> tuple[np.ndarray, np.ndarray]:
    """At most ``budget`` triangles by quadric edge collapse (fast-simplification).

    A mesh already within the budget is returned unchanged. Raises ValueError for a
    budget below 4.
    """
    if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < 4:
        raise ValueError(f"triangle budget must be an integer of at least 4, got {budget!r}")
    if len(faces) <= budget:
        return vertices, faces
    import fast_simplification

    # the library stops near, not exactly at, the target: aim a little under and trim
    target = 1.0 - budget / len(faces)
    for attempt in range(20):
        v, f = fast_simplification.simplify(vertices.astype(np.float32), faces.astype(np.int32),
                                            target_reduction=min(target, 0.999))
        if len(f) <= budget:
            break
        target += (1.0 - target) * 0.1
    return np.asarray(v, np.float64), np.asarray(f, np.int64)


def corner_normals(vertices: np.ndarray, faces: np.ndarray, sharp_deg: float = SHARP_EDGE_DEG) -> np.ndarray:
    """(F, 3, 3) per-corner unit normals: the area-weighted vertex normal, or the face
    normal where they differ by more than ``sharp_deg`` degrees."""
    tri = vertices[faces]
    cross = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    area2 = np.linalg.norm(cross, axis=1, keepdims=True)
    face_n = cross / np.maximum(area2, 1e-20)
    vert_n = np.zeros_like(vertices)
    for k in range(3):
        np.add.at(vert_n, faces[:, k], cross)
    vert_n /= np.maximum(np.linalg.norm(vert_n, axis=1, keepdims=True), 1e-20)
    corners = vert_n[faces]
    sharp = (corners * face_n[:, None]).sum(-1) < np.cos(np.radians(sharp_deg))
    return np.where(sharp[..., None], face_n[:, None].repeat(3, 1), corners)


def _read_cached(cached: Path) -> LinkMesh | None:
    """A cache entry, or None when it is missing, unreadable or inconsistent (wrong shapes,
    face indices out of range, non-finite numbers): then it is rebuilt."""
    try:
        with np.load(cached, allow_pickle=False) as data:
            v, f, n = (np.asarray(data[k]) for k in ("vertices", "faces", "corner_normals"))
    except Exception:   # np.load raises OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError...
        return None
    ok = (v.ndim == 2 and v.shape[1] == 3 and f.ndim == 2 and f.shape[1] == 3 and len(f) > 0
          and n.shape == (len(f), 3, 3) and v.dtype.kind == "f" and n.dtype.kind == "f" and f.dtype.kind in "iu"
          and np.isfinite(v).all() and np.isfinite(n).all() and 0 <= f.min() and f.max() < len(v))
    return LinkMesh(v.astype(np.float64), f.astype(np.int64), n.astype(np.float64)) if ok else None


def load_link_mesh(path: str | Path, scale=None, budget: int | None = DEFAULT_BUDGET) -> LinkMesh:
    """A mesh file read, decimated to ``budget`` triangles (None: full) and cached.
    Raises FileNotFoundError or ValueError (an unreadable mesh, a bad scale or budget)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"mesh file not found: {path}")
    if budget is not None and (isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < 4):
        raise ValueError(f"{path}: triangle budget must be an integer of at least 4, got {budget!r}")
    scale = check_scale(scale, path)
    key = hashlib.sha1(path.read_bytes())
    mirrored = ("mirrored",) if scale is not None and np.prod(scale) < 0 else ()   # winding reversed since v1
    key.update(repr((CACHE_VERSION, None if scale is None else scale.tolist(), budget) + mirrored).encode())
    cached = cache_dir() / f"{path.stem}-{key.hexdigest()[:16]}.npz"
    if cached.is_file():
        mesh = _read_cached(cached)
        if mesh is not None:
            return mesh
    vertices, faces = read_mesh(path, scale)
    if budget is not None:
        vertices, faces = decimate(vertices, faces, budget)
    mesh = LinkMesh(vertices, faces, corner_normals(vertices, faces))
    tmp = cached.with_suffix(f".{os.getpid()}.tmp.npz")
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        np.savez(tmp, vertices=mesh.vertices, faces=mesh.faces, corner_normals=mesh.corner_normals)
        os.replace(tmp, cached)
    except OSError:   # an unwritable cache is skipped; a half-written entry is removed
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
    return mesh
