"""An input error inside a DataLoader worker reaches the user as the same one line as in the
training process: the file named, exit status 2, no traceback (not ``RuntimeError: Caught
KittiFormatError in DataLoader worker process 0``)."""

import shutil

import pytest

from mono3d.data import KittiFormatError
from mono3d.train import Trainer, load_train_config
from mono3d.train.cli import main


@pytest.fixture
def bad_labels(tiny_data, tmp_path):
    """A copy of the tiny dataset whose every label file has a line of 3 fields."""
    root = tmp_path / "bad-kitti"
    shutil.copytree(tiny_data, root)
    for label in sorted((root / "training" / "label_2").glob("*.txt")):
        label.write_text("Car 0.0 0\n")
    return root


@pytest.mark.parametrize("workers", [0, 1])
def test_a_bad_label_file_in_a_worker_is_one_named_line(make_config, bad_labels, capfd, workers):
    config = make_config(f"bad_w{workers}", f"data.root={bad_labels}", f"train.workers={workers}")
    status = main(["train", str(config)])
    err = capfd.readouterr().err  # capfd: a worker process writes to the same descriptor
    assert status == 2, err
    assert "Traceback" not in err and "DataLoader worker" not in err, err
    lines = [line for line in err.splitlines() if line.startswith("mono3d: error:")]
    assert len(lines) == 1, err
    assert str(bad_labels / "training" / "label_2") in lines[0] and ".txt:1:" in lines[0]


def test_the_worker_error_is_the_original_exception(make_config, bad_labels):
    config = make_config("bad_api", f"data.root={bad_labels}", "train.workers=1")
    with pytest.raises(KittiFormatError) as raised:
        Trainer(load_train_config(config)).run()
    assert raised.value.line == 1
    assert raised.value.path.startswith(str(bad_labels / "training" / "label_2"))
