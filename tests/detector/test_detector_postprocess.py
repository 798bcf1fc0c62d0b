"""Post-processing: static shapes, thresholds, per-class NMS on the refined boxes, exact
2D/3D/yaw decoding through the coder, 2D and 3D scores."""

import math

import torch
from hypothesis import given
from hypothesis import strategies as st

from mono3d.contracts import HeadOutput
from mono3d.contracts.testing import boxes2d, boxes3d, calibs, image_sizes, yaws
from mono3d.detector import postprocess
from mono3d.geometry import BoxCoder, alpha_from_rotation_y, encode_box2d, encode_yaw

PRIORS = torch.tensor([[1.0, 1.0, 1.0], [1.53, 1.63, 3.88], [1.76, 0.66, 0.84], [1.74, 0.60, 1.76]])
CODER = BoxCoder(priors=PRIORS[1:].tolist(), num_bins=12)
#: reports the proposals and encodes against them: the post-processing before refinement
PROPOSAL_CODER = BoxCoder(
    priors=PRIORS[1:].tolist(), num_bins=12, refine_box2d=False, depth_reference="proposal"
)


def head_output(b, nhd, c=4, bins=12, category_logit=None, seed=0):
    g = torch.Generator().manual_seed(seed)
    return HeadOutput(
        bbox3d_logit=torch.randn(b, nhd, c, 6, generator=g) * 0.1,
        yaw_resi=torch.rand(b, nhd, c, bins, generator=g) * 2 - 1,
        yaw_logit=torch.randn(b, nhd, c, bins, generator=g),
        category_logit=category_logit
        if category_logit is not None
        else torch.randn(b, nhd, c, generator=g),
        bbox2d_logit=torch.randn(b, nhd, c, 4, generator=g) * 0.1,
        depth_log_sigma=torch.randn(b, nhd, c, generator=g) - 2.0,
    )


@given(
    data=st.data(),
    b=st.integers(1, 3),
    nhd=st.integers(1, 40),
    k=st.integers(1, 150),
    score=st.sampled_from(["2d", "3d"]),
    coder=st.sampled_from([CODER, PROPOSAL_CODER]),
)
def test_detections_are_well_formed(data, b, nhd, k, score, coder):
    size = data.draw(image_sizes(b, 96, 160))
    proposals = data.draw(boxes2d(b, nhd, size))
    valid = torch.rand(b, nhd) < 0.8
    calib = data.draw(calibs(b, 96, 160))
    head = head_output(b, nhd)
    det = postprocess(
        head, proposals, valid, calib, coder, image_size=size, detections_per_image=k, score=score
    )
    assert det.bbox2d.shape == (b, k, 4) and det.valid.shape == (b, k)
    assert (det.valid.sum(1) <= valid.sum(1) * 3).all()
    scores = torch.where(det.valid, det.score, torch.full_like(det.score, -1))
    assert (scores[:, :-1] >= scores[:, 1:]).all(), "valid rows come first, by decreasing score"
    assert ((det.score >= 0) & (det.score <= 1)).all()
    if score == "2d":
        assert (det.score[det.valid] > 0.05).all()
    assert ((det.category[det.valid] >= 1) & (det.category[det.valid] <= 3)).all()
    assert torch.isfinite(det.bbox3d).all() and torch.isfinite(det.yaw).all()
    assert (det.bbox2d[~det.valid] == 0).all() and (det.category[~det.valid] == 0).all()
    limits = size.flip(-1).repeat(1, 2)[:, None, :].float()  # refined boxes stay in the image
    assert ((det.bbox2d >= 0) & (det.bbox2d <= limits)).all()


def test_the_3d_score_is_the_class_probability_times_the_depth_confidence():
    """One candidate: score 3d = p * exp(-z * sigma), 2d = p; a more certain depth wins."""
    proposals = torch.tensor([[[10.0, 10.0, 50.0, 50.0], [100.0, 10.0, 140.0, 50.0]]])
    logits = torch.full((1, 2, 4), -10.0)
    logits[0, 0, 1], logits[0, 1, 1] = 5.0, 4.0  # p(car): first higher
    head = head_output(1, 2, category_logit=logits)
    log_sigma = torch.full((1, 2, 4), -1.0)
    log_sigma[0, 1, 1] = -4.0  # the second car's depth is far more certain
    head = HeadOutput(**(head.as_dict() | {"depth_log_sigma": log_sigma}))
    calib = torch.tensor([[[700.0, 0, 80, 0], [0, 700.0, 40, 0], [0, 0, 1, 0]]])
    valid = torch.ones(1, 2, dtype=torch.bool)
    two = postprocess(head, proposals, valid, calib, CODER, score="2d")
    three = postprocess(head, proposals, valid, calib, CODER, score="3d")
    p = torch.softmax(logits[0], -1)[:, 1]
    assert two.valid.sum() == three.valid.sum() == 2  # the same candidates pass either way
    torch.testing.assert_close(two.score[0, :2], p)
    z = three.bbox3d[0, :2, 2]
    expected = p.flip(0) * torch.exp(-z * torch.exp(torch.tensor([-4.0, -1.0])))
    torch.testing.assert_close(three.score[0, :2], expected)  # the certain car ranks first
    assert three.bbox2d[0, 0, 0] > 90


