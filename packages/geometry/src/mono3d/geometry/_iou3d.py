"""Rotated bird's-eye-view IoU and 3D IoU of KITTI boxes, all pairs at once.

Boxes are ``boxes7 = (x, y, z, h, w, l, rotation_y)`` (see :func:`boxes7`). The footprint is
the rectangle in the x–z plane centred at (x, z), of length l along ``(cos ry, -sin ry)`` and
width w along ``(sin ry, cos ry)`` — the same rectangle as the bottom face of
:func:`box3d_corners`. The vertical extent is [y - h, y] (y points down).

Intersection of two rectangles, vectorised over pairs (no Python loop): pairs whose
circumscribed circles do not meet are 0 and skipped; the others are gathered into one flat
batch. For each, the vertices of the intersection polygon are the corners of each rectangle
lying inside the other plus the crossing points of their 16 edge pairs; these (at most 24,
masked) points are sorted by a pseudo-angle around their mean and the shoelace formula gives
the area. (The gather uses ``nonzero``, a data-dependent size: one graph break under
torch.compile.)

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
    """Whether points [K 4 2] (relative to a rectangle's centre) lie in that rectangle."""
    pa = (points * along[..., None, :]).sum(-1).abs()
    pc = (points * across[..., None, :]).sum(-1).abs()
    half_l = 0.5 * boxes[..., 5, None]
    half_w = 0.5 * boxes[..., 4, None]
    return (pa <= half_l + tol) & (pc <= half_w + tol)


def _cross(a: Tensor, b: Tensor) -> Tensor:
    return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]


def _pair_intersection(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """Footprint intersection areas [K] of aligned pairs of valid boxes [K 7], [K 7]."""
    eps = torch.finfo(boxes1.dtype).eps
    along1, across1 = _axes(boxes1)
    along2, across2 = _axes(boxes2)
    # work relative to the centre of box 1 of each pair: small numbers, little cancellation
    shift = (boxes2 - boxes1)[..., [0, 2]]  # K 2
    corners1 = _corner_offsets(boxes1, along1, across1)  # K 4 2
    corners2 = _corner_offsets(boxes2, along2, across2) + shift[..., None, :]
    extent = torch.maximum(boxes1[..., 4:6], boxes2[..., 4:6]).amax(-1) + shift.abs().amax(-1)
    tol = (64 * eps) * (1.0 + extent)[..., None]  # K 1

    # corners of 2 inside 1 (box 1 sits at the origin), corners of 1 inside 2
    in1 = _inside(corners2, along1, across1, boxes1, tol)
    in2 = _inside(corners1 - shift[..., None, :], along2, across2, boxes2, tol)

    # edge k of each rectangle runs from corner k to corner k + 1; all 16 pairs of edges
    d1 = (torch.roll(corners1, -1, dims=-2) - corners1)[..., :, None, :]  # K 4 1 2
    d2 = (torch.roll(corners2, -1, dims=-2) - corners2)[..., None, :, :]  # K 1 4 2
    gap = corners2[..., None, :, :] - corners1[..., :, None, :]  # K 4 4 2
    den = _cross(d1, d2)
    crossing = den.abs() > (16 * eps) * d1.norm(dim=-1) * d2.norm(dim=-1)
    den_safe = torch.where(crossing, den, torch.ones_like(den))
    t = _cross(gap, d2) / den_safe
    s = _cross(gap, d1) / den_safe
    slack = 64 * eps
    hit = crossing & (t >= -slack) & (t <= 1 + slack) & (s >= -slack) & (s <= 1 + slack)
    hits = corners1[..., :, None, :] + t[..., None] * d1  # K 4 4 2

    points = torch.cat([corners1, corners2, hits.flatten(-3, -2)], dim=-2)  # K 24 2
    mask = torch.cat([in2, in1, hit.flatten(-2)], dim=-1)  # K 24
    weight = mask.to(points.dtype)
    count = weight.sum(-1, keepdim=True)
    centroid = (points * weight[..., None]).sum(-2) / count.clamp(min=1)
    rel = points - centroid[..., None, :]
    with torch.no_grad():  # only the order: a pseudo-angle in [0, 4), monotonic in the angle
        x, y = rel[..., 0], rel[..., 1]
        cos_like = x / (x.abs() + y.abs()).clamp(min=torch.finfo(x.dtype).tiny)
        angle = torch.where(y >= 0, 1.0 - cos_like, 3.0 + cos_like)
        angle = torch.where(mask, angle, torch.full_like(angle, 8.0))
        order = angle.argsort(dim=-1)
    rel = torch.gather(rel, -2, order[..., None].expand_as(rel))
    mask = torch.gather(mask, -1, order)
    rel = torch.where(mask[..., None], rel, rel[..., :1, :])  # pad with the first vertex
    area2 = _cross(rel, torch.roll(rel, -1, dims=-2)).sum(-1)
    return 0.5 * area2.abs() * (count[..., 0] >= 3)


def _bev_intersection(boxes1: Tensor, boxes2: Tensor, valid: Tensor) -> Tensor:
    """Footprint intersection areas [... n m] of sanitised boxes [... n 7], [... m 7].

    Only the pairs that are ``valid`` and whose circumscribed circles meet are computed (all
    at once, gathered into one flat batch and scattered back); the rest are 0.
    """
    pairs = valid.shape
    radius1 = 0.5 * torch.hypot(boxes1[..., 4], boxes1[..., 5])
    radius2 = 0.5 * torch.hypot(boxes2[..., 4], boxes2[..., 5])
    distance = torch.hypot(
        boxes1[..., :, None, 0] - boxes2[..., None, :, 0],
        boxes1[..., :, None, 2] - boxes2[..., None, :, 2],
    )
    near = valid & (distance <= (radius1[..., :, None] + radius2[..., None, :]) * 1.001)
    index = near.flatten().nonzero().squeeze(1)
    first = boxes1[..., :, None, :].expand(*pairs, 7).reshape(-1, 7)[index]
    second = boxes2[..., None, :, :].expand(*pairs, 7).reshape(-1, 7)[index]
    area = _pair_intersection(first, second)
    flat = boxes1.new_zeros(near.numel()).scatter(0, index, area)
    return flat.reshape(pairs)


def _prepare(
    boxes1: Tensor, boxes2: Tensor, sizes: slice
) -> tuple[torch.dtype, Tensor, Tensor, Tensor]:
    """(input dtype, sanitised boxes1, sanitised boxes2, valid pairs [... n m])."""
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
    inter = _bev_intersection(b1, b2, valid)
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
    inter_bev = _bev_intersection(b1, b2, valid)
    bottom = torch.minimum(b1[..., :, None, 1], b2[..., None, :, 1])
    top = torch.maximum(
        b1[..., :, None, 1] - b1[..., :, None, 3], b2[..., None, :, 1] - b2[..., None, :, 3]
    )
    inter = inter_bev * (bottom - top).clamp(min=0)
    volume1 = b1[..., 3] * b1[..., 4] * b1[..., 5]
    volume2 = b2[..., 3] * b2[..., 4] * b2[..., 5]
    return _ratio(inter, volume1, volume2, valid).to(dtype)
