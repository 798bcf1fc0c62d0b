"""Huber (smooth-L1) regression on sampled positives: 2D deltas, 3D logit, yaw residual, the
head's 2D refinement; the Laplacian NLL of the depth uncertainty."""

import math

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
    """Shared constructor of the Huber losses (no state beyond two numbers); ``beta``'s
    default, :data:`DEFAULT_BETA`, is written once, here."""

    def __init__(self, *, beta: float = DEFAULT_BETA, normalizer: Normalizer = "sampled") -> None:
        super().__init__()
        if not beta >= 0.0:
            raise ValueError(f"beta must be >= 0 (0 is plain L1), got {beta!r}")
        self.beta = float(beta)
        self.normalizer = check_normalizer(normalizer)

    def extra_repr(self) -> str:
        return f"beta={self.beta:.4g}, normalizer={self.normalizer!r}"


class Box2dRegression(_HuberLoss):
    """RPN box regression: smooth-L1 (``beta``) between predicted and target anchor deltas.

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
    (``beta``) summed over positive proposals and the 6 numbers, divided by the number of
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
    (``beta``) summed over positive proposals, divided by the number of sampled proposals
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


class Box2dRefinement(_HuberLoss):
    """The RoI head's class-specific 2D refinement (Fast R-CNN): smooth-L1 (``beta``) between
    the GT class's predicted deltas and the target deltas of the matched box w.r.t. the
    proposal, summed over positive proposals (object == 1) and the 4 deltas, divided by the
    number of sampled proposals (object in {0, 1}), clamped at >= 1 (torchvision's
    ``fastrcnn_loss``); ``normalizer="positive"`` divides by the positives instead.
    """

    @contract
    def forward(
        self,
        pred: Float[Tensor, "b Nhd 4"],
        target: Float[Tensor, "b Nhd 4"],
        object: Int[Tensor, "b Nhd 1"],
    ) -> Float[Tensor, ""]:
        return masked_huber(pred, target, object, self.beta, self.normalizer)


#: the range log-sigma is clamped to in the depth NLL (sigma from 1e-3 to 1e3)
LOG_SIGMA_RANGE: tuple[float, float] = (-7.0, 7.0)


class DepthUncertainty(nn.Module):
    """Laplacian negative log-likelihood of the depth logit dz with a predicted uncertainty
    (GUPNet, MonoFlex): ``sqrt(2) |dz_pred - dz| exp(-s) + s`` with ``s = log sigma``
    (clamped to :data:`LOG_SIGMA_RANGE`), summed over positive proposals (object == 1) and
    divided by their number (``normalizer="positive"``, the default) or by the sampled
    proposals (``"sampled"``), clamped at >= 1.

    With ``detach_residual`` (default) the residual is a constant here: this loss trains
    sigma only and ``Box3dRegression`` alone trains dz, so the uncertainty can be switched
    off (weight 0) without changing how depth is learnt.

    ``nll_beta`` (beta-NLL, Seitzer et al. 2022, "On the pitfalls of heteroscedastic
    uncertainty estimation"): each row's NLL is multiplied by ``sigma ** nll_beta`` taken as a
    constant. The NLL's gradient w.r.t. the prediction is ``sqrt(2) sign(r) / sigma``, so
    without it (0, the plain NLL) the rows already fitted with a small sigma dominate the
    step; 1 gives every row the gradient of an L1 (``sqrt(2) sign(r)``), 0.5 is halfway. The
    optimum of sigma (``sqrt(2) |r|`` per row) is the same for every beta.
    """

    def __init__(
        self,
        *,
        normalizer: Normalizer = "positive",
        detach_residual: bool = True,
        nll_beta: float = 0.0,
    ):
        super().__init__()
        if not 0.0 <= nll_beta <= 1.0:
            raise ValueError(f"nll_beta must be in [0, 1], got {nll_beta!r}")
        self.normalizer = check_normalizer(normalizer)
        self.detach_residual = bool(detach_residual)
        self.nll_beta = float(nll_beta)

    def extra_repr(self) -> str:
        return (
            f"normalizer={self.normalizer!r}, detach_residual={self.detach_residual}, "
            f"nll_beta={self.nll_beta:.4g}"
        )

    @contract
    def forward(
        self,
        log_sigma: Float[Tensor, "b Nhd 1"],
        pred: Float[Tensor, "b Nhd 1"],
        target: Float[Tensor, "b Nhd 1"],
        object: Int[Tensor, "b Nhd 1"],
    ) -> Float[Tensor, ""]:
        positive = positive_mask(object)
        residual = pred.detach() if self.detach_residual else pred
        residual32 = torch.where(positive, residual.float() - target.float(), 0.0).abs()
        s = torch.where(positive, log_sigma.float(), 0.0).clamp(*LOG_SIGMA_RANGE)
        per_row = math.sqrt(2.0) * residual32 * torch.exp(-s) + s
        if self.nll_beta:
            per_row = per_row * torch.exp(self.nll_beta * s).detach()
        per_row = torch.where(positive, per_row, 0.0)
        return normalised_sum(per_row, count_mask(object, self.normalizer))
