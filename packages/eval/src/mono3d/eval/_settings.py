"""The fixed parameters of the KITTI object benchmark (the devkit's evaluate_object.cpp).

Difficulties filter ground truth by 2D box height, occlusion and truncation; the IoU an
overlap must *exceed* depends on the class, the metric and the setting (strict or loose).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

# the classes evaluated by default (KITTI's object benchmark) are the model-wide vocabulary's
from mono3d.geometry import DEFAULT_CLASSES as DEFAULT_CLASSES


@dataclass(frozen=True)
class Difficulty:
    """One KITTI difficulty level.

    A ground-truth object counts at this level when its 2D box is taller than ``min_height``
    pixels (strictly: the devkit ignores ``height <= min_height``), its occlusion level is at
    most ``max_occlusion`` and its truncation at most ``max_truncation``; otherwise it is
    "ignored" (neither a miss nor a true positive). A detection whose 2D box is less than
    ``min_height`` pixels tall (after truncation to an integer, as the devkit does) is ignored.
    """

    name: str
    min_height: float
    max_occlusion: int
    max_truncation: float


#: easy, moderate, hard (KITTI's definition)
DIFFICULTIES: Final[tuple[Difficulty, ...]] = (
    Difficulty("easy", 40.0, 0, 0.15),
    Difficulty("moderate", 25.0, 1, 0.30),
    Difficulty("hard", 25.0, 2, 0.50),
)

#: the metrics, in report order; AOS comes out of the 2D-box matching
METRICS: Final[tuple[str, ...]] = ("bbox", "bev", "3d", "aos")

#: the metrics that have their own matching (AOS shares the 2D one)
MATCHED_METRICS: Final[tuple[str, ...]] = ("bbox", "bev", "3d")

#: the two interpolations: 40 recall positions (1/40..1) and the older 11 (0, 0.1, .., 1)
INTERPOLATIONS: Final[tuple[str, ...]] = ("R40", "R11")

#: recall positions sampled by the devkit (N_SAMPLE_PTS); R40 and R11 both read this curve
NUM_SAMPLE_POINTS: Final[int] = 41

#: neighbouring classes (lower case): ground truth of these is "ignored" for the key class,
#: so a detection on it is neither a true nor a false positive
DEFAULT_NEIGHBOURS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {"car": ("van",), "pedestrian": ("person_sitting",)}
)

#: the ground-truth type whose 2D boxes mark regions where detections are not counted
DONT_CARE: Final[str] = "dontcare"

_STRICT_CLASS_IOU = {
    "Car": 0.7,
    "Pedestrian": 0.5,
    "Cyclist": 0.5,
    "Van": 0.7,
    "Truck": 0.7,
    "Tram": 0.7,
    "Person_sitting": 0.5,
}
_LOOSE_CLASS_IOU = {
    "Car": 0.5,
    "Pedestrian": 0.25,
    "Cyclist": 0.25,
    "Van": 0.5,
    "Truck": 0.5,
    "Tram": 0.5,
    "Person_sitting": 0.25,
}

#: metric -> class -> minimum IoU (exceeded strictly) of the official benchmark
STRICT_IOU: Final[Mapping[str, Mapping[str, float]]] = MappingProxyType(
    {metric: MappingProxyType(dict(_STRICT_CLASS_IOU)) for metric in MATCHED_METRICS}
)
#: metric -> class -> minimum IoU of the "loose" setting mono3D papers also report
#: (applied to every metric; the 2D/AOS columns of mmdetection3d's loose line keep the strict
#: IoU instead: pass ``{"strict": STRICT_IOU, "loose": {"bbox": STRICT_IOU["bbox"], ...}}``)
LOOSE_IOU: Final[Mapping[str, Mapping[str, float]]] = MappingProxyType(
    {metric: MappingProxyType(dict(_LOOSE_CLASS_IOU)) for metric in MATCHED_METRICS}
)

#: the settings reported, in order
SETTINGS: Final[tuple[str, ...]] = ("strict", "loose")
DEFAULT_IOU: Final[Mapping[str, Mapping[str, Mapping[str, float]]]] = MappingProxyType(
    {"strict": STRICT_IOU, "loose": LOOSE_IOU}
)


def resolve_thresholds(
    iou_thresholds: Mapping[str, Mapping[str, Mapping[str, float]]], classes: tuple[str, ...]
) -> dict[str, dict[str, dict[str, float]]]:
    """setting -> metric -> class -> IoU for exactly ``classes``; class names match
    case-insensitively. Raises ``ValueError`` naming the missing or bad entry."""
    resolved: dict[str, dict[str, dict[str, float]]] = {}
    for setting in SETTINGS:
        if setting not in iou_thresholds:
            raise ValueError(f"iou_thresholds: missing setting {setting!r}")
        resolved[setting] = {}
        for metric in MATCHED_METRICS:
            per_class = iou_thresholds[setting].get(metric)
            if per_class is None:
                raise ValueError(f"iou_thresholds.{setting}: missing metric {metric!r}")
            lower = {name.lower(): float(value) for name, value in per_class.items()}
            resolved[setting][metric] = {}
            for cls in classes:
                if cls.lower() not in lower:
                    raise ValueError(
                        f"iou_thresholds.{setting}.{metric}: no IoU for class {cls!r} "
                        f"(known: {sorted(per_class)})"
                    )
                value = lower[cls.lower()]
                if not 0.0 < value < 1.0:
                    raise ValueError(
                        f"iou_thresholds.{setting}.{metric}.{cls}: must lie in (0, 1), got {value}"
                    )
                resolved[setting][metric][cls] = value
    return resolved
