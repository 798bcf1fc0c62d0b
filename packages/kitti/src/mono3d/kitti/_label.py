"""KITTI ``label_2`` and result files: one object per line, 15 columns (ground truth) or 16
(results, the score last).

Columns: type, truncated, occluded, alpha, bbox (x1 y1 x2 y2, pixels), dimensions (h w l,
metres), location (x y z, bottom-face centre, camera frame, metres), rotation_y[, score].
Text, lines and fields follow :mod:`mono3d.kitti._text`, numbers :mod:`mono3d.kitti._numbers`;
``occluded`` is an integer in -1..3. Every problem is a :class:`KittiFormatError` naming the
file, the line and the field.
"""

import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._errors import KittiFormatError
from ._numbers import FLOAT32_MAX, NUMBER_PATTERN, check_integer, in_float32, parse_real
from ._text import BOM, SEPARATORS, read_text, split_fields

#: column names, in file order (the 16th, score, only in result files)
LABEL_FIELDS: tuple[str, ...] = (
    "type", "truncated", "occluded", "alpha", "x1", "y1", "x2", "y2",
    "h", "w", "l", "x", "y", "z", "rotation_y", "score",
)  # fmt: skip
#: the range of the integer field ``occluded`` (-1: unknown, as in DontCare and result lines)
OCCLUDED_RANGE: tuple[int, int] = (-1, 3)
#: digits of a written score. The 3D score p_cls * exp(-sigma_z) of a far or uncertain
#: object is often below 1e-4: with 4 digits hundreds of detections of a 200-frame
#: evaluation tied at 0.0000-0.0004 and the file's AP2D fell 2.5 below the same detections'
#: in memory; 8 keep their order down to 1e-8 (the devkit reads the score with %f)
SCORE_DECIMALS: int = 8

# a class name: KITTI uses Car, Van, Truck, Pedestrian, Person_sitting, Cyclist, Tram, Misc,
# DontCare; a number here means a missing type column (ASCII only)
_TYPE_PATTERN = r"[A-Za-z_][A-Za-z0-9_\-]*"
_TYPE = re.compile(_TYPE_PATTERN)
# a whole well-formed line: the fast path; anything else is diagnosed field by field
_LINE = re.compile(rf"({_TYPE_PATTERN})((?:[{SEPARATORS}]+{NUMBER_PATTERN}){{14,15}})")
_OCCLUDED = LABEL_FIELDS.index("occluded") - 1  # column of the numeric table
# the fast path validates a whole file's names and numbers with one regular expression each
_NAMES = re.compile(rf"{_TYPE_PATTERN}(?: {_TYPE_PATTERN})*")
_NUMBERS = re.compile(rf"{NUMBER_PATTERN}(?: {NUMBER_PATTERN})*")
# in ASCII text, str.split() also splits at these (they are no separators of ours)
_UNIT_SEPARATORS = re.compile("[\x1c-\x1f]")


def _columns_message(count: int, require_score: bool) -> str:
    if require_score:
        return f"expected 16 columns (a result line ends with its score), got {count}"
    return (
        "expected 15 columns (type truncated occluded alpha x1 y1 x2 y2 h w l x y z "
        f"rotation_y) or 16 (with score), got {count}"
    )


def _diagnose(line: str, source: str, number: int, require_score: bool) -> KittiFormatError:
    """The error of a line that is not a well-formed label line."""
    tokens = split_fields(line)
    for index, token in enumerate(tokens):
        foreign = next((c for c in token if not c.isascii()), None)
        if foreign is not None:
            field = LABEL_FIELDS[index] if index < len(LABEL_FIELDS) else f"column {index + 1}"
            return KittiFormatError(
                source,
                number,
                f"field {field!r}: non-ASCII character U+{ord(foreign):04X} in {token!r}",
            )
    if len(tokens) not in ((16,) if require_score else (15, 16)):
        return KittiFormatError(source, number, _columns_message(len(tokens), require_score))
    if _TYPE.fullmatch(tokens[0]) is None:
        return KittiFormatError(
            source, number, f"field 'type': expected a class name such as Car, got {tokens[0]!r}"
        )
    for token, field in zip(tokens[1:], LABEL_FIELDS[1:]):
        parse_real(token, source, number, field)  # raises for the first bad number
    return KittiFormatError(source, number, f"cannot parse {line!r}")  # pragma: no cover


