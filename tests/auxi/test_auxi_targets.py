"""Properties of make_feature / make_align / make_auxi on random scenes (hypothesis):
shapes, a loop-based reference of the matching, padding and order invariance, decoding
the targets back to the matched ground truth, empty images."""

import math

import pytest
import torch
from hypothesis import event, given
from hypothesis import strategies as st

from mono3d.auxi import (
    DEFAULT_PRIORS,
    AnchorTargetConfig,
    ProposalTargetConfig,
    make_align,
    make_auxi,
    make_feature,
    priors_tensor,
)
from mono3d.contracts import ContractError, GroundTruth, RPNOutput
from mono3d.contracts.testing import (
    boxes2d,
    calibs,
    generators,
    ground_truths,
    image_sizes,
    padded_hw,
)
from mono3d.geometry import (
    DEFAULT_REFINE_WEIGHTS,
    BoxCoder,
    alpha_from_rotation_y,
    box_iou,
    decode_box2d,
    decode_box3d,
    decode_yaw,
    wrap_angle,
)

PRIORS = priors_tensor(DEFAULT_PRIORS)  # C = 4
NUM_BINS = 12
ANCHOR = AnchorTargetConfig()
PROPOSAL = ProposalTargetConfig()
NO_SAMPLING = {"batch_size_per_image": None}
NO_3D_MASK = {"min_height_3d": 0.0, "max_depth_3d": None}


def jittered_copies(gt: GroundTruth, copies: int, g: torch.Generator) -> torch.Tensor:
    """(b, n * copies, 4) boxes near each GT box (so that some anchors match), finite even
    for padded rows."""
    box = torch.where(gt.valid[..., None], gt.bbox2d, 50.0).nan_to_num(50.0).clamp(-1e4, 1e4)
    box = box.repeat_interleave(copies, dim=1)
    side = (box[..., 2:] - box[..., :2]).clamp(min=4.0).repeat(1, 1, 2)
    moved = box + 0.15 * side * torch.randn(box.shape, generator=g)
    x1y1 = torch.minimum(moved[..., :2], moved[..., 2:] - 2.0)
    return torch.cat([x1y1, moved[..., 2:]], dim=-1)


@st.composite
def scenes(
    draw, max_b: int = 2, max_n: int = 5, padding: str = "nan", min_b: int = 1, min_n: int = 0
):
    """A batch: GT (padded rows per ``padding``), anchors, proposals (some invalid, NaN),
    calib, and a sampling seed."""
    b = draw(st.integers(min_b, max_b))
    n = draw(st.integers(min_n, max_n))
    h, w = draw(padded_hw(64, 192))
    size = draw(image_sizes(b, h, w))
    gt = draw(ground_truths(b, n, size, padding=padding))
    g = draw(generators())
    anchors = torch.cat(
        [draw(boxes2d(b, draw(st.integers(0, 30)), size)), jittered_copies(gt, 3, g)], dim=1
    )
    proposals = torch.cat(
        [draw(boxes2d(b, draw(st.integers(0, 12)), size)), jittered_copies(gt, 2, g)], dim=1
    )
    proposal_valid = torch.rand(proposals.shape[:2], generator=g) < 0.8
    proposals = torch.where(proposal_valid[..., None], proposals, math.nan)
    calib = draw(calibs(b, h, w))
    seed = draw(st.integers(0, 2**31 - 1))
    return gt, anchors, proposals, proposal_valid, calib, seed


def feature(gt, anchors, seed, raw_fields=True, **kwargs):
    """make_feature, by default with the raw per-anchor fields (the properties check them)."""
    return make_feature(
        gt,
        anchors,
        generator=torch.Generator().manual_seed(seed),
        raw_fields=raw_fields,
        **kwargs,
    )


def align(gt, proposals, valid, calib, seed, **kwargs):
    return make_align(
        gt,
        proposals,
        valid,
        calib,
        PRIORS,
        NUM_BINS,
        generator=torch.Generator().manual_seed(seed),
        **kwargs,
    )


