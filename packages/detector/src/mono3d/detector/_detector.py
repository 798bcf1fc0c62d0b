"""The Detector: backbone -> neck -> RPN -> (proposals + ground truth in training) -> RoI head."""

from dataclasses import dataclass

import torch
from jaxtyping import Float
from torch import Tensor, nn

from mono3d.auxi import ProposalTargetConfig, TargetBuilder
from mono3d.contracts import (
    Auxi,
    Bundle,
    Detections,
    GroundTruth,
    HeadOutput,
    Images,
    RPNOutput,
    contract,
)
from mono3d.geometry import BoxCoder

from ._config import SCORES, PostprocessConfig
from ._postprocess import postprocess

_POSTPROCESS = PostprocessConfig()
_PROPOSAL_TARGETS = ProposalTargetConfig()


@dataclass(frozen=True, eq=False)
class DetectorOutput(Bundle):
    """What ``Detector.forward`` returns, in training and evaluation alike.

    rpn: the RPN's per-anchor outputs and the proposals the head saw (with the ground-truth
    boxes appended when ``gt`` was given, so Nhd = Nhd_rpn + n, and their jittered copies
    with ``proposal_targets.gt_jitter_copies`` J > 0: Nhd = Nhd_rpn + n (1 + J)). head: the head's
    class-specific outputs for exactly those proposals. auxi: the training targets of those
    proposals and of the anchors, sampled before the head (torchvision's order) when ``gt``
    was given to a Detector holding a ``targets`` builder; None otherwise (the Criterion then
    builds them).
    """

    rpn: RPNOutput
    head: HeadOutput
    auxi: Auxi | None = None


_register = getattr(getattr(torch, "export", None), "register_dataclass", None)
if _register is not None:
    _register(DetectorOutput, serialized_type_name="mono3d.detector.DetectorOutput")


@contract
def jittered_copies(
    boxes: Float[Tensor, "b n 4"],
    copies: int,
    scale: float,
    generator: torch.Generator | None = None,
) -> Float[Tensor, "b _ 4"]:
    """(b, n * copies, 4) copies of ``boxes`` (b, n, 4) (x1, y1, x2, y2), box-major, each edge
    moved by a normal draw of ``scale`` times the box's width (x) or height (y), sides kept
    >= 1 px; drawn from ``generator`` (else the global one)."""
    b, n = boxes.shape[:2]
    boxes32 = boxes.float()
    size = (boxes32[..., 2:] - boxes32[..., :2]).repeat(1, 1, 2)  # (w, h, w, h)
    noise = torch.randn(
        (b, n, copies, 4), generator=generator, device=boxes.device, dtype=torch.float32
    )
    moved = boxes32[:, :, None] + scale * size[:, :, None] * noise
    x1y1 = moved[..., :2]
    x2y2 = torch.maximum(moved[..., 2:], x1y1 + 1.0)
    return torch.cat([x1y1, x2y2], dim=-1).reshape(b, n * copies, 4).to(boxes.dtype)


@contract
def join_ground_truth(
    rpn: RPNOutput,
    gt: GroundTruth,
    jitter_copies: int = _PROPOSAL_TARGETS.gt_jitter_copies,
    jitter_scale: float = _PROPOSAL_TARGETS.gt_jitter_scale,
    generator: torch.Generator | None = None,
) -> RPNOutput:
    """The RPN output with the ground-truth boxes appended to the proposals (training).

    Only countable objects (``valid & ~ignore``) join; their rows are (b, n) more proposals
    with objectness logit 0, detached like the rest, followed by ``jitter_copies`` jittered
    copies of each (b, n * jitter_copies rows, :func:`jittered_copies` with
    ``jitter_scale``, from ``generator``). Padded rows hold zeros and are invalid.
    """
    objects = gt.objects
    boxes = torch.where(objects[..., None], gt.bbox2d, torch.zeros_like(gt.bbox2d))
    boxes = boxes.detach().to(rpn.bbox2d.dtype)
    valid = objects
    if jitter_copies > 0:
        copies = jittered_copies(boxes, jitter_copies, jitter_scale, generator)
        repeated = objects.repeat_interleave(jitter_copies, dim=1)  # box-major, as the copies
        copies = torch.where(repeated[..., None], copies, torch.zeros_like(copies))
        boxes, valid = torch.cat([boxes, copies], dim=1), torch.cat([objects, repeated], dim=1)
    return RPNOutput(
        anchors=rpn.anchors,
        bbox2d_logit=rpn.bbox2d_logit,
        object_logit=rpn.object_logit,
        bbox2d=torch.cat([rpn.bbox2d, boxes], dim=1),
        bbox2d_object=torch.cat(
            [rpn.bbox2d_object, rpn.bbox2d_object.new_zeros((*boxes.shape[:2], 1))], dim=1
        ),
        valid=torch.cat([rpn.valid, valid], dim=1),
    )


