"""mono3d.backbone: torchvision ResNet (18/34/50/101/152) cut after layer3, returning
``BackboneFeatures`` s2/s3/s4 at strides 4/8/16, with ImageNet normalisation inside,
FrozenBatchNorm2d / frozen stages and weights from torchvision or a local state_dict."""

from ._config import BackboneConfig as BackboneConfig
from ._frozen_bn import FrozenBatchNorm2d as FrozenBatchNorm2d
from ._resnet import IMAGENET_MEAN as IMAGENET_MEAN
from ._resnet import IMAGENET_STD as IMAGENET_STD
from ._resnet import STAGE_CHANNELS as STAGE_CHANNELS
from ._resnet import ResNet as ResNet
from ._resnet import ResNet50 as ResNet50
from ._version import __version__ as __version__

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "STAGE_CHANNELS",
    "BackboneConfig",
    "FrozenBatchNorm2d",
    "ResNet",
    "ResNet50",
    "__version__",
]
