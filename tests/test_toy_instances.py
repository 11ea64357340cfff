"""Chapter 3's toy instance helpers (robotpose_lib.toy): the quick model trained with
changed fields, its steps counted by a stopping rule, and the seed sweep."""
import numpy as np
import pytest
import torch

from robotpose_lib import toy


def test_train_quick_toy_applies_the_changes_and_repeats_with_the_seed():
    net, log = toy.train_quick_toy(3, seed=4, batch_size=4, size=(16, 16), canvas_feedback=True)
    assert net.config.canvas_feedback and not net.training
    assert len(log["loss"]) == len(log["cost_per_disc"]) == 3
    _, again = toy.train_quick_toy(3, seed=4, batch_size=4, size=(16, 16), canvas_feedback=True)
    assert again["loss"] == log["loss"]  # same seed, same run
    _, other = toy.train_quick_toy(3, seed=5, batch_size=4, size=(16, 16), canvas_feedback=True)
    assert other["loss"] != log["loss"]
    with pytest.raises(ValueError, match="config_changes"):
        toy.train_quick_toy(1, batch_size=2, size=(16, 16), no_such_field=1)


def test_counts_by_rule_counts_the_steps_before_the_first_below_the_rule():
    fractions = np.array([[0.10, 0.06, 0.01, 0.0],    # 2 above 5%, 3 above 0.5%
                          [0.03, 0.20, 0.20, 0.20],   # stops at once with 5%
                          [0.30, 0.30, 0.30, 0.30]])  # never stops
    assert toy.counts_by_rule(fractions, 0.05).tolist() == [2, 0, 4]
    assert toy.counts_by_rule(fractions, 0.005).tolist() == [3, 4, 4]


class _Fixed(torch.nn.Module):
    """A stand-in model whose step t lights the first 25 * (3 - t) % of the rows."""

    def forward(self, f, steps, size):
        out = torch.zeros(f.shape[0], steps, *size)
        for t in range(steps):
            out[:, t, : size[0] * max(0, 3 - t) // 4] = 1.0
        return out


def test_toy_steps_returns_the_masks_and_their_active_shares():
    masks, fractions = toy.toy_steps(_Fixed(), torch.zeros(2, 3, 4, 4), (16, 16), steps=5)
    assert masks.shape == (2, 5, 16, 16)
    np.testing.assert_allclose(fractions[0], [0.75, 0.5, 0.25, 0.0, 0.0])
    assert toy.counts_by_rule(fractions, 0.3).tolist() == [2, 2]


def test_toy_sweep_rows_and_the_runs_of_one_setting():
    gen = torch.Generator().manual_seed(0)
    f, _, counts = toy.disc_batch(6, gen, size=(16, 16))
    models = []
    rows = toy.toy_sweep([(0, 1e-3, 1), (1, 1e-3, 1), (0, 3e-3, 20), (0, 1e-3, 1, True)], 2, f, counts,
                         size=(16, 16), models=models)
    assert [(r["seed"], r["lr"], r["end-of-sequence weight"], r["canvas feedback"]) for r in rows] == [
        (0, 1e-3, 1, "no"), (1, 1e-3, 1, "no"), (0, 3e-3, 20, "no"), (0, 1e-3, 1, "yes")]
    # each run's model, in order: the canvas run's cell reads its emitted masks back
    assert len(models) == 4 and [m.config.canvas_feedback for m in models] == [False, False, False, True]
    assert [r["seed"] for r in toy.sweep_runs(rows, 1e-3, 1, canvas=True)] == [0]
    for r in rows:
        assert 0 <= r["count right"] <= 1 and 0 <= r["mean count"] <= 5 and r["final cost per disc"] >= 0
    assert [r["seed"] for r in toy.sweep_runs(rows, 1e-3, 1)] == [0, 1]
    assert toy.sweep_runs(rows, 1e-3, 20) == []
