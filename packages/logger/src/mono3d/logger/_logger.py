"""``HistoryLogger``: the append-only, crash-safe, resumable training history of one run.

Files in ``run_dir`` (all written by rank 0 only):

- ``history.jsonl`` — one validated record per line, appended, flushed and fsynced per record;
- ``history.csv`` / ``history.png`` — on ``export_csv()`` / ``plot()``, written atomically;
- ``tensorboard/`` — event files, when a ``SummaryWriter`` is importable (see _tensorboard).

Resume contract (no gaps, no duplicates): a run restarted from a checkpoint saved after
step k opens the logger with ``resume=k``; records with ``step > k`` (logged after that
checkpoint by the run that died) are dropped by an atomic rewrite, then the resumed run logs
steps k+1, k+2, ... again. ``resume=True`` keeps every record and continues after the last one.
"""

import logging
import os
import pathlib
import time
import types
import warnings
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from . import _tensorboard
from ._export import export_csv, plot_history
from ._history_file import (
    HistoryWarning,
    atomic_write_bytes,
    encode_record,
    fsync_directory,
    read_history,
    scan_history,
)
from ._records import EvalRecord, TrainRecord

__all__ = ["HistoryLogger", "LoggerConfig", "history_logger"]

HISTORY_FILE = "history.jsonl"
Kind = Literal["train", "eval"]


