"""HeadConfig: defaults, validation naming the field, one mapping to the constructor."""

import pydantic
import pytest

from mono3d.geometry import DEFAULT_CLASSES, DEFAULT_NUM_BINS
from mono3d.head import HeadConfig, RoIHead


def test_from_config_maps_every_field():
    cfg = HeadConfig(
        roi_size=5,
        sampling_ratio=1,
        fc_dim=64,
        canonical_scale=112,
        canonical_level=3,
    )
    head = RoIHead.from_config(cfg, in_channels=16, num_classes=3, num_bins=8)
    assert (head.num_classes, head.num_bins, head.roi_size, head.fc_dim) == (3, 8, 5, 64)
    assert head.fc6.in_features == 16 * 25
    assert head.pooler.sampling_ratio == 1
    assert head.pooler.map_levels.s0 == 112 and head.pooler.map_levels.lvl0 == 3
    assert (head.pooler.map_levels.k_min, head.pooler.map_levels.k_max) == (2, 4)
    assert head.yaw_resi_pred.out_features == 3 * 8


def test_defaults():
    cfg = HeadConfig()
    assert (cfg.roi_size, cfg.sampling_ratio, cfg.fc_dim) == (7, 2, 1024)
    head = RoIHead(in_channels=256)  # the config's defaults and the model-wide sizes
    assert (head.num_classes, head.num_bins) == (len(DEFAULT_CLASSES) + 1, DEFAULT_NUM_BINS)
    assert (head.roi_size, head.fc_dim) == (cfg.roi_size, cfg.fc_dim)


def test_output_sizes_are_build_arguments_not_settings():
    assert not {"num_classes", "num_bins"} & set(HeadConfig.model_fields)
    for size in ("num_classes", "num_bins"):
        with pytest.raises(pydantic.ValidationError, match=size):
            HeadConfig(**{size: 4})
    with pytest.raises(TypeError, match="num_classes"):
        RoIHead.from_config(HeadConfig(), in_channels=16, num_bins=8)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="num_classes"):
        RoIHead.from_config(HeadConfig(), in_channels=16, num_classes=1, num_bins=8)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"roi_size": 0}, "roi_size"), ({"fc_dim": 0}, "fc_dim"), ({"extra": 1}, "extra")],
)
def test_invalid_fields_are_named(kwargs, field):
    with pytest.raises(pydantic.ValidationError, match=field):
        HeadConfig(**kwargs)


def test_config_is_frozen_and_constructor_checks():
    cfg = HeadConfig()
    with pytest.raises(pydantic.ValidationError):
        cfg.fc_dim = 8  # type: ignore[misc]
    with pytest.raises(ValueError, match="num_bins"):
        RoIHead(in_channels=8, num_bins=0)
