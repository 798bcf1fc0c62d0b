"""Numeric precision chosen for the hardware: what ``train.amp`` (and ``predict --precision``)
resolve to.

``auto`` picks bfloat16 autocast with channels_last activations where the device runs bf16
natively, and float32 everywhere else:

- a CUDA device: bf16 when ``torch.cuda.is_bf16_supported()`` (Ampere and later);
- a CPU: bf16 only when its flags (``/proc/cpuinfo``) include a native bf16 instruction set
  (:data:`NATIVE_BF16_FLAGS`) AND a short probe (:func:`probe_bf16_convolutions`, a few 3x3
  convolutions, about 0.1 s) runs them in bf16 + channels_last in at most
  :data:`PROBE_MAX_RATIO` of the float32 time. The flag alone is not enough: an Intel CPU
  with ``avx512_bf16`` but no AMX ran the detector slower in bf16 than in float32, an AMD
  EPYC with the same flag twice as fast.

``off``, ``bf16`` and ``fp16`` are explicit: ``bf16`` is autocast + channels_last whatever
the probe says, ``fp16`` autocast + channels_last with a GradScaler (CUDA only). Autocast
covers the model's forward; the losses, the target codecs, IoU and matching run in float32
(the trainer casts the outputs, ``mono3d.auxi`` and the post-processing compute in float32).

The resolved :class:`Precision` is printed once and stored in the checkpoint (key
``precision``) and as the first line of the run's ``config.yaml``; a resumed ``auto`` run
takes the checkpoint's choice instead of probing again (a probe on a busier machine must
not change a run's arithmetic half-way).
"""

import contextlib
import dataclasses
import os
import pathlib
import pickle
import time
import typing
import warnings
from collections.abc import Callable, Iterable
from typing import Any, Literal, get_args

import torch
from torch import nn

from mono3d.detector import ConfigError

__all__ = [
    "DEFAULT_AMP",
    "NATIVE_BF16_FLAGS",
    "PROBE_MAX_RATIO",
    "AmpSetting",
    "Precision",
    "ProbeResult",
    "cpu_flags",
    "probe_bf16_convolutions",
    "resolve_for_run",
    "resolve_precision",
    "stored_precision",
]

#: what ``train.amp`` / ``--precision`` accept
AmpSetting = Literal["auto", "off", "bf16", "fp16"]
#: what a setting resolves to
Amp = Literal["off", "bf16", "fp16"]
AMP_SETTINGS: tuple[str, ...] = get_args(AmpSetting)
#: the default of ``train.amp`` (the run config) and of ``predict --precision``
DEFAULT_AMP: AmpSetting = "auto"

#: CPU flags (Linux ``/proc/cpuinfo`` names) of a native bf16 arithmetic unit
NATIVE_BF16_FLAGS: tuple[str, ...] = ("avx512_bf16", "amx_bf16")
#: ``auto`` picks bf16 on a CPU when the probe's bf16 time is at most this share of float32's
#: (measured: about 0.3-0.5 on an AMD EPYC with avx512_bf16; above 1 where bf16 is emulated)
PROBE_MAX_RATIO = 0.8
#: the probe: a 3x3 convolution of this many channels on a (1, C, H, W) map, timed this often
PROBE_CHANNELS, PROBE_SIZE, PROBE_REPEATS = 128, (32, 96), 5

_DTYPES: dict[str, torch.dtype] = {"bf16": torch.bfloat16, "fp16": torch.float16}


