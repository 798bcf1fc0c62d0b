"""The ``mono3d`` command.

::

    mono3d synth OUT --num N [--seed S] [--val-fraction F] [--image-size H W]
    mono3d train CONFIG [--resume] [--device D] [dotted.key=value ...]
    mono3d predict CHECKPOINT IMAGE... --out DIR [--calib FILE] [--device D]
    mono3d evaluate GT_DIR RESULT_DIR [--ids FILE] [--json OUT] [--classes ...]
    mono3d show FRAME [--root DIR] [--pred RESULTS] [--out PNG] [--score-thresh T]
    mono3d demo [--out DIR] [--minutes M] [--overwrite] [--device D]
    mono3d config list | mono3d config show NAME [--resolved]
    mono3d export CHECKPOINT --format pt2|onnx --image-size H W [--out FILE]
    mono3d --version

``CONFIG`` is a YAML file or the name of a shipped preset (``synthetic``, ``kitti``: see
``mono3d config list``). ``--device`` is ``auto|cpu|cuda|cuda:N`` wherever a model runs
(:mod:`mono3d.train._device`). ``-q``/``-v`` (before or after the command) make the
messages quieter or more detailed; a training run also appends them to ``log.txt`` in its
run folder (:mod:`mono3d.train._messages`).

Building the parser imports only the standard library, so ``--help`` and ``--version``
answer at once; each command imports torch and the blocks it needs when it runs.

Exit status: 0 success; 1 the run failed (training diverged, the demo's loss did not go
down); 2 a usage, config or input error (one message per problem on stderr, no traceback);
128 + N when training was stopped by signal N (130 for Ctrl-C) after writing a checkpoint.
"""

import argparse
import logging
import os
import pathlib
import sys
import typing
from collections.abc import Callable, Sequence

from ._device import DEVICE_HELP, DeviceError, parse_device
from ._messages import console_logging, log_to_run_folder
from ._version import __version__

__all__ = ["main"]

USAGE_ERROR = 2
RUN_FAILED = 1

_LOG = logging.getLogger(__name__)


def _fail(message: str) -> int:
    _LOG.error(message)
    return USAGE_ERROR


def _device_overrides(args: argparse.Namespace) -> list[str]:
    """``train.device=...`` when ``--device`` was given (it overrides the config's)."""
    return [f"train.device={args.device}"] if args.device is not None else []


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
    _LOG.info(f"wrote {len(ids)} synthetic frames to {args.out} (ImageSets/train.txt, val.txt)")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from ._config import check_data_paths, load_train_config
    from ._distributed import shutdown_distributed
    from ._presets import config_source
    from ._trainer import Trainer

    source = str(args.config)
    with config_source(args.config) as path:
        config = load_train_config(path, [*args.overrides, *_device_overrides(args)])
    check_data_paths(config, source)
    try:
        trainer = Trainer(config, source=source)
        log_to_run_folder(config.output.run_dir)
        _LOG.debug(f"mono3d {__version__}: {' '.join(sys.argv[1:]) or 'train'} (config {path})")
        _LOG.info(f"training on {trainer.dist.device}; run folder {config.output.run_dir}")
        outcome = trainer.run(resume=args.resume)
    finally:
        shutdown_distributed()
    if outcome.stopped_by is not None:
        import signal

        number = getattr(signal, outcome.stopped_by, None)
        return 128 + int(number) if number is not None else RUN_FAILED
    _LOG.info(f"trained {outcome.step} steps; run folder {outcome.run_dir}")
    if outcome.metrics and os.environ.get("RANK", "0") in ("", "0"):
        print((outcome.run_dir / "metrics.txt").read_text())
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    from ._device import resolve_device
    from ._precision import DEFAULT_AMP, resolve_precision
    from ._predict import load_detector, predict_images

    try:
        device = resolve_device(args.device)
    except DeviceError as error:
        return _fail(f"--device: {error}")
    _LOG.debug(f"predicting on {device}")
    detector, config = load_detector(args.checkpoint, device)
    precision = resolve_precision(args.precision or DEFAULT_AMP, device, source="--precision")
    _LOG.info(precision.describe())
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
        precision=precision,
        max_image_pixels=config.data.max_image_pixels,
    )
    _LOG.info(
        f"wrote {len(written)} result files to {pathlib.Path(args.out) / 'data'} and "
        f"drawings to {pathlib.Path(args.out) / 'images'}"
    )
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from mono3d.eval import add_arguments, run_command  # the one evaluation command line

    prog = "mono3d evaluate"
    about = "KITTI object AP (2D, BEV, 3D, AOS; R40 and R11) of a result folder."
    parser = add_arguments(_Parser(prog=prog, description=about))
    try:
        parsed = parser.parse_args(args.arguments)
    except _UsageError as error:
        return _fail(str(error))
    return run_command(parsed, prog=prog)


