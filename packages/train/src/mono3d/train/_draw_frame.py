"""One drawing of a frame: the camera view and the bird's-eye view side by side, with a
footer holding the legend and a caption on the detections.

Every prediction image (``mono3d predict``, the trainer's final-evaluation drawings,
``mono3d show``) is drawn here. Labelled boxes are thin and white, detections thick in their
class colour with a ``class score`` label; only detections scoring at least the threshold
are drawn, and the caption says how many passed it, or that none did (with the best score).
"""

from collections.abc import Sequence

import torch
from PIL import Image, ImageDraw

from ._draw import (
    GROUND_TRUTH_COLOUR,
    BoxesToDraw,
    class_colour,
    draw_boxes_on_image,
    enlarge,
    font_of_size,
    side_by_side,
)
from ._draw_bev import BEV_MAX_DEPTH, draw_bev

__all__ = ["detection_caption", "draw_frame", "footer_height"]

FOOTER_BACKGROUND = (0, 0, 0)
FOOTER_TEXT = (220, 220, 220)
#: the caption's colour when no detection passed the threshold
WARNING_TEXT = (255, 200, 0)


def detection_caption(detections: BoxesToDraw | None, score_thresh: float) -> str:
    """What the drawing shows of ``detections`` at ``score_thresh``: how many of them score
    at least the threshold, or that none does (and the best score)."""
    if detections is None:
        return "labelled boxes only (no detections given)"
    total = len(detections)
    if total == 0:
        return "no detections"
    shown = len(detections.scoring_at_least(score_thresh))
    if shown == 0:
        assert detections.score is not None  # without scores every box passes
        best = float(detections.score.max())
        return f"no detection scored >= {score_thresh:.2f} ({total} below it, best {best:.2f})"
    return f"{shown} of {total} detections scoring >= {score_thresh:.2f} drawn"


def footer_height(panel_height: int) -> int:
    """The footer's height (two text lines) under panels ``panel_height`` pixels high."""
    return 2 * (_font_size(panel_height) + 8) + 4


def _font_size(panel_height: int) -> int:
    return max(12, round(panel_height / 28))


def _footer(
    width: int,
    panel_height: int,
    *,
    labelled: bool,
    detections: bool,
    classes: Sequence[str],
    caption: str,
    warning: bool,
) -> Image.Image:
    """The legend (line 1) and the caption (line 2) on a strip ``width`` pixels wide."""
    size = _font_size(panel_height)
    font = font_of_size(size)
    strip = Image.new("RGB", (width, footer_height(panel_height)), FOOTER_BACKGROUND)
    draw = ImageDraw.Draw(strip)
    line = max(1, round(panel_height / 200))
    x, y = 8.0, 4 + (size + 8) / 2
    entries: list[tuple[str, tuple[int, int, int], int]] = []
    if labelled:
        entries.append(("labelled", GROUND_TRUTH_COLOUR, max(1, line - 1)))
    if detections:
        entries += [
            (f"{name} detection", class_colour(index + 1), line + 1)
            for index, name in enumerate(classes)
        ]
    for text, colour, thickness in entries:
        draw.line([(x, y), (x + 2.2 * size, y)], fill=colour, width=thickness)
        x += 2.2 * size + 6
        draw.text((x, y), text, fill=FOOTER_TEXT, font=font, anchor="lm")
        x += draw.textlength(text, font=font) + 1.5 * size
    draw.text(
        (8, y + size + 8),
        caption,
        fill=WARNING_TEXT if warning else FOOTER_TEXT,
        font=font,
        anchor="lm",
    )
    return strip


def draw_frame(
    image: Image.Image,
    calib: torch.Tensor,
    *,
    labelled: BoxesToDraw | None = None,
    detections: BoxesToDraw | None = None,
    classes: Sequence[str] = (),
    score_thresh: float = 0.0,
    min_height: int = 375,
    max_depth: float = BEV_MAX_DEPTH,
) -> Image.Image:
    """The frame ``image`` (P2 ``calib`` (3, 4)) enlarged to at least ``min_height`` pixels
    with the ``labelled`` boxes and the ``detections`` scoring at least ``score_thresh``
    projected, beside a bird's-eye view of the same boxes as high as the image (its range
    follows the boxes, at most ``max_depth`` metres; boxes beyond are reported there), above a
    footer: the legend (``classes`` name the detection colours) and
    :func:`detection_caption`. Size: (image width + BEV width, image height + footer)."""
    image, calib = enlarge(image, calib, min_height)
    shown = detections.scoring_at_least(score_thresh) if detections is not None else None
    box_sets = [boxes for boxes in (labelled, shown) if boxes is not None]
    camera = image
    for boxes in box_sets:
        camera = draw_boxes_on_image(camera, boxes, calib)
    bev = draw_bev(
        box_sets, size=camera.height, max_depth=max_depth, calib=calib, image_width=camera.width
    )
    panels = side_by_side(camera, bev)
    footer = _footer(
        panels.width,
        panels.height,
        labelled=labelled is not None,
        detections=detections is not None,
        classes=classes,
        caption=detection_caption(detections, score_thresh),
        warning=detections is not None and shown is not None and len(shown) == 0,
    )
    out = Image.new("RGB", (panels.width, panels.height + footer.height), FOOTER_BACKGROUND)
    out.paste(panels, (0, 0))
    out.paste(footer, (0, panels.height))
    return out
