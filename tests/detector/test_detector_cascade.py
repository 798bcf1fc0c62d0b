"""The 3D branch's second 2D refinement composed (``head.refine_3d`` with the coder's
``depth_reference: cascade``): its loss term, the depth NLL against the box the depth is
decoded from, post-processing decoding against that box, and the settings checked."""

import math

import pydantic
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from mono3d.auxi import select_class_from_prediction
from mono3d.contracts import HeadOutput
from mono3d.contracts.testing import boxes2d, calibs, image_sizes
from mono3d.detector import DetectorConfig, build_criterion, build_detector, postprocess
from mono3d.geometry import DEFAULT_REFINE_WEIGHTS_3D, BoxCoder

PRIORS = ((1.53, 1.63, 3.88), (1.76, 0.66, 0.84), (1.74, 0.60, 1.76))
CASCADE = {"head": {"fc_dim": 64, "refine_3d": True}, "coder": {"depth_reference": "cascade"}}


def _step(config, images, gt, second_dh=0.0):
    """One training forward and its losses; ``second_dh`` is added to the bias of every
    class's second dh (the second box then differs from the first clearly)."""
    torch.manual_seed(0)
    detector = build_detector(config).train()
    if second_dh:
        with torch.no_grad():
            detector.head.bbox2d_3d_pred.bias.view(-1, 4)[:, 3] += second_dh
    criterion = build_criterion(config, detector.coder)
    out = detector(images, gt, generator=torch.Generator().manual_seed(1))
    return detector, out, criterion(out, gt, images)


def test_the_second_refinement_is_the_ninth_loss_term(small_config, scene):
    images, gt = scene(1, 128, 416, 3)
    base = {"proposal_targets": {"min_height_3d": 0}}
    _, _, plain = _step(small_config(**base), images, gt)
    assert plain.box2d_refine_3d.item() == 0.0  # no second refinement: the term is 0
    detector, out, loss = _step(small_config(**base, **CASCADE), images, gt)
    assert math.isfinite(loss.box2d_refine_3d.item()) and loss.box2d_refine_3d.item() > 0
    loss.box2d_refine_3d.backward()
    assert detector.head.bbox2d_3d_pred.weight.grad.abs().sum() > 0
    assert detector.head.bbox2d_pred.weight.grad is None  # the first stage is not pulled
    # its target: the matched box against the pooled box, with Cascade R-CNN's weights
    aligned = out.auxi.gt_aligned
    selected = select_class_from_prediction(out.head, aligned)
    target = detector.coder.encode_box2d_3d(aligned.bbox2d, out.head.box_3d)
    assert detector.coder.refine_weights_3d == DEFAULT_REFINE_WEIGHTS_3D
    positive = aligned.object3d == 1
    error = torch.nn.functional.smooth_l1_loss(
        torch.where(positive, selected.bbox2d_logit_3d.float(), 0.0),
        torch.where(positive, target, 0.0),
        reduction="sum",
        beta=1 / 9,
    )
    sampled = ((aligned.object3d == 0) | positive).sum().clamp(min=1)
    torch.testing.assert_close(loss.box2d_refine_3d, error / sampled)
    weighed = small_config(**base, **CASCADE, loss={"weights": {"box2d_refine_3d": 0}})
    _, _, off = _step(weighed, images, gt)
    torch.testing.assert_close(off.total, loss.total - loss.box2d_refine_3d)


@pytest.mark.parametrize("reference", ["box2d", "cascade"])
def test_the_depth_nll_reads_the_depth_decoded_against_the_reference_box(
    small_config, scene, reference
):
    images, gt = scene(2, 128, 416, 3, seed=2)
    config = small_config(
        head={"fc_dim": 64, "refine_3d": True},
        coder={"depth_reference": reference},
        proposal_targets={"min_height_3d": 0},
    )
    detector, out, loss = _step(config, images, gt, second_dh=2.0)  # x exp(0.2) in height
    aligned, coder = out.auxi.gt_aligned, detector.coder
    selected = select_class_from_prediction(out.head, aligned)
    proposals = out.rpn.bbox2d
    reported = coder.decode_box2d(selected.bbox2d_logit.float(), proposals)
    box = coder.reference_box(reported, proposals, out.head.box_3d, selected.bbox2d_logit_3d)
    height = box[..., 3] - box[..., 1]
    fy, prior_h = images.calib[:, 1, 1][:, None], coder.prior(aligned.category[..., 0])[..., 0]
    log_depth = selected.bbox3d_logit[..., 2].float() + torch.log(fy * prior_h / height)
    residual = log_depth - torch.log(aligned.bbox3d[..., 2])
    s = selected.depth_log_sigma[..., 0].float().clamp(-7, 7)
    nll = math.sqrt(2) * residual.abs() * torch.exp(-s) + s
    positive = aligned.object3d[..., 0] == 1
    expected = torch.where(positive, nll, 0.0).sum() / positive.sum()
    torch.testing.assert_close(loss.depth_uncertainty, expected, rtol=1e-4, atol=1e-5)
    if reference == "cascade":  # the first refinement's box would give another loss
        first = torch.log(fy * prior_h / (reported[..., 3] - reported[..., 1]))
        other = (selected.bbox3d_logit[..., 2].float() + first) - torch.log(aligned.bbox3d[..., 2])
        nll = math.sqrt(2) * other.abs() * torch.exp(-s) + s
        assert abs(torch.where(positive, nll, 0.0).sum() / positive.sum() - expected) > 1e-2


