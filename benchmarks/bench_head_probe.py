"""How exact a trained head is when the proposal is given: the refined 2D box and the depth
of each labelled Car seen through its own ground-truth box, exact or jittered (BENCHMARKS.md
7.3).

    python benchmarks/bench_head_probe.py CHECKPOINT ROOT [--split train] [--jitter 0 0.05 0.1]
        [--iterations 1] [--min-height 25] [--cars]

The checkpoint's detector, in eval mode (its running BatchNorm statistics, bf16 autocast as
``auto`` picks it), runs its RoI head on proposals that are the Cars' ground-truth boxes with
every edge moved by N(0, jitter x side) (seeded); ``--iterations 2`` feeds the refined boxes
back as proposals once more (test-time iterative refinement, Gidaris & Komodakis 2015). For
each Car at least ``--min-height`` px tall it prints, per jitter, the mean |h_refined/h - 1|
(the refinement's height error), the mean |z/z_true - 1| of the decoded depth, and the same
depth decoded against the true 2D box (what the 3D logit alone gets right); ``--cars`` lists
every Car. No RPN, no post-processing: it separates what the refinement leaves from what the
3D outputs know.
"""

import argparse

import torch

from mono3d.data import KittiDataset, collate
from mono3d.train import load_detector
from mono3d.train._precision import resolve_precision


def probe(
    detector, dataset, precision, jitter: float, iterations: int, min_height: float, seed: int
):
    """Rows (frame, z, h, h error, depth error, depth error against the true box)."""
    generator = torch.Generator().manual_seed(seed)
    rows = []
    car = 1
    for index in range(len(dataset)):
        sample = dataset[index]
        batch = collate([sample])
        gt = batch.gt
        keep = gt.valid[0] & (gt.category[0, :, 0] == car)
        truth = gt.bbox2d[0][keep].float()[None]
        if truth.shape[1] == 0:
            continue
        side = (truth[..., 2:] - truth[..., :2]).repeat(1, 1, 2)
        boxes = truth + jitter * side * torch.randn(truth.shape, generator=generator)
        with torch.no_grad():
            with precision.autocast("cpu"):
                features = detector.neck(detector.backbone(batch.images.images))
            for _ in range(iterations):
                with precision.autocast("cpu"):
                    head = detector.head(features, boxes, batch.images.calib)
                proposals = boxes
                boxes = detector.coder.decode_box2d(head.bbox2d_logit[:, :, car].float(), boxes)
            category = torch.full(truth.shape[:2], car, dtype=torch.long)
            outputs = (
                head.bbox3d_logit[:, :, car].float(),
                head.yaw_logit[:, :, car].float(),
                head.yaw_resi[:, :, car].float(),
                category,
                proposals,
                batch.images.calib,
            )
            refined3d = detector.coder.decode(boxes, *outputs)[0]
            true3d = detector.coder.decode(truth, *outputs)[0]
        z = gt.bbox3d[0][keep][:, 2]
        height = truth[0, :, 3] - truth[0, :, 1]
        refined_height = boxes[0, :, 3] - boxes[0, :, 1]
        for k in range(len(z)):
            if height[k] < min_height:
                continue
            rows.append(
                (
                    sample.frame_id,
                    float(z[k]),
                    float(height[k]),
                    float(refined_height[k] / height[k] - 1),
                    float(refined3d[0, k, 2] / z[k] - 1),
                    float(true3d[0, k, 2] / z[k] - 1),
                )
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint")
    parser.add_argument("root", help="KITTI-format root (training/, ImageSets/)")
    parser.add_argument("--split", default="train")
    parser.add_argument("--jitter", type=float, nargs="+", default=[0.0, 0.05, 0.1])
    parser.add_argument("--iterations", type=int, default=1)
    parser.add_argument("--min-height", type=float, default=25.0)
    parser.add_argument("--cars", action="store_true", help="list every Car")
    args = parser.parse_args()
    torch.set_num_threads(1)
    detector, config = load_detector(args.checkpoint)
    detector.eval()
    data = config.data.model_copy(update={"root": args.root})
    dataset = KittiDataset.from_config(
        data.dataset_config(args.split, config.classes), augment=False
    )
    precision = resolve_precision("auto", "cpu", source="probe")  # timed once
    print(f"{args.checkpoint}: Cars >= {args.min_height:g} px of {args.root} {args.split}")
    print("jitter  iterations  cars  mean|h_err|  mean|dz|/z  mean|dz|/z(true box)")
    for jitter in args.jitter:
        rows = probe(detector, dataset, precision, jitter, args.iterations, args.min_height, seed=0)
        mean = [sum(abs(r[i]) for r in rows) / max(len(rows), 1) for i in (3, 4, 5)]
        print(
            f"{jitter:6.3f}  {args.iterations:10d}  {len(rows):4d}  {mean[0]:11.4f}  "
            f"{mean[1]:10.4f}  {mean[2]:10.4f}"
        )
        if args.cars:
            for frame, z, h, herr, dz, dzt in sorted(rows, key=lambda r: r[1]):
                print(
                    f"   {frame} z {z:6.2f} h {h:6.1f}  h_err {herr:+.4f}  dz/z {dz:+.4f}  "
                    f"true box {dzt:+.4f}"
                )


if __name__ == "__main__":
    main()
