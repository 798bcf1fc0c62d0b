"""The one checking switch.

Checks are on unless the environment says ``MONO3D_CHECKS=0`` (also ``false``/``off``/``no``)
when ``mono3d.contracts`` is imported. Off means every check this package makes: ``contract``
returns functions unchanged (no overhead at all), bundles skip their field, shared-dim and
value checks, and ``check_same_batch`` does nothing; the blocks' own guards ask
:func:`checks_enabled` and are skipped too (contracts/README.md lists them). At run time
``checks(False)`` turns the same checks off inside a ``with`` block (one boolean test per
decorated call remains).
"""

import contextlib
import os
from collections.abc import Iterator

import torch

_OFF_WORDS = frozenset({"0", "false", "off", "no"})


def _env_enabled() -> bool:
    return os.environ.get("MONO3D_CHECKS", "1").strip().lower() not in _OFF_WORDS


#: Read once, at import: decides whether ``contract`` wraps at all.
CHECKS_AT_IMPORT: bool = _env_enabled()

_state = {"enabled": CHECKS_AT_IMPORT}


def is_tracing() -> bool:
    """True while torch.compile / torch.export trace: contracts are not checked there."""
    compiler = getattr(torch, "compiler", None)
    is_compiling = getattr(compiler, "is_compiling", None)
    return bool(is_compiling is not None and is_compiling())


def checks_enabled() -> bool:
    """Whether contracts are checked right now."""
    return _state["enabled"]


def set_checks(enabled: bool) -> None:
    """Turn checking on or off for the rest of the process."""
    _state["enabled"] = bool(enabled)


@contextlib.contextmanager
def checks(enabled: bool) -> Iterator[None]:
    """Turn checking on or off inside a ``with`` block, restoring the previous state after.

    Turning checks on has no effect on functions decorated while ``MONO3D_CHECKS=0``
    (those were never wrapped); it does turn bundle checks and ``check_same_batch`` back on.
    """
    previous = _state["enabled"]
    _state["enabled"] = bool(enabled)
    try:
        yield
    finally:
        _state["enabled"] = previous
