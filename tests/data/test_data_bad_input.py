"""Malformed files fail with an error naming the file (and line); fuzzed text never escapes
as anything but ``KittiFormatError``."""

import pathlib
import tempfile

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mono3d.data import (
    KittiDataset,
    KittiFormatError,
    parse_kitti_calib,
    parse_kitti_label,
    read_image,
    read_kitti_calib,
    read_kitti_label,
)
from mono3d.data.synthetic import SceneGenerator

GOOD_LINE = "Car 0.00 0 -1.58 587.01 173.33 614.12 200.12 1.65 1.67 3.64 -0.65 1.71 46.70 -1.59"
P2_LINE = "P2: 721.5 0 609.5 44.8 0 721.5 172.8 0.2 0 0 1 0.003"


def _write(tmp_path: pathlib.Path, name: str, text: str) -> pathlib.Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("Car 0.00 0 -1.58 587.01 173.33 614.12 200.12 1.65 1.67 3.64 -0.65 1.71 46.70",
         "expected 15 columns"),
        (GOOD_LINE + " 0.9 7", "got 17"),
        (GOOD_LINE.replace("1.67", "wide"), "field 'w': expected a number, got 'wide'"),
        (GOOD_LINE.replace("1.67", "nan"), "field 'w'"),
        (GOOD_LINE.replace("1.67", "1e999"), "out of range"),
        (GOOD_LINE.replace(" 0 -1.58", " 0.5 -1.58"), "field 'occluded': expected an integer"),
        ("0.00 " + GOOD_LINE[4:] + " 0.5", "field 'type'"),
    ],
)  # fmt: skip
def test_bad_label_line_names_file_and_line(tmp_path, line, message):
    path = _write(tmp_path, "000123.txt", f"{GOOD_LINE}\n\n{line}\n")
    with pytest.raises(KittiFormatError, match=message) as caught:
        read_kitti_label(path)
    assert caught.value.path == str(path) and caught.value.line == 3
    assert str(caught.value).startswith(f"{path}:3: ")


def test_calib_without_p2_names_file(tmp_path):
    path = _write(tmp_path, "000001.txt", "P0: " + " ".join(["0"] * 12) + "\n\n")
    with pytest.raises(KittiFormatError, match="no 'P2:' line") as caught:
        read_kitti_calib(path)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (P2_LINE + "\nP2: 1 2 3", 2, "given twice"),
        ("P2: 1 2 3 4", 1, "expected 12 numbers, got 4"),
        ("R0_rect: 1 0 0\n" + P2_LINE, 1, "expected 9 numbers"),
        (P2_LINE.replace("721.5 0 609.5", "721.5 0 x"), 1, "expected a number, got 'x'"),
        ("P2: " + " ".join(["0"] * 12), 1, "singular"),
        (P2_LINE + "\nno colon here", 2, "expected 'KEY: numbers'"),
    ],
)
def test_bad_calib_names_file_and_line(tmp_path, text, line, message):
    path = _write(tmp_path, "calib.txt", text)
    with pytest.raises(KittiFormatError, match=message) as caught:
        read_kitti_calib(path)
    assert caught.value.line == line and str(path) in str(caught.value)


def test_non_utf8_label_names_line(tmp_path):
    path = tmp_path / "bin.txt"
    path.write_bytes((GOOD_LINE + "\n").encode() + b"Car \xff\xfe\n")
    with pytest.raises(KittiFormatError, match="not UTF-8") as caught:
        read_kitti_label(path)
    assert caught.value.line == 2


def test_missing_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nothing\.txt"):
        read_kitti_label(tmp_path / "nothing.txt")
    with pytest.raises(FileNotFoundError, match=r"nothing\.png"):
        read_image(tmp_path / "nothing.png")


def _tiny_dataset(root: pathlib.Path, frames: int = 3) -> None:
    SceneGenerator(image_size=(64, 96), max_objects=3).write_dataset(root, frames, seed=1)


