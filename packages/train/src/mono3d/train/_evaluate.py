"""Evaluation during and after training: predict a split, write KITTI result files, score.

The detections of every image of the split are written as KITTI result files
(``out_dir/data/<id>.txt``) and scored by :func:`mono3d.eval.evaluate` against the split's
own label files (read as written, so DontCare regions and neighbouring classes count as the
KITTI devkit counts them). ``out_dir/metrics.txt`` holds the full AP table and
``metrics.json`` every number; the returned dict (logged to the history) holds the strict,
R40, moderate APs per class and their mean over classes.
"""

import math
import pathlib
from collections.abc import Iterator, Sequence

import torch
from torch import nn
from torch.utils.data import DataLoader, Subset

from mono3d.contracts import Detections
from mono3d.data import Batch, KittiDataset, collate, write_kitti_results
from mono3d.eval import EvalResult, detections_to_annos, evaluate, read_label_file

from ._config import TrainConfig
from ._draw import BoxesToDraw, to_pil
from ._draw_frame import draw_frame

__all__ = [
    "detection_labels",
    "evaluate_detector",
    "ground_truth_boxes",
    "metrics_of",
    "predict_batches",
]

#: logged metrics: (name in the history, metric key of mono3d.eval)
LOGGED_METRICS = (("AP2d", "bbox"), ("APbev", "bev"), ("AP3d", "3d"), ("AOS", "aos"))


def predict_batches(
    detector: nn.Module,
    dataset: KittiDataset | Subset[object],
    *,
    batch_size: int,
    device: torch.device,
    workers: int = 0,
) -> Iterator[tuple[Batch, Detections]]:
    """(batch, detections on the CPU) for every batch of ``dataset``, in order, with the
    detector in eval mode and no gradient."""
    loader = DataLoader(
        dataset, batch_size=batch_size, shuffle=False, num_workers=workers, collate_fn=collate
    )
    was_training = detector.training
    detector.eval()
    try:
        with torch.no_grad():
            for batch in loader:
                detections = detector.predict(batch.images.to(device))  # type: ignore[operator]
                yield batch, detections.to("cpu")
    finally:
        detector.train(was_training)


def metrics_of(result: EvalResult, classes: Sequence[str]) -> dict[str, float]:
    """The history's metrics: ``<class>/<AP2d|APbev|AP3d|AOS>_R40_moderate`` (strict IoU) and
    ``mean/<...>`` over the classes (NaN for an AP that could not be computed)."""
    metrics: dict[str, float] = {}
    for name, key in LOGGED_METRICS:
        values = []
        for cls in classes:
            value = result.get(cls, key, "moderate")
            number = math.nan if value is None else float(value)
            metrics[f"{cls}/{name}_R40_moderate"] = number
            values.append(number)
        finite = [v for v in values if math.isfinite(v)]
        metrics[f"mean/{name}_R40_moderate"] = sum(finite) / len(finite) if finite else math.nan
    return metrics


def detection_labels(
    detections: Detections, index: int, classes: Sequence[str], min_score: float = 0.0
) -> BoxesToDraw:
    """The valid detections of image ``index`` scoring at least ``min_score`` as boxes to
    draw, labelled ``class score``."""
    keep = detections.valid[index] & (detections.score[index] >= min_score)
    category = detections.category[index][keep]
    score = detections.score[index][keep]
    labels = [
        f"{classes[c - 1] if 1 <= c <= len(classes) else c} {s:.2f}"
        for c, s in zip(category.tolist(), score.tolist())
    ]
    return BoxesToDraw(
        bbox3d=detections.bbox3d[index][keep].float(),
        yaw=detections.yaw[index][keep].float(),
        category=category,
        labels=labels,
        score=score,
    )


def ground_truth_boxes(batch: Batch, index: int) -> BoxesToDraw:
    """The labelled objects (valid, not ignored) of image ``index`` of a batch, as thin boxes
    to draw, labelled with their class."""
    keep = batch.gt.objects[index]
    category = batch.gt.category[index, :, 0][keep]
    return BoxesToDraw(
        bbox3d=batch.gt.bbox3d[index][keep].float(),
        yaw=batch.gt.yaw[index, :, 0][keep].float(),
        category=category,
        labels=["" for _ in category.tolist()],
        ground_truth=True,
    )


def evaluate_detector(
    detector: nn.Module,
    dataset: KittiDataset,
    config: TrainConfig,
    out_dir: str | pathlib.Path,
    *,
    device: torch.device,
    draw_dir: str | pathlib.Path | None = None,
) -> dict[str, float]:
    """Predict ``dataset`` (``eval.max_images`` of it), write KITTI result files to
    ``out_dir/data``, score them and write ``metrics.txt`` / ``metrics.json``; with
    ``draw_dir`` also draw the first ``eval.draw`` images (:func:`draw_frame`: camera and
    bird's-eye views) with their labelled boxes (thin, unlabelled) and the detections scoring
    at least ``eval.draw_score_threshold`` (thick, ``class score``). Returns the
    metrics logged to the history (see :func:`metrics_of`)."""
    out_dir = pathlib.Path(out_dir)
    classes = tuple(config.classes)
    count = len(dataset)
    if config.eval.max_images is not None:
        count = min(count, config.eval.max_images)
    subset = Subset(dataset, range(count)) if count < len(dataset) else dataset
    frame_ids: list[str] = []
    dt_annos = []
    drawn = 0
    for batch, detections in predict_batches(
        detector, subset, batch_size=config.eval.batch_size, device=device
    ):
        write_kitti_results(out_dir / "data", detections, batch.frame_ids, classes)
        dt_annos += detections_to_annos(detections, classes)
        frame_ids += batch.frame_ids
        if draw_dir is not None:
            for index, frame_id in enumerate(batch.frame_ids):
                if drawn >= config.eval.draw:
                    break
                pathlib.Path(draw_dir).mkdir(parents=True, exist_ok=True)
                h, w = batch.images.image_size[index].tolist()
                drawn_image = draw_frame(
                    to_pil(batch.images.images[index, :, :h, :w]),
                    batch.images.calib[index],
                    labelled=ground_truth_boxes(batch, index),
                    detections=detection_labels(detections, index, classes),
                    classes=classes,
                    score_thresh=config.eval.draw_score_threshold,
                )
                drawn_image.save(pathlib.Path(draw_dir) / f"{frame_id}.png")
                drawn += 1
    gt_annos = [
        read_label_file(dataset.frames.label_path(frame_id), with_score=False)
        for frame_id in frame_ids
    ]
    result = evaluate(gt_annos, dt_annos, classes=classes)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "metrics.txt").write_text(result.table() + "\n")
    (out_dir / "metrics.json").write_text(result.to_json() + "\n")
    return metrics_of(result, classes)
