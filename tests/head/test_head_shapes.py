"""RoI head outputs have the contract shapes; proposals do not talk to each other."""

import torch
from hypothesis import given
from hypothesis import strategies as st

from mono3d.contracts import HeadOutput, NeckFeatures
from mono3d.contracts.testing import boxes2d, calibs, generators, image_sizes, padded_hw
from mono3d.geometry import decode_box2d
from mono3d.head import RoIHead

CH = 8


def _features(b: int, h: int, w: int, g: torch.Generator, c: int = CH) -> NeckFeatures:
    return NeckFeatures(
        s2=torch.randn((b, c, h // 4, w // 4), generator=g),
        s3=torch.randn((b, c, h // 8, w // 8), generator=g),
        s4=torch.randn((b, c, h // 16, w // 16), generator=g),
    )


@st.composite
def head_inputs(draw):
    b = draw(st.integers(1, 3))
    h, w = draw(padded_hw())
    nhd = draw(st.integers(1, 40))
    size = draw(image_sizes(b, h, w))
    proposals = draw(boxes2d(b, nhd, size, min_side=1.0))
    padded = draw(st.integers(0, nhd))  # the last rows are padding: zero boxes
    proposals[:, nhd - padded :] = 0.0
    return _features(b, h, w, draw(generators())), proposals, draw(calibs(b, h, w))


def _calib(b: int) -> torch.Tensor:
    return torch.tensor([[100.0, 0, 48, 1.0], [0, 100, 32, 0.5], [0, 0, 1, 0.01]]).expand(b, 3, 4)


@given(
    inputs=head_inputs(),
    num_classes=st.integers(2, 5),
    num_bins=st.sampled_from([1, 4, 12]),
    roi_size=st.sampled_from([3, 7]),
    geometry=st.booleans(),
)
def test_head_output_shapes(inputs, num_classes, num_bins, roi_size, geometry):
    features, proposals, calib = inputs
    b, nhd = proposals.shape[:2]
    head = RoIHead(
        in_channels=CH,
        num_classes=num_classes,
        num_bins=num_bins,
        roi_size=roi_size,
        fc_dim=32,
        geometry=geometry,
    ).eval()
    with torch.no_grad():
        out = head(features, proposals, calib)
    assert isinstance(out, HeadOutput)
    assert out.bbox3d_logit.shape == (b, nhd, num_classes, 6)
    assert out.yaw_resi.shape == (b, nhd, num_classes, num_bins)
    assert out.yaw_logit.shape == (b, nhd, num_classes, num_bins)
    assert out.category_logit.shape == (b, nhd, num_classes)
    assert out.bbox2d_logit.shape == (b, nhd, num_classes, 4)
    assert out.depth_log_sigma.shape == (b, nhd, num_classes)
    assert out.has_3d is None or out.has_3d.sum(dim=1).eq(head.rows_3d_inference).all()
    for tensor in out.as_dict().values():
        if tensor is not None and tensor.is_floating_point():
            assert torch.isfinite(tensor).all()  # padded (zero) proposals included


def test_each_proposal_is_computed_alone():
    g = torch.Generator().manual_seed(0)
    features = _features(2, 64, 96, g)
    proposals = torch.tensor([[[4.0, 4.0, 40.0, 30.0], [10.0, 0.0, 90.0, 60.0], [0.0] * 4]] * 2)
    head = RoIHead(in_channels=CH, fc_dim=32).eval()
    with torch.no_grad():
        before = head(features, proposals, _calib(2))
        changed = proposals.clone()
        changed[1, 2] = torch.tensor([1.0, 2.0, 50.0, 60.0])  # a padded row of image 1
        after = head(features, changed, _calib(2))
    assert before.has_3d is None and after.has_3d is None  # 3 rows <= rows_3d_inference
    for name, value in before.as_dict().items():
        if value is None:
            continue
        torch.testing.assert_close(after.as_dict()[name][0], value[0])
        torch.testing.assert_close(after.as_dict()[name][1, :2], value[1, :2])


def test_pooling_level_and_image_follow_the_box():
    b, h, w = 2, 512, 512
    # constant maps: level value 2/3/4, plus 10 * image index
    offset = 10.0 * torch.arange(b, dtype=torch.float32).view(b, 1, 1, 1)
    features = NeckFeatures(
        s2=torch.full((b, CH, h // 4, w // 4), 2.0) + offset,
        s3=torch.full((b, CH, h // 8, w // 8), 3.0) + offset,
        s4=torch.full((b, CH, h // 16, w // 16), 4.0) + offset,
    )
    sides = [16.0, 100.0, 111.0, 113.0, 200.0, 223.0, 225.0, 400.0]
    expected_level = [2, 2, 2, 3, 3, 3, 4, 4]  # FPN rule, canonical 224 at s4, clamped
    boxes = torch.tensor([[50.0, 50.0, 50.0 + s, 50.0 + s] for s in sides])
    head = RoIHead(in_channels=CH, fc_dim=16)
    pooled = head.pool(features, boxes.expand(b, -1, -1).contiguous())
    assert pooled.shape == (b * len(sides), CH, 7, 7)
    got = pooled.view(b, len(sides), -1).mean(-1)
    expected = torch.tensor(expected_level, dtype=torch.float32)[None, :] + offset.view(b, 1)
    torch.testing.assert_close(got, expected)


def test_default_initialisation():
    head = RoIHead(in_channels=CH)
    assert head.fc6.in_features == CH * 49 and head.fc6.out_features == 1024
    assert head.fc7.out_features == 1024
    for layer, std in [
        (head.bbox3d_pred, 0.001),
        (head.bbox2d_pred, 0.001),
        (head.depth_log_sigma_pred, 0.001),
        (head.yaw_resi_pred, 0.001),
        (head.yaw_logit_pred, 0.001),
        (head.category_pred, 0.01),
    ]:
        assert abs(layer.weight.std().item() / std - 1) < 0.1
        assert not layer.bias.any()
    assert head.bbox3d_pred.out_features == 4 * 6 and head.yaw_logit_pred.out_features == 4 * 12


def test_bfloat16_autocast_and_gradients():
    g = torch.Generator().manual_seed(1)
    features = _features(1, 64, 64, g)
    proposals = torch.tensor([[[0.0, 0.0, 30.0, 30.0], [8.0, 8.0, 60.0, 50.0]]])
    head = RoIHead(in_channels=CH, fc_dim=32)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = head(features, proposals, _calib(1))
    assert out.category_logit.dtype == torch.bfloat16
    (out.category_logit.float().sum() + out.bbox3d_logit.float().sum()).backward()
    assert head.fc6.weight.grad is not None and torch.isfinite(head.fc6.weight.grad).all()
    assert torch.isfinite(head.geometry_fc1.weight.grad).all()


def test_geometry_reaches_only_the_3d_outputs():
    """Moving the camera (cx) changes the 3D logit and depth uncertainty, nothing else; the
    head without geometry ignores the camera."""
    g = torch.Generator().manual_seed(2)
    features = _features(1, 64, 96, g)
    proposals = torch.tensor([[[4.0, 4.0, 40.0, 30.0], [10.0, 0.0, 90.0, 60.0]]])
    moved = _calib(1).clone()
    moved[:, 0, 2] += 20.0
    for geometry in (True, False):
        head = RoIHead(in_channels=CH, fc_dim=32, geometry=geometry).eval()
        torch.nn.init.normal_(head.bbox3d_pred.weight)  # visible differences
        torch.nn.init.normal_(head.depth_log_sigma_pred.weight)
        with torch.no_grad():
            a, b = head(features, proposals, _calib(1)), head(features, proposals, moved)
        for name in ("category_logit", "bbox2d_logit", "yaw_logit", "yaw_resi"):
            torch.testing.assert_close(a.as_dict()[name], b.as_dict()[name])
        for name in ("bbox3d_logit", "depth_log_sigma"):
            assert (a.as_dict()[name] != b.as_dict()[name]).any() == geometry


def test_refined_geometry_reads_the_heads_own_2d_deltas():
    """geometry_source='refined': the 3D branch sees the proposal moved by the class deltas
    averaged with the object-class probabilities; 'proposal' ignores the deltas."""
    g = torch.Generator().manual_seed(3)
    features = _features(1, 64, 96, g)
    proposals = torch.tensor([[[4.0, 4.0, 40.0, 30.0], [10.0, 0.0, 90.0, 60.0]]])
    refined = RoIHead(in_channels=CH, fc_dim=32, geometry_source="refined").eval()
    plain = RoIHead(in_channels=CH, fc_dim=32, geometry_source="proposal").eval()
    plain.load_state_dict(refined.state_dict())
    with torch.no_grad():
        zero = refined(features, proposals, _calib(1))  # deltas ~0: the same as the proposal
        torch.testing.assert_close(
            zero.bbox3d_logit,
            plain(features, proposals, _calib(1)).bbox3d_logit,
            rtol=1e-3,
            atol=1e-5,
        )
        torch.nn.init.normal_(refined.bbox2d_pred.weight, std=0.5)
        out = refined(features, proposals, _calib(1))
        weight = torch.softmax(out.category_logit, -1)[..., 1:]
        weight = weight / weight.sum(-1, keepdim=True)
        deltas = (weight[..., None] * out.bbox2d_logit[:, :, 1:]).sum(2)
        expected = decode_box2d(deltas, proposals, (10.0, 10.0, 5.0, 5.0))
        torch.testing.assert_close(
            refined.refined_boxes(proposals, out.category_logit, out.bbox2d_logit), expected
        )
        assert not torch.allclose(out.bbox3d_logit, zero.bbox3d_logit)


def test_unknown_geometry_source_is_named():
    import pytest

    with pytest.raises(ValueError, match="geometry_source"):
        RoIHead(in_channels=CH, geometry_source="anchor")


def test_pool_3d_refined_reads_the_crop_of_the_refined_box():
    """pool_3d='refined': category and 2D deltas still read the proposal's crop; the 3D,
    uncertainty and yaw outputs read the crop of the refined box, which is the proposal's
    own while the deltas are zero."""
    g = torch.Generator().manual_seed(4)
    features = _features(1, 64, 96, g)
    proposals = torch.tensor([[[4.0, 4.0, 40.0, 30.0], [10.0, 0.0, 90.0, 60.0]]])
    second = RoIHead(in_channels=CH, fc_dim=32, pool_3d="refined").eval()
    plain = RoIHead(in_channels=CH, fc_dim=32, pool_3d="proposal").eval()
    torch.nn.init.zeros_(second.bbox2d_pred.weight)
    plain.load_state_dict(second.state_dict())
    calib = _calib(1)
    with torch.no_grad():
        a, b = second(features, proposals, calib), plain(features, proposals, calib)
        for name in a.as_dict():
            torch.testing.assert_close(a.as_dict()[name], b.as_dict()[name])
        torch.nn.init.normal_(second.bbox2d_pred.weight, std=0.5)
        plain.load_state_dict(second.state_dict())
        a, b = second(features, proposals, calib), plain(features, proposals, calib)
        for name in ("category_logit", "bbox2d_logit"):
            torch.testing.assert_close(a.as_dict()[name], b.as_dict()[name])
        for name in ("bbox3d_logit", "depth_log_sigma", "yaw_logit", "yaw_resi"):
            assert not torch.allclose(a.as_dict()[name], b.as_dict()[name]), name
        # the same as pooling the refined boxes with the plain head
        boxes = second.refined_boxes(proposals, a.category_logit, a.bbox2d_logit)
        c = plain(features, boxes, calib)
        torch.testing.assert_close(a.yaw_logit, c.yaw_logit)


def test_unknown_pool_3d_is_named():
    import pytest

    with pytest.raises(ValueError, match="pool_3d"):
        RoIHead(in_channels=CH, pool_3d="anchor")


@given(inputs=head_inputs(), data=st.data())
def test_rows_3d_pool_again_only_those_rows(inputs, data):
    """rows_3d (b, P): those rows' 3D, uncertainty and yaw outputs are the ones of pooling
    every row again; with a shared tower the other rows' are the proposal-crop head's;
    category and 2D deltas never change (shared and separate tower)."""
    features, proposals, calib = inputs
    b, nhd = proposals.shape[:2]
    p = data.draw(st.integers(0, nhd))
    rows = torch.stack([torch.randperm(nhd, generator=torch.Generator().manual_seed(i))[:p]
                        for i in range(b)])  # fmt: skip
    torch.manual_seed(0)
    second = RoIHead(in_channels=CH, fc_dim=16, pool_3d="refined", tower_3d="shared").eval()
    torch.nn.init.normal_(second.bbox2d_pred.weight, std=0.1)
    plain = RoIHead(in_channels=CH, fc_dim=16, pool_3d="proposal", tower_3d="shared").eval()
    plain.load_state_dict(second.state_dict())
    with torch.no_grad():
        some = second(features, proposals, calib, rows_3d=rows).as_dict()
        every = second(features, proposals, calib).as_dict()
        none = plain(features, proposals, calib).as_dict()
    chosen = torch.zeros(b, nhd, dtype=torch.bool).scatter(1, rows, True)
    for name in ("category_logit", "bbox2d_logit"):
        torch.testing.assert_close(some[name], every[name])
    for name in ("bbox3d_logit", "depth_log_sigma", "yaw_logit", "yaw_resi"):
        torch.testing.assert_close(some[name][chosen], every[name][chosen])
        torch.testing.assert_close(some[name][~chosen], none[name][~chosen])
    separate = RoIHead(in_channels=CH, fc_dim=16, pool_3d="refined").eval()
    separate.load_state_dict(second.state_dict(), strict=False)
    with torch.no_grad():
        some = separate(features, proposals, calib, rows_3d=rows).as_dict()
        every = separate(features, proposals, calib).as_dict()
    for name in ("category_logit", "bbox2d_logit"):
        torch.testing.assert_close(some[name], every[name])
    for name in ("bbox3d_logit", "depth_log_sigma", "yaw_logit", "yaw_resi"):
        torch.testing.assert_close(some[name][chosen], every[name][chosen])
