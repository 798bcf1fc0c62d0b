"""``torch.export`` of the Detector in eval mode gives the eager detections."""

import warnings

import torch
from torch import nn

from mono3d.contracts import Images
from mono3d.detector import DetectorConfig, build_detector


class PredictTensors(nn.Module):
    """The detector's ``predict`` on plain tensors, returning the Detections fields."""

    def __init__(self, detector: nn.Module) -> None:
        super().__init__()
        self.detector = detector

    def forward(self, images: torch.Tensor, calib: torch.Tensor, image_size: torch.Tensor):
        det = self.detector.predict(Images(images=images, calib=calib, image_size=image_size))
        return det.bbox2d, det.score, det.category, det.bbox3d, det.yaw, det.alpha, det.valid


def test_exported_program_matches_eager():
    config = DetectorConfig.model_validate(
        {
            "backbone": {"depth": 18},
            "neck": {"out_channels": 32},
            "head": {"fc_dim": 64},
            "rpn": {"pre_nms_top_n_test": 100, "post_nms_top_n_test": 30},
            "postprocess": {"score_thresh": 0.2},
        }
    )
    torch.manual_seed(0)
    model = PredictTensors(build_detector(config)).eval()
    g = torch.Generator().manual_seed(3)
    args = (
        torch.rand(1, 3, 128, 256, generator=g),
        torch.tensor([[[200.0, 0.0, 128.0, 4.0], [0.0, 200.0, 64.0, 0.1], [0.0, 0.0, 1.0, 0.003]]]),
        torch.tensor([[120, 250]]),
    )
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torchvision's nms fake kernel
        program = torch.export.export(model, args)
        eager = model(*args)
        exported = program.module()(*args)
    assert int(eager[-1].sum()) > 0, "the test image should yield detections"
    for name, a, b in zip(
        ("bbox2d", "score", "category", "bbox3d", "yaw", "alpha", "valid"), eager, exported
    ):
        assert a.shape == b.shape, name
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5, msg=name)
