"""Seeded synthetic scenes: ground truth laid out like KITTI, detections derived from it.

Objects stand on the ground (y about 1.65 m) in front of a KITTI-like camera; their 2D box is
the projection of the 3D box, clipped to a 375x1242 image, so 2D heights, and thus the
difficulties, vary with depth as in the real data.
"""

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


def _frame(rng: np.random.Generator, count: int) -> dict[str, np.ndarray]:
    names = list(_TYPES)
    weights = np.array([_TYPES[n][1] for n in names])
    kind = rng.choice(len(names), size=count, p=weights / weights.sum())
    name = np.array([names[k] for k in kind], dtype="<U16")
    mean = np.array([_TYPES[n][0] for n in name]).reshape(count, 3)
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


def synthetic_ground_truth(
    num_frames: int, *, objects_per_frame: float = 7.0, seed: int = 0
) -> list[dict[str, np.ndarray]]:
    """``num_frames`` ground-truth annos with Poisson(objects_per_frame) objects each."""
    rng = np.random.default_rng(seed)
    counts = rng.poisson(objects_per_frame, size=num_frames)
    return [_frame(rng, int(c)) for c in counts]


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
    rng = np.random.default_rng(seed)
    out = []
    for gt in gt_annos:
        real = np.char.lower(gt["name"].astype(str)) != "dontcare"
        n = int(real.sum())
        unit_loc = rng.normal(size=(n, 3)) * np.array([0.25, 0.1, 0.8])
        unit_dim = rng.normal(size=(n, 3)) * 0.06
        unit_ry = rng.normal(size=n) * 0.15
        unit_box = rng.normal(size=(n, 4)) * 4.0
        score = rng.uniform(0.05, 1.0, size=n)
        kept = rng.random(n) < keep
        location = gt["location"][real] + scale * unit_loc
        dimensions = gt["dimensions"][real] * np.exp(scale * unit_dim)
        rotation_y = gt["rotation_y"][real] + scale * unit_ry
        alpha = gt["alpha"][real] + scale * unit_ry
        bbox = gt["bbox"][real] + scale * unit_box
        bbox[:, 2] = np.maximum(bbox[:, 2], bbox[:, 0] + 1.0)
        bbox[:, 3] = np.maximum(bbox[:, 3], bbox[:, 1] + 1.0)
        out.append(
            {
                "name": gt["name"][real][kept],
                "truncated": np.zeros(int(kept.sum())),
                "occluded": np.zeros(int(kept.sum()), dtype=np.int64),
                "alpha": alpha[kept],
                "bbox": bbox[kept],
                "dimensions": dimensions[kept],
                "location": location[kept],
                "rotation_y": rotation_y[kept],
                "score": score[kept],
            }
        )
    return out


def synthetic_dataset(
    num_frames: int,
    *,
    objects_per_frame: float = 7.0,
    dets_per_frame: int = 100,
    seed: int = 0,
) -> tuple[list[dict[str, np.ndarray]], list[dict[str, np.ndarray]]]:
    """(ground truth, detections) with ``dets_per_frame`` detections per frame: a noisy copy
    of most objects (high scores) and, for the rest, false positives near the objects and
    scattered in the scene (lower scores), like a detector's top-K output."""
    rng = np.random.default_rng(seed + 1)
    gt_annos = synthetic_ground_truth(num_frames, objects_per_frame=objects_per_frame, seed=seed)
    true = jitter_annos(gt_annos, 1.0, seed=seed + 2, keep=0.85)
    dets = []
    for gt, hits in zip(gt_annos, true):
        extra = max(0, dets_per_frame - len(hits["name"]))
        clutter = _frame(rng, extra)
        clutter["name"] = rng.choice(
            ["Car", "Pedestrian", "Cyclist"], size=extra, p=[0.6, 0.25, 0.15]
        )
        real = np.char.lower(gt["name"].astype(str)) != "dontcare"
        # half the clutter sits on objects (duplicates, wrong sizes), half anywhere
        if real.any():
            near = rng.random(extra) < 0.5
            source = rng.choice(np.nonzero(real)[0], size=extra)
            shift = rng.normal(size=(extra, 3)) * np.array([0.8, 0.2, 2.0])
            clutter["location"][near] = gt["location"][source[near]] + shift[near]
            clutter["rotation_y"][near] = gt["rotation_y"][source[near]] + rng.normal(
                0.0, 0.5, size=int(near.sum())
            )
        bad = clutter["dimensions"] <= 0
        clutter["dimensions"][bad] = 1.0
        clutter["location"][clutter["location"][:, 2] < 1.0] = [0.0, 1.65, 20.0]
        clutter["rotation_y"][clutter["rotation_y"] < -np.pi] = 0.0
        clutter["bbox"] = _project_boxes(
            clutter["dimensions"], clutter["location"], clutter["rotation_y"]
        )
        clutter["alpha"] = clutter["rotation_y"] - np.arctan2(
            clutter["location"][:, 0], clutter["location"][:, 2]
        )
        clutter["score"] = rng.uniform(0.0, 0.6, size=extra)
        merged = {k: np.concatenate([hits[k], clutter[k]]) for k in hits}
        order = np.argsort(-merged["score"], kind="stable")
        dets.append({k: v[order] for k, v in merged.items()})
    return gt_annos, dets
