"""NeckConfig: frozen, no unknown fields, one mapping to the constructor."""

import pydantic
import pytest

from mono3d.neck import FPN, NeckConfig


def test_from_config():
    neck = FPN.from_config(NeckConfig(out_channels=32), in_channels=(64, 128, 256))
    assert neck.in_channels == (64, 128, 256) and neck.out_channels == 32
    assert neck.fpn.layer_blocks[0][0].out_channels == 32


def test_config_is_frozen_and_strict():
    cfg = NeckConfig()
    assert cfg.out_channels == 256
    with pytest.raises(pydantic.ValidationError):
        cfg.out_channels = 8  # type: ignore[misc]
    with pytest.raises(pydantic.ValidationError, match="in_channels"):
        NeckConfig(in_channels=(1, 2, 3))
    with pytest.raises(pydantic.ValidationError, match="out_channels"):
        NeckConfig(out_channels=0)


@pytest.mark.parametrize("in_channels", [(8, 16), (8, 0, 16)])
def test_bad_in_channels_are_named(in_channels):
    with pytest.raises(ValueError, match="in_channels"):
        FPN(in_channels=in_channels)
