"""mono3d.losses: the eight training losses of the detector, as small stateless modules.

Each reads the ``object`` targets of mono3d.auxi (1 positive, 0 negative, -1 ignored or not
sampled), computes in float32, leaves masked rows out with ``torch.where`` (NaN-safe, zero
gradient) and returns a 0-d tensor normalised by a count clamped at >= 1.
"""

from ._classification import Category as Category
from ._classification import Objectness as Objectness
from ._classification import YawCategory as YawCategory
from ._masks import Normalizer as Normalizer
from ._regression import DEFAULT_BETA as DEFAULT_BETA
from ._regression import LOG_SIGMA_RANGE as LOG_SIGMA_RANGE
from ._regression import Box2dRefinement as Box2dRefinement
from ._regression import Box2dRegression as Box2dRegression
from ._regression import Box3dRegression as Box3dRegression
from ._regression import DepthUncertainty as DepthUncertainty
from ._regression import YawRegression as YawRegression
from ._version import __version__ as __version__

__all__ = [
    "DEFAULT_BETA",
    "LOG_SIGMA_RANGE",
    "Box2dRefinement",
    "Box2dRegression",
    "Box3dRegression",
    "Category",
    "DepthUncertainty",
    "Normalizer",
    "Objectness",
    "YawCategory",
    "YawRegression",
    "__version__",
]
