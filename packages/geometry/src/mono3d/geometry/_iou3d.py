"""Rotated bird's-eye-view IoU and 3D IoU of KITTI boxes, all pairs at once.

Boxes are ``boxes7 = (x, y, z, h, w, l, rotation_y)`` (see :func:`boxes7`). The footprint is
the rectangle in the x–z plane centred at (x, z), of length l along ``(cos ry, -sin ry)`` and
width w along ``(sin ry, cos ry)`` — the same rectangle as the bottom face of
:func:`box3d_corners`. The vertical extent is [y - h, y] (y points down).

Intersection of two rectangles, vectorised over every pair (no Python loop): the vertices of
the intersection polygon are the corners of each rectangle lying inside the other plus the
crossing points of their 16 edge pairs; these (at most 24, masked) points are sorted by angle
around their mean and the shoelace formula gives the area.

Degenerate input (documented contract, tested): a box with a non-positive w, l (or, for
:func:`box3d_iou`, h) or any non-finite number has IoU 0 with every box, itself included;
NaN never reaches the output or the gradient. Results are in [0, 1] and symmetric.
"""

import torch
from jaxtyping import Float
from torch import Tensor

from mono3d.contracts import contract

#: placeholder box swapped in for invalid rows before the arithmetic (their IoU is then 0)
_SAFE_BOX = (0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0)
# rectangle corners in units of (l/2, w/2), walked round in order
_ALONG = (1.0, 1.0, -1.0, -1.0)
_ACROSS = (1.0, -1.0, -1.0, 1.0)


def _sanitize(boxes: Tensor, sizes: slice) -> tuple[Tensor, Tensor]:
    """(valid mask [... n], boxes with invalid rows replaced by a placeholder)."""
    valid = torch.isfinite(boxes).all(dim=-1) & (boxes[..., sizes] > 0).all(dim=-1)
    safe = boxes.new_tensor(_SAFE_BOX).expand_as(boxes)
    return valid, torch.where(valid[..., None], boxes, safe)


def _axes(boxes: Tensor) -> tuple[Tensor, Tensor]:
    """Unit length axis (cos ry, -sin ry) and width axis (sin ry, cos ry) in (x, z), [... 2]."""
    cos, sin = torch.cos(boxes[..., 6]), torch.sin(boxes[..., 6])
    return torch.stack([cos, -sin], dim=-1), torch.stack([sin, cos], dim=-1)


def _corner_offsets(boxes: Tensor, along: Tensor, across: Tensor) -> Tensor:
    """Footprint corners relative to the centre, (x, z), [... 4 2]."""
    half_l = 0.5 * boxes[..., 5, None, None]
    half_w = 0.5 * boxes[..., 4, None, None]
    sa = boxes.new_tensor(_ALONG)[:, None]
    sc = boxes.new_tensor(_ACROSS)[:, None]
    return sa * half_l * along[..., None, :] + sc * half_w * across[..., None, :]


def _inside(points: Tensor, along: Tensor, across: Tensor, boxes: Tensor, tol: Tensor) -> Tensor:
    """Whether points [... 4 2] (relative to a rectangle's centre) lie in that rectangle."""
    pa = (points * along[..., None, :]).sum(-1).abs()
    pc = (points * across[..., None, :]).sum(-1).abs()
    half_l = 0.5 * boxes[..., 5, None]
    half_w = 0.5 * boxes[..., 4, None]
    return (pa <= half_l + tol) & (pc <= half_w + tol)


def _cross(a: Tensor, b: Tensor) -> Tensor:
    return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]


