"""``mono3d export``: a training checkpoint's detector as a ``torch.export`` program or ONNX.

The exported model takes plain tensors of fixed shapes (``--batch-size`` b, ``--image-size``
H W) and returns plain tensors (:data:`mono3d.detector.EXPORT_INPUTS` /
:data:`~mono3d.detector.EXPORT_OUTPUTS`, documented in the train README):

    images (b, 3, H, W) float32, calib (b, 3, 4) float32, image_size (b, 2) int64
    -> bbox2d, score, category, bbox3d, yaw, alpha, valid   (K detections per image)

Files: ``pt2`` is :func:`torch.export.save` (load with :func:`torch.export.load` after
``import torchvision``, whose ``nms`` and ``roi_align`` ops the program calls); ``onnx`` is an
ONNX model (opset 18, ``NonMaxSuppression`` + ``RoiAlign``) written by the dynamo-based
``torch.onnx.export``, which needs ``onnx`` and ``onnxscript`` (``pip install
'mono3d-train[onnx]'``). Both carry the classes and shapes as metadata (``mono3d.json``).

After writing, the file is loaded back and run on one fixed random batch; its detections are
compared with the eager detector's (:func:`check_against_eager`).
"""

import json
import logging
import math
import os
import pathlib
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from mono3d.contracts import IMAGE_STRIDE
from mono3d.detector import EXPORT_INPUTS, EXPORT_OUTPUTS, DetectorForExport

from ._predict import load_detector

__all__ = [
    "FORMATS",
    "ExportCheck",
    "ExportError",
    "ExportResult",
    "check_against_eager",
    "example_inputs",
    "export_checkpoint",
    "parse_image_size",
]

#: the formats ``mono3d export`` writes, and their file suffixes
FORMATS: dict[str, str] = {"pt2": ".pt2", "onnx": ".onnx"}
#: ONNX opset of the exported model (the dynamo exporter's default)
ONNX_OPSET = 18
#: tolerances of the exported detections against the eager ones: (rtol, atol) per format;
#: ONNX Runtime's RoiAlign and convolutions round differently from PyTorch's
TOLERANCES: dict[str, tuple[float, float]] = {"pt2": (1e-5, 1e-4), "onnx": (1e-3, 1e-2)}


class ExportError(ValueError):
    """A bad ``mono3d export`` request (format, image size, batch size, missing extra)."""


