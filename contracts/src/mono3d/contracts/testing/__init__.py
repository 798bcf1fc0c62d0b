"""Hypothesis strategies shared by the tests of every mono3d block.

Shape first: strategies draw dimensions (b, n, h, w, ...) with hypothesis, then fill tensors
from a drawn seed with a ``torch.Generator``, building valid values directly (no ``assume``).
Needs the ``testing`` extra (hypothesis).
"""

from ._profiles import register_profiles as register_profiles
from ._strategies import boxes2d as boxes2d
from ._strategies import boxes3d as boxes3d
from ._strategies import calibs as calibs
from ._strategies import generators as generators
from ._strategies import ground_truths as ground_truths
from ._strategies import image_sizes as image_sizes
from ._strategies import images_bundles as images_bundles
from ._strategies import padded_hw as padded_hw
from ._strategies import yaws as yaws
