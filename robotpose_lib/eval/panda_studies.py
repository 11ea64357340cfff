"""The mesh Panda's backbone and stride studies, read as data (issue 20; chapter 5 renders
them).

``scripts/backbone_study.py`` trains each row from the same start (the shipped mesh-Panda
model as it was when the study ran) for the same number of steps, with the same seeds and
recipe, changing only the backbone, and measures every model on the filmed validation set
(``robotpose eval filmed``), where choices are made. Two records exist:
``assets/studies/panda_backbones/study.json`` (frozen against fine-tuned Lite0, fine-tuned
Lite1) and ``assets/studies/panda_stride4/study.json`` (stride 4 against stride 8, from a
later start). Each record holds its own control row (``frozen_lite0``: the backbone as
shipped), so a row is compared with the control of its own record, never across records.
This module reads the records and turns them into rows; it never measures.
"""
from __future__ import annotations

from pathlib import Path

from ..fileio import read_json_object

_PACKAGE = Path(__file__).resolve().parents[1]
STUDY_ROOTS = (_PACKAGE / "assets" / "studies",            # installed package data
               _PACKAGE.parent / "assets" / "studies")     # a source checkout
STUDIES = {"panda_backbones": "backbone", "panda_stride4": "stride"}
CONTROL = "frozen_lite0"
# How the rows are named on the page.
LABELS = {"start": "start (before the study's steps)", "frozen_lite0": "frozen Lite0, stride 8 (as shipped)",
          "finetuned_lite0": "fine-tuned Lite0, stride 8", "finetuned_lite1": "fine-tuned Lite1, stride 8",
          "frozen_lite0_s4": "frozen Lite0, stride 4"}


def load_studies(root: str | Path | None = None) -> dict[str, dict]:
    """The study records present: {"panda_backbones": study, "panda_stride4": study} (a
    missing one is left out; {} without any). ``root``: the folder holding one folder per
    study (default: the installed package data, else the source checkout's
    ``assets/studies``).

    Raises:
        ValueError: a record that is not a JSON object (names the file)."""
    roots = (Path(root),) if root is not None else STUDY_ROOTS
    out = {}
    for name in STUDIES:
        path = next((r / name / "study.json" for r in roots if (r / name / "study.json").is_file()), None)
        if path is not None:
            out[name] = read_json_object(path, f"{name} study")
    return out


def study_rows(studies: dict[str, dict]) -> list[dict]:
    """One row per trained or measured model of the records (:func:`load_studies`), in the
    records' order: "study" ("backbone" or "stride"), "name" (the row's key), "label",
    "control" (True for the record's own control row), "steps" (the record's step budget;
    0 for the start), "cpu_min" (CPU minutes of its training; NaN for the start),
    "auc_all", "auc_moving", "found_all" (filmed validation set, keypoint AUC 0-20 px and
    share of keypoints found), "frames" (validation scenes measured) and "vs_control"
    (auc_all minus the control's of the same record; NaN without a control).

    Raises:
        KeyError: a row without filmed figures."""
    rows = []
    for name, study in studies.items():
        kind = STUDIES.get(name, name)
        control = next((r for r in study.get("rows", []) if r["name"] == CONTROL), None)
        base = control["filmed"]["model"]["all"]["auc"] if control else float("nan")
        for r in study.get("rows", []):
            model = r["filmed"]["model"]
            cost = r.get("cost") or {}
            rows.append({"study": kind, "name": r["name"], "label": LABELS.get(r["name"], r["name"]),
                         "control": r["name"] == CONTROL,
                         "steps": 0 if r["name"] == "start" else int(study.get("steps", 0)),
                         "cpu_min": cost["cpu_s"] / 60.0 if "cpu_s" in cost else float("nan"),
                         "auc_all": model["all"]["auc"], "auc_moving": model["moving"]["auc"],
                         "found_all": model["all"]["found"], "frames": model["all"].get("frames"),
                         "vs_control": model["all"]["auc"] - base})
    return rows
