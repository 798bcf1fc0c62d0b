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


def _solve_left(calib: Tensor, rhs: Tensor) -> Tensor:
    """``inverse(calib[:, :, :3]) @ rhs_k`` for every row k of rhs (b, n, 3) -> (b, n, 3)."""
    return torch.linalg.solve(calib[:, :, :3], rhs.transpose(1, 2)).transpose(1, 2)


@contract
def unproject_points(
    uv: Float[Tensor, "b n 2"], depth: Float[Tensor, "b n"], calib: Float[Tensor, "b 3 4"]
) -> Float[Tensor, "b n 3"]:
    """Camera-frame points X whose projection is ``uv`` at ``depth`` (= ``P2[2] · [X; 1]``).

    Solves ``P2[:, :3] X = (u d, v d, d) - P2[:, 3]`` exactly (general left 3×3 block, the
    translation column included), so ``project_points(unproject_points(uv, d, P), P) ==
    (uv, d)``. The left 3×3 block of ``calib`` must be invertible (true for any camera).
    For KITTI, pass ``depth = z + t_z`` to get a point at camera z.
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
