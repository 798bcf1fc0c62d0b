"""Small cases whose AP is worked out by hand (calculations in the comments).

Reminder of the procedure (the devkit's): pass 1 collects the scores of the true positives;
getThresholds keeps, walking them in descending order, those nearest the recall steps
0, 1/40, 2/40, ... (with fewer than 41 counted objects: all of them); pass 2 counts TP and FP
at each kept score; precision[k] = TP/(TP+FP) at the k-th threshold, 0 beyond the last,
then precision[k] = max(precision[k:]). R40 = mean of precision[1..40], R11 = mean of
precision[0, 4, .., 40], in percent.
"""

import math

import numpy as np
import pytest

from mono3d.eval import evaluate
from mono3d.eval.testing import make_anno

TALL = 100.0  # a 2D box this tall counts at every difficulty


def box(x, height=TALL, width=50.0, y=100.0):
    return [x, y, x + width, y + height]


def test_two_frames_r40_r11_and_aos():
    # frame 0: cars g1, g2; detections a (0.9, on g1), b (0.8, on nothing), c (0.6, on g2)
    # frame 1: cars g3, g4; detections d (0.7, on g3), e (0.5, on nothing); g4 is missed
    gt = [
        make_anno(["Car", "Car"], [box(0), box(300)], alpha=[0.0, 0.0]),
        make_anno(["Car", "Car"], [box(0), box(300)], alpha=[0.0, 0.0]),
    ]
    # alpha errors: a exact (similarity 1), c off by pi (0), d off by pi/2 (0.5)
    dt = [
        make_anno(
            ["Car", "Car", "Car"],
            [box(0), box(600), box(300)],
            score=[0.9, 0.8, 0.6],
            alpha=[0.0, 0.0, math.pi],
        ),
        make_anno(["Car", "Car"], [box(0), box(900)], score=[0.7, 0.5], alpha=[math.pi / 2, 0.0]),
    ]
    result = evaluate(gt, dt)
    # pass 1: TP scores 0.9, 0.6, 0.7; 4 counted objects.
    # getThresholds (n_gt = 4): every TP score is kept (steps of 1/4 > 1/40): 0.9, 0.7, 0.6
    # pass 2:  t = 0.9: {a}        TP 1 FP 0 -> 1
    #          t = 0.7: {a, b, d}  TP 2 FP 1 -> 2/3
    #          t = 0.6: {a,b,c,d}  TP 3 FP 1 -> 3/4     (e at 0.5 is below every threshold)
    # interpolated: [1, 3/4, 3/4, 0, ...]
    # R40 = (3/4 + 3/4) / 40 = 3.75 %;  R11 = precision[0] / 11 = 1/11 = 9.0909 %
    curve = result.curves[("strict", "Car", "bbox", "moderate")]
    assert curve.thresholds.tolist() == [0.9, 0.7, 0.6]
    assert curve.tp.tolist() == [1, 2, 3] and curve.fp.tolist() == [0, 1, 1]
    for difficulty in ("easy", "moderate", "hard"):
        assert result.get("Car", "bbox", difficulty) == pytest.approx(3.75)
        assert result.get("Car", "bbox", difficulty, interpolation="R11") == pytest.approx(100 / 11)
    # AOS: similarity sums 1 | 1 + 0.5 | 1 + 0.5 + 0 over TP+FP 1 | 3 | 4 -> 1, 0.5, 0.375
    # interpolated [1, 0.5, 0.375, 0, ...]: R40 = (0.5 + 0.375)/40 = 2.1875 %, R11 = 1/11
    assert result.get("Car", "aos") == pytest.approx(2.1875)
    assert result.get("Car", "aos", interpolation="R11") == pytest.approx(100 / 11)
    # no 3D overlap anywhere (detections stand at z = 40 m, objects at 20 m)
    assert result.get("Car", "3d") == 0.0 and result.get("Car", "bev") == 0.0


def test_eighty_objects_sampled_every_other_recall_step():
    # 80 frames with one car each, all detected (TP i has score 1 - i/100, i = 0..79);
    # 40 false positives, FP j scored just above TP 40 + j (j = 0..39).
    gt, dt = [], []
    for i in range(80):
        names, boxes, scores = ["Car"], [box(0)], [1.0 - i / 100]
        if i >= 40:
            names.append("Car")
            boxes.append(box(600))
            scores.append(1.0 - i / 100 + 0.005)
        gt.append(make_anno(["Car"], [box(0)]))
        dt.append(make_anno(names, boxes, score=scores))
    result = evaluate(gt, dt)
    # getThresholds, n_gt = 80: score i (recall (i+1)/80) is kept when the mean of its recall
    # and the next, (2i+3)/160, reaches the target k/40 = 4k/160: i = 0 (k = 0), then
    # i = 2k - 1 (k = 1..40): 41 thresholds, the last at i = 79.
    # At threshold s_i with i >= 40: TP = i + 1, FP = i - 39. So precision_k = 1 for
    # k <= 20 (i <= 39) and (2k)/(4k - 40) = k/(2k - 20) for k = 21..40 (decreasing,
    # so the interpolation keeps it).
    p = [1.0] * 21 + [k / (2 * k - 20) for k in range(21, 41)]
    r40 = sum(p[1:]) / 40 * 100  # = (20 + sum_{k=21}^{40} k/(2k-20)) / 40
    r11 = sum(p[::4]) / 11 * 100  # = (6 + 24/28 + 28/36 + 32/44 + 36/52 + 40/60) / 11
    curve = result.curves[("strict", "Car", "bbox", "moderate")]
    assert curve.thresholds.size == 41
    np.testing.assert_allclose(curve.precision, p, atol=1e-12)
    assert result.get("Car", "bbox") == pytest.approx(r40)
    assert result.get("Car", "bbox", interpolation="R11") == pytest.approx(r11)
    assert r40 == pytest.approx(88.325, abs=1e-3) and r11 == pytest.approx(88.374, abs=1e-3)


