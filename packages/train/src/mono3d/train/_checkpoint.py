"""Checkpoints: written atomically, read only through ``torch.load(weights_only=True)``.

A checkpoint is one dict of tensors and plain containers (see :data:`CHECKPOINT_KEYS`):

``format``/``version``  identify the file; ``step`` the optimiser steps done; ``model``,
``optimizer``, ``scheduler``, ``scaler`` the state dicts (``scaler`` None without a
GradScaler); ``rng`` the global generator states of every rank (``_rng``); ``sampler`` where
the data order stands (epoch, batches consumed in it, seed, world size); ``nonfinite`` the
skipped-step counters; ``config`` the run config as JSON-compatible data; ``torch_version``;
``checksum`` a SHA-256 of everything else (:func:`payload_checksum`).

Writing: :func:`mono3d.logger.atomic_write`: a temporary file in the checkpoint's own
directory, flushed and fsynced, then ``os.replace`` over the target and the directory
fsynced. A crash at any point leaves either the previous checkpoint or the new one, complete
(and at worst a stale temporary file, which :func:`remove_stale_temporaries` deletes); a
failed write (a full disk) is a :class:`CheckpointError` naming the file.
Reading never unpickles arbitrary objects: a file whose pickle names anything but tensors and
plain containers is refused with :class:`CheckpointError` before any of its code can run.
Whatever else is wrong with a file (not a zip, truncated, a flipped bit, a field of the wrong
type or out of range: :class:`CheckpointRecord`) is a :class:`CheckpointError` too.
"""

import os
import pathlib
import pickle
import warnings
from collections.abc import Mapping
from typing import Any

import pydantic
import torch

from mono3d.logger import atomic_write

from ._checkpoint_record import (
    CHECKPOINT_FORMAT,
    CHECKPOINT_VERSION,
    CheckpointRecord,
    payload_checksum,
)
from ._run_files import RunFileError, reported_write_errors

__all__ = [
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_KEYS",
    "CheckpointError",
    "load_checkpoint",
    "save_checkpoint",
]

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
    "checksum",
)
#: the keys :func:`save_checkpoint` fills in itself
_FILLED_IN = ("format", "version", "torch_version", "checksum")


class CheckpointError(RuntimeError):
    """A checkpoint cannot be read (missing, not a mono3d checkpoint, corrupt, unsafe to
    unpickle, or not one this run can continue from) or written (a full disk)."""


def save_checkpoint(path: str | os.PathLike[str], state: Mapping[str, Any]) -> pathlib.Path:
    """Write ``state`` (must hold every key of :data:`CHECKPOINT_KEYS` but ``format``,
    ``version``, ``torch_version`` and ``checksum``, which are filled in) to ``path``
    atomically. A write that fails for want of space (or any other ``OSError``) raises
    :class:`CheckpointError` naming ``path``; the previous checkpoint is left as it was."""
    path = pathlib.Path(path)
    payload = {key: value for key, value in state.items() if key != "checksum"}
    payload.setdefault("format", CHECKPOINT_FORMAT)
    payload.setdefault("version", CHECKPOINT_VERSION)
    payload.setdefault("torch_version", str(torch.__version__))
    missing = [key for key in CHECKPOINT_KEYS if key not in payload and key not in _FILLED_IN]
    if missing:
        raise ValueError(f"checkpoint state lacks {missing}")
    payload["checksum"] = payload_checksum(payload)
    try:
        with reported_write_errors(path, "cannot write the checkpoint"):
            atomic_write(path, lambda handle: torch.save(payload, handle))
    except RunFileError as error:
        raise CheckpointError(f"{error}; the previous checkpoint is unchanged") from None
    return path


def load_checkpoint(
    path: str | os.PathLike[str], map_location: str | torch.device = "cpu"
) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (``weights_only=True`` only).

    Raises :class:`CheckpointError` naming the file when it is missing, unreadable, refused
    by the restricted unpickler (it names a global other than tensors and plain containers,
    e.g. a ``__reduce__`` that would run code), not a mono3d training checkpoint, a field is
    invalid (:class:`CheckpointRecord`; the message names it) or the checksum differs.
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
    except Exception as error:
        reason = " ".join(str(error).split())[:200] or type(error).__name__
        raise CheckpointError(f"{path}: not a readable checkpoint ({reason})") from None
    _check_record(path, state)
    return state


def _check_record(path: pathlib.Path, state: object) -> None:
    """Raise :class:`CheckpointError` unless ``state`` is a valid, intact checkpoint."""
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"{path}: not a mono3d training checkpoint (no format={CHECKPOINT_FORMAT!r} entry)"
        )
    version = state.get("version")
    if type(version) is not int or not 1 <= version <= CHECKPOINT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint version {version!r} is not supported "
            f"(this mono3d-train reads versions 1 to {CHECKPOINT_VERSION})"
        )
    required = CHECKPOINT_KEYS if version >= 2 else CHECKPOINT_KEYS[:-1]
    missing = [key for key in required if key not in state]
    if missing:
        raise CheckpointError(f"{path}: checkpoint lacks {missing}")
    if version >= 2 and state["checksum"] != payload_checksum(state):
        raise CheckpointError(
            f"{path}: checksum mismatch: the file was corrupted after it was written"
        )
    try:
        CheckpointRecord.model_validate(state)
    except pydantic.ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'checkpoint'}: {e['msg']}"
            for e in error.errors(include_url=False)[:3]
        )
        raise CheckpointError(f"{path}: invalid checkpoint: {problems}") from None
