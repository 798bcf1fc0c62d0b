"""Every bundle refuses a wrong shape, a wrong dtype and inconsistent shared dims."""

import dataclasses
import re
import typing

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from jaxtyping import jaxtyped

from mono3d.contracts import (
    ALL_BUNDLES,
    Auxi,
    BackboneFeatures,
    ContractError,
    Detections,
    GroundTruth,
    GtAligned,
    GtFeature,
    HeadOutput,
    Images,
    LossOutput,
    NeckFeatures,
    RPNOutput,
    SelectedPrediction,
    checks,
)
from mono3d.contracts._bundle import Bundle, _field_specs
from mono3d.contracts._spec import optional_of
from mono3d.contracts.testing import ground_truths, images_bundles, padded_hw

SIZES = {
    "b": 2,
    "n": 5,
    "N": 30,
    "Nhd": 7,
    "C": 4,
    "B": 12,
    "K": 9,
    "c": 8,
    "c2": 16,
    "c3": 32,
    "c4": 64,
    "h4": 8,
    "w4": 12,
    "h": 64,
    "w": 96,
}


def _size(dim: str) -> int:
    if dim.isdigit():
        return int(dim)
    if dim in SIZES:
        return SIZES[dim]
    return int(eval(dim, {}, dict(SIZES)))  # h4/2 etc. (test-only, trusted strings)


def is_bundle(annotation) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, Bundle)


def make_tensor(annotation, sizes=None) -> torch.Tensor:
    if optional_of(annotation):
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    shape = tuple(_size(d) for d in annotation.dim_str.split())
    if "float32" in annotation.dtypes:
        return torch.rand(shape)
    if "bool" in annotation.dtypes:
        return torch.ones(shape, dtype=torch.bool)
    return torch.ones(shape, dtype=torch.int64)


def make_bundle(cls):
    values = {}
    for name, annotation in _field_specs(cls):
        if is_bundle(annotation):
            values[name] = make_bundle(annotation)
        else:
            values[name] = make_tensor(annotation)
    if cls is Images:
        values["images"] = torch.rand(2, 3, 64, 96)
        values["image_size"] = torch.tensor([[64, 96], [50, 70]])
    return cls(**values)


def inner(annotation):
    """X of ``X | None``; the annotation itself otherwise."""
    if optional_of(annotation):
        return next(a for a in typing.get_args(annotation) if a is not type(None))
    return annotation


def expected_dims(message: str) -> list[str]:
    """The dim names of the ``expected (b=2, n, 4)`` part of a message, sizes dropped."""
    inside = re.search(r"expected (?:a tensor )?\((.*?)\) ", message).group(1)
    return [part.split("=", 1)[0] for part in inside.split(", ")] if inside else []


def tensor_fields(cls):
    return [(n, a) for n, a in _field_specs(cls) if not is_bundle(a)]


BUNDLE_FIELDS = [(cls, name, ann) for cls in ALL_BUNDLES for name, ann in tensor_fields(cls)]


@pytest.mark.parametrize("cls", ALL_BUNDLES, ids=lambda c: c.__name__)
def test_well_formed_bundle_constructs(cls):
    bundle = make_bundle(cls)
    assert isinstance(bundle, cls)
    with pytest.raises(dataclasses.FrozenInstanceError):
        bundle.__setattr__(dataclasses.fields(cls)[0].name, None)


