"""The GPU path in one short run (< 10 min on one CUDA device): train step, inference latency,
torch.compile of the dense parts and a two-step DDP smoke, mono3d beside torchvision.

    python benchmarks/bench_gpu.py [--device cuda] [--height 384 --width 1280 --batch 2]
        [--repeats 10] [--infer-batches 1 8] [--parts train infer compile ddp]
        [--compile-backend inductor] [--depth 50] [--threads 0]

Models: bench_detector.py's pair (mono3d's default Detector with ResNet-``depth`` FrozenBN and
nothing frozen, torchvision's Faster R-CNN with the same layers; random weights).

- train: one step (zero_grad, forward, losses, backward, SGD step) of each in fp32, under
  bf16 autocast, and bf16 autocast + channels_last (mono3d as its trainer runs it: the
  criterion on float32 outputs outside autocast); median of ``--repeats`` after two warm-ups,
  variants interleaved; images/s and the ratio to torchvision fp32.
- infer: ``predict`` latency at each ``--infer-batches`` size (fp32 and bf16 + channels_last;
  torchvision fp32 and bf16 + channels_last).
- compile: ``torch.compile`` (``--compile-backend``) of the Detector's dense parts (backbone
  + FPN + RPN conv head: static shapes, the reason mono3d pads): the first call (compile time)
  and the steady-state forward against eager, bf16 + channels_last, no gradient.
- ddp: a one-process DistributedDataParallel world (nccl on CUDA, gloo on the CPU) takes two
  train steps; the losses must be finite and the weights must move.

Times are CUDA-event milliseconds on a GPU (after ``synchronize``), wall milliseconds on the
CPU. ``--device cpu`` runs every part on the CPU at whatever size is asked (the tests run it
tiny); on a CPU ``inductor`` needs a C++ compiler, ``--compile-backend eager`` does not.
"""

import argparse
import contextlib
import dataclasses
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence

import torch
from torch import nn

from mono3d.backbone import STAGE_CHANNELS, BackboneConfig
from mono3d.contracts import GroundTruth, Images, checks
from mono3d.detector import Detector, DetectorConfig, build_criterion, build_detector

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_detector import scene, torchvision_reference

#: the train-step and inference variants: name -> (autocast bf16, channels_last)
PRECISIONS: dict[str, tuple[bool, bool]] = {
    "fp32": (False, False),
    "bf16": (True, False),
    "bf16+cl": (True, True),
}


@dataclasses.dataclass(frozen=True)
class Row:
    """One line of the table: part, model, variant, milliseconds and a free-form note."""

    part: str
    model: str
    variant: str
    ms: float
    note: str = ""


def mono3d_config(depth: int) -> DetectorConfig:
    return DetectorConfig(backbone=BackboneConfig(depth=depth, norm="frozen", frozen_stages=0))


class Clock:
    """Milliseconds of a callable on ``device``: CUDA events after a synchronize on a GPU,
    wall time on the CPU."""

    def __init__(self, device: torch.device) -> None:
        self.cuda = device.type == "cuda"

    def __call__(self, fn: Callable[[], object]) -> float:
        if self.cuda:
            torch.cuda.synchronize()
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize()
            return float(start.elapsed_time(end))
        begin = time.perf_counter()
        fn()
        return (time.perf_counter() - begin) * 1e3


def interleaved_ms(
    fns: dict[str, Callable[[], object]], repeats: int, clock: Clock, warmups: int = 2
) -> dict[str, float]:
    """Median milliseconds of each callable: ``warmups`` calls each, then ``repeats`` rounds
    in which every callable runs once."""
    for _ in range(warmups):
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for key, fn in fns.items():
            times[key].append(clock(fn))
    return {k: statistics.median(v) for k, v in times.items()}


def _autocast(device: torch.device, enabled: bool) -> contextlib.AbstractContextManager[object]:
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=enabled)


def _float32(bundle):  # type: ignore[no-untyped-def]
    return bundle.apply(lambda t: t.float() if t.is_floating_point() else t)


def _moved(images: Images, gt: GroundTruth, device: torch.device) -> tuple[Images, GroundTruth]:
    return images.to(device), gt.to(device)


