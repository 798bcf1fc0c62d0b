"""The Criterion: targets (auxi) -> class selection -> the eight losses -> ``LossOutput``."""

from collections.abc import Mapping

import torch
from torch import nn

from mono3d.auxi import (
    AnchorTargetConfig,
    ProposalTargetConfig,
    TargetBuilder,
    select_class_from_prediction,
)
from mono3d.contracts import GroundTruth, Images, LossOutput, contract
from mono3d.geometry import BoxCoder
from mono3d.losses import (
    Box2dRefinement,
    Box2dRegression,
    Box3dRegression,
    Category,
    DepthUncertainty,
    Normalizer,
    Objectness,
    YawCategory,
    YawRegression,
)

from ._config import DEPTHS, Depth, LossConfig
from ._detector import DetectorOutput

_LOSS = LossConfig()

#: the default weight of every loss term
DEFAULT_WEIGHTS: dict[str, float] = dict.fromkeys(LossOutput.TERMS, 1.0)


class Criterion(nn.Module):
    """Training losses of a :class:`Detector` output against the ground truth.

    Keyword-only: ``coder`` (the detector's :class:`mono3d.geometry.BoxCoder`: priors,
    bins and codecs), the matching/sampling settings of each stage, ``weights`` per loss
    term (names of ``LossOutput.TERMS``; missing ones are 1), the Huber ``beta`` and the
    ``normalizer`` of the 3D, yaw-residual and depth-uncertainty losses (``positive`` or
    ``sampled``) and what trains the depth logit (``depth``: ``laplacian``, the NLL on the
    decoded log-depth residual, or ``huber``) and the NLL's ``depth_nll_beta`` (see
    ``LossConfig``, whose defaults these are).
    No learnable state.

    The 3D, yaw and depth-uncertainty terms read ``gt_aligned.object3d`` (objects too small
    or too far for 3D are left out); category and 2D refinement read ``object``.
    """

    def __init__(
        self,
        *,
        coder: BoxCoder,
        anchor_targets: AnchorTargetConfig | None = None,
        proposal_targets: ProposalTargetConfig | None = None,
        weights: Mapping[str, float] | None = None,
        beta: float = _LOSS.beta,
        normalizer: Normalizer = _LOSS.normalizer,
        depth: Depth = _LOSS.depth,
        depth_nll_beta: float = _LOSS.depth_nll_beta,
    ) -> None:
        super().__init__()
        if depth not in DEPTHS:
            raise ValueError(f"depth must be 'huber' or 'laplacian', got {depth!r}")
        unknown = set(weights or {}) - set(LossOutput.TERMS)
        if unknown:
            raise ValueError(
                f"weights: unknown loss terms {sorted(unknown)}; expected {LossOutput.TERMS}"
            )
        self.targets = TargetBuilder(
            coder=coder,
            anchor_targets=anchor_targets or AnchorTargetConfig(),
            proposal_targets=proposal_targets or ProposalTargetConfig(),
        )
        self.coder = coder
        self.depth = depth
        self.weights = {**DEFAULT_WEIGHTS, **(weights or {})}
        self.box2d = Box2dRegression(beta=beta)
        self.objectness = Objectness()
        self.box3d = Box3dRegression(beta=beta, normalizer=normalizer)
        self.yaw = YawRegression(beta=beta, normalizer=normalizer)
        self.category = Category()
        self.yaw_category = YawCategory()
        self.box2d_refine = Box2dRefinement(beta=beta)
        self.depth_uncertainty = DepthUncertainty(
            normalizer=normalizer, detach_residual=depth == "huber", nll_beta=depth_nll_beta
        )

    @contract
    def forward(
        self,
        output: DetectorOutput,
        gt: GroundTruth,
        images: Images,
        generator: torch.Generator | None = None,
    ) -> LossOutput:
        """The eight loss terms, their weighted total and the sampled counts. The targets
        are ``output.auxi`` when the detector sampled them (pass ``generator`` to
        ``Detector.forward`` then), else built here from ``generator``."""
        if output.auxi is None:
            auxi = self.targets(gt, output.rpn, images.calib, generator=generator)
        elif generator is not None:
            raise ValueError(
                "Criterion.forward: the targets were sampled by Detector.forward "
                "(output.auxi); pass the generator to the detector, not to the criterion"
            )
        else:
            auxi = output.auxi
        anchor, aligned = auxi.gt_feature, auxi.gt_aligned
        selected = select_class_from_prediction(output.head, aligned)
        bbox3d_pred, depth_pred = self._depth_split(selected.bbox3d_logit, aligned.bbox3d_logit)
        if self.depth == "laplacian":
            depth_pred = depth_pred - self._height_error(
                selected.bbox2d_logit, aligned.bbox2d_logit
            )
        terms = {
            "box2d": self.box2d(output.rpn.bbox2d_logit, anchor.bbox2d_logit, anchor.object),
            "objectness": self.objectness(output.rpn.object_logit, anchor.object),
            "box3d": self.box3d(bbox3d_pred, aligned.bbox3d_logit, aligned.object3d),
            "yaw": self.yaw(selected.yaw_resi, aligned.yaw_resi, aligned.object3d),
            "category": self.category(selected.category_logit, aligned.category, aligned.object),
            "yaw_category": self.yaw_category(
                selected.yaw_logit, aligned.yaw_category, aligned.object3d
            ),
            "box2d_refine": self.box2d_refine(
                selected.bbox2d_logit, aligned.bbox2d_logit, aligned.object
            ),
            "depth_uncertainty": self.depth_uncertainty(
                selected.depth_log_sigma,
                depth_pred,
                aligned.bbox3d_logit[..., 2:3],
                aligned.object3d,
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

    def _depth_split(self, pred: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """(the 3D logit the Huber term reads, the predicted dz (b, Nhd, 1)). With the
        ``laplacian`` depth the Huber term's dz is the target's own (adds 0, no gradient)."""
        dz = pred[..., 2:3]
        if self.depth == "huber":
            return pred, dz
        keep = torch.ones(pred.shape[-1], dtype=torch.bool, device=pred.device)
        keep[2] = False
        return torch.where(keep, pred, target.to(pred.dtype)), dz

    def _height_error(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """(b, Nhd, 1) log(h_refined / h_matched) from the 2D refinement deltas (no gradient):
        with the ``box2d`` depth reference the decoded log-depth is dz minus it, so the
        depth NLL sees the error of the depth that is reported. 0 with the ``proposal``
        reference (the proposal height is exact)."""
        if self.coder.depth_reference != "box2d":
            return torch.zeros_like(pred[..., 3:4])
        wh = self.coder.refine_weights[3]
        error = (pred[..., 3:4].detach().float() - target[..., 3:4].float()) / wh
        return torch.nan_to_num(error, nan=0.0, posinf=0.0, neginf=0.0).to(pred.dtype)
