"""KittiDataset, class mapping rules, collate into the contract bundles, workers, samplers,
class priors, configs, and live contracts."""

import pathlib
import pickle

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, DistributedSampler

from mono3d.contracts import ContractError, GroundTruth, Images
from mono3d.data import (
    IGNORE_BOX3D,
    AugmentConfig,
    Batch,
    ClassMap,
    DataConfig,
    KittiDataset,
    Sample,
    class_priors,
    collate,
    hflip,
    labels_to_sample,
    read_kitti_label,
)
from mono3d.data.synthetic import SceneGenerator

TINY = (48, 160)


@pytest.fixture(scope="module")
def synthetic_root(tmp_path_factory) -> pathlib.Path:
    root = tmp_path_factory.mktemp("synthetic")
    generator = SceneGenerator(image_size=TINY, max_objects=6, depth_range=(4.0, 25.0),
                               min_visible_pixels=4)  # fmt: skip
    generator.write_dataset(root, 6, seed=11, val_fraction=1 / 3)
    return root


def test_kitti_sample_rows_follow_the_rules(kitti_sample):
    dataset = KittiDataset(kitti_sample)
    assert len(dataset) == 11 and dataset.classes == ("Car", "Pedestrian", "Cyclist")
    total = {"objects": 0, "ignore": 0}
    for index in range(len(dataset)):
        sample = dataset[index]
        raw = dataset.objects(index)
        kept = [o for o in raw if o.type in ("Car", "Pedestrian", "Cyclist", "DontCare")]
        assert sample.num_objects == len(kept)  # Truck and Misc are dropped
        for o, bbox, category, ignore in zip(kept, sample.bbox2d, sample.category, sample.ignore):
            assert bbox.tolist() == pytest.approx(o.bbox, abs=1e-4)
            assert bool(ignore) == o.is_dontcare
            expected = 0 if o.is_dontcare else ("Car", "Pedestrian", "Cyclist").index(o.type) + 1
            assert int(category) == expected
        assert (sample.bbox3d[sample.ignore] == torch.tensor(IGNORE_BOX3D)).all()
        assert sample.image.dtype == torch.float32 and 0 <= float(sample.image.min())
        assert float(sample.image.max()) <= 1 and sample.image.shape[0] == 3
        total["objects"] += int((~sample.ignore).sum())
        total["ignore"] += int(sample.ignore.sum())
    assert total == {"objects": 34, "ignore": 29}
    first = dataset[0]
    assert first.frame_id == "000000" and first.image_size == (370, 1224)
    assert first.calib[0, 0] == pytest.approx(707.0493)
    (ped,) = read_kitti_label(kitti_sample / "training" / "label_2" / "000000.txt")
    assert first.bbox3d[0].tolist() == pytest.approx([*ped.location, *ped.dimensions])
    assert float(first.yaw[0]) == pytest.approx(ped.rotation_y)


def test_class_map_rules():
    default = ClassMap.build()
    assert default.category("Car") == 1 and default.category("Cyclist") == 3
    assert default.category("Van") == 0 and default.category("Person_sitting") == 0
    assert default.category("DontCare") == 0 and default.category("Truck") is None
    assert default.num_categories == 4
    cars = ClassMap.build(["Car"])
    assert cars.category("Van") == 0 and cars.category("Person_sitting") is None
    assert cars.category("Pedestrian") is None  # background for a car-only detector
    custom = ClassMap.build(["Car", "Pedestrian"], {"Van": "Car", "Truck": "ignore",
                                                    "DontCare": "drop"})  # fmt: skip
    assert custom.category("Van") == 1 and custom.category("Truck") == 0
    assert custom.category("DontCare") is None
    with pytest.raises(ValueError, match=r"mapping\['Van'\]"):
        ClassMap.build(["Car"], {"Van": "Bus"})
    with pytest.raises(ValueError, match="unique"):
        ClassMap.build(["Car", "Car"])
    with pytest.raises(ValueError, match="at least one"):
        ClassMap.build([])


