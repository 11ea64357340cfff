"""Model cards and training logs read back as numbers (robotpose_lib.cards), and the
scorecard built from them (robotpose_lib.scorecard)."""
import json

import numpy as np
import pytest
import torch

from robotpose_lib import cards, scorecard
from robotpose_lib.ap import format_table
from robotpose_lib.checkpoint import save_checkpoint
from robotpose_lib.eval.localization import LocalizationReport

CARD = """# {name}

- task: {task}, robot: kuka_kr16, config: `cpu`
- trained for 800 steps of batch 8 (about 6400 synthetic scenes rendered on the fly, training seed 0), \
19 min wall time on the 2-core CPU machine (shared with other jobs while it ran)
- final logged loss: 0.5 (first: 1.0)

{note}

## Evaluation on the fixed synthetic test set (`robotpose eval {task} --n 60`)

```
checkpoint assets/checkpoints/{name}.pt: cpu config, step {step}, test seed 12019
{evaluation}
```
"""


def _report() -> LocalizationReport:
    rng = np.random.default_rng(0)
    errors = rng.uniform(1, 20, (10, 4))
    errors[:, :2] = 2.0   # the base: precise
    errors[:, 2:] = 15.0  # the tip: not
    errors[0, 1] = np.nan  # a miss
    depth_true = np.concatenate([rng.uniform(1, 4, 50), rng.uniform(6, 9, 50)])
    return LocalizationReport("kuka_kr16", ["base", "a1", "wrist", "tip"], (240, 320), 2.0,
                              {"nms": errors, "log": errors * 0.5}, np.ones((10, 4), bool),
                              np.where(depth_true < 5, 60.0, 100.0), depth_true, 10)


def _instance_text() -> str:
    ap = [{"IoU": "0.50", "box": 0.2, "mask": 0.3}, {"IoU": "0.50:0.95", "box": 0.12, "mask": 0.11}]
    counting = [{"true_count": 1, "images": 25, "accuracy": 0.16, "mean_predicted": 3.48},
                {"true_count": "all", "images": 60, "accuracy": 0.2, "mean_predicted": 4.367}]
    return ("average precision (COCO, IoU 0.50..0.95)\n" + format_table(ap) + "\n\ncounting accuracy by true robot "
            "count\n" + format_table(counting))


def test_localization_evaluation_round_trips_through_its_text():
    report = _report()
    parsed = cards.parse_localization_evaluation(report.format())
    assert set(parsed["pixel"]) == {"nms", "log"}
    for method in ("nms", "log"):
        for row, want in zip(parsed["pixel"][method], report.joint_table(method)):
            assert row["joint"] == want["joint"] and row["n"] == want["n"] and row["missed"] == want["missed"]
            assert row["50%"] == pytest.approx(want["50%"], abs=0.01)
    table = report.depth_table()
    for rng in ("near", "far"):
        assert parsed["depth"][rng]["mean"] == pytest.approx(table[rng]["mean"], abs=0.01)
        assert parsed["depth"][rng]["n"] == table[rng]["n"]
    assert parsed["baseline"]["near"] == pytest.approx(report.depth_baseline_table()["near"]["mean"], abs=0.01)


def test_instance_evaluation_is_parsed():
    parsed = cards.parse_instance_evaluation(_instance_text())
    assert parsed["ap"] == {"box": 0.12, "mask": 0.11} and parsed["ap50"] == {"box": 0.2, "mask": 0.3}
    assert parsed["counting"][-1] == {"true_count": "all", "images": 60, "accuracy": 0.2, "mean_predicted": 4.367}


def _write_reference(folder, name, task, step, card_step, evaluation, note=""):
    (folder / f"{name}.md").write_text(CARD.format(name=name, task=task, step=card_step, evaluation=evaluation,
                                                   note=note))
    save_checkpoint(folder / f"{name}.pt", {"task": task, "robot": "kuka_kr16", "config": {"name": "cpu"},
                                            "step": step, "model": {"w": torch.zeros(1)}})


