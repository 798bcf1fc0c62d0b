"""Recall and error profile of KITTI result files: which moderate objects of a class a
detection matches one to one (2D IoU >= 0.7, 3D IoU >= 0.5), and, for the objects a detection
overlaps in 2D, the error of each 3D quantity. Complements the AP of :func:`evaluate_folders`
(the accuracy figures of BENCHMARKS.md use both); the same folder layouts are accepted."""

import math
import pathlib
from collections.abc import Iterator, Sequence
from typing import NamedTuple

import numpy as np
import torch

from mono3d.geometry import box3d_iou, box_iou, boxes7

from ._kitti_files import read_kitti_folders
from ._settings import DIFFICULTIES, Difficulty

MODERATE: Difficulty = next(d for d in DIFFICULTIES if d.name == "moderate")

#: the columns of :func:`matched_errors`
ERROR_COLUMNS: tuple[str, ...] = (
    "z",
    "abs_dz",
    "rel_dz",
    "abs_dx",
    "size_ratio_error",
    "abs_dyaw",
    "iou3d",
    "iou3d_true_z",
    "iou3d_true_yaw",
)


class Recall(NamedTuple):
    """Moderate objects of the class, and how many a detection matched at 2D IoU >= 0.7 /
    at 3D IoU >= 0.5."""

    total: int
    hit2d: int
    hit3d: int


def greedy_matches(iou: np.ndarray, threshold: float) -> int:
    """How many objects (rows of ``iou`` (n, m), in order) are matched one to one to a
    detection (columns) at IoU >= ``threshold``: each takes its best free detection."""
    free = np.ones(iou.shape[1], dtype=bool)
    matched = 0
    for row in iou:
        candidates = np.where(free & (row >= threshold), row, -1.0)
        if candidates.size and candidates.max() >= threshold:
            free[int(candidates.argmax())] = False
            matched += 1
    return matched


def _boxes7(anno: dict[str, np.ndarray], rows: np.ndarray) -> torch.Tensor:
    location = torch.as_tensor(anno["location"][rows], dtype=torch.float32).reshape(-1, 3)
    dims = torch.as_tensor(anno["dimensions"][rows], dtype=torch.float32).reshape(-1, 3)
    ry = torch.as_tensor(anno["rotation_y"][rows], dtype=torch.float32).reshape(-1, 1)
    return boxes7(torch.cat([location, dims], dim=-1), ry)


def _frames(
    gt_dir: str | pathlib.Path,
    result_dir: str | pathlib.Path,
    ids: Sequence[str],
    min_score: float,
    category: str,
    difficulty: Difficulty,
) -> Iterator[tuple[dict[str, np.ndarray], np.ndarray, dict[str, np.ndarray], np.ndarray]]:
    """Per frame (read by :func:`read_kitti_folders`): (labels, rows of its objects of
    ``category`` within ``difficulty``, detections, rows of its ``category`` detections
    scoring >= ``min_score``)."""
    name = category.lower()
    _, gt_annos, dt_annos = read_kitti_folders(gt_dir, result_dir, ids)
    for gt, dt in zip(gt_annos, dt_annos, strict=True):
        height = gt["bbox"][:, 3] - gt["bbox"][:, 1]
        objects = np.flatnonzero(
            (np.char.lower(gt["name"].astype(str)) == name)
            & (height > difficulty.min_height)
            & (gt["occluded"] <= difficulty.max_occlusion)
            & (gt["truncated"] <= difficulty.max_truncation)
        )
        dets = np.flatnonzero(
            (np.char.lower(dt["name"].astype(str)) == name) & (dt["score"] >= min_score)
        )
        yield gt, objects, dt, dets


def _iou2d(
    gt: dict[str, np.ndarray], objects: np.ndarray, dt: dict[str, np.ndarray], dets: np.ndarray
) -> np.ndarray:
    return box_iou(
        torch.as_tensor(gt["bbox"][objects], dtype=torch.float32)[None],
        torch.as_tensor(dt["bbox"][dets], dtype=torch.float32)[None],
    )[0].numpy()


