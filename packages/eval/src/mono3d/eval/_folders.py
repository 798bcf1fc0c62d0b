"""``evaluate_folders``: KITTI AP of a result folder against a label folder."""

import pathlib
from collections.abc import Mapping, Sequence

from mono3d.kitti import read_id_list

from ._evaluate import evaluate
from ._kitti_files import read_kitti_folders
from ._result import EvalResult
from ._settings import DEFAULT_CLASSES, DEFAULT_IOU, DEFAULT_NEIGHBOURS


def evaluate_folders(
    gt_dir: str | pathlib.Path,
    result_dir: str | pathlib.Path,
    *,
    ids: str | pathlib.Path | Sequence[str] | None = None,
    classes: Sequence[str] = DEFAULT_CLASSES,
    iou_thresholds: Mapping[str, Mapping[str, Mapping[str, float]]] = DEFAULT_IOU,
    neighbours: Mapping[str, Sequence[str]] = DEFAULT_NEIGHBOURS,
) -> EvalResult:
    """Evaluate the KITTI result files of ``result_dir`` (16 columns, score last) against the
    label files of ``gt_dir`` (the label_2 folder itself, or a KITTI root holding
    training/label_2).

    ids: a file listing frame ids one per line, or the ids themselves; default every label
    file. A frame without a result file has no detections; a result folder where no frame
    has one is refused. User errors raise ``EvalInputError`` (a missing folder or
    ground-truth file, no matching result file) or ``KittiFormatError`` (a malformed file,
    naming the file, line and field).
    """
    if isinstance(ids, (str, pathlib.Path)):
        ids = read_id_list(ids)
    _, gt_annos, dt_annos = read_kitti_folders(gt_dir, result_dir, ids)
    return evaluate(
        gt_annos, dt_annos, classes=classes, iou_thresholds=iou_thresholds, neighbours=neighbours
    )
