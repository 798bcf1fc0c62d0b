"""Multi-scale RoIAlign: torchvision's ``MultiScaleRoIAlign`` (its level rule, its RoIAlign
sampling with ``aligned=False``), computed on the CPU as one weighted gather.

Every output bin of every box is the average of ``sampling_ratio``² bilinear samples, each
of four pixels: a fixed list of 4·sampling_ratio² (pixel, weight) pairs per bin. With the
s2/s3/s4 maps laid out as one table of pixels (rows) by channels, a bin is an
``embedding_bag`` of its pairs (weighted sum of rows) and the backward pass a scatter-add
of whole channel vectors. torchvision's CPU kernel walks channel by channel with scalar
code and its backward took a third of a 192×640 train step; this path gives the same values
(to float32 rounding, tested against torchvision) about five times faster. Shapes are static
(no per-level selection), the level of each box is torchvision's ``LevelMapper``.

torchvision's op is used on CUDA (its kernel is fast there), for the adaptive sampling ratio
(``sampling_ratio <= 0``: a per-box sample count) and while torch.export, ONNX or
torch.compile trace (the exported program calls ``torchvision::roi_align``).

Shape shorthand: b batch, c channels, Nhd boxes per image, R = b*Nhd boxes, S = roi_size.
"""

import dataclasses
import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.ops import MultiScaleRoIAlign
from torchvision.ops.poolers import initLevelMapper

from mono3d.contracts import NeckFeatures, is_tracing
from mono3d.geometry import PYRAMID_STRIDES

#: feature map names pooled from (the fields of the contract's ``NeckFeatures``), and their
#: scales (1 / stride, the model-wide ``PYRAMID_STRIDES``)
LEVELS: tuple[str, ...] = tuple(field.name for field in dataclasses.fields(NeckFeatures))
SCALES: tuple[float, ...] = tuple(1 / stride for stride in PYRAMID_STRIDES)
#: pyramid level numbers of s2 and s4 (level k has stride 2**k)
MIN_LEVEL = int(math.log2(PYRAMID_STRIDES[0]))
MAX_LEVEL = int(math.log2(PYRAMID_STRIDES[-1]))


@dataclasses.dataclass(frozen=True)
class PyramidMaps:
    """The s2/s3/s4 maps prepared once per forward for every pooling of the head.

    table: (sum over levels of b*h*w, c) float32 pixel rows, level-major then image-major
    (the gather path), or None; maps: the float32 NCHW maps by name (torchvision's path) or
    None; sizes: (h, w) per level; batch: b.
    """

    table: Tensor | None
    maps: dict[str, Tensor] | None
    sizes: tuple[tuple[int, int], ...]
    batch: int


def _tracing() -> bool:
    exporting = getattr(torch.compiler, "is_exporting", None)
    return (
        is_tracing()
        or bool(exporting is not None and exporting())
        or torch.jit.is_tracing()
        or torch.onnx.is_in_onnx_export()
    )


