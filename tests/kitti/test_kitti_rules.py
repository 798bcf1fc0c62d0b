"""The one rule of every KITTI reader, case by case: ASCII numbers finite in float32, integer
fields in range, UTF-8 with a leading BOM stripped, CRLF accepted, errors naming the file,
the line and the field; the writers produce what the readers accept."""

import dataclasses
import math

import numpy as np
import pytest

from mono3d.kitti import (
    FLOAT32_MAX,
    SCORE_DECIMALS,
    KittiCalib,
    KittiFormatError,
    KittiObject,
    parse_id_list,
    parse_kitti_calib,
    parse_kitti_label,
    parse_label_table,
    read_id_list,
    read_kitti_calib,
    read_kitti_label,
    read_label_table,
    write_kitti_calib,
    write_kitti_label,
)

LINE = "Car 0.00 0 -1.58 587.01 173.33 614.12 200.12 1.65 1.67 3.64 -0.65 1.71 46.70 -1.59"
P2 = "P2: 721.5 0 609.5 44.8 0 721.5 172.8 0.2 0 0 1 0.003"


def field(line: str, name: str, value: str) -> str:
    """``line`` with the token of column ``name`` replaced by ``value``."""
    names = ["type", "truncated", "occluded", "alpha", "x1", "y1", "x2", "y2", "h", "w", "l",
             "x", "y", "z", "rotation_y", "score"]  # fmt: skip
    tokens = line.split(" ")
    tokens[names.index(name)] = value
    return " ".join(tokens)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (field(LINE, "h", "1e39"), "field 'h': number out of range (beyond float32): '1e39'"),
        (field(LINE, "z", "1e300"), "field 'z': number out of range"),
        (field(LINE, "z", "-3.5e38"), "field 'z': number out of range"),
        (field(LINE, "occluded", "1e30"), "field 'occluded': expected an integer in -1..3"),
        (field(LINE, "occluded", "9223372036854775808"), "field 'occluded': expected an integer"),
        (field(LINE, "occluded", "4"), "field 'occluded': expected an integer in -1..3"),
        (field(LINE, "occluded", "0.5"), "field 'occluded': expected an integer, got '0.5'"),
        (field(LINE, "w", "١٫٥"), "field 'w': non-ASCII character U+0661"),
        (field(LINE, "x1", "５87"), "field 'x1': non-ASCII character U+FF15"),
        (field(LINE, "x1", "587\u00a0"), "field 'x1': non-ASCII character U+00A0"),
        (LINE.replace(" 1.65 ", "\u30001.65 "), "non-ASCII character U+3000"),
        (LINE.replace(" 1.65 ", " 1.65\u2028"), "non-ASCII character U+2028"),
        (field(LINE, "w", "nan"), "field 'w': expected a number, got 'nan'"),
        (field(LINE, "w", "inf"), "field 'w': expected a number, got 'inf'"),
        (field(LINE, "w", "1_0"), "field 'w': expected a number, got '1_0'"),
        (field(LINE, "w", "0x1"), "field 'w': expected a number, got '0x1'"),
        (field(LINE, "w", "1.6\x00"), "field 'w': expected a number, got '1.6\\x00'"),
        (field(LINE, "type", "Cär"), "field 'type': non-ASCII character U+00E4"),
        ("0.00 " + LINE[4:] + " 0.5", "field 'type': expected a class name"),
        (LINE + " 0.9 7", "expected 15 columns"),
        ("\ufeff" + LINE, "field 'type': non-ASCII character U+FEFF"),  # a BOM inside the file
    ],
)  # fmt: skip
def test_bad_label_lines_name_file_line_and_field(line, message):
    with pytest.raises(KittiFormatError) as caught:
        parse_kitti_label(f"{LINE}\n\n{line}\n", "000123.txt")
    assert caught.value.path == "000123.txt" and caught.value.line == 3
    assert str(caught.value) == f"000123.txt:3: {caught.value.reason}"
    assert message in caught.value.reason
    assert "\n" not in str(caught.value)


