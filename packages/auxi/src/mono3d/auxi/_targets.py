"""The public target functions: ``make_feature`` (anchors), ``make_align`` (proposals) and
``make_auxi`` (both). Targets are computed without gradient, in float32.

Shape shorthand (mono3d.contracts): b batch, n GT rows (padded), N anchors, Nhd proposals,
C categories incl. background, B yaw bins.
"""

import torch
from jaxtyping import Bool, Float
from torch import Tensor

from mono3d.contracts import (
    Auxi,
    ContractError,
    GroundTruth,
    GtAligned,
    GtFeature,
    RPNOutput,
    checks_enabled,
    contract,
)
from mono3d.geometry import BoxCoder, encode_box2d

from ._config import (
    DEFAULT_ANCHOR_TARGETS,
    DEFAULT_PROPOSAL_TARGETS,
    JOIN_FIELDS,
    AnchorTargetConfig,
    ProposalTargetConfig,
)
from ._matching import POSITIVE, gt_boxes, match_boxes
from ._sampling import sample_labels

_ANCHOR = DEFAULT_ANCHOR_TARGETS
_PROPOSAL = DEFAULT_PROPOSAL_TARGETS


def _check_categories(function: str, gt: GroundTruth, num_categories: int) -> None:
    """Object rows must hold a class in [1, C-1] (one sync; skipped when checks are off)."""
    if not checks_enabled():
        return
    category = gt.category[..., 0]
    bad = gt.objects & ((category < 1) | (category >= num_categories))
    if bool(bad.any()):
        raise ContractError(
            f"{function}: gt.category of object rows must lie in [1, {num_categories - 1}] "
            f"(priors has C={num_categories} rows), got {category[bad].unique().tolist()}"
        )


def _gather_rows(rows: Tensor, index: Tensor) -> Tensor:
    """rows (b, n, k) picked by index (b, M) -> (b, M, k); zeros when n == 0."""
    b, m = index.shape
    if rows.shape[1] == 0:
        return rows.new_zeros(b, m, rows.shape[2])
    return torch.gather(rows, 1, index[..., None].expand(b, m, rows.shape[2]))


#: the raw GT fields a target builder can gather for each matched row
RAW_FIELDS = ("bbox2d", "bbox3d", "yaw", "category")


def _matched_fields(
    gt: GroundTruth, matched: Tensor, foreground: Tensor, names: tuple[str, ...] = RAW_FIELDS
) -> dict[str, Tensor]:
    """The raw GT fields ``names`` of each row's match (b, M, k); zeros where not
    ``foreground``. Only the fields named are gathered (at KITTI size M = 241,920 anchors).

    Padded rows are replaced by zeros before gathering, so they cannot leak (NaN included).
    """
    valid = gt.valid[..., None]
    sources = {
        "bbox2d": lambda: gt_boxes(gt),
        "bbox3d": lambda: torch.where(valid, gt.bbox3d.float(), 0.0),
        "yaw": lambda: torch.where(valid, gt.yaw.float(), 0.0),
        "category": lambda: torch.where(valid, gt.category, 0).to(torch.int64),
    }
    fg = foreground[..., None]
    return {name: torch.where(fg, _gather_rows(sources[name](), matched), 0) for name in names}


