"""The region proposal network: anchors, head, proposal selection.

Shape shorthand (mono3d.contracts glossary): b batch, h/w padded image size, c neck
channels, N anchors per image (all levels), Nhd proposals per image (padded).
"""

from collections.abc import Sequence

from torch import nn

from mono3d.contracts import (
    ContractError,
    Images,
    NeckFeatures,
    RPNOutput,
    checks_enabled,
    contract,
)

from ._anchors import STRIDES, AnchorGenerator
from ._config import RPNConfig
from ._head import RPNHead
from ._proposals import select_proposals

_RPN = RPNConfig()


class RPN(nn.Module):
    """Per-anchor objectness and deltas on s2/s3/s4, and the selected proposals.

    Keyword-only arguments (defaults: :class:`RPNConfig`'s, after torchvision's Faster
    R-CNN, docs/DESIGN.md §5):
        in_channels: the neck's c (a build argument, as torchvision's RPNHead takes it).
        anchor_sizes: per level (s2, s3, s4), anchor sides in pixels.
        aspect_ratios: height / width ratios shared by the levels; A = sizes x ratios.
        pre_nms_top_n_train / _test: anchors kept per level before NMS.
        post_nms_top_n_train / _test: Nhd, proposals per image after NMS.
        nms_thresh: NMS IoU threshold within an image and level.
        min_size: minimum proposal side in pixels after clipping.

    ``self.training`` picks the train or test numbers; the output type is always
    :class:`RPNOutput`. Anchor order (anchors, bbox2d_logit, object_logit): level-major
    (s2, s3, s4), then row-major (y, x) over the level's map, then the A anchors of the
    location (ratio-major, then size).
    """

    def __init__(
        self,
        *,
        in_channels: int,  # the neck's c (a build argument: the rpn may not import the neck)
        anchor_sizes: Sequence[Sequence[float]] = _RPN.anchor_sizes,
        aspect_ratios: Sequence[float] = _RPN.aspect_ratios,
        pre_nms_top_n_train: int = _RPN.pre_nms_top_n_train,
        pre_nms_top_n_test: int = _RPN.pre_nms_top_n_test,
        post_nms_top_n_train: int = _RPN.post_nms_top_n_train,
        post_nms_top_n_test: int = _RPN.post_nms_top_n_test,
        nms_thresh: float = _RPN.nms_thresh,
        min_size: float = _RPN.min_size,
    ) -> None:
        super().__init__()
        counts = {
            "pre_nms_top_n_train": pre_nms_top_n_train,
            "pre_nms_top_n_test": pre_nms_top_n_test,
            "post_nms_top_n_train": post_nms_top_n_train,
            "post_nms_top_n_test": post_nms_top_n_test,
        }
        for name, value in counts.items():
            if value < 1:
                raise ValueError(f"{name}={value!r}: expected a positive count")
        if not 0.0 < nms_thresh <= 1.0:
            raise ValueError(f"nms_thresh={nms_thresh!r}: expected a value in (0, 1]")
        self.anchor_generator = AnchorGenerator(
            sizes=anchor_sizes, aspect_ratios=aspect_ratios, strides=STRIDES
        )
        self.head = RPNHead(
            in_channels=in_channels, num_anchors=self.anchor_generator.num_anchors_per_location
        )
        self.in_channels = in_channels
        self.pre_nms_top_n_train, self.pre_nms_top_n_test = pre_nms_top_n_train, pre_nms_top_n_test
        self.post_nms_top_n_train = post_nms_top_n_train
        self.post_nms_top_n_test = post_nms_top_n_test
        self.nms_thresh, self.min_size = float(nms_thresh), float(min_size)

    @classmethod
    def from_config(cls, cfg: RPNConfig, *, in_channels: int) -> "RPN":
        """The RPN an :class:`RPNConfig` describes (every field, forwarded as is), on a neck
        with ``in_channels``."""
        return cls(in_channels=in_channels, **dict(cfg))

    @property
    def num_anchors_per_location(self) -> int:
        """A, anchors per feature-map location."""
        return self.anchor_generator.num_anchors_per_location

    @property
    def pre_nms_top_n(self) -> int:
        """Anchors kept per level before NMS, in the current mode."""
        return self.pre_nms_top_n_train if self.training else self.pre_nms_top_n_test

    @property
    def num_proposals(self) -> int:
        """Nhd in the current mode (post_nms_top_n_train or _test)."""
        return self.post_nms_top_n_train if self.training else self.post_nms_top_n_test

    @contract
    def forward(self, features: NeckFeatures, images: Images) -> RPNOutput:
        """features: the neck's s2/s3/s4 for ``images`` (only its padded size (h, w) and
        ``image_size`` are used).

        Returns an :class:`RPNOutput`: anchors (b, N, 4) (an expanded view of one (N, 4)
        tensor; do not write into it), bbox2d_logit (b, N, 4), object_logit (b, N, 1) in the
        head's dtype (bfloat16 under autocast), with gradient; bbox2d (b, Nhd, 4),
        bbox2d_object (b, Nhd, 1), valid (b, Nhd): float32, detached, padded rows zero.
        """
        b, _, h, w = images.images.shape
        if checks_enabled():  # MONO3D_CHECKS=0: off, as the contract's own checks
            self._check_features(features, b, h, w)
        object_logit, bbox2d_logit = self.head(features)
        anchors = self.anchor_generator.grid_anchors(h, w, object_logit.device)
        bbox2d, bbox2d_object, valid = select_proposals(
            anchors,
            object_logit,
            bbox2d_logit,
            images.image_size,
            anchors_per_level=self.anchor_generator.num_anchors_per_level(h, w),
            pre_nms_top_n=self.pre_nms_top_n,
            post_nms_top_n=self.num_proposals,
            nms_thresh=self.nms_thresh,
            min_size=self.min_size,
        )
        return RPNOutput(
            anchors=anchors.expand(b, -1, -1),
            bbox2d_logit=bbox2d_logit,
            object_logit=object_logit,
            bbox2d=bbox2d,
            bbox2d_object=bbox2d_object,
            valid=valid,
        )

    def _check_features(self, features: NeckFeatures, b: int, h: int, w: int) -> None:
        got = tuple(features.s2.shape)
        expected = (b, self.in_channels, h // STRIDES[0], w // STRIDES[0])
        if got != expected:
            raise ContractError(
                f"RPN.forward: features: s2 has shape {got}, but images "
                f"{(b, 3, h, w)} and in_channels={self.in_channels} need {expected} "
                "(b c h/4 w/4)"
            )