def fields(bundle) -> dict[str, torch.Tensor]:
    """The computed tensor fields (optional fields left None are skipped)."""
    return {name: value for name, value in bundle.as_dict().items() if value is not None}


def assert_same(a, b):
    assert fields(a).keys() == fields(b).keys()
    for name, value in fields(a).items():
        assert torch.equal(value, getattr(b, name)), name


# -- reference matching, one box and one GT row at a time -------------------------------------


def reference_labels(boxes, gt, *, fg, bg, low_quality, ioa) -> torch.Tensor:
    """(b, M) labels from explicit loops (the IoU values themselves from geometry)."""
    b, m = boxes.shape[:2]
    n = gt.valid.shape[1]
    labels = torch.zeros(b, m, dtype=torch.long)
    safe = torch.where(gt.valid[..., None], gt.bbox2d, 0.0)
    iou = box_iou(boxes, safe)
    for i in range(b):
        objects = [k for k in range(n) if gt.valid[i, k] and not gt.ignore[i, k]]
        ignores = [k for k in range(n) if gt.valid[i, k] and gt.ignore[i, k]]
        for j in range(m):
            best = max((iou[i, j, k].item() for k in objects), default=-1.0)
            labels[i, j] = 1 if best >= fg else (0 if best < bg else -1)
        if low_quality:
            for k in objects:
                top = iou[i, :, k].max().item() if m else 0.0
                for j in range(m):
                    if top > 0 and iou[i, j, k].item() == top:
                        labels[i, j] = 1
        for j in range(m):
            if labels[i, j] == 1:
                continue
            x1, y1, x2, y2 = boxes[i, j].tolist()
            area = max(x2 - x1, 0.0) * max(y2 - y1, 0.0)
            for k in ignores:
                u1, v1, u2, v2 = gt.bbox2d[i, k].tolist()
                inter = max(min(x2, u2) - max(x1, u1), 0.0) * max(min(y2, v2) - max(y1, v1), 0.0)
                if (iou[i, j, k] >= bg and iou[i, j, k] > 0) or inter > ioa * area:
                    labels[i, j] = -1
    return labels


@given(scenes(min_n=1))
def test_anchor_labels_match_a_loop_reference(scene):
    gt, anchors, _, _, _, seed = scene
    out = feature(gt, anchors, seed, **NO_SAMPLING)
    expected = reference_labels(
        anchors,
        gt,
        fg=ANCHOR.fg_iou_thresh,
        bg=ANCHOR.bg_iou_thresh,
        low_quality=True,
        ioa=ANCHOR.ignore_ioa_thresh,
    )
    assert torch.equal(out.object[..., 0], expected)


@given(scenes())
def test_proposal_labels_match_a_loop_reference(scene):
    gt, _, proposals, valid, calib, seed = scene
    out = align(gt, proposals, valid, calib, seed, **NO_SAMPLING)
    safe = torch.where(valid[..., None], proposals, 0.0)
    expected = reference_labels(
        safe,
        gt,
        fg=PROPOSAL.fg_iou_thresh,
        bg=PROPOSAL.bg_iou_thresh,
        low_quality=False,
        ioa=PROPOSAL.ignore_ioa_thresh,
    )
    expected = torch.where(valid, expected, -1)
    assert torch.equal(out.object[..., 0], expected)


# -- shapes and dtypes -------------------------------------------------------------------------


@given(scenes(min_b=0))
def test_shapes_and_dtypes(scene):
    gt, anchors, proposals, valid, calib, seed = scene
    b, n_anchor, n_proposal = anchors.shape[0], anchors.shape[1], proposals.shape[1]
    f = feature(gt, anchors, seed)
    a = align(gt, proposals, valid, calib, seed)
    expected_f = {"bbox2d": 4, "bbox2d_logit": 4, "bbox3d": 6, "object": 1, "yaw": 1, "category": 1}
    for name, width in expected_f.items():
        assert getattr(f, name).shape == (b, n_anchor, width), name
    expected_a = {
        "bbox2d": 4,
        "bbox3d": 6,
        "bbox3d_logit": 6,
        "object": 1,
        "yaw": 1,
        "yaw_category": 1,
        "yaw_resi": 1,
        "category": 1,
    }
    for name, width in expected_a.items():
        assert getattr(a, name).shape == (b, n_proposal, width), name
    for bundle in (f, a):
        assert bundle.object.dtype == bundle.category.dtype == torch.int64
        for name, value in fields(bundle).items():
            if value.is_floating_point():
                assert value.dtype == torch.float32 and torch.isfinite(value).all(), name
    assert a.yaw_category.dtype == torch.int64


