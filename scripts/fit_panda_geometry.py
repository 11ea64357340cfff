"""Fit primitive link geometry of the Franka Emika Panda to its collision meshes, once.

Source: the Panda description shipped in pybullet's data package
(``pybullet_data/franka_panda``: ``panda.urdf`` and ``meshes/collision/*.obj``), which
comes from Franka Emika's franka_ros (Apache-2.0 licence, see that folder's LICENSE.txt;
pybullet itself is zlib). Only fitted parameters (a few numbers per link) are written.

Steps:
1. Check that ``robotpose_lib.robots`` FK reproduces the URDF's link frames: load the
   URDF in pybullet DIRECT mode, set random joint angles, compare link frame origins.
2. For each link, sample points on the collision mesh surface (area-weighted) and fit a
   small union of primitives (capsules, cylinders, axis-aligned boxes) in the link frame:
   initialise by k-means + PCA, then minimise the mean squared signed distance of the
   surface samples to the union's surface with Adam.
3. Fingers: one box each, the bounding box of ``finger.obj``, at a fixed half opening.
4. Write ``robotpose_lib/robot_data/panda_geometry.json`` and print fit errors.

Run: ``python scripts/fit_panda_geometry.py`` (needs pybullet; a few seconds of CPU).
"""
from __future__ import annotations

import argparse
import itertools
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from robotpose_lib.fileio import write_json_atomic  # noqa: E402
from robotpose_lib.robots import get_robot  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "robotpose_lib", "robot_data", "panda_geometry.json")
# Our link index -> (collision mesh, kinds of primitives fitted to it).
LINK_SPECS = {
    0: ("link0.obj", ["cylinder", "box", "capsule"]),
    1: ("link1.obj", ["capsule", "capsule"]),
    2: ("link2.obj", ["capsule", "capsule"]),
    3: ("link3.obj", ["capsule", "capsule"]),
    4: ("link4.obj", ["capsule", "capsule"]),
    5: ("link5.obj", ["capsule", "capsule", "capsule"]),
    6: ("link6.obj", ["capsule", "capsule"]),
    7: ("link7.obj", ["capsule", "cylinder"]),
    8: ("hand.obj", ["box", "capsule"]),
}
FINGER_OPENING = 0.02    # m, each finger from the hand's centre plane (range 0 .. 0.04)
FINGER_ORIGIN_Z = 0.0584  # m, panda_finger_joint origin in the hand frame (URDF)


# ----------------------------------------------------------------------------- meshes
def load_obj(path: str) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (V, 3) and triangles (F, 3) of a Wavefront OBJ (polygons fanned)."""
    verts, faces = [], []
    with open(path) as fh:
        for line in fh:
            parts = line.split()
            if not parts:
                continue
            if parts[0] == "v":
                verts.append([float(x) for x in parts[1:4]])
            elif parts[0] == "f":
                idx = [int(p.split("/")[0]) - 1 for p in parts[1:]]
                faces += [[idx[0], idx[i], idx[i + 1]] for i in range(1, len(idx) - 1)]
    return np.asarray(verts), np.asarray(faces)


def sample_surface(verts: np.ndarray, faces: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n points uniformly on the triangle mesh surface (area-weighted)."""
    tri = verts[faces]
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    pick = rng.choice(len(faces), size=n, p=area / area.sum())
    u, v = rng.random(n), rng.random(n)
    flip = u + v > 1
    u[flip], v[flip] = 1 - u[flip], 1 - v[flip]
    t = tri[pick]
    return t[:, 0] + u[:, None] * (t[:, 1] - t[:, 0]) + v[:, None] * (t[:, 2] - t[:, 0])


# ----------------------------------------------------------------------------- SDFs
def sdf_segment_round(x, p0, p1, r):
    """Capsule signed distance. x (N, 3); p0, p1 (3,); r scalar."""
    d = p1 - p0
    t = ((x - p0) @ d / (d @ d).clamp_min(1e-12)).clamp(0, 1)
    return (x - p0 - t[:, None] * d).norm(dim=1) - r


def sdf_cylinder(x, p0, p1, r):
    """Flat-capped cylinder signed distance."""
    d = p1 - p0
    length = d.norm().clamp_min(1e-9)
    u = d / length
    c = 0.5 * (p0 + p1)
    axial = (x - c) @ u
    radial = (x - c - axial[:, None] * u).norm(dim=1)
    q = torch.stack([radial - r, axial.abs() - 0.5 * length], dim=1)
    return q.clamp_min(0).norm(dim=1) + q.max(dim=1).values.clamp_max(0)


def sdf_box(x, c, he):
    """Axis-aligned box signed distance (centre c, half extents he)."""
    q = (x - c).abs() - he
    return q.clamp_min(0).norm(dim=1) + q.max(dim=1).values.clamp_max(0)


