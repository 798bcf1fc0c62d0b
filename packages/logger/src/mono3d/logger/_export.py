"""History exports: a flat CSV table and a PNG of the loss / metric / learning-rate curves.

Both are written atomically (temp file in the same directory, fsync, ``os.replace``), so a
dashboard polling them never reads half a file.
"""

import csv
import io
import math
import os
import pathlib
from collections.abc import Sequence

from ._history_file import atomic_write_bytes
from ._records import EvalRecord, TrainRecord

__all__ = ["csv_columns", "export_csv", "plot_history"]

_BASE_COLUMNS = ("kind", "step", "epoch", "wall_time", "lr", "grad_norm", "throughput")
_MAX_LEGEND_ENTRIES = 20


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


def _curve(points: list[tuple[int, float]], positive: bool) -> tuple[list[int], list[float]]:
    """Steps and values, with non-finite (and, for a log axis, non-positive) values as gaps."""
    steps = [step for step, _ in points]
    values = [
        value if math.isfinite(value) and (value > 0 or not positive) else math.nan
        for _, value in points
    ]
    return steps, values


def plot_history(
    records: Sequence[TrainRecord | EvalRecord],
    path: str | os.PathLike[str],
    *,
    title: str | None = None,
) -> pathlib.Path:
    """Draw the curves of a history to a PNG (matplotlib, Agg canvas, no display needed).

    Panels: every loss term against step on a log y axis (linear when no value is positive);
    every metric against step (when there are eval records); the learning rate (when logged).
    Non-finite values show as gaps. Needs the ``plot`` extra (matplotlib).
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as error:  # pragma: no cover - exercised only without matplotlib
        raise ImportError(
            "plotting a history needs matplotlib: pip install 'mono3d-logger[plot]'"
        ) from error

    path = pathlib.Path(path)
    train = [r for r in records if isinstance(r, TrainRecord)]
    evals = [r for r in records if isinstance(r, EvalRecord)]
    loss_names, metric_names = _names(records, "loss"), _names(records, "metric")
    lr_points = [(r.step, r.lr) for r in train if r.lr is not None]

    panels = ["loss"] + (["metric"] if evals else []) + (["lr"] if lr_points else [])
    # the metric panel's legend sits right of its axes (it would hide the few eval points)
    width = 5.0 * len(panels) + (2.5 if evals else 0.0)
    figure = Figure(figsize=(width, 3.8), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, len(panels), squeeze=False)[0]
    if title:
        figure.suptitle(title)

    def marker(count: int) -> str:
        return "." if count <= 50 else ""

    for ax, panel in zip(axes, panels):
        ax.set_xlabel("step")
        ax.grid(True, alpha=0.3)
        if panel == "loss":
            series = {
                name: [(r.step, r.losses[name]) for r in train if name in r.losses]
                for name in loss_names
            }
            log_y = any(v > 0 and math.isfinite(v) for pts in series.values() for _, v in pts)
            for name, points in series.items():
                ax.plot(*_curve(points, positive=log_y), marker=marker(len(points)), label=name)
            bad = sorted({s for pts in series.values() for s, v in pts if not math.isfinite(v)})
            for index, step in enumerate(bad):
                ax.axvline(
                    step,
                    color="red",
                    linestyle=":",
                    linewidth=0.8,
                    label="non-finite loss" if index == 0 else None,
                )
            if log_y:
                ax.set_yscale("log")
            ax.set_title("losses" + (" (log scale)" if log_y else ""))
            names = loss_names + (["non-finite loss"] if bad else [])
        elif panel == "metric":
            for name in metric_names:
                points = [(r.step, r.metrics[name]) for r in evals if name in r.metrics]
                ax.plot(*_curve(points, positive=False), marker=marker(len(points)), label=name)
            ax.set_title("metrics")
            names = metric_names
        else:
            ax.plot(*_curve(lr_points, positive=False), marker=marker(len(lr_points)))
            ax.set_title("learning rate")
            names = []
        if names and len(names) <= _MAX_LEGEND_ENTRIES:
            if panel == "metric":
                ax.legend(fontsize="x-small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
            else:
                ax.legend(fontsize="small")
    if not train:
        axes[0].text(
            0.5, 0.5, "no train records", ha="center", va="center", transform=axes[0].transAxes
        )

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=figure.dpi)
    atomic_write_bytes(path, [buffer.getvalue()])
    return path
