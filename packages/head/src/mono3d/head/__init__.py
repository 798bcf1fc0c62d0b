"""mono3d.head: the RoI head — multi-scale RoIAlign over s2/s3/s4, two FC layers and
class-specific 3D logit, MultiBin yaw (residuals and bin logits) and category outputs."""

from ._config import HeadConfig as HeadConfig
from ._roi_head import LEVELS as LEVELS
from ._roi_head import SCALES as SCALES
from ._roi_head import RoIHead as RoIHead
