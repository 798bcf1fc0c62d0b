"""The Criterion: targets (auxi) -> class selection -> the six losses -> ``LossOutput``."""

from collections.abc import Mapping, Sequence

import torch
from torch import nn

from mono3d.auxi import (
    AnchorTargetConfig,
    ProposalTargetConfig,
    TargetBuilder,
    select_class_from_prediction,
)
from mono3d.contracts import GroundTruth, Images, LossOutput, check_same_batch, contract
from mono3d.losses import (
    Box2dRegression,
    Box3dRegression,
    Category,
    Objectness,
    YawCategory,
    YawRegression,
)

from ._detector import DetectorOutput

#: the default weight of every loss term
DEFAULT_WEIGHTS: dict[str, float] = dict.fromkeys(LossOutput.TERMS, 1.0)


class Criterion(nn.Module):
    """Training losses of a :class:`Detector` output against the ground truth.

    Keyword-only: ``priors`` (h, w, l) per object class in class order, ``num_bins`` (B),
    the matching/sampling settings of each stage, ``weights`` per loss term (names of
    ``LossOutput.TERMS``; missing ones are 1) and the Huber ``beta``. No learnable state.
    """

    def __init__(
        self,
        *,
        priors: Sequence[Sequence[float]],
        num_bins: int,
        anchor_targets: AnchorTargetConfig | None = None,
        proposal_targets: ProposalTargetConfig | None = None,
        weights: Mapping[str, float] | None = None,
        beta: float = 1.0 / 9.0,
    ) -> None:
        super().__init__()
        unknown = set(weights or {}) - set(LossOutput.TERMS)
        if unknown:
            raise ValueError(
                f"weights: unknown loss terms {sorted(unknown)}; expected {LossOutput.TERMS}"
            )
        self.targets = TargetBuilder(
            priors=priors,
            num_bins=num_bins,
            anchor_targets=anchor_targets or AnchorTargetConfig(),
            proposal_targets=proposal_targets or ProposalTargetConfig(),
        )
        self.weights = {**DEFAULT_WEIGHTS, **(weights or {})}
        self.box2d = Box2dRegression(beta=beta)
        self.objectness = Objectness()
        self.box3d = Box3dRegression(beta=beta)
        self.yaw = YawRegression(beta=beta)
        self.category = Category()
        self.yaw_category = YawCategory()

    @contract
    def forward(
        self,
        output: DetectorOutput,
        gt: GroundTruth,
        images: Images,
        generator: torch.Generator | None = None,
    ) -> LossOutput:
        """The six loss terms, their weighted total and the sampled counts."""
        check_same_batch("Criterion.forward", output=output, gt=gt, images=images)
        auxi = self.targets(gt, output.rpn, images.calib, generator=generator)
        anchor, aligned = auxi.gt_feature, auxi.gt_aligned
        selected = select_class_from_prediction(output.head, aligned)
        terms = {
            "box2d": self.box2d(output.rpn.bbox2d_logit, anchor.bbox2d_logit, anchor.object),
            "objectness": self.objectness(output.rpn.object_logit, anchor.object),
            "box3d": self.box3d(selected.bbox3d_logit, aligned.bbox3d_logit, aligned.object),
            "yaw": self.yaw(selected.yaw_resi, aligned.yaw_resi, aligned.object),
            "category": self.category(selected.category_logit, aligned.category, aligned.object),
            "yaw_category": self.yaw_category(
                selected.yaw_logit, aligned.yaw_category, aligned.object
            ),
        }
        total = torch.stack([self.weights[name] * value for name, value in terms.items()]).sum()
        return LossOutput(
            **terms,
            total=total,
            num_anchor_pos=(anchor.object == 1).sum(),
            num_anchor_neg=(anchor.object == 0).sum(),
            num_proposal_pos=(aligned.object == 1).sum(),
            num_proposal_neg=(aligned.object == 0).sum(),
        )
