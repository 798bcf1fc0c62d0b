"""Accuracy figures of BENCHMARKS.md: the data folders, the AP cap of a split, and the scores of
a run's predictions (KITTI AP + recall of moderate cars at a score threshold).

    python benchmarks/bench_accuracy.py [kitti|synthetic] [--work DIR] [--steps S]
        End to end, as in BENCHMARKS.md (no argument: both, one after the other). ``kitti``:
        train on the real frames of tests/data/kitti_sample and score the same frames
        (the overfit check); ``synthetic``: write a 4000-frame synthetic set (128x416, seed 0,
        3800 train / 200 val), train on train, score val. Each trains ``configs/synthetic.yaml``
        with the mono3d command (one torch thread unless OMP_NUM_THREADS says otherwise),
        prints the cap, the APs and the recall of the final evaluation, then predicts the
        scored split again with the checkpoint under bfloat16 autocast + channels_last and
        prints both precisions' APs side by side. Runs land in DIR (default runs/bench_accuracy).

    python benchmarks/bench_accuracy.py prepare SRC OUT
        OUT/training -> SRC/training (a symlink) and OUT/ImageSets/{train,val,trainval}.txt
        all listing every frame of SRC (train = val: the overfit setting).
    python benchmarks/bench_accuracy.py report ROOT RUN_DIR [--ids FILE]
        The last part of those runs for any finished run: the APs of its last evaluation
        next to those of its checkpoint under bfloat16 autocast, and the recall.
    python benchmarks/bench_accuracy.py cap ROOT [--ids FILE] [--one-short]
        AP of the ground truth scored against itself (every label line but DontCare as a
        detection with score 1): the most a perfect detector can get on this split (few
        objects cap R40). ``--one-short``: also the Car AP3D (moderate, R40) of the ground
        truth with each Car left out in turn, i.e. what "one object short of the cap" is.
    python benchmarks/bench_accuracy.py score ROOT RESULTS [--ids FILE] [--min-score 0.5]
        AP (mono3d.eval, strict IoU, moderate) of the KITTI result files in RESULTS, and the
        recall of the moderate Car objects (2D box taller than 25 px, occlusion <= 1,
        truncation <= 0.30) by detections of class Car scoring >= --min-score, one-to-one
        (each object, in file order, takes the free detection it overlaps most), at 2D IoU
        >= 0.7 and, separately, 3D IoU >= 0.5 (mono3d.geometry.box3d_iou).
"""

import argparse
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import torch

from mono3d.eval import (
    count_recall,
    evaluate_folders,
    matched_errors,
    read_id_list,
    resolve_label_dir,
)
from mono3d.train import load_detector, predict_images

REPO = pathlib.Path(__file__).resolve().parents[1]
KITTI_SAMPLE = REPO / "tests" / "data" / "kitti_sample"
CONFIG = REPO / "configs" / "synthetic.yaml"

CLASSES = ("Car", "Pedestrian", "Cyclist")


def frame_ids(root: pathlib.Path, ids: str | None) -> list[str]:
    if ids is not None:
        return list(read_id_list(ids))
    return sorted(p.stem for p in resolve_label_dir(root).glob("*.txt"))


def prepare(src: pathlib.Path, out: pathlib.Path) -> None:
    ids = frame_ids(src, None)
    if not ids:
        sys.exit(f"{src}/training/label_2: no label files")
    (out / "ImageSets").mkdir(parents=True, exist_ok=True)
    link = out / "training"
    if not link.exists():
        link.symlink_to((src / "training").resolve(), target_is_directory=True)
    for split in ("train", "val", "trainval"):
        (out / "ImageSets" / f"{split}.txt").write_text("".join(f"{i}\n" for i in ids))
    print(f"{out}: {len(ids)} frames in train = val = trainval")


def result_folder(path: pathlib.Path) -> pathlib.Path:
    """``path/data`` when it exists (a trainer's eval/step_* or a predict --out folder)."""
    return path / "data" if (path / "data").is_dir() else path


#: the AP columns of a table: (header, interpolation, loose IoU)
AP_COLUMNS = (("R40", "R40", False), ("R11", "R11", False), ("R40@loose", "R40", True))