def test_dataset_missing_image_names_file(tmp_path):
    _tiny_dataset(tmp_path)
    (tmp_path / "training" / "image_2" / "000001.png").unlink()
    (tmp_path / "ImageSets").mkdir()
    (tmp_path / "ImageSets" / "train.txt").write_text("000000\n000001\n")
    with pytest.raises(FileNotFoundError, match=r"image_2/000001\.png"):
        KittiDataset(tmp_path, split="train")


def test_dataset_corrupt_image_names_file(tmp_path):
    _tiny_dataset(tmp_path)
    image = tmp_path / "training" / "image_2" / "000002.png"
    image.write_bytes(image.read_bytes()[:60])  # truncated PNG
    dataset = KittiDataset(tmp_path)
    dataset[0]
    with pytest.raises(KittiFormatError, match=r"000002\.png: cannot decode image"):
        dataset[2]
    image.write_bytes(b"not an image at all")
    with pytest.raises(KittiFormatError, match=r"000002\.png"):
        dataset[2]


def test_dataset_bad_label_names_file_and_line(tmp_path):
    _tiny_dataset(tmp_path)
    label = tmp_path / "training" / "label_2" / "000000.txt"
    label.write_text(GOOD_LINE + "\nCar 1 2 3\n")
    with pytest.raises(KittiFormatError, match=r"000000\.txt:2: expected 15 columns"):
        KittiDataset(tmp_path)[0]


def test_empty_dataset_folder_says_so(tmp_path):
    (tmp_path / "training" / "image_2").mkdir(parents=True)
    with pytest.raises(ValueError, match="no frames"):
        KittiDataset(tmp_path)
    with pytest.raises(FileNotFoundError, match="no KITTI image folder"):
        KittiDataset(tmp_path / "elsewhere")
    (tmp_path / "ImageSets").mkdir()
    (tmp_path / "ImageSets" / "val.txt").write_text("\n\n")
    with pytest.raises(ValueError, match="names no frames"):
        KittiDataset(tmp_path, split="val")
    with pytest.raises(FileNotFoundError, match=r"train\.txt"):
        KittiDataset(tmp_path, split="train")


# -- fuzzing -------------------------------------------------------------------------------
_TOKENS = st.sampled_from(
    ["Car", "DontCare", "P2:", "R0_rect:", "Tr_velo_to_cam:", "0", "-1", "1.5", "1e5", "1e999",
     "nan", "inf", "-", ".", "1_0", "0x10", "é", ":", "P2", "\t", "\r", "\x00", "\u2028"]
)  # fmt: skip
_LINES = st.lists(_TOKENS, max_size=18).map(" ".join)
_TEXTS = st.one_of(
    st.text(max_size=300),
    st.lists(_LINES, max_size=6).map("\n".join),
    st.lists(st.one_of(_LINES, st.just(GOOD_LINE), st.just(P2_LINE)), max_size=5).map("\n".join),
)


@given(text=_TEXTS)
def test_fuzzed_label_text_raises_only_format_errors(text):
    try:
        objects = parse_kitti_label(text, "fuzz.txt")
    except KittiFormatError as error:
        assert error.path == "fuzz.txt" and error.line is not None and error.line >= 1
    else:
        assert all(len(o.bbox) == 4 for o in objects)


@given(text=_TEXTS)
def test_fuzzed_calib_text_raises_only_format_errors(text):
    try:
        calib = parse_kitti_calib(text, "fuzz.txt")
    except KittiFormatError as error:
        assert error.path == "fuzz.txt"
    else:
        assert calib.P2.shape == (3, 4)


@given(data=st.binary(max_size=200))
def test_fuzzed_file_bytes_raise_only_format_errors(data):
    with tempfile.TemporaryDirectory() as folder:
        path = pathlib.Path(folder) / "000000.txt"
        path.write_bytes(data)
        for reader in (read_kitti_label, read_kitti_calib):
            try:
                reader(path)
            except KittiFormatError as error:
                assert error.path == str(path)
