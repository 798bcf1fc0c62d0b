"""The RPN's configuration (data only; ``RPN.from_config`` maps it to arguments)."""

from pydantic import BaseModel, ConfigDict, Field, field_validator


class RPNConfig(BaseModel):
    """Region proposal settings (defaults after torchvision's Faster R-CNN, docs/DESIGN.md §5).

    anchor_sizes: anchor sides in pixels for each level (s2, s3, s4); every level has the
        same number of sizes. aspect_ratios: height / width ratios, shared by every level.
        Anchors per location A = len(sizes of a level) * len(aspect_ratios).
    pre_nms_top_n_train / _test: anchors kept per level (by objectness) before NMS.
    post_nms_top_n_train / _test: Nhd, the proposals per image after NMS (padded).
    nms_thresh: IoU above which NMS suppresses (per image and level).
    min_size: proposals with a side below this (pixels, after clipping) are dropped.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    anchor_sizes: tuple[tuple[float, ...], ...] = ((16, 32), (48, 96), (160, 320))
    aspect_ratios: tuple[float, ...] = (0.5, 1.0, 2.0)
    pre_nms_top_n_train: int = Field(default=2000, ge=1)
    pre_nms_top_n_test: int = Field(default=1000, ge=1)
    post_nms_top_n_train: int = Field(default=512, ge=1)
    post_nms_top_n_test: int = Field(default=300, ge=1)
    nms_thresh: float = Field(default=0.7, gt=0.0, le=1.0)
    min_size: float = Field(default=1e-3, ge=0.0)

    @field_validator("anchor_sizes")
    @classmethod
    def _three_levels_of_equal_length(
        cls, sizes: tuple[tuple[float, ...], ...]
    ) -> tuple[tuple[float, ...], ...]:
        if len(sizes) != 3:
            raise ValueError(f"expected 3 levels (s2, s3, s4), got {len(sizes)}")
        if len({len(level) for level in sizes}) != 1 or not sizes[0]:
            raise ValueError("every level needs the same, non-zero number of sizes")
        if min(min(level) for level in sizes) <= 0:
            raise ValueError("anchor sizes must be positive")
        return sizes

    @field_validator("aspect_ratios")
    @classmethod
    def _positive_ratios(cls, ratios: tuple[float, ...]) -> tuple[float, ...]:
        if not ratios or min(ratios) <= 0:
            raise ValueError("expected at least one positive aspect ratio")
        return ratios
