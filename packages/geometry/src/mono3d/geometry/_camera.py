"""Pinhole projection with the full KITTI P2 ``calib`` (b, 3, 4), translation column kept.

For a camera-frame point X = (x, y, z) (metres; x right, y down, z forward) the homogeneous
image point is ``P2 @ [X; 1] = (u d, v d, d)``. ``d = P2[2] · [X; 1]`` is called the *depth*
throughout mono3d; for KITTI (``P2[2] = (0, 0, 1, t_z)``) it equals ``z + t_z``, which differs
from z by a few millimetres.

Points behind the camera (documented contract, tested): :func:`project_points` always returns
the depth so that callers can mask ``depth <= 0``; ``uv`` is then computed with the depth
clamped to :data:`MIN_DEPTH` (finite, possibly huge, never NaN for finite input). Non-finite
points or calibs propagate into the outputs (nothing is cleaned silently here; the IoU
functions are the ones that map non-finite boxes to 0).
"""

import torch
from jaxtyping import Float
from torch import Tensor

from mono3d.contracts import contract

#: depth (third homogeneous coordinate) used in place of smaller ones when dividing
MIN_DEPTH: float = 1e-6


def _apply(calib: Tensor, points: Tensor) -> Tensor:
    """``calib @ [points; 1]`` for calib (b, 3, 4), points (b, n, 3) -> (b, n, 3)."""
    return points @ calib[:, :, :3].transpose(1, 2) + calib[:, None, :, 3]


@contract
def project_points(
    points: Float[Tensor, "b n 3"], calib: Float[Tensor, "b 3 4"]
) -> tuple[Float[Tensor, "b n 2"], Float[Tensor, "b n"]]:
    """Project camera-frame points (metres) to pixels with the full P2.

    Returns ``(uv, depth)``: uv (b, n, 2) pixels and depth (b, n) = ``P2[2] · [X; 1]``.
    Where ``depth <= MIN_DEPTH`` (on or behind the camera plane) uv is computed with the
    depth clamped to ``MIN_DEPTH``: finite but meaningless, so mask with ``depth > 0``.
    """
    hom = _apply(calib, points)
    depth = hom[..., 2]
    uv = hom[..., :2] / depth.clamp(min=MIN_DEPTH)[..., None]
    return uv, depth


def _cross(u: Tensor, v: Tensor) -> Tensor:
    """Cross products of the 3-vectors on the last axis of u and v (broadcast)."""
    u1, u2, u3 = u.unbind(-1)
    v1, v2, v3 = v.unbind(-1)
    return torch.stack([u2 * v3 - u3 * v2, u3 * v1 - u1 * v3, u1 * v2 - u2 * v1], dim=-1)


def _inverse_left(calib: Tensor) -> Tensor:
    """``inverse(calib[:, :, :3])`` (b, 3, 3) in closed form: the adjugate over the determinant.

    With rows a, b, c of the 3×3 block, the inverse's columns are ``b×c, c×a, a×b`` divided by
    ``det = a · (b×c)``. Elementwise arithmetic only (no ``torch.linalg``), so it exports to
    ONNX and runs under any dtype; for a camera block (well conditioned) it agrees with an LU
    solve to rounding.
    """
    a, b, c = calib[:, 0, :3], calib[:, 1, :3], calib[:, 2, :3]
    columns = torch.stack([_cross(b, c), _cross(c, a), _cross(a, b)], dim=-1)  # b 3 3
    det = (a * columns[..., 0]).sum(dim=-1)
    return columns / det[:, None, None]


def _solve_left(calib: Tensor, rhs: Tensor) -> Tensor:
    """``inverse(calib[:, :, :3]) @ rhs_k`` for every row k of rhs (b, n, 3) -> (b, n, 3)."""
    return rhs @ _inverse_left(calib).transpose(1, 2)


@contract
def unproject_points(
    uv: Float[Tensor, "b n 2"], depth: Float[Tensor, "b n"], calib: Float[Tensor, "b 3 4"]
) -> Float[Tensor, "b n 3"]:
    """Camera-frame points X whose projection is ``uv`` at ``depth`` (= ``P2[2] · [X; 1]``).

    Solves ``P2[:, :3] X = (u d, v d, d) - P2[:, 3]`` in closed form (the adjugate of the
    general left 3×3 block, the translation column included), so
    ``project_points(unproject_points(uv, d, P), P) == (uv, d)``. The left 3×3 block of
    ``calib`` must be invertible (true for any camera). For KITTI, pass
    ``depth = z + t_z`` to get a point at camera z.
    """
    rhs = torch.cat([uv * depth[..., None], depth[..., None]], dim=-1) - calib[:, None, :, 3]
    return _solve_left(calib, rhs)


def unproject_at_z(uv: Tensor, z: Tensor, calib: Tensor) -> Tensor:
    """Points on the rays through ``uv`` (b, n, 2) whose camera z is ``z`` (b, n) -> (b, n, 3).

    Along the ray, ``X(d) = d r - c`` with ``r = M⁻¹ (u, v, 1)``, ``c = M⁻¹ t`` (M = P2[:, :3],
    t = P2[:, 3]), so ``d = (z + c_z) / r_z`` is the depth at which to unproject. The
    returned z component is ``z`` itself (exact).
    """
    ones = torch.ones_like(uv[..., :1])
    r = _solve_left(calib, torch.cat([uv, ones], dim=-1))  # b n 3
    c = _solve_left(calib, calib[:, None, :, 3])  # b 1 3
    depth = (z + c[..., 2]) / r[..., 2]
    point = depth[..., None] * r - c
    return torch.cat([point[..., :2], z[..., None]], dim=-1)