@pytest.mark.parametrize(
    ("cls", "name", "ann"), BUNDLE_FIELDS, ids=lambda x: getattr(x, "__name__", str(x))[:20]
)
def test_wrong_rank_is_refused_naming_field_and_shapes(cls, name, ann):
    good = make_bundle(cls)
    bad_value = getattr(good, name).unsqueeze(-1)
    with pytest.raises(ContractError) as info:
        dataclasses.replace(good, **{name: bad_value})
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{cls.__name__}.{name}: expected (")
    assert expected_dims(message) == inner(ann).dim_str.split()
    assert f"got {tuple(bad_value.shape)} {str(bad_value.dtype)[6:]}" in message


@pytest.mark.parametrize(
    ("cls", "name", "ann"), BUNDLE_FIELDS, ids=lambda x: getattr(x, "__name__", str(x))[:20]
)
def test_wrong_dtype_is_refused(cls, name, ann):
    good = make_bundle(cls)
    value = getattr(good, name)
    wrong = value.to(torch.complex64) if value.dtype != torch.complex64 else value.real
    with pytest.raises(ContractError, match=rf"{cls.__name__}\.{name}.*wrong dtype"):
        dataclasses.replace(good, **{name: wrong})


def test_float_field_refuses_integers_and_bool_field_refuses_floats():
    gt = make_bundle(GroundTruth)
    with pytest.raises(ContractError, match=r"GroundTruth\.bbox2d"):
        dataclasses.replace(gt, bbox2d=gt.bbox2d.long())
    with pytest.raises(ContractError, match=r"GroundTruth\.valid"):
        dataclasses.replace(gt, valid=gt.valid.float())


def test_inconsistent_shared_dim_names_both_fields():
    rpn = make_bundle(RPNOutput)
    with pytest.raises(ContractError) as info:
        dataclasses.replace(rpn, valid=torch.ones(2, 8, dtype=torch.bool))
    message = str(info.value)
    assert "RPNOutput.valid" in message and "Nhd=8" in message
    assert "Nhd=7" in message and "RPNOutput.bbox2d" in message and "(2, 7, 4)" in message


def test_fixed_dim_mismatch_names_field():
    with pytest.raises(ContractError, match=r"GroundTruth\.bbox3d.*\(2, 5, 7\)"):
        dataclasses.replace(make_bundle(GroundTruth), bbox3d=torch.rand(2, 5, 7))


def test_pyramid_relations_are_checked():
    feats = make_bundle(BackboneFeatures)
    with pytest.raises(ContractError, match=r"BackboneFeatures\.s4.*w4/4 should be 3"):
        dataclasses.replace(feats, s4=torch.rand(2, 64, 2, 4))
    with pytest.raises(ContractError, match=r"NeckFeatures\.s3"):
        neck = make_bundle(NeckFeatures)
        dataclasses.replace(neck, s3=torch.rand(2, 8, 4, 7))


def test_non_tensor_and_wrong_nested_bundle_are_refused():
    with pytest.raises(ContractError, match=r"LossOutput\.total: expected a tensor"):
        dataclasses.replace(make_bundle(LossOutput), total=1.0)
    with pytest.raises(ContractError, match=r"Auxi\.gt_feature: expected a GtFeature"):
        Auxi(gt_aligned=make_bundle(GtAligned), gt_feature=make_bundle(GtAligned))


def test_images_must_be_padded_to_multiples_of_32():
    with pytest.raises(ContractError, match=r"Images\.images.*multiples of 32.*\(1, 3, 65, 96\)"):
        Images(
            images=torch.rand(1, 3, 65, 96),
            calib=torch.rand(1, 3, 4),
            image_size=torch.tensor([[65, 96]]),
        )
    with pytest.raises(ContractError, match=r"Images\.image_size"):
        Images(
            images=torch.rand(1, 3, 64, 96),
            calib=torch.rand(1, 3, 4),
            image_size=torch.tensor([[70, 96]]),
        )


def test_checks_off_lets_anything_through():
    rpn = make_bundle(RPNOutput)
    with checks(False):
        bad = dataclasses.replace(rpn, valid=torch.ones(3, dtype=torch.bool))
    assert bad.valid.shape == (3,)
    with pytest.raises(ContractError):
        dataclasses.replace(rpn, valid=torch.ones(3, dtype=torch.bool))


def test_bundle_helpers_keep_checks():
    head = make_bundle(HeadOutput)
    moved = head.to("cpu").detach()
    assert moved.bbox3d_logit.shape == head.bbox3d_logit.shape
    assert set(make_bundle(LossOutput).terms()) == set(LossOutput.TERMS)
    assert isinstance(make_bundle(Auxi).gt_feature, GtFeature)
    assert isinstance(make_bundle(SelectedPrediction), SelectedPrediction)
    assert isinstance(make_bundle(Detections), Detections)


@given(data=st.data(), b=st.integers(1, 3), n=st.integers(0, 6), hw=padded_hw())
def test_strategies_build_valid_bundles(data, b, n, hw):
    images = data.draw(images_bundles(b, *hw))
    gt = data.draw(ground_truths(b, n, images.image_size, padding="nan"))
    assert gt.bbox2d.shape == (b, n, 4)
    real = gt.valid
    boxes = gt.bbox2d[real]
    assert torch.isfinite(boxes).all()
    assert (boxes[:, 2] > boxes[:, 0]).all() and (boxes[:, 3] > boxes[:, 1]).all()
    rows = real.nonzero()[:, 0]
    assert (boxes[:, 2] <= images.image_size[rows, 1]).all()
    assert (boxes[:, 3] <= images.image_size[rows, 0]).all()
    assert (gt.category[real] >= 1).all()
    assert not (gt.ignore & ~gt.valid).any()


DTYPES = [
    torch.float32,
    torch.float16,
    torch.bfloat16,
    torch.float64,
    torch.int64,
    torch.int32,
    torch.uint8,
    torch.bool,
    torch.complex64,
]


def wrong_values():
    """A random tensor (any rank 0-5, sides 0-6, any dtype) or a non-tensor."""
    tensors = st.builds(
        lambda shape, dtype: torch.zeros(shape, dtype=dtype),
        st.lists(st.integers(0, 6), max_size=5).map(tuple),
        st.sampled_from(DTYPES),
    )
    return st.one_of(tensors, tensors, tensors, st.sampled_from([1.0, 3, "x", [1, 2]]))


def first_rejected_field(cls, values):
    """The field jaxtyping rejects first when the fields are checked in order, or None."""
    with jaxtyped("context"):
        for name, annotation in _field_specs(cls):
            value = values[name]
            if is_bundle(annotation) or (optional_of(annotation) and value is None):
                continue
            if not isinstance(value, inner(annotation)):
                return name
    return None


@settings(max_examples=300, deadline=None)
@given(field=st.sampled_from(BUNDLE_FIELDS), wrong=wrong_values())
def test_random_wrong_field_gives_one_line_naming_both_shapes(field, wrong):
    cls, name, _ = field
    values = {**make_bundle(cls).as_dict(), name: wrong}
    rejected = first_rejected_field(cls, values)
    try:
        cls(**values)
    except ContractError as error:
        message = str(error)
    else:
        assert rejected is None
        return
    assert "\n" not in message
    if rejected is None:  # shapes fine, a value rule (Images: multiples of 32) refused it
        assert cls is Images and message.startswith("Images.")
        return
    value = values[rejected]
    assert message.startswith(f"{cls.__name__}.{rejected}: expected ")
    assert expected_dims(message) == inner(dict(_field_specs(cls))[rejected]).dim_str.split()
    if isinstance(value, torch.Tensor):
        assert f"got {tuple(value.shape)} {str(value.dtype)[6:]}" in message
    else:
        assert f"got {type(value).__name__}" in message
    if rejected != name:  # the wrong field bound a dim that a later, correct field disagrees on
        assert f"was bound by {cls.__name__}.{name} {tuple(wrong.shape)}" in message
