"""BackboneConfig: frozen, no unknown fields, one mapping to the constructor."""

import pydantic
import pytest
import torch

from mono3d.backbone import BackboneConfig, ResNet


def test_from_config_maps_every_field(tmp_path):
    cfg = BackboneConfig(depth=18, frozen_stages=1, norm="frozen", channels_last=True)
    model = ResNet.from_config(cfg)
    assert (model.depth, model.frozen_stages, model.norm, model.channels_last) == (
        18,
        1,
        "frozen",
        True,
    )
    assert model.out_channels == (64, 128, 256)
    assert not model.conv1.weight.requires_grad and model.layer1[0].conv1.weight.requires_grad
    assert model.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    assert set(BackboneConfig.model_fields) == {
        "depth",
        "weights",
        "frozen_stages",
        "norm",
        "channels_last",
    }


def test_config_is_frozen_and_strict():
    cfg = BackboneConfig()
    assert cfg.depth == 50 and cfg.weights is None
    with pytest.raises(pydantic.ValidationError):
        cfg.depth = 18  # type: ignore[misc]
    with pytest.raises(pydantic.ValidationError, match="unknown_field"):
        BackboneConfig(unknown_field=1)
    with pytest.raises(pydantic.ValidationError, match="depth"):
        BackboneConfig(depth=20)
    with pytest.raises(pydantic.ValidationError, match="frozen_stages"):
        BackboneConfig(frozen_stages=7)
