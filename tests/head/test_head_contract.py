"""Wrong inputs fail at the head's boundary with a ContractError naming the argument."""

import pytest
import torch

from mono3d.contracts import ContractError, NeckFeatures, checks
from mono3d.head import RoIHead

CH = 8


def _features(b, c=CH, h=64, w=64):
    return NeckFeatures(
        s2=torch.zeros(b, c, h // 4, w // 4),
        s3=torch.zeros(b, c, h // 8, w // 8),
        s4=torch.zeros(b, c, h // 16, w // 16),
    )


@pytest.fixture(scope="module")
def head() -> RoIHead:
    return RoIHead(in_channels=CH, fc_dim=16).eval()


def test_proposals_with_a_wrong_last_dim(head):
    with pytest.raises(ContractError, match="proposals"):
        head(_features(2), torch.zeros(2, 5, 5))


def test_proposals_from_another_batch_size(head):
    with pytest.raises(ContractError, match=r"proposals.*b=3.*b=2"):
        head(_features(2), torch.zeros(3, 5, 4))


def test_integer_proposals(head):
    with pytest.raises(ContractError, match="proposals"):
        head(_features(1), torch.zeros(1, 5, 4, dtype=torch.long))


def test_features_with_other_channels(head):
    with pytest.raises(ContractError, match=r"features.*in_channels=8"):
        head(_features(1, c=16), torch.zeros(1, 5, 4))


def test_raw_tensor_instead_of_features(head):
    with pytest.raises(ContractError, match="features"):
        head(torch.zeros(1, CH, 16, 16), torch.zeros(1, 5, 4))


def test_geometry_needs_the_calib(head):
    with pytest.raises(ContractError, match=r"RoIHead.forward: calib"):
        head(_features(1), torch.zeros(1, 5, 4))


def test_calib_from_another_batch_size(head):
    with pytest.raises(ContractError, match=r"parameter .calib."):
        head(_features(2), torch.zeros(2, 5, 4), torch.zeros(3, 3, 4))


def test_calib_of_a_wrong_shape(head):
    with pytest.raises(ContractError, match="calib"):
        head(_features(2), torch.zeros(2, 5, 4), torch.zeros(2, 4, 4))


def test_the_channel_guard_follows_the_switch(head):
    # README: the channel guard asks checks_enabled(); with checks off torch's linear refuses
    with checks(False), pytest.raises(RuntimeError) as info:
        head(_features(1, c=16), torch.zeros(1, 5, 4), torch.zeros(1, 3, 4))
    assert not isinstance(info.value, ContractError)
