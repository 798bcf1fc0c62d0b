"""The training data loader: seeded per-sample augmentation, and worker errors that reach
the user as themselves.

A ``torch.utils.data.DataLoader`` re-raises an exception from a worker process by calling
its class with one string argument (the worker's traceback); a class that needs more
arguments, like ``KittiFormatError(path, line, reason)``, comes back as ``RuntimeError:
Caught KittiFormatError in DataLoader worker process 0``. Here a user-fixable error
(:data:`CARRIED_ERRORS`) is instead *returned* from the worker as a :class:`LoaderFailure`
that :func:`raise_if_failed` raises, in the training process, as the original exception
(same class, same one-line message), whatever the number of workers. Any other exception
(a bug) keeps the DataLoader's wrapping, which carries the worker's traceback.
"""

import pickle
import signal
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from mono3d.data import Batch, KittiFormatError, Sample, collate

from ._sampler import SampleKey, StepBatchSampler

__all__ = ["CARRIED_ERRORS", "AugmentedSamples", "LoaderFailure", "raise_if_failed",
           "training_batches"]  # fmt: skip

#: exceptions of a sample's loading that name a bad input file (re-raised as themselves)
CARRIED_ERRORS: tuple[type[Exception], ...] = (KittiFormatError, OSError)


@dataclass(frozen=True)
class LoaderFailure:
    """A sample (and so its batch) that could not be made: the exception, carried back."""

    error: Exception


def _carried(error: Exception) -> LoaderFailure | None:
    """``error`` as a :class:`LoaderFailure` when it is carried and survives pickling."""
    if not isinstance(error, CARRIED_ERRORS):
        return None
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        return None
    return LoaderFailure(error)


class AugmentedSamples(Dataset[Sample | LoaderFailure]):
    """A dataset indexed by :class:`SampleKey`: the image ``key.index``, augmented with a
    generator seeded by ``key.seed`` (so a sample does not depend on the worker that made
    it); a carried error is returned as a :class:`LoaderFailure`."""

    def __init__(self, dataset: Dataset[Sample], transforms: Any | None) -> None:
        self.dataset = dataset
        self.transforms = transforms

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, key: SampleKey) -> Sample | LoaderFailure:  # type: ignore[override]
        try:
            sample = self.dataset[key.index]
            if self.transforms is None:
                return sample
            generator = torch.Generator()
            generator.manual_seed(key.seed)
            return self.transforms(sample, generator=generator)
        except Exception as error:
            failure = _carried(error)
            if failure is None:
                raise
            return failure


def collate_or_fail(items: Sequence[Sample | LoaderFailure]) -> Batch | LoaderFailure:
    """The batch of ``items``, or the first :class:`LoaderFailure` among them."""
    for item in items:
        if isinstance(item, LoaderFailure):
            return item
    return collate(items)  # type: ignore[arg-type]


def raise_if_failed(batch: Batch | LoaderFailure) -> Batch:
    """``batch``; a :class:`LoaderFailure` raises its exception here."""
    if isinstance(batch, LoaderFailure):
        raise batch.error
    return batch


def _ignore_sigint(worker_id: int) -> None:
    """DataLoader worker init: leave SIGINT to the training process (a Ctrl-C reaches the
    whole process group; a worker that died of it would break the checkpointing step).
    SIGTERM keeps its default: the DataLoader and multiprocessing stop workers with it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def training_batches(
    samples: AugmentedSamples, sampler: StepBatchSampler, *, workers: int, pin_memory: bool
) -> Iterator[Batch | LoaderFailure]:
    """The batches of ``sampler`` (one per step), made by ``workers`` processes (0: here)."""
    loader = DataLoader(
        samples,
        batch_sampler=sampler,
        num_workers=workers,
        collate_fn=collate_or_fail,
        pin_memory=pin_memory,
        persistent_workers=False,
        prefetch_factor=2 if workers > 0 else None,
        worker_init_fn=_ignore_sigint if workers > 0 else None,
    )
    return iter(loader)
