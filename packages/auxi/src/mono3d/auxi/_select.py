"""Reduce the class-specific head outputs to the ground-truth class of each proposal."""

import torch
from torch import Tensor

from mono3d.contracts import GtAligned, HeadOutput, SelectedPrediction, contract


def _take(values: Tensor, index: Tensor) -> Tensor:
    """values (b, Nhd, K, D) at index (b, Nhd) along K -> (b, Nhd, D)."""
    b, m, _, d = values.shape
    return torch.gather(values, 2, index[:, :, None, None].expand(b, m, 1, d))[:, :, 0]


@contract
def select_class_from_prediction(pred: HeadOutput, gt_aligned: GtAligned) -> SelectedPrediction:
    """The GT class's channel of every class-specific head output.

    bbox3d_logit (b, Nhd, 6) and yaw_logit (b, Nhd, B): channel ``gt_aligned.category``;
    yaw_resi (b, Nhd, 1): that class's residual at bin ``gt_aligned.yaw_category``;
    category_logit (b, Nhd, C): unchanged (cross-entropy needs every class); bbox2d_logit
    (b, Nhd, 4) and depth_log_sigma (b, Nhd, 1): the GT class's channel. Rows whose
    category (or bin) is out of range, e.g. negatives (category 0) and ignored rows, select
    channel (bin) 0; the losses mask them anyway. Gradients flow to the selected entries only.
    """
    # (b, Nhd) of pred and gt_aligned agree: the contract compares the bundles' dims
    num_categories, num_bins = pred.yaw_logit.shape[2:]
    category = gt_aligned.category[..., 0]
    category = torch.where((category >= 0) & (category < num_categories), category, 0)
    yaw_bin = gt_aligned.yaw_category[..., 0]
    yaw_bin = torch.where((yaw_bin >= 0) & (yaw_bin < num_bins), yaw_bin, 0)
    yaw_resi = _take(pred.yaw_resi, category)  # b Nhd B
    return SelectedPrediction(
        bbox3d_logit=_take(pred.bbox3d_logit, category),
        yaw_resi=torch.gather(yaw_resi, 2, yaw_bin[..., None]),
        yaw_logit=_take(pred.yaw_logit, category),
        category_logit=pred.category_logit,
        bbox2d_logit=_take(pred.bbox2d_logit, category),
        depth_log_sigma=torch.gather(pred.depth_log_sigma, 2, category[..., None]),
    )
