"""The vectorised evaluation agrees, curve for curve, with a literal per-frame transcription
of the devkit's evaluate_object.cpp (cleanData, computeStatistics, getThresholds,
eval_class) whose BEV/3D overlaps come from shapely polygons, not from mono3d.geometry.

The scenes are built to hit every branch: neighbouring classes (Van, Person_sitting),
DontCare regions, objects outside a difficulty, detections too small to count (of any
class), several detections per object, detections between two objects, tied scores.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mono3d.eval import DIFFICULTIES, evaluate, score_thresholds
from mono3d.eval.testing import jitter_annos, synthetic_ground_truth

shapely = pytest.importorskip("shapely")
from shapely.geometry import Polygon  # noqa: E402

N_SAMPLE_PTS = 41
NEIGHBOUR = {"car": "van", "pedestrian": "person_sitting"}


# ---------------------------------------------------------------- the devkit, transcribed
def footprint(box):
    """Polygon of the devkit's toPolygon: corners (±l/2, ±w/2) rotated by ry, in (x, z)."""
    x, z, w, length, ry = box["x"], box["z"], box["w"], box["l"], box["ry"]
    c, s = math.cos(ry), math.sin(ry)
    pts = []
    for a, b in (
        (length / 2, w / 2),
        (length / 2, -w / 2),
        (-length / 2, -w / 2),
        (-length / 2, w / 2),
    ):
        pts.append((c * a + s * b + x, -s * a + c * b + z))
    return Polygon(pts)


def image_overlap(d, g, criterion):
    x1, y1 = max(d["x1"], g["x1"]), max(d["y1"], g["y1"])
    x2, y2 = min(d["x2"], g["x2"]), min(d["y2"], g["y2"])
    w, h = x2 - x1, y2 - y1
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    a = (d["x2"] - d["x1"]) * (d["y2"] - d["y1"])
    b = (g["x2"] - g["x1"]) * (g["y2"] - g["y1"])
    return inter / (a + b - inter) if criterion == -1 else inter / a


def ground_overlap(d, g, criterion):
    pd, pg = footprint(d), footprint(g)
    if not (pd.is_valid and pg.is_valid) or pd.area <= 0 or pg.area <= 0:
        return 0.0
    inter = pd.intersection(pg).area
    return inter / (pd.area + pg.area - inter) if criterion == -1 else inter / pd.area


def box3d_overlap(d, g, criterion):
    pd, pg = footprint(d), footprint(g)
    if not (pd.is_valid and pg.is_valid) or pd.area <= 0 or pg.area <= 0:
        return 0.0
    ymax = min(d["y"], g["y"])
    ymin = max(d["y"] - d["h"], g["y"] - g["h"])
    inter = pd.intersection(pg).area * max(0.0, ymax - ymin)
    vd, vg = d["h"] * d["w"] * d["l"], g["h"] * g["w"] * g["l"]
    if vd <= 0 or vg <= 0:
        return 0.0
    return inter / (vd + vg - inter) if criterion == -1 else inter / vd


OVERLAP = {"bbox": image_overlap, "bev": ground_overlap, "3d": box3d_overlap}


def rows(anno, with_score):
    out = []
    for k in range(len(anno["name"])):
        x1, y1, x2, y2 = (float(v) for v in anno["bbox"][k])
        h, w, length = (float(v) for v in anno["dimensions"][k])
        x, y, z = (float(v) for v in anno["location"][k])
        out.append(
            {
                "type": str(anno["name"][k]),
                "trunc": float(anno["truncated"][k]) if "truncated" in anno else 0.0,
                "occ": int(anno["occluded"][k]) if "occluded" in anno else 0,
                "alpha": float(anno["alpha"][k]),
                "x1": x1, "y1": y1, "x2": x2, "y2": y2,
                "h": h, "w": w, "l": length, "x": x, "y": y, "z": z,
                "ry": float(anno["rotation_y"][k]),
                "score": float(anno["score"][k]) if with_score else 0.0,
            }
        )  # fmt: skip
    return out


