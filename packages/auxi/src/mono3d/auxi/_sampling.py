"""Balanced random sampling expressed as a mask: shapes stay static, nothing is reindexed."""

import torch
from torch import Tensor

from ._matching import IGNORED, NEGATIVE, POSITIVE


def random_keys(
    shape: tuple[int, int], device: torch.device, generator: torch.Generator | None
) -> Tensor:
    """(b, M) uniform keys in [0, 1), drawn on the generator's device, moved to ``device``."""
    if generator is None:
        return torch.rand(shape, device=device)
    return torch.rand(shape, generator=generator, device=generator.device).to(device)


def _take_top_keys(candidate: Tensor, keys: Tensor, k: int, quota: Tensor) -> Tensor:
    """(b, M) bool: per image, the ``quota[i]`` candidates with the largest keys (fewer when
    there are fewer candidates). ``k`` >= every quota bounds the static top-k size."""
    scores = torch.where(candidate, keys, -1.0)
    k = min(k, scores.shape[1])
    values, index = scores.topk(k, dim=1)
    rank = torch.arange(k, device=scores.device)[None, :]
    take = (values >= 0) & (rank < quota[:, None])
    return torch.zeros_like(candidate).scatter_(1, index, take)


def sample_labels(
    label: Tensor,
    *,
    batch_size_per_image: int | None,
    positive_fraction: float,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Keep at most ``batch_size_per_image`` labelled rows per image, at most
    ``int(batch_size_per_image * positive_fraction)`` of them positive, negatives filling the
    rest (torchvision ``BalancedPositiveNegativeSampler`` counts); every other row becomes -1.

    ``label`` (b, M) int64 in {1, 0, -1}. Each row gets one uniform key; the positives (then
    negatives) with the largest keys are kept. Keys belong to rows, so the result depends only
    on the labels and the generator's state. ``batch_size_per_image=None`` keeps every row.
    """
    if batch_size_per_image is None or label.shape[1] == 0:
        return label
    keys = random_keys(tuple(label.shape), label.device, generator)  # type: ignore[arg-type]
    num_pos = int(batch_size_per_image * positive_fraction)
    pos_quota = torch.full(label.shape[:1], num_pos, device=label.device)
    positive = _take_top_keys(label == POSITIVE, keys, num_pos, pos_quota)
    room = batch_size_per_image - positive.sum(dim=1)
    negative = _take_top_keys(label == NEGATIVE, keys, batch_size_per_image, room)
    return torch.where(positive, POSITIVE, torch.where(negative, NEGATIVE, IGNORED))
