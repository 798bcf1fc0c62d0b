"""The curves of a history as a matplotlib figure (Agg canvas: no pyplot state, no display).

Panels, left to right:

- **losses**: every loss term against step, smoothed with a bias-corrected exponential
  moving average (:func:`ema`, the weight from :func:`smoothing_weight`) drawn over the raw
  values (faint, same colour). The y axis (:func:`loss_axis`) is logarithmic when every
  value is positive, *symmetric-log* when some are negative (the depth-uncertainty
  Laplacian NLL is), so negative terms stay visible, and linear when nothing is non-zero.
  Steps with a non-finite loss are marked by red dotted lines.
- **metrics** (when there are eval records): a few headline metrics (:func:`headline_metrics`,
  e.g. Car moderate R40 AP2D / BEV / 3D), each in its own colour, line style and marker,
  its last value in the legend; every metric is in the CSV.
- **learning rate** (when logged).

The panels share the step axis. Legends sit right of their axes, outside the data.
"""

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from ._records import EvalRecord, TrainRecord

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "LINE_STYLES",
    "MAX_HEADLINE_METRICS",
    "ema",
    "headline_metrics",
    "history_figure",
    "loss_axis",
    "smoothing_weight",
]

#: the most metrics the metric panel shows
MAX_HEADLINE_METRICS = 5
#: (colour, line style, marker) of the headline metrics, in order: no two alike
LINE_STYLES = (
    ("tab:blue", "-", "o"),
    ("tab:orange", "--", "s"),
    ("tab:green", "-.", "^"),
    ("tab:red", ":", "D"),
    ("tab:purple", (0, (5, 1, 1, 1, 1, 1)), "v"),
)
#: the metric kinds shown for the first class, strict IoU, moderate, R40
_HEADLINE_KINDS = ("AP2d", "APbev", "AP3d")
_HEADLINE_SUFFIX = "_R40_moderate"
#: points per smoothing span (the EMA spans about count / this many points), and the cap
_POINTS_PER_SPAN = 50
_MAX_SPAN = 200
_RAW_ALPHA = 0.2


def smoothing_weight(count: int) -> float:
    """The EMA weight for a curve of ``count`` points: 1 - 1/span with span = count / 50,
    between 1 (no smoothing: 50 points or fewer) and 200 points."""
    span = min(max(count / _POINTS_PER_SPAN, 1.0), _MAX_SPAN)
    return 1.0 - 1.0 / span


def ema(values: Sequence[float], weight: float) -> list[float]:
    """The bias-corrected exponential moving average of ``values`` (TensorBoard's smoothing):
    ``s_t = weight * s_(t-1) + (1 - weight) * x_t`` from ``s_0 = 0``, divided by
    ``1 - weight**t`` so the first points are not pulled towards 0. A non-finite value
    gives NaN at its position and leaves the average untouched. ``weight`` in [0, 1)."""
    if not 0.0 <= weight < 1.0:
        raise ValueError(f"ema: weight must be in [0, 1), got {weight}")
    smoothed: list[float] = []
    state, seen = 0.0, 0
    for value in values:
        if not math.isfinite(value):
            smoothed.append(math.nan)
            continue
        seen += 1
        state = weight * state + (1.0 - weight) * value
        smoothed.append(state / (1.0 - weight**seen))
    return smoothed


