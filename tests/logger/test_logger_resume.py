"""Resume: records past the checkpoint are dropped; the final history has every step once."""

import pathlib
import tempfile
import warnings

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mono3d.logger import HistoryLogger, HistoryWarning, TrainRecord, read_history


def train_loop(log, steps, run, eval_every):
    """A stand-in training loop: one train record per step, an evaluation every few steps."""
    for step in steps:
        log.log_train(step, losses={"total": 1.0 / step, "run": float(run)}, lr=1e-3)
        if step % eval_every == 0:
            log.log_eval(step, metrics={"AP": step / 1000, "run": float(run)})


@given(
    total=st.integers(1, 24),
    checkpoint_every=st.integers(1, 8),
    eval_every=st.integers(1, 6),
    data=st.data(),
    torn=st.booleans(),
)
def test_resume_after_a_crash_has_no_gap_and_no_duplicate(
    total, checkpoint_every, eval_every, data, torn
):
    killed_after = data.draw(st.integers(0, total), label="killed_after")
    with tempfile.TemporaryDirectory() as temp:
        run_dir = pathlib.Path(temp)
        with HistoryLogger(run_dir, tensorboard=False) as log:
            train_loop(log, range(1, killed_after + 1), run=1, eval_every=eval_every)
        if torn:  # the crash hit the write of the next record
            line = TrainRecord(step=killed_after + 1, wall_time=1.0, losses={"total": 1.0})
            with open(run_dir / "history.jsonl", "ab") as handle:
                handle.write(line.model_dump_json().encode()[:-3])
        checkpoint = killed_after - killed_after % checkpoint_every  # last one saved (0: none)

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            log = HistoryLogger(run_dir, resume=checkpoint, tensorboard=False)
        assert [issubclass(w.category, HistoryWarning) for w in caught] == [True] * torn
        with log:
            kept = log.records()
            assert all(r.step <= checkpoint for r in kept)
            assert log.last_step("train") == (checkpoint or None)
            train_loop(log, range(checkpoint + 1, total + 1), run=2, eval_every=eval_every)

        records = read_history(run_dir / "history.jsonl")
        train = [r for r in records if r.kind == "train"]
        evals = [r for r in records if r.kind == "eval"]
        assert [r.step for r in train] == list(range(1, total + 1))
        assert [r.step for r in evals] == list(range(eval_every, total + 1, eval_every))
        # steps up to the checkpoint come from the first run, the rest from the resumed one
        for record in train:
            assert record.losses["run"] == (1.0 if record.step <= checkpoint else 2.0)
        for record in evals:
            assert record.metrics["run"] == (1.0 if record.step <= checkpoint else 2.0)


def test_resume_keeps_records_at_the_checkpoint_step(tmp_path):
    with HistoryLogger(tmp_path, tensorboard=False) as log:
        train_loop(log, range(1, 11), run=1, eval_every=5)
    with HistoryLogger(tmp_path, resume=5, tensorboard=False) as log:
        assert [(r.kind, r.step) for r in log.records()] == [
            *(("train", s) for s in range(1, 5)),
            ("train", 5),
            ("eval", 5),
        ]
        assert log.last_step("train") == 5 and log.last_step("eval") == 5
        with pytest.raises(ValueError, match=r"train step 5 must be greater than .* 5"):
            log.log_train(5, losses={"total": 1.0})


def test_resume_rewrite_is_atomic_and_leaves_no_temp_file(tmp_path):
    with HistoryLogger(tmp_path, tensorboard=False) as log:
        train_loop(log, range(1, 21), run=1, eval_every=4)
    before = (tmp_path / "history.jsonl").stat().st_ino
    with HistoryLogger(tmp_path, resume=8, tensorboard=False):
        pass
    assert (tmp_path / "history.jsonl").stat().st_ino != before  # replaced, not truncated
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.jsonl"]
    assert max(r.step for r in read_history(tmp_path / "history.jsonl")) == 8


def test_resume_without_dropping_leaves_the_file_untouched(tmp_path):
    with HistoryLogger(tmp_path, tensorboard=False) as log:
        train_loop(log, range(1, 6), run=1, eval_every=2)
    before = (tmp_path / "history.jsonl").stat().st_ino
    for resume in (True, 5, 99):
        with HistoryLogger(tmp_path, resume=resume, tensorboard=False) as log:
            assert log.last_step("train") == 5 and log.last_step("eval") == 4
    assert (tmp_path / "history.jsonl").stat().st_ino == before


def test_resume_true_continues_after_the_last_step(tmp_path):
    with HistoryLogger(tmp_path, tensorboard=False) as log:
        train_loop(log, range(1, 4), run=1, eval_every=10)
    with HistoryLogger(tmp_path, resume=True, tensorboard=False) as log:
        with pytest.raises(ValueError, match="train step 2 must be greater than the last"):
            log.log_train(2, losses={"total": 1.0})
        log.log_train(4, losses={"total": 1.0})
    assert [r.step for r in read_history(tmp_path / "history.jsonl")] == [1, 2, 3, 4]


def test_resume_on_a_fresh_directory_starts_a_history(tmp_path):
    run_dir = tmp_path / "new" / "run"
    with HistoryLogger(run_dir, resume=100, tensorboard=False) as log:
        log.log_train(101, losses={"total": 1.0})
    assert [r.step for r in read_history(run_dir / "history.jsonl")] == [101]


def test_steps_strictly_increase_per_kind(tmp_path):
    with HistoryLogger(tmp_path, tensorboard=False) as log:
        log.log_train(0, losses={"total": 1.0})
        log.log_eval(0, metrics={"AP": 0.0})  # eval and train steps are counted apart
        log.log_train(3, losses={"total": 1.0})  # gaps are allowed (log every k steps)
        for bad in (3, 2):
            with pytest.raises(ValueError, match=f"train step {bad} must be greater"):
                log.log_train(bad, losses={"total": 1.0})
        with pytest.raises(ValueError, match="eval step 0 must be greater"):
            log.log_eval(0, metrics={"AP": 0.0})
        log.log_eval(3, metrics={"AP": 0.1})
    assert [(r.kind, r.step) for r in read_history(tmp_path / "history.jsonl")] == [
        ("train", 0),
        ("eval", 0),
        ("train", 3),
        ("eval", 3),
    ]


@pytest.mark.parametrize("resume", [-1, 1.5, "3", None])
def test_invalid_resume_is_refused(tmp_path, resume):
    with pytest.raises(ValueError, match="resume must be False, True or a checkpoint step"):
        HistoryLogger(tmp_path, resume=resume)


def test_closed_logger_refuses_to_log(tmp_path):
    log = HistoryLogger(tmp_path, tensorboard=False)
    log.close()
    log.close()  # idempotent
    with pytest.raises(ValueError, match="is closed"):
        log.log_train(1, losses={"total": 1.0})
