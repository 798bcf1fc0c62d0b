"""Accuracy figures of BENCHMARKS.md: the data folders, the AP cap of a split, and the scores of
a run's predictions (KITTI AP + recall of moderate cars at a score threshold).

    python benchmarks/bench_accuracy.py prepare SRC OUT
        OUT/training -> SRC/training (a symlink) and OUT/ImageSets/{train,val,trainval}.txt
        all listing every frame of SRC (train = val: the overfit setting).
    python benchmarks/bench_accuracy.py cap ROOT [--ids FILE]
        AP of the ground truth scored against itself (every label line but DontCare as a
        detection with score 1): the most a perfect detector can get on this split (few
        objects cap R40).
    python benchmarks/bench_accuracy.py score ROOT RESULTS [--ids FILE] [--min-score 0.5]
        AP (mono3d.eval, strict IoU, moderate) of the KITTI result files in RESULTS, and the
        recall of the moderate Car objects (2D box taller than 25 px, occlusion <= 1,
        truncation <= 0.30) by detections of class Car scoring >= --min-score, one-to-one
        (each object, in file order, takes the free detection it overlaps most), at 2D IoU
        >= 0.7 and, separately, 3D IoU >= 0.5 (mono3d.geometry.box3d_iou).
"""

import argparse
import pathlib
import sys
import tempfile

import numpy as np
import torch

from mono3d.eval import (
    DIFFICULTIES,
    evaluate_folders,
    read_id_list,
    read_label_file,
    resolve_label_dir,
)
from mono3d.geometry import box3d_iou, box_iou, boxes7

CLASSES = ("Car", "Pedestrian", "Cyclist")
MODERATE = next(d for d in DIFFICULTIES if d.name == "moderate")


def frame_ids(root: pathlib.Path, ids: str | None) -> list[str]:
    if ids is not None:
        return list(read_id_list(ids))
    return sorted(p.stem for p in resolve_label_dir(root).glob("*.txt"))


def prepare(src: pathlib.Path, out: pathlib.Path) -> None:
    ids = sorted(p.stem for p in (src / "training" / "label_2").glob("*.txt"))
    if not ids:
        sys.exit(f"{src}/training/label_2: no label files")
    (out / "ImageSets").mkdir(parents=True, exist_ok=True)
    link = out / "training"
    if not link.exists():
        link.symlink_to((src / "training").resolve(), target_is_directory=True)
    for split in ("train", "val", "trainval"):
        (out / "ImageSets" / f"{split}.txt").write_text("".join(f"{i}\n" for i in ids))
    print(f"{out}: {len(ids)} frames in train = val = trainval")


def ap_summary(root: pathlib.Path, results: pathlib.Path, ids: list[str]) -> None:
    result = evaluate_folders(root, results, ids=ids)
    print(f"AP (percent), moderate, strict IoU, {len(ids)} frames:")
    print(f"{'class':12s} {'metric':6s} {'R40':>7s} {'R11':>7s}")
    for cls in CLASSES:
        for metric in ("bbox", "bev", "3d", "aos"):
            r40 = result.get(cls, metric, "moderate", interpolation="R40")
            r11 = result.get(cls, metric, "moderate", interpolation="R11")
            cells = [f"{v:7.2f}" if v is not None else f"{'-':>7s}" for v in (r40, r11)]
            print(f"{cls:12s} {metric:6s} {' '.join(cells)}")


def cap(root: pathlib.Path, ids_file: str | None) -> None:
    ids = frame_ids(root, ids_file)
    label_dir = resolve_label_dir(root)
    with tempfile.TemporaryDirectory() as tmp:
        for frame in ids:
            lines = (label_dir / f"{frame}.txt").read_text().splitlines()
            rows = [line.split() for line in lines]
            rows = [r for r in rows if r and r[0] != "DontCare"]  # regions, not objects
            text = "".join(f"{' '.join(r[:15])} 1.0\n" for r in rows)
            (pathlib.Path(tmp) / f"{frame}.txt").write_text(text)
        print("ground truth scored against itself (the cap of this split)")
        ap_summary(root, pathlib.Path(tmp), ids)


