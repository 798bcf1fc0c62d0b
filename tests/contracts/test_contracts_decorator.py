"""The ``contract`` decorator and the checking switch."""

import typing

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from jaxtyping import Float, Int, jaxtyped
from torch import Tensor

from mono3d.contracts import (
    ALIASES,
    AXES,
    ContractError,
    GroundTruth,
    checks,
    checks_enabled,
    contract,
)


@contract
def scale_boxes(
    boxes: Float[Tensor, "b n 4"], scale: Float[Tensor, " b"]
) -> Float[Tensor, "b n 4"]:
    return boxes * scale[:, None, None]


@contract
def bad_return(boxes: Float[Tensor, "b n 4"]) -> Float[Tensor, "b n 5"]:
    return boxes


@contract
def counts(valid: Int[Tensor, "b n"]) -> Int[Tensor, " b"]:
    return valid.sum(-1)


@contract
def place(
    boxes: Float[Tensor, "b n 4"], scale: Float[Tensor, " b"], image: Float[Tensor, "b 3 h w"]
) -> Float[Tensor, "b n 4"]:
    return boxes * scale[:, None, None]


@contract
def flatten_pairs(boxes: Float[Tensor, "b n 4"], lie: bool = False) -> Float[Tensor, "b*n 4"]:
    flat = boxes.flatten(0, 1)
    return flat[:-1] if lie else flat


@contract
def pairs(
    x: Float[Tensor, "*batch n 7"],
    y: Float[Tensor, "*batch m 7"],
    k: int,
    calib: Float[Tensor, "b 3 4"] | None = None,
) -> tuple[Float[Tensor, "*batch n m"], Int[Tensor, ""]]:
    count = torch.tensor(k) if k == 1 else torch.tensor([k])
    return x[..., :1] * y[..., 0][..., None, :], count


@contract
def count_objects(gt: GroundTruth) -> Int[Tensor, " b"]:
    return gt.objects.sum(-1)


def test_correct_call_passes():
    out = scale_boxes(torch.rand(2, 3, 4), torch.rand(2))
    assert out.shape == (2, 3, 4)


def test_wrong_shape_names_argument_expected_dims_and_actual_shape():
    with pytest.raises(ContractError) as info:
        scale_boxes(torch.rand(2, 3, 4), torch.rand(3))
    assert str(info.value) == (
        "scale_boxes: parameter 'scale': expected (b=2) float, got (3,) float32; "
        "scale has b=3, but b=2 was bound by boxes (2, 3, 4)"
    )
    assert isinstance(info.value, TypeError)


def test_the_first_binding_argument_is_named_not_the_last():
    with pytest.raises(ContractError) as info:
        place(torch.rand(2, 5, 4), torch.rand(2), torch.rand(3, 3, 64, 96))
    message = str(info.value)
    assert message.startswith("place: parameter 'image': expected (b=2, 3, h, w) float")
    assert message.endswith("image has b=3, but b=2 was bound by boxes (2, 5, 4)")


def test_wrong_fixed_dim_and_rank_are_explained():
    with pytest.raises(
        ContractError, match=r"'boxes': .*\(2, 3, 5\) float32; dim 2 is 5, expected 4$"
    ):
        scale_boxes(torch.rand(2, 3, 5), torch.rand(2))
    with pytest.raises(
        ContractError, match=r"'boxes': .*\(2, 3\) float32; expected 3 dims, got 2$"
    ):
        scale_boxes(torch.rand(2, 3), torch.rand(2))


def test_wrong_return_is_caught():
    with pytest.raises(ContractError) as info:
        bad_return(torch.rand(1, 2, 4))
    assert str(info.value) == (
        "bad_return: return value: expected (b=1, n=2, 5) float, got (1, 2, 4) float32; "
        "dim 2 is 4, expected 5"
    )


def test_return_dims_are_bound_by_the_arguments():
    with pytest.raises(ContractError) as info:
        flatten_pairs(torch.rand(2, 3, 4), lie=True)
    assert str(info.value) == (
        "flatten_pairs: return value: expected (b*n=6, 4) float, got (5, 4) float32; "
        "b*n should be 6, got 5 (b=2 bound by boxes (2, 3, 4), n=3 bound by boxes (2, 3, 4))"
    )
    assert flatten_pairs(torch.rand(2, 3, 4)).shape == (6, 4)


def test_wrong_dtype_is_caught():
    with pytest.raises(ContractError) as info:
        counts(torch.rand(2, 3))
    assert str(info.value) == (
        "counts: parameter 'valid': expected (b, n) int, got (2, 3) float32 (wrong dtype)"
    )