def _one_car(second_dh: float) -> tuple[HeadOutput, torch.Tensor]:
    """One proposal, certainly a car, no first refinement; the second one scales its height
    by exp(second_dh / wh)."""
    proposals = torch.tensor([[[100.0, 40.0, 160.0, 80.0]]])
    category_logit = torch.tensor([[[-10.0, 10.0, -10.0, -10.0]]])
    second = torch.zeros(1, 1, 4, 4)
    second[..., 3] = second_dh
    head = HeadOutput(
        bbox3d_logit=torch.zeros(1, 1, 4, 6),
        yaw_resi=torch.zeros(1, 1, 4, 12),
        yaw_logit=torch.zeros(1, 1, 4, 12),
        category_logit=category_logit,
        bbox2d_logit=torch.zeros(1, 1, 4, 4),
        depth_log_sigma=torch.full((1, 1, 4), -3.0),
        box_3d=proposals.clone(),
        bbox2d_logit_3d=second,
    )
    return head, proposals


def test_postprocessing_decodes_depth_against_the_second_refinement():
    calib = torch.tensor([[[700.0, 0, 200, 0], [0, 700, 60, 0], [0, 0, 1, 0]]])
    wh = DEFAULT_REFINE_WEIGHTS_3D[3]
    head, proposals = _one_car(wh * math.log(2.0))  # the second box is twice as tall
    valid = torch.ones(1, 1, dtype=torch.bool)
    depth = {}
    for reference in ("box2d", "cascade"):
        coder = BoxCoder(priors=PRIORS, num_bins=12, depth_reference=reference)
        det = postprocess(head, proposals, valid, calib, coder, detections_per_image=3)
        assert int(det.valid.sum()) == 1
        depth[reference] = det.bbox3d[0, 0, 2].item()
        # the reported 2D box is the first refinement's either way
        torch.testing.assert_close(det.bbox2d[0, 0], proposals[0, 0])
    assert depth["box2d"] == pytest.approx(700 * 1.53 / 40)
    assert depth["cascade"] == pytest.approx(depth["box2d"] / 2)
    # a head without the second refinement cannot be decoded against it
    plain = HeadOutput(**(head.as_dict() | {"box_3d": None, "bbox2d_logit_3d": None}))
    cascade = BoxCoder(priors=PRIORS, num_bins=12, depth_reference="cascade")
    with pytest.raises(ValueError, match="second refinement"):
        postprocess(plain, proposals, valid, calib, cascade)


@given(data=st.data(), b=st.integers(1, 2), nhd=st.integers(1, 20), k=st.integers(1, 40))
def test_detections_are_well_formed(data, b, nhd, k):
    size = data.draw(image_sizes(b, 96, 160))
    proposals = data.draw(boxes2d(b, nhd, size))
    calib = data.draw(calibs(b, 96, 160))
    g = torch.Generator().manual_seed(nhd)
    head = HeadOutput(
        bbox3d_logit=torch.randn(b, nhd, 4, 6, generator=g) * 0.1,
        yaw_resi=torch.rand(b, nhd, 4, 12, generator=g) * 2 - 1,
        yaw_logit=torch.randn(b, nhd, 4, 12, generator=g),
        category_logit=torch.randn(b, nhd, 4, generator=g),
        bbox2d_logit=torch.randn(b, nhd, 4, 4, generator=g) * 0.1,
        depth_log_sigma=torch.randn(b, nhd, 4, generator=g) - 2.0,
        box_3d=proposals.clone(),
        bbox2d_logit_3d=torch.randn(b, nhd, 4, 4, generator=g) * 0.1,
    )
    coder = BoxCoder(priors=PRIORS, num_bins=12, depth_reference="cascade")
    valid = torch.rand(b, nhd, generator=g) < 0.8
    det = postprocess(head, proposals, valid, calib, coder, image_size=size, detections_per_image=k)
    assert det.bbox3d.shape == (b, k, 6) and det.valid.shape == (b, k)
    assert ((det.score >= 0) & (det.score <= 1)).all()
    assert torch.isfinite(det.bbox3d).all()
    assert (det.bbox3d[~det.valid] == 0).all()
    assert (det.bbox3d[..., 2][det.valid] > 0).all()


def test_the_cascade_reference_needs_the_second_refinement(small_config, scene):
    with pytest.raises(pydantic.ValidationError, match=r"head\.refine_3d"):
        DetectorConfig.model_validate({"coder": {"depth_reference": "cascade"}})
    with pytest.raises(pydantic.ValidationError, match="pool_3d"):
        DetectorConfig.model_validate({"head": {"refine_3d": True, "pool_3d": "proposal"}})
    # composed by hand: a criterion with a cascade coder and a head without the outputs
    images, gt = scene(1, 128, 416, 2)
    config = small_config()
    torch.manual_seed(0)
    detector = build_detector(config).train()
    criterion = build_criterion(small_config(**CASCADE))
    out = detector(images, gt, generator=torch.Generator().manual_seed(1))
    with pytest.raises(ValueError, match="second 2D refinement"):
        criterion(out, gt, images)
