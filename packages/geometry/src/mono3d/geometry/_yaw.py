"""The MultiBin yaw codec over alpha (docs/DESIGN.md §4).

B bins with centres ``k 2pi / B`` wrapped into [-pi, pi) (k = 0..B-1, so bin 0 is at 0 and,
for even B, bin B/2 at -pi). ``bin`` is the nearest centre (on the circle), ``resi =
wrap(alpha - centre) / (pi / B)`` in [-1, 1]; decoding is ``wrap(centre + resi pi / B)``.
"""

import math

import torch
from jaxtyping import Float, Int
from torch import Tensor

from mono3d.contracts import contract

from ._angles import wrap_angle


@contract
def yaw_bin_centers(
    num_bins: int, *, dtype: torch.dtype | None = None, device: torch.device | str | None = None
) -> Float[Tensor, " B"]:
    """The B bin centres ``wrap(k 2pi / B)``, radians, in bin order."""
    if num_bins < 1:
        raise ValueError(f"num_bins must be >= 1, got {num_bins}")
    k = torch.arange(num_bins, dtype=torch.float64, device=device)
    return wrap_angle(k * (2 * math.pi / num_bins)).to(dtype or torch.get_default_dtype())


@contract
def encode_yaw(
    alpha: Float[Tensor, "*batch"], num_bins: int
) -> tuple[Int[Tensor, "*batch"], Float[Tensor, "*batch"]]:
    """(bin, resi) of each angle: bin (int64) the nearest centre, resi in [-1, 1].

    Non-finite angles are not cleaned: their bin is meaningless and resi NaN (mask them).
    """
    if num_bins < 1:
        raise ValueError(f"num_bins must be >= 1, got {num_bins}")
    step = 2 * math.pi / num_bins
    finite = torch.isfinite(alpha)
    position = torch.where(finite, alpha, torch.zeros_like(alpha)) / step
    bin_index = torch.remainder(torch.round(position), num_bins).to(torch.int64)
    centre = yaw_bin_centers(num_bins, dtype=alpha.dtype, device=alpha.device)[bin_index]
    resi = wrap_angle(alpha - centre) / (math.pi / num_bins)
    return bin_index, resi.clamp(-1.0, 1.0)


@contract
def decode_yaw(
    bin: Int[Tensor, "*batch"], resi: Float[Tensor, "*batch"], num_bins: int
) -> Float[Tensor, "*batch"]:
    """The angle ``wrap(centre[bin] + resi pi / B)`` in [-pi, pi); ``bin`` in [0, B)."""
    if num_bins < 1:
        raise ValueError(f"num_bins must be >= 1, got {num_bins}")
    centre = yaw_bin_centers(num_bins, dtype=resi.dtype, device=resi.device)[bin]
    return wrap_angle(centre + resi * (math.pi / num_bins))
