"""Exact resume after SIGKILL, a resumable checkpoint after SIGINT, non-finite steps."""

import math
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from mono3d.logger import TrainRecord, read_history
from mono3d.train import (
    TrainCallbacks,
    Trainer,
    TrainingDiverged,
    load_checkpoint,
    load_train_config,
)
from mono3d.train.cli import main

K = 3  # steps before the kill; the uninterrupted run makes 2 * K

#: ``python -c KILL_AFTER CONFIG K``: train CONFIG, SIGKILL itself once checkpoint K is written
KILL_AFTER = """
import os, signal, sys
from mono3d.train import TrainCallbacks, Trainer, load_train_config

class KillAfter(TrainCallbacks):
    def checkpoint_written(self, step, path):
        if step == int(sys.argv[2]):
            os.kill(os.getpid(), signal.SIGKILL)

Trainer(load_train_config(sys.argv[1]), callbacks=KillAfter()).run()
"""


class NanLoss(TrainCallbacks):
    """Makes the total loss NaN at the given 1-based steps."""

    def __init__(self, steps):
        self.steps = set(steps)

    def loss(self, step, total):
        return total * math.nan if step in self.steps else total


def _train_records(run_dir):
    return [r for r in read_history(run_dir / "history.jsonl") if isinstance(r, TrainRecord)]


def test_a_run_killed_after_a_checkpoint_resumes_exactly(make_config):
    common = [f"train.steps={2 * K}", f"train.checkpoint_interval={K}"]
    reference = make_config("reference", *common)
    Trainer(load_train_config(reference)).run()

    killed = make_config("killed", *common)
    process = subprocess.run([sys.executable, "-c", KILL_AFTER, str(killed), str(K)],
                             capture_output=True, text=True, timeout=300)  # fmt: skip
    assert process.returncode == -signal.SIGKILL, process.stderr
    run_dir = killed.parent / "killed"
    assert load_checkpoint(run_dir / "checkpoint.pt")["step"] == K

    outcome = Trainer(load_train_config(killed)).run(resume=True)
    assert outcome.step == 2 * K and outcome.stopped_by is None

    expected = _train_records(reference.parent / "reference")
    resumed = _train_records(run_dir)
    assert [r.step for r in resumed] == list(range(1, 2 * K + 1))  # no gap, no duplicate
    assert [r.step for r in expected] == list(range(1, 2 * K + 1))
    for a, b in zip(expected, resumed):
        assert a.losses.keys() == b.losses.keys()
        for name in a.losses:
            assert b.losses[name] == pytest.approx(a.losses[name], abs=1e-6, rel=1e-6), (
                f"step {a.step} {name}"
            )
        assert b.lr == pytest.approx(a.lr, rel=1e-12)
    final_a = load_checkpoint(reference.parent / "reference" / "checkpoint.pt")
    final_b = load_checkpoint(run_dir / "checkpoint.pt")
    assert final_a["step"] == final_b["step"] == 2 * K
    assert final_a["model"].keys() == final_b["model"].keys()
    for name, tensor in final_a["model"].items():
        torch.testing.assert_close(final_b["model"][name], tensor, rtol=1e-6, atol=1e-6,
                                   msg=lambda m, n=name: f"{n}: {m}")  # fmt: skip
    assert final_a["sampler"] == final_b["sampler"]


def test_sigint_leaves_a_resumable_checkpoint(make_config, tmp_path):
    # with a DataLoader worker: Ctrl-C reaches it too, and it must not hang the exit
    config = make_config("interrupted", "train.steps=1000", "train.checkpoint_interval=1000",
                         "train.workers=1")  # fmt: skip
    run_dir = tmp_path / "interrupted"
    history = run_dir / "history.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "mono3d.train", "train", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and process.poll() is None:
            if history.is_file() and history.read_text().count("\n") >= 2:
                break
            time.sleep(0.2)
        assert process.poll() is None, process.communicate()[1]
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C does: the whole group
        stdout, stderr = process.communicate(timeout=240)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 128 + signal.SIGINT, stderr
    assert "Traceback" not in stderr
    # progress notes go to stdout, warnings and errors to stderr (mono3d.train._messages)
    assert "stopped by SIGINT" in stdout + stderr and "--resume" in stdout + stderr
    state = load_checkpoint(run_dir / "checkpoint.pt")
    done = state["step"]
    assert done >= 2
    assert [r.step for r in _train_records(run_dir)] == list(range(1, done + 1))

    # the checkpoint resumes: one more step continues the history without a gap
    assert main(["train", str(config), "--resume", f"train.steps={done + 1}"]) == 0
    assert [r.step for r in _train_records(run_dir)] == list(range(1, done + 2))


def test_nonfinite_steps_are_skipped_then_the_run_stops(make_config, monkeypatch, capsys):
    config = make_config("nonfinite", "train.steps=8", "train.checkpoint_interval=2",
                         "train.max_consecutive_nonfinite=3")  # fmt: skip
    # step 2 alone is skipped; steps 4-6 in a row stop the run at step 6
    trainer = Trainer(load_train_config(config), callbacks=NanLoss([2, 4, 5, 6]))
    with pytest.raises(TrainingDiverged, match="3 consecutive steps"):
        trainer.run()
    run_dir = config.parent / "nonfinite"
    records = _train_records(run_dir)
    assert [r.step for r in records] == [1, 2, 3, 4, 5, 6]
    nonfinite = [r.step for r in records if not math.isfinite(r.losses["total"])]
    assert nonfinite == [2, 4, 5, 6]
    state = load_checkpoint(run_dir / "checkpoint.pt")
    assert state["step"] == 4  # the last checkpoint before the streak's end, left intact
    assert state["nonfinite"] == {"consecutive": 1, "skipped_total": 2}
    # the command reports divergence as a failed run, without a traceback
    config_cli = make_config("nonfinite_cli", "train.steps=3", "train.max_consecutive_nonfinite=1")
    original = Trainer.__init__

    def with_nan_loss(self, *args, **kwargs):
        original(self, *args, **kwargs, callbacks=NanLoss([1]))

    monkeypatch.setattr(Trainer, "__init__", with_nan_loss)
    assert main(["train", str(config_cli)]) == 1
    assert "training stopped: 1 consecutive steps" in capsys.readouterr().err


def test_a_skipped_step_changes_no_weight(make_config):
    config = make_config("skip", "train.steps=2", "train.checkpoint_interval=1")
    before = {}

    class Spy(NanLoss):
        def batch(self, step, batch):
            if step == 2:
                before.update({k: v.clone() for k, v in trainer.detector.state_dict().items()})
            return batch

    trainer = Trainer(load_train_config(config), callbacks=Spy([2]))
    trainer.run()
    after = trainer.detector.state_dict()
    assert before  # the spy ran
    for name, tensor in before.items():  # weights, optimiser-free buffers, BN statistics
        assert torch.equal(after[name], tensor), name
