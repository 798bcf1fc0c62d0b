"""Pydantic configs of the data block (frozen, no extra fields); each maps to the plain
keyword arguments of what it builds in one place (``build`` / ``from_config``)."""

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ._augment import Compose, PhotometricJitter, RandomHorizontalFlip, RandomScaleCrop
from ._classes import DEFAULT_CLASSES, ClassMap


class AugmentConfig(BaseModel):
    """Training augmentation: flip, scale + crop, photometric jitter (0 / 1.0 disables)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    flip_probability: float = Field(default=0.5, ge=0.0, le=1.0)
    scale_range: tuple[float, float] = (0.8, 1.2)
    crop_size: tuple[int, int] | None = None
    min_visible: float = Field(default=0.5, ge=0.0, le=1.0)
    brightness: float = Field(default=0.2, ge=0.0, lt=1.0)
    contrast: float = Field(default=0.2, ge=0.0, lt=1.0)
    saturation: float = Field(default=0.2, ge=0.0, lt=1.0)

    @field_validator("scale_range")
    @classmethod
    def _ordered(cls, value: tuple[float, float]) -> tuple[float, float]:
        if not 0.0 < value[0] <= value[1]:
            raise ValueError(f"need 0 < low <= high, got {value}")
        return value

    def build(self) -> Compose:
        """The transform pipeline: scale + crop, flip, photometric jitter."""
        steps: list[object] = []
        if self.scale_range != (1.0, 1.0) or self.crop_size is not None:
            steps.append(
                RandomScaleCrop(
                    scale_range=self.scale_range,
                    crop_size=self.crop_size,
                    min_visible=self.min_visible,
                )
            )
        if self.flip_probability > 0:
            steps.append(RandomHorizontalFlip(p=self.flip_probability))
        if max(self.brightness, self.contrast, self.saturation) > 0:
            steps.append(
                PhotometricJitter(
                    brightness=self.brightness, contrast=self.contrast, saturation=self.saturation
                )
            )
        return Compose(steps)  # type: ignore[arg-type]


class DataConfig(BaseModel):
    """A KITTI-format dataset: folder, split, classes, type mapping and augmentation."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    root: str
    split: str | None = None
    classes: tuple[str, ...] = DEFAULT_CLASSES
    mapping: dict[str, str] = Field(default_factory=dict)
    augment: AugmentConfig | None = Field(default_factory=lambda: AugmentConfig())
    max_image_pixels: int = Field(default=16_777_216, ge=1)
    """Images with more pixels (width x height) are refused before decoding, naming the
    file; the default, 2**24 (4096 x 4096), is 36 KITTI frames."""

    @model_validator(mode="after")
    def _valid_classes(self) -> "DataConfig":
        ClassMap.build(self.classes, self.mapping)  # ValueError names classes / mapping[...]
        return self
