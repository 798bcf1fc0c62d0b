"""``DetectorConfig``: the whole model as data, composed of each block's own config.

The object classes and yaw bins are stated once here (their defaults are the model-wide
vocabulary of mono3d.geometry); the head's output sizes (C = classes + 1, B) and the target
builder's priors are derived from them when the model is built, never stored. Each block's
defaults are its own config's.
"""

import pathlib
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, model_validator

from mono3d.auxi import AnchorTargetConfig, ProposalTargetConfig
from mono3d.backbone import BackboneConfig
from mono3d.contracts import LossOutput
from mono3d.geometry import (
    DEFAULT_CLASSES,
    DEFAULT_DEPTH_REFERENCE,
    DEFAULT_NUM_BINS,
    DEFAULT_REFINE_BOX2D,
    DEFAULT_REFINE_WEIGHTS,
    KITTI_CLASS_PRIORS,
    DepthReference,
)
from mono3d.head import HeadConfig
from mono3d.losses import DEFAULT_BETA, Normalizer
from mono3d.neck import NeckConfig
from mono3d.rpn import RPNConfig

from ._config_io import load_config

#: KITTI mean (h, w, l) in metres of the usual classes: mono3d.geometry's
#: ``KITTI_CLASS_PRIORS`` (the same object; docs/DESIGN.md section 4)
DEFAULT_CLASS_PRIORS: dict[str, tuple[float, float, float]] = KITTI_CLASS_PRIORS

#: a loss term's name: one of ``LossOutput.TERMS`` (the bundle is their one home)
LossTerm = Literal[LossOutput.TERMS]  # type: ignore[valid-type]
#: what trains the depth logit dz, and what the post-processing ranks by
Depth = Literal["huber", "laplacian"]
DEPTHS: tuple[str, ...] = get_args(Depth)
Score = Literal["2d", "3d"]
SCORES: tuple[str, ...] = get_args(Score)
#: the head sizes older resolved configs stored under ``head`` (now derived build arguments)
_STORED_HEAD_SIZES: tuple[str, ...] = ("num_classes", "num_bins")


