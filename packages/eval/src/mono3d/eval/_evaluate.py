"""``evaluate``: KITTI AP of detections against ground truth, given as per-frame annos."""

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._annos import UNKNOWN_ALPHA, Objects
from ._matching import ClassProblem, Curves, evaluate_problem
from ._overlaps import FramePadding, Pairs, dont_care_ratio, image_pairs, rotated_pairs
from ._result import APTable, EvalResult
from ._settings import (
    DEFAULT_CLASSES,
    DEFAULT_IOU,
    DEFAULT_NEIGHBOURS,
    DIFFICULTIES,
    DONT_CARE,
    INTERPOLATIONS,
    MATCHED_METRICS,
    METRICS,
    SETTINGS,
    Difficulty,
    resolve_thresholds,
)


def evaluate(
    gt_annos: Sequence[Mapping[str, Any]],
    dt_annos: Sequence[Mapping[str, Any]],
    *,
    classes: Sequence[str] = DEFAULT_CLASSES,
    iou_thresholds: Mapping[str, Mapping[str, Mapping[str, float]]] = DEFAULT_IOU,
    neighbours: Mapping[str, Sequence[str]] = DEFAULT_NEIGHBOURS,
) -> EvalResult:
    """KITTI average precision (2D box, BEV, 3D, AOS; R40 and R11; strict and loose IoU).

    gt_annos, dt_annos: one anno dict per frame, in the same frame order (see ``_annos`` for
    the keys; detections also need ``score``). classes: evaluated types (case-insensitive
    match, as the devkit's strcasecmp). iou_thresholds: setting ("strict", "loose") ->
    metric ("bbox", "bev", "3d") -> class -> IoU to exceed. neighbours: lower-case class ->
    lower-case types whose ground truth is ignored rather than missed (Van for Car,
    Person_sitting for Pedestrian).

    Raises ``ValueError`` naming the frame and key of malformed input.
    """
    if len(gt_annos) != len(dt_annos):
        raise ValueError(
            f"gt_annos has {len(gt_annos)} frames but dt_annos has {len(dt_annos)}: "
            "give one anno per frame to both (an empty anno for a frame without detections)"
        )
    classes = tuple(classes)
    if not classes or len({c.lower() for c in classes}) != len(classes):
        raise ValueError(
            f"classes must be non-empty and distinct (case-insensitively), got {classes}"
        )
    thresholds = resolve_thresholds(iou_thresholds, classes)
    gt = Objects.from_annos(gt_annos, "gt_annos", detections=False)
    dt = Objects.from_annos(dt_annos, "dt_annos", detections=True)
    # the devkit skips AOS when any detection has alpha = -10
    compute_aos = not bool(np.any(dt.alpha == UNKNOWN_ALPHA))
    dont_care = gt.take(np.nonzero(gt.name == DONT_CARE)[0])

    ap: APTable = {
        s: {i: {c: {m: {} for m in METRICS} for c in classes} for i in INTERPOLATIONS}
        for s in SETTINGS
    }
    curves: dict[tuple[str, str, str, str], Curves] = {}
    for cls in classes:
        lowered = {k.lower(): tuple(v.lower() for v in vs) for k, vs in neighbours.items()}
        per_class = _evaluate_class(
            cls, gt, dt, dont_care, thresholds, compute_aos, lowered.get(cls.lower(), ())
        )
        for (setting, metric, difficulty), curve in per_class.items():
            curves[(setting, cls, metric, difficulty)] = curve
            for interp in INTERPOLATIONS:
                ap[setting][interp][cls][metric][difficulty] = curve.average_precision(interp)
                if metric == "bbox":
                    ap[setting][interp][cls]["aos"][difficulty] = (
                        curve.average_precision(interp, orientation=True) if compute_aos else None
                    )
    return EvalResult(
        ap=ap,
        classes=classes,
        iou_thresholds=thresholds,
        num_frames=gt.num_frames,
        curves=curves,
    )


def _detection_height(dt: Objects) -> np.ndarray:
    """The devkit's ``int32_t height = fabs(y1 - y2)``: truncated to an integer."""
    return np.trunc(np.abs(dt.bbox[:, 1] - dt.bbox[:, 3]))


def _evaluate_class(
    cls: str,
    gt_all: Objects,
    dt_all: Objects,
    dont_care: Objects,
    thresholds: Mapping[str, Mapping[str, Mapping[str, float]]],
    compute_aos: bool,
    neighbour_types: tuple[str, ...],
) -> dict[tuple[str, str, str], Curves]:
    key = cls.lower()
    num_frames = gt_all.num_frames
    # only objects of the class or a neighbour can be matched; only detections of the class
    # or too small for some difficulty (those are "ignored", of any class) take part
    gt = gt_all.take(np.nonzero((gt_all.name == key) | np.isin(gt_all.name, neighbour_types))[0])
    tallest = max(d.min_height for d in DIFFICULTIES)
    height_all = _detection_height(dt_all)
    dt = dt_all.take(np.nonzero((dt_all.name == key) | (height_all < tallest))[0])
    det_height = _detection_height(dt)

    padding = FramePadding(dt.frame, gt.frame, num_frames)
    floor = {m: min(thresholds[s][m][cls] for s in SETTINGS) for m in MATCHED_METRICS}
    pairs: dict[str, Pairs] = {"bbox": image_pairs(dt.bbox, gt.bbox, padding, floor["bbox"])}
    pairs["bev"], pairs["3d"] = rotated_pairs(dt.box7, gt.box7, padding, floor["bev"], floor["3d"])
    in_dont_care = dont_care_ratio(
        dt.bbox, dont_care.bbox, FramePadding(dt.frame, dont_care.frame, num_frames)
    )

    out: dict[tuple[str, str, str], Curves] = {}
    for difficulty in DIFFICULTIES:
        gt_state = _gt_state(gt, key, difficulty)
        det_state = np.where(det_height < difficulty.min_height, 1, np.where(dt.name == key, 0, -1))
        for setting in SETTINGS:
            for metric in MATCHED_METRICS:
                iou = thresholds[setting][metric][cls]
                eligible = det_state == 0
                if metric == "bbox":  # DontCare regions are 2D boxes
                    eligible = eligible & ~(in_dont_care > iou)
                problem = ClassProblem(
                    det_state=det_state.astype(np.int8),
                    det_score=dt.score,
                    det_alpha=dt.alpha,
                    det_frame=dt.frame,
                    gt_state=gt_state,
                    gt_alpha=gt.alpha,
                    gt_frame=gt.frame,
                    fp_eligible=eligible,
                    pairs=pairs[metric],
                    iou=iou,
                    compute_aos=compute_aos and metric == "bbox",
                )
                out[(setting, metric, difficulty.name)] = evaluate_problem(problem)
    return out


def _gt_state(gt: Objects, key: str, difficulty: Difficulty) -> np.ndarray:
    """0 counted, 1 ignored (neighbouring class, or outside the difficulty)."""
    outside = (
        (gt.occluded > difficulty.max_occlusion)
        | (gt.truncated > difficulty.max_truncation)
        | (gt.height() <= difficulty.min_height)
    )
    return np.where((gt.name == key) & ~outside, 0, 1).astype(np.int8)