def ap_summary(root: pathlib.Path, columns: dict[str, pathlib.Path], ids: list[str]) -> None:
    """One table: moderate APs of every result folder in ``columns``, R40 and R11 at the
    strict IoU (Car 0.7, Pedestrian / Cyclist 0.5) and R40 at the loose one (0.5 / 0.25)."""
    results = {
        name: evaluate_folders(root, result_folder(path), ids=ids) for name, path in columns.items()
    }
    print(f"AP (percent), moderate, {len(ids)} frames:")
    header = " ".join(f"{f'{name} {c[0]}':>16s}" for name in columns for c in AP_COLUMNS)
    print(f"{'class':12s} {'metric':6s} {header}")
    for cls in CLASSES:
        for metric in ("bbox", "bev", "3d", "aos"):
            cells = []
            for result in results.values():
                for _, interpolation, loose in AP_COLUMNS:
                    v = result.get(
                        cls, metric, "moderate", interpolation=interpolation, loose=loose
                    )
                    cells.append(f"{v:16.2f}" if v is not None else f"{'-':>16s}")
            print(f"{cls:12s} {metric:6s} {' '.join(cells)}")


def write_ground_truth_results(root: pathlib.Path, ids: list[str], out: pathlib.Path) -> None:
    """``out/<id>.txt``: every label line but DontCare as a detection with score 1."""
    label_dir = resolve_label_dir(root)
    out.mkdir(parents=True, exist_ok=True)
    for frame in ids:
        lines = (label_dir / f"{frame}.txt").read_text().splitlines()
        rows = [line.split() for line in lines]
        rows = [r for r in rows if r and r[0] != "DontCare"]  # regions, not objects
        (out / f"{frame}.txt").write_text("".join(f"{' '.join(r[:15])} 1.0\n" for r in rows))


def one_short(
    root: pathlib.Path, ids: list[str], cls: str = "Car", metric: str = "3d"
) -> dict[float, int]:
    """The strict moderate R40 AP (``metric`` of ``cls``) of the ground truth with one of its
    ``cls`` objects left out, for each in turn: {AP: how many objects' removal gives it}.
    Removing a moderate object gives "one object short of the cap" (what an aim phrased so
    means on this split); removing any other object leaves the cap."""
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp)
        write_ground_truth_results(root, ids, out)
        files = {frame: (out / f"{frame}.txt").read_text().splitlines() for frame in ids}
        counts: dict[float, int] = {}
        for frame, lines in files.items():
            for index, line in enumerate(lines):
                if line.split()[0] != cls:
                    continue
                kept = lines[:index] + lines[index + 1 :]
                (out / f"{frame}.txt").write_text("".join(f"{k}\n" for k in kept))
                ap = evaluate_folders(root, out, ids=ids).get(cls, metric, "moderate")
                (out / f"{frame}.txt").write_text("".join(f"{k}\n" for k in lines))
                key = round(float(ap), 2) if ap is not None else float("nan")
                counts[key] = counts.get(key, 0) + 1
    return counts


def cap(root: pathlib.Path, ids_file: str | None, short: bool = False) -> None:
    ids = frame_ids(root, ids_file)
    with tempfile.TemporaryDirectory() as tmp:
        write_ground_truth_results(root, ids, pathlib.Path(tmp))
        print("ground truth scored against itself (the cap of this split)")
        ap_summary(root, {"cap": pathlib.Path(tmp)}, ids)
    if short:
        counts = one_short(root, ids)
        cells = ", ".join(f"{ap:.2f} ({n} Cars)" for ap, n in sorted(counts.items()))
        print(f"Car 3d moderate R40 with one Car left out of the ground truth: {cells}")


def error_profile(
    root: pathlib.Path, results: pathlib.Path, ids: list[str], min_score: float
) -> None:
    """Where the 3D accuracy goes: the error of each 3D quantity of the matched cars
    (:func:`matched_errors`), then their 3D recall again with the detections' depth (z)
    replaced by the true one, and with their yaw replaced."""
    e = matched_errors(root, results, ids, min_score)
    if not len(e):
        print("error profile: no moderate Car matched at 2D IoU >= 0.5")
        return
    print(
        f"error profile of the {len(e)} moderate Cars matched at 2D IoU >= 0.5 "
        f"(z from {e[:, 0].min():.1f} to {e[:, 0].max():.1f} m):"
    )
    names = ("|dz| m", "|dz|/z", "|dx| m", "max |h,w,l ratio - 1|", "|dyaw| rad")
    print(f"{'quantity':24s} {'median':>8s} {'p90':>8s}")
    for k, name in enumerate(names, start=1):
        print(f"{name:24s} {np.median(e[:, k]):8.3f} {np.percentile(e[:, k], 90):8.3f}")
    print(
        f"3D IoU >= 0.5 of these pairs: {(e[:, 6] >= 0.5).sum()}/{len(e)}; with the true depth "
        f"put in: {(e[:, 7] >= 0.5).sum()}/{len(e)}; with the true yaw put in: "
        f"{(e[:, 8] >= 0.5).sum()}/{len(e)}"
    )


