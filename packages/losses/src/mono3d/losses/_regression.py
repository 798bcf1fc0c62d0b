"""Huber (smooth-L1) regression on sampled positives: 2D deltas, 3D logit, yaw residual."""

import torch
import torch.nn.functional as F
from jaxtyping import Float, Int
from torch import Tensor, nn

from mono3d.contracts import contract

from ._masks import Normalizer, check_normalizer, count_mask, normalised_sum, positive_mask

#: torchvision's smooth-L1 transition point for box regression
DEFAULT_BETA = 1.0 / 9.0


def masked_huber(
    pred: torch.Tensor,
    target: torch.Tensor,
    object: torch.Tensor,
    beta: float,
    normalizer: Normalizer,
) -> torch.Tensor:
    """Smooth-L1 summed over the positives (object == 1) and every coordinate, divided by the
    count of ``normalizer`` rows (clamped at >= 1). Computed in float32; rows that are not
    positive are replaced by 0 in both inputs before the loss, so they add exactly 0 and pass
    zero gradient whatever they hold."""
    positive = positive_mask(object)  # (b, M, 1): broadcasts over the coordinates
    pred32 = torch.where(positive, pred.float(), 0.0)
    target32 = torch.where(positive, target.float(), 0.0)
    per_element = F.smooth_l1_loss(pred32, target32, reduction="none", beta=beta)
    return normalised_sum(per_element, count_mask(object, normalizer))


class _HuberLoss(nn.Module):
    """Shared constructor of the three regression losses (no state beyond two numbers)."""

    def __init__(self, *, beta: float = DEFAULT_BETA, normalizer: Normalizer = "sampled") -> None:
        super().__init__()
        if not beta >= 0.0:
            raise ValueError(f"beta must be >= 0 (0 is plain L1), got {beta!r}")
        self.beta = float(beta)
        self.normalizer = check_normalizer(normalizer)

    def extra_repr(self) -> str:
        return f"beta={self.beta:.4g}, normalizer={self.normalizer!r}"


class Box2dRegression(_HuberLoss):
    """RPN box regression: smooth-L1 (beta 1/9) between predicted and target anchor deltas.

    Summed over positive anchors (object == 1) and the 4 deltas, divided by the number of
    sampled anchors (object in {0, 1}) in the whole batch, clamped at >= 1 (torchvision's
    RPN normalisation); ``normalizer="positive"`` divides by the positives instead.
    """

    @contract
    def forward(
        self,
        pred: Float[Tensor, "b N 4"],
        target: Float[Tensor, "b N 4"],
        object: Int[Tensor, "b N 1"],
    ) -> Float[Tensor, ""]:
        return masked_huber(pred, target, object, self.beta, self.normalizer)


class Box3dRegression(_HuberLoss):
    """3D logit regression (du, dv, dz, dh, dw, dl) of the GT class's channel: smooth-L1
    (beta 1/9) summed over positive proposals and the 6 numbers, divided by the number of
    sampled proposals (object in {0, 1}), clamped at >= 1 (torchvision's box-head
    normalisation); ``normalizer="positive"`` divides by the positives instead.
    """

    @contract
    def forward(
        self,
        pred: Float[Tensor, "b Nhd 6"],
        target: Float[Tensor, "b Nhd 6"],
        object: Int[Tensor, "b Nhd 1"],
    ) -> Float[Tensor, ""]:
        return masked_huber(pred, target, object, self.beta, self.normalizer)


class YawRegression(_HuberLoss):
    """MultiBin residual regression (GT class, GT bin; units of half a bin): smooth-L1
    (beta 1/9) summed over positive proposals, divided by the number of sampled proposals
    (object in {0, 1}), clamped at >= 1; ``normalizer="positive"`` divides by the positives.
    """

    @contract
    def forward(
        self,
        pred: Float[Tensor, "b Nhd 1"],
        target: Float[Tensor, "b Nhd 1"],
        object: Int[Tensor, "b Nhd 1"],
    ) -> Float[Tensor, ""]:
        return masked_huber(pred, target, object, self.beta, self.normalizer)
