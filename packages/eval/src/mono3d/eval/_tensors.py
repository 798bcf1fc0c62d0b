"""Adapters from the contracts' tensor bundles to annos, for evaluation during training."""

from collections.abc import Sequence

import numpy as np
import torch
from jaxtyping import Float, Int
from torch import Tensor

from mono3d.contracts import Detections, GroundTruth, contract
from mono3d.geometry import alpha_from_rotation_y

from ._annos import empty_anno


def _names(category: np.ndarray, class_names: Sequence[str], where: str) -> np.ndarray:
    bad = (category < 1) | (category > len(class_names))
    if bad.any():
        raise ValueError(
            f"{where}: category {int(category[bad][0])} is not an object class "
            f"1..{len(class_names)} of {tuple(class_names)} (0 is background)"
        )
    lookup = np.array(["", *class_names])
    return lookup[category]


@contract
def detections_to_annos(
    detections: Detections, class_names: Sequence[str]
) -> list[dict[str, np.ndarray]]:
    """One anno per image from a ``Detections`` bundle (b images, K rows each).

    Rows with ``valid`` False or category 0 (background) are dropped; category k >= 1 is
    ``class_names[k - 1]`` (e.g. ("Car", "Pedestrian", "Cyclist")). dimensions are
    (h, w, l) = bbox3d[3:6], location bbox3d[:3], rotation_y = yaw; truncated and occluded
    are 0 (not predicted).
    """
    d = {k: v.detach().to("cpu") for k, v in detections.as_dict().items()}
    annos = []
    for b in range(d["valid"].shape[0]):
        keep = d["valid"][b] & (d["category"][b] != 0)
        if not bool(keep.any()):
            annos.append(empty_anno(with_score=True))
            continue
        box3d = d["bbox3d"][b][keep].double().numpy()
        n = box3d.shape[0]
        annos.append(
            {
                "name": _names(
                    d["category"][b][keep].numpy(), class_names, f"detections.category[{b}]"
                ),
                "truncated": np.zeros(n),
                "occluded": np.zeros(n, dtype=np.int64),
                "alpha": d["alpha"][b][keep].double().numpy(),
                "bbox": d["bbox2d"][b][keep].double().numpy(),
                "dimensions": box3d[:, 3:6],
                "location": box3d[:, 0:3],
                "rotation_y": d["yaw"][b][keep].double().numpy(),
                "score": d["score"][b][keep].double().numpy(),
            }
        )
    return annos


@contract
def ground_truth_to_annos(
    ground_truth: GroundTruth,
    class_names: Sequence[str],
    truncated: Float[Tensor, "b n"] | None = None,
    occluded: Int[Tensor, "b n"] | None = None,
) -> list[dict[str, np.ndarray]]:
    """One anno per image from a ``GroundTruth`` bundle.

    Valid rows become objects named ``class_names[category - 1]``; ``ignore`` rows become
    DontCare regions (their 2D box only, 3D fields set to KITTI's -1 / -1000 / -10). alpha is
    computed from rotation_y and the location. truncated (0..1) and occluded (0..3) default
    to 0, which makes every object tall enough count as "easy": pass the real values to get
    the KITTI difficulties.
    """
    shape = tuple(ground_truth.valid.shape)
    g = {k: v.detach().to("cpu") for k, v in ground_truth.as_dict().items()}
    trunc = (truncated.detach().cpu() if truncated is not None else torch.zeros(shape)).double()
    occl = (occluded.detach().cpu() if occluded is not None else torch.zeros(shape)).long()
    yaw = g["yaw"][..., 0].double()
    box3d = g["bbox3d"].double()
    alpha = alpha_from_rotation_y(yaw, box3d[..., 0], box3d[..., 2])
    annos = []
    for b in range(shape[0]):
        valid = g["valid"][b]
        if not bool(valid.any()):
            annos.append(empty_anno(with_score=False))
            continue
        ignore = g["ignore"][b][valid].numpy()
        category = g["category"][b, :, 0][valid].numpy()
        names = np.full(category.shape, "DontCare", dtype=object)
        if (~ignore).any():
            names[~ignore] = _names(category[~ignore], class_names, f"ground_truth.category[{b}]")
        dims = box3d[b][valid][:, 3:6].numpy().copy()
        loc = box3d[b][valid][:, 0:3].numpy().copy()
        ry = yaw[b][valid].numpy().copy()
        al = alpha[b][valid].numpy().copy()
        tr = trunc[b][valid].numpy().copy()
        oc = occl[b][valid].numpy().copy()
        dims[ignore], loc[ignore], ry[ignore], al[ignore] = -1.0, -1000.0, -10.0, -10.0
        tr[ignore], oc[ignore] = -1.0, -1
        annos.append(
            {
                "name": names.astype(str),
                "truncated": tr,
                "occluded": oc,
                "alpha": al,
                "bbox": g["bbox2d"][b][valid].double().numpy(),
                "dimensions": dims,
                "location": loc,
                "rotation_y": ry,
            }
        )
    return annos
