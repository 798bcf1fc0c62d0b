"""Synthetic KITTI-like annos for tests and benchmarks of mono3d.eval (numpy, seeded)."""

from ._scenes import KITTI_P2 as KITTI_P2
from ._scenes import jitter_annos as jitter_annos
from ._scenes import make_anno as make_anno
from ._scenes import synthetic_dataset as synthetic_dataset
from ._scenes import synthetic_ground_truth as synthetic_ground_truth
