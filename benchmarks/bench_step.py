"""One mono3d training step taken apart: contract checks on vs off, where the time goes, and
what targets (make_auxi) and post-processing cost as n and the image size grow.

    python benchmarks/bench_step.py [--sizes 192x640 384x1280] [--objects 0 10 50 200]
        [--repeats 5] [--parts checks stages postprocess] [--threads 1] [--clock cpu]

Model: the default DetectorConfig with ResNet50 (FrozenBatchNorm, nothing frozen, random
weights), float32, b=2 random images, n random ground-truth boxes per image (all valid), as in
bench_detector.py. A step is what the trainer does: zero_grad, ``Detector(images, gt)``,
``Criterion`` (seeded generator), ``backward``, ``AdamW.step``.

checks: whole steps with checks on (the default) and inside ``mono3d.contracts.checks(False)``,
alternating (on, off, then off, on, ...) after one warm-up of each; medians of wall and of
process CPU time; the overhead is on / off - 1, as the ratio of the medians and as the median
of the per-round ratios (robust to slow drifts of the machine's speed), with the per-round
CPU-time difference in ms. The checks run in the forward pass only and cost about the same
whatever the image size, so they are also timed directly: Detector + Criterion without
gradient (the same work every call), 4 x repeats alternating rounds, the median paired
CPU-time difference in ms and as a share of the training step.

stages: the same step timed by forward hooks on the blocks (the Detector and Criterion code
runs unchanged): backbone, neck, RPN conv head, proposal selection (RPN minus its conv head:
anchors, decode, top-k, NMS, padding), RoI head, the rest of Detector.forward (joining the GT
boxes, bundle checks), targets (the TargetBuilder = make_auxi: matching, sampling, encoding;
the Detector's, run after its RPN, or the Criterion's where the Detector has none), losses
(the rest of the Criterion), backward, optimizer. One round runs every n once (interleaved);
the median of each stage over the rounds; "targets %" is the targets' share of the median step.

On a machine shared with other jobs, ``--threads 1 --clock cpu`` gives robust shares: with
one thread, the process CPU time of a span is the work done in it, whatever else runs.

postprocess: eval mode, no grad: ``Detector(images)`` (test-time proposals) and then
``mono3d.detector.postprocess`` on its output (what ``predict`` does), timed separately,
interleaved; the post-processing share of predict. With random weights every one of the
Nhd x (C-1) candidates passes the 0.05 score threshold, so NMS sees the most it can.
"""

import argparse
import os
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable

import torch
from torch import nn

from mono3d.backbone import BackboneConfig
from mono3d.contracts import checks
from mono3d.detector import Detector, DetectorConfig, build_criterion, build_detector, postprocess

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_detector import scene

#: the clock of the stage and post-processing timings (``--clock``): wall or process CPU
CLOCK: list[Callable[[], float]] = [time.perf_counter]

STAGES = (
    "backbone",
    "neck",
    "rpn conv",
    "proposals",
    "roi head",
    "det rest",
    "targets",
    "losses",
    "backward",
    "optim",
)


