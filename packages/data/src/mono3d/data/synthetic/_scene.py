"""Synthetic KITTI-like scenes: sample a layout, render it, derive KITTI labels from what
was rendered, write KITTI-format files."""

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from mono3d.kitti import (
    KittiCalib,
    KittiObject,
    read_kitti_calib,
    read_kitti_label,
    write_kitti_calib,
    write_kitti_label,
)

from .._classes import DEFAULT_CLASSES, ClassMap
from .._convert import labels_to_sample
from .._sample import Sample
from ._camera import KITTI_IMAGE_SIZE, synthetic_calib
from ._classes import BASE_COLOURS, DEFAULT_CLASS_WEIGHTS, KITTI_SIZES, OTHER_COLOUR
from ._config import SyntheticConfig
from ._render import render_cuboids

#: label values are rounded to the label file's precision before rendering, so the file
#: describes exactly the geometry that was drawn
DECIMALS = 2


@dataclass(frozen=True, eq=False)
class Layout:
    """The 3D content of a scene: n objects (types, boxes (n, 6) = x y z h w l with (x, y, z)
    the bottom-face centre, yaw (n,), base colours (n, 3) uint8) on the ground plane
    y = camera_height, and lane markings at lateral offsets ``lanes`` (metres)."""

    types: tuple[str, ...]
    boxes: np.ndarray
    rotation_y: np.ndarray
    colours: np.ndarray
    camera_height: float
    lanes: np.ndarray


@dataclass(frozen=True, eq=False)
class SyntheticFrame:
    """A rendered frame: image (h, w, 3) uint8 RGB, its calib and KITTI label objects.

    visibility: per label object, the fraction of its in-image silhouette that is visible.
    """

    image: np.ndarray
    calib: KittiCalib
    objects: tuple[KittiObject, ...]
    visibility: tuple[float, ...]

    def to_sample(self, frame_id: str = "synthetic", class_map: ClassMap | None = None) -> Sample:
        """The frame as a :class:`~mono3d.data.Sample` (labels mapped by ``class_map``,
        default: Car, Pedestrian, Cyclist), as ``KittiDataset`` would load it except that
        nothing is rounded to the label file's precision."""
        image = torch.from_numpy(self.image.copy()).permute(2, 0, 1).to(torch.float32) / 255.0
        return labels_to_sample(
            frame_id,
            image.contiguous(),
            torch.tensor(self.calib.P2, dtype=torch.float32),
            self.objects,
            class_map or ClassMap.build(DEFAULT_CLASSES),
        )

    def write(
        self, root: str | os.PathLike[str], frame_id: str, *, compress_level: int = 1
    ) -> None:
        """Write ``root/training/{image_2/<id>.png, label_2/<id>.txt, calib/<id>.txt}``."""
        data = Path(root) / "training"
        (data / "image_2").mkdir(parents=True, exist_ok=True)
        Image.fromarray(self.image).save(
            data / "image_2" / f"{frame_id}.png", compress_level=compress_level
        )
        write_kitti_label(data / "label_2" / f"{frame_id}.txt", self.objects)
        write_kitti_calib(data / "calib" / f"{frame_id}.txt", self.calib)


def _wrap(angle: float) -> float:
    return (angle + math.pi) % (2 * math.pi) - math.pi


def _occlusion_level(fraction: float, thresholds: tuple[float, float]) -> int:
    mostly, partly = thresholds
    return 0 if fraction >= mostly else 1 if fraction >= partly else 2


