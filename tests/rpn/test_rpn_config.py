"""RPNConfig: defaults, validation naming the field, one mapping to the constructor."""

import pydantic
import pytest

from mono3d.rpn import RPN, RPNConfig


def test_from_config_maps_every_field():
    cfg = RPNConfig(
        anchor_sizes=((8,), (24,), (64,)),
        aspect_ratios=(1.0, 2.0),
        pre_nms_top_n_train=11,
        pre_nms_top_n_test=12,
        post_nms_top_n_train=13,
        post_nms_top_n_test=14,
        nms_thresh=0.6,
        min_size=0.5,
    )
    rpn = RPN.from_config(cfg, in_channels=16)
    assert rpn.head.conv.in_channels == 16 and rpn.num_anchors_per_location == 2
    assert rpn.anchor_generator.sizes == ((8.0,), (24.0,), (64.0,))
    assert rpn.anchor_generator.aspect_ratios == (1.0, 2.0)
    assert (rpn.pre_nms_top_n_train, rpn.pre_nms_top_n_test) == (11, 12)
    assert (rpn.post_nms_top_n_train, rpn.post_nms_top_n_test) == (13, 14)
    assert (rpn.nms_thresh, rpn.min_size) == (0.6, 0.5)


def test_defaults_are_the_design_defaults():
    cfg = RPNConfig()
    rpn = RPN.from_config(cfg, in_channels=256)
    assert cfg.anchor_sizes == ((16, 32), (48, 96), (160, 320))
    assert rpn.num_anchors_per_location == 6
    assert rpn.train().pre_nms_top_n == 2000 and rpn.train().num_proposals == 512
    assert rpn.eval().pre_nms_top_n == 1000 and rpn.eval().num_proposals == 300
    assert rpn.nms_thresh == 0.7 and rpn.min_size == 1e-3
    for layer in (rpn.head.conv, rpn.head.objectness, rpn.head.deltas):
        assert abs(layer.weight.std().item() - 0.01) < 0.002 and not layer.bias.any()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"anchor_sizes": ((16,), (32,))}, "anchor_sizes"),
        ({"anchor_sizes": ((16, 32), (32,), (64,))}, "anchor_sizes"),
        ({"anchor_sizes": ((16,), (-32,), (64,))}, "anchor_sizes"),
        ({"aspect_ratios": (0.0, 1.0)}, "aspect_ratios"),
        ({"nms_thresh": 1.5}, "nms_thresh"),
        ({"post_nms_top_n_test": 0}, "post_nms_top_n_test"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_invalid_fields_are_named(kwargs, field):
    with pytest.raises(pydantic.ValidationError, match=field):
        RPNConfig(**kwargs)


def test_config_is_frozen():
    cfg = RPNConfig()
    with pytest.raises(pydantic.ValidationError):
        cfg.nms_thresh = 0.5  # type: ignore[misc]
