"""KITTI ``label_2`` files: one object per line, 15 columns (ground truth) or 16 (results).

Columns: type, truncated, occluded, alpha, bbox (x1 y1 x2 y2, pixels), dimensions (h w l,
metres), location (x y z, bottom-face centre, camera frame, metres), rotation_y[, score].
"""

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ._errors import KittiFormatError
from ._text import numbered_lines, parse_number, read_text

#: column names, in file order (the 16th, score, only in result files)
LABEL_FIELDS: tuple[str, ...] = (
    "type", "truncated", "occluded", "alpha", "x1", "y1", "x2", "y2",
    "h", "w", "l", "x", "y", "z", "rotation_y", "score",
)  # fmt: skip

# a class name: KITTI uses Car, Van, Truck, Pedestrian, Person_sitting, Cyclist, Tram, Misc,
# DontCare; a number here means a missing type column
_TYPE = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")


@dataclass(frozen=True)
class KittiObject:
    """One line of a KITTI label (or result) file, every field kept.

    type: class name as written (``Car``, ``DontCare``...). truncated: 0 (inside the image) to
    1 (leaving it); -1 in result files and for DontCare. occluded: 0 fully visible, 1 partly,
    2 largely occluded, 3 unknown; -1 in result files and for DontCare. alpha: observation
    angle, radians. bbox: (x1, y1, x2, y2) pixels. dimensions: (h, w, l) metres. location:
    (x, y, z) bottom-face centre in the rectified camera frame (x right, y down, z forward),
    metres. rotation_y: yaw about the camera y axis, radians. score: detection confidence
    (result files only), ``None`` for ground truth.
    """

    type: str
    truncated: float
    occluded: int
    alpha: float
    bbox: tuple[float, float, float, float]
    dimensions: tuple[float, float, float]
    location: tuple[float, float, float]
    rotation_y: float
    score: float | None = None

    @property
    def is_dontcare(self) -> bool:
        """True for ``DontCare`` region lines."""
        return self.type == "DontCare"


def _parse_line(tokens: list[str], source: str, line: int) -> KittiObject:
    if len(tokens) not in (15, 16):
        raise KittiFormatError(
            source,
            line,
            f"expected 15 columns (type truncated occluded alpha x1 y1 x2 y2 h w l x y z "
            f"rotation_y) or 16 (with score), got {len(tokens)}",
        )
    kind = tokens[0]
    if _TYPE.fullmatch(kind) is None:
        raise KittiFormatError(
            source, line, f"field 'type': expected a class name such as Car, got {kind!r}"
        )
    values = [
        parse_number(token, source, line, field)
        for token, field in zip(tokens[1:], LABEL_FIELDS[1:])
    ]
    occluded = values[1]
    if occluded != int(occluded):
        raise KittiFormatError(
            source, line, f"field 'occluded': expected an integer, got {tokens[2]!r}"
        )
    return KittiObject(
        type=kind,
        truncated=values[0],
        occluded=int(occluded),
        alpha=values[2],
        bbox=(values[3], values[4], values[5], values[6]),
        dimensions=(values[7], values[8], values[9]),
        location=(values[10], values[11], values[12]),
        rotation_y=values[13],
        score=values[14] if len(values) == 15 else None,
    )


def parse_kitti_label(text: str, source: str = "<label>") -> list[KittiObject]:
    """Parse the text of a label file; blank lines are skipped.

    Raises :class:`KittiFormatError` naming ``source`` and the line for a wrong number of
    columns, a non-numeric or non-finite number, a non-integer ``occluded`` or a type that is
    not a name.
    """
    return [_parse_line(line.split(), source, number) for number, line in numbered_lines(text)]


def read_kitti_label(path: str | os.PathLike[str]) -> list[KittiObject]:
    """Read a KITTI label or result file: one :class:`KittiObject` per non-blank line.

    An empty file is a frame without objects. Errors name the file and line
    (:class:`KittiFormatError`); a missing file raises FileNotFoundError.
    """
    return parse_kitti_label(read_text(path), os.fspath(path))


def format_kitti_object(obj: KittiObject, decimals: int = 2, score_decimals: int = 4) -> str:
    """One label line (no newline): numbers with ``decimals`` digits as in the official
    devkit (``%.2f``), occluded as an integer, the score (if any) with ``score_decimals``."""
    numbers = (
        obj.alpha, *obj.bbox, *obj.dimensions, *obj.location, obj.rotation_y,
    )  # fmt: skip
    parts = [obj.type, f"{obj.truncated:.{decimals}f}", f"{int(obj.occluded):d}"]
    parts += [f"{value:.{decimals}f}" for value in numbers]
    if obj.score is not None:
        parts.append(f"{obj.score:.{score_decimals}f}")
    return " ".join(parts)


def write_kitti_label(
    path: str | os.PathLike[str],
    objects: Iterable[KittiObject],
    *,
    decimals: int = 2,
    score_decimals: int = 4,
) -> None:
    """Write ``objects`` to ``path`` in the KITTI label/result format, one line each
    (an empty file when there are none). Parent folders are created."""
    lines = [format_kitti_object(obj, decimals, score_decimals) + "\n" for obj in objects]
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("".join(lines), encoding="utf-8")
