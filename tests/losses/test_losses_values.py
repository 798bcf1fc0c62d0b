"""Each loss against a direct reference computation, the counts it divides by, and AMP."""

import math

import pytest
import torch
import torch.nn.functional as F

from mono3d.losses import (
    DEFAULT_BETA,
    Box2dRefinement,
    Box2dRegression,
    Box3dRegression,
    Category,
    DepthUncertainty,
    Objectness,
    YawCategory,
    YawRegression,
)


def labels(*rows: list[int]) -> torch.Tensor:
    """Int[b M 1] object targets from one list per image."""
    return torch.tensor(rows, dtype=torch.long).unsqueeze(-1)


OBJECT = labels([1, 0, -1, 1, 0, 0], [0, -1, -1, 1, -1, 0])  # 3 pos, 5 neg, 8 sampled
POS = OBJECT[..., 0] == 1
SAMPLED = OBJECT[..., 0] >= 0


def test_default_beta_is_torchvision_one_ninth():
    assert DEFAULT_BETA == pytest.approx(1 / 9)
    assert Box2dRegression().beta == pytest.approx(1 / 9)


@pytest.mark.parametrize(
    ("loss_type", "dim"), [(Box2dRegression, 4), (Box3dRegression, 6), (YawRegression, 1)]
)
def test_regression_is_smooth_l1_over_positives_divided_by_sampled(loss_type, dim):
    g = torch.Generator().manual_seed(0)
    pred, target = torch.randn(2, 6, dim, generator=g), torch.randn(2, 6, dim, generator=g)
    expected = F.smooth_l1_loss(pred[POS], target[POS], reduction="sum", beta=1 / 9) / 8
    assert torch.allclose(loss_type()(pred, target, OBJECT), expected)
    by_positive = loss_type(normalizer="positive")(pred, target, OBJECT)
    assert torch.allclose(by_positive, expected * 8 / 3)
    l1 = loss_type(beta=0.0)(pred, target, OBJECT)
    assert torch.allclose(l1, (pred[POS] - target[POS]).abs().sum() / 8)


def test_smooth_l1_values_by_hand():
    # |d| = 0.05 < beta: 0.5 d^2 / beta; |d| = 1 > beta: |d| - beta / 2
    pred = torch.tensor([[[0.05, 1.0, 0.0, 0.0]]])
    target = torch.zeros(1, 1, 4)
    got = Box2dRegression()(pred, target, labels([1]))
    assert got.item() == pytest.approx(0.5 * 0.05**2 * 9 + (1 - 1 / 18))


def test_objectness_is_bce_mean_over_sampled():
    logit = torch.randn(2, 6, 1, generator=torch.Generator().manual_seed(1))
    expected = F.binary_cross_entropy_with_logits(logit[SAMPLED], POS[SAMPLED].float()[:, None])
    assert torch.allclose(Objectness()(logit, OBJECT), expected)


def test_category_targets_background_for_negatives_and_averages_over_sampled():
    g = torch.Generator().manual_seed(2)
    logit = torch.randn(2, 6, 4, generator=g)
    category = torch.randint(1, 4, (2, 6, 1), generator=g)  # negatives hold a class too
    target = torch.where(POS, category[..., 0], 0)
    expected = F.cross_entropy(logit[SAMPLED], target[SAMPLED])
    assert torch.allclose(Category()(logit, category, OBJECT), expected)


def test_yaw_category_is_ce_mean_over_positives():
    g = torch.Generator().manual_seed(3)
    logit = torch.randn(2, 6, 12, generator=g)
    yaw_bin = torch.randint(0, 12, (2, 6, 1), generator=g)
    expected = F.cross_entropy(logit[POS], yaw_bin[..., 0][POS])
    assert torch.allclose(YawCategory()(logit, yaw_bin, OBJECT), expected)
    by_sampled = YawCategory(normalizer="sampled")(logit, yaw_bin, OBJECT)
    assert torch.allclose(by_sampled, expected * 3 / 8)


