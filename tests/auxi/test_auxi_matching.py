"""Hand-built matching cases: thresholds at their exact values, low-quality matches and their
ties, ignore rows (IoU and intersection-over-anchor), padded rows."""

import math

import torch

from mono3d.auxi import make_feature
from mono3d.contracts import GroundTruth

ANCHOR_RULES = {
    "fg_iou_thresh": 0.7,
    "bg_iou_thresh": 0.3,
    "allow_low_quality_matches": True,
    "ignore_ioa_thresh": 0.5,
    "batch_size_per_image": None,  # no sampling: the labels of the matching itself
}


def truth(rows, ignore=(), valid=None) -> GroundTruth:
    """One image; rows are (x1, y1, x2, y2); ``ignore`` lists DontCare row indices; row k's
    category is k + 1 (so a match names its row)."""
    n = len(rows)
    box = torch.tensor([rows], dtype=torch.float32).view(1, n, 4)
    valid_mask = torch.ones(1, n, dtype=torch.bool) if valid is None else torch.tensor([valid])
    ignore_mask = torch.zeros(1, n, dtype=torch.bool)
    ignore_mask[0, list(ignore)] = True
    return GroundTruth(
        bbox2d=box,
        bbox3d=torch.ones(1, n, 6),
        yaw=torch.zeros(1, n, 1),
        category=torch.arange(1, n + 1).view(1, n, 1),
        valid=valid_mask,
        ignore=ignore_mask & valid_mask,
    )


def labels(anchors, gt, **overrides):
    """(object labels, matched GT row or -1) of each anchor."""
    rules = ANCHOR_RULES | overrides
    out = make_feature(gt, torch.tensor([anchors], dtype=torch.float32), **rules, raw_fields=True)
    return out.object[0, :, 0].tolist(), (out.category[0, :, 0] - 1).tolist()


def test_thresholds_are_inclusive_for_fg_and_exclusive_for_bg():
    gt = truth([[0, 0, 10, 10]])
    anchors = [
        [0, 0, 10, 7],  # IoU 0.7: positive
        [0, 0, 10, 3],  # IoU 0.3: neither (bg is IoU < 0.3)
        [0, 0, 10, 2.9],  # IoU 0.29: negative
        [0, 0, 10, 10],  # IoU 1
    ]
    got, _ = labels(anchors, gt, allow_low_quality_matches=False)
    assert got == [1, -1, 0, 1]


def test_each_object_keeps_its_best_anchors_including_ties():
    gt = truth([[0, 0, 10, 10], [100, 100, 110, 110]])
    anchors = [
        [5, 0, 15, 10],  # IoU 1/3 with row 0
        [-5, 0, 5, 10],  # the same IoU 1/3 (mirror image): tied best
        [0, 6, 10, 16],  # IoU 0.25
        [104, 100, 114, 110],  # IoU 6/14 with row 1: its best, a low-quality positive
    ]
    got, matched = labels(anchors, gt)
    assert got == [1, 1, 0, 1]
    assert matched[0] == matched[1] == 0 and matched[3] == 1
    got, _ = labels(anchors, gt, allow_low_quality_matches=False)
    assert got == [-1, -1, 0, -1]


def test_an_object_no_anchor_overlaps_makes_no_positive():
    gt = truth([[500, 500, 520, 520]])
    got, _ = labels([[0, 0, 10, 10], [20, 20, 40, 40]], gt)
    assert got == [0, 0]


def test_a_positive_is_matched_to_the_object_it_overlaps_most():
    gt = truth([[0, 0, 10, 10], [0, 0, 10, 9]])
    got, matched = labels([[0, 0, 10, 9.5]], gt)
    assert got == [1] and matched == [0]  # IoU 0.95 with row 0 and 0.947 with row 1


def test_ignore_rows_by_iou_and_by_intersection_over_anchor():
    gt = truth([[0, 0, 100, 100], [300, 0, 340, 40]], ignore=[0])
    anchors = [
        [10, 10, 20, 20],  # inside the DontCare region: IoA 1 (IoU 0.01) -> ignored
        [90, 0, 130, 20],  # IoA 0.25, IoU 0.019 -> negative
        [50, 0, 150, 100],  # IoA exactly 0.5 (not > 0.5) but IoU 1/3 >= 0.3 -> ignored
        [60, 0, 140, 100],  # IoA exactly 0.5, IoU 0.286 < 0.3 -> negative
        [60, 0, 139, 100],  # IoA 0.506 > 0.5 -> ignored
        [300, 0, 340, 40],  # the object: positive
    ]
    got, matched = labels(anchors, gt)
    assert got == [-1, 0, -1, 0, -1, 1]
    assert matched[5] == 1
    # the ignore row is no object: no low-quality match is made for it
    assert labels([[10, 10, 20, 20]], truth([[0, 0, 100, 100]], ignore=[0]))[0] == [-1]


def test_positive_anchor_inside_dontcare_stays_positive():
    gt = truth([[0, 0, 100, 100], [10, 10, 30, 30]], ignore=[0])
    got, matched = labels([[10, 10, 30, 30]], gt)
    assert got == [1] and matched == [1]


def test_padded_rows_never_act_even_holding_boxes_or_nan():
    anchors = [[0, 0, 10, 10], [50, 50, 60, 60]]
    for junk in ([0, 0, 10, 10], [math.nan] * 4, [50, 50, 60, 60]):
        gt = truth([[50, 50, 60, 60], junk], valid=[True, False])
        got, matched = labels(anchors, gt)
        assert got == [0, 1] and matched[1] == 0


def test_no_ground_truth_at_all_makes_every_box_negative():
    empty = GroundTruth(
        bbox2d=torch.zeros(2, 0, 4),
        bbox3d=torch.zeros(2, 0, 6),
        yaw=torch.zeros(2, 0, 1),
        category=torch.zeros(2, 0, 1, dtype=torch.long),
        valid=torch.zeros(2, 0, dtype=torch.bool),
        ignore=torch.zeros(2, 0, dtype=torch.bool),
    )
    anchors = torch.rand(2, 7, 4) + torch.tensor([0, 0, 1, 1])
    out = make_feature(empty, anchors, **ANCHOR_RULES)
    assert out.object.shape == (2, 7, 1) and (out.object == 0).all()
