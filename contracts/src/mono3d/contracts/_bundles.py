"""The checked bundles exchanged between blocks (docs/DESIGN.md section 3)."""

from dataclasses import dataclass

import torch

from ._aliases import (
    AlignedBox2d,
    AlignedBox2dLogit,
    AlignedBox3d,
    AlignedBox3dLogit,
    AlignedCategory,
    AlignedObject,
    AlignedObject3d,
    AlignedYaw,
    AlignedYawCategory,
    AlignedYawResi,
    AnchorBox2d,
    AnchorBox3d,
    AnchorCategory,
    AnchorDeltas,
    AnchorLogit,
    AnchorObject,
    Anchors,
    AnchorYaw,
    BackboneS2,
    BackboneS3,
    BackboneS4,
    CalibTensor,
    Count,
    DetAlpha,
    DetBox2d,
    DetBox3d,
    DetCategory,
    DetScore,
    DetValid,
    DetYaw,
    GtBox2d,
    GtBox3d,
    GtCategory,
    GtIgnore,
    GtValid,
    GtYaw,
    HeadBox2dLogit,
    HeadBox3dLogit,
    HeadCategoryLogit,
    HeadDepthLogSigma,
    HeadHas3d,
    HeadYawLogit,
    HeadYawResi,
    ImageSizeTensor,
    ImageTensor,
    NeckS2,
    NeckS3,
    NeckS4,
    ProposalBox2d,
    ProposalLogit,
    ProposalValid,
    Scalar,
    SelectedBox2dLogit,
    SelectedBox3dLogit,
    SelectedCategoryLogit,
    SelectedDepthLogSigma,
    SelectedYawLogit,
    SelectedYawResi,
)
from ._bundle import Bundle
from ._dims import IMAGE_STRIDE
from ._errors import ContractError


@dataclass(frozen=True, eq=False)
class Images(Bundle):
    """A padded image batch with each image's projection matrix and real size.

    images: float RGB in [0, 1], padded bottom/right so h and w are multiples of 32.
    calib: KITTI P2 (3x4, translation column kept) of each image, in the padded image's pixels.
    image_size: each image's real (height, width) in pixels, at most (h, w).
    """

    images: ImageTensor
    calib: CalibTensor
    image_size: ImageSizeTensor

    def _validate(self) -> None:
        h, w = self.images.shape[-2:]
        if h % IMAGE_STRIDE or w % IMAGE_STRIDE:
            raise ContractError(
                f"Images.images: expected h and w multiples of {IMAGE_STRIDE} "
                f"(pad bottom/right), got shape {tuple(self.images.shape)}"
            )
        if self.image_size.numel() and (
            bool((self.image_size < 1).any())
            or bool((self.image_size[:, 0] > h).any())
            or bool((self.image_size[:, 1] > w).any())
        ):
            raise ContractError(
                f"Images.image_size: every (height, width) must lie in [1, ({h}, {w})], "
                f"got {self.image_size.tolist()}"
            )


@dataclass(frozen=True, eq=False)
class GroundTruth(Bundle):
    """Ground-truth objects, padded to the batch's largest count n.

    bbox2d: (x1, y1, x2, y2) pixels. bbox3d: (x, y, z, h, w, l), (x, y, z) the bottom-face
    centre in the camera frame, metres. yaw: rotation_y. category: 1..C-1.
    valid: real (not padded) rows. ignore: DontCare or neighbouring-class rows whose 2D box
    marks anchors/proposals as neither foreground nor background (their other fields are
    not used). A row that is ``ignore`` is also ``valid``.
    """

    bbox2d: GtBox2d
    bbox3d: GtBox3d
    yaw: GtYaw
    category: GtCategory
    valid: GtValid
    ignore: GtIgnore

    @property
    def objects(self) -> torch.Tensor:
        """Bool[b n]: rows that are real, countable objects (valid and not ignored)."""
        return self.valid & ~self.ignore


