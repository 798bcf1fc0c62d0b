"""Shared helpers of the KITTI text parsers: reading a file, splitting lines, strict numbers."""

import math
import os
import re
from collections.abc import Iterator
from pathlib import Path

from ._errors import KittiFormatError

# a plain decimal number: optional sign, digits with an optional fraction, optional exponent
# (no "nan", "inf", "1_000" or hex, which Python's float() would accept)
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def read_text(path: str | os.PathLike[str]) -> str:
    """The UTF-8 text of ``path``. A missing file raises FileNotFoundError (naming it);
    bytes that are not UTF-8 raise :class:`KittiFormatError` naming the file and line."""
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise KittiFormatError(path, line, f"not UTF-8 text ({error.reason})") from None


def numbered_lines(text: str) -> Iterator[tuple[int, str]]:
    """(1-based line number, line) for every line that is not blank; lines end at ``\\n``
    (a trailing ``\\r`` is dropped)."""
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            yield number, line.rstrip("\r")


def parse_number(token: str, source: str, line: int, field: str) -> float:
    """``token`` as a finite float; anything else raises :class:`KittiFormatError` naming
    ``source``, ``line`` and ``field``."""
    if _NUMBER.fullmatch(token) is None:
        raise KittiFormatError(source, line, f"field {field!r}: expected a number, got {token!r}")
    value = float(token)
    if not math.isfinite(value):
        raise KittiFormatError(source, line, f"field {field!r}: number out of range: {token!r}")
    return value
