"""Weights: local torchvision state_dicts, torchvision enum names (no network), frozen stages."""

import pytest
import torch
import torchvision
from torch import nn
from torchvision.models import WeightsEnum
from torchvision.ops import FrozenBatchNorm2d

from mono3d.backbone import ResNet


def _random_torchvision_resnet18() -> nn.Module:
    model = torchvision.models.resnet18(weights=None)
    with torch.no_grad():  # non-trivial BN statistics, so a missed buffer shows
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.normal_()
                module.running_var.uniform_(0.5, 2.0)
                module.weight.normal_()
                module.bias.normal_()
    return model.eval()


@pytest.fixture(scope="module")
def torchvision_resnet18() -> nn.Module:
    return _random_torchvision_resnet18()


@pytest.fixture
def weights_file(tmp_path, torchvision_resnet18):
    path = tmp_path / "resnet18.pth"
    torch.save(torchvision_resnet18.state_dict(), path)
    return path


def test_local_state_dict_is_loaded_and_bn_frozen(weights_file, torchvision_resnet18):
    model = ResNet(depth=18, weights=weights_file)
    reference = torchvision_resnet18.state_dict()
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, reference[key], rtol=0, atol=0, msg=key)
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d | FrozenBatchNorm2d)]
    assert norms and all(isinstance(m, FrozenBatchNorm2d) for m in norms)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    # default with weights: stem and layer1 frozen, layer2/layer3 trainable
    assert not any(p.requires_grad for p in model.conv1.parameters())
    assert not any(p.requires_grad for p in model.layer1.parameters())
    assert all(p.requires_grad for p in model.layer2.parameters())
    assert all(p.requires_grad for p in model.layer3.parameters())
    # same features as torchvision's own layers up to layer3
    images = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        s4 = model.eval()(images).s4
        x = (images - torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)) / torch.tensor(
            [0.229, 0.224, 0.225]
        ).view(1, 3, 1, 1)
        t = torchvision_resnet18
        expected = t.layer3(t.layer2(t.layer1(t.maxpool(t.relu(t.bn1(t.conv1(x)))))))
    torch.testing.assert_close(s4, expected, rtol=1e-4, atol=1e-4)


def test_path_given_as_string_and_wrapped_state_dict(tmp_path, torchvision_resnet18):
    path = tmp_path / "checkpoint.pt"
    torch.save({"state_dict": torchvision_resnet18.state_dict()}, path)
    model = ResNet(depth=18, weights=str(path), norm="batch", frozen_stages=0)
    torch.testing.assert_close(
        model.layer3[1].bn2.running_var, torchvision_resnet18.layer3[1].bn2.running_var
    )
    assert all(p.requires_grad for p in model.parameters())


def test_mismatched_depth_names_the_file(tmp_path):
    path = tmp_path / "resnet34.pth"
    torch.save(torchvision.models.resnet34(weights=None).state_dict(), path)
    with pytest.raises(ValueError, match=r"resnet34\.pth.*ResNet18.*unexpected keys"):
        ResNet(depth=18, weights=path)


def test_mis_shaped_and_missing_keys_name_the_file(tmp_path, torchvision_resnet18):
    state = torchvision_resnet18.state_dict()
    state["conv1.weight"] = torch.zeros(64, 3, 3, 3)
    del state["layer2.0.bn1.running_mean"]
    path = tmp_path / "broken.pth"
    torch.save(state, path)
    with pytest.raises(
        ValueError, match=r"broken\.pth.*missing keys.*layer2\.0\.bn1\.running_mean.*conv1\.weight"
    ):
        ResNet(depth=18, weights=path)


def test_missing_file_and_unknown_name():
    with pytest.raises(FileNotFoundError, match="no_such_dir"):
        ResNet(depth=18, weights="no_such_dir/resnet.pth")
    with pytest.raises(ValueError, match="IMAGENET9K"):
        ResNet(depth=18, weights="IMAGENET9K_V7")
    with pytest.raises(ValueError, match="depth=18"):
        ResNet(depth=18, weights="ResNet50_Weights.IMAGENET1K_V2")


@pytest.mark.parametrize("name", ["IMAGENET1K_V1", "ResNet18_Weights.IMAGENET1K_V1", "DEFAULT"])
def test_torchvision_enum_names_resolve_without_network(monkeypatch, name, torchvision_resnet18):
    asked = []

    def fake_get_state_dict(self, *args, **kwargs):
        asked.append(self)
        return torchvision_resnet18.state_dict()

    monkeypatch.setattr(WeightsEnum, "get_state_dict", fake_get_state_dict)
    model = ResNet(depth=18, weights=name)
    assert asked == [torchvision.models.ResNet18_Weights.IMAGENET1K_V1]
    torch.testing.assert_close(model.conv1.weight, torchvision_resnet18.conv1.weight)


def test_frozen_stages_and_batch_norm_stay_in_eval():
    model = ResNet(depth=18, norm="batch", frozen_stages=3).train()
    assert not any(p.requires_grad for s in model.stages()[:3] for p in s.parameters())
    assert all(p.requires_grad for p in model.layer3.parameters())
    assert not model.bn1.training and not model.layer2[0].bn1.training
    assert model.layer3[0].bn1.training
    before = model.layer1[0].bn1.running_mean.clone()
    model(torch.rand(2, 3, 64, 64))
    torch.testing.assert_close(model.layer1[0].bn1.running_mean, before, rtol=0, atol=0)
    features = model(torch.rand(1, 3, 64, 64))
    features.s4.sum().backward()
    assert model.conv1.weight.grad is None and model.layer3[0].conv1.weight.grad is not None


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"depth": 42}, "depth"),
        ({"norm": "group"}, "norm"),
        ({"frozen_stages": 5}, "frozen_stages"),
    ],
)
def test_bad_constructor_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ResNet(**kwargs)
