"""make_auxi at KITTI training size: absolute time, its scaling in N·n, and peak memory.

    python benchmarks/bench_auxi.py [--repeats 5] [--objects 0 10 30 50 200] [--threads 1]
        [--clock wall|cpu] [--no-memory]

Setting: b=2 images of 384×1280 (padded KITTI), the DESIGN §5 anchors (sizes (16, 32) /
(48, 96) / (160, 320) at strides 4 / 8 / 16, ratios (0.5, 1, 2): 6 per location,
N = 6 (96·320 + 48·160 + 24·80) = 241,920 per image), Nhd = 512 proposals, n ground-truth
rows per image (all valid, ~10 % DontCare). Time is the median of ``--repeats`` calls in
this process (checks on, then ``checks(False)``); "/ n=30" divides by the n=30 row,
"ns/(N·n)" is time per anchor-object pair (per anchor for n=0), "iou share" the part of
make_feature that geometry.box_iou takes, "/ 1 pass" make_auxi in units of one fresh
elementwise op over a (b, n, N) float32 matrix (robust to a loaded machine). Peak memory
(VmHWM) is measured in a fresh child process per n, as the increase over its set-up.
"raw ms" is make_auxi with ``raw_fields=True`` (the per-anchor bbox3d / yaw / category no loss
reads gathered too, as every call did before they became optional), "lean/raw" the default's
time over it, timed alternately in this process. ``--clock cpu`` times process CPU time
instead of wall time (robust on a machine shared with other jobs, with ``--threads 1``).
"""

import argparse
import math
import os
import resource
import statistics
import subprocess
import sys
import time

import torch

from mono3d.auxi import DEFAULT_PRIORS, make_align, make_auxi, make_feature, priors_tensor
from mono3d.contracts import GroundTruth, RPNOutput, checks
from mono3d.geometry import box_iou

B, H, W = 2, 384, 1280
NHD = 512
LEVELS = ((4, (16.0, 32.0)), (8, (48.0, 96.0)), (16, (160.0, 320.0)))
RATIOS = (0.5, 1.0, 2.0)