def test_bad_3d_box_becomes_ignore_row():
    from mono3d.data import KittiObject

    def car(bbox, dims):
        return KittiObject("Car", 0.0, 0, 0.1, bbox, dims, (1.0, 1.6, 20.0), 0.1)

    objects = [
        car((1.0, 2.0, 30.0, 40.0), (1.5, 1.6, 3.9)),
        car((1.0, 2.0, 30.0, 40.0), (-1.0, 1.6, 3.9)),
        car((5.0, 2.0, 5.0, 40.0), (1.5, 1.6, 3.9)),
    ]
    sample = labels_to_sample("x", torch.zeros(3, 8, 8), torch.eye(3, 4), objects, ClassMap.build())
    assert sample.num_objects == 2  # the empty 2D box is dropped
    assert sample.ignore.tolist() == [False, True] and sample.category.tolist() == [1, 0]


def test_collate_pads_to_stride_and_largest_n(kitti_sample):
    dataset = KittiDataset(kitti_sample)
    samples = [dataset[i] for i in (0, 1, 6)]  # sizes 370x1224, 375x1242, 374x1238
    batch = collate(samples, label_details=True)
    assert collate(samples).truncated is None  # the label details only on request
    assert isinstance(batch, Batch) and isinstance(batch.images, Images)
    assert isinstance(batch.gt, GroundTruth)
    assert batch.images.images.shape == (3, 3, 384, 1248)
    assert batch.images.image_size.tolist() == [[370, 1224], [375, 1242], [374, 1238]]
    n = max(s.num_objects for s in samples)
    assert batch.gt.bbox2d.shape == (3, n, 4) and batch.gt.category.shape == (3, n, 1)
    assert batch.gt.valid.sum(1).tolist() == [s.num_objects for s in samples]
    assert batch.frame_ids == ("000000", "000001", "000006")
    for i, s in enumerate(samples):
        k = s.num_objects
        assert torch.equal(batch.images.images[i, :, : s.image_size[0], : s.image_size[1]], s.image)
        assert float(batch.images.images[i, :, s.image_size[0] :].abs().sum()) == 0
        assert torch.equal(batch.gt.bbox2d[i, :k], s.bbox2d)
        assert torch.equal(batch.gt.yaw[i, :k, 0], s.yaw)
        assert torch.equal(batch.gt.ignore[i, :k], s.ignore)
        assert torch.equal(batch.truncated[i, :k], s.truncated)
        assert torch.equal(batch.occluded[i, :k], s.occluded)
        assert torch.equal(batch.images.calib[i], s.calib)
        assert not batch.gt.valid[i, k:].any()
    assert batch.to("cpu").frame_ids == batch.frame_ids


def test_collate_without_objects():
    empty = Sample(
        frame_id="e", image=torch.rand(3, 40, 50), calib=torch.eye(3, 4),
        bbox2d=torch.zeros(0, 4), bbox3d=torch.zeros(0, 6), yaw=torch.zeros(0),
        alpha=torch.zeros(0), category=torch.zeros(0, dtype=torch.int64),
        ignore=torch.zeros(0, dtype=torch.bool), truncated=torch.zeros(0),
        occluded=torch.zeros(0, dtype=torch.int64),
    )  # fmt: skip
    batch = collate([empty, empty], label_details=True)
    assert batch.images.images.shape == (2, 3, 64, 64)
    assert batch.gt.bbox2d.shape == (2, 0, 4) and batch.gt.valid.shape == (2, 0)
    assert batch.truncated.shape == (2, 0)


def test_splits_and_training_folder_root(synthetic_root):
    train = KittiDataset(synthetic_root, split="train")
    val = KittiDataset(synthetic_root, split="val")
    assert len(train) == 4 and len(val) == 2
    assert sorted(train.frame_ids + val.frame_ids) == [f"{i:06d}" for i in range(6)]
    direct = KittiDataset(synthetic_root / "training")
    assert direct.frame_ids == KittiDataset(synthetic_root).frame_ids
    assert KittiDataset(synthetic_root / "training", split="val").frame_ids == val.frame_ids


def test_test_split_without_labels(synthetic_root, tmp_path):
    testing = tmp_path / "testing"
    for folder in ("image_2", "calib"):
        (testing / folder).mkdir(parents=True)
        for path in (synthetic_root / "training" / folder).iterdir():
            (testing / folder / path.name).write_bytes(path.read_bytes())
    (tmp_path / "ImageSets").mkdir()
    (tmp_path / "ImageSets" / "test.txt").write_text("000001\n000002\n")
    dataset = KittiDataset(tmp_path, split="test")
    assert len(dataset) == 2 and dataset[0].num_objects == 0


