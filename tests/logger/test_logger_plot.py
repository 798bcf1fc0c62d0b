"""history.png: EMA-smoothed losses over the raw ones, a symmetric-log axis for negative
terms, a few headline metrics in distinct styles, legends outside the data."""

import math

import pytest

from mono3d.logger import EvalRecord, TrainRecord
from mono3d.logger._plot import (
    LINE_STYLES,
    MAX_HEADLINE_METRICS,
    ema,
    headline_metrics,
    history_figure,
    loss_axis,
    smoothing_weight,
)

pytest.importorskip("matplotlib")

#: the metrics the trainer logs: <class>/<kind>_R40_moderate and their mean
METRICS = [
    f"{cls}/{kind}_R40_moderate"
    for kind in ("AP2d", "APbev", "AP3d", "AOS")
    for cls in ("Car", "Pedestrian", "Cyclist", "mean")
]


def test_ema_matches_the_bias_corrected_recurrence():
    # s1 = 0.5 * 1 = 0.5, / (1 - 0.5) = 1;  s2 = 0.25 + 0.5 * 0 = 0.25, / 0.75 = 1/3
    assert ema([1.0, 0.0], 0.5) == pytest.approx([1.0, 1.0 / 3.0])
    weight = 0.9
    values = [3.0, 1.0, 4.0, 1.0, 5.0]
    state, expected = 0.0, []
    for t, value in enumerate(values, start=1):
        state = weight * state + (1 - weight) * value
        expected.append(state / (1 - weight**t))
    assert ema(values, weight) == pytest.approx(expected)
    assert ema([2.0] * 20, 0.99) == pytest.approx([2.0] * 20)  # no pull towards 0
    assert ema(values, 0.0) == values  # weight 0: the raw values
    assert ema([], 0.5) == []
    with pytest.raises(ValueError, match="weight"):
        ema(values, 1.0)


def test_ema_skips_non_finite_values():
    smoothed = ema([1.0, math.nan, math.inf, 3.0], 0.5)
    assert math.isnan(smoothed[1]) and math.isnan(smoothed[2])
    assert smoothed[0] == 1.0 and smoothed[3] == pytest.approx(ema([1.0, 3.0], 0.5)[1])
    assert ema([-1.5, -0.5], 0.5) == pytest.approx([-1.5, (-0.375 - 0.25) / 0.75])


def test_smoothing_weight_grows_with_the_curve():
    assert smoothing_weight(10) == 0.0 and smoothing_weight(50) == 0.0
    assert smoothing_weight(1000) == pytest.approx(1 - 1 / 20)
    assert smoothing_weight(10**6) == pytest.approx(1 - 1 / 200)  # capped span
    weights = [smoothing_weight(n) for n in (100, 400, 4000)]
    assert weights == sorted(weights) and all(0 <= w < 1 for w in weights)


def test_loss_axis_keeps_negative_values_visible():
    assert loss_axis([0.5, 2.0, 1e-3]) == ("log", 1.0)
    assert loss_axis([0.0, 0.0]) == ("linear", 1.0)
    assert loss_axis([math.nan]) == ("linear", 1.0)
    scale, linthresh = loss_axis([2.0, 0.03, -1.4, 0.5, math.nan] * 10)
    assert scale == "symlog" and linthresh == 0.01  # the small positive terms stay log-like
    assert loss_axis([-1.0, 0.0])[0] == "symlog"


def records(steps=120, negative=True, evals=(40, 80, 120)):
    out: list[TrainRecord | EvalRecord] = []
    for step in range(1, steps + 1):
        losses = {"total": 3.0 / step**0.3, "box2d": 0.05 + 0.01 * math.sin(step)}
        losses["depth_uncertainty"] = -1.4 + 0.1 * math.cos(step) if negative else 0.2
        out.append(TrainRecord(step=step, wall_time=float(step), losses=losses, lr=1e-3))
        if step in evals:
            metrics = {n: step / 2 for n in METRICS}
            out.append(EvalRecord(step=step, wall_time=float(step), metrics=metrics))
    return out


