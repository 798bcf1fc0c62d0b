"""What a checkpoint must hold, as a pydantic record, and the checksum that seals it.

:class:`CheckpointRecord` validates a dict read back by ``torch.load(weights_only=True)``:
every field's type (strictly: a bool is not a step count, a string is not a tensor), the
shapes and ranges the global generators accept (so restoring them cannot fail half-way),
and the counters' agreement with each other (the sampler's epoch and position are those
of ``step``; one RNG state per process; skipped steps <= steps). It checks; it converts
nothing: the loader returns the dict it validated.

:func:`payload_checksum` is a SHA-256 over the whole payload but the ``checksum`` entry
(every tensor's dtype, shape and bytes, every key and plain value), written by
:func:`~mono3d.train.save_checkpoint` and compared on loading, so a flipped bit anywhere
is caught even where the zip container and the pickle still parse.
"""

import hashlib
from typing import Annotated, Any, Literal

import torch
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

__all__ = ["CHECKPOINT_FORMAT", "CHECKPOINT_VERSION", "CheckpointRecord", "payload_checksum"]

CHECKPOINT_FORMAT = "mono3d-train-checkpoint"
#: 2 adds ``checksum``; version 1 files (no checksum) are still read
CHECKPOINT_VERSION = 2
_MT_WORDS = 624  # Mersenne Twister state words (python random, numpy legacy)
_UINT32 = 1 << 32


def _word_tensor(length: int) -> Any:
    """A validator: an int64 tensor of ``length`` values in [0, 2**32)."""

    def check(tensor: torch.Tensor) -> torch.Tensor:
        if tensor.dtype != torch.int64 or tuple(tensor.shape) != (length,):
            raise ValueError(f"expected an int64 tensor of shape ({length},), got "
                             f"{tensor.dtype} {tuple(tensor.shape)}")  # fmt: skip
        if length and not (0 <= int(tensor.min()) and int(tensor.max()) < _UINT32):
            raise ValueError("holds values outside [0, 2**32)")
        return tensor

    return AfterValidator(check)


def _byte_vector(tensor: torch.Tensor) -> torch.Tensor:
    if tensor.dtype != torch.uint8 or tensor.ndim != 1:
        raise ValueError(f"expected a 1-d uint8 tensor, got {tensor.dtype} {tuple(tensor.shape)}")
    return tensor


def _torch_generator_state(tensor: torch.Tensor) -> torch.Tensor:
    expected = torch.get_rng_state().numel()
    if _byte_vector(tensor).numel() != expected:
        raise ValueError(f"a CPU generator state has {expected} bytes, got {tensor.numel()}")
    return tensor


ByteVector = Annotated[torch.Tensor, AfterValidator(_byte_vector)]


class _Record(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, strict=True, arbitrary_types_allowed=True
    )


class PythonRandomState(_Record):
    """``random.getstate()``: version 3, 624 words and the position (<= 624), the cached
    gaussian."""

    version: Literal[3]
    state: Annotated[torch.Tensor, _word_tensor(_MT_WORDS + 1)]
    gauss: float | None

    @model_validator(mode="after")
    def _position_in_range(self) -> "PythonRandomState":
        if int(self.state[-1]) > _MT_WORDS:
            raise ValueError(f"state: position {int(self.state[-1])} exceeds {_MT_WORDS}")
        return self


class NumpyRandomState(_Record):
    """numpy's legacy global state (``get_state(legacy=True)``)."""

    kind: Literal["MT19937"]
    keys: Annotated[torch.Tensor, _word_tensor(_MT_WORDS)]
    pos: int = Field(ge=0, le=_MT_WORDS)
    has_gauss: Literal[0, 1]
    cached_gaussian: float


class RankRandomState(_Record):
    """One process's global generators (:func:`mono3d.train.capture_rng_state`)."""

    python: PythonRandomState
    torch: Annotated[torch.Tensor, AfterValidator(_torch_generator_state)]
    cuda: list[ByteVector]
    numpy: NumpyRandomState | None = None


class SamplerState(_Record):
    """Where the data order stands (:meth:`mono3d.train.StepBatchSampler.state`)."""

    seed: int = Field(ge=0)
    epoch: int = Field(ge=0)
    batches_consumed_in_epoch: int = Field(ge=0)
    batches_per_epoch: int = Field(ge=1)
    world_size: int = Field(ge=1)
    batch_size: int = Field(ge=1)
    num_samples: int = Field(ge=1)


