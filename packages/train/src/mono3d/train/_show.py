"""``mono3d show``: a KITTI frame's image with its 3D boxes projected, and a bird's-eye view."""

import os
import pathlib
from collections.abc import Sequence

import torch

from mono3d.data import (
    DEFAULT_CLASSES,
    KittiObject,
    read_image,
    read_kitti_calib,
    read_kitti_label,
)

from ._config import EvalSection
from ._draw import BoxesToDraw, to_pil
from ._draw_bev import BEV_MAX_DEPTH
from ._draw_frame import draw_frame

__all__ = ["DEFAULT_SCORE_THRESH", "locate_frame", "objects_to_boxes", "show_frame"]

#: detections drawn by ``show`` score at least this unless told otherwise: the threshold of
#: the trainer's drawings (``eval.draw_score_threshold``)
DEFAULT_SCORE_THRESH: float = EvalSection.model_fields["draw_score_threshold"].default


def locate_frame(
    frame: str, root: str | os.PathLike[str] | None = None
) -> tuple[pathlib.Path, str]:
    """(folder holding image_2/label_2/calib, frame id) of ``frame``: an image or label file
    path in the KITTI layout, or a frame id under ``root`` (a KITTI root with
    ``training/``, or the ``training`` folder itself)."""
    path = pathlib.Path(frame)
    if path.suffix in (".png", ".txt") and path.is_file():
        return path.parent.parent, path.stem
    if path.suffix in (".png", ".txt"):
        raise FileNotFoundError(f"frame file not found: {path}")
    if root is None:
        raise FileNotFoundError(
            f"{frame!r} is not an image or label file; give a path like "
            "ROOT/training/image_2/000001.png, or the id with --root ROOT"
        )
    base = pathlib.Path(root)
    data_dir = base / "training" if (base / "training").is_dir() else base
    image = data_dir / "image_2" / f"{frame}.png"
    if not image.is_file():
        raise FileNotFoundError(f"frame {frame}: no image {image}")
    return data_dir, frame


def objects_to_boxes(
    objects: Sequence[KittiObject], classes: Sequence[str], *, ground_truth: bool
) -> BoxesToDraw:
    """KITTI objects with a usable 3D box (no DontCare, positive size, in front of the
    camera) as boxes to draw; colour by ``classes`` index (others white). Labels: the type,
    plus the score for detections (kept as their ``score``; a missing score counts as 1)."""
    kept = [o for o in objects if not o.is_dontcare and min(o.dimensions) > 0 and o.location[2] > 0]
    lookup = {name: index + 1 for index, name in enumerate(classes)}
    labels = [
        o.type if ground_truth or o.score is None else f"{o.type} {o.score:.2f}" for o in kept
    ]
    return BoxesToDraw(
        bbox3d=torch.tensor(
            [[*o.location, *o.dimensions] for o in kept], dtype=torch.float32
        ).reshape(-1, 6),
        yaw=torch.tensor([o.rotation_y for o in kept], dtype=torch.float32),
        category=torch.tensor([lookup.get(o.type, 0) for o in kept], dtype=torch.int64),
        labels=labels,
        ground_truth=ground_truth,
        score=None
        if ground_truth
        else torch.tensor([1.0 if o.score is None else o.score for o in kept]),
    )


def _prediction_file(pred: pathlib.Path, frame_id: str) -> pathlib.Path:
    if pred.is_file():
        return pred
    for candidate in (pred / f"{frame_id}.txt", pred / "data" / f"{frame_id}.txt"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"no result file for frame {frame_id} in {pred}")


def show_frame(
    frame: str,
    *,
    root: str | os.PathLike[str] | None = None,
    out: str | os.PathLike[str] | None = None,
    pred: str | os.PathLike[str] | None = None,
    classes: Sequence[str] = DEFAULT_CLASSES,
    min_height: int = 375,
    score_thresh: float | None = None,
    max_depth: float = BEV_MAX_DEPTH,
) -> pathlib.Path:
    """Write a PNG (:func:`draw_frame`): the frame's image with its labelled 3D boxes (thin,
    white) and, with ``pred`` (a KITTI result file or folder), the detections scoring at
    least ``score_thresh`` (default :data:`DEFAULT_SCORE_THRESH`; thick, class colours,
    with their scores) projected, beside a bird's-eye view of the same boxes (at most
    ``max_depth`` metres deep), over a legend and a caption. Images lower than
    ``min_height`` pixels are enlarged first. Returns the path (default ``<id>_show.png``
    in the working directory)."""
    if score_thresh is None:
        score_thresh = DEFAULT_SCORE_THRESH
    if not 0.0 <= score_thresh <= 1.0:
        raise ValueError(f"show: the score threshold must be in [0, 1], got {score_thresh}")
    data_dir, frame_id = locate_frame(frame, root)
    image_path = data_dir / "image_2" / f"{frame_id}.png"
    calib_path = data_dir / "calib" / f"{frame_id}.txt"
    if not calib_path.is_file():
        raise FileNotFoundError(f"frame {frame_id}: no calib file {calib_path}")
    calib = torch.tensor(read_kitti_calib(calib_path).P2, dtype=torch.float64)
    label_path = data_dir / "label_2" / f"{frame_id}.txt"
    labelled = detections = None
    if label_path.exists():  # no label file: an unlabelled frame; a folder: refused
        labelled = objects_to_boxes(read_kitti_label(label_path), classes, ground_truth=True)
    if pred is not None:
        path = _prediction_file(pathlib.Path(pred), frame_id)
        detections = objects_to_boxes(read_kitti_label(path), classes, ground_truth=False)
    image = to_pil(read_image(image_path))  # a corrupt file: KittiFormatError naming it
    drawing = draw_frame(
        image,
        calib,
        labelled=labelled,
        detections=detections,
        classes=classes,
        score_thresh=score_thresh,
        min_height=min_height,
        max_depth=max_depth,
    )
    target = pathlib.Path(out) if out is not None else pathlib.Path(f"{frame_id}_show.png")
    target.parent.mkdir(parents=True, exist_ok=True)
    drawing.save(target)
    return target
