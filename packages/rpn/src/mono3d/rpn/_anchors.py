"""Anchors for the three pyramid levels, cached per padded image size and device.

Order of the N anchors of an image (the order of every per-anchor tensor of the RPN):
level-major (s2, then s3, then s4); within a level row-major over the feature map (y, then
x); within a location the A base anchors, ratio-major then size (torchvision's order).
"""

from collections import OrderedDict
from collections.abc import Sequence

import torch
from jaxtyping import Float
from torch import Tensor, nn

from mono3d.contracts import is_tracing
from mono3d.geometry import PYRAMID_STRIDES

from ._config import RPNConfig

#: strides of s2, s3, s4 in pixels (the model-wide ``mono3d.geometry.PYRAMID_STRIDES``)
STRIDES: tuple[int, int, int] = PYRAMID_STRIDES
_RPN = RPNConfig()


def base_anchors(sizes: Sequence[float], aspect_ratios: Sequence[float]) -> Tensor:
    """(A, 4) zero-centred (x1, y1, x2, y2) anchors of one level, rounded to whole pixels: for each
    ratio r = height / width and size s, width s / sqrt(r) and height s * sqrt(r)."""
    size = torch.as_tensor(sizes, dtype=torch.float32)
    ratio = torch.as_tensor(aspect_ratios, dtype=torch.float32)
    height_factor = ratio.sqrt()
    half_w = (size[None, :] / height_factor[:, None]).reshape(-1) / 2
    half_h = (size[None, :] * height_factor[:, None]).reshape(-1) / 2
    return torch.stack([-half_w, -half_h, half_w, half_h], dim=1).round()


class AnchorGenerator(nn.Module):
    """Anchors of every level for a padded image size (h, w), as one (N, 4) tensor.

    Keyword-only arguments:
        sizes: per level, the anchor sides in pixels (same count on every level).
        aspect_ratios: height / width ratios, shared by the levels.
        strides: the levels' strides (those of s2, s3, s4: :data:`STRIDES`).
    Defaults: the sizes and ratios of :class:`RPNConfig`.
        cache_size: how many (h, w, device) anchor sets to keep.

    The anchor of location (y, x) of a level with stride s is a base anchor shifted by
    (x * s, y * s) (torchvision's convention: centred on the cell's top-left pixel).
    """

    def __init__(
        self,
        *,
        sizes: Sequence[Sequence[float]] = _RPN.anchor_sizes,
        aspect_ratios: Sequence[float] = _RPN.aspect_ratios,
        strides: Sequence[int] = STRIDES,
        cache_size: int = 8,
    ) -> None:
        super().__init__()
        if len(sizes) != len(strides):
            raise ValueError(f"sizes: expected {len(strides)} levels, got {len(sizes)}")
        if len({len(level) for level in sizes}) != 1 or not sizes[0]:
            raise ValueError(f"sizes={sizes!r}: every level needs the same number of sizes")
        if not aspect_ratios or min(aspect_ratios) <= 0:
            raise ValueError(f"aspect_ratios={aspect_ratios!r}: expected positive ratios")
        self.sizes = tuple(tuple(float(s) for s in level) for level in sizes)
        self.aspect_ratios = tuple(float(r) for r in aspect_ratios)
        self.strides = tuple(int(s) for s in strides)
        self.cell_anchors = [base_anchors(level, self.aspect_ratios) for level in self.sizes]
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[int, int, torch.device], Tensor] = OrderedDict()

    @property
    def num_anchors_per_location(self) -> int:
        """A: anchors per feature-map location (the same on every level)."""
        return len(self.sizes[0]) * len(self.aspect_ratios)

    def grid_sizes(self, h: int, w: int) -> list[tuple[int, int]]:
        """(height, width) of each level's feature map for a padded image size (h, w)."""
        return [(h // s, w // s) for s in self.strides]

    def num_anchors_per_level(self, h: int, w: int) -> list[int]:
        """h_l * w_l * A for each level; they sum to N."""
        a = self.num_anchors_per_location
        return [gh * gw * a for gh, gw in self.grid_sizes(h, w)]

    def grid_anchors(self, h: int, w: int, device: torch.device | str) -> Float[Tensor, "N 4"]:
        """float32 (N, 4) anchors (x1, y1, x2, y2) in pixels for a padded image (h, w).

        Cached (least recently used first out); the returned tensor is shared, do not
        modify it in place.
        """
        key = (int(h), int(w), torch.device(device))
        tracing = is_tracing()  # torch.export / compile: compute in the graph, cache nothing
        cached = None if tracing else self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        levels = []
        for (gh, gw), stride, cell in zip(self.grid_sizes(h, w), self.strides, self.cell_anchors):
            xs = torch.arange(gw, dtype=torch.float32, device=key[2]) * stride
            ys = torch.arange(gh, dtype=torch.float32, device=key[2]) * stride
            shift_y, shift_x = torch.meshgrid(ys, xs, indexing="ij")
            shifts = torch.stack([shift_x, shift_y, shift_x, shift_y], dim=-1)  # gh gw 4
            levels.append((shifts[:, :, None, :] + cell.to(key[2])).reshape(-1, 4))
        anchors = torch.cat(levels, dim=0)
        if tracing:
            return anchors
        self._cache[key] = anchors
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return anchors
