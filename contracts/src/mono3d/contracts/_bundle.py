"""Frozen tensor bundles that check themselves on construction.

A bundle is a ``@dataclass(frozen=True, eq=False)`` subclass of :class:`Bundle` whose fields
are annotated with jaxtyping aliases (or other bundles). Constructing one checks every
field's type, dtype and rank, and that every dimension name shared by several fields has
one size (dims such as ``h4/2`` are arithmetic on names bound by other fields). A nested
bundle's dims join its owner's: ``DetectorOutput.rpn`` and ``DetectorOutput.head`` agree on
b and Nhd. A ``@contract`` call joins the dims of its bundle arguments the same way
(:func:`bundle_dims`).
"""

import dataclasses
import functools
import typing
from collections.abc import Callable
from typing import Any, TypeVar

import torch

from ._errors import ContractError
from ._spec import Scope, TensorSpec, describe, name_axes, optional_of, tensor_spec
from ._switch import _state, is_tracing

B = TypeVar("B", bound="Bundle")


@functools.cache
def _field_specs(cls: type) -> tuple[tuple[str, Any], ...]:
    """(field name, annotation) of every field of a bundle class, in declaration order."""
    hints = typing.get_type_hints(cls)
    return tuple((f.name, hints[f.name]) for f in dataclasses.fields(cls))


@functools.cache
def _checked_fields(
    cls: type,
) -> tuple[tuple[str, str, "type[Bundle] | TensorSpec", bool], ...]:
    """(name, ``Owner.name``, what it must be, whether None is allowed) of every field a
    bundle checks: nested bundles by class, tensors by parsed spec, either of them
    optional (``X | None``); fields with other annotations are not checked."""
    checked: list[tuple[str, str, type[Bundle] | TensorSpec, bool]] = []
    for name, annotation in _field_specs(cls):
        members = typing.get_args(annotation) if optional_of(annotation) else (annotation,)
        inner = next(m for m in members if m is not type(None))
        if isinstance(inner, type) and issubclass(inner, Bundle):
            checked.append((name, f"{cls.__name__}.{name}", inner, len(members) > 1))
        else:
            spec = tensor_spec(inner)
            if spec is not None:
                checked.append((name, f"{cls.__name__}.{name}", spec, len(members) > 1))
    return tuple(checked)


#: where a bundle holds one dim: (attribute path, dotted path, axis)
DimSource = tuple[tuple[str, ...], str, int]


@functools.cache
def bundle_dims(cls: type) -> tuple[tuple[str, tuple[DimSource, ...]], ...]:
    """Every plain dim name (``b``, ``Nhd``; not ``h4/2``) the tensor fields of bundle class
    ``cls`` hold, nested bundles' fields included, each with every place its size can be
    read, in checking order (an optional field that is None gives way to the next)."""
    found: dict[str, list[DimSource]] = {}

    def walk(owner: type, path: tuple[str, ...]) -> None:
        for name, _where, spec, _optional in _checked_fields(owner):
            if isinstance(spec, TensorSpec):
                for dim, axis in name_axes(spec):
                    found.setdefault(dim, []).append(((*path, name), ".".join((*path, name)), axis))
            else:
                walk(spec, (*path, name))

    walk(cls, ())
    return tuple((dim, tuple(sources)) for dim, sources in found.items())


def dim_of(bundle: Any, sources: tuple[DimSource, ...]) -> tuple[int, str, torch.Tensor] | None:
    """(size, dotted field path, tensor) of the first field of ``bundle`` in ``sources``
    that is present; None if none is."""
    for path, dotted, axis in sources:
        value = bundle
        for attr in path:
            value = getattr(value, attr)
            if value is None:
                break
        else:
            return int(value.shape[axis]), dotted, value
    return None


def _join_nested(scope: Scope, where: str, nested: "Bundle") -> bool:
    """Bind the dims of a nested bundle (checked when it was built) in its owner's scope
    without checking its fields again; False if one disagrees with a size bound before."""
    for dim, sources in bundle_dims(type(nested)):  # type: ignore[arg-type]
        found = dim_of(nested, sources)
        if found is None:
            continue
        size, dotted, tensor = found
        known = scope.sizes.get(dim)
        if known is None:
            scope.sizes[dim] = size
            scope.binders[dim] = (f"{where}.{dotted}", tensor)
        elif known != size:
            return False
    return True


