"""The command's messages, through Python ``logging``.

Everything under the ``mono3d`` logger (the CLI's ``mono3d.train.cli``, the trainer's
``mono3d.train._trainer``...) reaches

* the console: progress notes (INFO) on stdout, warnings and errors on stderr prefixed
  ``mono3d: warning:`` / ``mono3d: error:``; ``-q`` keeps only warnings and errors, ``-v``
  adds DEBUG notes. Lines go through ``tqdm.write`` when tqdm is loaded, so a progress
  bar stays intact. Processes other than rank 0 of a ``torchrun`` world print errors only.
* ``log.txt`` in a training run's folder (rank 0, every level, timestamped, appended on
  ``--resume``), once :func:`log_to_run_folder` was called.

A command's own output (an AP table, a config listing) is printed, not logged: ``-q`` does
not hide it.
"""

import contextlib
import logging
import os
import pathlib
import sys
from collections.abc import Iterator

__all__ = ["LOG_FILE", "ROOT_LOGGER", "console_logging", "log_to_run_folder"]

#: the logger every mono3d message goes through
ROOT_LOGGER = "mono3d"
#: the file a training run's messages are appended to, in its run folder
LOG_FILE = "log.txt"

_PREFIX = {logging.WARNING: "mono3d: warning: ", logging.ERROR: "mono3d: error: "}


def _is_main_process() -> bool:
    return os.environ.get("RANK", "0") in ("", "0")


class _ConsoleFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        prefix = _PREFIX.get(record.levelno, "mono3d: error: " if record.levelno > 40 else "")
        return prefix + record.getMessage()


class _ConsoleHandler(logging.Handler):
    """INFO and DEBUG to stdout, WARNING and above to stderr (the streams current at each
    message, so redirections made after start-up are honoured)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
            stream = sys.stderr if record.levelno >= logging.WARNING else sys.stdout
            tqdm = sys.modules.get("tqdm")
            if tqdm is not None:
                tqdm.tqdm.write(text, file=stream)
            else:
                stream.write(text + "\n")
                stream.flush()
        except Exception:  # logging must never raise into the command
            self.handleError(record)


class _Recorder(logging.Handler):
    """Keeps the command's records until a run folder's ``log.txt`` opens, so that file
    also holds what was said before the run folder was known (the precision chosen...)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _console_level(verbose: int, quiet: int) -> int:
    if not _is_main_process():
        return logging.ERROR
    if quiet:
        return logging.WARNING
    return logging.DEBUG if verbose else logging.INFO


@contextlib.contextmanager
def console_logging(verbose: int = 0, quiet: int = 0) -> Iterator[logging.Logger]:
    """Route the ``mono3d`` logger to the console for the duration of one command; the
    handlers it adds (console, and any run folder's ``log.txt``) are removed on exit."""
    logger = logging.getLogger(ROOT_LOGGER)
    handler = _ConsoleHandler(level=_console_level(verbose, quiet))
    handler.setFormatter(_ConsoleFormatter())
    before = list(logger.handlers)
    old_level, old_propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.addHandler(_Recorder())
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield logger
    finally:
        for added in [h for h in logger.handlers if h not in before]:
            logger.removeHandler(added)
            added.close()
        logger.setLevel(old_level)
        logger.propagate = old_propagate


def log_to_run_folder(run_dir: str | os.PathLike[str]) -> pathlib.Path | None:
    """Append every ``mono3d`` message from now on to ``run_dir/log.txt`` (rank 0 only;
    other ranks get None). The handler lives until :func:`console_logging` exits."""
    if not _is_main_process():
        return None
    folder = pathlib.Path(run_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOG_FILE
    logger = logging.getLogger(ROOT_LOGGER)
    if any(getattr(h, "baseFilename", None) == str(path.resolve()) for h in logger.handlers):
        return path
    handler = logging.FileHandler(path, mode="a", encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    for recorder in [h for h in logger.handlers if isinstance(h, _Recorder)]:
        for record in recorder.records:
            handler.handle(record)
        logger.removeHandler(recorder)
    logger.addHandler(handler)
    return path
