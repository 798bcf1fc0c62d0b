"""The 3D logit codec: exact round trip with random KITTI-like calibs, hand values,
invariance to image scale, and no leakage between rows."""

import math

import torch
from hypothesis import given
from hypothesis import strategies as st

from mono3d.contracts.testing import boxes2d, boxes3d, calibs, generators, image_sizes, padded_hw
from mono3d.geometry import (
    box3d_center,
    decode_box3d,
    encode_box3d,
    project_points,
    scale_box2d,
    scale_calib,
)

PRIORS = torch.tensor([[1.53, 1.63, 3.88], [1.76, 0.66, 0.84], [1.74, 0.60, 1.76]])


@st.composite
def _scene(draw: st.DrawFn) -> tuple[torch.Tensor, ...]:
    """float64 (bbox3d, proposals, prior, calib) with b in 1..3 and m in 0..8."""
    b, m = draw(st.integers(1, 3)), draw(st.integers(0, 8))
    h, w = draw(padded_hw(max_side=1280))
    g = draw(generators())
    bbox3d = draw(boxes3d(b, m)).double()
    proposals = draw(boxes2d(b, m, draw(image_sizes(b, h, w)), min_side=4.0)).double()
    prior = PRIORS[torch.randint(0, 3, (b, m), generator=g)].double()
    calib = draw(calibs(b, h, w)).double()
    return bbox3d, proposals, prior, calib


@given(_scene())
def test_round_trip(scene: tuple[torch.Tensor, ...]) -> None:
    bbox3d, proposals, prior, calib = scene
    logit = encode_box3d(bbox3d, proposals, prior, calib)
    assert logit.shape == bbox3d.shape
    decoded = decode_box3d(logit, proposals, prior, calib)
    torch.testing.assert_close(decoded, bbox3d, rtol=1e-12, atol=1e-9)
    torch.testing.assert_close(
        encode_box3d(decoded, proposals, prior, calib), logit, rtol=1e-10, atol=1e-10
    )


@given(_scene(), generators())
def test_decode_then_encode_of_arbitrary_logits(
    scene: tuple[torch.Tensor, ...], g: torch.Generator
) -> None:
    _, proposals, prior, calib = scene
    logit = torch.randn((*proposals.shape[:2], 6), generator=g, dtype=torch.float64) * 0.5
    decoded = decode_box3d(logit, proposals, prior, calib)
    torch.testing.assert_close(encode_box3d(decoded, proposals, prior, calib), logit)


@given(_scene(), st.floats(0.25, 4.0))
def test_logits_are_invariant_to_image_scale(scene: tuple[torch.Tensor, ...], s: float) -> None:
    bbox3d, proposals, prior, calib = scene
    b = calib.shape[0]
    scale = torch.full((b,), s, dtype=torch.float64)
    logit = encode_box3d(bbox3d, proposals, prior, calib)
    scaled = encode_box3d(
        bbox3d, scale_box2d(proposals, scale, scale), prior, scale_calib(calib, scale, scale)
    )
    torch.testing.assert_close(scaled, logit)


def test_encode_by_hand() -> None:
    calib = torch.tensor(
        [[[700.0, 0.0, 600.0, 45.0], [0.0, 700.0, 170.0, 0.2], [0.0, 0.0, 1.0, 0.005]]],
        dtype=torch.float64,
    )
    bbox3d = torch.tensor([[[2.0, 1.7, 20.0, 1.4, 1.6, 4.0]]], dtype=torch.float64)
    proposal = torch.tensor([[[600.0, 150.0, 700.0, 200.0]]], dtype=torch.float64)  # c (650, 175)
    prior = torch.tensor([[[1.5, 1.6, 3.5]]], dtype=torch.float64)
    logit = encode_box3d(bbox3d, proposal, prior, calib)[0, 0]
    centre = torch.tensor([2.0, 1.0, 20.0], dtype=torch.float64)  # y - h / 2
    d = 20.005
    u = (700 * 2 + 600 * 20 + 45) / d
    v = (700 * 1 + 170 * 20 + 0.2) / d
    expected = [
        (u - 650) / 100,
        (v - 175) / 50,
        math.log(20 * 50 / (700 * 1.5)),
        math.log(1.4 / 1.5),
        math.log(1.0),
        math.log(4.0 / 3.5),
    ]
    torch.testing.assert_close(logit, torch.tensor(expected, dtype=torch.float64))
    uv, _ = project_points(box3d_center(bbox3d), calib)
    torch.testing.assert_close(uv[0, 0], torch.tensor([u, v], dtype=torch.float64))
    assert torch.allclose(centre, box3d_center(bbox3d)[0, 0])


def test_padded_rows_do_not_leak_and_gradients_flow() -> None:
    bbox3d = torch.tensor([[[2.0, 1.7, 20.0, 1.4, 1.6, 4.0], [math.nan] * 6]])
    proposals = torch.tensor([[[600.0, 150.0, 700.0, 200.0], [0.0, 0.0, 0.0, 0.0]]])
    prior = torch.tensor([[[1.5, 1.6, 3.5], [1.5, 1.6, 3.5]]])
    calib = torch.tensor([[[700.0, 0.0, 600.0, 45.0], [0.0, 700.0, 170.0, 0.2], [0, 0, 1, 0.005]]])
    logit = encode_box3d(bbox3d, proposals, prior, calib)
    assert torch.isfinite(logit[0, 0]).all() and not torch.isfinite(logit[0, 1]).all()
    pred = logit.detach().clone().requires_grad_(True)
    decoded = decode_box3d(pred, proposals[:, :1].expand(1, 2, 4), prior, calib)
    assert torch.isfinite(decoded[0, 0]).all()
    decoded[0, 0].sum().backward()
    assert torch.isfinite(pred.grad[0, 0]).all() and (pred.grad[0, 0] != 0).all()
