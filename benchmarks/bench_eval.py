"""KITTI evaluation time on data the size of the usual validation split (3,769 frames, ~7
objects and 100 detections each), synthetic and seeded. Times and ratios come from one run.

    python benchmarks/bench_eval.py [--frames 3769] [--dets 100] [--repeats 3] [--no-files]

Rows: ``evaluate`` on annos (all classes, difficulties, metrics, R40/R11, strict/loose) with
torch's default threads and with one; the same on a tenth of the frames (time should scale
about linearly); and, unless --no-files, ``evaluate_folders`` on KITTI label/result files
written to a temporary folder (reading included), i.e. what ``python -m mono3d.eval`` costs.
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from mono3d.eval import evaluate, evaluate_folders
from mono3d.eval.testing import synthetic_dataset


def timed(fn, repeats: int) -> tuple[float, float]:
    """(median wall seconds, median CPU seconds) of ``fn()``."""
    wall, cpu = [], []
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return statistics.median(wall), statistics.median(cpu)


def write_kitti(folder: Path, annos: list[dict[str, np.ndarray]], with_score: bool) -> None:
    folder.mkdir(parents=True)
    for index, anno in enumerate(annos):
        columns = [
            anno["name"][:, None],
            np.round(anno["truncated"][:, None], 2),
            anno["occluded"][:, None],
            anno["alpha"][:, None],
            anno["bbox"],
            anno["dimensions"],
            anno["location"],
            anno["rotation_y"][:, None],
        ]
        if with_score:
            columns.append(anno["score"][:, None])
        rows = np.concatenate([np.asarray(c).astype(str) for c in columns], axis=1)
        (folder / f"{index:06d}.txt").write_text("".join(" ".join(r) + "\n" for r in rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=3769)
    parser.add_argument("--dets", type=int, default=100, help="detections per frame")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-files", action="store_true", help="skip the KITTI-files row")
    args = parser.parse_args()

    start = time.perf_counter()
    gt, dt = synthetic_dataset(args.frames, dets_per_frame=args.dets, seed=0)
    num_gt = sum(len(a["name"]) for a in gt)
    num_dt = sum(len(a["name"]) for a in dt)
    print(
        f"data: {args.frames} frames, {num_gt / args.frames:.2f} objects and "
        f"{num_dt / args.frames:.0f} detections per frame "
        f"(generated in {time.perf_counter() - start:.1f} s, not counted)"
    )
    result = evaluate(gt, dt)  # warm-up, and a look at the numbers
    print(
        "Car moderate R40 strict: "
        + ", ".join(f"{m} {result.get('Car', m):.2f}" for m in ("bbox", "bev", "3d", "aos"))
    )

    threads = torch.get_num_threads()
    full, full_cpu = timed(lambda: evaluate(gt, dt), args.repeats)
    torch.set_num_threads(1)
    one, one_cpu = timed(lambda: evaluate(gt, dt), args.repeats)
    tenth = max(1, args.frames // 10)
    small, small_cpu = timed(lambda: evaluate(gt[:tenth], dt[:tenth]), args.repeats)
    torch.set_num_threads(threads)

    def row(label: str, wall: float, cpu: float) -> None:
        print(f"{label:46s} {wall:8.2f} {cpu:8.2f} {wall / full:7.2f}")

    print(f"{'variant':46s} {'wall s':>8s} {'cpu s':>8s} {'ratio':>7s}")
    row(f"evaluate, {args.frames} frames, {threads} torch threads", full, full_cpu)
    row(f"evaluate, {args.frames} frames, 1 torch thread", one, one_cpu)
    row(f"evaluate, {tenth} frames, 1 torch thread", small, small_cpu)
    if not args.no_files:
        with tempfile.TemporaryDirectory() as tmp:
            write_kitti(Path(tmp) / "label_2", gt, with_score=False)
            write_kitti(Path(tmp) / "results", dt, with_score=True)
            files, files_cpu = timed(
                lambda: evaluate_folders(Path(tmp) / "label_2", Path(tmp) / "results"), 1
            )
        row(f"evaluate_folders (reading {2 * args.frames} files)", files, files_cpu)
    print(f"per 1000 frames (1 thread): {one / args.frames * 1000:.2f} s wall")


if __name__ == "__main__":
    main()
