"""robotpose_lib.structures: the one home of mask IoU, boxes, the active fraction and the
stopping rule gives what each of the old copies (ap, decode, models, viz) gave."""
import numpy as np
import pytest
import torch

from robotpose_lib import structures
from robotpose_lib.decode import _soft_iou


def _loop_boxes(masks):
    """The old ap.masks_to_boxes (a loop over masks), kept here as the reference."""
    boxes = np.zeros((len(masks), 4))
    for r, mask in enumerate(masks):
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        if rows.size:
            boxes[r] = (cols[0] - 0.5, rows[0] - 0.5, cols[-1] + 0.5, rows[-1] + 0.5)
    return boxes


def _random_masks(seed, n=12, h=9, w=13):
    rng = np.random.default_rng(seed)
    masks = rng.random((n, h, w)) > rng.uniform(0.5, 1.0, size=(n, 1, 1))
    masks[0] = False                      # an empty mask
    masks[1] = False
    masks[1, 4, 7] = True                 # a single pixel
    return masks


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_boxes_numpy_and_torch_equal_the_old_loop(seed):
    masks = _random_masks(seed)
    expected = _loop_boxes(masks)
    got = structures.masks_to_boxes(masks)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, expected)
    got_t = structures.masks_to_boxes(torch.from_numpy(masks))
    assert got_t.dtype == torch.float32
    np.testing.assert_array_equal(got_t.numpy(), expected)
    np.testing.assert_array_equal(expected[1], [6.5, 3.5, 7.5, 4.5])
    with pytest.raises(ValueError, match="masks"):
        structures.masks_to_boxes(masks[0])


def test_activated_box_none_when_nothing_exceeds_the_threshold():
    soft = torch.zeros(5, 6)
    soft[2, 3] = 0.7
    assert structures.activated_box(soft, 0.75) is None
    torch.testing.assert_close(structures.activated_box(soft, 0.6), torch.tensor([2.5, 1.5, 3.5, 2.5]))


@pytest.mark.parametrize("seed", [0, 1])
def test_soft_iou_of_the_decoder_equals_the_old_formula(seed):
    rng = np.random.default_rng(seed)
    a, b = rng.random((2, 20, 30))
    old_a, old_b = a > 0.5, b > 0.5
    old = float(np.logical_and(old_a, old_b).sum() / np.logical_or(old_a, old_b).sum())
    assert _soft_iou(a, b) == old
    assert _soft_iou(np.zeros((4, 4)), np.zeros((4, 4))) == 0.0
    np.testing.assert_allclose(structures.mask_iou(old_a[None], old_b[None]), [[old]])


def test_active_fraction_torch_and_numpy_agree_and_the_rule():
    rng = np.random.default_rng(3)
    masks = rng.random((5, 16, 20)) * rng.random((5, 1, 1))
    numpy_fr = structures.active_fractions(masks, 0.5)
    torch_fr = structures.active_fractions(torch.from_numpy(masks).float(), 0.5)
    np.testing.assert_allclose(torch_fr.numpy(), numpy_fr, atol=1e-7)
    n = structures.count_by_rule(numpy_fr, 0.05)
    assert all(not structures.ends_sequence(f, 0.05) for f in numpy_fr[:n])
    assert n == len(numpy_fr) or structures.ends_sequence(numpy_fr[n], 0.05)
    with pytest.raises(ValueError, match="masks"):
        structures.active_fractions(torch.zeros(4, 4))


def test_stopping_fraction_is_the_largest_step_every_robot_covers():
    from robotpose_lib.structures import stopping_fraction

    assert stopping_fraction([0.0021, 0.01, 0.3]) == 0.002   # 0.5% would cut off the smallest robot
    assert stopping_fraction([0.002]) == 0.002                # covering it exactly is enough
    assert stopping_fraction([0.06, 0.2]) == 0.05             # never above the paper's 5%
    with pytest.raises(ValueError, match="below every fraction"):
        stopping_fraction([0.0005, 0.1])
    with pytest.raises(ValueError, match="no robots"):
        stopping_fraction([])
