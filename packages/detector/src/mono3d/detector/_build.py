"""From a ``DetectorConfig`` to modules: the one place configs become constructor arguments."""

from mono3d.auxi import priors_tensor
from mono3d.backbone import STAGE_CHANNELS, ResNet
from mono3d.head import RoIHead
from mono3d.neck import FPN
from mono3d.rpn import RPN

from ._config import DetectorConfig
from ._criterion import Criterion
from ._detector import Detector


def build_detector(config: DetectorConfig) -> Detector:
    """The Detector a config describes (weights as ``config.backbone.weights`` says)."""
    backbone = ResNet.from_config(config.backbone)
    neck = FPN.from_config(config.neck, in_channels=STAGE_CHANNELS[config.backbone.depth])
    rpn = RPN.from_config(config.rpn, in_channels=config.neck.out_channels)
    head = RoIHead.from_config(config.head, in_channels=config.neck.out_channels)
    return Detector(
        backbone=backbone,
        neck=neck,
        rpn=rpn,
        head=head,
        priors=priors_tensor(config.class_priors()),
        score_thresh=config.postprocess.score_thresh,
        nms_thresh=config.postprocess.nms_thresh,
        detections_per_image=config.postprocess.detections_per_image,
    )


def build_criterion(config: DetectorConfig) -> Criterion:
    """The Criterion (targets + six losses) a config describes."""
    return Criterion(
        priors=config.class_priors(),
        num_bins=config.num_bins,
        anchor_targets=config.anchor_targets,
        proposal_targets=config.proposal_targets,
        weights={str(term): weight for term, weight in config.loss.weights.items()},
        beta=config.loss.beta,
    )
