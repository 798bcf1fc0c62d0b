"""Where ResNet weights come from: nothing, a torchvision weights enum, or a local file."""

import os
import pathlib
import re
from collections.abc import Mapping

import torch
import torchvision.models as tv_models
from torch import Tensor
from torchvision.models import WeightsEnum

#: state_dict prefixes of a torchvision ResNet that the backbone does not hold
IGNORED_PREFIXES: tuple[str, ...] = ("layer4.", "fc.")

_ENUM_NAME = re.compile(r"^(?:(?P<cls>ResNet\d+_Weights)\.)?(?P<member>[A-Z][A-Z0-9_]*)$")


def weights_enum(name: str, depth: int) -> WeightsEnum | None:
    """The torchvision weights enum member ``name`` names for a ResNet of ``depth``.

    ``name`` is a member ("IMAGENET1K_V1", "DEFAULT") or a qualified name
    ("ResNet50_Weights.IMAGENET1K_V2"). Returns None when ``name`` does not look like an enum
    name at all (it is then taken as a file path); raises ValueError when it does but names
    no member, or names another depth's weights.
    """
    match = _ENUM_NAME.match(name)
    if match is None:
        return None
    expected = f"ResNet{depth}_Weights"
    cls_name = match.group("cls") or expected
    if cls_name != expected:
        raise ValueError(f"weights={name!r} are for {cls_name[:-8]}, but depth={depth}")
    enum = getattr(tv_models, expected)
    member = match.group("member")
    if member not in enum.__members__:
        raise ValueError(
            f"weights={name!r}: {expected} has no member {member!r} "
            f"(choices: {', '.join(enum.__members__)}); a file path must exist"
        )
    return enum[member]


def read_state_dict(path: pathlib.Path) -> dict[str, Tensor]:
    """Tensors of a state_dict file (``torch.load(weights_only=True)``), with the keys of a
    torchvision ResNet; a ``{"state_dict": ...}`` or ``{"model": ...}`` wrapper is unwrapped."""
    if not path.is_file():
        raise FileNotFoundError(f"weights file not found: {path}")
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # unpickling refused or corrupt file
        raise ValueError(f"{path}: cannot read a state_dict ({error})") from error
    if isinstance(loaded, Mapping):
        for wrapper in ("state_dict", "model"):
            if isinstance(loaded.get(wrapper), Mapping):
                loaded = loaded[wrapper]
                break
    if not isinstance(loaded, Mapping) or not all(
        isinstance(k, str) and isinstance(v, Tensor) for k, v in loaded.items()
    ):
        raise ValueError(
            f"{path}: expected a state_dict (str -> Tensor), got {type(loaded).__name__}"
        )
    return dict(loaded)


def resolve_state_dict(
    weights: str | os.PathLike[str], depth: int
) -> tuple[dict[str, Tensor], str]:
    """(state_dict, a name for error messages) for a weights spec: a torchvision enum name
    (downloaded by torchvision, cached in ``$TORCH_HOME``) or a local file path."""
    if isinstance(weights, str):
        member = weights_enum(weights, depth) if not pathlib.Path(weights).is_file() else None
        if member is not None:
            return dict(member.get_state_dict(progress=False)), str(member)
    path = pathlib.Path(weights)
    return read_state_dict(path), str(path)


def check_state_dict(
    state: Mapping[str, Tensor], expected: Mapping[str, Tensor], source: str, depth: int
) -> dict[str, Tensor]:
    """The entries of ``state`` the backbone holds, after checking they are exactly the
    expected keys with the expected shapes; ValueError naming ``source`` otherwise.

    layer4/fc keys are dropped; ``num_batches_tracked`` may be present or not.
    """
    kept = {k: v for k, v in state.items() if not k.startswith(IGNORED_PREFIXES)}
    optional = {k for k in expected if k.endswith("num_batches_tracked")}
    kept = {k: v for k, v in kept.items() if k in expected or not k.endswith("num_batches_tracked")}
    missing = sorted(set(expected) - set(kept) - optional)
    unexpected = sorted(set(kept) - set(expected))
    mismatched = [
        f"{k}: expected {tuple(expected[k].shape)}, got {tuple(v.shape)}"
        for k, v in kept.items()
        if k in expected and v.shape != expected[k].shape
    ]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing keys (e.g. {', '.join(missing[:5])})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected keys (e.g. {', '.join(unexpected[:5])})")
    if mismatched:
        problems.append(f"{len(mismatched)} shape mismatches (e.g. {'; '.join(mismatched[:3])})")
    if problems:
        raise ValueError(
            f"{source}: not the state_dict of a torchvision ResNet{depth}: " + ", ".join(problems)
        )
    return kept
