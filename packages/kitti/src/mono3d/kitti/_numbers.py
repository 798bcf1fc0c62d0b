"""What a number is in a KITTI text file (the devkit's ``%lf`` / ``%d`` read ASCII only).

* a real: optional sign, ASCII digits with an optional fraction, an optional exponent
  (no ``nan``, ``inf``, ``1_000``, hex, or non-ASCII digits such as ``١`` or ``５``, all of
  which Python's ``float`` would accept), finite in float32 (``|v| <=`` :data:`FLOAT32_MAX`:
  ``1e39`` and ``1e300`` are refused, since the tensors downstream are float32);
* an integer field (``occluded``): a real with an integral value in the field's range
  (``-1.00`` is -1 as the devkit reads a result line; ``0.5`` and ``1e30`` are refused).
"""

import re

import numpy as np

from ._errors import KittiFormatError

#: the largest finite float32; a real beyond it is refused
FLOAT32_MAX = float(np.finfo(np.float32).max)

#: the regular expression of a real (ASCII only)
NUMBER_PATTERN = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_NUMBER = re.compile(NUMBER_PATTERN)


def in_float32(value: float) -> bool:
    """Whether ``value`` is finite and within the float32 range."""
    return -FLOAT32_MAX <= value <= FLOAT32_MAX


def parse_real(token: str, source: str, line: int, field: str) -> float:
    """``token`` as a float finite in float32; anything else raises
    :class:`KittiFormatError` naming ``source``, ``line`` and ``field``."""
    if _NUMBER.fullmatch(token) is None:
        raise KittiFormatError(source, line, f"field {field!r}: expected a number, got {token!r}")
    value = float(token)
    if not in_float32(value):
        raise KittiFormatError(
            source, line, f"field {field!r}: number out of range (beyond float32): {token!r}"
        )
    return value


def check_integer(value: float, low: int, high: int) -> str | None:
    """``None`` when ``value`` is an integer in ``[low, high]``, else what is wrong."""
    if value != int(value):
        return "expected an integer"
    if not low <= value <= high:
        return f"expected an integer in {low}..{high}"
    return None