def test_result_lines_need_the_score():
    table = parse_label_table(LINE + " 0.75\n" + LINE + "\n", "res.txt")
    assert table.score[0] == 0.75 and math.isnan(table.score[1])
    with pytest.raises(KittiFormatError, match=r"res\.txt:2: expected 16 columns"):
        parse_label_table(LINE + " 0.75\n" + LINE + "\n", "res.txt", require_score=True)
    with pytest.raises(KittiFormatError, match=r":1: field 'score': number out of range"):
        parse_label_table(LINE + " 1e39\n", "res.txt", require_score=True)


def test_integral_occluded_of_result_lines_is_read_as_the_devkit_does():
    (obj,) = parse_kitti_label(field(LINE, "occluded", "-1.00") + " 0.5")
    assert obj.occluded == -1 and isinstance(obj.occluded, int)


def test_float32_limits_are_inclusive():
    largest = f"{FLOAT32_MAX:.6e}"  # rounds below the limit
    assert float(largest) <= FLOAT32_MAX
    (obj,) = parse_kitti_label(field(LINE, "z", largest))
    assert obj.location[2] == float(largest) and np.isfinite(np.float32(obj.location[2]))


def test_bom_and_crlf_are_stripped_by_every_reader(tmp_path):
    plain_label = f"{LINE}\n{LINE} 0.5\n"
    plain_calib = f"P0: {' '.join(['1'] * 12)}\n{P2}\n\n"
    plain_ids = "000001\n000002\n"
    for plain, reader in (
        (plain_label, read_kitti_label),
        (plain_calib, lambda p: read_kitti_calib(p).matrices()),
        (plain_ids, read_id_list),
    ):
        path = tmp_path / "plain.txt"
        path.write_bytes(plain.encode())
        expected = reader(path)
        for variant in ("\ufeff" + plain, plain.replace("\n", "\r\n"),
                        "\ufeff" + plain.replace("\n", "\r\n")):  # fmt: skip
            path.write_bytes(variant.encode("utf-8"))
            got = reader(path)
            if isinstance(expected, dict):
                assert got.keys() == expected.keys()
                assert all((got[k] == expected[k]).all() for k in got)
            else:
                assert got == expected
    # a BOM no longer hides the first calib key or the first object
    assert len(parse_kitti_label("\ufeff" + LINE)) == 1
    assert parse_kitti_calib("\ufeff" + P2).P2[0, 0] == 721.5


@pytest.mark.parametrize("reader", [read_kitti_label, read_kitti_calib, read_id_list])
def test_non_utf8_bytes_name_the_file_and_line(tmp_path, reader):
    path = tmp_path / "000007.txt"
    path.write_bytes(b"000001\n\xff\xfe bad\n")
    with pytest.raises(KittiFormatError, match="not UTF-8") as caught:
        reader(path)
    assert caught.value.path == str(path) and caught.value.line == 2


