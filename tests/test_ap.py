"""Tests of COCO-style average precision, cross-checked against pycocotools."""
import contextlib
import io

import numpy as np
import pytest
import torch

from robotpose_lib.ap import (
    COCO_IOU_THRESHOLDS,
    ap_table,
    average_precision,
    box_iou,
    counting_accuracy,
    format_table,
    instances_to_detections,
)
from robotpose_lib.structures import mask_iou, masks_to_boxes
from robotpose_lib.models.instances import Instance

H, W = 24, 32


def _random_blob(rng):
    """A boolean (H, W) mask: an axis-aligned ellipse at a random place."""
    v, u = np.mgrid[0:H, 0:W]
    cu, cv = rng.uniform(4, W - 4), rng.uniform(4, H - 4)
    au, av = rng.uniform(2, 9), rng.uniform(2, 7)
    return ((u - cu) / au) ** 2 + ((v - cv) / av) ** 2 <= 1


def _random_test_set(seed=0, images=14):
    """Ground-truth masks and noisy predicted masks with scores, some images empty."""
    rng = np.random.default_rng(seed)
    gts, preds, scores = [], [], []
    for i in range(images):
        gt = [_random_blob(rng) for _ in range(rng.integers(0, 4))]
        pred = []
        for mask in gt:
            if rng.random() < 0.8:  # detected, shifted by a few pixels
                pred.append(np.roll(mask, (rng.integers(-1, 2), rng.integers(-1, 2)), axis=(0, 1)))
        pred += [_random_blob(rng) for _ in range(rng.integers(0, 3))]  # false positives
        s = rng.uniform(0.3, 1.0, len(pred))
        if len(s) > 1 and i % 3 == 0:
            s[1] = s[0]  # a tie, to exercise the ranking's stable order
        gts.append(np.array(gt, dtype=bool).reshape(-1, H, W))
        preds.append(np.array(pred, dtype=bool).reshape(-1, H, W))
        scores.append(s)
    return gts, preds, scores


def _pycocotools_precision(gts, preds, scores, kind):
    """pycocotools' (T, 101) precision and AP@[.5:.95] for the same data."""
    from pycocotools import mask as mask_utils
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    def xywh(box):
        return [float(box[0]), float(box[1]), float(box[2] - box[0]), float(box[3] - box[1])]

    def rle(mask):
        return mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))

    dataset = {"images": [], "annotations": [], "categories": [{"id": 1, "name": "robot"}]}
    results = []
    for i, (gt, pred, s) in enumerate(zip(gts, preds, scores)):
        dataset["images"].append({"id": i + 1, "height": H, "width": W})
        for mask, box in zip(gt, masks_to_boxes(gt)):
            ann = {"id": len(dataset["annotations"]) + 1, "image_id": i + 1, "category_id": 1, "iscrowd": 0}
            ann.update(area=float(mask.sum()), bbox=xywh(box), segmentation=rle(mask))
            dataset["annotations"].append(ann)
        for mask, box, score in zip(pred, masks_to_boxes(pred), s):
            result = {"image_id": i + 1, "category_id": 1, "score": float(score)}
            result.update(bbox=xywh(box)) if kind == "box" else result.update(segmentation=rle(mask))
            results.append(result)
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = dataset
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(results)
        evaluator = COCOeval(coco_gt, coco_dt, "bbox" if kind == "box" else "segm")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    # precision: [T, R, K, A, M]; area range 'all', maxDets 100
    return evaluator.eval["precision"][:, :, 0, 0, 2], evaluator.stats[0]


@pytest.mark.parametrize("kind", ["box", "mask"])
def test_agrees_with_pycocotools(kind):
    gts, preds, scores = _random_test_set()
    regions_pred = [masks_to_boxes(p) for p in preds] if kind == "box" else preds
    regions_gt = [masks_to_boxes(g) for g in gts] if kind == "box" else gts
    result = average_precision(scores, regions_pred, regions_gt, kind=kind)
    coco_precision, coco_ap = _pycocotools_precision(gts, preds, scores, kind)
    assert 0.05 < result.mean_ap < 0.95  # a test set that is neither trivial nor hopeless
    np.testing.assert_allclose(result.precision, coco_precision, atol=1e-9)
    assert result.mean_ap == pytest.approx(coco_ap, abs=1e-9)