def _greedy_matches(iou: np.ndarray, threshold: float) -> int:
    """Objects (rows, in order) matched one-to-one to detections (columns) at IoU >= t."""
    free = np.ones(iou.shape[1], dtype=bool)
    matched = 0
    for row in iou:
        candidates = np.where(free & (row >= threshold), row, -1.0)
        if candidates.size and candidates.max() >= threshold:
            free[int(candidates.argmax())] = False
            matched += 1
    return matched


def _boxes7(anno: dict[str, np.ndarray], rows: np.ndarray) -> torch.Tensor:
    location = torch.as_tensor(anno["location"][rows], dtype=torch.float32).reshape(-1, 3)
    dims = torch.as_tensor(anno["dimensions"][rows], dtype=torch.float32).reshape(-1, 3)
    ry = torch.as_tensor(anno["rotation_y"][rows], dtype=torch.float32).reshape(-1, 1)
    return boxes7(torch.cat([location, dims], dim=-1), ry)


def recall(root: pathlib.Path, results: pathlib.Path, ids: list[str], min_score: float) -> None:
    label_dir = resolve_label_dir(root)
    result_dir = results / "data" if (results / "data").is_dir() else results
    total = hit2d = hit3d = 0
    for frame in ids:
        gt = read_label_file(label_dir / f"{frame}.txt", with_score=False)
        path = result_dir / f"{frame}.txt"
        dt = read_label_file(path, with_score=True) if path.exists() else None
        height = gt["bbox"][:, 3] - gt["bbox"][:, 1] if len(gt["name"]) else np.zeros(0)
        objects = np.flatnonzero(
            (np.char.lower(gt["name"].astype(str)) == "car")
            & (height > MODERATE.min_height)
            & (gt["occluded"] <= MODERATE.max_occlusion)
            & (gt["truncated"] <= MODERATE.max_truncation)
        )
        total += len(objects)
        if dt is None or not len(objects):
            continue
        dets = np.flatnonzero(
            (np.char.lower(dt["name"].astype(str)) == "car") & (dt["score"] >= min_score)
        )
        if not len(dets):
            continue
        iou2d = box_iou(
            torch.as_tensor(gt["bbox"][objects], dtype=torch.float32)[None],
            torch.as_tensor(dt["bbox"][dets], dtype=torch.float32)[None],
        )[0].numpy()
        iou3d = box3d_iou(_boxes7(gt, objects)[None], _boxes7(dt, dets)[None])[0].numpy()
        hit2d += _greedy_matches(iou2d, 0.7)
        hit3d += _greedy_matches(iou3d, 0.5)
    print(
        f"moderate Car objects: {total}; recall by Car detections with score >= {min_score}: "
        f"2D IoU >= 0.7: {hit2d}/{total} = {hit2d / max(total, 1):.1%}; "
        f"3D IoU >= 0.5: {hit3d}/{total} = {hit3d / max(total, 1):.1%}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare", help="a KITTI root whose train and val splits are all frames")
    p.add_argument("src", type=pathlib.Path)
    p.add_argument("out", type=pathlib.Path)
    c = sub.add_parser("cap", help="AP of the ground truth against itself")
    c.add_argument("root", type=pathlib.Path)
    c.add_argument("--ids", default=None)
    s = sub.add_parser("score", help="AP and moderate-car recall of a result folder")
    s.add_argument("root", type=pathlib.Path)
    s.add_argument("results", type=pathlib.Path)
    s.add_argument("--ids", default=None)
    s.add_argument("--min-score", type=float, default=0.5)
    args = parser.parse_args()
    if args.command == "prepare":
        prepare(args.src, args.out)
    elif args.command == "cap":
        cap(args.root, args.ids)
    else:
        ids = frame_ids(args.root, args.ids)
        ap_summary(args.root, args.results, ids)
        recall(args.root, args.results, ids, args.min_score)


if __name__ == "__main__":
    main()