@dataclass(frozen=True, eq=False)
class KittiLabelTable:
    """The objects of one label or result file as arrays (what the evaluation reads).

    types: class names (n,). values: float64 (n, 14), the columns truncated .. rotation_y
    in file order (``occluded`` integral). score: float64 (n,), NaN on a line without a
    score. lines: the 1-based line number of each object (n,).
    """

    types: tuple[str, ...]
    values: np.ndarray
    score: np.ndarray
    lines: np.ndarray

    def __len__(self) -> int:
        return len(self.types)

    def column(self, field: str) -> np.ndarray:
        """The (n,) column of ``field`` (a name of :data:`LABEL_FIELDS` after ``type``)."""
        if field == "score":
            return self.score
        return self.values[:, LABEL_FIELDS.index(field) - 1]


def _check_table(
    table: np.ndarray, rows: Sequence[list[str]], lines: Sequence[int], source: str
) -> None:
    """Refuse numbers beyond float32 and an ``occluded`` that is not an integer in range,
    naming the first offending line and field."""
    outside = ~(np.abs(np.nan_to_num(table, nan=0.0)) <= FLOAT32_MAX)
    if outside.any():
        row, column = (int(k[0]) for k in np.nonzero(outside))
        raise KittiFormatError(
            source,
            lines[row],
            f"field {LABEL_FIELDS[column + 1]!r}: number out of range (beyond float32): "
            f"{rows[row][column]!r}",
        )
    occluded = table[:, _OCCLUDED]
    low, high = OCCLUDED_RANGE
    bad = (occluded != np.round(occluded)) | (occluded < low) | (occluded > high)
    if bad.any():
        row = int(np.nonzero(bad)[0][0])
        problem = check_integer(float(occluded[row]), low, high)
        raise KittiFormatError(
            source, lines[row], f"field 'occluded': {problem}, got {rows[row][_OCCLUDED]!r}"
        )


def _fast_rows(
    body: str, require_score: bool
) -> tuple[list[str], list[list[str]], list[int]] | None:
    """(types, numeric tokens per line, line numbers) of a well-formed file, or ``None`` when
    any line needs the careful path (which then names the problem). Only for ASCII text
    without U+001C..U+001F, where ``str.split()`` splits at exactly our separators."""
    types: list[str] = []
    rows: list[list[str]] = []
    lines: list[int] = []
    counts = (16,) if require_score else (15, 16)
    for number, raw in enumerate(body.split("\n"), start=1):
        fields = raw.split()
        if not fields:
            continue
        if len(fields) not in counts:
            return None
        types.append(fields[0])
        rows.append(fields[1:])
        lines.append(number)
    if types and _NAMES.fullmatch(" ".join(types)) is None:
        return None
    if rows and _NUMBERS.fullmatch(" ".join(" ".join(row) for row in rows)) is None:
        return None
    return types, [row if len(row) == 15 else [*row, "nan"] for row in rows], lines


def _careful_rows(
    body: str, source: str, require_score: bool
) -> tuple[list[str], list[list[str]], list[int]]:
    """(types, numeric tokens per line, line numbers), line by line; raises the first
    problem naming the line and the field."""
    types: list[str] = []
    rows: list[list[str]] = []
    lines: list[int] = []
    for number, raw in enumerate(body.split("\n"), start=1):
        line = raw.strip(SEPARATORS)
        if not line:
            continue
        match = _LINE.fullmatch(line)
        if match is None:
            raise _diagnose(line, source, number, require_score)
        numbers = split_fields(match.group(2))
        if require_score and len(numbers) != 15:
            raise KittiFormatError(
                source, number, _columns_message(len(numbers) + 1, require_score)
            )
        types.append(match.group(1))
        rows.append(numbers if len(numbers) == 15 else [*numbers, "nan"])
        lines.append(number)
    return types, rows, lines


