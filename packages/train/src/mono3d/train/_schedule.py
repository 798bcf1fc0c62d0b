"""Optimiser and learning-rate schedule (a pure function of the step, so resume is exact).

Schedule: a linear warm-up from ``warmup_factor * lr`` to ``lr`` over ``warmup_steps``, then
``cosine`` (half cosine from ``lr`` down to ``min_lr_ratio * lr`` at the last step), ``step``
(multiply by ``gamma`` at each milestone) or ``constant``. It is a ``LambdaLR`` whose
factor depends only on the step count, and its state dict holds plain numbers.
"""

import math
from collections.abc import Callable
from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "OptimConfig",
    "ScheduleConfig",
    "build_optimizer",
    "build_scheduler",
    "lr_factor",
]


class OptimConfig(BaseModel):
    """The optimiser. ``lr`` is the peak learning rate (after warm-up) for a global batch of
    ``train.batch_size * world_size`` images (no automatic scaling)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Literal["adamw", "sgd"] = "adamw"
    lr: float = Field(default=2e-4, gt=0, allow_inf_nan=False)
    weight_decay: float = Field(default=1e-4, ge=0, allow_inf_nan=False)
    betas: tuple[float, float] = (0.9, 0.999)
    """AdamW only."""
    eps: float = Field(default=1e-8, gt=0)
    """AdamW only."""
    momentum: float = Field(default=0.9, ge=0, lt=1)
    """SGD only."""
    nesterov: bool = False
    """SGD only."""
    decay_norm_and_bias: bool = False
    """Apply weight decay to 1-d parameters (norm scales, biases) too; off by default."""

    @field_validator("betas")
    @classmethod
    def _betas_in_range(cls, betas: tuple[float, float]) -> tuple[float, float]:
        if not all(0 <= beta < 1 for beta in betas):
            raise ValueError(f"each beta must lie in [0, 1), got {betas}")
        return betas


class ScheduleConfig(BaseModel):
    """Warm-up then cosine / step / constant learning rate (per optimiser step)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Literal["cosine", "step", "constant"] = "cosine"
    warmup_steps: int = Field(default=100, ge=0)
    warmup_factor: float = Field(default=0.001, gt=0, le=1)
    """Learning-rate factor at step 0; rises linearly to 1 at ``warmup_steps``."""
    min_lr_ratio: float = Field(default=0.0, ge=0, le=1)
    """cosine: the factor reached at the last step."""
    milestones: tuple[int, ...] = ()
    """step: steps at which the learning rate is multiplied by ``gamma`` (increasing)."""
    gamma: float = Field(default=0.1, gt=0, le=1)

    @model_validator(mode="after")
    def _milestones_increase(self) -> "ScheduleConfig":
        if any(m <= 0 for m in self.milestones) or list(self.milestones) != sorted(
            set(self.milestones)
        ):
            raise ValueError(
                f"milestones must be positive and strictly increasing, got {list(self.milestones)}"
            )
        return self


def lr_factor(step: int, schedule: ScheduleConfig, total_steps: int) -> float:
    """The learning-rate multiplier for optimiser step ``step`` (0-based) of ``total_steps``."""
    if step < schedule.warmup_steps:
        alpha = step / schedule.warmup_steps
        warm = schedule.warmup_factor * (1 - alpha) + alpha
    else:
        warm = 1.0
    if schedule.name == "constant":
        decay = 1.0
    elif schedule.name == "step":
        decay = schedule.gamma ** sum(step >= m for m in schedule.milestones)
    else:
        span = max(total_steps - schedule.warmup_steps, 1)
        progress = min(max(step - schedule.warmup_steps, 0) / span, 1.0)
        cosine = 0.5 * (1 + math.cos(math.pi * progress))
        decay = schedule.min_lr_ratio + (1 - schedule.min_lr_ratio) * cosine
    return warm * decay


def _parameter_groups(model: torch.nn.Module, config: OptimConfig) -> list[dict[str, object]]:
    decay, no_decay = [], []
    for _, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        if parameter.ndim <= 1 and not config.decay_norm_and_bias:
            no_decay.append(parameter)
        else:
            decay.append(parameter)
    groups: list[dict[str, object]] = []
    if decay:
        groups.append({"params": decay, "weight_decay": config.weight_decay})
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0})
    if not groups:
        raise ValueError("the model has no trainable parameter (requires_grad=True)")
    return groups


def build_optimizer(model: torch.nn.Module, config: OptimConfig) -> torch.optim.Optimizer:
    """AdamW or SGD over the trainable parameters (1-d ones without weight decay by default)."""
    groups = _parameter_groups(model, config)
    if config.name == "sgd":
        return torch.optim.SGD(
            groups, lr=config.lr, momentum=config.momentum, nesterov=config.nesterov
        )
    return torch.optim.AdamW(groups, lr=config.lr, betas=config.betas, eps=config.eps)


def build_scheduler(
    optimizer: torch.optim.Optimizer, schedule: ScheduleConfig, total_steps: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """A ``LambdaLR`` applying :func:`lr_factor` (state dict: plain numbers only)."""

    def factor(step: int) -> float:
        return lr_factor(step, schedule, total_steps)

    lambdas: list[Callable[[int], float]] = [factor] * len(optimizer.param_groups)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambdas)
