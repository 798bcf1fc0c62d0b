"""Crash safety: a killed process loses at most the record being written."""

import os
import signal
import subprocess
import sys
import textwrap
import warnings

import pytest

from mono3d.logger import (
    HistoryError,
    HistoryLogger,
    HistoryWarning,
    TrainRecord,
    read_history,
)

posix_only = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")


def log_steps(run_dir, steps, **options):
    with HistoryLogger(run_dir, tensorboard=False, **options) as log:
        for step in steps:
            log.log_train(step, losses={"total": 1.0 / step}, lr=0.01, wall_time=float(step))


def run_child(code: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter (same environment, so mono3d.logger imports)."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.parametrize("cut", [1, 10, 40, -1])
def test_torn_last_line_is_dropped_with_a_warning(tmp_path, cut):
    log_steps(tmp_path, range(1, 6))
    path = tmp_path / "history.jsonl"
    torn = TrainRecord(step=6, wall_time=6.0, losses={"total": 0.1}).model_dump_json()
    with open(path, "ab") as handle:
        handle.write(torn.encode()[:cut])  # a write cut short: no closing brace, no newline
    with pytest.warns(HistoryWarning, match="torn last line.*5 complete records"):
        records = read_history(path)
    assert [r.step for r in records] == [1, 2, 3, 4, 5]


def test_torn_multibyte_character_is_dropped(tmp_path):
    log_steps(tmp_path, [1])
    with open(tmp_path / "history.jsonl", "ab") as handle:
        handle.write('{"kind":"eval","step":1,"wall_time":1.0,"metrics":{"é'.encode()[:-1])
    with pytest.warns(HistoryWarning):
        assert [r.step for r in read_history(tmp_path / "history.jsonl")] == [1]


def test_complete_last_record_without_newline_is_kept(tmp_path):
    log_steps(tmp_path, [1, 2])
    path = tmp_path / "history.jsonl"
    path.write_bytes(path.read_bytes().rstrip(b"\n"))
    assert [r.step for r in read_history(path)] == [1, 2]
    log_steps(tmp_path, [3], resume=True)  # resume repairs the missing newline first
    assert path.read_bytes().count(b"\n") == 3
    assert [r.step for r in read_history(path)] == [1, 2, 3]


def test_corruption_before_the_end_names_file_and_line(tmp_path):
    log_steps(tmp_path, range(1, 4))
    path = tmp_path / "history.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(lines[0] + '{"kind": "train", "step": 2, "wal\n' + lines[2])
    with pytest.raises(HistoryError, match=r"history.jsonl:2: invalid history record"):
        read_history(path)
    path.write_text(lines[0] + lines[0].replace('"total":1.0', '"total":"x"') + lines[2])
    with pytest.raises(HistoryError, match=r"(?s)history.jsonl:2: .*train.losses.total"):
        read_history(path)


def test_repeated_step_in_file_is_corruption(tmp_path):
    log_steps(tmp_path, range(1, 3))
    path = tmp_path / "history.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines + lines[1:]))
    with pytest.raises(HistoryError, match=r":3: train step 2 does not increase"):
        read_history(path)


@posix_only
def test_process_killed_after_logging_keeps_every_record(tmp_path):
    child = run_child(
        f"""
        import os, signal
        from mono3d.logger import HistoryLogger
        log = HistoryLogger({str(tmp_path)!r}, tensorboard=False)
        for step in range(1, 31):
            log.log_train(step, losses={{"total": 1.0 / step}}, lr=0.01)
            if step % 10 == 0:
                log.log_eval(step, metrics={{"AP": step / 100}})
        os.kill(os.getpid(), signal.SIGKILL)  # no close(), no interpreter shutdown
        """
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    records = read_history(tmp_path / "history.jsonl")
    assert [r.step for r in records if r.kind == "train"] == list(range(1, 31))
    assert [r.step for r in records if r.kind == "eval"] == [10, 20, 30]


@posix_only
def test_process_killed_mid_record_loses_only_that_record(tmp_path):
    # os._exit after a raw partial write: what a SIGKILL inside write() leaves behind.
    child = run_child(
        f"""
        import os
        from mono3d.logger import HistoryLogger
        log = HistoryLogger({str(tmp_path)!r}, tensorboard=False)
        for step in range(1, 13):
            log.log_train(step, losses={{"total": 1.0 / step}})
        fd = os.open(log.path, os.O_WRONLY | os.O_APPEND)
        os.write(fd, b'{{"kind":"train","step":13,"wall_time":17')
        os._exit(3)
        """
    )
    assert child.returncode == 3, child.stderr
    with pytest.warns(HistoryWarning, match="12 complete records"):
        records = read_history(tmp_path / "history.jsonl")
    assert [r.step for r in records] == list(range(1, 13))
    with pytest.warns(HistoryWarning):  # resume drops the torn line, then steps continue
        log_steps(tmp_path, range(13, 16), resume=12)
    assert [r.step for r in read_history(tmp_path / "history.jsonl")] == list(range(1, 16))


@posix_only
def test_process_killed_at_a_random_moment_leaves_a_readable_prefix(tmp_path):
    """Kill a child that logs as fast as it can, at whatever point it has reached."""
    code = f"""
        import sys
        from mono3d.logger import HistoryLogger
        log = HistoryLogger({str(tmp_path)!r}, tensorboard=False)
        step = 0
        while True:
            step += 1
            log.log_train(step, losses={{"total": 1.0 / step, "box3d": 0.5}}, lr=1e-3)
            if step == 25:
                print("ready", flush=True)
        """
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stderr is not None
    try:
        assert child.stdout.readline().strip() == "ready", child.stderr.read()
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
        child.stdout.close()
        child.stderr.close()
    path = tmp_path / "history.jsonl"
    *complete_lines, tail = path.read_bytes().split(b"\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        records = read_history(path)
    assert all(issubclass(w.category, HistoryWarning) for w in caught)
    steps = [r.step for r in records]
    assert len(steps) >= 25
    assert steps == list(range(1, len(steps) + 1))
    # every newline-terminated record is kept; a partial tail is dropped with a warning
    # (a tail cut exactly after its closing brace is a complete record and is kept)
    assert len(steps) - len(complete_lines) in (0, 1)
    assert bool(caught) == (tail != b"" and len(steps) == len(complete_lines))


def test_logger_refuses_to_overwrite_an_existing_history(tmp_path):
    log_steps(tmp_path, [1, 2])
    with pytest.raises(FileExistsError, match="2 records; pass resume=True"):
        HistoryLogger(tmp_path, tensorboard=False)
    assert [r.step for r in read_history(tmp_path / "history.jsonl")] == [1, 2]


def test_fsync_is_called_per_record(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync

    def counting_fsync(fd):
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", counting_fsync)
    with HistoryLogger(tmp_path, tensorboard=False) as log:
        before = len(synced)
        log.log_train(1, losses={"total": 1.0})
        log.log_eval(1, metrics={"AP": 0.5})
        assert len(synced) == before + 2
    synced.clear()
    with HistoryLogger(tmp_path, resume=True, tensorboard=False, fsync=False) as log:
        log.log_train(2, losses={"total": 1.0})
    assert synced == []
