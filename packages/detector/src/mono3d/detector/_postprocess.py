"""Post-processing: proposals + head outputs -> ``Detections`` (static shapes, no ragged lists).

Per image every (proposal, object class) pair is a candidate. Each is decoded by the detector's
:class:`mono3d.geometry.BoxCoder` with its class's channel: the 2D box (the proposal refined by
that class's deltas and clipped to the image, or the proposal when the coder does not refine),
the 3D box against the coder's reference box and the class prior, and the yaw (argmax bin plus
its residual gives alpha; rotation_y = alpha + atan2(x, z) of the decoded location).

A candidate is kept if its proposal is valid and has 3D outputs (``HeadOutput.has_3d``), its
softmax class probability p exceeds ``score_thresh`` and everything decoded is finite. Its
score is p (``score="2d"``) or ``p * exp(-sigma_z)`` (``score="3d"``, the default, as GUPNet
scores), with ``sigma_z = z * exp(s)`` the head's depth uncertainty s (log-sigma of the depth
logit dz = log z + const) turned into metres at the decoded depth z. Then per-class NMS
(``nms_thresh``) on the 2D boxes in score order, and the top ``detections_per_image`` (K)
survivors sorted by score, padded with ``valid`` False. With ``vote_iou`` each survivor's 2D
and 3D box are then averaged with those of the candidates it suppressed (:func:`vote`).
"""

import torch
from jaxtyping import Bool, Float, Int
from torch import Tensor

from mono3d.contracts import Detections, HeadOutput, contract
from mono3d.geometry import BoxCoder, box_iou, rotation_y_from_alpha
from mono3d.losses import LOG_SIGMA_RANGE
from mono3d.rpn import nms_keep_mask

from ._config import SCORES, PostprocessConfig

_POSTPROCESS = PostprocessConfig()


def _gather_rows(values: Tensor, index: Tensor) -> Tensor:
    """values (b, M, *rest), index (b, K) -> (b, K, *rest)."""
    rest = values.shape[2:]
    expanded = index.view(*index.shape, *([1] * len(rest))).expand(*index.shape, *rest)
    return torch.gather(values, 1, expanded)


def _foreground(values: Tensor) -> Tensor:
    """Class-specific values (b, Nhd, C, *rest) -> the object classes' rows
    (b, Nhd * (C-1), *rest), proposal-major (candidate index = proposal * (C-1) + class - 1)."""
    b, nhd, c = values.shape[:3]
    return values[:, :, 1:].reshape(b, nhd * (c - 1), *values.shape[3:])


def vote(
    top_index: Tensor,
    keep: Tensor,
    weight: Tensor,
    boxes: Tensor,
    values: Tensor,
    ok: Tensor,
    num_labels: int,
    vote_iou: float,
) -> tuple[Tensor, Tensor]:
    """Box voting (Detectron's ``TEST.BBOX_VOTE``, Gidaris & Komodakis 2015), here of the 2D
    and the 3D box: each kept detection's 2D box and ``values`` become the ``weight``-weighted
    means over the candidates of its class whose 2D box overlaps its own at IoU >= ``vote_iou``
    (itself included, the NMS-suppressed duplicates being the others).

    top_index (b, K) kept candidates' indices into M, keep (b, K), weight (b, M) >= 0 (the
    ranking score), boxes (b, M, 4), values (b, M, V) (the 3D box), ok (b, M) candidates
    allowed (only they vote; the others' values, maybe non-finite, are never read),
    label-minor as in :func:`select_candidates`. Returns (boxes (b, K, 4), values (b, K, V));
    rows not kept, or whose votes weigh 0, hold their own candidate's values.
    """
    own_boxes, own_values = _gather_rows(boxes, top_index), _gather_rows(values, top_index)
    boxes = torch.where(ok[..., None], boxes, 0.0)
    values = torch.where(ok[..., None], values, 0.0)
    overlap = box_iou(own_boxes, boxes)  # (b, K, M)
    label = torch.arange(boxes.shape[1], device=boxes.device) % num_labels
    same = label[top_index][..., None] == label[None, None, :]
    voters = (overlap >= vote_iou) & same & ok[:, None, :] & keep[..., None]
    w = torch.where(voters, weight[:, None, :], torch.zeros_like(overlap))
    total = w.sum(dim=2, keepdim=True)
    use = total > 0
    denom = torch.where(use, total, torch.ones_like(total))
    voted_boxes = torch.where(use, torch.bmm(w, boxes) / denom, own_boxes)
    voted_values = torch.where(use, torch.bmm(w, values) / denom, own_values)
    return voted_boxes, voted_values


