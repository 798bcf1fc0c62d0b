"""Hooks into :meth:`mono3d.train.Trainer.run`, for tests and tools: a subclass overrides
what it needs; the defaults change nothing.

Every method is called on every rank with the 1-based number of the step concerned (the
number the history logs), so a test double can alter one rank's step (a NaN loss, a NaN
image), act after a checkpoint (SIGKILL itself) or read the trained model at the end,
without the training loop reading any environment variable.
"""

from typing import TYPE_CHECKING

import torch

from mono3d.data import Batch

if TYPE_CHECKING:
    from ._trainer import Trainer

__all__ = ["TrainCallbacks"]


class TrainCallbacks:
    """No-op hooks of a training run (see the module docstring)."""

    def batch(self, step: int, batch: Batch) -> Batch:
        """The batch step ``step`` trains on (default: the one the data loader made)."""
        return batch

    def loss(self, step: int, total: torch.Tensor) -> torch.Tensor:
        """The total loss of step ``step`` that decides finite/skip and is backpropagated."""
        return total

    def checkpoint_written(self, step: int, path: str) -> None:
        """Called after every checkpoint, on every rank, once rank 0 has written it."""

    def finished(self, trainer: "Trainer") -> None:
        """Called at the end of :meth:`~mono3d.train.Trainer.run` (not when it raised)."""