class SceneGenerator:
    """Random KITTI-like scenes: 0-15 cuboids of KITTI's size distributions at 4-60 m with
    random yaw, standing on the ground (camera ``camera_height`` m above it), seen through a
    KITTI-like P2, rendered with orientation-revealing face colours and real occlusion.

    Labels come from the rendering: 2D box = projected corners clipped to the image;
    truncated = share of the unclipped box area outside the image; occluded = 0 / 1 / 2 when
    the visible share of the object's in-image silhouette is >= ``occlusion_thresholds[0]``,
    >= ``[1]``, or less; alpha = wrap(rotation_y - atan2(x, z)). Objects with no visible
    pixel are not labelled; those with fewer than ``min_visible_pixels`` become DontCare
    regions. Objects with a corner closer than 0.1 m to the camera plane are not drawn.
    Every frame is a pure function of (seed, index).
    """

    def __init__(
        self,
        *,
        image_size: tuple[int, int] = KITTI_IMAGE_SIZE,
        min_objects: int = 0,
        max_objects: int = 15,
        class_weights: Mapping[str, float] | None = None,
        class_sizes: Mapping[str, tuple[tuple[float, float, float], tuple[float, float, float]]]
        | None = None,
        depth_range: tuple[float, float] = (4.0, 60.0),
        camera_height: float = 1.65,
        jitter_calib: bool = True,
        occlusion_thresholds: tuple[float, float] = (0.8, 0.5),
        min_visible_pixels: int = 20,
        lane_markings: bool = True,
    ) -> None:
        weights = dict(class_weights or DEFAULT_CLASS_WEIGHTS)
        sizes = {**KITTI_SIZES, **(class_sizes or {})}
        unknown = [name for name in weights if name not in sizes]
        if unknown:
            raise ValueError(f"class_weights: no size statistics for {unknown}; pass class_sizes")
        if len(image_size) != 2 or min(image_size) < 1:
            raise ValueError(f"image_size: need (height, width) >= 1 pixel, got {image_size}")
        if not 0 <= min_objects <= max_objects:
            raise ValueError(
                f"need 0 <= min_objects <= max_objects, got {min_objects}, {max_objects}"
            )
        if not 0 < depth_range[0] <= depth_range[1]:
            raise ValueError(f"depth_range: need 0 < near <= far, got {depth_range}")
        total = sum(weights.values())
        if total <= 0 or min(weights.values()) < 0:
            raise ValueError(
                f"class_weights: need non-negative weights with a positive sum, got {weights}"
            )
        self.image_size = (int(image_size[0]), int(image_size[1]))
        self.min_objects, self.max_objects = min_objects, max_objects
        self.class_names = tuple(weights)
        self.class_probs = np.array([weights[name] / total for name in self.class_names])
        self.class_sizes = {name: sizes[name] for name in self.class_names}
        self.depth_range = depth_range
        self.camera_height = camera_height
        self.jitter_calib = jitter_calib
        self.occlusion_thresholds = occlusion_thresholds
        self.min_visible_pixels = min_visible_pixels
        self.lane_markings = lane_markings

    @classmethod
    def from_config(cls, config: SyntheticConfig) -> "SceneGenerator":
        """The generator a :class:`SyntheticConfig` describes."""
        return cls(
            image_size=config.image_size,
            min_objects=config.min_objects,
            max_objects=config.max_objects,
            class_weights=config.class_weights,
            depth_range=config.depth_range,
            camera_height=config.camera_height,
            jitter_calib=config.jitter_calib,
            occlusion_thresholds=config.occlusion_thresholds,
            min_visible_pixels=config.min_visible_pixels,
            lane_markings=config.lane_markings,
        )

    # -- sampling -------------------------------------------------------------------------
    def _lanes(self, rng: np.random.Generator) -> np.ndarray:
        if not self.lane_markings:
            return np.zeros(0)
        offset = rng.uniform(-1.75, 1.75)
        return offset + 3.5 * np.arange(-3, 4)

    def _colour(self, rng: np.random.Generator, kind: str) -> np.ndarray:
        base = np.array(BASE_COLOURS.get(kind, OTHER_COLOUR), dtype=np.float64)
        return np.clip(base + rng.uniform(-25.0, 25.0, 3), 0, 255).astype(np.uint8)

    def sample_layout(self, rng: np.random.Generator, calib: KittiCalib) -> Layout:
        """Draw object count, classes, sizes (normal, ±2.5 std), depth (uniform in
        ``depth_range``), image column (uniform over the image ± 15 %), yaw (uniform), and
        reject objects whose ground footprint circle touches an earlier one."""
        p2 = calib.P2
        width = self.image_size[1]
        wanted = int(rng.integers(self.min_objects, self.max_objects + 1))
        types: list[str] = []
        rows: list[list[float]] = []
        for _ in range(40 * wanted):
            if len(rows) == wanted:
                break
            kind = self.class_names[int(rng.choice(len(self.class_names), p=self.class_probs))]
            mean, std = (np.array(v) for v in self.class_sizes[kind])
            dims = mean + std * np.clip(rng.standard_normal(3), -2.5, 2.5)
            z = rng.uniform(*self.depth_range)
            u = rng.uniform(-0.15 * width, 1.15 * width)
            x = (u - p2[0, 2]) * z / p2[0, 0]
            yaw = rng.uniform(-math.pi, math.pi)
            row = np.round([x, self.camera_height, z, *np.maximum(dims, 0.2), yaw], DECIMALS)
            radius = 0.5 * math.hypot(row[4], row[5])
            if any(
                math.hypot(row[0] - other[0], row[2] - other[2])
                < radius + 0.5 * math.hypot(other[4], other[5]) + 0.2
                for other in rows
            ):
                continue
            row[6] = round(_wrap(row[6]), DECIMALS)
            types.append(kind)
            rows.append(row.tolist())
        table = np.array(rows, dtype=np.float64).reshape(-1, 7)
        return Layout(
            types=tuple(types),
            boxes=table[:, :6],
            rotation_y=table[:, 6],
            colours=np.array([self._colour(rng, kind) for kind in types], np.uint8).reshape(-1, 3),
            camera_height=self.camera_height,
            lanes=self._lanes(rng),
        )

    def layout_from_objects(
        self, rng: np.random.Generator, objects: Sequence[KittiObject]
    ) -> Layout:
        """The layout of existing label objects (DontCare and boxes with a size <= 0
        skipped); the ground plane goes through the median bottom of the objects."""
        kept = [o for o in objects if not o.is_dontcare and min(o.dimensions) > 0]
        boxes = np.array([[*o.location, *o.dimensions] for o in kept], np.float64).reshape(-1, 6)
        ground = float(np.median(boxes[:, 1])) if len(kept) else self.camera_height
        return Layout(
            types=tuple(o.type for o in kept),
            boxes=boxes,
            rotation_y=np.array([o.rotation_y for o in kept], np.float64),
            colours=np.array([self._colour(rng, o.type) for o in kept], np.uint8).reshape(-1, 3),
            camera_height=ground,
            lanes=self._lanes(rng),
        )

    # -- rendering and labelling ------------------------------------------------------------
    def render(
        self, layout: Layout, calib: KittiCalib, image_size: tuple[int, int] | None = None
    ) -> SyntheticFrame:
        """Draw ``layout`` through ``calib.P2`` and label what is visible (class docstring)."""
        height, width = image_size or self.image_size
        drawn = render_cuboids(
            calib.P2,
            (height, width),
            layout.boxes,
            layout.rotation_y,
            layout.colours,
            camera_height=layout.camera_height,
            lanes=layout.lanes,
        )
        objects: list[KittiObject] = []
        visibility: list[float] = []
        for index, kind in enumerate(layout.types):
            if not drawn.drawable[index] or drawn.visible_pixels[index] == 0:
                continue
            x1, y1, x2, y2 = drawn.box[index].tolist()
            cx1, cy1 = min(max(x1, 0.0), width), min(max(y1, 0.0), height)
            cx2, cy2 = min(max(x2, 0.0), width), min(max(y2, 0.0), height)
            full = (x2 - x1) * (y2 - y1)
            inside = (cx2 - cx1) * (cy2 - cy1)
            if inside <= 0 or full <= 0:
                continue
            fraction = min(
                1.0, drawn.visible_pixels[index] / max(drawn.silhouette_pixels[index], 1)
            )
            x, y, z, h, w, length = layout.boxes[index].tolist()
            yaw = float(layout.rotation_y[index])
            if drawn.visible_pixels[index] < self.min_visible_pixels:
                objects.append(
                    KittiObject("DontCare", -1.0, -1, -10.0, (cx1, cy1, cx2, cy2),
                                (-1.0, -1.0, -1.0), (-1000.0, -1000.0, -1000.0), -10.0)
                )  # fmt: skip
            else:
                objects.append(
                    KittiObject(
                        type=kind,
                        truncated=max(0.0, 1.0 - inside / full),
                        occluded=_occlusion_level(fraction, self.occlusion_thresholds),
                        alpha=_wrap(yaw - math.atan2(x, z)),
                        bbox=(cx1, cy1, cx2, cy2),
                        dimensions=(h, w, length),
                        location=(x, y, z),
                        rotation_y=yaw,
                    )
                )
            visibility.append(fraction)
        return SyntheticFrame(
            image=drawn.image, calib=calib, objects=tuple(objects), visibility=tuple(visibility)
        )

    def scene(self, seed: int, index: int = 0) -> SyntheticFrame:
        """The random frame ``index`` of the stream ``seed`` (deterministic)."""
        rng = np.random.default_rng([seed, index])
        calib = synthetic_calib(rng if self.jitter_calib else None, self.image_size)
        return self.render(self.sample_layout(rng, calib), calib)

    def render_objects(
        self,
        objects: Sequence[KittiObject],
        calib: KittiCalib,
        image_size: tuple[int, int] | None = None,
        *,
        seed: int = 0,
    ) -> SyntheticFrame:
        """Render existing label objects (classes, sizes, positions, yaw) through their
        real P2 as shaded cuboids, with labels recomputed from the rendering."""
        rng = np.random.default_rng([seed])
        return self.render(self.layout_from_objects(rng, objects), calib, image_size)

    # -- datasets ---------------------------------------------------------------------------
    def write_dataset(
        self,
        root: str | os.PathLike[str],
        num_frames: int,
        *,
        seed: int = 0,
        val_fraction: float | None = None,
        compress_level: int = 1,
        overwrite: bool = False,
    ) -> tuple[str, ...]:
        """Write frames ``000000``.. as ``root/training/{image_2,label_2,calib}``; with
        ``val_fraction`` also ``root/ImageSets/{train,val,trainval}.txt`` (a seeded random
        ``val_fraction`` of the frames is val). Returns the frame ids.

        A ``root`` that already holds frames is refused (FileExistsError), so no stale frame
        of an earlier, larger dataset survives next to the new ones; ``overwrite=True``
        deletes those frame files first (only ``image_2/*.png``, ``label_2/*.txt``,
        ``calib/*.txt``). Arguments are checked before anything is written."""
        if num_frames < 1:
            raise ValueError(f"num_frames: need at least 1, got {num_frames}")
        if val_fraction is not None and not 0.0 <= val_fraction <= 1.0:
            raise ValueError(f"val_fraction: expected a fraction in [0, 1], got {val_fraction}")
        stale = existing_frame_files(root)
        if stale and not overwrite:
            raise FileExistsError(
                f"{Path(root) / 'training'} already holds {len(stale)} frame files; remove "
                "them or choose another folder (overwrite=True replaces them)"
            )
        for path in stale:
            path.unlink()
        frame_ids = tuple(f"{index:06d}" for index in range(num_frames))
        for index, frame_id in enumerate(frame_ids):
            self.scene(seed, index).write(root, frame_id, compress_level=compress_level)
        if val_fraction is not None:
            write_splits(root, frame_ids, val_fraction, seed=seed)
        return frame_ids

    def write_layouts(
        self,
        source: str | os.PathLike[str],
        root: str | os.PathLike[str],
        *,
        seed: int = 0,
        compress_level: int = 1,
    ) -> tuple[str, ...]:
        """Render every frame of the KITTI-format folder ``source`` (``training/label_2``
        and ``calib``; image sizes from ``image_2`` when present) into ``root``, copying
        ``ImageSets`` if present. Returns the frame ids."""
        src = Path(source)
        data = src / "training" if (src / "training").is_dir() else src
        labels = data / "label_2"
        frame_ids = tuple(sorted(p.stem for p in labels.glob("*.txt")))
        if not frame_ids:
            raise ValueError(f"{labels}: no frames (no *.txt labels) in this dataset folder")
        for index, frame_id in enumerate(frame_ids):
            image_path = data / "image_2" / f"{frame_id}.png"
            size = self.image_size
            if image_path.is_file():
                with Image.open(image_path) as image:
                    size = (image.height, image.width)
            frame = self.render_objects(
                read_kitti_label(labels / f"{frame_id}.txt"),
                read_kitti_calib(data / "calib" / f"{frame_id}.txt"),
                size,
                seed=seed * 1_000_003 + index,
            )
            frame.write(root, frame_id, compress_level=compress_level)
        sets = src / "ImageSets"
        if sets.is_dir():
            out = Path(root) / "ImageSets"
            out.mkdir(parents=True, exist_ok=True)
            for split in sets.glob("*.txt"):
                (out / split.name).write_text(split.read_text(encoding="utf-8"), encoding="utf-8")
        return frame_ids


