"""The Criterion: targets (auxi) -> class selection -> the nine losses -> ``LossOutput``."""

from collections.abc import Mapping

import torch
from torch import nn

from mono3d.auxi import (
    AnchorTargetConfig,
    ProposalTargetConfig,
    TargetBuilder,
    select_class_from_prediction,
)
from mono3d.contracts import GroundTruth, Images, LossOutput, SelectedPrediction, contract
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
    or too far for 3D are left out); category and 2D refinement read ``object``. The 3D
    branch's second 2D refinement (``box2d_refine_3d``, when the head predicts it) reads
    ``object3d`` too (the rows the head pooled again), its targets the matched boxes
    against the head's ``box_3d`` (``BoxCoder.encode_box2d_3d``); 0 without it.
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
        self.box2d_refine_3d = Box2dRefinement(beta=beta)
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
        """The nine loss terms, their weighted total and the sampled counts. The targets
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
        second = self._second_refinement(output, selected, aligned.bbox2d)
        if self.depth == "laplacian":
            depth_pred = depth_pred - self._height_error(
                selected.bbox2d_logit, aligned.bbox2d_logit, second
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
            "box2d_refine_3d": (
                selected.bbox2d_logit.new_zeros(()).float()
                if second is None
                else self.box2d_refine_3d(second[0], second[1], aligned.object3d)
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

    def _second_refinement(
        self, output: DetectorOutput, selected: SelectedPrediction, matched: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor] | None:
        """(the GT class's second 2D deltas (b, Nhd, 4), their targets: the matched boxes
        ``matched`` (b, Nhd, 4) against the head's ``box_3d``), or None when the head has no
        second refinement (refused with the ``cascade`` depth reference, which needs it)."""
        box_3d = output.head.box_3d
        if selected.bbox2d_logit_3d is None or box_3d is None:
            if self.coder.depth_reference == "cascade":
                raise ValueError(
                    "Criterion: the coder's depth_reference 'cascade' needs the head's second "
                    "2D refinement (HeadOutput.box_3d and bbox2d_logit_3d: head refine_3d)"
                )
            return None
        target = self.coder.encode_box2d_3d(matched.float(), box_3d.float())
        return selected.bbox2d_logit_3d, target

    def _height_error(
        self,
        pred: torch.Tensor,
        target: torch.Tensor,
        second: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """(b, Nhd, 1) log(h_reference / h_matched), no gradient: the height error of the box
        the depth is decoded against, from the 2D deltas and their targets (b, Nhd, 4):
        ``pred`` and ``target`` of the first refinement (``box2d``: the refined box), or
        ``second``'s (``cascade``: the 3D branch's second refinement), so that the depth NLL
        sees the error of the depth that is reported. 0 with the ``proposal`` reference (the
        proposal height is exact)."""
        if self.coder.depth_reference == "proposal":
            return torch.zeros_like(pred[..., 3:4])
        wh = self.coder.refine_weights[3]
        if self.coder.depth_reference == "cascade" and second is not None:
            (pred, target), wh = second, self.coder.refine_weights_3d[3]
        error = (pred[..., 3:4].detach().float() - target[..., 3:4].float()) / wh
        return torch.nan_to_num(error, nan=0.0, posinf=0.0, neginf=0.0).to(pred.dtype)