def check_fields(
    scope: Scope,
    bundle: "Bundle",
    label: str,
    where: str,
    prefix: Callable[[str], str],
    deferred: list[Any],
) -> str | None:
    """Check every field of ``bundle`` in ``scope``, nested bundles' fields included; the
    first violation's one-line message, or None.

    ``label`` and ``where`` name the bundle (``features`` in a call, ``""`` and
    ``DetectorOutput`` for a bundle being built); a field is ``label.field`` inside a message
    and ``where.field`` as the binder of its dims; ``prefix(label.field)`` starts its message.
    Dim expressions are appended to ``deferred``.
    """
    for name, _where, spec, optional in _checked_fields(type(bundle)):  # type: ignore[arg-type]
        value = getattr(bundle, name)
        if optional and value is None:
            continue
        field_label = f"{label}.{name}" if label else name
        field_where = f"{where}.{name}"
        if isinstance(spec, TensorSpec):
            message = scope.check(
                prefix(field_label), field_label, field_where, spec, value, deferred
            )
        elif not isinstance(value, spec):
            message = f"{prefix(field_label)}: expected a {spec.__name__}, got {describe(value)}"
        else:
            message = check_fields(scope, value, field_label, field_where, prefix, deferred)
        if message is not None:
            return message
    return None


def _explain_bundle(bundle: "Bundle") -> str | None:
    """The first violation of ``bundle``'s fields, nested bundles' fields included."""
    scope, deferred = Scope(), []  # type: ignore[var-annotated]
    owner = type(bundle).__name__
    message = check_fields(scope, bundle, "", owner, lambda label: f"{owner}.{label}", deferred)
    return message if message is not None else scope.check_deferred(deferred)


def check_bundle(bundle: "Bundle") -> None:
    """Check every field of ``bundle``; raise :class:`ContractError` on the first violation.

    Each tensor field is checked for type, dtype and rank, and every dimension name shared
    by several fields must have one size; the message names the field, the expected and
    actual shapes, and the field that bound a disagreeing dim. A nested bundle's dims (its
    fields were checked when it was built) join the others' (``DetectorOutput.head`` and
    ``DetectorOutput.rpn`` agree on Nhd). Dim expressions such as ``h4/2`` are evaluated
    once every field has bound its names. Then the bundle's value-level rules
    (:meth:`Bundle._validate`) run.
    """
    scope = Scope()
    deferred: list[Any] = []
    for name, where, spec, optional in _checked_fields(type(bundle)):  # type: ignore[arg-type]
        value = getattr(bundle, name)
        if optional and value is None:
            continue
        if isinstance(spec, TensorSpec):
            message = scope.check(where, name, where, spec, value, deferred)
            if message is not None:
                raise ContractError(message)
        elif not isinstance(value, spec):
            raise ContractError(f"{where}: expected a {spec.__name__}, got {describe(value)}")
        elif not _join_nested(scope, where, value):
            # only now, to name the fields: replay every field, nested ones included
            message = _explain_bundle(bundle)
            raise ContractError(message or f"{where}: its dims disagree with the other fields'")
    if deferred:
        message = scope.check_deferred(deferred)
        if message is not None:
            raise ContractError(message)
    bundle._validate()


class Bundle:
    """Base of every checked bundle; subclasses are ``@dataclass(frozen=True, eq=False)``."""

    def __post_init__(self) -> None:
        if _state["enabled"] and not is_tracing():
            check_bundle(self)

    def _validate(self) -> None:
        """Value-level rules beyond shapes and dtypes (override; raise ContractError)."""

    def apply(self: B, fn: Callable[[torch.Tensor], torch.Tensor]) -> B:
        """A new bundle with ``fn`` applied to every tensor field (recursing into bundles)."""
        changes: dict[str, Any] = {}
        for field in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, field.name)
            if isinstance(value, torch.Tensor):
                changes[field.name] = fn(value)
            elif isinstance(value, Bundle):
                changes[field.name] = value.apply(fn)
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]

    def to(self: B, device: torch.device | str) -> B:
        """The same bundle on ``device``."""
        return self.apply(lambda t: t.to(device))

    def detach(self: B) -> B:
        """The same bundle cut from the autograd graph."""
        return self.apply(torch.Tensor.detach)

    def as_dict(self) -> dict[str, Any]:
        """Field name to value (nested bundles stay bundles)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]


def check_same_batch(where: str, **items: "Bundle | torch.Tensor") -> None:
    """Raise :class:`ContractError` unless every named bundle/tensor has the same b (dim 0).

    For a bundle, b is dim 0 of its first tensor field. ``where`` names the function.
    """
    if not _state["enabled"] or is_tracing():
        return
    sizes: dict[str, int] = {}
    for name, item in items.items():
        tensor = item
        while isinstance(tensor, Bundle):
            tensor = getattr(tensor, dataclasses.fields(tensor)[0].name)  # type: ignore[arg-type]
        if isinstance(tensor, torch.Tensor) and tensor.dim() > 0:
            sizes[name] = int(tensor.shape[0])
    if len(set(sizes.values())) > 1:
        listed = ", ".join(f"{name} has b={size}" for name, size in sizes.items())
        raise ContractError(f"{where}: batch sizes differ: {listed}")