def test_normalisation_is_over_the_whole_batch_not_per_image():
    pred, target = torch.ones(2, 3, 4), torch.zeros(2, 3, 4)
    object = labels([1, 0, 0], [-1, -1, 0])  # 4 sampled over the batch, 1 positive
    per_positive = 4 * (1 - 1 / 18)
    assert Box2dRegression()(pred, target, object).item() == pytest.approx(per_positive / 4)


def test_no_objects_gives_finite_losses_and_zero_regression():
    g = torch.Generator().manual_seed(4)
    object = labels([0, 0, -1], [0, -1, 0])  # negatives only
    box2d = Box2dRegression()(torch.randn(2, 3, 4, generator=g), torch.randn(2, 3, 4), object)
    box3d = Box3dRegression()(torch.randn(2, 3, 6, generator=g), torch.randn(2, 3, 6), object)
    yaw = YawRegression()(torch.randn(2, 3, 1, generator=g), torch.randn(2, 3, 1), object)
    yaw_bin = YawCategory()(torch.randn(2, 3, 12, generator=g), torch.zeros(2, 3, 1).long(), object)
    for zero in (box2d, box3d, yaw, yaw_bin):
        assert zero.item() == 0.0
    objectness = Objectness()(torch.randn(2, 3, 1, generator=g), object)
    category = Category()(torch.randn(2, 3, 4, generator=g), torch.zeros(2, 3, 1).long(), object)
    assert math.isfinite(objectness.item()) and objectness.item() > 0
    assert math.isfinite(category.item()) and category.item() > 0


def test_nothing_sampled_gives_exact_zeros():
    object = labels([-1, -1], [-1, -1])
    assert Objectness()(torch.randn(2, 2, 1), object).item() == 0.0
    assert Category()(torch.randn(2, 2, 4), torch.ones(2, 2, 1).long(), object).item() == 0.0


def test_amp_inputs_are_computed_in_float32():
    g = torch.Generator().manual_seed(5)
    pred, target = torch.randn(2, 6, 6, generator=g), torch.randn(2, 6, 6, generator=g)
    logit = torch.randn(2, 6, 4, generator=g)
    category = torch.randint(0, 4, (2, 6, 1), generator=g)
    reference_box = Box3dRegression()(pred.bfloat16().float(), target, OBJECT)
    reference_cat = Category()(logit.bfloat16().float(), category, OBJECT)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        box = Box3dRegression()(pred.bfloat16(), target, OBJECT)
        cat = Category()(logit.bfloat16(), category, OBJECT)
        obj = Objectness()(logit[..., :1].bfloat16(), OBJECT)
    for value, reference in ((box, reference_box), (cat, reference_cat)):
        assert value.dtype == torch.float32
        assert torch.allclose(value, reference)
    assert obj.dtype == torch.float32


def test_bad_constructor_arguments_are_named():
    with pytest.raises(ValueError, match="normalizer"):
        Box2dRegression(normalizer="mean")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="beta"):
        Box3dRegression(beta=-1.0)
    with pytest.raises(ValueError, match="normalizer"):
        YawCategory(normalizer="all")  # type: ignore[arg-type]


def test_box2d_refinement_is_torchvision_fastrcnn_box_loss():
    """Smooth-L1 (beta 1/9) over the positives' 4 deltas, divided by the sampled rows."""
    pred, target = torch.randn(2, 6, 4), torch.randn(2, 6, 4)
    obj = torch.tensor([[[1], [0], [-1], [1], [0], [0]], [[0], [1], [0], [-1], [-1], [0]]])
    positive = (obj == 1).expand(-1, -1, 4)
    expected = F.smooth_l1_loss(pred[positive], target[positive], beta=1 / 9, reduction="sum")
    torch.testing.assert_close(Box2dRefinement()(pred, target, obj), expected / 9)


def test_depth_uncertainty_is_the_laplacian_nll_over_positives():
    log_sigma = torch.tensor([[[0.5], [-1.0], [2.0]]])
    pred, target = torch.tensor([[[0.3], [0.1], [9.0]]]), torch.tensor([[[0.1], [0.4], [0.0]]])
    obj = torch.tensor([[[1], [1], [0]]])
    loss = DepthUncertainty()(log_sigma, pred, target, obj)
    rows = math.sqrt(2) * torch.tensor([0.2, 0.3]) * torch.exp(-torch.tensor([0.5, -1.0]))
    expected = (rows + torch.tensor([0.5, -1.0])).sum() / 2  # mean over the positives
    torch.testing.assert_close(loss, expected)


