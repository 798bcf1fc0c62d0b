"""Greedy NMS within static groups, returned as a keep mask: exportable at any size.

torchvision's ``batched_nms`` switches, above 4000 box coordinates on CPU, to a loop over
``idxs.unique()``, a data-dependent loop that ``torch.export`` cannot trace
(GuardOnDataDependentSymNode); below it, it offsets the boxes by group (the coordinate
trick), which rounds their float32 coordinates. Here the groups are known in Python (the
RPN's pyramid levels are contiguous ranges, the post-processing's classes are strided
slices of the candidates), so every (image, group) gets its own ``torchvision.ops.nms``
call on unshifted boxes: the same greedy NMS as ``batched_nms`` (exactly its per-group
result), a fixed number of calls for given shapes, and a mask of static shape out. The
variable-length index list of each call exists only inside this function; it is scattered
into the mask at once (an unbacked size under ``torch.export``, ``NonMaxSuppression`` +
``ScatterND`` in ONNX).
"""

from collections.abc import Sequence

import torch
from jaxtyping import Bool, Float
from torch import Tensor
from torchvision.ops import nms

from mono3d.contracts import contract

#: one group holding every candidate of an image
ALL_CANDIDATES: tuple[slice, ...] = (slice(None),)


@contract
def nms_keep_mask(
    boxes: Float[Tensor, "b m 4"],
    scores: Float[Tensor, "b m"],
    iou_threshold: float,
    groups: Sequence[slice] = ALL_CANDIDATES,
) -> Bool[Tensor, "b m"]:
    """True for the candidates that greedy NMS keeps within each image and group.

    boxes: (x1, y1, x2, y2) pixels; scores: higher first (give candidates that must not
    suppress anything a score below every real one and a zero box, e.g. ``-inf``; mask
    them out of the result yourself). groups: Python slices of the m candidates, pairwise
    disjoint (``slice(start, stop)`` for contiguous blocks, ``slice(c, None, step)`` for
    interleaved labels); a box suppresses only boxes of its own image and group, with IoU
    ``> iou_threshold``. Candidates in no group are never kept. Computed in float32.
    """
    b, m = scores.shape
    index = torch.arange(m, device=scores.device)
    boxes, scores = boxes.float(), scores.float()
    keep = torch.zeros(b * m, dtype=torch.bool, device=scores.device)
    for image in range(b):
        for group in groups:
            members = index[group]
            kept = nms(boxes[image, group], scores[image, group], iou_threshold)
            keep = keep.index_fill(0, members[kept] + image * m, True)
    return keep.view(b, m)