def _cmd_show(args: argparse.Namespace) -> int:
    from ._show import show_frame

    path = show_frame(
        args.frame, root=args.root, out=args.out, pred=args.pred, score_thresh=args.score_thresh
    )
    _LOG.info(f"wrote {path}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from ._demo import DEMO_STEPS, demo_config, demo_verdict, loss_decrease, synthesise
    from ._distributed import shutdown_distributed
    from ._trainer import Trainer

    out = pathlib.Path(args.out)
    data, run = out / "data", out / "run"
    overrides = [
        f"data.root={data}",
        f"output.run_dir={run}",
        f"train.time_limit_minutes={args.minutes}",
        f"train.seed={args.seed}",
        f"train.steps={DEMO_STEPS}",
        f"train.eval_interval={DEMO_STEPS}",
        *args.overrides,
        *_device_overrides(args),
    ]
    config = demo_config(overrides)  # a bad override is refused before anything is written
    if run.exists() and not args.overwrite:
        return _fail(f"{run} already exists; pass --overwrite, remove it or use another --out")
    synthesising = not (data / "ImageSets" / "val.txt").is_file()
    if synthesising and args.train_images < config.train.batch_size:
        return _fail(
            f"--train-images: need at least one batch (train.batch_size="
            f"{config.train.batch_size}) of training frames, got {args.train_images}"
        )
    if run.exists():
        import shutil

        shutil.rmtree(run)
    if synthesising:
        total = args.train_images + args.val_images
        height, width = args.image_size
        _LOG.info(f"synthesising {total} frames ({height}x{width}) in {data}")
        synthesise(
            data,
            total,
            seed=args.seed,
            val_fraction=args.val_images / total,
            image_size=tuple(args.image_size),
            max_objects=8,
        )
    try:
        trainer = Trainer(config, source="demo")
        log_to_run_folder(run)
        _LOG.info(
            f"training on {trainer.dist.device} for up to {args.minutes} min (at most "
            f"{config.train.steps} steps) in {run}"
        )
        outcome = trainer.run()
    finally:
        shutdown_distributed()
    _LOG.info(f"steps trained: {outcome.step}")
    try:
        first, last, window = loss_decrease(run / "history.jsonl")
    except ValueError as error:
        _LOG.error(f"demo FAILED: {error}")
        return RUN_FAILED
    _LOG.info(
        f"mean total loss, first {window} steps: {first:.4f}; last {window} steps: {last:.4f}"
    )
    outputs = ("history.jsonl", "history.csv", "history.png", "metrics.txt", "predictions")
    for name in (*outputs, "log.txt"):
        _LOG.info(f"  {run / name}")
    if (run / "metrics.txt").is_file():
        print((run / "metrics.txt").read_text())
    if not last < first:
        _LOG.error("demo FAILED: the loss did not go down")
        return RUN_FAILED
    try:
        verdict = demo_verdict(run)
    except ValueError as error:
        _LOG.error(f"demo FAILED: {error}")
        return RUN_FAILED
    if not verdict.ok:
        _LOG.error(verdict.line)
        return RUN_FAILED
    _LOG.info(verdict.line)
    return 0


def _cmd_config_list(args: argparse.Namespace) -> int:
    from ._presets import preset_names, preset_summary

    for name in preset_names():
        print(f"{name:<12} {preset_summary(name)}")
    return 0


def _cmd_config_show(args: argparse.Namespace) -> int:
    from ._presets import config_source

    if not args.resolved:
        with config_source(args.name) as path:
            sys.stdout.write(path.read_text(encoding="utf-8"))
        return 0
    import yaml

    from ._config import load_train_config

    with config_source(args.name) as path:
        config = load_train_config(path, args.overrides)
    sys.stdout.write(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False))
    return 0


def _count(least: int, need: str) -> Callable[[str], int]:
    """An argparse ``type``: an integer of at least ``least`` (``need`` says so in words)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"need an integer, got {text!r}") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"need {need}, got {value}")
        return value

    return parse


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"need a number, got {text!r}") from None


def _fraction(text: str) -> float:
    """An argparse ``type``: a number in [0, 1] (NaN is refused)."""
    value = _number(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"need a fraction in [0, 1], got {text}")
    return value


def _positive(text: str) -> float:
    """An argparse ``type``: a finite number above 0."""
    value = _number(text)
    if not 0.0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"need a finite number above 0, got {text}")
    return value


_FRAMES = _count(1, "at least 1 frame")
_SIZE = _count(1, "H and W of at least 1 pixel")
_BATCH = _count(1, "at least 1 image per batch")
_SEED = _count(0, "a seed of 0 or more")


class _UsageError(Exception):
    """A malformed command line (argparse's complaint, one line)."""


class _Parser(argparse.ArgumentParser):
    """argparse, but an error is one line (no usage block) and raises :class:`_UsageError`,
    so :func:`main` returns 2 instead of exiting."""

    def error(self, message: str) -> "typing.NoReturn":  # type: ignore[override]
        raise _UsageError(f"{message} (see {self.prog} --help)")


def _verbosity(parser: argparse.ArgumentParser, *, on_command: bool) -> None:
    """``-v``/``-q``, accepted before the command and after it (a command's copy keeps the
    top-level value unless given)."""
    default = argparse.SUPPRESS if on_command else 0
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=default,
        help="more detailed messages (DEBUG notes)",
    )
    parser.add_argument(
        "-q",
        "--quiet",
        action="count",
        default=default,
        help="only warnings and errors (a command's own output stays)",
    )