@contract
def make_feature(
    gt: GroundTruth,
    anchor: Float[Tensor, "b N 4"],
    *,
    fg_iou_thresh: float = _ANCHOR.fg_iou_thresh,
    bg_iou_thresh: float = _ANCHOR.bg_iou_thresh,
    allow_low_quality_matches: bool = _ANCHOR.allow_low_quality_matches,
    ignore_ioa_thresh: float = _ANCHOR.ignore_ioa_thresh,
    batch_size_per_image: int | None = _ANCHOR.batch_size_per_image,
    positive_fraction: float = _ANCHOR.positive_fraction,
    generator: torch.Generator | None = None,
    raw_fields: bool = False,
) -> GtFeature:
    """Per-anchor RPN targets (b, N, ·) for the anchors (x1, y1, x2, y2 pixels).

    object: 1 / 0 / -1 after matching (fg IoU >= 0.7 or an object's best anchor, bg < 0.3,
    ignore rows: see the package README) and balanced sampling
    (256 per image, <= 50 % positive; ``generator`` makes it reproducible).
    bbox2d_logit: torchvision deltas (weights 1, 1, 1, 1) of the matched box w.r.t. the
    anchor; bbox2d: the matched box. The RPN losses read only ``object`` and
    ``bbox2d_logit``; with ``raw_fields`` the matched object's bbox3d, yaw (rotation_y) and
    category are gathered too (None otherwise: at KITTI size that is 8 numbers for each of
    241,920 anchors per image that nothing reads). The matched fields and bbox2d_logit are
    filled on every foreground anchor (sampled or not) and are 0 elsewhere.
    """
    with torch.no_grad():
        anchor = anchor.detach().float()
        match = match_boxes(
            anchor,
            gt,
            fg_iou_thresh=fg_iou_thresh,
            bg_iou_thresh=bg_iou_thresh,
            allow_low_quality_matches=allow_low_quality_matches,
            ignore_ioa_thresh=ignore_ioa_thresh,
        )
        foreground = match.label == POSITIVE
        names = RAW_FIELDS if raw_fields else ("bbox2d",)
        fields = _matched_fields(gt, match.matched, foreground, names)
        fg = foreground[..., None]
        # background rows encode the anchor against itself (finite), then become 0
        deltas = encode_box2d(torch.where(fg, fields["bbox2d"], anchor), anchor)
        label = sample_labels(
            match.label,
            batch_size_per_image=batch_size_per_image,
            positive_fraction=positive_fraction,
            generator=generator,
        )
        return GtFeature(
            bbox2d=fields["bbox2d"],
            bbox2d_logit=torch.where(fg, deltas, 0.0),
            bbox3d=fields.get("bbox3d"),
            object=label[..., None],
            yaw=fields.get("yaw"),
            category=fields.get("category"),
        )


def _supervised_in_3d(
    box2d: Tensor, bbox3d: Tensor, min_height: float, max_depth: float | None
) -> Tensor:
    """Bool (b, M): rows whose object is at least ``min_height`` px tall (2D box) and at most
    ``max_depth`` m away (camera z); objects below / beyond that get no 3D supervision."""
    ok = (box2d[..., 3] - box2d[..., 1]) >= min_height
    if max_depth is not None:
        ok = ok & (bbox3d[..., 2] <= max_depth)
    return ok


