"""The neck's configuration (data only; ``FPN.from_config`` maps it to arguments)."""

from pydantic import BaseModel, ConfigDict, Field


class NeckConfig(BaseModel):
    """FPN settings, the one home of the neck's defaults (torchvision's).

    out_channels: channels c of every output level."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    out_channels: int = Field(default=256, ge=1)
