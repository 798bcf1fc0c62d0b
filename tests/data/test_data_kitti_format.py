"""KITTI label/calib reading and writing, checked on the real 11-frame sample."""

import math
import pathlib

import numpy as np
import pytest
import torch

from mono3d.contracts import Detections
from mono3d.data import (
    KittiObject,
    detections_to_kitti,
    format_kitti_object,
    parse_kitti_calib,
    read_kitti_calib,
    read_kitti_label,
    write_kitti_calib,
    write_kitti_label,
    write_kitti_results,
)
from mono3d.geometry import box_iou, project_box3d


def _frames(kitti_sample: pathlib.Path) -> list[str]:
    return sorted(p.stem for p in (kitti_sample / "training" / "label_2").glob("*.txt"))


def _labels(kitti_sample: pathlib.Path) -> dict[str, list[KittiObject]]:
    root = kitti_sample / "training" / "label_2"
    return {frame: read_kitti_label(root / f"{frame}.txt") for frame in _frames(kitti_sample)}


def test_every_label_parses(kitti_sample):
    labels = _labels(kitti_sample)
    assert len(labels) == 11
    lines = sum(
        len((kitti_sample / "training" / "label_2" / f"{f}.txt").read_text().splitlines())
        for f in labels
    )
    objects = [o for objs in labels.values() for o in objs]
    assert len(objects) == lines == 65
    counts = {kind: sum(o.type == kind for o in objects) for kind in {o.type for o in objects}}
    assert counts == {"Car": 29, "DontCare": 29, "Pedestrian": 3, "Cyclist": 2, "Truck": 1,
                      "Misc": 1}  # fmt: skip
    first = labels["000000"][0]
    assert first == KittiObject(
        "Pedestrian", 0.0, 0, -0.2, (712.4, 143.0, 810.73, 307.92), (1.89, 0.48, 1.2),
        (1.84, 1.47, 8.41), 0.01, None,
    )  # fmt: skip
    dontcare = next(o for o in objects if o.is_dontcare)
    assert (dontcare.truncated, dontcare.occluded, dontcare.alpha) == (-1.0, -1, -10.0)
    assert dontcare.location == (-1000.0, -1000.0, -1000.0)


def test_every_calib_parses(kitti_sample):
    for frame in _frames(kitti_sample):
        calib = read_kitti_calib(kitti_sample / "training" / "calib" / f"{frame}.txt")
        for key in ("P0", "P1", "P2", "P3", "Tr_velo_to_cam", "Tr_imu_to_velo"):
            assert getattr(calib, key).shape == (3, 4)
        assert calib.R0_rect.shape == (3, 3)
        assert abs(np.linalg.det(calib.R0_rect) - 1.0) < 1e-4  # a rotation
        assert calib.P2[2, 2] == 1.0 and calib.P2[0, 0] > 700
    calib = read_kitti_calib(kitti_sample / "training" / "calib" / "000001.txt")
    np.testing.assert_allclose(calib.P2[:, 3], [44.85728, 0.2163791, 0.002745884])
    with pytest.raises(ValueError):
        calib.P2[0, 0] = 1.0  # read-only


def test_projection_matches_labelled_boxes(kitti_sample):
    """Untruncated, unoccluded cars: the 2D box enclosing the projected 3D corners agrees
    with the labelled 2D box (KITTI annotated both by hand, so not exactly)."""
    ious = []
    for frame, objects in _labels(kitti_sample).items():
        p2 = read_kitti_calib(kitti_sample / "training" / "calib" / f"{frame}.txt").P2
        cars = [o for o in objects if o.type == "Car" and o.truncated == 0 and o.occluded == 0]
        if not cars:
            continue
        box3d = torch.tensor([[[*o.location, *o.dimensions] for o in cars]], dtype=torch.float64)
        yaw = torch.tensor([[[o.rotation_y] for o in cars]], dtype=torch.float64)
        projected = project_box3d(box3d, yaw, torch.tensor(p2)[None])
        labelled = torch.tensor([[o.bbox for o in cars]], dtype=torch.float64)
        ious += box_iou(projected, labelled)[0].diagonal().tolist()
    assert len(ious) == 17
    assert float(np.median(ious)) > 0.95  # measured: median 0.973, min 0.962
    assert min(ious) > 0.9


def test_alpha_agrees_with_rotation_y(kitti_sample):
    gaps = []
    for objects in _labels(kitti_sample).values():
        for o in objects:
            if o.is_dontcare:
                continue
            expected = o.rotation_y - math.atan2(o.location[0], o.location[2])
            gaps.append(abs((o.alpha - expected + math.pi) % (2 * math.pi) - math.pi))
    assert len(gaps) == 36
    assert max(gaps) < 0.05 and float(np.median(gaps)) < 0.01  # labels keep 2 decimals


