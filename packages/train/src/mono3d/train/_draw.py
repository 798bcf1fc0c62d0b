"""Drawing 3D boxes projected into the image (the bird's-eye view is in ``_draw_bev``).

Boxes are KITTI boxes: ``bbox3d`` (x, y, z, h, w, l) with (x, y, z) the bottom-face centre in
the camera frame (metres) and ``yaw`` = rotation_y. Corners come from
:func:`mono3d.geometry.box3d_corners`: 0-3 the bottom face, 4-7 the top face; corners 0, 1, 5,
4 are the front face (the +length side, the direction the object faces), drawn with a cross.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from jaxtyping import Float
from PIL import Image, ImageDraw, ImageFont
from torch import Tensor

from mono3d.contracts import contract
from mono3d.geometry import box3d_corners, project_points

__all__ = [
    "BoxesToDraw",
    "class_colour",
    "draw_boxes_on_image",
    "enlarge",
    "font_of_size",
    "project_corners",
    "side_by_side",
    "to_pil",
]

#: the 12 edges of a box (corner pairs)
EDGES = (
    (0, 1),
    (1, 2),
    (2, 3),
    (3, 0),
    (4, 5),
    (5, 6),
    (6, 7),
    (7, 4),
    (0, 4),
    (1, 5),
    (2, 6),
    (3, 7),
)
#: the front face and its two diagonals (the "cross" marking it)
FRONT = (0, 1, 5, 4)
FRONT_DIAGONALS = ((0, 5), (1, 4))
#: detection colours per class index (1-based category; index 0 for anything else)
PALETTE = (
    (255, 255, 255),
    (0, 220, 0),
    (255, 60, 60),
    (60, 140, 255),
    (255, 200, 0),
    (200, 0, 255),
    (0, 230, 230),
)
#: labelled (ground-truth) boxes, drawn thin
GROUND_TRUTH_COLOUR = (255, 255, 255)
MIN_DEPTH = 0.1


@dataclass(frozen=True)
class BoxesToDraw:
    """n boxes in one image: bbox3d (n, 6), yaw (n,), category (n,) 1-based, labels (n text
    labels, e.g. ``"Car 0.87"``), optionally their detection ``score`` (n,);
    ``ground_truth`` boxes are drawn thin and in :data:`GROUND_TRUTH_COLOUR`, detections in
    their class colour (:data:`PALETTE`)."""

    bbox3d: torch.Tensor
    yaw: torch.Tensor
    category: torch.Tensor
    labels: Sequence[str]
    ground_truth: bool = False
    score: torch.Tensor | None = None

    def __post_init__(self) -> None:
        n = self.bbox3d.shape[0]
        if self.bbox3d.shape != (n, 6) or self.yaw.shape != (n,) or self.category.shape != (n,):
            raise ValueError(
                f"BoxesToDraw: expected bbox3d (n, 6), yaw (n,), category (n,); got "
                f"{tuple(self.bbox3d.shape)}, {tuple(self.yaw.shape)}, "
                f"{tuple(self.category.shape)}"
            )
        if len(self.labels) != n:
            raise ValueError(f"BoxesToDraw: {len(self.labels)} labels for {n} boxes")
        if self.score is not None and self.score.shape != (n,):
            raise ValueError(
                f"BoxesToDraw: expected score (n,) = ({n},), got {tuple(self.score.shape)}"
            )

    def __len__(self) -> int:
        return int(self.bbox3d.shape[0])

    def select(self, keep: torch.Tensor) -> "BoxesToDraw":
        """The boxes where the boolean mask ``keep`` (n,) is true."""
        indices = keep.nonzero().flatten().tolist()
        return BoxesToDraw(
            bbox3d=self.bbox3d[keep],
            yaw=self.yaw[keep],
            category=self.category[keep],
            labels=[self.labels[i] for i in indices],
            ground_truth=self.ground_truth,
            score=None if self.score is None else self.score[keep],
        )

    def scoring_at_least(self, threshold: float) -> "BoxesToDraw":
        """The boxes scoring at least ``threshold`` (all of them when there are no scores)."""
        if self.score is None:
            return self
        return self.select(self.score >= threshold)

    def colour(self, index: int) -> tuple[int, int, int]:
        """The RGB colour of box ``index``."""
        if self.ground_truth:
            return GROUND_TRUTH_COLOUR
        return class_colour(int(self.category[index]))

    @property
    def corners(self) -> torch.Tensor:
        """Float[n 8 3]: camera-frame corners."""
        return box3d_corners(self.bbox3d.double(), self.yaw.double()[:, None])


@contract
def project_corners(
    bbox3d: Float[Tensor, "n 6"], yaw: Float[Tensor, " n"], calib: Float[Tensor, "3 4"]
) -> tuple[Float[Tensor, "n 8 2"], Float[Tensor, "n 8"]]:
    """Pixel coordinates (n, 8, 2) and depths (n, 8) of the 8 corners of each box
    (``box3d_corners`` order) projected with ``calib`` (P2, 3x4); float64."""
    corners = box3d_corners(bbox3d.double(), yaw.double()[:, None])
    uv, depth = project_points(corners.reshape(1, -1, 3), calib.double()[None])
    return uv.reshape(-1, 8, 2), depth.reshape(-1, 8)


def to_pil(image: torch.Tensor) -> Image.Image:
    """A float RGB (3, h, w) tensor in [0, 1] as a PIL image."""
    pixels = (image.detach().cpu().clamp(0, 1) * 255).round().to(torch.uint8)
    return Image.fromarray(pixels.permute(1, 2, 0).contiguous().numpy())


def class_colour(category: int) -> tuple[int, int, int]:
    """The detection colour of a 1-based ``category`` (:data:`PALETTE`; white for others)."""
    return PALETTE[category] if 0 < category < len(PALETTE) else PALETTE[0]


def font_of_size(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """Pillow's default font at ``size`` pixels (its fixed small font on Pillow < 10.1)."""
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # pragma: no cover - Pillow < 10.1 has no sized default font
        return ImageFont.load_default()


