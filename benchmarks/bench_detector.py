"""mono3d Detector vs torchvision's Faster R-CNN built the same way, timed in one run.

Both: ResNet50 layers 1-3 (s2/s3/s4), a 3-level 256-channel FPN, anchors (16, 32) / (48, 96)
/ (160, 320) x (0.5, 1, 2), pre-NMS top-k 2000/1000, Nhd 512/300, RoIAlign 7x7 sampling 2,
two FC 1024, 4 categories, random weights, float32. torchvision's transform keeps the image
size (min_size = h, max_size = w) and its normalisation is the same ImageNet one.

    python benchmarks/bench_detector.py [--height 384 --width 1280 --batch 2 --repeats 5]
        [--rows train inference] [--memory] [--profile 15]

Prints the median train step (forward + losses + backward) and inference (predict) time of
each, and the ratios mono3d / torchvision; also mono3d with channels_last + bfloat16 autocast
against torchvision in float32, and "mono3d auto": what ``train.amp: auto`` resolves to on this
machine (printed; bf16 autocast + channels_last where the CPU runs bf16 natively) with the
trainer's split: forward under autocast, the criterion on float32 outputs outside it; its
inference is ``predict`` under autocast (the decoding inside stays float32). Several
repetitions, median, after one warm-up; the variants are interleaved (repetition r of every
variant runs before repetition r + 1 of any), so a change in the machine's load touches them
all alike. Each row gives the median wall time,
the fastest wall time and the median process CPU time; on a machine shared with other jobs,
``--threads 1`` and the CPU-time ratios are the robust comparison (a single thread is not
slowed by waiting for a descheduled sibling thread).

The dense floor runs the same mono3d layers (backbone, FPN, the RPN's conv head, RoIAlign +
the RoI head) on FIXED random proposals (Nhd + n per image in training, as many as the head
sees in a mono3d step; the test Nhd at inference): no anchors, no matching, no proposal
selection or NMS, no targets, no post-processing; its "loss" is the sum of the output means.
mono3d's full step over that floor is the cost of everything that is not dense compute.

``--memory``: the peak resident memory (VmHWM) each variant adds over its set-up, measured in
a fresh child process per variant (two calls: warm-up + one). ``--profile K``: the K
operators taking the most self CPU time in one call of each of ``--variants`` (default: the
train step of mono3d fp32 and of torchvision), from torch.profiler.
"""

import argparse
import os
import statistics
import subprocess
import sys
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

from mono3d.backbone import STAGE_CHANNELS, BackboneConfig
from mono3d.contracts import GroundTruth, Images
from mono3d.detector import Detector, DetectorConfig, build_criterion, build_detector
from mono3d.head import HeadConfig
from mono3d.train._precision import resolve_precision


class NoExtraLevel(ExtraFPNBlock):
    """Keep the FPN at three levels (torchvision adds a max-pool level by default)."""

    def forward(self, results, x, names):  # type: ignore[override]
        return results, names