class Spans:
    """Wall time spent inside modules, accumulated by forward pre/post hooks."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self._start: dict[str, float] = {}

    def attach(self, module: nn.Module, name: str) -> None:
        def pre(_module: nn.Module, _args: object) -> None:
            self._start[name] = CLOCK[0]()

        def post(_module: nn.Module, _args: object, _out: object) -> None:
            self.seconds[name] += CLOCK[0]() - self._start[name]

        module.register_forward_pre_hook(pre)
        module.register_forward_hook(post)

    def reset(self) -> None:
        self.seconds.clear()


def parse_size(text: str) -> tuple[int, int]:
    h, _, w = text.partition("x")
    return int(h), int(w)


def build(channels_last: bool = False) -> tuple[Detector, nn.Module]:
    torch.manual_seed(0)
    config = DetectorConfig(
        backbone=BackboneConfig(
            depth=50, norm="frozen", frozen_stages=0, channels_last=channels_last
        )
    )
    return build_detector(config), build_criterion(config)


def make_step(
    detector: Detector,
    criterion: nn.Module,
    optimizer: torch.optim.Optimizer,
    b: int,
    h: int,
    w: int,
    n: int,
) -> Callable[[], dict[str, float]]:
    """A training step on a fixed scene; returns the wall seconds of backward and optimizer."""
    images, gt = scene(b, h, w, n=n)

    def step() -> dict[str, float]:
        detector.train()
        optimizer.zero_grad(set_to_none=True)
        losses = criterion(
            detector(images, gt, generator=torch.Generator().manual_seed(0)), gt, images
        )
        start = CLOCK[0]()
        losses.total.backward()
        middle = CLOCK[0]()
        optimizer.step()
        return {"backward": middle - start, "optim": CLOCK[0]() - middle}

    return step


def part_checks(args: argparse.Namespace, size: tuple[int, int]) -> None:
    h, w = size
    detector, criterion = build()
    optimizer = torch.optim.AdamW(detector.parameters(), lr=1e-5)
    step = make_step(detector, criterion, optimizer, args.batch, h, w, n=10)
    wall: dict[bool, list[float]] = {True: [], False: []}
    cpu: dict[bool, list[float]] = {True: [], False: []}
    for enabled in (True, False):  # warm-up
        with checks(enabled):
            step()
    for r in range(args.repeats):
        for enabled in (True, False) if r % 2 == 0 else (False, True):
            with checks(enabled):
                w0, c0 = time.perf_counter(), time.process_time()
                step()
                wall[enabled].append(time.perf_counter() - w0)
                cpu[enabled].append(time.process_time() - c0)
    print(f"\nchecks on vs off, whole training step, b={args.batch} {h}x{w}, n=10:")
    print(f"{'':12s} {'wall ms':>9s} {'cpu ms':>9s}")
    for enabled in (True, False):
        name = "checks on" if enabled else "checks off"
        print(
            f"{name:12s} {1e3 * statistics.median(wall[enabled]):9.1f} "
            f"{1e3 * statistics.median(cpu[enabled]):9.1f}"
        )
    over_wall = statistics.median(wall[True]) / statistics.median(wall[False]) - 1
    over_cpu = statistics.median(cpu[True]) / statistics.median(cpu[False]) - 1
    pairs = [a / b - 1 for a, b in zip(wall[True], wall[False], strict=True)]
    cpu_pairs = [a / b - 1 for a, b in zip(cpu[True], cpu[False], strict=True)]
    diff_ms = [1e3 * (a - b) for a, b in zip(cpu[True], cpu[False], strict=True)]
    print(
        f"overhead on/off - 1 (ratio of medians): wall {over_wall:+.1%}, cpu {over_cpu:+.1%}; "
        f"median of per-round ratios: wall {statistics.median(pairs):+.1%}, "
        f"cpu {statistics.median(cpu_pairs):+.1%} ({statistics.median(diff_ms):+.1f} ms cpu)"
    )
    print(f"per-round wall ratios: {' '.join(f'{p:+.1%}' for p in pairs)}")

    # the checks run in the forward pass only: time it alone (no grad: no backward, no update,
    # so every call does the same work), many alternating rounds, paired CPU-time differences
    images, gt = scene(args.batch, h, w, n=10)
    forward_cpu: dict[bool, list[float]] = {True: [], False: []}
    with torch.no_grad():
        for r in range(4 * args.repeats + 2):
            for enabled in (True, False) if r % 2 == 0 else (False, True):
                with checks(enabled):
                    c0 = time.process_time()
                    criterion(detector(images, gt, generator=torch.Generator()), gt, images)
                    if r >= 2:  # two warm-up rounds
                        forward_cpu[enabled].append(time.process_time() - c0)
    diffs = [a - b for a, b in zip(forward_cpu[True], forward_cpu[False], strict=True)]
    step_off = statistics.median(cpu[False])
    print(
        f"forward + criterion (no grad), {len(diffs)} rounds: checks on "
        f"{1e3 * statistics.median(forward_cpu[True]):.1f} ms, off "
        f"{1e3 * statistics.median(forward_cpu[False]):.1f} ms cpu; median paired difference "
        f"{1e3 * statistics.median(diffs):+.1f} ms = {statistics.median(diffs) / step_off:+.2%} "
        "of the training step (checks off)"
    )


def part_stages(args: argparse.Namespace, size: tuple[int, int]) -> None:
    h, w = size
    detector, criterion = build()
    optimizer = torch.optim.AdamW(detector.parameters(), lr=1e-5)
    spans = Spans()
    for module, name in (
        (detector, "detector"),
        (detector.backbone, "backbone"),
        (detector.neck, "neck"),
        (detector.rpn, "rpn"),
        (detector.rpn.head, "rpn conv"),
        (detector.head, "roi head"),
        (criterion, "criterion"),
        (criterion.targets, "targets"),
    ):
        spans.attach(module, name)
    if detector.targets is not None:  # the Detector samples the targets after its RPN
        spans.attach(detector.targets, "det targets")
    steps = {
        n: make_step(detector, criterion, optimizer, args.batch, h, w, n) for n in args.objects
    }
    steps[args.objects[0]]()  # warm-up
    samples: dict[int, list[dict[str, float]]] = {n: [] for n in args.objects}
    for _ in range(args.repeats):
        for n, step in steps.items():
            spans.reset()
            tail = step()
            s = spans.seconds
            samples[n].append(
                {
                    "backbone": s["backbone"],
                    "neck": s["neck"],
                    "rpn conv": s["rpn conv"],
                    "proposals": s["rpn"] - s["rpn conv"],
                    "roi head": s["roi head"],
                    "det rest": s["detector"]
                    - s["backbone"]
                    - s["neck"]
                    - s["rpn"]
                    - s["roi head"]
                    - s["det targets"],
                    "targets": s["targets"] + s["det targets"],
                    "losses": s["criterion"] - s["targets"],
                    **tail,
                }
            )
    print(f"\nstep stages, b={args.batch} {h}x{w}, ms (median of {args.repeats} rounds):")
    print(
        f"{'n':>4s} "
        + " ".join(f"{name:>9s}" for name in STAGES)
        + f" {'step':>9s} {'targets %':>9s}"
    )
    for n, rows in samples.items():
        medians = {name: statistics.median(r[name] for r in rows) for name in STAGES}
        total = statistics.median(sum(r.values()) for r in rows)
        print(
            f"{n:4d} "
            + " ".join(f"{1e3 * medians[name]:9.1f}" for name in STAGES)
            + f" {1e3 * total:9.1f} {medians['targets'] / total:9.2%}"
        )


def part_postprocess(args: argparse.Namespace, size: tuple[int, int]) -> None:
    h, w = size
    detector, _ = build()
    detector.eval()
    images, _ = scene(args.batch, h, w, n=0)
    forward_s, post_s = [], []
    candidates = kept = 0
    with torch.no_grad():
        for r in range(args.repeats + 1):
            start = CLOCK[0]()
            output = detector(images)
            middle = CLOCK[0]()
            detections = postprocess(
                output.head,
                output.rpn.bbox2d,
                output.rpn.valid,
                images.calib,
                detector.priors,
                score_thresh=detector.score_thresh,
                nms_thresh=detector.nms_thresh,
                detections_per_image=detector.detections_per_image,
            )
            end = CLOCK[0]()
            if r:  # the first is the warm-up
                forward_s.append(middle - start)
                post_s.append(end - middle)
            scores = torch.softmax(output.head.category_logit, dim=-1)[..., 1:]
            candidates = int(((scores > detector.score_thresh) & output.rpn.valid[..., None]).sum())
            kept = int(detections.valid.sum())
    forward, post = statistics.median(forward_s), statistics.median(post_s)
    nhd = output.rpn.bbox2d.shape[1]
    print(
        f"predict, b={args.batch} {h}x{w}, Nhd={nhd}: forward {1e3 * forward:.1f} ms, "
        f"postprocess {1e3 * post:.1f} ms = {post / (forward + post):.2%} of predict "
        f"({candidates} candidates over the score threshold, {kept} detections kept)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=parse_size, default=[(192, 640), (384, 1280)])
    parser.add_argument("--objects", type=int, nargs="+", default=[0, 10, 50, 200])
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--parts",
        nargs="+",
        choices=["checks", "stages", "postprocess"],
        default=["checks", "stages", "postprocess"],
    )
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="clock of the stages and post-processing (cpu: process CPU time)",
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    CLOCK[0] = time.process_time if args.clock == "cpu" else time.perf_counter
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.clock} clock, "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    for size in args.sizes:
        if "checks" in args.parts:
            part_checks(args, size)
        if "stages" in args.parts:
            part_stages(args, size)
        if "postprocess" in args.parts:
            part_postprocess(args, size)
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