def draw_boxes_on_image(image: Image.Image, boxes: BoxesToDraw, calib: torch.Tensor) -> Image.Image:
    """A copy of ``image`` with every box's 12 projected edges, its front face crossed, and
    its label. ``calib``: P2 (3, 4) of this image. Boxes with a corner behind the camera
    (depth <= 0.1 m) are left out (their projection is meaningless)."""
    out = image.copy()
    if boxes.bbox3d.shape[0] == 0:
        return out
    draw = ImageDraw.Draw(out)
    width = max(1, round(min(out.size) / 200))
    font = font_of_size(max(10, round(min(out.size) / 28)))
    uv_tensor, depth = project_corners(boxes.bbox3d, boxes.yaw, calib)
    uv = uv_tensor.tolist()
    visible = (depth > MIN_DEPTH).all(dim=1).tolist()
    for index, label in enumerate(boxes.labels):
        if not visible[index]:
            continue
        points = uv[index]
        colour = boxes.colour(index)
        line = max(1, width - 1) if boxes.ground_truth else width
        for a, b in EDGES:
            draw.line([tuple(points[a]), tuple(points[b])], fill=colour, width=line)
        for a, b in FRONT_DIAGONALS:
            draw.line([tuple(points[a]), tuple(points[b])], fill=colour, width=line)
        if label:
            x = min(p[0] for p in points)
            y = min(p[1] for p in points)
            text_box = draw.textbbox((x, y), label, font=font, anchor="lb")
            draw.rectangle(text_box, fill=(0, 0, 0))
            draw.text((x, y), label, fill=colour, font=font, anchor="lb")
    return out


def enlarge(
    image: Image.Image, calib: torch.Tensor, min_height: int = 375
) -> tuple[Image.Image, torch.Tensor]:
    """``image`` scaled up to ``min_height`` pixels (aspect kept) and its P2 ``calib`` (3, 4)
    scaled to match, so boxes and labels drawn on small (e.g. synthetic) frames stay
    legible. Images at least ``min_height`` high are returned unchanged."""
    if image.height >= min_height:
        return image, calib
    factor = min_height / image.height
    size = (round(image.width * factor), min_height)
    scaled = calib.clone()
    scaled[:2] *= factor
    return image.resize(size, Image.Resampling.BICUBIC), scaled


def side_by_side(left: Image.Image, right: Image.Image) -> Image.Image:
    """``left`` and ``right`` next to each other, ``right`` scaled to ``left``'s height."""
    height = left.height
    scaled = right.resize((max(1, round(right.width * height / right.height)), height))
    out = Image.new("RGB", (left.width + scaled.width, height), (0, 0, 0))
    out.paste(left, (0, 0))
    out.paste(scaled, (left.width, 0))
    return out