def test_card_header_and_lineage_cost(tmp_path):
    _write_reference(tmp_path, "kuka_kr16_instances_cpu", "instances", 800, 800, _instance_text())
    (tmp_path / "kuka_kr16_instances_cpu.eos1.md").write_text("# old\n\n> Superseded: an earlier run.\n")
    logs = {"kuka_kr16_instances_cpu.eos1": (0, 500), "kuka_kr16_instances_cpu.part1": (1000, 1200),
            "kuka_kr16_instances_cpu": (5000, 800)}
    for name, (t0, steps) in logs.items():
        rows = [{"step": s, "loss": 1.0, "time": t0 + s, "samples_per_s": 5.0} for s in range(100, steps + 1, 100)]
        rows.insert(3, {"step": 350, "loss": 1.0, "time": t0 + 10_000})  # a gap between sessions: left out
        (tmp_path / f"{name}.metrics.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    card = cards.read_card(tmp_path / "kuka_kr16_instances_cpu.md")
    assert (card.task, card.robot, card.steps, card.batch, card.scenes, card.minutes) == \
        ("instances", "kuka_kr16", 800, 8, 6400, 19.0)
    assert card.evaluated_step == 800 and not card.superseded
    assert cards.read_card(tmp_path / "kuka_kr16_instances_cpu.eos1.md").superseded
    cost = cards.training_cost("kuka_kr16_instances_cpu", tmp_path)
    assert [p["log"] for p in cost.parts] == ["kuka_kr16_instances_cpu.part1.metrics.jsonl",
                                              "kuka_kr16_instances_cpu.metrics.jsonl"]
    assert cost.steps == 2000 and cost.scenes == 16000
    assert cost.parts[0]["samples_per_s"] == 5.0
    assert cards.training_seconds([{"time": 0}, {"time": 100}, {"time": 5000}, {"time": 5050}]) == 150
    with pytest.raises(FileNotFoundError, match="no such model card"):
        cards.read_card(tmp_path / "missing.md")
    assert cards.read_study("absent.json", tmp_path) is None
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ValueError, match="bad.json: not valid JSON"):
        cards.read_study("bad.json", tmp_path)


def test_verdict_rules():
    assert scorecard.error_verdict(6.0, 5.81) == scorecard.REPRODUCED
    assert scorecard.error_verdict(11.0, 5.81) == scorecard.PARTLY
    assert scorecard.error_verdict(60.0, 5.81) == scorecard.NOT_YET
    assert scorecard.error_verdict(float("nan"), 5.81) == scorecard.NOT_MEASURED
    assert scorecard.share_verdict(0.95) == scorecard.REPRODUCED and scorecard.share_verdict(0.2) == scorecard.NOT_YET
    assert scorecard.order_verdict([True, False]) == scorecard.PARTLY
    assert scorecard.baseline_verdict(0.5, 0.4) == scorecard.REPRODUCED
    assert scorecard.baseline_verdict(0.1, 0.45) == scorecard.NOT_YET
    assert "1.2 times" in scorecard.rules_text()


def test_scorecard_reads_cards_and_flags_stale_ones(tmp_path):
    _write_reference(tmp_path, "kuka_kr16_localization_cpu", "localization", 1800, 1800, _report().format())
    _write_reference(tmp_path, "kuka_kr16_instances_cpu", "instances", 900, 800, _instance_text())  # stale
    rows = scorecard.scorecard(tmp_path)
    by_claim = {r.claim.split(",")[0]: r for r in rows}
    near = rows[0]
    assert near.claim.startswith("Depth error near")
    assert near.verdict == scorecard.NOT_YET and "60.0 cm mean" in near.ours
    assert by_claim["Joints near the base found more precisely than the tip"].verdict == scorecard.REPRODUCED
    counted = by_claim["One mask per robot"]
    assert counted.verdict == scorecard.STALE and "checkpoint holds step 900" in counted.ours
    real = rows[-1]
    assert real.verdict == scorecard.NOT_MEASURED  # no study file here
    table = scorecard.scorecard_markdown(rows, {"2": "02_localization.ipynb"})
    assert table.count("\n") == len(rows) + 2 and "[2](02_localization.ipynb)" in table
    assert scorecard.verdict_counts(rows)[scorecard.STALE] == 2


def test_card_recipe_comes_from_its_reproduce_command(tmp_path):
    from robotpose_lib.cards import read_card

    head = "# x\n\n- task: onepass, robot: panda, config: `cpu`\n"
    cases = {"- reproduce: `robotpose train onepass --recipe clutter --steps 3`\n": "clutter",
             "- reproduce: `robotpose train onepass --steps 3 --recipe=sim2real`\n": "sim2real",
             "- reproduce: `robotpose train onepass --steps 3`\n": "paper",
             "no command here\n": "",
             # argparse takes the last --recipe; a missing value is unknown, not "paper"
             "- reproduce: `robotpose train onepass --recipe clutter --recipe paper`\n": "paper",
             "- reproduce: `robotpose train onepass --steps 3 --recipe`\n": "",
             "- reproduce: `robotpose train onepass --recipe --steps 3`\n": "",
             # a command without its closing backtick is no command: the next line's
             # backtick must not close it
             "- reproduce: `robotpose train onepass --steps 3\n- note: part 1 used --recipe "
             "sim2real (see `part1.md`)\n": ""}
    for i, (line, recipe) in enumerate(cases.items()):
        (tmp_path / f"c{i}.md").write_text(head + line)
        assert read_card(tmp_path / f"c{i}.md").recipe == recipe, line
