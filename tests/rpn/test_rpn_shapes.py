"""RPN outputs have the contract shapes; proposals are valid, clipped, sorted and padded."""

import torch
from hypothesis import given
from hypothesis import strategies as st

from mono3d.contracts import Images, NeckFeatures, RPNOutput
from mono3d.contracts.testing import generators, images_bundles, padded_hw
from mono3d.rpn import RPN

C = 8


def _neck_features(b: int, h: int, w: int, g: torch.Generator, c: int = C) -> NeckFeatures:
    return NeckFeatures(
        s2=torch.randn((b, c, h // 4, w // 4), generator=g),
        s3=torch.randn((b, c, h // 8, w // 8), generator=g),
        s4=torch.randn((b, c, h // 16, w // 16), generator=g),
    )


def _images(b: int, h: int, w: int, g: torch.Generator) -> Images:
    real = torch.tensor([[h - 7, w - 13]] * b)
    return Images(
        images=torch.rand((b, 3, h, w), generator=g),
        calib=torch.eye(3, 4).expand(b, 3, 4),
        image_size=real,
    )


@st.composite
def rpn_inputs(draw):
    b = draw(st.integers(1, 3))
    h, w = draw(padded_hw())
    images = draw(images_bundles(b, h, w))
    return images, _neck_features(b, h, w, draw(generators()))


@given(
    inputs=rpn_inputs(),
    training=st.booleans(),
    nhd=st.sampled_from([1, 50, 300, 4000]),
    seed=st.integers(0, 2**16),
)
def test_rpn_output_contract(inputs, training, nhd, seed):
    images, features = inputs
    b, _, h, w = images.images.shape
    torch.manual_seed(seed)
    rpn = RPN(
        in_channels=C,
        pre_nms_top_n_train=300,
        pre_nms_top_n_test=200,
        post_nms_top_n_train=nhd,
        post_nms_top_n_test=nhd,
    ).train(training)
    with torch.no_grad():  # a large weight spread gives a varied objectness ranking
        rpn.head.objectness.weight.normal_(std=1.0)
        rpn.head.deltas.weight.normal_(std=0.3)
    out = rpn(features, images)
    assert isinstance(out, RPNOutput)

    # N = sum over levels of h_l * w_l * A
    a = rpn.num_anchors_per_location
    n = sum((h // s) * (w // s) * a for s in (4, 8, 16))
    assert a == 6
    assert out.anchors.shape == (b, n, 4)
    assert out.bbox2d_logit.shape == (b, n, 4) and out.object_logit.shape == (b, n, 1)
    assert out.object_logit.requires_grad and out.bbox2d_logit.requires_grad
    assert out.bbox2d.shape == (b, nhd, 4) and out.bbox2d_object.shape == (b, nhd, 1)
    assert out.valid.shape == (b, nhd) and out.valid.dtype == torch.bool
    assert not out.bbox2d.requires_grad and not out.bbox2d_object.requires_grad

    valid = out.valid
    count = valid.sum(dim=1)
    # valid rows are a prefix; padded rows are zero and invalid
    prefix = torch.arange(nhd)[None, :] < count[:, None]
    assert torch.equal(valid, prefix)
    assert (count >= 1).all()  # random features always leave proposals
    assert (out.bbox2d[~valid] == 0).all() and (out.bbox2d_object[~valid] == 0).all()
    # inside each image's real size, with positive sides
    boxes = out.bbox2d
    limit = images.image_size.flip(-1).repeat(1, 2)[:, None, :].float()  # (w, h, w, h)
    assert (boxes >= 0).all() and (boxes <= limit).all()
    sides = boxes[..., 2:] - boxes[..., :2]
    assert (sides[valid] >= rpn.min_size).all()
    # sorted by objectness, best first
    logit = out.bbox2d_object[..., 0]
    decreasing = logit[:, :-1] >= logit[:, 1:]
    assert (decreasing | ~valid[:, 1:]).all()
    # never more than the candidates: 3 levels x pre_nms_top_n
    assert (count <= min(nhd, 3 * rpn.pre_nms_top_n)).all()


def test_return_type_and_nhd_follow_the_mode():
    g = torch.Generator().manual_seed(0)
    features = _neck_features(2, 64, 96, g)
    images = _images(2, 64, 96, g)
    rpn = RPN(in_channels=C, post_nms_top_n_train=40, post_nms_top_n_test=30)
    train_out = rpn.train()(features, images)
    test_out = rpn.eval()(features, images)
    assert type(train_out) is type(test_out) is RPNOutput
    assert train_out.bbox2d.shape == (2, 40, 4) and test_out.bbox2d.shape == (2, 30, 4)
    assert rpn.eval().num_proposals == 30 and rpn.train().num_proposals == 40


def test_no_surviving_box_gives_an_all_padded_output():
    g = torch.Generator().manual_seed(1)
    images = _images(2, 64, 64, g)
    rpn = RPN(in_channels=C, min_size=1000.0).eval()
    out = rpn(_neck_features(2, 64, 64, g), images)
    assert out.bbox2d.shape == (2, 300, 4)
    assert not out.valid.any() and (out.bbox2d == 0).all()


def test_bfloat16_autocast_keeps_proposals_float32():
    g = torch.Generator().manual_seed(2)
    images = _images(1, 64, 128, g)
    rpn = RPN(in_channels=C).eval()
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        out = rpn(_neck_features(1, 64, 128, g), images)
    assert out.object_logit.dtype == torch.bfloat16
    assert out.bbox2d.dtype == torch.float32 and out.anchors.dtype == torch.float32
    assert out.valid.any()


def test_channels_last_features():
    g = torch.Generator().manual_seed(3)
    images = _images(2, 64, 96, g)
    features = _neck_features(2, 64, 96, g)
    rpn = RPN(in_channels=C).eval()
    expected = rpn(features, images)
    rpn_cl = rpn.to(memory_format=torch.channels_last)
    got = rpn_cl(features.apply(lambda t: t.contiguous(memory_format=torch.channels_last)), images)
    torch.testing.assert_close(got.object_logit, expected.object_logit)
    torch.testing.assert_close(got.bbox2d_logit, expected.bbox2d_logit)
    torch.testing.assert_close(got.bbox2d, expected.bbox2d)
