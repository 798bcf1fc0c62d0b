"""Process-group plumbing for ``torchrun``: who am I, which device, and agreeing across ranks.

A single process (no ``WORLD_SIZE`` in the environment, or ``WORLD_SIZE=1``) is a world of
one and every collective below is the identity, so the trainer has one code path.
"""

import datetime
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from ._device import resolve_device

__all__ = ["DistContext", "init_distributed", "shutdown_distributed"]


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"environment variable {name}={raw!r} is not an integer") from None


@dataclass(frozen=True)
class DistContext:
    """The process's place in the run: rank, world size, local rank and device."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        """Rank 0: the only rank that writes files, logs and shows a progress bar."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def any(self, *flags: bool) -> list[bool]:
        """Each flag OR-ed over all ranks (one all_reduce for all of them)."""
        if not self.distributed:
            return [bool(f) for f in flags]
        tensor = torch.tensor([int(bool(f)) for f in flags], dtype=torch.int32, device=self.device)
        dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
        return [bool(v) for v in tensor.tolist()]

    def mean(self, values: torch.Tensor) -> torch.Tensor:
        """``values`` averaged over ranks (float64 on this rank's device)."""
        if not self.distributed:
            return values.to(torch.float64)
        tensor = values.detach().to(device=self.device, dtype=torch.float64).clone()
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor / self.world_size

    def gather(self, tensor: torch.Tensor) -> list[torch.Tensor]:
        """Every rank's copy of ``tensor`` (same shape and dtype on all ranks), on the CPU."""
        if not self.distributed:
            return [tensor.detach().cpu().clone()]
        local = tensor.detach().to(self.device).contiguous()
        parts = [torch.empty_like(local) for _ in range(self.world_size)]
        dist.all_gather(parts, local)
        return [part.cpu() for part in parts]

    def barrier(self) -> None:
        if self.distributed:
            if self.device.type == "cuda":
                dist.barrier(device_ids=[self.device.index])
            else:
                dist.barrier()


def init_distributed(device: str = "auto", timeout_minutes: float = 30.0) -> DistContext:
    """Read torchrun's environment (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``), choose the
    device and, for a world of more than one, join the process group (nccl on GPU, gloo on
    CPU).

    ``device``: ``auto`` (CUDA when available), ``cpu``, ``cuda`` or ``cuda:N``, resolved by
    :func:`mono3d.train._device.resolve_device` (a :class:`DeviceError` when unavailable).
    """
    world_size = _env_int("WORLD_SIZE", 1)
    rank = _env_int("RANK", 0)
    local_rank = _env_int("LOCAL_RANK", 0)
    torch_device = resolve_device(device, local_rank)
    if torch_device.type == "cuda":
        torch.cuda.set_device(torch_device)
    if world_size > 1 and not dist.is_initialized():
        timeout = datetime.timedelta(minutes=timeout_minutes)
        if torch_device.type == "cuda":
            dist.init_process_group(backend="nccl", timeout=timeout, device_id=torch_device)
        else:
            dist.init_process_group(backend="gloo", timeout=timeout)
    return DistContext(rank=rank, world_size=world_size, local_rank=local_rank, device=torch_device)


def shutdown_distributed() -> None:
    """Leave the process group, if one was joined."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
