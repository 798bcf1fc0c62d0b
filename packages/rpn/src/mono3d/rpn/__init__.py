"""mono3d.rpn: anchors on s2/s3/s4, the RPN head (objectness + deltas per anchor) and the
proposal selection (decode, clip, drop tiny, per-level top-k, batched NMS, pad to Nhd)."""

from ._anchors import STRIDES as STRIDES
from ._anchors import AnchorGenerator as AnchorGenerator
from ._anchors import base_anchors as base_anchors
from ._config import RPNConfig as RPNConfig
from ._head import RPNHead as RPNHead
from ._nms import nms_keep_mask as nms_keep_mask
from ._proposals import select_proposals as select_proposals
from ._rpn import RPN as RPN
from ._version import __version__ as __version__

__all__ = [
    "RPN",
    "STRIDES",
    "AnchorGenerator",
    "RPNConfig",
    "RPNHead",
    "__version__",
    "base_anchors",
    "nms_keep_mask",
    "select_proposals",
]
