"""Augmentations that keep the geometry true: every transform updates the image, P2 and the
labels together, through the ``mono3d.geometry`` flip/scale/crop helpers.

Pixel convention (continuous): the image spans [0, W] × [0, H], pixel i covers [i, i + 1].
A horizontal flip maps u to W - u; a resize by (sx, sy) maps (u, v) to (sx u, sy v)
(bilinear, ``align_corners=False``, which is that mapping); a crop at (x0, y0) maps (u, v)
to (u - x0, v - y0). So projecting the transformed 3D boxes with the transformed P2 gives the
transformed 2D boxes.

Random transforms draw from ``generator`` when one is given, else from torch's global RNG
(which ``DataLoader`` seeds differently in every worker).
"""

import inspect
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from mono3d.contracts import contract
from mono3d.geometry import (
    box_area,
    clip_boxes,
    crop_box2d,
    crop_calib,
    flip_box2d,
    flip_box3d,
    flip_calib,
    flip_yaw,
    scale_box2d,
    scale_calib,
)

from ._classes import IGNORE_CATEGORY
from ._sample import IGNORE_BOX3D, Sample

_GRAY = (0.299, 0.587, 0.114)


def _replace(sample: Sample, **changes: object) -> Sample:
    fields = sample.as_dict()
    fields.update(changes)
    return Sample(**fields)  # type: ignore[arg-type]


@contract
def hflip(sample: Sample) -> Sample:
    """Mirror image, P2 and labels: u -> W - u, boxes (W - x2, y1, W - x1, y2), x -> -x,
    rotation_y and alpha -> wrap(pi - angle). Applied twice it gives the sample back."""
    width = sample.calib.new_tensor([sample.image_size[1]])
    return _replace(
        sample,
        image=sample.image.flip(-1),
        calib=flip_calib(sample.calib[None], width)[0],
        bbox2d=flip_box2d(sample.bbox2d[None], width)[0],
        bbox3d=flip_box3d(sample.bbox3d[None])[0],
        yaw=flip_yaw(sample.yaw),
        alpha=flip_yaw(sample.alpha),
    )


@contract
def resize(sample: Sample, height: int, width: int) -> Sample:
    """Resize to (height, width) pixels (bilinear, antialiased when shrinking); P2 and 2D
    boxes scaled by (width / W, height / H); 3D labels unchanged."""
    h, w = sample.image_size
    if height < 1 or width < 1:
        raise ValueError(f"resize: size must be positive, got ({height}, {width})")
    image = F.interpolate(
        sample.image[None], size=(height, width), mode="bilinear", align_corners=False,
        antialias=height < h or width < w,
    )[0].clamp_(0.0, 1.0)  # fmt: skip
    sx = sample.calib.new_tensor([width / w])
    sy = sample.calib.new_tensor([height / h])
    return _replace(
        sample,
        image=image,
        calib=scale_calib(sample.calib[None], sx, sy)[0],
        bbox2d=scale_box2d(sample.bbox2d[None], sx, sy)[0],
    )


@contract
def crop(
    sample: Sample, x0: int, y0: int, height: int, width: int, *, min_visible: float = 0.5
) -> Sample:
    """Cut the window [x0, x0 + width) × [y0, y0 + height) (parts outside the image are
    zero-padded). P2 and boxes are shifted by (-x0, -y0) and boxes clipped to the window.

    Rows whose box leaves the window entirely are dropped. Object rows keeping less than
    ``min_visible`` of their box area become ignore rows (category 0, placeholder 3D box).
    Truncation becomes ``1 - (1 - t) * kept`` (kept = the fraction of box area left; -1
    stays -1).
    """
    if height < 1 or width < 1:
        raise ValueError(f"crop: size must be positive, got ({height}, {width})")
    h, w = sample.image_size
    image = sample.image.new_zeros((3, height, width))
    top, left = max(y0, 0), max(x0, 0)
    bottom, right = min(y0 + height, h), min(x0 + width, w)
    if bottom > top and right > left:
        image[:, top - y0 : bottom - y0, left - x0 : right - x0] = sample.image[
            :, top:bottom, left:right
        ]
    dx = sample.calib.new_tensor([float(x0)])
    dy = sample.calib.new_tensor([float(y0)])
    shifted = crop_box2d(sample.bbox2d[None], dx, dy)
    size = torch.tensor([[height, width]], dtype=torch.int64)
    clipped = clip_boxes(shifted, size)[0]
    area_before, area_after = box_area(shifted[0]), box_area(clipped)
    kept = torch.where(area_before > 0, area_after / area_before.clamp(min=1e-12), 0.0)
    newly_ignored = ~sample.ignore & (kept < min_visible)
    ignore = sample.ignore | newly_ignored
    placeholder = sample.bbox3d.new_tensor(IGNORE_BOX3D).expand_as(sample.bbox3d)
    truncated = torch.where(
        sample.truncated >= 0, 1.0 - (1.0 - sample.truncated) * kept, sample.truncated
    )
    out = _replace(
        sample,
        image=image,
        calib=crop_calib(sample.calib[None], dx, dy)[0],
        bbox2d=clipped,
        bbox3d=torch.where(newly_ignored[:, None], placeholder, sample.bbox3d),
        yaw=torch.where(newly_ignored, 0.0, sample.yaw),
        alpha=torch.where(newly_ignored, 0.0, sample.alpha),
        category=torch.where(newly_ignored, IGNORE_CATEGORY, sample.category),
        ignore=ignore,
        truncated=truncated,
    )
    return out.select(area_after > 0)


