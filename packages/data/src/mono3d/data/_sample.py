"""One image with its labels (``Sample``), a padded batch (``Batch``) and ``collate``.

Shape shorthand as in ``mono3d.contracts``: n objects of one image; in a ``Sample`` h and w
are the image's real size (any value), in a ``Batch`` the padded size (multiples of 32).
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from jaxtyping import Bool, Float, Int
from torch import Tensor

from mono3d.contracts import (
    IMAGE_STRIDE,
    Bundle,
    ContractError,
    GroundTruth,
    Images,
    contract,
)

#: 3D box given to ignore rows (whose 3D fields are never used): finite, positive size
IGNORE_BOX3D: tuple[float, ...] = (0.0, 0.0, 1.0, 1.0, 1.0, 1.0)


@dataclass(frozen=True, eq=False)
class Sample(Bundle):
    """One image and its labels, checked on construction.

    image: RGB float in [0, 1], (3, h, w), the real size. calib: P2 (3×4) of this image.
    bbox2d: (x1, y1, x2, y2) pixels. bbox3d: (x, y, z, h, w, l), bottom-face centre, metres.
    yaw: rotation_y. alpha: observation angle. category: 1..C-1 for objects, 0 for ignore
    rows. ignore: DontCare / neighbouring-class rows (only their 2D box counts; their 3D box
    is :data:`IGNORE_BOX3D`). truncated: 0..1 (-1 unknown). occluded: 0, 1, 2, 3 (-1 unknown).
    """

    frame_id: str
    image: Float[Tensor, "3 h w"]
    calib: Float[Tensor, "3 4"]
    bbox2d: Float[Tensor, "n 4"]
    bbox3d: Float[Tensor, "n 6"]
    yaw: Float[Tensor, " n"]
    alpha: Float[Tensor, " n"]
    category: Int[Tensor, " n"]
    ignore: Bool[Tensor, " n"]
    truncated: Float[Tensor, " n"]
    occluded: Int[Tensor, " n"]

    @property
    def image_size(self) -> tuple[int, int]:
        """(height, width) of the image in pixels."""
        return int(self.image.shape[1]), int(self.image.shape[2])

    @property
    def num_objects(self) -> int:
        """n: rows (objects and ignore regions)."""
        return int(self.bbox2d.shape[0])

    def select(self, keep: Tensor) -> "Sample":
        """The same sample with only the rows where ``keep`` (Bool[n]) is true."""
        rows = {
            name: getattr(self, name)[keep]
            for name in ("bbox2d", "bbox3d", "yaw", "alpha", "category", "ignore",
                         "truncated", "occluded")
        }  # fmt: skip
        return Sample(frame_id=self.frame_id, image=self.image, calib=self.calib, **rows)


@dataclass(frozen=True, eq=False)
class Batch(Bundle):
    """A collated batch: the model's ``Images`` and ``GroundTruth`` and the frame ids.
    truncated, occluded, alpha: the KITTI label details of each ground-truth row (padded
    rows: -1, -1, 0), which neither the losses nor the evaluation (it reads the label files)
    use: None unless :func:`collate` was asked for them (``label_details=True``)."""

    images: Images
    gt: GroundTruth
    frame_ids: tuple[str, ...]
    truncated: Float[Tensor, "b n"] | None = None
    occluded: Int[Tensor, "b n"] | None = None
    alpha: Float[Tensor, "b n"] | None = None

    def _validate(self) -> None:
        b = self.images.images.shape[0]
        if len(self.frame_ids) != b:
            raise ContractError(f"Batch.frame_ids: expected {b} ids, got {len(self.frame_ids)}")
        if self.gt.valid.shape[0] != b:
            raise ContractError(
                f"Batch: gt.valid {tuple(self.gt.valid.shape)} and {b} images disagree"
            )
        for name in ("truncated", "occluded", "alpha"):
            value = getattr(self, name)
            if value is not None and value.shape != self.gt.valid.shape:
                raise ContractError(
                    f"Batch.{name}: expected the shape of gt.valid "
                    f"{tuple(self.gt.valid.shape)}, got {tuple(value.shape)}"
                )

    def pin_memory(self) -> "Batch":
        """The batch in pinned memory (``DataLoader(pin_memory=True)`` calls this)."""
        return self.apply(torch.Tensor.pin_memory)


def _pad_rows(rows: list[Tensor], n: int, fill: float | bool) -> Tensor:
    """Stack per-image (n_i, ...) tensors into (b, n, ...) padded with ``fill``."""
    first = rows[0]
    out = first.new_full((len(rows), n, *first.shape[1:]), fill)
    for index, row in enumerate(rows):
        out[index, : row.shape[0]] = row
    return out


def _padded_side(side: int) -> int:
    return max(1, math.ceil(side / IMAGE_STRIDE)) * IMAGE_STRIDE


@contract
def collate(samples: Sequence[Sample], *, label_details: bool = False) -> Batch:
    """Pad images bottom/right to the batch's largest size rounded up to a multiple of 32
    (zeros), pad the labels to the batch's largest n with ``valid`` false (zeros), and
    bundle them (``Images``, ``GroundTruth``) with the frame ids; with ``label_details``
    also the per-row truncation, occlusion and alpha (None otherwise: nothing in training
    reads them). The calib of a padded image is unchanged (padding is bottom/right).
    """
    if not samples:
        raise ValueError("collate: no samples")
    height = _padded_side(max(s.image.shape[1] for s in samples))
    width = _padded_side(max(s.image.shape[2] for s in samples))
    images = samples[0].image.new_zeros((len(samples), 3, height, width))
    for index, sample in enumerate(samples):
        images[index, :, : sample.image.shape[1], : sample.image.shape[2]] = sample.image
    image_size = torch.tensor([s.image_size for s in samples], dtype=torch.int64)
    calib = torch.stack([s.calib for s in samples])
    n = max(s.num_objects for s in samples)
    valid = _pad_rows([torch.ones(s.num_objects, dtype=torch.bool) for s in samples], n, False)
    gt = GroundTruth(
        bbox2d=_pad_rows([s.bbox2d for s in samples], n, 0.0),
        bbox3d=_pad_rows([s.bbox3d for s in samples], n, 0.0),
        yaw=_pad_rows([s.yaw for s in samples], n, 0.0)[..., None],
        category=_pad_rows([s.category for s in samples], n, 0)[..., None],
        valid=valid,
        ignore=_pad_rows([s.ignore for s in samples], n, False),
    )
    return Batch(
        images=Images(images=images, calib=calib, image_size=image_size),
        gt=gt,
        frame_ids=tuple(s.frame_id for s in samples),
        **(
            {
                "truncated": _pad_rows([s.truncated for s in samples], n, -1.0),
                "occluded": _pad_rows([s.occluded for s in samples], n, -1),
                "alpha": _pad_rows([s.alpha for s in samples], n, 0.0),
            }
            if label_details
            else {}
        ),
    )
