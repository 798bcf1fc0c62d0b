"""The ``contract`` decorator: jaxtyping + beartype when checks are on, nothing when off.

jaxtyping binds the dims of the tensor arguments only; a bundle argument (``Images``,
``NeckFeatures``) is to it just an instance of its class. So ``contract`` also compares the
dims a bundle argument shares with the other arguments and the returned tensors (a
returned bundle's dims are its own): once per call, a few integer comparisons read straight
from the shapes, for the functions that have such a shared dim at all (their list is made
at the first call).
Which tensor bound which size is worked out only when a comparison fails, by the replay of
:func:`~._explain.explain_call` that writes the message.
"""

import functools
import inspect
import operator
import typing
from collections.abc import Callable
from typing import Any, TypeVar

import torch
from beartype import beartype
from beartype.roar import BeartypeException
from jaxtyping import TypeCheckError, jaxtyped

from ._bundle import Bundle, bundle_dims
from ._errors import ContractError
from ._explain import NOT_RETURNED, _hints, _one_line, explain_call, returned_value
from ._spec import name_axes, optional_of, tensor_spec
from ._switch import CHECKS_AT_IMPORT, _state
from ._switch import is_tracing as is_tracing

F = TypeVar("F", bound=Callable[..., Any])

#: reads one dim's size from a value (None: not there); a getter reads it from a call
Reader = Callable[[Any], "int | None"]
Getter = Callable[[tuple[Any, ...], dict[str, Any], Any], "int | None"]


def _readers(hint: Any, bundles: bool = True) -> list[tuple[str, Reader, bool]]:
    """(dim name, reader, whether a bundle holds it) of every plain dim ``hint`` names:
    a tensor's, an optional one's, a bundle's fields' (unless not ``bundles``), a fixed
    tuple's items'."""
    spec = tensor_spec(hint)
    if spec is not None:
        return [(dim, _axis_reader(axis), False) for dim, axis in name_axes(spec)]
    if optional_of(hint):
        inner = next(arg for arg in typing.get_args(hint) if arg is not type(None))
        return [(dim, _optional(read), held) for dim, read, held in _readers(inner, bundles)]
    if isinstance(hint, type) and issubclass(hint, Bundle):
        if not bundles:
            return []
        return [(dim, _bundle_reader(hint, sources), True) for dim, sources in bundle_dims(hint)]  # type: ignore[arg-type]
    args = typing.get_args(hint)
    if typing.get_origin(hint) is tuple and args and args[-1] is not Ellipsis:
        return [
            (dim, _item_reader(index, len(args), read), held)
            for index, item in enumerate(args)
            for dim, read, held in _readers(item, bundles)
        ]
    return []


def _axis_reader(axis: int) -> Reader:
    return lambda value: value.shape[axis] if isinstance(value, torch.Tensor) else None


def _optional(read: Reader) -> Reader:
    return lambda value: None if value is None else read(value)


def _bundle_reader(cls: type, sources: Any) -> Reader:
    fields = tuple((operator.attrgetter(dotted), axis) for _path, dotted, axis in sources)

    def read(value: Any) -> int | None:
        if not isinstance(value, cls):
            return None
        for field, axis in fields:
            try:
                tensor = field(value)
            except AttributeError:  # an optional nested bundle that is None
                continue
            if tensor is not None:
                return tensor.shape[axis]
        return None

    return read


def _item_reader(index: int, length: int, read: Reader) -> Reader:
    return lambda value: (
        read(value[index]) if isinstance(value, tuple) and len(value) == length else None
    )


