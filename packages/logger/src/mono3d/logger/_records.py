"""The two kinds of history record, validated by pydantic.

A training history is a sequence of records, one JSON object per line of ``history.jsonl``:

- ``TrainRecord`` (``kind="train"``): the loss terms of one optimiser step, with the learning
  rate, gradient norm and throughput of that step when the caller knows them;
- ``EvalRecord`` (``kind="eval"``): the metrics of one evaluation, made at a training step.

Non-finite values. JSON has no NaN or infinity, yet a diverging loss or an AMP overflow in the
gradient norm is exactly what a history must keep. Loss terms, metrics and the gradient norm
may therefore be NaN or ±inf; they are written as the JSON *strings* ``"NaN"``,
``"Infinity"`` and ``"-Infinity"`` (pydantic's ``ser_json_inf_nan="strings"``) and read back
as the float values. The learning rate, throughput, wall time and epoch must be finite: a
non-finite one is a bug in the caller, reported with the field's name.
"""

import math
import numbers
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationInfo,
)

__all__ = ["EvalRecord", "HistoryRecord", "TrainRecord", "record_adapter"]


def _as_number(value: Any, info: ValidationInfo) -> Any:
    """Reject bools and strings given from Python; unwrap numpy/torch scalars via __float__.

    Strings are only accepted when reading JSON, where ``"NaN"``/``"Infinity"`` encode
    non-finite values. A 0-d tensor or numpy scalar is turned into a Python float here, so a
    training loop may pass ``loss.item()`` or the scalar itself.
    """
    if info.mode == "json":
        return value
    if isinstance(value, bool | str | bytes):
        raise ValueError(f"expected a number, got {type(value).__name__} {value!r}")
    if isinstance(value, numbers.Real):
        return value
    if hasattr(value, "__float__"):
        try:
            return float(value)
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"expected a number, got a {type(value).__name__} that is not a scalar ({error})"
            ) from error
    return value


def _as_step(value: Any, info: ValidationInfo) -> Any:
    """Reject bools (``True`` is not step 1) and, from Python, strings; accept ``__index__``."""
    if info.mode == "json":
        return value
    if isinstance(value, bool | str | bytes):
        raise ValueError(f"expected an integer, got {type(value).__name__} {value!r}")
    if not isinstance(value, int) and hasattr(value, "__index__"):
        return value.__index__()
    return value


def _finite_non_negative(value: float) -> float:
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"must be a finite number >= 0, got {value}")
    return value


def _nan_or_non_negative(value: float) -> float:
    if not (math.isnan(value) or value >= 0):
        raise ValueError(f"must be >= 0 (or NaN/inf for an overflowed step), got {value}")
    return value


Step = Annotated[int, BeforeValidator(_as_step), Field(ge=0)]
Count = Annotated[int, BeforeValidator(_as_step), Field(ge=0)]
FiniteNonNegative = Annotated[
    float, BeforeValidator(_as_number), AfterValidator(_finite_non_negative)
]
AnyFloat = Annotated[float, BeforeValidator(_as_number)]
GradNorm = Annotated[float, BeforeValidator(_as_number), AfterValidator(_nan_or_non_negative)]
Name = Annotated[str, StringConstraints(min_length=1, pattern=r"^\S+$")]

_RECORD_CONFIG = ConfigDict(extra="forbid", frozen=True, ser_json_inf_nan="strings")


class TrainRecord(BaseModel):
    """One optimiser step: its loss terms and optimiser state.

    ``step`` counts optimiser steps (>= 0, strictly increasing along a history);
    ``wall_time`` is Unix time in seconds (``time.time()``); ``losses`` maps each loss term
    name (no whitespace, e.g. ``"box3d"`` or ``"total"``) to its value, NaN/inf allowed;
    ``lr`` is the learning rate of the (first) parameter group; ``grad_norm`` the global
    gradient norm before clipping (NaN/inf allowed); ``throughput`` images per second.
    """

    model_config = _RECORD_CONFIG

    kind: Literal["train"] = "train"
    step: Step
    epoch: Count | None = None
    wall_time: FiniteNonNegative
    losses: Annotated[dict[Name, AnyFloat], Field(min_length=1)]
    lr: FiniteNonNegative | None = None
    grad_norm: GradNorm | None = None
    throughput: FiniteNonNegative | None = None


class EvalRecord(BaseModel):
    """One evaluation, made after training step ``step``: ``metrics`` maps name -> value.

    Metric names follow the loss-name rule (no whitespace, e.g. ``"Car/AP3d_R40_moderate"``);
    values may be NaN (e.g. an AP with no ground truth of that class).
    """

    model_config = _RECORD_CONFIG

    kind: Literal["eval"] = "eval"
    step: Step
    epoch: Count | None = None
    wall_time: FiniteNonNegative
    metrics: Annotated[dict[Name, AnyFloat], Field(min_length=1)]


HistoryRecord: TypeAlias = Annotated[TrainRecord | EvalRecord, Field(discriminator="kind")]
"""A record of either kind; the ``kind`` field selects the model."""

record_adapter: TypeAdapter[TrainRecord | EvalRecord] = TypeAdapter(HistoryRecord)
"""Validates one record (a dict, or a JSON line with ``validate_json``) of either kind."""
