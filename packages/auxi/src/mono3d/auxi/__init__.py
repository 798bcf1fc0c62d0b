"""mono3d.auxi: training targets of the two-stage detector.

``make_feature`` matches every anchor to the ground truth and samples a balanced set (as a
1 / 0 / -1 mask), ``make_align`` does the same for the proposals and encodes the 3D and yaw
targets, ``make_auxi`` builds both, and ``select_class_from_prediction`` reduces the
class-specific head outputs to each proposal's GT class. ``TargetBuilder`` binds a config.
"""

from mono3d.geometry import DEFAULT_NUM_BINS as DEFAULT_NUM_BINS
from mono3d.geometry import DEFAULT_PRIORS as DEFAULT_PRIORS
from mono3d.geometry import priors_tensor as priors_tensor

from ._builder import TargetBuilder as TargetBuilder
from ._config import JOIN_FIELDS as JOIN_FIELDS
from ._config import AnchorTargetConfig as AnchorTargetConfig
from ._config import AuxiConfig as AuxiConfig
from ._config import ProposalTargetConfig as ProposalTargetConfig
from ._select import select_class_from_prediction as select_class_from_prediction
from ._targets import make_align as make_align
from ._targets import make_auxi as make_auxi
from ._targets import make_feature as make_feature
from ._version import __version__ as __version__

__all__ = [
    "DEFAULT_NUM_BINS",
    "DEFAULT_PRIORS",
    "JOIN_FIELDS",
    "AnchorTargetConfig",
    "AuxiConfig",
    "ProposalTargetConfig",
    "TargetBuilder",
    "__version__",
    "make_align",
    "make_auxi",
    "make_feature",
    "priors_tensor",
    "select_class_from_prediction",
]
