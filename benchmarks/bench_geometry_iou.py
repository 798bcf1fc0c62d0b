"""Rotated BEV / 3D IoU: the vectorised all-pairs computation against a Python loop over pairs
calling the same function on one pair at a time, and against the axis-aligned 2D ``box_iou``.

    python benchmarks/bench_geometry_iou.py [--repeats 5] [--sizes 10 30 100]

Setting: b=2 images, n = m boxes per image of road-user sizes and any heading, float32 on CPU,
in two layouts: "spread" (centres within 20 m x 40 m, like a KITTI frame: few pairs overlap)
and "dense" (centres within 3 m x 3 m: nearly every pair overlaps, the worst case).
Times are medians of ``--repeats`` calls in this run; the loop column is timed on a subset of
pairs and scaled to all pairs (the loop is what a per-pair implementation costs, so only the
ratio matters).
"""

import argparse
import itertools
import math
import statistics
import time

import torch

from mono3d.contracts import checks
from mono3d.geometry import bev_iou, box3d_iou, box_iou


def boxes(g: torch.Generator, b: int, n: int, side_x: float, side_z: float) -> torch.Tensor:
    """(b, n, 7) boxes (x, y, z, h, w, l, ry) with centres in a side_x x side_z rectangle."""

    def u(low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand((b, n), generator=g)

    x, z = u(-side_x / 2, side_x / 2), u(25 - side_z / 2, 25 + side_z / 2)
    return torch.stack([x, u(1, 2.5), z, u(1.2, 2), u(1.4, 2), u(3, 5), u(-math.pi, math.pi)], -1)


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 30, 100])
    parser.add_argument("--loop-pairs", type=int, default=200, help="pairs timed in the loop")
    args = parser.parse_args()
    g = torch.Generator().manual_seed(0)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, b=2, float32")
    header = f"{'layout':>7} {'n=m':>5} {'bev ms':>9} {'3d ms':>9} {'bev off ms':>11} {'2d ms':>8}"
    print(header + f" {'loop ms':>10} {'loop/bev':>9} {'bev/2d':>7}")
    layouts = {"spread": (20.0, 40.0), "dense": (3.0, 3.0)}
    for (layout, sides), n in itertools.product(layouts.items(), args.sizes):
        a, c = boxes(g, 2, n, *sides), boxes(g, 2, n, *sides)
        a2 = torch.cat([a[..., [0, 2]], a[..., [0, 2]] + a[..., [5, 4]]], -1)  # stand-in 2D boxes
        bev = median_time(lambda: bev_iou(a, c), args.repeats)  # noqa: B023
        iou3d = median_time(lambda: box3d_iou(a, c), args.repeats)  # noqa: B023
        with checks(False):
            bev_off = median_time(lambda: bev_iou(a, c), args.repeats)  # noqa: B023
        iou2d = median_time(lambda: box_iou(a2, a2), args.repeats)  # noqa: B023
        pairs = [(k, i, j) for k in range(2) for i in range(n) for j in range(n)]
        subset = pairs[:: max(1, len(pairs) // args.loop_pairs)]

        def loop() -> None:
            for k, i, j in subset:  # noqa: B023
                bev_iou(a[k, i : i + 1], c[k, j : j + 1])  # noqa: B023

        loop_all = median_time(loop, max(1, args.repeats // 2)) * len(pairs) / len(subset)
        print(
            f"{layout:>7} {n:>5} {bev * 1e3:>9.2f} {iou3d * 1e3:>9.2f} {bev_off * 1e3:>11.2f} "
            f"{iou2d * 1e3:>8.3f} {loop_all * 1e3:>10.1f} {loop_all / bev:>9.1f} "
            f"{bev / iou2d:>7.0f}"
        )


if __name__ == "__main__":
    main()
