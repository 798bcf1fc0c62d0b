"""Unit tests of the trainer's parts: seeds and RNG state, data order, schedule, checkpoints."""

import itertools
import math
import os
import pickle
import random

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from mono3d.train import (
    CHECKPOINT_KEYS,
    CheckpointError,
    OptimConfig,
    ScheduleConfig,
    StepBatchSampler,
    build_optimizer,
    build_scheduler,
    capture_rng_state,
    derive_seed,
    load_checkpoint,
    lr_factor,
    restore_rng_state,
    save_checkpoint,
)


def _state(**extra):
    """A valid checkpoint state (every field its record accepts) at ``step``."""
    step = extra.get("step", 0)
    state = {k: None for k in CHECKPOINT_KEYS if k not in ("format", "version", "torch_version")}
    state.update(
        step=step,
        model={},
        optimizer={"state": {}, "param_groups": []},
        scheduler={"base_lrs": [], "last_epoch": step},
        rng=[capture_rng_state()],
        sampler=StepBatchSampler(4, 1, seed=0).state(step),
        nonfinite={"consecutive": 0, "skipped_total": 0},
        config={},
    )
    state.update(extra)
    return state


# ---------------------------------------------------------------- seeds and RNG state


def test_derive_seed_depends_on_every_key_only():
    assert derive_seed(1, "augment", 5, 0) == derive_seed(1, "augment", 5, 0)
    seeds = {
        derive_seed(1, "augment", 5, 0),
        derive_seed(2, "augment", 5, 0),
        derive_seed(1, "criterion", 5, 0),
        derive_seed(1, "augment", 6, 0),
        derive_seed(1, "augment", 5, 1),
        derive_seed(1, "augment", 0, 5),
    }
    assert len(seeds) == 6
    assert all(0 <= s < 2**63 for s in seeds)
    with pytest.raises(ValueError, match="unknown seed purpose"):
        derive_seed(1, "nonsense")


def test_rng_state_survives_a_weights_only_checkpoint(tmp_path):
    random.seed(3)
    np.random.seed(4)
    torch.manual_seed(5)
    random.gauss(0, 1)  # leaves a cached gaussian in python's state
    state = capture_rng_state()
    expected = (random.random(), random.gauss(0, 1), np.random.rand(), torch.rand(3))
    path = save_checkpoint(tmp_path / "rng.pt", _state(rng=[state]))
    restored = load_checkpoint(path)["rng"][0]
    random.seed(99)
    np.random.seed(99)
    torch.manual_seed(99)
    restore_rng_state(restored)
    again = (random.random(), random.gauss(0, 1), np.random.rand(), torch.rand(3))
    assert expected[:3] == again[:3]
    assert torch.equal(expected[3], again[3])


# ---------------------------------------------------------------- data order


@given(
    num_samples=st.integers(4, 40),
    batch_size=st.integers(1, 4),
    world_size=st.integers(1, 3),
    start=st.integers(0, 30),
)
def test_sampler_resumes_at_any_step_and_shards_disjointly(
    num_samples, batch_size, world_size, start
):
    if num_samples < batch_size * world_size:
        with pytest.raises(ValueError, match="fewer than one global batch"):
            StepBatchSampler(num_samples, batch_size, seed=7, world_size=world_size)
        return
    ranks = [
        StepBatchSampler(num_samples, batch_size, seed=7, rank=r, world_size=world_size)
        for r in range(world_size)
    ]
    per_epoch = ranks[0].batches_per_epoch
    streams = []
    for sampler in ranks:
        iterator = iter(sampler)
        streams.append([next(iterator) for _ in range(max(start + 3, per_epoch))])
    # a sampler started at `start` yields exactly the continuation
    for rank in range(world_size):
        resumed = StepBatchSampler(
            num_samples, batch_size, seed=7, rank=rank, world_size=world_size, start_step=start
        )
        iterator = iter(resumed)
        assert [next(iterator) for _ in range(3)] == streams[rank][start : start + 3]
    # within an epoch no image is seen twice across steps and ranks
    epoch_keys = [k.index for stream in streams for k in (x for b in stream[:per_epoch] for x in b)]
    assert len(epoch_keys) == len(set(epoch_keys)) == per_epoch * batch_size * world_size
    # augmentation seeds differ between ranks and steps
    seeds = [k.seed for stream in streams for batch in stream for k in batch]
    assert len(set(seeds)) == len(seeds)


def test_sampler_epochs_differ_and_state_locates_the_step():
    sampler = StepBatchSampler(12, 2, seed=0)
    assert sampler.batches_per_epoch == 6
    assert not torch.equal(sampler.epoch_order(0), sampler.epoch_order(1))
    state = sampler.state(14)
    assert state["epoch"] == 2 and state["batches_consumed_in_epoch"] == 2


# ---------------------------------------------------------------- schedule and optimiser