@contract
def make_align(
    gt: GroundTruth,
    proposals: Float[Tensor, "b Nhd 4"],
    proposal_valid: Bool[Tensor, "b Nhd"],
    calib: Float[Tensor, "b 3 4"],
    priors: Float[Tensor, "C 3"],
    num_bins: int,
    *,
    fg_iou_thresh: float = _PROPOSAL.fg_iou_thresh,
    bg_iou_thresh: float = _PROPOSAL.bg_iou_thresh,
    allow_low_quality_matches: bool = _PROPOSAL.allow_low_quality_matches,
    ignore_ioa_thresh: float = _PROPOSAL.ignore_ioa_thresh,
    batch_size_per_image: int | None = _PROPOSAL.batch_size_per_image,
    positive_fraction: float = _PROPOSAL.positive_fraction,
    min_height_3d: float = _PROPOSAL.min_height_3d,
    max_depth_3d: float | None = _PROPOSAL.max_depth_3d,
    generator: torch.Generator | None = None,
    coder: BoxCoder | None = None,
) -> GtAligned:
    """Per-proposal head targets (b, Nhd, ·).

    object: 1 / 0 / -1 after matching (fg IoU >= 0.5, bg [0, 0.5), ignore rows as for
    anchors) and balanced sampling (512 per image, <= 25 % positive); invalid proposals are
    -1 whatever their boxes hold. object3d: ``object`` with the positives whose object is
    under ``min_height_3d`` px (2D box height) or beyond ``max_depth_3d`` m set to -1 (no 3D
    supervision; classification keeps them). category: the matched class on foreground rows,
    0 elsewhere. The codes come from ``coder`` (a :class:`mono3d.geometry.BoxCoder`; default:
    one with ``priors`` (C, 3, row 0 unused) and ``num_bins`` and the default codec
    settings): bbox2d_logit, the refinement deltas of the matched box w.r.t. the proposal;
    bbox3d_logit, the 3D logit of the matched box against the coder's reference box (the
    matched 2D box, or the proposal), the matched class's prior and the image's ``calib``
    (KITTI P2); yaw_category, yaw_resi: MultiBin of ``alpha = wrap(rotation_y - atan2(x, z))``.
    bbox2d, bbox3d, yaw (rotation_y): the matched raw fields. Every target is filled on
    foreground proposals (sampled or not) and 0 elsewhere, so non-positive rows are finite.
    """
    _check_categories("make_align", gt, priors.shape[0])
    if coder is None:
        coder = BoxCoder(priors=priors[1:].tolist(), num_bins=num_bins).to(priors.device)
    elif coder.num_bins != num_bins or coder.num_categories != priors.shape[0]:
        raise ValueError(
            f"make_align: coder has C={coder.num_categories}, B={coder.num_bins} but priors "
            f"has C={priors.shape[0]} and num_bins={num_bins}"
        )
    with torch.no_grad():
        valid = proposal_valid[..., None]
        boxes = torch.where(valid, proposals.detach().float(), 0.0)
        calib = calib.float()
        match = match_boxes(
            boxes,
            gt,
            fg_iou_thresh=fg_iou_thresh,
            bg_iou_thresh=bg_iou_thresh,
            allow_low_quality_matches=allow_low_quality_matches,
            ignore_ioa_thresh=ignore_ioa_thresh,
        )
        label = torch.where(proposal_valid, match.label, -1)
        foreground = label == POSITIVE
        fields = _matched_fields(gt, match.matched, foreground)
        fg = foreground[..., None]
        # background rows encode a unit box at 10 m against itself (finite), then become 0
        unit = boxes.new_tensor([0.0, 0.0, 1.0, 1.0])
        box2d = torch.where(fg, fields["bbox2d"], unit)
        reference = torch.where(fg, boxes, unit)
        bbox3d = torch.where(fg, fields["bbox3d"], boxes.new_tensor([0.0, 0.0, 10.0, 1, 1, 1]))
        deltas, logit, yaw_bin, yaw_resi = coder.encode(
            box2d,
            bbox3d,
            fields["yaw"][..., 0],
            torch.where(foreground, fields["category"][..., 0], 1),
            reference,
            calib,
        )
        label = sample_labels(
            label,
            batch_size_per_image=batch_size_per_image,
            positive_fraction=positive_fraction,
            generator=generator,
        )
        in_3d = _supervised_in_3d(fields["bbox2d"], fields["bbox3d"], min_height_3d, max_depth_3d)
        object3d = torch.where((label == POSITIVE) & ~in_3d, -1, label)
        return GtAligned(
            bbox2d=fields["bbox2d"],
            bbox3d=fields["bbox3d"],
            bbox3d_logit=torch.where(fg, logit, 0.0),
            object=label[..., None],
            yaw=fields["yaw"],
            yaw_category=torch.where(fg, yaw_bin[..., None], 0),
            yaw_resi=torch.where(fg, yaw_resi[..., None], 0.0),
            category=fields["category"],
            bbox2d_logit=torch.where(fg, deltas, 0.0),
            object3d=object3d[..., None],
        )


@contract
def make_auxi(
    gt: GroundTruth,
    pred: RPNOutput,
    calib: Float[Tensor, "b 3 4"],
    priors: Float[Tensor, "C 3"],
    num_bins: int,
    *,
    anchor_targets: AnchorTargetConfig = _ANCHOR,
    proposal_targets: ProposalTargetConfig = _PROPOSAL,
    generator: torch.Generator | None = None,
    coder: BoxCoder | None = None,
    raw_fields: bool = False,
) -> Auxi:
    """All training targets of a batch: ``gt_feature`` for ``pred.anchors`` (see
    :func:`make_feature`; ``raw_fields`` also gathers its per-anchor bbox3d, yaw and category)
    and ``gt_aligned`` for the proposals ``pred.bbox2d`` / ``pred.valid`` (see
    :func:`make_align`). Anchors are sampled first, then proposals, from the same
    ``generator``; ``coder`` encodes the head's targets (see :func:`make_align`)."""
    gt_feature = make_feature(
        gt,
        pred.anchors,
        **anchor_targets.model_dump(),
        generator=generator,
        raw_fields=raw_fields,
    )
    gt_aligned = make_align(
        gt,
        pred.bbox2d,
        pred.valid,
        calib,
        priors,
        num_bins,
        **proposal_targets.model_dump(exclude=set(JOIN_FIELDS)),
        generator=generator,
        coder=coder,
    )
    return Auxi(gt_aligned=gt_aligned, gt_feature=gt_feature)
