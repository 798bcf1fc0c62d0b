"""Small detector configs and scenes shared by the detector tests."""

import pytest
import torch

from mono3d.contracts import GroundTruth, Images
from mono3d.detector import DetectorConfig


def small_config_dict(**overrides):
    """A small, fast model: ResNet18, narrow head, few proposals."""
    config = {
        "backbone": {"depth": 18},
        "neck": {"out_channels": 64},
        "rpn": {
            "pre_nms_top_n_train": 300,
            "pre_nms_top_n_test": 200,
            "post_nms_top_n_train": 64,
            "post_nms_top_n_test": 48,
        },
        "head": {"fc_dim": 128},
        "proposal_targets": {"batch_size_per_image": 64},
        "anchor_targets": {"batch_size_per_image": 128},
    }
    config.update(overrides)
    return config


def make_scene(b: int, h: int, w: int, n: int, seed: int = 0) -> tuple[Images, GroundTruth]:
    """Random images with n plausible objects each (all valid, 3 classes)."""
    g = torch.Generator().manual_seed(seed)
    wh = 12 + torch.rand(b, n, 2, generator=g) * torch.tensor([w / 3, h / 3])
    xy = torch.rand(b, n, 2, generator=g) * (torch.tensor([w, h]) - wh)
    bbox2d = torch.cat([xy, xy + wh], dim=-1)
    z = 5 + 40 * torch.rand(b, n, generator=g)
    x = (torch.rand(b, n, generator=g) - 0.5) * z
    ones = torch.ones(b, n)
    bbox3d = torch.stack([x, 1.6 * ones, z, 1.5 * ones, 1.6 * ones, 3.9 * ones], dim=-1)
    calib = torch.tensor([[0.6 * w, 0, w / 2, 0.0], [0, 0.6 * w, h / 2, 0], [0, 0, 1, 0]])
    images = Images(
        images=torch.rand(b, 3, h, w, generator=g),
        calib=calib.expand(b, 3, 4).clone(),
        image_size=torch.tensor([[h, w]] * b),
    )
    gt = GroundTruth(
        bbox2d=bbox2d,
        bbox3d=bbox3d,
        yaw=torch.rand(b, n, 1, generator=g) * 6 - 3,
        category=torch.randint(1, 4, (b, n, 1), generator=g),
        valid=torch.ones(b, n, dtype=torch.bool),
        ignore=torch.zeros(b, n, dtype=torch.bool),
    )
    return images, gt


@pytest.fixture
def small_config():
    """Callable: DetectorConfig of the small model, with top-level overrides."""
    return lambda **overrides: DetectorConfig.model_validate(small_config_dict(**overrides))


@pytest.fixture
def scene():
    """Callable: (Images, GroundTruth) of b random images with n objects each."""
    return make_scene
