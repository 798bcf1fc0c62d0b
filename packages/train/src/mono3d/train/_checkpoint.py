"""Checkpoints: written atomically, read only through ``torch.load(weights_only=True)``.

A checkpoint is one dict of tensors and plain containers (see :data:`CHECKPOINT_KEYS`):

``format``/``version``  identify the file; ``step`` the optimiser steps done; ``model``,
``optimizer``, ``scheduler``, ``scaler`` the state dicts (``scaler`` None without a
GradScaler); ``rng`` the global generator states of every rank (``_rng``); ``sampler`` where
the data order stands (epoch, batches consumed in it, seed, world size); ``nonfinite`` the
skipped-step counters; ``config`` the run config as JSON-compatible data; ``torch_version``.

Writing: :func:`mono3d.logger.atomic_write`: a temporary file in the checkpoint's own
directory, flushed and fsynced, then ``os.replace`` over the target and the directory
fsynced. A crash at any point leaves either the previous checkpoint or the new one, complete.
Reading never unpickles arbitrary objects: a file whose pickle names anything but tensors and
plain containers is refused with :class:`CheckpointError` before any of its code can run.
"""

import os
import pathlib
import pickle
import warnings
from collections.abc import Mapping
from typing import Any

import torch

from mono3d.logger import atomic_write

__all__ = [
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_KEYS",
    "CheckpointError",
    "load_checkpoint",
    "save_checkpoint",
]

CHECKPOINT_FORMAT = "mono3d-train-checkpoint"
CHECKPOINT_VERSION = 1
CHECKPOINT_KEYS = (
    "format",
    "version",
    "step",
    "model",
    "optimizer",
    "scheduler",
    "scaler",
    "rng",
    "sampler",
    "nonfinite",
    "config",
    "torch_version",
)


class CheckpointError(RuntimeError):
    """A checkpoint cannot be read: missing, not a mono3d checkpoint, or unsafe to unpickle."""


def save_checkpoint(path: str | os.PathLike[str], state: Mapping[str, Any]) -> pathlib.Path:
    """Write ``state`` (must hold every key of :data:`CHECKPOINT_KEYS` but ``format``,
    ``version`` and ``torch_version``, which are filled in) to ``path`` atomically."""
    path = pathlib.Path(path)
    payload = dict(state)
    payload.setdefault("format", CHECKPOINT_FORMAT)
    payload.setdefault("version", CHECKPOINT_VERSION)
    payload.setdefault("torch_version", str(torch.__version__))
    missing = [key for key in CHECKPOINT_KEYS if key not in payload]
    if missing:
        raise ValueError(f"checkpoint state lacks {missing}")
    atomic_write(path, lambda handle: torch.save(payload, handle))
    return path


def load_checkpoint(
    path: str | os.PathLike[str], map_location: str | torch.device = "cpu"
) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (``weights_only=True`` only).

    Raises :class:`CheckpointError` naming the file when it is missing, unreadable, refused
    by the restricted unpickler (it names a global other than tensors and plain containers,
    e.g. a ``__reduce__`` that would run code) or not a mono3d training checkpoint.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        with warnings.catch_warnings():
            # torch warns about pickle protocols it did not write itself; the verdict
            # (load or refuse) is what matters here
            warnings.simplefilter("ignore", UserWarning)
            state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        reason = next((line for line in lines if "nsupported" in line), type(error).__name__)
        raise CheckpointError(
            f"{path}: refused to load: torch.load(weights_only=True) rejected it ({reason}); "
            "the file holds something other than tensors and plain containers, or is corrupt, "
            "and unpickling it without that restriction could run arbitrary code"
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError) as error:
        raise CheckpointError(f"{path}: not a readable checkpoint ({error})") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"{path}: not a mono3d training checkpoint (no format={CHECKPOINT_FORMAT!r} entry)"
        )
    if state.get("version") != CHECKPOINT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint version {state.get('version')!r} is not supported "
            f"(this mono3d-train reads version {CHECKPOINT_VERSION})"
        )
    missing = [key for key in CHECKPOINT_KEYS if key not in state]
    if missing:
        raise CheckpointError(f"{path}: checkpoint lacks {missing}")
    return state