def torchvision_reference(
    num_classes: int = 4, height: int = 384, width: int = 1280, depth: int = 50
) -> FasterRCNN:
    """torchvision's Faster R-CNN with mono3d's layers (a ResNet of ``depth``, FPN over its
    first three stages); its transform keeps (height, width)."""
    resnet = getattr(torchvision.models, f"resnet{depth}")(
        norm_layer=torchvision.ops.FrozenBatchNorm2d
    )
    backbone = BackboneWithFPN(
        resnet,
        return_layers={"layer1": "0", "layer2": "1", "layer3": "2"},
        in_channels_list=list(STAGE_CHANNELS[depth]),
        out_channels=256,
        extra_blocks=NoExtraLevel(),
    )
    anchors = AnchorGenerator(
        sizes=((16, 32), (48, 96), (160, 320)), aspect_ratios=((0.5, 1.0, 2.0),) * 3
    )
    return FasterRCNN(
        backbone,
        num_classes=num_classes,
        min_size=min(height, width),
        max_size=max(height, width),
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


def fixed_proposals(b: int, m: int, h: int, w: int, seed: int = 1) -> torch.Tensor:
    """(b, m, 4) random boxes inside the image, sides 16-256 px (all FPN levels get some)."""
    g = torch.Generator().manual_seed(seed)
    side = 16 + 240 * torch.rand(b, m, 2, generator=g)
    side = side.minimum(torch.tensor([w - 1.0, h - 1.0]))
    corner = torch.rand(b, m, 2, generator=g) * (torch.tensor([w, h]) - side)
    return torch.cat([corner, corner + side], dim=-1)


def dense_floor(model: Detector, images: Images, proposals: torch.Tensor) -> list[torch.Tensor]:
    """The dense layers of a mono3d step: backbone, FPN, RPN conv head, RoIAlign + head."""
    features = model.neck(model.backbone(images.images))
    object_logit, bbox2d_logit = model.rpn.head(features)
    head = model.head(features, proposals, images.calib)
    return [object_logit, bbox2d_logit, *head.as_dict().values()]


def trivial_loss(outputs: list[torch.Tensor]) -> torch.Tensor:
    return torch.stack([t.float().mean() for t in outputs]).sum()


#: every variant: (kind, name); kind picks the table
VARIANTS: dict[str, tuple[str, str]] = {
    "train-tv": ("train step", "torchvision fp32"),
    "train-ours": ("train step", "mono3d fp32"),
    "train-ours-fast": ("train step", "mono3d cl+bf16"),
    "train-floor": ("train step", "dense floor fp32"),
    "train-floor-fast": ("train step", "dense floor cl+bf16"),
    "train-ours-auto": ("train step", "mono3d auto"),
    "infer-tv": ("inference", "torchvision fp32"),
    "infer-ours": ("inference", "mono3d fp32"),
    "infer-ours-fast": ("inference", "mono3d cl+bf16"),
    "infer-floor": ("inference", "dense floor fp32"),
    "infer-floor-fast": ("inference", "dense floor cl+bf16"),
    "infer-ours-auto": ("inference", "mono3d auto"),
}


def make_variants(args: argparse.Namespace, keys: list[str]) -> dict[str, Callable[[], None]]:
    """The callables of the requested variants (only the models they need are built)."""
    torch.manual_seed(0)
    b, h, w = args.batch, args.height, args.width
    images, gt = scene(b, h, w, n=args.objects)
    fast = [k.endswith("-fast") for k in keys if "-tv" not in k and "-auto" not in k]
    head = HeadConfig(**dict(item.split("=", 1) for item in args.head))
    config = DetectorConfig(
        backbone=BackboneConfig(depth=50, norm="frozen", frozen_stages=0), head=head
    )
    ours = build_detector(config) if fast and not all(fast) else None
    criterion = build_criterion(config, ours.coder if ours is not None else None)
    ours_fast = None
    if any(fast):
        fast_config = DetectorConfig(
            backbone=BackboneConfig(depth=50, norm="frozen", frozen_stages=0, channels_last=True),
            head=head,
        )
        ours_fast = build_detector(fast_config)
        if ours is not None:  # same weights as the float32 model
            ours_fast.load_state_dict(ours.state_dict())
    ours_auto = None
    if any(k.endswith("-auto") for k in keys):  # what the trainer and predict run by default
        precision = resolve_precision("auto", "cpu")
        print(f"mono3d auto: {precision.describe()}")
        ours_auto = precision.prepare(build_detector(config))
        if ours is not None:
            ours_auto.load_state_dict(ours.state_dict())
    tv = any("-tv" in k for k in keys)
    reference = torchvision_reference(height=h, width=w) if tv else None
    tv_images = list(images.images)
    tv_targets = [{"boxes": gt.bbox2d[i], "labels": gt.category[i, :, 0]} for i in range(b)]
    train_rois = fixed_proposals(b, config.rpn.post_nms_top_n_train + args.objects, h, w)
    test_rois = fixed_proposals(b, config.rpn.post_nms_top_n_test, h, w)

    def step_ours(model: nn.Module, autocast: bool = False) -> None:
        model.train()
        model.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            losses = criterion(model(images, gt), gt, images)
        losses.total.backward()

    def step_auto() -> None:
        """The trainer's step: forward under the precision's autocast, the criterion in
        float32 on float32 outputs, backward."""
        assert ours_auto is not None
        ours_auto.train()
        ours_auto.zero_grad(set_to_none=True)
        with precision.autocast("cpu"):
            output = ours_auto(images, gt)
        output = output.apply(lambda t: t.float() if t.is_floating_point() else t)
        criterion(output, gt, images).total.backward()

    @torch.no_grad()
    def infer_auto() -> None:
        """predict as ``mono3d predict`` runs it (decoding in float32 inside)."""
        assert ours_auto is not None
        ours_auto.eval()
        with precision.autocast("cpu"):
            ours_auto.predict(images)

    def step_reference() -> None:
        assert reference is not None
        reference.train()
        reference.zero_grad(set_to_none=True)
        losses = reference(tv_images, tv_targets)
        sum(losses.values()).backward()

    def step_floor(model: Detector, autocast: bool = False) -> None:
        model.train()
        model.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            outputs = dense_floor(model, images, train_rois)
        trivial_loss(outputs).backward()

    @torch.no_grad()
    def infer_ours(model: Detector, autocast: bool = False) -> None:
        model.eval()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            model.predict(images)

    @torch.no_grad()
    def infer_reference() -> None:
        assert reference is not None
        reference.eval()
        reference(tv_images)

    @torch.no_grad()
    def infer_floor(model: Detector, autocast: bool = False) -> None:
        model.eval()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            dense_floor(model, images, test_rois)

    table: dict[str, Callable[[], None]] = {
        "train-tv": step_reference,
        "train-ours": lambda: step_ours(ours),  # type: ignore[arg-type]
        "train-ours-fast": lambda: step_ours(ours_fast, True),  # type: ignore[arg-type]
        "train-floor": lambda: step_floor(ours),  # type: ignore[arg-type]
        "train-floor-fast": lambda: step_floor(ours_fast, True),  # type: ignore[arg-type]
        "infer-tv": infer_reference,
        "infer-ours": lambda: infer_ours(ours),  # type: ignore[arg-type]
        "infer-ours-fast": lambda: infer_ours(ours_fast, True),  # type: ignore[arg-type]
        "infer-floor": lambda: infer_floor(ours),  # type: ignore[arg-type]
        "infer-floor-fast": lambda: infer_floor(ours_fast, True),  # type: ignore[arg-type]
        "train-ours-auto": step_auto,
        "infer-ours-auto": infer_auto,
    }
    return {k: table[k] for k in keys}


def interleaved_medians(
    fns: dict[str, Callable[[], None]], repeats: int
) -> dict[str, tuple[float, float, float]]:
    """(median wall s, min wall s, median process CPU s) of each callable: one warm-up each,
    then ``repeats`` rounds in which every callable runs once (same order every round)."""
    for fn in fns.values():
        fn()  # warm-up (allocations, anchor caches, oneDNN kernels)
    wall: dict[str, list[float]] = {k: [] for k in fns}
    cpu: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for key, fn in fns.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            fn()
            wall[key].append(time.perf_counter() - start)
            cpu[key].append(time.process_time() - start_cpu)
    return {k: (statistics.median(wall[k]), min(wall[k]), statistics.median(cpu[k])) for k in fns}


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MB (VmHWM: not inherited across exec)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError("no VmHWM in /proc/self/status")


def resident_mb() -> float:
    """Current resident memory of this process in MB (VmRSS)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError("no VmRSS in /proc/self/status")


def child_memory(args: argparse.Namespace) -> None:
    """Print the peak memory (MB) two calls of one variant add over the set-up's resident
    memory. The peak left by building the models is reset first (/proc/self/clear_refs)."""
    fn = make_variants(args, [args.child_memory])[args.child_memory]
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # reset VmHWM to the current VmRSS
    before = resident_mb()
    fn()
    fn()
    print(f"{peak_rss_mb() - before:.1f}")


def memory_in_child(args: argparse.Namespace, key: str) -> float:
    command = [
        sys.executable,
        __file__,
        "--height", str(args.height),
        "--width", str(args.width),
        "--batch", str(args.batch),
        "--objects", str(args.objects),
        "--threads", str(args.threads),
        "--child-memory", key,
        "--head", *args.head,
    ]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def profile(args: argparse.Namespace, top: int, keys: list[str]) -> None:
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    fns = make_variants(args, keys)
    for key, fn in fns.items():
        fn()  # warm-up
        with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
            fn()
        events = prof.key_averages()
        total = sum(e.self_cpu_time_total for e in events)
        print(f"\nprofile, {' '.join(VARIANTS[key])}: top {top} ops by self CPU time")
        print(f"{'op':44s} {'self ms':>9s} {'share':>6s} {'calls':>6s}")
        ranked = sorted(events, key=lambda e: e.self_cpu_time_total, reverse=True)
        for e in ranked[:top]:
            print(
                f"{e.key[:44]:44s} {e.self_cpu_time_total / 1e3:9.1f} "
                f"{e.self_cpu_time_total / total:6.1%} {e.count:6d}"
            )
        print(f"{'(all ops)':44s} {total / 1e3:9.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--height", type=int, default=384)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--objects", type=int, default=8, help="n ground-truth boxes per image")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--rows", nargs="+", choices=["train", "inference"], default=["train", "inference"]
    )
    parser.add_argument(
        "--variants", nargs="+", choices=list(VARIANTS), help="only these (default: all rows)"
    )
    parser.add_argument("--memory", action="store_true", help="peak memory per variant")
    parser.add_argument("--no-timing", action="store_true", help="skip the timed table")
    parser.add_argument("--profile", type=int, default=0, metavar="K", help="top-K op profile")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument(
        "--head",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="HeadConfig fields of mono3d's model, e.g. pool_3d=proposal (default: its defaults)",
    )
    parser.add_argument("--child-memory", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.child_memory is not None:
        child_memory(args)
        return

    prefixes = tuple({"train": "train-", "inference": "infer-"}[r] for r in args.rows)
    keys = [k for k in VARIANTS if k.startswith(prefixes)]
    if args.variants:
        keys = [k for k in keys if k in args.variants]
    print(
        f"b={args.batch} {args.height}x{args.width}, n={args.objects}, "
        f"{torch.get_num_threads()} threads, median of {args.repeats} (interleaved), "
        f"torch {torch.__version__}, load average {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} CPUs"
    )
    if not args.no_timing:
        medians = interleaved_medians(make_variants(args, keys), args.repeats)
        rows = {", ".join(VARIANTS[k]): s for k, s in medians.items()}
        print(
            f"{'':34s} {'wall ms':>9s} {'ms/image':>9s} {'min wall':>9s} {'cpu ms':>9s}"
            "  (medians; cpu = process CPU time, all threads)"
        )
        for name, (wall, fastest, cpu) in rows.items():
            print(
                f"{name:34s} {wall * 1000:9.1f} {wall * 1000 / args.batch:9.1f} "
                f"{fastest * 1000:9.1f} {cpu * 1000:9.1f}"
            )
        pairs = [(f"mono3d {p}", "torchvision fp32") for p in ("fp32", "cl+bf16", "auto")]
        pairs += [(f"mono3d {p}", f"dense floor {p}") for p in ("fp32", "cl+bf16")]
        for kind in ("train step", "inference"):
            for variant, base in pairs:
                if f"{kind}, {variant}" in rows and f"{kind}, {base}" in rows:
                    a, b = rows[f"{kind}, {variant}"], rows[f"{kind}, {base}"]
                    print(
                        f"{kind:12s} ratio {variant} / {base}: wall {a[0] / b[0]:.3f}, "
                        f"min wall {a[1] / b[1]:.3f}, cpu {a[2] / b[2]:.3f}"
                    )
        print(f"load average at the end {os.getloadavg()[0]:.1f}")
    if args.memory:
        print("peak memory added by two calls (fresh process per variant, VmHWM):")
        for key in keys:
            kind, name = VARIANTS[key]
            print(f"{kind + ', ' + name:34s} {memory_in_child(args, key):9.0f} MB")
    if args.profile:
        profile(args, args.profile, args.variants or ["train-ours", "train-tv"])


if __name__ == "__main__":
    main()
