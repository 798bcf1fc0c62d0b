"""``refine_3d``: the 3D branch's second 2D refinement. Its deltas read the 3D outputs' own
vector of the refined crop (no gradient reaches the category/2D pair, and the first-stage
outputs are unchanged by the setting), ``box_3d`` is the box that crop was pooled from, the
outputs have the contract shapes (hypothesis), and the setting is checked."""

import pydantic
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mono3d.contracts import NeckFeatures
from mono3d.head import HeadConfig, RoIHead

CH = 8
CALIB = torch.tensor([[[100.0, 0, 48, 1.0], [0, 100, 32, 0.5], [0, 0, 1, 0.01]]])


def _inputs(b: int, nhd: int, seed: int) -> tuple[NeckFeatures, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    features = NeckFeatures(
        s2=torch.randn((b, CH, 16, 24), generator=g),
        s3=torch.randn((b, CH, 8, 12), generator=g),
        s4=torch.randn((b, CH, 4, 6), generator=g),
    )
    xy = torch.rand((b, nhd, 2), generator=g) * torch.tensor([60.0, 40.0])
    wh = 4 + torch.rand((b, nhd, 2), generator=g) * 24
    return features, torch.cat([xy, xy + wh], dim=-1), CALIB.expand(b, 3, 4)


def _pair(tower: str) -> tuple[RoIHead, RoIHead]:
    torch.manual_seed(0)
    plain = RoIHead(in_channels=CH, fc_dim=16, tower_3d=tower)
    torch.manual_seed(0)
    second = RoIHead(in_channels=CH, fc_dim=16, tower_3d=tower, refine_3d=True)
    return plain, second


@settings(max_examples=20, deadline=None)
@given(
    b=st.integers(1, 2),
    nhd=st.integers(1, 10),
    c=st.integers(2, 4),
    tower=st.sampled_from(["separate", "shared"]),
    seed=st.integers(0, 99),
)
def test_outputs_have_the_contract_shapes_and_box_3d_is_the_pooled_box(b, nhd, c, tower, seed):
    torch.manual_seed(seed)
    head = RoIHead(in_channels=CH, num_classes=c, fc_dim=16, tower_3d=tower, refine_3d=True)
    features, proposals, calib = _inputs(b, nhd, seed)
    out = head(features, proposals, calib)
    assert out.box_3d is not None and out.bbox2d_logit_3d is not None
    assert out.box_3d.shape == (b, nhd, 4) and out.bbox2d_logit_3d.shape == (b, nhd, c, 4)
    assert not out.box_3d.requires_grad  # the first refinement, no gradient
    expected = head.refined_boxes(proposals, out.category_logit, out.bbox2d_logit)
    torch.testing.assert_close(out.box_3d, expected)
    # the second deltas are a function of that box's crop: pooling it with the proposals
    # set to box_3d (and the first deltas zeroed, so box_3d is pooled again) gives them back
    with torch.no_grad():
        torch.nn.init.zeros_(head.bbox2d_pred.weight)
        torch.nn.init.zeros_(head.bbox2d_pred.bias)
        again = head(features, out.box_3d, calib)
    torch.testing.assert_close(again.bbox2d_logit_3d, out.bbox2d_logit_3d, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("tower", ["separate", "shared"])
def test_off_by_default_and_the_first_stage_is_unchanged(tower):
    plain, second = _pair(tower)
    assert HeadConfig().refine_3d is False and not hasattr(plain, "bbox2d_3d_pred")
    features, proposals, calib = _inputs(1, 6, 3)
    a = plain(features, proposals, calib)
    assert a.box_3d is None and a.bbox2d_logit_3d is None
    missing, unexpected = second.load_state_dict(plain.state_dict(), strict=False)
    assert missing == ["bbox2d_3d_pred.weight", "bbox2d_3d_pred.bias"] and unexpected == []
    b = second(features, proposals, calib)
    for name, value in a.as_dict().items():
        if value is not None:
            torch.testing.assert_close(b.as_dict()[name], value)


def test_the_gradient_of_the_second_deltas_reaches_the_3d_tower_only():
    _, head = _pair("separate")
    features, proposals, calib = _inputs(1, 6, 5)
    head(features, proposals, calib).bbox2d_logit_3d.sum().backward()
    grads = {
        name: getattr(head, name).weight.grad is not None
        and bool(getattr(head, name).weight.grad.abs().sum() > 0)
        for name in ("fc6", "fc7", "bbox2d_pred", "fc6_3d", "fc7_3d", "bbox2d_3d_pred")
    }
    assert grads == {
        "fc6": False,
        "fc7": False,
        "bbox2d_pred": False,
        "fc6_3d": True,
        "fc7_3d": True,
        "bbox2d_3d_pred": True,
    }


def test_initialised_as_the_other_regressions():
    _, head = _pair("separate")
    assert torch.equal(head.bbox2d_3d_pred.bias, torch.zeros(4 * 4))
    assert head.bbox2d_3d_pred.weight.std() < 0.002


def test_rows_without_3d_outputs_are_marked():
    torch.manual_seed(0)
    head = RoIHead(in_channels=CH, fc_dim=16, refine_3d=True, rows_3d_inference=2).eval()
    features, proposals, calib = _inputs(1, 6, 7)
    with torch.no_grad():
        out = head(features, proposals, calib)
    assert out.has_3d is not None and int(out.has_3d.sum()) == 2
    assert out.bbox2d_logit_3d is not None and out.bbox2d_logit_3d.shape == (1, 6, 4, 4)


def test_the_setting_needs_the_refined_crop():
    with pytest.raises(ValueError, match="pool_3d"):
        RoIHead(in_channels=CH, refine_3d=True, pool_3d="proposal")
    with pytest.raises(pydantic.ValidationError, match="pool_3d 'refined'"):
        HeadConfig(refine_3d=True, pool_3d="proposal")
    head = RoIHead.from_config(
        HeadConfig(refine_3d=True, fc_dim=16), in_channels=CH, num_classes=3, num_bins=4
    )
    assert head.refine_3d and head.bbox2d_3d_pred.out_features == 3 * 4
