"""2D box ops: area, pairwise IoU (against an independent per-pair computation), clipping,
and the documented behaviour on degenerate and non-finite boxes."""

import math

import torch
from hypothesis import given
from hypothesis import strategies as st

from mono3d.contracts.testing import boxes2d, image_sizes, padded_hw
from mono3d.geometry import box_area, box_iou, clip_boxes


def _reference_iou(a: list[float], b: list[float]) -> float:
    """IoU of two boxes from first principles (plain Python floats)."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    area_a = (a[2] - a[0]) * (a[3] - a[1])
    area_b = (b[2] - b[0]) * (b[3] - b[1])
    return inter / (area_a + area_b - inter)


@st.composite
def _two_sets(draw: st.DrawFn) -> tuple[torch.Tensor, torch.Tensor]:
    b, n, m = draw(st.integers(1, 3)), draw(st.integers(0, 6)), draw(st.integers(0, 6))
    h, w = draw(padded_hw(max_side=256))
    size = draw(image_sizes(b, h, w))
    return draw(boxes2d(b, n, size, min_side=1.0)), draw(boxes2d(b, m, size, min_side=1.0))


@given(_two_sets())
def test_box_iou_matches_independent_computation(pair: tuple[torch.Tensor, torch.Tensor]) -> None:
    boxes1, boxes2 = (t.double() for t in pair)
    iou = box_iou(boxes1, boxes2)
    b, n, m = boxes1.shape[0], boxes1.shape[1], boxes2.shape[1]
    assert iou.shape == (b, n, m)
    expected = torch.tensor(
        [
            [[_reference_iou(p, q) for q in boxes2[i].tolist()] for p in boxes1[i].tolist()]
            for i in range(b)
        ],
        dtype=torch.float64,
    ).reshape(b, n, m)
    torch.testing.assert_close(iou, expected, rtol=0, atol=1e-12)


@given(_two_sets())
def test_box_iou_symmetric_bounded_and_one_on_itself(
    pair: tuple[torch.Tensor, torch.Tensor],
) -> None:
    boxes1, boxes2 = pair
    iou = box_iou(boxes1, boxes2)
    torch.testing.assert_close(iou, box_iou(boxes2, boxes1).transpose(1, 2))
    assert ((iou >= 0) & (iou <= 1)).all()
    self_iou = box_iou(boxes1, boxes1).diagonal(dim1=1, dim2=2)
    torch.testing.assert_close(self_iou, torch.ones_like(self_iou))


def test_box_area_values_and_degenerate() -> None:
    boxes = torch.tensor(
        [
            [0.0, 0.0, 4.0, 2.0],  # 8
            [1.0, 1.0, 1.0, 5.0],  # zero width
            [3.0, 0.0, 1.0, 2.0],  # inverted
            [0.0, math.nan, 1.0, 1.0],
            [0.0, 0.0, math.inf, 1.0],
        ]
    )
    torch.testing.assert_close(box_area(boxes), torch.tensor([8.0, 0.0, 0.0, 0.0, 0.0]))
    assert box_area(boxes[None, None]).shape == (1, 1, 5)  # any leading dims


def test_box_iou_degenerate_and_non_finite_give_zero_and_finite_gradients() -> None:
    good = torch.tensor([[0.0, 0.0, 10.0, 10.0], [5.0, 5.0, 15.0, 15.0]])
    bad = torch.tensor(
        [
            [2.0, 2.0, 2.0, 8.0],  # zero width, inside the first good box
            [8.0, 2.0, 4.0, 8.0],  # inverted
            [math.nan, 0.0, 10.0, 10.0],
            [-math.inf, -math.inf, math.inf, math.inf],
        ]
    )
    boxes = torch.cat([good, bad])[None].requires_grad_(True)
    iou = box_iou(boxes, boxes)
    assert torch.isfinite(iou).all()
    assert (iou[0, 2:, :] == 0).all() and (iou[0, :, 2:] == 0).all()
    torch.testing.assert_close(iou[0, 0, 1], torch.tensor(25.0 / 175.0))
    iou.sum().backward()
    assert torch.isfinite(boxes.grad).all()
    assert (boxes.grad[0, 2:] == 0).all()


@given(_two_sets(), st.data())
def test_box_iou_paths_with_and_without_gradient_agree_exactly(
    pair: tuple[torch.Tensor, torch.Tensor], data: st.DataObject
) -> None:
    """The in-place no-grad path (targets) and the autograd path (losses) give the same
    matrix bit for bit, degenerate and non-finite rows included."""
    boxes1, boxes2 = (t.clone() for t in pair)
    specials = [math.nan, math.inf, -math.inf, 0.0]
    for boxes in (boxes1, boxes2):
        if boxes.shape[1]:  # spoil one row: a non-finite or collapsed coordinate
            row = data.draw(st.integers(0, boxes.shape[1] - 1))
            column = data.draw(st.integers(0, 3))
            boxes[0, row, column] = data.draw(st.sampled_from(specials))
    fast = box_iou(boxes1, boxes2)
    slow = box_iou(boxes1.requires_grad_(True), boxes2).detach()
    assert torch.equal(fast, slow)
    assert torch.isfinite(fast).all()


def test_box_iou_empty_sets() -> None:
    assert box_iou(torch.zeros(2, 0, 4), torch.zeros(2, 3, 4)).shape == (2, 0, 3)
    assert box_iou(torch.zeros(2, 3, 4), torch.zeros(2, 0, 4)).shape == (2, 3, 0)


def test_box_iou_half_precision_keeps_dtype() -> None:
    boxes = torch.tensor([[[0.0, 0.0, 10.0, 10.0], [5.0, 5.0, 15.0, 15.0]]])
    out = box_iou(boxes.half(), boxes.half())
    assert out.dtype == torch.float16
    torch.testing.assert_close(out.float(), box_iou(boxes, boxes), atol=1e-3, rtol=0)


def test_clip_boxes_per_image_size() -> None:
    boxes = torch.tensor([[[-5.0, -5.0, 2000.0, 500.0], [10.0, 20.0, 30.0, 40.0]]]).repeat(2, 1, 1)
    size = torch.tensor([[375, 1242], [100, 200]])
    clipped = clip_boxes(boxes, size)
    torch.testing.assert_close(clipped[0, 0], torch.tensor([0.0, 0.0, 1242.0, 375.0]))
    torch.testing.assert_close(clipped[1, 0], torch.tensor([0.0, 0.0, 200.0, 100.0]))
    torch.testing.assert_close(clipped[:, 1], boxes[:, 1])


def test_clip_boxes_non_finite() -> None:
    boxes = torch.tensor([[[-math.inf, 0.0, math.inf, math.nan]]])
    clipped = clip_boxes(boxes, torch.tensor([[100, 200]]))
    assert clipped[0, 0, :3].tolist() == [0.0, 0.0, 200.0]
    assert math.isnan(clipped[0, 0, 3].item())
