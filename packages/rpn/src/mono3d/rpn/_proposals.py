"""Proposal selection: per-level top-k, decode, clip, drop tiny, NMS, keep Nhd, pad.

Shape shorthand: b batch, N anchors per image, Nhd proposals per image (padded).
Vectorised over the batch: one top-k per level, one decode, one batched NMS for every
(image, level) group, one scatter into the padded output. Computed in float32 and without
gradient whatever the input dtype (autocast-safe).
"""

from collections.abc import Sequence

import torch
from jaxtyping import Bool, Float, Int
from torch import Tensor

from mono3d.contracts import contract
from mono3d.geometry import clip_boxes, decode_box2d

from ._config import RPNConfig
from ._nms import nms_keep_mask

_RPN = RPNConfig()


def _top_k_per_level(
    scores: Tensor, anchors_per_level: Sequence[int], k: int
) -> tuple[Tensor, list[slice]]:
    """(indices (b, K) into the N anchors, each level's slice of the K) of the k best scores
    of each level; levels without anchors get no slice."""
    indices, levels, start, taken = [], [], 0, 0
    for count in anchors_per_level:
        top = min(k, count)
        if top > 0:
            best = scores[:, start : start + count].topk(top, dim=1, sorted=False).indices
            indices.append(best + start)
            levels.append(slice(taken, taken + top))
            taken += top
        start += count
    return torch.cat(indices, dim=1), levels


@contract
def select_proposals(
    anchors: Float[Tensor, "N 4"],
    object_logit: Float[Tensor, "b N 1"],
    bbox2d_logit: Float[Tensor, "b N 4"],
    image_size: Int[Tensor, "b 2"],
    *,
    anchors_per_level: Sequence[int],
    pre_nms_top_n: int,
    post_nms_top_n: int,
    nms_thresh: float = _RPN.nms_thresh,
    min_size: float = _RPN.min_size,
) -> tuple[Float[Tensor, "b Nhd 4"], Float[Tensor, "b Nhd 1"], Bool[Tensor, "b Nhd"]]:
    """Select up to ``post_nms_top_n`` (= Nhd) proposals per image.

    anchors: (x1, y1, x2, y2) pixels, shared by the images, in the RPN's order (level-major;
    ``anchors_per_level`` gives each level's count, summing to N). object_logit / bbox2d_logit:
    the RPN's per-anchor objectness logits and deltas (dx, dy, dw, dh), weights (1, 1, 1, 1).
    image_size: each image's real (height, width); proposals are clipped to it.

    Steps (torchvision's RPN ``filter_proposals``, batched): the ``pre_nms_top_n`` best
    anchors of each level by objectness; decode; clip; drop boxes with a side
    < ``min_size`` and non-finite scores; NMS at ``nms_thresh`` within each (image, level);
    the best ``post_nms_top_n`` survivors of each image by objectness. Defaults of
    ``nms_thresh`` and ``min_size``: :class:`RPNConfig`'s.

    Inputs are detached first (no gradient flows through the selection).

    Returns float32, detached, static shapes:
        bbox2d (b, Nhd, 4): proposals sorted by objectness (best first), padded rows zero;
        bbox2d_object (b, Nhd, 1): their objectness logits, padded rows zero;
        valid (b, Nhd): real rows, a prefix of each image's rows.
    """
    b, n = object_logit.shape[:2]
    if sum(anchors_per_level) != n:
        raise ValueError(
            f"anchors_per_level={list(anchors_per_level)} sums to "
            f"{sum(anchors_per_level)}, but N={n}"
        )
    scores = object_logit.detach().reshape(b, n).float()
    index, levels = _top_k_per_level(scores, anchors_per_level, pre_nms_top_n)  # b K
    k = index.shape[1]
    top_scores = scores.gather(1, index)
    deltas = bbox2d_logit.detach().float().gather(1, index[..., None].expand(b, k, 4))
    boxes = decode_box2d(deltas, anchors.float()[index])
    boxes = clip_boxes(boxes, image_size)
    sides = boxes[..., 2:] - boxes[..., :2]
    keep = (sides >= min_size).all(dim=-1) & torch.isfinite(top_scores)  # b K

    # static shapes (export-friendly, no nonzero): dropped candidates become zero boxes with
    # score -inf; processed last by NMS, they can never suppress a kept one
    nms_boxes = torch.where(keep[..., None], boxes, torch.zeros_like(boxes))
    nms_scores = torch.where(keep, top_scores, torch.full_like(top_scores, -torch.inf))
    survive = nms_keep_mask(nms_boxes, nms_scores, nms_thresh, levels) & keep
    ranked = torch.where(survive, top_scores, torch.full_like(top_scores, -torch.inf))
    if k < post_nms_top_n:  # fewer candidates than Nhd: pad so the shape stays (b, Nhd)
        ranked = torch.cat([ranked, ranked.new_full((b, post_nms_top_n - k), -torch.inf)], 1)
        boxes = torch.cat([boxes, boxes.new_zeros((b, post_nms_top_n - k, 4))], 1)
    best, order = ranked.topk(post_nms_top_n, dim=1)  # sorted by objectness, best first
    valid = torch.isfinite(best)
    bbox2d = torch.where(valid[..., None], boxes.gather(1, order[..., None].expand(-1, -1, 4)), 0.0)
    bbox2d_object = torch.where(valid, best, 0.0)[..., None]
    return bbox2d, bbox2d_object, valid