def _bev_intersection(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """Footprint intersection areas [... n m] of valid (sanitised) boxes [... n 7], [... m 7]."""
    eps = torch.finfo(boxes1.dtype).eps
    along1, across1 = _axes(boxes1)
    along2, across2 = _axes(boxes2)
    off1 = _corner_offsets(boxes1, along1, across1)[..., :, None, :, :]  # ... n 1 4 2
    off2 = _corner_offsets(boxes2, along2, across2)[..., None, :, :, :]  # ... 1 m 4 2
    # work relative to the centre of box 1 of each pair: small numbers, little cancellation
    centre1 = torch.stack([boxes1[..., 0], boxes1[..., 2]], dim=-1)
    centre2 = torch.stack([boxes2[..., 0], boxes2[..., 2]], dim=-1)
    shift = centre2[..., None, :, :] - centre1[..., :, None, :]  # ... n m 2
    corners1 = off1.expand(*shift.shape[:-1], 4, 2)
    corners2 = off2 + shift[..., None, :]  # ... n m 4 2
    extent = torch.maximum(
        boxes1[..., :, None, 4:6].amax(-1), boxes2[..., None, :, 4:6].amax(-1)
    ) + shift.abs().amax(-1)
    tol = (64 * eps) * (1.0 + extent)[..., None]  # ... n m 1

    # corners of 2 inside 1 (box 1 of the pair sits at the origin), corners of 1 inside 2
    in1 = _inside(
        corners2, along1[..., :, None, :], across1[..., :, None, :], boxes1[..., :, None, :], tol
    )
    in2 = _inside(
        corners1 - shift[..., None, :],
        along2[..., None, :, :],
        across2[..., None, :, :],
        boxes2[..., None, :, :],
        tol,
    )

    # edge k of each rectangle runs from corner k to corner k + 1
    start1, start2 = corners1, corners2
    edge1 = torch.roll(corners1, -1, dims=-2) - corners1  # ... n m 4 2
    edge2 = torch.roll(corners2, -1, dims=-2) - corners2
    d1 = edge1[..., :, None, :]  # ... 4 1 2
    d2 = edge2[..., None, :, :]  # ... 1 4 2
    gap = start2[..., None, :, :] - start1[..., :, None, :]  # ... 4 4 2
    den = _cross(d1, d2)
    scale = d1.norm(dim=-1) * d2.norm(dim=-1)
    crossing = den.abs() > (16 * eps) * scale
    den_safe = torch.where(crossing, den, torch.ones_like(den))
    t = _cross(gap, d2) / den_safe
    s = _cross(gap, d1) / den_safe
    slack = 64 * eps
    hit = crossing & (t >= -slack) & (t <= 1 + slack) & (s >= -slack) & (s <= 1 + slack)
    hits = start1[..., :, None, :] + t[..., None] * d1  # ... 4 4 2

    points = torch.cat([corners1, corners2, hits.flatten(-3, -2)], dim=-2)  # ... n m 24 2
    mask = torch.cat([in2, in1, hit.flatten(-2)], dim=-1)  # ... n m 24
    weight = mask.to(points.dtype)
    count = weight.sum(-1, keepdim=True)
    centroid = (points * weight[..., None]).sum(-2) / count.clamp(min=1)
    rel = points - centroid[..., None, :]
    with torch.no_grad():  # the order only; no gradient through atan2 at coincident points
        angle = torch.atan2(rel[..., 1], rel[..., 0])
        angle = torch.where(mask, angle, torch.full_like(angle, 10.0))
        order = angle.argsort(dim=-1)
    rel = torch.gather(rel, -2, order[..., None].expand_as(rel))
    mask = torch.gather(mask, -1, order)
    rel = torch.where(mask[..., None], rel, rel[..., :1, :])  # pad with the first vertex
    area2 = _cross(rel, torch.roll(rel, -1, dims=-2)).sum(-1)
    return 0.5 * area2.abs() * (count[..., 0] >= 3)


def _prepare(boxes1: Tensor, boxes2: Tensor, sizes: slice):
    dtype = boxes1.dtype
    if dtype in (torch.float16, torch.bfloat16):
        boxes1, boxes2 = boxes1.float(), boxes2.float()
    valid1, boxes1 = _sanitize(boxes1, sizes)
    valid2, boxes2 = _sanitize(boxes2, sizes)
    valid = valid1[..., :, None] & valid2[..., None, :]
    return dtype, boxes1, boxes2, valid


def _ratio(inter: Tensor, size1: Tensor, size2: Tensor, valid: Tensor) -> Tensor:
    union = size1[..., :, None] + size2[..., None, :] - inter
    ok = valid & (union > 0)
    iou = inter / torch.where(ok, union, torch.ones_like(union))
    return torch.where(ok, iou, torch.zeros_like(iou)).clamp(0.0, 1.0)


@contract
def bev_iou(
    boxes1: Float[Tensor, "*batch n 7"], boxes2: Float[Tensor, "*batch m 7"]
) -> Float[Tensor, "*batch n m"]:
    """Rotated IoU of the x–z footprints of every pair of boxes (x, y, z, h, w, l, ry).

    Symmetric, in [0, 1]. Boxes with w <= 0, l <= 0 or a non-finite number get IoU 0 with
    every box. Differentiable w.r.t. the box parameters (almost everywhere).
    """
    dtype, b1, b2, valid = _prepare(boxes1, boxes2, slice(4, 6))
    inter = _bev_intersection(b1, b2)
    return _ratio(inter, b1[..., 4] * b1[..., 5], b2[..., 4] * b2[..., 5], valid).to(dtype)


@contract
def box3d_iou(
    boxes1: Float[Tensor, "*batch n 7"], boxes2: Float[Tensor, "*batch m 7"]
) -> Float[Tensor, "*batch n m"]:
    """3D IoU of every pair of boxes (x, y, z, h, w, l, ry): footprint intersection area
    times the overlap of the vertical extents [y - h, y], over the union of the volumes.

    Symmetric, in [0, 1]. Boxes with h <= 0, w <= 0, l <= 0 or a non-finite number get IoU 0
    with every box. Differentiable w.r.t. the box parameters (almost everywhere).
    """
    dtype, b1, b2, valid = _prepare(boxes1, boxes2, slice(3, 6))
    inter_bev = _bev_intersection(b1, b2)
    bottom = torch.minimum(b1[..., :, None, 1], b2[..., None, :, 1])
    top = torch.maximum(
        b1[..., :, None, 1] - b1[..., :, None, 3], b2[..., None, :, 1] - b2[..., None, :, 3]
    )
    inter = inter_bev * (bottom - top).clamp(min=0)
    volume1 = b1[..., 3] * b1[..., 4] * b1[..., 5]
    volume2 = b2[..., 3] * b2[..., 4] * b2[..., 5]
    return _ratio(inter, volume1, volume2, valid).to(dtype)
