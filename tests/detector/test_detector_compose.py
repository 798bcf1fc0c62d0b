"""The composed Detector: contract shapes, ground truth joining the proposals, gradients,
boundary errors, the README's hand assembly, and KITTI-size forward + backward."""

import dataclasses
import hashlib
import pathlib
import re

import pytest
import torch
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from mono3d.contracts import ContractError, Detections, GroundTruth, Images, LossOutput
from mono3d.contracts.testing import ground_truths, images_bundles, padded_hw
from mono3d.detector import DetectorConfig, DetectorOutput, build_criterion, build_detector

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def small_model():
    from mono3d.detector import DetectorConfig

    config = DetectorConfig.model_validate(
        {
            "backbone": {"depth": 18},
            "neck": {"out_channels": 32},
            "rpn": {
                "pre_nms_top_n_train": 200,
                "pre_nms_top_n_test": 100,
                "post_nms_top_n_train": 40,
                "post_nms_top_n_test": 30,
            },
            "head": {"fc_dim": 64},
        }
    )
    torch.manual_seed(0)
    return config, build_detector(config), build_criterion(config)


@settings(max_examples=6)
@given(data=st.data(), b=st.integers(1, 3), hw=padded_hw(64, 192), n=st.integers(0, 6))
def test_outputs_follow_the_contracts(small_model, data, b, hw, n):
    config, detector, criterion = small_model
    images = data.draw(images_bundles(b, *hw))
    gt = data.draw(ground_truths(b, n, images.image_size, padding="nan"))
    detector.train()
    with torch.no_grad():
        out = detector(images, gt)
    nhd = config.rpn.post_nms_top_n_train
    assert isinstance(out, DetectorOutput)
    assert out.rpn.bbox2d.shape == (b, nhd + n, 4)
    assert out.head.bbox3d_logit.shape == (b, nhd + n, 4, 6)
    assert out.head.yaw_logit.shape == (b, nhd + n, 4, config.num_bins)
    # the ground-truth rows joined: valid exactly where the object rows are
    assert torch.equal(out.rpn.valid[:, nhd:], gt.valid & ~gt.ignore)
    proposals, valid = out.rpn.bbox2d[:, :nhd], out.rpn.valid[:, :nhd]
    size = images.image_size[:, None, :].float()
    inside = (
        (proposals[..., :2] >= 0).all(-1)
        & (proposals[..., 2] <= size[..., 1])
        & (proposals[..., 3] <= size[..., 0])
    )
    assert inside[valid].all(), "valid proposals lie inside each image's real size"
    assert (proposals[~valid] == 0).all()
    losses = criterion(out, gt, images)
    assert isinstance(losses, LossOutput)
    assert all(torch.isfinite(v) for v in losses.terms().values())
    detector.eval()
    with torch.no_grad():
        det = detector.predict(images)
    assert isinstance(det, Detections)
    assert det.bbox2d.shape == (b, config.postprocess.detections_per_image, 4)
    assert torch.isfinite(det.bbox3d).all()


def test_return_type_does_not_depend_on_training_mode(small_model, scene):
    _, detector, _ = small_model
    images, _ = scene(1, 64, 128, 2)
    with torch.no_grad():
        types = {type(detector.train()(images)), type(detector.eval()(images))}
    assert types == {DetectorOutput}


def test_no_proposal_above_threshold_gives_empty_detections(small_model, scene):
    config, detector, _ = small_model
    images, _ = scene(2, 64, 96, 0)
    detector.eval()
    saved = detector.score_thresh
    detector.score_thresh = 0.999999
    try:
        with torch.no_grad():
            det = detector.predict(images)
    finally:
        detector.score_thresh = saved
    assert det.valid.shape == (2, config.postprocess.detections_per_image)
    assert not det.valid.any() and (det.bbox3d == 0).all()


def test_gradients_reach_every_trainable_parameter(small_config, scene):
    config = small_config(backbone={"depth": 18, "norm": "batch", "frozen_stages": 0})
    torch.manual_seed(0)
    detector, criterion = build_detector(config), build_criterion(config)
    images, gt = scene(2, 128, 192, 5)
    detector.train()
    losses = criterion(detector(images, gt, generator=torch.Generator().manual_seed(0)), gt, images)
    losses.total.backward()
    missing = [
        name
        for name, p in detector.named_parameters()
        if p.requires_grad and (p.grad is None or not bool(p.grad.abs().sum() > 0))
    ]
    assert not missing, f"no gradient reaches {missing}"
    assert int(losses.num_anchor_pos) > 0 and int(losses.num_proposal_pos) > 0


