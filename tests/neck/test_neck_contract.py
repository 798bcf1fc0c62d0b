"""Wrong features fail at the neck's boundary with a ContractError naming them."""

import pytest
import torch

from mono3d.contracts import BackboneFeatures, ContractError, checks
from mono3d.neck import FPN


@pytest.fixture(scope="module")
def neck() -> FPN:
    return FPN(in_channels=(8, 16, 32), out_channels=8)


def test_wrong_channels_are_refused(neck):
    features = BackboneFeatures(
        s2=torch.zeros(1, 16, 16, 16), s3=torch.zeros(1, 16, 8, 8), s4=torch.zeros(1, 32, 4, 4)
    )
    with pytest.raises(ContractError, match=r"features.*\(16, 16, 32\).*in_channels"):
        neck(features)


def test_features_from_another_batch_size_are_refused():
    with pytest.raises(ContractError, match=r"BackboneFeatures\.s3.*b=2"):
        BackboneFeatures(
            s2=torch.zeros(1, 8, 16, 16), s3=torch.zeros(2, 16, 8, 8), s4=torch.zeros(1, 32, 4, 4)
        )


def test_features_of_inconsistent_strides_are_refused():
    with pytest.raises(ContractError, match=r"BackboneFeatures\.s4"):
        BackboneFeatures(
            s2=torch.zeros(1, 8, 16, 16), s3=torch.zeros(1, 16, 8, 8), s4=torch.zeros(1, 32, 8, 8)
        )


def test_a_plain_dict_is_refused(neck):
    with pytest.raises(ContractError, match="features"):
        neck({"s2": torch.zeros(1, 8, 16, 16)})


def test_the_channel_guard_follows_the_switch(neck):
    # README: the guard asks checks_enabled(); with checks off torch's conv is what refuses
    features = BackboneFeatures(
        s2=torch.zeros(1, 16, 16, 16), s3=torch.zeros(1, 16, 8, 8), s4=torch.zeros(1, 32, 4, 4)
    )
    with checks(False), pytest.raises(RuntimeError) as info:
        neck(features)
    assert not isinstance(info.value, ContractError)
