"""TensorBoard event files: written by a real SummaryWriter when one is installed, and one
line saying what to install when none is.

``nox -s tests`` and ``nox -s "component(logger)"`` install a writer (torch's with the
``tensorboard`` package, or tensorboardX) and set ``MONO3D_REQUIRE_TENSORBOARD=1``, so there
the real-writer test fails instead of skipping."""

import logging
import os

import pytest

from mono3d.logger import HistoryLogger
from mono3d.logger import _tensorboard as tensorboard_module

REQUIRED = os.environ.get("MONO3D_REQUIRE_TENSORBOARD") == "1"


def test_an_installed_writer_writes_the_scalars(tmp_path):
    if tensorboard_module.find_summary_writer() is None:
        reason = tensorboard_module.missing_writer_reason()
        if REQUIRED:
            pytest.fail(f"MONO3D_REQUIRE_TENSORBOARD=1 but {reason}")
        pytest.skip(reason)
    with HistoryLogger(tmp_path, tensorboard=True, fsync=False) as log:
        assert log.tensorboard_enabled
        log.log_train(1, losses={"total": 1.5, "box3d": 0.25}, lr=0.1, wall_time=3.0)
        log.log_eval(1, metrics={"Car/AP3d": 0.5}, wall_time=4.0)
    events = list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))
    assert len(events) == 1
    payload = events[0].read_bytes()
    for tag in (b"loss/total", b"loss/box3d", b"train/lr", b"metric/Car/AP3d"):
        assert tag in payload, tag


CASES = [
    # (torch, tensorboard) installed -> words the reason must hold
    ((True, False), ("tensorboard package is not", "pip install tensorboard")),
    ((False, True), ("torch is not", "mono3d-logger[tensorboard]")),
    ((False, False), ("neither torch", "mono3d-logger[tensorboard]")),
    ((True, True), ("does not import", "tensorboardX")),
]


@pytest.mark.parametrize(("installed", "words"), CASES, ids=lambda c: str(c))
def test_the_reason_is_one_line_naming_what_to_install(monkeypatch, installed, words):
    have = dict(zip(("torch", "tensorboard"), installed))
    monkeypatch.setattr(tensorboard_module, "_installed", lambda name: have.get(name, False))
    reason = tensorboard_module.missing_writer_reason()
    assert "\n" not in reason
    for word in words:
        assert word in reason


def test_asking_for_tensorboard_without_a_writer_says_what_is_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(tensorboard_module, "find_summary_writer", lambda: None)
    monkeypatch.setattr(tensorboard_module, "_installed", lambda name: name == "torch")
    with pytest.raises(ImportError) as caught:
        HistoryLogger(tmp_path / "required", tensorboard=True)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("tensorboard=True needs a SummaryWriter: torch is installed")
    assert not (tmp_path / "required").exists()


def test_tensorboard_if_available_notes_why_not_at_debug(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(tensorboard_module, "find_summary_writer", lambda: None)
    with caplog.at_level(logging.DEBUG, logger="mono3d.logger"):
        with HistoryLogger(tmp_path, fsync=False) as log:
            assert not log.tensorboard_enabled
    notes = [r for r in caplog.records if r.name == "mono3d.logger"]
    assert len(notes) == 1 and notes[0].levelno == logging.DEBUG
    assert notes[0].getMessage().startswith("no TensorBoard event files: ")
