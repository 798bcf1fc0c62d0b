"""AuxiConfig validation, TargetBuilder.from_config and the defaults shared by the functions."""

import inspect

import pytest
import torch
from pydantic import ValidationError

from mono3d.auxi import (
    DEFAULT_PRIORS,
    JOIN_FIELDS,
    AnchorTargetConfig,
    AuxiConfig,
    ProposalTargetConfig,
    TargetBuilder,
    make_align,
    make_auxi,
    make_feature,
    priors_tensor,
)
from mono3d.contracts import GroundTruth, RPNOutput


def test_defaults_are_torchvision_and_design():
    config = AuxiConfig()
    assert (config.anchor.fg_iou_thresh, config.anchor.bg_iou_thresh) == (0.7, 0.3)
    assert (config.anchor.batch_size_per_image, config.anchor.positive_fraction) == (256, 0.5)
    assert config.anchor.allow_low_quality_matches
    assert (config.proposal.fg_iou_thresh, config.proposal.bg_iou_thresh) == (0.5, 0.5)
    assert (config.proposal.batch_size_per_image, config.proposal.positive_fraction) == (512, 0.25)
    assert not config.proposal.allow_low_quality_matches
    assert config.num_bins == 12 and config.priors == DEFAULT_PRIORS


@pytest.mark.parametrize(
    ("function", "config"),
    [(make_feature, AnchorTargetConfig()), (make_align, ProposalTargetConfig())],
)
def test_function_defaults_are_the_config_defaults(function, config):
    parameters = inspect.signature(function).parameters
    for name, value in config.model_dump(exclude=set(JOIN_FIELDS)).items():
        assert parameters[name].default == value, name
    assert not set(JOIN_FIELDS) & set(parameters)  # the detector's, when it joins the boxes


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"anchor": {"bg_iou_thresh": 0.8}}, "anchor"),
        ({"anchor": {"fg_iou_thres": 0.8}}, "anchor.fg_iou_thres"),
        ({"proposal": {"positive_fraction": 0.0}}, "proposal.positive_fraction"),
        ({"proposal": {"batch_size_per_image": 0}}, "proposal.batch_size_per_image"),
        ({"priors": [[1.5, 1.6, 0.0]]}, "priors"),
        ({"num_bins": 0}, "num_bins"),
    ],
)
def test_bad_config_names_the_field(data, field):
    with pytest.raises(ValidationError, match=field.replace(".", r"\.")):
        AuxiConfig.model_validate(data)


def test_configs_are_frozen():
    with pytest.raises(ValidationError):
        AuxiConfig().anchor.fg_iou_thresh = 0.5  # type: ignore[misc]


def test_priors_tensor_puts_background_first():
    priors = priors_tensor(DEFAULT_PRIORS)
    assert priors.shape == (4, 3) and priors.dtype == torch.float32
    assert priors[0].tolist() == [1.0, 1.0, 1.0]
    assert torch.allclose(priors[1], torch.tensor([1.53, 1.63, 3.88]))
    with pytest.raises(ValueError, match="triples"):
        priors_tensor([(1.0, 2.0)])


def test_builder_from_config_equals_make_auxi():
    config = AuxiConfig.model_validate(
        {"anchor": {"batch_size_per_image": 16}, "priors": [[1.5, 1.6, 3.9]], "num_bins": 4}
    )
    builder = TargetBuilder.from_config(config)
    assert builder.num_categories == 2 and builder.num_bins == 4
    assert "priors" not in builder.state_dict()  # data from the config, not a checkpoint
    b, n = 1, 2
    gt = GroundTruth(
        bbox2d=torch.tensor([[[10.0, 10.0, 50.0, 40.0], [60, 10, 90, 60]]]),
        bbox3d=torch.tensor([1.0, 1.6, 20.0, 1.5, 1.6, 3.9]).expand(b, n, 6).clone(),
        yaw=torch.full((b, n, 1), -2.0),
        category=torch.ones(b, n, 1, dtype=torch.long),
        valid=torch.ones(b, n, dtype=torch.bool),
        ignore=torch.zeros(b, n, dtype=torch.bool),
    )
    grid = torch.stack(
        torch.meshgrid(torch.arange(0.0, 96, 8), torch.arange(0.0, 64, 8), indexing="xy"), -1
    )
    xy = grid.reshape(1, -1, 2)
    anchors = torch.cat([xy - 12, xy + 12], dim=-1)
    pred = RPNOutput(
        anchors=anchors,
        bbox2d_logit=torch.zeros_like(anchors),
        object_logit=torch.zeros(b, anchors.shape[1], 1),
        bbox2d=anchors[:, :20],
        bbox2d_object=torch.zeros(b, 20, 1),
        valid=torch.ones(b, 20, dtype=torch.bool),
    )
    calib = torch.tensor([[[700.0, 0, 48, 40], [0, 700, 32, 0.2], [0, 0, 1, 0.003]]])
    got = builder(gt, pred, calib, generator=torch.Generator().manual_seed(1))
    expected = make_auxi(
        gt,
        pred,
        calib,
        priors_tensor(config.priors),
        4,
        anchor_targets=config.anchor,
        proposal_targets=config.proposal,
        generator=torch.Generator().manual_seed(1),
    )
    for part in ("gt_feature", "gt_aligned"):
        for name, value in getattr(got, part).as_dict().items():
            other = getattr(getattr(expected, part), name)
            if value is None:  # a raw field neither was asked for
                assert other is None, (part, name)
                continue
            assert torch.equal(value, other), (part, name)
    assert ((got.gt_feature.object >= 0).sum() <= 16) and (got.gt_feature.object == 1).any()
    assert builder.to(torch.float64).priors.dtype == torch.float64  # a buffer: follows .to()
