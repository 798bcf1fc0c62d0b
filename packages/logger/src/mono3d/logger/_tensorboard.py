"""Optional TensorBoard event files, through whichever ``SummaryWriter`` is importable.

mono3d-logger depends on neither torch nor TensorBoard. ``find_summary_writer`` tries, in
order, ``torch.utils.tensorboard.SummaryWriter`` (needs torch and the ``tensorboard``
package: ``pip install 'mono3d-train[tensorboard]'``) and ``tensorboardX.SummaryWriter``
(needs neither: ``pip install 'mono3d-logger[tensorboard]'``). When neither imports,
``missing_writer_reason`` says in one line what is missing and what to install: the logger
raises it when TensorBoard was asked for (``tensorboard=True``) and logs it at DEBUG level
(logger ``mono3d.logger``; ``mono3d -v`` shows it) when it was only wanted if available.

Both writers take ``purge_step``: on resume from a checkpoint at step k the writer is opened
with ``purge_step=k + 1`` so TensorBoard hides the events the crashed run wrote past the
checkpoint, matching what the JSONL history keeps.
"""

import importlib.util
import pathlib
from collections.abc import Callable
from typing import Any

from ._records import EvalRecord, TrainRecord

__all__ = ["TensorBoardSink", "find_summary_writer", "missing_writer_reason"]


def find_summary_writer() -> Callable[..., Any] | None:
    """The first importable ``SummaryWriter`` class (torch's, then tensorboardX's), or None."""
    try:
        from torch.utils.tensorboard import SummaryWriter

        return SummaryWriter
    except ImportError:
        pass
    try:
        from tensorboardX import SummaryWriter as SummaryWriterX

        return SummaryWriterX
    except ImportError:
        return None


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def missing_writer_reason() -> str:
    """One line: which of torch / tensorboard / tensorboardX is missing for TensorBoard event
    files, and what to install."""
    if _installed("torch") and not _installed("tensorboard"):
        return (
            "torch is installed but the tensorboard package is not: pip install tensorboard "
            "(or 'mono3d-train[tensorboard]'), or tensorboardX ('mono3d-logger[tensorboard]')"
        )
    if _installed("torch"):
        return (
            "torch and tensorboard are installed but torch.utils.tensorboard does not import "
            "(see `python -c 'import torch.utils.tensorboard'`); or install tensorboardX "
            "('mono3d-logger[tensorboard]')"
        )
    if _installed("tensorboard"):
        return (
            "tensorboard is installed but torch is not, and torch's SummaryWriter needs both: "
            "pip install 'mono3d-logger[tensorboard]' (tensorboardX, no torch needed)"
        )
    return (
        "neither torch + tensorboard nor tensorboardX is installed: pip install "
        "'mono3d-logger[tensorboard]' (tensorboardX) or 'mono3d-train[tensorboard]'"
    )


class TensorBoardSink:
    """Mirrors history records as scalars: ``loss/<name>``, ``train/lr``,
    ``train/grad_norm``, ``train/throughput``, ``metric/<name>`` (x axis = step)."""

    def __init__(
        self, writer_class: Callable[..., Any], log_dir: pathlib.Path, purge_step: int | None
    ) -> None:
        self._writer = writer_class(log_dir=str(log_dir), purge_step=purge_step)

    def write(self, record: TrainRecord | EvalRecord) -> None:
        scalars: dict[str, float | None]
        if isinstance(record, TrainRecord):
            scalars = {f"loss/{name}": value for name, value in record.losses.items()}
            scalars["train/lr"] = record.lr
            scalars["train/grad_norm"] = record.grad_norm
            scalars["train/throughput"] = record.throughput
        else:
            scalars = {f"metric/{name}": value for name, value in record.metrics.items()}
        for tag, value in scalars.items():
            if value is not None:  # NaN/inf are passed on: TensorBoard shows them
                self._writer.add_scalar(tag, value, record.step, walltime=record.wall_time)

    def flush(self) -> None:
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()
