"""count_recall / matched_errors on the real KITTI sample: its labels as detections are full
recall with no error; deeper boxes lose 3D recall only (and the profile blames the depth),
shifted 2D boxes lose 2D recall only, the score threshold and the one-to-one matching hold;
trainer-style folders (results in data/ beside metrics.txt) are read."""

import pathlib

import numpy as np
import pytest

from mono3d.eval import (
    ERROR_COLUMNS,
    EvalInputError,
    count_recall,
    greedy_matches,
    matched_errors,
    resolve_label_dir,
)


def _ids(kitti_sample: pathlib.Path) -> list[str]:
    return sorted(p.stem for p in resolve_label_dir(kitti_sample).glob("*.txt"))


def _labels_as_results(kitti_sample: pathlib.Path, out: pathlib.Path, edit=None) -> list[str]:
    """``out/<id>.txt``: every label line but DontCare as a detection with score 1, each
    row passed through ``edit(fields) -> fields``."""
    out.mkdir(parents=True, exist_ok=True)
    ids = _ids(kitti_sample)
    for frame in ids:
        rows = [
            line.split()[:15]
            for line in (resolve_label_dir(kitti_sample) / f"{frame}.txt").read_text().splitlines()
        ]
        rows = [edit(r) if edit else r for r in rows if r and r[0] != "DontCare"]
        (out / f"{frame}.txt").write_text("".join(f"{' '.join(r)} 1.0\n" for r in rows))
    return ids


def test_labels_as_detections_are_full_recall_without_error(kitti_sample, tmp_path):
    ids = _labels_as_results(kitti_sample, tmp_path / "gt")
    found = count_recall(kitti_sample, tmp_path / "gt", ids, 0.5)
    assert found.total == 17  # the sample's moderate cars
    assert found.hit2d == found.hit3d == found.total
    errors = matched_errors(kitti_sample, tmp_path / "gt", ids)
    assert errors.shape == (17, len(ERROR_COLUMNS))
    assert np.allclose(errors[:, 1:6], 0.0, atol=1e-4)
    assert np.allclose(errors[:, 6:], 1.0, atol=1e-4)


def test_deeper_boxes_lose_3d_recall_only_and_the_true_depth_restores_it(kitti_sample, tmp_path):
    def farther(r):  # z (column 13) 25 % deeper: the 3D box no longer overlaps by half
        return [*r[:13], f"{float(r[13]) * 1.25:.2f}", *r[14:]]

    ids = _labels_as_results(kitti_sample, tmp_path / "far", farther)
    found = count_recall(kitti_sample, tmp_path / "far", ids, 0.5)
    assert found.hit2d == found.total and found.hit3d < found.total / 2
    errors = matched_errors(kitti_sample, tmp_path / "far", ids, 0.5)
    assert len(errors) == found.total
    assert np.allclose(errors[:, 2], 0.25, atol=0.01)  # |dz| / z
    assert (errors[:, 7] >= 0.5).all()  # with the true z put in
    assert (errors[:, 8] >= 0.5).sum() == found.hit3d  # the true yaw changes nothing


def test_shifted_2d_boxes_and_scores_below_the_threshold_lose_recall(kitti_sample, tmp_path):
    def shifted(r):  # the 2D box moved right by 30 % of its width: IoU about 0.54
        x1, x2 = float(r[4]), float(r[6])
        dx = 0.3 * (x2 - x1)
        return [*r[:4], f"{x1 + dx:.2f}", r[5], f"{x2 + dx:.2f}", *r[7:]]

    ids = _labels_as_results(kitti_sample, tmp_path / "shifted", shifted)
    found = count_recall(kitti_sample, tmp_path / "shifted", ids, 0.5)
    assert found.hit2d == 0 and found.hit3d == found.total
    assert count_recall(kitti_sample, tmp_path / "shifted", ids, 1.5).hit3d == 0  # scores 1.0


def test_a_trainer_eval_folder_is_read_from_its_data(kitti_sample, tmp_path):
    step = tmp_path / "eval" / "step_0000010"
    ids = _labels_as_results(kitti_sample, step / "data")
    (step / "metrics.txt").write_text("KITTI object evaluation\n")
    assert count_recall(kitti_sample, step, ids).hit3d == 17


def test_a_folder_matching_no_frame_is_refused(kitti_sample, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(EvalInputError, match="no result file"):
        count_recall(kitti_sample, tmp_path / "empty", _ids(kitti_sample))


def test_pedestrians_are_counted_by_their_own_class(kitti_sample, tmp_path):
    ids = _labels_as_results(kitti_sample, tmp_path / "gt")
    found = count_recall(kitti_sample, tmp_path / "gt", ids, category="Pedestrian")
    assert found.total >= 1 and found.hit2d == found.hit3d == found.total


def test_greedy_matching_is_one_to_one():
    assert greedy_matches(np.array([[0.9, 0.8], [0.95, 0.1]]), 0.7) == 1  # both want det 0
    assert greedy_matches(np.array([[0.9, 0.8], [0.75, 0.1]]), 0.7) == 1
    assert greedy_matches(np.array([[0.9, 0.8], [0.1, 0.75]]), 0.7) == 2
    assert greedy_matches(np.zeros((3, 0)), 0.5) == 0