def existing_frame_files(root: str | os.PathLike[str]) -> list[Path]:
    """The frame files of ``root/training``: ``image_2/*.png``, ``label_2/*.txt``,
    ``calib/*.txt``."""
    data = Path(root) / "training"
    patterns = (("image_2", "*.png"), ("label_2", "*.txt"), ("calib", "*.txt"))
    return [path for folder, pattern in patterns for path in sorted((data / folder).glob(pattern))]


def write_splits(
    root: str | os.PathLike[str], frame_ids: Sequence[str], val_fraction: float, *, seed: int = 0
) -> dict[str, tuple[str, ...]]:
    """Write ``root/ImageSets/{train,val,trainval}.txt``: a seeded random ``val_fraction``
    of ``frame_ids`` is val (at least one frame each when there are two or more)."""
    if not 0.0 <= val_fraction <= 1.0:
        raise ValueError(f"val_fraction: expected a fraction, got {val_fraction}")
    count = len(frame_ids)
    n_val = round(count * val_fraction)
    if count >= 2:
        n_val = min(max(n_val, 1), count - 1)
    chosen = set(np.random.default_rng([seed, 7]).permutation(count)[:n_val].tolist())
    splits = {
        "train": tuple(f for i, f in enumerate(frame_ids) if i not in chosen),
        "val": tuple(f for i, f in enumerate(frame_ids) if i in chosen),
        "trainval": tuple(frame_ids),
    }
    out = Path(root) / "ImageSets"
    out.mkdir(parents=True, exist_ok=True)
    for name, ids in splits.items():
        (out / f"{name}.txt").write_text("".join(f"{i}\n" for i in ids), encoding="utf-8")
    return splits
