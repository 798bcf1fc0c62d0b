"""The neck's configuration (data only; ``FPN.from_config`` maps it to arguments)."""

from pydantic import BaseModel, ConfigDict, Field


class NeckConfig(BaseModel):
    """FPN settings. out_channels: channels c of every output level (256 as torchvision)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    out_channels: int = Field(default=256, ge=1)
