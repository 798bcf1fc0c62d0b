"""The ``mono3d export`` subcommand's arguments and runner (standard library only, so that
``mono3d --help`` stays fast; the export itself is :mod:`mono3d.train._export`)."""

import argparse
import sys
from collections.abc import Callable

#: exit status of a usage error (as :mod:`mono3d.train.cli`)
USAGE_ERROR = 2
#: exit status when the written file's detections differ from the eager detector's
RUN_FAILED = 1


def add_export_command(command: Callable[..., argparse.ArgumentParser]) -> None:
    """Register ``export`` through the CLI's ``command(name, help=...)`` factory."""
    export = command(
        "export", help="export a checkpoint's detector: torch.export program (pt2) or ONNX"
    )
    export.add_argument("checkpoint", metavar="CHECKPOINT", help="a training checkpoint.pt")
    export.add_argument("--format", required=True, metavar="FORMAT", help="pt2 or onnx")
    export.add_argument(
        "--image-size", required=True, nargs=2, metavar=("H", "W"),
        help="padded input height and width, multiples of 32 (the program's fixed shape)",
    )  # fmt: skip
    export.add_argument(
        "--out", metavar="FILE", help="output file (default CHECKPOINT's folder/<stem>-HxW.FORMAT)"
    )
    export.add_argument("--batch-size", type=int, default=1, help="fixed batch size (default 1)")
    export.add_argument(
        "--no-check", action="store_true",
        help="do not run the written file against the eager detector",
    )  # fmt: skip
    export.set_defaults(run=run_export)


def _error(message: str) -> int:
    print(f"mono3d: error: {message}", file=sys.stderr)
    return USAGE_ERROR


def run_export(args: argparse.Namespace) -> int:
    """Run ``mono3d export``: one line per outcome; bad requests one line and exit 2."""
    from ._export import ExportError, check_format, export_checkpoint, parse_image_size

    try:
        fmt = check_format(args.format)
        size = parse_image_size(args.image_size)
        result = export_checkpoint(
            args.checkpoint,
            fmt=fmt,
            image_size=size,
            out=args.out,
            batch_size=args.batch_size,
            check=not args.no_check,
        )
    except ExportError as error:
        return _error(str(error))
    h, w = size
    print(
        f"wrote {result.path} ({fmt}, inputs images ({args.batch_size}, 3, {h}, {w}) float32, "
        f"calib ({args.batch_size}, 3, 4) float32, image_size ({args.batch_size}, 2) int64; "
        f"{result.seconds:.1f} s)"
    )
    check = result.check
    if check is None:
        return 0
    if not check.ran:
        print("not checked: onnxruntime is not installed (pip install 'mono3d-train[onnx]')")
        return 0
    verdict = "match" if check.matches else "DIFFER from"
    print(
        f"checked on a random batch: {check.detections} detections {verdict} the eager "
        f"detector's (max |difference| {check.max_abs_diff:.2e})"
    )
    return 0 if check.matches else RUN_FAILED