class PrimitiveUnion(torch.nn.Module):
    """Learnable union of primitives of given kinds, initialised from point clusters."""

    def __init__(self, kinds: list[str], clusters: list[np.ndarray]):
        super().__init__()
        self.kinds = kinds
        self.a, self.b, self.log_s = torch.nn.ParameterList(), torch.nn.ParameterList(), torch.nn.ParameterList()
        for kind, pts in zip(kinds, clusters):
            centre = pts.mean(0)
            if kind == "box":
                lo, hi = np.percentile(pts, 2, axis=0), np.percentile(pts, 98, axis=0)
                a, b, s = 0.5 * (lo + hi), np.zeros(3), np.maximum(0.5 * (hi - lo), 0.005)
            else:
                # PCA: the axis is the principal direction; radius a robust distance to it.
                _, _, vt = np.linalg.svd(pts - centre, full_matrices=False)
                axis = vt[0]
                proj = (pts - centre) @ axis
                radial = np.linalg.norm(pts - centre - proj[:, None] * axis, axis=1)
                radius = max(np.percentile(radial, 75), 0.01)
                lo, hi = np.percentile(proj, 2), np.percentile(proj, 98)
                if kind == "capsule":   # the caps add the radius at both ends
                    lo, hi = min(lo + radius, 0.0), max(hi - radius, 0.0)
                a, b, s = centre + lo * axis, centre + hi * axis, np.array([radius])
            self.a.append(torch.nn.Parameter(torch.tensor(a, dtype=torch.float64)))
            self.b.append(torch.nn.Parameter(torch.tensor(b, dtype=torch.float64)))
            self.log_s.append(torch.nn.Parameter(torch.tensor(np.log(s), dtype=torch.float64)))

    def sdf_each(self, x: torch.Tensor) -> torch.Tensor:
        """(N, K) signed distance to each primitive."""
        out = []
        for kind, a, b, ls in zip(self.kinds, self.a, self.b, self.log_s):
            s = ls.exp()
            if kind == "capsule":
                out.append(sdf_segment_round(x, a, b, s[0]))
            elif kind == "cylinder":
                out.append(sdf_cylinder(x, a, b, s[0]))
            else:
                out.append(sdf_box(x, a, s))
        return torch.stack(out, dim=1)

    def records(self, link: int) -> list[dict]:
        recs = []
        for kind, a, b, ls in zip(self.kinds, self.a, self.b, self.log_s):
            a, b, s = (t.detach().numpy() for t in (a, b, ls.exp()))
            r6 = lambda v: [round(float(x), 6) for x in v]
            if kind == "box":
                recs.append(dict(link=link, kind="box", p0=r6(a), half_extents=r6(s),
                                 rotation=np.eye(3).tolist()))
            else:
                recs.append(dict(link=link, kind=kind, p0=r6(a), p1=r6(b), radius=round(float(s[0]), 6)))
        return recs


def kmeans(pts: np.ndarray, k: int, rng: np.random.Generator, iters: int = 30) -> np.ndarray:
    centres = pts[rng.choice(len(pts), k, replace=False)]
    for _ in range(iters):
        label = np.argmin(((pts[:, None] - centres[None]) ** 2).sum(-1), axis=1)
        centres = np.stack([pts[label == j].mean(0) if np.any(label == j) else centres[j] for j in range(k)])
    return label


def fit_link(pts: np.ndarray, kinds: list[str], seed: int, steps: int = 600) -> tuple[PrimitiveUnion, float]:
    """Best union over a few k-means restarts and kind-to-cluster assignments."""
    x = torch.tensor(pts)
    best = (None, math.inf)
    for restart in range(3):
        rng = np.random.default_rng(seed + restart)
        label = kmeans(pts, len(kinds), rng)
        clusters = [pts[label == j] if np.sum(label == j) >= 8 else pts for j in range(len(kinds))]
        for order in set(itertools.permutations(kinds)):
            model = PrimitiveUnion(list(order), clusters)
            opt = torch.optim.Adam(model.parameters(), lr=3e-3)
            for step in range(steps):
                loss = model.sdf_each(x).min(dim=1).values.pow(2).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
            with torch.no_grad():
                rms = float(model.sdf_each(x).min(dim=1).values.pow(2).mean().sqrt())
            if rms < best[1]:
                best = (model, rms)
    return best


