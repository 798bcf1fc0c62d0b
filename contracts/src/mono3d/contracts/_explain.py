"""One-line explanations of the ``@contract`` violations jaxtyping + beartype detect.

jaxtyping reports a violation as a multi-line dump of every argument and axis, and cannot
say which argument bound a disagreeing dimension. :func:`explain_call` replays the call's
arguments (and its return value) in signature order through a :class:`~._spec.Scope`, the
same one bundles check their fields with, and returns the first violation as one line. A
bundle argument's fields bind their dims in that scope too (``features.s2`` binds b), so a
later argument that disagrees is told which field bound the size. It only runs after a call
was rejected: by jaxtyping + beartype, or by ``contract``'s comparison of the sizes a bundle
argument shares with the others.
"""

import inspect
import re
import typing
from collections.abc import Callable
from typing import Any

from beartype.door import is_bearable

from ._bundle import Bundle, check_fields
from ._spec import Scope, describe, hint_text, optional_of, tensor_spec

#: What :func:`explain_call` gets as the return value when the arguments were rejected.
NOT_RETURNED = object()


def _hints(fn: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(fn, include_extras=True)
    except Exception:  # unresolvable forward references: use the raw annotations
        return dict(getattr(fn, "__annotations__", {}))


def _described(value: Any) -> str:
    """``a tensor (3, 4) float32`` / ``float 12.0`` / ``GtAligned``."""
    text = describe(value)
    return f"a tensor {text}" if hasattr(value, "shape") and hasattr(value, "dtype") else text


def _article(hint: Any) -> str:
    """``a NeckFeatures`` for a class, ``int`` for a builtin, the hint's text otherwise."""
    if isinstance(hint, type) and hint.__module__ != "builtins":
        return f"a {hint.__name__}"
    return hint_text(hint)


def check_value(
    prefix: str,
    label: str,
    hint: Any,
    value: Any,
    scope: Scope,
    field_prefix: Callable[[str], str] | None = None,
) -> str | None:
    """The one-line message if ``value`` does not satisfy ``hint`` in ``scope``, else None
    (binding the dims of the tensors it holds; with ``field_prefix``, a bundle's fields'
    too: those are named ``label.field`` and their messages start with
    ``field_prefix(label.field)``)."""
    spec = tensor_spec(hint)
    if spec is not None:
        return scope.check(prefix, label, label, spec, value)
    if optional_of(hint):
        if value is None:
            return None
        inner = next(arg for arg in typing.get_args(hint) if arg is not type(None))
        return check_value(prefix, label, inner, value, scope, field_prefix)
    args = typing.get_args(hint)
    if typing.get_origin(hint) is tuple and args and args[-1] is not Ellipsis:
        if not isinstance(value, tuple) or len(value) != len(args):
            return f"{prefix}: expected {hint_text(hint)}, got {_described(value)}"
        for index, (item_hint, item) in enumerate(zip(args, value, strict=True)):
            message = check_value(
                f"{prefix}[{index}]", f"{label}[{index}]", item_hint, item, scope, field_prefix
            )
            if message is not None:
                return message
        return None
    try:
        fits = is_bearable(value, hint)
    except Exception:  # a hint beartype cannot decide on its own: not the culprit
        return None
    if not fits:
        return f"{prefix}: expected {_article(hint)}, got {_described(value)}"
    if field_prefix is not None and isinstance(value, Bundle):
        deferred: list[Any] = []
        message = check_fields(scope, value, label, label, field_prefix, deferred)
        return message if message is not None else scope.check_deferred(deferred)
    return None


def returned_value(error: BaseException) -> Any:
    """What the rejected function returned, or :data:`NOT_RETURNED` if its arguments were
    rejected (it never ran).

    jaxtyping checks the return value in the frame that holds it (``out``), and the error
    raised there keeps that frame; beartype's own violation (the error's cause) names it
    too, as its first culprit.
    """
    tb = error.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        if tb.tb_next is None and "out" in frame.f_locals:
            return frame.f_locals["out"]
        tb = tb.tb_next
    cause = error.__cause__
    if "return" in type(cause).__name__.lower():
        culprits = getattr(cause, "culprits", ())
        if culprits and not isinstance(culprits[0], str):
            return culprits[0]
    return NOT_RETURNED


def _one_line(error: BaseException) -> str:
    """jaxtyping's report up to its argument dump, on one line."""
    head = str(error).split("----------------------", 1)[0]
    return re.sub(r"\s+", " ", head).strip()


def explain_call(
    fn: Callable[..., Any],
    name: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    returned: Any,
    error: BaseException | None = None,
) -> str | None:
    """The one-line message for a call of ``fn`` that was rejected.

    ``returned`` is what ``fn`` returned (a return-value violation), or
    :data:`NOT_RETURNED` when the arguments were rejected. If the replay finds nothing
    wrong: jaxtyping's own report ``error``, flattened to one line, or None without one.
    """
    signature = inspect.signature(fn)
    hints = _hints(fn)
    scope = Scope()
    fallback = None if error is None else f"{name}: {_one_line(error)}"
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError:
        return fallback
    bound.apply_defaults()

    def parameter(label: str) -> str:
        return f"{name}: parameter '{label}'"

    for pname, value in bound.arguments.items():
        if pname not in hints:
            continue
        kind = signature.parameters[pname].kind
        if kind is inspect.Parameter.VAR_POSITIONAL:
            items = [(f"{pname}[{i}]", v) for i, v in enumerate(value)]
        elif kind is inspect.Parameter.VAR_KEYWORD:
            items = [(f"{pname}[{k!r}]", v) for k, v in value.items()]
        else:
            items = [(pname, value)]
        for label, item in items:
            message = check_value(parameter(label), label, hints[pname], item, scope, parameter)
            if message is not None:
                return message
    if "return" in hints and returned is not NOT_RETURNED:
        message = check_value(
            f"{name}: return value",
            "return value",
            hints["return"],
            returned,
            scope,  # a returned bundle's dims are its own: not bound here
        )
        if message is not None:
            return message
    return fallback
