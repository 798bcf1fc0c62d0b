"""The bird's-eye view of 3D boxes: a plotted region that follows the boxes, and its drawing.

The view looks down the camera's y axis: x to the right, z (depth) up the picture, the camera
at the bottom centre, one scale for both axes (metres per pixel). The plotted depth is the
smallest multiple of :data:`GRID_STEP` that holds every box's footprint (plus
:data:`MARGIN`), at least :data:`BEV_MIN_DEPTH` and at most ``max_depth``
(:data:`BEV_MAX_DEPTH`, 80 m); the lateral half-width is half the depth, widened (in steps
of 5 m) for boxes further to the side, at most :data:`BEV_MAX_LATERAL`. A box whose
centre falls outside the plotted region (beyond the maximum, or behind the camera) is
*off the plot*: a triangle on the border points at it and the view's header counts it.
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from PIL import Image, ImageDraw, ImageFont
from torch import Tensor

from ._draw import BoxesToDraw, font_of_size

__all__ = [
    "BEV_MAX_DEPTH",
    "BEV_MAX_LATERAL",
    "BEV_MIN_DEPTH",
    "BevView",
    "bev_view",
    "draw_bev",
]

#: the deepest plotted depth (m): boxes further away are reported off the plot
BEV_MAX_DEPTH = 80.0
#: the widest plotted lateral half-width (m)
BEV_MAX_LATERAL = 40.0
#: the shallowest plotted depth (m), so a near box is not blown up to the whole panel
BEV_MIN_DEPTH = 20.0
#: free space kept around the furthest footprint corner (m)
MARGIN = 2.0
#: grid spacing (m); the plotted depth is a multiple of it
GRID_STEP = 10.0
BACKGROUND = (24, 24, 24)
GRID_COLOUR = (60, 60, 60)
#: (x, z) metres -> (u, v) pixels of the view
Pixel = Callable[[float, float], tuple[float, float]]
TEXT_COLOUR = (170, 170, 170)
FOV_COLOUR = (90, 90, 140)
WARNING_COLOUR = (255, 200, 0)


@dataclass(frozen=True)
class BevView:
    """The plotted region: x in [-x_half, x_half], z in [0, z_max] (metres)."""

    x_half: float
    z_max: float

    def outside(self, boxes: BoxesToDraw) -> Tensor:
        """Bool[n]: the boxes whose centre (x, z) is off the plotted region."""
        x, z = boxes.bbox3d[:, 0], boxes.bbox3d[:, 2]
        return (x.abs() > self.x_half) | (z < 0) | (z > self.z_max)


def _round_up(value: float, step: float) -> float:
    return math.ceil(value / step - 1e-9) * step


def bev_view(
    box_sets: Sequence[BoxesToDraw],
    *,
    max_depth: float = BEV_MAX_DEPTH,
    max_lateral: float = BEV_MAX_LATERAL,
) -> BevView:
    """The region that holds every box of ``box_sets`` whose centre lies in front of the
    camera, up to ``max_depth`` and ``max_lateral`` (see the module docstring): a box
    beyond a limit widens the view to that limit and is reported off the plot; boxes
    behind the camera do not widen it."""
    if max_depth <= 0 or max_lateral <= 0:
        raise ValueError(
            f"bev_view: max_depth and max_lateral must be > 0, got {max_depth}, {max_lateral}"
        )
    sets = [boxes for boxes in box_sets if boxes.bbox3d.shape[0] > 0]
    far, side = 0.0, 0.0
    if sets:
        bbox3d = torch.cat([boxes.bbox3d for boxes in sets]).double()
        corners = torch.cat([boxes.corners for boxes in sets])  # n 8 3
        ahead = bbox3d[:, 2] >= 0
        if bool(ahead.any()):
            far = float(corners[ahead][..., 2].max()) + MARGIN
            side = float(corners[ahead][..., 0].abs().max()) + MARGIN
    z_max = min(max(_round_up(far, GRID_STEP), BEV_MIN_DEPTH), max_depth)
    x_half = min(max(z_max / 2, _round_up(side, GRID_STEP / 2)), max_lateral)
    return BevView(x_half=x_half, z_max=z_max)


def draw_bev(
    box_sets: Sequence[BoxesToDraw],
    *,
    size: int = 600,
    view: BevView | None = None,
    max_depth: float = BEV_MAX_DEPTH,
    max_lateral: float = BEV_MAX_LATERAL,
    calib: torch.Tensor | None = None,
    image_width: int | None = None,
) -> Image.Image:
    """A bird's-eye view ``size`` pixels high: each box's footprint with a line from its
    centre to its front (labelled boxes thin, detections thick), a grid every 10 m, and, with
    ``calib`` (P2) and ``image_width``, the camera's horizontal field of view. ``view``
    (default :func:`bev_view` of the boxes, within ``max_depth`` and ``max_lateral``) sets
    the plotted region; a header states it and counts the boxes off the plot (a second line),
    each marked by a triangle on the border in its colour."""
    if view is None:
        view = bev_view(box_sets, max_depth=max_depth, max_lateral=max_lateral)
    text_size = max(10, round(size / 30))
    font = font_of_size(text_size)
    outside = [view.outside(boxes) for boxes in box_sets]
    off_plot = sum(int(mask.sum()) for mask in outside)
    lines = [f"BEV  x ±{view.x_half:g} m, z 0-{view.z_max:g} m"]
    if off_plot:
        lines.append(
            f"{off_plot} box{'es' if off_plot > 1 else ''} off the plot "
            f"(beyond {max_depth:g} m / ±{max_lateral:g} m, or behind)"
        )
    header = len(lines) * (text_size + 4) + 4
    scale = (size - header) / view.z_max
    width = max(1, round(2 * view.x_half * scale))
    canvas = Image.new("RGB", (width, size), BACKGROUND)
    draw = ImageDraw.Draw(canvas)

    def pixel(x: float, z: float) -> tuple[float, float]:
        return ((x + view.x_half) * scale, header + (view.z_max - z) * scale)

    _draw_grid(draw, view, pixel, font)
    if calib is not None and image_width is not None:
        fx, cx = float(calib[0, 0]), float(calib[0, 2])
        for u in (0.0, float(image_width)):
            slope = (u - cx) / fx
            # the ray leaves the plot at the far edge or at a side, whichever comes first
            reach = min(view.z_max, view.x_half / abs(slope)) if slope else view.z_max
            draw.line([pixel(0.0, 0.0), pixel(slope * reach, reach)], fill=FOV_COLOUR)
    for boxes, mask in zip(box_sets, outside):
        if boxes.bbox3d.shape[0]:
            _draw_footprints(draw, boxes, mask, pixel, view, line=max(1, round(size / 300)))
    for index, text in enumerate(lines):
        colour = WARNING_COLOUR if index else TEXT_COLOUR
        draw.text((4, 3 + index * (text_size + 4)), text, fill=colour, font=font, anchor="lt")
    return canvas


def _draw_grid(
    draw: ImageDraw.ImageDraw,
    view: BevView,
    pixel: Pixel,
    font: ImageFont.ImageFont | ImageFont.FreeTypeFont,
) -> None:
    """Grid lines every :data:`GRID_STEP` metres, depths labelled on the left."""
    step = int(GRID_STEP)
    first = math.ceil(-view.x_half / step) * step
    for gx in range(first, int(view.x_half) + 1, step):
        draw.line([pixel(gx, 0.0), pixel(gx, view.z_max)], fill=GRID_COLOUR)
    for gz in range(0, int(view.z_max) + 1, step):
        draw.line([pixel(-view.x_half, gz), pixel(view.x_half, gz)], fill=GRID_COLOUR)
        if gz:  # the label just under its line, so the top one clears the header
            x, y = pixel(-view.x_half, gz)
            draw.text((x + 3, y + 2), f"{gz} m", fill=TEXT_COLOUR, font=font, anchor="lt")


def _draw_footprints(
    draw: ImageDraw.ImageDraw,
    boxes: BoxesToDraw,
    outside: Tensor,
    pixel: Pixel,
    view: BevView,
    *,
    line: int,
) -> None:
    """Footprints (bottom faces) and heading ticks of the boxes on the plot; a border
    triangle pointing at each box off it."""
    footprint = boxes.corners[:, :4, :][..., [0, 2]].tolist()  # n 4 (x, z)
    centre = boxes.bbox3d[:, [0, 2]].double()
    # where an off-plot centre meets the border, on the segment from the camera to it
    shrink = torch.minimum(
        view.x_half / centre[:, 0].abs().clamp_min(1e-9),
        view.z_max / centre[:, 1].abs().clamp_min(1e-9),
    ).clamp(max=1.0)
    border = (centre * shrink[:, None]).tolist()
    width = line if boxes.ground_truth else line + 1
    for index, is_outside in enumerate(outside.tolist()):
        colour = boxes.colour(index)
        if is_outside:
            bx, bz = border[index]
            u, v = pixel(bx, max(bz, 0.0))
            r = 4 * width + 4
            # the tip on the border, pointing from the camera towards the box
            angle = math.atan2(-centre[index, 1].item(), centre[index, 0].item())
            left = (u - r * math.cos(angle - 0.45), v - r * math.sin(angle - 0.45))
            right = (u - r * math.cos(angle + 0.45), v - r * math.sin(angle + 0.45))
            draw.polygon([(u, v), left, right], fill=colour)
            continue
        points = [pixel(x, z) for x, z in footprint[index]]
        draw.polygon(points, outline=colour, width=width)
        mid = (sum(p[0] for p in points) / 4, sum(p[1] for p in points) / 4)
        front = ((points[0][0] + points[1][0]) / 2, (points[0][1] + points[1][1]) / 2)
        draw.line([mid, front], fill=colour, width=width)