def _device_option(parser: argparse.ArgumentParser, default: str | None) -> None:
    where = "the config's train.device" if default is None else default
    parser.add_argument(
        "--device",
        default=default,
        metavar="DEVICE",
        help=f"{DEVICE_HELP} (auto: CUDA when available; default: {where})",
    )


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="mono3d", description="Monocular 3D object detection: data, training, inference."
    )
    parser.add_argument("--version", action="version", version=f"mono3d {__version__}")
    _verbosity(parser, on_command=False)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, **options: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, **options)  # type: ignore[arg-type]
        _verbosity(sub, on_command=True)
        return sub

    synth = command("synth", help="write a synthetic KITTI-format dataset")
    synth.add_argument("out", metavar="OUT", help="dataset folder to create")
    synth.add_argument("--num", type=_FRAMES, required=True, help="number of frames")
    synth.add_argument("--seed", type=_SEED, default=0)
    synth.add_argument(
        "--val-fraction",
        type=_fraction,
        default=0.2,
        help="share of frames listed in ImageSets/val.txt (default 0.2)",
    )
    synth.add_argument(
        "--image-size",
        type=_SIZE,
        nargs=2,
        metavar=("H", "W"),
        help="image height and width (default: KITTI's 375 1242)",
    )
    synth.add_argument(
        "--max-objects", type=_count(0, "0 or more"), help="most objects per frame (default 15)"
    )
    synth.set_defaults(run=_cmd_synth)

    train = command("train", help="train (or resume) from a YAML run config or a preset")
    train.add_argument(
        "config",
        metavar="CONFIG",
        help="a YAML run config, or a shipped preset: synthetic, kitti (mono3d config list)",
    )
    train.add_argument(
        "--resume", action="store_true", help="continue from output.run_dir/checkpoint.pt"
    )
    _device_option(train, None)
    train.add_argument(
        "overrides",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="config overrides, e.g. train.steps=100 optim.lr=1e-4",
    )
    train.set_defaults(run=_cmd_train)

    predict = command("predict", help="detect 3D boxes in images")
    predict.add_argument("checkpoint", metavar="CHECKPOINT")
    predict.add_argument("images", metavar="IMAGE", nargs="+")
    predict.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="writes DIR/data/<id>.txt and DIR/images/<id>.png",
    )
    predict.add_argument(
        "--calib",
        metavar="FILE",
        help="KITTI calib file for every image (default: calib/<id>.txt next to image_2/)",
    )
    predict.add_argument("--batch-size", type=_BATCH, default=4)
    predict.add_argument(
        "--score-threshold",
        type=_fraction,
        help="keep detections scoring above this (default: the config's)",
    )
    predict.add_argument(
        "--draw-threshold",
        type=_fraction,
        default=0.3,
        help="draw detections scoring at least this (default 0.3; every "
        "detection is written to the result files)",
    )
    _device_option(predict, "auto")
    predict.add_argument(
        "--precision",
        choices=["auto", "off", "bf16", "fp16"],
        help="auto (the default, as train.amp): bf16 autocast + channels_last where the "
        "device runs bf16 natively, else float32; off: float32; fp16: CUDA only",
    )
    predict.set_defaults(run=_cmd_predict)

    # the arguments are python -m mono3d.eval's, parsed by it (see _parse)
    evaluate = command(
        "evaluate",
        help="KITTI AP of a result folder (mono3d evaluate --help: python -m mono3d.eval's)",
        add_help=False,  # type: ignore[arg-type]
    )
    evaluate.set_defaults(run=_cmd_evaluate)

    show = command("show", help="draw a KITTI frame's 3D boxes and a bird's-eye view")
    show.add_argument(
        "frame",
        metavar="FRAME",
        help="ROOT/training/image_2/<id>.png (or label_2/<id>.txt), or an id with --root",
    )
    show.add_argument("--root", metavar="DIR", help="KITTI root for a bare frame id")
    show.add_argument(
        "--pred",
        metavar="RESULTS",
        help="also draw detections: a result file or a folder of <id>.txt",
    )
    show.add_argument("--out", metavar="PNG", help="output image (default <id>_show.png)")
    show.add_argument(
        "--score-thresh",
        type=_fraction,
        metavar="T",
        help="draw detections scoring at least T (default: eval.draw_score_threshold)",
    )
    show.set_defaults(run=_cmd_show)

    demo = command("demo", help="synthesise, train a few minutes, evaluate, check")
    demo.add_argument("--out", default="demo", metavar="DIR", help="default ./demo")
    demo.add_argument(
        "--minutes",
        type=_positive,
        default=20.0,
        help="training wall-time limit (default 20; the demo's 1200 steps take about 16 on two "
        "idle cores of a CPU with fast bf16)",
    )
    demo.add_argument("--train-images", type=_FRAMES, default=1000)
    demo.add_argument("--val-images", type=_FRAMES, default=100)
    demo.add_argument("--image-size", type=_SIZE, nargs=2, default=(128, 416), metavar=("H", "W"))
    demo.add_argument("--seed", type=_SEED, default=0)
    demo.add_argument(
        "--overwrite",
        action="store_true",
        help="delete OUT/run from an earlier demo first (OUT/data is reused)",
    )
    _device_option(demo, None)
    demo.add_argument(
        "overrides",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="overrides of the demo config (the synthetic preset)",
    )
    demo.set_defaults(run=_cmd_demo)

    config = command("config", help="list the shipped presets or print one")
    actions = config.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="the shipped presets, one line each")
    _verbosity(listing, on_command=True)
    listing.set_defaults(run=_cmd_config_list)
    shown = actions.add_parser("show", help="print a preset (or a config file)")
    _verbosity(shown, on_command=True)
    shown.add_argument("name", metavar="NAME", help="preset name (synthetic, kitti) or a path")
    shown.add_argument(
        "--resolved",
        action="store_true",
        help="print the validated config with every default filled in",
    )
    shown.add_argument(
        "overrides",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="with --resolved: overrides applied first",
    )
    shown.set_defaults(run=_cmd_config_show)

    from ._export_cli import add_export_command  # mono3d export (standard library only)

    add_export_command(command)
    return parser


