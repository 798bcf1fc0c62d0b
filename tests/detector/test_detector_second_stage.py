"""The second stage composed: one coder shared by the Detector and the Criterion, the 3D mask
and normalisation of the losses, and every change of the 3D-head issue switchable by config."""

import pydantic
import pytest
import torch

from mono3d.contracts import GroundTruth, Images
from mono3d.detector import DetectorConfig, build_coder, build_criterion, build_detector

CALIB = torch.tensor([[240.0, 0, 208, 4.5], [0, 240.0, 60, 0.2], [0, 0, 1, 0.003]])


def batch(heights=(40.0, 8.0), depths=(10.0, 12.0)):
    """One 128x416 image with a car per height (2D box) and depth."""
    n = len(heights)
    boxes = torch.tensor(
        [[60.0 + 120 * i, 40.0, 120.0 + 120 * i, 40.0 + h] for i, h in enumerate(heights)]
    )
    bbox3d = torch.tensor([[-2.0 + 3 * i, 1.6, z, 1.5, 1.6, 3.9] for i, z in enumerate(depths)])
    images = Images(
        images=torch.rand(1, 3, 128, 416, generator=torch.Generator().manual_seed(0)),
        calib=CALIB[None],
        image_size=torch.tensor([[128, 416]]),
    )
    gt = GroundTruth(
        bbox2d=boxes[None],
        bbox3d=bbox3d[None],
        yaw=torch.zeros(1, n, 1),
        category=torch.ones(1, n, 1, dtype=torch.int64),
        valid=torch.ones(1, n, dtype=torch.bool),
        ignore=torch.zeros(1, n, dtype=torch.bool),
    )
    return images, gt


def losses(config, images, gt, seed=0):
    torch.manual_seed(seed)
    detector = build_detector(config)
    criterion = build_criterion(config, detector.coder)
    detector.train()
    return criterion(detector(images, gt, generator=torch.Generator().manual_seed(1)), gt, images)


def test_one_coder_is_shared_and_config_built_ones_agree(small_config):
    config = small_config()
    detector = build_detector(config)
    criterion = build_criterion(config, detector.coder)
    assert criterion.targets.coder is detector.coder
    assert torch.equal(detector.priors, criterion.targets.priors)
    other = build_coder(config)
    assert torch.equal(other.priors, detector.coder.priors)
    assert other.extra_repr() == detector.coder.extra_repr()


def test_objects_too_small_for_3d_still_train_classification(small_config):
    images, gt = batch(heights=(8.0,), depths=(30.0,))  # one 8 px tall car
    masked = small_config(proposal_targets={"min_height_3d": 10})
    kept = small_config(proposal_targets={"min_height_3d": 0})
    a, b = losses(masked, images, gt), losses(kept, images, gt)
    assert a.num_proposal_pos > 0
    for term in ("box3d", "yaw", "yaw_category", "depth_uncertainty"):
        assert a.as_dict()[term].item() == 0.0, term
        assert b.as_dict()[term].item() != 0.0, term
    torch.testing.assert_close(a.category, b.category)
    torch.testing.assert_close(a.box2d_refine, b.box2d_refine)


def test_far_objects_get_no_3d_supervision(small_config):
    images, gt = batch(heights=(40.0,), depths=(70.0,))
    config = small_config(proposal_targets={"max_depth_3d": 65})
    assert losses(config, images, gt).box3d.item() == 0.0


def test_positive_normalisation_weighs_each_positive_by_the_positives(small_config):
    images, gt = batch()
    base = {"proposal_targets": {"min_height_3d": 0}}
    positive = losses(small_config(**base, loss={"normalizer": "positive"}), images, gt)
    sampled = losses(small_config(**base, loss={"normalizer": "sampled"}), images, gt)
    ratio = (positive.num_proposal_pos + positive.num_proposal_neg) / positive.num_proposal_pos
    for term in ("box3d", "yaw", "depth_uncertainty"):
        torch.testing.assert_close(positive.as_dict()[term], sampled.as_dict()[term] * ratio)
    torch.testing.assert_close(positive.category, sampled.category)  # classification unchanged
    torch.testing.assert_close(positive.box2d_refine, sampled.box2d_refine)