@dataclass(frozen=True, eq=False)
class BackboneFeatures(Bundle):
    """Backbone maps at strides 4, 8 and 16 (ResNet50: 256, 512, 1024 channels)."""

    s2: BackboneS2
    s3: BackboneS3
    s4: BackboneS4


@dataclass(frozen=True, eq=False)
class NeckFeatures(Bundle):
    """FPN maps at strides 4, 8 and 16, all with the same channel count c (256)."""

    s2: NeckS2
    s3: NeckS3
    s4: NeckS4


@dataclass(frozen=True, eq=False)
class RPNOutput(Bundle):
    """Per-anchor predictions and the selected, decoded proposals (padded to Nhd).

    anchors: (x1, y1, x2, y2) pixels, all levels concatenated. bbox2d_logit: (dx, dy, dw, dh)
    deltas. object_logit: objectness logit. bbox2d: selected proposals, detached, clipped
    to each image's real size. bbox2d_object: their objectness logit. valid: real rows.
    """

    anchors: Anchors
    bbox2d_logit: AnchorDeltas
    object_logit: AnchorLogit
    bbox2d: ProposalBox2d
    bbox2d_object: ProposalLogit
    valid: ProposalValid


@dataclass(frozen=True, eq=False)
class HeadOutput(Bundle):
    """Class-specific outputs of the RoI head for every proposal.

    bbox3d_logit: the 3D logit (du, dv, dz, dh, dw, dl) per class. yaw_resi: MultiBin
    residual per class and bin, in units of half a bin. yaw_logit: bin logits per class.
    category_logit: class logits (index 0 background). bbox2d_logit: the class-specific 2D
    refinement (dx, dy, dw, dh) of the proposal (Fast R-CNN deltas, the coder's weights).
    depth_log_sigma: log of the predicted uncertainty of the depth logit dz per class (a
    Laplacian's standard deviation in log-depth units, trained by a negative log-likelihood).
    has_3d: the rows whose bbox3d_logit, depth_log_sigma, yaw_resi and yaw_logit the head
    computed (the others hold placeholders and make no detection); None: every row.
    """

    bbox3d_logit: HeadBox3dLogit
    yaw_resi: HeadYawResi
    yaw_logit: HeadYawLogit
    category_logit: HeadCategoryLogit
    bbox2d_logit: HeadBox2dLogit
    depth_log_sigma: HeadDepthLogSigma
    has_3d: HeadHas3d | None = None


@dataclass(frozen=True, eq=False)
class GtFeature(Bundle):
    """Per-anchor targets. object: 1 positive, 0 negative, -1 ignored or not sampled.

    bbox3d, yaw, category: the matched objects' raw fields, which no loss reads; None unless
    the target builder was asked for them (``mono3d.auxi.make_feature(raw_fields=True)``).
    """

    bbox2d: AnchorBox2d
    bbox2d_logit: AnchorDeltas
    bbox3d: AnchorBox3d | None
    object: AnchorObject
    yaw: AnchorYaw | None
    category: AnchorCategory | None


@dataclass(frozen=True, eq=False)
class GtAligned(Bundle):
    """Per-proposal targets. object: 1 positive, 0 negative, -1 ignored or not sampled.

    category is 0 (background) for negatives; yaw_category/yaw_resi encode the matched
    object's alpha (MultiBin). bbox2d_logit: the refinement deltas turning the proposal into
    the matched box. object3d: ``object`` with the positives whose object is too small or
    too far for 3D supervision set to -1 (the 3D, yaw and depth-uncertainty losses read it;
    classification and 2D refinement read ``object``).
    """

    bbox2d: AlignedBox2d
    bbox3d: AlignedBox3d
    bbox3d_logit: AlignedBox3dLogit
    object: AlignedObject
    yaw: AlignedYaw
    yaw_category: AlignedYawCategory
    yaw_resi: AlignedYawResi
    category: AlignedCategory
    bbox2d_logit: AlignedBox2dLogit
    object3d: AlignedObject3d


