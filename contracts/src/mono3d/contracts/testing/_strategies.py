"""Strategies for dims, boxes, calibs and whole bundles (shapes in the contract vocabulary)."""

import math

import torch
from hypothesis import strategies as st

from .._bundles import GroundTruth, Images
from .._dims import IMAGE_STRIDE


def generators() -> st.SearchStrategy[torch.Generator]:
    """A seeded CPU ``torch.Generator`` (the seed is what hypothesis shrinks)."""
    return st.integers(0, 2**31 - 1).map(lambda seed: torch.Generator().manual_seed(seed))


def _uniform(g: torch.Generator, shape: tuple[int, ...], low: float, high: float) -> torch.Tensor:
    return low + (high - low) * torch.rand(shape, generator=g)


@st.composite
def padded_hw(draw: st.DrawFn, min_side: int = 64, max_side: int = 384) -> tuple[int, int]:
    """(h, w): a padded image size, both multiples of 32, square or not."""
    lo, hi = min_side // IMAGE_STRIDE, max_side // IMAGE_STRIDE
    return (draw(st.integers(lo, hi)) * IMAGE_STRIDE, draw(st.integers(lo, hi)) * IMAGE_STRIDE)


@st.composite
def image_sizes(draw: st.DrawFn, b: int, h: int, w: int) -> torch.Tensor:
    """Int[b 2]: each image's real (height, width), within 31 px of the padded (h, w)."""
    g = draw(generators())
    real_h = torch.randint(max(1, h - 31), h + 1, (b,), generator=g)
    real_w = torch.randint(max(1, w - 31), w + 1, (b,), generator=g)
    return torch.stack([real_h, real_w], dim=1)


@st.composite
def calibs(draw: st.DrawFn, b: int, h: int, w: int) -> torch.Tensor:
    """Float[b 3 4]: KITTI-like P2 matrices (fx = fy, principal point near the centre,
    a small translation column as in KITTI)."""
    g = draw(generators())
    f = _uniform(g, (b,), 0.5 * max(h, w), 1.2 * max(h, w))
    cx = _uniform(g, (b,), 0.4 * w, 0.6 * w)
    cy = _uniform(g, (b,), 0.4 * h, 0.6 * h)
    t = _uniform(g, (b, 3), -1.0, 1.0) * torch.tensor([50.0, 0.5, 0.005])
    p = torch.zeros(b, 3, 4)
    p[:, 0, 0], p[:, 1, 1], p[:, 0, 2], p[:, 1, 2], p[:, 2, 2] = f, f, cx, cy, 1.0
    p[:, :, 3] = t
    return p


@st.composite
def boxes2d(
    draw: st.DrawFn, b: int, n: int, image_size: torch.Tensor, min_side: float = 4.0
) -> torch.Tensor:
    """Float[b n 4]: (x1, y1, x2, y2) boxes inside each image's real size, sides >= min_side."""
    g = draw(generators())
    hw = image_size.to(torch.float32).view(b, 1, 2)
    real_h, real_w = hw[..., 0], hw[..., 1]
    side_w = _uniform(g, (b, n), 0.0, 1.0) * (real_w - min_side) + min_side
    side_h = _uniform(g, (b, n), 0.0, 1.0) * (real_h - min_side) + min_side
    x1 = _uniform(g, (b, n), 0.0, 1.0) * (real_w - side_w)
    y1 = _uniform(g, (b, n), 0.0, 1.0) * (real_h - side_h)
    return torch.stack([x1, y1, x1 + side_w, y1 + side_h], dim=-1)


@st.composite
def boxes3d(draw: st.DrawFn, b: int, n: int) -> torch.Tensor:
    """Float[b n 6]: (x, y, z, h, w, l) in front of the camera: z in [4, 60] m, |x| < 0.5 z,
    y (bottom face) in [1, 2.5] m, sizes of road users."""
    g = draw(generators())
    z = _uniform(g, (b, n), 4.0, 60.0)
    x = _uniform(g, (b, n), -0.5, 0.5) * z
    y = _uniform(g, (b, n), 1.0, 2.5)
    h = _uniform(g, (b, n), 0.8, 2.5)
    w = _uniform(g, (b, n), 0.4, 2.2)
    length = _uniform(g, (b, n), 0.4, 5.0)
    return torch.stack([x, y, z, h, w, length], dim=-1)


@st.composite
def yaws(draw: st.DrawFn, b: int, n: int) -> torch.Tensor:
    """Float[b n 1]: rotation_y in [-pi, pi)."""
    g = draw(generators())
    return _uniform(g, (b, n, 1), -math.pi, math.pi)


@st.composite
def images_bundles(draw: st.DrawFn, b: int, h: int, w: int) -> Images:
    """An ``Images`` bundle: random pixels, KITTI-like calibs, real sizes <= (h, w)."""
    g = draw(generators())
    return Images(
        images=torch.rand((b, 3, h, w), generator=g),
        calib=draw(calibs(b, h, w)),
        image_size=draw(image_sizes(b, h, w)),
    )


@st.composite
def ground_truths(
    draw: st.DrawFn,
    b: int,
    n: int,
    image_size: torch.Tensor,
    num_classes: int = 3,
    padding: str = "random",
    with_ignore: bool = True,
) -> GroundTruth:
    """A ``GroundTruth`` with n rows per image; each image keeps a drawn number of valid rows
    (0 included) and the rest are padding filled per ``padding`` ("random", "nan", "zero").
    With ``with_ignore`` some valid rows are DontCare (``ignore``)."""
    g = draw(generators())
    counts = torch.tensor([draw(st.integers(0, n)) for _ in range(b)], dtype=torch.long)
    valid = torch.arange(n).view(1, n) < counts.view(b, 1)
    ignore = valid & (torch.rand((b, n), generator=g) < 0.2) if with_ignore else valid & False
    bbox2d = draw(boxes2d(b, n, image_size))
    bbox3d = draw(boxes3d(b, n))
    yaw = draw(yaws(b, n))
    category = torch.randint(1, num_classes + 1, (b, n, 1), generator=g)
    if padding != "zero":
        filler = {
            "random": lambda s: torch.randn(s, generator=g) * 1e3,
            "nan": lambda s: torch.full(s, math.nan),
        }[padding]
        pad = ~valid
        bbox2d = torch.where(pad[..., None], filler((b, n, 4)), bbox2d)
        bbox3d = torch.where(pad[..., None], filler((b, n, 6)), bbox3d)
        yaw = torch.where(pad[..., None], filler((b, n, 1)), yaw)
        category = torch.where(
            pad[..., None], torch.randint(-5, 50, (b, n, 1), generator=g), category
        )
    else:
        bbox2d, bbox3d, yaw = (t * valid[..., None] for t in (bbox2d, bbox3d, yaw))
        category = category * valid[..., None]
    return GroundTruth(
        bbox2d=bbox2d, bbox3d=bbox3d, yaw=yaw, category=category, valid=valid, ignore=ignore
    )
