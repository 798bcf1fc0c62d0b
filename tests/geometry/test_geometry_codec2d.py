"""The 2D delta codec: round trip, hand-computed values, torchvision-style clamp."""

import math

import torch
from hypothesis import given
from hypothesis import strategies as st

from mono3d.contracts.testing import boxes2d, image_sizes, padded_hw
from mono3d.geometry import DEFAULT_DELTA_CLAMP, decode_box2d, encode_box2d

WEIGHTS = st.sampled_from([(1.0, 1.0, 1.0, 1.0), (10.0, 10.0, 5.0, 5.0), (2.0, 0.5, 3.0, 1.0)])


@given(st.integers(1, 3), st.integers(0, 8), padded_hw(), WEIGHTS, st.data())
def test_delta_round_trip(
    b: int, n: int, hw: tuple[int, int], weights: tuple[float, ...], data: st.DataObject
) -> None:
    size = data.draw(image_sizes(b, *hw))
    # sides in [8, 384]: size ratios stay below the decode clamp (1000 / 16)
    boxes = data.draw(boxes2d(b, n, size, min_side=8.0)).double()
    reference = data.draw(boxes2d(b, n, size, min_side=8.0)).double()
    deltas = encode_box2d(boxes, reference, weights)
    assert deltas.shape == (b, n, 4)
    torch.testing.assert_close(decode_box2d(deltas, reference, weights), boxes, rtol=0, atol=1e-9)


def test_delta_values_by_hand() -> None:
    reference = torch.tensor([0.0, 0.0, 10.0, 20.0])  # centre (5, 10), size (10, 20)
    box = torch.tensor([5.0, 0.0, 25.0, 20.0])  # centre (15, 10), size (20, 20)
    deltas = encode_box2d(box, reference, (10.0, 10.0, 5.0, 5.0))
    torch.testing.assert_close(deltas, torch.tensor([10.0, 0.0, 5 * math.log(2.0), 0.0]))


def test_decode_clamps_size_deltas_like_torchvision() -> None:
    reference = torch.tensor([[0.0, 0.0, 16.0, 16.0]])
    huge = torch.tensor([[0.0, 0.0, 50.0, 50.0]])
    out = decode_box2d(huge, reference)
    side = 16 * math.exp(DEFAULT_DELTA_CLAMP)  # = 1000
    torch.testing.assert_close(
        out, torch.tensor([[8 - side / 2, 8 - side / 2, 8 + side / 2, 8 + side / 2]])
    )
    assert torch.isfinite(out).all()
    # the clamp is on dw / ww: with ww = 5 the same raw delta is divided first
    out5 = decode_box2d(torch.tensor([[0.0, 0.0, 5.0, 0.0]]), reference, (1.0, 1.0, 5.0, 1.0))
    torch.testing.assert_close(out5[0, 2] - out5[0, 0], torch.tensor(16 * math.e))
