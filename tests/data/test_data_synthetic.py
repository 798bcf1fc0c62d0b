"""Synthetic scenes: determinism, labels that agree exactly with the rendered geometry,
real occlusion, visible orientation, KITTI-like statistics, KITTI-format files."""

import math

import numpy as np
import pytest
import torch

from mono3d.data import KittiDataset, KittiObject, read_kitti_calib, read_kitti_label
from mono3d.data.synthetic import (
    KITTI_P2,
    KITTI_SIZES,
    Layout,
    SceneGenerator,
    SyntheticConfig,
    SyntheticDataset,
    cuboid_corners,
    synthetic_calib,
)
from mono3d.geometry import box3d_corners, clip_boxes, project_box3d

SMALL = (128, 416)


def _projected(objects: list[KittiObject], p2: np.ndarray) -> torch.Tensor:
    box3d = torch.tensor([[[*o.location, *o.dimensions] for o in objects]], dtype=torch.float64)
    yaw = torch.tensor([[[o.rotation_y] for o in objects]], dtype=torch.float64)
    return project_box3d(box3d, yaw, torch.tensor(p2)[None])[0]


def test_scenes_are_deterministic_per_seed_and_index():
    generator = SceneGenerator(image_size=SMALL)
    a, b = generator.scene(3, 5), generator.scene(3, 5)
    assert np.array_equal(a.image, b.image) and a.objects == b.objects
    np.testing.assert_array_equal(a.calib.P2, b.calib.P2)
    c = generator.scene(4, 5)
    assert not np.array_equal(a.image, c.image)


def test_calib_is_kitti_like():
    np.testing.assert_array_equal(synthetic_calib(None).P2, KITTI_P2)
    rng = np.random.default_rng(0)
    for _ in range(20):
        p2 = synthetic_calib(rng).P2
        assert 0.97 * 721.5377 - 1e-6 <= p2[0, 0] <= 1.03 * 721.5377 + 1e-6
        assert p2[0, 0] == p2[1, 1]
        assert abs(p2[0, 2] - 609.5593) <= 8 and abs(p2[1, 2] - 172.854) <= 4
        np.testing.assert_array_equal(p2[:, 3], KITTI_P2[:, 3])
    small = synthetic_calib(None, (187, 621)).P2
    np.testing.assert_allclose(small[0], KITTI_P2[0] * 0.5)


def test_corners_match_the_geometry_package():
    rng = np.random.default_rng(1)
    boxes = np.column_stack([rng.uniform(-10, 10, 9), rng.uniform(1, 2, 9), rng.uniform(5, 50, 9),
                             rng.uniform(0.5, 3, (9, 3))])  # fmt: skip
    yaw = rng.uniform(-math.pi, math.pi, 9)
    expected = box3d_corners(torch.tensor(boxes), torch.tensor(yaw)[:, None]).numpy()
    np.testing.assert_allclose(cuboid_corners(boxes, yaw), expected, atol=1e-12)


def test_labels_agree_with_projected_geometry():
    """Untruncated objects: label box == box of the projected corners; every object:
    label box == that box clipped to the image; truncation and alpha from the geometry."""
    generator = SceneGenerator(image_size=SMALL)
    checked_inside = checked_truncated = 0
    for index in range(12):
        frame = generator.scene(0, index)
        objects = [o for o in frame.objects if not o.is_dontcare]
        if not objects:
            continue
        projected = _projected(objects, frame.calib.P2)
        labelled = torch.tensor([o.bbox for o in objects], dtype=torch.float64)
        size = torch.tensor([SMALL])
        clipped = clip_boxes(projected[None], size)[0]
        assert float((labelled - clipped).abs().max()) <= 1e-9
        for o, full, label in zip(objects, projected.tolist(), labelled):
            area = (full[2] - full[0]) * (full[3] - full[1])
            inside = float((label[2] - label[0]) * (label[3] - label[1]))
            assert o.truncated == pytest.approx(1 - inside / area, abs=1e-9)
            if o.truncated == 0:
                assert label.tolist() == pytest.approx(full, abs=1e-9)
                checked_inside += 1
            else:
                checked_truncated += 1
            alpha = o.rotation_y - math.atan2(o.location[0], o.location[2])
            assert o.alpha == pytest.approx((alpha + math.pi) % (2 * math.pi) - math.pi)
            assert o.location[1] == 1.65 and 4 <= o.location[2] <= 60
            assert 0 <= o.occluded <= 2
    assert checked_inside > 10 and checked_truncated > 0