def test_non_tensors_optional_tuples_and_variadic_dims():
    with pytest.raises(ContractError) as info:
        pairs(torch.rand(4, 3, 7), torch.rand(5, 2, 7), 1)
    assert str(info.value) == (
        "pairs: parameter 'y': expected (*batch=(4,), m, 7) float, got (5, 2, 7) float32; "
        "y has *batch=(5,), but *batch=(4,) was bound by x (4, 3, 7)"
    )
    with pytest.raises(
        ContractError, match=r"^pairs: parameter 'k': expected int, got float 1\.5$"
    ):
        pairs(torch.rand(4, 3, 7), torch.rand(4, 2, 7), 1.5)
    with pytest.raises(
        ContractError, match=r"^pairs: parameter 'calib': expected \(b, 3, 4\) float"
    ):
        pairs(torch.rand(4, 3, 7), torch.rand(4, 2, 7), 1, torch.rand(2, 3, 3))
    pairs(torch.rand(4, 3, 7), torch.rand(4, 2, 7), 1, None)
    with pytest.raises(ContractError) as info:
        pairs(torch.rand(4, 3, 7), torch.rand(4, 2, 7), 2)
    assert str(info.value) == (
        "pairs: return value[1]: expected () int, got (1,) int64; expected 0 dims, got 1"
    )


def test_bundle_argument_of_another_type_is_named():
    with pytest.raises(ContractError) as info:
        count_objects(torch.ones(2, 3, dtype=torch.bool))
    assert str(info.value) == (
        "count_objects: parameter 'gt': expected a GroundTruth, got a tensor (2, 3) bool"
    )


def test_context_manager_switches_off_and_restores():
    assert checks_enabled()
    with checks(False):
        assert not checks_enabled()
        scale_boxes(torch.rand(2, 3, 4), torch.rand(2, 1, 1).flatten()[:2])
        bad_return(torch.rand(1, 2, 4))
    assert checks_enabled()
    with pytest.raises(ContractError):
        bad_return(torch.rand(1, 2, 4))


def test_glossary_covers_every_alias_dim():
    allowed = set(AXES) | {"3", "4", "6", "1", "2", "h4/2", "w4/2", "h4/4", "w4/4"}
    for name, alias in ALIASES.items():
        for dim in alias.dim_str.split():
            assert dim in allowed, f"{name} uses {dim!r}, not in the glossary"


PLACE_PARAMS = ("boxes", "scale", "image")
DTYPES = [torch.float32, torch.float16, torch.float64, torch.int64, torch.uint8, torch.bool]


def first_rejected_argument(values: dict) -> str | None:
    """The argument of ``place`` jaxtyping rejects first, checked in signature order."""
    hints = typing.get_type_hints(place.__wrapped_unchecked__)
    with jaxtyped("context"):
        for name in PLACE_PARAMS:
            if not isinstance(values[name], hints[name]):
                return name
    return None


@settings(max_examples=100, deadline=None)  # a rejected call costs jaxtyping ~10 ms
@given(
    sizes=st.tuples(st.integers(1, 3), st.integers(0, 4), st.integers(1, 5), st.integers(1, 5)),
    target=st.sampled_from(PLACE_PARAMS),
    shape=st.lists(st.integers(0, 5), max_size=5).map(tuple),
    dtype=st.sampled_from(DTYPES),
    as_keyword=st.booleans(),
)
def test_random_wrong_argument_gives_one_line_naming_it_and_both_shapes(
    sizes, target, shape, dtype, as_keyword
):
    b, n, h, w = sizes
    values = {
        "boxes": torch.zeros(b, n, 4),
        "scale": torch.zeros(b),
        "image": torch.zeros(b, 3, h, w),
        target: torch.zeros(shape, dtype=dtype),
    }
    rejected = first_rejected_argument(values)
    try:
        if as_keyword:
            place(**values)
        else:
            place(*(values[name] for name in PLACE_PARAMS))
    except ContractError as error:
        message = str(error)
    else:
        assert rejected is None
        return
    assert rejected is not None
    assert "\n" not in message
    value = values[rejected]
    assert message.startswith(f"place: parameter '{rejected}': expected (")
    hint = typing.get_type_hints(place.__wrapped_unchecked__)[rejected]
    inside = message.split("expected (", 1)[1].split(") ", 1)[0]
    assert [part.split("=")[0] for part in inside.split(", ")] == hint.dim_str.split()
    assert f"got {tuple(value.shape)} {str(value.dtype)[6:]}" in message
    if rejected != target:  # the wrong argument bound a dim that a later one disagrees on
        assert f"was bound by {target} {shape}" in message