def recall(root: pathlib.Path, results: pathlib.Path, ids: list[str], min_score: float) -> None:
    total, hit2d, hit3d = count_recall(root, results, ids, min_score)
    print(
        f"moderate Car objects: {total}; recall by Car detections with score >= {min_score}: "
        f"2D IoU >= 0.7: {hit2d}/{total} = {hit2d / max(total, 1):.1%}; "
        f"3D IoU >= 0.5: {hit3d}/{total} = {hit3d / max(total, 1):.1%}"
    )


def ablation(root: pathlib.Path, runs: list[pathlib.Path], ids: list[str]) -> None:
    """One row per run (its last evaluation): Car moderate R40 AP2D@0.7, AP3D@0.5, AP3D@0.7,
    BEV@0.5; the median |dz|/z of the matched cars and the 3D recall (IoU >= 0.5), both over
    every detection the run reported (no score threshold: the 2D and 3D scores are on
    different scales, so a threshold would not compare like with like)."""
    print(f"Car, moderate, R40, {len(ids)} frames; recall and depth error over all detections")
    header = ("run", "AP2D@0.7", "AP3D@0.5", "AP3D@0.7", "BEV@0.5", "med|dz|/z", "3D recall")
    print(f"{header[0]:28s} " + " ".join(f"{h:>10s}" for h in header[1:]))
    for run in runs:
        results = final_eval(run)
        ap = evaluate_folders(root, results, ids=ids)

        def get(metric: str, loose: bool, ap=ap) -> float:
            value = ap.get("Car", metric, "moderate", interpolation="R40", loose=loose)
            return float("nan") if value is None else value

        errors = matched_errors(root, results, ids, 0.0)
        depth = float(np.median(errors[:, 2])) if len(errors) else float("nan")
        total, _, hit3d = count_recall(root, results, ids, 0.0)
        cells = (get("bbox", False), get("3d", True), get("3d", False), get("bev", True))
        print(
            f"{run.name:28s} "
            + " ".join(f"{v:10.2f}" for v in cells)
            + f" {depth:10.3f} {hit3d:>4d}/{total:<3d} {hit3d / max(total, 1):5.1%}"
        )


def mono3d(*arguments: str) -> None:
    """``python -m mono3d.train ARGUMENTS`` (one torch thread unless OMP_NUM_THREADS is set)."""
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "1")
    command = [sys.executable, "-m", "mono3d.train", *arguments]
    print("$ mono3d " + " ".join(arguments), flush=True)
    subprocess.run(command, check=True, env=env)


def resume_flag(run_dir: pathlib.Path) -> list[str]:
    """``--resume`` when ``run_dir`` already holds a checkpoint (an interrupted benchmark
    continues; a finished one only re-reads its results)."""
    return ["--resume"] if (run_dir / "checkpoint.pt").exists() else []


def final_eval(run_dir: pathlib.Path) -> pathlib.Path:
    """The result files of the last evaluation the trainer wrote (run_dir/eval/step_*/data)."""
    steps = sorted((run_dir / "eval").glob("step_*/data"))
    if not steps:
        sys.exit(f"{run_dir}/eval: the run wrote no evaluation")
    return steps[-1]


