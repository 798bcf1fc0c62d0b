"""mono3d.neck: a feature pyramid (torchvision FeaturePyramidNetwork) over the backbone's
s2/s3/s4, returning ``NeckFeatures`` with c channels at strides 4/8/16."""

from ._config import NeckConfig as NeckConfig
from ._fpn import FPN as FPN
from ._version import __version__ as __version__

__all__ = [
    "FPN",
    "NeckConfig",
    "__version__",
]
