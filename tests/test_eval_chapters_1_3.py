"""Measurements that chapters 2 and 3 read (robotpose_lib.eval): where the instance steps
light up, and which real-photo predictions to show and how many name the wrong joint."""
import numpy as np
import pytest

from robotpose_lib.eval.instances import activation_on_robots
from robotpose_lib.eval.real import PhotoResult, best_and_worst, wrong_joints


def test_activation_on_robots_separates_robots_from_background():
    truth = np.zeros((2, 10, 10), bool)
    truth[0, :2, :5] = True   # 10 pixels
    truth[1, 8:, 5:] = True   # 10 pixels
    steps = np.zeros((3, 10, 10))
    steps[0][truth[0]] = 0.9          # step 1: robot 0 exactly (10 pixels)
    steps[1][4:6, :] = 0.9            # step 2: 20 pixels of background
    steps[2][:] = 0.9                 # step 3 (after the 2 robots): not counted
    a = activation_on_robots([steps], [truth])
    assert a["on_robot"] == pytest.approx(10 / 30)
    assert a["activated"] == pytest.approx(30 / 200) and a["robot_area"] == pytest.approx(0.2)
    assert (a["scenes"], a["steps"]) == (1, 2)
    # a scene without robots is skipped; nothing activated: NaN
    empty = activation_on_robots([np.zeros((2, 10, 10))], [np.zeros((0, 10, 10))])
    assert empty["scenes"] == 0 and np.isnan(empty["on_robot"])
    with pytest.raises(ValueError, match="scenes"):
        activation_on_robots([steps], [])
    with pytest.raises(ValueError, match="differ in size"):
        activation_on_robots([steps], [truth[:, :5]])


def _photo(name, pred, true):
    pred, true = np.asarray(pred, float), np.asarray(true, float)
    err = np.linalg.norm(pred - true, axis=1)
    return PhotoResult(name, pred, true, err, np.zeros((len(pred), 3)), np.zeros((len(pred), 3)),
                       np.ones(len(pred)))


TRUE = [[0, 0], [100, 0], [200, 0]]
NAN = [np.nan, np.nan]


def test_best_and_worst_by_median_among_photos_with_a_joint():
    photos = [_photo("a", [[5, 0], [105, 0], [205, 0]], TRUE),        # median 5
              _photo("none", [NAN, NAN, NAN], TRUE),                   # nothing found
              _photo("b", [[1, 0], [101, 0], NAN], TRUE),              # median 1
              _photo("c", [[50, 0], [150, 0], [250, 0]], TRUE),        # median 50
              _photo("d", [[20, 0], NAN, NAN], TRUE),                  # median 20
              _photo("e", [[9, 0], [109, 0], [209, 0]], TRUE)]         # median 9
    pick, medians, found = best_and_worst(photos, k=2)
    assert pick == [2, 0, 4, 3]  # b, a best; d, c worst
    assert np.isinf(medians[1]) and found.tolist() == [3, 0, 2, 3, 1, 3]
    pick, _, _ = best_and_worst(photos[:3], k=2)  # fewer than 4 with a joint: all of them
    assert pick == [2, 0]


def test_wrong_joints_counts_joints_found_at_another_joint():
    photos = [_photo("swap", [[100, 2], [0, 3], [200, 1]], TRUE),  # joints 1 and 2 swapped
              _photo("lost", [[0, 60], NAN, [201, 0]], TRUE)]     # joint 1 far from all
    assert wrong_joints(photos, tolerance_px=10) == [(2, 2), (1, 0)]
    assert wrong_joints(photos, tolerance_px=200) == [(0, 0), (0, 0)]
