"""The pydantic config of the synthetic scene generator."""

from pydantic import BaseModel, ConfigDict, Field

from ._camera import KITTI_IMAGE_SIZE
from ._classes import DEFAULT_CLASS_WEIGHTS


class SyntheticConfig(BaseModel):
    """Maps one to one onto :class:`SceneGenerator`'s keyword arguments."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    image_size: tuple[int, int] = KITTI_IMAGE_SIZE
    min_objects: int = Field(default=0, ge=0)
    max_objects: int = Field(default=15, ge=0)
    class_weights: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_CLASS_WEIGHTS))
    depth_range: tuple[float, float] = (4.0, 60.0)
    camera_height: float = Field(default=1.65, gt=0.0)
    jitter_calib: bool = True
    occlusion_thresholds: tuple[float, float] = (0.8, 0.5)
    min_visible_pixels: int = Field(default=20, ge=1)
    lane_markings: bool = True
