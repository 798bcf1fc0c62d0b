"""Checkpoint loading under hostile input: every file that is not an intact mono3d checkpoint
is a CheckpointError naming it (never IndexError, struct.error, KeyError...), and a file that
loads is the checkpoint that was written."""

import random
import struct
import zipfile

import pytest
import torch

from mono3d.train import (
    CheckpointError,
    OptimConfig,
    ScheduleConfig,
    StepBatchSampler,
    build_optimizer,
    build_scheduler,
    capture_rng_state,
    load_checkpoint,
    save_checkpoint,
)
from mono3d.train._checkpoint_record import payload_checksum

MUTANTS = 1200


def _tiny_state(step=2):
    """A real checkpoint state of a tiny model after ``step`` AdamW steps."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    optimizer = build_optimizer(model, OptimConfig())
    scheduler = build_scheduler(optimizer, ScheduleConfig(warmup_steps=1), 10)
    for _ in range(step):
        model(torch.randn(5, 3)).square().sum().backward()
        optimizer.step()
        scheduler.step()
    return {
        "step": step,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "scaler": None,
        "rng": [capture_rng_state()],
        "sampler": StepBatchSampler(8, 2, seed=0).state(step),
        "nonfinite": {"consecutive": 0, "skipped_total": 0},
        "config": {"optim": {"name": "adamw"}},
    }


def _same(a, b):
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    return type(a) is type(b) and a == b


def _mutate(data: bytes, rng: random.Random) -> bytes:
    mutated = bytearray(data)
    kind = rng.randrange(4)
    if kind == 0:  # bit flips
        for _ in range(rng.randint(1, 3)):
            mutated[rng.randrange(len(mutated))] ^= 1 << rng.randrange(8)
    elif kind == 1:  # truncation
        mutated = mutated[: rng.randrange(len(mutated))]
    elif kind == 2:  # a splice: a stretch of the file copied over another
        start, stop = sorted(rng.sample(range(len(mutated)), 2))
        source = rng.randrange(len(mutated))
        mutated[start:stop] = mutated[source : source + (stop - start)]
    else:  # a run of random bytes
        start = rng.randrange(len(mutated))
        length = rng.randint(1, 64)
        mutated[start : start + length] = rng.randbytes(length)
    return bytes(mutated)


def test_a_thousand_mutated_checkpoints_all_fail_cleanly_or_load_intact(tmp_path):
    original_path = save_checkpoint(tmp_path / "checkpoint.pt", _tiny_state())
    original = load_checkpoint(original_path)
    data = original_path.read_bytes()
    rng = random.Random(14)
    outcomes = {"refused": 0, "intact": 0}
    path = tmp_path / "mutant.pt"
    for _ in range(MUTANTS):
        mutant = _mutate(data, rng)
        if mutant == data:
            continue
        path.write_bytes(mutant)
        try:
            state = load_checkpoint(path)
        except CheckpointError as error:
            assert str(path) in str(error) and "\n" not in str(error)
            outcomes["refused"] += 1
        else:  # only bytes nothing reads (zip padding, comments) may change silently
            assert _same(state, original), "a mutated checkpoint loaded with other contents"
            outcomes["intact"] += 1
    assert sum(outcomes.values()) >= 1000
    assert outcomes["refused"] > 0.8 * MUTANTS, outcomes


def test_a_flipped_bit_in_a_weight_is_caught_by_the_checksum(tmp_path):
    path = save_checkpoint(tmp_path / "checkpoint.pt", _tiny_state())
    with zipfile.ZipFile(path) as archive:  # where the first weight's bytes lie in the file
        info = next(i for i in archive.infolist() if "/data/" in i.filename)
    data = bytearray(path.read_bytes())
    header = info.header_offset  # local header: 30 bytes, then the name and extra field
    name_length, extra_length = struct.unpack_from("<HH", data, header + 26)
    data[header + 30 + name_length + extra_length] ^= 0x10
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="checksum mismatch"):
        load_checkpoint(path)


def _resealed(tmp_path, change):
    """A checkpoint whose payload ``change(payload)`` altered, with a matching checksum."""
    payload = dict(_tiny_state())
    payload.update(format="mono3d-train-checkpoint", version=2, torch_version="2")
    change(payload)
    payload["checksum"] = payload_checksum(payload)
    path = tmp_path / "altered.pt"
    torch.save(payload, path)
    return path


WRONG = [
    ("step", lambda p: p.update(step="2"), "step: Input should be a valid integer"),
    ("step bool", lambda p: p.update(step=True), "step: Input should be a valid integer"),
    ("step negative", lambda p: p.update(step=-1), "step: Input should be greater than"),
    ("model", lambda p: p.update(model={"w": [1.0]}), "model.w"),
    ("optimizer", lambda p: p["optimizer"].pop("param_groups"), "optimizer.param_groups"),
    ("param index", lambda p: p["optimizer"]["state"].update({99: {}}), "parameters [99]"),
    ("rng python", lambda p: p["rng"][0]["python"].update(state=torch.zeros(3, dtype=torch.int64)),
     "rng.0.python.state"),
    ("rng torch", lambda p: p["rng"][0].update(torch=torch.zeros(7, dtype=torch.uint8)),
     "rng.0.torch"),
    ("rng count", lambda p: p["rng"].append(p["rng"][0]), "rng: 2 process states"),
    ("sampler", lambda p: p["sampler"].pop("epoch"), "sampler.epoch: Field required"),
    ("sampler position", lambda p: p["sampler"].update(epoch=7), "not where step 2 stands"),
    ("nonfinite", lambda p: p.update(nonfinite={"consecutive": 3, "skipped_total": 1}),
     "nonfinite"),
    ("scheduler", lambda p: p["scheduler"].update(last_epoch=5), "scheduler.last_epoch"),
    ("extra", lambda p: p.update(surprise=1), "surprise: Extra inputs"),
    ("version", lambda p: p.update(version=9), "version 9 is not supported"),
    ("missing", lambda p: p.pop("sampler"), "lacks ['sampler']"),
]  # fmt: skip


@pytest.mark.parametrize(("change", "message"), [w[1:] for w in WRONG], ids=[w[0] for w in WRONG])
def test_a_field_of_the_wrong_type_or_range_is_named(tmp_path, change, message):
    path = _resealed(tmp_path, change)
    with pytest.raises(CheckpointError, match=r"altered\.pt") as raised:
        load_checkpoint(path)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_files_that_are_no_checkpoint_at_all(tmp_path):
    cases = {
        "text.pt": b"step: 3\nmodel: weights\n",
        "empty.pt": b"",
        "random.pt": random.Random(0).randbytes(4096),
        "zip.pt": b"PK\x03\x04" + bytes(100),
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(CheckpointError, match=name):
            load_checkpoint(tmp_path / name)
    save_checkpoint(tmp_path / "good.pt", _tiny_state())
    data = (tmp_path / "good.pt").read_bytes()
    (tmp_path / "truncated.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"truncated\.pt"):
        load_checkpoint(tmp_path / "truncated.pt")
    torch.save([1, 2, 3], tmp_path / "list.pt")
    with pytest.raises(CheckpointError, match="not a mono3d training checkpoint"):
        load_checkpoint(tmp_path / "list.pt")


def test_a_version_1_checkpoint_without_checksum_still_loads(tmp_path):
    payload = dict(_tiny_state(), format="mono3d-train-checkpoint", version=1, torch_version="2")
    torch.save(payload, tmp_path / "v1.pt")
    assert load_checkpoint(tmp_path / "v1.pt")["step"] == 2
