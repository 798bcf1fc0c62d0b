"""Mixed precision on the CPU: bfloat16 autocast trains, with losses close to float32's."""

import pytest
import torch

from mono3d.logger import TrainRecord, read_history
from mono3d.train import Trainer, load_checkpoint, load_train_config


def test_bf16_autocast_matches_float32_closely(make_config):
    losses = {}
    for amp in ("off", "bf16"):
        config = make_config(f"amp_{amp}", "train.steps=1", f"train.amp={amp}")
        Trainer(load_train_config(config)).run()
        run_dir = config.parent / f"amp_{amp}"
        (record,) = [r for r in read_history(run_dir / "history.jsonl")
                     if isinstance(r, TrainRecord)]  # fmt: skip
        losses[amp] = record.losses
        state = load_checkpoint(run_dir / "checkpoint.pt")
        assert state["scaler"] is None  # no GradScaler for bfloat16
        assert all(t.dtype != torch.bfloat16 for t in state["model"].values())  # fp32 master
    for name, value in losses["off"].items():
        assert losses["bf16"][name] == pytest.approx(value, rel=0.05, abs=5e-3), name
