"""The devkit's per-class statistics (computeStatistics, getThresholds, eval_class), vectorised.

For one class, difficulty, metric and IoU threshold:

* every ground-truth object has a state: 0 counted, 1 ignored (neighbouring class, or outside
  the difficulty), -1 not considered; every detection too: 0 counted, 1 ignored (too small),
  -1 not considered (another class);
* pass 1 (score thresholds): ground truth is visited in file order; each takes, among the
  unassigned detections of state >= 0 whose overlap exceeds the threshold, the one with the
  highest score. A counted object matched by a counted detection is a true positive and its
  score is recorded; any other match only marks the detection as assigned;
* the recorded scores give at most 41 thresholds (recall sampled every 1/40, the devkit's
  ``current_recall`` rule);
* pass 2, once per threshold: detections scoring below it drop out; each ground-truth object
  takes the unassigned counted detection of largest overlap, or else the first unassigned
  ignored detection above the IoU; true positives as in pass 1; every other counted,
  unassigned detection above the threshold is a false positive unless a DontCare region
  covers more than the IoU threshold of its area (2D metric only).

The visit order is sequential within a frame, so the loops run over the ground-truth slot
(at most the largest number of matchable objects in a frame) with every frame and every
threshold processed at once with masks. Frames, detections and objects that have no
candidate pair are dropped first; unmatched detections are counted in closed form. In pass 2
a frame where no counted detection is a candidate of two objects (most frames) needs no loop
either: each object's match at every threshold follows from running minima over its
candidates (``_count_uncontested``); only the other frames go through the slot loop.
"""

from dataclasses import dataclass

import numpy as np

from ._overlaps import Pairs
from ._settings import NUM_SAMPLE_POINTS

#: the devkit's "no detection" score: a detection must score above it to be matched
_NO_DETECTION = -10000000.0


@dataclass(frozen=True)
class ClassProblem:
    """Inputs of one (class, difficulty, metric, threshold) evaluation.

    det_state / gt_state: per row of the class's detection / ground-truth tables (0, 1, -1).
    det_score, det_alpha, gt_alpha: per row. det_frame, gt_frame: frame of each row (rows
    sorted by frame). fp_eligible: counted detections not inside a DontCare region.
    pairs: overlaps above ``iou`` or more (filtered here). compute_aos: accumulate the
    orientation similarity of true positives.
    """

    det_state: np.ndarray
    det_score: np.ndarray
    det_alpha: np.ndarray
    det_frame: np.ndarray
    gt_state: np.ndarray
    gt_alpha: np.ndarray
    gt_frame: np.ndarray
    fp_eligible: np.ndarray
    pairs: Pairs
    iou: float
    compute_aos: bool


@dataclass(frozen=True)
class Curves:
    """Interpolated precision and orientation similarity at the 41 sampled recall points,
    the raw counts at each score threshold, and the number of counted ground truth."""

    precision: np.ndarray
    aos: np.ndarray | None
    thresholds: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    num_gt: int

    def average_precision(self, interpolation: str, *, orientation: bool = False) -> float:
        """AP in percent: R40 averages points 1..40 (recall 1/40..1), R11 points 0, 4, .., 40
        (recall 0, 0.1, .., 1)."""
        values = self.aos if orientation else self.precision
        if values is None:
            raise ValueError("orientation similarity was not computed (alpha unknown)")
        if interpolation == "R40":
            return float(values[1:].sum() / 40.0 * 100.0)
        if interpolation == "R11":
            return float(values[::4].sum() / 11.0 * 100.0)
        raise ValueError(f"interpolation must be 'R40' or 'R11', got {interpolation!r}")


