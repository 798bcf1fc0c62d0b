"""Two-process training on the CPU through torchrun (gloo)."""

import math
import os
import subprocess
import sys

from mono3d.logger import TrainRecord, read_history
from mono3d.train import load_checkpoint

#: ``torchrun ... SCRIPT CONFIG DUMP``: rank 1 alone has a NaN loss at step 2; at the end each
#: rank writes a checksum of its parameters to DUMP/rank<r>.txt (parameters only: BatchNorm
#: statistics follow each rank's own batches, DDP broadcasts rank 0's at every forward)
SCRIPT = """
import hashlib, math, os, pathlib, sys
import torch
from mono3d.train import TrainCallbacks, Trainer, load_train_config

RANK = int(os.environ["RANK"])

class Hooks(TrainCallbacks):
    def loss(self, step, total):
        return total * math.nan if (RANK, step) == (1, 2) else total

    def finished(self, trainer):
        digest, total = hashlib.sha256(), 0.0
        for name, tensor in sorted(trainer.detector.named_parameters()):
            data = tensor.detach().cpu().float().contiguous()
            digest.update(name.encode())
            digest.update(data.numpy().tobytes())
            total += float(data.double().sum())
        path = pathlib.Path(sys.argv[2]) / f"rank{RANK}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{digest.hexdigest()} {total!r} step={trainer.step}\\n")

try:
    Trainer(load_train_config(sys.argv[1]), callbacks=Hooks()).run()
finally:
    torch.distributed.destroy_process_group()
"""


def test_two_processes_keep_identical_weights_and_only_rank0_writes(make_config, tmp_path):
    config = make_config("ddp", "train.steps=3", "train.checkpoint_interval=2",
                         "train.batch_size=1")  # fmt: skip
    dump = tmp_path / "checksums"
    script = tmp_path / "ddp_hooks.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         str(script), str(config), str(dump)],
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