@dataclass(frozen=True, eq=False)
class Auxi(Bundle):
    """All training targets of a batch."""

    gt_aligned: GtAligned
    gt_feature: GtFeature

    def _validate(self) -> None:
        b_aligned = self.gt_aligned.object.shape[0]
        b_feature = self.gt_feature.object.shape[0]
        if b_aligned != b_feature:
            raise ContractError(
                f"Auxi: gt_aligned has b={b_aligned} but gt_feature has b={b_feature}"
            )


@dataclass(frozen=True, eq=False)
class SelectedPrediction(Bundle):
    """Head outputs reduced to the ground-truth class of each proposal.

    bbox3d_logit and yaw_logit: the GT class's channel; yaw_resi: that class's residual at
    the GT bin. category_logit keeps all C logits (cross-entropy needs them; the seed's
    ``[b Nhd 1]`` cannot feed a CE loss). bbox2d_logit and depth_log_sigma: the GT class's
    refinement deltas and depth uncertainty.
    """

    bbox3d_logit: SelectedBox3dLogit
    yaw_resi: SelectedYawResi
    yaw_logit: SelectedYawLogit
    category_logit: SelectedCategoryLogit
    bbox2d_logit: SelectedBox2dLogit
    depth_log_sigma: SelectedDepthLogSigma


@dataclass(frozen=True, eq=False)
class LossOutput(Bundle):
    """The eight loss terms (0-d), their weighted total, and the sample counts behind them.

    box2d: Box2dRegression, objectness: Objectness, box3d: Box3dRegression,
    yaw: YawRegression, category: Category, yaw_category: YawCategory,
    box2d_refine: Box2dRefinement (the head's 2D deltas), depth_uncertainty:
    DepthUncertainty (Laplacian NLL of the depth logit).
    """

    box2d: Scalar
    objectness: Scalar
    box3d: Scalar
    yaw: Scalar
    category: Scalar
    yaw_category: Scalar
    box2d_refine: Scalar
    depth_uncertainty: Scalar
    total: Scalar
    num_anchor_pos: Count
    num_anchor_neg: Count
    num_proposal_pos: Count
    num_proposal_neg: Count

    TERMS = (
        "box2d",
        "objectness",
        "box3d",
        "yaw",
        "category",
        "yaw_category",
        "box2d_refine",
        "depth_uncertainty",
    )

    def terms(self) -> dict[str, torch.Tensor]:
        """The eight loss terms by name."""
        return {name: getattr(self, name) for name in self.TERMS}


@dataclass(frozen=True, eq=False)
class Detections(Bundle):
    """Post-processed detections, K per image, padded.

    bbox2d: pixels (the refined box when the coder refines). score: the class probability,
    times the 3D confidence exp(-sigma_z) when post-processing scores in 3D; in [0, 1].
    category: 1..C-1. bbox3d: (x, y, z, h, w, l), bottom-face centre, metres.
    yaw: rotation_y. alpha: observation angle. valid: real rows, sorted by score within
    each image.
    """

    bbox2d: DetBox2d
    score: DetScore
    category: DetCategory
    bbox3d: DetBox3d
    yaw: DetYaw
    alpha: DetAlpha
    valid: DetValid


ALL_BUNDLES: tuple[type[Bundle], ...] = (
    Images,
    GroundTruth,
    BackboneFeatures,
    NeckFeatures,
    RPNOutput,
    HeadOutput,
    GtFeature,
    GtAligned,
    Auxi,
    SelectedPrediction,
    LossOutput,
    Detections,
)


def _register_for_export() -> None:
    """Let torch.export flatten bundles that cross the exported boundary."""
    register = getattr(getattr(torch, "export", None), "register_dataclass", None)
    if register is None:  # pragma: no cover - very old torch
        return
    for cls in ALL_BUNDLES:
        try:
            register(cls, serialized_type_name=f"mono3d.contracts.{cls.__name__}")
        except (ValueError, TypeError):  # pragma: no cover - already registered
            pass


_register_for_export()
