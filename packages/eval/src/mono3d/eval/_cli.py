"""The evaluation command line, one for both ``python -m mono3d.eval`` and
``mono3d evaluate`` (same arguments, same checks, same errors)::

    GT_DIR RESULT_DIR [--ids FILE] [--json OUT] [--classes Car,Pedestrian,Cyclist]

Exit status 0 on success, 2 on a usage or input error: one line ``PROG: error: ...`` on
stderr naming the argument, file, line or field, no traceback.
"""

import argparse
import pathlib
import sys
from collections.abc import Sequence

from mono3d.kitti import KittiFormatError

from ._folders import evaluate_folders
from ._kitti_files import EvalInputError
from ._settings import DEFAULT_CLASSES, DEFAULT_IOU, resolve_thresholds

#: exit status for input a user can fix (argparse uses it too)
USAGE_ERROR = 2
#: the program name of ``python -m mono3d.eval``
PROG = "python -m mono3d.eval"


class UsageError(ValueError):
    """A command-line argument that cannot be used (named in the message)."""


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the evaluation's arguments to ``parser`` (a whole parser or a sub-command's)."""
    parser.add_argument(
        "gt_dir",
        metavar="GT_DIR",
        help="ground-truth label folder (label_2), or a KITTI root holding training/label_2",
    )
    parser.add_argument(
        "result_dir",
        metavar="RESULT_DIR",
        help="result folder: one <id>.txt per frame, KITTI lines with a 16th column (score), "
        "or a folder holding them in data/ (the devkit's layout, the trainer's eval/step_N); "
        "a missing file means no detections",
    )
    parser.add_argument("--ids", metavar="FILE", help="frame ids to evaluate, one per line")
    parser.add_argument(
        "--json", metavar="OUT", help="also write the APs as JSON to the file OUT ('-': stdout)"
    )
    parser.add_argument(
        "--classes",
        default=",".join(DEFAULT_CLASSES),
        help="comma-separated classes (default: %(default)s)",
    )
    return parser


def _parser(prog: str) -> argparse.ArgumentParser:
    return add_arguments(
        argparse.ArgumentParser(
            prog=prog,
            description=(
                "KITTI object AP (2D box, bird's-eye view, 3D, AOS; R40 and R11; strict and "
                "loose IoU) of a result folder, with the official devkit's semantics."
            ),
        )
    )


def _classes(text: str) -> tuple[str, ...]:
    classes = tuple(c.strip() for c in text.split(",") if c.strip())
    if not classes:
        raise UsageError(f"--classes: no class named in {text!r} (e.g. Car,Pedestrian)")
    if len({c.lower() for c in classes}) != len(classes):
        raise UsageError(f"--classes: a class is named twice in {text!r}")
    try:
        resolve_thresholds(DEFAULT_IOU, classes)
    except ValueError as error:
        raise UsageError(f"--classes: {error}") from None
    return classes


def _check_json_target(target: str | None) -> None:
    """Refuse an ``--json`` that cannot be written, before the evaluation runs."""
    if target is None or target == "-":
        return
    path = pathlib.Path(target)
    if path.is_dir():
        raise UsageError(f"--json {target}: is a folder; give a file name (or '-' for stdout)")
    if not path.parent.is_dir():
        raise UsageError(f"--json {target}: folder {path.parent} does not exist")


def run_command(args: argparse.Namespace, *, prog: str = PROG) -> int:
    """Run a parsed evaluation command (arguments of :func:`add_arguments`): print the AP
    table (or, with ``--json -``, the JSON instead); 0 on success, 2 on a user error."""
    try:
        classes = _classes(args.classes)
        _check_json_target(args.json)
        result = evaluate_folders(args.gt_dir, args.result_dir, ids=args.ids, classes=classes)
        if args.json == "-":
            print(result.to_json())
            return 0
        print(result.table())
        if args.json:
            try:
                pathlib.Path(args.json).write_text(result.to_json() + "\n", encoding="utf-8")
            except OSError as error:
                raise UsageError(f"cannot write {args.json}: {error.strerror or error}") from None
    except (UsageError, EvalInputError, KittiFormatError, OSError) as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return USAGE_ERROR
    return 0


def main(argv: Sequence[str] | None = None, *, prog: str = PROG) -> int:
    """Parse ``argv`` and run the evaluation (see :func:`run_command`)."""
    return run_command(_parser(prog).parse_args(argv), prog=prog)
