"""``tower_3d``: with ``separate`` the 3D, uncertainty and yaw outputs read their own
fc6/fc7 (no gradient of a 3D output reaches the category/2D pair, and none of the category
or 2D deltas reaches the 3D pair); with ``shared`` both read one pair. Either way the
category and 2D outputs are the same function of the proposal's crop."""

import pytest
import torch

from mono3d.contracts import NeckFeatures
from mono3d.head import HeadConfig, RoIHead

CH = 8
PROPOSALS = torch.tensor([[[4.0, 4.0, 40.0, 30.0], [10.0, 0.0, 90.0, 60.0], [0, 0, 8, 8]]])
CALIB = torch.tensor([[[100.0, 0, 48, 1.0], [0, 100, 32, 0.5], [0, 0, 1, 0.01]]])


def _features() -> NeckFeatures:
    g = torch.Generator().manual_seed(0)
    return NeckFeatures(
        s2=torch.randn((1, CH, 16, 24), generator=g),
        s3=torch.randn((1, CH, 8, 12), generator=g),
        s4=torch.randn((1, CH, 4, 6), generator=g),
    )


def _grads(head: RoIHead, names: list[str]) -> dict[str, bool]:
    return {
        name: getattr(head, name).weight.grad is not None
        and bool(getattr(head, name).weight.grad.abs().sum() > 0)
        for name in names
    }


@pytest.mark.parametrize("pool_3d", ["refined", "proposal"])
def test_a_separate_tower_keeps_the_3d_gradients_off_the_2d_pair(pool_3d):
    torch.manual_seed(0)
    head = RoIHead(in_channels=CH, fc_dim=16, pool_3d=pool_3d, tower_3d="separate")
    out = head(_features(), PROPOSALS, CALIB)
    (out.bbox3d_logit.sum() + out.depth_log_sigma.sum() + out.yaw_resi.sum()).backward()
    assert _grads(head, ["fc6", "fc7", "fc6_3d", "fc7_3d"]) == {
        "fc6": False,  # the refined box, from the 2D pair, is computed without gradient
        "fc7": False,
        "fc6_3d": True,
        "fc7_3d": True,
    }
    head.zero_grad(set_to_none=True)
    out = head(_features(), PROPOSALS, CALIB)
    (out.category_logit.sum() + out.bbox2d_logit.sum()).backward()
    assert _grads(head, ["fc6", "fc6_3d"]) == {"fc6": True, "fc6_3d": False}


def test_a_shared_tower_sends_the_3d_gradients_through_the_one_pair():
    torch.manual_seed(0)
    head = RoIHead(in_channels=CH, fc_dim=16, tower_3d="shared")
    assert not hasattr(head, "fc6_3d")
    out = head(_features(), PROPOSALS, CALIB)
    out.bbox3d_logit.sum().backward()
    assert _grads(head, ["fc6", "fc7"]) == {"fc6": True, "fc7": True}


def test_the_2d_outputs_do_not_depend_on_the_tower_setting():
    torch.manual_seed(0)
    shared = RoIHead(in_channels=CH, fc_dim=16, tower_3d="shared")
    separate = RoIHead(in_channels=CH, fc_dim=16, tower_3d="separate")
    separate.load_state_dict(shared.state_dict(), strict=False)
    a, b = shared(_features(), PROPOSALS, CALIB), separate(_features(), PROPOSALS, CALIB)
    torch.testing.assert_close(a.category_logit, b.category_logit)
    torch.testing.assert_close(a.bbox2d_logit, b.bbox2d_logit)
    assert not torch.equal(a.bbox3d_logit, b.bbox3d_logit)


def test_the_setting_is_checked():
    assert HeadConfig().tower_3d == "separate"
    with pytest.raises(ValueError, match="tower_3d='both'"):
        RoIHead(in_channels=CH, tower_3d="both")
