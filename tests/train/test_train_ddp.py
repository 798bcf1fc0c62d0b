"""Two-process training on the CPU through torchrun (gloo)."""

import math
import os
import subprocess
import sys

from mono3d.logger import TrainRecord, read_history
from mono3d.train import load_checkpoint


def test_two_processes_keep_identical_weights_and_only_rank0_writes(make_config, tmp_path):
    config = make_config("ddp", "train.steps=3", "train.checkpoint_interval=2",
                         "train.batch_size=1")  # fmt: skip
    dump = tmp_path / "checksums"
    env = {
        **os.environ,
        "MONO3D_TRAIN_TEST_PARAM_DUMP": str(dump),
        # rank 1 alone has a non-finite loss at step 2: both ranks must skip that step
        "MONO3D_TRAIN_TEST_NAN_STEPS": "1:2",
        "OMP_NUM_THREADS": "1",
    }
    process = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         "-m", "mono3d.train", "train", str(config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )  # fmt: skip
    assert process.returncode == 0, process.stderr[-4000:]

    checksums = {path.name: path.read_text().split() for path in dump.iterdir()}
    assert sorted(checksums) == ["rank0.txt", "rank1.txt"]
    assert checksums["rank0.txt"] == checksums["rank1.txt"]  # same digest, sum and step
    assert checksums["rank0.txt"][2] == "step=3"

    run_dir = tmp_path / "ddp"
    # rank 0 alone writes: exactly its files, each step logged once
    assert sorted(p.name for p in run_dir.iterdir()) == [
        "checkpoint.pt", "config.yaml", "history.csv", "history.jsonl", "history.png",
    ]  # fmt: skip
    records = [r for r in read_history(run_dir / "history.jsonl") if isinstance(r, TrainRecord)]
    assert [r.step for r in records] == [1, 2, 3]
    # the loss logged is the mean over ranks: NaN at the step rank 1 could not take
    assert [math.isfinite(r.losses["total"]) for r in records] == [True, False, True]
    state = load_checkpoint(run_dir / "checkpoint.pt")
    assert state["step"] == 3
    assert len(state["rng"]) == 2  # every rank's generator state
    assert state["sampler"]["world_size"] == 2
    assert state["nonfinite"]["skipped_total"] == 1
