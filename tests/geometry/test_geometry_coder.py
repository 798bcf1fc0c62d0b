"""The BoxCoder: encode and decode round-trip for either depth reference, the reported box is
the refined one (or the proposal), bad settings and bad tensors are named."""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from mono3d.contracts import ContractError, checks_enabled
from mono3d.contracts.testing import (
    boxes2d,
    boxes3d,
    calibs,
    generators,
    image_sizes,
    padded_hw,
    yaws,
)
from mono3d.geometry import (
    DEFAULT_REFINE_WEIGHTS,
    BoxCoder,
    decode_box2d,
    decode_box3d,
    priors_tensor,
    wrap_angle,
)

PRIORS = ((1.53, 1.63, 3.88), (1.76, 0.66, 0.84), (1.74, 0.60, 1.76))


@st.composite
def scenes(draw):
    """float64 (box2d, bbox3d, rotation_y, category, proposals, calib, image_size)."""
    b, m = draw(st.integers(1, 3)), draw(st.integers(0, 8))
    h, w = draw(padded_hw(max_side=1280))
    size = draw(image_sizes(b, h, w))
    g = draw(generators())
    proposals = draw(boxes2d(b, m, size, min_side=4.0)).double()
    # the object's box: the proposal with each edge moved by up to 20 % of its side (the
    # refinement's range; decoding clamps dw, dh at log(1000 / 16) as torchvision does)
    side = (proposals[..., 2:] - proposals[..., :2]).repeat(1, 1, 2)
    box2d = proposals + 0.2 * side * (torch.rand(b, m, 4, generator=g, dtype=torch.float64) - 0.5)
    category = torch.randint(1, 4, (b, m), generator=g)
    calib = draw(calibs(b, h, w)).double()
    return (
        box2d,
        draw(boxes3d(b, m)).double(),
        draw(yaws(b, m))[..., 0].double(),
        category,
        proposals,
        calib,
        size,
    )


@given(scenes(), st.sampled_from(["box2d", "proposal"]), st.integers(1, 12))
def test_encode_then_decode_gives_the_object_back(scene, reference, bins):
    box2d, bbox3d, ry, category, proposals, calib, _ = scene
    coder = BoxCoder(priors=PRIORS, num_bins=bins, depth_reference=reference)
    deltas, logit, yaw_bin, yaw_resi = coder.encode(box2d, bbox3d, ry, category, proposals, calib)
    refined = coder.decode_box2d(deltas, proposals)
    torch.testing.assert_close(refined, box2d, rtol=1e-6, atol=1e-6)
    b, m = category.shape
    yaw_logit = torch.nn.functional.one_hot(yaw_bin, bins).double()
    resi = yaw_resi[..., None].expand(b, m, bins).contiguous()
    bbox3d_back, _alpha, ry_back = coder.decode(
        refined, logit, yaw_logit, resi, category, proposals, calib
    )
    torch.testing.assert_close(bbox3d_back, bbox3d, rtol=1e-6, atol=1e-6)
    assert (wrap_angle(ry_back - ry).abs() < 1e-6).all()
    # the logit is relative to the chosen reference box, and to nothing else
    box = box2d if reference == "box2d" else proposals
    prior = priors_tensor(PRIORS).double()[category]
    torch.testing.assert_close(decode_box3d(logit, box, prior, calib), bbox3d, rtol=1e-6, atol=1e-6)


@given(scenes())
def test_the_reported_box_is_refined_and_clipped_or_the_proposal(scene):
    _, _, _, _, proposals, _, size = scene
    deltas = torch.randn(proposals.shape, dtype=torch.float64)
    refining = BoxCoder(priors=PRIORS, num_bins=12)
    expected = decode_box2d(deltas, proposals, DEFAULT_REFINE_WEIGHTS)
    torch.testing.assert_close(refining.decode_box2d(deltas, proposals), expected)
    clipped = refining.decode_box2d(deltas, proposals, size)
    limits = size.flip(-1).repeat(1, 2)[:, None, :].double()
    assert ((clipped >= 0) & (clipped <= limits)).all()
    plain = BoxCoder(priors=PRIORS, num_bins=12, refine_box2d=False, depth_reference="proposal")
    assert torch.equal(plain.decode_box2d(deltas, proposals, size), proposals)


def test_priors_are_a_buffer_with_a_background_row():
    coder = BoxCoder(priors=PRIORS, num_bins=12)
    assert coder.num_categories == 4 and coder.priors.shape == (4, 3)
    assert coder.priors[0].tolist() == [1.0, 1.0, 1.0]
    assert "priors" not in coder.state_dict()  # derived from the config, not learnt
    assert coder.to(torch.float64).priors.dtype == torch.float64


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_bins": 0}, "num_bins"),
        ({"refine_weights": (1.0, 1.0, 0.0, 1.0)}, "refine_weights"),
        ({"refine_weights": (1.0, 1.0)}, "refine_weights"),
        ({"depth_reference": "centre"}, "depth_reference"),
        ({"refine_box2d": False}, "needs refine_box2d"),
        ({"priors": ((1.5, 0.0, 3.9),)}, "positive"),
        ({"priors": ((1.5, 3.9),)}, "triples"),
    ],
)
def test_bad_settings_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BoxCoder(**({"priors": PRIORS, "num_bins": 12} | kwargs))


@pytest.mark.skipif(not checks_enabled(), reason="MONO3D_CHECKS=0: nothing is checked")
def test_wrong_shapes_name_the_tensor():
    coder = BoxCoder(priors=PRIORS, num_bins=12)
    calib = torch.eye(3, 4).expand(2, 3, 4)
    boxes = torch.zeros(2, 5, 4)
    with pytest.raises(ContractError, match="parameter 'bbox3d'"):
        coder.encode(
            boxes,
            torch.zeros(2, 5, 7),
            torch.zeros(2, 5),
            torch.ones(2, 5, dtype=torch.long),
            boxes,
            calib,
        )
    with pytest.raises(ContractError, match="parameter 'category'"):
        coder.encode(boxes, torch.zeros(2, 5, 6), torch.zeros(2, 5), torch.ones(2, 5), boxes, calib)
    with pytest.raises(ContractError, match="parameter 'yaw_resi'"):
        coder.decode(
            boxes,
            torch.zeros(2, 5, 6),
            torch.zeros(2, 5, 12),
            torch.zeros(2, 5, 11),
            torch.ones(2, 5, dtype=torch.long),
            boxes,
            calib,
        )
