"""Every usage error of the ``mono3d`` command is one line on stderr naming the argument,
file or config field, exit status 2, no traceback, and nothing written: argparse's own
complaints (no usage block), out-of-range counts and fractions (0, negative, NaN), devices,
corrupt images, empty split lists, binary configs, unknown ``data.mapping`` targets."""

import shutil

import pytest
import torch

from mono3d.detector import ConfigError
from mono3d.train import load_train_config
from mono3d.train.cli import main


def _one_line(capsys, *names: str) -> str:
    """The single stderr line of the last command; it names each of ``names``."""
    captured = capsys.readouterr()
    err = captured.err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].strip(), err
    assert "Traceback" not in err + captured.out, err
    assert lines[0].startswith("mono3d: error: ") or lines[0].startswith("mono3d evaluate: ")
    for name in names:
        assert name in lines[0], (name, lines[0])
    return lines[0]


# --- argparse itself ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "names"),
    [
        (["bogus"], ["COMMAND", "bogus"]),
        (["train"], ["CONFIG"]),
        (["synth", "out"], ["--num"]),
        (["synth", "out", "--num", "abc"], ["--num", "'abc'"]),
        (["synth", "out", "--num", "3", "--nope"], ["--nope"]),
        (["config"], ["ACTION"]),
        (["evaluate"], ["GT_DIR", "RESULT_DIR"]),
        (["evaluate", "a", "b", "--bogus"], ["--bogus"]),
    ],
)
def test_argparse_errors_are_one_line_without_the_usage_block(
    tmp_path, capsys, monkeypatch, arguments, names
):
    monkeypatch.chdir(tmp_path)
    assert main(arguments) == 2
    line = _one_line(capsys, *names)
    assert "usage:" not in line and "--help" in line
    assert list(tmp_path.iterdir()) == []


# --- predict --------------------------------------------------------------------------------

PREDICT_BAD = [
    (["--batch-size", "0"], "--batch-size"),
    (["--batch-size", "-1"], "--batch-size"),
    (["--batch-size", "2.5"], "--batch-size"),
    (["--score-threshold", "1.5"], "--score-threshold"),
    (["--score-threshold", "-0.1"], "--score-threshold"),
    (["--score-threshold", "nan"], "--score-threshold"),
    (["--draw-threshold", "2"], "--draw-threshold"),
    (["--draw-threshold", "nan"], "--draw-threshold"),
    (["--device", "bogus"], "--device"),
]


@pytest.mark.parametrize(
    ("options", "name"), PREDICT_BAD, ids=[" ".join(o) for o, _ in PREDICT_BAD]
)
def test_predict_refuses_bad_options(tiny_data, tmp_path, capsys, options, name):
    image = tiny_data / "training" / "image_2" / "000000.png"
    out = tmp_path / "preds"
    assert main(["predict", str(tmp_path / "x.pt"), str(image), "--out", str(out), *options]) == 2
    _one_line(capsys, name, options[1])
    assert not out.exists()


@pytest.mark.parametrize("device", ["cuda", "cuda:3"])
def test_predict_on_cuda_without_a_gpu_names_device(tiny_data, tmp_path, capsys, monkeypatch,
                                                    device):  # fmt: skip
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    image = tiny_data / "training" / "image_2" / "000000.png"
    out = tmp_path / "preds"
    assert main(["predict", str(tmp_path / "x.pt"), str(image), "--out", str(out),
                 "--device", device]) == 2  # fmt: skip
    assert _one_line(capsys, f"'{device}'", "no CUDA device").startswith(
        "mono3d: error: --device: "
    )
    assert not out.exists()


# --- show -----------------------------------------------------------------------------------