def _user_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that describe a problem the user can fix: reported without a traceback.
    Called only while an exception is being matched, so a command that succeeds never
    imports the blocks named here."""
    from mono3d.data import KittiFormatError
    from mono3d.detector import ConfigError
    from mono3d.eval import EvalInputError
    from mono3d.logger import HistoryError

    from ._checkpoint import CheckpointError
    from ._predict import PredictError
    from ._run_files import RunFileError

    return (
        ConfigError,
        CheckpointError,
        PredictError,
        KittiFormatError,
        EvalInputError,
        HistoryError,
        RunFileError,
    )


#: user errors that need no import to recognise
_PLAIN_USER_ERRORS = (
    DeviceError,
    FileNotFoundError,
    FileExistsError,
    NotADirectoryError,
    PermissionError,
)


def _training_diverged() -> type[BaseException]:
    from ._trainer import TrainingDiverged

    return TrainingDiverged


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = _parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if "evaluate" in argv and all(a.startswith("-") for a in argv[: argv.index("evaluate")]):
        # everything after ``evaluate`` goes to mono3d.eval's own parser, unchanged
        cut = argv.index("evaluate") + 1
        args = parser.parse_args(argv[:cut])
        args.arguments = argv[cut:]
        return args
    args, extra = parser.parse_known_args(argv)
    if extra:
        # argparse leaves KEY=VALUE overrides given after an option (e.g. after --resume)
        if hasattr(args, "overrides") and all("=" in e and not e.startswith("-") for e in extra):
            args.overrides = [*args.overrides, *extra]
        else:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``mono3d`` command; returns the exit status (see the module docstring)."""
    try:
        args = _parse(argv)
    except _UsageError as error:
        print(f"mono3d: error: {error}", file=sys.stderr)
        return USAGE_ERROR
    run: Callable[[argparse.Namespace], int] = args.run
    with console_logging(args.verbose, args.quiet):
        try:
            if getattr(args, "device", None) is not None:
                try:
                    args.device = parse_device(args.device)
                except DeviceError as error:
                    return _fail(f"--device: {error}")
            return run(args)
        except _PLAIN_USER_ERRORS as error:
            return _fail(str(error))
        except _user_errors() as error:
            return _fail(str(error))
        except _training_diverged() as error:
            _LOG.error(f"training stopped: {error}")
            return RUN_FAILED
        except KeyboardInterrupt:
            _LOG.error("interrupted")
            return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