def test_written_files_keep_the_geometry(tmp_path):
    """Sizes, positions and yaw are rounded to 2 decimals before rendering, so the written
    labels describe exactly what was drawn; 2D boxes are within the %.2f rounding."""
    generator = SceneGenerator(image_size=SMALL, max_objects=8)
    frame_ids = generator.write_dataset(tmp_path, 4, seed=2, val_fraction=0.25)
    assert frame_ids == ("000000", "000001", "000002", "000003")
    data = tmp_path / "training"
    for index, frame_id in enumerate(frame_ids):
        frame = generator.scene(2, index)
        objects = read_kitti_label(data / "label_2" / f"{frame_id}.txt")
        calib = read_kitti_calib(data / "calib" / f"{frame_id}.txt")
        np.testing.assert_allclose(calib.P2, frame.calib.P2, rtol=1e-11)
        assert len(objects) == len(frame.objects)
        for read, made in zip(objects, frame.objects):
            assert (read.type, read.occluded) == (made.type, made.occluded)
            assert read.dimensions == made.dimensions and read.location == made.location
            assert read.rotation_y == made.rotation_y
            assert read.bbox == pytest.approx(made.bbox, abs=0.005 + 1e-9)
            assert read.truncated == pytest.approx(made.truncated, abs=0.005 + 1e-9)
        real = [o for o in objects if not o.is_dontcare and o.truncated == 0]
        if real:
            projected = _projected(real, calib.P2)
            labelled = torch.tensor([o.bbox for o in real], dtype=torch.float64)
            assert float((labelled - projected).abs().max()) <= 0.005 + 1e-9
    train = (tmp_path / "ImageSets" / "train.txt").read_text().split()
    val = (tmp_path / "ImageSets" / "val.txt").read_text().split()
    assert len(val) == 1 and sorted(train + val) == list(frame_ids)
    assert len(KittiDataset(tmp_path, split="train")) == 3
    assert KittiDataset(tmp_path, split="val").frame_ids == tuple(val)


def _layout(types, rows, camera_height=1.65) -> Layout:
    table = np.array(rows, dtype=np.float64)
    return Layout(
        types=tuple(types),
        boxes=table[:, :6],
        rotation_y=table[:, 6],
        colours=np.array([[50, 95, 185]] * len(rows), dtype=np.uint8),
        camera_height=camera_height,
        lanes=np.zeros(0),
    )


def test_occlusion_is_real():
    generator = SceneGenerator()
    calib = synthetic_calib(None)
    near = [0.0, 1.65, 10.0, 1.5, 1.6, 3.9, 0.0]
    hidden = [0.3, 1.65, 25.0, 1.5, 1.6, 3.9, 0.0]
    half = [2.2, 1.65, 25.0, 1.5, 1.6, 3.9, 0.0]
    alone = generator.render(_layout(["Car"], [hidden]), calib)
    assert alone.visibility == (1.0,) and alone.objects[0].occluded == 0
    assert alone.objects[0].truncated == 0
    # drawn in any input order, the near car hides the far ones (painter's algorithm)
    frame = generator.render(_layout(["Car", "Car", "Car"], [hidden, half, near]), calib)
    by_depth = {o.location[2] if o.location[0] != 2.2 else -1: o for o in frame.objects}
    assert by_depth[10.0].occluded == 0 and frame.visibility[-1] == 1.0
    if 25.0 in by_depth:
        assert by_depth[25.0].occluded == 2
    assert by_depth[-1].occluded in (1, 2)
    assert 0.0 < frame.visibility[1] < 0.8


