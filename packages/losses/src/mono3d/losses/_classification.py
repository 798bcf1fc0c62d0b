"""Objectness (BCE), category (CE) and yaw-bin (CE) losses over masked rows."""

import torch
import torch.nn.functional as F
from jaxtyping import Float, Int
from torch import Tensor, nn

from mono3d.contracts import contract

from ._masks import (
    Normalizer,
    check_normalizer,
    count_mask,
    normalised_sum,
    positive_mask,
    sampled_mask,
)


def masked_cross_entropy(
    logit: torch.Tensor, target: torch.Tensor, keep: torch.Tensor, count: torch.Tensor
) -> torch.Tensor:
    """Cross-entropy of ``logit`` (b, M, K) against ``target`` (b, M, 1) over rows ``keep``
    (b, M, 1), summed and divided by ``count.sum()`` clamped at >= 1, in float32. Rows not
    kept get logits 0 and target 0 before the loss and a loss of exactly 0 after it."""
    num_classes = logit.shape[-1]
    logit32 = torch.where(keep, logit.float(), 0.0)
    target0 = torch.where(keep, target, 0).flatten()
    per_row = F.cross_entropy(logit32.reshape(-1, num_classes), target0, reduction="none")
    per_row = torch.where(keep.flatten(), per_row, 0.0)
    return normalised_sum(per_row, count)


class Objectness(nn.Module):
    """RPN objectness: binary cross-entropy with logits over the sampled anchors.

    Target 1 for object == 1, 0 for object == 0; rows with any other value are left out.
    Summed over sampled anchors and divided by their number in the batch, clamped at >= 1.
    """

    @contract
    def forward(
        self, logit: Float[Tensor, "b N 1"], object: Int[Tensor, "b N 1"]
    ) -> Float[Tensor, ""]:
        sampled = sampled_mask(object)
        logit32 = torch.where(sampled, logit.float(), 0.0)
        target = positive_mask(object).float()
        per_row = F.binary_cross_entropy_with_logits(logit32, target, reduction="none")
        return normalised_sum(torch.where(sampled, per_row, 0.0), sampled)


class Category(nn.Module):
    """Classification of the sampled proposals: cross-entropy over all C logits.

    The target class is ``category`` for positives (object == 1) and 0, background, for
    negatives (object == 0), whatever ``category`` holds there. Summed over sampled proposals
    and divided by their number in the batch, clamped at >= 1 (torchvision's box head).
    """

    @contract
    def forward(
        self,
        logit: Float[Tensor, "b Nhd C"],
        category: Int[Tensor, "b Nhd 1"],
        object: Int[Tensor, "b Nhd 1"],
    ) -> Float[Tensor, ""]:
        sampled = sampled_mask(object)
        target = torch.where(positive_mask(object), category, 0)
        return masked_cross_entropy(logit, target, sampled, sampled)


class YawCategory(nn.Module):
    """MultiBin bin classification of positive proposals (GT class's B logits): cross-entropy
    against ``yaw_category`` summed over positives (object == 1) and divided by the number of
    positives in the batch, clamped at >= 1 (a mean over the rows the loss is defined on);
    ``normalizer="sampled"`` divides by every sampled proposal instead, like the regressions.
    """

    def __init__(self, *, normalizer: Normalizer = "positive") -> None:
        super().__init__()
        self.normalizer = check_normalizer(normalizer)

    def extra_repr(self) -> str:
        return f"normalizer={self.normalizer!r}"

    @contract
    def forward(
        self,
        logit: Float[Tensor, "b Nhd B"],
        yaw_category: Int[Tensor, "b Nhd 1"],
        object: Int[Tensor, "b Nhd 1"],
    ) -> Float[Tensor, ""]:
        positive = positive_mask(object)
        return masked_cross_entropy(
            logit, yaw_category, positive, count_mask(object, self.normalizer)
        )
