"""Between KITTI objects and tensors: label lines -> ``Sample`` rows, ``Detections`` rows ->
result lines, and writing a batch of results one file per frame."""

import os
from collections.abc import Sequence
from pathlib import Path

import torch
from jaxtyping import Float
from torch import Tensor

from mono3d.contracts import Detections, contract
from mono3d.kitti import SCORE_DECIMALS, KittiObject, write_kitti_label

from ._classes import IGNORE_CATEGORY, ClassMap
from ._sample import IGNORE_BOX3D, Sample


def _object_row(obj: KittiObject, category: int) -> tuple[list[float], bool]:
    """(bbox3d + yaw, is_ignore) of one kept object."""
    h, w, length = obj.dimensions
    box3d_ok = min(h, w, length) > 0 and obj.location[2] > 0
    if category == IGNORE_CATEGORY or not box3d_ok:
        return [*IGNORE_BOX3D, 0.0], True
    return [*obj.location, *obj.dimensions, obj.rotation_y], False


@contract
def labels_to_sample(
    frame_id: str,
    image: Float[Tensor, "3 h w"],
    calib: Float[Tensor, "3 4"],
    objects: Sequence[KittiObject],
    class_map: ClassMap,
) -> Sample:
    """A :class:`Sample` from one frame's image, P2 and label objects, by these rules:

    * the type's category comes from ``class_map``; dropped types leave no row;
    * rows whose 2D box is empty (``x2 <= x1`` or ``y2 <= y1``) are dropped;
    * ignore rows (DontCare, neighbouring classes) keep their 2D box, get category 0 and
      the placeholder 3D box :data:`IGNORE_BOX3D` with yaw 0;
    * an object row whose 3D box is unusable (a size <= 0 or z <= 0) becomes an ignore row.

    truncated, occluded and alpha are copied as written.
    """
    bbox2d: list[tuple[float, float, float, float]] = []
    box3d: list[list[float]] = []
    category: list[int] = []
    ignore: list[bool] = []
    truncated: list[float] = []
    occluded: list[int] = []
    alpha: list[float] = []
    for obj in objects:
        kind = class_map.category(obj.type)
        x1, y1, x2, y2 = obj.bbox
        if kind is None or not (x2 > x1 and y2 > y1):
            continue
        row, is_ignore = _object_row(obj, kind)
        bbox2d.append(obj.bbox)
        box3d.append(row)
        category.append(IGNORE_CATEGORY if is_ignore else kind)
        ignore.append(is_ignore)
        truncated.append(obj.truncated)
        occluded.append(obj.occluded)
        alpha.append(obj.alpha if not is_ignore else 0.0)
    n = len(bbox2d)
    box3d_yaw = torch.tensor(box3d, dtype=torch.float32).reshape(n, 7)
    return Sample(
        frame_id=frame_id,
        image=image,
        calib=calib,
        bbox2d=torch.tensor(bbox2d, dtype=torch.float32).reshape(n, 4),
        bbox3d=box3d_yaw[:, :6].contiguous(),
        yaw=box3d_yaw[:, 6].contiguous(),
        alpha=torch.tensor(alpha, dtype=torch.float32),
        category=torch.tensor(category, dtype=torch.int64),
        ignore=torch.tensor(ignore, dtype=torch.bool),
        truncated=torch.tensor(truncated, dtype=torch.float32),
        occluded=torch.tensor(occluded, dtype=torch.int64),
    )


@contract
def detections_to_kitti(
    detections: Detections, index: int, classes: Sequence[str]
) -> list[KittiObject]:
    """The valid detections of image ``index`` as KITTI result objects, in row order.

    type = ``classes[category - 1]``; truncated and occluded are -1 (unknown, as the KITTI
    result format asks); bbox, dimensions (h, w, l), location (x, y, z), rotation_y, alpha
    and score come from the bundle. Raises ValueError for a category outside
    ``1..len(classes)`` or a non-finite value in a valid row.
    """
    keep = detections.valid[index]
    fields = (
        torch.cat(
            [
                detections.bbox2d[index],
                detections.bbox3d[index],
                detections.yaw[index, :, None],
                detections.alpha[index, :, None],
                detections.score[index, :, None],
            ],
            dim=-1,
        )[keep]
        .detach()
        .to("cpu", torch.float64)
    )
    categories = detections.category[index][keep].tolist()
    objects = []
    for row, (values, category) in enumerate(zip(fields.tolist(), categories)):
        if not 1 <= category <= len(classes):
            raise ValueError(
                f"detections image {index} row {row}: category {category} outside "
                f"1..{len(classes)} (classes {list(classes)})"
            )
        if not torch.isfinite(fields[row]).all():
            raise ValueError(f"detections image {index} row {row}: non-finite value {values}")
        x1, y1, x2, y2, x, y, z, h, w, length, yaw, alpha, score = values
        objects.append(
            KittiObject(
                type=classes[category - 1],
                truncated=-1.0,
                occluded=-1,
                alpha=alpha,
                bbox=(x1, y1, x2, y2),
                dimensions=(h, w, length),
                location=(x, y, z),
                rotation_y=yaw,
                score=score,
            )
        )
    return objects


@contract
def write_kitti_results(
    directory: str | os.PathLike[str],
    detections: Detections,
    frame_ids: Sequence[str],
    classes: Sequence[str],
    *,
    score_decimals: int = SCORE_DECIMALS,
) -> list[Path]:
    """Write one KITTI result file ``<directory>/<frame_id>.txt`` per image (an empty file
    for an image without detections), the format the official evaluation reads: 16
    columns, ``%.2f`` numbers and the score with ``score_decimals`` digits (mono3d.kitti's
    ``SCORE_DECIMALS``). Returns the paths written."""
    if len(frame_ids) != detections.valid.shape[0]:
        raise ValueError(
            f"write_kitti_results: {len(frame_ids)} frame ids for "
            f"{detections.valid.shape[0]} images"
        )
    out = Path(directory)
    paths = []
    for index, frame_id in enumerate(frame_ids):
        path = out / f"{frame_id}.txt"
        write_kitti_label(
            path, detections_to_kitti(detections, index, classes), score_decimals=score_decimals
        )
        paths.append(path)
    return paths
