"""Bad run inputs are one line naming the file or field, exit status 2, no traceback:
duplicate YAML keys, non-integers for integer fields, images over ``data.max_image_pixels``,
``predict`` images whose outputs would clash (nothing written)."""

import shutil

import pytest

from mono3d.train import TrainConfig, load_train_config
from mono3d.train.cli import main


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_a_duplicated_section_is_refused_naming_file_line_and_key(make_config, tmp_path, run_cli):
    text = make_config("dup").read_text()
    assert text.count("\ntrain:\n") == 1
    path = tmp_path / "dup2.yaml"
    path.write_text(text + "train:\n  steps: 1\n")  # would silently replace the whole section
    line = text.count("\n") + 1
    process = run_cli("train", path)
    assert process.returncode == 2
    first = 1 + text.split("\ntrain:\n")[0].count("\n") + 1
    assert _one_line(process.stderr).endswith(
        f"{path}:{line}: invalid YAML: duplicate key 'train' (first given on line {first})"
    )
    assert not (tmp_path / "dup").exists()
    process = run_cli("config", "show", path, "--resolved")
    assert process.returncode == 2 and process.stdout == ""
    assert f"{path}:{line}: invalid YAML: duplicate key 'train'" in _one_line(process.stderr)


@pytest.mark.parametrize(
    ("override", "got"),
    [("train.steps=true", "True"), ("train.steps=2.5", "2.5"), ("train.steps=2.0", "2.0"),
     ("train.steps='2'", "'2'"), ("train.workers=false", "False")],
)  # fmt: skip
def test_an_integer_field_takes_only_integers(make_config, tmp_path, capsys, override, got):
    config = make_config("strict")
    assert main(["train", str(config), override]) == 2
    field = override.split("=")[0]
    line = _one_line(capsys.readouterr().err)
    assert line.endswith(f"{config}: {field}: Input should be a valid integer (got {got})")
    assert not (tmp_path / "strict").exists()


def test_legitimate_numbers_keep_their_meaning(make_config):
    config = load_train_config(
        make_config("numbers"), ["optim.lr=1", "schedule.warmup_factor=1e-3", "train.steps=7"]
    )
    assert config.optim.lr == 1.0 and isinstance(config.optim.lr, float)
    assert config.schedule.warmup_factor == 1e-3 and config.train.steps == 7
    assert isinstance(config, TrainConfig)


@pytest.mark.parametrize("workers", [0, 1])
def test_an_image_over_the_configured_limit_is_one_named_line(make_config, capfd, workers):
    # the tiny frames are 64x128 = 8192 pixels
    config = make_config("limit", "data.max_image_pixels=8000", f"train.workers={workers}")
    assert load_train_config(config).data.dataset_config("train", ("Car",)).max_image_pixels == 8000
    assert main(["train", str(config)]) == 2
    line = _one_line(capfd.readouterr().err)
    assert ".png: image is 128x64 = 8192 pixels, more than the limit of 8000" in line
    assert "(data.max_image_pixels)" in line


def test_the_image_limit_defaults_to_the_data_blocks(make_config):
    from mono3d.data import DataConfig

    default = DataConfig.model_fields["max_image_pixels"].default
    assert load_train_config(make_config("default")).data.max_image_pixels == default


def test_predict_refuses_an_image_over_the_limit(trained, tiny_data, tmp_path, capsys, wide_png):
    huge = tmp_path / "huge.png"
    huge.write_bytes(wide_png(12000, 4000))
    calib = next((tiny_data / "training" / "calib").glob("*.txt"))
    out = tmp_path / "out"
    checkpoint = trained.parent / "run" / "checkpoint.pt"
    status = main(["predict", str(checkpoint), str(huge), "--calib", str(calib), "--out", str(out)])
    assert status == 2
    line = _one_line(capsys.readouterr().err)
    assert f"{huge}: image is 12000x4000 = 48000000 pixels, more than the limit of" in line
    assert not out.exists()


def test_predict_refuses_two_images_of_one_stem_naming_both(trained, tiny_data, tmp_path, run_cli):
    frame = sorted((tiny_data / "training" / "image_2").glob("*.png"))[0]
    copy = tmp_path / "b" / frame.name
    copy.parent.mkdir()
    shutil.copy(frame, copy)
    out = tmp_path / "out"
    checkpoint = trained.parent / "run" / "checkpoint.pt"
    process = run_cli("predict", checkpoint, frame, copy, "--out", out)
    assert process.returncode == 2
    line = _one_line(process.stderr)
    assert f"{frame} and {copy}: both have frame id {frame.stem!r}" in line
    assert not out.exists()  # nothing written


@pytest.mark.parametrize(
    "override",
    ["optim.lr=0.001", "optim.weight_decay=0.5", "optim.betas=[0.8, 0.9]", "optim.eps=1e-6"],
)
def test_resume_refuses_a_setting_the_optimiser_would_silently_restore(trained, capsys, override):
    capsys.readouterr()
    run = trained.parent / "run"
    files = [p for p in run.iterdir() if p.is_file() and p.name != "log.txt"]  # log appended
    before = {p.name: p.read_bytes() for p in files}
    assert main(["train", str(trained), "--resume", override, "train.steps=2"]) == 2
    line = _one_line(capsys.readouterr().err)
    field = override.split("=")[0]
    assert f"checkpoint.pt: {field}: the checkpoint's optimiser holds" in line
    assert "would silently keep" in line
    assert {p.name: p.read_bytes() for p in files} == before  # nothing overwritten