# ----------------------------------------------------------------------------- checks
def check_fk_against_urdf(data_path: str, n: int = 20, seed: int = 0) -> float:
    """Max distance (m) between our FK link origins and pybullet's URDF link frames."""
    import pybullet as p
    robot = get_robot("panda")
    cid = p.connect(p.DIRECT)
    try:
        body = p.loadURDF(os.path.join(data_path, "franka_panda", "panda.urdf"), useFixedBase=True,
                          physicsClientId=cid)
        by_name = {p.getJointInfo(body, j, physicsClientId=cid)[12].decode(): j
                   for j in range(p.getNumJoints(body, physicsClientId=cid))}
        rng = np.random.default_rng(seed)
        low, high = (t.numpy() for t in robot.joint_limits)
        worst = 0.0
        for _ in range(n):
            q = rng.uniform(low, high)
            for i in range(7):
                p.resetJointState(body, by_name[f"panda_link{i + 1}"], q[i], physicsClientId=cid)
            _, T = robot.forward_kinematics(torch.tensor(q[None]))
            for ours, name in enumerate(robot.link_names):
                if name == "panda_link0":
                    # pybullet reports the base's centre of mass; undo the inertial offset
                    com_pos, com_orn = p.getBasePositionAndOrientation(body, physicsClientId=cid)
                    inertial = p.getDynamicsInfo(body, -1, physicsClientId=cid)[3:5]
                    pos, orn = p.multiplyTransforms(com_pos, com_orn, *p.invertTransform(*inertial))
                else:
                    state = p.getLinkState(body, by_name[name], computeForwardKinematics=True,
                                           physicsClientId=cid)
                    pos, orn = state[4], state[5]   # URDF link frame, not the centre of mass
                R_pb = np.asarray(p.getMatrixFromQuaternion(orn)).reshape(3, 3)
                worst = max(worst, float(np.abs(T[0, ours, :3, 3].numpy() - np.asarray(pos)).max()),
                            float(np.abs(T[0, ours, :3, :3].numpy() - R_pb).max()))
        return worst
    finally:
        p.disconnect(cid)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=OUT)
    ap.add_argument("--points", type=int, default=3000, help="surface samples per link")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    try:
        import pybullet_data
    except ImportError:
        print("fit_panda_geometry: needs pybullet (pip install pybullet)", file=sys.stderr)
        return 1
    data_path = pybullet_data.getDataPath()
    mesh_dir = os.path.join(data_path, "franka_panda", "meshes", "collision")
    torch.manual_seed(args.seed)

    err = check_fk_against_urdf(data_path)
    print(f"FK vs URDF link frames (20 random poses): max abs error {err:.2e} (position m / rotation entries)")
    if err > 1e-5:
        print("FK does not reproduce the URDF frames; refusing to fit geometry", file=sys.stderr)
        return 1

    rng = np.random.default_rng(args.seed)
    records = []
    for link, (mesh, kinds) in LINK_SPECS.items():
        verts, faces = load_obj(os.path.join(mesh_dir, mesh))
        pts = sample_surface(verts, faces, args.points, rng)
        model, rms = fit_link(pts, kinds, seed=args.seed + 100 * link)
        with torch.no_grad():
            d = model.sdf_each(torch.tensor(pts)).min(dim=1).values.abs().numpy()
        print(f"link {link} {mesh:10s} {'+'.join(model.kinds):28s} surface distance: "
              f"rms {1000 * rms:5.1f} mm, p95 {1000 * np.percentile(d, 95):5.1f} mm, max {1000 * d.max():5.1f} mm")
        records += model.records(link)

    # Fingers: bounding box of finger.obj, left finger at +opening along y, right finger
    # rotated by pi about z (URDF) at -opening; both on the hand link (index 8).
    fv, _ = load_obj(os.path.join(mesh_dir, "finger.obj"))
    lo, hi = fv.min(0), fv.max(0)
    centre, half = 0.5 * (lo + hi), 0.5 * (hi - lo)
    for sign in (1.0, -1.0):
        c = np.array([sign * centre[0], sign * (centre[1] + FINGER_OPENING), centre[2] + FINGER_ORIGIN_Z])
        records.append(dict(link=8, kind="box", p0=[round(float(v), 6) for v in c],
                            half_extents=[round(float(v), 6) for v in half], rotation=np.eye(3).tolist()))
    print(f"fingers: 2 boxes, half extents {np.round(half, 4).tolist()} m, opening {FINGER_OPENING} m each")

    doc = {
        "robot": "panda",
        "source": "primitives fitted by scripts/fit_panda_geometry.py to the collision meshes "
                  "pybullet_data/franka_panda/meshes/collision/*.obj (from franka_ros by Franka "
                  "Emika, Apache-2.0; shipped in pybullet's data package, pybullet is zlib)",
        "frames": "params in each link's frame; link 0..7 = panda_link0..7 (modified DH frames, "
                  "equal to the URDF link frames), 8 = panda_hand (flange rotated -pi/4 about z)",
        "finger_opening_m": FINGER_OPENING,
        "fk_vs_urdf_max_error": err,
        "primitives": records,
    }
    write_json_atomic(args.out, doc)
    print(f"wrote {len(records)} primitives to {os.path.relpath(args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
