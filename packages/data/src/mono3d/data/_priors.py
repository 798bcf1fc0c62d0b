"""Dataset statistics: per-class mean 3D size, the priors of the 3D logit (docs/DESIGN.md §4)."""

import os
from collections.abc import Mapping, Sequence

import numpy as np

from mono3d.kitti import read_kitti_label

from ._classes import DEFAULT_CLASSES, IGNORE_CATEGORY, ClassMap
from ._dataset import find_frames


def class_priors(
    root: str | os.PathLike[str],
    classes: Sequence[str] = DEFAULT_CLASSES,
    *,
    split: str | None = None,
    mapping: Mapping[str, str] | None = None,
) -> dict[str, tuple[float, float, float]]:
    """Mean (h, w, l) in metres of every class over the labels of a KITTI-format folder.

    Objects are those the dataset would train on (``classes`` and ``mapping`` as in
    :class:`ClassMap`; ignore rows and boxes with a size <= 0 do not count). Raises ValueError
    naming a class that has no object in the split.
    """
    class_map = ClassMap.build(classes, mapping)
    frames = find_frames(root, split, require_labels=True)
    sums = np.zeros((len(class_map.classes), 3))
    counts = np.zeros(len(class_map.classes), dtype=np.int64)
    for frame_id in frames.frame_ids:
        for obj in read_kitti_label(frames.label_path(frame_id)):
            category = class_map.category(obj.type)
            if category is None or category == IGNORE_CATEGORY or min(obj.dimensions) <= 0:
                continue
            sums[category - 1] += obj.dimensions
            counts[category - 1] += 1
    empty = [name for name, count in zip(class_map.classes, counts) if count == 0]
    if empty:
        raise ValueError(f"class_priors: no object of class {empty} under {root} (split {split})")
    means = sums / counts[:, None]
    return {
        name: (float(mean[0]), float(mean[1]), float(mean[2]))
        for name, mean in zip(class_map.classes, means)
    }
