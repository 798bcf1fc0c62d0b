"""mono3d.detector: the composition layer.

``Detector`` (backbone -> neck -> RPN -> RoI head; ``predict`` post-processes into
``Detections``), ``Criterion`` (targets, class selection and the eight losses ->
``LossOutput``), ``DetectorConfig`` (the model as data, YAML/JSON with errors naming the dotted
field) and ``build_detector`` / ``build_criterion``.
"""

from ._build import build_coder as build_coder
from ._build import build_criterion as build_criterion
from ._build import build_detector as build_detector
from ._config import DEFAULT_CLASS_PRIORS as DEFAULT_CLASS_PRIORS
from ._config import CoderConfig as CoderConfig
from ._config import DetectorConfig as DetectorConfig
from ._config import LossConfig as LossConfig
from ._config import PostprocessConfig as PostprocessConfig
from ._config_io import ConfigError as ConfigError
from ._config_io import apply_overrides as apply_overrides
from ._config_io import load_config as load_config
from ._config_io import read_mapping as read_mapping
from ._config_io import validate_config as validate_config
from ._criterion import Criterion as Criterion
from ._detector import Detector as Detector
from ._detector import DetectorOutput as DetectorOutput
from ._detector import jittered_copies as jittered_copies
from ._detector import join_ground_truth as join_ground_truth
from ._export import EXPORT_INPUTS as EXPORT_INPUTS
from ._export import EXPORT_OUTPUTS as EXPORT_OUTPUTS
from ._export import DetectorForExport as DetectorForExport
from ._postprocess import postprocess as postprocess
from ._version import __version__ as __version__

__all__ = [
    "DEFAULT_CLASS_PRIORS",
    "EXPORT_INPUTS",
    "EXPORT_OUTPUTS",
    "CoderConfig",
    "ConfigError",
    "Criterion",
    "Detector",
    "DetectorConfig",
    "DetectorForExport",
    "DetectorOutput",
    "LossConfig",
    "PostprocessConfig",
    "__version__",
    "apply_overrides",
    "build_coder",
    "build_criterion",
    "build_detector",
    "jittered_copies",
    "join_ground_truth",
    "load_config",
    "postprocess",
    "read_mapping",
    "validate_config",
]
