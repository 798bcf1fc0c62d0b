"""Random-number state: derived seeds, and capture/restore in a ``weights_only``-safe form.

Two mechanisms keep a run reproducible and exactly resumable:

- Every random choice the training loop makes on purpose (data order, augmentation, the
  criterion's anchor/proposal sampling) uses a generator seeded by :func:`derive_seed` from
  ``(seed, purpose, step, rank, ...)``. It therefore depends only on where the run is, not
  on how many batches a DataLoader worker prefetched or on what ran before.
- The global generators (python ``random``, numpy's legacy global state, torch CPU and
  CUDA) are captured in checkpoints anyway, for code that draws from them (e.g. a model's
  dropout). :func:`capture_rng_state` stores them as tensors and plain containers only, which
  ``torch.load(weights_only=True)`` accepts (a numpy array, for instance, is not).
"""

import random
from typing import Any

import torch

__all__ = ["capture_rng_state", "derive_seed", "make_generator", "restore_rng_state"]

_MASK64 = (1 << 64) - 1
_PURPOSES = {"data_order": 1, "augment": 2, "criterion": 3, "init": 4, "globals": 5}


def _splitmix64(value: int) -> int:
    value = (value + 0x9E3779B97F4A7C15) & _MASK64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK64
    return value ^ (value >> 31)


def derive_seed(seed: int, purpose: str, *keys: int) -> int:
    """A 63-bit seed that depends only on ``(seed, purpose, *keys)`` (e.g. step and rank).

    Distinct purposes or keys give statistically independent streams (splitmix64 mixing).
    """
    if purpose not in _PURPOSES:
        raise ValueError(f"unknown seed purpose {purpose!r}; expected one of {sorted(_PURPOSES)}")
    state = _splitmix64(int(seed) & _MASK64)
    for key in (_PURPOSES[purpose], *keys):
        state = _splitmix64(state ^ (int(key) & _MASK64))
    return state >> 1


def make_generator(seed: int, purpose: str, *keys: int, device: str = "cpu") -> torch.Generator:
    """A ``torch.Generator`` on ``device`` seeded with ``derive_seed(seed, purpose, *keys)``."""
    generator = torch.Generator(device=device)
    generator.manual_seed(derive_seed(seed, purpose, *keys))
    return generator


def _numpy_random() -> Any:
    try:
        import numpy
    except ImportError:  # pragma: no cover - numpy is a dependency of mono3d-data
        return None
    return numpy.random


def capture_rng_state() -> dict[str, Any]:
    """The state of every global generator, as tensors / ints / floats / None in dicts.

    Keys: ``python`` ({version, state Int64[625], gauss}), ``numpy`` ({keys Int64[624], pos,
    has_gauss, cached_gaussian}), ``torch`` (UInt8 tensor), ``cuda`` (list of UInt8 tensors,
    one per visible device; empty without CUDA).
    """
    version, internal, gauss = random.getstate()
    state: dict[str, Any] = {
        "python": {
            "version": int(version),
            "state": torch.tensor(internal, dtype=torch.int64),
            "gauss": gauss,
        },
        "torch": torch.get_rng_state(),
        "cuda": [s.cpu() for s in torch.cuda.get_rng_state_all()]
        if torch.cuda.is_available()
        else [],
    }
    np_random = _numpy_random()
    if np_random is not None:
        kind, keys, pos, has_gauss, cached = np_random.get_state(legacy=True)
        state["numpy"] = {
            "kind": str(kind),
            "keys": torch.tensor(keys.astype("int64")),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        }
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    """Set every global generator from a :func:`capture_rng_state` result.

    CUDA states are restored only when as many devices are visible as were captured; the
    numpy state only when numpy is importable.
    """
    python = state["python"]
    random.setstate(
        (int(python["version"]), tuple(int(v) for v in python["state"].tolist()), python["gauss"])
    )
    torch.set_rng_state(state["torch"].to(torch.uint8).cpu())
    cuda = state.get("cuda") or []
    if cuda and torch.cuda.is_available() and torch.cuda.device_count() == len(cuda):
        torch.cuda.set_rng_state_all([s.to(torch.uint8).cpu() for s in cuda])
    numpy_state = state.get("numpy")
    np_random = _numpy_random()
    if numpy_state is not None and np_random is not None:
        import numpy

        np_random.set_state(
            (
                numpy_state["kind"],
                numpy.asarray(numpy_state["keys"].tolist(), dtype=numpy.uint32),
                int(numpy_state["pos"]),
                int(numpy_state["has_gauss"]),
                float(numpy_state["cached_gaussian"]),
            )
        )
