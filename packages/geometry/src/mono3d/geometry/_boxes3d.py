"""KITTI 3D boxes: ``bbox3d = (x, y, z, h, w, l)`` with (x, y, z) the bottom-face centre
(KITTI ``location``, camera frame, y down) and ``rotation_y`` the yaw about the camera y axis.

The box's length axis points along ``(cos ry, 0, -sin ry)`` and its width axis along
``(sin ry, 0, cos ry)`` (object x and z axes rotated by ``R_y(ry)``); its height runs from
y (bottom) up to y - h (top).
"""

import torch
from jaxtyping import Float
from torch import Tensor

from mono3d.contracts import contract

from ._camera import project_points

# corner k = location + R_y(ry) @ (sx_k l/2, -sy_k h, sz_k w/2): bottom face first (y = y),
# then the top face (y = y - h), each face walked round its 4 corners in order
_SX = (1.0, 1.0, -1.0, -1.0, 1.0, 1.0, -1.0, -1.0)
_SY = (0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0)
_SZ = (1.0, -1.0, -1.0, 1.0, 1.0, -1.0, -1.0, 1.0)


@contract
def box3d_center(bbox3d: Float[Tensor, "*batch 6"]) -> Float[Tensor, "*batch 3"]:
    """Geometric centre (x, y - h/2, z) of each box (metres, camera frame)."""
    return torch.stack(
        [bbox3d[..., 0], bbox3d[..., 1] - 0.5 * bbox3d[..., 3], bbox3d[..., 2]], dim=-1
    )


@contract
def box3d_corners(
    bbox3d: Float[Tensor, "*batch 6"], rotation_y: Float[Tensor, "*batch 1"]
) -> Float[Tensor, "*batch 8 3"]:
    """The 8 corners (x, y, z) of each box, metres, camera frame.

    Corners 0-3 are the bottom face (at y), 4-7 the top face (at y - h), corner k + 4 above
    corner k. In object coordinates corner k is ``(±l/2, 0 or -h, ±w/2)`` with signs
    ``(+,+), (+,-), (-,-), (-,+)`` for (length, width), rotated by ``R_y(rotation_y)``:
    ``x' = cos·x + sin·z``, ``z' = -sin·x + cos·z``.
    """
    ref = bbox3d[..., None, :]  # ... 1 6
    sx = bbox3d.new_tensor(_SX)
    sy = bbox3d.new_tensor(_SY)
    sz = bbox3d.new_tensor(_SZ)
    along = sx * (0.5 * ref[..., 5])  # ... 8, object x (length)
    across = sz * (0.5 * ref[..., 4])  # ... 8, object z (width)
    cos, sin = torch.cos(rotation_y), torch.sin(rotation_y)  # ... 1
    x = ref[..., 0] + cos * along + sin * across
    y = ref[..., 1] - sy * ref[..., 3]
    z = ref[..., 2] - sin * along + cos * across
    return torch.stack([x, y, z], dim=-1)


@contract
def project_box3d(
    bbox3d: Float[Tensor, "b n 6"],
    rotation_y: Float[Tensor, "b n 1"],
    calib: Float[Tensor, "b 3 4"],
) -> Float[Tensor, "b n 4"]:
    """The 2D box (x1, y1, x2, y2) enclosing the 8 projected corners of each box, pixels.

    Not clipped to the image. Corners on or behind the camera plane project with the depth
    clamped (see :func:`project_points`), which makes the box huge but finite: mask boxes
    with ``z - l/2 - w/2 <= 0`` (or check corner depths) if that matters to the caller.
    """
    b, n = bbox3d.shape[:2]
    corners = box3d_corners(bbox3d, rotation_y).reshape(b, n * 8, 3)
    uv, _ = project_points(corners, calib)
    uv = uv.reshape(b, n, 8, 2)
    return torch.cat([uv.amin(dim=2), uv.amax(dim=2)], dim=-1)


@contract
def boxes7(
    bbox3d: Float[Tensor, "*batch 6"], rotation_y: Float[Tensor, "*batch 1"]
) -> Float[Tensor, "*batch 7"]:
    """Concatenate ``(x, y, z, h, w, l)`` and ``rotation_y`` into the 7-number box the IoU
    functions take."""
    return torch.cat([bbox3d, rotation_y], dim=-1)
