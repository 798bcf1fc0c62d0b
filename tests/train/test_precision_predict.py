"""Inference in the chosen precision: decoding stays float32 under autocast, and ``mono3d
predict --precision`` runs each setting (or refuses it in one line)."""

import torch

from mono3d.contracts import Images
from mono3d.detector import DetectorConfig, build_detector, postprocess
from mono3d.train import load_checkpoint
from mono3d.train.cli import main


def test_predict_under_bf16_autocast_decodes_in_float32():
    config = DetectorConfig.model_validate(
        {
            "backbone": {"depth": 18},
            "neck": {"out_channels": 16},
            "rpn": {"pre_nms_top_n_test": 64, "post_nms_top_n_test": 16},
            "head": {"fc_dim": 32},
        }
    )
    torch.manual_seed(0)
    detector = build_detector(config).eval()
    g = torch.Generator().manual_seed(1)
    calib = torch.tensor([[721.5, 0, 64.0, 44.9], [0, 721.5, 48.0, 0.2], [0, 0, 1, 0.003]])
    images = Images(
        images=torch.rand(1, 3, 96, 128, generator=g),
        calib=calib[None],
        image_size=torch.tensor([[96, 128]]),
    )
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        detections = detector.predict(images)
        output = detector(images)
    assert output.head.bbox3d_logit.dtype == torch.bfloat16  # the network ran in bf16
    with torch.no_grad():  # the same outputs decoded outside any autocast region
        expected = postprocess(
            output.head,
            output.rpn.bbox2d,
            output.rpn.valid,
            images.calib,
            detector.coder,
            image_size=images.image_size,
            score_thresh=detector.score_thresh,
            nms_thresh=detector.nms_thresh,
            detections_per_image=detector.detections_per_image,
            score=detector.score,
        )
    assert detections.bbox3d.dtype == torch.float32
    assert detections.valid.any()
    for name in ("bbox2d", "score", "bbox3d", "yaw", "alpha", "category", "valid"):
        assert torch.equal(getattr(detections, name), getattr(expected, name)), name


def test_predict_cli_precision_settings(config_writer, tiny_data, tmp_path, capsys):
    config = config_writer(tmp_path, "run", "train.steps=1", "train.amp=off")
    assert main(["train", str(config)]) == 0
    checkpoint = tmp_path / "run" / "checkpoint.pt"
    assert load_checkpoint(checkpoint)["precision"]["amp"] == "off"
    frames = sorted((tiny_data / "training" / "image_2").glob("*.png"))[:1]
    results = {}
    for setting in ("off", "bf16", "auto"):
        out = tmp_path / setting
        argv = ["predict", str(checkpoint), str(frames[0]), "--out", str(out)]
        assert main([*argv, "--precision", setting, "--device", "cpu"]) == 0
        results[setting] = (out / "data" / f"{frames[0].stem}.txt").read_text()
    assert results["off"]  # some detection line for the untrained model (random weights)
    capsys.readouterr()
    out = tmp_path / "fp16"
    argv = ["predict", str(checkpoint), str(frames[0]), "--out", str(out), "--device", "cpu"]
    assert main([*argv, "--precision", "fp16"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--precision: fp16 needs a CUDA device" in err[0]
