"""mono3d.geometry: box ops, camera projection, 2D/3D/yaw codecs, 3D corners, rotated IoU.

All functions are torch-only, batched over leading dims, vectorised (no Python loop over
boxes) and differentiable where that makes sense. Shapes use the contract glossary
(``mono3d.contracts``); conventions are those of docs/DESIGN.md §2 and §4.
"""

from ._angles import alpha_from_rotation_y as alpha_from_rotation_y
from ._angles import rotation_y_from_alpha as rotation_y_from_alpha
from ._angles import wrap_angle as wrap_angle
from ._augment import crop_box2d as crop_box2d
from ._augment import crop_calib as crop_calib
from ._augment import flip_box2d as flip_box2d
from ._augment import flip_box3d as flip_box3d
from ._augment import flip_calib as flip_calib
from ._augment import flip_yaw as flip_yaw
from ._augment import scale_box2d as scale_box2d
from ._augment import scale_calib as scale_calib
from ._boxes2d import box_area as box_area
from ._boxes2d import box_iou as box_iou
from ._boxes2d import clip_boxes as clip_boxes
from ._boxes3d import box3d_center as box3d_center
from ._boxes3d import box3d_corners as box3d_corners
from ._boxes3d import boxes7 as boxes7
from ._boxes3d import project_box3d as project_box3d
from ._camera import MIN_DEPTH as MIN_DEPTH
from ._camera import project_points as project_points
from ._camera import unproject_points as unproject_points
from ._codec3d import decode_box3d as decode_box3d
from ._codec3d import encode_box3d as encode_box3d
from ._coder import DEFAULT_DEPTH_REFERENCE as DEFAULT_DEPTH_REFERENCE
from ._coder import DEFAULT_REFINE_BOX2D as DEFAULT_REFINE_BOX2D
from ._coder import DEFAULT_REFINE_WEIGHTS as DEFAULT_REFINE_WEIGHTS
from ._coder import DEPTH_REFERENCES as DEPTH_REFERENCES
from ._coder import BoxCoder as BoxCoder
from ._coder import DepthReference as DepthReference
from ._coder import priors_tensor as priors_tensor
from ._delta2d import DEFAULT_DELTA_CLAMP as DEFAULT_DELTA_CLAMP
from ._delta2d import decode_box2d as decode_box2d
from ._delta2d import encode_box2d as encode_box2d
from ._iou3d import bev_iou as bev_iou
from ._iou3d import box3d_iou as box3d_iou
from ._version import __version__ as __version__
from ._vocabulary import DEFAULT_CLASSES as DEFAULT_CLASSES
from ._vocabulary import DEFAULT_NUM_BINS as DEFAULT_NUM_BINS
from ._vocabulary import DEFAULT_PRIORS as DEFAULT_PRIORS
from ._vocabulary import KITTI_CLASS_PRIORS as KITTI_CLASS_PRIORS
from ._vocabulary import PYRAMID_STRIDES as PYRAMID_STRIDES
from ._yaw import decode_yaw as decode_yaw
from ._yaw import encode_yaw as encode_yaw
from ._yaw import yaw_bin_centers as yaw_bin_centers

__all__ = [
    "DEFAULT_CLASSES",
    "DEFAULT_DELTA_CLAMP",
    "DEFAULT_DEPTH_REFERENCE",
    "DEFAULT_NUM_BINS",
    "DEFAULT_PRIORS",
    "DEFAULT_REFINE_BOX2D",
    "DEFAULT_REFINE_WEIGHTS",
    "DEPTH_REFERENCES",
    "KITTI_CLASS_PRIORS",
    "MIN_DEPTH",
    "PYRAMID_STRIDES",
    "BoxCoder",
    "DepthReference",
    "__version__",
    "alpha_from_rotation_y",
    "bev_iou",
    "box3d_center",
    "box3d_corners",
    "box3d_iou",
    "box_area",
    "box_iou",
    "boxes7",
    "clip_boxes",
    "crop_box2d",
    "crop_calib",
    "decode_box2d",
    "decode_box3d",
    "decode_yaw",
    "encode_box2d",
    "encode_box3d",
    "encode_yaw",
    "flip_box2d",
    "flip_box3d",
    "flip_calib",
    "flip_yaw",
    "priors_tensor",
    "project_box3d",
    "project_points",
    "rotation_y_from_alpha",
    "scale_box2d",
    "scale_calib",
    "unproject_points",
    "wrap_angle",
    "yaw_bin_centers",
]
