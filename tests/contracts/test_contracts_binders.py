"""Dims bound by the fields of bundle arguments: a ``@contract`` call's bundle arguments bind
their dims in the call, so a later argument (or the returned tensor) that disagrees is told
which bundle field bound the size, and a bundle argument that disagrees with an earlier
argument is named by its field; nested bundles join their owner's dims. Every message is one
line: the function or bundle, the tensor, the expected and actual shape, and the binder."""

import dataclasses

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from jaxtyping import Float, Int
from torch import Tensor

from mono3d.contracts import (
    Auxi,
    Bundle,
    ContractError,
    GroundTruth,
    GtAligned,
    GtFeature,
    HeadOutput,
    Images,
    NeckFeatures,
    RPNOutput,
    checks,
    contract,
)
from mono3d.contracts._contract import shared_dims


def neck(b: int, c: int = 8, h4: int = 16, w4: int = 24) -> NeckFeatures:
    return NeckFeatures(
        s2=torch.zeros(b, c, h4, w4),
        s3=torch.zeros(b, c, h4 // 2, w4 // 2),
        s4=torch.zeros(b, c, h4 // 4, w4 // 4),
    )


def images(b: int, h: int = 64, w: int = 96) -> Images:
    return Images(
        images=torch.zeros(b, 3, h, w),
        calib=torch.zeros(b, 3, 4),
        image_size=torch.tensor([[h, w]] * b),
    )


def ground_truth(b: int, n: int) -> GroundTruth:
    return GroundTruth(
        bbox2d=torch.zeros(b, n, 4),
        bbox3d=torch.zeros(b, n, 6),
        yaw=torch.zeros(b, n, 1),
        category=torch.ones(b, n, 1, dtype=torch.int64),
        valid=torch.ones(b, n, dtype=torch.bool),
        ignore=torch.zeros(b, n, dtype=torch.bool),
    )


def rpn_output(b: int, nhd: int = 7, n: int = 30) -> RPNOutput:
    return RPNOutput(
        anchors=torch.zeros(b, n, 4),
        bbox2d_logit=torch.zeros(b, n, 4),
        object_logit=torch.zeros(b, n, 1),
        bbox2d=torch.zeros(b, nhd, 4),
        bbox2d_object=torch.zeros(b, nhd, 1),
        valid=torch.ones(b, nhd, dtype=torch.bool),
    )


def head_output(b: int, nhd: int = 7, c: int = 4, bins: int = 12) -> HeadOutput:
    return HeadOutput(
        bbox3d_logit=torch.zeros(b, nhd, c, 6),
        yaw_resi=torch.zeros(b, nhd, c, bins),
        yaw_logit=torch.zeros(b, nhd, c, bins),
        category_logit=torch.zeros(b, nhd, c),
        bbox2d_logit=torch.zeros(b, nhd, c, 4),
        depth_log_sigma=torch.zeros(b, nhd, c),
    )


@dataclasses.dataclass(frozen=True, eq=False)
class Stages(Bundle):
    """A bundle nesting others, as DetectorOutput does."""

    rpn: RPNOutput
    head: HeadOutput
    score: Float[Tensor, "b Nhd"] | None = None


@contract
def pool(features: NeckFeatures, proposals: Float[Tensor, "b Nhd 4"]) -> Float[Tensor, "b Nhd"]:
    return proposals[..., 0]


@contract
def pool_first(
    proposals: Float[Tensor, "b Nhd 4"], features: NeckFeatures | None = None
) -> Float[Tensor, "b Nhd"]:
    return proposals[..., 0]


@contract
def both(x: Float[Tensor, "b n"], y: Float[Tensor, "b n"]) -> Float[Tensor, "b n"]:
    return x


@contract
def per_image(features: NeckFeatures, lie: int = 0) -> Float[Tensor, "b 3"]:
    b = features.s2.shape[0]
    return torch.zeros(b + lie, 3)


@contract
def criterion(output: Stages, calib: Float[Tensor, "b 3 4"]) -> Float[Tensor, ""]:
    return calib.sum()


@contract
def rpn_and_images(features: NeckFeatures, images: Images) -> Int[Tensor, " b"]:
    return images.image_size[:, 0]


@contract
def grow(rpn: RPNOutput, gt: GroundTruth) -> RPNOutput:
    """Returns more proposals than it got (as join_ground_truth does): allowed."""
    extra = gt.bbox2d.shape[1]
    b = rpn.bbox2d.shape[0]
    return dataclasses.replace(
        rpn,
        bbox2d=torch.cat([rpn.bbox2d, gt.bbox2d], 1),
        bbox2d_object=torch.cat([rpn.bbox2d_object, torch.zeros(b, extra, 1)], 1),
        valid=torch.cat([rpn.valid, gt.valid], 1),
    )


def message(call) -> str:
    with pytest.raises(ContractError) as info:
        call()
    text = str(info.value)
    assert "\n" not in text
    return text


def test_a_bundle_field_bound_the_dim_a_later_argument_disagrees_on():
    assert message(lambda: pool(neck(2), torch.zeros(3, 512, 4))) == (
        "pool: parameter 'proposals': expected (b=2, Nhd, 4) float, got (3, 512, 4) float32; "
        "proposals has b=3, but b=2 was bound by features.s2 (2, 8, 16, 24)"
    )


def test_a_bundle_field_that_disagrees_with_an_earlier_argument_is_named():
    assert message(lambda: pool_first(torch.zeros(3, 512, 4), neck(2))) == (
        "pool_first: parameter 'features.s2': expected (b=3, c, h4, w4) float, got "
        "(2, 8, 16, 24) float32; features.s2 has b=2, but b=3 was bound by proposals (3, 512, 4)"
    )


def test_argument_against_argument_names_the_binder():
    assert message(lambda: both(torch.zeros(2, 4), torch.zeros(3, 4))) == (
        "both: parameter 'y': expected (b=2, n=4) float, got (3, 4) float32; "
        "y has b=3, but b=2 was bound by x (2, 4)"
    )


def test_a_returned_tensor_that_disagrees_with_a_bundle_argument():
    assert per_image(neck(2)).shape == (2, 3)
    assert message(lambda: per_image(neck(2), lie=1)) == (
        "per_image: return value: expected (b=2, 3) float, got (3, 3) float32; "
        "return value has b=3, but b=2 was bound by features.s2 (2, 8, 16, 24)"
    )


def test_two_bundle_arguments_share_their_dims():
    assert message(lambda: rpn_and_images(neck(2), images(3))) == (
        "rpn_and_images: parameter 'images.images': expected (b=2, 3, h, w) float, got "
        "(3, 3, 64, 96) float32; images.images has b=3, but b=2 was bound by features.s2 "
        "(2, 8, 16, 24)"
    )


def test_a_nested_bundle_argument_names_the_nested_field():
    output = Stages(rpn=rpn_output(2), head=head_output(2))
    assert criterion(output, torch.zeros(2, 3, 4)).shape == ()
    assert message(lambda: criterion(output, torch.zeros(3, 3, 4))) == (
        "criterion: parameter 'calib': expected (b=2, 3, 4) float, got (3, 3, 4) float32; "
        "calib has b=3, but b=2 was bound by output.rpn.anchors (2, 30, 4)"
    )


def test_nested_bundles_join_their_owners_dims():
    assert message(lambda: Stages(rpn=rpn_output(2), head=head_output(2, nhd=8))) == (
        "Stages.head.bbox3d_logit: expected (b=2, Nhd=7, C, 6) float, got (2, 8, 4, 6) "
        "float32; head.bbox3d_logit has Nhd=8, but Nhd=7 was bound by Stages.rpn.bbox2d (2, 7, 4)"
    )
    assert message(lambda: Stages(rpn_output(2), head_output(2), torch.zeros(2, 9))) == (
        "Stages.score: expected (b=2, Nhd=7) float, got (2, 9) float32; "
        "score has Nhd=9, but Nhd=7 was bound by Stages.rpn.bbox2d (2, 7, 4)"
    )
    features, aligned = _targets(2, 30, 7), _aligned(3, 7)
    assert message(lambda: Auxi(gt_feature=features, gt_aligned=aligned)) == (
        "Auxi.gt_feature.bbox2d: expected (b=3, N, 4) float, got (2, 30, 4) float32; "
        "gt_feature.bbox2d has b=2, but b=3 was bound by Auxi.gt_aligned.bbox2d (3, 7, 4)"
    )


def test_a_returned_bundle_keeps_its_own_sizes():
    grown = grow(rpn_output(2, nhd=7), ground_truth(2, 3))
    assert grown.bbox2d.shape == (2, 10, 4)
    assert message(lambda: grow(rpn_output(2), ground_truth(3, 3))) == (
        "grow: parameter 'gt.bbox2d': expected (b=2, n, 4) float, got (3, 3, 4) float32; "
        "gt.bbox2d has b=3, but b=2 was bound by rpn.anchors (2, 30, 4)"
    )


def test_an_optional_bundle_left_out_binds_nothing():
    assert pool_first(torch.zeros(3, 5, 4)).shape == (3, 5)


def test_only_functions_with_a_bundle_argument_compare_sizes():
    assert shared_dims(both.__wrapped_unchecked__) == ((), ())
    in_arguments, with_return = shared_dims(pool.__wrapped_unchecked__)
    assert len(in_arguments) == 1 and len(with_return) == 1  # b (Nhd: only plain tensors)


def test_checks_false_skips_the_bundle_comparison():
    with checks(False):
        assert pool(neck(2), torch.zeros(3, 5, 4)).shape == (3, 5)
        Stages(rpn=rpn_output(2), head=head_output(2, nhd=8))


def _targets(b: int, n: int, nhd: int) -> GtFeature:
    del nhd
    return GtFeature(
        bbox2d=torch.zeros(b, n, 4),
        bbox2d_logit=torch.zeros(b, n, 4),
        bbox3d=torch.zeros(b, n, 6),
        object=torch.zeros(b, n, 1, dtype=torch.int64),
        yaw=torch.zeros(b, n, 1),
        category=torch.zeros(b, n, 1, dtype=torch.int64),
    )


def _aligned(b: int, nhd: int) -> GtAligned:
    fields = {}
    for field in dataclasses.fields(GtAligned):
        width = {"bbox2d": 4, "bbox3d": 6, "bbox3d_logit": 6, "bbox2d_logit": 4}.get(field.name, 1)
        integer = field.name in ("object", "yaw_category", "category", "object3d")
        dtype = torch.int64 if integer else torch.float32
        fields[field.name] = torch.zeros(b, nhd, width, dtype=dtype)
    return GtAligned(**fields)


@settings(max_examples=30, deadline=None)
@given(
    b=st.integers(1, 4),
    other=st.integers(1, 4),
    nhd=st.integers(0, 9),
    order=st.sampled_from(["bundle first", "tensor first"]),
)
def test_property_bundle_and_tensor_agree_or_the_binder_is_named(b, other, nhd, order):
    features, proposals = neck(b), torch.zeros(other, nhd, 4)
    if order == "bundle first":
        call = lambda: pool(features, proposals)  # noqa: E731
        culprit, binder = "parameter 'proposals'", f"features.s2 {tuple(features.s2.shape)}"
        got, bound = other, b
    else:
        call = lambda: pool_first(proposals, features)  # noqa: E731
        culprit, binder = "parameter 'features.s2'", f"proposals {tuple(proposals.shape)}"
        got, bound = b, other
    if b == other:
        assert call().shape == (b, nhd)
        return
    text = message(call)
    assert text.startswith(f"{call.__code__.co_names[0]}: {culprit}: expected (b={bound}")
    assert text.endswith(f"has b={got}, but b={bound} was bound by {binder}")


@settings(max_examples=30, deadline=None)
@given(
    b=st.integers(1, 4), b_head=st.integers(1, 4), nhd=st.integers(0, 9), nhd_head=st.integers(0, 9)
)
def test_property_nested_bundles_agree_or_the_nested_binder_is_named(b, b_head, nhd, nhd_head):
    def build():
        return Stages(rpn=rpn_output(b, nhd=nhd), head=head_output(b_head, nhd=nhd_head))

    if (b, nhd) == (b_head, nhd_head):
        build()
        return
    text = message(build)
    assert text.startswith("Stages.head.bbox3d_logit: expected (b=")
    dim = "b" if b != b_head else "Nhd"
    binder = "Stages.rpn.anchors (" if dim == "b" else "Stages.rpn.bbox2d ("
    size, got = (b, b_head) if dim == "b" else (nhd, nhd_head)
    assert f"has {dim}={got}, but {dim}={size} was bound by {binder}" in text