def loss_axis(values: Sequence[float]) -> tuple[Literal["log", "symlog", "linear"], float]:
    """The y scale for loss curves holding ``values``, and the symlog linear threshold: the
    10th percentile of the non-zero magnitudes rounded down to a power of ten (1.0 unless
    the scale is symlog)."""
    finite = [v for v in values if math.isfinite(v)]
    magnitudes = sorted(abs(v) for v in finite if v != 0)
    if not magnitudes:
        return "linear", 1.0
    if all(v > 0 for v in finite):
        return "log", 1.0
    low = magnitudes[len(magnitudes) // 10]
    return "symlog", 10.0 ** math.floor(math.log10(low))


def headline_metrics(names: Sequence[str], limit: int = MAX_HEADLINE_METRICS) -> list[str]:
    """The metrics worth a curve, of ``names`` (in their order): for the first class with a
    ``<class>/AP2d_R40_moderate`` style metric, its AP2d, APbev and AP3d (strict IoU, R40,
    moderate), then its other AP3d / APbev variants (e.g. a loose IoU), then
    ``mean/AP3d_R40_moderate``; at most ``limit``. Names without that pattern: the first
    ``limit``."""
    classes = [
        name.split("/", 1)[0]
        for name in names
        if name.count("/") == 1
        and name.endswith(_HEADLINE_SUFFIX)
        and name.split("/", 1)[1].removesuffix(_HEADLINE_SUFFIX) in _HEADLINE_KINDS
        and not name.startswith("mean/")
    ]
    if not classes:
        return list(names[:limit])
    cls = classes[0]
    chosen = [f"{cls}/{kind}{_HEADLINE_SUFFIX}" for kind in _HEADLINE_KINDS]
    chosen += [
        name
        for name in names
        if name.startswith((f"{cls}/AP3d", f"{cls}/APbev")) and name not in chosen
    ]
    chosen.append(f"mean/AP3d{_HEADLINE_SUFFIX}")
    present = set(names)
    return [name for name in chosen if name in present][:limit]


def _finite_or_nan(values: Sequence[float]) -> list[float]:
    return [v if math.isfinite(v) else math.nan for v in values]


def _plot_losses(ax: "Axes", train: Sequence[TrainRecord], names: Sequence[str]) -> int:
    """Smoothed and raw loss curves on ``ax``; returns the number of legend entries."""
    series = {name: [(r.step, r.losses[name]) for r in train if name in r.losses] for name in names}
    scale, linthresh = loss_axis([v for points in series.values() for _, v in points])
    for index, (name, points) in enumerate(series.items()):
        steps = [s for s, _ in points]
        raw = [v for _, v in points]
        colour = f"C{index % 10}"  # the colour cycle's n-th colour, one per term
        if len(points) > _POINTS_PER_SPAN:
            weight = smoothing_weight(len(points))
            ax.plot(steps, _finite_or_nan(raw), color=colour, alpha=_RAW_ALPHA, linewidth=0.6)
            ax.plot(steps, ema(raw, weight), color=colour, linewidth=1.4, label=name)
        else:
            ax.plot(steps, _finite_or_nan(raw), color=colour, marker=".", label=name)
    bad = sorted({s for points in series.values() for s, v in points if not math.isfinite(v)})
    for index, step in enumerate(bad):
        ax.axvline(
            step,
            color="red",
            linestyle=":",
            linewidth=0.8,
            label="non-finite loss" if index == 0 else None,
        )
    if scale == "symlog":
        ax.set_yscale("symlog", linthresh=linthresh)
        ax.axhline(0.0, color="black", linewidth=0.6)
    elif scale == "log":
        ax.set_yscale("log")
    smoothing = ""
    if any(len(points) > _POINTS_PER_SPAN for points in series.values()):
        longest = max(len(points) for points in series.values())
        smoothing = f", EMA {smoothing_weight(longest):.3g}"
    scale_note = {"log": ", log", "symlog": f", symlog (linear within ±{linthresh:g})"}
    ax.set_title(f"losses{scale_note.get(scale, '')}{smoothing}", fontsize="medium")
    return len(names) + (1 if bad else 0)


def _plot_metrics(ax: "Axes", evals: Sequence[EvalRecord], names: Sequence[str]) -> int:
    """The headline metric curves on ``ax``; returns the number of legend entries."""
    shown = headline_metrics(names)
    for name, (colour, style, marker) in zip(shown, LINE_STYLES):
        points = [(r.step, r.metrics[name]) for r in evals if name in r.metrics]
        last = f" ({points[-1][1]:.4g} at {points[-1][0]})" if points else ""
        ax.plot(
            [s for s, _ in points],
            _finite_or_nan([v for _, v in points]),
            color=colour,
            linestyle=style,
            marker=marker,
            markersize=4,
            label=name + last,
        )
    rest = len(names) - len(shown)
    ax.set_title("metrics" + (f" ({rest} more in history.csv)" if rest else ""), fontsize="medium")
    return len(shown)


def history_figure(
    records: Sequence[TrainRecord | EvalRecord],
    *,
    title: str | None = None,
    loss_names: Sequence[str] = (),
    metric_names: Sequence[str] = (),
) -> "Figure":
    """The figure of the curves of ``records`` (see the module docstring): ``loss_names``
    and ``metric_names`` in their plotting order. Needs matplotlib."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as error:  # pragma: no cover - exercised only without matplotlib
        raise ImportError(
            "plotting a history needs matplotlib: pip install 'mono3d-logger[plot]'"
        ) from error

    train = [r for r in records if isinstance(r, TrainRecord)]
    evals = [r for r in records if isinstance(r, EvalRecord)]
    lr_points = [(r.step, r.lr) for r in train if r.lr is not None]
    panels = ["loss"] + (["metric"] if evals else []) + (["lr"] if lr_points else [])
    # the loss and metric legends sit right of their axes: 2.5 inches each
    legends = (2.5 if train else 0.0) + (2.5 if evals else 0.0)
    figure = Figure(figsize=(5.0 * len(panels) + legends, 3.8), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    # one step axis for every panel, so a few evaluations line up with the losses
    axes = figure.subplots(1, len(panels), squeeze=False, sharex=True)[0]
    if title:
        figure.suptitle(title)
    for ax, panel in zip(axes, panels):
        ax.set_xlabel("step")
        ax.grid(True, alpha=0.3)
        entries = 0
        if panel == "loss" and train:
            entries = _plot_losses(ax, train, loss_names)
        elif panel == "metric":
            entries = _plot_metrics(ax, evals, metric_names)
        elif panel == "lr":
            ax.plot([s for s, _ in lr_points], _finite_or_nan([v for _, v in lr_points]))
            ax.set_title("learning rate", fontsize="medium")
        if entries:
            ax.legend(fontsize="x-small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    if not train:
        axes[0].set_title("losses", fontsize="medium")
        axes[0].text(
            0.5, 0.5, "no train records", ha="center", va="center", transform=axes[0].transAxes
        )
    return figure
