"""The per-anchor raw fields (bbox3d, yaw, category) no loss reads are gathered only on
request: the lean default holds None there and the same values everywhere else."""

import pytest
import torch

from mono3d.auxi import TargetBuilder, make_auxi, make_feature
from mono3d.contracts import ContractError, GroundTruth, GtFeature, RPNOutput, checks

B, N = 2, 64
CALIB = torch.tensor([[700.0, 0, 64, 40], [0, 700, 64, 0.2], [0, 0, 1, 0.003]]).expand(B, 3, 4)


def scene(seed: int = 0) -> tuple[GroundTruth, RPNOutput]:
    g = torch.Generator().manual_seed(seed)
    box = torch.tensor([[10.0, 10.0, 60.0, 50.0], [70, 20, 120, 90], [5, 60, 40, 100]])
    gt = GroundTruth(
        bbox2d=box.expand(B, 3, 4).clone(),
        bbox3d=torch.tensor([2.0, 1.6, 15.0, 1.5, 1.6, 3.9]).expand(B, 3, 6).clone(),
        yaw=torch.full((B, 3, 1), 0.4),
        category=torch.tensor([1, 2, 3]).view(1, 3, 1).expand(B, 3, 1).clone(),
        valid=torch.ones(B, 3, dtype=torch.bool),
        ignore=torch.zeros(B, 3, dtype=torch.bool),
    )
    pick = torch.randint(0, 3, (B, N), generator=g)
    anchors = box[pick] + torch.randn(B, N, 4, generator=g) * 3
    proposals = box[pick[:, :16]] + torch.randn(B, 16, 4, generator=g) * 3
    pred = RPNOutput(
        anchors=anchors,
        bbox2d_logit=torch.zeros(B, N, 4),
        object_logit=torch.zeros(B, N, 1),
        bbox2d=proposals,
        bbox2d_object=torch.zeros(B, 16, 1),
        valid=torch.ones(B, 16, dtype=torch.bool),
    )
    return gt, pred


def test_the_default_gathers_only_what_the_losses_read():
    gt, pred = scene()
    lean = make_feature(gt, pred.anchors, generator=torch.Generator().manual_seed(1))
    full = make_feature(
        gt, pred.anchors, generator=torch.Generator().manual_seed(1), raw_fields=True
    )
    assert lean.bbox3d is None and lean.yaw is None and lean.category is None
    for name in ("bbox2d", "bbox2d_logit", "object"):
        assert torch.equal(getattr(lean, name), getattr(full, name)), name
    fg = full.object[..., 0] == 1
    assert fg.any()
    assert (full.category[fg] > 0).all() and (full.category[~fg] == 0).all()
    assert full.bbox3d.shape == (B, N, 6) and full.yaw.shape == (B, N, 1)


def test_builder_and_make_auxi_pass_the_request_on():
    gt, pred = scene()
    lean = TargetBuilder()(gt, pred, CALIB, generator=torch.Generator().manual_seed(2))
    full = TargetBuilder(raw_fields=True)(
        gt, pred, CALIB, generator=torch.Generator().manual_seed(2)
    )
    assert lean.gt_feature.bbox3d is None and full.gt_feature.bbox3d is not None
    assert torch.equal(lean.gt_feature.object, full.gt_feature.object)
    assert torch.equal(lean.gt_aligned.bbox3d_logit, full.gt_aligned.bbox3d_logit)
    # gt_aligned keeps its raw fields: they are the encoder's inputs, computed either way
    assert lean.gt_aligned.bbox3d is not None and lean.gt_aligned.yaw is not None
    direct = make_auxi(
        gt,
        pred,
        CALIB,
        TargetBuilder().priors,
        12,
        generator=torch.Generator().manual_seed(2),
        raw_fields=True,
    )
    assert torch.equal(direct.gt_feature.category, full.gt_feature.category)


def test_an_optional_field_is_still_checked_when_present():
    gt, pred = scene()
    full = make_feature(gt, pred.anchors, raw_fields=True)
    with pytest.raises(ContractError, match=r"GtFeature\.bbox3d: expected .*\(2, 64, 5\)"):
        GtFeature(**{**full.as_dict(), "bbox3d": torch.zeros(B, N, 5)})
    with pytest.raises(ContractError, match=r"GtFeature\.category"):
        GtFeature(**{**full.as_dict(), "category": torch.zeros(B, N, 1)})  # float, not int
    # required fields stay required
    with pytest.raises(ContractError, match=r"GtFeature\.bbox2d_logit"):
        GtFeature(**{**full.as_dict(), "bbox2d_logit": None})
    with checks(False):  # unchecked construction is free either way
        GtFeature(**{**full.as_dict(), "bbox3d": None})
    moved = full.apply(lambda t: t + 0) if full.bbox3d is not None else None
    assert moved is not None and torch.equal(moved.bbox3d, full.bbox3d)
    lean = make_feature(gt, pred.anchors)
    assert lean.to("cpu").bbox3d is None  # Bundle.apply leaves None fields alone
