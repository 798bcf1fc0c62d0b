"""From a ``DetectorConfig`` to modules: the one place configs become constructor arguments."""

from mono3d.auxi import TargetBuilder
from mono3d.backbone import STAGE_CHANNELS, ResNet
from mono3d.geometry import BoxCoder
from mono3d.head import RoIHead
from mono3d.neck import FPN
from mono3d.rpn import RPN

from ._config import DetectorConfig
from ._criterion import Criterion
from ._detector import Detector


def build_coder(config: DetectorConfig) -> BoxCoder:
    """The box coder (priors, yaw bins, 2D/3D/yaw codecs) a config describes."""
    return BoxCoder(
        priors=config.class_priors(),
        num_bins=config.num_bins,
        refine_weights=config.coder.refine_weights,
        refine_box2d=config.coder.refine_box2d,
        depth_reference=config.coder.depth_reference,
    )


def build_detector(config: DetectorConfig) -> Detector:
    """The Detector a config describes (weights as ``config.backbone.weights`` says), with
    the config's target builder (training targets sampled before the head); its ``coder``
    is the one to hand to :func:`build_criterion`."""
    backbone = ResNet.from_config(config.backbone)
    neck = FPN.from_config(config.neck, in_channels=STAGE_CHANNELS[config.backbone.depth])
    rpn = RPN.from_config(config.rpn, in_channels=config.neck.out_channels)
    head = RoIHead.from_config(
        config.head,
        in_channels=config.neck.out_channels,
        num_classes=config.num_categories,
        num_bins=config.num_bins,
        refine_weights=config.coder.refine_weights,
    )
    coder = build_coder(config)
    targets = TargetBuilder(
        coder=coder,
        anchor_targets=config.anchor_targets,
        proposal_targets=config.proposal_targets,
    )
    return Detector(
        backbone=backbone,
        neck=neck,
        rpn=rpn,
        head=head,
        coder=coder,
        targets=targets,
        **dict(config.postprocess),  # every post-processing field, as is
    )


def build_criterion(config: DetectorConfig, coder: BoxCoder | None = None) -> Criterion:
    """The Criterion (targets + eight losses) a config describes. Pass the detector's
    ``coder`` (``build_criterion(config, detector.coder)``) so that targets are encoded by
    the very object that decodes; without one an equal coder is built from the config."""
    return Criterion(
        coder=coder if coder is not None else build_coder(config),
        anchor_targets=config.anchor_targets,
        proposal_targets=config.proposal_targets,
        weights={str(term): weight for term, weight in config.loss.weights.items()},
        beta=config.loss.beta,
        normalizer=config.loss.normalizer,
        depth=config.loss.depth,
        depth_nll_beta=config.loss.depth_nll_beta,
    )