# -- what each target holds --------------------------------------------------------------------


@given(scenes(min_n=2))
def test_anchor_targets_decode_to_the_matched_object(scene):
    gt, anchors, _, _, _, seed = scene
    f = feature(gt, anchors, seed, **NO_SAMPLING)
    fg = f.object[..., 0] == 1
    decoded = decode_box2d(f.bbox2d_logit.double(), anchors.double())
    assert torch.allclose(decoded[fg], f.bbox2d[fg].double(), rtol=1e-5, atol=1e-3)
    # every foreground anchor holds the fields of the object row it overlaps most
    safe = torch.where(gt.valid[..., None], gt.bbox2d, 0.0)
    iou = box_iou(anchors, safe).masked_fill(~gt.objects[:, None, :], -1.0)
    if gt.valid.shape[1]:
        k = iou.argmax(dim=2)  # b N
        assert gt.objects.gather(1, k)[fg].all()
        for name in ("bbox2d", "bbox3d", "yaw", "category"):
            rows = getattr(gt, name)
            expected = rows.gather(1, k[..., None].expand(*k.shape, rows.shape[-1]))
            assert torch.equal(getattr(f, name)[fg], expected[fg]), name
    event(f"anchor positives: {bool(fg.any())}")
    for name in ("bbox2d", "bbox2d_logit", "bbox3d", "yaw", "category"):
        assert (getattr(f, name)[~fg] == 0).all(), name


@given(scenes(min_n=2))
def test_proposal_targets_decode_to_the_matched_object(scene):
    gt, _, proposals, valid, calib, seed = scene
    a = align(gt, proposals, valid, calib, seed, **NO_SAMPLING, **NO_3D_MASK)
    fg = a.object[..., 0] == 1
    assert torch.equal(a.object3d, a.object)  # no 3D mask: every positive is 3D-supervised
    prior = PRIORS[a.category[..., 0]]
    # the default coder: the 3D logit is relative to the matched object's own 2D box
    decoded = decode_box3d(
        a.bbox3d_logit.double(), a.bbox2d.double(), prior.double(), calib.double()
    )
    assert torch.allclose(decoded[fg], a.bbox3d[fg].double(), rtol=1e-4, atol=1e-3)
    refined = decode_box2d(a.bbox2d_logit.double(), proposals.double(), DEFAULT_REFINE_WEIGHTS)
    assert torch.allclose(refined[fg], a.bbox2d[fg].double(), rtol=1e-4, atol=1e-3)
    # a coder that encodes against the proposal decodes against the proposal
    coder = BoxCoder(priors=DEFAULT_PRIORS, num_bins=NUM_BINS, depth_reference="proposal")
    p = align(gt, proposals, valid, calib, seed, **NO_SAMPLING, **NO_3D_MASK, coder=coder)
    decoded = decode_box3d(
        p.bbox3d_logit.double(), proposals.double(), prior.double(), calib.double()
    )
    assert torch.allclose(decoded[fg], a.bbox3d[fg].double(), rtol=1e-4, atol=1e-3)
    alpha = alpha_from_rotation_y(a.yaw[..., 0], a.bbox3d[..., 0], a.bbox3d[..., 2])
    yaw = decode_yaw(a.yaw_category[..., 0], a.yaw_resi[..., 0], NUM_BINS)
    assert (wrap_angle(yaw - alpha)[fg].abs() < 1e-4).all()
    assert (a.yaw_resi.abs() <= 1).all()
    assert ((a.category[fg] >= 1) & (a.category[fg] <= 3)).all()
    for name in (
        "bbox2d", "bbox2d_logit", "bbox3d", "bbox3d_logit", "yaw", "yaw_category", "yaw_resi",
        "category",
    ):  # fmt: skip
        assert (getattr(a, name)[~fg] == 0).all(), name
    assert (a.object[~valid] == -1).all()
    event(f"proposal positives: {bool(fg.any())}")