def _pairwise_iou3d(a: torch.Tensor, b: torch.Tensor) -> np.ndarray:
    """(n,) 3D IoU of row k of ``a`` with row k of ``b`` (boxes7, (n, 7))."""
    return box3d_iou(a[:, None], b[:, None])[:, 0, 0].numpy()


def count_recall(
    gt_dir: str | pathlib.Path,
    result_dir: str | pathlib.Path,
    ids: Sequence[str],
    min_score: float = 0.0,
    *,
    category: str = "Car",
    difficulty: Difficulty = MODERATE,
) -> Recall:
    """The recall of the result files in ``result_dir`` (itself or its ``data/``) against
    the labels of ``gt_dir`` (a label folder or a KITTI root) over the frames ``ids``: the
    objects of ``category`` within ``difficulty`` (default moderate Cars) matched one to one
    (:func:`greedy_matches`) by detections of the category scoring >= ``min_score``."""
    total = hit2d = hit3d = 0
    for gt, objects, dt, dets in _frames(gt_dir, result_dir, ids, min_score, category, difficulty):
        total += len(objects)
        if not len(objects) or not len(dets):
            continue
        iou3d = box3d_iou(_boxes7(gt, objects)[None], _boxes7(dt, dets)[None])[0].numpy()
        hit2d += greedy_matches(_iou2d(gt, objects, dt, dets), 0.7)
        hit3d += greedy_matches(iou3d, 0.5)
    return Recall(total, hit2d, hit3d)


def matched_errors(
    gt_dir: str | pathlib.Path,
    result_dir: str | pathlib.Path,
    ids: Sequence[str],
    min_score: float = 0.0,
    *,
    category: str = "Car",
    difficulty: Difficulty = MODERATE,
) -> np.ndarray:
    """(n, 9) float, one row per object (as in :func:`count_recall`) whose best 2D-overlapping
    detection overlaps it at 2D IoU >= 0.5, the columns :data:`ERROR_COLUMNS`: true z, |dz|,
    |dz|/z, |dx|, the largest size-ratio error, |dyaw|, and the 3D IoU of the pair as found,
    with the true z put in and with the true yaw put in. (0, 9) when nothing matched."""
    rows = []
    for gt, objects, dt, dets in _frames(gt_dir, result_dir, ids, min_score, category, difficulty):
        if not len(objects) or not len(dets):
            continue
        iou = _iou2d(gt, objects, dt, dets)
        best = iou.argmax(axis=1)
        keep = iou[np.arange(len(objects)), best] >= 0.5
        g, d = objects[keep], dets[best[keep]]
        if not len(g):
            continue
        truth, found = _boxes7(gt, g), _boxes7(dt, d)
        true_z, true_yaw = found.clone(), found.clone()
        true_z[:, 2] = truth[:, 2]
        true_yaw[:, 6] = truth[:, 6]

        yaw_error = torch.remainder(found[:, 6] - truth[:, 6] + math.pi, 2 * math.pi) - math.pi
        dz = (found[:, 2] - truth[:, 2]).abs()
        rows.append(
            np.stack(
                [
                    truth[:, 2].numpy(),
                    dz.numpy(),
                    (dz / truth[:, 2]).numpy(),
                    (found[:, 0] - truth[:, 0]).abs().numpy(),
                    (found[:, 3:6] / truth[:, 3:6] - 1).abs().amax(dim=1).numpy(),
                    yaw_error.abs().numpy(),
                    _pairwise_iou3d(truth, found),
                    _pairwise_iou3d(truth, true_z),
                    _pairwise_iou3d(truth, true_yaw),
                ],
                axis=1,
            )
        )
    return np.concatenate(rows) if rows else np.zeros((0, len(ERROR_COLUMNS)))
