"""Adapters from the contracts' bundles to annos (evaluation during training), and the
contract checks at that boundary."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from mono3d.contracts import ContractError, Detections, GroundTruth
from mono3d.contracts.testing import ground_truths, image_sizes
from mono3d.eval import detections_to_annos, evaluate, ground_truth_to_annos

CLASSES = ("Car", "Pedestrian", "Cyclist")


@st.composite
def batches(draw):
    b, n = draw(st.integers(1, 3)), draw(st.integers(0, 6))
    size = draw(image_sizes(b, 384, 1248))
    return draw(ground_truths(b, n, size, num_classes=3, padding="nan"))


def detections_from(gt: GroundTruth, k: int) -> Detections:
    """The objects of ``gt`` as detections (score 0.9), padded to k rows with junk."""
    b, n = gt.valid.shape
    keep = gt.valid & ~gt.ignore
    pad = k - n

    def padded(t, fill):
        extra = torch.full((b, pad, *t.shape[2:]), fill, dtype=t.dtype)
        return torch.cat([t, extra], dim=1)

    box3d = torch.nan_to_num(gt.bbox3d)
    yaw = torch.nan_to_num(gt.yaw[..., 0])
    alpha = yaw - torch.atan2(box3d[..., 0], box3d[..., 2])
    return Detections(
        bbox2d=padded(torch.nan_to_num(gt.bbox2d), 0.0),
        score=padded(torch.full((b, n), 0.9), 0.0),
        category=padded(torch.where(keep, gt.category[..., 0], 0), 0),
        bbox3d=padded(box3d, 0.0),
        yaw=padded(yaw, 0.0),
        alpha=padded(alpha, 0.0),
        valid=padded(keep, False),
    )


@given(gt=batches())
def test_ground_truth_rows_become_objects_and_dont_care(gt):
    b, n = gt.valid.shape
    occluded = torch.randint(0, 3, (b, n))
    annos = ground_truth_to_annos(gt, CLASSES, occluded=occluded)
    assert len(annos) == b
    for i, anno in enumerate(annos):
        valid = gt.valid[i]
        assert len(anno["name"]) == int(valid.sum())
        ignore = gt.ignore[i][valid].numpy()
        assert (anno["name"] == "DontCare").tolist() == ignore.tolist()
        names = np.array(CLASSES)[gt.category[i, :, 0][valid].numpy()[~ignore] - 1]
        assert anno["name"][~ignore].tolist() == names.tolist()
        np.testing.assert_allclose(anno["bbox"], gt.bbox2d[i][valid].double().numpy())
        np.testing.assert_allclose(
            anno["dimensions"][~ignore], gt.bbox3d[i][valid][~ignore, 3:6].double()
        )
        assert anno["occluded"][~ignore].tolist() == occluded[i][valid][~ignore].tolist()
        assert (anno["location"][ignore] == -1000).all()
        # alpha = rotation_y - atan2(x, z), wrapped
        x, z = anno["location"][~ignore, 0], anno["location"][~ignore, 2]
        delta = anno["alpha"][~ignore] - (anno["rotation_y"][~ignore] - np.arctan2(x, z))
        np.testing.assert_allclose(np.sin(delta), 0.0, atol=1e-6)
        np.testing.assert_allclose(np.cos(delta), 1.0, atol=1e-6)


@given(gt=batches())
def test_detections_keep_valid_object_rows(gt):
    dets = detections_from(gt, k=gt.valid.shape[1] + 3)
    annos = detections_to_annos(dets, CLASSES)
    for i, anno in enumerate(annos):
        keep = dets.valid[i] & (dets.category[i] != 0)
        assert len(anno["name"]) == int(keep.sum())
        assert anno["score"].tolist() == pytest.approx([0.9] * int(keep.sum()))
        np.testing.assert_allclose(anno["location"], dets.bbox3d[i][keep][:, :3].double())
        np.testing.assert_allclose(anno["rotation_y"], dets.yaw[i][keep].double())


def test_training_time_evaluation_of_perfect_detections():
    # 48 tall, visible cars (one per image, 2D boxes far apart): perfect detections -> 100
    b = 48
    bbox2d = torch.tensor([[100.0, 120.0, 200.0, 220.0]]).expand(b, 1, 4)
    bbox3d = torch.tensor([[1.0, 1.6, 15.0, 1.5, 1.6, 3.9]]).expand(b, 1, 6)
    gt = GroundTruth(
        bbox2d=bbox2d.clone(),
        bbox3d=bbox3d.clone(),
        yaw=torch.zeros(b, 1, 1),
        category=torch.ones(b, 1, 1, dtype=torch.long),
        valid=torch.ones(b, 1, dtype=torch.bool),
        ignore=torch.zeros(b, 1, dtype=torch.bool),
    )
    dets = detections_from(gt, k=5)
    result = evaluate(ground_truth_to_annos(gt, CLASSES), detections_to_annos(dets, CLASSES))
    for metric in ("bbox", "bev", "3d", "aos"):
        assert result.get("Car", metric) == pytest.approx(100.0)
    assert result.get("Pedestrian", "3d") == 0.0


def test_contracts_are_checked_at_the_boundary():
    gt = GroundTruth(
        bbox2d=torch.zeros(2, 3, 4),
        bbox3d=torch.ones(2, 3, 6),
        yaw=torch.zeros(2, 3, 1),
        category=torch.ones(2, 3, 1, dtype=torch.long),
        valid=torch.ones(2, 3, dtype=torch.bool),
        ignore=torch.zeros(2, 3, dtype=torch.bool),
    )
    with pytest.raises(ContractError, match="truncated"):
        ground_truth_to_annos(gt, CLASSES, truncated=torch.zeros(2, 3, 1))  # rank
    bound = r"truncated has n=4, but n=3 was bound by ground_truth\.bbox2d"
    with pytest.raises(ContractError, match=bound):
        ground_truth_to_annos(gt, CLASSES, truncated=torch.zeros(2, 4))
    with pytest.raises(ContractError, match="occluded"):
        ground_truth_to_annos(gt, CLASSES, occluded=torch.zeros(2, 3))  # float, not int
    with pytest.raises(ContractError, match="detections"):
        detections_to_annos(gt, CLASSES)  # not a Detections bundle
    with pytest.raises(ValueError, match=r"category 4 is not an object class 1\.\.3"):
        ground_truth_to_annos(gt.apply(lambda t: t + 3 if t.dtype == torch.long else t), CLASSES)
    assert math.isfinite(ground_truth_to_annos(gt, CLASSES)[0]["alpha"][0])
