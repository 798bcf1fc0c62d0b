"""The KITTI label reader as the evaluation uses it (mono3d.kitti's): 15 columns for ground
truth, 16 for results, strict errors that name the file, the line and the field."""

import pytest

from mono3d.eval import (
    EvalInputError,
    KittiFormatError,
    read_id_list,
    read_kitti_folders,
    read_label_file,
    resolve_label_dir,
)

GT_LINE = "Car 0.00 0 1.85 387.63 181.54 423.81 203.12 1.67 1.87 3.69 -16.53 2.39 58.49 1.57"


def test_reads_ground_truth_and_results(tmp_path):
    gt = tmp_path / "gt.txt"
    gt.write_text(
        GT_LINE
        + "\n\nDontCare -1 -1 -10 503.89 169.71 590.61 190.13 -1 -1 -1 -1000 -1000 -1000 -10\n"
    )
    anno = read_label_file(gt, with_score=False)
    assert anno["name"].tolist() == ["Car", "DontCare"]
    assert anno["bbox"].shape == (2, 4) and anno["bbox"][0].tolist() == [
        387.63,
        181.54,
        423.81,
        203.12,
    ]
    assert anno["dimensions"][0].tolist() == [1.67, 1.87, 3.69]  # (h, w, l) as in the file
    assert anno["location"][0].tolist() == [-16.53, 2.39, 58.49]
    assert anno["occluded"].tolist() == [0, -1] and "score" not in anno
    res = tmp_path / "res.txt"
    res.write_text(GT_LINE + " 0.75\n")
    assert read_label_file(res, with_score=True)["score"].tolist() == [0.75]
    # ground truth may carry a score column (ignored); an empty file has no objects
    assert read_label_file(res, with_score=False)["name"].tolist() == ["Car"]
    (tmp_path / "empty.txt").write_text("")
    assert read_label_file(tmp_path / "empty.txt", with_score=True)["score"].shape == (0,)


@pytest.mark.parametrize(
    ("line", "with_score", "message"),
    [
        (GT_LINE, True, r":3: expected 16 columns \(a result line ends with its score\), got 15"),
        (GT_LINE + " 0.5 7", False, r":3: expected 15 columns .* or 16 \(with score\), got 17"),
        (GT_LINE.replace("1.87", "wide"), False, r":3: field 'w': expected a number, got 'wide'"),
        (
            GT_LINE.replace(" 0 1.85", " 1.5 1.85"),
            False,
            r":3: field 'occluded': expected an integer",
        ),
        (GT_LINE.replace("58.49", "nan"), False, r":3: field 'z': expected a number, got 'nan'"),
        (GT_LINE.replace("58.49", "1e300"), False, r":3: field 'z': number out of range"),
        (GT_LINE.replace(" 0 1.85", " 1e30 1.85"), False, r":3: field 'occluded': expected an"),
    ],
)
def test_malformed_lines_name_file_line_and_column(tmp_path, line, with_score, message):
    path = tmp_path / "000042.txt"
    path.write_text(f"{GT_LINE} 0.5\n\n{line}\n" if with_score else f"{GT_LINE}\n\n{line}\n")
    with pytest.raises(KittiFormatError, match=str(path).replace(".", r"\.") + message):
        read_label_file(path, with_score=with_score)


def test_folders_and_id_lists(tmp_path, kitti_sample):
    assert resolve_label_dir(kitti_sample) == kitti_sample / "training" / "label_2"
    label_2 = kitti_sample / "training" / "label_2"
    assert resolve_label_dir(label_2) == label_2
    with pytest.raises(EvalInputError, match="no label files in"):
        resolve_label_dir(tmp_path)
    ids = tmp_path / "ids.txt"
    ids.write_text("000002\n000999\n")
    assert read_id_list(ids) == ("000002", "000999")
    with pytest.raises(EvalInputError, match=r"frame '000999': no ground-truth file"):
        read_kitti_folders(kitti_sample, tmp_path, read_id_list(ids))
    ids.write_text("000002 000003\n")
    with pytest.raises(KittiFormatError, match=r"ids\.txt:1: expected one frame id"):
        read_id_list(ids)
    with pytest.raises(EvalInputError, match="result folder not found"):
        read_kitti_folders(kitti_sample, tmp_path / "missing")