def parse_label_table(
    text: str, source: str = "<label>", *, require_score: bool = False
) -> KittiLabelTable:
    """Parse the text of a label (15 or 16 columns per line) or, with ``require_score``, a
    result file (16 columns); blank lines are skipped, an empty text has no objects.

    Raises :class:`KittiFormatError` naming ``source``, the line and the field for a wrong
    number of columns, a type that is not an ASCII name, a number that is not ASCII or not
    finite in float32, an ``occluded`` that is not an integer in -1..3.
    """
    body = text.removeprefix(BOM)
    parsed = None
    if body.isascii() and _UNIT_SEPARATORS.search(body) is None:
        parsed = _fast_rows(body, require_score)
    if parsed is None:
        parsed = _careful_rows(body, source, require_score)
    types, rows, lines = parsed
    table = np.array(rows, dtype=np.float64).reshape(len(rows), 15)
    _check_table(table, rows, lines, source)
    return KittiLabelTable(
        types=tuple(types),
        values=table[:, :14],
        score=table[:, 14],
        lines=np.array(lines, dtype=np.int64),
    )


def read_label_table(
    path: str | os.PathLike[str], *, require_score: bool = False
) -> KittiLabelTable:
    """Read a label or result file as a :class:`KittiLabelTable` (see
    :func:`parse_label_table`); a missing file raises FileNotFoundError."""
    return parse_label_table(read_text(path), os.fspath(path), require_score=require_score)


@dataclass(frozen=True)
class KittiObject:
    """One line of a KITTI label (or result) file, every field kept; checked on
    construction by the rules of the reader (so whatever is written can be read back).

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

    def __post_init__(self) -> None:
        if not isinstance(self.type, str) or _TYPE.fullmatch(self.type) is None:
            raise ValueError(f"KittiObject.type: expected an ASCII class name, got {self.type!r}")
        for field, value in self._numbers().items():
            if not _is_float32(value):
                raise ValueError(
                    f"KittiObject.{field}: expected a number finite in float32, got {value!r}"
                )
        problem = check_integer(float(self.occluded), *OCCLUDED_RANGE)
        if problem is not None:
            raise ValueError(f"KittiObject.occluded: {problem}, got {self.occluded!r}")

    def _numbers(self) -> dict[str, object]:
        values = (self.truncated, self.occluded, self.alpha, *self.bbox, *self.dimensions,
                  *self.location, self.rotation_y)  # fmt: skip
        if len(values) != 14:
            raise ValueError("KittiObject: bbox takes 4 numbers, dimensions and location 3")
        named: dict[str, object] = dict(zip(LABEL_FIELDS[1:15], values))
        if self.score is not None:
            named["score"] = self.score
        return named

    @property
    def is_dontcare(self) -> bool:
        """True for ``DontCare`` region lines."""
        return self.type == "DontCare"


def _is_float32(value: object) -> bool:
    if isinstance(value, (str, bytes)):
        return False
    try:
        return in_float32(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return False


def objects_of(table: KittiLabelTable) -> list[KittiObject]:
    """The rows of ``table`` as :class:`KittiObject` s, in file order."""
    objects = []
    for kind, row, score in zip(table.types, table.values.tolist(), table.score.tolist()):
        objects.append(
            KittiObject(
                type=kind,
                truncated=row[0],
                occluded=int(row[1]),
                alpha=row[2],
                bbox=(row[3], row[4], row[5], row[6]),
                dimensions=(row[7], row[8], row[9]),
                location=(row[10], row[11], row[12]),
                rotation_y=row[13],
                score=None if math.isnan(score) else score,
            )
        )
    return objects


def parse_kitti_label(text: str, source: str = "<label>") -> list[KittiObject]:
    """Parse the text of a label or result file: one :class:`KittiObject` per non-blank line
    (see :func:`parse_label_table` for the rules and errors)."""
    return objects_of(parse_label_table(text, source))


def read_kitti_label(path: str | os.PathLike[str]) -> list[KittiObject]:
    """Read a KITTI label or result file: one :class:`KittiObject` per non-blank line.

    An empty file is a frame without objects. Errors name the file, line and field
    (:class:`KittiFormatError`); a missing file raises FileNotFoundError.
    """
    return objects_of(read_label_table(path))


def format_kitti_object(
    obj: KittiObject, decimals: int = 2, score_decimals: int = SCORE_DECIMALS
) -> str:
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
    score_decimals: int = SCORE_DECIMALS,
) -> None:
    """Write ``objects`` to ``path`` in the KITTI label/result format, one line each
    (an empty file when there are none), UTF-8 without BOM, ``\\n`` line ends. Parent
    folders are created."""
    lines = [format_kitti_object(obj, decimals, score_decimals) + "\n" for obj in objects]
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("".join(lines), encoding="utf-8", newline="\n")
