"""PyramidRoIAlign: torchvision's MultiScaleRoIAlign (same levels, same sampling) computed as
one weighted gather on the CPU; its crops and the gradients they send to the maps equal
torchvision's to float32 rounding, for boxes inside, across and outside the maps, tiny and
padded (zero) boxes, every sampling ratio and channels_last bfloat16 maps."""

import hypothesis.strategies as st
import torch
from hypothesis import given, settings

from mono3d.contracts import NeckFeatures
from mono3d.head import PyramidRoIAlign


def _features(b: int, c: int, h4: int, w4: int, seed: int) -> NeckFeatures:
    g = torch.Generator().manual_seed(seed)
    return NeckFeatures(
        s2=torch.randn((b, c, h4, w4), generator=g).requires_grad_(True),
        s3=torch.randn((b, c, h4 // 2, w4 // 2), generator=g).requires_grad_(True),
        s4=torch.randn((b, c, h4 // 4, w4 // 4), generator=g).requires_grad_(True),
    )


def _boxes(b: int, n: int, h: int, w: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand((b, n, 2), generator=g) * torch.tensor([w + 40.0, h + 40.0]) - 20
    wh = torch.rand((b, n, 2), generator=g) ** 3 * 2.5 * max(h, w) + 0.1  # tiny to huge
    boxes = torch.cat([xy, xy + wh], dim=-1)
    boxes[:, -1] = 0  # the RPN's padding
    return boxes


def _reference(pooler: PyramidRoIAlign, features: NeckFeatures, boxes: torch.Tensor):
    maps = {name: getattr(features, name).float() for name in ("s2", "s3", "s4")}
    h4, w4 = features.s2.shape[-2:]
    return pooler.reference(maps, list(boxes.unbind(0)), [(4 * h4, 4 * w4)])


@settings(max_examples=25, deadline=None)
@given(
    b=st.integers(1, 3),
    n=st.integers(1, 40),
    c=st.integers(1, 9),
    h4=st.sampled_from([8, 16, 24]),
    w4=st.sampled_from([8, 16, 40]),
    roi_size=st.integers(1, 8),
    sampling_ratio=st.integers(1, 3),
    canonical_scale=st.sampled_from([28, 112, 224]),
    seed=st.integers(0, 999),
)
def test_crops_and_gradients_are_torchvisions(
    b, n, c, h4, w4, roi_size, sampling_ratio, canonical_scale, seed
):
    features = _features(b, c, h4, w4, seed)
    boxes = _boxes(b, n, 4 * h4, 4 * w4, seed)
    pooler = PyramidRoIAlign(
        output_size=roi_size,
        sampling_ratio=sampling_ratio,
        canonical_scale=canonical_scale,
        canonical_level=4,
    )
    assert pooler.gathers(boxes.device)
    ours = pooler(pooler.prepare(features), boxes)
    theirs = _reference(pooler, features, boxes)
    assert ours.shape == theirs.shape == (b * n, c, roi_size, roi_size)
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-5)
    grad = torch.randn(theirs.shape, generator=torch.Generator().manual_seed(seed + 1))
    maps = (features.s2, features.s3, features.s4)
    for a, t in zip(
        torch.autograd.grad(ours, maps, grad),
        torch.autograd.grad(theirs, maps, grad),
        strict=True,
    ):
        torch.testing.assert_close(a, t, atol=1e-4, rtol=1e-5)


def test_channels_last_bfloat16_maps_pool_as_their_float32_values():
    features = _features(2, 8, 16, 40, 3)
    low = NeckFeatures(
        **{
            k: v.detach().to(torch.bfloat16, memory_format=torch.channels_last)
            for k, v in features.as_dict().items()
        }
    )
    boxes = _boxes(2, 30, 64, 160, 3)
    pooler = PyramidRoIAlign(output_size=7, sampling_ratio=2, canonical_scale=56, canonical_level=4)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ours = pooler(pooler.prepare(low), boxes)
    assert ours.dtype == torch.float32
    torch.testing.assert_close(ours, _reference(pooler, low, boxes), atol=1e-5, rtol=1e-5)


def test_adaptive_sampling_is_torchvisions_own_op():
    features = _features(1, 4, 16, 16, 5)
    boxes = _boxes(1, 12, 64, 64, 5)
    pooler = PyramidRoIAlign(output_size=7, sampling_ratio=0, canonical_scale=56, canonical_level=4)
    assert not pooler.gathers(boxes.device)
    prepared = pooler.prepare(features)
    assert prepared.table is None
    assert torch.equal(pooler(prepared, boxes), _reference(pooler, features, boxes))


def test_non_finite_and_huge_boxes_neither_crash_nor_leak():
    # a NaN image gives NaN proposals: those rows pool zeros (torchvision's level matches none);
    # boxes beyond int64 pixel indices (torchvision's own op crashes on them) pool finite values
    features = _features(2, 4, 16, 16, 7)
    boxes = _boxes(2, 10, 64, 64, 7)
    boxes[0, 0] = float("nan")
    boxes[0, 1, 2:] = float("inf")
    boxes[1, 2] = torch.tensor([1e30, 1e30, 3e30, 3e30])
    boxes[1, 3] = torch.tensor([-1e30, -1e30, 1e30, 1e30])
    pooler = PyramidRoIAlign(output_size=7, sampling_ratio=2, canonical_scale=56, canonical_level=4)
    ours = pooler(pooler.prepare(features), boxes)
    assert torch.equal(ours[:2], torch.zeros_like(ours[:2]))
    assert ours.isfinite().all()
    ordinary = torch.ones(20, dtype=torch.bool)
    ordinary[[0, 1, 12, 13]] = False
    theirs = _reference(pooler, features, torch.where(ordinary.view(2, 10, 1), boxes, 0.0))
    torch.testing.assert_close(ours[ordinary], theirs[ordinary], atol=1e-5, rtol=1e-5)
