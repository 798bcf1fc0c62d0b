"""The overlaps the evaluation uses agree with independent polygon computations (shapely),
and the candidate search (axis-aligned hull bounds) drops no pair above the floor."""

import numpy as np
import pytest

from mono3d.eval import image_overlap
from mono3d.eval._overlaps import FramePadding, image_pairs, rotated_pairs

shapely = pytest.importorskip("shapely")
from shapely.geometry import Polygon, box  # noqa: E402


def footprint(b):
    """The devkit's polygon: corners (±l/2, ±w/2) rotated by ry into (x, z)."""
    x, _, z, _, w, length, ry = b
    c, s = np.cos(ry), np.sin(ry)
    corners = [
        (length / 2, w / 2),
        (length / 2, -w / 2),
        (-length / 2, -w / 2),
        (-length / 2, w / 2),
    ]
    return Polygon([(c * a + s * q + x, -s * a + c * q + z) for a, q in corners])


def shapely_ious(d, g):
    pd, pg = footprint(d), footprint(g)
    inter = pd.intersection(pg).area
    bev = inter / (pd.area + pg.area - inter)
    rise = max(0.0, min(d[1], g[1]) - max(d[1] - d[3], g[1] - g[3]))
    vd, vg = d[3] * d[4] * d[5], g[3] * g[4] * g[5]
    return bev, inter * rise / (vd + vg - inter * rise)


def random_frames(rng, num_frames, per_frame):
    """Boxes (x y z h w l ry) in a few crowded frames: many pairs overlap a little or a lot."""
    n = num_frames * per_frame
    centre = rng.normal(0.0, 1.5, size=(n, 3)) * [1.0, 0.2, 1.0] + [0.0, 1.6, 20.0]
    size = rng.uniform(0.4, 4.5, size=(n, 3))
    ry = rng.uniform(-np.pi, np.pi, size=(n, 1))
    return np.concatenate([centre, size, ry], axis=1), np.repeat(np.arange(num_frames), per_frame)


@pytest.mark.parametrize("floors", [(0.5, 0.5), (0.25, 0.7), (1e-6, 1e-6)])
def test_rotated_pairs_match_shapely(floors):
    rng = np.random.default_rng(11)
    det, det_frame = random_frames(rng, 12, 9)
    gt, gt_frame = random_frames(rng, 12, 7)
    # the first 5 detections of each frame: noisy copies of its first 5 objects
    copies = np.nonzero(np.arange(len(det)) % 9 < 5)[0]
    sources = det_frame[copies] * 7 + np.arange(len(det))[copies] % 9
    det[copies] = gt[sources] + rng.normal(0.0, 0.15, size=(len(copies), 7))
    pairs_bev, pairs_3d = rotated_pairs(det, gt, FramePadding(det_frame, gt_frame, 12), *floors)
    expected_bev, expected_3d = {}, {}
    for j in range(len(det)):
        for i in np.nonzero(gt_frame == det_frame[j])[0]:
            bev, full = shapely_ious(det[j], gt[i])
            if bev > floors[0]:
                expected_bev[(j, int(i))] = bev
            if full > floors[1]:
                expected_3d[(j, int(i))] = full
    assert len(expected_bev) > 10 and len(expected_3d) > 5  # the case is not empty
    for pairs, expected in ((pairs_bev, expected_bev), (pairs_3d, expected_3d)):
        got = {(int(j), int(i)): o for j, i, o in zip(pairs.det_row, pairs.gt_row, pairs.overlap)}
        assert set(got) == set(expected)
        for key, value in expected.items():
            assert got[key] == pytest.approx(value, abs=1e-9)


def test_identical_boxes_overlap_fully():
    rng = np.random.default_rng(2)
    boxes, frame = random_frames(rng, 5, 4)
    bev, full = rotated_pairs(boxes, boxes, FramePadding(frame, frame, 5), 0.99, 0.99)
    same = bev.det_row == bev.gt_row
    assert same.sum() == len(boxes) and np.allclose(bev.overlap[same], 1.0)
    assert (full.det_row == full.gt_row).sum() == len(boxes)


def test_image_overlap_matches_shapely_and_the_devkit_rule():
    rng = np.random.default_rng(5)
    corner = rng.uniform(0, 300, size=(40, 2))
    boxes = np.concatenate([corner, corner + rng.uniform(1, 120, size=(40, 2))], axis=1)
    iou = image_overlap(boxes, boxes)
    over_det = image_overlap(boxes, boxes, over_det_area=True)
    for a in range(40):
        for b in range(40):
            pa, pb = box(*boxes[a]), box(*boxes[b])
            inter = pa.intersection(pb).area
            assert iou[a, b] == pytest.approx(inter / pa.union(pb).area, abs=1e-12)
            assert over_det[a, b] == pytest.approx(inter / pa.area, abs=1e-12)
    frame = np.repeat(np.arange(4), 10)
    pairs = image_pairs(boxes, boxes, FramePadding(frame, frame, 4), 0.3)
    dense = {
        (j, i) for j in range(40) for i in range(40) if frame[j] == frame[i] and iou[j, i] > 0.3
    }
    assert set(zip(pairs.det_row.tolist(), pairs.gt_row.tolist())) == dense