def names(history, kind):
    """Loss or metric names in order of first appearance (what plot_history passes)."""
    seen: dict[str, None] = {}
    for record in history:
        if kind == "loss" and isinstance(record, TrainRecord):
            seen.update(dict.fromkeys(record.losses))
        elif kind == "metric" and isinstance(record, EvalRecord):
            seen.update(dict.fromkeys(record.metrics))
    return list(seen)


def figure_of(history):
    return history_figure(
        history, loss_names=names(history, "loss"), metric_names=names(history, "metric")
    )


def test_negative_losses_are_drawn_on_a_symlog_axis():
    figure = figure_of(records())
    losses = figure.axes[0]
    assert losses.get_yscale() == "symlog"
    ys = [y for line in losses.get_lines() for y in line.get_ydata()]
    assert min(ys) < -1.0  # the NLL term is plotted, not masked
    assert figure_of(records(negative=False)).axes[0].get_yscale() == "log"


def test_each_loss_has_a_smoothed_line_over_a_faint_raw_one():
    figure = figure_of(records())
    lines = figure.axes[0].get_lines()
    labelled = [line for line in lines if not line.get_label().startswith("_")]
    assert [line.get_label() for line in labelled] == ["total", "box2d", "depth_uncertainty"]
    for line in labelled:
        raw = next(other for other in lines if other.get_color() == line.get_color()
                   and other is not line)  # fmt: skip
        assert raw.get_alpha() < 0.5 and (line.get_alpha() or 1.0) == 1.0
        smoothed = ema(list(raw.get_ydata()), smoothing_weight(len(raw.get_ydata())))
        assert list(line.get_ydata()) == pytest.approx(smoothed)
    assert len({line.get_color() for line in labelled}) == 3
    # short histories are drawn raw, with markers, no smoothing
    short = figure_of(records(steps=20, evals=())).axes[0].get_lines()
    curves = [line for line in short if not line.get_label().startswith("_")]
    assert len(curves) == 3 and all(line.get_marker() == "." for line in curves)
    assert len(short) == 4  # + the zero line of the symlog axis


def test_headline_metrics_pick_a_few_car_moderate_aps():
    assert headline_metrics(METRICS) == [
        "Car/AP2d_R40_moderate",
        "Car/APbev_R40_moderate",
        "Car/AP3d_R40_moderate",
        "mean/AP3d_R40_moderate",
    ]
    loose = [*METRICS, "Car/AP3d_R40_moderate_loose", "Pedestrian/AP3d_R40_moderate_loose"]
    assert headline_metrics(loose)[3] == "Car/AP3d_R40_moderate_loose"
    only_cyclist = [m for m in METRICS if m.startswith(("Cyclist", "mean"))]
    assert headline_metrics(only_cyclist)[0] == "Cyclist/AP2d_R40_moderate"
    custom = [f"m{i}" for i in range(9)]
    assert headline_metrics(custom) == custom[:MAX_HEADLINE_METRICS]
    assert headline_metrics([]) == []


def test_the_metric_panel_shows_headlines_in_distinct_styles():
    figure = figure_of(records())
    metrics = figure.axes[1]
    lines = metrics.get_lines()
    # each labelled with its last value
    assert [line.get_label() for line in lines] == [
        f"{name} (60 at 120)" for name in headline_metrics(METRICS)
    ]
    styles = {(line.get_color(), line.get_linestyle(), line.get_marker()) for line in lines}
    assert len(styles) == len(lines)
    assert len({line.get_color() for line in lines}) == len(lines)
    assert len({line.get_linestyle() for line in lines}) == len(lines)
    assert "12 more in history.csv" in metrics.get_title()
    assert len(LINE_STYLES) >= MAX_HEADLINE_METRICS


def test_legends_sit_outside_the_data():
    figure = figure_of(records())
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    for ax in figure.axes[:2]:  # losses and metrics
        legend = ax.get_legend()
        assert legend is not None
        box = legend.get_window_extent(renderer)
        assert box.x0 >= ax.get_window_extent(renderer).x1  # right of the axes
    assert figure.axes[2].get_legend() is None  # one curve: the learning rate
    # one step axis: the evaluations line up with the losses
    assert figure.axes[1].get_xlim() == figure.axes[0].get_xlim()