@pytest.fixture
def one_frame(tiny_data, tmp_path):
    """A copy of frame 000000 of the tiny dataset (its image may be damaged)."""
    root = tmp_path / "kitti" / "training"
    for folder, suffix in (("image_2", "png"), ("calib", "txt"), ("label_2", "txt")):
        (root / folder).mkdir(parents=True)
        shutil.copy(tiny_data / "training" / folder / f"000000.{suffix}", root / folder)
    return root / "image_2" / "000000.png"


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_show_on_a_corrupt_png_names_the_file(one_frame, tmp_path, capsys, damage):
    data = one_frame.read_bytes()
    one_frame.write_bytes({"truncated": data[: len(data) // 3], "garbage": b"\x89PNG junk",
                           "empty": b""}[damage])  # fmt: skip
    before = one_frame.read_bytes()
    out = tmp_path / "shown.png"
    assert main(["show", str(one_frame), "--out", str(out)]) == 2
    _one_line(capsys, str(one_frame), "cannot decode image")
    assert not out.exists() and one_frame.read_bytes() == before


@pytest.mark.parametrize("value", ["2", "-0.5", "nan"])
def test_show_refuses_a_score_threshold_outside_0_1(one_frame, tmp_path, capsys, value):
    out = tmp_path / "shown.png"
    assert main(["show", str(one_frame), "--out", str(out), "--score-thresh", value]) == 2
    _one_line(capsys, "--score-thresh", value)
    assert not out.exists()


def test_show_refuses_a_folder_in_place_of_the_label_file(one_frame, tmp_path, capsys):
    label = one_frame.parents[1] / "label_2" / "000000.txt"
    label.unlink()
    label.mkdir()  # not an unlabelled frame: drawing it without boxes would say nothing
    out = tmp_path / "shown.png"
    assert main(["show", str(one_frame), "--out", str(out)]) == 2
    _one_line(capsys, str(label))
    assert not out.exists()


def test_show_still_draws_an_intact_frame(one_frame, tmp_path, capsys):
    out = tmp_path / "shown.png"
    assert main(["show", str(one_frame), "--out", str(out)]) == 0
    assert out.is_file()


# --- synth ----------------------------------------------------------------------------------

SYNTH_BAD = [
    (["--num", "0"], "--num"),
    (["--num", "-1"], "--num"),
    (["--num", "3", "--val-fraction", "2"], "--val-fraction"),
    (["--num", "3", "--val-fraction", "-0.1"], "--val-fraction"),
    (["--num", "3", "--val-fraction", "nan"], "--val-fraction"),
    (["--num", "3", "--image-size", "0", "0"], "--image-size"),
    (["--num", "3", "--image-size", "64", "-5"], "--image-size"),
    (["--num", "3", "--seed", "-1"], "--seed"),
    (["--num", "3", "--max-objects", "-1"], "--max-objects"),
]


@pytest.mark.parametrize(("options", "name"), SYNTH_BAD, ids=[" ".join(o) for o, _ in SYNTH_BAD])
def test_synth_refuses_nonsense(tmp_path, capsys, options, name):
    assert main(["synth", str(tmp_path / "out"), *options]) == 2
    _one_line(capsys, name)
    assert not (tmp_path / "out").exists()


def test_synth_sizes_need_no_multiple(tmp_path, capsys):
    """The generator takes any size of at least one pixel (no stride rule): 100x100 is fine."""
    out = tmp_path / "out"
    assert main(["synth", str(out), "--num", "1", "--image-size", "100", "100",
                 "--max-objects", "1"]) == 0  # fmt: skip
    assert len(list((out / "training" / "image_2").glob("*.png"))) == 1


# --- train ----------------------------------------------------------------------------------


def test_train_with_an_empty_split_list_names_the_file(tiny_data, make_config, tmp_path, capsys):
    root = tmp_path / "data"
    (root / "ImageSets").mkdir(parents=True)
    (root / "training").symlink_to(tiny_data / "training")
    (root / "ImageSets" / "train.txt").write_text("")
    shutil.copy(tiny_data / "ImageSets" / "val.txt", root / "ImageSets")
    config = make_config("empty", f"data.root={root}", "train.steps=1")
    assert main(["train", str(config)]) == 2
    _one_line(capsys, str(root / "ImageSets" / "train.txt"))
    assert not (tmp_path / "empty").exists()
    assert (root / "ImageSets" / "train.txt").read_text() == ""


def test_train_with_a_binary_config_names_the_file(tmp_path, capsys):
    config = tmp_path / "binary.yaml"
    config.write_bytes(b"\xff\xfe\x00data:\x80\x81\n")
    assert main(["train", str(config)]) == 2
    _one_line(capsys, str(config), "not a text file")
    assert config.read_bytes() == b"\xff\xfe\x00data:\x80\x81\n"


def test_an_unknown_mapping_target_is_refused_by_the_config(make_config, tmp_path, capsys):
    config = make_config("van")
    with pytest.raises(ConfigError, match=r"data\.mapping\.Van: 'Bus' is neither one of"):
        load_train_config(config, ["data.mapping={Van: Bus, Truck: Car}"])
    assert main(["train", str(config), "data.mapping={Van: Bus}"]) == 2
    _one_line(capsys, f"{config}: data.mapping.Van: 'Bus'", "'ignore'")
    assert not (tmp_path / "van").exists()


def test_known_mapping_targets_still_validate(make_config):
    config = load_train_config(
        make_config("ok"), ["data.mapping={Van: Car, Truck: ignore, Tram: drop}"]
    )
    assert dict(config.data.mapping) == {"Van": "Car", "Truck": "ignore", "Tram": "drop"}


# --- demo -----------------------------------------------------------------------------------

DEMO_BAD = [
    (["--minutes", "0"], "--minutes"),
    (["--minutes", "-1"], "--minutes"),
    (["--minutes", "nan"], "--minutes"),
    (["--minutes", "inf"], "--minutes"),
    (["--train-images", "0"], "--train-images"),
    (["--train-images", "2"], "--train-images"),  # fewer than one batch of the preset
    (["--val-images", "0"], "--val-images"),
    (["--val-images", "-3"], "--val-images"),
    (["--image-size", "0", "0"], "--image-size"),
    (["--seed", "-1"], "--seed"),
    (["train.batch_size=0"], "train.batch_size"),
]


@pytest.mark.parametrize(("options", "name"), DEMO_BAD, ids=[" ".join(o) for o, _ in DEMO_BAD])
def test_demo_refuses_nonsense_before_writing_anything(tmp_path, capsys, options, name):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), *options]) == 2
    _one_line(capsys, name)
    assert not out.exists()


