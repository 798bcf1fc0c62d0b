"""What a resumed run may change against its checkpoint, and what it may not.

- The ``model`` section must be the checkpoint's (the weights would not fit otherwise).
- The optimiser must be able to take the stored state: the same ``optim.name`` (AdamW's
  moments are not SGD's momentum), the same ``optim.decay_norm_and_bias`` (it decides the
  parameter groups) and parameter groups of the same sizes holding state of the parameters'
  shapes. Anything else is refused with the field named (:class:`CheckpointError`).
- The settings the optimiser keeps in its parameter groups (``optim.lr``,
  ``optim.weight_decay``, and AdamW's ``betas``/``eps`` or SGD's ``momentum``/``nesterov``)
  must be the checkpoint's too: ``Optimizer.load_state_dict`` (and the scheduler's base
  learning rates) would silently put the stored values back, so a changed one is refused
  with the field named rather than ignored.
- Other differences are reported as breaking exactness, except those that do not touch the
  steps' arithmetic (:data:`EXACTNESS_NEUTRAL`) and ``train.steps`` (the usual thing to
  extend; a cosine schedule's later values follow the new total).
"""

from typing import Any

import torch
from pydantic import ValidationError

from mono3d.detector import DetectorConfig

from ._checkpoint import CheckpointError

__all__ = ["EXACTNESS_NEUTRAL", "check_optimizer_state", "describe_changes", "refuse_changes"]

#: config fields that may change on resume without changing the steps' arithmetic
EXACTNESS_NEUTRAL = (
    "train.steps:", "train.progress:", "train.workers:", "train.checkpoint_interval:",
    "train.eval_interval:", "train.time_limit_minutes:", "train.timeout_minutes:",
    "train.max_consecutive_nonfinite:", "data.max_image_pixels:", "eval.", "output.",
    "logger.",
)  # fmt: skip
#: optimiser settings a stored optimiser state cannot follow
_OPTIMIZER_SHAPING = ("name", "decay_norm_and_bias")
#: per optimiser: the settings its parameter groups hold (restored from the checkpoint)
_GROUP_SETTINGS = {
    "adamw": ("lr", "weight_decay", "betas", "eps"),
    "sgd": ("lr", "weight_decay", "momentum", "nesterov"),
}


def describe_changes(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    """``dotted.field: old -> new`` for every leaf that differs between two config dicts."""
    changes = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            changes += describe_changes(a, b, f"{prefix}{key}.")
        elif a != b:
            changes.append(f"{prefix}{key}: {a!r} -> {b!r}")
    return changes


def refuse_changes(path: object, stored: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Raise :class:`CheckpointError` for a changed ``model`` section, optimiser shape or
    parameter-group setting (before anything is restored or written); return the other
    changes that break exactness (``dotted.field: old -> new``)."""
    stored = {**stored, "model": _normalised_model(path, stored.get("model", {}))}
    old_model = stored["model"]
    if old_model != current["model"]:
        changes = "; ".join(describe_changes(old_model, current["model"], "model."))
        raise CheckpointError(
            f"{path}: the checkpoint was trained with another model config ({changes})"
        )
    old_optim, new_optim = stored.get("optim", {}), current["optim"]
    for field in _OPTIMIZER_SHAPING:
        if field in old_optim and old_optim[field] != new_optim[field]:
            raise CheckpointError(
                f"{path}: optim.{field}: the checkpoint's optimiser state was made with "
                f"{old_optim[field]!r}, this run asks for {new_optim[field]!r}; it cannot take "
                f"that state (resume with optim.{field}={old_optim[field]!r}, or start a new "
                "output.run_dir)"
            )
    for field in _GROUP_SETTINGS.get(str(new_optim.get("name")), ()):
        if field in old_optim and old_optim[field] != new_optim[field]:
            raise CheckpointError(
                f"{path}: optim.{field}: the checkpoint's optimiser holds {old_optim[field]!r} "
                f"in its parameter groups, this run asks for {new_optim[field]!r}; resuming "
                f"would silently keep {old_optim[field]!r} (resume with "
                f"optim.{field}={old_optim[field]!r}, or start a new output.run_dir)"
            )
    return [c for c in describe_changes(stored, current) if not c.startswith(EXACTNESS_NEUTRAL)]


def _normalised_model(path: object, model: Any) -> Any:
    """The stored ``model`` section as this version writes it (a run config of an earlier
    version may hold values that are now derived, e.g. ``head.num_classes``)."""
    if not isinstance(model, dict):
        return model
    try:
        return DetectorConfig.model_validate(model).model_dump(mode="json")
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise CheckpointError(f"{path}: stored config: model.{where}: {first['msg']}") from None


def check_optimizer_state(
    path: object, stored: dict[str, Any], optimizer: torch.optim.Optimizer
) -> None:
    """Raise :class:`CheckpointError` (naming ``optimizer.param_groups`` or
    ``optimizer.state[i].<key>``) unless ``optimizer.load_state_dict(stored)`` fits."""
    have = [len(group["params"]) for group in optimizer.param_groups]
    saved = [len(group["params"]) for group in stored["param_groups"]]
    if have != saved:
        raise CheckpointError(
            f"{path}: optimizer.param_groups: the checkpoint holds groups of {saved} "
            f"parameters, this run's optimiser {have}"
        )
    params = [p for group in optimizer.param_groups for p in group["params"]]
    for index, entry in stored["state"].items():
        for key, value in entry.items():
            shape = tuple(params[index].shape)
            if isinstance(value, torch.Tensor) and value.ndim and tuple(value.shape) != shape:
                raise CheckpointError(
                    f"{path}: optimizer.state[{index}].{key}: shape {tuple(value.shape)}, "
                    f"the parameter's {shape}"
                )
