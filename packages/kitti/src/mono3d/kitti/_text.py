"""How every KITTI text file is read: bytes, encoding, lines and fields.

One rule for every reader of this package (labels, results, calib, frame-id lists):

* the bytes must be UTF-8; anything else is a :class:`KittiFormatError` naming the file and
  the line of the first bad byte;
* a UTF-8 byte-order mark at the start of the file is accepted and stripped (accept-and-strip,
  as a BOM-tolerant editor would write it); anywhere else it is an ordinary character, which
  no field accepts;
* lines end at ``\\n``; a ``\\r`` before it (CRLF files) is whitespace and dropped, as the
  devkit's ``fscanf`` drops it;
* fields are separated by ASCII whitespace (space, tab, ``\\r``, ``\\v``, ``\\f``) only: a
  no-break space, an ideographic space or a line separator (U+2028) is part of a field, so
  the field is refused; a line holding only ASCII whitespace is blank and skipped.
"""

import os
import re
from collections.abc import Iterator
from pathlib import Path

from ._errors import KittiFormatError

#: the byte-order mark a UTF-8 file may start with (stripped)
BOM = "\ufeff"
#: the field separators inside a line (ASCII whitespace but the line end)
SEPARATORS = " \t\r\v\f"
_SEPARATOR_RUN = re.compile(f"[{SEPARATORS}]+")


def decode_text(data: bytes, source: str | os.PathLike[str]) -> str:
    """``data`` as UTF-8 text without a leading BOM; other bytes raise
    :class:`KittiFormatError` naming ``source`` and the line of the first bad byte."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise KittiFormatError(source, line, f"not UTF-8 text ({error.reason})") from None
    return text.removeprefix(BOM)


def read_text(path: str | os.PathLike[str]) -> str:
    """The text of the file ``path`` (see :func:`decode_text`). A missing file raises
    FileNotFoundError (naming it); a folder or an unreadable file a :class:`KittiFormatError`."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"file not found: {os.fspath(path)}") from None
    except OSError as error:
        raise KittiFormatError(path, None, f"cannot read: {error.strerror or error}") from None
    return decode_text(data, path)


def split_fields(line: str) -> list[str]:
    """The fields of one line, split at runs of ASCII whitespace (``[]`` for a blank line)."""
    stripped = line.strip(SEPARATORS)
    return _SEPARATOR_RUN.split(stripped) if stripped else []


def numbered_lines(text: str) -> Iterator[tuple[int, str]]:
    """(1-based line number, line without surrounding ASCII whitespace) for every line that
    is not blank; a leading BOM is stripped."""
    for number, line in enumerate(text.removeprefix(BOM).split("\n"), start=1):
        stripped = line.strip(SEPARATORS)
        if stripped:
            yield number, stripped