@contract
def adjust_photometric(
    sample: Sample, brightness: float = 1.0, contrast: float = 1.0, saturation: float = 1.0
) -> Sample:
    """Scale brightness, then contrast about the mean grey level, then saturation about each
    pixel's grey level (factor 1 = unchanged); clamp to [0, 1]. Labels untouched."""
    # the three steps are affine in the image, fused into one expression:
    # out = b c (s x + (1 - s) g(x)) + (1 - c) b mean(g(x)), g = grey level, then clamped
    weights = sample.image.new_tensor(_GRAY)
    gray = torch.tensordot(weights, sample.image, dims=1)  # h w
    scale = brightness * contrast
    offset = (1.0 - contrast) * brightness * gray.mean()
    shade = gray * (scale * (1.0 - saturation)) + offset
    image = torch.add(shade, sample.image, alpha=scale * saturation).clamp_(0.0, 1.0)
    return _replace(sample, image=image)


def _uniform(low: float, high: float, generator: torch.Generator | None) -> float:
    return low + (high - low) * float(torch.rand((), generator=generator))


def _randint(low: int, high: int, generator: torch.Generator | None) -> int:
    """An integer in [low, high] (inclusive)."""
    return int(torch.randint(low, high + 1, (), generator=generator))


class RandomHorizontalFlip:
    """:func:`hflip` with probability ``p``."""

    def __init__(self, *, p: float = 0.5) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"RandomHorizontalFlip.p: expected a probability, got {p}")
        self.p = p

    def __call__(self, sample: Sample, generator: torch.Generator | None = None) -> Sample:
        return hflip(sample) if _uniform(0.0, 1.0, generator) < self.p else sample

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


class RandomScaleCrop:
    """Resize by a factor drawn uniformly from ``scale_range`` (same on both axes), then cut
    a random window of ``crop_size`` (h, w) (default: the input's size), or the whole resized
    image where it is smaller. See :func:`crop` for the labels of objects cut away."""

    def __init__(
        self,
        *,
        scale_range: tuple[float, float] = (0.8, 1.2),
        crop_size: tuple[int, int] | None = None,
        min_visible: float = 0.5,
    ) -> None:
        low, high = scale_range
        if not 0.0 < low <= high:
            raise ValueError(
                f"RandomScaleCrop.scale_range: need 0 < low <= high, got {scale_range}"
            )
        if crop_size is not None and min(crop_size) < 1:
            raise ValueError(f"RandomScaleCrop.crop_size: must be positive, got {crop_size}")
        self.scale_range = (float(low), float(high))
        self.crop_size = crop_size
        self.min_visible = min_visible

    def __call__(self, sample: Sample, generator: torch.Generator | None = None) -> Sample:
        h, w = sample.image_size
        scale = _uniform(*self.scale_range, generator)
        new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
        if (new_h, new_w) != (h, w):
            sample = resize(sample, new_h, new_w)
        target_h, target_w = self.crop_size or (h, w)
        crop_h, crop_w = min(target_h, new_h), min(target_w, new_w)
        if (crop_h, crop_w) == (new_h, new_w):
            return sample
        y0 = _randint(0, new_h - crop_h, generator)
        x0 = _randint(0, new_w - crop_w, generator)
        return crop(sample, x0, y0, crop_h, crop_w, min_visible=self.min_visible)

    def __repr__(self) -> str:
        return (
            f"RandomScaleCrop(scale_range={self.scale_range}, crop_size={self.crop_size}, "
            f"min_visible={self.min_visible})"
        )


class PhotometricJitter:
    """:func:`adjust_photometric` with each factor drawn uniformly from [1 - d, 1 + d]."""

    def __init__(
        self, *, brightness: float = 0.2, contrast: float = 0.2, saturation: float = 0.2
    ) -> None:
        for name, value in (("brightness", brightness), ("contrast", contrast),
                            ("saturation", saturation)):  # fmt: skip
            if not 0.0 <= value < 1.0:
                raise ValueError(f"PhotometricJitter.{name}: expected 0 <= d < 1, got {value}")
        self.brightness, self.contrast, self.saturation = brightness, contrast, saturation

    def __call__(self, sample: Sample, generator: torch.Generator | None = None) -> Sample:
        factors = [
            _uniform(1.0 - d, 1.0 + d, generator)
            for d in (self.brightness, self.contrast, self.saturation)
        ]
        return adjust_photometric(sample, *factors)

    def __repr__(self) -> str:
        return (
            f"PhotometricJitter(brightness={self.brightness}, contrast={self.contrast}, "
            f"saturation={self.saturation})"
        )


def _takes_generator(transform: Callable[..., Sample]) -> bool:
    try:
        return "generator" in inspect.signature(transform).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        return False


class Compose:
    """Apply transforms in order; those taking a ``generator`` keyword get the same one."""

    def __init__(self, transforms: Sequence[Callable[..., Sample]]) -> None:
        self.transforms = tuple(transforms)
        self._with_generator = tuple(_takes_generator(t) for t in self.transforms)

    def __call__(self, sample: Sample, generator: torch.Generator | None = None) -> Sample:
        for transform, with_generator in zip(self.transforms, self._with_generator):
            sample = transform(sample, generator=generator) if with_generator else transform(sample)
        return sample

    def __repr__(self) -> str:
        return f"Compose({list(self.transforms)!r})"
