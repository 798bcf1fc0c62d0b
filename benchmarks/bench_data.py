"""mono3d.data throughput: synthetic scene generation and dataset loading at KITTI size.

    python benchmarks/bench_data.py [--scenes 200] [--frames 64] [--batch-size 4]

Generation: ``SceneGenerator()`` at 375×1242 (0-15 objects per scene), frames rendered in
memory (sampling + rasterising + labelling), then rendered and written as KITTI files (PNG
at compress level 1, label, calib). Loading: a ``DataLoader`` over ``KittiDataset`` of
``--frames`` written synthetic frames with ``collate``, batch ``--batch-size``, with 0 and 2
workers, without and with the default augmentation (scale 0.8-1.2 + crop, flip, photometric
jitter); one warm-up pass, then a timed pass (persistent workers). Images per second and
the ratio to the first row of each table, all measured in this one run.
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from mono3d.data import AugmentConfig, KittiDataset, collate
from mono3d.data.synthetic import SceneGenerator


def _rate(count: int, seconds: float) -> str:
    return f"{count / seconds:8.1f} img/s  {1e3 * seconds / count:7.2f} ms/img"


def bench_generation(scenes: int, root: Path, frames: int) -> None:
    """Single process, single thread (numpy + PIL): wall clock and this process's CPU time
    (the CPU-time rate is the one-core throughput even when other processes share the CPU)."""
    generator = SceneGenerator()
    generator.scene(0, 0)  # warm-up
    wall, cpu = time.perf_counter(), time.process_time()
    objects = sum(len(generator.scene(1, i).objects) for i in range(scenes))
    render = (time.perf_counter() - wall, time.process_time() - cpu)
    wall, cpu = time.perf_counter(), time.process_time()
    generator.write_dataset(root, frames, seed=2, val_fraction=0.25)
    write = (time.perf_counter() - wall, time.process_time() - cpu)
    print(f"generation at 375x1242 ({objects / scenes:.1f} labelled objects per scene)")
    print(
        f"  render in memory     wall {_rate(scenes, render[0])} | cpu {_rate(scenes, render[1])}"
    )
    print(f"  render + write files wall {_rate(frames, write[0])} | cpu {_rate(frames, write[1])}")
    ratio = (render[1] / scenes) / (write[1] / frames)
    print(f"  ratio (render + write) / render throughput, cpu: {ratio:.2f}")


def _pass(loader: DataLoader) -> int:
    count = 0
    for batch in loader:
        count += len(batch.frame_ids)
    return count


def bench_loading(root: Path, batch_size: int) -> None:
    print(f"loading {root} (batch {batch_size}, collate to Images + GroundTruth)")
    baseline = None
    for augment in (False, True):
        transforms = AugmentConfig().build() if augment else None
        dataset = KittiDataset(root, transforms=transforms)
        for workers in (0, 2):
            loader = DataLoader(
                dataset,
                batch_size=batch_size,
                shuffle=True,
                collate_fn=collate,
                num_workers=workers,
                persistent_workers=workers > 0,
                generator=torch.Generator().manual_seed(0),
            )
            _pass(loader)  # warm-up (starts the workers)
            start = time.perf_counter()
            count = _pass(loader)
            seconds = time.perf_counter() - start
            rate = count / seconds
            baseline = baseline or rate
            name = f"{'augmented' if augment else 'plain':9s} workers={workers}"
            print(f"  {name}  {_rate(count, seconds)}   ratio {rate / baseline:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=200)
    parser.add_argument("--frames", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=4)
    args = parser.parse_args()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} intra-op threads, "
        f"{os.cpu_count()} CPUs, load average {load:.1f}"
    )
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        bench_generation(args.scenes, root, args.frames)
        bench_loading(root, args.batch_size)


if __name__ == "__main__":
    main()
