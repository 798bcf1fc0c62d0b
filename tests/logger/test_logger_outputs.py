"""Outputs: CSV columns and values, the PNG, TensorBoard mirroring, and rank-0-only writing."""

import csv
import math
import os
import struct

import pytest

from mono3d.logger import (
    HistoryLogger,
    LoggerConfig,
    csv_columns,
    export_csv,
    history_logger,
    plot_history,
    read_history,
)
from mono3d.logger import _tensorboard as tensorboard_module

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def write_run(run_dir, steps=30, **options):
    with HistoryLogger(run_dir, tensorboard=False, **options) as log:
        for step in range(1, steps + 1):
            losses = {"box2d": 1.0 / step, "box3d": 3.0 / step}
            if step > 10:
                losses["yaw"] = 0.2  # a term that appears later still gets a column
            if step == 7:
                losses["box3d"] = math.nan
            log.log_train(
                step,
                losses=losses,
                lr=1e-3 * min(1.0, step / 10),
                grad_norm=2.0,
                throughput=48.0,
                epoch=step // 10,
                wall_time=1000.0 + step,
            )
            if step % 10 == 0:
                log.log_eval(step, metrics={"Car/AP3d": step / 100}, wall_time=1000.5 + step)
    return run_dir


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk comes first
    return width, height


def test_csv_has_one_row_per_record_and_the_union_of_columns(tmp_path):
    write_run(tmp_path)
    with HistoryLogger(tmp_path, resume=True, tensorboard=False) as log:
        path = log.export_csv()
    assert path == tmp_path / "history.csv"
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
        columns = reader.fieldnames
    assert columns == [
        "kind",
        "step",
        "epoch",
        "wall_time",
        "lr",
        "grad_norm",
        "throughput",
        "loss/box2d",
        "loss/box3d",
        "loss/yaw",
        "metric/Car/AP3d",
    ]
    assert columns == csv_columns(read_history(tmp_path / "history.jsonl"))
    assert len(rows) == 30 + 3
    first, nan_row, eval_row = rows[0], rows[6], rows[10]
    assert first["kind"] == "train" and int(first["step"]) == 1
    assert float(first["loss/box2d"]) == 1.0 and first["loss/yaw"] == ""
    assert first["metric/Car/AP3d"] == ""
    assert math.isnan(float(nan_row["loss/box3d"]))
    assert eval_row["kind"] == "eval" and int(eval_row["step"]) == 10
    assert float(eval_row["metric/Car/AP3d"]) == 0.1
    assert eval_row["lr"] == "" and eval_row["loss/box2d"] == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.csv", "history.jsonl"]


def test_plot_writes_a_readable_png(tmp_path):
    write_run(tmp_path)
    with HistoryLogger(tmp_path, resume=True, tensorboard=False) as log:
        path = log.plot()
    assert path == tmp_path / "history.png"
    assert path.stat().st_size > 10_000
    # three panels + the loss and metric legends right of their axes: 3 x 500 + 2 x 250 px
    assert png_size(path) == (2000, 380)
    from matplotlib import image

    pixels = image.imread(path)
    assert pixels.shape == (380, 2000, 4)
    assert pixels[..., :3].std() > 0.05  # something was drawn
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.jsonl", "history.png"]
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # as open() would, not mkstemp's 0o600


def test_plot_handles_zero_losses_and_missing_panels(tmp_path):
    with HistoryLogger(tmp_path, tensorboard=False) as log:
        for step in range(3):
            log.log_train(step, losses={"box3d": 0.0})  # linear axis: nothing to log-scale
    path = plot_history(read_history(tmp_path / "history.jsonl"), tmp_path / "out" / "p.png")
    assert png_size(path) == (750, 380)  # losses (+ legend) only: no metrics, no lr
    assert png_size(plot_history([], tmp_path / "empty.png")) == (500, 380)


def test_export_functions_work_on_a_history_file_alone(tmp_path):
    write_run(tmp_path / "run", steps=5)
    records = read_history(tmp_path / "run" / "history.jsonl")
    assert export_csv(records, tmp_path / "table.csv").read_text().count("\n") == 6
    assert png_size(plot_history(records, tmp_path / "curves.png"))[0] == 1250


