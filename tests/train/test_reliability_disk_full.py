"""A full disk (ENOSPC) while writing a checkpoint or appending to the history: one line
naming the file, exit status 2, and the previous checkpoint and history left intact."""

import errno
import os
import pathlib
import shutil
import subprocess

import pytest

import mono3d.logger._logger as logger_module
import mono3d.train._checkpoint as checkpoint_module
from mono3d.logger import TrainRecord, read_history
from mono3d.train import load_checkpoint
from mono3d.train.cli import main


class FullDisk:
    """A binary file whose writes fail with ENOSPC once ``room`` bytes are written (the
    bytes that still fit are written first, as a real device does)."""

    def __init__(self, handle, room):
        self._handle = handle
        self._room = room

    def write(self, data):
        if len(data) > self._room:
            self._handle.write(bytes(data[: self._room]))
            self._room = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._room -= len(data)
        return self._handle.write(data)

    def __getattr__(self, name):
        return getattr(self._handle, name)


def _steps(run_dir):
    return [r.step for r in read_history(run_dir / "history.jsonl") if isinstance(r, TrainRecord)]


def _one_error_line(err):
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_a_full_disk_during_a_checkpoint_write(make_config, monkeypatch, capsys):
    config = make_config("full_checkpoint", "train.steps=3", "train.checkpoint_interval=1")
    run_dir = config.parent / "full_checkpoint"
    real, calls = checkpoint_module.atomic_write, []

    def full_from_the_second(path, write):
        calls.append(path)
        limited = write if len(calls) < 2 else (lambda handle: write(FullDisk(handle, 4096)))
        real(path, limited)

    monkeypatch.setattr(checkpoint_module, "atomic_write", full_from_the_second)
    assert main(["train", str(config)]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert f"{run_dir / 'checkpoint.pt'}: cannot write the checkpoint" in line
    assert "No space left on device (ENOSPC)" in line and "previous checkpoint is unchanged" in line
    assert load_checkpoint(run_dir / "checkpoint.pt")["step"] == 1
    assert not list(run_dir.glob(".*.tmp"))
    assert _steps(run_dir) == [1, 2]


def test_a_full_disk_during_a_history_append(make_config, monkeypatch, capsys):
    config = make_config("full_history", "train.steps=3", "train.checkpoint_interval=1")
    run_dir = config.parent / "full_history"
    real_open = open

    def open_nearly_full(path, mode="r", *args, **kwargs):
        handle = real_open(path, mode, *args, **kwargs)
        if pathlib.Path(path).name == "history.jsonl" and "a" in mode:
            return FullDisk(handle, room=handle.tell() + 1200)  # about two records fit
        return handle

    monkeypatch.setattr(logger_module, "open", open_nearly_full, raising=False)
    assert main(["train", str(config)]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert f"{run_dir / 'history.jsonl'}: cannot append to the history" in line
    assert "No space left on device (ENOSPC)" in line
    done = load_checkpoint(run_dir / "checkpoint.pt")["step"]
    monkeypatch.undo()
    with pytest.warns(UserWarning, match="torn"):  # the record cut short is dropped, no more
        steps = _steps(run_dir)
    assert steps == list(range(1, len(steps) + 1)) and len(steps) >= done
    with pytest.warns(UserWarning, match="torn"):  # resuming repairs the file
        assert main(["train", str(config), "--resume"]) == 0  # and the run continues
    assert _steps(run_dir) == [1, 2, 3]


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("mount") is None, reason="needs root")
def test_a_real_full_tmpfs(make_config, tmp_path, capsys):
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", mount_point],
                             capture_output=True)  # fmt: skip
    if mounted.returncode:
        pytest.skip(f"cannot mount a tmpfs: {mounted.stderr.decode().strip()}")
    try:
        config = make_config("tmpfs", "train.steps=2", f"output.run_dir={mount_point / 'run'}")
        assert main(["train", str(config)]) == 2
        line = _one_error_line(capsys.readouterr().err)
        assert str(mount_point / "run" / "checkpoint.pt") in line and "ENOSPC" in line
        assert not list((mount_point / "run").glob(".*.tmp"))  # the space is given back
        assert _steps(mount_point / "run") == [1, 2]
    finally:
        subprocess.run(["umount", mount_point], check=False)