def train_steps(args: argparse.Namespace, device: torch.device) -> dict[str, Callable[[], None]]:
    """One training step per (model, precision): the callables the train part times."""
    b, h, w = args.batch, args.height, args.width
    images, gt = _moved(*scene(b, h, w, n=args.objects), device)
    config = mono3d_config(args.depth)
    torch.manual_seed(0)
    ours = {name: build_detector(config).to(device) for name in PRECISIONS}
    theirs = {
        name: torchvision_reference(height=h, width=w, depth=args.depth).to(device)
        for name in PRECISIONS
    }
    criterion = build_criterion(config).to(device)
    for name, (_, channels_last) in PRECISIONS.items():
        if channels_last:
            ours[name].to(memory_format=torch.channels_last)
            theirs[name].to(memory_format=torch.channels_last)
    optimizers = {
        (who, name): torch.optim.SGD(model.parameters(), lr=1e-5)
        for who, models in (("mono3d", ours), ("torchvision", theirs))
        for name, model in models.items()
    }
    tv_images = list(images.images)
    tv_targets = [{"boxes": gt.bbox2d[i], "labels": gt.category[i, :, 0]} for i in range(b)]

    def ours_step(name: str) -> Callable[[], None]:
        model, optimizer = ours[name], optimizers[("mono3d", name)]
        bf16 = PRECISIONS[name][0]

        def step() -> None:
            model.train()
            optimizer.zero_grad(set_to_none=True)
            with _autocast(device, bf16):
                output = model(images, gt)
            criterion(_float32(output), gt, images).total.backward()
            optimizer.step()

        return step

    def theirs_step(name: str) -> Callable[[], None]:
        model, optimizer = theirs[name], optimizers[("torchvision", name)]
        bf16 = PRECISIONS[name][0]

        def step() -> None:
            model.train()
            optimizer.zero_grad(set_to_none=True)
            with _autocast(device, bf16):
                losses = model(tv_images, tv_targets)
            sum(v.float() for v in losses.values()).backward()
            optimizer.step()

        return step

    steps = {f"mono3d {n}": ours_step(n) for n in PRECISIONS}
    steps |= {f"torchvision {n}": theirs_step(n) for n in PRECISIONS}
    return steps


def part_train(args: argparse.Namespace, device: torch.device) -> list[Row]:
    times = interleaved_ms(train_steps(args, device), args.repeats, Clock(device))
    base = times["torchvision fp32"]
    rows = []
    for key, ms in times.items():
        model, variant = key.split(" ")
        images_s = args.batch / (ms / 1e3)
        rows.append(
            Row("train", model, variant, ms, f"{images_s:.1f} img/s, {ms / base:.3f}x tv fp32")
        )
    return rows


def part_infer(args: argparse.Namespace, device: torch.device) -> list[Row]:
    """predict latency per batch size: mono3d and torchvision, fp32 and bf16 + channels_last."""
    h, w = args.height, args.width
    config = mono3d_config(args.depth)
    torch.manual_seed(0)
    ours = {n: build_detector(config).to(device).eval() for n in ("fp32", "bf16+cl")}
    theirs = {
        n: torchvision_reference(height=h, width=w, depth=args.depth).to(device).eval()
        for n in ("fp32", "bf16+cl")
    }
    ours["bf16+cl"].to(memory_format=torch.channels_last)
    theirs["bf16+cl"].to(memory_format=torch.channels_last)
    rows = []
    for b in args.infer_batches:
        images, _ = _moved(*scene(b, h, w, n=1), device)
        tv_images = list(images.images)

        def ours_call(name: str, images: Images = images) -> Callable[[], None]:
            @torch.no_grad()
            def call() -> None:
                with _autocast(device, name != "fp32"):
                    ours[name].predict(images)

            return call

        def theirs_call(name: str, tv_images: list[torch.Tensor] = tv_images) -> Callable[[], None]:
            @torch.no_grad()
            def call() -> None:
                with _autocast(device, name != "fp32"):
                    theirs[name](tv_images)

            return call

        fns = {f"mono3d {n}": ours_call(n) for n in ours}
        fns |= {f"torchvision {n}": theirs_call(n) for n in theirs}
        times = interleaved_ms(fns, args.repeats, Clock(device))
        base = times["torchvision fp32"]
        for key, ms in times.items():
            model, variant = key.split(" ")
            rows.append(
                Row(f"infer b={b}", model, variant, ms, f"{ms / b:.1f} ms/img, {ms / base:.3f}x tv")
            )
    return rows


class DenseParts(nn.Module):
    """The Detector's dense layers on plain tensors: backbone, FPN, RPN conv head."""

    def __init__(self, detector: Detector) -> None:
        super().__init__()
        self.backbone, self.neck, self.rpn_head = (
            detector.backbone,
            detector.neck,
            detector.rpn.head,
        )

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        features = self.neck(self.backbone(images))
        object_logit, bbox2d_logit = self.rpn_head(features)
        return object_logit, bbox2d_logit