def anchors() -> torch.Tensor:
    """(B, N, 4) anchors (x1, y1, x2, y2) centred on every stride-s location of each level."""
    per_level = []
    for stride, sizes in LEVELS:
        ys, xs = torch.meshgrid(
            (torch.arange(H // stride) + 0.5) * stride,
            (torch.arange(W // stride) + 0.5) * stride,
            indexing="ij",
        )
        centre = torch.stack([xs, ys, xs, ys], dim=-1).reshape(-1, 1, 4)
        half = []
        for size in sizes:
            for ratio in RATIOS:  # ratio = h / w, area size²
                w = size / math.sqrt(ratio)
                h = size * math.sqrt(ratio)
                half.append([-w / 2, -h / 2, w / 2, h / 2])
        per_level.append((centre + torch.tensor(half)).reshape(-1, 4))
    return torch.cat(per_level).expand(B, -1, -1).contiguous()


def scene(
    n: int, anchor: torch.Tensor, seed: int = 0
) -> tuple[GroundTruth, RPNOutput, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    calib = torch.tensor(
        [[721.5, 0.0, 609.6, 44.9], [0.0, 721.5, 172.9, 0.2], [0.0, 0.0, 1.0, 0.003]]
    )
    calib = calib.expand(B, 3, 4).contiguous()
    z = 5 + 50 * torch.rand(B, n, generator=g)
    x = (torch.rand(B, n, generator=g) - 0.5) * z
    size = torch.tensor([1.53, 1.63, 3.88]) * (0.8 + 0.4 * torch.rand(B, n, 3, generator=g))
    bbox3d = torch.cat([x[..., None], torch.full((B, n, 1), 1.65), z[..., None], size], dim=-1)
    cx = calib[:, None, 0, 2] + calib[:, None, 0, 0] * x / z
    cy = calib[:, None, 1, 2] + calib[:, None, 1, 1] * 1.0 / z
    half_w = calib[:, None, 0, 0] * 2.0 / z
    half_h = calib[:, None, 1, 1] * 0.8 / z
    bbox2d = torch.stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h], dim=-1)
    bbox2d = bbox2d.clamp(min=0).minimum(torch.tensor([W - 1.0, H - 1.0] * 2))
    gt = GroundTruth(
        bbox2d=bbox2d,
        bbox3d=bbox3d,
        yaw=(torch.rand(B, n, 1, generator=g) * 2 - 1) * math.pi,
        category=torch.randint(1, 4, (B, n, 1), generator=g),
        valid=torch.ones(B, n, dtype=torch.bool),
        ignore=torch.rand(B, n, generator=g) < 0.1,
    )
    jitter = torch.randn(B, NHD, 4, generator=g) * 8
    pick = torch.randint(0, max(n, 1), (B, NHD), generator=g)
    source = bbox2d if n else torch.tensor([[100.0, 100.0, 200.0, 180.0]]).expand(B, 1, 4)
    proposals = torch.gather(source, 1, pick[..., None].expand(B, NHD, 4)) + jitter
    x1y1 = proposals[..., :2].minimum(proposals[..., 2:] - 4)
    proposals = torch.cat([x1y1, proposals[..., 2:]], dim=-1)
    total = anchor.shape[1]
    pred = RPNOutput(
        anchors=anchor,
        bbox2d_logit=torch.zeros(B, total, 4),
        object_logit=torch.zeros(B, total, 1),
        bbox2d=proposals,
        bbox2d_object=torch.zeros(B, NHD, 1),
        valid=torch.rand(B, NHD, generator=g) < 0.95,
    )
    return gt, pred, calib


def seeded() -> torch.Generator:
    return torch.Generator().manual_seed(0)


#: the clock of every timing (``--clock``): wall or process CPU time
CLOCK = [time.perf_counter]


def median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = CLOCK[0]()
        fn()
        times.append(CLOCK[0]() - start)
    return statistics.median(times)


def alternating_medians(fns, repeats: int) -> list[float]:
    """Median seconds of each callable, timed in alternating rounds after one warm-up each."""
    for fn in fns:
        fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for fn, out in zip(fns, times, strict=True):
            start = CLOCK[0]()
            fn()
            out.append(CLOCK[0]() - start)
    return [statistics.median(t) for t in times]


def peak_rss_mb() -> float:
    """Peak resident set of this process, MB: VmHWM (per address space, so not inherited from
    the parent across fork/exec as ru_maxrss is); ru_maxrss where /proc is missing."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def child_memory(n: int) -> None:
    """Print the increase of peak RSS (MB) caused by one make_auxi call with n objects."""
    anchor = anchors()
    gt, pred, calib = scene(n, anchor)
    priors = priors_tensor(DEFAULT_PRIORS)
    before = peak_rss_mb()
    make_auxi(gt, pred, calib, priors, 12, generator=seeded())
    print(f"{peak_rss_mb() - before:.1f}")


def memory_in_child(n: int) -> float:
    out = subprocess.run(
        [sys.executable, __file__, "--child-memory", str(n)],
        capture_output=True,
        text=True,
        check=True,
        env=dict(os.environ),
    )
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--objects", type=int, nargs="+", default=[0, 10, 30, 50, 200])
    parser.add_argument("--no-memory", action="store_true", help="skip the child processes")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: unchanged)")
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall")
    parser.add_argument("--child-memory", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    CLOCK[0] = time.process_time if args.clock == "cpu" else time.perf_counter
    if args.child_memory is not None:
        child_memory(args.child_memory)
        return

    if args.threads:
        torch.set_num_threads(args.threads)
    anchor = anchors()
    total = anchor.shape[1]
    priors = priors_tensor(DEFAULT_PRIORS)
    print(
        f"make_auxi, b={B}, {H}x{W}, N={total:,} anchors/image, Nhd={NHD}, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.clock} clock, "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    rows = {}
    for n in args.objects:
        gt, pred, calib = scene(n, anchor)

        def call(gt=gt, pred=pred, calib=calib):
            return make_auxi(gt, pred, calib, priors, 12, generator=seeded())

        def call_raw(gt=gt, pred=pred, calib=calib):
            return make_auxi(gt, pred, calib, priors, 12, generator=seeded(), raw_fields=True)

        def feature(gt=gt, pred=pred):
            return make_feature(gt, pred.anchors, generator=seeded())

        def align(gt=gt, pred=pred, calib=calib):
            return make_align(gt, pred.bbox2d, pred.valid, calib, priors, 12, generator=seeded())

        matrix = torch.rand(B, n, total)
        on = median_seconds(call, args.repeats)
        with checks(False):
            off, raw = alternating_medians([call, call_raw], args.repeats)
            t_feature = median_seconds(feature, args.repeats)
            t_align = median_seconds(align, args.repeats)
            t_iou = median_seconds(lambda gt=gt: box_iou(gt.bbox2d, anchor), args.repeats)
            t_pass = median_seconds(lambda m=matrix: torch.add(m, 1.0), args.repeats)
        positives = int((call().gt_feature.object == 1).sum())
        memory = math.nan if args.no_memory else memory_in_child(n)
        rows[n] = (on, off, raw, t_feature, t_align, t_iou, t_pass, positives, memory)

    reference = rows.get(30, next(iter(rows.values())))[1]
    print(
        f"{'n':>4s} {'ms checks on':>13s} {'ms off':>8s} {'raw ms':>8s} {'lean/raw':>8s} "
        f"{'/ n=30':>7s} {'ns/(N·n)':>9s} "
        f"{'feature ms':>11s} {'align ms':>9s} {'box_iou ms':>11s} {'iou share':>10s} "
        f"{'/ 1 pass':>9s} {'anchor pos':>11s} {'peak +MB':>9s}"
    )
    for n, row in rows.items():
        on, off, raw, t_feature, t_align, t_iou, t_pass, positives, memory = row
        per_pair = off / (B * total * max(n, 1)) * 1e9
        passes = f"{off / t_pass:9.1f}" if n else f"{'-':>9s}"
        print(
            f"{n:4d} {on * 1e3:13.1f} {off * 1e3:8.1f} {raw * 1e3:8.1f} {off / raw:8.2f} "
            f"{off / reference:7.2f} {per_pair:9.2f} "
            f"{t_feature * 1e3:11.1f} {t_align * 1e3:9.1f} {t_iou * 1e3:11.1f} "
            f"{t_iou / t_feature:10.2f} {passes} {positives:11d} {memory:9.0f}"
        )
    iou_mb = {n: B * total * n * 4 / 2**20 for n in rows}
    print(
        "one float32 (b, n, N) matrix: "
        + ", ".join(f"n={n}: {mb:.0f} MB" for n, mb in iou_mb.items())
    )
    print(
        "'iou share': geometry.box_iou(gt, anchors) alone / make_feature; '/ 1 pass': make_auxi"
        " / one fresh elementwise op over a (b, n, N) float32 matrix (a load-robust unit)."
    )


if __name__ == "__main__":
    main()
