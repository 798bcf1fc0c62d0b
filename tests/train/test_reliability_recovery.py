"""Runs that can be continued: a run that died before its first checkpoint restarts from the
command line, and a kill during a checkpoint write leaves no temporary file after the next
start."""

import subprocess
import sys

import pytest

from mono3d.logger import TrainRecord, read_history
from mono3d.train import TrainCallbacks, Trainer, load_checkpoint, load_train_config
from mono3d.train.cli import main


def _steps(run_dir):
    return [r.step for r in read_history(run_dir / "history.jsonl") if isinstance(r, TrainRecord)]


def _losses(run_dir):
    records = read_history(run_dir / "history.jsonl")
    return [r.losses["total"] for r in records if isinstance(r, TrainRecord)]


class CrashAt(TrainCallbacks):
    """Raises at the batch of step ``step`` (a crash before any checkpoint was written)."""

    def __init__(self, step):
        self.step = step

    def batch(self, step, batch):
        if step == self.step:
            raise RuntimeError("simulated crash")
        return batch


def test_a_run_without_checkpoint_restarts_from_the_command_line(make_config, capsys):
    config = make_config("early", "train.steps=3", "train.checkpoint_interval=1000")
    run_dir = config.parent / "early"
    with pytest.raises(RuntimeError, match="simulated crash"):
        Trainer(load_train_config(config), callbacks=CrashAt(3)).run()
    assert _steps(run_dir) == [1, 2] and not (run_dir / "checkpoint.pt").exists()
    first_losses = _losses(run_dir)

    assert main(["train", str(config)]) == 2  # without --resume: says what to do
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "stopped before its first checkpoint" in err[0], err
    assert "pass --resume to start it again from step 0" in err[0]

    assert main(["train", str(config), "--resume"]) == 0
    captured = capsys.readouterr()
    assert "starting it again from step 0" in captured.out + captured.err
    assert _steps(run_dir) == [1, 2, 3]  # every step once
    assert _losses(run_dir)[:2] == first_losses  # the same steps again, exactly
    assert load_checkpoint(run_dir / "checkpoint.pt")["step"] == 3


#: ``python -c DIE_WRITING CONFIG``: SIGKILL itself in the middle of its second checkpoint write
DIE_WRITING = """
import os, signal, sys, torch
from mono3d.train import Trainer, load_train_config

real_save, calls = torch.save, []

def save_then_die(obj, handle, *args, **kwargs):
    calls.append(1)
    if len(calls) == 2:
        handle.write(b"PK\\x03\\x04 half a checkpoint")
        handle.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    return real_save(obj, handle, *args, **kwargs)

torch.save = save_then_die
Trainer(load_train_config(sys.argv[1])).run()
"""


class NoTemporaries(TrainCallbacks):
    """Records, at the first step's batch, the temporary files in the run folder."""

    def __init__(self, run_dir):
        self.run_dir = run_dir
        self.seen = None

    def batch(self, step, batch):
        if self.seen is None:
            self.seen = sorted(p.name for p in self.run_dir.glob(".*.tmp"))
        return batch


def test_a_kill_during_a_checkpoint_write_leaves_no_temporary_after_the_next_start(make_config):
    config = make_config("killed_writing", "train.steps=3", "train.checkpoint_interval=1")
    run_dir = config.parent / "killed_writing"
    process = subprocess.run([sys.executable, "-c", DIE_WRITING, str(config)],
                             capture_output=True, text=True, timeout=300)  # fmt: skip
    assert process.returncode < 0, process.stderr
    stale = list(run_dir.glob(".checkpoint.pt.*.tmp"))
    assert len(stale) == 1  # what the kill left
    assert load_checkpoint(run_dir / "checkpoint.pt")["step"] == 1  # the previous one, intact

    hooks = NoTemporaries(run_dir)
    outcome = Trainer(load_train_config(config), callbacks=hooks).run(resume=True)
    assert outcome.step == 3
    assert hooks.seen == []  # removed on start, before the first step
    assert not list(run_dir.glob(".*.tmp"))
    assert _steps(run_dir) == [1, 2, 3]
