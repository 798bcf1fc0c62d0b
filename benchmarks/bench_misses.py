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
import torch

from mono3d.eval import DIFFICULTIES, read_kitti_folders
from mono3d.geometry import box3d_iou, box_iou, boxes7

MODERATE = next(d for d in DIFFICULTIES if d.name == "moderate")


def _boxes7(anno: dict, rows: np.ndarray) -> torch.Tensor:
    location = torch.as_tensor(anno["location"][rows], dtype=torch.float32).reshape(-1, 3)
    dims = torch.as_tensor(anno["dimensions"][rows], dtype=torch.float32).reshape(-1, 3)
    ry = torch.as_tensor(anno["rotation_y"][rows], dtype=torch.float32).reshape(-1, 1)
    return boxes7(torch.cat([location, dims], dim=-1), ry)


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
    _, gt_annos, dt_annos = read_kitti_folders(root / "training" / "label_2", args.result_dir, ids)
    all_scores = np.concatenate(
        [dt["score"][np.char.lower(dt["name"].astype(str)) == "car"] for dt in dt_annos]
    )
    rows = []
    for frame, gt, dt in zip(ids, gt_annos, dt_annos, strict=True):
        height = gt["bbox"][:, 3] - gt["bbox"][:, 1]
        cars = np.flatnonzero(
            (np.char.lower(gt["name"].astype(str)) == "car")
            & (height > MODERATE.min_height)
            & (gt["occluded"] <= MODERATE.max_occlusion)
            & (gt["truncated"] <= MODERATE.max_truncation)
        )
        dets = np.flatnonzero(np.char.lower(dt["name"].astype(str)) == "car")
        if not len(cars) or not len(dets):
            continue
        iou2d = box_iou(
            torch.as_tensor(gt["bbox"][cars], dtype=torch.float32)[None],
            torch.as_tensor(dt["bbox"][dets], dtype=torch.float32)[None],
        )[0].numpy()
        best = iou2d.argmax(axis=1)
        iou3d = box3d_iou(_boxes7(gt, cars)[:, None], _boxes7(dt, dets[best])[:, None])[:, 0, 0]
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