def _loader_batches(dataset, **kwargs) -> list[Batch]:
    return list(DataLoader(dataset, batch_size=2, collate_fn=collate, **kwargs))


@pytest.mark.filterwarnings("ignore:.*multi-threaded.*:DeprecationWarning")
def test_workers_give_the_same_batches(synthetic_root):
    dataset = KittiDataset(synthetic_root)
    pickle.loads(pickle.dumps(dataset))
    serial = _loader_batches(dataset)
    parallel = _loader_batches(dataset, num_workers=2)
    assert len(serial) == len(parallel) == 3
    for a, b in zip(serial, parallel):
        assert a.frame_ids == b.frame_ids
        assert torch.equal(a.images.images, b.images.images)
        assert torch.equal(a.gt.bbox2d, b.gt.bbox2d) and torch.equal(a.gt.valid, b.gt.valid)


@pytest.mark.filterwarnings("ignore:.*multi-threaded.*:DeprecationWarning")
def test_augmented_dataset_in_workers(synthetic_root):
    config = DataConfig(root=str(synthetic_root), augment=AugmentConfig(scale_range=(0.9, 1.1)))
    dataset = KittiDataset.from_config(config, augment=True)
    pickle.loads(pickle.dumps(dataset))
    for batch in _loader_batches(dataset, num_workers=2):
        assert batch.images.images.shape[-1] % 32 == 0
        assert float(batch.images.images.max()) <= 1.0


def test_distributed_sampler_shards_the_dataset(synthetic_root):
    dataset = KittiDataset(synthetic_root)
    seen = []
    for rank in range(2):
        sampler: DistributedSampler[Sample] = DistributedSampler(
            dataset, num_replicas=2, rank=rank, shuffle=True, seed=3
        )
        for batch in DataLoader(dataset, batch_size=2, sampler=sampler, collate_fn=collate):
            seen += batch.frame_ids
    assert sorted(seen) == sorted(dataset.frame_ids)


def test_class_priors(kitti_sample, synthetic_root):
    priors = class_priors(kitti_sample, ("Car", "Pedestrian"))
    cars = [o.dimensions for f in sorted((kitti_sample / "training" / "label_2").glob("*.txt"))
            for o in read_kitti_label(f) if o.type == "Car"]  # fmt: skip
    assert len(cars) == 29
    np.testing.assert_allclose(priors["Car"], np.mean(cars, axis=0))
    assert set(priors) == {"Car", "Pedestrian"}
    with pytest.raises(ValueError, match="no object of class"):
        class_priors(kitti_sample, ("Car", "Tram"))
    synthetic = class_priors(synthetic_root, ("Car",), split="train")
    assert synthetic["Car"] == pytest.approx((1.53, 1.63, 3.88), abs=0.4)


def test_configs_are_strict():
    with pytest.raises(ValueError, match="mapping"):
        DataConfig(root="x", mapping={"Van": "Bus"})
    with pytest.raises(ValueError, match="extra"):
        DataConfig(root="x", bogus=1)
    with pytest.raises(ValueError, match="scale_range"):
        AugmentConfig(scale_range=(1.5, 0.5))
    steps = AugmentConfig().build().transforms
    assert [type(s).__name__ for s in steps] == [
        "RandomScaleCrop", "RandomHorizontalFlip", "PhotometricJitter",
    ]  # fmt: skip
    assert AugmentConfig(flip_probability=0, scale_range=(1, 1), brightness=0, contrast=0,
                         saturation=0).build().transforms == ()  # fmt: skip


def test_contracts_are_live(kitti_sample):
    sample = KittiDataset(kitti_sample)[1]
    with pytest.raises(ContractError, match="image"):
        labels_to_sample("x", torch.zeros(4, 8, 8), torch.eye(3, 4), [], ClassMap.build())
    with pytest.raises(ContractError, match="calib"):
        labels_to_sample("x", torch.zeros(3, 8, 8), torch.eye(4), [], ClassMap.build())
    with pytest.raises(ContractError, match=r"Sample\.bbox3d"):
        Sample(**{**sample.as_dict(), "bbox3d": sample.bbox3d[:, :5]})
    with pytest.raises(ContractError, match="n="):
        Sample(**{**sample.as_dict(), "yaw": sample.yaw[:-1]})
    with pytest.raises(ContractError, match="sample"):
        hflip(sample.image)
    with pytest.raises(ContractError, match="samples"):
        collate([sample.image])
