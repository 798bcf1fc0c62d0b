"""The ``mono3d`` command.

::

    mono3d synth OUT --num N [--seed S] [--val-fraction F] [--image-size H W]
    mono3d train CONFIG [--resume] [dotted.key=value ...]
    mono3d predict CHECKPOINT IMAGE... --out DIR [--calib FILE]
    mono3d evaluate GT_DIR PRED_DIR [--ids FILE] [--json OUT]
    mono3d show FRAME [--root DIR] [--pred RESULTS] [--out PNG]
    mono3d demo [--out DIR] [--minutes M] [--overwrite]
    mono3d --version

Building the parser imports only the standard library, so ``--help`` and ``--version``
answer at once; each command imports torch and the blocks it needs when it runs.

Exit status: 0 success; 1 the run failed (training diverged, the demo's loss did not go
down); 2 a usage, config or input error (one message per problem on stderr, no traceback);
128 + N when training was stopped by signal N (130 for Ctrl-C) after writing a checkpoint.
"""

import argparse
import os
import pathlib
import sys
from collections.abc import Callable, Sequence

from ._version import __version__

__all__ = ["main"]

USAGE_ERROR = 2
RUN_FAILED = 1


def _fail(message: str) -> int:
    if os.environ.get("RANK", "0") in ("", "0"):
        print(f"mono3d: error: {message}", file=sys.stderr)
    return USAGE_ERROR


