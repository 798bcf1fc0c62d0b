"""Wrong inputs fail at the RPN's boundary with a ContractError naming the argument."""

import pytest
import torch

from mono3d.contracts import ContractError, Images, NeckFeatures, checks
from mono3d.rpn import RPN, select_proposals

C = 8


def _features(b, h, w, c=C):
    return NeckFeatures(
        s2=torch.zeros(b, c, h // 4, w // 4),
        s3=torch.zeros(b, c, h // 8, w // 8),
        s4=torch.zeros(b, c, h // 16, w // 16),
    )


def _images(b, h, w):
    return Images(
        images=torch.rand(b, 3, h, w),
        calib=torch.zeros(b, 3, 4),
        image_size=torch.tensor([[h, w]] * b),
    )


@pytest.fixture(scope="module")
def rpn() -> RPN:
    return RPN(in_channels=C).eval()


def test_features_from_another_batch_size(rpn):
    with pytest.raises(ContractError) as info:
        rpn(_features(2, 64, 64), _images(3, 64, 64))
    assert str(info.value) == (
        "RPN.forward: parameter 'images.images': expected (b=2, 3, h, w) float, got "
        "(3, 3, 64, 64) float32; images.images has b=3, but b=2 was bound by features.s2 "
        "(2, 8, 16, 16)"
    )


def test_features_of_another_image_size(rpn):
    with pytest.raises(ContractError, match="features"):
        rpn(_features(1, 64, 96), _images(1, 64, 64))


def test_features_with_other_channels(rpn):
    with pytest.raises(ContractError, match=r"features.*in_channels=8"):
        rpn(_features(1, 64, 64, c=16), _images(1, 64, 64))


def test_the_feature_guard_follows_the_switch(rpn):
    # README: the guard asks checks_enabled(); with checks off torch's conv is what refuses
    with checks(False), pytest.raises(RuntimeError) as info:
        rpn(_features(1, 64, 64, c=16), _images(1, 64, 64))
    assert not isinstance(info.value, ContractError)


def test_a_raw_tensor_instead_of_images(rpn):
    with pytest.raises(ContractError, match="images"):
        rpn(_features(1, 64, 64), torch.rand(1, 3, 64, 64))


def test_odd_image_size_is_refused_by_the_bundle():
    with pytest.raises(ContractError, match=r"Images\.images.*multiples of 32"):
        _images(1, 65, 64)


def _select(**overrides):
    args = {
        "anchors": torch.tensor([[0.0, 0.0, 10.0, 10.0]] * 6),
        "object_logit": torch.zeros(2, 6, 1),
        "bbox2d_logit": torch.zeros(2, 6, 4),
        "image_size": torch.tensor([[32, 32], [32, 32]]),
    }
    args.update(overrides)
    return select_proposals(**args, anchors_per_level=[2, 2, 2], pre_nms_top_n=10, post_nms_top_n=4)


def test_select_proposals_contract():
    boxes, logit, valid = _select()
    assert boxes.shape == (2, 4, 4) and logit.shape == (2, 4, 1) and valid.shape == (2, 4)
    with pytest.raises(ContractError, match="bbox2d_logit"):
        _select(bbox2d_logit=torch.zeros(2, 6, 5))
    with pytest.raises(ContractError, match="object_logit"):
        _select(object_logit=torch.zeros(3, 6, 1))
    with pytest.raises(ContractError, match="image_size"):
        _select(image_size=torch.tensor([[32.0, 32.0], [32.0, 32.0]]))
    with pytest.raises(ContractError, match="anchors"):
        _select(anchors=torch.zeros(5, 4))
    with pytest.raises(ValueError, match="anchors_per_level"):
        select_proposals(
            torch.zeros(6, 4),
            torch.zeros(1, 6, 1),
            torch.zeros(1, 6, 4),
            torch.tensor([[32, 32]]),
            anchors_per_level=[2, 2],
            pre_nms_top_n=10,
            post_nms_top_n=4,
        )
