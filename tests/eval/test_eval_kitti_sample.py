"""The real KITTI sample: its labels as detections, then jittered copies. Average precision
falls as the jitter grows (fixed seeds: each object's noise direction is fixed, its size
grows with the scale)."""

import numpy as np
import pytest

from mono3d.eval import evaluate, read_kitti_folders
from mono3d.eval.testing import jitter_annos

SCALES = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)


@pytest.fixture(scope="module")
def sample(kitti_sample):
    ids, gt, _ = read_kitti_folders(kitti_sample, None)  # the ground truth alone
    assert len(ids) == 11
    return gt


@pytest.fixture(scope="module")
def results(sample):
    return [evaluate(sample, jitter_annos(sample, scale, seed=4)) for scale in SCALES]


def test_unjittered_labels_reach_the_small_set_cap(sample, results):
    exact = results[0]
    counted = exact.curves[("strict", "Car", "bbox", "moderate")].num_gt
    # every counted car found: (n - 1)/40, the cap of a set this small
    assert exact.get("Car", "3d") == pytest.approx((counted - 1) / 40 * 100)
    assert exact.get("Car", "aos") == pytest.approx(exact.get("Car", "bbox"))


@pytest.mark.parametrize("metric", ["bbox", "bev", "3d", "aos"])
@pytest.mark.parametrize("cls", ["Car", "Pedestrian"])
def test_ap_falls_as_the_jitter_grows(results, cls, metric):
    for setting in ("strict", "loose"):
        for interp in ("R40", "R11"):
            for difficulty in ("easy", "moderate", "hard"):
                values = [r.ap[setting][interp][cls][metric][difficulty] for r in results]
                assert all(np.diff(values) <= 1e-9), (setting, interp, difficulty, values)
    moderate = [r.get(cls, metric, "moderate", interpolation="R11") for r in results]
    assert moderate[-1] < moderate[0], moderate
