"""``TargetBuilder``: the target functions bound to one configuration and one coder."""

from collections.abc import Sequence

import torch
from jaxtyping import Float
from torch import Tensor, nn

from mono3d.contracts import Auxi, GroundTruth, RPNOutput
from mono3d.geometry import BoxCoder

from ._config import AnchorTargetConfig, AuxiConfig, ProposalTargetConfig
from ._targets import make_auxi

_AUXI = AuxiConfig()


class TargetBuilder(nn.Module):
    """Builds the ``Auxi`` targets of a batch; holds no learnable state.

    coder: the :class:`mono3d.geometry.BoxCoder` that encodes the head's targets (share the
    detector's, so targets and decoding agree); without one, a coder with ``priors`` ((h, w,
    l) metres per object class in class order, class 1 first) and ``num_bins`` (B) and the
    default codec settings is built. ``priors`` (C, 3, background row 0) is the coder's
    buffer, so it follows ``.to(device)``. anchor_targets / proposal_targets: matching and
    sampling of each stage. Defaults: :class:`AuxiConfig`'s. raw_fields: also gather the
    per-anchor raw bbox3d / yaw / category, which no loss reads (``gt_feature`` holds None for
    them by default).
    """

    def __init__(
        self,
        *,
        priors: Sequence[Sequence[float]] = _AUXI.priors,
        num_bins: int = _AUXI.num_bins,
        anchor_targets: AnchorTargetConfig = _AUXI.anchor,
        proposal_targets: ProposalTargetConfig = _AUXI.proposal,
        coder: BoxCoder | None = None,
        raw_fields: bool = False,
    ) -> None:
        super().__init__()
        self.raw_fields = raw_fields
        self.coder = coder if coder is not None else BoxCoder(priors=priors, num_bins=num_bins)
        self.anchor_targets = anchor_targets
        self.proposal_targets = proposal_targets

    @property
    def priors(self) -> Tensor:
        """(C, 3) priors of the coder, background row 0."""
        return self.coder.priors

    @property
    def num_bins(self) -> int:
        """B, the coder's MultiBin yaw bins."""
        return self.coder.num_bins

    @classmethod
    def from_config(cls, config: AuxiConfig) -> "TargetBuilder":
        """The one place an ``AuxiConfig`` maps to constructor arguments."""
        return cls(
            priors=config.priors,
            num_bins=config.num_bins,
            anchor_targets=config.anchor,
            proposal_targets=config.proposal,
        )

    @property
    def num_categories(self) -> int:
        """C: object classes + background."""
        return int(self.priors.shape[0])

    def forward(
        self,
        gt: GroundTruth,
        pred: RPNOutput,
        calib: Float[Tensor, "b 3 4"],
        generator: torch.Generator | None = None,
    ) -> Auxi:
        """``make_auxi`` with this builder's coder and stage configs."""
        return make_auxi(
            gt,
            pred,
            calib,
            self.priors,
            self.num_bins,
            anchor_targets=self.anchor_targets,
            proposal_targets=self.proposal_targets,
            generator=generator,
            coder=self.coder,
            raw_fields=self.raw_fields,
        )

    def extra_repr(self) -> str:
        return f"num_categories={self.num_categories}, num_bins={self.num_bins}"
