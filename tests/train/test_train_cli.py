"""The run configs and the command's handling of bad input: one clear line, exit status 2."""

import pathlib
from importlib import resources

import pytest

from mono3d.train import TrainConfig, load_train_config
from mono3d.train.cli import main

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["synthetic.yaml", "kitti.yaml"])
def test_shipped_configs_validate(name):
    config = load_train_config(ROOT / "configs" / name)
    assert isinstance(config, TrainConfig)
    depth = {"synthetic.yaml": 18, "kitti.yaml": 50}[name]
    assert config.model.backbone.depth == depth


def test_the_demo_uses_the_repository_synthetic_config():
    packaged = resources.files("mono3d.train") / "synthetic.yaml"
    assert packaged.read_text() == (ROOT / "configs" / "synthetic.yaml").read_text()


BAD = [
    ("model.backbone.colour=red", "model.backbone.colour", "Extra inputs are not permitted"),
    ("train.steps=many", "train.steps", "valid integer"),
    ("optim.lr=-0.001", "optim.lr", "greater than 0"),
    ("data.root={missing}", "data.root", "does not exist"),
    ("train.batch_size=50", "train.batch_size", "fewer than one global batch"),
    ("train.amp=fp16", "train.amp", "fp16 needs a CUDA device"),
]


@pytest.mark.parametrize(("override", "field", "reason"), BAD, ids=[b[1] for b in BAD])
def test_a_bad_config_gives_one_line_and_status_2(
    make_config, tmp_path, capsys, override, field, reason
):
    config = make_config("bad")
    missing = tmp_path / "no-such-folder"
    status = main(["train", str(config), override.format(missing=missing)])
    err = capsys.readouterr().err
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert f"{config}: {field}: " in lines[0] and reason in lines[0]
    if field == "data.root":
        assert str(missing) in lines[0]
    assert not (tmp_path / "bad").exists()  # nothing started


def test_the_command_reports_a_bad_config_without_a_traceback(make_config, run_cli):
    config = make_config("bad_subprocess")
    process = run_cli("train", config, "optim.lr=-1", "train.batch_sise=3")
    assert process.returncode == 2
    assert "Traceback" not in process.stderr
    lines = process.stderr.strip().splitlines()
    assert len(lines) == 2, process.stderr  # one line per problem
    assert any("optim.lr: Input should be greater than 0" in line for line in lines)
    assert any("train.batch_sise: Extra inputs are not permitted" in line for line in lines)


def test_user_errors_name_the_file(tmp_path, capsys):
    assert main(["train", str(tmp_path / "absent.yaml")]) == 2
    assert "absent.yaml: cannot read config" in capsys.readouterr().err
    (tmp_path / "broken.yaml").write_text("model: [unclosed\n")
    assert main(["train", str(tmp_path / "broken.yaml")]) == 2
    assert "broken.yaml:2: invalid YAML" in capsys.readouterr().err
    assert main(["predict", str(tmp_path / "none.pt"), "x.png", "--out", str(tmp_path)]) == 2
    assert "none.pt: no such checkpoint file" in capsys.readouterr().err


def test_resume_needs_a_checkpoint_and_a_new_run_needs_a_free_folder(make_config, capsys):
    config = make_config("fresh", "train.steps=1")
    assert main(["train", str(config), "--resume"]) == 2
    assert "no checkpoint to resume from" in capsys.readouterr().err
    assert main(["train", str(config)]) == 0
    capsys.readouterr()
    assert main(["train", str(config)]) == 2
    assert "already holds a run" in capsys.readouterr().err