def rows_read_in_3d(auxi: Auxi, targets: TargetBuilder) -> Tensor:
    """Int64[b P] distinct row indices into Nhd, the rows a 3D loss reads
    (``gt_aligned.object3d`` 1) first: P, static, is the sampler's positive quota
    (``int(batch_size_per_image * positive_fraction)``, every row when nothing is sampled),
    the rest of the P rows are other rows (pooled, never read)."""
    read = auxi.gt_aligned.object3d[..., 0] == 1
    sampling = targets.proposal_targets
    quota = read.shape[1]
    if sampling.batch_size_per_image is not None:
        quota = int(sampling.batch_size_per_image * sampling.positive_fraction)
    return read.float().topk(min(quota, read.shape[1]), dim=1).indices


class Detector(nn.Module):
    """A two-stage monocular 3D detector assembled from four blocks.

    Keyword-only: ``backbone`` (images Float[b 3 h w] -> BackboneFeatures), ``neck``
    (BackboneFeatures -> NeckFeatures), ``rpn`` ((NeckFeatures, Images) -> RPNOutput),
    ``head`` ((NeckFeatures, proposals Float[b Nhd 4], calib Float[b 3 4]) -> HeadOutput),
    ``coder`` (the :class:`mono3d.geometry.BoxCoder` that decodes the head's outputs; hand
    the same object to the Criterion), ``targets`` (a :class:`mono3d.auxi.TargetBuilder`
    sharing that coder, or None) and the post-processing settings used by :meth:`predict`
    (``score`` ``3d`` or ``2d``, ``vote_iou``; defaults: :class:`PostprocessConfig`'s).

    With ``targets``, a forward given ``gt`` samples the training targets after the RPN and
    before the head, as torchvision's RoI heads do, and hands the head the rows whose 3D
    outputs a loss reads (``rows_3d``), so that the head's second pooling of the refined
    boxes runs on those rows only (at most the sampler's positives per image).
    """

    def __init__(
        self,
        *,
        backbone: nn.Module,
        neck: nn.Module,
        rpn: nn.Module,
        head: nn.Module,
        coder: BoxCoder,
        targets: TargetBuilder | None = None,
        score_thresh: float = _POSTPROCESS.score_thresh,
        nms_thresh: float = _POSTPROCESS.nms_thresh,
        detections_per_image: int = _POSTPROCESS.detections_per_image,
        score: str = _POSTPROCESS.score,
        vote_iou: float | None = _POSTPROCESS.vote_iou,
    ) -> None:
        super().__init__()
        if score not in SCORES:
            raise ValueError(f"score must be one of {SCORES}, got {score!r}")
        self.backbone = backbone
        self.neck = neck
        self.rpn = rpn
        self.head = head
        self.coder = coder
        if targets is not None and targets.coder is not coder:
            raise ValueError("Detector: targets must share the detector's coder (targets.coder)")
        self.targets = targets
        self.score_thresh = score_thresh
        self.nms_thresh = nms_thresh
        self.detections_per_image = detections_per_image
        self.score = score
        self.vote_iou = vote_iou

    @property
    def priors(self) -> Tensor:
        """Float[C 3] (h, w, l) metres per category (row 0 background): the coder's."""
        return self.coder.priors

    @contract
    def forward(
        self,
        images: Images,
        gt: GroundTruth | None = None,
        generator: torch.Generator | None = None,
    ) -> DetectorOutput:
        """RPN and head outputs; with ``gt`` (training) its boxes join the proposals and,
        with ``targets``, the training targets are sampled (from ``generator``, else the
        global generator) before the head and returned as ``auxi``."""
        features = self.neck(self.backbone(images.images))
        rpn = self.rpn(features, images)
        auxi, rows_3d = None, None
        if gt is not None:
            # jittered copies of the boxes join too when the targets ask for them (none draws
            # nothing from the generator)
            sampling = _PROPOSAL_TARGETS if self.targets is None else self.targets.proposal_targets
            rpn = join_ground_truth(
                rpn, gt, sampling.gt_jitter_copies, sampling.gt_jitter_scale, generator
            )
            if self.targets is not None:
                # matching and the codecs in float32, also inside an autocast region
                with torch.autocast(images.images.device.type, enabled=False):
                    auxi = self.targets(gt, rpn, images.calib, generator=generator)
                rows_3d = rows_read_in_3d(auxi, self.targets)
        rows = {} if rows_3d is None else {"rows_3d": rows_3d}
        head = self.head(features, rpn.bbox2d, images.calib, **rows)
        return DetectorOutput(rpn=rpn, head=head, auxi=auxi)

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
                vote_iou=self.vote_iou,
            )