@dataclasses.dataclass(frozen=True)
class Precision:
    """A resolved precision: ``amp`` (off / bf16 / fp16), whether activations and convolution
    weights are channels_last, the ``setting`` it came from and the ``reason`` for it."""

    amp: Amp
    channels_last: bool
    setting: AmpSetting
    reason: str

    @property
    def dtype(self) -> torch.dtype | None:
        """The autocast dtype (None: float32, no autocast)."""
        return _DTYPES.get(self.amp)

    def autocast(self, device_type: str) -> contextlib.AbstractContextManager[Any]:
        """``torch.autocast`` in this precision on ``device_type`` (a null context for off)."""
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=device_type, dtype=self.dtype)

    def prepare(self, module: nn.Module) -> nn.Module:
        """``module`` with its 4-d parameters channels_last when this precision asks for it
        (in place; convolutions then keep their activations channels_last too)."""
        if self.channels_last:
            module.to(memory_format=torch.channels_last)
        return module

    def describe(self) -> str:
        """One line: what runs and why, e.g. ``bf16 autocast + channels_last (auto: ...)``."""
        what = "float32" if self.dtype is None else f"{self.amp} autocast"
        if self.channels_last:
            what += " + channels_last"
        return f"precision {what} ({self.setting}: {self.reason})"

    def as_dict(self) -> dict[str, Any]:
        """Plain data for a checkpoint (``torch.load(weights_only=True)`` reads it)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Precision":
        """The inverse of :meth:`as_dict`; ValueError naming the field when it is not one."""
        amp = data.get("amp")
        if amp not in get_args(Amp):
            raise ValueError(f"precision.amp: expected one of {get_args(Amp)}, got {amp!r}")
        setting = data.get("setting", amp)
        if setting not in AMP_SETTINGS:
            raise ValueError(f"precision.setting: expected one of {AMP_SETTINGS}, got {setting!r}")
        return cls(
            amp=typing.cast(Amp, amp),
            channels_last=bool(data.get("channels_last", False)),
            setting=typing.cast(AmpSetting, setting),
            reason=str(data.get("reason", "")),
        )


@dataclasses.dataclass(frozen=True)
class ProbeResult:
    """The fastest float32 and bf16 (+ channels_last) time of the probe convolution."""

    fp32_seconds: float
    bf16_seconds: float

    @property
    def ratio(self) -> float:
        """bf16 time / float32 time (below 1: bf16 is faster)."""
        return self.bf16_seconds / max(self.fp32_seconds, 1e-12)


def cpu_flags(cpuinfo: str | os.PathLike[str] = "/proc/cpuinfo") -> frozenset[str]:
    """The CPU's feature flags (the first ``flags`` line of ``cpuinfo``); empty where the
    file does not exist or holds none (not Linux)."""
    try:
        text = pathlib.Path(cpuinfo).read_text(errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return frozenset(value.split())
    return frozenset()


def probe_bf16_convolutions(
    *,
    channels: int = PROBE_CHANNELS,
    size: tuple[int, int] = PROBE_SIZE,
    repeats: int = PROBE_REPEATS,
) -> ProbeResult:
    """Time one 3x3 convolution (``channels`` in and out, a (1, channels, *size) map, no
    gradient) in float32 (NCHW) and under CPU bf16 autocast with channels_last, after one
    warm-up of each, interleaved ``repeats`` times; the least process CPU time of each (CPU
    time: a machine shared with other jobs deschedules the probe, which wall time would
    count). With the current torch thread count; about 0.1 s where bf16 is native."""
    generator = torch.Generator().manual_seed(0)
    weight = torch.randn(channels, channels, 3, 3, generator=generator) * 0.05
    x = torch.randn(1, channels, *size, generator=generator)
    weight_cl = weight.contiguous(memory_format=torch.channels_last)
    x_cl = x.contiguous(memory_format=torch.channels_last)

    def fp32() -> None:
        torch.nn.functional.conv2d(x, weight, padding=1)

    def bf16() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            torch.nn.functional.conv2d(x_cl, weight_cl, padding=1)

    best = {fp32: float("inf"), bf16: float("inf")}
    with torch.no_grad():
        for fn in best:  # warm-up: oneDNN builds its kernels
            fn()
        for _ in range(repeats):
            for fn in best:
                start = time.process_time()
                fn()
                best[fn] = min(best[fn], time.process_time() - start)
    return ProbeResult(fp32_seconds=best[fp32], bf16_seconds=best[bf16])


def _auto_cpu(flags: Iterable[str], probe: Callable[[], ProbeResult]) -> tuple[Amp, str]:
    native = sorted(set(flags) & set(NATIVE_BF16_FLAGS))
    if not native:
        return "off", f"the CPU has none of the bf16 flags {', '.join(NATIVE_BF16_FLAGS)}"
    result = probe()
    timing = (
        f"bf16 convolutions took {result.ratio:.2f}x the float32 time "
        f"({result.bf16_seconds * 1e3:.1f} vs {result.fp32_seconds * 1e3:.1f} ms)"
    )
    if result.ratio <= PROBE_MAX_RATIO:
        return "bf16", f"the CPU has {', '.join(native)} and {timing}"
    return "off", f"the CPU has {', '.join(native)} but {timing} (bf16 needs <= {PROBE_MAX_RATIO})"


def resolve_precision(
    setting: str,
    device: torch.device | str,
    *,
    flags: Iterable[str] | None = None,
    probe: Callable[[], ProbeResult] | None = None,
    cuda_bf16: Callable[[], bool] | None = None,
    source: str = "train.amp",
) -> Precision:
    """What ``setting`` (auto / off / bf16 / fp16) means on ``device``.

    ``flags`` (default :func:`cpu_flags`), ``probe`` (default :func:`probe_bf16_convolutions`)
    and ``cuda_bf16`` (default ``torch.cuda.is_bf16_supported``) are read only by ``auto``;
    tests inject them. Raises :class:`mono3d.detector.ConfigError` naming ``source`` for an
    unknown setting or fp16 off CUDA.
    """
    device = torch.device(device)
    if setting not in AMP_SETTINGS:
        raise ConfigError(f"{source}: expected one of {', '.join(AMP_SETTINGS)}, got {setting!r}")
    if setting == "fp16" and device.type != "cuda":
        raise ConfigError(f"{source}: fp16 needs a CUDA device (use bf16 or auto on the CPU)")
    if setting == "off":
        return Precision(amp="off", channels_last=False, setting="off", reason="as configured")
    if setting in ("bf16", "fp16"):
        amp = typing.cast(Amp, setting)
        return Precision(amp=amp, channels_last=True, setting=amp, reason="as configured")
    if device.type == "cuda":
        supported = (cuda_bf16 or torch.cuda.is_bf16_supported)()
        name = torch.cuda.get_device_name(device) if cuda_bf16 is None else "the CUDA device"
        if supported:
            return Precision("bf16", True, "auto", f"{name} supports bf16")
        return Precision("off", False, "auto", f"{name} does not support bf16")
    if device.type != "cpu":
        return Precision("off", False, "auto", f"no bf16 rule for device type {device.type}")
    amp, reason = _auto_cpu(
        cpu_flags() if flags is None else flags, probe or probe_bf16_convolutions
    )
    return Precision(amp, amp == "bf16", "auto", reason)


def stored_precision(checkpoint: str | os.PathLike[str]) -> Precision | None:
    """The precision a checkpoint was trained in (its ``precision`` entry), None when the
    file does not exist, cannot be read or predates the entry. Reads the file memory-mapped
    (``weights_only=True``), so the tensors are not loaded."""
    path = pathlib.Path(checkpoint)
    if not path.is_file():
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        stored = state.get("precision") if isinstance(state, dict) else None
        return Precision.from_dict(stored) if isinstance(stored, dict) else None
    except (RuntimeError, OSError, EOFError, ValueError, AttributeError, pickle.UnpicklingError):
        return None


def resolve_for_run(
    setting: str,
    device: torch.device,
    *,
    checkpoint: str | os.PathLike[str],
    source: str = "train.amp",
) -> Precision:
    """The precision of a training run: an ``auto`` run that has a checkpoint at
    ``checkpoint`` (a resume) keeps the choice stored there; otherwise
    :func:`resolve_precision`, on rank 0 only when a process group is up, its answer
    broadcast so every rank computes alike."""
    if setting == "auto":
        stored = stored_precision(checkpoint)
        if stored is not None and stored.setting == "auto":
            kept = stored.reason.removeprefix("kept from the checkpoint: ")
            return dataclasses.replace(stored, reason=f"kept from the checkpoint: {kept}")
    group = torch.distributed.is_available() and torch.distributed.is_initialized()
    if not group or setting != "auto":
        return resolve_precision(setting, device, source=source)
    chosen: list[Any] = [None]
    if torch.distributed.get_rank() == 0:
        chosen[0] = resolve_precision(setting, device, source=source).as_dict()
    torch.distributed.broadcast_object_list(
        chosen, src=0, device=device if device.type == "cuda" else None
    )
    return Precision.from_dict(chosen[0])
