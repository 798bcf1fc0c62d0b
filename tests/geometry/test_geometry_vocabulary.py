"""The model-wide vocabulary: written once in mono3d.geometry, consistent with itself."""

from mono3d.geometry import (
    DEFAULT_CLASSES,
    DEFAULT_NUM_BINS,
    DEFAULT_PRIORS,
    KITTI_CLASS_PRIORS,
    PYRAMID_STRIDES,
)


def test_vocabulary_values():
    assert PYRAMID_STRIDES == (4, 8, 16)
    assert DEFAULT_CLASSES == ("Car", "Pedestrian", "Cyclist")
    assert DEFAULT_NUM_BINS == 12
    assert DEFAULT_PRIORS == ((1.53, 1.63, 3.88), (1.76, 0.66, 0.84), (1.74, 0.60, 1.76))
    assert DEFAULT_PRIORS == tuple(KITTI_CLASS_PRIORS[name] for name in DEFAULT_CLASSES)
