"""The model-wide vocabulary: values that several blocks read, written once here.

mono3d.geometry is the lowest package that every reader (rpn, head, auxi, detector, data,
eval) may import (docs/DESIGN.md §1); each block's own defaults live in its config.
"""

from typing import Final

#: strides in pixels of the pyramid levels s2, s3, s4 (the fields of ``NeckFeatures``)
PYRAMID_STRIDES: Final[tuple[int, int, int]] = (4, 8, 16)

#: the default object classes; category k (1-based) is ``DEFAULT_CLASSES[k - 1]``, 0 background
DEFAULT_CLASSES: Final[tuple[str, ...]] = ("Car", "Pedestrian", "Cyclist")

#: KITTI mean (h, w, l) in metres of the usual classes (docs/DESIGN.md §4)
KITTI_CLASS_PRIORS: Final[dict[str, tuple[float, float, float]]] = {
    "Car": (1.53, 1.63, 3.88),
    "Pedestrian": (1.76, 0.66, 0.84),
    "Cyclist": (1.74, 0.60, 1.76),
    "Van": (2.21, 1.90, 5.08),
    "Truck": (3.25, 2.59, 10.11),
    "Person_sitting": (1.27, 0.59, 0.80),
    "Tram": (3.53, 2.54, 16.09),
}

#: the (h, w, l) priors of ``DEFAULT_CLASSES``, in class order (class 1 first)
DEFAULT_PRIORS: Final[tuple[tuple[float, float, float], ...]] = tuple(
    KITTI_CLASS_PRIORS[name] for name in DEFAULT_CLASSES
)

#: the default number B of MultiBin yaw bins (docs/DESIGN.md §4)
DEFAULT_NUM_BINS: Final[int] = 12
