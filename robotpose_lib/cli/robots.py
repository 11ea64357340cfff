"""``robotpose robots [--urdf PATH [--spec FILE]]``: the robots the library knows, with their
keypoints; with ``--urdf``, a user's robot read from its URDF (a check that it loads).

Also the ``--urdf``/``--spec`` arguments that ``synth`` and ``train`` share
(:func:`add_urdf_arguments`, :func:`robot_name`).
"""
from __future__ import annotations

import argparse

from ..robots import get_robot, known_robots, load_urdf_robot


def add_urdf_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--urdf", metavar="PATH", help="a robot from its URDF file (its meshes beside it); "
                   "its name comes from the spec or the URDF")
    p.add_argument("--spec", metavar="FILE", help="with --urdf: the robot spec (JSON: keypoint_links, "
                   "sample_range, fixed_joints, ...; default NAME.robot.json or robot.json beside the URDF)")


def check_robot_arguments(args, robot_required: bool = True) -> str | None:
    """The usage problem of --robot/--urdf/--spec as one line, or None."""
    if args.spec and not args.urdf:
        return "--spec: only with --urdf"
    if robot_required and not args.urdf and not getattr(args, "robot", None):
        return "give --robot NAME or --urdf PATH"
    return None


def robot_name(args) -> str:
    """The robot the command works on: ``--urdf`` registered (its name), else ``--robot``."""
    if args.urdf:
        robot = load_urdf_robot(args.urdf, args.spec)
        if getattr(args, "robot", None) and args.robot != robot.name:
            raise ValueError(f"--robot {args.robot} but {args.urdf} builds robot {robot.name!r}")
        return robot.name
    return args.robot


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="robotpose robots", description="List the robots the library knows.")
    add_urdf_arguments(p)
    return p


def check(args) -> str | None:
    return check_robot_arguments(args, robot_required=False)


def describe(name: str) -> str:
    """Lines about one robot: kind, joints, keypoints, triangles, description."""
    robot = get_robot(name)
    kind = f"mesh, {robot.num_triangles} triangles" if robot.kind == "mesh" else "primitives"
    lines = [f"{name}: {robot.dof} joints, {robot.num_keypoints} keypoints ({kind}), reach {robot.reach:.2f} m",
             "  keypoints: " + ", ".join(robot.keypoint_names)]
    if robot.description:
        lines.append("  " + robot.description)
    return "\n".join(lines)


def run(args) -> int:
    names = [robot_name(args)] if args.urdf else list(known_robots())
    print("\n".join(describe(name) for name in names))
    return 0
