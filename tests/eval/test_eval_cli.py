"""``python -m mono3d.eval``: KITTI folders in, a table and a JSON document out; user errors
exit with status 2 and a message naming the file and line, without a traceback."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from mono3d.eval import evaluate, evaluate_folders, read_kitti_folders, read_label_file
from mono3d.eval.testing import jitter_annos

DIFFS = ("easy", "moderate", "hard")


def write_results(folder, ids, annos):
    """KITTI result files: 15 label values and the score."""
    folder.mkdir(parents=True, exist_ok=True)
    for frame_id, anno in zip(ids, annos):
        lines = []
        for k in range(len(anno["name"])):
            values = [
                0.0,
                0,
                anno["alpha"][k],
                *anno["bbox"][k],
                *anno["dimensions"][k],
                *anno["location"][k],
                anno["rotation_y"][k],
                anno["score"][k],
            ]
            lines.append(" ".join([str(anno["name"][k]), *(f"{v:.6f}" for v in values)]))
        (folder / f"{frame_id}.txt").write_text("\n".join(lines) + ("\n" if lines else ""))


def run(*args):
    return subprocess.run(
        [sys.executable, "-m", "mono3d.eval", *map(str, args)],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=300,
    )


@pytest.fixture(scope="module")
def results_dir(kitti_sample, tmp_path_factory):
    ids, gt, _ = read_kitti_folders(kitti_sample, None)  # the ground truth alone
    folder = tmp_path_factory.mktemp("results") / "data"
    dets = jitter_annos(gt, 0.3, seed=1)
    write_results(folder, ids[1:], dets[1:])  # frame 000000 has no result file
    return folder


def test_cli_prints_a_table_and_writes_json(kitti_sample, results_dir, tmp_path):
    ids_file = tmp_path / "val.txt"
    ids_file.write_text("000001\n000003\n\n000004\n000006\n000000\n")
    out = tmp_path / "ap.json"
    done = run(kitti_sample, results_dir.parent, "--ids", ids_file, "--json", out)
    assert done.returncode == 0, done.stderr
    assert "Car" in done.stdout and "moderate" in done.stdout and "R40" in done.stdout
    doc = json.loads(out.read_text())
    assert set(doc) == {"R40", "R11", "loose"} and set(doc["loose"]) == {"R40", "R11"}
    for tree in (doc["R40"], doc["R11"], doc["loose"]["R40"], doc["loose"]["R11"]):
        assert set(tree) == {"Car", "Pedestrian", "Cyclist"}
        for per_metric in tree.values():
            assert set(per_metric) == {"bbox", "bev", "3d", "aos"}
            for per_difficulty in per_metric.values():
                assert tuple(per_difficulty) == DIFFS
                assert all(0.0 <= v <= 100.0 for v in per_difficulty.values())
    # the same numbers through the API, from the label_2 folder itself
    expected = evaluate_folders(
        kitti_sample / "training" / "label_2",
        results_dir,
        ids=["000001", "000003", "000004", "000006", "000000"],
    )
    assert doc == expected.to_dict()
    assert doc["R40"]["Car"]["3d"]["moderate"] == expected.get("Car", "3d")
    assert doc["R40"]["Car"]["bbox"]["moderate"] > 0.0


def test_missing_result_file_means_no_detections(kitti_sample, results_dir):
    ids, gt, dets = read_kitti_folders(kitti_sample, results_dir)
    assert ids[0] == "000000" and len(dets[0]["name"]) == 0
    assert len(dets[1]["name"]) == len(
        read_label_file(results_dir / "000001.txt", with_score=True)["name"]
    )
    by_hand = evaluate(gt, dets)
    assert by_hand.to_dict() == evaluate_folders(kitti_sample, results_dir.parent).to_dict()


def test_cli_bad_line_exits_2_naming_file_and_line(kitti_sample, results_dir, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    lines = (results_dir / "000001.txt").read_text().splitlines()
    lines.insert(1, "Car 0 0 0.1 10 20 30 oops 1.5 1.6 3.9 1 1.6 20 0.1 0.9")
    (bad / "000001.txt").write_text("\n".join(lines) + "\n")
    done = run(kitti_sample, bad)
    assert done.returncode == 2
    assert f"{bad / '000001.txt'}:2" in done.stderr and "'y2'" in done.stderr
    assert "Traceback" not in done.stderr


def test_missing_folder_exits_2(tmp_path, capsys):
    from mono3d.eval._cli import main

    assert main([str(tmp_path / "nowhere"), str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "ground-truth folder not found" in err and "nowhere" in err
    assert main([str(tmp_path), str(tmp_path / "gone")]) == 2
    assert "no label files in" in capsys.readouterr().err


def test_main_in_process_reports_json_to_stdout(kitti_sample, results_dir, capsys):
    from mono3d.eval._cli import main

    assert main([str(kitti_sample), str(results_dir), "--json", "-", "--classes", "Car"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc["R40"]) == {"Car"}
    assert np.isfinite(doc["loose"]["R11"]["Car"]["bev"]["hard"])