def test_ignored_objects_dont_care_and_small_detections():
    # one frame: car g1 (counted), van v (neighbour of Car), car g2 with occlusion 2 (only
    # "hard" counts it), a DontCare region R.
    # detections: f 0.99 (20 px tall: too small, ignored), e 0.95 (inside R), a 0.9 on g1,
    # b 0.8 on v, c 0.7 on g2.
    def scene(van="Van", dont_care=True, f_height=20.0):
        names = ["Car", van, "Car"] + (["DontCare"] if dont_care else [])
        boxes = [box(0), box(200), box(400)] + ([box(800, width=200)] if dont_care else [])
        gt = make_anno(names, boxes, occluded=[0, 0, 2] + ([-1] if dont_care else []))
        dt = make_anno(
            ["Car"] * 5,
            [box(600, height=f_height), box(850, width=60), box(0), box(200), box(400)],
            score=[0.99, 0.95, 0.9, 0.8, 0.7],
        )
        return evaluate([gt], [dt])

    result = scene()
    # moderate: g2 is ignored, so c (matched to it) is neither TP nor FP; b on the van is
    # neither; e lies in R (intersection / its area = 1 > 0.7); f is too small.
    # TP scores {0.9} -> thresholds [0.9]: TP 1, FP 0.
    moderate = result.curves[("strict", "Car", "bbox", "moderate")]
    assert moderate.thresholds.tolist() == [0.9]
    assert moderate.tp.tolist() == [1] and moderate.fp.tolist() == [0]
    # hard: g2 counts: TP scores {0.9, 0.7} -> thresholds [0.9, 0.7] (n_gt = 2)
    # t = 0.9: TP 1 FP 0; t = 0.7: TP 2 FP 0 -> precision [1, 1]: R40 = 1/40 = 2.5 %
    hard = result.curves[("strict", "Car", "bbox", "hard")]
    assert hard.tp.tolist() == [1, 2] and hard.fp.tolist() == [0, 0]
    assert result.get("Car", "bbox", "hard") == pytest.approx(2.5)
    # DontCare regions are 2D: in BEV, e (far from every object in 3D) is a false positive,
    # and so is every other detection here: no TP at all
    assert result.curves[("strict", "Car", "bev", "hard")].tp.size == 0
    # controls: each ignore rule removed, the detection it covered turns false positive
    assert scene(van="Truck").curves[("strict", "Car", "bbox", "hard")].fp.tolist() == [0, 1]
    assert scene(dont_care=False).curves[("strict", "Car", "bbox", "hard")].fp.tolist() == [1, 1]
    assert scene(f_height=60.0).curves[("strict", "Car", "bbox", "hard")].fp.tolist() == [1, 1]


def test_height_limits_follow_the_devkit():
    # ground truth: counted when taller than the limit (a 40.0 px car is not "easy", 40.5 is);
    # detections: the devkit truncates the height to an integer first (24.9 -> 24 < 25).
    gt = [make_anno(["Car", "Car"], [box(0, height=40.0), box(300, height=40.5)])]
    dt = [make_anno(["Car", "Car"], [box(0, height=40.0), box(300, height=40.5)], score=[0.9, 0.8])]
    easy = evaluate(gt, dt).curves[("strict", "Car", "bbox", "easy")]
    assert easy.num_gt == 1
    # the 40.0 px detection matches the (ignored) 40.0 px object: neither TP nor FP
    assert easy.tp.tolist() == [1] and easy.fp.tolist() == [0]

    # detections of 24.9 px (-> 24, ignored) and 25.0 px (counted, on nothing: a false
    # positive), and a true positive scored lower (0.5) to give pass 2 a threshold
    gt = [make_anno(["Car"], [box(0, height=60.0)])]
    dt = [
        make_anno(
            ["Car", "Car", "Car"],
            [box(300, height=24.9), box(600, height=25.0), box(0, height=60.0)],
            score=[0.9, 0.8, 0.5],
        )
    ]
    moderate = evaluate(gt, dt).curves[("strict", "Car", "bbox", "moderate")]
    assert moderate.thresholds.tolist() == [0.5]
    assert moderate.tp.tolist() == [1] and moderate.fp.tolist() == [1]


def test_equal_scores_first_detection_wins():
    # objects A (x 0..100) and B (x 20..120); detections d0 and d1 with the same score 0.9:
    # d0 = A's box shifted by 10 (IoU 0.82 with A, 0.82 with B), d1 = A's box (IoU 1 with A).
    # pass 1 visits A first; among equal scores the first detection (d0) wins, so B finds no
    # free candidate: TP scores [0.9] (n_gt = 2) -> one threshold, 0.9.
    # pass 2 (largest overlap): A takes d1 (IoU 1), B takes d0: TP 2, FP 0 -> precision 1.
    # Had the later detection won the tie, pass 1 would give two thresholds [0.9, 0.9] and
    # R40 would be 1/40 = 2.5 % instead of 0.
    gt = [make_anno(["Car", "Car"], [box(0, width=100), box(20, width=100)])]
    dt = [make_anno(["Car", "Car"], [box(10, width=100), box(0, width=100)], score=[0.9, 0.9])]
    result = evaluate(gt, dt)
    curve = result.curves[("strict", "Car", "bbox", "moderate")]
    assert curve.thresholds.tolist() == [0.9]
    assert curve.tp.tolist() == [2] and curve.fp.tolist() == [0]
    assert result.get("Car", "bbox") == 0.0
    assert result.get("Car", "bbox", interpolation="R11") == pytest.approx(100 / 11)
