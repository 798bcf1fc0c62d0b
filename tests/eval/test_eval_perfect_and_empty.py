"""Ground truth scored against itself, the cap the official sampling puts on small sets, and
empty results."""

import numpy as np
import pytest

from mono3d.eval import evaluate, image_overlap
from mono3d.eval.testing import make_anno, synthetic_ground_truth


def as_detections(gt_annos, rng=None):
    """Every object but DontCare, as a detection (random distinct scores, or all 1)."""
    dets = []
    for gt in gt_annos:
        keep = gt["name"] != "DontCare"
        det = {k: v[keep] for k, v in gt.items()}
        n = int(keep.sum())
        det["score"] = rng.uniform(0.1, 1.0, size=n) if rng is not None else np.ones(n)
        dets.append(det)
    return dets


def apart_in_the_image(gt_annos, max_iou=0.2):
    """Drop objects whose 2D box overlaps an earlier one's by more than ``max_iou``: with
    heavy occlusion even perfect detections can match the wrong object (the devkit matches
    greedily), and the set would not score exactly 100."""
    out = []
    for gt in gt_annos:
        iou = image_overlap(gt["bbox"], gt["bbox"])
        clash = np.tril(iou > max_iou, k=-1).any(axis=1)
        out.append({k: v[~clash] for k, v in gt.items()})
    return out


@pytest.fixture(scope="module")
def large_set():
    mix = {"Car": 1.0, "Pedestrian": 1.0, "Cyclist": 1.0, "Van": 0.2, "Person_sitting": 0.2}
    gt = synthetic_ground_truth(300, objects_per_frame=6.0, seed=3, mix=mix)
    return apart_in_the_image(gt)


@pytest.mark.parametrize("random_scores", [False, True])
def test_ground_truth_against_itself_scores_100(large_set, random_scores):
    rng = np.random.default_rng(0) if random_scores else None
    result = evaluate(large_set, as_detections(large_set, rng))
    for (_, cls, _, difficulty), curve in result.curves.items():
        # large enough for the official sampling: 41 thresholds, no cap
        assert curve.num_gt >= 41, (cls, difficulty, curve.num_gt)
        assert curve.thresholds.size == 41
    for setting in ("strict", "loose"):
        for interp in ("R40", "R11"):
            for cls in result.classes:
                for metric in ("bbox", "bev", "3d", "aos"):
                    for difficulty in ("easy", "moderate", "hard"):
                        value = result.ap[setting][interp][cls][metric][difficulty]
                        assert value == pytest.approx(100.0), (setting, interp, cls, metric)


@pytest.mark.parametrize(
    ("count", "r40", "r11"),
    [
        # n < 41 perfect detections: each TP score becomes a threshold, precision is 1 at
        # the first n sampled points and 0 after: R40 = (n - 1)/40, R11 = #{0,4,..,40 < n}/11
        (1, 0.0, 100 / 11),
        (10, 22.5, 300 / 11),
        (40, 97.5, 1000 / 11),
        (41, 100.0, 100.0),
    ],
)
def test_small_sets_are_capped_as_the_official_tool_does(count, r40, r11):
    gt = [make_anno(["Car"], [[0.0, 100.0, 50.0, 200.0]]) for _ in range(count)]
    dt = [dict(g, score=np.array([0.5 + i / 1000])) for i, g in enumerate(gt)]
    result = evaluate(gt, dt)
    for metric in ("bbox", "bev", "3d", "aos"):
        assert result.get("Car", metric, "easy") == pytest.approx(r40)
        assert result.get("Car", metric, "easy", interpolation="R11") == pytest.approx(r11)


def test_no_detections_give_zero(large_set):
    empty = [make_anno([], np.zeros((0, 4)), score=[]) for _ in large_set]
    result = evaluate(large_set, empty)
    values = [
        v
        for s in result.ap.values()
        for i in s.values()
        for c in i.values()
        for m in c.values()
        for v in m.values()
    ]
    assert len(values) == 2 * 2 * 3 * 4 * 3 and all(v == 0.0 for v in values)


def test_unknown_alpha_switches_aos_off(large_set):
    dets = as_detections(large_set[:20])
    dets[3]["alpha"][:] = -10.0
    result = evaluate(large_set[:20], dets)
    assert result.get("Car", "aos") is None
    assert result.get("Car", "bbox") > 0
    assert '"aos": {"easy": null' in result.to_json(indent=None)


def test_mismatched_inputs_are_named():
    gt = [make_anno(["Car"], [[0.0, 100.0, 50.0, 200.0]])]
    with pytest.raises(ValueError, match="gt_annos has 1 frames but dt_annos has 0"):
        evaluate(gt, [])
    bad = make_anno(["Car"], [[0.0, 100.0, 50.0, 200.0]], score=[0.5])
    del bad["score"]
    with pytest.raises(ValueError, match=r"dt_annos\[0\]: missing key\(s\) \['score'\]"):
        evaluate(gt, [bad])
    bad = make_anno(["Car"], [[0.0, 100.0, 50.0, 200.0]], score=[0.5])
    bad["bbox"] = bad["bbox"][:, :3]
    with pytest.raises(ValueError, match=r"dt_annos\[0\]: 'bbox' must have shape \(1, 4\)"):
        evaluate(gt, [bad])
    with pytest.raises(ValueError, match="no IoU for class 'Tram2'"):
        evaluate(gt, gt, classes=("Car", "Tram2"))
