"""``rows_3d_inference``: at inference (``pool_3d: refined``) only the P rows of highest
object-class probability are pooled again and get 3D outputs, marked in ``has_3d``; those
rows' outputs are the ones every-row inference gives, the RPN's padding (zero boxes) comes
last, training and P >= Nhd leave every row in (``has_3d`` None)."""

import hypothesis.strategies as st
import pytest
import torch
from hypothesis import given, settings

from mono3d.contracts import NeckFeatures
from mono3d.head import RoIHead

CH = 8


def _inputs(nhd: int, padded: int, seed: int) -> tuple[NeckFeatures, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    features = NeckFeatures(
        s2=torch.randn((2, CH, 16, 24), generator=g),
        s3=torch.randn((2, CH, 8, 12), generator=g),
        s4=torch.randn((2, CH, 4, 6), generator=g),
    )
    xy = torch.rand((2, nhd, 2), generator=g) * torch.tensor([70.0, 45.0])
    wh = 4 + torch.rand((2, nhd, 2), generator=g) * 20
    proposals = torch.cat([xy, xy + wh], dim=-1)
    proposals[:, nhd - padded :] = 0  # the RPN pads with zero boxes
    calib = torch.tensor([[[100.0, 0, 48, 1.0], [0, 100, 32, 0.5], [0, 0, 1, 0.01]]] * 2)
    return features, proposals, calib


def _heads(p: int | None, tower: str) -> tuple[RoIHead, RoIHead]:
    torch.manual_seed(0)
    every = RoIHead(in_channels=CH, fc_dim=16, tower_3d=tower, rows_3d_inference=None).eval()
    some = RoIHead(in_channels=CH, fc_dim=16, tower_3d=tower, rows_3d_inference=p).eval()
    some.load_state_dict(every.state_dict())
    return every, some


@settings(max_examples=15, deadline=None)
@given(
    nhd=st.integers(4, 12),
    p=st.integers(1, 14),
    padded=st.integers(0, 3),
    tower=st.sampled_from(["separate", "shared"]),
    seed=st.integers(0, 99),
)
def test_only_the_likeliest_rows_get_3d_outputs_and_those_are_exact(nhd, p, padded, tower, seed):
    features, proposals, calib = _inputs(nhd, padded, seed)
    every, some = _heads(p, tower)
    with torch.no_grad():
        full, part = every(features, proposals, calib), some(features, proposals, calib)
    assert full.has_3d is None
    # the category and 2D outputs never depend on the setting
    assert torch.equal(full.category_logit, part.category_logit)
    assert torch.equal(full.bbox2d_logit, part.bbox2d_logit)
    if p >= nhd:
        assert part.has_3d is None
        assert torch.equal(full.bbox3d_logit, part.bbox3d_logit)
        return
    assert part.has_3d is not None and part.has_3d.shape == (2, nhd)
    assert part.has_3d.sum(dim=1).tolist() == [p, p]
    prob = torch.softmax(full.category_logit, dim=-1)[..., 1:].amax(dim=-1)
    real = (proposals[..., 2:] > proposals[..., :2]).all(dim=-1)
    for i in range(2):
        chosen, left = part.has_3d[i], ~part.has_3d[i]
        if left.any() and chosen.any():
            # a padded row is chosen only when every real row is; among real rows the
            # chosen are the likeliest
            assert not (chosen & ~real[i]).any() or real[i][left].sum() == 0
            both = real[i] & chosen, real[i] & left
            if both[0].any() and both[1].any():
                assert prob[i][both[0]].min() >= prob[i][both[1]].max()
    rows = part.has_3d
    for name in ("bbox3d_logit", "depth_log_sigma", "yaw_resi", "yaw_logit"):
        torch.testing.assert_close(getattr(part, name)[rows], getattr(full, name)[rows])


@pytest.mark.parametrize("tower", ["separate", "shared"])
def test_training_and_given_rows_are_not_changed_by_the_setting(tower):
    features, proposals, calib = _inputs(10, 0, 1)
    every, some = _heads(3, tower)
    every.train(), some.train()
    assert some(features, proposals, calib).has_3d is None  # training: every row
    rows = torch.tensor([[0, 4], [9, 2]])
    a = every(features, proposals, calib, rows_3d=rows)
    b = some(features, proposals, calib, rows_3d=rows)
    assert torch.equal(a.has_3d, b.has_3d) and a.has_3d.sum().item() == 4
    assert a.has_3d[0, 0] and a.has_3d[0, 4] and a.has_3d[1, 9] and a.has_3d[1, 2]
    torch.testing.assert_close(a.bbox3d_logit, b.bbox3d_logit)


def test_a_bad_setting_is_named():
    with pytest.raises(ValueError, match="rows_3d_inference=0"):
        RoIHead(in_channels=CH, rows_3d_inference=0)