def test_wrong_inputs_fail_at_the_boundary(small_model, scene):
    _, detector, criterion = small_model
    images, gt = scene(2, 64, 96, 3)
    odd = torch.rand(2, 3, 70, 96)
    with pytest.raises(ContractError, match="multiples of 32"):
        Images(images=odd, calib=images.calib, image_size=images.image_size)
    with pytest.raises(ContractError, match="images"):
        detector.backbone(odd)
    one_image_gt = GroundTruth(**{k: v[:1] for k, v in gt.as_dict().items()})
    bound = r"gt\.bbox2d has b=1, but b=2 was bound by images\.images"
    with pytest.raises(ContractError, match=bound):
        detector(images, one_image_gt)
    features = detector.neck(detector.backbone(images.images))
    with pytest.raises(ContractError, match="proposals"):
        detector.head(features, torch.rand(2, 5, 5))
    out = detector(images, gt)
    with pytest.raises(ContractError):
        criterion(out, one_image_gt, images)


def test_readme_hand_assembly_runs():
    text = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- compose-by-hand -->\s*```python\n(.*?)```", text, re.S)
    assert match, "README.md lost its compose-by-hand snippet"
    namespace: dict = {}
    exec(compile(match.group(1), "README.md", "exec"), namespace)
    assert isinstance(namespace["detections"], Detections)


def test_kitti_size_forward_backward():
    config = DetectorConfig()  # the defaults: ResNet50, Nhd 512 / 300
    torch.manual_seed(0)
    detector, criterion = build_detector(config), build_criterion(config)
    b, h, w = 2, 384, 1280
    g = torch.Generator().manual_seed(1)
    images = Images(
        images=torch.rand(b, 3, h, w, generator=g),
        calib=torch.tensor([[721.5, 0, 609.6, 44.9], [0, 721.5, 172.9, 0.2], [0, 0, 1, 0.003]])
        .expand(b, 3, 4)
        .clone(),
        image_size=torch.tensor([[375, 1242], [375, 1242]]),
    )
    n = 6
    xy = torch.rand(b, n, 2, generator=g) * torch.tensor([1000.0, 250.0])
    gt = GroundTruth(
        bbox2d=torch.cat([xy, xy + 40 + 60 * torch.rand(b, n, 2, generator=g)], -1),
        bbox3d=torch.tensor([2.0, 1.6, 20.0, 1.5, 1.6, 3.9]).expand(b, n, 6).clone(),
        yaw=torch.zeros(b, n, 1),
        category=torch.ones(b, n, 1, dtype=torch.int64),
        valid=torch.ones(b, n, dtype=torch.bool),
        ignore=torch.zeros(b, n, dtype=torch.bool),
    )
    detector.train()
    out = detector(images, gt)
    assert out.rpn.anchors.shape[1] == 6 * (96 * 320 + 48 * 160 + 24 * 80)
    assert out.head.category_logit.shape == (b, 512 + n, 4)
    losses = criterion(out, gt, images)
    losses.total.backward()
    grads = [p.grad for p in detector.parameters() if p.requires_grad]
    assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)


def test_bad_config_names_the_field(tmp_path):
    from mono3d.detector import ConfigError

    path = tmp_path / "model.yaml"
    path.write_text("rpn:\n  anchor_sizez: [[16]]\nbackbone:\n  depth: 51\n")
    with pytest.raises(ConfigError) as info:
        DetectorConfig.from_file(path)
    message = str(info.value)
    assert f"{path}: rpn.anchor_sizez: Extra inputs are not permitted" in message
    assert f"{path}: backbone.depth" in message
    path.write_text("classes: [Car, Tractor]\n")
    with pytest.raises(ConfigError, match="no \\(h, w, l\\) prior for classes \\['Tractor'\\]"):
        DetectorConfig.from_file(path)
    path.write_text("rpn: [unclosed\n")
    with pytest.raises(ConfigError, match=rf"{path}:\d+: invalid YAML"):
        DetectorConfig.from_file(path)
    path.write_text("head:\n  num_classes: 7\n")
    with pytest.raises(ConfigError, match=r"head\.num_classes is 7"):
        DetectorConfig.from_file(path)


