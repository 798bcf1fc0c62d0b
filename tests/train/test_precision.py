"""``train.amp: auto``: the precision chosen from the device (CPU flags and probe injected,
CUDA mocked), what a resolved precision does, and how a run stores and keeps it."""

import logging
import pathlib

import pytest
import torch
import yaml

from mono3d.detector import ConfigError
from mono3d.train import LoopSection, Trainer, _precision, load_checkpoint, load_train_config
from mono3d.train._precision import (
    PROBE_MAX_RATIO,
    Precision,
    ProbeResult,
    cpu_flags,
    probe_bf16_convolutions,
    resolve_for_run,
    resolve_precision,
    stored_precision,
)

ROOT = pathlib.Path(__file__).resolve().parents[2]
FAST = ProbeResult(fp32_seconds=0.010, bf16_seconds=0.004)
SLOW = ProbeResult(fp32_seconds=0.010, bf16_seconds=0.013)


def never() -> ProbeResult:
    raise AssertionError("the probe must not run")


def test_auto_is_the_default_and_the_shipped_configs_say_it():
    assert LoopSection().amp == "auto"
    for path in (ROOT / "configs" / "synthetic.yaml", ROOT / "configs" / "kitti.yaml"):
        assert yaml.safe_load(path.read_text())["train"]["amp"] == "auto", path


@pytest.mark.parametrize("setting", ["off", "bf16"])
def test_explicit_settings_need_no_probe(setting):
    precision = resolve_precision(setting, "cpu", flags=(), probe=never)
    assert precision.amp == setting
    assert precision.channels_last is (setting == "bf16")
    assert precision.setting == setting


def test_auto_on_a_cpu_without_bf16_flags_is_float32_without_probing():
    precision = resolve_precision("auto", "cpu", flags={"avx2", "avx512f"}, probe=never)
    assert (precision.amp, precision.channels_last, precision.dtype) == ("off", False, None)
    assert "none of the bf16 flags" in precision.reason


@pytest.mark.parametrize("flag", ["avx512_bf16", "amx_bf16"])
def test_auto_on_a_cpu_with_native_bf16_and_a_fast_probe_is_bf16_channels_last(flag):
    precision = resolve_precision("auto", "cpu", flags={"avx2", flag}, probe=lambda: FAST)
    assert (precision.amp, precision.channels_last, precision.dtype) == (
        "bf16",
        True,
        torch.bfloat16,
    )
    assert flag in precision.reason and "0.40x" in precision.reason
    assert precision.describe().startswith("precision bf16 autocast + channels_last")


def test_auto_on_a_cpu_whose_probe_finds_bf16_slower_is_float32():
    precision = resolve_precision("auto", "cpu", flags={"avx512_bf16"}, probe=lambda: SLOW)
    assert precision.amp == "off" and not precision.channels_last
    assert "1.30x" in precision.reason


def test_the_probe_threshold_is_inclusive():
    at = ProbeResult(fp32_seconds=1.0, bf16_seconds=PROBE_MAX_RATIO)
    above = ProbeResult(fp32_seconds=1.0, bf16_seconds=PROBE_MAX_RATIO + 0.01)
    assert resolve_precision("auto", "cpu", flags={"amx_bf16"}, probe=lambda: at).amp == "bf16"
    assert resolve_precision("auto", "cpu", flags={"amx_bf16"}, probe=lambda: above).amp == "off"


@pytest.mark.parametrize(("supported", "amp"), [(True, "bf16"), (False, "off")])
def test_auto_on_cuda_follows_bf16_support(supported, amp):
    precision = resolve_precision("auto", "cuda", cuda_bf16=lambda: supported, probe=never)
    assert precision.amp == amp
    assert precision.channels_last is supported


def test_fp16_needs_cuda_and_unknown_settings_are_refused():
    with pytest.raises(ConfigError, match=r"run.yaml: train.amp: fp16 needs a CUDA device"):
        resolve_precision("fp16", "cpu", source="run.yaml: train.amp")
    with pytest.raises(ConfigError, match=r"train.amp: expected one of auto, off, bf16, fp16"):
        resolve_precision("fast", "cpu")
    assert resolve_precision("fp16", "cuda").amp == "fp16"  # explicit: no device query


