"""``python -m mono3d.eval GT_DIR RESULT_DIR [--ids FILE] [--json OUT]``."""

import argparse
import pathlib
import sys
from collections.abc import Sequence

from ._folders import evaluate_folders
from ._kitti_files import EvalInputError
from ._settings import DEFAULT_CLASSES

#: exit status for input a user can fix (argparse uses it too)
USAGE_ERROR = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mono3d.eval",
        description=(
            "KITTI object AP (2D box, bird's-eye view, 3D, AOS; R40 and R11; strict and loose "
            "IoU) of a result folder, with the official devkit's semantics."
        ),
    )
    parser.add_argument(
        "gt_dir",
        metavar="GT_DIR",
        help="ground-truth label folder (label_2), or a KITTI root holding training/label_2",
    )
    parser.add_argument(
        "result_dir",
        metavar="RESULT_DIR",
        help="result folder: one <id>.txt per frame, KITTI lines with a 16th column (score); "
        "a missing file means no detections",
    )
    parser.add_argument("--ids", metavar="FILE", help="frame ids to evaluate, one per line")
    parser.add_argument(
        "--json", metavar="OUT", help="also write the APs as JSON to OUT ('-': stdout)"
    )
    parser.add_argument(
        "--classes",
        default=",".join(DEFAULT_CLASSES),
        help="comma-separated classes (default: %(default)s)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the evaluation; print the table; 0 on success, 2 on a user error (no traceback)."""
    args = _parser().parse_args(argv)
    classes = tuple(c.strip() for c in args.classes.split(",") if c.strip())
    try:
        result = evaluate_folders(args.gt_dir, args.result_dir, ids=args.ids, classes=classes)
    except (EvalInputError, ValueError) as error:
        print(f"mono3d.eval: error: {error}", file=sys.stderr)
        return USAGE_ERROR
    if args.json == "-":
        print(result.to_json())
    else:
        print(result.table())
        if args.json:
            try:
                pathlib.Path(args.json).write_text(result.to_json() + "\n")
            except OSError as error:
                print(
                    f"mono3d.eval: error: cannot write {args.json}: {error.strerror}",
                    file=sys.stderr,
                )
                return USAGE_ERROR
    return 0
