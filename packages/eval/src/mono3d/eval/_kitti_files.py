"""A small, strict reader of KITTI label files (ground truth and results) into annos.

A line holds ``type truncated occluded alpha x1 y1 x2 y2 h w l x y z rotation_y [score]``:
15 values for ground truth (a 16th, a score, is accepted and ignored), 16 for results.
Blank lines are skipped; anything else that does not parse is an error naming the file
and the line.
"""

import pathlib
from collections.abc import Sequence

import numpy as np

from ._annos import empty_anno

_COLUMNS = (
    "type",
    "truncated",
    "occluded",
    "alpha",
    "x1",
    "y1",
    "x2",
    "y2",
    "h",
    "w",
    "l",
    "x",
    "y",
    "z",
    "rotation_y",
    "score",
)


class EvalInputError(ValueError):
    """Input a user can fix: a missing folder or file, a malformed line."""


def _parse(path: pathlib.Path, number: int, tokens: list[str]) -> list[float]:
    values = []
    for column, token in zip(_COLUMNS[1:], tokens):
        try:
            values.append(float(token))
        except ValueError:
            raise EvalInputError(
                f"{path}:{number}: column {column!r} is not a number: {token!r}"
            ) from None
    return values


def read_label_file(path: str | pathlib.Path, *, with_score: bool) -> dict[str, np.ndarray]:
    """One KITTI label file as an anno (``with_score``: a result file, 16 columns)."""
    path = pathlib.Path(path)
    try:
        text = path.read_text()
    except OSError as error:
        raise EvalInputError(f"cannot read {path}: {error.strerror or error}") from None
    expected = "16 (a result line ends with its score)" if with_score else "15 (or 16)"
    lines = [(number, line.split()) for number, line in enumerate(text.splitlines(), start=1)]
    lines = [(number, fields) for number, fields in lines if fields]
    for number, fields in lines:
        if len(fields) not in ((16,) if with_score else (15, 16)):
            raise EvalInputError(
                f"{path}:{number}: expected {expected} values, got {len(fields)}: "
                f"{' '.join(fields)!r}"
            )
    if not lines:
        return empty_anno(with_score=with_score)
    names = np.array([fields[0] for _, fields in lines])
    width = 15 if with_score else 14
    try:
        table = np.array([fields[1 : 1 + width] for _, fields in lines], dtype=np.float64)
    except ValueError:
        table = np.array([_parse(path, number, fields[1 : 1 + width]) for number, fields in lines])
    bad = ~np.isfinite(table)
    if bad.any():
        row, column = (int(k[0]) for k in np.nonzero(bad))
        number, fields = lines[row]
        raise EvalInputError(
            f"{path}:{number}: column {_COLUMNS[1 + column]!r} is not finite: "
            f"{fields[1 + column]!r}"
        )
    fractional = table[:, 1] != np.round(table[:, 1])
    if fractional.any():
        number, fields = lines[int(np.nonzero(fractional)[0][0])]
        raise EvalInputError(
            f"{path}:{number}: column 'occluded' must be an integer, got {fields[2]!r}"
        )
    anno = {
        "name": names,
        "truncated": table[:, 0],
        "occluded": table[:, 1].astype(np.int64),
        "alpha": table[:, 2],
        "bbox": table[:, 3:7],
        "dimensions": table[:, 7:10],
        "location": table[:, 10:13],
        "rotation_y": table[:, 13],
    }
    if with_score:
        anno["score"] = table[:, 14]
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


def resolve_result_dir(result_dir: str | pathlib.Path) -> pathlib.Path:
    """The result folder: ``result_dir`` itself, or ``result_dir/data`` (the devkit's layout)
    when only that one holds .txt files."""
    root = pathlib.Path(result_dir)
    if not root.is_dir():
        raise EvalInputError(f"result folder not found: {root}")
    data = root / "data"
    if not any(root.glob("*.txt")) and data.is_dir() and any(data.glob("*.txt")):
        return data
    return root


def read_id_list(path: str | pathlib.Path) -> list[str]:
    """Frame ids, one per line (e.g. ``000123``), blank lines skipped."""
    path = pathlib.Path(path)
    try:
        lines = path.read_text().splitlines()
    except OSError as error:
        raise EvalInputError(f"cannot read id list {path}: {error.strerror or error}") from None
    ids = []
    for number, line in enumerate(lines, start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 1:
            raise EvalInputError(f"{path}:{number}: expected one frame id, got {line.strip()!r}")
        ids.append(fields[0])
    if not ids:
        raise EvalInputError(f"id list {path} is empty")
    return ids


def read_kitti_folders(
    gt_dir: str | pathlib.Path,
    result_dir: str | pathlib.Path,
    ids: Sequence[str] | None = None,
) -> tuple[list[str], list[dict[str, np.ndarray]], list[dict[str, np.ndarray]]]:
    """(frame ids, ground-truth annos, detection annos) of a label folder and a result folder.

    Frames are ``ids`` when given (each needs a ground-truth file), else every ``*.txt`` of the
    label folder, sorted. A frame with no result file has no detections.
    """
    label_dir = resolve_label_dir(gt_dir)
    results = resolve_result_dir(result_dir)
    if ids is None:
        ids = sorted(p.stem for p in label_dir.glob("*.txt"))
    gt_annos, dt_annos = [], []
    for frame_id in ids:
        gt_file = label_dir / f"{frame_id}.txt"
        if not gt_file.is_file():
            raise EvalInputError(f"frame {frame_id!r}: no ground-truth file {gt_file}")
        gt_annos.append(read_label_file(gt_file, with_score=False))
        result_file = results / f"{frame_id}.txt"
        if result_file.is_file():
            dt_annos.append(read_label_file(result_file, with_score=True))
        else:
            dt_annos.append(empty_anno(with_score=True))
    return list(ids), gt_annos, dt_annos
