"""The geometry boundaries are checked: a wrong shape raises ContractError naming the argument."""

import pytest
import torch

from mono3d.contracts import ContractError
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


@pytest.mark.parametrize(
    ("fn", "args", "name"), CASES, ids=[f"{c[0].__name__}-{c[2]}" for c in CASES]
)
def test_wrong_input_raises_contract_error_naming_the_argument(fn, args, name) -> None:
    with pytest.raises(ContractError, match=rf"{fn.__name__}(.|\n)*parameter '{name}'"):
        fn(*args)
