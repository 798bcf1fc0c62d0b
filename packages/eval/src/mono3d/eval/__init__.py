"""mono3d.eval: KITTI object-detection AP with the official devkit's semantics, vectorised.

Average precision per class and difficulty for the 2D box, bird's-eye view, 3D box and
average orientation similarity (AOS), with 40- and 11-point interpolation, at the strict
and the loose IoU thresholds. Inputs: per-frame annotation dicts (:func:`evaluate`), KITTI
folders (:func:`evaluate_folders`, ``python -m mono3d.eval``), or the contracts' tensor
bundles through :func:`detections_to_annos` / :func:`ground_truth_to_annos`.
"""

from mono3d.kitti import KittiFormatError as KittiFormatError
from mono3d.kitti import read_id_list as read_id_list

from ._annos import UNKNOWN_ALPHA as UNKNOWN_ALPHA
from ._annos import check_anno as check_anno
from ._annos import empty_anno as empty_anno
from ._cli import add_arguments as add_arguments
from ._cli import main as main
from ._cli import run_command as run_command
from ._evaluate import evaluate as evaluate
from ._folders import evaluate_folders as evaluate_folders
from ._kitti_files import EvalInputError as EvalInputError
from ._kitti_files import read_kitti_folders as read_kitti_folders
from ._kitti_files import read_label_file as read_label_file
from ._kitti_files import resolve_label_dir as resolve_label_dir
from ._kitti_files import resolve_result_dir as resolve_result_dir
from ._matching import Curves as Curves
from ._matching import score_thresholds as score_thresholds
from ._overlaps import image_overlap as image_overlap
from ._recall import ERROR_COLUMNS as ERROR_COLUMNS
from ._recall import Recall as Recall
from ._recall import count_recall as count_recall
from ._recall import greedy_matches as greedy_matches
from ._recall import matched_errors as matched_errors
from ._result import EvalResult as EvalResult
from ._settings import DEFAULT_CLASSES as DEFAULT_CLASSES
from ._settings import DEFAULT_IOU as DEFAULT_IOU
from ._settings import DEFAULT_NEIGHBOURS as DEFAULT_NEIGHBOURS
from ._settings import DIFFICULTIES as DIFFICULTIES
from ._settings import LOOSE_IOU as LOOSE_IOU
from ._settings import METRICS as METRICS
from ._settings import NUM_SAMPLE_POINTS as NUM_SAMPLE_POINTS
from ._settings import STRICT_IOU as STRICT_IOU
from ._settings import Difficulty as Difficulty
from ._tensors import detections_to_annos as detections_to_annos
from ._tensors import ground_truth_to_annos as ground_truth_to_annos
from ._version import __version__ as __version__

__all__ = [
    "DEFAULT_CLASSES",
    "DEFAULT_IOU",
    "DEFAULT_NEIGHBOURS",
    "DIFFICULTIES",
    "ERROR_COLUMNS",
    "LOOSE_IOU",
    "METRICS",
    "NUM_SAMPLE_POINTS",
    "STRICT_IOU",
    "UNKNOWN_ALPHA",
    "Curves",
    "Difficulty",
    "EvalInputError",
    "EvalResult",
    "KittiFormatError",
    "Recall",
    "__version__",
    "add_arguments",
    "check_anno",
    "count_recall",
    "detections_to_annos",
    "empty_anno",
    "evaluate",
    "evaluate_folders",
    "greedy_matches",
    "ground_truth_to_annos",
    "image_overlap",
    "main",
    "matched_errors",
    "read_id_list",
    "read_kitti_folders",
    "read_label_file",
    "resolve_label_dir",
    "resolve_result_dir",
    "run_command",
    "score_thresholds",
]
