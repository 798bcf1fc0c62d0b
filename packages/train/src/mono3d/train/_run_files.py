"""The run folder's files when the disk misbehaves: write errors named, stale temporaries gone.

- :func:`reported_write_errors` turns an ``OSError`` while writing a file (ENOSPC, EDQUOT,
  EIO, a read-only file system), also one that ``torch.save`` wraps in a ``RuntimeError``,
  into one :class:`RunFileError` line naming the file and the reason.
- :func:`remove_stale_temporaries` deletes the temporary files a write killed half-way
  leaves behind (``mono3d.logger.atomic_write`` names them ``.<name>.<random>.tmp``; a
  SIGKILL or power cut during a checkpoint write leaves one of up to a checkpoint's size).
"""

import contextlib
import errno
import os
import pathlib
from collections.abc import Iterable, Iterator

__all__ = ["RUN_FILES", "RunFileError", "remove_stale_temporaries", "reported_write_errors"]

#: the run-folder files the trainer writes atomically
RUN_FILES = ("checkpoint.pt", "history.jsonl", "history.csv", "history.png")


class RunFileError(OSError):
    """A file of the run folder could not be written; the message names it (one line)."""


def _os_error_in(error: BaseException) -> OSError | None:
    """``error`` itself or the first ``OSError`` it was raised from or while handling."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, OSError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _reason(error: OSError) -> str:
    if error.errno is not None:
        name = errno.errorcode.get(error.errno, str(error.errno))
        return f"{error.strerror or os.strerror(error.errno)} ({name})"
    return " ".join(str(error).split()) or type(error).__name__


@contextlib.contextmanager
def reported_write_errors(path: str | os.PathLike[str], what: str) -> Iterator[None]:
    """Re-raise an ``OSError`` from the block (or one behind a ``RuntimeError``) as
    ``RunFileError("<path>: <what>: <reason>")``; other errors pass unchanged."""
    try:
        yield
    except RunFileError:
        raise
    except (OSError, RuntimeError) as error:
        cause = _os_error_in(error)
        if cause is None:
            raise
        raise RunFileError(f"{os.fspath(path)}: {what}: {_reason(cause)}") from None


def remove_stale_temporaries(folder: str | os.PathLike[str], names: Iterable[str] = RUN_FILES
                             ) -> list[pathlib.Path]:  # fmt: skip
    """Delete ``folder/.<name>.*.tmp`` for each of ``names``; returns what was removed.

    Call it only where no write to those files is in flight (the trainer: on rank 0 before
    the run starts and after it ended)."""
    folder = pathlib.Path(folder)
    removed = []
    for name in names:
        for temporary in folder.glob(f".{name}.*.tmp"):
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
                removed.append(temporary)
    return removed
