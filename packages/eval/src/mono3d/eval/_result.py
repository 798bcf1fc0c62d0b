"""The evaluation result: APs by setting, interpolation, class, metric and difficulty."""

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._matching import Curves
from ._settings import DIFFICULTIES, INTERPOLATIONS, MATCHED_METRICS, METRICS, SETTINGS

#: setting -> interpolation -> class -> metric -> difficulty -> AP in percent (None: AOS off)
APTable = dict[str, dict[str, dict[str, dict[str, dict[str, float | None]]]]]


@dataclass(frozen=True)
class EvalResult:
    """KITTI APs in percent (0-100).

    ``ap[setting][interpolation][class][metric][difficulty]`` with setting "strict"/"loose",
    interpolation "R40"/"R11", metric "bbox"/"bev"/"3d"/"aos" and difficulty
    "easy"/"moderate"/"hard". AOS is None when some detection has an unknown alpha (-10),
    as the devkit then skips it. ``curves[(setting, class, metric, difficulty)]`` holds the
    sampled precision/AOS curves and counts behind each number ("aos" lives in "bbox").
    """

    ap: APTable
    classes: tuple[str, ...]
    iou_thresholds: Mapping[str, Mapping[str, Mapping[str, float]]]
    num_frames: int
    curves: Mapping[tuple[str, str, str, str], Curves] = field(repr=False, compare=False)

    def get(
        self,
        cls: str,
        metric: str,
        difficulty: str = "moderate",
        *,
        interpolation: str = "R40",
        loose: bool = False,
    ) -> float | None:
        """One AP, e.g. ``result.get("Car", "3d")`` (moderate, R40, strict IoU)."""
        return self.ap["loose" if loose else "strict"][interpolation][cls][metric][difficulty]

    def to_dict(self) -> dict[str, Any]:
        """The JSON layout: ``{"R40": {cls: {metric: {difficulty: AP}}}, "R11": ..., "loose":
        {"R40": ..., "R11": ...}}`` (strict IoU at the top level)."""
        out: dict[str, Any] = {interp: self.ap["strict"][interp] for interp in INTERPOLATIONS}
        out["loose"] = {interp: self.ap["loose"][interp] for interp in INTERPOLATIONS}
        return json.loads(json.dumps(out))  # a deep, plain copy

    def to_json(self, indent: int | None = 2) -> str:
        """:meth:`to_dict` as JSON text (AOS that was not computed is ``null``)."""
        return json.dumps(self.to_dict(), indent=indent)

    def table(self) -> str:
        """A readable table: one block per setting, rows class x metric, columns
        easy/moderate/hard for R40 then R11."""
        diffs = [d.name for d in DIFFICULTIES]
        name_w = max([len("class"), *(len(c) for c in self.classes)]) + 2
        head_cells = [f"{d[:8]:>8}" for d in diffs]
        lines = [f"KITTI object evaluation, {self.num_frames} frames, AP in percent"]
        for setting in SETTINGS:
            per_metric = self.iou_thresholds[setting]
            ious = ", ".join(
                f"{cls} " + "/".join(f"{per_metric[m][cls]:.2f}" for m in MATCHED_METRICS)
                for cls in self.classes
            )
            lines.append("")
            lines.append(f"{setting} IoU (bbox/bev/3d): {ious}")
            lines.append(f"{'':{name_w}}{'':7}{'R40':^{9 * len(diffs)}}  {'R11':^{9 * len(diffs)}}")
            lines.append(
                f"{'class':<{name_w}}{'metric':<7}"
                + " ".join(head_cells)
                + "   "
                + " ".join(head_cells)
            )
            for cls in self.classes:
                for k, metric in enumerate(METRICS):
                    label = cls if k == 0 else ""
                    cells = []
                    for interp in INTERPOLATIONS:
                        row = self.ap[setting][interp][cls][metric]
                        cells.append(" ".join(_cell(row[d]) for d in diffs))
                    lines.append(f"{label:<{name_w}}{metric:<7}" + "   ".join(cells))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


def _cell(value: float | None) -> str:
    return f"{'-':>8}" if value is None else f"{value:8.2f}"