def test_depth_nll_beta_reaches_the_depth_loss_and_nothing_else(small_config):
    images, gt = batch()
    base = {"proposal_targets": {"min_height_3d": 0}}
    plain = losses(small_config(**base), images, gt)
    weighed = losses(small_config(**base, loss={"depth_nll_beta": 0.5}), images, gt)
    for term, value in plain.terms().items():
        if term != "depth_uncertainty":
            torch.testing.assert_close(weighed.as_dict()[term], value)
    assert weighed.depth_uncertainty.item() != plain.depth_uncertainty.item()
    criterion = build_criterion(small_config(loss={"depth_nll_beta": 0.5}), None)
    assert criterion.depth_uncertainty.nll_beta == 0.5


def test_every_change_can_be_switched_off(small_config):
    config = small_config(
        head={"fc_dim": 64, "geometry": False},
        coder={"refine_box2d": False, "depth_reference": "proposal"},
        loss={"normalizer": "sampled", "weights": {"box2d_refine": 0, "depth_uncertainty": 0}},
        postprocess={"score": "2d"},
        proposal_targets={"min_height_3d": 0, "max_depth_3d": None},
    )
    detector = build_detector(config).eval()
    assert not hasattr(detector.head, "fc3d") and detector.score == "2d"
    assert not detector.coder.refine_box2d and detector.coder.depth_reference == "proposal"
    images, gt = batch()
    out = losses(config, images, gt)
    total = sum(v for k, v in out.terms().items() if k not in ("box2d_refine", "depth_uncertainty"))
    torch.testing.assert_close(out.total, total)
    with torch.no_grad():
        det = detector.predict(images)
    # without refinement every detection's box is one of the proposals
    with torch.no_grad():
        proposals = detector(images).rpn.bbox2d[0]
    for box in det.bbox2d[0][det.valid[0]]:
        assert (proposals == box).all(-1).any()


@pytest.mark.parametrize(
    ("section", "field"),
    [
        ({"coder": {"refine_box2d": False}}, "coder"),
        ({"coder": {"depth_reference": "center"}}, "coder.depth_reference"),
        ({"postprocess": {"score": "4d"}}, "postprocess.score"),
        ({"loss": {"normalizer": "all"}}, "loss.normalizer"),
        ({"loss": {"weights": {"depth": 1.0}}}, "loss.weights"),
        ({"loss": {"depth_nll_beta": 2.0}}, "loss.depth_nll_beta"),
        ({"proposal_targets": {"min_height_3d": -1}}, "proposal_targets.min_height_3d"),
    ],
)
def test_bad_second_stage_settings_name_the_field(section, field):
    with pytest.raises(pydantic.ValidationError) as error:
        DetectorConfig.model_validate(section)
    located = [".".join(str(p) for p in e["loc"]) for e in error.value.errors()]
    assert any(loc.startswith(field) for loc in located), located


def _dz_gradients(config, images, gt):
    """|gradient| of box3d and of depth_uncertainty w.r.t. the head's dz output weights."""
    torch.manual_seed(0)
    detector = build_detector(config).train()
    criterion = build_criterion(config, detector.coder)
    layer = detector.head.bbox3d_pred
    grads = {}
    for term in ("box3d", "depth_uncertainty"):
        layer.zero_grad()
        out = detector(images, gt, generator=torch.Generator().manual_seed(1))
        loss = criterion(out, gt, images)
        getattr(loss, term).backward()
        grad = layer.weight.grad  # None: the term does not reach the 3D layer at all
        dz_rows = torch.zeros(1) if grad is None else grad.view(-1, 6, layer.in_features)[:, 2]
        grads[term] = dz_rows.abs().sum().item()
    return grads


def test_laplacian_depth_trains_dz_by_the_nll_alone(small_config):
    images, gt = batch()
    base = {"proposal_targets": {"min_height_3d": 0}}
    laplacian = _dz_gradients(small_config(**base, loss={"depth": "laplacian"}), images, gt)
    huber = _dz_gradients(small_config(**base, loss={"depth": "huber"}), images, gt)
    assert laplacian["box3d"] == 0.0 and laplacian["depth_uncertainty"] > 0.0
    assert huber["box3d"] > 0.0 and huber["depth_uncertainty"] == 0.0


