"""mono3d.data: KITTI datasets (the text formats come from :mod:`mono3d.kitti`, re-exported
here), geometry-true augmentation, batching, dataset statistics.

The synthetic KITTI-format scene generator lives in :mod:`mono3d.data.synthetic`.
"""

from mono3d.kitti import LABEL_FIELDS as LABEL_FIELDS
from mono3d.kitti import KittiCalib as KittiCalib
from mono3d.kitti import KittiFormatError as KittiFormatError
from mono3d.kitti import KittiObject as KittiObject
from mono3d.kitti import format_kitti_object as format_kitti_object
from mono3d.kitti import parse_kitti_calib as parse_kitti_calib
from mono3d.kitti import parse_kitti_label as parse_kitti_label
from mono3d.kitti import read_kitti_calib as read_kitti_calib
from mono3d.kitti import read_kitti_label as read_kitti_label
from mono3d.kitti import write_kitti_calib as write_kitti_calib
from mono3d.kitti import write_kitti_label as write_kitti_label

from ._augment import Compose as Compose
from ._augment import PhotometricJitter as PhotometricJitter
from ._augment import RandomHorizontalFlip as RandomHorizontalFlip
from ._augment import RandomScaleCrop as RandomScaleCrop
from ._augment import adjust_photometric as adjust_photometric
from ._augment import crop as crop
from ._augment import hflip as hflip
from ._augment import resize as resize
from ._classes import DEFAULT_CLASSES as DEFAULT_CLASSES
from ._classes import ClassMap as ClassMap
from ._config import AugmentConfig as AugmentConfig
from ._config import DataConfig as DataConfig
from ._convert import detections_to_kitti as detections_to_kitti
from ._convert import labels_to_sample as labels_to_sample
from ._convert import write_kitti_results as write_kitti_results
from ._dataset import KittiDataset as KittiDataset
from ._dataset import read_image as read_image
from ._priors import class_priors as class_priors
from ._sample import IGNORE_BOX3D as IGNORE_BOX3D
from ._sample import Batch as Batch
from ._sample import Sample as Sample
from ._sample import collate as collate
from ._version import __version__ as __version__

__all__ = [
    "DEFAULT_CLASSES",
    "IGNORE_BOX3D",
    "LABEL_FIELDS",
    "AugmentConfig",
    "Batch",
    "ClassMap",
    "Compose",
    "DataConfig",
    "KittiCalib",
    "KittiDataset",
    "KittiFormatError",
    "KittiObject",
    "PhotometricJitter",
    "RandomHorizontalFlip",
    "RandomScaleCrop",
    "Sample",
    "__version__",
    "adjust_photometric",
    "class_priors",
    "collate",
    "crop",
    "detections_to_kitti",
    "format_kitti_object",
    "hflip",
    "labels_to_sample",
    "parse_kitti_calib",
    "parse_kitti_label",
    "read_image",
    "read_kitti_calib",
    "read_kitti_label",
    "resize",
    "write_kitti_calib",
    "write_kitti_label",
    "write_kitti_results",
]
