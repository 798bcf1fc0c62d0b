"""One home per default: every block constructor's default is its config's field default."""

import inspect

import pytest

from mono3d.auxi import AuxiConfig, TargetBuilder
from mono3d.backbone import BackboneConfig, ResNet
from mono3d.detector import CoderConfig, Criterion, Detector, LossConfig, PostprocessConfig
from mono3d.detector._postprocess import postprocess
from mono3d.geometry import BoxCoder
from mono3d.head import HeadConfig, RoIHead
from mono3d.neck import FPN, NeckConfig
from mono3d.rpn import RPN, RPNConfig

#: (constructor, config, constructor argument -> config field where the names differ)
PAIRS = [
    (BoxCoder, CoderConfig, {}),
    (RoIHead, HeadConfig, {}),
    (RPN, RPNConfig, {}),
    (FPN, NeckConfig, {}),
    (ResNet, BackboneConfig, {}),
    (TargetBuilder, AuxiConfig, {"anchor_targets": "anchor", "proposal_targets": "proposal"}),
    (Detector, PostprocessConfig, {}),
    (postprocess, PostprocessConfig, {}),
    (Criterion, LossConfig, {}),
]


@pytest.mark.parametrize(
    ("build", "config", "renamed"), PAIRS, ids=lambda v: getattr(v, "__name__", "")
)
def test_constructor_defaults_are_the_config_defaults(build, config, renamed):
    defaults = config()
    parameters = inspect.signature(build).parameters
    shared = [
        (name, renamed.get(name, name))
        for name, parameter in parameters.items()
        if renamed.get(name, name) in config.model_fields
        and parameter.default not in (inspect.Parameter.empty, None)  # None: "not given"
    ]
    assert shared, f"{build.__name__} shares no defaulted argument with {config.__name__}"
    for argument, field in shared:
        assert parameters[argument].default == getattr(defaults, field), (
            f"{build.__name__}({argument}=...) and {config.__name__}.{field} disagree"
        )
