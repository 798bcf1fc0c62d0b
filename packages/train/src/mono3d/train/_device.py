"""One parser for a device name: ``--device`` of every command that runs a model and the
``train.device`` config field.

Accepted spellings: ``auto`` (the CUDA device when one is available, else the CPU), ``cpu``,
``cuda`` and ``cuda:N``. Under ``torchrun``, ``auto`` and ``cuda`` spread the processes over
the node's devices (``LOCAL_RANK`` modulo their number) and ``cuda:N`` starts at device N
(``cuda:2`` with two processes per node uses devices 2 and 3).

:func:`parse_device` checks the spelling without importing torch (argument and config
validation stay light); :func:`resolve_device` turns it into a ``torch.device`` and fails
with one line when the machine has no such device.
"""

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

__all__ = ["DEVICE_HELP", "DeviceError", "parse_device", "resolve_device"]

#: what a device may be, for help texts and messages
DEVICE_HELP = "auto, cpu, cuda or cuda:N"

_SPELLING = re.compile(r"auto|cpu|cuda(?::(?P<index>[0-9]+))?")


class DeviceError(ValueError):
    """A device name that is not one of ``auto|cpu|cuda|cuda:N``, or that names a device
    this machine does not have. The message is one line."""


def parse_device(text: str) -> str:
    """``text`` as a canonical device name (``auto``, ``cpu``, ``cuda`` or ``cuda:N``);
    raises :class:`DeviceError` for anything else. Imports no torch."""
    value = str(text).strip().lower()
    match = _SPELLING.fullmatch(value)
    if match is None:
        raise DeviceError(f"device {text!r} is not one of {DEVICE_HELP}")
    if match.group("index") is not None:
        value = f"cuda:{int(match.group('index'))}"
    return value


def resolve_device(text: str, local_rank: int = 0) -> "torch.device":
    """The ``torch.device`` of a device name for the process with ``local_rank``.

    Raises :class:`DeviceError` when the name is malformed, CUDA is asked for but not
    available, or the index (plus ``local_rank``) is past the last CUDA device.
    """
    import torch

    value = parse_device(text)
    if value == "cpu" or (value == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise DeviceError(
            f"device {value!r}: no CUDA device is available (torch {torch.__version__}); "
            "use --device cpu or auto"
        )
    count = torch.cuda.device_count()
    if value in ("auto", "cuda"):
        return torch.device("cuda", local_rank % count)
    base = int(value.partition(":")[2] or 0)
    index = base + local_rank
    if index >= count:
        rank_note = f" for local rank {local_rank}" if local_rank else ""
        raise DeviceError(
            f"device {value!r}{rank_note}: this machine has {count} CUDA device(s), "
            f"cuda:0 to cuda:{count - 1}"
        )
    return torch.device("cuda", index)