def test_hand_computed_ap():
    gt = [np.array([[0.0, 0.0, 10.0, 10.0]])]
    # a confident false positive, then the true positive: precision 1/2 at recall 1
    pred = [np.array([[20.0, 20.0, 30.0, 30.0], [0.0, 0.0, 10.0, 10.0]])]
    result = average_precision([np.array([0.9, 0.8])], pred, gt, kind="box")
    np.testing.assert_allclose(result.ap, 0.5)
    recall, precision = result.curves[0]
    np.testing.assert_allclose(recall, [0.0, 1.0])
    np.testing.assert_allclose(precision, [0.0, 0.5], atol=1e-12)
    # ranked the other way round the same detections are perfect
    perfect = average_precision([np.array([0.8, 0.9])], pred, gt, kind="box")
    np.testing.assert_allclose(perfect.ap, 1.0)


def test_iou_thresholds_decide_true_positives():
    gt = [np.array([[0.0, 0.0, 10.0, 10.0]])]
    pred = [np.array([[0.0, 0.0, 10.0, 7.0]])]  # IoU 0.7
    result = average_precision([np.array([1.0])], pred, gt, kind="box")
    expected = np.where(COCO_IOU_THRESHOLDS <= 0.7 + 1e-12, 1.0, 0.0)
    np.testing.assert_allclose(result.ap, expected)


def test_iou_helpers():
    a = np.array([[0.0, 0.0, 2.0, 2.0], [5.0, 5.0, 5.0, 9.0]])
    b = np.array([[1.0, 1.0, 3.0, 3.0]])
    np.testing.assert_allclose(box_iou(a, b), [[1 / 7], [0.0]])
    m = np.zeros((2, 4, 4), bool)
    m[0, :2] = True
    m[1, 1:3] = True
    np.testing.assert_allclose(mask_iou(m, m), [[1.0, 4 / 12], [4 / 12, 1.0]])
    np.testing.assert_allclose(masks_to_boxes(m), [[-0.5, -0.5, 3.5, 1.5], [-0.5, 0.5, 3.5, 2.5]])


def test_counting_accuracy_by_true_count():
    rows = counting_accuracy([1, 2, 2, 0, 3], [1, 2, 3, 0, 3])
    by_count = {row["true_count"]: row for row in rows}
    assert by_count[3]["images"] == 2 and by_count[3]["accuracy"] == 0.5
    assert by_count[3]["mean_predicted"] == 2.5
    assert by_count[1]["accuracy"] == 1.0 and by_count["all"]["accuracy"] == 0.8


def test_instances_to_detections_and_table():
    mask = torch.zeros(6, 8)
    mask[1:3, 2:5] = 0.9
    empty_box = torch.full((6, 8), 0.55)
    scores, boxes, masks = instances_to_detections([Instance(mask, 0.9, torch.tensor([1.5, 0.5, 4.5, 2.5])),
                                                    Instance(empty_box, 0.55, None)])
    np.testing.assert_allclose(scores, [0.9, 0.55])
    np.testing.assert_allclose(boxes, [[1.5, 0.5, 4.5, 2.5], [0, 0, 0, 0]])
    assert masks.shape == (2, 6, 8) and masks[0].sum() == 6 and masks[1].all()
    result = average_precision([scores], [boxes], [np.array([[1.5, 0.5, 4.5, 2.5]])])
    rows = ap_table({"box": result})
    assert rows[0]["IoU"] == "0.50" and rows[-1]["IoU"] == "0.50:0.95" and len(rows) == 11
    assert rows[-1]["box"] == pytest.approx(1.0)
    assert "0.50:0.95" in format_table(rows)


def test_bad_inputs_raise_one_clear_error():
    with pytest.raises(ValueError, match="kind"):
        average_precision([], [], [], kind="polygon")
    with pytest.raises(ValueError, match="one entry per image"):
        average_precision([np.zeros(1)], [], [])
    with pytest.raises(ValueError, match=r"predicted\[0\]"):
        average_precision([np.zeros(2)], [np.zeros((1, 4))], [np.zeros((1, 4))])
