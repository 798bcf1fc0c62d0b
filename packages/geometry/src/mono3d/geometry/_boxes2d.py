"""Axis-aligned 2D boxes ``(x1, y1, x2, y2)`` in pixels: area, pairwise IoU, clipping.

Degenerate input (documented contract, tested):

* a box with ``x2 <= x1`` or ``y2 <= y1`` has area 0 and IoU 0 with every box, itself included;
* a box with any non-finite coordinate (NaN, ±inf) has area 0 and IoU 0 with every box, so
  padded rows filled with NaN never leak NaN into an IoU matrix (or its gradient).
"""

import torch
from jaxtyping import Float, Int
from torch import Tensor

from mono3d.contracts import contract


def _finite_rows(boxes: Tensor) -> tuple[Tensor, Tensor]:
    """(finite mask [...], boxes with non-finite rows replaced by zeros)."""
    finite = torch.isfinite(boxes).all(dim=-1)
    return finite, torch.where(finite[..., None], boxes, torch.zeros_like(boxes))


@contract
def box_area(boxes: Float[Tensor, "*batch 4"]) -> Float[Tensor, "*batch"]:
    """Area of (x1, y1, x2, y2) boxes, pixels².

    Negative sides count as 0 (an inverted box has area 0); a box with a non-finite
    coordinate has area 0.
    """
    return _area_of_finite(_finite_rows(boxes)[1])


def _area_of_finite(boxes: Tensor) -> Tensor:
    """Area of boxes already passed through :func:`_finite_rows` (a zeroed row has area 0)."""
    width = (boxes[..., 2] - boxes[..., 0]).clamp(min=0)
    height = (boxes[..., 3] - boxes[..., 1]).clamp(min=0)
    return width * height


@contract
def box_iou(
    boxes1: Float[Tensor, "b n 4"], boxes2: Float[Tensor, "b m 4"]
) -> Float[Tensor, "b n m"]:
    """Pairwise IoU per image: ``iou[i, j, k] = IoU(boxes1[i, j], boxes2[i, k])``, (b, n, m).

    Values are in [0, 1]. Pairs whose union is 0, and pairs with a degenerate (zero or
    negative side) or non-finite box, get IoU 0. Differentiable w.r.t. both inputs, with
    finite gradients everywhere (including NaN-padded rows, whose gradient is 0).
    """
    dtype = boxes1.dtype
    if dtype in (torch.float16, torch.bfloat16):
        boxes1, boxes2 = boxes1.float(), boxes2.float()
    finite1, b1 = _finite_rows(boxes1)
    finite2, b2 = _finite_rows(boxes2)
    area1 = _area_of_finite(b1)  # b n
    area2 = _area_of_finite(b2)  # b m
    in_place = not (torch.is_grad_enabled() and (b1.requires_grad or b2.requires_grad))
    if in_place:
        return _box_iou_no_grad(b1, b2, area1, area2).to(dtype)
    p, q = b1[:, :, None, :], b2[:, None, :, :]
    width = torch.minimum(p[..., 2], q[..., 2])
    height = torch.minimum(p[..., 3], q[..., 3])
    inter = (width - torch.maximum(p[..., 0], q[..., 0])).clamp(min=0) * (
        height - torch.maximum(p[..., 1], q[..., 1])
    ).clamp(min=0)
    union = area1[:, :, None] + area2[:, None, :] - inter
    ok = (union > 0) & finite1[:, :, None] & finite2[:, None, :]
    iou = inter / torch.where(ok, union, torch.ones_like(union))
    return torch.where(ok, iou, torch.zeros_like(iou)).to(dtype)


def _box_iou_no_grad(b1: Tensor, b2: Tensor, area1: Tensor, area2: Tensor) -> Tensor:
    """The (b, n, m) IoU without autograd, in place: the target builder's hot path.

    One coordinate at a time, each a contiguous (b, n) / (b, m) column, so every pass over
    the (b, n, m) matrix is a plain broadcast (2.6x faster than stacked temporaries, a
    quarter of the peak memory). Rows are finite here (non-finite ones were zeroed, area 0)
    and areas are >= 0, so ``union`` = 0 implies ``inter`` = 0: dividing by ``union``
    clamped to the smallest normal float gives exactly 0 there and the exact IoU elsewhere,
    with no mask pass.
    """
    c1 = [b1[..., k].contiguous()[:, :, None] for k in range(4)]  # b n 1 each
    c2 = [b2[..., k].contiguous()[:, None, :] for k in range(4)]  # b 1 m each
    inter = torch.minimum(c1[2], c2[2]).sub_(torch.maximum(c1[0], c2[0])).clamp_(min=0)
    height = torch.minimum(c1[3], c2[3]).sub_(torch.maximum(c1[1], c2[1])).clamp_(min=0)
    inter.mul_(height)
    del height
    union = torch.add(area1[:, :, None], area2[:, None, :]).sub_(inter)
    return inter.div_(union.clamp_(min=torch.finfo(union.dtype).tiny))


@contract
def clip_boxes(
    boxes: Float[Tensor, "b n 4"], image_size: Int[Tensor, "b 2"]
) -> Float[Tensor, "b n 4"]:
    """Clip boxes to each image's real size; ``image_size`` is (height, width) in pixels.

    x is clamped into [0, width] and y into [0, height] (continuous pixel convention: the
    right edge of the image is at x = width). ±inf coordinates are clamped to the border;
    NaN coordinates stay NaN (clipping never invents a box).
    """
    limits = image_size.to(boxes.dtype).flip(-1)  # b 2: (w, h)
    upper = limits.repeat(1, 2)[:, None, :]  # b 1 4: (w, h, w, h)
    zero = torch.zeros_like(upper)
    return torch.minimum(torch.maximum(boxes, zero), upper)