def test_config_round_trips_through_yaml_and_overrides(tmp_path):
    config = DetectorConfig(classes=("Car", "Van"), priors={"Van": (2.2, 1.9, 5.1)}, num_bins=8)
    assert "num_classes" not in config.model_dump()["head"]
    assert "num_bins" not in config.model_dump()["head"]
    path = tmp_path / "model.json"
    path.write_text(config.model_dump_json())
    again = DetectorConfig.from_file(path, ["postprocess.score_thresh=0.3"])
    assert again.postprocess.score_thresh == 0.3
    assert dataclasses.replace is not None and again.class_priors() == (
        (1.53, 1.63, 3.88),
        (2.2, 1.9, 5.1),
    )


def _stored_before_build_arguments(config: DetectorConfig) -> dict:
    """``config`` as a resolved config.yaml / checkpoint stored it while HeadConfig still
    held the head's sizes: ``head.num_classes`` and ``head.num_bins`` written in."""
    data = config.model_dump(mode="json")
    data["head"] = {"num_classes": config.num_categories, "num_bins": config.num_bins}
    data["head"] |= config.model_dump(mode="json")["head"]
    return data


def test_stored_head_sizes_load_when_they_agree(tmp_path):
    from mono3d.detector import ConfigError

    for config in (
        DetectorConfig(),
        DetectorConfig(classes=("Car", "Van"), priors={"Van": (2.2, 1.9, 5.1)}, num_bins=8),
    ):
        stored = _stored_before_build_arguments(config)
        assert DetectorConfig.model_validate(stored) == config
        path = tmp_path / "config.yaml"
        path.write_text(yaml.safe_dump(stored))
        assert DetectorConfig.from_file(path) == config
    path.write_text("classes: [Car]\nhead:\n  num_classes: 4\n")
    wrong = r"head\.num_classes is 4 but classes \['Car'\] give C = 2"
    with pytest.raises(ConfigError, match=wrong):
        DetectorConfig.from_file(path)
    path.write_text("head:\n  num_bins: 8\n")
    with pytest.raises(ConfigError, match=r"head\.num_bins is 8 but num_bins is 12"):
        DetectorConfig.from_file(path)
    with pytest.raises(ConfigError, match=r"head\.num_bins is 12 but num_bins is 8"):
        DetectorConfig.from_file(path, ["num_bins=8", "head.num_bins=12"])


#: sha256 over "name:shape:dtype" of every state_dict entry of build_detector (the small
#: config with the shared 3D tower of that time, and it with classes Car, Van and 8 bins),
#: recorded before the head's C and B became build arguments (HeadConfig held them then)
STATE_DICT_LAYOUT = (
    ({}, "69785e2c6314e837c9e01322cbe5bdf73dbef691e96168bd57fbe01d9aab43a8"),
    (
        {"classes": ["Car", "Van"], "priors": {"Van": [2.2, 1.9, 5.1]}, "num_bins": 8},
        "a301ddde5082736304bd555c3b903af0428271fd5e901db0d99039ab4c3bc1bf",
    ),
)


@pytest.mark.parametrize(("overrides", "layout"), STATE_DICT_LAYOUT)
def test_state_dict_is_unchanged_by_build_arguments(small_config, overrides, layout):
    config = small_config(**overrides, head={"fc_dim": 128, "tower_3d": "shared"})
    torch.manual_seed(0)
    state = build_detector(config).state_dict()
    digest = hashlib.sha256()
    for key, value in state.items():
        digest.update(f"{key}:{tuple(value.shape)}:{value.dtype}\n".encode())
    assert digest.hexdigest() == layout
    # a model built from the config as an older run stored it is the same model, value for value
    torch.manual_seed(0)
    stored = build_detector(DetectorConfig.model_validate(_stored_before_build_arguments(config)))
    assert stored.state_dict().keys() == state.keys()
    for key, value in stored.state_dict().items():
        torch.testing.assert_close(value, state[key], rtol=0, atol=0, msg=key)
