"""Anchors: torchvision's base anchors and grid, the documented order, the cache."""

import torch

from mono3d.rpn import AnchorGenerator, base_anchors


def test_base_anchors_by_hand():
    anchors = base_anchors((16, 32), (0.5, 1.0, 2.0))
    # ratio-major, then size; ratio = height / width
    s = 2**0.5
    expected = torch.tensor(
        [[-16 * s / 2, -16 / s / 2, 16 * s / 2, 16 / s / 2],
         [-32 * s / 2, -32 / s / 2, 32 * s / 2, 32 / s / 2],
         [-8, -8, 8, 8],
         [-16, -16, 16, 16],
         [-16 / s / 2, -16 * s / 2, 16 / s / 2, 16 * s / 2],
         [-32 / s / 2, -32 * s / 2, 32 / s / 2, 32 * s / 2]]
    ).round()  # fmt: skip
    torch.testing.assert_close(anchors, expected)


def test_grid_order_level_major_then_y_x_anchor():
    gen = AnchorGenerator()
    h, w = 64, 96
    anchors = gen.grid_anchors(h, w, "cpu")
    counts = gen.num_anchors_per_level(h, w)
    assert counts == [16 * 24 * 6, 8 * 12 * 6, 4 * 6 * 6]
    assert anchors.shape == (sum(counts), 4) and anchors.dtype == torch.float32
    levels = torch.split(anchors, counts)
    for level, stride, cell in zip(levels, (4, 8, 16), gen.cell_anchors):
        gh, gw = h // stride, w // stride
        grid = level.view(gh, gw, 6, 4)
        # location (y, x) holds the base anchors shifted by (x*stride, y*stride)
        for y, x in [(0, 0), (0, gw - 1), (gh - 1, 1), (gh // 2, gw // 3)]:
            shift = torch.tensor([x, y, x, y], dtype=torch.float32) * stride
            torch.testing.assert_close(grid[y, x], cell + shift)


def test_cache_returns_the_same_tensor_and_is_bounded():
    gen = AnchorGenerator(cache_size=2)
    first = gen.grid_anchors(64, 64, "cpu")
    assert gen.grid_anchors(64, 64, torch.device("cpu")) is first
    gen.grid_anchors(96, 64, "cpu")
    gen.grid_anchors(128, 64, "cpu")
    assert len(gen._cache) == 2
    assert gen.grid_anchors(64, 64, "cpu") is not first
    torch.testing.assert_close(gen.grid_anchors(64, 64, "cpu"), first)


def test_configurable_sizes_and_ratios():
    gen = AnchorGenerator(sizes=((8,), (16,), (32,)), aspect_ratios=(1.0,))
    assert gen.num_anchors_per_location == 1
    anchors = gen.grid_anchors(32, 32, "cpu")
    assert anchors.shape == (8 * 8 + 4 * 4 + 2 * 2, 4)
    torch.testing.assert_close(anchors[0], torch.tensor([-4.0, -4.0, 4.0, 4.0]))
