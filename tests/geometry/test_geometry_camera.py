"""Projection with the full P2 and its exact inverse, depth semantics, points behind the camera."""

import math

import torch
from hypothesis import given
from hypothesis import strategies as st

from mono3d.contracts.testing import boxes3d, calibs, generators, padded_hw
from mono3d.geometry import MIN_DEPTH, project_points, unproject_points


def _general_calib(g: torch.Generator, b: int) -> torch.Tensor:
    """A P2 with every entry non-zero (skew, rotated rows): the inverse must not assume K[I|t]."""
    p = torch.randn(b, 3, 4, generator=g, dtype=torch.float64)
    p[:, :, :3] += torch.diag(torch.tensor([700.0, 700.0, 1.0], dtype=torch.float64))
    p[:, 2, :3] = torch.tensor([0.01, -0.02, 1.0], dtype=torch.float64)
    return p


@given(st.integers(1, 3), st.integers(0, 8), padded_hw(), st.booleans(), st.data())
def test_unproject_inverts_project(
    b: int, n: int, hw: tuple[int, int], general: bool, data: st.DataObject
) -> None:
    points = data.draw(boxes3d(b, n))[..., :3].double()
    calib = (
        _general_calib(data.draw(generators()), b)
        if general
        else data.draw(calibs(b, *hw)).double()
    )
    uv, depth = project_points(points, calib)
    assert uv.shape == (b, n, 2) and depth.shape == (b, n)
    torch.testing.assert_close(unproject_points(uv, depth, calib), points, rtol=0, atol=1e-9)
    uv2, depth2 = project_points(unproject_points(uv, depth, calib), calib)
    torch.testing.assert_close(uv2, uv, rtol=0, atol=1e-7)
    torch.testing.assert_close(depth2, depth, rtol=0, atol=1e-9)


def test_projection_by_hand_with_translation_column() -> None:
    calib = torch.tensor(
        [[[700.0, 0.0, 600.0, 45.0], [0.0, 700.0, 170.0, 0.2], [0.0, 0.0, 1.0, 0.005]]],
        dtype=torch.float64,
    )
    point = torch.tensor([[[2.0, 1.0, 20.0]]], dtype=torch.float64)
    uv, depth = project_points(point, calib)
    d = 20.005  # z + t_z
    torch.testing.assert_close(depth, torch.tensor([[d]], dtype=torch.float64))
    expected = torch.tensor(
        [[[(1400 + 12000 + 45) / d, (700 + 3400 + 0.2) / d]]], dtype=torch.float64
    )
    torch.testing.assert_close(uv, expected)


def test_points_behind_camera_give_finite_uv_and_their_depth() -> None:
    calib = torch.tensor(
        [[[700.0, 0.0, 600.0, 45.0], [0.0, 700.0, 170.0, 0.2], [0.0, 0.0, 1.0, 0.0]]]
    )
    points = torch.tensor([[[1.0, 1.0, -5.0], [1.0, 1.0, 0.0], [1.0, 1.0, 5.0]]])
    points.requires_grad_(True)
    uv, depth = project_points(points, calib)
    torch.testing.assert_close(depth.detach(), torch.tensor([[-5.0, 0.0, 5.0]]))
    assert torch.isfinite(uv).all()
    # behind / on the plane: the division uses MIN_DEPTH instead of the depth
    hom = points.detach()[0] @ calib[0, :, :3].T + calib[0, :, 3]
    torch.testing.assert_close(uv[0, :2].detach(), hom[:2, :2] / MIN_DEPTH)
    (uv.sum() + depth.sum()).backward()
    assert torch.isfinite(points.grad).all()


def test_non_finite_calib_is_not_hidden() -> None:
    calib = torch.zeros(1, 3, 4)
    calib[0, 0, 0] = math.nan
    uv, _ = project_points(torch.ones(1, 1, 3), calib)
    assert torch.isnan(uv).any()


@given(st.integers(1, 3), st.integers(0, 8), padded_hw(), st.booleans(), st.data())
def test_closed_form_unprojection_equals_an_lu_solve(
    b: int, n: int, hw: tuple[int, int], general: bool, data: st.DataObject
) -> None:
    """The adjugate inverse gives what ``torch.linalg.solve`` gave, in float64 and float32."""
    calib = (
        _general_calib(data.draw(generators()), b)
        if general
        else data.draw(calibs(b, *hw)).double()
    )
    points = data.draw(boxes3d(b, n))[..., :3].double()
    uv, depth = project_points(points, calib)
    rhs = torch.cat([uv * depth[..., None], depth[..., None]], dim=-1) - calib[:, None, :, 3]
    solved = torch.linalg.solve(calib[:, :, :3], rhs.transpose(1, 2)).transpose(1, 2)
    torch.testing.assert_close(unproject_points(uv, depth, calib), solved, rtol=0, atol=1e-9)
    calib32, uv32, depth32 = calib.float(), uv.float(), depth.float()
    rhs32 = torch.cat([uv32 * depth32[..., None], depth32[..., None]], -1) - calib32[:, None, :, 3]
    solved32 = torch.linalg.solve(calib32[:, :, :3], rhs32.transpose(1, 2)).transpose(1, 2)
    # metres, points up to ~80 m: float32 rounding of either method
    torch.testing.assert_close(
        unproject_points(uv32, depth32, calib32), solved32, rtol=1e-5, atol=1e-4
    )


def test_unprojection_traces_without_linalg() -> None:
    """The exported graph of the unprojection holds elementwise ops only (ONNX-exportable)."""

    class Unproject(torch.nn.Module):
        def forward(self, uv: torch.Tensor, depth: torch.Tensor, calib: torch.Tensor):
            return unproject_points(uv, depth, calib)

    calib = torch.tensor(
        [[[700.0, 0.0, 600.0, 45.0], [0.0, 700.0, 170.0, 0.2], [0.0, 0.0, 1.0, 0.005]]]
    )
    args = (torch.tensor([[[650.0, 190.0]]]), torch.tensor([[20.0]]), calib)
    program = torch.export.export(Unproject(), args)
    targets = [str(node.target) for node in program.graph.nodes if node.op == "call_function"]
    assert targets and not any("linalg" in t or "solve" in t or "inverse" in t for t in targets)
    torch.testing.assert_close(program.module()(*args), Unproject()(*args))