@pytest.mark.parametrize("reader", [read_kitti_label, read_kitti_calib, read_id_list])
def test_missing_file_and_folder(tmp_path, reader):
    with pytest.raises(FileNotFoundError, match=r"gone\.txt"):
        reader(tmp_path / "gone.txt")
    (tmp_path / "folder.txt").mkdir()
    with pytest.raises(KittiFormatError, match=r"folder\.txt: cannot read"):
        reader(tmp_path / "folder.txt")


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (P2 + "\nP2: 1 2 3", 2, "given twice"),
        ("P2: 1 2 3 4", 1, "expected 12 numbers, got 4"),
        (P2.replace("721.5 0 609.5", "721.5 0 1e39"), 1, "P2': number out of range"),
        (P2.replace("721.5 0 609.5", "721.5 0 ٦٠٩"), 1, "expected a number"),
        (P2.replace(" 0 609.5", "\u00a00 609.5"), 1, "expected 12 numbers, got 11"),
        ("P2: " + " ".join(["0"] * 12), 1, "singular"),
        (P2 + "\nno colon here", 2, "expected 'KEY: numbers'"),
        ("\ufeff\ufeff" + P2, None, "no 'P2:' line"),  # only the first BOM is stripped
    ],
)
def test_bad_calib_names_file_line_and_key(text, line, message):
    with pytest.raises(KittiFormatError, match=message) as caught:
        parse_kitti_calib(text, "calib.txt")
    assert caught.value.line == line and caught.value.path == "calib.txt"


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("000001 000002\n", 1, "expected one frame id"),
        ("000001\n../etc\n", 2, "expected one frame id"),
        ("000001\n00\u00a01\n", 2, "expected one frame id"),
        ("000001\n٠٠٠١\n", 2, "expected one frame id"),
        ("000001\n000002\n000001\n", 3, r"'000001' listed twice \(first on line 1\)"),
        ("\n \n", None, "names no frames"),
    ],
)
def test_bad_id_lists(text, line, message):
    with pytest.raises(KittiFormatError, match=message) as caught:
        parse_id_list(text, "val.txt")
    assert caught.value.line == line


def test_writers_round_trip_and_refuse_what_readers_refuse(tmp_path):
    dont_care = "DontCare -1 -1 -10 1 2 3 4 -1 -1 -1 -1000 -1000 -1000 -10"
    objects = parse_kitti_label(f"{LINE}\n{dont_care}\n")
    write_kitti_label(tmp_path / "label.txt", objects)
    assert read_kitti_label(tmp_path / "label.txt") == objects
    assert b"\r" not in (tmp_path / "label.txt").read_bytes()
    table = read_label_table(tmp_path / "label.txt")
    assert table.types == ("Car", "DontCare") and table.lines.tolist() == [1, 2]
    assert table.column("h").tolist() == [1.65, -1.0]
    calib = parse_kitti_calib(P2)
    write_kitti_calib(tmp_path / "calib.txt", calib)
    assert (read_kitti_calib(tmp_path / "calib.txt").P2 == calib.P2).all()
    good = objects[0]
    for bad in (
        {"dimensions": (1e39, 1.0, 1.0)},
        {"location": (0.0, 0.0, math.inf)},
        {"occluded": 10**30},
        {"occluded": 7},
        {"type": "Car truck"},
        {"score": math.nan},
        {"bbox": (1.0, 2.0, 3.0)},
    ):
        with pytest.raises(ValueError, match="KittiObject"):
            KittiObject(**{**good.__dict__, **bad})
    with pytest.raises(ValueError, match=r"KittiCalib\.P2"):
        KittiCalib(P2=np.full((3, 4), 1e39))


def test_errors_pickle_across_workers():
    import pickle

    error = KittiFormatError("a.txt", 3, "field 'h': bad")
    again = pickle.loads(pickle.dumps(error))
    assert (again.path, again.line, again.reason) == ("a.txt", 3, "field 'h': bad")
    assert str(again) == "a.txt:3: field 'h': bad"


def test_written_scores_keep_their_order_down_to_1e_8(tmp_path):
    # 3D scores p * exp(-sigma_z) of far objects are often below 1e-4: the file must rank
    # the detections as the scores in memory do (no ties from rounding)
    base = parse_kitti_label(LINE + " 0.5")[0]
    scores = [0.9, 1.2e-4, 4.5e-5, 4.4e-5, 3e-6, 2e-8]
    objects = [dataclasses.replace(base, score=s) for s in scores]
    write_kitti_label(tmp_path / "r.txt", objects)
    back = [obj.score for obj in read_kitti_label(tmp_path / "r.txt")]
    assert back == pytest.approx(scores, rel=0.5 * 10**-SCORE_DECIMALS / min(scores))
    assert back == sorted(back, reverse=True) and len(set(back)) == len(back)
