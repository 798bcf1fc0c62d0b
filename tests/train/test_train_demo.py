"""The demo command end to end (tiny), and its loss-went-down check."""

import json
import math

import pytest

from mono3d.logger import HistoryLogger
from mono3d.train import loss_decrease
from mono3d.train._demo import DEMO_AIMS, demo_verdict
from mono3d.train.cli import main


def _history(path, totals):
    with HistoryLogger(path, tensorboard=False, fsync=False) as logger:
        for step, total in enumerate(totals, start=1):
            logger.log_train(step, losses={"total": total})
    return path / "history.jsonl"


def test_loss_decrease_compares_the_first_and_last_windows(tmp_path):
    falling = [5.0 - 0.01 * i for i in range(300)]
    first, last, window = loss_decrease(_history(tmp_path / "a", falling))
    assert window == 100
    assert first == pytest.approx(sum(falling[:100]) / 100)
    assert last == pytest.approx(sum(falling[-100:]) / 100)
    assert last < first
    # short histories use a quarter of the steps; non-finite losses are left out
    rising = [1.0, math.nan, 1.0, 1.0, 2.0, 2.0, 2.0, 3.0]
    first, last, window = loss_decrease(_history(tmp_path / "b", rising))
    assert window == 2 and first == 1.0 and last == 2.5
    with pytest.raises(ValueError, match="too few"):
        loss_decrease(_history(tmp_path / "c", [1.0, 2.0]))


def test_demo_synthesises_trains_evaluates_and_reports(tmp_path, capsys, tiny_overrides):
    out = tmp_path / "demo"
    args = ["demo", "--out", str(out), "--minutes", "5", "--train-images", "8",
            "--val-images", "2", "--image-size", "64", "128",
            *tiny_overrides, "train.steps=8", "train.batch_size=1", "eval.at_end=true",
            "eval.draw=2"]  # fmt: skip
    status = main(args)
    printed = capsys.readouterr().out
    assert status in (0, 1)  # 8 steps need not lower the loss; the check itself is tested above
    assert "mean total loss, first 2 steps" in printed
    assert ("mono3d demo: OK" in printed) == (status == 0)
    run = out / "run"
    for name in ("history.jsonl", "history.csv", "history.png", "metrics.txt", "checkpoint.pt"):
        assert (run / name).is_file(), name
    assert len(list((run / "predictions").glob("*.png"))) == 2
    assert (out / "data" / "ImageSets" / "val.txt").read_text().count("\n") == 2
    assert main(args) == 2  # the run folder exists: refused without --overwrite
    assert "--overwrite" in capsys.readouterr().err


def _eval(run, step, ap2d, ap3d_loose):
    folder = run / "eval" / f"step_{step:07d}"
    folder.mkdir(parents=True)
    table = {"R40": {"Car": {"bbox": {"moderate": ap2d}}},
             "loose": {"R40": {"Car": {"3d": {"moderate": ap3d_loose}}}}}  # fmt: skip
    (folder / "metrics.json").write_text(json.dumps(table))


def test_demo_verdict_reads_the_last_evaluation_against_the_aims(tmp_path):
    with pytest.raises(ValueError, match="no evaluation"):
        demo_verdict(tmp_path)
    _eval(tmp_path, 600, 90.0, 5.0)  # an earlier evaluation below the 3D aim
    _eval(tmp_path, 1200, 80.0, 30.0)
    verdict = demo_verdict(tmp_path)
    assert verdict.ok and verdict.step == 1200
    assert "OK" in verdict.line and "AP2D@0.7 80.0 (>= 50)" in verdict.line
    assert "AP3D@0.5 30.0 (>= 10)" in verdict.line
    _eval(tmp_path, 1300, 80.0, 9.9)
    verdict = demo_verdict(tmp_path)
    assert not verdict.ok and "FAILED" in verdict.line and "AP3D@0.5 9.9 (below 10)" in verdict.line
    assert [aim for *_, aim in DEMO_AIMS] == [50.0, 10.0]  # the aims
