"""The RoI head's configuration (data only; ``RoIHead.from_config`` maps it to arguments)."""

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

#: whose box the 3D branch reads (its geometry, its RoIAlign crop)
Source = Literal["proposal", "refined"]
SOURCES: tuple[str, ...] = get_args(Source)
#: which fc6/fc7 the 3D, uncertainty and yaw outputs read
Tower = Literal["shared", "separate"]
TOWERS: tuple[str, ...] = get_args(Tower)


class HeadConfig(BaseModel):
    """RoI head settings: the one home of the head's defaults (torchvision's box head).

    The output sizes are not settings: C (categories incl. background) and B (yaw bins) are
    derived from the model's classes and bins, so ``RoIHead.from_config`` takes them as build
    arguments (a ``DetectorConfig`` passes ``len(classes) + 1`` and its ``num_bins``).

    roi_size: side of the RoIAlign output. sampling_ratio: RoIAlign samples per bin.
    fc_dim: width of the two fully connected layers.
    canonical_scale / canonical_level: FPN level mapping; a box of sqrt(area) =
        canonical_scale pixels pools from level canonical_level (4 = s4, stride 16).
    geometry: the 3D outputs also read the proposal's intrinsics-normalised geometry
        (edges as ray slopes, log size; the head then needs the calib). geometry_dim: width
        of the two layers that embed it. geometry_source: whose geometry, the
        proposal's or its refined box's (``refined``: the head's own 2D deltas applied, no
        gradient; less proposal jitter). pool_3d: whose RoIAlign crop the 3D, uncertainty
        and yaw outputs read, the proposal's or its refined box's (``refined``: pooled a
        second time). tower_3d: whose fc6/fc7 that crop goes through: the category/2D
        tower's (``shared``) or a second pair of the same size (``separate``, Cube R-CNN's
        separate cube head: the depth NLL, whose gradient grows as its sigma shrinks, no
        longer pulls the features the category and 2D refinement read).
    rows_3d_inference: with ``pool_3d: refined``, at inference only this many rows per
        image (P, static), those with the highest object-class probability, are pooled
        again and get 3D, uncertainty and yaw outputs; the others are marked in
        ``HeadOutput.has_3d`` and make no detection (Mask R-CNN runs its mask head on the
        detections only, Cube R-CNN its cube head likewise). None: every row.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    roi_size: int = Field(default=7, ge=1)
    sampling_ratio: int = Field(default=2, ge=0)
    fc_dim: int = Field(default=1024, ge=1)
    canonical_scale: int = Field(default=224, ge=1)
    canonical_level: int = Field(default=4, ge=0)
    geometry: bool = True
    geometry_dim: int = Field(default=64, ge=1)
    geometry_source: Source = "refined"
    pool_3d: Source = "refined"
    tower_3d: Tower = "separate"
    rows_3d_inference: int | None = Field(default=100, ge=1)