def precision_check(root: pathlib.Path, run_dir: pathlib.Path, ids: list[str]) -> pathlib.Path:
    """Predict ``ids`` again from the checkpoint under bfloat16 autocast with channels_last
    weights (mono3d's fast defaults); returns the result folder."""
    detector, config = load_detector(run_dir / "checkpoint.pt")
    detector = detector.to(memory_format=torch.channels_last)
    images = [root / "training" / "image_2" / f"{frame}.png" for frame in ids]
    out = run_dir / "bf16"
    shutil.rmtree(out, ignore_errors=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        predict_images(detector, config.model.classes, images, out, draw=False)
    return out / "data"


def report(root: pathlib.Path, run_dir: pathlib.Path, ids: list[str]) -> None:
    fp32 = final_eval(run_dir)
    print(f"== {run_dir}: final evaluation {fp32.parent.name}")
    ap_summary(root, {"fp32": fp32, "bf16+cl": precision_check(root, run_dir, ids)}, ids)
    recall(root, fp32, ids, 0.5)
    error_profile(root, fp32, ids, 0.5)
    history = run_dir / "history.png"
    if history.exists():
        print(f"learning curve: {history}")


def run_kitti(work: pathlib.Path, steps: int) -> None:
    """Overfit the real KITTI sample: train and evaluate on the same 11 frames."""
    root = work / "kitti_sample"
    prepare(KITTI_SAMPLE, root)
    cap(root, None)
    run_dir = work / "kitti_overfit"
    mono3d(
        "train",
        str(CONFIG),
        f"data.root={root}",
        "data.augment=null",
        "model.rpn.anchor_sizes=[[16,32],[48,96],[160,320]]",  # KITTI-size objects
        "train.batch_size=2",
        f"train.steps={steps}",
        f"train.eval_interval={steps}",
        "train.time_limit_minutes=120",
        "train.progress=false",
        "eval.draw=4",
        f"output.run_dir={run_dir}",
        *resume_flag(run_dir),
    )
    report(root, run_dir, frame_ids(root, None))


#: the second-stage ablation: each variant adds one change of the 3D-head work to the one
#: before (overrides of configs/synthetic.yaml, whose defaults are the last variant)
_OFF = {
    "head.geometry": "false",
    "coder.refine_box2d": "false",
    "coder.depth_reference": "proposal",
    "loss.weights.box2d_refine": "0",
    "loss.weights.depth_uncertainty": "0",
    "postprocess.score": "2d",
    "loss.normalizer": "sampled",
    "proposal_targets.min_height_3d": "0",
    "proposal_targets.max_depth_3d": "null",
    "loss.depth": "huber",
    "head.geometry_source": "proposal",
    "head.tower_3d": "shared",
    "head.pool_3d": "proposal",
}
_STEPS: tuple[tuple[str, dict[str, str]], ...] = (
    ("abl0_today", {}),
    ("abl1_geometry", {"head.geometry": "true"}),
    ("abl2_refine", {"coder.refine_box2d": "true", "loss.weights.box2d_refine": "1"}),
    ("abl3_depthref", {"coder.depth_reference": "box2d"}),
    ("abl4_uncertainty", {"loss.weights.depth_uncertainty": "1", "postprocess.score": "3d"}),
    (
        "abl5_norm_masks",
        {
            "loss.normalizer": "positive",
            "proposal_targets.min_height_3d": "10",
            "proposal_targets.max_depth_3d": "65",
        },
    ),
    ("abl8_laplacian_depth", {"loss.depth": "laplacian"}),
    ("abl9_pool_refined", {"head.geometry_source": "refined", "head.pool_3d": "refined"}),
    ("abl11_tower_separate", {"head.tower_3d": "separate"}),
)


#: variants beside the chain: (name, the chain variant it starts from, its one change): the
#: 3D logit against the proposal again (abl6 from abl5; abl10 from the shipped abl9, whose
#: crop and geometry are the refined box's), the refined box's geometry without its crop
#: (abl7, from abl5)
_EXTRA: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("abl6_proposal_ref", "abl5_norm_masks", {"coder.depth_reference": "proposal"}),
    ("abl7_refined_geometry", "abl5_norm_masks", {"head.geometry_source": "refined"}),
    ("abl10_pool_refined_proposal_ref", "abl9_pool_refined", {"coder.depth_reference": "proposal"}),
)


def ablation_variants() -> dict[str, list[str]]:
    """Variant name -> its ``model.*`` overrides, cumulative in the order of ``_STEPS`` (the
    last of them is configs/synthetic.yaml as shipped), then the ``_EXTRA`` variants, each a
    chain variant with one more change."""
    variants, chain, current = {}, {}, dict(_OFF)
    for name, change in _STEPS:
        current = current | change
        chain[name] = current
        variants[name] = [f"model.{key}={value}" for key, value in current.items()]
    for name, base, change in _EXTRA:
        variants[name] = [f"model.{key}={value}" for key, value in (chain[base] | change).items()]
    return variants


def synthetic_split(work: pathlib.Path) -> pathlib.Path:
    """The 4000-frame synthetic set of section 6.2 (written once)."""
    root = work / "synthetic"
    if not (root / "ImageSets" / "val.txt").exists():
        mono3d(
            "synth",
            str(root),
            "--num",
            "4000",
            "--val-fraction",
            "0.05",
            "--image-size",
            "128",
            "416",
            "--seed",
            "0",
        )
    return root


def train_synthetic(
    root: pathlib.Path, run_dir: pathlib.Path, steps: int, *overrides: str, evals: int = 4
) -> None:
    """Train configs/synthetic.yaml on ``root``'s train split, evaluating ``evals`` times."""
    mono3d(
        "train",
        str(CONFIG),
        f"data.root={root}",
        f"train.steps={steps}",
        f"train.eval_interval={max(steps // evals, 1)}",
        "train.time_limit_minutes=180",
        "train.progress=false",
        "eval.draw=4",
        f"output.run_dir={run_dir}",
        *overrides,
        *resume_flag(run_dir),
    )


