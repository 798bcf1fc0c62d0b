"""The ResNet backbone: stem + layer1..layer3 of a torchvision ResNet (layer4 is never kept).

Shape shorthand (mono3d.contracts glossary): b batch, h/w padded image size (multiples of
32), c2/c3/c4 backbone channels at strides 4/8/16.
"""

import os
from typing import Literal

import torch
import torchvision.models as tv_models
from jaxtyping import Float
from torch import Tensor, nn

from mono3d.contracts import (
    IMAGE_STRIDE,
    BackboneFeatures,
    ContractError,
    checks_enabled,
    contract,
)

from ._config import BackboneConfig
from ._frozen_bn import FrozenBatchNorm2d
from ._weights import check_state_dict, resolve_state_dict

#: channels of (s2, s3, s4) per depth
STAGE_CHANNELS: dict[int, tuple[int, int, int]] = {
    18: (64, 128, 256),
    34: (64, 128, 256),
    50: (256, 512, 1024),
    101: (256, 512, 1024),
    152: (256, 512, 1024),
}

#: ImageNet statistics of RGB images in [0, 1] (those torchvision's weights were trained with)
IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)

Norm = Literal["frozen", "batch"]


class ResNet(nn.Module):
    """A torchvision ResNet cut after layer3, returning strides 4, 8 and 16 as s2, s3, s4.

    Takes RGB images in [0, 1] and applies the ImageNet normalisation itself (non-persistent
    buffers, so ``state_dict()`` has exactly the keys of a torchvision ResNet without
    layer4/fc). layer4, avgpool and fc are deleted right after construction.

    Keyword-only arguments:
        depth: 18, 34, 50, 101 or 152. Channels (s2, s3, s4): 64/128/256 for 18/34,
            256/512/1024 otherwise (``out_channels``).
        weights: None; a torchvision weights name ("IMAGENET1K_V1", "DEFAULT",
            "ResNet50_Weights.IMAGENET1K_V2"; torchvision downloads it); or a local file
            (``str`` or ``os.PathLike``) holding a torchvision ResNet state_dict, read with
            ``torch.load(weights_only=True)`` (layer4/fc entries ignored, any other
            missing/unexpected/mis-shaped key is a ValueError naming the file).
        frozen_stages: number of leading stages of (stem, layer1, layer2, layer3) that get no
            gradient (0..4); their BatchNorm layers, if any, stay in eval mode. Default: 2
            with weights (torchvision's Faster R-CNN: stem and layer1), 0 without.
        norm: "frozen" (FrozenBatchNorm2d everywhere) or "batch" (BatchNorm2d). Default:
            "frozen" with weights, "batch" without.
        channels_last: keep convolution weights and activations in channels_last format.
    """

    out_channels: tuple[int, int, int]
    pixel_scale: Tensor  # (1, 3, 1, 1) 1 / ImageNet std
    pixel_shift: Tensor  # (1, 3, 1, 1) -mean / std

    def __init__(
        self,
        *,
        depth: int = 50,
        weights: str | os.PathLike[str] | None = None,
        frozen_stages: int | None = None,
        norm: Norm | None = None,
        channels_last: bool = False,
    ) -> None:
        super().__init__()
        if depth not in STAGE_CHANNELS:
            raise ValueError(f"depth={depth!r}: expected one of {sorted(STAGE_CHANNELS)}")
        pretrained = weights is not None
        norm = norm if norm is not None else ("frozen" if pretrained else "batch")
        if norm not in ("frozen", "batch"):
            raise ValueError(f"norm={norm!r}: expected 'frozen' or 'batch'")
        frozen_stages = frozen_stages if frozen_stages is not None else (2 if pretrained else 0)
        if not 0 <= frozen_stages <= 4:
            raise ValueError(f"frozen_stages={frozen_stages!r}: expected 0..4")

        self.depth = depth
        self.norm = norm
        self.frozen_stages = frozen_stages
        self.channels_last = channels_last
        self.out_channels = STAGE_CHANNELS[depth]

        norm_layer = FrozenBatchNorm2d if norm == "frozen" else nn.BatchNorm2d
        body = getattr(tv_models, f"resnet{depth}")(weights=None, norm_layer=norm_layer)
        self.conv1, self.bn1, self.relu, self.maxpool = (
            body.conv1,
            body.bn1,
            body.relu,
            body.maxpool,
        )
        self.layer1, self.layer2, self.layer3 = body.layer1, body.layer2, body.layer3
        del body  # layer4, avgpool, fc

        mean, std = torch.tensor(IMAGENET_MEAN), torch.tensor(IMAGENET_STD)
        self.register_buffer("pixel_scale", (1.0 / std).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("pixel_shift", (-mean / std).view(1, 3, 1, 1), persistent=False)

        if weights is not None:
            self.load_weights(weights)
        for stage in self._frozen_modules():
            stage.requires_grad_(False)
        if channels_last:
            self.to(memory_format=torch.channels_last)

    @classmethod
    def from_config(cls, cfg: BackboneConfig) -> "ResNet":
        """The backbone a :class:`BackboneConfig` describes."""
        return ResNet(
            depth=cfg.depth,
            weights=cfg.weights,
            frozen_stages=cfg.frozen_stages,
            norm=cfg.norm,
            channels_last=cfg.channels_last,
        )

    def load_weights(self, weights: str | os.PathLike[str]) -> None:
        """Copy a torchvision ResNet state_dict (enum name or file, see the class docstring)
        into the stem and layer1..layer3."""
        state, source = resolve_state_dict(weights, self.depth)
        kept = check_state_dict(state, self.state_dict(), source, self.depth)
        self.load_state_dict(kept, strict=False)

    def stages(self) -> list[nn.Module]:
        """(stem, layer1, layer2, layer3); the stem holds conv1 and bn1."""
        return [nn.ModuleList([self.conv1, self.bn1]), self.layer1, self.layer2, self.layer3]

    def _frozen_modules(self) -> list[nn.Module]:
        return self.stages()[: self.frozen_stages]

    def train(self, mode: bool = True) -> "ResNet":
        """Like ``nn.Module.train``, but frozen stages always stay in eval mode."""
        super().train(mode)
        if mode:
            for stage in self._frozen_modules():
                stage.eval()
        return self

    @contract
    def forward(self, images: Float[Tensor, "b 3 h w"]) -> BackboneFeatures:
        """images: RGB in [0, 1], (b, 3, h, w) with h and w multiples of 32.

        Returns s2 (b, c2, h/4, w/4), s3 (b, c3, h/8, w/8), s4 (b, c4, h/16, w/16).
        """
        h, w = images.shape[-2:]
        if checks_enabled() and (h % IMAGE_STRIDE or w % IMAGE_STRIDE):  # MONO3D_CHECKS=0: off
            raise ContractError(
                f"ResNet.forward: images: expected h and w multiples of {IMAGE_STRIDE} "
                f"(pad bottom/right), got shape {tuple(images.shape)}"
            )
        x = torch.addcmul(self.pixel_shift, images, self.pixel_scale)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        s2 = self.layer1(x)
        s3 = self.layer2(s2)
        s4 = self.layer3(s3)
        return BackboneFeatures(s2=s2, s3=s3, s4=s4)


class ResNet50(ResNet):
    """The seed backbone: :class:`ResNet` with ``depth=50`` (s2/s3/s4: 256/512/1024 channels)."""

    def __init__(
        self,
        *,
        weights: str | os.PathLike[str] | None = None,
        frozen_stages: int | None = None,
        norm: Norm | None = None,
        channels_last: bool = False,
    ) -> None:
        super().__init__(
            depth=50,
            weights=weights,
            frozen_stages=frozen_stages,
            norm=norm,
            channels_last=channels_last,
        )
