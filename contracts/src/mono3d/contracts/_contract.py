"""The ``contract`` decorator: jaxtyping + beartype when checks are on, nothing when off."""

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import torch
from beartype import beartype
from beartype.roar import BeartypeException
from jaxtyping import TypeCheckError, jaxtyped

from ._errors import ContractError
from ._explain import explain_call, returned_value
from ._switch import CHECKS_AT_IMPORT, _state

F = TypeVar("F", bound=Callable[..., Any])


def is_tracing() -> bool:
    """True while torch.compile / torch.export trace: contracts are not checked there."""
    compiler = getattr(torch, "compiler", None)
    is_compiling = getattr(compiler, "is_compiling", None)
    return bool(is_compiling is not None and is_compiling())


def contract(fn: F) -> F:
    """Check the jaxtyping annotations of ``fn`` (arguments and return) on every call.

    Dimension names shared between arguments and the return value must agree within one
    call. jaxtyping + beartype do the checking; a violation raises :class:`ContractError`
    (a ``TypeError``) whose message is one line naming the function, the argument (or the
    return value), the expected and the actual shape and dtype, and for a disagreeing
    dimension the argument that bound it::

        scale_boxes: parameter 'scale': expected (b=2) float, got (3,) float32; scale has
        b=3, but b=2 was bound by boxes (2, 3, 4)

    With ``MONO3D_CHECKS=0`` at import the function is returned unchanged; inside
    ``with checks(False):`` and while torch.compile/export trace, the unchecked function
    is called directly.
    """
    if not CHECKS_AT_IMPORT:
        return fn
    name = getattr(fn, "__qualname__", repr(fn))
    checked = jaxtyped(typechecker=beartype)(fn)

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not _state["enabled"] or is_tracing():
            return fn(*args, **kwargs)
        try:
            return checked(*args, **kwargs)
        except ContractError:
            raise
        except (TypeCheckError, BeartypeException) as error:
            message = explain_call(fn, name, args, kwargs, returned_value(error), error)
            raise ContractError(message) from None

    wrapper.__wrapped_unchecked__ = fn  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]
