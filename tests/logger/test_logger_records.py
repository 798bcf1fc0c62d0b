"""Record validation: round trips, non-finite values, and errors that name the bad field."""

import json
import math

import pydantic
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mono3d.logger import EvalRecord, HistoryLogger, TrainRecord, read_history, record_adapter

names = st.from_regex(r"[A-Za-z][A-Za-z0-9_/]{0,11}", fullmatch=True)
any_float = st.floats(allow_nan=True, allow_infinity=True)
finite_non_negative = st.floats(min_value=0, max_value=1e6, allow_nan=False)


def same_float(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def error_locations(error: pydantic.ValidationError) -> list[tuple[object, ...]]:
    return [tuple(item["loc"]) for item in error.errors()]


@given(
    step=st.integers(0, 10**9),
    epoch=st.none() | st.integers(0, 1000),
    wall_time=finite_non_negative,
    losses=st.dictionaries(names, any_float, min_size=1, max_size=5),
    lr=st.none() | finite_non_negative,
    grad_norm=st.none() | st.floats(min_value=0) | st.just(math.nan),
    throughput=st.none() | finite_non_negative,
)
def test_train_record_round_trips_through_json(
    step, epoch, wall_time, losses, lr, grad_norm, throughput
):
    record = TrainRecord(
        step=step,
        epoch=epoch,
        wall_time=wall_time,
        losses=losses,
        lr=lr,
        grad_norm=grad_norm,
        throughput=throughput,
    )
    line = record.model_dump_json()
    json.loads(line, parse_constant=pytest.fail)  # strict JSON: no bare NaN / Infinity tokens
    back = record_adapter.validate_json(line)
    assert isinstance(back, TrainRecord)
    assert back.model_dump(exclude={"losses", "grad_norm"}) == record.model_dump(
        exclude={"losses", "grad_norm"}
    )
    assert back.losses.keys() == losses.keys()
    assert all(same_float(back.losses[k], v) for k, v in losses.items())
    assert (back.grad_norm is None) == (grad_norm is None)
    if grad_norm is not None:
        assert same_float(back.grad_norm, grad_norm)


@given(
    records=st.lists(
        st.tuples(st.booleans(), st.dictionaries(names, any_float, min_size=1, max_size=3)),
        min_size=1,
        max_size=8,
    )
)
def test_logger_round_trips_records_in_order(records, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("run")
    written = []
    with HistoryLogger(run_dir, tensorboard=False) as log:
        for step, (is_eval, values) in enumerate(records):
            if is_eval:
                written.append(log.log_eval(step, metrics=values, wall_time=1.0))
            else:
                written.append(log.log_train(step, losses=values, lr=0.01, wall_time=1.0))
        assert len(log.records()) == len(records)
    back = read_history(run_dir / "history.jsonl")
    assert [r.kind for r in back] == [r.kind for r in written]
    assert [r.step for r in back] == [r.step for r in written]
    for old, new in zip(written, back):
        old_values = old.losses if isinstance(old, TrainRecord) else old.metrics
        new_values = new.losses if isinstance(new, TrainRecord) else new.metrics
        assert old_values.keys() == new_values.keys()
        assert all(same_float(new_values[k], v) for k, v in old_values.items())


def test_non_finite_values_are_stored_as_json_strings(tmp_path):
    with HistoryLogger(tmp_path, tensorboard=False) as log:
        log.log_train(
            1,
            losses={"nan": math.nan, "inf": math.inf, "neg": -math.inf, "ok": 0.5},
            grad_norm=math.inf,
        )
        log.log_eval(1, metrics={"Pedestrian/AP": math.nan})
    lines = (tmp_path / "history.jsonl").read_text().splitlines()
    raw = json.loads(lines[0])
    assert raw["losses"] == {"nan": "NaN", "inf": "Infinity", "neg": "-Infinity", "ok": 0.5}
    assert raw["grad_norm"] == "Infinity"
    assert "lr" not in raw  # None fields are left out of the line
    train, evaluation = read_history(tmp_path / "history.jsonl")
    assert math.isnan(train.losses["nan"]) and train.losses["inf"] == math.inf
    assert train.losses["neg"] == -math.inf and train.grad_norm == math.inf
    assert math.isnan(evaluation.metrics["Pedestrian/AP"])


@pytest.mark.parametrize(
    ("fields", "location"),
    [
        ({"step": -1}, ("step",)),
        ({"step": True}, ("step",)),
        ({"step": "3"}, ("step",)),
        ({"step": 2.5}, ("step",)),
        ({"lr": math.nan}, ("lr",)),
        ({"lr": math.inf}, ("lr",)),
        ({"lr": -1e-3}, ("lr",)),
        ({"grad_norm": -1.0}, ("grad_norm",)),
        ({"throughput": math.nan}, ("throughput",)),
        ({"epoch": -2}, ("epoch",)),
        ({"wall_time": math.inf}, ("wall_time",)),
        ({"losses": {}}, ("losses",)),
        ({"losses": {"box3d": "0.5"}}, ("losses", "box3d")),
        ({"losses": {"box3d": [1.0, 2.0]}}, ("losses", "box3d")),
        ({"losses": {"two words": 1.0}}, ("losses", "two words", "[key]")),
        ({"losses": {"": 1.0}}, ("losses", "", "[key]")),
        ({"extra_field": 1.0}, ("extra_field",)),
    ],
)
def test_invalid_train_field_is_named(fields, location):
    arguments = {"step": 1, "wall_time": 1.0, "losses": {"total": 1.0}, **fields}
    with pytest.raises(pydantic.ValidationError) as caught:
        TrainRecord(**arguments)
    assert location in error_locations(caught.value)
    assert ".".join(map(str, location)) in str(caught.value)


def test_logger_reports_the_bad_field_and_writes_nothing(tmp_path):
    with HistoryLogger(tmp_path, tensorboard=False) as log:
        with pytest.raises(ValueError, match=r"lr\n.*finite number >= 0, got nan"):
            log.log_train(1, losses={"total": 1.0}, lr=math.nan)
        with pytest.raises(ValueError, match=r"metrics"):
            log.log_eval(1, metrics={})
        assert log.records() == []
        log.log_train(1, losses={"total": 1.0})  # step 1 was never taken: still free
    assert [r.step for r in read_history(tmp_path / "history.jsonl")] == [1]


def test_eval_record_rejects_train_fields():
    with pytest.raises(pydantic.ValidationError) as caught:
        EvalRecord(step=1, wall_time=1.0, metrics={"AP": 0.5}, losses={"total": 1.0})
    assert ("losses",) in error_locations(caught.value)


def test_discriminator_names_the_kind():
    with pytest.raises(pydantic.ValidationError) as caught:
        record_adapter.validate_python({"kind": "test", "step": 1, "wall_time": 1.0})
    assert ("kind",) in error_locations(caught.value) or "kind" in str(caught.value)
    with pytest.raises(pydantic.ValidationError) as caught:
        record_adapter.validate_python({"kind": "eval", "step": 1, "wall_time": 1.0})
    assert ("eval", "metrics") in error_locations(caught.value)


class Scalar:
    """A stand-in for a 0-d tensor / numpy scalar: only ``__float__`` and ``__index__``."""

    def __init__(self, value):
        self.value = value

    def __float__(self):
        return float(self.value)

    def __index__(self):
        return int(self.value)


class Vector:
    """A stand-in for a tensor with several elements: ``float()`` refuses it."""

    def __float__(self):
        raise TypeError("only one element tensors can be converted to Python scalars")


def test_scalar_objects_are_unwrapped_and_vectors_refused():
    record = TrainRecord(step=Scalar(7), wall_time=1.0, losses={"total": Scalar(0.25)})
    assert record.step == 7 and type(record.step) is int
    assert record.losses == {"total": 0.25}
    with pytest.raises(pydantic.ValidationError, match=r"losses\.total") as caught:
        TrainRecord(step=1, wall_time=1.0, losses={"total": Vector()})
    assert "not a scalar" in str(caught.value)
