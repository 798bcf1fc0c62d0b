"""``mono3d demo``: synthesise a small dataset, train on the CPU for a few minutes, evaluate,
draw predictions, and check that the loss went down.

Everything lands in ``OUT``: ``OUT/data`` (the synthetic KITTI-format dataset) and
``OUT/run`` (history.jsonl/.csv, history.png, metrics.txt, predictions/*.png,
checkpoint.pt, config.yaml, eval/).
"""

import dataclasses
import json
import math
import pathlib
from collections.abc import Sequence

from mono3d.data.synthetic import SceneGenerator
from mono3d.detector import apply_overrides, read_mapping, validate_config
from mono3d.logger import TrainRecord, read_history

from ._config import TrainConfig
from ._presets import preset_path

__all__ = [
    "DEMO_AIMS",
    "DEMO_CONFIG",
    "DEMO_STEPS",
    "DemoVerdict",
    "demo_config",
    "demo_verdict",
    "loss_decrease",
    "synthesise",
]

#: the preset the demo trains (the packaged copy of configs/synthetic.yaml)
DEMO_CONFIG = "synthetic"
#: the demo's training steps (the preset's cosine schedule is stretched over these): the
#: whole demo took 6 minutes on two idle cores of an Intel Xeon with AMX, and 15 on an AMD
#: EPYC before the CPU RoIAlign gather (BENCHMARKS.md, 8.5)
DEMO_STEPS = 1200
#: what the demo must reach on its own validation frames: (label, metric, loose IoU, aim) of
#: Car, moderate, R40 (loose: the 0.5 IoU of the devkit's second setting)
DEMO_AIMS: tuple[tuple[str, str, bool, float], ...] = (
    ("AP2D@0.7", "bbox", False, 50.0),
    ("AP3D@0.5", "3d", True, 10.0),
)


@dataclasses.dataclass(frozen=True)
class DemoVerdict:
    """The demo's verdict: ``ok`` when every aim of :data:`DEMO_AIMS` is reached; ``line``
    the one line that says so, with each AP and its aim; ``step`` the evaluated step."""

    ok: bool
    line: str
    step: int


def demo_verdict(run_dir: str | pathlib.Path) -> DemoVerdict:
    """The verdict on the last evaluation of ``run_dir`` (``eval/step_N/metrics.json``, the
    trainer's). Raises ``ValueError`` when the run was never evaluated."""
    found = sorted(pathlib.Path(run_dir).glob("eval/step_*/metrics.json"))
    if not found:
        raise ValueError(f"{run_dir}: no evaluation (eval/step_*/metrics.json) to judge")
    table = json.loads(found[-1].read_text(encoding="utf-8"))
    step = int(found[-1].parent.name.removeprefix("step_"))
    parts, ok = [], True
    for label, metric, loose, aim in DEMO_AIMS:
        rows = table["loose"]["R40"] if loose else table["R40"]
        value = rows.get("Car", {}).get(metric, {}).get("moderate")
        reached = value is not None and value >= aim
        ok = ok and reached
        shown = "n/a" if value is None else f"{value:.1f}"
        parts.append(f"{label} {shown} ({'>=' if reached else 'below'} {aim:g})")
    verdict = "OK" if ok else "FAILED"
    line = f"mono3d demo: {verdict}: Car moderate R40 at step {step}: " + ", ".join(parts)
    return DemoVerdict(ok=ok, line=line, step=step)


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


def loss_decrease(history: str | pathlib.Path, window: int = 100) -> tuple[float, float, int]:
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
