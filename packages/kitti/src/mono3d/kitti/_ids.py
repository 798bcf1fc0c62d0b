"""Frame-id lists (``ImageSets/<split>.txt``, ``--ids`` files): one frame id per line.

A frame id is ASCII letters, digits, ``_``, ``-`` and ``.`` (not first), e.g. ``000123``: it
names files, so no path separators, no ``..``. Blank lines are skipped; an id listed twice
or a list naming no frame is an error. Text and lines follow :mod:`mono3d.kitti._text`.
"""

import os
import re

from ._errors import KittiFormatError
from ._text import numbered_lines, read_text, split_fields

_FRAME_ID = re.compile(r"[A-Za-z0-9_\-][A-Za-z0-9_.\-]*")


def parse_id_list(text: str, source: str = "<ids>") -> tuple[str, ...]:
    """The frame ids of an id list's text, in order; raises :class:`KittiFormatError`
    naming ``source`` (and the line) for a line that is not one frame id, an id listed twice
    or a list without ids."""
    ids: dict[str, int] = {}
    for number, line in numbered_lines(text):
        fields = split_fields(line)
        if len(fields) != 1 or _FRAME_ID.fullmatch(fields[0]) is None:
            raise KittiFormatError(
                source, number, f"expected one frame id (ASCII letters, digits, _-.), got {line!r}"
            )
        frame_id = fields[0]
        if frame_id in ids:
            first = ids[frame_id]
            raise KittiFormatError(
                source, number, f"frame id {frame_id!r} listed twice (first on line {first})"
            )
        ids[frame_id] = number
    if not ids:
        raise KittiFormatError(source, None, "the id list names no frames")
    return tuple(ids)


def read_id_list(path: str | os.PathLike[str]) -> tuple[str, ...]:
    """Read a frame-id list (see :func:`parse_id_list`); a missing file raises
    FileNotFoundError naming it."""
    return parse_id_list(read_text(path), os.fspath(path))
