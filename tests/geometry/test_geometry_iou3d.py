"""Rotated BEV and 3D IoU: agreement with shapely polygons, invariants, degenerate input."""

import math

import torch
from hypothesis import given
from hypothesis import strategies as st
from shapely.geometry import Polygon

from mono3d.contracts.testing import generators
from mono3d.geometry import bev_iou, box3d_corners, box3d_iou


def _random_boxes(g: torch.Generator, shape: tuple[int, ...], spread: float) -> torch.Tensor:
    """float64 (x, y, z, h, w, l, ry) boxes with centres in a square of side ``spread`` m,
    so that many pairs overlap."""

    def u(low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(shape, generator=g, dtype=torch.float64)

    return torch.stack(
        [
            u(-spread / 2, spread / 2),
            u(1.0, 2.0),
            u(20 - spread / 2, 20 + spread / 2),
            u(0.5, 2.5),
            u(0.3, 2.5),
            u(0.3, 5.0),
            u(-math.pi, math.pi),
        ],
        dim=-1,
    )


def _footprints(boxes: torch.Tensor) -> list[Polygon]:
    """Bottom faces of box3d_corners in the (x, z) plane: ties the IoU to the corners."""
    corners = box3d_corners(boxes[..., :6], boxes[..., 6:])[..., :4, :][..., [0, 2]]
    return [Polygon(c) for c in corners.tolist()]


def _shapely_ious(boxes1: torch.Tensor, boxes2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Reference (bev, 3d) IoU matrices from shapely polygons and plain-float heights."""
    bev, iou3d = [], []
    polys2 = _footprints(boxes2)
    for pa, a in zip(_footprints(boxes1), boxes1.tolist()):
        row_bev, row_3d = [], []
        for pb, b in zip(polys2, boxes2.tolist()):
            inter = pa.intersection(pb).area
            row_bev.append(inter / (pa.area + pb.area - inter))
            y_overlap = max(0.0, min(a[1], b[1]) - max(a[1] - a[3], b[1] - b[3]))
            inter3d = inter * y_overlap
            volume_a, volume_b = a[3] * a[4] * a[5], b[3] * b[4] * b[5]
            row_3d.append(inter3d / (volume_a + volume_b - inter3d))
        bev.append(row_bev)
        iou3d.append(row_3d)
    shape = (len(boxes1), len(boxes2))
    as_tensor = lambda rows: torch.tensor(rows, dtype=torch.float64).reshape(shape)  # noqa: E731
    return as_tensor(bev), as_tensor(iou3d)


@given(st.integers(0, 6), st.integers(0, 6), st.sampled_from([2.0, 6.0]), generators())
def test_agrees_with_shapely(n: int, m: int, spread: float, g: torch.Generator) -> None:
    boxes1 = _random_boxes(g, (n,), spread)
    boxes2 = _random_boxes(g, (m,), spread)
    expected_bev, expected_3d = _shapely_ious(boxes1, boxes2)
    torch.testing.assert_close(bev_iou(boxes1, boxes2), expected_bev, rtol=0, atol=1e-4)
    torch.testing.assert_close(box3d_iou(boxes1, boxes2), expected_3d, rtol=0, atol=1e-4)


def test_agrees_with_shapely_on_many_overlapping_pairs() -> None:
    g = torch.Generator().manual_seed(7)
    boxes1, boxes2 = _random_boxes(g, (12,), 3.0), _random_boxes(g, (12,), 3.0)
    expected_bev, expected_3d = _shapely_ious(boxes1, boxes2)
    assert (expected_bev > 0).float().mean() > 0.5  # the comparison is not vacuous
    torch.testing.assert_close(bev_iou(boxes1, boxes2), expected_bev, rtol=0, atol=1e-10)
    torch.testing.assert_close(box3d_iou(boxes1, boxes2), expected_3d, rtol=0, atol=1e-10)
    # float32 stays close too
    torch.testing.assert_close(
        bev_iou(boxes1.float(), boxes2.float()), expected_bev.float(), rtol=0, atol=1e-4
    )


@given(
    st.integers(1, 8),
    st.integers(1, 8),
    st.sampled_from([torch.float32, torch.float64]),
    generators(),
)
def test_invariants(n: int, m: int, dtype: torch.dtype, g: torch.Generator) -> None:
    boxes1 = _random_boxes(g, (2, n), 4.0).to(dtype)
    boxes2 = _random_boxes(g, (2, m), 4.0).to(dtype)
    atol = 1e-5 if dtype == torch.float32 else 1e-12
    for iou in (bev_iou, box3d_iou):
        out = iou(boxes1, boxes2)
        assert out.shape == (2, n, m) and out.dtype == dtype
        assert ((out >= 0) & (out <= 1)).all()
        torch.testing.assert_close(out, iou(boxes2, boxes1).transpose(-1, -2), atol=atol, rtol=0)
        self_iou = iou(boxes1, boxes1).diagonal(dim1=-2, dim2=-1)
        torch.testing.assert_close(self_iou, torch.ones_like(self_iou), atol=atol, rtol=0)
        # a rectangle turned by pi is the same rectangle; a common shift changes nothing
        turned = boxes2.clone()
        turned[..., 6] = turned[..., 6] + math.pi
        torch.testing.assert_close(iou(boxes1, turned), out, atol=atol * 10, rtol=0)
        # permuting either set permutes the matrix
        perm = torch.randperm(m, generator=g)
        torch.testing.assert_close(iou(boxes1, boxes2[:, perm]), out[..., perm])
        shift = torch.tensor([30.0, -1.0, 15.0, 0, 0, 0, 0], dtype=dtype)
        torch.testing.assert_close(iou(boxes1 + shift, boxes2 + shift), out, atol=1e-4, rtol=0)


def test_values_by_hand() -> None:
    # (x, y, z, h, w, l, ry): 2 m long (along x at ry = 0), 1 m wide
    base = torch.tensor([0.0, 1.0, 10.0, 1.0, 1.0, 2.0, 0.0], dtype=torch.float64)
    shifted = base.clone()
    shifted[0] = 1.0  # half a length along x: overlap 1 x 1, union 3
    turned = base.clone()
    turned[6] = math.pi / 2  # the same centre turned by 90 degrees: overlap 1 x 1, union 3
    lifted = base.clone()
    lifted[1] = 0.5  # half the height higher: BEV identical, 3D overlap 1/2 -> 1/3
    far = base.clone()
    far[2] = 30.0
    boxes = torch.stack([base, shifted, turned, lifted, far])[None]
    bev = bev_iou(boxes, boxes)[0, 0]
    iou3d = box3d_iou(boxes, boxes)[0, 0]
    torch.testing.assert_close(bev, torch.tensor([1, 1 / 3, 1 / 3, 1, 0], dtype=torch.float64))
    torch.testing.assert_close(
        iou3d, torch.tensor([1, 1 / 3, 1 / 3, 1 / 3, 0], dtype=torch.float64)
    )


def test_heading_matches_corners() -> None:
    # a long thin box at ry = pi/2 lies along z; another along z overlaps it fully
    along_z = torch.tensor([[0.0, 1.0, 10.0, 1.0, 0.5, 4.0, math.pi / 2]])
    same_as_axis_aligned = torch.tensor([[0.0, 1.0, 10.0, 1.0, 4.0, 0.5, 0.0]])  # w along z
    torch.testing.assert_close(
        bev_iou(along_z, same_as_axis_aligned), torch.ones(1, 1), atol=1e-6, rtol=0
    )
    corners = box3d_corners(along_z[0, :6], along_z[0, 6:])
    assert math.isclose(corners[:, 2].max().item() - corners[:, 2].min().item(), 4.0, rel_tol=1e-6)


def test_batched_leading_dims_match_per_slice() -> None:
    g = torch.Generator().manual_seed(3)
    boxes1, boxes2 = _random_boxes(g, (2, 3, 5), 4.0), _random_boxes(g, (2, 3, 4), 4.0)
    for iou in (bev_iou, box3d_iou):
        out = iou(boxes1, boxes2)
        assert out.shape == (2, 3, 5, 4)
        for i in range(2):
            for j in range(3):
                torch.testing.assert_close(out[i, j], iou(boxes1[i, j], boxes2[i, j]))


def test_degenerate_and_non_finite_boxes_give_zero_and_no_nan_gradient() -> None:
    good = torch.tensor([0.0, 1.0, 10.0, 1.0, 1.0, 2.0, 0.3])
    rows = [good.clone() for _ in range(7)]
    rows[1][4] = 0.0  # zero width
    rows[2][5] = -1.0  # negative length
    rows[3][3] = 0.0  # zero height: a BEV footprint but no volume
    rows[4][0] = math.nan
    rows[5][6] = math.inf
    rows[6][:] = math.nan  # a NaN-padded row
    boxes = torch.stack(rows)[None].requires_grad_(True)
    bev = bev_iou(boxes, boxes)
    iou3d = box3d_iou(boxes, boxes)
    assert torch.isfinite(bev).all() and torch.isfinite(iou3d).all()
    bad_bev = torch.tensor([False, True, True, False, True, True, True])
    assert (bev[0, bad_bev] == 0).all() and (bev[0, :, bad_bev] == 0).all()
    torch.testing.assert_close(bev[0, 3, 0], torch.tensor(1.0))  # h = 0 does not matter in BEV
    assert (iou3d[0, 1:] == 0).all() and (iou3d[0, :, 1:] == 0).all()
    (bev.sum() + iou3d.sum()).backward()
    assert torch.isfinite(boxes.grad).all()
    assert (boxes.grad[0, 4:] == 0).all()


def test_gradients_are_finite_for_overlapping_and_identical_boxes() -> None:
    g = torch.Generator().manual_seed(11)
    boxes = _random_boxes(g, (6,), 2.0)
    boxes = torch.cat([boxes, boxes[:2]]).requires_grad_(True)  # exact duplicates too
    iou = box3d_iou(boxes, boxes)
    iou.sum().backward()
    assert torch.isfinite(boxes.grad).all()
    # and they point the right way: moving a box onto another raises their IoU
    a = torch.tensor([[0.0, 1.0, 10.0, 1.0, 1.0, 2.0, 0.2]], dtype=torch.float64)
    b = torch.tensor([[0.5, 1.0, 10.3, 1.0, 1.0, 2.0, -0.1]], dtype=torch.float64)
    b.requires_grad_(True)
    bev_iou(a, b).sum().backward()
    assert b.grad[0, 0] < 0 and b.grad[0, 2] < 0


def test_half_precision_and_empty() -> None:
    g = torch.Generator().manual_seed(5)
    boxes = _random_boxes(g, (4,), 3.0).float()
    out = bev_iou(boxes.bfloat16(), boxes.bfloat16())
    assert out.dtype == torch.bfloat16
    assert bev_iou(boxes[:0], boxes).shape == (0, 4)
    assert box3d_iou(boxes, boxes[:0]).shape == (4, 0)
