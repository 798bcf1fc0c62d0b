"""benchmarks/bench_loss_gradients.py on a one-step checkpoint: every loss term gets a row, each
reaches exactly the parameter groups that compute it (the RPN's terms never the head, the 2D
tower's never the 3D tower and the reverse)."""

import pathlib
import sys

import pytest

from mono3d.train import synthesise
from mono3d.train.cli import main as mono3d_main

#: a one-step run of configs/synthetic.yaml shrunk to a fraction of a second per step
SMALL = [
    "model.neck.out_channels=16",
    "model.head.fc_dim=32",
    "model.head.roi_size=4",
    "train.steps=1",
    "train.batch_size=2",
    "train.amp=off",
    "train.workers=0",
    "train.progress=false",
    "train.eval_interval=0",
    "eval.at_end=false",
    "logger.tensorboard=false",
]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    folder = tmp_path_factory.mktemp("grad")
    synthesise(folder / "data", 6, seed=1, val_fraction=0.34, image_size=(64, 128), max_objects=3)
    config = pathlib.Path(__file__).resolve().parents[2] / "configs" / "synthetic.yaml"
    args = ["train", str(config), f"data.root={folder / 'data'}"]
    args += [f"output.run_dir={folder / 'run'}", *SMALL]
    assert mono3d_main(args) == 0
    return folder / "run" / "checkpoint.pt"


def test_each_term_reaches_only_its_own_groups(load_benchmark, checkpoint, monkeypatch, capsys):
    bench = load_benchmark("bench_loss_gradients")
    monkeypatch.setattr(sys, "argv", ["bench_loss_gradients.py", str(checkpoint), "--batches", "1"])
    bench.main()
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == ["term", *bench.GROUPS]
    rows = {line.split()[0]: [float(v) for v in line.split()[1:]] for line in lines[2:]}
    assert len(rows) == 8
    trunk, rpn, tower2d, tower3d = range(4)
    for term in ("box2d", "objectness"):
        assert rows[term][rpn] > 0 and rows[term][tower2d] == rows[term][tower3d] == 0
    for term in ("category", "box2d_refine"):
        assert rows[term][tower2d] > 0 and rows[term][tower3d] == rows[term][rpn] == 0
    for term in ("box3d", "yaw", "depth_uncertainty"):
        assert rows[term][tower3d] > 0 and rows[term][tower2d] == rows[term][rpn] == 0
    assert all(row[trunk] > 0 for term, row in rows.items() if term != "yaw_category")