def run_ablation(work: pathlib.Path, steps: int, only: list[str] | None, amp: str = "off") -> None:
    """Train the ablation variants (``--only``: some of them) at ``steps`` each under
    ``train.amp=amp`` (float32 by default, as the table's rows; another setting names its
    runs ``<variant>_<amp>``), then print the table of every variant run found in ``work``."""
    root = synthetic_split(work)
    variants = ablation_variants()
    unknown = sorted(set(only or []) - set(variants))
    if unknown:
        sys.exit(f"--only: unknown variants {unknown}; choose from {list(variants)}")
    suffix = "" if amp == "off" else f"_{amp}"
    for name in only or list(variants):
        train_synthetic(
            root, work / f"{name}{suffix}", steps, *variants[name], f"train.amp={amp}", evals=1
        )
    val = str(root / "ImageSets" / "val.txt")
    names = [f"{name}{end}" for name in variants for end in ("", "_bf16", "_auto", "_fp16")]
    runs = [work / name for name in names if (work / name / "eval").is_dir()]
    ablation(root, runs, frame_ids(root, val))


def run_synthetic(work: pathlib.Path, steps: int) -> None:
    """Generalisation: train on a synthetic train split, score the held-out val split."""
    root = synthetic_split(work)
    val = str(root / "ImageSets" / "val.txt")
    cap(root, val)
    run_dir = work / "synthetic_run"
    train_synthetic(root, run_dir, steps)
    report(root, run_dir, frame_ids(root, val))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare", help="a KITTI root whose train and val splits are all frames")
    p.add_argument("src", type=pathlib.Path)
    p.add_argument("out", type=pathlib.Path)
    c = sub.add_parser("cap", help="AP of the ground truth against itself")
    c.add_argument("root", type=pathlib.Path)
    c.add_argument("--ids", default=None)
    c.add_argument(
        "--one-short", action="store_true", help="also the AP with each Car left out in turn"
    )
    s = sub.add_parser("score", help="AP and moderate-car recall of a result folder")
    s.add_argument("root", type=pathlib.Path)
    s.add_argument("results", type=pathlib.Path)
    s.add_argument("--ids", default=None)
    s.add_argument("--min-score", type=float, default=0.5)
    t = sub.add_parser("table", help="the ablation table of finished runs")
    t.add_argument("root", type=pathlib.Path)
    t.add_argument("runs", type=pathlib.Path, nargs="+")
    t.add_argument("--ids", default=None)
    a = sub.add_parser("ablation", help="train and tabulate the second-stage ablation")
    a.add_argument("--work", type=pathlib.Path, default=REPO / "runs" / "bench_accuracy")
    a.add_argument("--steps", type=int, default=1000)
    a.add_argument("--only", nargs="+", default=None, help=f"some of {list(ablation_variants())}")
    a.add_argument(
        "--amp", default="off", choices=["off", "bf16", "fp16", "auto"], help="train.amp"
    )
    r = sub.add_parser("report", help="score a finished run: fp32 and bf16 APs, recall")
    r.add_argument("root", type=pathlib.Path)
    r.add_argument("run_dir", type=pathlib.Path)
    r.add_argument("--ids", default=None)
    for name, steps in (("kitti", 800), ("synthetic", 4000)):
        r = sub.add_parser(name, help=f"train and score end to end ({steps} steps)")
        r.add_argument("--work", type=pathlib.Path, default=REPO / "runs" / "bench_accuracy")
        r.add_argument("--steps", type=int, default=steps)
    if len(sys.argv) == 1:  # no argument: both end-to-end runs with their defaults
        work = REPO / "runs" / "bench_accuracy"
        run_kitti(work, 800)
        run_synthetic(work, 4000)
        return
    args = parser.parse_args()
    if args.command == "kitti":
        run_kitti(args.work, args.steps)
    elif args.command == "synthetic":
        run_synthetic(args.work, args.steps)
    elif args.command == "ablation":
        run_ablation(args.work, args.steps, args.only, args.amp)
    elif args.command == "table":
        ablation(args.root, args.runs, frame_ids(args.root, args.ids))
    elif args.command == "report":
        report(args.root, args.run_dir, frame_ids(args.root, args.ids))
    elif args.command == "prepare":
        prepare(args.src, args.out)
    elif args.command == "cap":
        cap(args.root, args.ids, args.one_short)
    else:
        ids = frame_ids(args.root, args.ids)
        ap_summary(args.root, {"detections": args.results}, ids)
        recall(args.root, args.results, ids, args.min_score)
        error_profile(args.root, args.results, ids, args.min_score)


if __name__ == "__main__":
    main()
