"""Post-processing: proposals + head outputs -> ``Detections`` (static shapes, no ragged lists).

Per image: softmax class scores; every (proposal, object class) pair is a candidate whose 2D
box is the proposal; candidates of invalid proposals or with score <= ``score_thresh`` are
dropped; per-class NMS (``nms_thresh``) on the proposal boxes; the top ``detections_per_image``
(K) survivors sorted by score, padded with ``valid`` False. The 3D box is decoded with the
kept class's channel and prior, the yaw from that class's MultiBin outputs (argmax bin plus
its residual gives alpha; rotation_y = alpha + atan2(x, z) of the decoded location).
"""

import torch
from jaxtyping import Bool, Float
from torch import Tensor
from torchvision.ops import batched_nms

from mono3d.contracts import Detections, HeadOutput, contract
from mono3d.geometry import decode_box3d, decode_yaw, rotation_y_from_alpha


def _gather_rows(values: Tensor, index: Tensor) -> Tensor:
    """values (b, M, *rest), index (b, K) -> (b, K, *rest)."""
    rest = values.shape[2:]
    expanded = index.view(*index.shape, *([1] * len(rest))).expand(*index.shape, *rest)
    return torch.gather(values, 1, expanded)


def select_candidates(
    scores: Tensor, boxes: Tensor, valid: Tensor, score_thresh: float, nms_thresh: float, k: int
) -> tuple[Tensor, Tensor, Tensor]:
    """Top-k candidates per image after thresholding and per-class NMS.

    scores (b, Nhd, C-1) foreground probabilities, boxes (b, Nhd, 4), valid (b, Nhd).
    Returns (score (b, K), candidate index (b, K) into Nhd*(C-1), keep (b, K)).
    """
    b, nhd, num_fg = scores.shape
    flat_scores = scores.reshape(b, nhd * num_fg)
    candidate_ok = valid[:, :, None].expand(b, nhd, num_fg).reshape(b, -1) & (
        flat_scores > score_thresh
    )
    flat_boxes = boxes[:, :, None, :].expand(b, nhd, num_fg, 4).reshape(b * nhd * num_fg, 4)
    flat_boxes = torch.where(candidate_ok.reshape(-1, 1), flat_boxes, torch.zeros_like(flat_boxes))
    image = torch.arange(b, device=scores.device)[:, None].expand(b, nhd * num_fg)
    label = torch.arange(num_fg, device=scores.device).repeat(nhd)[None, :].expand(b, -1)
    # candidates that are not ok score -1: processed last, they can never suppress a real one
    nms_scores = torch.where(candidate_ok, flat_scores, torch.full_like(flat_scores, -1.0))
    kept = batched_nms(
        flat_boxes.float(),
        nms_scores.reshape(-1).float(),
        (image * num_fg + label).reshape(-1),
        nms_thresh,
    )
    survive = torch.zeros(b * nhd * num_fg, dtype=torch.bool, device=scores.device)
    survive[kept] = True
    survive = survive.view(b, -1) & candidate_ok
    ranked = torch.where(survive, flat_scores, torch.full_like(flat_scores, -1.0))
    if ranked.shape[1] < k:  # fewer candidates than K: pad so shapes stay (b, K)
        pad = k - ranked.shape[1]
        ranked = torch.cat([ranked, ranked.new_full((b, pad), -1.0)], dim=1)
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
    priors: Float[Tensor, "C 3"],
    *,
    score_thresh: float = 0.05,
    nms_thresh: float = 0.5,
    detections_per_image: int = 100,
) -> Detections:
    """Detections (K = ``detections_per_image`` per image, padded) from the head outputs.

    head: HeadOutput over the (b, Nhd) proposals; proposals Float[b Nhd 4] pixels;
    proposal_valid Bool[b Nhd]; calib Float[b 3 4]; priors Float[C 3] (h, w, l) per category
    (row 0, background, unused).
    """
    num_bins = head.yaw_logit.shape[-1]
    dtype = torch.promote_types(head.bbox3d_logit.dtype, torch.float32)
    proposals, calib, priors = proposals.to(dtype), calib.to(dtype), priors.to(dtype)
    scores = torch.softmax(head.category_logit.float(), dim=-1)[..., 1:]
    num_fg = scores.shape[-1]
    score, index, keep = select_candidates(
        scores, proposals, proposal_valid, score_thresh, nms_thresh, detections_per_image
    )
    proposal_index = torch.div(index, num_fg, rounding_mode="floor")
    category = index % num_fg + 1
    box2d = _gather_rows(proposals, proposal_index)

    def per_class(values: Tensor) -> Tensor:  # (b, Nhd, C, *rest) -> (b, K, *rest)
        rows = _gather_rows(values.to(dtype), proposal_index)
        rest = rows.shape[3:]
        at = category.view(*category.shape, 1, *([1] * len(rest))).expand(*category.shape, 1, *rest)
        return torch.gather(rows, 2, at).squeeze(2)

    logit3d = per_class(head.bbox3d_logit)
    yaw_logit = per_class(head.yaw_logit)
    yaw_resi = per_class(head.yaw_resi)
    safe_box2d = torch.where(keep[..., None], box2d, box2d.new_tensor([0.0, 0.0, 1.0, 1.0]))
    bbox3d = decode_box3d(logit3d, safe_box2d, priors[category], calib)
    yaw_bin = yaw_logit.argmax(dim=-1)
    resi = torch.gather(yaw_resi, 2, yaw_bin[..., None]).squeeze(-1)
    alpha = decode_yaw(yaw_bin, resi.clamp(-1.0, 1.0), num_bins)
    rotation_y = rotation_y_from_alpha(alpha, bbox3d[..., 0], bbox3d[..., 2])
    finite = torch.isfinite(bbox3d).all(dim=-1) & torch.isfinite(rotation_y)
    keep = keep & finite

    def masked(t: Tensor) -> Tensor:
        mask = keep.view(*keep.shape, *([1] * (t.dim() - 2)))
        return torch.where(mask, t, torch.zeros_like(t))

    return Detections(
        bbox2d=masked(box2d),
        score=masked(score).to(dtype),
        category=masked(category),
        bbox3d=masked(bbox3d),
        yaw=masked(rotation_y),
        alpha=masked(alpha),
        valid=keep,
    )
