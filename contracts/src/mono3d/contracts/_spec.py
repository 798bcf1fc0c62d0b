"""Parsed jaxtyping annotations and the dimension scope behind every contract message.

A :class:`TensorSpec` is a jaxtyping array annotation (``Float[Tensor, "b Nhd 4"]``) parsed
once: its dims and the dtypes it admits. A :class:`Scope` holds the dimension sizes bound
so far in one bundle or one call and which tensor bound each; :meth:`Scope.check` checks a
tensor against a spec in that scope (binding its new dims) and, when it does not fit,
returns the one-line message every contract violation carries::

    RoIHead.forward: parameter 'proposals': expected (b=2, Nhd, 4) float, got (3, 100, 4)
    float32; proposals has b=3, but b=2 was bound by features.s2 (2, 128, 32, 104)

(one line in the real message). Bundles check their fields with a scope; ``@contract``
functions are checked by jaxtyping + beartype and replay their arguments through a scope
only to explain a violation.
"""

import functools
import re
import types
import typing
from dataclasses import dataclass
from types import CodeType
from typing import Any

import torch

# Dim kinds, in the order jaxtyping treats them.
ANY, FIXED, NAME, EXPR, VARIADIC = range(5)

_KIND_WORDS = {"Shaped": "any dtype", "Num": "numeric", "Inexact": "inexact"}
_SCALAR_TYPES = (bool, int, float, complex, str)


@dataclass(frozen=True)
class Dim:
    """One dim of a jaxtyping dim string, as written (``text``) and parsed."""

    text: str
    kind: int
    size: int = 0
    name: str = ""
    code: CodeType | None = None
    names: tuple[str, ...] = ()
    broadcast: bool = False


@dataclass(frozen=True)
class TensorSpec:
    """A parsed jaxtyping array annotation."""

    dims: tuple[Dim, ...]
    variadic: int | None
    dtypes: frozenset[str] | None  # None: any dtype
    dtype_text: str

    def admits(self, dtype: torch.dtype) -> bool:
        """Whether a tensor of ``dtype`` has an admitted dtype."""
        return self.dtypes is None or dtype_name(dtype) in self.dtypes


def dtype_name(dtype: torch.dtype) -> str:
    """``torch.float32`` -> ``float32`` (the names jaxtyping lists)."""
    return str(dtype).removeprefix("torch.")


def shape_text(shape: tuple[int, ...] | torch.Size) -> str:
    """A shape as Python prints a tuple: ``(2, 7, 4)``, ``(3,)``, ``()``."""
    return str(tuple(shape))


def describe(value: Any) -> str:
    """What a value is, for the ``got ...`` part of a message."""
    if isinstance(value, torch.Tensor):
        return f"{shape_text(value.shape)} {dtype_name(value.dtype)}"
    if isinstance(value, _SCALAR_TYPES) or value is None:
        text = repr(value)
        return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"
    return type(value).__name__


def _parse_dim(token: str) -> Dim:
    if token in ("_", "...", "*_"):
        return Dim(token, VARIADIC if token != "_" else ANY)
    text, body = token, token
    variadic = broadcast = False
    while body[:1] in ("*", "#", "?"):
        variadic |= body[0] == "*"
        broadcast |= body[0] == "#"
        body = body[1:]
    if variadic:
        return Dim(text, VARIADIC, name=body, broadcast=broadcast)
    if body.isdigit():
        return Dim(text, FIXED, size=int(body), broadcast=broadcast)
    if body.startswith("_") and body.isidentifier():
        return Dim(text, ANY)
    if body.isidentifier():
        return Dim(text, NAME, name=body, broadcast=broadcast)
    code = compile(body, f"<dim {body}>", "eval")
    return Dim(text, EXPR, name=body, code=code, names=code.co_names, broadcast=broadcast)


def _dtype_text(annotation: Any, dtypes: frozenset[str] | None) -> str:
    kind = getattr(annotation, "__name__", "").split("[", 1)[0]
    if kind in _KIND_WORDS:
        return _KIND_WORDS[kind]
    if kind:
        return kind.lower()
    return "|".join(sorted(dtypes)) if dtypes else "any dtype"