class LossConfig(BaseModel):
    """Loss weights per term (missing terms weigh 1), the Huber beta of the regressions and
    what the head's 3D, yaw-residual and depth-uncertainty losses are divided by:
    ``positive`` (the positive proposals, as Cube R-CNN averages its 3D losses over the
    foreground) or ``sampled`` (every sampled proposal, torchvision's box-head rule, which
    weighs each positive 1 / (sampled / positive) times less).

    depth: what trains the depth logit dz. ``laplacian`` (GUPNet, MonoDLE): the depth
    uncertainty's Laplacian NLL alone, on the residual of the *decoded* log-depth (with the
    ``box2d`` depth reference that includes the refined box's height error), so sigma
    models the error the 3D score ranks and confident (near, large) objects weigh most;
    the Huber 3D term then covers du, dv and the sizes. ``huber``: dz is one of the six
    Huber numbers and the NLL trains sigma alone on the dz residual (the head before this
    option).

    depth_nll_beta: the depth NLL's rows weighed by sigma ** beta, a constant (beta-NLL,
    Seitzer et al. 2022; ``mono3d.losses.DepthUncertainty``'s ``nll_beta``): 0 is the plain
    NLL, whose 1 / sigma lets the objects already fitted dominate the depth gradient; 1 an
    L1 on every object, sigma still learnt to the same optimum."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    weights: dict[LossTerm, float] = Field(default_factory=dict)
    beta: float = Field(DEFAULT_BETA, ge=0.0)
    normalizer: Normalizer = "positive"
    depth: Depth = "laplacian"
    depth_nll_beta: float = Field(0.0, ge=0.0, le=1.0)


class PostprocessConfig(BaseModel):
    """Detection post-processing (torchvision's box-head defaults) and the score: the one
    home of the defaults of ``Detector`` and ``postprocess``.

    score: ``3d`` ranks detections by ``p_cls * exp(-sigma_z)``, sigma_z = z * exp(s) the
    predicted depth uncertainty in metres (s the head's depth log-sigma); ``2d`` by the
    class probability alone. Either way a candidate needs p_cls > score_thresh.

    vote_iou: box voting (Detectron's ``TEST.BBOX_VOTE``, whose threshold is 0.8): each
    detection's 2D and 3D box become the score-weighted means over the candidates of its
    class overlapping it at 2D IoU >= vote_iou (the duplicates NMS suppressed); its score,
    class and alpha stay its own. None: off.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    score_thresh: float = Field(0.05, ge=0.0, lt=1.0)
    nms_thresh: float = Field(0.5, gt=0.0, le=1.0)
    detections_per_image: int = Field(100, ge=1)
    score: Score = "3d"
    vote_iou: float | None = Field(None, gt=0.0, le=1.0)


class CoderConfig(BaseModel):
    """The box coder shared by targets and decoding (``mono3d.geometry.BoxCoder``; the
    defaults are the coder's own, ``DEFAULT_REFINE_WEIGHTS`` / ``DEFAULT_REFINE_BOX2D`` /
    ``DEFAULT_DEPTH_REFERENCE`` of mono3d.geometry).

    refine_weights: (wx, wy, ww, wh) of the head's 2D refinement deltas (Fast R-CNN's
    10, 10, 5, 5). refine_box2d: detections report the refined 2D box (else the proposal).
    depth_reference: the 3D logit is relative to the object's 2D box (``box2d``: the matched
    box in training, the refined box at test time) or to the proposal (``proposal``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    refine_weights: tuple[PositiveFloat, PositiveFloat, PositiveFloat, PositiveFloat] = (
        DEFAULT_REFINE_WEIGHTS
    )
    refine_box2d: bool = DEFAULT_REFINE_BOX2D
    depth_reference: DepthReference = DEFAULT_DEPTH_REFERENCE

    @model_validator(mode="after")
    def _box2d_reference_needs_refinement(self) -> "CoderConfig":
        if self.depth_reference == "box2d" and not self.refine_box2d:
            raise ValueError(
                "depth_reference 'box2d' decodes against the refined 2D box: set "
                "refine_box2d true or depth_reference 'proposal'"
            )
        return self


class DetectorConfig(BaseModel):
    """Everything needed to build a Detector and its Criterion.

    classes: object class names; category k (1-based) is ``classes[k-1]``, 0 background.
    priors: (h, w, l) metres per class name; classes not listed take the KITTI means in
    ``DEFAULT_CLASS_PRIORS``. num_bins: MultiBin yaw bins B. The default classes and bins
    are the model-wide ``DEFAULT_CLASSES`` and ``DEFAULT_NUM_BINS`` of mono3d.geometry.
    The head's output sizes (C = ``num_categories``, B = ``num_bins``) are derived from
    them and passed to the head as build arguments (``build_detector``); they are not
    ``head`` settings. A ``head.num_classes`` / ``head.num_bins`` stored by an older resolved
    config is accepted when it agrees and dropped; a contradicting one is refused.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    classes: tuple[str, ...] = Field(DEFAULT_CLASSES, min_length=1)
    priors: dict[str, tuple[PositiveFloat, PositiveFloat, PositiveFloat]] = Field(
        default_factory=dict
    )
    num_bins: int = Field(DEFAULT_NUM_BINS, ge=1)
    backbone: BackboneConfig = BackboneConfig()
    neck: NeckConfig = NeckConfig()
    rpn: RPNConfig = RPNConfig()
    head: HeadConfig = HeadConfig()
    anchor_targets: AnchorTargetConfig = AnchorTargetConfig()
    proposal_targets: ProposalTargetConfig = ProposalTargetConfig()
    loss: LossConfig = LossConfig()
    postprocess: PostprocessConfig = PostprocessConfig()
    coder: CoderConfig = CoderConfig()

    @model_validator(mode="before")
    @classmethod
    def _stored_head_sizes_agree(cls, data: Any) -> Any:
        """Resolved configs written before C and B became build arguments (a run's
        config.yaml, a checkpoint's config) hold ``head.num_classes`` / ``head.num_bins``:
        each is accepted only when it agrees with ``classes`` / ``num_bins``, and dropped."""
        if not isinstance(data, dict):
            return data
        head = data.get("head")
        if not isinstance(head, dict) or not any(k in head for k in _STORED_HEAD_SIZES):
            return data
        # an invalid classes / num_bins is left to its own field's error
        expected: dict[str, tuple[int, str]] = {}
        classes = data.get("classes", cls.model_fields["classes"].default)
        if isinstance(classes, (list, tuple)):
            expected["num_classes"] = (len(classes) + 1, f"classes {list(classes)} give C =")
        num_bins = data.get("num_bins", cls.model_fields["num_bins"].default)
        if type(num_bins) is int:
            expected["num_bins"] = (num_bins, "num_bins is")
        for name, (value, source) in expected.items():
            given = head.get(name, value)
            if type(given) is not int or given != value:
                raise ValueError(
                    f"head.{name} is {given!r} but {source} {value} (derived from them: "
                    f"leave head.{name} out)"
                )
        return {**data, "head": {k: v for k, v in head.items() if k not in _STORED_HEAD_SIZES}}

    @model_validator(mode="after")
    def _every_class_has_a_prior(self) -> "DetectorConfig":
        if len(set(self.classes)) != len(self.classes):
            raise ValueError(f"classes: duplicate names in {list(self.classes)}")
        missing = [
            c for c in self.classes if c not in self.priors and c not in DEFAULT_CLASS_PRIORS
        ]
        if missing:
            raise ValueError(
                f"priors: no (h, w, l) prior for classes {missing}; add them under priors"
            )
        unused = sorted(set(self.priors) - set(self.classes))
        if unused:
            raise ValueError(f"priors: {unused} are not among classes {list(self.classes)}")
        return self

    @property
    def num_categories(self) -> int:
        """C: object classes + background."""
        return len(self.classes) + 1

    def class_priors(self) -> tuple[tuple[float, float, float], ...]:
        """(h, w, l) of each class, in class order (class 1 first)."""
        return tuple(self.priors.get(c, DEFAULT_CLASS_PRIORS.get(c)) for c in self.classes)  # type: ignore[misc]

    @classmethod
    def from_file(
        cls, path: str | pathlib.Path, overrides: list[str] | None = None
    ) -> "DetectorConfig":
        """Read a YAML or JSON file (``yaml.safe_load``), apply ``dotted.key=value``
        overrides; a ``ConfigError`` names the file and every bad dotted field."""
        return load_config(cls, path, overrides)
