"""Keep calib, 2D boxes, 3D boxes and angles consistent under horizontal flip, resize and crop.

Pixel convention: continuous coordinates, the image spans [0, W] × [0, H]. A horizontal flip
maps u to ``W - u`` (a box (x1, y1, x2, y2) to (W - x2, y1, W - x1, y2)) and mirrors the scene
in x (``x -> -x``, angles ``-> wrap(pi - angle)`` for rotation_y and alpha alike). A resize by
(sx, sy) maps (u, v) to (sx u, sy v); a crop whose top-left corner is at (x0, y0) maps (u, v)
to (u - x0, v - y0). Each calib update is exact for a general 3×4 P2, so the projection of the
transformed scene equals the transformed projection.
"""

import torch
from jaxtyping import Float
from torch import Tensor

from mono3d.contracts import contract

from ._angles import wrap_angle


@contract
def flip_calib(
    calib: Float[Tensor, "b 3 4"], image_width: Float[Tensor, " b"]
) -> Float[Tensor, "b 3 4"]:
    """P2 of the horizontally flipped image of the x-mirrored scene.

    ``P' = F P S`` with ``F = [[-1, 0, W], [0, 1, 0], [0, 0, 1]]`` (u -> W - u) and
    ``S = diag(-1, 1, 1, 1)`` (x -> -x). For KITTI this gives ``P2[0, 2] -> W - P2[0, 2]`` and
    ``P2[0, 3] -> W t_z - P2[0, 3]`` (``-P2[0, 3]`` when t_z = 0), ``P2[0, 1] -> -P2[0, 1]``.
    Its own inverse for the same W.
    """
    mirrored = calib * calib.new_tensor([-1.0, 1.0, 1.0, 1.0])
    row0 = image_width[:, None] * mirrored[:, 2] - mirrored[:, 0]
    return torch.stack([row0, mirrored[:, 1], mirrored[:, 2]], dim=1)


@contract
def flip_box2d(
    bbox2d: Float[Tensor, "b n 4"], image_width: Float[Tensor, " b"]
) -> Float[Tensor, "b n 4"]:
    """(x1, y1, x2, y2) -> (W - x2, y1, W - x1, y2), W the width of each image in pixels."""
    width = image_width[:, None]
    return torch.stack(
        [width - bbox2d[..., 2], bbox2d[..., 1], width - bbox2d[..., 0], bbox2d[..., 3]], dim=-1
    )


@contract
def flip_box3d(bbox3d: Float[Tensor, "b n 6"]) -> Float[Tensor, "b n 6"]:
    """Mirror (x, y, z, h, w, l) in x: x -> -x; pair with :func:`flip_yaw` on the yaw."""
    return bbox3d * bbox3d.new_tensor([-1.0, 1.0, 1.0, 1.0, 1.0, 1.0])


@contract
def flip_yaw(angle: Float[Tensor, "*batch"]) -> Float[Tensor, "*batch"]:
    """``wrap(pi - angle)``: rotation_y or alpha of the x-mirrored box, in [-pi, pi)."""
    return wrap_angle(torch.pi - angle)


@contract
def scale_calib(
    calib: Float[Tensor, "b 3 4"], scale_x: Float[Tensor, " b"], scale_y: Float[Tensor, " b"]
) -> Float[Tensor, "b 3 4"]:
    """P2 of the image resized by (scale_x, scale_y): rows 0 and 1 scaled, row 2 kept."""
    factor = torch.stack([scale_x, scale_y, torch.ones_like(scale_x)], dim=1)
    return calib * factor[:, :, None]


@contract
def scale_box2d(
    bbox2d: Float[Tensor, "b n 4"], scale_x: Float[Tensor, " b"], scale_y: Float[Tensor, " b"]
) -> Float[Tensor, "b n 4"]:
    """Boxes of the image resized by (scale_x, scale_y): x1, x2 times sx; y1, y2 times sy."""
    factor = torch.stack([scale_x, scale_y, scale_x, scale_y], dim=1)
    return bbox2d * factor[:, None, :]


@contract
def crop_calib(
    calib: Float[Tensor, "b 3 4"], x0: Float[Tensor, " b"], y0: Float[Tensor, " b"]
) -> Float[Tensor, "b 3 4"]:
    """P2 of the image cropped at top-left (x0, y0) (negative values pad): u -> u - x0,
    v -> v - y0, i.e. ``row0 -= x0 row2``, ``row1 -= y0 row2``."""
    row2 = calib[:, 2]
    return torch.stack(
        [calib[:, 0] - x0[:, None] * row2, calib[:, 1] - y0[:, None] * row2, row2], dim=1
    )


@contract
def crop_box2d(
    bbox2d: Float[Tensor, "b n 4"], x0: Float[Tensor, " b"], y0: Float[Tensor, " b"]
) -> Float[Tensor, "b n 4"]:
    """Boxes of the image cropped at top-left (x0, y0): (x1 - x0, y1 - y0, x2 - x0, y2 - y0).
    Not clipped; follow with :func:`clip_boxes` to the crop's size if needed."""
    shift = torch.stack([x0, y0, x0, y0], dim=1)
    return bbox2d - shift[:, None, :]