def _argument_getter(parameter: inspect.Parameter, index: int | None, read: Reader) -> Getter:
    name = parameter.name
    default = None if parameter.default is inspect.Parameter.empty else parameter.default

    def get(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int | None:
        value = (
            args[index] if index is not None and index < len(args) else kwargs.get(name, default)
        )
        return read(value)

    return get


def _return_getter(read: Reader) -> Getter:
    return lambda args, kwargs, out: read(out)


#: per shared dim: the getters of the arguments (or of the return value) that hold it,
#: then the getters of the arguments it must agree with
Links = tuple[tuple[tuple[Getter, ...], tuple[Getter, ...]], ...]


def shared_dims(fn: Callable[..., Any]) -> tuple[Links, Links]:
    """The dims a bundle argument of ``fn`` shares with another argument or the returned
    tensors: (those among the arguments, those the return value takes part in). Dims only
    plain tensors share are jaxtyping's. A returned bundle's dims are its own (checked when
    it was built): a function may return a bundle of other sizes than it was given, as
    ``join_ground_truth`` returns more proposals (Nhd) than it got."""
    hints = _hints(fn)
    sources: dict[str, list[tuple[Getter, bool, bool]]] = {}  # dim: (get, bundle, returned)
    for position, parameter in enumerate(inspect.signature(fn).parameters.values()):
        if parameter.name not in hints or parameter.kind in (
            inspect.Parameter.VAR_POSITIONAL,
            inspect.Parameter.VAR_KEYWORD,
        ):
            continue
        index = None if parameter.kind is inspect.Parameter.KEYWORD_ONLY else position
        for dim, read, held in _readers(hints[parameter.name]):
            get = _argument_getter(parameter, index, read)
            sources.setdefault(dim, []).append((get, held, False))
    if "return" in hints:
        for dim, read, held in _readers(hints["return"], bundles=False):
            sources.setdefault(dim, []).append((_return_getter(read), held, True))
    in_arguments: list[tuple[tuple[Getter, ...], tuple[Getter, ...]]] = []
    with_return: list[tuple[tuple[Getter, ...], tuple[Getter, ...]]] = []
    for found in sources.values():
        arguments = tuple(get for get, _, returned in found if not returned)
        returns = tuple(get for get, _, returned in found if returned)
        if not any(held for _, held, _ in found) or not arguments:
            continue  # no bundle argument holds this dim
        if len(arguments) > 1:
            in_arguments.append((arguments, ()))
        if returns:
            # the arguments agree by now: the return value is compared with the first
            with_return.append((returns, arguments))
    return tuple(in_arguments), tuple(with_return)


def _disagree(links: Links, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> bool:
    """Whether some shared dim has two sizes in this call (or a size could not be read):
    the holders' sizes must agree among themselves and with the first present size of the
    others."""
    try:
        for holders, others in links:
            first = None
            for get in others:
                first = get(args, kwargs, out)
                if first is not None:
                    break
            for get in holders:
                size = get(args, kwargs, out)
                if size is None:
                    continue
                if first is None:
                    first = size
                elif size != first:
                    return True
    except Exception:  # an odd value: let the replay (and jaxtyping) judge it
        return True
    return False


def contract(fn: F) -> F:
    """Check the jaxtyping annotations of ``fn`` (arguments and return) on every call.

    Dimension names shared between arguments and the return value must agree within one
    call. jaxtyping + beartype do the checking; a violation raises :class:`ContractError`
    (a ``TypeError``) whose message is one line naming the function, the argument (or the
    return value), the expected and the actual shape and dtype, and for a disagreeing
    dimension the argument (or the field of a bundle argument) that bound it::

        scale_boxes: parameter 'scale': expected (b=2) float, got (3,) float32; scale has
        b=3, but b=2 was bound by boxes (2, 3, 4)

    The dims a bundle argument holds (``features.s2`` binds b) must agree with the other
    arguments' and the returned tensors' too; a returned bundle's dims are its own.

    With ``MONO3D_CHECKS=0`` at import the function is returned unchanged; inside
    ``with checks(False):`` and while torch.compile/export trace, the unchecked function
    is called directly.
    """
    if not CHECKS_AT_IMPORT:
        return fn
    name = getattr(fn, "__qualname__", repr(fn))
    checked = jaxtyped(typechecker=beartype)(fn)
    plan: list[tuple[Links, Links]] = []  # shared_dims(fn), made at the first checked call

    def reject(args: tuple[Any, ...], kwargs: dict[str, Any], returned: Any) -> None:
        message = explain_call(fn, name, args, kwargs, returned)
        if message is not None:
            raise ContractError(message)

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not _state["enabled"] or is_tracing():
            return fn(*args, **kwargs)
        if not plan:
            plan.append(shared_dims(fn))
        in_arguments, with_return = plan[0]
        if in_arguments and _disagree(in_arguments, args, kwargs, None):
            reject(args, kwargs, NOT_RETURNED)
        try:
            out = checked(*args, **kwargs)
        except ContractError:
            raise
        except (TypeCheckError, BeartypeException) as error:
            message = explain_call(fn, name, args, kwargs, returned_value(error), error)
            raise ContractError(message or f"{name}: {_one_line(error)}") from None
        if with_return and _disagree(with_return, args, kwargs, out):
            reject(args, kwargs, out)
        return out

    wrapper.__wrapped_unchecked__ = fn  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]
