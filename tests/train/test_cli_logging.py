"""The command's messages go through Python ``logging``: notes on stdout, errors on stderr,
``-q`` / ``-v`` before or after the command, and a training run's ``log.txt``."""

import logging
import re

from mono3d.train.cli import main

STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR) +mono3d")


def test_a_run_folder_keeps_every_message_in_log_txt(make_config, tmp_path, capsys):
    config = make_config("logged", "train.steps=1")
    assert main(["-v", "train", str(config), "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "training on cpu" in out and "trained 1 steps" in out
    log = (tmp_path / "logged" / "log.txt").read_text().splitlines()
    assert all(STAMP.match(line) for line in log), log
    text = "\n".join(log)
    assert f"config {config}" in text  # the DEBUG note of the command line
    assert "training on cpu" in text and "trained 1 steps" in text

    # -q after the command: no notes on the console; --resume appends to the same file
    assert main(["train", str(config), "-q", "--resume", "train.steps=2"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    resumed = (tmp_path / "logged" / "log.txt").read_text()
    assert resumed.startswith("\n".join(log)) and "trained 2 steps" in resumed


def test_errors_reach_stderr_even_when_quiet(tmp_path, capsys):
    assert main(["-q", "train", str(tmp_path / "absent.yaml")]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("mono3d: error: ") and "absent.yaml" in captured.err


def test_the_command_leaves_no_handler_behind(tmp_path):
    logger = logging.getLogger("mono3d")
    before = list(logger.handlers)
    main(["train", str(tmp_path / "absent.yaml")])
    assert logger.handlers == before
