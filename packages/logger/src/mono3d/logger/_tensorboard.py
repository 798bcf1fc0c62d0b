"""Optional TensorBoard event files, through whichever ``SummaryWriter`` is importable.

mono3d-logger depends on neither torch nor TensorBoard. ``find_summary_writer`` tries, in
order, ``torch.utils.tensorboard.SummaryWriter`` (needs torch and the ``tensorboard``
package) and ``tensorboardX.SummaryWriter``; when neither imports, event files are simply
not written. Both writers take ``purge_step``: on resume from a checkpoint at step k the
writer is opened with ``purge_step=k + 1`` so TensorBoard hides the events the crashed run
wrote past the checkpoint, matching what the JSONL history keeps.
"""

import pathlib
from collections.abc import Callable
from typing import Any

from ._records import EvalRecord, TrainRecord

__all__ = ["TensorBoardSink", "find_summary_writer"]


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
