import numpy as np
import pytest
import torch

from robotpose_lib.targets import DepthCoding
from robotpose_lib.toy_depth import WEIGHT_RADIUS_PX, toy_depth_batch, train_toy_depth


@pytest.mark.parametrize("kind", DepthCoding.KINDS)
def test_toy_targets_decode_to_the_true_depth_on_the_weight_disc(kind):
    coding = DepthCoding(0.8, 10.0, kind=kind)
    b = toy_depth_batch(5, np.random.default_rng(0), coding, size=64)
    assert b["images"].shape == (5, 3, 64, 64) and b["depth"].shape == (5, 1, 64, 64)
    assert float(b["images"].min()) >= 0 and float(b["images"].max()) <= 1
    for k in range(5):
        w = b["weight"][k, 0] > 0
        # a disc of the fixed radius, whatever the depth (every ball weighs the same)
        assert abs(int(w.sum()) - np.pi * WEIGHT_RADIUS_PX ** 2) < 12
        z = coding.decode(b["depth"][k, 0][w].double(), coding.fx_over_width_ref * 64, 64)
        torch.testing.assert_close(z, torch.full_like(z, b["z"][k]), rtol=1e-5, atol=0)
        assert torch.all(b["depth"][k, 0][~w] == 0)


def test_depth_from_apparent_size_is_learnable():
    # A few hundred steps of the paper's squared error on the code: the ball's depth comes
    # out far better than predicting the median depth everywhere (which is all a network
    # that cannot use apparent size could do).
    # (small for the test: 250 steps of 8 scenes at 48x48; 1000 steps of 16 at 64x64 reach
    # a median of 22 cm against the baseline's 213, scripts/depth_diagnosis.py --toy)
    r = train_toy_depth("log", steps=250, batch=8, size=48, focal_px=75.0, seed=0, n_test=80)
    assert r.median_cm < 0.7 * r.baseline_median_cm
    assert r.far_mean_cm < r.baseline_far_mean_cm


def test_toy_batch_rejects_bad_sizes():
    with pytest.raises(ValueError, match="toy_depth_batch"):
        toy_depth_batch(0, np.random.default_rng(0), DepthCoding())