@dataclass(frozen=True)
class ExportCheck:
    """The exported file run on :func:`example_inputs` against the eager detector."""

    detections: int  # valid detections in the batch (eager)
    max_abs_diff: float  # over the float outputs; inf when valid/category differ
    matches: bool  # within TOLERANCES[format], same valid rows and categories
    ran: bool = True  # False: the runtime is not installed (onnxruntime), nothing compared


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export_checkpoint` wrote."""

    path: pathlib.Path
    format: str
    seconds: float
    check: ExportCheck | None


def parse_image_size(values: Sequence[str]) -> tuple[int, int]:
    """``--image-size H W`` -> (H, W): positive integers, multiples of 32 (the backbone's
    stride; pad images bottom/right and pass their real size as ``image_size``)."""
    shown = " ".join(values)
    if len(values) != 2:
        raise ExportError(f"--image-size: expected two integers H W, got {shown!r}")
    try:
        h, w = (int(v) for v in values)
    except ValueError:
        raise ExportError(f"--image-size: expected two integers H W, got {shown!r}") from None
    if h <= 0 or w <= 0 or h % IMAGE_STRIDE or w % IMAGE_STRIDE:
        raise ExportError(
            f"--image-size: H and W must be positive multiples of {IMAGE_STRIDE}, got {h} {w}"
        )
    return h, w


def check_format(name: str) -> str:
    """The format ``name`` if mono3d exports it, else :class:`ExportError`."""
    if name not in FORMATS:
        raise ExportError(f"--format: expected one of {', '.join(FORMATS)}, got {name!r}")
    return name


def example_inputs(batch_size: int, height: int, width: int) -> tuple[Tensor, Tensor, Tensor]:
    """A fixed random batch (seed 0) with a KITTI P2 scaled to the width: the export's
    example and the check's input. (images (b,3,H,W), calib (b,3,4), image_size (b,2))."""
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(batch_size, 3, height, width, generator=generator)
    scale = width / 1242.0
    p2 = torch.tensor(
        [
            [721.5377, 0.0, 609.5593, 44.85728],
            [0.0, 721.5377, 172.854, 0.2163791],
            [0.0, 0.0, 1.0, 0.002745884],
        ]
    )
    p2[:2] *= scale
    calib = p2.expand(batch_size, 3, 4).clone()
    image_size = torch.tensor([[height, width]]).expand(batch_size, 2).clone()
    return images, calib, image_size


def _metadata(classes: Sequence[str], inputs: tuple[Tensor, ...], fmt: str) -> str:
    return json.dumps(
        {
            "format": fmt,
            "classes": list(classes),
            "inputs": [
                {
                    "name": name,
                    "shape": list(t.shape),
                    "dtype": str(t.dtype).removeprefix("torch."),
                    "meaning": meaning,
                }
                for (name, meaning), t in zip(EXPORT_INPUTS, inputs)
            ],
            "outputs": [{"name": name, "meaning": meaning} for name, meaning in EXPORT_OUTPUTS],
        }
    )


def _require_onnx() -> None:
    missing = [m for m in ("onnx", "onnxscript") if not _importable(m)]
    if missing:
        raise ExportError(
            f"--format onnx needs {' and '.join(missing)}: pip install 'mono3d-train[onnx]'"
        )


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _save_onnx(
    program: torch.export.ExportedProgram,
    inputs: tuple[Tensor, ...],
    path: pathlib.Path,
    metadata: str,
) -> None:
    import onnx

    # onnx_ir logs a warning per empty attribute list it types as INTS: exporter chatter
    ir_logger = logging.getLogger("onnx_ir")
    level = ir_logger.level
    ir_logger.setLevel(logging.ERROR)
    try:
        onnx_program = torch.onnx.export(
            program,
            inputs,
            dynamo=True,
            input_names=[name for name, _ in EXPORT_INPUTS],
            output_names=[name for name, _ in EXPORT_OUTPUTS],
            opset_version=ONNX_OPSET,
            verbose=False,
        )
    finally:
        ir_logger.setLevel(level)
    if onnx_program is None:  # pragma: no cover - dynamo=True always returns a program
        raise ExportError("torch.onnx.export returned no program")
    onnx_program.save(str(path))
    model = onnx.load(str(path), load_external_data=False)
    onnx.helper.set_model_props(model, {"mono3d.json": metadata})
    onnx.save(model, str(path))


def _run_file(path: pathlib.Path, fmt: str, inputs: tuple[Tensor, ...]) -> list[Tensor] | None:
    """The saved file's outputs on ``inputs``; None when its runtime is not installed."""
    if fmt == "pt2":
        program = torch.export.load(str(path))
        with torch.no_grad():
            return list(program.module()(*inputs))
    if not _importable("onnxruntime"):
        return None
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {name: t.numpy() for (name, _), t in zip(EXPORT_INPUTS, inputs)}
    return [torch.from_numpy(array) for array in session.run(None, feeds)]


def check_against_eager(
    eager: Sequence[Tensor], exported: Sequence[Tensor] | None, fmt: str
) -> ExportCheck:
    """Compare the exported outputs with the eager ones (order: EXPORT_OUTPUTS): the same
    ``valid`` rows and categories, the float fields within ``TOLERANCES[fmt]``."""
    names = [name for name, _ in EXPORT_OUTPUTS]
    valid = eager[names.index("valid")]
    if exported is None:
        return ExportCheck(int(valid.sum()), math.nan, False, ran=False)
    rtol, atol = TOLERANCES[fmt]
    worst, matches = 0.0, len(exported) == len(eager)
    for a, b in zip(eager, exported):
        if a.shape != b.shape:
            return ExportCheck(int(valid.sum()), math.inf, False)
        if not a.is_floating_point():
            if not torch.equal(a, b.to(a.dtype)):
                return ExportCheck(int(valid.sum()), math.inf, False)
            continue
        diff = (a.double() - b.double()).abs()
        worst = max(worst, float(diff.max()) if diff.numel() else 0.0)
        matches &= bool((diff <= atol + rtol * a.double().abs()).all())
    return ExportCheck(int(valid.sum()), worst, matches)


def export_checkpoint(
    checkpoint: str | os.PathLike[str],
    *,
    fmt: str,
    image_size: tuple[int, int],
    out: str | os.PathLike[str] | None = None,
    batch_size: int = 1,
    check: bool = True,
) -> ExportResult:
    """Export the detector of ``checkpoint`` (eval mode, CPU, float32) for inputs of batch
    ``batch_size`` and padded size ``image_size``; write ``out`` (default: next to the
    checkpoint, ``<stem>-<H>x<W>.<format>``) and, with ``check``, run the written file
    against the eager detector. Bad requests raise :class:`ExportError`, unreadable
    checkpoints :class:`~mono3d.train.CheckpointError`."""
    check_format(fmt)
    if batch_size < 1:
        raise ExportError(f"--batch-size: must be at least 1, got {batch_size}")
    if fmt == "onnx":
        _require_onnx()
    source = pathlib.Path(checkpoint)
    h, w = image_size
    path = (
        pathlib.Path(out)
        if out is not None
        else source.with_name(f"{source.stem}-{h}x{w}{FORMATS[fmt]}")
    )
    detector, config = load_detector(source, "cpu")
    model = DetectorForExport(detector).eval()  # type: ignore[arg-type]
    inputs = example_inputs(batch_size, h, w)
    metadata = _metadata(config.classes, inputs, fmt)
    path.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torchvision's fake nms kernel
        warnings.simplefilter("ignore", DeprecationWarning)
        program = torch.export.export(model, inputs, strict=False)
        if fmt == "pt2":
            torch.export.save(program, str(path), extra_files={"mono3d.json": metadata})
        else:
            _save_onnx(program, inputs, path, metadata)
        seconds = time.perf_counter() - start
        result = None
        if check:
            eager = list(model(*inputs))
            result = check_against_eager(eager, _run_file(path, fmt, inputs), fmt)
    return ExportResult(path=path, format=fmt, seconds=seconds, check=result)
