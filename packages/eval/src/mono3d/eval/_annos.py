"""Per-frame annotation dicts ("annos"), their checking, and their flat concatenation.

An anno describes the objects of one frame with numpy arrays of a common length N:

=============  ==========  ==========================================================
key            shape       meaning
=============  ==========  ==========================================================
name           (N,) str    KITTI type: Car, Van, Pedestrian, Person_sitting, DontCare, ...
truncated      (N,) float  0 (in the image) .. 1 (leaving it); ground truth only
occluded       (N,) int    0 visible, 1 partly, 2 largely occluded, 3 unknown; ground truth only
alpha          (N,) float  observation angle, radians (-10 = unknown, as in KITTI files)
bbox           (N, 4)      2D box (x1, y1, x2, y2), pixels
dimensions     (N, 3)      (h, w, l), metres: the KITTI file order (not mmdet3d's l, h, w)
location       (N, 3)      (x, y, z) bottom-face centre in the camera frame, metres
rotation_y     (N,) float  yaw around the camera's y axis, radians
score          (N,) float  detection confidence; detections only
=============  ==========  ==========================================================

Detections need name, bbox, dimensions, location, rotation_y and score (alpha defaults to
-10, which switches AOS off as in the devkit); ground truth needs every key but score.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

_GT_KEYS = (
    "name",
    "truncated",
    "occluded",
    "alpha",
    "bbox",
    "dimensions",
    "location",
    "rotation_y",
)
_DT_KEYS = ("name", "bbox", "dimensions", "location", "rotation_y", "score")
_WIDTH = {"bbox": 4, "dimensions": 3, "location": 3}

#: KITTI's placeholder for an unknown observation angle
UNKNOWN_ALPHA = -10.0


def empty_anno(*, with_score: bool = True) -> dict[str, np.ndarray]:
    """An anno with no objects."""
    anno: dict[str, np.ndarray] = {
        "name": np.zeros(0, dtype="<U16"),
        "truncated": np.zeros(0),
        "occluded": np.zeros(0, dtype=np.int64),
        "alpha": np.zeros(0),
        "bbox": np.zeros((0, 4)),
        "dimensions": np.zeros((0, 3)),
        "location": np.zeros((0, 3)),
        "rotation_y": np.zeros(0),
    }
    if with_score:
        anno["score"] = np.zeros(0)
    return anno


def check_anno(anno: Mapping[str, Any], where: str, *, detections: bool) -> dict[str, np.ndarray]:
    """The anno as float64/int64/str arrays of one length; ``ValueError`` naming ``where``
    and the key when a key is missing, has the wrong shape or holds non-finite 2D boxes."""
    if not isinstance(anno, Mapping):
        raise ValueError(f"{where}: expected a dict of arrays, got {type(anno).__name__}")
    required = _DT_KEYS if detections else _GT_KEYS
    missing = [key for key in required if key not in anno]
    if missing:
        raise ValueError(f"{where}: missing key(s) {missing} (has {sorted(anno)})")
    names = np.asarray(anno["name"])
    if names.ndim != 1:
        raise ValueError(f"{where}: 'name' must be 1-D, got shape {names.shape}")
    n = names.shape[0]
    out: dict[str, np.ndarray] = {"name": names.astype(str)}
    defaults = {"alpha": UNKNOWN_ALPHA, "truncated": 0.0, "occluded": 0, "score": 0.0}
    for key in ("truncated", "occluded", "alpha", "rotation_y", "score", *_WIDTH):
        if key in anno:
            value = np.asarray(anno[key], dtype=np.float64)
        elif key in defaults and (detections or key == "score"):
            value = np.full(n, defaults[key], dtype=np.float64)
        else:  # pragma: no cover - excluded by the required keys
            raise ValueError(f"{where}: missing key {key!r}")
        expected = (n, _WIDTH[key]) if key in _WIDTH else (n,)
        if key in _WIDTH and value.size == 0:
            value = value.reshape(0, _WIDTH[key])
        if value.shape != expected:
            raise ValueError(
                f"{where}: {key!r} must have shape {expected} to match {n} names, got {value.shape}"
            )
        out[key] = value
    out["occluded"] = out["occluded"].astype(np.int64)
    if not np.isfinite(out["bbox"]).all():
        raise ValueError(f"{where}: 'bbox' holds non-finite values")
    if detections and not np.isfinite(out["score"]).all():
        raise ValueError(f"{where}: 'score' holds non-finite values")
    return out


@dataclass(frozen=True)
class Objects:
    """The objects of every frame, concatenated frame after frame (file order kept).

    frame (M,) int64 frame index; name (M,) lower-case type; bbox (M, 4); box7 (M, 7)
    (x, y, z, h, w, l, ry) for geometry's rotated IoU; alpha, truncated, score (M,) float64;
    occluded (M,) int64. ``num_frames`` counts frames with no object too.
    """

    num_frames: int
    frame: np.ndarray
    name: np.ndarray
    bbox: np.ndarray
    box7: np.ndarray
    alpha: np.ndarray
    truncated: np.ndarray
    occluded: np.ndarray
    score: np.ndarray

    @classmethod
    def from_annos(
        cls, annos: Sequence[Mapping[str, Any]], what: str, *, detections: bool
    ) -> "Objects":
        checked = [
            check_anno(a, f"{what}[{i}]", detections=detections) for i, a in enumerate(annos)
        ]
        if not checked:
            checked_all = empty_anno(with_score=True)
            counts = np.zeros(0, dtype=np.int64)
        else:
            checked_all = {key: np.concatenate([c[key] for c in checked]) for key in checked[0]}
            counts = np.array([c["name"].shape[0] for c in checked], dtype=np.int64)
        box7 = np.concatenate(
            [
                checked_all["location"],
                checked_all["dimensions"],
                checked_all["rotation_y"][:, None],
            ],
            axis=1,
        )
        return cls(
            num_frames=len(checked),
            frame=np.repeat(np.arange(len(checked), dtype=np.int64), counts),
            name=_lower(checked_all["name"]),
            bbox=checked_all["bbox"],
            box7=box7,
            alpha=checked_all["alpha"],
            truncated=checked_all["truncated"],
            occluded=checked_all["occluded"],
            score=checked_all["score"],
        )

    def __len__(self) -> int:
        return int(self.frame.shape[0])

    def take(self, rows: np.ndarray) -> "Objects":
        """The objects at ``rows`` (kept in the given order)."""
        return Objects(
            num_frames=self.num_frames,
            frame=self.frame[rows],
            name=self.name[rows],
            bbox=self.bbox[rows],
            box7=self.box7[rows],
            alpha=self.alpha[rows],
            truncated=self.truncated[rows],
            occluded=self.occluded[rows],
            score=self.score[rows],
        )

    def height(self) -> np.ndarray:
        """2D box height y2 - y1, pixels."""
        return self.bbox[:, 3] - self.bbox[:, 1]


def _lower(names: np.ndarray) -> np.ndarray:
    """Lower-case names (through the few distinct ones: fast for long arrays)."""
    distinct, inverse = np.unique(names.astype(str), return_inverse=True)
    return np.char.lower(distinct)[inverse.reshape(-1)]


def padded_index(frame: np.ndarray, num_frames: int) -> tuple[np.ndarray, int]:
    """For rows sorted by frame: each row's slot within its frame, and the largest count."""
    if frame.size == 0:
        return np.zeros(0, dtype=np.int64), 0
    counts = np.bincount(frame, minlength=num_frames)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    slot = np.arange(frame.size, dtype=np.int64) - starts[frame]
    return slot, int(counts.max())