def select_candidates(
    score: Tensor,
    boxes: Tensor,
    ok: Tensor,
    num_labels: int,
    nms_thresh: float,
    k: int,
) -> tuple[Tensor, Tensor, Tensor]:
    """Top-k candidates per image after per-class NMS.

    score (b, M) in [0, 1], boxes (b, M, 4), ok (b, M) candidates allowed; the candidates
    are label-minor (candidate j has label ``j % num_labels``, as :func:`_foreground` lays
    them out), so each class is the static slice ``label::num_labels`` and the NMS has static
    shapes (:func:`mono3d.rpn.nms_keep_mask`). Returns (score (b, K), candidate index (b, K)
    into M, keep (b, K)).
    """
    b = score.shape[0]
    nms_boxes = torch.where(ok[..., None], boxes, torch.zeros_like(boxes))
    # candidates that are not ok score -1: processed last, they can never suppress a real one
    nms_scores = torch.where(ok, score, torch.full_like(score, -1.0))
    classes = [slice(label, None, num_labels) for label in range(num_labels)]
    survive = nms_keep_mask(nms_boxes, nms_scores, nms_thresh, classes) & ok
    ranked = torch.where(survive, score, torch.full_like(score, -1.0))
    if ranked.shape[1] < k:  # fewer candidates than K: pad so shapes stay (b, K)
        ranked = torch.cat([ranked, ranked.new_full((b, k - ranked.shape[1]), -1.0)], dim=1)
    top_score, top_index = ranked.topk(k, dim=1)
    keep = top_score >= 0
    top_index = torch.where(keep, top_index, torch.zeros_like(top_index))
    return top_score, top_index, keep


@contract
def postprocess(
    head: HeadOutput,
    proposals: Float[Tensor, "b Nhd 4"],
    proposal_valid: Bool[Tensor, "b Nhd"],
    calib: Float[Tensor, "b 3 4"],
    coder: BoxCoder,
    *,
    image_size: Int[Tensor, "b 2"] | None = None,
    score_thresh: float = _POSTPROCESS.score_thresh,
    nms_thresh: float = _POSTPROCESS.nms_thresh,
    detections_per_image: int = _POSTPROCESS.detections_per_image,
    score: str = _POSTPROCESS.score,
    vote_iou: float | None = _POSTPROCESS.vote_iou,
) -> Detections:
    """Detections (K = ``detections_per_image`` per image, padded) from the head outputs.

    head: HeadOutput over the (b, Nhd) proposals; proposals Float[b Nhd 4] pixels;
    proposal_valid Bool[b Nhd]; calib Float[b 3 4]; coder: the detector's box coder;
    image_size Int[b 2] (height, width) the refined boxes are clipped to (none: not clipped);
    score: ``3d`` or ``2d``; vote_iou: box voting's IoU or None (see the module docstring).
    Defaults: :class:`PostprocessConfig`'s.
    """
    if score not in SCORES:
        raise ValueError(f"score must be one of {SCORES}, got {score!r}")
    dtype = torch.promote_types(head.bbox3d_logit.dtype, torch.float32)
    proposals, calib = proposals.to(dtype), calib.to(dtype)
    b, nhd, num_categories = head.category_logit.shape
    num_fg = num_categories - 1
    prob = _foreground(torch.softmax(head.category_logit.float(), dim=-1)).to(dtype)
    label = torch.arange(num_fg, device=prob.device).repeat(nhd)[None, :].expand(b, -1)
    category = label + 1
    rows = proposals[:, :, None, :].expand(b, nhd, num_fg, 4).reshape(b, nhd * num_fg, 4)
    box2d = coder.decode_box2d(_foreground(head.bbox2d_logit).to(dtype), rows, image_size)
    bbox3d, alpha, rotation_y = coder.decode(
        box2d,
        _foreground(head.bbox3d_logit).to(dtype),
        _foreground(head.yaw_logit).to(dtype),
        _foreground(head.yaw_resi).to(dtype),
        category,
        rows,
        calib,
    )
    if score == "3d":
        log_sigma = _foreground(head.depth_log_sigma).to(dtype)
        sigma_z = bbox3d[..., 2].abs() * torch.exp(log_sigma.clamp(*LOG_SIGMA_RANGE))
        ranking = prob * torch.exp(-sigma_z)
    else:
        ranking = prob
    if head.has_3d is not None:  # rows the head left without 3D outputs make no detection
        proposal_valid = proposal_valid & head.has_3d
    valid = proposal_valid[:, :, None].expand(b, nhd, num_fg).reshape(b, -1)
    finite = (
        torch.isfinite(box2d).all(dim=-1)
        & torch.isfinite(bbox3d).all(dim=-1)
        & torch.isfinite(rotation_y)
        & torch.isfinite(ranking)
    )
    ok = valid & (prob > score_thresh) & finite
    top, index, keep = select_candidates(
        ranking, box2d, ok, num_fg, nms_thresh, detections_per_image
    )

    def kept(picked: Tensor) -> Tensor:
        mask = keep.view(*keep.shape, *([1] * (picked.dim() - 2)))
        return torch.where(mask, picked, torch.zeros_like(picked))

    box2d_top, bbox3d_top = _gather_rows(box2d, index), _gather_rows(bbox3d, index)
    alpha_top, yaw_top = _gather_rows(alpha, index), _gather_rows(rotation_y, index)
    if vote_iou is not None:
        box2d_top, bbox3d_top = vote(index, keep, ranking, box2d, bbox3d, ok, num_fg, vote_iou)
        # the kept detection's own alpha, its rotation_y at the voted location
        yaw_top = rotation_y_from_alpha(alpha_top, bbox3d_top[..., 0], bbox3d_top[..., 2])
    return Detections(
        bbox2d=kept(box2d_top),
        score=torch.where(keep, top, torch.zeros_like(top)).to(dtype),
        category=kept(_gather_rows(category, index)),
        bbox3d=kept(bbox3d_top),
        yaw=kept(yaw_top),
        alpha=kept(alpha_top),
        valid=keep,
    )
