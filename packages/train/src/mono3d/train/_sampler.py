"""The deterministic, sharded, resumable order in which training images are visited.

Epoch ``e`` visits ``randperm(num_samples)`` drawn from a generator seeded by
``(seed, "data_order", e)``; the first ``batches_per_epoch * world_size * batch_size``
indices are cut into global batches (the remainder is dropped, so every rank runs the same
number of steps), and rank ``r`` takes slice ``r`` of each global batch. Optimiser step ``s``
therefore always sees the same images whatever happened before, and resuming at step ``s``
simply starts the iteration there (epoch ``s // batches_per_epoch``, skipping the batches of
that epoch already consumed). Each sample also carries its own augmentation seed derived from
``(seed, "augment", step, rank, position)``, so augmentation does not depend on which
DataLoader worker prepared it or when.
"""

from collections.abc import Iterator
from dataclasses import dataclass

import torch

from ._rng import derive_seed, make_generator

__all__ = ["SampleKey", "StepBatchSampler"]


@dataclass(frozen=True)
class SampleKey:
    """What a dataset needs to produce one training sample: which image, and the seed of its
    augmentation."""

    index: int
    seed: int


class StepBatchSampler:
    """Yields, for this rank, the batch of every optimiser step from ``start_step`` on
    (an infinite iterator: training stops by step count, not by epochs).

    Each batch is a list of :class:`SampleKey`. Use as a DataLoader ``batch_sampler``.
    """

    def __init__(
        self,
        num_samples: int,
        batch_size: int,
        *,
        seed: int,
        rank: int = 0,
        world_size: int = 1,
        start_step: int = 0,
    ) -> None:
        if batch_size < 1 or world_size < 1 or not 0 <= rank < world_size or start_step < 0:
            raise ValueError(
                f"invalid sampler arguments: batch_size={batch_size}, rank={rank}, "
                f"world_size={world_size}, start_step={start_step}"
            )
        global_batch = batch_size * world_size
        if num_samples < global_batch:
            raise ValueError(
                f"the training set holds {num_samples} images, fewer than one global batch "
                f"(train.batch_size={batch_size} x {world_size} processes = {global_batch})"
            )
        self.num_samples = num_samples
        self.batch_size = batch_size
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.start_step = start_step
        self.batches_per_epoch = num_samples // global_batch

    def epoch_of(self, step: int) -> int:
        """The epoch that optimiser step ``step`` (0-based) belongs to."""
        return step // self.batches_per_epoch

    def epoch_order(self, epoch: int) -> torch.Tensor:
        """Int64[batches_per_epoch, world_size, batch_size]: every rank's indices of ``epoch``."""
        generator = make_generator(self.seed, "data_order", epoch)
        order = torch.randperm(self.num_samples, generator=generator)
        used = self.batches_per_epoch * self.world_size * self.batch_size
        return order[:used].view(self.batches_per_epoch, self.world_size, self.batch_size)

    def batch(self, step: int, order: torch.Tensor | None = None) -> list[SampleKey]:
        """This rank's batch of optimiser step ``step``."""
        if order is None:
            order = self.epoch_order(self.epoch_of(step))
        indices = order[step % self.batches_per_epoch, self.rank].tolist()
        return [
            SampleKey(int(index), derive_seed(self.seed, "augment", step, self.rank, position))
            for position, index in enumerate(indices)
        ]

    def state(self, next_step: int) -> dict[str, int]:
        """Where the order stands before step ``next_step`` (stored in checkpoints)."""
        return {
            "seed": self.seed,
            "epoch": self.epoch_of(next_step),
            "batches_consumed_in_epoch": next_step % self.batches_per_epoch,
            "batches_per_epoch": self.batches_per_epoch,
            "world_size": self.world_size,
            "batch_size": self.batch_size,
            "num_samples": self.num_samples,
        }

    def __iter__(self) -> Iterator[list[SampleKey]]:
        step = self.start_step
        epoch, order = -1, None
        while True:
            if self.epoch_of(step) != epoch:
                epoch = self.epoch_of(step)
                order = self.epoch_order(epoch)
            yield self.batch(step, order)
            step += 1
