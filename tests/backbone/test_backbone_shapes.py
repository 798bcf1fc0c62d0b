"""Backbone outputs have the contract shapes for any batch and padded size."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mono3d.backbone import ResNet, ResNet50
from mono3d.contracts import BackboneFeatures
from mono3d.contracts.testing import generators, padded_hw


@pytest.fixture(scope="module")
def resnet18() -> ResNet:
    return ResNet(depth=18).eval()


@settings(max_examples=8)
@given(b=st.integers(1, 3), hw=padded_hw(), g=generators(), training=st.booleans())
def test_resnet18_feature_shapes(resnet18, b, hw, g, training):
    h, w = hw
    resnet18.train(training)
    with torch.no_grad():
        features = resnet18(torch.rand((b, 3, h, w), generator=g))
    assert isinstance(features, BackboneFeatures)
    assert features.s2.shape == (b, 64, h // 4, w // 4)
    assert features.s3.shape == (b, 128, h // 8, w // 8)
    assert features.s4.shape == (b, 256, h // 16, w // 16)
    assert all(t.dtype == torch.float32 for t in (features.s2, features.s3, features.s4))


@pytest.mark.parametrize(("depth", "channels"), [(34, (64, 128, 256)), (50, (256, 512, 1024))])
def test_channels_follow_the_depth(depth, channels):
    model = ResNet50().eval() if depth == 50 else ResNet(depth=depth).eval()
    assert model.out_channels == channels
    with torch.no_grad():
        features = model(torch.rand(1, 3, 64, 96))
    assert (features.s2.shape[1], features.s3.shape[1], features.s4.shape[1]) == channels
    assert features.s4.shape[-2:] == (4, 6)


def test_layer4_and_fc_are_not_kept():
    model = ResNet(depth=18)
    for name in ("layer4", "fc", "avgpool"):
        assert not hasattr(model, name)
    assert not any(k.startswith(("layer4.", "fc.")) for k in model.state_dict())


def test_imagenet_normalisation_is_applied_inside(resnet18):
    seen = {}
    handle = resnet18.conv1.register_forward_pre_hook(lambda m, args: seen.setdefault("x", args[0]))
    images = torch.rand(1, 3, 64, 64)
    try:
        with torch.no_grad():
            resnet18(images)
    finally:
        handle.remove()
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    torch.testing.assert_close(seen["x"], (images - mean) / std)
    # non-persistent: a torchvision state_dict loads without extra keys
    assert "pixel_scale" not in resnet18.state_dict()


def test_channels_last_and_bfloat16_autocast():
    model = ResNet(depth=18, channels_last=True, norm="frozen").eval()
    assert model.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    images = torch.rand(2, 3, 64, 128)
    with torch.no_grad():
        reference = ResNet(depth=18, norm="frozen").eval()
        reference.load_state_dict(model.state_dict())
        expected = reference(images)
        features = model(images)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = model(images)
    for name in ("s2", "s3", "s4"):
        got = getattr(features, name)
        assert got.is_contiguous(memory_format=torch.channels_last), name
        torch.testing.assert_close(got, getattr(expected, name), rtol=1e-4, atol=1e-4)
        # frozen BN keeps bfloat16 activations bfloat16 under autocast
        assert getattr(low, name).dtype == torch.bfloat16, name
        assert getattr(low, name).shape == got.shape