class PyramidRoIAlign(nn.Module):
    """RoIAlign crops (R, c, S, S) of boxes from the FPN level torchvision's
    ``MultiScaleRoIAlign`` picks for each (``canonical_scale`` / ``canonical_level``),
    ``sampling_ratio`` samples per bin side. ``prepare`` lays the maps out once per forward;
    ``forward(prepared, boxes)`` pools (b, Nhd, 4) boxes in padded-image pixels."""

    def __init__(
        self,
        *,
        output_size: int,
        sampling_ratio: int,
        canonical_scale: int,
        canonical_level: int,
    ) -> None:
        super().__init__()
        self.output_size = int(output_size)
        self.sampling_ratio = int(sampling_ratio)
        # fixed strides: the scales and the level mapper are set once instead of inferred
        self.map_levels = initLevelMapper(
            MIN_LEVEL, MAX_LEVEL, canonical_scale=canonical_scale, canonical_level=canonical_level
        )
        self.reference = MultiScaleRoIAlign(
            list(LEVELS),
            output_size=self.output_size,
            sampling_ratio=self.sampling_ratio,
            canonical_scale=canonical_scale,
            canonical_level=canonical_level,
        )
        self.reference.scales = list(SCALES)
        self.reference.map_levels = self.map_levels

    def gathers(self, device: torch.device) -> bool:
        """Whether the weighted-gather path runs (CPU, fixed sampling ratio, not tracing)."""
        return device.type == "cpu" and self.sampling_ratio > 0 and not _tracing()

    def prepare(self, features: NeckFeatures) -> PyramidMaps:
        """The maps as the pooling reads them, float32 (one conversion per forward shared by
        every pooling; under autocast the maps are bfloat16)."""
        levels = [getattr(features, name) for name in LEVELS]
        sizes = tuple((int(m.shape[-2]), int(m.shape[-1])) for m in levels)
        b = int(levels[0].shape[0])
        if not self.gathers(levels[0].device):
            maps = {
                name: m.to(torch.float32, memory_format=torch.contiguous_format)
                for name, m in zip(LEVELS, levels, strict=True)
            }
            return PyramidMaps(table=None, maps=maps, sizes=sizes, batch=b)
        c = levels[0].shape[1]
        rows = [m.permute(0, 2, 3, 1).reshape(-1, c) for m in levels]  # a view if channels_last
        table = torch.cat(rows).to(torch.float32)
        return PyramidMaps(table=table, maps=None, sizes=sizes, batch=b)

    def forward(self, prepared: PyramidMaps, boxes: Tensor) -> Tensor:
        """(b*Nhd, c, S, S) crops of ``boxes`` (b, Nhd, 4), image-major."""
        if prepared.table is None:
            assert prepared.maps is not None
            h4, w4 = prepared.sizes[0]
            size = [(4 * h4, 4 * w4)]  # the padded image: s2 is stride 4
            return self.reference(prepared.maps, list(boxes.unbind(0)), size)
        b, nhd = boxes.shape[:2]
        flat = boxes.reshape(-1, 4).to(torch.float32)
        with torch.no_grad():
            # a non-finite box pools zeros, as in torchvision (its level matches no level)
            finite = flat.isfinite().all(1)
            index, weight = self.samples(torch.where(finite[:, None], flat, 0.0), prepared, nhd)
            weight = weight * finite.repeat_interleave(self.output_size**2)[:, None]
        c = prepared.table.shape[1]
        s = self.output_size
        with torch.autocast(device_type=prepared.table.device.type, enabled=False):
            bins = F.embedding_bag(index, prepared.table, per_sample_weights=weight, mode="sum")
        return bins.view(b * nhd, s, s, c).permute(0, 3, 1, 2).contiguous()

    def samples(self, boxes: Tensor, prepared: PyramidMaps, nhd: int) -> tuple[Tensor, Tensor]:
        """(R*S*S, 4*sr*sr) table rows and weights of each bin's bilinear samples for the
        boxes (R, 4), sr = ``sampling_ratio``: torchvision's ``roi_align`` arithmetic (start
        = x1·scale, size = max(x2·scale − start, 1), sample ``start + p·bin + (i + 0.5)·bin /
        sr``; samples beyond one pixel outside the map weigh 0), the weights divided by the
        sr² samples of a bin."""
        device = boxes.device
        r, s, sr = boxes.shape[0], self.output_size, self.sampling_ratio
        level = self.map_levels([boxes])  # (R,) 0 (s2) .. 2 (s4)
        sizes = torch.tensor(prepared.sizes, dtype=torch.int64, device=device)  # (L, 2)
        per_level = prepared.batch * sizes[:, 0] * sizes[:, 1]
        first_row = torch.cumsum(per_level, 0) - per_level
        scale = torch.tensor(SCALES, dtype=torch.float32, device=device)[level]
        height, width = sizes[level, 0], sizes[level, 1]
        image = torch.arange(r, device=device) // nhd
        base = first_row[level] + image * height * width  # (R,)

        p = torch.arange(s, dtype=torch.float32, device=device)[None, :, None]
        i = torch.arange(sr, dtype=torch.float32, device=device)[None, None, :] + 0.5

        def axis(lo_edge: Tensor, hi_edge: Tensor, length: Tensor) -> tuple[Tensor, ...]:
            start, end = lo_edge * scale, hi_edge * scale
            bin_size = ((end - start).clamp(min=1.0) / s)[:, None, None]
            v = start[:, None, None] + p * bin_size + i * bin_size / sr  # (R, S, sr)
            size = length[:, None, None]
            inside = (v >= -1.0) & (v <= size.to(v.dtype))
            v = torch.minimum(v.clamp(min=0.0), size.to(v.dtype))  # no int64 overflow
            low = v.floor().to(torch.int64)
            last = low >= size - 1
            low = torch.where(last, size - 1, low)
            high = torch.where(last, low, low + 1)
            v = torch.where(last, low.to(v.dtype), v)
            frac = v - low
            return low, high, 1.0 - frac, frac, inside

        y_low, y_high, hy, ly, y_in = axis(boxes[:, 1], boxes[:, 3], height)
        x_low, x_high, hx, lx, x_in = axis(boxes[:, 0], boxes[:, 2], width)
        # (R, S, sr, 1, 1, 2) rows over (R, 1, 1, S, sr, 2) columns -> (R, S, S, sr, sr, 4)
        ys = torch.stack([y_low, y_high], -1)[:, :, None, :, None, :, None]
        xs = torch.stack([x_low, x_high], -1)[:, None, :, None, :, None, :]
        wy = torch.stack([hy, ly], -1)[:, :, None, :, None, :, None]
        wx = torch.stack([hx, lx], -1)[:, None, :, None, :, None, :]
        inside = (y_in[:, :, None, :, None] & x_in[:, None, :, None, :])[..., None, None]
        expand = (slice(None),) + (None,) * 6  # (R,) -> (R, 1, 1, 1, 1, 1, 1)
        rows = base[expand] + ys * width[expand] + xs
        weight = torch.where(inside, wy * wx, 0.0) / (sr * sr)
        shape = (r * s * s, sr * sr * 4)
        return rows.reshape(shape), weight.reshape(shape)