def score_thresholds(
    scores: np.ndarray, num_gt: int, num_points: int = NUM_SAMPLE_POINTS
) -> np.ndarray:
    """The devkit's getThresholds: from the true-positive scores of pass 1, the scores at which
    recall is closest to 0, 1/(num_points-1), 2/(num_points-1), ... (descending).

    Walking the scores in descending order, score i (recall (i+1)/num_gt) is kept unless the
    next one's recall is closer to the current target; the last score is always kept. The
    target starts at 0 and grows by 1/(num_points-1) after each kept score (in float64, as
    the devkit accumulates it).
    """
    v = np.sort(np.asarray(scores, dtype=np.float64))[::-1]
    n = v.size
    if n == 0:
        return v
    i = np.arange(n, dtype=np.float64)
    left = (i + 1.0) / float(num_gt)
    right = np.where(np.arange(n) < n - 1, (i + 2.0) / float(num_gt), left)
    last = np.arange(n) == n - 1
    step = 1.0 / (num_points - 1.0)
    picked: list[int] = []
    current = 0.0
    start = 0
    while start < n:
        keep = ~((right[start:] - current) < (current - left[start:])) | last[start:]
        pick = start + int(np.argmax(keep))
        picked.append(pick)
        current += step
        start = pick + 1
    return v[np.asarray(picked, dtype=np.int64)]


@dataclass(frozen=True)
class _Compact:
    """Dense per-frame arrays over the frames, detections and objects that have a pair."""

    overlap: np.ndarray  # [F K N], 0 where not a candidate
    similarity: np.ndarray | None  # [F K N]
    det_state: np.ndarray  # [F K], -1 padding
    det_score: np.ndarray  # [F K]
    fp_eligible: np.ndarray  # [F K]
    gt_state: np.ndarray  # [F N], -1 padding


