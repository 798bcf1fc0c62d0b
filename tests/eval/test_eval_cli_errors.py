"""Every user error of the evaluation command line: exit 2, one line on stderr naming the
argument, file, line or field, no traceback; the trainer's eval/step_N folder is found."""

import json
import os
import subprocess
import sys

import pytest

from mono3d.eval import evaluate_folders, main

GT_LINE = "Car 0.00 0 1.85 387.63 181.54 423.81 203.12 1.67 1.87 3.69 -16.53 2.39 58.49 1.57"


def one_error_line(capsys, code: int) -> str:
    assert code == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("python -m mono3d.eval: error: ")
    assert "Traceback" not in captured.err
    return lines[0]


def test_the_trainers_step_folder_finds_data(kitti_sample, step_folder, capsys):
    assert main([str(kitti_sample), str(step_folder), "--json", "-", "--classes", "Car"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["R40"]["Car"]["bbox"]["moderate"] > 30.0  # the labels themselves: not 0.00
    assert doc == evaluate_folders(kitti_sample, step_folder / "data", classes=["Car"]).to_dict()


def test_a_result_folder_matching_no_frame_is_refused(kitti_sample, tmp_path, capsys):
    results = tmp_path / "results"
    results.mkdir()
    (results / "metrics.txt").write_text("not a result\n")
    (results / "0.txt").write_text(GT_LINE + " 0.5\n")  # ids are 000000.., not 0
    line = one_error_line(capsys, main([str(kitti_sample), str(results)]))
    assert "no result file in" in line and "000000.txt" in line


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--classes", ","], "--classes: no class named in ','"),
        (["--classes", " , ,"], "--classes: no class named"),
        (["--classes", "Car,car"], "--classes: a class is named twice"),
        (["--classes", "Bus"], "--classes: iou_thresholds.strict.bbox: no IoU for class 'Bus'"),
        (["--json", "{tmp}"], "is a folder; give a file name"),
        (["--json", "{tmp}/missing/ap.json"], "missing does not exist"),
        (["--ids", "{tmp}/none.txt"], "none.txt"),
    ],
)
def test_bad_arguments(kitti_sample, step_folder, tmp_path, capsys, arguments, message):
    arguments = [a.replace("{tmp}", str(tmp_path)) for a in arguments]
    line = one_error_line(capsys, main([str(kitti_sample), str(step_folder), *arguments]))
    assert message in line


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"000001\n\xff\xfe\n", r"ids.txt:2: not UTF-8 text"),
        ("000001\n٠٠٠٢\n".encode(), "ids.txt:2: expected one frame id"),
        (b"000001\n000001\n", "ids.txt:2: frame id '000001' listed twice"),
        (b"\n\n", "ids.txt: the id list names no frames"),
    ],
)
def test_bad_id_lists(kitti_sample, step_folder, tmp_path, capsys, content, message):
    ids = tmp_path / "ids.txt"
    ids.write_bytes(content)
    line = one_error_line(capsys, main([str(kitti_sample), str(step_folder), "--ids", str(ids)]))
    assert message in line


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (GT_LINE.encode() + b" 0.5\n\xc3\x28\n", "000002.txt:2: not UTF-8 text"),
        (GT_LINE.replace("1.67", "1e39").encode() + b" 0.5\n", "000002.txt:1: field 'h'"),
        (GT_LINE.replace("58.49", "1e300").encode() + b" 0.5\n", "000002.txt:1: field 'z'"),
        (GT_LINE.replace(" 0 1.85", " 1e30 1.85").encode() + b" 0.5\n", "field 'occluded'"),
        (GT_LINE.replace("1.67", "١").encode() + b" 0.5\n", "field 'h': non-ASCII"),
        (GT_LINE.encode() + b"\n", "000002.txt:1: expected 16 columns"),
    ],
)
def test_bad_result_files_name_file_line_and_field(
    kitti_sample, step_folder, capsys, content, message
):
    (step_folder / "data" / "000002.txt").write_bytes(content)
    line = one_error_line(capsys, main([str(kitti_sample), str(step_folder)]))
    assert message in line


def test_a_folder_in_place_of_a_result_file_is_refused(kitti_sample, step_folder, capsys):
    # not a frame without detections (which would lower the APs without a word)
    target = step_folder / "data" / "000002.txt"
    target.unlink()
    target.mkdir()
    line = one_error_line(capsys, main([str(kitti_sample), str(step_folder)]))
    assert str(target) in line


def test_bom_and_crlf_results_read_as_plain_ones(kitti_sample, step_folder, capsys):
    assert main([str(kitti_sample), str(step_folder), "--json", "-"]) == 0
    plain = json.loads(capsys.readouterr().out)
    for path in (step_folder / "data").glob("*.txt"):
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"\n", b"\r\n"))
    assert main([str(kitti_sample), str(step_folder), "--json", "-"]) == 0
    assert json.loads(capsys.readouterr().out) == plain


def test_a_subprocess_error_is_one_line_without_traceback(kitti_sample, tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "mono3d.eval", str(kitti_sample), str(tmp_path), "--json", "-"],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=300,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "no result file in" in done.stderr