def test_background_only_gives_no_detection():
    b, nhd = 2, 10
    logits = torch.full((b, nhd, 4), -10.0)
    logits[..., 0] = 10.0
    proposals = torch.tensor([10.0, 10.0, 50.0, 60.0]).expand(b, nhd, 4)
    calib = torch.tensor([[700.0, 0, 80, 0], [0, 700.0, 40, 0], [0, 0, 1, 0]]).expand(b, 3, 4)
    det = postprocess(
        head_output(b, nhd, category_logit=logits),
        proposals,
        torch.ones(b, nhd, dtype=torch.bool),
        calib,
        CODER,
    )
    assert det.valid.shape == (2, 100) and not det.valid.any()


def test_per_class_nms():
    proposals = torch.tensor(
        [[[10.0, 10.0, 50.0, 50.0], [11.0, 11.0, 51.0, 51.0], [100.0, 10.0, 140.0, 50.0]]]
    )
    logits = torch.full((1, 3, 4), -10.0)
    logits[0, 0, 1] = 5.0  # car
    logits[0, 1, 1] = 4.0  # overlapping car: suppressed
    logits[0, 1, 2] = 4.5  # same box as pedestrian: another class, kept
    logits[0, 2, 1] = 3.0  # far car: kept
    calib = torch.tensor([[[700.0, 0, 80, 0], [0, 700.0, 40, 0], [0, 0, 1, 0]]])
    det = postprocess(
        head_output(1, 3, category_logit=logits),
        proposals,
        torch.ones(1, 3, dtype=torch.bool),
        calib,
        PROPOSAL_CODER,
        score="2d",
    )
    kept = {
        (int(c), tuple(bx.tolist()))
        for c, bx in zip(det.category[det.valid], det.bbox2d[det.valid])
    }
    assert kept == {
        (1, (10.0, 10.0, 50.0, 50.0)),
        (2, (11.0, 11.0, 51.0, 51.0)),
        (1, (100.0, 10.0, 140.0, 50.0)),
    }


def test_invalid_proposals_never_become_detections():
    proposals = torch.tensor([[[10.0, 10.0, 50.0, 50.0], [60.0, 10.0, 90.0, 50.0]]])
    logits = torch.full((1, 2, 4), -10.0)
    logits[0, :, 1] = 10.0
    calib = torch.tensor([[[700.0, 0, 80, 0], [0, 700.0, 40, 0], [0, 0, 1, 0]]])
    det = postprocess(
        head_output(1, 2, category_logit=logits),
        proposals,
        torch.tensor([[False, True]]),
        calib,
        PROPOSAL_CODER,
    )
    assert det.valid.sum() == 1
    assert det.bbox2d[det.valid].tolist() == [[60.0, 10.0, 90.0, 50.0]]


def test_rows_without_3d_outputs_never_become_detections():
    """``HeadOutput.has_3d`` (the head's ``rows_3d_inference``) masks rows like invalid
    proposals; the rows it keeps decode exactly as without the mask."""
    proposals = torch.tensor([[[10.0, 10.0, 50.0, 50.0], [60.0, 10.0, 90.0, 50.0]]])
    logits = torch.full((1, 2, 4), -10.0)
    logits[0, :, 1] = 10.0
    calib = torch.tensor([[[700.0, 0, 80, 0], [0, 700.0, 40, 0], [0, 0, 1, 0]]])
    valid = torch.ones(1, 2, dtype=torch.bool)
    head = head_output(1, 2, category_logit=logits)
    masked = HeadOutput(**(head.as_dict() | {"has_3d": torch.tensor([[False, True]])}))
    every = postprocess(head, proposals, valid, calib, CODER)
    some = postprocess(masked, proposals, valid, calib, CODER)
    assert every.valid.sum() == 2 and some.valid.sum() == 1
    kept = every.bbox2d[every.valid][:, 0] > 55  # the second proposal's detection
    torch.testing.assert_close(some.bbox3d[some.valid], every.bbox3d[every.valid][kept])
    torch.testing.assert_close(some.bbox2d[some.valid], every.bbox2d[every.valid][kept])