def test_depth_uncertainty_trains_sigma_only_and_is_smallest_at_the_residual():
    log_sigma = torch.zeros(1, 1, 1, requires_grad=True)
    pred = torch.full((1, 1, 1), 0.5, requires_grad=True)
    target, obj = torch.zeros(1, 1, 1), torch.ones(1, 1, 1, dtype=torch.long)
    DepthUncertainty()(log_sigma, pred, target, obj).backward()
    assert pred.grad is None or (pred.grad == 0).all()  # dz is the 3D loss's to learn
    assert log_sigma.grad is not None and log_sigma.grad.item() != 0
    # the minimum over sigma is at sigma = sqrt(2) |residual|
    grid = torch.linspace(-4, 2, 601)
    values = torch.stack(
        [DepthUncertainty()(s.view(1, 1, 1), pred.detach(), target, obj) for s in grid]
    )
    best = math.exp(float(grid[values.argmin()]))
    assert abs(best - math.sqrt(2) * 0.5) < 0.02
    coupled = DepthUncertainty(detach_residual=False)
    pred.grad = None
    coupled(log_sigma, pred, target, obj).backward()
    assert pred.grad is not None and pred.grad.item() > 0


@pytest.mark.parametrize("nll_beta", [0.0, 0.5, 1.0])
def test_depth_uncertainty_nll_beta_weighs_each_row_by_sigma_to_the_beta(nll_beta):
    log_sigma = torch.tensor([[[-3.0], [0.0], [1.0]]], requires_grad=True)
    pred = torch.tensor([[[0.1], [-0.2], [5.0]]], requires_grad=True)
    target, obj = torch.zeros(1, 3, 1), torch.tensor([[[1], [1], [0]]])
    loss = DepthUncertainty(detach_residual=False, nll_beta=nll_beta)
    loss(log_sigma, pred, target, obj).backward()
    s = torch.tensor([-3.0, 0.0])
    # the prediction's gradient: sqrt(2) sign(r) sigma**(beta - 1), over the 2 positives
    expected_pred = math.sqrt(2) * torch.tensor([1.0, -1.0]) * torch.exp((nll_beta - 1) * s) / 2
    torch.testing.assert_close(pred.grad[0, :2, 0], expected_pred)
    # sigma's: sigma**beta (1 - sqrt(2) |r| / sigma); the padded row passes none
    r = torch.tensor([0.1, 0.2])
    expected_sigma = torch.exp(nll_beta * s) * (1 - math.sqrt(2) * r * torch.exp(-s)) / 2
    torch.testing.assert_close(log_sigma.grad[0, :2, 0], expected_sigma)
    assert pred.grad[0, 2, 0] == 0 and log_sigma.grad[0, 2, 0] == 0


def test_depth_uncertainty_nll_beta_keeps_the_optimum_of_sigma():
    pred, target = torch.full((1, 1, 1), 0.5), torch.zeros(1, 1, 1)
    obj = torch.ones(1, 1, 1, dtype=torch.long)
    for nll_beta in (0.5, 1.0):
        s = torch.zeros(1, 1, 1, requires_grad=True)
        optimiser = torch.optim.SGD([s], lr=0.5)
        for _ in range(300):
            optimiser.zero_grad()
            DepthUncertainty(nll_beta=nll_beta)(s, pred, target, obj).backward()
            optimiser.step()
        assert abs(math.exp(s.item()) - math.sqrt(2) * 0.5) < 1e-3


@pytest.mark.parametrize("nll_beta", [-0.1, 1.5, float("nan")])
def test_depth_uncertainty_refuses_an_nll_beta_outside_0_1(nll_beta):
    with pytest.raises(ValueError, match="nll_beta"):
        DepthUncertainty(nll_beta=nll_beta)