def clean_data(cls, gt, det, diff):
    ignored_gt, dc, ignored_det, n_gt = [], [], [], 0
    for g in gt:
        height = g["y2"] - g["y1"]
        if g["type"].lower() == cls:
            valid_class = 1
        elif NEIGHBOUR.get(cls) == g["type"].lower():
            valid_class = 0
        else:
            valid_class = -1
        ignore = (
            g["occ"] > diff.max_occlusion
            or g["trunc"] > diff.max_truncation
            or height <= diff.min_height
        )
        if valid_class == 1 and not ignore:
            ignored_gt.append(0)
            n_gt += 1
        elif valid_class == 0 or (ignore and valid_class == 1):
            ignored_gt.append(1)
        else:
            ignored_gt.append(-1)
    dc = [g for g in gt if g["type"].lower() == "dontcare"]
    for d in det:
        valid_class = 1 if d["type"].lower() == cls else -1
        height = int(abs(d["y1"] - d["y2"]))
        if height < diff.min_height:
            ignored_det.append(1)
        elif valid_class == 1:
            ignored_det.append(0)
        else:
            ignored_det.append(-1)
    return ignored_gt, dc, ignored_det, n_gt


def compute_statistics(
    gt, det, dc, ignored_gt, ignored_det, compute_fp, overlap, iou, aos, thresh=0.0
):
    no_detection = -10000000.0
    tp = fp = 0
    scores, delta = [], []
    assigned = [False] * len(det)
    below = [compute_fp and d["score"] < thresh for d in det]
    for i, g in enumerate(gt):
        if ignored_gt[i] == -1:
            continue
        det_idx, valid_detection, max_overlap, assigned_ignored = -1, no_detection, 0.0, False
        for j, d in enumerate(det):
            if ignored_det[j] == -1 or assigned[j] or below[j]:
                continue
            o = overlap(d, g, -1)
            if not compute_fp and o > iou and d["score"] > valid_detection:
                det_idx, valid_detection = j, d["score"]
            elif (
                compute_fp
                and o > iou
                and (o > max_overlap or assigned_ignored)
                and ignored_det[j] == 0
            ):
                max_overlap, det_idx, valid_detection, assigned_ignored = o, j, 1, False
            elif compute_fp and o > iou and valid_detection == no_detection and ignored_det[j] == 1:
                det_idx, valid_detection, assigned_ignored = j, 1, True
        if valid_detection == no_detection and ignored_gt[i] == 0:
            pass  # a miss (fn), not needed for precision
        elif valid_detection != no_detection and (ignored_gt[i] == 1 or ignored_det[det_idx] == 1):
            assigned[det_idx] = True
        elif valid_detection != no_detection:
            tp += 1
            scores.append(det[det_idx]["score"])
            if aos:
                delta.append(g["alpha"] - det[det_idx]["alpha"])
            assigned[det_idx] = True
    similarity = 0.0
    if compute_fp:
        for j in range(len(det)):
            if not (assigned[j] or ignored_det[j] in (-1, 1) or below[j]):
                fp += 1
        nstuff = 0
        for region in dc:
            for j, d in enumerate(det):
                if assigned[j] or ignored_det[j] in (-1, 1) or below[j]:
                    continue
                if overlap(d, region, 0) > iou:
                    assigned[j] = True
                    nstuff += 1
        fp -= nstuff
        if aos:
            similarity = sum((1.0 + math.cos(x)) / 2.0 for x in delta)
    return tp, fp, similarity, scores


def get_thresholds(v, n_gt):
    v = sorted(v, reverse=True)
    t, current = [], 0.0
    for i in range(len(v)):
        left = (i + 1) / n_gt
        right = (i + 2) / n_gt if i < len(v) - 1 else left
        if (right - current) < (current - left) and i < len(v) - 1:
            continue
        t.append(v[i])
        current += 1.0 / (N_SAMPLE_PTS - 1.0)
    return t


def eval_class(gts, dets, cls, diff, metric, iou, aos):
    overlap = OVERLAP[metric]
    cleaned, v, n_gt = [], [], 0
    for gt, det in zip(gts, dets):
        i_gt, dc, i_det, n = clean_data(cls, gt, det, diff)
        n_gt += n
        cleaned.append((i_gt, dc, i_det))
        v += compute_statistics(gt, det, dc, i_gt, i_det, False, overlap, iou, False)[3]
    thresholds = get_thresholds(v, n_gt)
    tp = [0] * len(thresholds)
    fp = [0] * len(thresholds)
    sim = [0.0] * len(thresholds)
    for (gt, det), (i_gt, dc, i_det) in zip(zip(gts, dets), cleaned):
        for t, thresh in enumerate(thresholds):
            a, b, s, _ = compute_statistics(
                gt, det, dc, i_gt, i_det, True, overlap, iou, aos, thresh
            )
            tp[t] += a
            fp[t] += b
            sim[t] += s
    precision = [0.0] * N_SAMPLE_PTS
    orientation = [0.0] * N_SAMPLE_PTS
    for t in range(len(thresholds)):
        precision[t] = tp[t] / (tp[t] + fp[t])
        orientation[t] = sim[t] / (tp[t] + fp[t])
    for t in range(len(thresholds)):
        precision[t] = max(precision[t:])
        orientation[t] = max(orientation[t:])
    return np.array(precision), np.array(orientation)