# -- invariances -------------------------------------------------------------------------------


@given(scenes(padding="random"), st.sampled_from([math.nan, math.inf, -1e30, 0.0]))
def test_padded_gt_rows_and_invalid_proposals_do_not_matter(scene, junk):
    gt, anchors, proposals, valid, calib, seed = scene
    pad = ~gt.valid
    spoiled = GroundTruth(
        bbox2d=torch.where(pad[..., None], junk, gt.bbox2d),
        bbox3d=torch.where(pad[..., None], junk, gt.bbox3d),
        yaw=torch.where(pad[..., None], junk, gt.yaw),
        category=torch.where(pad[..., None], -99, gt.category),
        valid=gt.valid,
        ignore=gt.ignore | pad,  # padded rows flagged ignore must not act as ignore rows
    )
    assert_same(feature(gt, anchors, seed), feature(spoiled, anchors, seed))
    other = torch.where(valid[..., None], proposals, junk)
    assert_same(align(gt, proposals, valid, calib, seed), align(spoiled, other, valid, calib, seed))


@given(scenes(), generators())
def test_targets_do_not_depend_on_gt_order(scene, g):
    gt, anchors, proposals, valid, calib, seed = scene
    b, n = gt.valid.shape
    order = torch.argsort(torch.rand(b, n, generator=g), dim=1)

    def permute(t):
        index = order.view(b, n, *([1] * (t.dim() - 2))).expand(t.shape)
        return torch.gather(t, 1, index)

    shuffled = GroundTruth(**{name: permute(t) for name, t in gt.as_dict().items()})
    assert_same(feature(gt, anchors, seed), feature(shuffled, anchors, seed))
    assert_same(
        align(gt, proposals, valid, calib, seed), align(shuffled, proposals, valid, calib, seed)
    )


@given(scenes())
def test_sampling_keeps_labels_and_quotas(scene):
    gt, anchors, proposals, valid, calib, seed = scene
    full = feature(gt, anchors, seed, **NO_SAMPLING).object
    small = {"batch_size_per_image": 6, "positive_fraction": 0.5}
    sampled = feature(gt, anchors, seed, **small).object
    kept = sampled != -1
    assert torch.equal(sampled[kept], full[kept])
    assert ((sampled == 1).sum(1) <= 3).all() and (kept.sum(1) <= 6).all()
    expected_pos = (full == 1).sum(1).clamp(max=3)
    assert torch.equal((sampled == 1).sum(1), expected_pos)
    expected_neg = torch.minimum((full == 0).sum(1), 6 - expected_pos)
    assert torch.equal((sampled == 0).sum(1), expected_neg)
    a_full = align(gt, proposals, valid, calib, seed, **NO_SAMPLING).object
    a_sampled = align(gt, proposals, valid, calib, seed, batch_size_per_image=4).object
    assert ((a_sampled == 1).sum(1) <= 1).all() and ((a_sampled >= 0).sum(1) <= 4).all()
    assert torch.equal(a_sampled[a_sampled != -1], a_full[a_sampled != -1])


@given(scenes(max_n=3))
def test_images_without_objects_have_no_positives_and_zero_targets(scene):
    gt, anchors, proposals, valid, calib, seed = scene
    empty = GroundTruth(**(gt.as_dict() | {"ignore": gt.valid}))  # every row DontCare
    f = feature(empty, anchors, seed)
    a = align(empty, proposals, valid, calib, seed)
    for bundle in (f, a):
        assert not (bundle.object == 1).any()
        for name, value in fields(bundle).items():
            if name not in ("object", "object3d"):
                assert (value == 0).all(), name


