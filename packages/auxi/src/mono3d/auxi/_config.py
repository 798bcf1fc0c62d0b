"""Pydantic configs of the target builder: data only, nested (never inherited); the target
functions take the same values as plain keyword arguments."""

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mono3d.geometry import DEFAULT_NUM_BINS, DEFAULT_PRIORS


def _check_thresholds(fg_iou_thresh: float, bg_iou_thresh: float) -> None:
    if bg_iou_thresh > fg_iou_thresh:
        raise ValueError(
            f"bg_iou_thresh ({bg_iou_thresh}) must not exceed fg_iou_thresh ({fg_iou_thresh})"
        )


class AnchorTargetConfig(BaseModel):
    """Anchor targets (``make_feature``), torchvision RPN defaults.

    fg_iou_thresh: IoU >= this with an object is positive. bg_iou_thresh: best IoU < this is
    negative; in between is ignored. allow_low_quality_matches: each object's highest-IoU
    anchor(s) are positive too (if that IoU > 0). ignore_ioa_thresh: a non-positive anchor
    whose intersection with an ignore row covers more than this fraction of its own area
    (or whose IoU with it is >= bg_iou_thresh) is ignored. batch_size_per_image /
    positive_fraction: balanced sampling (None: keep every candidate, no sampling).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    fg_iou_thresh: float = Field(0.7, ge=0.0, le=1.0)
    bg_iou_thresh: float = Field(0.3, ge=0.0, le=1.0)
    allow_low_quality_matches: bool = True
    ignore_ioa_thresh: float = Field(0.5, ge=0.0, le=1.0)
    batch_size_per_image: int | None = Field(256, ge=1)
    positive_fraction: float = Field(0.5, gt=0.0, le=1.0)

    @model_validator(mode="after")
    def _thresholds_ordered(self) -> "AnchorTargetConfig":
        _check_thresholds(self.fg_iou_thresh, self.bg_iou_thresh)
        return self


#: ProposalTargetConfig fields the detector reads when it joins the ground truth to the
#: proposals (the target builder does not: ``make_align`` takes the others)
JOIN_FIELDS: frozenset[str] = frozenset({"gt_jitter_copies", "gt_jitter_scale"})


class ProposalTargetConfig(BaseModel):
    """Proposal targets (``make_align``), torchvision box-head defaults: fg IoU >= 0.5, bg
    [0, 0.5), no low-quality matches, 512 sampled per image at 25 % positives; ignore rows
    as for anchors.

    min_height_3d / max_depth_3d: positives whose object's 2D box is under this many pixels
    tall, or whose camera z is beyond this many metres (None: no limit), get no 3D, yaw or
    depth-uncertainty supervision (``object3d`` -1); classification and 2D refinement keep
    them. Defaults for full-size KITTI images: 20 px (the moderate class starts at 25) and
    65 m (MonoDLE's cut).

    gt_jitter_copies / gt_jitter_scale: in training the detector appends the ground-truth
    boxes to the proposals (torchvision) and, with ``gt_jitter_copies`` > 0, that many
    jittered copies of each (every edge moved by a normal draw of ``gt_jitter_scale`` times
    the box's side, from the step's generator; PointRCNN's RoI augmentation), so that every
    object has positives near its own box, the distribution the head sees at test time,
    however few RPN proposals it gets. 0 (default): the boxes alone.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    fg_iou_thresh: float = Field(0.5, ge=0.0, le=1.0)
    bg_iou_thresh: float = Field(0.5, ge=0.0, le=1.0)
    allow_low_quality_matches: bool = False
    ignore_ioa_thresh: float = Field(0.5, ge=0.0, le=1.0)
    batch_size_per_image: int | None = Field(512, ge=1)
    positive_fraction: float = Field(0.25, gt=0.0, le=1.0)
    min_height_3d: float = Field(20.0, ge=0.0)
    max_depth_3d: float | None = Field(65.0, gt=0.0)
    gt_jitter_copies: int = Field(0, ge=0)
    gt_jitter_scale: float = Field(0.05, gt=0.0, le=0.5)

    @model_validator(mode="after")
    def _thresholds_ordered(self) -> "ProposalTargetConfig":
        _check_thresholds(self.fg_iou_thresh, self.bg_iou_thresh)
        return self


class AuxiConfig(BaseModel):
    """Everything the target builder needs: per-stage matching/sampling, the class priors
    (h, w, l metres, one per object class in class order: index 0 is class 1) and the
    number of yaw bins (by default the model-wide ``DEFAULT_PRIORS`` and ``DEFAULT_NUM_BINS``
    of mono3d.geometry)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    anchor: AnchorTargetConfig = AnchorTargetConfig()
    proposal: ProposalTargetConfig = ProposalTargetConfig()
    priors: tuple[tuple[float, float, float], ...] = Field(DEFAULT_PRIORS, min_length=1)
    num_bins: int = Field(DEFAULT_NUM_BINS, ge=1)

    @model_validator(mode="after")
    def _priors_positive(self) -> "AuxiConfig":
        for k, prior in enumerate(self.priors):
            if not all(value > 0 for value in prior):
                raise ValueError(f"priors[{k}] must be positive (h, w, l) metres, got {prior}")
        return self


#: the default stage configs (frozen, shared as argument defaults)
DEFAULT_ANCHOR_TARGETS = AnchorTargetConfig()
DEFAULT_PROPOSAL_TARGETS = ProposalTargetConfig()