def test_demo_overwrite_keeps_the_old_run_when_the_config_is_bad(tmp_path, capsys):
    kept = tmp_path / "demo" / "run" / "history.jsonl"
    kept.parent.mkdir(parents=True)
    kept.write_text("{}\n")
    assert main(["demo", "--out", str(tmp_path / "demo"), "--overwrite", "train.steps=0"]) == 2
    _one_line(capsys, "train.steps")
    assert kept.read_text() == "{}\n"
    assert not (tmp_path / "demo" / "data").exists()


# --- evaluate -------------------------------------------------------------------------------


def test_evaluate_with_a_missing_folder_names_it(tiny_data, tmp_path, capsys):
    missing = tmp_path / "nothing"
    assert main(["evaluate", str(missing), str(tmp_path)]) == 2
    _one_line(capsys, str(missing))
    assert main(["evaluate", str(tiny_data / "training" / "label_2"), str(missing)]) == 2
    _one_line(capsys, str(missing))


# --- the real process -----------------------------------------------------------------------


def test_the_installed_command_exits_2_with_one_line(one_frame, tmp_path, run_cli):
    one_frame.write_bytes(b"\x89PNG not really")
    for args, name in (
        (["synth", tmp_path / "out", "--num", "0"], "--num"),
        (["show", one_frame, "--out", tmp_path / "shown.png"], str(one_frame)),
    ):
        process = run_cli(*args, timeout=120)
        assert process.returncode == 2, process.stderr
        lines = process.stderr.strip().splitlines()
        assert len(lines) == 1 and name in lines[0] and "Traceback" not in process.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "shown.png").exists()