class LoggerConfig(BaseModel):
    """Run-config section of the logger (the run directory, resume step and rank are not
    config: the trainer supplies them)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tensorboard: bool | None = None
    """None: event files when a SummaryWriter is importable; True: required; False: off."""
    fsync: bool = True
    """fsync after every record (crash safety); False trades it for speed on slow disks."""


def _rank_from_env() -> int:
    raw = os.environ.get("RANK", "0").strip() or "0"
    try:
        return int(raw)
    except ValueError as error:
        raise ValueError(f"environment variable RANK={raw!r} is not an integer") from error


class HistoryLogger:
    """Record per-step training scalars and per-evaluation metrics to ``run_dir/history.jsonl``.

    Args:
        run_dir: the run's directory (created on rank 0 when missing).
        resume: ``False`` (default) starts a history and refuses to touch an existing
            non-empty ``history.jsonl``; ``True`` keeps every record and appends after them;
            an ``int`` k (the step of the checkpoint being resumed) drops every record with
            ``step > k`` first. Either form of resume also repairs a torn last line.
        rank: the process rank; only rank 0 writes. ``None`` reads the ``RANK`` environment
            variable (set by torchrun), defaulting to 0. On any other rank every method that
            writes is a no-op and no file or directory is created; records are still
            validated (so a bad call fails on every rank alike).
        tensorboard: ``None`` writes event files to ``run_dir/tensorboard`` when a
            ``SummaryWriter`` can be imported (torch + tensorboard, or tensorboardX);
            ``True`` requires one; ``False`` never writes them.
        fsync: fsync the file after every record (default). A killed process then loses at
            most the record being written.

    Steps must strictly increase within a kind: a train step <= the last train step (or an
    eval step <= the last eval step) raises ``ValueError``.
    """

    def __init__(
        self,
        run_dir: str | os.PathLike[str],
        *,
        resume: bool | int = False,
        rank: int | None = None,
        tensorboard: bool | None = None,
        fsync: bool = True,
    ) -> None:
        if not isinstance(resume, bool) and (not isinstance(resume, int) or resume < 0):
            raise ValueError(
                f"resume must be False, True or a checkpoint step >= 0, got {resume!r}"
            )
        self.run_dir = pathlib.Path(run_dir)
        self.path = self.run_dir / HISTORY_FILE
        self.rank = _rank_from_env() if rank is None else int(rank)
        self._fsync = fsync
        self._last_step: dict[str, int] = {}
        self._handle: Any = None
        self._tensorboard: _tensorboard.TensorBoardSink | None = None
        self._closed = False
        if not self.writes:
            return
        writer_class = self._summary_writer(tensorboard)

        self.run_dir.mkdir(parents=True, exist_ok=True)
        records, torn = scan_history(self.path)
        if resume is False:
            if records or torn:
                raise FileExistsError(
                    f"{self.path} already holds {len(records)} records; pass resume=True to "
                    "append to it, resume=<checkpoint step> to continue from a checkpoint, "
                    "or use a new run_dir"
                )
        else:
            kept = records if resume is True else [r for r in records if r.step <= resume]
            if torn:
                warnings.warn(
                    f"{self.path}: dropped a torn last line (a record cut short by a crash)",
                    HistoryWarning,
                    stacklevel=2,
                )
            if torn or len(kept) != len(records) or not self._ends_with_newline():
                atomic_write_bytes(self.path, (encode_record(r) for r in kept))
            for record in kept:
                self._last_step[record.kind] = record.step

        existed = self.path.exists()
        self._handle = open(self.path, "ab")  # held open for the run; closed by close()
        if not existed:
            fsync_directory(self.run_dir)
        if writer_class is not None:
            purge_step = None if isinstance(resume, bool) else resume + 1
            try:
                self._tensorboard = _tensorboard.TensorBoardSink(
                    writer_class, self.run_dir / "tensorboard", purge_step
                )
            except BaseException:
                self._handle.close()
                raise

    @classmethod
    def from_config(
        cls,
        run_dir: str | os.PathLike[str],
        config: LoggerConfig,
        *,
        resume: bool | int = False,
        rank: int | None = None,
    ) -> "HistoryLogger":
        """Build from the run config's ``logger`` section."""
        return cls(
            run_dir, resume=resume, rank=rank, tensorboard=config.tensorboard, fsync=config.fsync
        )

    # ------------------------------------------------------------------ state

    @property
    def writes(self) -> bool:
        """True on rank 0 (the only rank that touches the file system)."""
        return self.rank == 0

    @property
    def tensorboard_enabled(self) -> bool:
        return self._tensorboard is not None

    def last_step(self, kind: Kind = "train") -> int | None:
        """The last step logged (or kept on resume) for ``kind``, or None."""
        return self._last_step.get(kind)

    # ------------------------------------------------------------------ writing

    def log_train(
        self,
        step: int,
        *,
        losses: Mapping[str, float],
        lr: float | None = None,
        grad_norm: float | None = None,
        throughput: float | None = None,
        epoch: int | None = None,
        wall_time: float | None = None,
    ) -> TrainRecord:
        """Append the record of training step ``step`` (wall_time defaults to now).

        Raises ``pydantic.ValidationError`` (a ``ValueError``) naming the bad field, and
        ``ValueError`` when ``step`` does not exceed the last train step.
        """
        record = TrainRecord(
            step=step,
            epoch=epoch,
            wall_time=time.time() if wall_time is None else wall_time,
            losses=dict(losses),
            lr=lr,
            grad_norm=grad_norm,
            throughput=throughput,
        )
        self._append(record)
        return record

    def log_eval(
        self,
        step: int,
        *,
        metrics: Mapping[str, float],
        epoch: int | None = None,
        wall_time: float | None = None,
    ) -> EvalRecord:
        """Append the metrics of an evaluation made after training step ``step``."""
        record = EvalRecord(
            step=step,
            epoch=epoch,
            wall_time=time.time() if wall_time is None else wall_time,
            metrics=dict(metrics),
        )
        self._append(record)
        return record

    def _append(self, record: TrainRecord | EvalRecord) -> None:
        if self._closed:
            raise ValueError(f"HistoryLogger({self.run_dir}) is closed")
        previous = self._last_step.get(record.kind)
        if previous is not None and record.step <= previous:
            raise ValueError(
                f"{record.kind} step {record.step} must be greater than the last logged "
                f"{record.kind} step {previous} (steps strictly increase; to rewind, reopen "
                "the logger with resume=<checkpoint step>)"
            )
        if self.writes:
            self._handle.write(encode_record(record))
            self._handle.flush()
            if self._fsync:
                os.fsync(self._handle.fileno())
            if self._tensorboard is not None:
                self._tensorboard.write(record)
        self._last_step[record.kind] = record.step

    def _ends_with_newline(self) -> bool:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(0, os.SEEK_END)
                if handle.tell() == 0:
                    return True
                handle.seek(-1, os.SEEK_END)
                return handle.read(1) == b"\n"
        except FileNotFoundError:
            return True

    @staticmethod
    def _summary_writer(wanted: bool | None) -> Any:
        if wanted is False:
            return None
        writer_class = _tensorboard.find_summary_writer()
        if writer_class is None:
            reason = _tensorboard.missing_writer_reason()
            if wanted:
                raise ImportError(f"tensorboard=True needs a SummaryWriter: {reason}")
            logging.getLogger("mono3d.logger").debug(f"no TensorBoard event files: {reason}")
        return writer_class

    # ------------------------------------------------------------------ reading / exports

    def records(self) -> list[TrainRecord | EvalRecord]:
        """The validated records on disk (``[]`` on a rank that does not write)."""
        if not self.writes:
            return []
        return read_history(self.path)

    def export_csv(self, path: str | os.PathLike[str] | None = None) -> pathlib.Path | None:
        """Write the history as CSV (default ``run_dir/history.csv``); None off rank 0."""
        if not self.writes:
            return None
        return export_csv(self.records(), self.run_dir / "history.csv" if path is None else path)

    def plot(self, path: str | os.PathLike[str] | None = None) -> pathlib.Path | None:
        """Draw the curves to a PNG (default ``run_dir/history.png``); None off rank 0."""
        if not self.writes:
            return None
        target = self.run_dir / "history.png" if path is None else path
        return plot_history(self.records(), target, title=self.run_dir.name)

    # ------------------------------------------------------------------ lifetime

    def flush(self) -> None:
        if self._tensorboard is not None:
            self._tensorboard.flush()

    def close(self) -> None:
        """Close the file (and TensorBoard writer); idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._handle is not None:
            self._handle.close()
        if self._tensorboard is not None:
            self._tensorboard.close()

    def __enter__(self) -> "HistoryLogger":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: types.TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"HistoryLogger({str(self.run_dir)!r}, rank={self.rank}, last_step={self._last_step})"
        )


def history_logger(run_dir: str | os.PathLike[str], **options: Any) -> HistoryLogger:
    """Seed name of ``HistoryLogger``: ``history_logger(run_dir, resume=..., rank=...)``."""
    return HistoryLogger(run_dir, **options)