def test_kitti_sized_defaults_respect_the_quotas():
    g = torch.Generator().manual_seed(0)
    b, h, w = 2, 128, 416
    xy = torch.rand(b, 6000, 2, generator=g) * torch.tensor([w, h])
    side = torch.exp(torch.empty(b, 6000, 2).uniform_(math.log(8), math.log(200), generator=g))
    anchors = torch.cat([xy - side / 2, xy + side / 2], dim=-1)
    n = 12
    centre = torch.rand(b, n, 2, generator=g) * torch.tensor([w, h])
    half = 10 + 30 * torch.rand(b, n, 2, generator=g)
    box = torch.cat([centre - half, centre + half], dim=-1)
    gt = GroundTruth(
        bbox2d=box,
        bbox3d=torch.tensor([1.0, 1.6, 20.0, 1.5, 1.6, 3.9]).expand(b, n, 6).clone(),
        yaw=torch.zeros(b, n, 1),
        category=torch.randint(1, 4, (b, n, 1), generator=g),
        valid=torch.ones(b, n, dtype=torch.bool),
        ignore=torch.zeros(b, n, dtype=torch.bool),
    )
    proposals = torch.cat([anchors[:, :400], box.repeat(1, 20, 1) + 3 * torch.randn(b, 240, 4)], 1)
    calib = torch.tensor([[700.0, 0, 208, 40], [0, 700, 64, 0.2], [0, 0, 1, 0.003]])
    pred = RPNOutput(
        anchors=anchors,
        bbox2d_logit=torch.zeros(b, 6000, 4),
        object_logit=torch.zeros(b, 6000, 1),
        bbox2d=proposals,
        bbox2d_object=torch.zeros(b, 640, 1),
        valid=torch.ones(b, 640, dtype=torch.bool),
    )
    auxi = make_auxi(gt, pred, calib.expand(b, 3, 4), PRIORS, NUM_BINS, generator=g)
    f, a = auxi.gt_feature.object, auxi.gt_aligned.object
    assert ((f >= 0).sum(1) == 256).all() and ((f == 1).sum(1) <= 128).all()
    assert ((f == 1).sum(1) > 0).all()
    assert ((a >= 0).sum(1) == 512).all() and ((a == 1).sum(1) == 128).all()


def test_make_auxi_is_make_feature_then_make_align_with_one_generator():
    g = torch.Generator().manual_seed(3)
    b, n = 2, 3
    box = torch.tensor([[10.0, 10.0, 60.0, 50.0], [80, 20, 120, 90], [5, 60, 40, 100]])
    gt = GroundTruth(
        bbox2d=box.expand(b, n, 4).clone(),
        bbox3d=torch.tensor([2.0, 1.6, 15.0, 1.5, 1.6, 3.9]).expand(b, n, 6).clone(),
        yaw=torch.full((b, n, 1), 0.4),
        category=torch.tensor([1, 2, 3]).view(1, n, 1).expand(b, n, 1).clone(),
        valid=torch.tensor([[True, True, True], [True, False, False]]),
        ignore=torch.tensor([[False, False, True], [False, False, False]]),
    )
    anchors = jittered_copies(gt, 40, g)
    proposals = jittered_copies(gt, 10, g)
    pred = RPNOutput(
        anchors=anchors,
        bbox2d_logit=torch.zeros_like(anchors),
        object_logit=torch.zeros(b, anchors.shape[1], 1),
        bbox2d=proposals,
        bbox2d_object=torch.zeros(b, proposals.shape[1], 1),
        valid=torch.ones(b, proposals.shape[1], dtype=torch.bool),
    )
    calib = torch.tensor([[700.0, 0, 64, 40], [0, 700, 64, 0.2], [0, 0, 1, 0.003]]).expand(b, 3, 4)
    small = AnchorTargetConfig(batch_size_per_image=32)
    auxi = make_auxi(
        gt, pred, calib, PRIORS, NUM_BINS, anchor_targets=small, generator=g.manual_seed(7)
    )
    g.manual_seed(7)
    assert_same(auxi.gt_feature, make_feature(gt, anchors, batch_size_per_image=32, generator=g))
    assert_same(
        auxi.gt_aligned, make_align(gt, proposals, pred.valid, calib, PRIORS, 12, generator=g)
    )
    assert (auxi.gt_feature.object == 1).any() and (auxi.gt_aligned.object == 1).any()
    # the ignore row (index 2 of image 0) is never a match
    assert not (auxi.gt_aligned.category[0] == 3).any()


