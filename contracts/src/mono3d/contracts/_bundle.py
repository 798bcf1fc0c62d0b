"""Frozen tensor bundles that check themselves on construction.

A bundle is a ``@dataclass(frozen=True, eq=False)`` subclass of :class:`Bundle` whose fields
are annotated with jaxtyping aliases (or other bundles). Constructing one checks every
field's type, dtype and rank, and that every dimension name shared by several fields has
one size (dims such as ``h4/2`` are arithmetic on names bound by other fields).
"""

import ast
import dataclasses
import functools
import operator
import typing
from collections.abc import Callable
from typing import Any, TypeVar

import torch

from ._contract import is_tracing
from ._errors import ContractError
from ._switch import _state

B = TypeVar("B", bound="Bundle")

_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
}


def _evaluate(expr: str, sizes: dict[str, int]) -> float:
    """Evaluate a dim expression such as ``h4/2`` with the sizes bound so far."""

    def walk(node: ast.AST) -> float:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.Name):
            return sizes[node.id]
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            return _BINOPS[type(node.op)](walk(node.left), walk(node.right))
        raise ValueError(f"unsupported dim expression {expr!r}")

    return walk(ast.parse(expr, mode="eval"))


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def _describe(annotation: Any) -> str:
    kind = annotation.__name__.split("[", 1)[0] if hasattr(annotation, "__name__") else "?"
    return f"{kind}[{annotation.dim_str}]"


def _shape(t: torch.Tensor) -> str:
    return f"{_dtype_name(t.dtype)} tensor of shape {tuple(t.shape)}"


@functools.cache
def _field_specs(cls: type) -> tuple[tuple[str, Any], ...]:
    hints = typing.get_type_hints(cls)
    return tuple((f.name, hints[f.name]) for f in dataclasses.fields(cls))


def check_bundle(bundle: "Bundle") -> None:
    """Check every field of ``bundle``; raise :class:`ContractError` on the first violation."""
    owner = type(bundle).__name__
    sizes: dict[str, int] = {}
    bound_by: dict[str, str] = {}
    deferred: list[tuple[str, str, int, torch.Tensor, Any]] = []
    for name, annotation in _field_specs(type(bundle)):  # type: ignore[arg-type]
        value = getattr(bundle, name)
        where = f"{owner}.{name}"
        if isinstance(annotation, type) and issubclass(annotation, Bundle):
            if not isinstance(value, annotation):
                raise ContractError(
                    f"{where}: expected a {annotation.__name__}, got {type(value).__name__}"
                )
            continue
        if not hasattr(annotation, "dim_str"):
            continue
        spec = _describe(annotation)
        if not isinstance(value, torch.Tensor):
            raise ContractError(f"{where}: expected a tensor {spec}, got {type(value).__name__}")
        if _dtype_name(value.dtype) not in annotation.dtypes:
            raise ContractError(f"{where}: expected {spec}, got {_shape(value)} (wrong dtype)")
        dims = annotation.dim_str.split()
        if len(dims) != value.ndim:
            raise ContractError(f"{where}: expected {spec} ({len(dims)} dims), got {_shape(value)}")
        for dim, size in zip(dims, value.shape, strict=True):
            if dim.isdigit():
                if int(dim) != size:
                    raise ContractError(
                        f"{where}: expected {spec}, got {_shape(value)}: "
                        f"a dim of size {dim} is {size}"
                    )
            elif dim.isidentifier():
                if dim not in sizes:
                    sizes[dim], bound_by[dim] = size, f"{where} {tuple(value.shape)}"
                elif sizes[dim] != size:
                    raise ContractError(
                        f"{where}: expected {spec}, got {_shape(value)}: "
                        f"{dim}={size} but {dim}={sizes[dim]} from {bound_by[dim]}"
                    )
            else:
                deferred.append((where, dim, size, value, annotation))
    for where, dim, size, value, annotation in deferred:
        try:
            expected = _evaluate(dim, sizes)
        except KeyError as missing:
            raise ContractError(
                f"{where}: dim {dim!r} names {missing} that no field binds"
            ) from None
        if expected != size:
            raise ContractError(
                f"{where}: expected {_describe(annotation)}, got {_shape(value)}: "
                f"{dim} should be {expected:g} ({', '.join(f'{k}={v}' for k, v in sizes.items())})"
            )
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
