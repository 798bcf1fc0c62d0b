"""``TargetBuilder``: the target functions bound to one configuration (priors as a buffer)."""

from collections.abc import Sequence

import torch
from jaxtyping import Float
from torch import Tensor, nn

from mono3d.contracts import Auxi, GroundTruth, RPNOutput

from ._config import (
    DEFAULT_ANCHOR_TARGETS,
    DEFAULT_NUM_BINS,
    DEFAULT_PRIORS,
    DEFAULT_PROPOSAL_TARGETS,
    AnchorTargetConfig,
    AuxiConfig,
    ProposalTargetConfig,
)
from ._targets import make_auxi, priors_tensor


class TargetBuilder(nn.Module):
    """Builds the ``Auxi`` targets of a batch; holds no learnable state.

    priors: (h, w, l) metres per object class in class order (class 1 first); kept as the
    non-persistent buffer ``priors`` (C, 3) with a background row 0, so it follows
    ``.to(device)``. num_bins: MultiBin yaw bins B. anchor_targets / proposal_targets:
    matching and sampling of each stage.
    """

    priors: Tensor

    def __init__(
        self,
        *,
        priors: Sequence[Sequence[float]] = DEFAULT_PRIORS,
        num_bins: int = DEFAULT_NUM_BINS,
        anchor_targets: AnchorTargetConfig = DEFAULT_ANCHOR_TARGETS,
        proposal_targets: ProposalTargetConfig = DEFAULT_PROPOSAL_TARGETS,
    ) -> None:
        super().__init__()
        if num_bins < 1:
            raise ValueError(f"num_bins must be >= 1, got {num_bins}")
        self.register_buffer("priors", priors_tensor(priors), persistent=False)
        self.num_bins = int(num_bins)
        self.anchor_targets = anchor_targets
        self.proposal_targets = proposal_targets

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
        """``make_auxi`` with this builder's priors, bins and stage configs."""
        return make_auxi(
            gt,
            pred,
            calib,
            self.priors,
            self.num_bins,
            anchor_targets=self.anchor_targets,
            proposal_targets=self.proposal_targets,
            generator=generator,
        )

    def extra_repr(self) -> str:
        return f"num_categories={self.num_categories}, num_bins={self.num_bins}"
