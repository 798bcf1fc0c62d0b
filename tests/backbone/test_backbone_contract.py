"""Wrong images fail at the backbone's boundary with a ContractError naming ``images``."""

import pytest
import torch

from mono3d.backbone import ResNet
from mono3d.contracts import ContractError, checks


@pytest.fixture(scope="module")
def resnet18() -> ResNet:
    return ResNet(depth=18).eval()


@pytest.mark.parametrize("hw", [(65, 64), (64, 100), (48, 64)])
def test_sizes_not_multiple_of_32_are_refused(resnet18, hw):
    with pytest.raises(ContractError, match=r"images.*multiples of 32"):
        resnet18(torch.rand(1, 3, *hw))


@pytest.mark.parametrize("shape", [(1, 1, 64, 64), (1, 4, 64, 64), (3, 64, 64)])
def test_wrong_channel_count_or_rank_is_refused(resnet18, shape):
    with pytest.raises(ContractError, match="images"):
        resnet18(torch.rand(*shape))


def test_integer_images_are_refused(resnet18):
    with pytest.raises(ContractError, match="images"):
        resnet18(torch.zeros(1, 3, 64, 64, dtype=torch.uint8))


def test_the_multiple_of_32_guard_follows_the_switch(resnet18):
    # README: the guard asks checks_enabled(); with checks off the backbone runs as asked
    with checks(False):
        features = resnet18(torch.rand(1, 3, 48, 64))
    assert features.s2.shape == (1, 64, 12, 16)