# ---------------------------------------------------------------- the scenes
def tricky_scenes(num_frames, seed):
    """Synthetic ground truth plus detections with duplicates, shifted copies, small boxes,
    wrong classes and scores rounded to 0.05 (ties)."""
    rng = np.random.default_rng(seed)
    gts = synthetic_ground_truth(num_frames, objects_per_frame=5.0, seed=seed)
    for gt in gts:  # twins: objects so close that one detection can match either
        twin = rng.random(len(gt["name"])) < 0.35
        copy = {k: v[twin].copy() for k, v in gt.items()}
        width = copy["bbox"][:, 2] - copy["bbox"][:, 0]
        copy["bbox"][:, [0, 2]] += (0.08 * width)[:, None]
        copy["location"][:, 0] += rng.uniform(0.1, 0.4, size=int(twin.sum()))
        for k in gt:
            gt[k] = np.concatenate([gt[k], copy[k]])
    base = jitter_annos(gts, 0.6, seed=seed + 1, keep=0.9)
    extra = jitter_annos(gts, 1.5, seed=seed + 2, keep=0.6)
    dets = []
    for det, more in zip(base, extra):
        merged = {k: np.concatenate([det[k], more[k]]) for k in det}
        n = len(merged["name"])
        swap = rng.random(n) < 0.15
        merged["name"] = merged["name"].astype("<U16")
        merged["name"][swap] = rng.choice(
            ["Car", "Pedestrian", "Cyclist", "Van"], size=int(swap.sum())
        )
        shrink = rng.random(n) < 0.1  # boxes under 25 / 40 px: ignored detections
        top = merged["bbox"][shrink, 1]
        merged["bbox"][shrink, 3] = top + rng.uniform(5.0, 45.0, size=int(shrink.sum()))
        merged["score"] = np.round(rng.uniform(0.0, 1.0, size=n) * 20.0) / 20.0
        order = rng.permutation(n)
        dets.append({k: v[order] for k, v in merged.items()})
    return gts, dets


@pytest.fixture(scope="module")
def scenes():
    return tricky_scenes(30, seed=7)


@pytest.fixture(scope="module")
def result(scenes):
    gts, dets = scenes
    return evaluate(gts, dets)


@pytest.mark.parametrize("metric", ["bbox", "bev", "3d"])
@pytest.mark.parametrize("cls", ["Car", "Pedestrian", "Cyclist"])
def test_curves_match_the_transcribed_devkit(scenes, result, cls, metric):
    gts, dets = scenes
    gt_rows = [rows(g, False) for g in gts]
    dt_rows = [rows(d, True) for d in dets]
    setting = "strict" if cls == "Car" else "loose"  # both settings seen, half the cost
    iou = result.iou_thresholds[setting][metric][cls]
    nontrivial = []
    for diff in DIFFICULTIES:
        precision, orientation = eval_class(
            gt_rows, dt_rows, cls.lower(), diff, metric, iou, aos=metric == "bbox"
        )
        curve = result.curves[(setting, cls, metric, diff.name)]
        np.testing.assert_allclose(
            curve.precision, precision, rtol=0, atol=1e-12, err_msg=diff.name
        )
        if metric == "bbox":
            np.testing.assert_allclose(curve.aos, orientation, rtol=0, atol=1e-12)
        nontrivial.append((curve.tp > 0).any() and (curve.fp > 0).any())
    # not a trivial case: true and false positives at some threshold
    assert any(nontrivial)


@settings(max_examples=50)
@given(
    num_gt=st.integers(1, 120),
    data=st.data(),
)
def test_score_thresholds_match_get_thresholds(num_gt, data):
    count = data.draw(st.integers(0, num_gt))
    scores = data.draw(st.lists(st.floats(0.0, 1.0), min_size=count, max_size=count))
    expected = get_thresholds(scores, num_gt)
    got = score_thresholds(np.array(scores), num_gt)
    assert got.tolist() == expected
    assert len(got) <= N_SAMPLE_PTS


def test_frame_order_does_not_matter(scenes, result):
    gts, dets = scenes
    order = np.random.default_rng(1).permutation(len(gts))
    shuffled = evaluate([gts[k] for k in order], [dets[k] for k in order])
    assert shuffled.to_dict() == result.to_dict()
    for key, curve in result.curves.items():
        np.testing.assert_array_equal(shuffled.curves[key].precision, curve.precision)
