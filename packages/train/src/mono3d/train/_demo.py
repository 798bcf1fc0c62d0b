"""``mono3d demo``: synthesise a small dataset, train on the CPU for a few minutes, evaluate,
draw predictions, and check that the loss went down.

Everything lands in ``OUT``: ``OUT/data`` (the synthetic KITTI-format dataset) and
``OUT/run`` (history.jsonl/.csv, history.png, metrics.txt, predictions/*.png,
checkpoint.pt, config.yaml, eval/).
"""

import math
import pathlib
from collections.abc import Sequence

from mono3d.data.synthetic import SceneGenerator
from mono3d.detector import apply_overrides, read_mapping, validate_config
from mono3d.logger import TrainRecord, read_history

from ._config import TrainConfig
from ._presets import preset_path

__all__ = ["DEMO_CONFIG", "demo_config", "loss_decrease", "synthesise"]

#: the preset the demo trains (the packaged copy of configs/synthetic.yaml)
DEMO_CONFIG = "synthetic"


def synthesise(
    out: str | pathlib.Path,
    num_frames: int,
    *,
    seed: int = 0,
    val_fraction: float = 0.2,
    image_size: tuple[int, int] | None = None,
    max_objects: int | None = None,
) -> tuple[str, ...]:
    """Write ``num_frames`` synthetic KITTI-format frames to ``out`` (``training/`` and
    ``ImageSets/{train,val,trainval}.txt``). Returns the frame ids."""
    options: dict[str, object] = {}
    if image_size is not None:
        options["image_size"] = tuple(image_size)
    if max_objects is not None:
        options["max_objects"] = max_objects
    generator = SceneGenerator(**options)  # type: ignore[arg-type]
    return generator.write_dataset(out, num_frames, seed=seed, val_fraction=val_fraction)


def demo_config(overrides: Sequence[str] = ()) -> TrainConfig:
    """The ``synthetic`` preset (identical to the repository's configs/synthetic.yaml) with
    ``overrides`` applied."""
    with preset_path(DEMO_CONFIG) as path:
        data = read_mapping(path)
    return validate_config(TrainConfig, apply_overrides(data, list(overrides)), DEMO_CONFIG)


def loss_decrease(
    history: str | pathlib.Path, window: int = 100
) -> tuple[float, float, int]:
    """(mean total loss of the first ``window`` train steps, of the last ``window``, window
    used). With fewer than ``2 * window`` steps the window shrinks to a quarter of them.
    Non-finite losses are left out of the means."""
    records = [r for r in read_history(history) if isinstance(r, TrainRecord)]
    totals = [r.losses.get("total", math.nan) for r in records]
    if len(totals) < 8:
        raise ValueError(f"{history}: only {len(totals)} training steps; too few to compare")
    used = window if len(totals) >= 2 * window else max(2, len(totals) // 4)

    def mean(values: list[float]) -> float:
        finite = [v for v in values if math.isfinite(v)]
        return sum(finite) / len(finite) if finite else math.nan

    return mean(totals[:used]), mean(totals[-used:]), used