# ----------------------------------------------------------------------------- rank


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_non_zero_rank_writes_nothing(tmp_path, monkeypatch, how):
    run_dir = tmp_path / "run"
    recorder = FakeWriter.install(monkeypatch)
    if how == "environment":
        monkeypatch.setenv("RANK", "3")
        options = {}
    else:
        monkeypatch.setenv("RANK", "0")
        options = {"rank": 1}
    with HistoryLogger(run_dir, resume=5, **options) as log:
        assert not log.writes and not log.tensorboard_enabled
        record = log.log_train(6, losses={"total": 1.0}, lr=0.1)
        assert record.step == 6
        log.log_eval(6, metrics={"AP": 0.5})
        assert log.records() == []
        assert log.export_csv() is None and log.plot() is None
        with pytest.raises(ValueError, match="lr"):  # still validated on every rank
            log.log_train(7, losses={"total": 1.0}, lr=math.nan)
        with pytest.raises(ValueError, match="must be greater"):
            log.log_train(6, losses={"total": 1.0})
    assert not run_dir.exists()
    assert recorder.instances == []


def test_rank_argument_overrides_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("RANK", "2")
    with history_logger(tmp_path, rank=0, tensorboard=False) as log:
        log.log_train(1, losses={"total": 1.0})
    assert len(read_history(tmp_path / "history.jsonl")) == 1


def test_malformed_rank_environment_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("RANK", "zero")
    with pytest.raises(ValueError, match="RANK='zero'"):
        HistoryLogger(tmp_path)


# ----------------------------------------------------------------------------- tensorboard


class FakeWriter:
    """Records what a SummaryWriter would be asked to do."""

    instances: list["FakeWriter"]

    def __init__(self, log_dir, purge_step=None):
        self.log_dir, self.purge_step = log_dir, purge_step
        self.scalars, self.closed, self.flushed = [], False, 0
        type(self).instances.append(self)

    def add_scalar(self, tag, value, step, walltime=None):
        self.scalars.append((tag, value, step, walltime))

    def flush(self):
        self.flushed += 1

    def close(self):
        self.closed = True

    @classmethod
    def install(cls, monkeypatch, available=True):
        recorder = type("Recorder", (cls,), {"instances": []})
        monkeypatch.setattr(
            tensorboard_module, "find_summary_writer", lambda: recorder if available else None
        )
        return recorder


def test_tensorboard_mirrors_every_scalar(tmp_path, monkeypatch):
    recorder = FakeWriter.install(monkeypatch)
    with HistoryLogger(tmp_path) as log:
        assert log.tensorboard_enabled
        log.log_train(1, losses={"box2d": 0.5, "box3d": math.nan}, lr=0.01, wall_time=5.0)
        log.log_eval(1, metrics={"Car/AP3d": 0.3}, wall_time=6.0)
        log.flush()
    (writer,) = recorder.instances
    assert writer.log_dir == str(tmp_path / "tensorboard") and writer.purge_step is None
    assert writer.scalars[0] == ("loss/box2d", 0.5, 1, 5.0)
    assert writer.scalars[1][0] == "loss/box3d" and math.isnan(writer.scalars[1][1])
    assert writer.scalars[2:] == [("train/lr", 0.01, 1, 5.0), ("metric/Car/AP3d", 0.3, 1, 6.0)]
    assert writer.flushed == 1 and writer.closed


def test_tensorboard_purges_steps_past_the_checkpoint_on_resume(tmp_path, monkeypatch):
    recorder = FakeWriter.install(monkeypatch)
    with HistoryLogger(tmp_path, resume=40):
        pass
    with HistoryLogger(tmp_path, resume=True):
        pass
    assert [w.purge_step for w in recorder.instances] == [41, None]


def test_tensorboard_is_optional_unless_required(tmp_path, monkeypatch):
    FakeWriter.install(monkeypatch, available=False)
    with HistoryLogger(tmp_path / "auto") as log:
        assert not log.tensorboard_enabled
        log.log_train(1, losses={"total": 1.0})
    with pytest.raises(ImportError, match="tensorboard=True needs a SummaryWriter"):
        HistoryLogger(tmp_path / "required", tensorboard=True)
    assert not (tmp_path / "required").exists()
    recorder = FakeWriter.install(monkeypatch)
    with HistoryLogger.from_config(tmp_path / "off", LoggerConfig(tensorboard=False)) as log:
        assert not log.tensorboard_enabled
    assert recorder.instances == []


def test_real_summary_writer_when_installed(tmp_path):
    if tensorboard_module.find_summary_writer() is None:
        pytest.skip("no SummaryWriter importable (torch + tensorboard, or tensorboardX)")
    with HistoryLogger(tmp_path, tensorboard=True) as log:
        log.log_train(1, losses={"total": 1.0}, lr=0.1)
    events = list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))
    assert len(events) == 1 and events[0].stat().st_size > 0


def test_logger_config_forbids_unknown_fields():
    with pytest.raises(ValueError, match="tensorbord"):
        LoggerConfig(tensorbord=True)
