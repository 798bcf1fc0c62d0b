"""The run configs ship as named presets: ``mono3d train synthetic`` from any folder,
``mono3d config list`` and ``mono3d config show NAME``; the packaged copies are the
repository's configs/*.yaml byte for byte."""

import pathlib
import subprocess
import sys

import pytest
import yaml

from mono3d.train import TrainConfig, load_train_config
from mono3d.train._presets import config_source, preset_names, preset_text
from mono3d.train.cli import main

ROOT = pathlib.Path(__file__).resolve().parents[2]
CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))
PACKAGE = ROOT / "packages" / "train" / "src" / "mono3d" / "train"


def test_every_repository_config_is_a_preset():
    assert preset_names() == tuple(sorted(p.stem for p in CONFIGS))
    assert {"synthetic", "kitti"} <= set(preset_names())


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.stem)
def test_the_packaged_preset_is_the_repository_config(config):
    assert preset_text(config.stem) == config.read_text(encoding="utf-8"), (
        f"configs/{config.name} changed: cp configs/{config.name} {PACKAGE.relative_to(ROOT)}/"
    )


def test_config_list_names_every_preset(capsys):
    assert main(["config", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == list(preset_names())


@pytest.mark.parametrize("name", ["synthetic", "kitti", "kitti.yaml"])
def test_config_show_prints_the_preset(capsys, name):
    assert main(["config", "show", name]) == 0
    assert (
        capsys.readouterr().out
        == (ROOT / "configs" / f"{pathlib.Path(name).stem}.yaml").read_text()
    )


def test_config_show_resolved_is_the_validated_config(capsys):
    assert main(["config", "show", "kitti", "--resolved", "train.steps=7"]) == 0
    shown = TrainConfig.model_validate(yaml.safe_load(capsys.readouterr().out))
    expected = load_train_config(ROOT / "configs" / "kitti.yaml", ["train.steps=7"])
    assert shown == expected


def test_an_unknown_preset_is_one_line_naming_the_presets(capsys):
    assert main(["config", "show", "kiti"]) == 2
    assert main(["train", "kiti"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2
    for line in lines:
        assert line == "mono3d: error: kiti: no such config file, and not a preset " \
            f"(presets: {', '.join(preset_names())})"  # fmt: skip


def test_a_file_wins_over_a_preset_name_and_a_missing_path_is_no_preset(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "synthetic").write_text("train: {steps: 3}\n")
    with config_source("synthetic") as path:
        assert path == pathlib.Path("synthetic")
    with config_source("sub/kitti.yaml") as path:  # a path, not a name: the reader reports it
        assert path == pathlib.Path("sub/kitti.yaml")


def test_config_list_and_show_import_no_torch():
    probe = (
        "import sys; from mono3d.train.cli import main; main(['config', 'show', 'synthetic']); "
        "main(['config', 'list']); print('torch' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "False"


def test_train_synthetic_runs_from_a_folder_without_the_repository(
    tmp_path, monkeypatch, tiny_data, tiny_overrides, capsys
):
    """The preset's data.root (data/synthetic) and run folder are relative to the working
    directory; nothing of the checkout is read."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "synthetic").symlink_to(tiny_data, target_is_directory=True)
    status = main(["train", "synthetic", *tiny_overrides, "train.steps=2", "--device", "cpu"])
    assert status == 0, capsys.readouterr().err
    run = tmp_path / "runs" / "synthetic"
    assert (run / "checkpoint.pt").is_file()
    stored = yaml.safe_load((run / "config.yaml").read_text())
    assert stored["train"]["steps"] == 2 and stored["model"]["backbone"]["depth"] == 18
    assert "trained 2 steps" in (run / "log.txt").read_text()
