"""KITTI-format folders as a torch ``Dataset`` of :class:`Sample`.

Layout (the official one; ``root`` may also be the ``training`` folder itself)::

    root/training/image_2/<id>.png  label_2/<id>.txt  calib/<id>.txt
    root/testing/image_2/<id>.png   calib/<id>.txt          (labels optional)
    root/ImageSets/<split>.txt      one frame id per line (train, val, trainval, test...)
"""

import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from jaxtyping import Float
from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset

from mono3d.kitti import (
    KittiFormatError,
    KittiObject,
    read_id_list,
    read_kitti_calib,
    read_kitti_label,
)

from ._classes import DEFAULT_CLASSES, ClassMap
from ._config import DataConfig
from ._convert import labels_to_sample
from ._sample import Sample

#: a transform takes a sample and returns the transformed sample (see ``mono3d.data``
#: augmentations; they also accept an optional ``generator`` keyword)
Transform = Callable[[Sample], Sample]


#: the most pixels an image may have (``DataConfig.max_image_pixels``, written once there)
DEFAULT_MAX_IMAGE_PIXELS: int = DataConfig.model_fields["max_image_pixels"].default

# 16-bit greyscale modes: scaled by 65535 (``convert("RGB")`` would clip them to white)
_SIXTEEN_BIT = frozenset({"I;16", "I;16L", "I;16B", "I;16N"})


def _pixels(image: Image.Image, path: str | os.PathLike[str]) -> tuple[np.ndarray, float]:
    """The decoded image as (h, w, c) integers and the value of full white: 8-bit modes
    through RGB (255), 16-bit greyscale (65535; Pillow's older ``I`` mode of a 16-bit PNG
    too); other high-depth modes refused."""
    if image.mode in _SIXTEEN_BIT or (image.mode == "I" and image.format == "PNG"):
        return np.asarray(image)[:, :, None], 65535.0
    if image.mode in ("I", "F"):
        raise KittiFormatError(
            path, None, f"unsupported pixel format {image.mode} (32-bit); use 8- or 16-bit"
        )
    return np.asarray(image.convert("RGB"), dtype=np.uint8), 255.0


def read_image(
    path: str | os.PathLike[str], *, max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS
) -> Float[Tensor, "3 h w"]:
    """An image file as RGB float32 in [0, 1], (3, h, w): 8-bit images divided by 255,
    16-bit greyscale ones by 65535 (replicated to three channels).

    A missing file raises FileNotFoundError; an image of more than ``max_pixels`` pixels
    (checked from the header, before decoding), a 32-bit one, or a file that does not
    decode (corrupt, truncated, not an image) raises :class:`KittiFormatError`; all name
    the file."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"image not found: {os.fspath(path)}")
    try:
        with warnings.catch_warnings():
            # the size limit below is ours; Pillow's bomb warning would only repeat it
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise KittiFormatError(
                        path,
                        None,
                        f"image is {width}x{height} = {width * height} pixels, more than the "
                        f"limit of {max_pixels} (data.max_image_pixels)",
                    )
                pixels, white = _pixels(image, path)
    except KittiFormatError:
        raise
    except Exception as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise KittiFormatError(path, None, f"cannot decode image: {reason}") from None
    # in numpy: single-threaded and fast, never slowed by torch's thread pool
    chw = np.ascontiguousarray(pixels.transpose(2, 0, 1), dtype=np.float32)
    chw /= np.float32(white)
    if chw.shape[0] == 1:  # greyscale: the same values in R, G and B
        chw = np.ascontiguousarray(np.broadcast_to(chw, (3, *chw.shape[1:])))
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
    """The frame ids of a split list (:func:`mono3d.kitti.read_id_list`'s rules)."""
    if not path.is_file():
        raise FileNotFoundError(f"split list not found: {path}")
    return read_id_list(path)


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
    ``DistributedSampler`` included. Batch with :func:`collate`. An image of more than
    ``max_image_pixels`` pixels is refused (:class:`KittiFormatError` naming it) before it
    is decoded.
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
        max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
    ) -> None:
        self.root = Path(root)
        self.max_image_pixels = max_image_pixels
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
            max_image_pixels=config.max_image_pixels,
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
        image = read_image(self.frames.image_path(frame_id), max_pixels=self.max_image_pixels)
        p2 = read_kitti_calib(self.frames.calib_path(frame_id)).P2
        sample = labels_to_sample(
            frame_id,
            image,
            torch.tensor(p2, dtype=torch.float32),
            self.objects(index),
            self.class_map,
        )
        return self.transforms(sample) if self.transforms is not None else sample
