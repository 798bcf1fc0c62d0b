"""``proposal_targets.gt_jitter_copies``: jittered copies of each ground-truth box join the
proposals in training (after the boxes themselves), drawn from the step's generator; padded
and ignored objects add only invalid zero rows; 0 leaves the detector as it was."""

import inspect

import pydantic
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mono3d.auxi import ProposalTargetConfig, TargetBuilder
from mono3d.contracts import GroundTruth, RPNOutput
from mono3d.detector import DetectorConfig, build_detector, jittered_copies, join_ground_truth
from mono3d.geometry import box_iou


def _rpn(b: int, nhd: int) -> RPNOutput:
    g = torch.Generator().manual_seed(0)
    xy = torch.rand(b, nhd, 2, generator=g) * 100
    return RPNOutput(
        anchors=torch.zeros(b, 6, 4),
        bbox2d_logit=torch.zeros(b, 6, 4),
        object_logit=torch.zeros(b, 6, 1),
        bbox2d=torch.cat([xy, xy + 20], dim=-1),
        bbox2d_object=torch.zeros(b, nhd, 1),
        valid=torch.ones(b, nhd, dtype=torch.bool),
    )


def _gt() -> GroundTruth:
    boxes = torch.tensor([[[10.0, 20.0, 70.0, 50.0], [100, 30, 130, 90], [0, 0, 0, 0]]])
    return GroundTruth(
        bbox2d=boxes,
        bbox3d=torch.tensor([[[0.0, 1.6, 20, 1.5, 1.6, 3.9]] * 3]),
        yaw=torch.zeros(1, 3, 1),
        category=torch.ones(1, 3, 1, dtype=torch.int64),
        valid=torch.tensor([[True, True, False]]),  # the third row is padding
        ignore=torch.tensor([[False, True, False]]),  # the second a DontCare region
    )


@settings(max_examples=30, deadline=None)
@given(copies=st.integers(1, 6), scale=st.sampled_from([0.02, 0.05, 0.2]), seed=st.integers(0, 99))
def test_copies_are_box_major_near_their_box_and_reproducible(copies, scale, seed):
    boxes = torch.tensor([[[10.0, 20.0, 70.0, 50.0], [100, 30, 104, 31]]])
    out = jittered_copies(boxes, copies, scale, torch.Generator().manual_seed(seed))
    assert out.shape == (1, 2 * copies, 4) and out.dtype == boxes.dtype
    again = jittered_copies(boxes, copies, scale, torch.Generator().manual_seed(seed))
    assert torch.equal(out, again)
    sides = out[..., 2:] - out[..., :2]
    assert (sides >= 1.0 - 1e-5).all()  # sides kept >= 1 px, even for the 1 px tall box
    source = boxes.repeat_interleave(copies, dim=1)
    size = (source[..., 2:] - source[..., :2]).repeat(1, 1, 2)
    # x1, y1 are never clamped: within 6 standard deviations of their edge
    assert ((out - source).abs()[..., :2] <= 6 * scale * size[..., :2]).all()


def test_the_edges_move_by_the_scale_times_the_side():
    boxes = torch.tensor([[[0.0, 0.0, 200.0, 100.0]]])
    out = jittered_copies(boxes, 20000, 0.05, torch.Generator().manual_seed(0))
    std = (out[0] - boxes[0]).std(dim=0)
    torch.testing.assert_close(std, torch.tensor([10.0, 5.0, 10.0, 5.0]), rtol=0.03, atol=0)


def test_only_countable_objects_are_copied():
    rpn, gt = _rpn(1, 4), _gt()
    plain = join_ground_truth(rpn, gt)
    joined = join_ground_truth(rpn, gt, 3, 0.05, torch.Generator().manual_seed(1))
    assert plain.bbox2d.shape == (1, 4 + 3, 4) and joined.bbox2d.shape == (1, 4 + 3 * 4, 4)
    assert torch.equal(joined.bbox2d[:, : 4 + 3], plain.bbox2d)  # the boxes themselves first
    copies, valid = joined.bbox2d[0, 7:], joined.valid[0, 7:]
    assert valid.tolist() == [True] * 3 + [False] * 6  # the ignored and the padded: none
    assert (copies[3:] == 0).all()
    assert (box_iou(copies[None, :3], gt.bbox2d[:, :1])[0, :, 0] > 0.6).all()
    assert joined.bbox2d_object.shape == (1, 16, 1) and (joined.bbox2d_object[0, 4:] == 0).all()


def test_the_detector_trains_on_the_copies_and_is_unchanged_without_them(small_config, scene):
    images, gt = scene(2, 128, 416, 3)

    def forward(config):
        torch.manual_seed(0)
        detector = build_detector(config).train()
        return detector(images, gt, generator=torch.Generator().manual_seed(1))

    base = {"batch_size_per_image": 64, "min_height_3d": 0}
    plain = forward(small_config(proposal_targets=base))
    explicit = forward(small_config(proposal_targets=base | {"gt_jitter_copies": 0}))
    for a, b in ((plain.rpn, explicit.rpn), (plain.auxi.gt_aligned, explicit.auxi.gt_aligned)):
        for name, value in a.as_dict().items():
            if value is not None:
                assert torch.equal(value, b.as_dict()[name]), name
    jittered = forward(small_config(proposal_targets=base | {"gt_jitter_copies": 4}))
    nhd = plain.rpn.bbox2d.shape[1]
    assert jittered.rpn.bbox2d.shape[1] == nhd + 3 * 4
    assert jittered.head.bbox3d_logit.shape[1] == nhd + 3 * 4  # the head sees the copies
    # most copies are positives of their object (IoU >= 0.5) that the sampler may pick
    matched = jittered.auxi.gt_aligned.object[:, nhd:, 0] != 0
    assert matched.float().mean() > 0.8


def test_join_defaults_are_the_config_defaults():
    parameters = inspect.signature(join_ground_truth).parameters
    config = ProposalTargetConfig()
    assert parameters["jitter_copies"].default == config.gt_jitter_copies == 0
    assert parameters["jitter_scale"].default == config.gt_jitter_scale


def test_the_setting_is_checked_and_stays_out_of_the_target_builder():
    with pytest.raises(pydantic.ValidationError, match="gt_jitter_copies"):
        DetectorConfig.model_validate({"proposal_targets": {"gt_jitter_copies": -1}})
    with pytest.raises(pydantic.ValidationError, match="gt_jitter_scale"):
        ProposalTargetConfig(gt_jitter_scale=0.0)
    config = ProposalTargetConfig(gt_jitter_copies=2, batch_size_per_image=8)
    rpn, gt = _rpn(1, 4), _gt()
    auxi = TargetBuilder(proposal_targets=config)(gt, rpn, torch.eye(3, 4)[None])
    assert auxi.gt_aligned.object.shape == (1, 4, 1)  # the builder samples what it is given
