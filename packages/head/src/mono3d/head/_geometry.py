"""Where a proposal is, in the camera's terms: the geometry the 3D branch of the head reads.

A RoIAlign crop is normalised in scale and position, so it cannot tell a near object from a far
one of the same look, nor where on the ground plane it stands. These numbers put that back,
normalised by the intrinsics (fx = P2[0, 0], fy = P2[1, 1], (cx, cy) = P2[0:2, 2]):

    (x1 - cx) / fx, (x2 - cx) / fx, (y1 - cy) / fy, (y2 - cy) / fy, log(fx / pw), log(fy / ph)

the proposal's edges as ray slopes and its size as the log of the depth at which a one-metre
object would look that big. They do not change when the image and its calib are resized or
cropped together; a horizontal flip (u -> W - u with the calib flipped alike) maps
(a1, a2, b1, b2, lw, lh) to (-a2, -a1, b1, b2, lw, lh), and a second flip back.
"""

import torch
from jaxtyping import Float
from torch import Tensor

from mono3d.contracts import contract

#: how many numbers :func:`proposal_geometry` gives per proposal
GEOMETRY_FEATURES = 6
#: proposal sides (pixels) are clamped to at least this, so padded rows stay finite
MIN_SIDE = 1.0


def _nonzero(focal: Tensor) -> Tensor:
    """``focal`` with entries nearer 0 than 1e-6 set to 1e-6 (a broken calib stays finite)."""
    return torch.where(focal.abs() < 1e-6, torch.full_like(focal, 1e-6), focal)


@contract
def proposal_geometry(
    proposals: Float[Tensor, "b Nhd 4"], calib: Float[Tensor, "b 3 4"]
) -> Float[Tensor, "b Nhd 6"]:
    """The six intrinsics-normalised numbers of each proposal (x1, y1, x2, y2 pixels), in
    float32 (see the module docstring); finite for any finite input."""
    boxes, calib = proposals.float(), calib.float()
    fx, fy = _nonzero(calib[:, 0, 0])[:, None], _nonzero(calib[:, 1, 1])[:, None]
    cx, cy = calib[:, 0, 2][:, None], calib[:, 1, 2][:, None]
    x1, y1, x2, y2 = boxes.unbind(-1)
    pw = (x2 - x1).clamp(min=MIN_SIDE)
    ph = (y2 - y1).clamp(min=MIN_SIDE)
    return torch.stack(
        [
            (x1 - cx) / fx,
            (x2 - cx) / fx,
            (y1 - cy) / fy,
            (y2 - cy) / fy,
            torch.log(fx.abs() / pw),
            torch.log(fy.abs() / ph),
        ],
        dim=-1,
    )
