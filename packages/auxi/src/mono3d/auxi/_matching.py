"""IoU matching of boxes (anchors or proposals) to ground truth, with ignore rows.

Shapes: ``boxes`` (b, M, 4) with M = N anchors or Nhd proposals; ground truth (b, n, ...).
Every step is one tensor operation over the whole (b, n, M) IoU matrix, no loop over boxes.
The matrix is laid out GT-major (b, n, M) and reused in place: at KITTI size (M = 241,920)
a fresh (b, n, M) tensor costs several times an in-place pass over one (page faults), and
reductions over M are contiguous.
"""

from typing import NamedTuple

import torch
from torch import Tensor

from mono3d.contracts import GroundTruth
from mono3d.geometry import box_area, box_iou

#: object labels: positive, negative, neither (ignored or not sampled)
POSITIVE, NEGATIVE, IGNORED = 1, 0, -1


class Match(NamedTuple):
    """label (b, M) int64 in {1, 0, -1}; matched (b, M) int64 index of the highest-IoU object
    row (meaningful where label == 1)."""

    label: Tensor
    matched: Tensor


def gt_boxes(gt: GroundTruth) -> Tensor:
    """(b, n, 4) float32 GT boxes with every padded row (valid False) set to zeros."""
    return torch.where(gt.valid[..., None], gt.bbox2d.float(), 0.0)


def covered_by_ignore(
    iou: Tensor,
    area_gt: Tensor,
    area_box: Tensor,
    ignore_rows: Tensor,
    bg_iou_thresh: float,
    ignore_ioa_thresh: float,
) -> Tensor:
    """(b, M) bool: boxes overlapping an ignore row too much to be a clean negative.

    ``iou`` (b, n, M), ``area_gt`` (b, n), ``area_box`` (b, M), ``ignore_rows`` (b, n).
    A box is covered when, for some ignore row, its IoU is >= ``bg_iou_thresh`` (and > 0) or
    the intersection I covers more than ``ignore_ioa_thresh`` = s of the box's own area A.
    With G the row's area, ``I = iou (A + G) / (1 + iou)``, so ``I > s A`` is
    ``iou > s A / ((1 - s) A + G)``: both tests become one threshold per pair.
    """
    s = ignore_ioa_thresh
    a = area_box[:, None, :]  # b 1 M
    below_bg = torch.nextafter(  # iou >= t  <=>  iou > the float32 just below t
        torch.tensor(bg_iou_thresh, dtype=iou.dtype), torch.tensor(0.0, dtype=iou.dtype)
    ).item()
    denominator = ((1.0 - s) * a + area_gt[:, :, None]).clamp_(min=1e-12)  # b n M
    threshold = torch.div(s * a, denominator, out=denominator).clamp_(max=below_bg)
    margin = torch.sub(iou, threshold, out=threshold)  # > 0: the pair covers the box
    margin.masked_fill_(~ignore_rows[:, :, None], -1.0)
    return margin.amax(dim=1) > 0


def match_boxes(
    boxes: Tensor,
    gt: GroundTruth,
    *,
    fg_iou_thresh: float,
    bg_iou_thresh: float,
    allow_low_quality_matches: bool,
    ignore_ioa_thresh: float,
) -> Match:
    """Label every box against the objects (valid, not ignore) of its image.

    * positive: best IoU with an object >= ``fg_iou_thresh``; with
      ``allow_low_quality_matches`` also every box tied at an object's highest IoU, when
      that IoU is > 0 (torchvision ``Matcher`` semantics). A positive is matched to the
      object it overlaps most (ties: the lowest row), as in torchvision;
    * negative: best IoU < ``bg_iou_thresh`` (including images without objects);
    * ignored: in between, or not positive and covered by an ignore row (see
      :func:`covered_by_ignore`).

    ``boxes`` (b, M, 4) must be finite (mask padded proposals before); padded GT rows are
    never read, whatever they hold.
    """
    b, m = boxes.shape[:2]
    n = gt.valid.shape[1]
    if n == 0 or m == 0:
        label = torch.full((b, m), NEGATIVE, dtype=torch.int64, device=boxes.device)
        return Match(label, torch.zeros_like(label))
    objects = gt.valid & ~gt.ignore  # b n
    ignore_rows = gt.valid & gt.ignore
    gt_box = gt_boxes(gt)
    iou = box_iou(gt_box, boxes)  # b n M
    covered = covered_by_ignore(
        iou, box_area(gt_box), box_area(boxes), ignore_rows, bg_iou_thresh, ignore_ioa_thresh
    )
    iou.masked_fill_(~objects[:, :, None], -1.0)  # rows that are no object never match
    best, matched = iou.max(dim=1)  # b M
    label = torch.where(best >= fg_iou_thresh, POSITIVE, IGNORED)
    label = torch.where(best < bg_iou_thresh, NEGATIVE, label)
    if allow_low_quality_matches:
        best_per_gt = iou.amax(dim=2, keepdim=True)  # b n 1
        best_per_gt = torch.where(best_per_gt > 0, best_per_gt, torch.inf)
        gap = iou.sub_(best_per_gt)  # 0 exactly where tied at the row's best, < 0 elsewhere
        label = torch.where(gap.amax(dim=1) >= 0, POSITIVE, label)
    label = torch.where(covered & (label != POSITIVE), IGNORED, label)
    return Match(label, matched)
