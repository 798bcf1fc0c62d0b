"""Data-parallel scaling on the CPU: training images/s with 1 and 2 processes (torchrun, gloo).

    python benchmarks/bench_scaling.py [--runs 1x2 1x1 2x1] [--batch 2]
        [--height 192 --width 640] [--steps 4] [--warmup 1] [--depth 50]

For each run PxT (P processes of T torch threads each) a fresh ``python -m
torch.distributed.run --standalone --nproc_per_node P`` runs a minimal DDP loop around
``build_detector`` / ``build_criterion`` (the default DetectorConfig at ``--depth``,
FrozenBatchNorm, random weights, float32): zero_grad, forward, Criterion, backward (DDP
averages the gradients over gloo), AdamW.step, on a fixed synthetic batch of ``--batch``
images per process (a different one per rank; no data loading, so only compute and
communication are measured). After ``--warmup`` steps the ranks meet at a barrier, run
``--steps`` timed steps, meet again; throughput = P x batch x steps / rank 0's wall time.
The default runs use every core in two ways (one process of two threads, two processes of
one thread) and add one process of one thread (the unit of the per-core comparison). Also
printed: the time of one all_reduce of a gradient-sized float32 buffer. Ratios are to the
first run.

On a machine with as many cores as processes, two processes split the same cores, so expect
about 1x (or less: two copies of the model, the all_reduce, smaller GEMMs per thread).
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import time

import torch

RESULT = re.compile(r"^RESULT (\S+) (\S+) (\S+) (\S+)$")


def worker(args: argparse.Namespace) -> None:
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    from mono3d.backbone import BackboneConfig
    from mono3d.detector import DetectorConfig, build_criterion, build_detector

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from bench_detector import scene

    dist.init_process_group(backend="gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)  # same initial weights on every rank (DDP also broadcasts rank 0's)
    config = DetectorConfig(
        backbone=BackboneConfig(depth=args.depth, norm="frozen", frozen_stages=0)
    )
    detector, criterion = build_detector(config), build_criterion(config)
    model = DistributedDataParallel(detector)
    optimizer = torch.optim.AdamW(detector.parameters(), lr=1e-5)
    images, gt = scene(args.batch, args.height, args.width, n=8, seed=rank)
    generator = torch.Generator()

    def step(k: int) -> None:
        optimizer.zero_grad(set_to_none=True)
        generator.manual_seed(1000 * k + rank)
        losses = criterion(model(images, gt, generator=generator), gt, images)
        losses.total.backward()
        optimizer.step()

    for k in range(args.warmup):
        step(k)
    dist.barrier()
    start = time.perf_counter()
    for k in range(args.steps):
        step(args.warmup + k)
    dist.barrier()
    elapsed = time.perf_counter() - start

    numel = sum(p.numel() for p in detector.parameters() if p.requires_grad)
    buffer = torch.ones(numel)
    reduce_times = []
    for _ in range(3):
        dist.barrier()
        t0 = time.perf_counter()
        dist.all_reduce(buffer)
        reduce_times.append(time.perf_counter() - t0)
    if rank == 0:
        rate = world * args.batch * args.steps / elapsed
        print(
            f"RESULT {rate:.4f} {elapsed / args.steps:.4f} "
            f"{statistics.median(reduce_times):.4f} {torch.get_num_threads()}",
            flush=True,
        )
    dist.destroy_process_group()


def launch(
    args: argparse.Namespace, processes: int, threads: int
) -> tuple[float, float, float, int]:
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        str(processes),
        os.path.abspath(__file__),
        "--worker",
        "--batch", str(args.batch),
        "--height", str(args.height),
        "--width", str(args.width),
        "--steps", str(args.steps),
        "--warmup", str(args.warmup),
        "--depth", str(args.depth),
        "--threads", str(threads),
    ]  # fmt: skip
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    out = subprocess.run(command, capture_output=True, text=True, env=env)
    for line in out.stdout.splitlines():
        match = RESULT.match(line.strip())
        if match:
            rate, per_step, reduce_s, threads = match.groups()
            return float(rate), float(per_step), float(reduce_s), int(threads)
    raise RuntimeError(
        f"{' '.join(command)} exited with {out.returncode} without a RESULT line:\n"
        f"{out.stdout[-2000:]}\n{out.stderr[-4000:]}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs", nargs="+", default=["1x2", "1x1", "2x1"], help="PxT: processes x threads"
    )
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, default=2, help="images per process and step")
    parser.add_argument("--height", type=int, default=192)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--depth", type=int, default=50, choices=[18, 34, 50, 101, 152])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    print(
        f"DDP (gloo, CPU) ResNet{args.depth} detector, {args.batch} images of "
        f"{args.height}x{args.width} per process and step, {args.steps} timed steps after "
        f"{args.warmup} warm-up, torch {torch.__version__}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"{'processes':>9s} {'threads/proc':>12s} {'images/s':>9s} {'s/step':>8s} "
        f"{'all_reduce s':>12s} {'vs first':>9s}"
    )
    base = None
    for run in args.runs:
        processes, threads = (int(v) for v in run.split("x"))
        rate, per_step, reduce_s, threads = launch(args, processes, threads)
        base = base or rate
        print(
            f"{processes:9d} {threads:12d} {rate:9.3f} {per_step:8.2f} {reduce_s:12.3f} "
            f"{rate / base:9.2f}x"
        )
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