def test_object_rows_with_a_class_outside_the_priors_are_rejected():
    gt = GroundTruth(
        bbox2d=torch.tensor([[[0.0, 0.0, 10.0, 10.0]]]),
        bbox3d=torch.ones(1, 1, 6),
        yaw=torch.zeros(1, 1, 1),
        category=torch.tensor([[[4]]]),
        valid=torch.ones(1, 1, dtype=torch.bool),
        ignore=torch.zeros(1, 1, dtype=torch.bool),
    )
    proposals = torch.tensor([[[0.0, 0.0, 10.0, 10.0]]])
    with pytest.raises(ContractError, match=r"gt\.category.*\[1, 3\]"):
        make_align(
            gt, proposals, torch.ones(1, 1, dtype=torch.bool), torch.eye(3, 4)[None], PRIORS, 12
        )


@given(scenes(max_n=3))
def test_low_precision_or_grad_inputs_give_float32_targets_without_grad(scene):
    gt, anchors, proposals, valid, calib, seed = scene
    reference = feature(gt, anchors, seed)
    low = feature(gt, anchors.bfloat16().float().bfloat16().requires_grad_(True), seed)
    for name, value in fields(low).items():
        assert not value.requires_grad, name
        if value.is_floating_point():
            assert value.dtype == torch.float32, name
    assert low.object.shape == reference.object.shape
    a = align(gt, proposals.half(), valid, calib.double(), seed)
    assert a.bbox3d_logit.dtype == torch.float32 and torch.isfinite(a.bbox3d_logit).all()


@given(scenes(min_n=2), st.floats(0.0, 60.0), st.sampled_from([None, 5.0, 15.0, 40.0]))
def test_small_and_far_objects_get_no_3d_supervision(scene, min_height, max_depth):
    gt, _, proposals, valid, calib, seed = scene
    a = align(
        gt,
        proposals,
        valid,
        calib,
        seed,
        batch_size_per_image=None,
        min_height_3d=min_height,
        max_depth_3d=max_depth,
    )
    positive = a.object[..., 0] == 1
    height = a.bbox2d[..., 3] - a.bbox2d[..., 1]
    far = torch.zeros_like(positive) if max_depth is None else a.bbox3d[..., 2] > max_depth
    supervised = positive & (height >= min_height) & ~far
    assert torch.equal(a.object3d[..., 0] == 1, supervised)
    assert torch.equal(a.object3d[~positive], a.object[~positive])  # only positives change
    assert (a.object3d[positive & ~supervised] == -1).all()
    event(f"masked positives: {bool((positive & ~supervised).any())}")


def test_a_coder_of_other_sizes_is_refused():
    gt = GroundTruth(
        bbox2d=torch.tensor([[[0.0, 0.0, 10.0, 10.0]]]),
        bbox3d=torch.tensor([[[0.0, 1.0, 10.0, 1.5, 1.6, 3.9]]]),
        yaw=torch.zeros(1, 1, 1),
        category=torch.ones(1, 1, 1, dtype=torch.int64),
        valid=torch.ones(1, 1, dtype=torch.bool),
        ignore=torch.zeros(1, 1, dtype=torch.bool),
    )
    coder = BoxCoder(priors=DEFAULT_PRIORS, num_bins=4)
    with pytest.raises(ValueError, match="coder has C=4, B=4"):
        make_align(gt, gt.bbox2d, gt.valid, torch.eye(3, 4)[None], PRIORS, 12, coder=coder)
