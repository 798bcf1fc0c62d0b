"""Overlaps between detections and ground truth of the same frame, batched over frames.

Frames are padded to fixed sizes and processed in chunks to find the pairs whose axis-aligned
boxes touch; only pairs whose overlap exceeds a floor survive, as a sparse list
``(det_row, gt_row, overlap)``. The 2D overlap follows the devkit's ``imageBoxOverlap`` (no
+1 pixel; 0 when the boxes do not overlap). BEV and 3D overlaps are
``mono3d.geometry.bev_iou`` / ``box3d_iou`` (the devkit's ground-plane polygon IoU and "BEV
intersection x height overlap / union volume"), evaluated only for the pairs whose IoU upper
bound (from footprint hulls and slabs) can exceed the floor.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch

from mono3d.geometry import bev_iou, box3d_iou

from ._annos import padded_index

#: dense elements (frames x dets x gts) per chunk
_CHUNK_ELEMENTS = 1 << 21
#: det/gt pairs per call of the rotated IoU: small enough that geometry's largest temporaries
#: (24 points x 2 per pair) stay under torch's intra-op parallel grain (32768 elements), so
#: these many small ops run on one thread; spreading them over threads costs far more than it
#: gains (measured: 2-5x the wall time on a loaded 2-core machine), and per-call overhead
#: stays small
_PAIR_CHUNK = 512


@dataclass(frozen=True)
class Pairs:
    """Sparse overlaps: det_row[p] and gt_row[p] index the two tables, overlap[p] > floor."""

    det_row: np.ndarray
    gt_row: np.ndarray
    overlap: np.ndarray

    @classmethod
    def empty(cls) -> "Pairs":
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))

    def __len__(self) -> int:
        return int(self.det_row.shape[0])


def image_overlap(det: np.ndarray, gt: np.ndarray, *, over_det_area: bool = False) -> np.ndarray:
    """2D overlap of boxes (x1, y1, x2, y2) ``det [... K 4]`` and ``gt [... N 4]`` -> ``[... K N]``.

    IoU by default; with ``over_det_area`` the intersection over the detection's area (the
    devkit's rule for DontCare regions). 0 where the boxes do not intersect.
    """
    a = det[..., :, None, :]
    b = gt[..., None, :, :]
    w = np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0])
    h = np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1])
    hit = (w > 0) & (h > 0)
    inter = np.where(hit, w * h, 0.0)
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    if over_det_area:
        denom = np.broadcast_to(area_a, inter.shape)
    else:
        area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
        denom = area_a + area_b - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = inter / denom
    return np.where(hit & np.isfinite(ratio), ratio, 0.0)


class FramePadding:
    """Rows of two tables (dets, gts), each sorted by frame, laid out in padded per-frame
    slots for the frames that hold at least one row of each (only those can have pairs)."""

    def __init__(self, det_frame: np.ndarray, gt_frame: np.ndarray, num_frames: int) -> None:
        det_slot, self.k = padded_index(det_frame, num_frames)
        gt_slot, self.n = padded_index(gt_frame, num_frames)
        self.frames = np.intersect1d(det_frame, gt_frame)
        lookup = np.full(num_frames, -1, dtype=np.int64)
        lookup[self.frames] = np.arange(self.frames.size)
        self.det_rows = self._rows(lookup[det_frame], det_slot, self.k)
        self.gt_rows = self._rows(lookup[gt_frame], gt_slot, self.n)

    def _rows(self, local: np.ndarray, slot: np.ndarray, width: int) -> np.ndarray:
        """[F' width] row index, -1 for padding."""
        rows = np.full((self.frames.size, width), -1, dtype=np.int64)
        keep = local >= 0
        rows[local[keep], slot[keep]] = np.nonzero(keep)[0]
        return rows

    def chunks(self) -> Iterator[slice]:
        """Slices over the padded frames, each with at most ~2M det x gt elements."""
        step = max(1, _CHUNK_ELEMENTS // max(1, self.k * self.n))
        for start in range(0, self.frames.size, step):
            yield slice(start, min(start + step, self.frames.size))


def _gather(values: np.ndarray, rows: np.ndarray, fill: float) -> np.ndarray:
    """values[rows] with ``fill`` where rows == -1; rows [F K] -> [F K ...]."""
    out = values[np.maximum(rows, 0)]
    out[rows < 0] = fill
    return out


def touching_pairs(
    det_lo: np.ndarray,
    det_hi: np.ndarray,
    gt_lo: np.ndarray,
    gt_hi: np.ndarray,
    padding: FramePadding,
) -> tuple[np.ndarray, np.ndarray]:
    """(det rows, gt rows) of the same frame whose axis-aligned boxes ``[lo, hi]`` (two axes,
    [M 2] each) overlap with a positive area; every other pair has overlap 0."""
    found_d, found_g = [], []
    for part in padding.chunks():
        drows, grows = padding.det_rows[part], padding.gt_rows[part]
        d_lo, d_hi = _gather(det_lo, drows, np.inf), _gather(det_hi, drows, -np.inf)
        g_lo, g_hi = _gather(gt_lo, grows, np.inf), _gather(gt_hi, grows, -np.inf)
        touch = np.ones((drows.shape[0], drows.shape[1], grows.shape[1]), dtype=bool)
        for axis in (0, 1):
            top = np.minimum(d_hi[:, :, None, axis], g_hi[:, None, :, axis])
            bottom = np.maximum(d_lo[:, :, None, axis], g_lo[:, None, :, axis])
            touch &= top > bottom
        f, j, i = np.nonzero(touch)
        found_d.append(drows[f, j])
        found_g.append(grows[f, i])
    if not found_d:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(found_d), np.concatenate(found_g)


def _corners(bbox: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return bbox[:, 0:2], bbox[:, 2:4]


def image_pairs(
    det_bbox: np.ndarray, gt_bbox: np.ndarray, padding: FramePadding, floor: float
) -> Pairs:
    """Pairs with 2D IoU > ``floor``."""
    det_rows, gt_rows = touching_pairs(*_corners(det_bbox), *_corners(gt_bbox), padding)
    iou = image_overlap(det_bbox[det_rows][:, None], gt_bbox[gt_rows][:, None])[:, 0, 0]
    keep = iou > floor
    return Pairs(det_rows[keep], gt_rows[keep], iou[keep])


def dont_care_ratio(det_bbox: np.ndarray, dc_bbox: np.ndarray, padding: FramePadding) -> np.ndarray:
    """For every det row: the largest intersection / det area over the DontCare boxes of its
    frame (0 when there is none) -> (num dets,)."""
    det_rows, dc_rows = touching_pairs(*_corners(det_bbox), *_corners(dc_bbox), padding)
    ratio = image_overlap(
        det_bbox[det_rows][:, None], dc_bbox[dc_rows][:, None], over_det_area=True
    )
    best = np.zeros(det_bbox.shape[0])
    np.maximum.at(best, det_rows, ratio[:, 0, 0])
    return best


def rotated_pairs(
    det_box7: np.ndarray,
    gt_box7: np.ndarray,
    padding: FramePadding,
    floor_bev: float,
    floor_3d: float,
) -> tuple[Pairs, Pairs]:
    """(pairs with BEV IoU > floor_bev, pairs with 3D IoU > floor_3d), from geometry.

    Only pairs that can exceed a floor are sent to geometry (its cost is per pair): the
    footprints' axis-aligned hulls bound the intersection area, and the height overlap the
    volume, which bounds the IoU from above. ``bev_iou`` runs on the pairs whose bound may
    exceed either floor; ``box3d_iou`` then only on those whose 3D IoU, estimated from the
    exact footprint intersection, is within 1e-6 of its floor or above.
    """
    det = _box_extents(det_box7)
    gt = _box_extents(gt_box7)
    det_rows, gt_rows = touching_pairs(det["lo"], det["hi"], gt["lo"], gt["hi"], padding)
    sel = det["valid"][det_rows] & gt["valid"][gt_rows]
    det_rows, gt_rows = det_rows[sel], gt_rows[sel]
    d = {k: v[det_rows] for k, v in det.items()}
    g = {k: v[gt_rows] for k, v in gt.items()}
    reach = np.minimum(d["hi"], g["hi"]) - np.maximum(d["lo"], g["lo"])
    area = np.minimum(reach[:, 0] * reach[:, 1], np.minimum(d["area"], g["area"]))
    # tighter: in each box's own axes, the other box's extent bounds the intersection
    area = np.minimum(area, _slab_bound(det_box7[det_rows], gt_box7[gt_rows]))
    area = np.minimum(area, _slab_bound(gt_box7[gt_rows], det_box7[det_rows]))
    rise = np.clip(np.minimum(d["bottom"], g["bottom"]) - np.maximum(d["top"], g["top"]), 0.0, None)
    volume = np.minimum(area * rise, np.minimum(d["volume"], g["volume"]))
    with np.errstate(divide="ignore", invalid="ignore"):
        bound_bev = area / (d["area"] + g["area"] - area)
        bound_3d = volume / (d["volume"] + g["volume"] - volume)
    # the margin keeps pairs whose bound equals their IoU (identical boxes)
    sel = (bound_bev > floor_bev - 1e-9) | (bound_3d > floor_3d - 1e-9)
    det_rows, gt_rows, rise = det_rows[sel], gt_rows[sel], rise[sel]
    bev = _pairwise(bev_iou, det_box7[det_rows], gt_box7[gt_rows])
    keep = bev > floor_bev
    bev_pairs = Pairs(det_rows[keep], gt_rows[keep], bev[keep])

    # 3D: the exact footprint intersection (from the BEV IoU) times the height overlap
    a_det, a_gt = det["area"][det_rows], gt["area"][gt_rows]
    v_det, v_gt = det["volume"][det_rows], gt["volume"][gt_rows]
    inter = bev * (a_det + a_gt) / (1.0 + bev) * rise
    with np.errstate(divide="ignore", invalid="ignore"):
        estimate = inter / (v_det + v_gt - inter)
    sel = (bev > 0) & (estimate > floor_3d - 1e-6) & (v_det > 0) & (v_gt > 0)
    det_rows, gt_rows = det_rows[sel], gt_rows[sel]
    full = _pairwise(box3d_iou, det_box7[det_rows], gt_box7[gt_rows])
    keep = full > floor_3d
    return bev_pairs, Pairs(det_rows[keep], gt_rows[keep], full[keep])


def _box_extents(box7: np.ndarray) -> dict[str, np.ndarray]:
    """Per box: the footprint's axis-aligned hull in (x, z) as lo/hi [M 2], footprint area,
    y of bottom and top, volume, and whether geometry treats the footprint as valid."""
    x, y, z, h, w, length, ry = (box7[:, k] for k in range(7))
    cos, sin = np.abs(np.cos(ry)), np.abs(np.sin(ry))
    half = np.stack([0.5 * (cos * length + sin * w), 0.5 * (sin * length + cos * w)], axis=1)
    centre = np.stack([x, z], axis=1)
    return {
        "lo": centre - half,
        "hi": centre + half,
        "area": w * length,
        "bottom": y,
        "top": y - h,
        "volume": h * w * length,
        "valid": np.isfinite(box7).all(axis=1) & (w > 0) & (length > 0),
    }


def _slab_bound(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per row: an upper bound of the footprint intersection of boxes7 ``a`` and ``b``: the
    area of a's rectangle cut by the slabs b covers along a's length and width axes."""
    cos_a, sin_a = np.cos(a[:, 6]), np.sin(a[:, 6])
    dx, dz = b[:, 0] - a[:, 0], b[:, 2] - a[:, 2]
    along = dx * cos_a - dz * sin_a  # b's centre on a's length axis (cos ry, -sin ry)
    across = dx * sin_a + dz * cos_a  # and on its width axis (sin ry, cos ry)
    turn = b[:, 6] - a[:, 6]
    c, s = np.abs(np.cos(turn)), np.abs(np.sin(turn))
    reach_along = 0.5 * (c * b[:, 5] + s * b[:, 4])
    reach_across = 0.5 * (s * b[:, 5] + c * b[:, 4])

    def cut(centre: np.ndarray, reach: np.ndarray, half: np.ndarray) -> np.ndarray:
        return np.clip(
            np.minimum(half, centre + reach) - np.maximum(-half, centre - reach), 0, None
        )

    return cut(along, reach_along, 0.5 * a[:, 5]) * cut(across, reach_across, 0.5 * a[:, 4])


def _pairwise(
    iou_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    boxes1: np.ndarray,
    boxes2: np.ndarray,
) -> np.ndarray:
    """iou_fn of row p of boxes1 with row p of boxes2, for every row, in chunks."""
    out = np.zeros(boxes1.shape[0])
    for start in range(0, boxes1.shape[0], _PAIR_CHUNK):
        part = slice(start, start + _PAIR_CHUNK)
        a = torch.from_numpy(np.ascontiguousarray(boxes1[part]))[:, None, :]
        b = torch.from_numpy(np.ascontiguousarray(boxes2[part]))[:, None, :]
        out[part] = iou_fn(a, b)[:, 0, 0].numpy()
    return out
