"""mono3d.head: the RoI head — multi-scale RoIAlign over s2/s3/s4, two FC layers and
class-specific 2D refinement, 3D logit with its depth uncertainty, MultiBin yaw (residuals and
bin logits) and category outputs; the 3D outputs also read the proposal's geometry."""

from ._config import HeadConfig as HeadConfig
from ._geometry import GEOMETRY_FEATURES as GEOMETRY_FEATURES
from ._geometry import proposal_geometry as proposal_geometry
from ._roi_align import PyramidRoIAlign as PyramidRoIAlign
from ._roi_head import RoIHead as RoIHead
from ._version import __version__ as __version__

__all__ = [
    "GEOMETRY_FEATURES",
    "HeadConfig",
    "PyramidRoIAlign",
    "RoIHead",
    "__version__",
    "proposal_geometry",
]