def test_label_round_trip_is_lossless(kitti_sample, tmp_path):
    for frame, objects in _labels(kitti_sample).items():
        source = kitti_sample / "training" / "label_2" / f"{frame}.txt"
        write_kitti_label(tmp_path / f"{frame}.txt", objects)
        assert read_kitti_label(tmp_path / f"{frame}.txt") == objects
        # real KITTI files already use the writer's %.2f, except DontCare's bare -1 / -10
        original = source.read_text().split()
        rewritten = (tmp_path / f"{frame}.txt").read_text().split()
        assert [float(a) if a[0] in "-0123456789" else a for a in original] == [
            float(a) if a[0] in "-0123456789" else a for a in rewritten
        ]


def test_calib_round_trip(kitti_sample, tmp_path):
    for frame in _frames(kitti_sample):
        calib = read_kitti_calib(kitti_sample / "training" / "calib" / f"{frame}.txt")
        write_kitti_calib(tmp_path / "c.txt", calib)
        again = read_kitti_calib(tmp_path / "c.txt")
        for key, matrix in calib.matrices().items():
            np.testing.assert_array_equal(getattr(again, key), matrix)


def test_calib_aliases_and_unknown_keys():
    values = " ".join(["1"] + ["0"] * 4 + ["1"] + ["0"] * 4 + ["1", "0"])
    calib = parse_kitti_calib(
        f"calib_time: 09-Jan-2012 13:57:47\nP2: {values}\nR_rect: 1 0 0 0 1 0 0 0 1\n"
        f"Tr_velo_cam: {' '.join(['0'] * 12)}\n"
    )
    np.testing.assert_array_equal(calib.P2[:, :3], np.eye(3))
    np.testing.assert_array_equal(calib.R0_rect, np.eye(3))
    assert calib.Tr_velo_to_cam.shape == (3, 4) and calib.P0 is None and calib.P3 is None


def test_result_format_has_16_columns_and_an_8_decimal_score(tmp_path):
    obj = KittiObject("Car", -1.0, -1, 1.23456, (1.0, 2.0, 3.456, 4.0), (1.5, 1.6, 3.9),
                      (1.0, 1.7, 20.123), -1.5707, 0.87654321)  # fmt: skip
    line = format_kitti_object(obj)
    assert line == (
        "Car -1.00 -1 1.23 1.00 2.00 3.46 4.00 1.50 1.60 3.90 1.00 1.70 20.12 -1.57 0.87654321"
    )
    assert len(line.split()) == 16
    write_kitti_label(tmp_path / "r.txt", [obj])
    (back,) = read_kitti_label(tmp_path / "r.txt")
    assert back.score == 0.87654321 and back.occluded == -1 and back.truncated == -1.0


def _detections(b: int, k: int, valid: list[list[bool]]) -> Detections:
    g = torch.Generator().manual_seed(0)
    xy = torch.rand(b, k, 2, generator=g) * 500
    return Detections(
        bbox2d=torch.cat([xy, xy + 30], dim=-1),
        score=torch.rand(b, k, generator=g),
        category=torch.randint(1, 4, (b, k), generator=g),
        bbox3d=torch.tensor([1.0, 1.6, 20.0, 1.5, 1.6, 3.9]).expand(b, k, 6).clone(),
        yaw=torch.full((b, k), 0.5),
        alpha=torch.full((b, k), 0.45),
        valid=torch.tensor(valid),
    )


def test_detections_to_kitti_rows():
    detections = _detections(2, 3, [[True, False, True], [False, False, False]])
    objects = detections_to_kitti(detections, 0, ("Car", "Pedestrian", "Cyclist"))
    assert len(objects) == 2
    assert detections_to_kitti(detections, 1, ("Car", "Pedestrian", "Cyclist")) == []
    first = objects[0]
    category = int(detections.category[0, 0])
    assert first.type == ("Car", "Pedestrian", "Cyclist")[category - 1]
    assert first.dimensions == pytest.approx((1.5, 1.6, 3.9))
    assert first.location == pytest.approx((1.0, 1.6, 20.0))
    assert first.rotation_y == pytest.approx(0.5) and first.alpha == pytest.approx(0.45)
    assert first.score == pytest.approx(float(detections.score[0, 0]))
    assert first.bbox == pytest.approx(tuple(detections.bbox2d[0, 0].tolist()))
    assert (first.truncated, first.occluded) == (-1.0, -1)
    with pytest.raises(ValueError, match=r"category 3 outside 1\.\.2"):
        bad = _detections(1, 1, [[True]])
        bad.category.fill_(3)
        detections_to_kitti(bad, 0, ("Car", "Pedestrian"))


def test_write_results_one_file_per_frame(tmp_path):
    detections = _detections(2, 3, [[True, True, False], [False, False, False]])
    paths = write_kitti_results(tmp_path / "data", detections, ["000007", "000042"],
                                ("Car", "Pedestrian", "Cyclist"))  # fmt: skip
    assert [p.name for p in paths] == ["000007.txt", "000042.txt"]
    assert len(read_kitti_label(paths[0])) == 2
    assert paths[1].read_text() == ""  # empty file for a frame without detections
    for line in paths[0].read_text().splitlines():
        assert len(line.split()) == 16
