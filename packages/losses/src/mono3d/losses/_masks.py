"""Masks read from the ``object`` targets and the normalisation every loss shares.

``object`` (Int[b M 1], M = N anchors or Nhd proposals) holds 1 for a sampled positive, 0 for
a sampled negative and -1 for an ignored or not-sampled row; any other value is treated like
-1. Masked rows are removed with ``torch.where`` on the inputs (never by multiplying with a
mask), so NaN or inf held there reaches neither the value nor the gradient.
"""

from typing import Literal, get_args

import torch

#: which count a loss is divided by: every sampled row (object 0 or 1) or the positives
Normalizer = Literal["sampled", "positive"]
NORMALIZERS: tuple[str, ...] = get_args(Normalizer)


def positive_mask(object: torch.Tensor) -> torch.Tensor:
    """Bool, same shape as ``object``: sampled positives (object == 1)."""
    return object == 1


def sampled_mask(object: torch.Tensor) -> torch.Tensor:
    """Bool, same shape as ``object``: sampled rows, positives and negatives (object in {0, 1})."""
    return (object == 0) | (object == 1)


def count_mask(object: torch.Tensor, normalizer: Normalizer) -> torch.Tensor:
    """The mask whose true entries a loss is normalised by."""
    return sampled_mask(object) if normalizer == "sampled" else positive_mask(object)


def normalised_sum(per_row: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
    """``per_row.sum() / max(count.sum(), 1)``: a float32 0-d tensor, finite when count is 0."""
    return per_row.sum() / count.sum().clamp(min=1).to(per_row.dtype)


def check_normalizer(normalizer: str) -> Normalizer:
    """Return ``normalizer`` if it is one of :data:`NORMALIZERS`, else raise ValueError."""
    if normalizer not in NORMALIZERS:
        raise ValueError(f"normalizer must be one of {NORMALIZERS}, got {normalizer!r}")
    return normalizer  # type: ignore[return-value]