def test_front_face_is_distinct_from_back_face():
    """Orientation is visible: the same car seen from the front and from the back."""
    generator = SceneGenerator()
    calib = synthetic_calib(None)
    centre = []
    for yaw in (math.pi / 2, -math.pi / 2):  # length axis towards / away from the camera
        frame = generator.render(_layout(["Car"], [[0.0, 1.65, 12.0, 1.5, 1.6, 3.9, yaw]]), calib)
        x1, y1, x2, y2 = frame.objects[0].bbox
        centre.append(frame.image[int((y1 + y2) / 2), int((x1 + x2) / 2)].astype(int))
    front, back = centre
    assert np.abs(front - back).sum() > 150
    assert front.sum() > back.sum()  # front: light tint, back: dark red


def test_sizes_follow_kitti_statistics():
    generator = SceneGenerator(min_objects=15, max_objects=15)
    calib = synthetic_calib(None)
    rng = np.random.default_rng(0)
    layouts = [generator.sample_layout(rng, calib) for _ in range(80)]
    types = np.array([t for layout in layouts for t in layout.types])
    boxes = np.concatenate([layout.boxes for layout in layouts])
    yaws = np.concatenate([layout.rotation_y for layout in layouts])
    assert (yaws >= -math.pi).all() and (yaws < math.pi).all()
    assert (boxes[:, 2] >= 4).all() and (boxes[:, 2] <= 60).all()
    for name, (mean, std) in KITTI_SIZES.items():
        dims = boxes[types == name, 3:]
        assert len(dims) > 80
        np.testing.assert_allclose(dims.mean(axis=0), mean, atol=0.06)
        np.testing.assert_allclose(dims.std(axis=0), std, rtol=0.35)
    share = (types == "Car").mean()
    assert 0.5 < share < 0.7
    # footprints never overlap on the ground
    for layout in layouts:
        b = layout.boxes
        radius = 0.5 * np.hypot(b[:, 4], b[:, 5])
        gap = np.hypot(b[:, None, 0] - b[None, :, 0], b[:, None, 2] - b[None, :, 2])
        gap -= radius[:, None] + radius[None, :]
        assert (gap[~np.eye(len(b), dtype=bool)] > 0).all()


def test_renders_real_layouts(kitti_sample, tmp_path):
    generator = SceneGenerator.from_config(SyntheticConfig())
    frame_ids = generator.write_layouts(kitti_sample, tmp_path, seed=0)
    assert len(frame_ids) == 11
    data = tmp_path / "training"
    source = kitti_sample / "training"
    dataset = KittiDataset(tmp_path)
    assert dataset[0].image_size == (370, 1224)  # real image size kept
    for frame_id in frame_ids:
        rendered = read_kitti_label(data / "label_2" / f"{frame_id}.txt")
        original = read_kitti_label(source / "label_2" / f"{frame_id}.txt")
        np.testing.assert_array_equal(
            read_kitti_calib(data / "calib" / f"{frame_id}.txt").P2,
            read_kitti_calib(source / "calib" / f"{frame_id}.txt").P2,
        )
        placed = {(o.type, o.location, o.dimensions, o.rotation_y) for o in original}
        for o in rendered:
            if not o.is_dontcare:
                assert (o.type, o.location, o.dimensions, o.rotation_y) in placed
    cars = [o for f in frame_ids for o in read_kitti_label(data / "label_2" / f"{f}.txt")
            if o.type == "Car"]  # fmt: skip
    assert len(cars) >= 25  # nearly all 29 real cars are visible in the rendering


def test_synthetic_dataset_yields_samples():
    dataset = SyntheticDataset(3, seed=5, generator=SceneGenerator(image_size=SMALL))
    sample = dataset[1]
    assert sample.image.shape == (3, *SMALL) and sample.frame_id == "000001"
    frame = dataset.generator.scene(5, 1)
    assert sample.num_objects == len(frame.objects)
    with pytest.raises(IndexError):
        dataset[3]
