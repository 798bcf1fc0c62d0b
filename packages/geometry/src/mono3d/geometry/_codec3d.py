"""The 3D logit codec (docs/DESIGN.md §4): a 3D box relative to a 2D proposal and a class prior.

``logit = (du, dv, dz, dh, dw, dl)`` with

* ``du = (u - cx) / pw``, ``dv = (v - cy) / ph``: (u, v) the projection (full P2) of the box's
  geometric centre (x, y - h/2, z); (cx, cy, pw, ph) the proposal's centre and size, pixels;
* ``dz = log(z ph / (fy h_c))``, ``fy = calib[1, 1]``: the camera z relative to the depth at
  which an object of prior height h_c would look ph pixels tall (invariant to image scale);
* ``dh, dw, dl = log(h / h_c), log(w / w_c), log(l / l_c)``; ``prior = (h_c, w_c, l_c)`` metres.

Decoding inverts this exactly: z and the sizes come straight back; (u, v) is unprojected with
the full P2 at the depth whose point has camera z (see ``unproject_at_z``); the centre is
moved down by h/2 to the bottom-face centre.

Rows that are not real boxes (padding, z <= 0, non-positive sizes or proposal sides) give
non-finite logits or boxes; they are not cleaned here, mask them with the ``valid`` flags.
"""

import torch
from jaxtyping import Float
from torch import Tensor

from mono3d.contracts import contract

from ._boxes3d import box3d_center
from ._camera import project_points, unproject_at_z


def _proposal_centre_size(proposals: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    pw = proposals[..., 2] - proposals[..., 0]
    ph = proposals[..., 3] - proposals[..., 1]
    return proposals[..., 0] + 0.5 * pw, proposals[..., 1] + 0.5 * ph, pw, ph


@contract
def encode_box3d(
    bbox3d: Float[Tensor, "b m 6"],
    proposals: Float[Tensor, "b m 4"],
    prior: Float[Tensor, "b m 3"],
    calib: Float[Tensor, "b 3 4"],
) -> Float[Tensor, "b m 6"]:
    """Encode boxes (x, y, z, h, w, l) as logits (du, dv, dz, dh, dw, dl) relative to
    ``proposals`` (x1, y1, x2, y2 pixels) and ``prior`` (h_c, w_c, l_c metres)."""
    cx, cy, pw, ph = _proposal_centre_size(proposals)
    uv, _ = project_points(box3d_center(bbox3d), calib)
    fy = calib[:, 1, 1][:, None]
    size = bbox3d[..., 3:6]
    return torch.cat(
        [
            ((uv[..., 0] - cx) / pw)[..., None],
            ((uv[..., 1] - cy) / ph)[..., None],
            torch.log(bbox3d[..., 2] * ph / (fy * prior[..., 0]))[..., None],
            torch.log(size / prior),
        ],
        dim=-1,
    )


@contract
def decode_box3d(
    logit: Float[Tensor, "b m 6"],
    proposals: Float[Tensor, "b m 4"],
    prior: Float[Tensor, "b m 3"],
    calib: Float[Tensor, "b 3 4"],
) -> Float[Tensor, "b m 6"]:
    """Decode logits (du, dv, dz, dh, dw, dl) into boxes (x, y, z, h, w, l), (x, y, z) the
    bottom-face centre; exact inverse of :func:`encode_box3d`."""
    cx, cy, pw, ph = _proposal_centre_size(proposals)
    fy = calib[:, 1, 1][:, None]
    uv = torch.stack([cx + logit[..., 0] * pw, cy + logit[..., 1] * ph], dim=-1)
    z = torch.exp(logit[..., 2]) * fy * prior[..., 0] / ph
    size = torch.exp(logit[..., 3:6]) * prior
    centre = unproject_at_z(uv, z, calib)
    bottom_y = centre[..., 1] + 0.5 * size[..., 0]
    return torch.cat([centre[..., :1], bottom_y[..., None], centre[..., 2:], size], dim=-1)
