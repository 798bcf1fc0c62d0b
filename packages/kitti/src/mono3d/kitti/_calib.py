"""KITTI ``calib`` files: lines ``KEY: v1 v2 ...`` holding the projection matrices P0-P3
(3×4, row-major), the rectifying rotation R0_rect (3×3) and the rigid transforms
Tr_velo_to_cam and Tr_imu_to_velo (3×4). Text, lines and numbers follow the rules of
:mod:`mono3d.kitti._text` and :mod:`mono3d.kitti._numbers`."""

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._errors import KittiFormatError
from ._numbers import FLOAT32_MAX, parse_real
from ._text import numbered_lines, read_text, split_fields

# canonical key -> (rows, cols); aliases used by the KITTI raw/tracking calib files
_SHAPES: dict[str, tuple[int, int]] = {
    "P0": (3, 4),
    "P1": (3, 4),
    "P2": (3, 4),
    "P3": (3, 4),
    "R0_rect": (3, 3),
    "Tr_velo_to_cam": (3, 4),
    "Tr_imu_to_velo": (3, 4),
}
_ALIASES: dict[str, str] = {
    **{key: key for key in _SHAPES},
    "R_rect": "R0_rect",
    "Tr_velo_cam": "Tr_velo_to_cam",
    "Tr_imu_velo": "Tr_imu_to_velo",
}


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.array(array, dtype=np.float64)
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class KittiCalib:
    """The matrices of one KITTI calib file (float64, read-only arrays, finite in float32).

    P2 (3×4) projects a point of the rectified camera frame (x right, y down, z forward,
    metres) to image_2 pixels: ``P2 @ [x, y, z, 1]``; its 4th column is kept (it is not a
    pure intrinsic matrix). The others are ``None`` when the file lacks them.
    """

    P2: np.ndarray
    P0: np.ndarray | None = None
    P1: np.ndarray | None = None
    P3: np.ndarray | None = None
    R0_rect: np.ndarray | None = None
    Tr_velo_to_cam: np.ndarray | None = None
    Tr_imu_to_velo: np.ndarray | None = None

    def __post_init__(self) -> None:
        for key, shape in _SHAPES.items():
            value = getattr(self, key)
            if value is None:
                continue
            array = _frozen(value)
            if array.shape != shape or not (np.abs(array) <= FLOAT32_MAX).all():
                raise ValueError(
                    f"KittiCalib.{key}: expected {shape} finite in float32, got {array.shape}"
                )
            object.__setattr__(self, key, array)

    def matrices(self) -> dict[str, np.ndarray]:
        """The matrices present, by KITTI key, in file order."""
        return {key: getattr(self, key) for key in _SHAPES if getattr(self, key) is not None}


def _invertible(block: np.ndarray) -> bool:
    """Whether a 3×3 block is numerically invertible (condition number below 1e12)."""
    with np.errstate(all="ignore"):
        try:
            singular = np.linalg.svd(block, compute_uv=False)
        except np.linalg.LinAlgError:
            return False
        return bool(np.isfinite(singular).all() and singular[-1] > 1e-12 * singular[0] > 0)


def parse_kitti_calib(text: str, source: str = "<calib>") -> KittiCalib:
    """Parse the text of a calib file.

    Known keys (P0-P3, R0_rect, Tr_velo_to_cam, Tr_imu_to_velo, and the aliases R_rect,
    Tr_velo_cam, Tr_imu_velo) must hold exactly the right count of numbers (ASCII, finite
    in float32) and appear once; other keys are ignored; blank lines are skipped. P2 is
    required and its left 3×3 block must be invertible. Every problem raises
    :class:`KittiFormatError` naming ``source``, the line and the key.
    """
    found: dict[str, np.ndarray] = {}
    seen_at: dict[str, int] = {}
    for number, line in numbered_lines(text):
        key_part, colon, rest = line.partition(":")
        key = key_part.strip(" \t\r\v\f")
        if not colon or not key:
            raise KittiFormatError(source, number, "expected 'KEY: numbers', e.g. 'P2: 721.5 ...'")
        canonical = _ALIASES.get(key)
        if canonical is None:
            continue  # e.g. calib_time in raw-data calib files
        if canonical in seen_at:
            raise KittiFormatError(
                source, number, f"{key} given twice (first on line {seen_at[canonical]})"
            )
        rows, cols = _SHAPES[canonical]
        tokens = split_fields(rest)
        if len(tokens) != rows * cols:
            raise KittiFormatError(
                source, number, f"{key}: expected {rows * cols} numbers, got {len(tokens)}"
            )
        values = [parse_real(token, source, number, key) for token in tokens]
        matrix = np.asarray(values, dtype=np.float64).reshape(rows, cols)
        if canonical == "P2" and not _invertible(matrix[:, :3]):
            raise KittiFormatError(
                source, number, "P2: left 3x3 block is singular (not a camera matrix)"
            )
        found[canonical] = matrix
        seen_at[canonical] = number
    if "P2" not in found:
        raise KittiFormatError(source, None, "no 'P2:' line (the image_2 projection matrix)")
    return KittiCalib(**found)


def read_kitti_calib(path: str | os.PathLike[str]) -> KittiCalib:
    """Read a KITTI calib file (see :func:`parse_kitti_calib`); errors name the file and
    line, a missing file raises FileNotFoundError."""
    return parse_kitti_calib(read_text(path), os.fspath(path))


def write_kitti_calib(path: str | os.PathLike[str], calib: KittiCalib) -> None:
    """Write ``calib`` as KITTI does: one ``KEY: %.12e ...`` line per matrix present, in the
    order P0 P1 P2 P3 R0_rect Tr_velo_to_cam Tr_imu_to_velo, then a blank line."""
    lines = [
        f"{key}: " + " ".join(f"{value:.12e}" for value in matrix.ravel())
        for key, matrix in calib.matrices().items()
    ]
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n".join(lines) + "\n\n", encoding="utf-8", newline="\n")
