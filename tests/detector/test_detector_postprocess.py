"""Post-processing: static shapes, thresholds, per-class NMS, exact 3D/yaw decoding."""

import math

import torch
from hypothesis import given
from hypothesis import strategies as st

from mono3d.contracts import HeadOutput
from mono3d.contracts.testing import boxes2d, boxes3d, calibs, image_sizes, yaws
from mono3d.detector import postprocess
from mono3d.geometry import alpha_from_rotation_y, encode_box3d, encode_yaw

PRIORS = torch.tensor([[1.0, 1.0, 1.0], [1.53, 1.63, 3.88], [1.76, 0.66, 0.84], [1.74, 0.60, 1.76]])


def head_output(b, nhd, c=4, bins=12, category_logit=None, seed=0):
    g = torch.Generator().manual_seed(seed)
    return HeadOutput(
        bbox3d_logit=torch.randn(b, nhd, c, 6, generator=g) * 0.1,
        yaw_resi=torch.rand(b, nhd, c, bins, generator=g) * 2 - 1,
        yaw_logit=torch.randn(b, nhd, c, bins, generator=g),
        category_logit=category_logit
        if category_logit is not None
        else torch.randn(b, nhd, c, generator=g),
    )


@given(data=st.data(), b=st.integers(1, 3), nhd=st.integers(1, 40), k=st.integers(1, 150))
def test_detections_are_well_formed(data, b, nhd, k):
    size = data.draw(image_sizes(b, 96, 160))
    proposals = data.draw(boxes2d(b, nhd, size))
    valid = torch.rand(b, nhd) < 0.8
    calib = data.draw(calibs(b, 96, 160))
    det = postprocess(head_output(b, nhd), proposals, valid, calib, PRIORS, detections_per_image=k)
    assert det.bbox2d.shape == (b, k, 4) and det.valid.shape == (b, k)
    assert (det.valid.sum(1) <= valid.sum(1) * 3).all()
    scores = torch.where(det.valid, det.score, torch.full_like(det.score, -1))
    assert (scores[:, :-1] >= scores[:, 1:]).all(), "valid rows come first, by decreasing score"
    assert (det.score[det.valid] > 0.05).all()
    assert ((det.category[det.valid] >= 1) & (det.category[det.valid] <= 3)).all()
    assert torch.isfinite(det.bbox3d).all() and torch.isfinite(det.yaw).all()
    assert (det.bbox2d[~det.valid] == 0).all() and (det.category[~det.valid] == 0).all()


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
        PRIORS,
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
        PRIORS,
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
        PRIORS,
    )
    assert det.valid.sum() == 1
    assert det.bbox2d[det.valid].tolist() == [[60.0, 10.0, 90.0, 50.0]]


@given(data=st.data(), n=st.integers(1, 8), cls=st.integers(1, 3))
def test_decoding_recovers_the_encoded_box_and_yaw(data, n, cls):
    b, c, bins = 1, 4, 12
    size = torch.tensor([[384, 1280]])
    calib = data.draw(calibs(b, 384, 1280)).double()
    box3d = data.draw(boxes3d(b, n)).double()
    ry = data.draw(yaws(b, n)).double()[..., 0]
    proposals = torch.sort(data.draw(boxes2d(b, n, size)).double().view(b, n, 2, 2), dim=2)[0].view(
        b, n, 4
    )
    prior = PRIORS.double()[cls].expand(b, n, 3)
    logit = encode_box3d(box3d, proposals, prior, calib)
    alpha = alpha_from_rotation_y(ry, box3d[..., 0], box3d[..., 2])
    yaw_bin, resi = encode_yaw(alpha, bins)
    head = head_output(b, n, c, bins)
    category_logit = torch.full((b, n, c), -20.0, dtype=torch.float64)
    category_logit[..., cls] = 20.0
    bbox3d_logit = head.bbox3d_logit.double().clone()
    bbox3d_logit[:, :, cls] = logit
    yaw_logit = torch.full((b, n, c, bins), -5.0, dtype=torch.float64)
    yaw_logit[0, torch.arange(n), cls, yaw_bin[0]] = 5.0
    yaw_resi = torch.zeros(b, n, c, bins, dtype=torch.float64)
    yaw_resi[0, torch.arange(n), cls, yaw_bin[0]] = resi[0]
    head = HeadOutput(
        bbox3d_logit=bbox3d_logit,
        yaw_resi=yaw_resi,
        yaw_logit=yaw_logit,
        category_logit=category_logit,
    )
    det = postprocess(
        head, proposals, torch.ones(b, n, dtype=torch.bool), calib, PRIORS.double(), nms_thresh=1.0
    )
    assert int(det.valid.sum()) == n
    order = torch.cdist(det.bbox2d[det.valid].double(), proposals[0]).argmin(dim=1)
    torch.testing.assert_close(
        det.bbox3d[det.valid].double(), box3d[0, order], atol=1e-3, rtol=1e-4
    )
    diff = (
        torch.remainder(det.yaw[det.valid].double() - ry[0, order] + math.pi, 2 * math.pi) - math.pi
    )
    assert diff.abs().max() < 1e-4
    assert (det.category[det.valid] == cls).all()