def test_warmup_then_cosine_reaches_the_floor():
    schedule = ScheduleConfig(name="cosine", warmup_steps=10, warmup_factor=0.1, min_lr_ratio=0.05)
    factors = [lr_factor(s, schedule, 110) for s in range(111)]
    assert factors[0] == pytest.approx(0.1)
    assert factors[5] == pytest.approx(0.55)
    assert factors[10] == pytest.approx(1.0)
    assert factors[60] == pytest.approx(0.05 + 0.95 * 0.5)
    assert factors[110] == pytest.approx(0.05)
    assert all(a >= b - 1e-12 for a, b in itertools.pairwise(factors[10:]))


def test_step_schedule_and_constant():
    schedule = ScheduleConfig(name="step", warmup_steps=0, milestones=(5, 8), gamma=0.5)
    assert [lr_factor(s, schedule, 10) for s in (0, 4, 5, 7, 8, 9)] == [1, 1, 0.5, 0.5, 0.25, 0.25]
    constant = ScheduleConfig(name="constant", warmup_steps=2, warmup_factor=0.5)
    assert [lr_factor(s, constant, 10) for s in (0, 1, 2, 9)] == [0.5, 0.75, 1.0, 1.0]


def test_bad_schedule_and_optimiser_values_are_refused():
    with pytest.raises(ValueError, match="milestones"):
        ScheduleConfig(milestones=(5, 3))
    with pytest.raises(ValueError, match="lr"):
        OptimConfig(lr=-1e-3)
    with pytest.raises(ValueError, match="beta"):
        OptimConfig(betas=(0.9, 1.0))


def test_optimiser_groups_and_scheduler_state_are_plain():
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    model[1].weight.requires_grad_(False)
    for name, config in (("adamw", OptimConfig(weight_decay=0.1)),
                         ("sgd", OptimConfig(name="sgd", weight_decay=0.1))):  # fmt: skip
        optimizer = build_optimizer(model, config)
        assert type(optimizer).__name__.lower() == name
        decays = sorted(len(g["params"]) for g in optimizer.param_groups)
        assert decays == [1, 2]  # the weight matrix decays; both biases do not
        assert {g["weight_decay"] for g in optimizer.param_groups} == {0.0, 0.1}
    scheduler = build_scheduler(optimizer, ScheduleConfig(warmup_steps=4), 20)
    for _ in range(3):
        optimizer.step()
        scheduler.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(
        OptimConfig().lr * lr_factor(3, ScheduleConfig(warmup_steps=4), 20)
    )
    assert scheduler.state_dict()["lr_lambdas"] == [None, None]


# ---------------------------------------------------------------- checkpoints


def test_checkpoint_round_trip_and_atomic_replacement(tmp_path):
    path = tmp_path / "run" / "checkpoint.pt"
    save_checkpoint(path, _state(step=3, model={"w": torch.arange(4.0)}))
    save_checkpoint(path, _state(step=4, model={"w": torch.ones(2)}))
    state = load_checkpoint(path)
    assert state["step"] == 4 and torch.equal(state["model"]["w"], torch.ones(2))
    assert sorted(p.name for p in path.parent.iterdir()) == ["checkpoint.pt"]  # no temp left
    with pytest.raises(ValueError, match="lacks"):
        save_checkpoint(path, {"step": 5})
    assert load_checkpoint(path)["step"] == 4


def test_checkpoint_gets_the_mode_of_an_ordinary_new_file(tmp_path):
    umask = os.umask(0o027)
    try:
        path = save_checkpoint(tmp_path / "checkpoint.pt", _state(step=1))
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o640  # not mkstemp's 0o600


def test_a_failed_write_leaves_the_previous_checkpoint(tmp_path):
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, _state(step=1))

    class Unsaveable:
        def __reduce__(self):
            raise RuntimeError("cannot pickle this")

    with pytest.raises(RuntimeError, match="cannot pickle"):
        save_checkpoint(path, _state(step=2, model=Unsaveable()))
    assert load_checkpoint(path)["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]


class _Exploit:
    """Unpickling this runs ``os.system`` (what a malicious checkpoint would do)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("writer", ["torch.save", "pickle.dump"])
def test_a_checkpoint_that_runs_code_when_unpickled_is_refused(tmp_path, writer):
    marker = tmp_path / "exploit-ran"
    path = tmp_path / "evil.pt"
    payload = _state(step=1, model={"w": _Exploit(marker)})
    payload.update(format="mono3d-train-checkpoint", version=1, torch_version="x")
    if writer == "torch.save":
        torch.save(payload, path)
    else:
        with open(path, "wb") as handle:
            pickle.dump(payload, handle)
    with pytest.raises(CheckpointError, match="refused to load"):
        load_checkpoint(path)
    assert not marker.exists()


def test_missing_or_foreign_checkpoints_are_named(tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "absent.pt")
    torch.save({"weights": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a mono3d training checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
    (tmp_path / "garbage.pt").write_bytes(b"not a zip and not a pickle")
    with pytest.raises(CheckpointError, match=r"garbage\.pt"):
        load_checkpoint(tmp_path / "garbage.pt")


def test_lr_factor_is_finite_everywhere():
    schedule = ScheduleConfig(warmup_steps=0)
    assert all(math.isfinite(lr_factor(s, schedule, 1)) for s in range(5))