@given(
    data=st.data(),
    n=st.integers(1, 8),
    cls=st.integers(1, 3),
    coder=st.sampled_from([CODER, PROPOSAL_CODER]),
)
def test_decoding_recovers_the_encoded_box_and_yaw(data, n, cls, coder):
    """Targets encoded by the coder (from the object's 2D box) decode, through the
    post-processing, to the object's 2D box, 3D box and yaw."""
    b, c, bins = 1, 4, 12
    size = torch.tensor([[384, 1280]])
    calib = data.draw(calibs(b, 384, 1280)).double()
    box3d = data.draw(boxes3d(b, n)).double()
    ry = data.draw(yaws(b, n)).double()[..., 0]
    proposals = torch.sort(data.draw(boxes2d(b, n, size)).double().view(b, n, 2, 2), dim=2)[0].view(
        b, n, 4
    )
    # the object's 2D box: the proposal moved and resized a little (inside the image)
    shift = torch.tensor([2.0, -1.0, -3.0, 2.0], dtype=torch.float64)
    box2d = torch.minimum(
        torch.maximum(proposals + shift, proposals.new_zeros(4)),
        proposals.new_tensor([1280.0, 384.0] * 2),
    )
    box2d = torch.where(
        (box2d[..., 2:] - box2d[..., :2] > 1).all(-1, keepdim=True), box2d, proposals
    )
    if not coder.refine_box2d:
        box2d = proposals
    deltas, logit, yaw_bin, resi = coder.encode(
        box2d, box3d, ry, torch.full((b, n), cls), proposals, calib
    )
    alpha = alpha_from_rotation_y(ry, box3d[..., 0], box3d[..., 2])
    torch.testing.assert_close(encode_yaw(alpha, bins)[0], yaw_bin)
    assert torch.equal(deltas, encode_box2d(box2d, proposals, coder.refine_weights))
    head = head_output(b, n, c, bins)
    category_logit = torch.full((b, n, c), -20.0, dtype=torch.float64)
    category_logit[..., cls] = 20.0
    bbox3d_logit = head.bbox3d_logit.double().clone()
    bbox3d_logit[:, :, cls] = logit
    bbox2d_logit = head.bbox2d_logit.double().clone()
    bbox2d_logit[:, :, cls] = deltas
    yaw_logit = torch.full((b, n, c, bins), -5.0, dtype=torch.float64)
    yaw_logit[0, torch.arange(n), cls, yaw_bin[0]] = 5.0
    yaw_resi = torch.zeros(b, n, c, bins, dtype=torch.float64)
    yaw_resi[0, torch.arange(n), cls, yaw_bin[0]] = resi[0]
    head = HeadOutput(
        bbox3d_logit=bbox3d_logit,
        yaw_resi=yaw_resi,
        yaw_logit=yaw_logit,
        category_logit=category_logit,
        bbox2d_logit=bbox2d_logit,
        depth_log_sigma=head.depth_log_sigma.double(),
    )
    det = postprocess(
        head, proposals, torch.ones(b, n, dtype=torch.bool), calib, coder, nms_thresh=1.0
    )
    assert int(det.valid.sum()) == n
    order = torch.cdist(det.bbox2d[det.valid].double(), box2d[0]).argmin(dim=1)
    torch.testing.assert_close(
        det.bbox2d[det.valid].double(), box2d[0, order], atol=1e-4, rtol=1e-6
    )
    torch.testing.assert_close(
        det.bbox3d[det.valid].double(), box3d[0, order], atol=1e-3, rtol=1e-4
    )
    diff = (
        torch.remainder(det.yaw[det.valid].double() - ry[0, order] + math.pi, 2 * math.pi) - math.pi
    )
    assert diff.abs().max() < 1e-4
    assert (det.category[det.valid] == cls).all()


def _cluster():
    """Two overlapping cars (IoU 0.9), a pedestrian on the same box and a car elsewhere."""
    proposals = torch.tensor(
        [[[10.0, 10.0, 50.0, 50.0], [11.0, 11.0, 51.0, 51.0], [100.0, 10.0, 140.0, 50.0]]]
    )
    logits = torch.full((1, 3, 4), -10.0)
    logits[0, 0, 1], logits[0, 1, 1] = 5.0, 4.0  # the second car is the first's duplicate
    logits[0, 1, 2] = 4.5  # a pedestrian on the duplicate's box: another class, no vote
    logits[0, 2, 1] = 3.0  # a lone car
    calib = torch.tensor([[[700.0, 0, 80, 0], [0, 700.0, 40, 0], [0, 0, 1, 0]]])
    return head_output(1, 3, category_logit=logits), proposals, calib


