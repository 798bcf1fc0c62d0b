"""History exports: a flat CSV table and a PNG of the loss / metric / learning-rate curves
(drawn by :mod:`mono3d.logger._plot`).

Both are written atomically (temp file in the same directory, fsync, ``os.replace``), so a
dashboard polling them never reads half a file.
"""

import csv
import io
import os
import pathlib
from collections.abc import Sequence

from ._history_file import atomic_write_bytes
from ._plot import history_figure
from ._records import EvalRecord, TrainRecord

__all__ = ["csv_columns", "export_csv", "plot_history"]

_BASE_COLUMNS = ("kind", "step", "epoch", "wall_time", "lr", "grad_norm", "throughput")


def _names(records: Sequence[TrainRecord | EvalRecord], kind: str) -> list[str]:
    """Loss or metric names in order of first appearance."""
    seen: dict[str, None] = {}
    for record in records:
        if kind == "loss" and isinstance(record, TrainRecord):
            seen.update(dict.fromkeys(record.losses))
        elif kind == "metric" and isinstance(record, EvalRecord):
            seen.update(dict.fromkeys(record.metrics))
    return list(seen)


def csv_columns(records: Sequence[TrainRecord | EvalRecord]) -> list[str]:
    """The CSV header: the record fields, then ``loss/<name>`` and ``metric/<name>`` columns
    (union over the records, in order of first appearance)."""
    return [
        *_BASE_COLUMNS,
        *(f"loss/{name}" for name in _names(records, "loss")),
        *(f"metric/{name}" for name in _names(records, "metric")),
    ]


def _row(record: TrainRecord | EvalRecord) -> dict[str, object]:
    row: dict[str, object] = {
        "kind": record.kind,
        "step": record.step,
        "epoch": record.epoch,
        "wall_time": record.wall_time,
    }
    if isinstance(record, TrainRecord):
        row.update(lr=record.lr, grad_norm=record.grad_norm, throughput=record.throughput)
        row.update({f"loss/{name}": value for name, value in record.losses.items()})
    else:
        row.update({f"metric/{name}": value for name, value in record.metrics.items()})
    return row


def export_csv(
    records: Sequence[TrainRecord | EvalRecord], path: str | os.PathLike[str]
) -> pathlib.Path:
    """Write one CSV row per record (file order); empty cell = field absent in that record.

    Non-finite values are written as ``nan`` / ``inf`` / ``-inf`` (what ``float()`` and
    pandas read back).
    """
    path = pathlib.Path(path)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=csv_columns(records), lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow(_row(record))
    atomic_write_bytes(path, [buffer.getvalue().encode("utf-8")])
    return path


def plot_history(
    records: Sequence[TrainRecord | EvalRecord],
    path: str | os.PathLike[str],
    *,
    title: str | None = None,
) -> pathlib.Path:
    """Draw the curves of a history to a PNG (see :mod:`mono3d.logger._plot`): losses
    EMA-smoothed over the raw values on a log axis (symmetric-log when a term is negative,
    linear when nothing is non-zero), a few headline metrics (when there are eval records;
    all metrics are in the CSV), the learning rate (when logged); legends outside the data,
    non-finite values as gaps. Needs the ``plot`` extra (matplotlib)."""
    figure = history_figure(
        records,
        title=title,
        loss_names=_names(records, "loss"),
        metric_names=_names(records, "metric"),
    )
    path = pathlib.Path(path)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=figure.dpi)
    atomic_write_bytes(path, [buffer.getvalue()])
    return path
