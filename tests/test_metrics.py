"""Evaluation measures against hand-computed values."""
import numpy as np
import pytest

from robotpose_lib import metrics


def test_pixel_errors_and_scale():
    pred = np.array([[[0, 0], [3, 4], [np.nan, 1]]], float)
    true = np.zeros((1, 3, 2))
    e = metrics.pixel_errors(pred, true, scale=2.0)
    assert e[0, 0] == 0 and e[0, 1] == pytest.approx(10.0) and np.isnan(e[0, 2])


def test_summary_drops_nan_and_matches_numpy():
    v = np.array([1.0, 2.0, 3.0, 4.0, np.nan])
    s = metrics.summary(v)
    assert s["n"] == 4 and s["mean"] == pytest.approx(2.5) and s["50%"] == pytest.approx(2.5)
    assert s["std"] == pytest.approx(np.std([1, 2, 3, 4]))
    assert np.isnan(metrics.summary(np.array([np.nan]))["mean"])


def test_depth_errors_near_far_split():
    true = np.array([[1.0, 4.9], [5.0, 9.0]])
    pred = true + np.array([[0.01, 0.02], [0.10, -0.20]])
    region = np.array([[True, True], [True, False]])
    err, depth = metrics.depth_errors_cm(pred, true, region)
    np.testing.assert_allclose(np.sort(err), [1.0, 2.0, 10.0], atol=1e-9)
    table = metrics.near_far_table(err, depth)
    assert table["near"]["n"] == 2 and table["near"]["mean"] == pytest.approx(1.5)
    assert table["far"]["n"] == 1 and table["far"]["mean"] == pytest.approx(10.0)
    text = metrics.format_error_table(table, reference=metrics.PAPER_TABLE_I)
    assert "paper near" in text and "5.81" in text


def test_pck_counts_misses_as_wrong_and_auc_bounds():
    e = np.array([0.0, 1.0, 5.0, np.nan])
    np.testing.assert_allclose(metrics.pck(e, np.array([0.5, 1.0, 10.0])), [0.25, 0.5, 0.75])
    assert metrics.pck_auc(np.zeros(5)) == pytest.approx(1.0)
    assert metrics.pck_auc(np.full(5, 100.0)) == pytest.approx(0.0)


def test_position_errors_cm():
    e = metrics.position_errors_cm(np.array([[0.0, 0.0, 1.03]]), np.array([[0.0, 0.04, 1.0]]))
    assert e[0] == pytest.approx(5.0)


def test_sign_test_and_chance_band_by_construction():
    from robotpose_lib.metrics import chance_band, sign_test

    assert sign_test(8, 0) == pytest.approx(2 * 0.5 ** 8)      # all 8 one way: 0.0078
    assert sign_test(3, 3) == pytest.approx(1.0)
    assert np.isnan(sign_test(0, 0))
    assert chance_band(0.5, 100) == pytest.approx(0.1)          # 2 * sqrt(0.25 / 100)
    assert chance_band(0.0, 10) == 0.0