def test_box_voting_averages_each_detection_over_its_suppressed_duplicates():
    head, proposals, calib = _cluster()
    valid = torch.ones(1, 3, dtype=torch.bool)
    plain = postprocess(head, proposals, valid, calib, PROPOSAL_CODER, score="2d")
    voted = postprocess(head, proposals, valid, calib, PROPOSAL_CODER, score="2d", vote_iou=0.8)
    assert torch.equal(plain.valid, voted.valid) and torch.equal(plain.score, voted.score)
    assert torch.equal(plain.category, voted.category) and torch.equal(plain.alpha, voted.alpha)
    p = torch.softmax(head.category_logit[0], -1)
    w = torch.stack([p[0, 1], p[1, 1]])  # the two cars' scores weigh their boxes
    row = int((plain.bbox2d[0] == proposals[0, 0]).all(-1).nonzero()[0, 0])
    expected2d = (w[:, None] * proposals[0, :2]).sum(0) / w.sum()
    torch.testing.assert_close(voted.bbox2d[0, row], expected2d)
    bbox3d, _, _ = PROPOSAL_CODER.decode(
        proposals[:, :2],
        head.bbox3d_logit[:, :2, 1],
        head.yaw_logit[:, :2, 1],
        head.yaw_resi[:, :2, 1],
        torch.ones(1, 2, dtype=torch.int64),
        proposals[:, :2],
        calib,
    )
    torch.testing.assert_close(voted.bbox3d[0, row], (w[:, None] * bbox3d[0]).sum(0) / w.sum())
    # the lone car and the pedestrian have no duplicate of their class: unchanged
    others = plain.valid[0] & (torch.arange(plain.valid.shape[1]) != row)
    torch.testing.assert_close(voted.bbox2d[0, others], plain.bbox2d[0, others])
    torch.testing.assert_close(voted.bbox3d[0, others], plain.bbox3d[0, others])
    torch.testing.assert_close(voted.yaw[0, others], plain.yaw[0, others])
    # a threshold above the duplicates' overlap leaves every detection as it was
    strict = postprocess(head, proposals, valid, calib, PROPOSAL_CODER, score="2d", vote_iou=0.95)
    torch.testing.assert_close(strict.bbox3d, plain.bbox3d)
    torch.testing.assert_close(strict.bbox2d, plain.bbox2d)


def test_box_voting_ignores_candidates_that_are_not_allowed():
    head, proposals, calib = _cluster()
    valid = torch.tensor([[True, False, True]])  # the duplicate's proposal is padding
    plain = postprocess(head, proposals, valid, calib, PROPOSAL_CODER, score="2d")
    voted = postprocess(head, proposals, valid, calib, PROPOSAL_CODER, score="2d", vote_iou=0.5)
    torch.testing.assert_close(voted.bbox2d, plain.bbox2d)
    torch.testing.assert_close(voted.bbox3d, plain.bbox3d)


@given(
    data=st.data(),
    b=st.integers(1, 2),
    nhd=st.integers(1, 30),
    k=st.integers(1, 60),
    vote_iou=st.floats(0.3, 1.0),
)
def test_voted_detections_are_well_formed(data, b, nhd, k, vote_iou):
    size = data.draw(image_sizes(b, 96, 160))
    proposals = data.draw(boxes2d(b, nhd, size))
    valid = torch.rand(b, nhd) < 0.8
    calib = data.draw(calibs(b, 96, 160))
    head = head_output(b, nhd)
    kwargs = {"image_size": size, "detections_per_image": k}
    plain = postprocess(head, proposals, valid, calib, CODER, **kwargs)
    voted = postprocess(head, proposals, valid, calib, CODER, vote_iou=vote_iou, **kwargs)
    assert torch.equal(plain.valid, voted.valid) and torch.equal(plain.score, voted.score)
    assert torch.isfinite(voted.bbox3d).all() and torch.isfinite(voted.yaw).all()
    assert (voted.bbox2d[~voted.valid] == 0).all() and (voted.bbox3d[~voted.valid] == 0).all()
    limits = size.flip(-1).repeat(1, 2)[:, None, :].float()  # a mean of boxes in the image
    assert ((voted.bbox2d >= -1e-4) & (voted.bbox2d <= limits + 1e-3)).all()
    assert (voted.bbox3d[..., 3:][voted.valid] > 0).all()