@pytest.mark.parametrize("reference", ["box2d", "proposal"])
def test_depth_nll_residual_is_the_decoded_log_depth_error(small_config, reference):
    # decoded log z = dz - log(h_refined / ph) + const; the target's - log(h_gt / ph): the
    # NLL's residual carries the refinement's height error (dh_pred - dh_gt) / wh with the
    # box2d reference, nothing with the proposal reference (whose height is exact)
    config = small_config(coder={"depth_reference": reference})
    criterion = build_criterion(config)
    pred = torch.randn(2, 5, 4)
    target = torch.randn(2, 5, 4)
    target[0, 1] = float("nan")  # a background row's target: no NaN may leak
    error = criterion._height_error(pred, target)
    assert error.shape == (2, 5, 1) and torch.isfinite(error).all()
    if reference == "proposal":
        assert (error == 0).all()
    else:
        wh = config.coder.refine_weights[3]
        expected = (pred[..., 3:4] - target[..., 3:4]) / wh
        expected[0, 1] = 0.0
        torch.testing.assert_close(error, expected)


def test_sampling_before_the_head_changes_no_loss_and_no_gradient(small_config, scene):
    """The detector samples the targets before its head and pools the refined boxes again
    only on the rows a 3D loss reads: the losses and every gradient equal those of a head
    that pools every row again, with the Criterion sampling from the same generator."""
    config = small_config()
    images, gt = scene(2, 128, 192, 5)
    results = []
    for sample_in_detector in (True, False):
        torch.manual_seed(0)
        detector = build_detector(config).train()
        criterion = build_criterion(config, detector.coder)
        if sample_in_detector:
            out = detector(images, gt, generator=torch.Generator().manual_seed(3))
            assert out.auxi is not None
            losses = criterion(out, gt, images)
        else:
            detector.targets = None
            out = detector(images, gt)
            assert out.auxi is None
            losses = criterion(out, gt, images, generator=torch.Generator().manual_seed(3))
        losses.total.backward()
        grads = {n: p.grad.clone() for n, p in detector.named_parameters() if p.grad is not None}
        results.append((losses.terms(), grads, int(losses.num_proposal_pos)))
    (terms_a, grads_a, pos_a), (terms_b, grads_b, pos_b) = results
    assert pos_a == pos_b > 0
    for name in terms_a:
        torch.testing.assert_close(terms_a[name], terms_b[name], rtol=1e-5, atol=1e-6)
    assert grads_a.keys() == grads_b.keys()
    for name in grads_a:
        torch.testing.assert_close(grads_a[name], grads_b[name], rtol=1e-4, atol=1e-6)


def test_the_rows_a_3d_loss_reads_are_all_pooled_again(small_config, scene):
    from mono3d.detector._detector import rows_read_in_3d

    config = small_config()
    images, gt = scene(2, 128, 192, 5)
    torch.manual_seed(0)
    detector = build_detector(config).train()
    out = detector(images, gt, generator=torch.Generator().manual_seed(0))
    rows = rows_read_in_3d(out.auxi, detector.targets)
    quota = int(config.proposal_targets.batch_size_per_image * 0.25)
    assert rows.shape == (2, quota) < tuple(out.rpn.bbox2d.shape[:2])
    read = out.auxi.gt_aligned.object3d[..., 0] == 1
    picked = torch.zeros_like(read).scatter(1, rows, True)
    assert bool((picked | ~read).all()), "every row a 3D loss reads is pooled again"
    assert all(len(set(r.tolist())) == quota for r in rows), "rows are distinct"


def test_a_generator_for_targets_the_detector_sampled_is_refused(small_config, scene):
    config = small_config()
    images, gt = scene(1, 128, 192, 2)
    detector = build_detector(config).train()
    criterion = build_criterion(config, detector.coder)
    out = detector(images, gt)
    with pytest.raises(ValueError, match="pass the generator to the detector"):
        criterion(out, gt, images, generator=torch.Generator())
