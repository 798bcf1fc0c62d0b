"""Inference from a checkpoint: KITTI result files and images with the 3D boxes drawn."""

import os
import pathlib
from collections.abc import Sequence

import torch
from torch import nn

from mono3d.data import (
    ClassMap,
    DataConfig,
    collate,
    labels_to_sample,
    read_image,
    read_kitti_calib,
    write_kitti_results,
)
from mono3d.detector import build_detector, validate_config

from ._checkpoint import CheckpointError, load_checkpoint
from ._config import TrainConfig
from ._draw import to_pil
from ._draw_frame import draw_frame
from ._evaluate import detection_labels
from ._precision import DEFAULT_AMP, Precision, resolve_precision

__all__ = ["PredictError", "find_calib", "load_detector", "predict_images"]

#: the most pixels an input image may have (``data.max_image_pixels``; written once there)
_MAX_IMAGE_PIXELS: int = DataConfig.model_fields["max_image_pixels"].default


class PredictError(ValueError):
    """Input images ``predict`` cannot take as given (e.g. two whose outputs would clash)."""


def _refuse_clashing_stems(paths: Sequence[pathlib.Path]) -> None:
    """:class:`PredictError` naming both files when two images share a stem (their result
    files ``data/<stem>.txt`` and drawings would overwrite each other)."""
    first: dict[str, pathlib.Path] = {}
    for path in paths:
        if path.stem in first:
            raise PredictError(
                f"{first[path.stem]} and {path}: both have frame id {path.stem!r}, so their "
                f"outputs (data/{path.stem}.txt, images/{path.stem}.png) would overwrite each "
                "other; predict them in separate runs (another --out)"
            )
        first[path.stem] = path


def load_detector(
    checkpoint: str | os.PathLike[str], device: torch.device | str = "cpu"
) -> tuple[nn.Module, TrainConfig]:
    """The detector of a training checkpoint (weights loaded, eval mode) and its run config."""
    state = load_checkpoint(checkpoint, map_location="cpu")
    try:
        config = validate_config(TrainConfig, state["config"], f"{checkpoint} (stored config)")
    except ValueError as error:
        raise CheckpointError(str(error)) from None
    detector = build_detector(config.model)
    try:
        detector.load_state_dict(state["model"])
    except RuntimeError as error:
        raise CheckpointError(
            f"{checkpoint}: model weights do not fit the config: {error}"
        ) from None
    return detector.to(device).eval(), config


def find_calib(image: pathlib.Path, calib: str | os.PathLike[str] | None = None) -> pathlib.Path:
    """``calib`` when given, else the KITTI layout's ``<image_2>/../calib/<id>.txt``."""
    if calib is not None:
        path = pathlib.Path(calib)
        if not path.is_file():
            raise FileNotFoundError(f"calib file not found: {path}")
        return path
    path = image.parent.parent / "calib" / f"{image.stem}.txt"
    if not path.is_file():
        raise FileNotFoundError(
            f"{image}: no calib file {path} (KITTI layout image_2/<id>.png + calib/<id>.txt); "
            "pass --calib FILE"
        )
    return path


def predict_images(
    detector: nn.Module,
    classes: Sequence[str],
    images: Sequence[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    *,
    calib: str | os.PathLike[str] | None = None,
    batch_size: int = 4,
    device: torch.device | str = "cpu",
    draw: bool = True,
    draw_threshold: float = 0.3,
    min_height: int = 375,
    precision: Precision | str = DEFAULT_AMP,
    max_image_pixels: int = _MAX_IMAGE_PIXELS,
) -> list[pathlib.Path]:
    """Run ``detector`` on image files; write ``out_dir/data/<id>.txt`` (KITTI results) and,
    with ``draw``, ``out_dir/images/<id>.png`` (:func:`draw_frame`: the boxes scoring at
    least ``draw_threshold`` projected, front face crossed, ``class score`` labels, beside a
    bird's-eye view, with a legend and a caption; images lower than ``min_height`` are
    enlarged for legibility).
    Each image's P2 comes from ``calib`` or its KITTI calib file. ``precision``: a resolved
    :class:`Precision` or a ``train.amp`` setting (default ``auto``: bf16 autocast +
    channels_last where ``device`` runs bf16 natively; the decoding stays float32).
    Images of more than ``max_image_pixels`` pixels are refused naming the file
    (:class:`mono3d.data.KittiFormatError`); two images of the same stem
    (:class:`PredictError`, both named) before anything is written.
    Returns the result files written."""
    paths = [pathlib.Path(p) for p in images]
    for path in paths:
        if not path.is_file():
            raise FileNotFoundError(f"image not found: {path}")
    _refuse_clashing_stems(paths)
    if isinstance(precision, str):
        precision = resolve_precision(precision, device, source="--precision")
    precision.prepare(detector)
    out = pathlib.Path(out_dir)
    class_map = ClassMap.build(tuple(classes))
    written: list[pathlib.Path] = []
    for start in range(0, len(paths), batch_size):
        chunk = paths[start : start + batch_size]
        samples = []
        for path in chunk:
            p2 = read_kitti_calib(find_calib(path, calib)).P2
            samples.append(
                labels_to_sample(
                    path.stem,
                    read_image(path, max_pixels=max_image_pixels),
                    torch.tensor(p2, dtype=torch.float32),
                    [],
                    class_map,
                )
            )
        batch = collate(samples)
        with torch.no_grad(), precision.autocast(torch.device(device).type):
            detections = detector.predict(batch.images.to(device)).to("cpu")  # type: ignore[operator]
        written += write_kitti_results(out / "data", detections, batch.frame_ids, tuple(classes))
        if draw:
            (out / "images").mkdir(parents=True, exist_ok=True)
            for index, sample in enumerate(samples):
                drawn = draw_frame(
                    to_pil(sample.image),
                    sample.calib,
                    detections=detection_labels(detections, index, tuple(classes)),
                    classes=tuple(classes),
                    score_thresh=draw_threshold,
                    min_height=min_height,
                )
                drawn.save(out / "images" / f"{sample.frame_id}.png")
    return written
