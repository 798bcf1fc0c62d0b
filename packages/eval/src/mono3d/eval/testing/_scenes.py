"""Seeded synthetic scenes: ground truth laid out like KITTI, detections derived from it.

Objects stand on the ground (y about 1.65 m) in front of a KITTI-like camera; their 2D box is
the projection of the 3D box, clipped to a 375x1242 image, so 2D heights, and thus the
difficulties, vary with depth as in the real data.
"""

from collections.abc import Mapping

import numpy as np

#: a typical KITTI P2 (3x4)
KITTI_P2 = np.array(
    [
        [721.5377, 0.0, 609.5593, 44.85728],
        [0.0, 721.5377, 172.854, 0.2163791],
        [0.0, 0.0, 1.0, 0.002745884],
    ]
)
_IMAGE_HW = (375.0, 1242.0)
#: type -> (h, w, l) mean size in metres, and sampling weight
_TYPES = {
    "Car": ((1.53, 1.63, 3.88), 0.45),
    "Pedestrian": ((1.76, 0.66, 0.84), 0.2),
    "Cyclist": ((1.74, 0.60, 1.76), 0.12),
    "Van": ((2.2, 1.9, 5.1), 0.08),
    "Person_sitting": ((1.2, 0.6, 0.8), 0.05),
    "Truck": ((3.2, 2.5, 10.0), 0.05),
}
_DONT_CARE_RATE = 0.05


def _project_boxes(
    dimensions: np.ndarray, location: np.ndarray, rotation_y: np.ndarray
) -> np.ndarray:
    """2D boxes [N 4] enclosing the projected corners, clipped to the image."""
    height, width, length = dimensions[:, 0:1], dimensions[:, 1:2], dimensions[:, 2:3]
    sx = np.array([1, 1, -1, -1, 1, 1, -1, -1]) * 0.5
    sz = np.array([1, -1, -1, 1, 1, -1, -1, 1]) * 0.5
    sy = np.array([0, 0, 0, 0, -1, -1, -1, -1])
    lx, lz, ly = length * sx, width * sz, height * sy
    cos, sin = np.cos(rotation_y)[:, None], np.sin(rotation_y)[:, None]
    x = cos * lx + sin * lz + location[:, 0:1]
    z = -sin * lx + cos * lz + location[:, 2:3]
    y = ly + location[:, 1:2]
    points = np.stack([x, y, z, np.ones_like(x)], axis=-1) @ KITTI_P2.T  # N 8 3
    depth = np.maximum(points[..., 2], 0.1)
    u, v = points[..., 0] / depth, points[..., 1] / depth
    boxes = np.stack([u.min(1), v.min(1), u.max(1), v.max(1)], axis=1)
    boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0.0, _IMAGE_HW[1] - 1)
    boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0.0, _IMAGE_HW[0] - 1)
    return boxes


def _frame(
    rng: np.random.Generator, count: int, mix: Mapping[str, float] | None = None
) -> dict[str, np.ndarray]:
    names = list(_TYPES)
    weights = np.array([_TYPES[n][1] if mix is None else mix.get(n, 0.0) for n in names])
    kind = rng.choice(len(names), size=count, p=weights / weights.sum())
    name = np.array(names, dtype="<U16")[kind]
    mean = np.array([_TYPES[n][0] for n in names]).reshape(-1, 3)[kind]
    dimensions = mean * np.exp(rng.normal(0.0, 0.08, size=(count, 3)))
    z = rng.uniform(4.0, 60.0, size=count)
    x = rng.uniform(-0.55, 0.55, size=count) * z + rng.normal(0.0, 1.0, size=count)
    y = 1.65 + rng.normal(0.0, 0.1, size=count)
    location = np.stack([x, y, z], axis=1)
    rotation_y = rng.uniform(-np.pi, np.pi, size=count)
    alpha = np.arctan2(np.sin(rotation_y - np.arctan2(x, z)), np.cos(rotation_y - np.arctan2(x, z)))
    bbox = _project_boxes(dimensions, location, rotation_y)
    truncated = rng.choice([0.0, 0.0, 0.0, 0.1, 0.25, 0.4, 0.7], size=count)
    occluded = rng.choice([0, 0, 0, 1, 1, 2, 3], size=count)
    dont_care = rng.random(count) < _DONT_CARE_RATE
    name[dont_care] = "DontCare"
    dimensions[dont_care], location[dont_care] = -1.0, -1000.0
    rotation_y[dont_care], alpha[dont_care] = -10.0, -10.0
    truncated[dont_care], occluded[dont_care] = -1.0, -1
    return {
        "name": name,
        "truncated": truncated,
        "occluded": occluded.astype(np.int64),
        "alpha": alpha,
        "bbox": bbox,
        "dimensions": dimensions,
        "location": location,
        "rotation_y": rotation_y,
    }


def _split(flat: dict[str, np.ndarray], counts: np.ndarray) -> list[dict[str, np.ndarray]]:
    edges = np.cumsum(counts)[:-1]
    parts = {k: np.split(v, edges) for k, v in flat.items()}
    return [{k: parts[k][f] for k in flat} for f in range(len(counts))]