def _slots(
    rows: np.ndarray, frame_of_row: np.ndarray, frames: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For sorted unique ``rows``: (compact frame index, slot within that frame)."""
    compact = np.searchsorted(frames, frame_of_row[rows])
    first = np.searchsorted(compact, compact, side="left")
    return compact, np.arange(rows.size) - first


def _compact(problem: ClassProblem) -> _Compact | None:
    pairs = problem.pairs
    sel = (
        (pairs.overlap > problem.iou)
        & (problem.det_state[pairs.det_row] >= 0)
        & (problem.gt_state[pairs.gt_row] >= 0)
    )
    det_row, gt_row, overlap = pairs.det_row[sel], pairs.gt_row[sel], pairs.overlap[sel]
    if det_row.size == 0:
        return None
    frames = np.unique(problem.det_frame[det_row])
    dets, det_inv = np.unique(det_row, return_inverse=True)
    gts, gt_inv = np.unique(gt_row, return_inverse=True)
    d_frame, d_slot = _slots(dets, problem.det_frame, frames)
    g_frame, g_slot = _slots(gts, problem.gt_frame, frames)
    shape = (frames.size, int(d_slot.max()) + 1, int(g_slot.max()) + 1)
    at = (d_frame[det_inv], d_slot[det_inv], g_slot[gt_inv])
    dense = np.zeros(shape)
    dense[at] = overlap
    similarity = None
    if problem.compute_aos:
        similarity = np.zeros(shape)
        delta = problem.gt_alpha[gt_row] - problem.det_alpha[det_row]
        similarity[at] = (1.0 + np.cos(delta)) / 2.0

    def per_det(values: np.ndarray, fill: float | int | bool) -> np.ndarray:
        out = np.full(shape[:2], fill, dtype=values.dtype)
        out[d_frame, d_slot] = values[dets]
        return out

    gt_state = np.full((shape[0], shape[2]), -1, dtype=problem.gt_state.dtype)
    gt_state[g_frame, g_slot] = problem.gt_state[gts]
    return _Compact(
        overlap=dense,
        similarity=similarity,
        det_state=per_det(problem.det_state, -1),
        det_score=per_det(problem.det_score, -np.inf),
        fp_eligible=per_det(problem.fp_eligible, False),
        gt_state=gt_state,
    )


def _threshold_pass(c: _Compact, iou: float) -> np.ndarray:
    """Pass 1: the scores of the true positives when every detection is kept."""
    num_frames, num_dets, num_gts = c.overlap.shape
    assigned = np.zeros((num_frames, num_dets), dtype=bool)
    scores = []
    for i in range(num_gts):
        rows = np.nonzero(c.gt_state[:, i] >= 0)[0]
        cand = (c.overlap[rows, :, i] > iou) & ~assigned[rows] & (c.det_score[rows] > _NO_DETECTION)
        ranked = np.where(cand, c.det_score[rows], -np.inf)
        pick = ranked.argmax(axis=1)  # the first of equal scores, like the devkit's strict ">"
        has = cand.any(axis=1)
        rows, pick = rows[has], pick[has]
        assigned[rows, pick] = True
        tp = (c.gt_state[rows, i] == 0) & (c.det_state[rows, pick] == 0)
        scores.append(c.det_score[rows[tp], pick[tp]])
    return np.concatenate(scores) if scores else np.zeros(0)


def _take_frames(c: _Compact, frames: np.ndarray) -> _Compact:
    return _Compact(
        overlap=c.overlap[frames],
        similarity=None if c.similarity is None else c.similarity[frames],
        det_state=c.det_state[frames],
        det_score=c.det_score[frames],
        fp_eligible=c.fp_eligible[frames],
        gt_state=c.gt_state[frames],
    )


def _contested(c: _Compact, iou: float) -> np.ndarray:
    """Bool [F]: frames where a counted detection is a candidate of two objects, so that the
    order of the visit matters. (Sharing small, ignored detections changes no count.)"""
    shared = ((c.overlap > iou).sum(axis=2) > 1) & (c.det_state == 0)
    return shared.any(axis=1)


def _count_uncontested(
    c: _Compact, iou: float, thresholds: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pass 2 in closed form for frames where no counted detection is shared.

    There each object's match at threshold t is independent of the others: its counted
    candidate of largest overlap (first of ties) among those scoring at least t. Candidate k
    (in that order) is the match for the threshold indices from the first at which it is
    alive up to (excluding) the first at which an earlier candidate is alive; the counts are
    sums of such index ranges.
    """
    t_count = thresholds.size
    f, j, i = np.nonzero((c.overlap > iou) & (c.det_state == 0)[:, :, None])
    overlap = c.overlap[f, j, i]
    order = np.lexsort((j, -overlap, i, f))
    f, j, i = f[order], j[order], i[order]
    starts_group = np.ones(f.size, dtype=bool)
    starts_group[1:] = (f[1:] != f[:-1]) | (i[1:] != i[:-1])
    group = np.cumsum(starts_group) - 1
    # thresholds descend: candidate k is alive from index first[k] on
    first = t_count - np.searchsorted(thresholds[::-1], c.det_score[f, j], side="right")
    # running minimum of `first` within each group (exact: shifting each group below all
    # earlier ones makes one global running minimum restart at every group)
    shift = group * (t_count + 2)
    running = np.minimum.accumulate(first - shift) + shift
    blocked = np.empty_like(first)
    blocked[0:1] = t_count
    blocked[1:] = running[:-1]
    blocked[starts_group] = t_count
    stop = np.maximum(blocked, first)

    def ranges(weight: np.ndarray) -> np.ndarray:
        grid = np.bincount(first, weights=weight, minlength=t_count + 1)
        grid -= np.bincount(stop, weights=weight, minlength=t_count + 1)
        return np.cumsum(grid)[:t_count]

    counted_gt = (c.gt_state[f, i] == 0).astype(np.float64)
    tp = np.rint(ranges(counted_gt)).astype(np.int64)
    matched = np.rint(ranges(c.fp_eligible[f, j].astype(np.float64))).astype(np.int64)
    similarity = np.zeros(t_count)
    if c.similarity is not None:
        similarity = ranges(counted_gt * c.similarity[f, j, i])
    return tp, matched, similarity


def _candidates(c: _Compact, i: int, iou: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For ground-truth slot i: the frames holding it, and per frame the detections whose
    overlap with it exceeds ``iou``, in detection order, padded: (rows [R], dets [R D],
    real [R D]); D is the largest candidate count, usually far below the frame's K."""
    rows = np.nonzero(c.gt_state[:, i] >= 0)[0]
    above = c.overlap[rows, :, i] > iou
    width = max(1, int(above.sum(axis=1).max())) if rows.size else 1
    dets = np.argsort(~above, axis=1, kind="stable")[:, :width]  # candidates first, in order
    return rows, dets, np.take_along_axis(above, dets, axis=1)


def _count_pass(
    c: _Compact, iou: float, thresholds: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pass 2 at every threshold at once: (tp [T], matched eligible dets [T], similarity [T])."""
    num_frames, num_dets, num_gts = c.overlap.shape
    t_count = thresholds.size
    assigned = np.zeros((t_count, num_frames, num_dets), dtype=bool)
    tp = np.zeros(t_count, dtype=np.int64)
    similarity = np.zeros(t_count)
    for i in range(num_gts):
        rows, dets, real = _candidates(c, i, iou)
        at = (rows[:, None], dets)  # R D
        overlap = c.overlap[rows[:, None], dets, i]
        state = c.det_state[at]
        cand = (
            real[None]
            & (c.det_score[at][None] >= thresholds[:, None, None])
            & ~assigned[:, rows[:, None], dets]
        )  # T R D
        good = cand & (state == 0)[None]
        weak = cand & (state == 1)[None]
        has_good = good.any(axis=2)
        choice = np.where(
            has_good,
            np.where(good, overlap[None], -1.0).argmax(axis=2),  # largest overlap, first of ties
            weak.argmax(axis=2),  # else the first small detection
        )
        has = has_good | weak.any(axis=2)
        t_idx, r_idx = np.nonzero(has)
        picked = dets[r_idx, choice[t_idx, r_idx]]
        assigned[t_idx, rows[r_idx], picked] = True
        hit = has_good & (c.gt_state[rows, i] == 0)[None]
        tp += hit.sum(axis=1)
        if c.similarity is not None:
            t_hit, r_hit = np.nonzero(hit)
            sim = c.similarity[rows[r_hit], dets[r_hit, choice[t_hit, r_hit]], i]
            similarity += np.bincount(t_hit, weights=sim, minlength=t_count)
    matched_eligible = (assigned & c.fp_eligible[None]).sum(axis=(1, 2))
    return tp, matched_eligible, similarity


def evaluate_problem(problem: ClassProblem) -> Curves:
    """Precision (and AOS) at the 41 sampled recall points, interpolated as the devkit does:
    ``p[i] = max(p[i:])``; points beyond the number of thresholds stay 0."""
    num_gt = int((problem.gt_state == 0).sum())
    compact = _compact(problem)
    empty = np.zeros(0)
    if compact is None:
        scores = empty
    else:
        scores = _threshold_pass(compact, problem.iou)
    thresholds = score_thresholds(scores, num_gt)
    t_count = thresholds.size
    if t_count and compact is not None:
        contested = _contested(compact, problem.iou)
        tp, matched_eligible, sim = _count_uncontested(
            _take_frames(compact, np.nonzero(~contested)[0]), problem.iou, thresholds
        )
        if contested.any():
            counts = _count_pass(
                _take_frames(compact, np.nonzero(contested)[0]), problem.iou, thresholds
            )
            tp, matched_eligible, sim = (
                tp + counts[0],
                matched_eligible + counts[1],
                sim + counts[2],
            )
    else:
        tp = np.zeros(t_count, dtype=np.int64)
        matched_eligible = np.zeros(t_count, dtype=np.int64)
        sim = np.zeros(t_count)
    # every eligible detection above the threshold that no object took is a false positive
    eligible_scores = np.sort(problem.det_score[problem.fp_eligible])
    above = eligible_scores.size - np.searchsorted(eligible_scores, thresholds, side="left")
    fp = above - matched_eligible
    precision = np.zeros(NUM_SAMPLE_POINTS)
    aos = np.zeros(NUM_SAMPLE_POINTS) if problem.compute_aos else None
    total = tp + fp
    safe = np.maximum(total, 1)
    precision[:t_count] = np.where(total > 0, tp / safe, 0.0)
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    if aos is not None:
        aos[:t_count] = np.where(total > 0, sim / safe, 0.0)
        aos = np.maximum.accumulate(aos[::-1])[::-1]
    return Curves(precision=precision, aos=aos, thresholds=thresholds, tp=tp, fp=fp, num_gt=num_gt)