def _cmd_synth(args: argparse.Namespace) -> int:
    from ._demo import synthesise

    ids = synthesise(
        args.out,
        args.num,
        seed=args.seed,
        val_fraction=args.val_fraction,
        image_size=tuple(args.image_size) if args.image_size else None,
        max_objects=args.max_objects,
    )
    print(f"wrote {len(ids)} synthetic frames to {args.out} (ImageSets/train.txt, val.txt)")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from ._config import check_data_paths, load_train_config
    from ._distributed import shutdown_distributed
    from ._trainer import Trainer

    config = load_train_config(args.config, args.overrides)
    check_data_paths(config, str(args.config))
    try:
        outcome = Trainer(config, source=str(args.config)).run(resume=args.resume)
    finally:
        shutdown_distributed()
    if outcome.stopped_by is not None:
        import signal

        number = getattr(signal, outcome.stopped_by, None)
        return 128 + int(number) if number is not None else RUN_FAILED
    if os.environ.get("RANK", "0") in ("", "0"):
        print(f"trained {outcome.step} steps; run folder {outcome.run_dir}")
        if outcome.metrics:
            print((outcome.run_dir / "metrics.txt").read_text())
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    import torch

    from ._predict import load_detector, predict_images

    device = torch.device(args.device)
    detector, config = load_detector(args.checkpoint, device)
    if args.score_threshold is not None:
        detector.score_thresh = args.score_threshold  # type: ignore[assignment]
    written = predict_images(
        detector,
        config.classes,
        args.images,
        args.out,
        calib=args.calib,
        batch_size=args.batch_size,
        device=device,
        draw_threshold=args.draw_threshold,
    )
    print(f"wrote {len(written)} result files to {pathlib.Path(args.out) / 'data'} and "
          f"drawings to {pathlib.Path(args.out) / 'images'}")
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from mono3d.eval import evaluate_folders

    classes = tuple(c.strip() for c in args.classes.split(",") if c.strip())
    result = evaluate_folders(args.gt_dir, args.pred_dir, ids=args.ids, classes=classes)
    print(result.table())
    if args.json:
        pathlib.Path(args.json).write_text(result.to_json() + "\n")
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    from ._show import show_frame

    path = show_frame(args.frame, root=args.root, out=args.out, pred=args.pred)
    print(f"wrote {path}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from ._demo import demo_config, loss_decrease, synthesise
    from ._distributed import shutdown_distributed
    from ._trainer import Trainer

    out = pathlib.Path(args.out)
    data, run = out / "data", out / "run"
    if run.exists():
        if not args.overwrite:
            return _fail(f"{run} already exists; pass --overwrite, remove it or use another --out")
        import shutil

        shutil.rmtree(run)
    if not (data / "ImageSets" / "val.txt").is_file():
        total = args.train_images + args.val_images
        print(f"synthesising {total} frames ({args.image_size[0]}x{args.image_size[1]}) in {data}")
        synthesise(
            data,
            total,
            seed=args.seed,
            val_fraction=args.val_images / total,
            image_size=tuple(args.image_size),
            max_objects=8,
        )
    overrides = [
        f"data.root={data}",
        f"output.run_dir={run}",
        f"train.time_limit_minutes={args.minutes}",
        f"train.seed={args.seed}",
        *args.overrides,
    ]
    config = demo_config(overrides)
    print(f"training for up to {args.minutes} min (at most {config.train.steps} steps) in {run}")
    try:
        outcome = Trainer(config, source="demo").run()
    finally:
        shutdown_distributed()
    print(f"steps trained: {outcome.step}")
    try:
        first, last, window = loss_decrease(run / "history.jsonl")
    except ValueError as error:
        print(f"mono3d demo: FAILED: {error}", file=sys.stderr)
        return RUN_FAILED
    print(f"mean total loss, first {window} steps: {first:.4f}; last {window} steps: {last:.4f}")
    for name in ("history.jsonl", "history.csv", "history.png", "metrics.txt", "predictions"):
        print(f"  {run / name}")
    if (run / "metrics.txt").is_file():
        print((run / "metrics.txt").read_text())
    if not last < first:
        print("mono3d demo: FAILED: the loss did not go down", file=sys.stderr)
        return RUN_FAILED
    print("mono3d demo: OK (the loss went down)")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mono3d", description="Monocular 3D object detection: data, training, inference."
    )
    parser.add_argument("--version", action="version", version=f"mono3d {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    synth = commands.add_parser("synth", help="write a synthetic KITTI-format dataset")
    synth.add_argument("out", metavar="OUT", help="dataset folder to create")
    synth.add_argument("--num", type=int, required=True, help="number of frames")
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--val-fraction", type=float, default=0.2,
                       help="share of frames listed in ImageSets/val.txt (default 0.2)")
    synth.add_argument("--image-size", type=int, nargs=2, metavar=("H", "W"),
                       help="image height and width (default: KITTI's 375 1242)")
    synth.add_argument("--max-objects", type=int, help="most objects per frame (default 15)")
    synth.set_defaults(run=_cmd_synth)

    train = commands.add_parser("train", help="train (or resume) from a YAML run config")
    train.add_argument("config", metavar="CONFIG", help="YAML run config (see configs/)")
    train.add_argument("--resume", action="store_true",
                       help="continue from output.run_dir/checkpoint.pt")
    train.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                       help="config overrides, e.g. train.steps=100 optim.lr=1e-4")
    train.set_defaults(run=_cmd_train)

    predict = commands.add_parser("predict", help="detect 3D boxes in images")
    predict.add_argument("checkpoint", metavar="CHECKPOINT")
    predict.add_argument("images", metavar="IMAGE", nargs="+")
    predict.add_argument("--out", required=True, metavar="DIR",
                         help="writes DIR/data/<id>.txt and DIR/images/<id>.png")
    predict.add_argument("--calib", metavar="FILE",
                         help="KITTI calib file for every image (default: calib/<id>.txt "
                         "next to image_2/)")
    predict.add_argument("--batch-size", type=int, default=4)
    predict.add_argument("--score-threshold", type=float,
                         help="keep detections scoring above this (default: the config's)")
    predict.add_argument("--draw-threshold", type=float, default=0.3,
                         help="draw detections scoring at least this (default 0.3; every "
                         "detection is written to the result files)")
    predict.add_argument("--device", default="cpu")
    predict.set_defaults(run=_cmd_predict)

    evaluate = commands.add_parser("evaluate", help="KITTI AP of a result folder")
    evaluate.add_argument("gt_dir", metavar="GT_DIR",
                          help="label_2 folder, or a KITTI root holding training/label_2")
    evaluate.add_argument("pred_dir", metavar="PRED_DIR", help="folder of <id>.txt results")
    evaluate.add_argument("--ids", metavar="FILE", help="frame ids to evaluate, one per line")
    evaluate.add_argument("--json", metavar="OUT", help="also write the APs as JSON")
    evaluate.add_argument("--classes", default="Car,Pedestrian,Cyclist")
    evaluate.set_defaults(run=_cmd_evaluate)

    show = commands.add_parser("show", help="draw a KITTI frame's 3D boxes and a bird's-eye view")
    show.add_argument("frame", metavar="FRAME",
                      help="ROOT/training/image_2/<id>.png (or label_2/<id>.txt), or an id "
                      "with --root")
    show.add_argument("--root", metavar="DIR", help="KITTI root for a bare frame id")
    show.add_argument("--pred", metavar="RESULTS",
                      help="also draw detections: a result file or a folder of <id>.txt")
    show.add_argument("--out", metavar="PNG", help="output image (default <id>_show.png)")
    show.set_defaults(run=_cmd_show)

    demo = commands.add_parser("demo", help="synthesise, train a few minutes, evaluate, check")
    demo.add_argument("--out", default="demo", metavar="DIR", help="default ./demo")
    demo.add_argument("--minutes", type=float, default=5.0,
                      help="training wall-time budget (default 5)")
    demo.add_argument("--train-images", type=int, default=200)
    demo.add_argument("--val-images", type=int, default=40)
    demo.add_argument("--image-size", type=int, nargs=2, default=(128, 416), metavar=("H", "W"))
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--overwrite", action="store_true",
                      help="delete OUT/run from an earlier demo first (OUT/data is reused)")
    demo.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                      help="overrides of the demo config (packaged configs/synthetic.yaml)")
    demo.set_defaults(run=_cmd_demo)
    return parser


def _user_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that describe a problem the user can fix: reported without a traceback."""
    from mono3d.data import KittiFormatError
    from mono3d.detector import ConfigError
    from mono3d.eval import EvalInputError
    from mono3d.logger import HistoryError

    from ._checkpoint import CheckpointError

    return (
        ConfigError,
        CheckpointError,
        KittiFormatError,
        EvalInputError,
        HistoryError,
        FileNotFoundError,
        FileExistsError,
        NotADirectoryError,
        PermissionError,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``mono3d`` command; returns the exit status (see the module docstring)."""
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        # argparse leaves KEY=VALUE overrides given after an option (e.g. after --resume)
        if hasattr(args, "overrides") and all("=" in e and not e.startswith("-") for e in extra):
            args.overrides = [*args.overrides, *extra]
        else:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    from ._trainer import TrainingDiverged

    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except _user_errors() as error:
        return _fail(str(error))
    except TrainingDiverged as error:
        print(f"mono3d: training stopped: {error}", file=sys.stderr)
        return RUN_FAILED
    except KeyboardInterrupt:
        print("mono3d: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