class NonfiniteState(_Record):
    """The skipped-step counters."""

    consecutive: int = Field(ge=0)
    skipped_total: int = Field(ge=0)


class ParamGroup(_Record):
    """One optimiser parameter group: its parameter indices and hyper-parameters."""

    model_config = ConfigDict(extra="allow")

    params: list[int]
    lr: float
    weight_decay: float


class OptimizerState(_Record):
    """``optimizer.state_dict()``: per-parameter state (tensors and numbers) and groups."""

    state: dict[int, dict[str, torch.Tensor | float | int | None]]
    param_groups: list[ParamGroup]

    @model_validator(mode="after")
    def _state_of_known_parameters(self) -> "OptimizerState":
        indices = [i for group in self.param_groups for i in group.params]
        if len(indices) != len(set(indices)):
            raise ValueError("param_groups: a parameter index appears twice")
        unknown = sorted(set(self.state) - set(indices))
        if unknown:
            raise ValueError(f"state: entries for parameters {unknown} of no param group")
        return self


class SchedulerState(_Record):
    """A ``LambdaLR`` state dict (plain numbers; private fields are let through)."""

    model_config = ConfigDict(extra="allow")

    base_lrs: list[float]
    last_epoch: int = Field(ge=0)


class CheckpointRecord(_Record):
    """A mono3d training checkpoint, field by field (see :data:`CHECKPOINT_KEYS`)."""

    format: Literal["mono3d-train-checkpoint"]
    version: Literal[1, 2]
    step: int = Field(ge=0)
    model: dict[str, torch.Tensor]
    optimizer: OptimizerState
    scheduler: SchedulerState
    scaler: dict[str, Any] | None
    rng: list[RankRandomState] = Field(min_length=1)
    sampler: SamplerState
    nonfinite: NonfiniteState
    config: dict[str, Any]
    torch_version: str
    checksum: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    precision: dict[str, Any] | None = None
    """What ``train.amp`` resolved to (``mono3d.train._precision``); absent in older files."""

    @model_validator(mode="after")
    def _counters_agree(self) -> "CheckpointRecord":
        problems = []
        if self.version >= 2 and self.checksum is None:
            problems.append("checksum: missing (required from version 2 on)")
        sampler, step = self.sampler, self.step
        if (sampler.epoch, sampler.batches_consumed_in_epoch) != divmod(
            step, sampler.batches_per_epoch
        ):
            problems.append(
                f"sampler: epoch {sampler.epoch}, batch {sampler.batches_consumed_in_epoch} is "
                f"not where step {step} stands ({sampler.batches_per_epoch} batches per epoch)"
            )
        if len(self.rng) != sampler.world_size:
            problems.append(
                f"rng: {len(self.rng)} process states for a world of {sampler.world_size}"
            )
        if self.scheduler.last_epoch != step:
            problems.append(f"scheduler.last_epoch: {self.scheduler.last_epoch}, not step {step}")
        counts = self.nonfinite
        if not counts.consecutive <= counts.skipped_total <= step:
            problems.append(
                f"nonfinite: {counts.consecutive} consecutive and {counts.skipped_total} "
                f"skipped steps in {step}"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self


def _feed(digest: Any, value: Any) -> None:
    """Hash ``value`` into ``digest``: type tags, lengths, keys, tensor dtype/shape/bytes."""
    if isinstance(value, torch.Tensor):
        data = value.detach().cpu().contiguous().reshape(-1)
        digest.update(f"T{data.dtype}{tuple(value.shape)};".encode())
        digest.update(data.view(torch.uint8).numpy())
    elif isinstance(value, dict):
        digest.update(f"D{len(value)};".encode())
        for key, item in value.items():
            _feed(digest, key)
            _feed(digest, item)
    elif isinstance(value, list | tuple):
        digest.update(f"{type(value).__name__}{len(value)};".encode())
        for item in value:
            _feed(digest, item)
    else:
        digest.update(f"{type(value).__name__}:{value!r};".encode())


def payload_checksum(payload: dict[str, Any]) -> str:
    """SHA-256 (hex) of every entry of ``payload`` but ``checksum``, in order."""
    digest = hashlib.sha256()
    _feed(digest, {k: v for k, v in payload.items() if k != "checksum"})
    return digest.hexdigest()
