"""Copy the URDF arms of pybullet_data into robotpose_lib/robot_data/<robot>/ with their
visual meshes decimated to the triangle budget (so that the library renders them without
pybullet installed, and pybullet can draw exactly the meshes we draw).

    python scripts/ship_urdf_robots.py   (budgets: each robot.json's triangle_budget)

Each URDF is copied with its <collision> elements removed (nothing here simulates
contacts, and their meshes are not shipped); every visual mesh is decimated once
(robotpose_lib.meshes) and written at its original relative path, OBJ as OBJ and STL as
STL. Licence files and a README of origins are written beside them. Deterministic: the
same pybullet_data and budget give the same files.
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pybullet_data
import trimesh

from robotpose_lib.meshes import decimate, read_mesh
from robotpose_lib.urdf import _resolve_mesh_path

ROBOTS = {  # our name: (pybullet_data URDF, origin and licence as distributed)
    "franka_panda": ("franka_panda/panda.urdf",
                     "franka_ros (Franka Emika), Apache-2.0: LICENSE.txt is the licence shipped beside it"),
    "kuka_iiwa": ("kuka_iiwa/model.urdf", "rtkg/lbr_iiwa (named in the URDF's header), BSD, as distributed "
                  "in pybullet_data"),
    "xarm6": ("xarm/xarm6_robot.urdf", "xArm-Developer/xarm_ros (xarm_description), BSD, as distributed in "
              "pybullet_data"),
}
OUT = Path(__file__).resolve().parents[1] / "robotpose_lib" / "robot_data"


def ship(name: str, rel: str, origin: str, budget: int) -> None:
    src = Path(pybullet_data.getDataPath()) / rel
    dst_dir = OUT / name
    spec = (dst_dir / "robot.json").read_text()   # hand-written; kept across re-shipping
    shutil.rmtree(dst_dir)
    dst_dir.mkdir(parents=True)
    (dst_dir / "robot.json").write_text(spec)
    text = src.read_text()
    text = re.sub(r"\s*<collision>.*?</collision>", "", text, flags=re.S)
    (dst_dir / src.name).write_text(text)
    lines = []
    for filename in sorted(set(re.findall(r'<mesh filename="([^"]+)"', text))):
        mesh_src = _resolve_mesh_path(filename, src)
        rel_mesh = mesh_src.relative_to(src.parent)
        vertices, faces = read_mesh(mesh_src)
        full = len(faces)
        vertices, faces = decimate(vertices, faces, budget)
        out = dst_dir / rel_mesh
        out.parent.mkdir(parents=True, exist_ok=True)
        mesh = trimesh.Trimesh(np.round(vertices, 6), faces, process=False)
        mesh.export(str(out), file_type=out.suffix.lstrip(".").lower())
        lines.append(f"| `{rel_mesh}` | {full} | {len(faces)} |")
    licence = src.parent / "LICENSE.txt"
    if licence.is_file():
        shutil.copy(licence, dst_dir / "LICENSE.txt")
    shutil.copy(_pybullet_licence(), dst_dir / "PYBULLET_LICENSE.txt")
    (dst_dir / "README.md").write_text(
        f"# {name}\n\nFrom pybullet_data (pybullet {pybullet_version()}), `{rel}`.\nOrigin and licence: {origin}. "
        "pybullet_data is distributed under pybullet's zlib licence (PYBULLET_LICENSE.txt).\n\n"
        "Changes: `<collision>` elements removed; every visual mesh decimated to at most "
        f"{budget} triangles (quadric edge collapse, fast-simplification) by `scripts/ship_urdf_robots.py`.\n\n"
        "| mesh | triangles (original) | triangles (shipped) |\n|---|---|---|\n" + "\n".join(lines) + "\n")
    print(f"{name}: {len(lines)} meshes -> {dst_dir}")


def _pybullet_licence() -> Path:
    import importlib.metadata as md

    dist = md.distribution("pybullet")
    for f in dist.files or []:
        if f.name == "LICENSE.txt":
            return Path(dist.locate_file(f))
    raise FileNotFoundError("pybullet's LICENSE.txt not found in its distribution")


def pybullet_version() -> str:
    import importlib.metadata as md

    return md.version("pybullet")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    for name, (rel, origin) in ROBOTS.items():   # each robot's budget is its robot.json's
        spec = json.loads((OUT / name / "robot.json").read_text())
        ship(name, rel, origin, int(spec["triangle_budget"]))
