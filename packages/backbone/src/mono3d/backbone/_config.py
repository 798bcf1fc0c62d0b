"""The backbone's configuration (data only; ``ResNet.from_config`` maps it to arguments)."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class BackboneConfig(BaseModel):
    """ResNet backbone settings.

    depth: 18, 34, 50 (the seed), 101 or 152.
    weights: None (random init), a torchvision weights name ("IMAGENET1K_V1",
        "ResNet50_Weights.IMAGENET1K_V2", "DEFAULT"; downloaded by torchvision) or the path of
        a local torchvision ResNet state_dict file.
    frozen_stages: how many leading stages of (stem, layer1, layer2, layer3) get no gradient;
        None = 2 (stem and layer1, as torchvision's Faster R-CNN) with weights, 0 without.
    norm: "frozen" (FrozenBatchNorm2d) or "batch" (BatchNorm2d); None = "frozen" with
        weights, "batch" without.
    channels_last: run the convolutions in channels_last memory format.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    depth: Literal[18, 34, 50, 101, 152] = 50
    weights: str | None = None
    frozen_stages: int | None = Field(default=None, ge=0, le=4)
    norm: Literal["frozen", "batch"] | None = None
    channels_last: bool = False
