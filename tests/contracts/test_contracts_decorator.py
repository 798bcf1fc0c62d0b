"""The ``contract`` decorator and the checking switch."""

import os
import subprocess
import sys
import textwrap

import pytest
import torch
from jaxtyping import Float, Int
from torch import Tensor

from mono3d.contracts import ALIASES, AXES, ContractError, checks, checks_enabled, contract


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


def test_correct_call_passes():
    out = scale_boxes(torch.rand(2, 3, 4), torch.rand(2))
    assert out.shape == (2, 3, 4)


def test_wrong_shape_names_argument_expected_dims_and_actual_shape():
    with pytest.raises(ContractError) as info:
        scale_boxes(torch.rand(2, 3, 4), torch.rand(3))
    message = str(info.value)
    assert "scale_boxes" in message
    assert "'scale'" in message
    assert "b" in message and "f32[3]" in message
    assert isinstance(info.value, TypeError)


def test_wrong_return_is_caught():
    with pytest.raises(ContractError, match="bad_return"):
        bad_return(torch.rand(1, 2, 4))


def test_wrong_dtype_is_caught():
    with pytest.raises(ContractError, match="'valid'"):
        counts(torch.rand(2, 3))


def test_context_manager_switches_off_and_restores():
    assert checks_enabled()
    with checks(False):
        assert not checks_enabled()
        scale_boxes(torch.rand(2, 3, 4), torch.rand(2, 1, 1).flatten()[:2])
        bad_return(torch.rand(1, 2, 4))
    assert checks_enabled()
    with pytest.raises(ContractError):
        bad_return(torch.rand(1, 2, 4))


def test_environment_switch_returns_the_plain_function():
    code = textwrap.dedent(
        """
        import torch
        from jaxtyping import Float
        from torch import Tensor
        from mono3d.contracts import contract, checks_enabled, Images
        def raw(x: Float[Tensor, "b 4"]) -> Float[Tensor, "b 4"]:
            return x
        assert contract(raw) is raw
        assert not checks_enabled()
        Images(images=torch.rand(1, 3, 5, 5), calib=torch.rand(2), image_size=torch.rand(1))
        print("unchecked")
        """
    )
    env = dict(os.environ, MONO3D_CHECKS="0")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "unchecked" in result.stdout


def test_glossary_covers_every_alias_dim():
    allowed = set(AXES) | {"3", "4", "6", "1", "2", "h4/2", "w4/2", "h4/4", "w4/4"}
    for name, alias in ALIASES.items():
        for dim in alias.dim_str.split():
            assert dim in allowed, f"{name} uses {dim!r}, not in the glossary"
