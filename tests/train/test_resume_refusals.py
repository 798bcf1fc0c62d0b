"""A resume whose optimiser cannot take the stored state is refused with the field named
(exit status 2, one line), before anything is restored."""

import pytest
import torch

from mono3d.detector import DetectorConfig
from mono3d.train import CheckpointError, OptimConfig, build_optimizer
from mono3d.train._resume import check_optimizer_state, refuse_changes
from mono3d.train.cli import main


@pytest.mark.parametrize(
    ("override", "field"),
    [("optim.name=sgd", "optim.name"), ("optim.decay_norm_and_bias=true",
                                        "optim.decay_norm_and_bias")],
)  # fmt: skip
def test_a_changed_optimiser_is_refused_with_the_field_named(trained, capsys, override, field):
    capsys.readouterr()
    history = (trained.parent / "run" / "history.jsonl").read_bytes()
    assert main(["train", str(trained), "--resume", override, "train.steps=2"]) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert f"{field}: the checkpoint's optimiser state was made with" in lines[0]
    assert "checkpoint.pt" in lines[0]
    assert (trained.parent / "run" / "history.jsonl").read_bytes() == history  # untouched


def test_other_config_changes_pass_with_a_note_on_exactness():
    model = DetectorConfig().model_dump(mode="json")
    stored = {
        "model": model,
        "optim": {"name": "adamw", "lr": 1e-3},
        "schedule": {"gamma": 0.1},
        "train": {"steps": 5},
    }
    current = {"model": model, "optim": {"name": "adamw", "lr": 1e-3},
               "schedule": {"gamma": 0.5}, "train": {"steps": 9}}  # fmt: skip
    assert refuse_changes("ckpt", stored, current) == ["schedule.gamma: 0.1 -> 0.5"]
    with pytest.raises(CheckpointError, match=r"optim\.lr: the checkpoint's optimiser holds"):
        refuse_changes("ckpt", stored, {**current, "optim": {"name": "adamw", "lr": 2e-3}})
    # SGD's groups hold no betas: changing them under SGD is only a note
    sgd = {**stored, "optim": {"name": "sgd", "lr": 1e-3, "betas": [0.9, 0.999]}}
    assert refuse_changes("ckpt", sgd, {**sgd, "optim": {**sgd["optim"], "betas": [0.8, 0.9]}}) == [
        "optim.betas: [0.9, 0.999] -> [0.8, 0.9]"
    ]
    wider = {**model, "neck": {"out_channels": 128}}
    with pytest.raises(CheckpointError, match=r"model\.neck\.out_channels: 256 -> 128"):
        refuse_changes("ckpt", stored, {**current, "model": wider})


def test_an_optimiser_state_of_other_groups_or_shapes_is_refused():
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    adamw = build_optimizer(model, OptimConfig())
    model(torch.ones(1, 3)).sum().backward()
    adamw.step()
    state = adamw.state_dict()
    check_optimizer_state("ckpt", state, adamw)  # its own state fits
    merged = build_optimizer(model, OptimConfig(decay_norm_and_bias=True))
    with pytest.raises(CheckpointError, match=r"optimizer\.param_groups: .*\[2, 2\].*\[4\]"):
        check_optimizer_state("ckpt", state, merged)
    state["state"][0]["exp_avg"] = torch.zeros(5, 5)
    with pytest.raises(CheckpointError, match=r"optimizer\.state\[0\]\.exp_avg: shape \(5, 5\)"):
        check_optimizer_state("ckpt", state, adamw)
