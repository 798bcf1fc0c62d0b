"""The 2D box delta codec (docs/DESIGN.md §4), torchvision ``BoxCoder`` semantics.

``deltas = (dx, dy, dw, dh)`` of a box relative to a reference box (anchor or proposal):
``dx = wx (gx - rx) / rw``, ``dy = wy (gy - ry) / rh``, ``dw = ww log(gw / rw)``,
``dh = wh log(gh / rh)`` with (gx, gy, gw, gh) / (rx, ry, rw, rh) the centre and size of the
box / the reference. Decoding clamps ``dw / ww`` and ``dh / wh`` at ``clamp``
(log(1000/16) by default) before the exponential, as torchvision does.
"""

import math

import torch
from jaxtyping import Float
from torch import Tensor

from mono3d.contracts import contract

#: torchvision's default clamp of dw / dh on decode
DEFAULT_DELTA_CLAMP: float = math.log(1000.0 / 16)


def _centre_size(boxes: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    width = boxes[..., 2] - boxes[..., 0]
    height = boxes[..., 3] - boxes[..., 1]
    return boxes[..., 0] + 0.5 * width, boxes[..., 1] + 0.5 * height, width, height


@contract
def encode_box2d(
    boxes: Float[Tensor, "*batch 4"],
    reference: Float[Tensor, "*batch 4"],
    weights: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0),
) -> Float[Tensor, "*batch 4"]:
    """Deltas (dx, dy, dw, dh) turning each ``reference`` box into the matching ``boxes`` box.

    Both are (x1, y1, x2, y2) pixels. References and boxes must have positive sides; a zero
    side gives ±inf/NaN deltas (as torchvision), so mask padded rows before a loss uses them.
    """
    wx, wy, ww, wh = weights
    gx, gy, gw, gh = _centre_size(boxes)
    rx, ry, rw, rh = _centre_size(reference)
    return torch.stack(
        [
            wx * (gx - rx) / rw,
            wy * (gy - ry) / rh,
            ww * torch.log(gw / rw),
            wh * torch.log(gh / rh),
        ],
        dim=-1,
    )


@contract
def decode_box2d(
    deltas: Float[Tensor, "*batch 4"],
    reference: Float[Tensor, "*batch 4"],
    weights: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0),
    clamp: float = DEFAULT_DELTA_CLAMP,
) -> Float[Tensor, "*batch 4"]:
    """Apply deltas (dx, dy, dw, dh) to ``reference`` boxes; returns (x1, y1, x2, y2) pixels.

    Exact inverse of :func:`encode_box2d` as long as ``|dw / ww|, |dh / wh| <= clamp``.
    """
    wx, wy, ww, wh = weights
    rx, ry, rw, rh = _centre_size(reference)
    dx, dy = deltas[..., 0] / wx, deltas[..., 1] / wy
    dw = (deltas[..., 2] / ww).clamp(max=clamp)
    dh = (deltas[..., 3] / wh).clamp(max=clamp)
    cx, cy = rx + dx * rw, ry + dy * rh
    half_w, half_h = 0.5 * rw * torch.exp(dw), 0.5 * rh * torch.exp(dh)
    return torch.stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h], dim=-1)
