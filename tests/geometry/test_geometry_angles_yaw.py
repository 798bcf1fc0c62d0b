"""Angle wrapping, alpha <-> rotation_y and the MultiBin yaw codec over the whole circle."""

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from mono3d.contracts.testing import boxes3d, generators, yaws
from mono3d.geometry import (
    alpha_from_rotation_y,
    decode_yaw,
    encode_yaw,
    rotation_y_from_alpha,
    wrap_angle,
    yaw_bin_centers,
)


def _circle_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return wrap_angle(a - b).abs()


def test_wrap_angle_range_and_values() -> None:
    angles = torch.linspace(-50.0, 50.0, 10001, dtype=torch.float64)
    wrapped = wrap_angle(angles)
    assert ((wrapped >= -math.pi) & (wrapped < math.pi)).all()
    torch.testing.assert_close(torch.sin(wrapped), torch.sin(angles))
    torch.testing.assert_close(torch.cos(wrapped), torch.cos(angles))
    edge = torch.tensor([math.pi, -math.pi, 0.0, 1.0 + 2 * math.pi], dtype=torch.float64)
    torch.testing.assert_close(
        wrap_angle(edge), torch.tensor([-math.pi, -math.pi, 0.0, 1.0], dtype=torch.float64)
    )


def test_wrap_angle_float32_never_returns_pi() -> None:
    near = torch.tensor([math.pi, -math.pi, math.pi - 1e-7, -math.pi - 1e-7, 7 * math.pi])
    wrapped = wrap_angle(near.float())
    assert (wrapped < torch.tensor(math.pi, dtype=torch.float32)).all()
    assert (wrapped >= torch.tensor(-math.pi, dtype=torch.float32)).all()


@given(st.integers(1, 3), st.integers(0, 8), st.data())
def test_alpha_rotation_y_round_trip(b: int, n: int, data: st.DataObject) -> None:
    box = data.draw(boxes3d(b, n)).double()
    ry = data.draw(yaws(b, n))[..., 0].double()
    x, z = box[..., 0], box[..., 2]
    alpha = alpha_from_rotation_y(ry, x, z)
    assert ((alpha >= -math.pi) & (alpha < math.pi)).all()
    back = rotation_y_from_alpha(alpha, x, z)
    torch.testing.assert_close(_circle_distance(back, ry), torch.zeros_like(ry), atol=1e-12, rtol=0)


def test_alpha_by_hand() -> None:
    # straight ahead alpha == rotation_y; 45 degrees to the right alpha = ry - pi/4
    ry = torch.tensor([0.3, math.pi / 4, -3.0])
    x = torch.tensor([0.0, 10.0, -10.0])
    z = torch.tensor([10.0, 10.0, 10.0])
    expected = torch.tensor([0.3, 0.0, -3.0 + math.pi / 4])
    torch.testing.assert_close(alpha_from_rotation_y(ry, x, z), expected)


@given(st.integers(1, 24))
def test_bin_centres(num_bins: int) -> None:
    centres = yaw_bin_centers(num_bins, dtype=torch.float64)
    assert centres.shape == (num_bins,)
    assert ((centres >= -math.pi) & (centres < math.pi)).all()
    k = torch.arange(num_bins, dtype=torch.float64)
    torch.testing.assert_close(torch.cos(centres), torch.cos(k * 2 * math.pi / num_bins))
    torch.testing.assert_close(torch.sin(centres), torch.sin(k * 2 * math.pi / num_bins))


def test_bin_centres_twelve() -> None:
    centres = yaw_bin_centers(12)
    assert centres[0] == 0 and math.isclose(centres[6].item(), -math.pi, rel_tol=1e-6)
    assert yaw_bin_centers(12).dtype == torch.get_default_dtype()


@given(st.integers(1, 24), generators())
def test_yaw_codec_round_trip_over_the_circle(num_bins: int, g: torch.Generator) -> None:
    dense = torch.linspace(-math.pi, math.pi, 4097, dtype=torch.float64)[:-1]
    random = (torch.rand(2, 500, generator=g, dtype=torch.float64) - 0.5) * 6 * math.pi
    for alpha in (dense, random):
        bin_index, resi = encode_yaw(alpha, num_bins)
        assert bin_index.dtype == torch.int64 and bin_index.shape == alpha.shape
        assert ((bin_index >= 0) & (bin_index < num_bins)).all()
        assert ((resi >= -1) & (resi <= 1)).all()
        decoded = decode_yaw(bin_index, resi, num_bins)
        assert ((decoded >= -math.pi) & (decoded < math.pi)).all()
        error = _circle_distance(decoded, alpha)
        torch.testing.assert_close(error, torch.zeros_like(error), atol=1e-12, rtol=0)
        # the bin is the nearest centre
        centres = yaw_bin_centers(num_bins, dtype=torch.float64)
        nearest = _circle_distance(alpha[..., None], centres).amin(-1)
        chosen = _circle_distance(alpha, centres[bin_index])
        torch.testing.assert_close(chosen, nearest, atol=1e-12, rtol=0)


def test_yaw_codec_float32_and_by_hand() -> None:
    alpha = torch.tensor([0.0, math.pi / 2 + 0.2, 0.1, -math.pi, 3.0, -0.6])
    bin_index, resi = encode_yaw(alpha, 12)
    step = math.pi / 12  # half a bin
    assert bin_index.tolist() == [0, 3, 0, 6, 6, 11]  # 3.0 rad is nearest to pi (bin 6 at -pi)
    offsets = [0.0, 0.2, 0.1, 0.0, 3.0 - math.pi, -0.6 + math.pi / 6]  # alpha - centre
    expected = torch.tensor(offsets) / step
    torch.testing.assert_close(resi, expected, atol=1e-5, rtol=0)
    decoded = decode_yaw(bin_index, resi, 12)
    torch.testing.assert_close(
        _circle_distance(decoded, alpha), torch.zeros_like(alpha), atol=1e-5, rtol=0
    )


def test_decode_yaw_wraps_out_of_range_residuals() -> None:
    decoded = decode_yaw(torch.tensor([6]), torch.tensor([-1.5]), 12)
    torch.testing.assert_close(decoded, torch.tensor([math.pi - 1.5 * math.pi / 12]))


def test_num_bins_must_be_positive() -> None:
    with pytest.raises(ValueError, match="num_bins"):
        encode_yaw(torch.zeros(3), 0)
