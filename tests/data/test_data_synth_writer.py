"""The synthetic writer: arguments checked before anything is written, and no stale frame of
an earlier dataset left beside the new ones (refused, or replaced with ``overwrite``)."""

import pytest

from mono3d.data import KittiDataset
from mono3d.data.synthetic import SceneGenerator


def generator() -> SceneGenerator:
    return SceneGenerator(image_size=(32, 64), max_objects=2)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda root: generator().write_dataset(root, 0), "num_frames: need at least 1"),
        (lambda root: generator().write_dataset(root, 2, val_fraction=2.0), "val_fraction"),
        (lambda root: generator().write_dataset(root, 2, val_fraction=float("nan")), "fraction"),
        (lambda root: SceneGenerator(image_size=(0, 0)), "image_size: need"),
    ],
)
def test_bad_arguments_are_refused_before_writing(tmp_path, call, message):
    with pytest.raises(ValueError, match=message):
        call(tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_folder_with_frames_is_refused_unless_overwrite(tmp_path):
    generator().write_dataset(tmp_path, 5, val_fraction=0.2)
    user_file = tmp_path / "training" / "notes.md"
    user_file.write_text("mine")
    with pytest.raises(FileExistsError, match=r"already holds 15 frame files"):
        generator().write_dataset(tmp_path, 3, val_fraction=0.2)
    assert len(KittiDataset(tmp_path)) == 5  # untouched
    generator().write_dataset(tmp_path, 3, val_fraction=0.2, overwrite=True)
    assert KittiDataset(tmp_path).frame_ids == ("000000", "000001", "000002")  # no stale frame
    assert user_file.read_text() == "mine"
    for folder in ("image_2", "label_2", "calib"):
        assert len(list((tmp_path / "training" / folder).iterdir())) == 3
