"""KITTI folders into annos: the ground-truth label folder, the result folder, id lists.

Each file is read by :mod:`mono3d.kitti` (the one reader of the format, shared with
``mono3d.data``): 15 columns for ground truth (a 16th, a score, is accepted and ignored),
16 for results; ASCII numbers finite in float32, ``occluded`` an integer in -1..3, BOM and
CRLF accepted; anything else a :class:`~mono3d.kitti.KittiFormatError` naming the file, the
line and the field. Folder problems (a missing folder, a frame without ground truth, a
result folder in which no file matches a frame) are :class:`EvalInputError`.
"""

import pathlib
from collections.abc import Sequence

import numpy as np

from mono3d.kitti import read_label_table

from ._annos import empty_anno


class EvalInputError(ValueError):
    """Input a user can fix: a missing folder or file, a result folder matching no frame.
    (A malformed file raises :class:`mono3d.kitti.KittiFormatError`, also a ValueError.)"""


def read_label_file(path: str | pathlib.Path, *, with_score: bool) -> dict[str, np.ndarray]:
    """One KITTI label file as an anno (``with_score``: a result file, 16 columns).

    A missing file raises FileNotFoundError, a malformed one
    :class:`~mono3d.kitti.KittiFormatError` (file, line and field)."""
    table = read_label_table(path, require_score=with_score)
    if not len(table):
        return empty_anno(with_score=with_score)
    values = table.values
    anno = {
        "name": np.array(table.types),
        "truncated": values[:, 0],
        "occluded": values[:, 1].astype(np.int64),  # integral and in -1..3 (checked)
        "alpha": values[:, 2],
        "bbox": values[:, 3:7],
        "dimensions": values[:, 7:10],
        "location": values[:, 10:13],
        "rotation_y": values[:, 13],
    }
    if with_score:
        anno["score"] = table.score
    return anno


def resolve_label_dir(gt_dir: str | pathlib.Path) -> pathlib.Path:
    """The ground-truth label folder: ``gt_dir`` itself when it holds .txt files, else
    ``gt_dir/training/label_2`` (a KITTI root) or ``gt_dir/label_2``."""
    root = pathlib.Path(gt_dir)
    if not root.is_dir():
        raise EvalInputError(f"ground-truth folder not found: {root}")
    for candidate in (root, root / "training" / "label_2", root / "label_2"):
        if candidate.is_dir() and any(candidate.glob("*.txt")):
            return candidate
    raise EvalInputError(
        f"no label files in {root} (looked for *.txt in it, in training/label_2 and in label_2)"
    )


def _matching(folder: pathlib.Path, ids: Sequence[str]) -> int:
    """How many of ``ids`` have a result file ``folder/<id>.txt``."""
    if not folder.is_dir():
        return 0
    present = {p.stem for p in folder.glob("*.txt") if p.is_file()}
    return sum(frame_id in present for frame_id in ids)


def resolve_result_dir(
    result_dir: str | pathlib.Path, ids: Sequence[str] | None = None
) -> pathlib.Path:
    """The result folder: ``result_dir`` itself or ``result_dir/data`` (the devkit's layout,
    and the trainer's ``eval/step_N`` folder, which also holds ``metrics.txt``), whichever
    holds result files for more of ``ids`` (``result_dir`` on a tie).

    With ``ids``, a folder where no ``<id>.txt`` matches any of them raises
    :class:`EvalInputError` (evaluating it would silently report 0 everywhere)."""
    root = pathlib.Path(result_dir)
    if not root.is_dir():
        raise EvalInputError(f"result folder not found: {root}")
    data = root / "data"
    if ids is None:
        if not any(root.glob("*.txt")) and data.is_dir() and any(data.glob("*.txt")):
            return data
        return root
    in_root, in_data = _matching(root, ids), _matching(data, ids)
    if in_root == in_data == 0:
        example = ids[0] if ids else "000000"
        raise EvalInputError(
            f"no result file in {root} (nor in {data}) matches a frame to evaluate: expected "
            f"<id>.txt files such as {example}.txt for the {len(ids)} ground-truth frames"
        )
    return data if in_data > in_root else root


def read_kitti_folders(
    gt_dir: str | pathlib.Path,
    result_dir: str | pathlib.Path | None,
    ids: Sequence[str] | None = None,
) -> tuple[list[str], list[dict[str, np.ndarray]], list[dict[str, np.ndarray]]]:
    """(frame ids, ground-truth annos, detection annos) of a label folder and a result folder.

    Frames are ``ids`` when given (each needs a ground-truth file), else every ``*.txt`` of the
    label folder, sorted. A frame with no result file has no detections; a result folder in
    which no frame has one is an :class:`EvalInputError`. ``result_dir=None`` reads the
    ground truth alone (every frame without detections).
    """
    label_dir = resolve_label_dir(gt_dir)
    if ids is None:
        ids = sorted(p.stem for p in label_dir.glob("*.txt"))
    ids = list(ids)
    if not ids:
        raise EvalInputError("no frames to evaluate (the id list is empty)")
    for frame_id in ids:
        gt_file = label_dir / f"{frame_id}.txt"
        if not gt_file.is_file():
            raise EvalInputError(f"frame {frame_id!r}: no ground-truth file {gt_file}")
    results = None if result_dir is None else resolve_result_dir(result_dir, ids)
    gt_annos, dt_annos = [], []
    for frame_id in ids:
        gt_annos.append(read_label_file(label_dir / f"{frame_id}.txt", with_score=False))
        result_file = None if results is None else results / f"{frame_id}.txt"
        if result_file is not None and result_file.exists():
            # anything at <id>.txt is read: a folder there is a KittiFormatError naming it,
            # not a frame without detections
            dt_annos.append(read_label_file(result_file, with_score=True))
        else:
            dt_annos.append(empty_anno(with_score=True))
    return ids, gt_annos, dt_annos
