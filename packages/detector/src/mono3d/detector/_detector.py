"""The Detector: backbone -> neck -> RPN -> (proposals + ground truth in training) -> RoI head."""

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from mono3d.contracts import (
    Bundle,
    ContractError,
    Detections,
    GroundTruth,
    HeadOutput,
    Images,
    RPNOutput,
    check_same_batch,
    contract,
)
from mono3d.geometry import BoxCoder

from ._postprocess import SCORES, postprocess


@dataclass(frozen=True, eq=False)
class DetectorOutput(Bundle):
    """What ``Detector.forward`` returns, in training and evaluation alike.

    rpn: the RPN's per-anchor outputs and the proposals the head saw (with the ground-truth
    boxes appended when ``gt`` was given, so Nhd = Nhd_rpn + n). head: the head's
    class-specific outputs for exactly those proposals.
    """

    rpn: RPNOutput
    head: HeadOutput

    def _validate(self) -> None:
        proposals, logits = self.rpn.bbox2d.shape[:2], self.head.category_logit.shape[:2]
        if tuple(proposals) != tuple(logits):
            raise ContractError(
                f"DetectorOutput: head outputs are for (b, Nhd) = {tuple(logits)} but the "
                f"proposals RPNOutput.bbox2d have (b, Nhd) = {tuple(proposals)}"
            )


_register = getattr(getattr(torch, "export", None), "register_dataclass", None)
if _register is not None:
    _register(DetectorOutput, serialized_type_name="mono3d.detector.DetectorOutput")


@contract
def join_ground_truth(rpn: RPNOutput, gt: GroundTruth) -> RPNOutput:
    """The RPN output with the ground-truth boxes appended to the proposals (training).

    Only countable objects (``valid & ~ignore``) join; their rows are (b, n) more proposals
    with objectness logit 0, detached like the rest. Padded rows hold zeros and are invalid.
    """
    objects = gt.objects
    boxes = torch.where(objects[..., None], gt.bbox2d, torch.zeros_like(gt.bbox2d))
    boxes = boxes.detach().to(rpn.bbox2d.dtype)
    return RPNOutput(
        anchors=rpn.anchors,
        bbox2d_logit=rpn.bbox2d_logit,
        object_logit=rpn.object_logit,
        bbox2d=torch.cat([rpn.bbox2d, boxes], dim=1),
        bbox2d_object=torch.cat(
            [rpn.bbox2d_object, rpn.bbox2d_object.new_zeros((*boxes.shape[:2], 1))], dim=1
        ),
        valid=torch.cat([rpn.valid, objects], dim=1),
    )


class Detector(nn.Module):
    """A two-stage monocular 3D detector assembled from four blocks.

    Keyword-only: ``backbone`` (images Float[b 3 h w] -> BackboneFeatures), ``neck``
    (BackboneFeatures -> NeckFeatures), ``rpn`` ((NeckFeatures, Images) -> RPNOutput),
    ``head`` ((NeckFeatures, proposals Float[b Nhd 4], calib Float[b 3 4]) -> HeadOutput),
    ``coder`` (the :class:`mono3d.geometry.BoxCoder` that decodes the head's outputs; hand
    the same object to the Criterion) and the post-processing settings used by
    :meth:`predict` (``score`` ``3d`` or ``2d``).
    """

    def __init__(
        self,
        *,
        backbone: nn.Module,
        neck: nn.Module,
        rpn: nn.Module,
        head: nn.Module,
        coder: BoxCoder,
        score_thresh: float = 0.05,
        nms_thresh: float = 0.5,
        detections_per_image: int = 100,
        score: str = "3d",
    ) -> None:
        super().__init__()
        if score not in SCORES:
            raise ValueError(f"score must be one of {SCORES}, got {score!r}")
        self.backbone = backbone
        self.neck = neck
        self.rpn = rpn
        self.head = head
        self.coder = coder
        self.score_thresh = score_thresh
        self.nms_thresh = nms_thresh
        self.detections_per_image = detections_per_image
        self.score = score

    @property
    def priors(self) -> Tensor:
        """Float[C 3] (h, w, l) metres per category (row 0 background): the coder's."""
        return self.coder.priors

    @contract
    def forward(self, images: Images, gt: GroundTruth | None = None) -> DetectorOutput:
        """RPN and head outputs; with ``gt`` (training) its boxes join the proposals."""
        if gt is not None:
            check_same_batch("Detector.forward", images=images, gt=gt)
        features = self.neck(self.backbone(images.images))
        rpn = self.rpn(features, images)
        if gt is not None:
            rpn = join_ground_truth(rpn, gt)
        head = self.head(features, rpn.bbox2d, images.calib)
        return DetectorOutput(rpn=rpn, head=head)

    @contract
    def predict(self, images: Images) -> Detections:
        """Post-processed detections, K per image, padded (call ``.eval()`` first for the
        test-time proposal settings)."""
        output = self(images)
        # decoding (codecs, the camera's matmuls) stays float32 under an autocast region
        with torch.autocast(images.images.device.type, enabled=False):
            return postprocess(
                output.head,
                output.rpn.bbox2d,
                output.rpn.valid,
                images.calib,
                self.coder,
                image_size=images.image_size,
                score_thresh=self.score_thresh,
                nms_thresh=self.nms_thresh,
                detections_per_image=self.detections_per_image,
                score=self.score,
            )
