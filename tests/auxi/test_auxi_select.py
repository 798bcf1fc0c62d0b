"""select_class_from_prediction against a loop reference; gradients reach only the selected
entries."""

import torch
from hypothesis import given
from hypothesis import strategies as st

from mono3d.auxi import select_class_from_prediction
from mono3d.contracts import GtAligned, HeadOutput
from mono3d.contracts.testing import generators


@st.composite
def heads_and_targets(draw):
    b, m = draw(st.integers(0, 3)), draw(st.integers(0, 10))
    c, bins = draw(st.integers(2, 5)), draw(st.integers(1, 12))
    g = draw(generators())
    pred = HeadOutput(
        bbox3d_logit=torch.randn(b, m, c, 6, generator=g),
        yaw_resi=torch.randn(b, m, c, bins, generator=g),
        yaw_logit=torch.randn(b, m, c, bins, generator=g),
        category_logit=torch.randn(b, m, c, generator=g),
        bbox2d_logit=torch.randn(b, m, c, 4, generator=g),
        depth_log_sigma=torch.randn(b, m, c, generator=g),
    )
    obj = torch.randint(-1, 2, (b, m, 1), generator=g)
    category = torch.where(obj == 1, torch.randint(1, c, (b, m, 1), generator=g), 0)
    yaw_bin = torch.where(obj == 1, torch.randint(0, bins, (b, m, 1), generator=g), 0)
    targets = GtAligned(
        bbox2d=torch.zeros(b, m, 4),
        bbox3d=torch.zeros(b, m, 6),
        bbox3d_logit=torch.zeros(b, m, 6),
        object=obj,
        yaw=torch.zeros(b, m, 1),
        yaw_category=yaw_bin,
        yaw_resi=torch.zeros(b, m, 1),
        category=category,
        bbox2d_logit=torch.zeros(b, m, 4),
        object3d=obj,
    )
    return pred, targets


@given(heads_and_targets())
def test_selection_matches_a_loop_reference(case):
    pred, targets = case
    out = select_class_from_prediction(pred, targets)
    b, m, c, bins = pred.yaw_logit.shape
    assert out.bbox3d_logit.shape == (b, m, 6)
    assert out.yaw_resi.shape == (b, m, 1)
    assert out.yaw_logit.shape == (b, m, bins)
    assert out.category_logit.shape == (b, m, c)
    for i in range(b):
        for j in range(m):
            k = int(targets.category[i, j, 0])
            t = int(targets.yaw_category[i, j, 0])
            assert torch.equal(out.bbox3d_logit[i, j], pred.bbox3d_logit[i, j, k])
            assert torch.equal(out.yaw_logit[i, j], pred.yaw_logit[i, j, k])
            assert torch.equal(out.yaw_resi[i, j, 0], pred.yaw_resi[i, j, k, t])
            assert torch.equal(out.bbox2d_logit[i, j], pred.bbox2d_logit[i, j, k])
            assert torch.equal(out.depth_log_sigma[i, j, 0], pred.depth_log_sigma[i, j, k])
    assert torch.equal(out.category_logit, pred.category_logit)


@given(heads_and_targets())
def test_gradient_reaches_only_the_selected_entries(case):
    pred, targets = case
    leaves = HeadOutput(
        **{
            k: v.clone().requires_grad_(True)
            for k, v in pred.as_dict().items()
            if v is not None and v.is_floating_point()
        }
    )
    out = select_class_from_prediction(leaves, targets)
    (
        out.bbox3d_logit.sum()
        + out.yaw_resi.sum()
        + out.yaw_logit.sum()
        + out.bbox2d_logit.sum()
        + out.depth_log_sigma.sum()
    ).backward()
    b, m, c, bins = pred.yaw_logit.shape
    chosen = torch.nn.functional.one_hot(targets.category[..., 0], c).bool()  # b m C
    bin_chosen = torch.nn.functional.one_hot(targets.yaw_category[..., 0], bins).bool()
    grad = leaves.bbox3d_logit.grad
    assert grad is not None and torch.equal(grad, chosen[..., None].float().expand_as(grad))
    assert torch.equal(leaves.yaw_logit.grad, chosen[..., None].float().expand(b, m, c, bins))
    expected = (chosen[..., None] & bin_chosen[:, :, None, :]).float()
    assert torch.equal(leaves.yaw_resi.grad, expected)
    assert torch.equal(leaves.bbox2d_logit.grad, chosen[..., None].float().expand(b, m, c, 4))
    assert torch.equal(leaves.depth_log_sigma.grad, chosen.float())


def test_out_of_range_targets_select_channel_zero():
    pred = HeadOutput(
        bbox3d_logit=torch.arange(1 * 2 * 3 * 6.0).view(1, 2, 3, 6),
        yaw_resi=torch.arange(1 * 2 * 3 * 4.0).view(1, 2, 3, 4),
        yaw_logit=torch.zeros(1, 2, 3, 4),
        category_logit=torch.zeros(1, 2, 3),
        bbox2d_logit=torch.zeros(1, 2, 3, 4),
        depth_log_sigma=torch.zeros(1, 2, 3),
    )
    targets = GtAligned(
        bbox2d=torch.zeros(1, 2, 4),
        bbox3d=torch.zeros(1, 2, 6),
        bbox3d_logit=torch.zeros(1, 2, 6),
        object=torch.tensor([[[-1], [1]]]),
        yaw=torch.zeros(1, 2, 1),
        yaw_category=torch.tensor([[[9], [-2]]]),
        yaw_resi=torch.zeros(1, 2, 1),
        category=torch.tensor([[[-1], [7]]]),
        bbox2d_logit=torch.zeros(1, 2, 4),
        object3d=torch.tensor([[[-1], [1]]]),
    )
    out = select_class_from_prediction(pred, targets)
    assert torch.equal(out.bbox3d_logit, pred.bbox3d_logit[:, :, 0])
    assert torch.equal(out.yaw_resi[..., 0], pred.yaw_resi[:, :, 0, 0])
