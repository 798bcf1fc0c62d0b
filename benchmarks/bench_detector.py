"""mono3d Detector vs torchvision's Faster R-CNN built the same way, timed in one run.

Both: ResNet50 layers 1-3 (s2/s3/s4), a 3-level 256-channel FPN, anchors (16, 32) / (48, 96)
/ (160, 320) x (0.5, 1, 2), pre-NMS top-k 2000/1000, Nhd 512/300, RoIAlign 7x7 sampling 2,
two FC 1024, 4 categories, random weights, float32. torchvision's transform keeps the image
size (min_size = h, max_size = w) and its normalisation is the same ImageNet one.

    python benchmarks/bench_detector.py [--height 384 --width 1280 --batch 2 --repeats 5]

Prints the median train step (forward + losses + backward) and inference (predict) time of
each, and the ratios mono3d / torchvision; also mono3d with channels_last + bfloat16 autocast
against torchvision in float32. Several repetitions, median, after one warm-up.
"""

import argparse
import statistics
import time
from collections.abc import Callable

import torch
import torchvision
from torch import nn
from torchvision.models.detection import FasterRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.backbone_utils import BackboneWithFPN
from torchvision.ops import MultiScaleRoIAlign
from torchvision.ops.feature_pyramid_network import ExtraFPNBlock

from mono3d.backbone import BackboneConfig
from mono3d.contracts import GroundTruth, Images
from mono3d.detector import DetectorConfig, build_criterion, build_detector


class NoExtraLevel(ExtraFPNBlock):
    """Keep the FPN at three levels (torchvision adds a max-pool level by default)."""

    def forward(self, results, x, names):  # type: ignore[override]
        return results, names


def torchvision_reference(num_classes: int = 4) -> FasterRCNN:
    resnet = torchvision.models.resnet50(norm_layer=torchvision.ops.FrozenBatchNorm2d)
    backbone = BackboneWithFPN(
        resnet,
        return_layers={"layer1": "0", "layer2": "1", "layer3": "2"},
        in_channels_list=[256, 512, 1024],
        out_channels=256,
        extra_blocks=NoExtraLevel(),
    )
    anchors = AnchorGenerator(
        sizes=((16, 32), (48, 96), (160, 320)), aspect_ratios=((0.5, 1.0, 2.0),) * 3
    )
    return FasterRCNN(
        backbone,
        num_classes=num_classes,
        min_size=384,
        max_size=1280,
        rpn_anchor_generator=anchors,
        rpn_pre_nms_top_n_train=2000,
        rpn_pre_nms_top_n_test=1000,
        rpn_post_nms_top_n_train=512,
        rpn_post_nms_top_n_test=300,
        box_roi_pool=MultiScaleRoIAlign(["0", "1", "2"], 7, 2),
        box_batch_size_per_image=512,
    )


def scene(b: int, h: int, w: int, n: int = 8, seed: int = 0) -> tuple[Images, GroundTruth]:
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(b, n, 2, generator=g) * torch.tensor([w * 0.8, h * 0.6])
    wh = 20 + torch.rand(b, n, 2, generator=g) * 120
    bbox2d = torch.cat([xy, xy + wh], dim=-1)
    z = 5 + 40 * torch.rand(b, n, generator=g)
    bbox3d = torch.stack(
        [
            (torch.rand(b, n, generator=g) - 0.5) * z,
            torch.full((b, n), 1.6),
            z,
            torch.full((b, n), 1.5),
            torch.full((b, n), 1.6),
            torch.full((b, n), 3.9),
        ],
        -1,
    )
    calib = torch.tensor(
        [[721.5, 0, w / 2, 44.9], [0, 721.5, h / 2, 0.2], [0, 0, 1, 0.003]]
    ).expand(b, 3, 4)
    images = Images(
        images=torch.rand(b, 3, h, w, generator=g),
        calib=calib.clone(),
        image_size=torch.tensor([[h, w]] * b),
    )
    gt = GroundTruth(
        bbox2d=bbox2d,
        bbox3d=bbox3d,
        yaw=torch.rand(b, n, 1, generator=g) * 6 - 3,
        category=torch.randint(1, 4, (b, n, 1), generator=g),
        valid=torch.ones(b, n, dtype=torch.bool),
        ignore=torch.zeros(b, n, dtype=torch.bool),
    )
    return images, gt


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up (allocations, anchor caches)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--height", type=int, default=384)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.manual_seed(0)
    images, gt = scene(args.batch, args.height, args.width)

    config = DetectorConfig(backbone=BackboneConfig(depth=50, norm="frozen", frozen_stages=0))
    ours, criterion = build_detector(config), build_criterion(config)
    fast_config = DetectorConfig(
        backbone=BackboneConfig(depth=50, norm="frozen", frozen_stages=0, channels_last=True)
    )
    ours_fast = build_detector(fast_config)
    ours_fast.load_state_dict(ours.state_dict())
    reference = torchvision_reference()

    tv_images = list(images.images)
    tv_targets = [
        {"boxes": gt.bbox2d[i], "labels": gt.category[i, :, 0]} for i in range(args.batch)
    ]

    def step_ours(model: nn.Module = ours, autocast: bool = False) -> None:
        model.train()
        model.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            losses = criterion(model(images, gt), gt, images)
        losses.total.backward()

    def step_reference() -> None:
        reference.train()
        reference.zero_grad(set_to_none=True)
        losses = reference(tv_images, tv_targets)
        sum(losses.values()).backward()

    @torch.no_grad()
    def infer_ours(model: nn.Module = ours, autocast: bool = False) -> None:
        model.eval()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            model.predict(images)

    @torch.no_grad()
    def infer_reference() -> None:
        reference.eval()
        reference(tv_images)

    rows = {
        "train step, torchvision fp32": median_seconds(step_reference, args.repeats),
        "train step, mono3d fp32": median_seconds(step_ours, args.repeats),
        "train step, mono3d cl+bf16": median_seconds(
            lambda: step_ours(ours_fast, True), args.repeats
        ),
        "inference, torchvision fp32": median_seconds(infer_reference, args.repeats),
        "inference, mono3d fp32": median_seconds(infer_ours, args.repeats),
        "inference, mono3d cl+bf16": median_seconds(
            lambda: infer_ours(ours_fast, True), args.repeats
        ),
    }
    print(
        f"b={args.batch} {args.height}x{args.width}, {torch.get_num_threads()} threads, "
        f"median of {args.repeats}, torch {torch.__version__}"
    )
    for name, seconds in rows.items():
        print(f"{name:34s} {seconds * 1000:9.1f} ms")
    for kind in ("train step", "inference"):
        base = rows[f"{kind}, torchvision fp32"]
        for variant in ("mono3d fp32", "mono3d cl+bf16"):
            ratio = rows[f"{kind}, {variant}"] / base
            print(f"{kind:12s} ratio {variant} / torchvision fp32: {ratio:.3f}")


if __name__ == "__main__":
    main()