def part_compile(args: argparse.Namespace, device: torch.device) -> list[Row]:
    """torch.compile of the dense parts: compile time (first call) and steady state vs eager."""
    torch.manual_seed(0)
    detector = build_detector(mono3d_config(args.depth)).to(device).eval()
    detector.to(memory_format=torch.channels_last)
    dense = DenseParts(detector)
    images = torch.rand(args.batch, 3, args.height, args.width, device=device)
    clock = Clock(device)
    with checks(False), torch.no_grad(), _autocast(device, True):  # plain functions to trace
        compiled = torch.compile(dense, backend=args.compile_backend, dynamic=False)
        first = clock(lambda: compiled(images))
        eager_out, compiled_out = dense(images), compiled(images)
        error = max(
            float((a.float() - c.float()).abs().max()) for a, c in zip(eager_out, compiled_out)
        )
        times = interleaved_ms(
            {"eager": lambda: dense(images), "compiled": lambda: compiled(images)},
            args.repeats,
            clock,
        )
    return [
        Row("compile", "mono3d dense", "first call", first, f"backend {args.compile_backend}"),
        Row("compile", "mono3d dense", "eager", times["eager"], "bf16+cl, no grad"),
        Row(
            "compile",
            "mono3d dense",
            "compiled",
            times["compiled"],
            f"{times['compiled'] / times['eager']:.3f}x eager, max |diff| {error:.2g}",
        ),
    ]


def part_ddp(args: argparse.Namespace, device: torch.device) -> list[Row]:
    """Two DDP train steps in a one-process world (nccl on CUDA, gloo on the CPU)."""
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend, store=dist.HashStore(), rank=0, world_size=1)
    try:
        config = mono3d_config(args.depth)
        torch.manual_seed(0)
        detector = build_detector(config).to(device)
        criterion = build_criterion(config, detector.coder).to(device)
        model = DistributedDataParallel(
            detector, device_ids=[device.index or 0] if device.type == "cuda" else None
        )
        optimizer = torch.optim.SGD(detector.parameters(), lr=1e-3)
        images, gt = _moved(*scene(args.batch, args.height, args.width, n=args.objects), device)
        before = [p.detach().clone() for p in detector.parameters() if p.requires_grad]
        losses, clock = [], Clock(device)

        def step() -> None:
            optimizer.zero_grad(set_to_none=True)
            with _autocast(device, device.type == "cuda"):
                output = model(images, gt)
            total = criterion(_float32(output), gt, images).total
            total.backward()
            optimizer.step()
            losses.append(float(total.detach()))

        ms = [clock(step) for _ in range(2)]
        after = [p for p in detector.parameters() if p.requires_grad]
        moved = sum(not torch.equal(a, b) for a, b in zip(before, after, strict=True))
    finally:
        dist.destroy_process_group()
    ok = all(map(torch.isfinite, map(torch.tensor, losses))) and moved > 0
    note = (
        f"losses {losses[0]:.4g}, {losses[1]:.4g}; {moved} tensors moved; {'ok' if ok else 'FAIL'}"
    )
    if not ok:
        raise RuntimeError(f"DDP smoke failed: {note}")
    return [Row("ddp", "mono3d", f"{backend} step {i + 1}", t, note) for i, t in enumerate(ms)]


PARTS: dict[str, Callable[[argparse.Namespace, torch.device], list[Row]]] = {
    "train": part_train,
    "infer": part_infer,
    "compile": part_compile,
    "ddp": part_ddp,
}


def table(rows: Sequence[Row]) -> str:
    """The rows as a fixed-width text table."""
    lines = [f"{'part':12s} {'model':13s} {'variant':16s} {'ms':>9s}  note"]
    lines += [f"{r.part:12s} {r.model:13s} {r.variant:16s} {r.ms:9.2f}  {r.note}" for r in rows]
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--height", type=int, default=384)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--objects", type=int, default=8)
    parser.add_argument("--depth", type=int, default=50, choices=sorted(STAGE_CHANNELS))
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--infer-batches", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--parts", nargs="+", choices=list(PARTS), default=list(PARTS))
    parser.add_argument("--compile-backend", default="inductor")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> list[Row]:
    args = parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("bench_gpu: no CUDA device is available (use --device cpu to try it)")
    if args.threads:
        torch.set_num_threads(args.threads)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(
        f"bench_gpu on {name}: b={args.batch} {args.height}x{args.width}, ResNet{args.depth}, "
        f"median of {args.repeats}, torch {torch.__version__}",
        flush=True,
    )
    rows: list[Row] = []
    started = time.perf_counter()
    for part in args.parts:
        part_rows = PARTS[part](args, device)
        rows += part_rows
        print(table(part_rows).split("\n", 1)[1], flush=True)  # as it goes (a time-out keeps it)
    print(f"\n{table(rows)}\ntotal {time.perf_counter() - started:.0f} s")
    return rows


if __name__ == "__main__":
    main()
