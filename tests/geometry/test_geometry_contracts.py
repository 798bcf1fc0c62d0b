"""The geometry boundaries are checked: a wrong shape raises ContractError naming the argument."""

import inspect

import pytest
import torch

from mono3d import geometry
from mono3d.contracts import ContractError, checks_enabled
from mono3d.geometry import (
    bev_iou,
    box_iou,
    clip_boxes,
    decode_box3d,
    encode_box2d,
    encode_yaw,
    flip_calib,
    project_box3d,
    project_points,
    unproject_points,
)

#: the API other blocks code against (the brief); changing it breaks them
PUBLIC_API = {
    "box_area", "box_iou", "clip_boxes", "encode_box2d", "decode_box2d", "project_points",
    "unproject_points", "box3d_center", "box3d_corners", "project_box3d", "wrap_angle",
    "alpha_from_rotation_y", "rotation_y_from_alpha", "encode_box3d", "decode_box3d",
    "yaw_bin_centers", "encode_yaw", "decode_yaw", "flip_calib", "flip_box2d", "flip_box3d",
    "flip_yaw", "scale_calib", "scale_box2d", "crop_calib", "crop_box2d", "boxes7", "bev_iou",
    "box3d_iou", "priors_tensor",
}  # fmt: skip

CALIB = torch.eye(3, 4).expand(2, 3, 4)

CASES = [
    (box_iou, (torch.zeros(2, 3, 4), torch.zeros(2, 3, 5)), "boxes2"),
    (box_iou, (torch.zeros(2, 3, 4), torch.zeros(3, 3, 4)), "boxes2"),  # b disagrees
    (clip_boxes, (torch.zeros(2, 3, 4), torch.zeros(2, 2)), "image_size"),  # float, not int
    (encode_box2d, (torch.zeros(5, 4), torch.zeros(4, 4)), "reference"),
    (project_points, (torch.zeros(2, 3, 3), torch.zeros(2, 4, 4)), "calib"),
    (project_points, (torch.zeros(2, 3, 2), CALIB), "points"),
    (unproject_points, (torch.zeros(2, 3, 2), torch.zeros(2, 4), CALIB), "depth"),
    (project_box3d, (torch.zeros(2, 3, 6), torch.zeros(2, 3), CALIB), "rotation_y"),
    (
        decode_box3d,
        (torch.zeros(2, 3, 6), torch.zeros(2, 3, 4), torch.zeros(2, 4, 3), CALIB),
        "prior",
    ),
    (encode_yaw, (torch.zeros(3, dtype=torch.int64), 12), "alpha"),  # int, not float
    (flip_calib, (CALIB, torch.zeros(3)), "image_width"),
    (bev_iou, (torch.zeros(4, 7), torch.zeros(4, 6)), "boxes2"),
]


CHECKED = pytest.mark.skipif(not checks_enabled(), reason="MONO3D_CHECKS=0: nothing is checked")


@CHECKED
@pytest.mark.parametrize(
    ("fn", "args", "name"), CASES, ids=[f"{c[0].__name__}-{c[2]}" for c in CASES]
)
def test_wrong_input_raises_contract_error_naming_the_argument(fn, args, name) -> None:
    with pytest.raises(ContractError, match=rf"{fn.__name__}(.|\n)*parameter '{name}'"):
        fn(*args)


@CHECKED
def test_every_public_function_is_checked() -> None:
    public = [getattr(geometry, name) for name in dir(geometry) if not name.startswith("_")]
    functions = [f for f in public if inspect.isfunction(f)]
    assert {f.__name__ for f in functions} == PUBLIC_API
    unchecked = [f.__name__ for f in functions if not hasattr(f, "__wrapped_unchecked__")]
    assert unchecked == []
