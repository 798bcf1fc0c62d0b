"""FPN outputs have the contract shapes; the top-down pathway links the levels."""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from mono3d.contracts import BackboneFeatures, NeckFeatures
from mono3d.contracts.testing import generators, padded_hw
from mono3d.neck import FPN


def _features(b: int, h: int, w: int, channels, g=None) -> BackboneFeatures:
    c2, c3, c4 = channels
    return BackboneFeatures(
        s2=torch.randn((b, c2, h // 4, w // 4), generator=g),
        s3=torch.randn((b, c3, h // 8, w // 8), generator=g),
        s4=torch.randn((b, c4, h // 16, w // 16), generator=g),
    )


@given(
    b=st.integers(1, 3),
    hw=padded_hw(),
    channels=st.tuples(*[st.sampled_from([4, 8, 16])] * 3),
    out=st.sampled_from([8, 16]),
    g=generators(),
)
def test_fpn_output_shapes(b, hw, channels, out, g):
    h, w = hw
    neck = FPN(in_channels=channels, out_channels=out)
    with torch.no_grad():
        result = neck(_features(b, h, w, channels, g))
    assert isinstance(result, NeckFeatures)
    assert result.s2.shape == (b, out, h // 4, w // 4)
    assert result.s3.shape == (b, out, h // 8, w // 8)
    assert result.s4.shape == (b, out, h // 16, w // 16)


def test_resnet50_channels():
    neck = FPN(in_channels=(256, 512, 1024))
    assert neck.in_channels == (256, 512, 1024) and neck.out_channels == 256
    result = neck(_features(1, 64, 96, (256, 512, 1024)))
    assert result.s3.shape == (1, 256, 8, 12)


def test_top_down_pathway_reaches_s2():
    torch.manual_seed(0)
    neck = FPN(in_channels=(8, 8, 8), out_channels=8).eval()
    features = _features(1, 64, 64, (8, 8, 8))
    changed = BackboneFeatures(s2=features.s2, s3=features.s3, s4=features.s4 + 1.0)
    with torch.no_grad():
        a, c = neck(features), neck(changed)
    assert not torch.allclose(a.s2, c.s2)  # s4 flows down to s2
    with torch.no_grad():
        changed_s2 = BackboneFeatures(s2=features.s2 + 1.0, s3=features.s3, s4=features.s4)
        d = neck(changed_s2)
    torch.testing.assert_close(d.s4, a.s4)  # nothing flows up


@pytest.mark.parametrize("autocast", [False, True])
def test_channels_last_and_autocast(autocast):
    neck = FPN(in_channels=(8, 16, 32), out_channels=16).to(memory_format=torch.channels_last)
    features = _features(2, 64, 128, (8, 16, 32)).apply(
        lambda t: t.contiguous(memory_format=torch.channels_last)
    )
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        result = neck(features)
    for t in (result.s2, result.s3, result.s4):
        assert t.is_contiguous(memory_format=torch.channels_last)
        assert t.dtype == (torch.bfloat16 if autocast else torch.float32)
