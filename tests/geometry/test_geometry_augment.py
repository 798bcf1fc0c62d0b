"""Flip, resize and crop keep calib, 2D boxes, 3D boxes and angles consistent."""

import math

import torch
from hypothesis import given
from hypothesis import strategies as st

from mono3d.contracts.testing import boxes2d, boxes3d, calibs, image_sizes, padded_hw, yaws
from mono3d.geometry import (
    alpha_from_rotation_y,
    crop_box2d,
    crop_calib,
    flip_box2d,
    flip_box3d,
    flip_calib,
    flip_yaw,
    project_box3d,
    project_points,
    scale_box2d,
    scale_calib,
    wrap_angle,
)


@st.composite
def _scene(draw: st.DrawFn) -> dict[str, torch.Tensor]:
    b, n = draw(st.integers(1, 3)), draw(st.integers(0, 6))
    h, w = draw(padded_hw(max_side=1280))
    size = draw(image_sizes(b, h, w))
    return {
        "calib": draw(calibs(b, h, w)).double(),
        "bbox2d": draw(boxes2d(b, n, size)).double(),
        "bbox3d": draw(boxes3d(b, n)).double(),
        "yaw": draw(yaws(b, n)).double(),
        "width": size[:, 1].double(),
    }


def _same_angle(a: torch.Tensor, b: torch.Tensor) -> None:
    torch.testing.assert_close(wrap_angle(a - b), torch.zeros_like(a), atol=1e-12, rtol=0)


@given(_scene())
def test_flip_twice_is_identity(scene: dict[str, torch.Tensor]) -> None:
    w = scene["width"]
    torch.testing.assert_close(flip_calib(flip_calib(scene["calib"], w), w), scene["calib"])
    torch.testing.assert_close(flip_box2d(flip_box2d(scene["bbox2d"], w), w), scene["bbox2d"])
    torch.testing.assert_close(flip_box3d(flip_box3d(scene["bbox3d"])), scene["bbox3d"])
    _same_angle(flip_yaw(flip_yaw(scene["yaw"])), scene["yaw"])


@given(_scene())
def test_flipped_scene_reprojects_onto_flipped_boxes(scene: dict[str, torch.Tensor]) -> None:
    calib, box, ry, w = scene["calib"], scene["bbox3d"], scene["yaw"], scene["width"]
    before = project_box3d(box, ry, calib)
    after = project_box3d(flip_box3d(box), flip_yaw(ry), flip_calib(calib, w))
    torch.testing.assert_close(after, flip_box2d(before, w), rtol=0, atol=1e-8)
    flipped = flip_box2d(scene["bbox2d"], w)
    assert (flipped[..., 2] >= flipped[..., 0]).all()  # still (x1, y1, x2, y2)


@given(_scene())
def test_flip_maps_alpha_like_rotation_y(scene: dict[str, torch.Tensor]) -> None:
    box, ry = scene["bbox3d"], scene["yaw"][..., 0]
    x, z = box[..., 0], box[..., 2]
    alpha_after = alpha_from_rotation_y(flip_yaw(ry), -x, z)
    _same_angle(alpha_after, flip_yaw(alpha_from_rotation_y(ry, x, z)))


def test_flip_calib_kitti_form() -> None:
    calib = torch.tensor(
        [[[721.5, 0.0, 609.6, 44.9], [0.0, 721.5, 172.9, 0.2], [0.0, 0.0, 1.0, 0.0027]]],
        dtype=torch.float64,
    )
    w = torch.tensor([1242.0], dtype=torch.float64)
    flipped = flip_calib(calib, w)[0]
    assert flipped[0, 0] == 721.5 and flipped[1].tolist() == calib[0, 1].tolist()
    assert math.isclose(flipped[0, 2].item(), 1242.0 - 609.6)
    assert math.isclose(flipped[0, 3].item(), 1242.0 * 0.0027 - 44.9)  # -P03 when t_z = 0
    no_tz = calib.clone()
    no_tz[0, 2, 3] = 0.0
    assert math.isclose(flip_calib(no_tz, w)[0, 0, 3].item(), -44.9)


@given(_scene(), st.floats(0.3, 3.0), st.floats(0.3, 3.0))
def test_scale_keeps_projection_consistent(
    scene: dict[str, torch.Tensor], sx: float, sy: float
) -> None:
    calib, box, ry = scene["calib"], scene["bbox3d"], scene["yaw"]
    b = calib.shape[0]
    scale_x = torch.full((b,), sx, dtype=torch.float64)
    scale_y = torch.full((b,), sy, dtype=torch.float64)
    before = project_box3d(box, ry, calib)
    after = project_box3d(box, ry, scale_calib(calib, scale_x, scale_y))
    torch.testing.assert_close(after, scale_box2d(before, scale_x, scale_y))
    uv, depth = project_points(box[..., :3], calib)
    uv2, depth2 = project_points(box[..., :3], scale_calib(calib, scale_x, scale_y))
    torch.testing.assert_close(uv2, uv * torch.tensor([sx, sy], dtype=torch.float64))
    torch.testing.assert_close(depth2, depth)


@given(_scene(), st.floats(-100.0, 300.0), st.floats(-50.0, 150.0))
def test_crop_keeps_projection_consistent(
    scene: dict[str, torch.Tensor], x0: float, y0: float
) -> None:
    calib, box, ry = scene["calib"], scene["bbox3d"], scene["yaw"]
    b = calib.shape[0]
    ox = torch.full((b,), x0, dtype=torch.float64)
    oy = torch.full((b,), y0, dtype=torch.float64)
    before = project_box3d(box, ry, calib)
    after = project_box3d(box, ry, crop_calib(calib, ox, oy))
    torch.testing.assert_close(after, crop_box2d(before, ox, oy))
    torch.testing.assert_close(
        crop_box2d(scene["bbox2d"], ox, oy)[..., :2] + torch.tensor([x0, y0], dtype=torch.float64),
        scene["bbox2d"][..., :2],
    )
