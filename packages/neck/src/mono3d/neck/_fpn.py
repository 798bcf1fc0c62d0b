"""The FPN neck over the backbone's s2/s3/s4.

Shape shorthand (mono3d.contracts glossary): b batch, h4/w4 the stride-4 size, c2/c3/c4
backbone channels, c the neck's channels.
"""

import dataclasses
from collections import OrderedDict
from collections.abc import Sequence

from torch import nn
from torchvision.ops import FeaturePyramidNetwork

from mono3d.contracts import (
    BackboneFeatures,
    ContractError,
    NeckFeatures,
    checks_enabled,
    contract,
)

from ._config import NeckConfig

#: the pyramid levels, in stride order: the fields of the contract's ``NeckFeatures``
LEVELS: tuple[str, ...] = tuple(field.name for field in dataclasses.fields(NeckFeatures))
_NECK = NeckConfig()


class FPN(nn.Module):
    """torchvision's FeaturePyramidNetwork on (s2, s3, s4): a 1x1 lateral conv per level, a
    top-down pathway (nearest upsampling + sum) and a 3x3 output conv per level. No extra
    pooled level: the outputs are the three input strides (4, 8, 16), c channels each.

    Keyword-only arguments:
        in_channels: the backbone's (c2, c3, c4), ``ResNet.out_channels`` (a build
            argument, as torchvision's ``FeaturePyramidNetwork`` takes it).
        out_channels: c (``out_channels`` attribute); default: :class:`NeckConfig`'s.
    """

    def __init__(
        self,
        *,
        in_channels: Sequence[int],
        out_channels: int = _NECK.out_channels,
    ) -> None:
        super().__init__()
        in_channels = tuple(int(c) for c in in_channels)
        if len(in_channels) != len(LEVELS) or min(in_channels) < 1:
            raise ValueError(
                f"in_channels={in_channels!r}: expected three positive channel counts (s2, s3, s4)"
            )
        if out_channels < 1:
            raise ValueError(f"out_channels={out_channels!r}: expected a positive count")
        self.in_channels: tuple[int, ...] = in_channels
        self.out_channels = int(out_channels)
        self.fpn = FeaturePyramidNetwork(list(in_channels), self.out_channels)

    @classmethod
    def from_config(cls, cfg: NeckConfig, *, in_channels: Sequence[int]) -> "FPN":
        """The neck a :class:`NeckConfig` describes (every field, forwarded as is), on a
        backbone with ``in_channels``."""
        return cls(in_channels=in_channels, **dict(cfg))

    @contract
    def forward(self, features: BackboneFeatures) -> NeckFeatures:
        """features: s2 (b, c2, h4, w4), s3 (b, c3, h4/2, w4/2), s4 (b, c4, h4/4, w4/4).

        Returns s2, s3, s4 with the same sizes and c channels each.
        """
        maps = [features.s2, features.s3, features.s4]
        got = tuple(m.shape[1] for m in maps)
        if got != self.in_channels and checks_enabled():  # MONO3D_CHECKS=0: off
            raise ContractError(
                f"FPN.forward: features: channels (s2, s3, s4) = {got}, "
                f"but this FPN was built for in_channels={self.in_channels}"
            )
        out = self.fpn(OrderedDict(zip(LEVELS, maps)))
        return NeckFeatures(s2=out["s2"], s3=out["s3"], s4=out["s4"])
