"""The contracts of mono3d.auxi are live: wrong shapes and mismatched batches name the
argument."""

import pytest
import torch

from mono3d.auxi import (
    DEFAULT_PRIORS,
    make_align,
    make_auxi,
    make_feature,
    priors_tensor,
    select_class_from_prediction,
)
from mono3d.contracts import ContractError, GroundTruth, GtAligned, HeadOutput, RPNOutput

B, N, NHD = 2, 20, 6
PRIORS = priors_tensor(DEFAULT_PRIORS)
CALIB = torch.tensor([[700.0, 0, 64, 40], [0, 700, 64, 0.2], [0, 0, 1, 0.003]]).expand(B, 3, 4)
GT = GroundTruth(
    bbox2d=torch.tensor([0.0, 0.0, 20.0, 20.0]).expand(B, 1, 4).clone(),
    bbox3d=torch.tensor([1.0, 1.6, 20.0, 1.5, 1.6, 3.9]).expand(B, 1, 6).clone(),
    yaw=torch.zeros(B, 1, 1),
    category=torch.ones(B, 1, 1, dtype=torch.long),
    valid=torch.ones(B, 1, dtype=torch.bool),
    ignore=torch.zeros(B, 1, dtype=torch.bool),
)
ANCHORS = torch.tensor([0.0, 0.0, 16.0, 16.0]).expand(B, N, 4).clone()
PROPOSALS = torch.tensor([2.0, 2.0, 18.0, 18.0]).expand(B, NHD, 4).clone()
VALID = torch.ones(B, NHD, dtype=torch.bool)


def test_correct_calls_pass():
    assert make_feature(GT, ANCHORS).object.shape == (B, N, 1)
    assert make_align(GT, PROPOSALS, VALID, CALIB, PRIORS, 12).object.shape == (B, NHD, 1)


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda: make_feature(GT, ANCHORS[..., :3]), "anchor"),
        (lambda: make_feature(GT.bbox2d, ANCHORS), "gt"),
        (lambda: make_align(GT, PROPOSALS, VALID[:, :4], CALIB, PRIORS, 12), "proposal_valid"),
        (lambda: make_align(GT, PROPOSALS, VALID, CALIB[..., :3], PRIORS, 12), "calib"),
        (lambda: make_align(GT, PROPOSALS, VALID, CALIB, PRIORS[:, :2], 12), "priors"),
        (lambda: make_align(GT, PROPOSALS, VALID, CALIB, PRIORS, 12.0), "num_bins"),
        (lambda: make_auxi(GT, GT, CALIB, PRIORS, 12), "pred"),
        (lambda: select_class_from_prediction(GT, GT), "pred"),
    ],
)
def test_wrong_argument_raises_contract_error_naming_it(call, argument):
    with pytest.raises(ContractError, match=f"'{argument}'"):
        call()


def test_batch_mismatch_with_the_ground_truth_is_named():
    with pytest.raises(ContractError, match=r"anchor has b=1, but b=2 was bound by gt\.bbox2d"):
        make_feature(GT, ANCHORS[:1])
    with pytest.raises(ContractError, match=r"proposals has b=1, but b=2 was bound by gt\.bbox2d"):
        make_align(GT, PROPOSALS[:1], VALID[:1], CALIB[:1], PRIORS, 12)


def test_head_and_targets_must_agree_on_proposals():
    head = HeadOutput(
        bbox3d_logit=torch.zeros(B, NHD, 4, 6),
        yaw_resi=torch.zeros(B, NHD, 4, 12),
        yaw_logit=torch.zeros(B, NHD, 4, 12),
        category_logit=torch.zeros(B, NHD, 4),
        bbox2d_logit=torch.zeros(B, NHD, 4, 4),
        depth_log_sigma=torch.zeros(B, NHD, 4),
    )
    targets = make_align(GT, PROPOSALS[:, :5], VALID[:, :5], CALIB, PRIORS, 12)
    assert isinstance(targets, GtAligned)
    with pytest.raises(ContractError) as info:
        select_class_from_prediction(head, targets)
    assert str(info.value) == (
        "select_class_from_prediction: parameter 'gt_aligned.bbox2d': expected (b=2, Nhd=6, 4) "
        "float, got (2, 5, 4) float32; gt_aligned.bbox2d has Nhd=5, but Nhd=6 was bound by "
        "pred.bbox3d_logit (2, 6, 4, 6)"
    )


def test_rpn_output_bundle_checks_itself():
    with pytest.raises(ContractError, match="RPNOutput"):
        RPNOutput(
            anchors=ANCHORS,
            bbox2d_logit=ANCHORS[:, :5],
            object_logit=torch.zeros(B, N, 1),
            bbox2d=PROPOSALS,
            bbox2d_object=torch.zeros(B, NHD, 1),
            valid=VALID,
        )
