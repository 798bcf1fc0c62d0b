"""Which moderate Cars a run's result files miss at a 3D IoU, and how (BENCHMARKS.md 7.3).

    python benchmarks/bench_misses.py ROOT RESULT_DIR [--ids FILE] [--iou 0.7]

For every moderate Car of ROOT/training/label_2 (the frames of ``--ids``, default
ROOT/ImageSets/val.txt), the detection that overlaps it best in 2D (at least 0.5): its 2D
height error h/h_true - 1, depth error z/z_true - 1, 3D IoU, score, and how many Car
detections of the whole split score higher than it; then, for the cars under ``--iou``, how
many correct ones (matched at ``--iou``) rank below their detection: a miss that outranks
them costs more AP than one that does not.
"""

import argparse
import pathlib

import numpy as np

# the recall module's per-frame reading: moderate Cars, Car detections, their 2D and 3D IoU
from mono3d.eval._recall import MODERATE, _boxes7, _frames, _iou2d, _pairwise_iou3d


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root")
    parser.add_argument("result_dir", help="a folder of KITTI result files (<id>.txt)")
    parser.add_argument("--ids", default=None)
    parser.add_argument("--iou", type=float, default=0.7)
    args = parser.parse_args()
    root = pathlib.Path(args.root)
    ids_file = pathlib.Path(args.ids) if args.ids else root / "ImageSets" / "val.txt"
    ids = ids_file.read_text().split()
    label_dir = root / "training" / "label_2"
    frames = list(_frames(label_dir, args.result_dir, ids, 0.0, "Car", MODERATE))
    all_scores = np.concatenate([dt["score"][dets] for _, _, dt, dets in frames])
    rows = []
    for frame, (gt, cars, dt, dets) in zip(ids, frames, strict=True):
        if not len(cars) or not len(dets):
            continue
        height = gt["bbox"][:, 3] - gt["bbox"][:, 1]
        iou2d = _iou2d(gt, cars, dt, dets)
        best = iou2d.argmax(axis=1)
        iou3d = _pairwise_iou3d(_boxes7(gt, cars), _boxes7(dt, dets[best]))
        for k, car in enumerate(cars):
            if iou2d[k, best[k]] < 0.5:
                continue
            d = dets[best[k]]
            h_det = dt["bbox"][d, 3] - dt["bbox"][d, 1]
            score = float(dt["score"][d])
            rows.append(
                (
                    frame,
                    float(gt["location"][car, 2]),
                    float(height[car]),
                    int(gt["occluded"][car]),
                    float(h_det / height[car] - 1),
                    float(dt["location"][d, 2] / gt["location"][car, 2] - 1),
                    float(iou3d[k]),
                    score,
                    int((all_scores > score).sum()),
                )
            )
    print(f"{args.result_dir}: {len(rows)} moderate Cars matched in 2D (IoU >= 0.5)")
    print("frame    z m    h px  occ   h_err    z_err   iou3d  score  rank")
    for r in sorted(rows, key=lambda r: r[1]):
        mark = "  <- miss" if r[6] < args.iou else ""
        print(
            f"{r[0]}  {r[1]:6.2f}  {r[2]:6.1f}  {r[3]:3d}  {r[4]:+.4f}  {r[5]:+.4f}  "
            f"{r[6]:.3f}  {r[7]:.3f}  {r[8]:4d}{mark}"
        )
    correct = [r[7] for r in rows if r[6] >= args.iou]
    for r in rows:
        if r[6] < args.iou:
            below = sum(s < r[7] for s in correct)
            print(
                f"miss {r[0]} at {r[1]:.2f} m (3D IoU {r[6]:.2f}, score {r[7]:.3f}) ranks "
                f"above {below} of the {len(correct)} Cars found at {args.iou:g}"
            )


if __name__ == "__main__":
    main()
