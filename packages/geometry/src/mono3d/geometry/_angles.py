"""Angles in radians: wrapping into [-pi, pi) and KITTI's alpha <-> rotation_y.

``alpha = wrap(rotation_y - atan2(x, z))`` (observation angle, what an RoI's appearance
shows), ``rotation_y = wrap(alpha + atan2(x, z))``, with (x, z) the box location.
"""

import math

import torch
from jaxtyping import Float
from torch import Tensor

from mono3d.contracts import contract


@contract
def wrap_angle(angle: Float[Tensor, "*batch"]) -> Float[Tensor, "*batch"]:
    """Wrap angles (radians) into [-pi, pi). NaN stays NaN; ±inf gives NaN."""
    wrapped = torch.remainder(angle + math.pi, 2 * math.pi) - math.pi
    # remainder may round up to exactly 2 pi: fold that back to -pi
    return torch.where(wrapped >= math.pi, wrapped - 2 * math.pi, wrapped)


@contract
def alpha_from_rotation_y(
    rotation_y: Float[Tensor, "*batch"], x: Float[Tensor, "*batch"], z: Float[Tensor, "*batch"]
) -> Float[Tensor, "*batch"]:
    """Observation angle ``alpha = wrap(rotation_y - atan2(x, z))``, in [-pi, pi)."""
    return wrap_angle(rotation_y - torch.atan2(x, z))


@contract
def rotation_y_from_alpha(
    alpha: Float[Tensor, "*batch"], x: Float[Tensor, "*batch"], z: Float[Tensor, "*batch"]
) -> Float[Tensor, "*batch"]:
    """Yaw ``rotation_y = wrap(alpha + atan2(x, z))``, in [-pi, pi)."""
    return wrap_angle(alpha + torch.atan2(x, z))