@functools.cache
def tensor_spec(annotation: Any) -> TensorSpec | None:
    """The parsed spec of a jaxtyping array annotation; None for any other annotation."""
    dim_str = getattr(annotation, "dim_str", None)
    if not isinstance(dim_str, str) or not hasattr(annotation, "dtypes"):
        return None
    dims = tuple(_parse_dim(token) for token in dim_str.split())
    variadic = next((i for i, d in enumerate(dims) if d.kind == VARIADIC), None)
    raw = annotation.dtypes
    dtypes = frozenset(str(d) for d in raw) if isinstance(raw, (list, tuple)) else None
    return TensorSpec(dims, variadic, dtypes, _dtype_text(annotation, dtypes))


@functools.cache
def name_axes(spec: TensorSpec) -> tuple[tuple[str, int], ...]:
    """(name, axis) of every plain named dim of ``spec`` (``b`` in ``b Nhd 4``; not ``#b``,
    ``h4/2`` or ``*batch``); axes after a variadic dim count from the end."""
    out = []
    for i, dim in enumerate(spec.dims):
        if dim.kind == NAME and not dim.broadcast:
            after = spec.variadic is not None and i > spec.variadic
            out.append((dim.name, i - len(spec.dims) if after else i))
    return tuple(out)


class Scope:
    """The dims bound so far in one bundle or call, and the tensor that bound each."""

    __slots__ = ("binders", "sizes", "variadics")

    def __init__(self) -> None:
        self.sizes: dict[str, int] = {}
        self.variadics: dict[str, tuple[int, ...]] = {}
        self.binders: dict[str, tuple[str, torch.Tensor]] = {}

    def bound_by(self, key: str) -> str:
        """``features.s2 (2, 128, 32, 104)``: the tensor that bound a dim (``*name`` for a
        variadic one)."""
        where, value = self.binders[key]
        return f"{where} {shape_text(value.shape)}"

    def expected(self, spec: TensorSpec) -> str:
        """``(b=2, Nhd, 4) float``: the spec with the sizes bound so far filled in."""
        parts = []
        for dim in spec.dims:
            if dim.kind == NAME and dim.name in self.sizes:
                parts.append(f"{dim.text}={self.sizes[dim.name]}")
            elif dim.kind == VARIADIC and dim.name in self.variadics:
                parts.append(f"{dim.text}={self.variadics[dim.name]}")
            elif dim.kind == EXPR and all(n in self.sizes for n in dim.names):
                parts.append(f"{dim.text}={self._evaluate(dim):g}")
            else:
                parts.append(dim.text)
        return f"({', '.join(parts)}) {spec.dtype_text}"

    def _evaluate(self, dim: Dim, new: dict[str, int] | None = None) -> float:
        """The size a dim expression (``h4/2``) gives with the sizes bound so far."""
        assert dim.code is not None
        sizes = {**self.sizes, **new} if new else self.sizes
        return eval(dim.code, {"__builtins__": {}}, sizes)

    def check(
        self,
        prefix: str,
        label: str,
        where: str,
        spec: TensorSpec,
        value: Any,
        deferred: list[tuple[str, str, Dim, int, torch.Tensor, TensorSpec]] | None = None,
    ) -> str | None:
        """Check ``value`` against ``spec``; bind its new dims to ``where`` and return None,
        or return the one-line message (``prefix: expected ..., got ...; detail``).

        ``label`` names the tensor inside the detail (``proposals has b=3``). With
        ``deferred`` (bundles), a dim expression naming a dim no field has bound yet is
        appended there for :meth:`check_deferred`; without it (calls, as jaxtyping does)
        that is a violation.
        """
        if not isinstance(value, torch.Tensor):
            return f"{prefix}: expected a tensor {self.expected(spec)}, got {describe(value)}"
        if spec.dtypes is not None and dtype_name(value.dtype) not in spec.dtypes:
            return f"{prefix}: expected {self.expected(spec)}, got {describe(value)} (wrong dtype)"
        shape = tuple(value.shape)
        dims = spec.dims
        if spec.variadic is None:
            if len(shape) != len(dims):
                return self._fail(
                    prefix, spec, value, f"expected {len(dims)} dims, got {len(shape)}"
                )
            pairs = list(enumerate(zip(dims, shape, strict=True)))
            middle: tuple[int, ...] = ()
        else:
            i = spec.variadic
            tail = len(dims) - i - 1
            if len(shape) < len(dims) - 1:
                return self._fail(
                    prefix, spec, value, f"expected at least {len(dims) - 1} dims, got {len(shape)}"
                )
            j = len(shape) - tail
            pairs = [(k, (dims[k], shape[k])) for k in range(i)]
            pairs += [(j + k, (dims[i + 1 + k], shape[j + k])) for k in range(tail)]
            middle = shape[i:j]
        new: dict[str, int] = {}
        for axis, (dim, size) in pairs:
            kind = dim.kind
            if kind == ANY or (dim.broadcast and size == 1):
                continue
            if kind == FIXED:
                if size != dim.size:
                    return self._fail(
                        prefix, spec, value, f"dim {axis} is {size}, expected {dim.size}"
                    )
            elif kind == NAME:
                known = new.get(dim.name, self.sizes.get(dim.name))
                if known is None:
                    new[dim.name] = size
                elif known != size:
                    origin = (
                        f"was bound by {self.bound_by(dim.name)}"
                        if dim.name in self.sizes
                        else "from an earlier dim of the same tensor"
                    )
                    detail = f"{label} has {dim.name}={size}, but {dim.name}={known} {origin}"
                    return self._fail(prefix, spec, value, detail)
            else:  # EXPR
                missing = [n for n in dim.names if n not in self.sizes and n not in new]
                if missing and deferred is not None:
                    deferred.append((prefix, label, dim, size, value, spec))
                    continue
                if missing:
                    return self._fail(
                        prefix,
                        spec,
                        value,
                        f"{dim.text} names {missing[0]}, bound by no earlier tensor",
                    )
                detail = self._expression_mismatch(dim, size, new)
                if detail:
                    return self._fail(prefix, spec, value, detail)
        if spec.variadic is not None:
            dim = dims[spec.variadic]
            if dim.name and dim.name != "_":
                known_shape = self.variadics.get(dim.name)
                if known_shape is None:
                    self.variadics[dim.name] = middle
                    self.binders["*" + dim.name] = (where, value)
                elif not _variadic_fits(known_shape, middle, dim.broadcast):
                    detail = (
                        f"{label} has {dim.text}={middle}, but {dim.text}={known_shape} was "
                        f"bound by {self.bound_by('*' + dim.name)}"
                    )
                    return self._fail(prefix, spec, value, detail)
        for name, size in new.items():
            self.sizes[name] = size
            self.binders[name] = (where, value)
        return None

    def check_deferred(
        self, deferred: list[tuple[str, str, Dim, int, torch.Tensor, TensorSpec]]
    ) -> str | None:
        """Evaluate the dim expressions :meth:`check` deferred; the first mismatch's
        message, or None."""
        for prefix, _label, dim, size, value, spec in deferred:
            missing = [n for n in dim.names if n not in self.sizes]
            if missing:
                return self._fail(
                    prefix, spec, value, f"{dim.text} names {missing[0]}, bound by no field"
                )
            detail = self._expression_mismatch(dim, size, {})
            if detail:
                return self._fail(prefix, spec, value, detail)
        return None

    def _expression_mismatch(self, dim: Dim, size: int, new: dict[str, int]) -> str:
        expected = self._evaluate(dim, new)
        if expected == size:
            return ""
        origins = ", ".join(
            f"{n}={self.sizes[n]} bound by {self.bound_by(n)}"
            if n in self.sizes
            else f"{n}={new[n]} from this tensor"
            for n in dim.names
        )
        return f"{dim.text} should be {expected:g}, got {size} ({origins})"

    def _fail(self, prefix: str, spec: TensorSpec, value: torch.Tensor, detail: str) -> str:
        return f"{prefix}: expected {self.expected(spec)}, got {describe(value)}; {detail}"


def _variadic_fits(known: tuple[int, ...], new: tuple[int, ...], broadcast: bool) -> bool:
    if not broadcast:
        return known == new
    try:
        torch.broadcast_shapes(known, new)
    except RuntimeError:
        return False
    return True


def optional_of(hint: Any) -> bool:
    """Whether ``hint`` is ``X | None`` (or ``Optional[X]``) for one type X."""
    args = typing.get_args(hint)
    return (
        typing.get_origin(hint) in (typing.Union, types.UnionType)
        and len(args) == 2
        and type(None) in args
    )


def hint_text(hint: Any) -> str:
    """A type hint as a short readable name (``Sequence[Sample]``, ``int | None``)."""
    spec = tensor_spec(hint)
    if spec is not None:
        return f"a tensor {Scope().expected(spec)}"
    if isinstance(hint, type):
        return hint.__name__
    return re.sub(r"\b(?:[A-Za-z_]\w*\.)+([A-Za-z_]\w*)", r"\1", repr(hint))
