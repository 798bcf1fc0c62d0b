"""``--device auto|cpu|cuda|cuda:N``: one parser for every command that runs a model and for
``train.device``; a bad or unavailable device is one line and exit status 2."""

import pytest
import torch

from mono3d.train import LoopSection
from mono3d.train._device import DeviceError, parse_device, resolve_device
from mono3d.train.cli import main


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("auto", "auto"),
        ("CPU", "cpu"),
        (" cuda ", "cuda"),
        ("cuda:0", "cuda:0"),
        ("cuda:07", "cuda:7"),
    ],
)
def test_the_accepted_spellings(text, canonical):
    assert parse_device(text) == canonical


@pytest.mark.parametrize("text", ["bogus", "gpu", "cuda:", "cuda:-1", "cuda:x", "cuda1", "mps", ""])
def test_anything_else_is_a_one_line_error(text):
    with pytest.raises(DeviceError) as caught:
        parse_device(text)
    assert str(caught.value) == f"device {text!r} is not one of auto, cpu, cuda or cuda:N"


@pytest.fixture
def gpus(monkeypatch):
    """``gpus(k)``: pretend this machine has k CUDA devices (0: none)."""

    def pretend(count: int) -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: count > 0)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: count)

    return pretend


def test_resolution_without_a_gpu(gpus):
    gpus(0)
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device("cpu", local_rank=3) == torch.device("cpu")
    for name in ("cuda", "cuda:1"):
        with pytest.raises(DeviceError, match=f"device '{name}': no CUDA device is available"):
            resolve_device(name)


def test_resolution_with_two_gpus(gpus):
    gpus(2)
    assert resolve_device("auto") == torch.device("cuda", 0)
    assert resolve_device("cuda", local_rank=3) == torch.device("cuda", 1)  # spread over both
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
    assert resolve_device("cuda:0", local_rank=1) == torch.device("cuda", 1)  # torchrun offset
    with pytest.raises(DeviceError, match=r"has 2 CUDA device\(s\), cuda:0 to cuda:1"):
        resolve_device("cuda:2")
    with pytest.raises(DeviceError, match="for local rank 1"):
        resolve_device("cuda:1", local_rank=1)


def test_the_config_field_uses_the_same_parser():
    assert LoopSection(device="CUDA:2").device == "cuda:2"
    with pytest.raises(ValueError, match="is not one of auto, cpu, cuda or cuda:N"):
        LoopSection(device="gpu")


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("mono3d: error: ")
    return err[0]


@pytest.mark.parametrize("command", ["train", "predict", "demo"])
def test_every_model_command_refuses_a_bogus_device(command, make_config, tmp_path, capsys):
    args = {
        "train": ["train", str(make_config("bogus"))],
        "predict": ["predict", str(tmp_path / "x.pt"), "x.png", "--out", str(tmp_path / "p")],
        "demo": ["demo", "--out", str(tmp_path / "demo")],
    }[command]
    assert main([*args, "--device", "bogus"]) == 2
    assert "--device: device 'bogus' is not one of auto, cpu, cuda or cuda:N" in _one_error_line(
        capsys
    )
    assert not (tmp_path / "bogus").exists() and not (tmp_path / "demo").exists()


@pytest.mark.parametrize("command", ["train", "predict"])
def test_cuda_without_a_gpu_is_one_line(command, gpus, make_config, tmp_path, capsys):
    gpus(0)
    config = make_config("nogpu")
    args = {
        "train": ["train", str(config)],
        "predict": ["predict", str(tmp_path / "x.pt"), "x.png", "--out", str(tmp_path / "p")],
    }[command]
    assert main([*args, "--device", "cuda:1"]) == 2
    line = _one_error_line(capsys)
    assert "device 'cuda:1': no CUDA device is available" in line
    if command == "train":
        assert f"{config}: train.device: " in line
        assert not (tmp_path / "nogpu").exists()


def test_a_config_asking_for_cuda_without_a_gpu_is_one_line(gpus, make_config, capsys):
    gpus(0)
    config = make_config("cudaconfig", "train.device=cuda")
    assert main(["train", str(config)]) == 2
    assert f"{config}: train.device: device 'cuda': no CUDA device" in _one_error_line(capsys)
