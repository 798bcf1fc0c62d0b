"""KITTI-format folders as a torch ``Dataset`` of :class:`Sample`.

Layout (the official one; ``root`` may also be the ``training`` folder itself)::

    root/training/image_2/<id>.png  label_2/<id>.txt  calib/<id>.txt
    root/testing/image_2/<id>.png   calib/<id>.txt          (labels optional)
    root/ImageSets/<split>.txt      one frame id per line (train, val, trainval, test...)
"""

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from jaxtyping import Float
from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset

from ._classes import DEFAULT_CLASSES, ClassMap
from ._config import DataConfig
from ._convert import labels_to_sample
from ._errors import KittiFormatError
from ._kitti_calib import read_kitti_calib
from ._kitti_label import KittiObject, read_kitti_label
from ._sample import Sample

#: a transform takes a sample and returns the transformed sample (see ``mono3d.data``
#: augmentations; they also accept an optional ``generator`` keyword)
Transform = Callable[[Sample], Sample]


def read_image(path: str | os.PathLike[str]) -> Float[Tensor, "3 h w"]:
    """An image file as RGB float32 in [0, 1], (3, h, w). A missing file raises
    FileNotFoundError, an unreadable one :class:`KittiFormatError`; both name the file."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"image not found: {os.fspath(path)}")
    try:
        with Image.open(path) as image:
            pixels = np.array(image.convert("RGB"), dtype=np.uint8)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise KittiFormatError(path, None, f"cannot decode image: {error}") from None
    # in numpy: single-threaded and fast, never slowed by torch's thread pool
    chw = np.ascontiguousarray(pixels.transpose(2, 0, 1), dtype=np.float32)
    chw /= np.float32(255.0)
    return torch.from_numpy(chw)


@dataclass(frozen=True)
class KittiFrames:
    """Where a split's files are: ``data_dir/{image_2,label_2,calib}/<id>.*`` for every id."""

    data_dir: Path
    frame_ids: tuple[str, ...]
    has_labels: bool

    def image_path(self, frame_id: str) -> Path:
        return self.data_dir / "image_2" / f"{frame_id}.png"

    def label_path(self, frame_id: str) -> Path:
        return self.data_dir / "label_2" / f"{frame_id}.txt"

    def calib_path(self, frame_id: str) -> Path:
        return self.data_dir / "calib" / f"{frame_id}.txt"


def _read_split(path: Path) -> tuple[str, ...]:
    if not path.is_file():
        raise FileNotFoundError(f"split list not found: {path}")
    ids = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        token = line.strip()
        if not token:
            continue
        if len(token.split()) != 1 or "/" in token or "\\" in token:
            raise KittiFormatError(path, number, f"expected one frame id, got {token!r}")
        ids.append(token)
    if not ids:
        raise ValueError(f"{path}: the split list names no frames")
    return tuple(ids)


def find_frames(
    root: str | os.PathLike[str], split: str | None = None, *, require_labels: bool | None = None
) -> KittiFrames:
    """Locate the frames of ``split`` under ``root`` and check their files exist.

    ``split=None``: every ``training/image_2/*.png``. A split name reads
    ``root/ImageSets/<split>.txt``; ``"test"`` reads from ``testing/``. Labels are required
    unless ``split == "test"`` (``require_labels`` overrides). Raises FileNotFoundError naming
    the first missing folder/file, ValueError when there are no frames.
    """
    base = Path(root)
    if (base / "image_2").is_dir() and not (base / "training").is_dir():
        data_dir, sets_dirs = base, [base / "ImageSets", base.parent / "ImageSets"]
    else:
        data_dir = base / ("testing" if split == "test" else "training")
        sets_dirs = [base / "ImageSets"]
    image_dir = data_dir / "image_2"
    if not image_dir.is_dir():
        raise FileNotFoundError(
            f"{base}: no KITTI image folder {image_dir} (expected root/training/image_2)"
        )
    if split is None:
        frame_ids = tuple(sorted(path.stem for path in image_dir.glob("*.png")))
        if not frame_ids:
            raise ValueError(f"{image_dir}: no frames (no *.png images) in this dataset folder")
    else:
        lists = [d / f"{split}.txt" for d in sets_dirs]
        frame_ids = _read_split(next((p for p in lists if p.is_file()), lists[0]))
    labels = split != "test" if require_labels is None else require_labels
    has_labels = labels or (data_dir / "label_2").is_dir()
    frames = KittiFrames(data_dir=data_dir, frame_ids=frame_ids, has_labels=has_labels)
    needed = [frames.image_path, frames.calib_path] + ([frames.label_path] if labels else [])
    for path_of in needed:
        missing = [path_of(i) for i in frame_ids if not path_of(i).is_file()]
        if missing:
            raise FileNotFoundError(
                f"{len(missing)} of {len(frame_ids)} frames lack a file, first: {missing[0]}"
            )
    return frames


class KittiDataset(Dataset[Sample]):
    """Frames of a KITTI-format folder as :class:`Sample` s (image float (3, h, w) in [0, 1],
    P2 (3, 4), labels mapped by ``classes`` / ``mapping``, see :class:`ClassMap`), each passed
    through ``transforms``. Picklable (for ``num_workers > 0``); works with any sampler,
    ``DistributedSampler`` included. Batch with :func:`collate`.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        split: str | None = None,
        classes: Sequence[str] = DEFAULT_CLASSES,
        mapping: Mapping[str, str] | None = None,
        transforms: Transform | None = None,
        require_labels: bool | None = None,
    ) -> None:
        self.root = Path(root)
        self.split = split
        self.class_map = ClassMap.build(classes, mapping)
        self.transforms = transforms
        self.frames = find_frames(root, split, require_labels=require_labels)

    @classmethod
    def from_config(cls, config: DataConfig, *, augment: bool = False) -> "KittiDataset":
        """The dataset a :class:`DataConfig` describes, with its augmentation if ``augment``."""
        transforms = config.augment.build() if augment and config.augment is not None else None
        return cls(
            config.root,
            split=config.split,
            classes=config.classes,
            mapping=config.mapping,
            transforms=transforms,
        )

    @property
    def frame_ids(self) -> tuple[str, ...]:
        return self.frames.frame_ids

    @property
    def classes(self) -> tuple[str, ...]:
        return self.class_map.classes

    def __len__(self) -> int:
        return len(self.frames.frame_ids)

    def objects(self, index: int) -> list[KittiObject]:
        """The raw label objects of frame ``index`` (empty without labels)."""
        frame_id = self.frames.frame_ids[index]
        if not self.frames.has_labels:
            return []
        return read_kitti_label(self.frames.label_path(frame_id))

    def __getitem__(self, index: int) -> Sample:
        frame_id = self.frames.frame_ids[index]
        image = read_image(self.frames.image_path(frame_id))
        p2 = read_kitti_calib(self.frames.calib_path(frame_id)).P2
        sample = labels_to_sample(
            frame_id,
            image,
            torch.tensor(p2, dtype=torch.float32),
            self.objects(index),
            self.class_map,
        )
        return self.transforms(sample) if self.transforms is not None else sample