def test_cpu_flags_reads_the_first_flags_line(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(
        "processor\t: 0\nflags\t\t: fpu avx2 avx512_bf16\n\nprocessor\t: 1\nflags\t: fpu\n"
    )
    assert cpu_flags(cpuinfo) == {"fpu", "avx2", "avx512_bf16"}
    assert cpu_flags(tmp_path / "missing") == frozenset()
    (tmp_path / "noflags").write_text("processor\t: 0\n")
    assert cpu_flags(tmp_path / "noflags") == frozenset()


def test_the_probe_times_both_precisions_quickly():
    result = probe_bf16_convolutions(channels=16, size=(8, 16), repeats=2)
    assert result.fp32_seconds > 0 and result.bf16_seconds > 0
    assert result.ratio == pytest.approx(result.bf16_seconds / result.fp32_seconds)


def test_a_resolved_precision_runs_convolutions_in_bf16_channels_last():
    precision = resolve_precision("bf16", "cpu")
    conv = precision.prepare(torch.nn.Conv2d(3, 4, 3))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    with precision.autocast("cpu"):
        out = conv(torch.rand(1, 3, 8, 8))
    assert out.dtype == torch.bfloat16
    assert out.is_contiguous(memory_format=torch.channels_last)
    off = resolve_precision("off", "cpu")
    plain = off.prepare(torch.nn.Conv2d(3, 4, 3))
    assert plain.weight.is_contiguous()
    with off.autocast("cpu"):
        assert plain(torch.rand(1, 3, 8, 8)).dtype == torch.float32


def test_precision_round_trips_through_plain_data():
    precision = resolve_precision("auto", "cpu", flags={"avx512_bf16"}, probe=lambda: FAST)
    assert Precision.from_dict(precision.as_dict()) == precision
    with pytest.raises(ValueError, match=r"precision\.amp"):
        Precision.from_dict({"amp": "fp8"})


def test_stored_precision_reads_a_checkpoint_entry(tmp_path):
    precision = resolve_precision("auto", "cpu", flags={"avx512_bf16"}, probe=lambda: FAST)
    path = tmp_path / "checkpoint.pt"
    torch.save({"model": {"w": torch.zeros(3)}, "precision": precision.as_dict()}, path)
    assert stored_precision(path) == precision
    assert stored_precision(tmp_path / "none.pt") is None
    torch.save({"model": {}}, tmp_path / "old.pt")  # written before the entry existed
    assert stored_precision(tmp_path / "old.pt") is None
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    assert stored_precision(tmp_path / "junk.pt") is None


def test_an_auto_run_with_a_checkpoint_keeps_the_stored_choice(tmp_path, monkeypatch):
    monkeypatch.setattr(_precision, "probe_bf16_convolutions", never)
    stored = Precision("bf16", True, "auto", "the CPU has avx512_bf16 and ...")
    path = tmp_path / "checkpoint.pt"
    torch.save({"precision": stored.as_dict()}, path)
    kept = resolve_for_run("auto", torch.device("cpu"), checkpoint=path)
    assert (kept.amp, kept.channels_last) == ("bf16", True)
    assert kept.reason.startswith("kept from the checkpoint: the CPU has avx512_bf16")
    again = resolve_for_run("auto", torch.device("cpu"), checkpoint=path)
    assert again.reason.count("kept from the checkpoint") == 1
    # an explicit setting wins over the stored one
    assert resolve_for_run("off", torch.device("cpu"), checkpoint=path).amp == "off"


def test_a_run_stores_its_choice_and_a_resume_keeps_it(make_config, monkeypatch, capsys, caplog):
    caplog.set_level(logging.INFO)
    monkeypatch.setattr(_precision, "cpu_flags", lambda: frozenset({"avx512_bf16"}))
    monkeypatch.setattr(_precision, "probe_bf16_convolutions", lambda: FAST)
    config = make_config("auto", "train.steps=1", "train.device=cpu", "train.amp=auto")
    trainer = Trainer(load_train_config(config))
    assert trainer.precision.amp == "bf16"
    assert trainer.detector.backbone.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    trainer.run()
    run_dir = config.parent / "auto"
    assert load_checkpoint(run_dir / "checkpoint.pt")["precision"]["amp"] == "bf16"
    first = (run_dir / "config.yaml").read_text().splitlines()[0]
    assert first.startswith("# precision bf16 autocast + channels_last (auto:")
    assert load_train_config(run_dir / "config.yaml").train.amp == "auto"  # still loadable
    said = capsys.readouterr().err + caplog.text  # the trainer's messages, printed or logged
    assert said.count("precision bf16 autocast") == 1

    # the machine now looks slow in bf16: a resumed run keeps the checkpoint's choice
    monkeypatch.setattr(_precision, "probe_bf16_convolutions", lambda: SLOW)
    overrides = ["train.steps=2", "train.device=cpu", "train.amp=auto"]
    resumed = Trainer(load_train_config(make_config("auto", *overrides)))
    assert resumed.precision.amp == "bf16"
    assert resumed.precision.reason.startswith("kept from the checkpoint")
    resumed.run(resume=True)
    assert load_checkpoint(run_dir / "checkpoint.pt")["step"] == 2
