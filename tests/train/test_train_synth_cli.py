"""``mono3d synth`` refuses unusable arguments and a folder holding frames with one line and
exit 2 (no traceback, nothing written)."""

import pytest

from mono3d.train.cli import main


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--num", "0"], "--num: need at least 1 frame, got 0"),
        (["--num", "3", "--val-fraction", "2"], "--val-fraction: need a fraction in [0, 1]"),
        (["--num", "3", "--val-fraction", "nan"], "--val-fraction"),
        (["--num", "3", "--image-size", "0", "0"], "--image-size: need H and W"),
        (["--num", "3", "--max-objects", "-1"], "--max-objects: need 0 or more"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(tmp_path, capsys, arguments, message):
    assert main(["synth", str(tmp_path / "out"), *arguments]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_a_folder_with_frames_is_refused(tmp_path, capsys):
    small = ["--image-size", "32", "64", "--max-objects", "1"]
    assert main(["synth", str(tmp_path), "--num", "3", *small]) == 0
    capsys.readouterr()
    assert main(["synth", str(tmp_path), "--num", "2", *small]) == 2
    err = capsys.readouterr().err
    assert "already holds 9 frame files" in err and err.count("\n") == 1
    assert len(list((tmp_path / "training" / "image_2").glob("*.png"))) == 3