def _concat(annos: list[dict[str, np.ndarray]]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    counts = np.array([len(a["name"]) for a in annos], dtype=np.int64)
    return {k: np.concatenate([a[k] for a in annos]) for k in annos[0]}, counts


def synthetic_ground_truth(
    num_frames: int,
    *,
    objects_per_frame: float = 7.5,
    seed: int = 0,
    mix: Mapping[str, float] | None = None,
) -> list[dict[str, np.ndarray]]:
    """``num_frames`` ground-truth annos with Poisson(objects_per_frame) objects each (fewer
    after removing objects that would intersect an earlier one). ``mix``: relative frequency
    of each type among Car, Pedestrian, Cyclist, Van, Person_sitting, Truck (default roughly
    KITTI's); about 5% become DontCare regions."""
    unknown = set(mix or ()) - set(_TYPES)
    if unknown:
        raise ValueError(f"mix: unknown types {sorted(unknown)} (known: {list(_TYPES)})")
    rng = np.random.default_rng(seed)
    counts = rng.poisson(objects_per_frame, size=num_frames)
    flat = _frame(rng, int(counts.sum()), mix)
    keep = _no_collision(flat, counts)
    return _split(
        {k: v[keep] for k, v in flat.items()},
        np.bincount(np.repeat(np.arange(num_frames), counts)[keep], minlength=num_frames),
    )


def _no_collision(flat: dict[str, np.ndarray], counts: np.ndarray) -> np.ndarray:
    """Bool [M]: objects whose footprint circle meets no earlier object's of the frame (real
    objects do not intersect; DontCare placeholders never collide)."""
    frame = np.repeat(np.arange(counts.size), counts)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    slot = np.arange(frame.size) - first[frame]
    width = int(counts.max()) if counts.size else 0
    x = np.full((counts.size, width), np.nan)
    z, r = x.copy(), x.copy()
    x[frame, slot] = flat["location"][:, 0]
    z[frame, slot] = flat["location"][:, 2]
    r[frame, slot] = 0.5 * np.hypot(flat["dimensions"][:, 1], flat["dimensions"][:, 2])
    r[frame, slot] = np.where(np.char.lower(flat["name"]) == "dontcare", np.nan, r[frame, slot])
    gap = np.hypot(x[:, :, None] - x[:, None, :], z[:, :, None] - z[:, None, :])
    with np.errstate(invalid="ignore"):
        hit = gap < r[:, :, None] + r[:, None, :]
    earlier = np.tril(np.ones((width, width), dtype=bool), k=-1)  # [j, i]: i < j
    return ~(hit & earlier).any(axis=2)[frame, slot]


def jitter_annos(
    gt_annos: list[dict[str, np.ndarray]],
    scale: float,
    *,
    seed: int = 0,
    keep: float = 1.0,
) -> list[dict[str, np.ndarray]]:
    """Detections copied from the ground truth (DontCare dropped) with noise growing
    linearly with ``scale``: for one seed the noise direction of every object is fixed, so a
    larger scale moves every box further from its truth. ``keep`` is the fraction of objects
    detected. Scores are drawn independently of the noise."""
    if not gt_annos:
        return []
    rng = np.random.default_rng(seed)
    gt, counts = _concat(gt_annos)
    frame = np.repeat(np.arange(len(gt_annos)), counts)
    n = frame.size
    unit_loc = rng.normal(size=(n, 3)) * np.array([0.25, 0.1, 0.8])
    unit_dim = rng.normal(size=(n, 3)) * 0.06
    unit_ry = rng.normal(size=n) * 0.15
    unit_box = rng.normal(size=(n, 4)) * 4.0
    score = rng.uniform(0.05, 1.0, size=n)
    kept = (rng.random(n) < keep) & (np.char.lower(gt["name"].astype(str)) != "dontcare")
    bbox = gt["bbox"] + scale * unit_box
    bbox[:, 2] = np.maximum(bbox[:, 2], bbox[:, 0] + 1.0)
    bbox[:, 3] = np.maximum(bbox[:, 3], bbox[:, 1] + 1.0)
    det = {
        "name": gt["name"],
        "truncated": np.zeros(n),
        "occluded": np.zeros(n, dtype=np.int64),
        "alpha": gt["alpha"] + scale * unit_ry,
        "bbox": bbox,
        "dimensions": gt["dimensions"] * np.exp(scale * unit_dim),
        "location": gt["location"] + scale * unit_loc,
        "rotation_y": gt["rotation_y"] + scale * unit_ry,
        "score": score,
    }
    det = {k: v[kept] for k, v in det.items()}
    return _split(det, np.bincount(frame[kept], minlength=len(gt_annos)))


def synthetic_dataset(
    num_frames: int,
    *,
    objects_per_frame: float = 7.5,
    dets_per_frame: int = 100,
    seed: int = 0,
) -> tuple[list[dict[str, np.ndarray]], list[dict[str, np.ndarray]]]:
    """(ground truth, detections) with ``dets_per_frame`` detections per frame: a noisy copy
    of most objects (higher scores) and, for the rest, false positives on the objects
    (duplicates, wrong classes and sizes) and scattered in the scene (lower scores), like a
    detector's top-K output."""
    rng = np.random.default_rng(seed + 1)
    gt_annos = synthetic_ground_truth(num_frames, objects_per_frame=objects_per_frame, seed=seed)
    hits = jitter_annos(gt_annos, 0.5, seed=seed + 2, keep=0.85)
    for h in hits:
        h["score"] = 0.3 + 0.7 * h["score"]
    counts = np.array([max(0, dets_per_frame - len(h["name"])) for h in hits], dtype=np.int64)
    total = int(counts.sum())
    clutter = _frame(rng, total)
    clutter["name"] = rng.choice(["Car", "Pedestrian", "Cyclist"], size=total, p=[0.6, 0.25, 0.15])
    # half the clutter sits on a real object of its frame, the rest anywhere
    gt, gt_counts = _concat(gt_annos)
    real = np.char.lower(gt["name"].astype(str)) != "dontcare"
    frame = np.repeat(np.arange(num_frames), counts)
    first = np.concatenate([[0], np.cumsum(gt_counts)[:-1]])
    pick = first[frame] + (rng.random(total) * np.maximum(gt_counts[frame], 1)).astype(np.int64)
    near = (rng.random(total) < 0.5) & (gt_counts[frame] > 0)
    near &= real[np.minimum(pick, max(len(real) - 1, 0))] if len(real) else near
    source = pick[near]
    shift = rng.normal(size=(int(near.sum()), 3)) * np.array([0.8, 0.2, 2.0])
    clutter["location"][near] = gt["location"][source] + shift
    clutter["rotation_y"][near] = gt["rotation_y"][source] + rng.normal(0.0, 0.5, size=len(source))
    # undo the DontCare placeholders the scene sampler put in
    clutter["dimensions"][clutter["dimensions"] <= 0] = 1.0
    clutter["location"][clutter["location"][:, 2] < 1.0] = [0.0, 1.65, 20.0]
    clutter["rotation_y"][clutter["rotation_y"] < -np.pi] = 0.0
    clutter["bbox"] = _project_boxes(
        clutter["dimensions"], clutter["location"], clutter["rotation_y"]
    )
    clutter["alpha"] = clutter["rotation_y"] - np.arctan2(
        clutter["location"][:, 0], clutter["location"][:, 2]
    )
    clutter["score"] = rng.uniform(0.0, 0.6, size=total)
    clutter["truncated"][:] = 0.0
    clutter["occluded"][:] = 0
    dets = []
    for h, c in zip(hits, _split(clutter, counts)):
        merged = {k: np.concatenate([h[k], c[k]]) for k in h}
        order = np.argsort(-merged["score"], kind="stable")
        dets.append({k: v[order] for k, v in merged.items()})
    return gt_annos, dets


def make_anno(
    names: list[str],
    bbox: list[list[float]] | np.ndarray,
    *,
    score: list[float] | None = None,
    truncated: list[float] | None = None,
    occluded: list[int] | None = None,
    alpha: list[float] | None = None,
    dimensions: list[list[float]] | np.ndarray | None = None,
    location: list[list[float]] | np.ndarray | None = None,
    rotation_y: list[float] | None = None,
) -> dict[str, np.ndarray]:
    """A hand-written anno. Unset fields: truncated/occluded 0, alpha/rotation_y 0, a car-sized
    box (1.5, 1.6, 3.9) m placed at x = 10 m * index (so unrelated objects never overlap in
    3D) and z = 20 m for ground truth, 40 m for detections (so a detection
    never overlaps an object in 3D unless placed). ``score`` makes it a detection anno."""
    n = len(names)
    depth = 20.0 if score is None else 40.0
    anno = {
        "name": np.array(names, dtype="<U16").reshape(n),
        "truncated": np.zeros(n) if truncated is None else np.asarray(truncated, dtype=float),
        "occluded": np.zeros(n, np.int64) if occluded is None else np.asarray(occluded, np.int64),
        "alpha": np.zeros(n) if alpha is None else np.asarray(alpha, dtype=float),
        "bbox": np.asarray(bbox, dtype=float).reshape(n, 4),
        "dimensions": np.tile([1.5, 1.6, 3.9], (n, 1))
        if dimensions is None
        else np.asarray(dimensions, dtype=float).reshape(n, 3),
        "location": np.stack([10.0 * np.arange(n), np.full(n, 1.6), np.full(n, depth)], axis=1)
        if location is None
        else np.asarray(location, dtype=float).reshape(n, 3),
        "rotation_y": np.zeros(n) if rotation_y is None else np.asarray(rotation_y, dtype=float),
    }
    if score is not None:
        anno["score"] = np.asarray(score, dtype=float).reshape(n)
    return anno
