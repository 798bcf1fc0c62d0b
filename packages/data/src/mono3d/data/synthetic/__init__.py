"""mono3d.data.synthetic: KITTI-format synthetic scenes (shaded cuboids on a ground plane).

``SceneGenerator().scene(seed, index)`` renders one frame in memory;
``write_dataset(root, n, seed=...)`` writes a KITTI-format folder; ``write_layouts`` renders
the object layouts of an existing KITTI folder.
"""

from ._camera import KITTI_IMAGE_SIZE as KITTI_IMAGE_SIZE
from ._camera import KITTI_P2 as KITTI_P2
from ._camera import synthetic_calib as synthetic_calib
from ._classes import BASE_COLOURS as BASE_COLOURS
from ._classes import DEFAULT_CLASS_WEIGHTS as DEFAULT_CLASS_WEIGHTS
from ._classes import KITTI_SIZES as KITTI_SIZES
from ._config import SyntheticConfig as SyntheticConfig
from ._dataset import SyntheticDataset as SyntheticDataset
from ._render import FACES as FACES
from ._render import Rendering as Rendering
from ._render import cuboid_corners as cuboid_corners
from ._render import render_cuboids as render_cuboids
from ._scene import Layout as Layout
from ._scene import SceneGenerator as SceneGenerator
from ._scene import SyntheticFrame as SyntheticFrame
from ._scene import write_splits as write_splits
