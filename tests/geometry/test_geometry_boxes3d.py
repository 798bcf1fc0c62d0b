"""KITTI 3D box corners, centres, their projection and the 7-number box."""

import math

import torch
from hypothesis import given
from hypothesis import strategies as st

from mono3d.contracts.testing import boxes3d, calibs, padded_hw, yaws
from mono3d.geometry import box3d_center, box3d_corners, boxes7, project_box3d, project_points


@given(st.integers(1, 3), st.integers(0, 6), st.data())
def test_corners_have_the_box_dimensions_and_heading(b: int, n: int, data: st.DataObject) -> None:
    box = data.draw(boxes3d(b, n)).double()
    ry = data.draw(yaws(b, n)).double()
    corners = box3d_corners(box, ry)
    assert corners.shape == (b, n, 8, 3)
    _, y, _, h, w, length = box.unbind(-1)
    # bottom face at y (its centre is the location), top face at y - h
    torch.testing.assert_close(corners[..., :4, :].mean(-2), box[..., :3])
    torch.testing.assert_close(corners[..., :4, 1], y[..., None].expand(b, n, 4))
    torch.testing.assert_close(corners[..., 4:, 1], (y - h)[..., None].expand(b, n, 4))
    torch.testing.assert_close(corners.mean(-2), box3d_center(box))
    # edges: 0-1 width, 1-2 length, 0-4 height
    dist = lambda i, j: (corners[..., i, :] - corners[..., j, :]).norm(dim=-1)  # noqa: E731
    torch.testing.assert_close(dist(0, 1), w)
    torch.testing.assert_close(dist(1, 2), length)
    torch.testing.assert_close(dist(0, 4), h)
    # the length axis points along (cos ry, 0, -sin ry)
    axis = (corners[..., 0, :] - corners[..., 3, :]) / length[..., None]
    cos, sin = torch.cos(ry[..., 0]), torch.sin(ry[..., 0])
    torch.testing.assert_close(axis, torch.stack([cos, torch.zeros_like(cos), -sin], dim=-1))


def test_corners_by_hand() -> None:
    box = torch.tensor([1.0, 2.0, 10.0, 1.5, 2.0, 4.0])
    corners = box3d_corners(box, torch.tensor([math.pi / 2]))
    # ry = pi/2: the length axis points to -z, the width axis to +x
    expected_bottom = torch.tensor(
        [[2.0, 2.0, 8.0], [0.0, 2.0, 8.0], [0.0, 2.0, 12.0], [2.0, 2.0, 12.0]]
    )
    torch.testing.assert_close(corners[:4], expected_bottom, atol=1e-6, rtol=0)
    torch.testing.assert_close(corners[4:, 1], torch.full((4,), 0.5))
    torch.testing.assert_close(box3d_center(box), torch.tensor([1.0, 1.25, 10.0]))


@given(st.integers(1, 3), st.integers(0, 6), padded_hw(), st.data())
def test_project_box3d_encloses_projected_corners(
    b: int, n: int, hw: tuple[int, int], data: st.DataObject
) -> None:
    box = data.draw(boxes3d(b, n)).double()
    ry = data.draw(yaws(b, n)).double()
    calib = data.draw(calibs(b, *hw)).double()
    box2d = project_box3d(box, ry, calib)
    assert box2d.shape == (b, n, 4)
    # independent: each corner projected by hand with P2 @ [X; 1]
    corners = box3d_corners(box, ry)
    hom = torch.einsum("bij,bnkj->bnki", calib[:, :, :3], corners) + calib[:, None, None, :, 3]
    uv = hom[..., :2] / hom[..., 2:]
    expected = torch.cat([uv.amin(-2), uv.amax(-2)], dim=-1)
    torch.testing.assert_close(box2d, expected)
    centre_uv, _ = project_points(box3d_center(box), calib)
    assert (centre_uv >= box2d[..., :2] - 1e-9).all() and (centre_uv <= box2d[..., 2:] + 1e-9).all()


def test_boxes7_concatenates() -> None:
    box, ry = torch.arange(12.0).view(2, 6), torch.tensor([[0.5], [-1.0]])
    out = boxes7(box, ry)
    assert out.shape == (2, 7)
    torch.testing.assert_close(out[:, :6], box)
    torch.testing.assert_close(out[:, 6:], ry)
