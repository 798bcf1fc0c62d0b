"""Reading and atomically rewriting ``history.jsonl`` (one validated record per line).

Crash model. The logger appends one complete line per record and then flushes and fsyncs, so
a process killed at any moment leaves every earlier record intact and at most one partial
line at the very end (no trailing newline, not parseable JSON). Reading drops such a *torn*
last line with a ``HistoryWarning``. Anything else that is wrong — an unparseable line in the
middle, a line that parses but fails validation, a step that does not increase — is not a
crash artefact but corruption, and raises ``HistoryError`` naming the file and line.
"""

import json
import os
import pathlib
import tempfile
import warnings
from collections.abc import Callable, Iterable
from typing import BinaryIO, Literal

import pydantic

from ._records import EvalRecord, TrainRecord, record_adapter

__all__ = [
    "HistoryError",
    "HistoryWarning",
    "atomic_write",
    "atomic_write_bytes",
    "encode_record",
    "read_history",
    "scan_history",
]

Kind = Literal["train", "eval"]


class HistoryError(ValueError):
    """A history file is corrupt (not merely torn at the end by a crash)."""


class HistoryWarning(UserWarning):
    """A recoverable problem in a history file, e.g. a torn last line dropped on reading."""


def encode_record(record: TrainRecord | EvalRecord) -> bytes:
    """One record as one UTF-8 JSON line, newline included; None fields are left out."""
    return record.model_dump_json(exclude_none=True).encode("utf-8") + b"\n"


def scan_history(
    path: str | os.PathLike[str],
) -> tuple[list[TrainRecord | EvalRecord], bool]:
    """Parse and validate a history file: (records, whether a torn last line was dropped).

    A missing file is an empty history. Raises ``HistoryError`` (naming ``path:line``) for a
    corrupt line or for steps that do not strictly increase within a kind.
    """
    path = pathlib.Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return [], False
    lines = data.split(b"\n")
    # data ends with b"\n" when the last record is complete: the final piece is then empty.
    tail = lines.pop()
    torn = False
    if tail.strip():
        try:
            json.loads(tail)
        except ValueError:
            torn = True  # a write cut short by a crash: drop it
        else:
            lines.append(tail)  # complete JSON, only its newline is missing
    records: list[TrainRecord | EvalRecord] = []
    last_step: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = record_adapter.validate_json(line)
        except pydantic.ValidationError as error:
            raise HistoryError(f"{path}:{number}: invalid history record: {error}") from error
        previous = last_step.get(record.kind)
        if previous is not None and record.step <= previous:
            raise HistoryError(
                f"{path}:{number}: {record.kind} step {record.step} does not increase "
                f"(previous {record.kind} step {previous}); a history holds each step once"
            )
        last_step[record.kind] = record.step
        records.append(record)
    return records, torn


def read_history(path: str | os.PathLike[str]) -> list[TrainRecord | EvalRecord]:
    """Load the validated records of a ``history.jsonl``, in file order.

    A torn last line (the record being written when the process died) is dropped with a
    ``HistoryWarning``; every complete record is returned. A missing file gives ``[]``.
    """
    records, torn = scan_history(path)
    if torn:
        warnings.warn(
            f"{path}: dropped a torn last line (a record cut short by a crash); "
            f"{len(records)} complete records kept",
            HistoryWarning,
            stacklevel=2,
        )
    return records


def fsync_directory(directory: pathlib.Path) -> None:
    """Make a directory's entries (a new or replaced file) durable; a no-op where unsupported."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows cannot open directories
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse fsync on directories
        pass
    finally:
        os.close(fd)


def _new_file_mode() -> int:
    """The mode ``open()`` would give a new file (0o666 minus the umask); mkstemp's 0o600
    would leave atomically written files unreadable to the group."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write(path: str | os.PathLike[str], write: Callable[[BinaryIO], object]) -> None:
    """Write ``path`` atomically: ``write(handle)`` fills a temporary file in the same
    directory, which is fsynced, given the mode ``open()`` would give a new file, and moved
    over ``path`` with ``os.replace``; then the directory is fsynced.

    A reader (or a crash) sees either the old file or the complete new one, never a mix; if
    ``write`` raises, the temporary file is removed and ``path`` is untouched.
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, _new_file_mode())
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        try:
            os.unlink(temp_name)
        except FileNotFoundError:
            pass
        raise
    fsync_directory(path.parent)


def atomic_write_bytes(path: pathlib.Path, chunks: Iterable[bytes]) -> None:
    """:func:`atomic_write` of ``chunks``, one after the other."""
    atomic_write(path, lambda handle: handle.writelines(chunks))
