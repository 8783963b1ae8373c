"""numpy interop: Values from an array, and arrays from (nested lists of) Values."""
from __future__ import annotations

from typing import Any, Union

import numpy as np

from fastgrad.checks import reals

from .engine import Value, get_data, get_grad

__all__ = ["from_array", "data_array", "grad_array"]

Nested = Union[Value, list]  # a Value, or (nested) lists of Values


def from_array(a: Any) -> Nested:
    """A new Value per element of `a`, in nested lists of a's shape (0-d: one Value)."""
    return _values(reals(a, "from_array").tolist())


def _values(x: Any) -> Nested:
    return [_values(item) for item in x] if isinstance(x, list) else Value(x)


def data_array(values: Any) -> np.ndarray:
    """The data of a Value or of rectangular nested lists/tuples of Values, as float64."""
    leaves, shape = _leaves(values)
    return get_data(leaves).reshape(shape)


def grad_array(values: Any) -> np.ndarray:
    """The grads of a Value or of rectangular nested lists/tuples of Values, as float64."""
    leaves, shape = _leaves(values)
    return get_grad(leaves).reshape(shape)


def _leaves(x: Any) -> tuple[list[Value], tuple[int, ...]]:
    """The Values in row-major order, and the shape of their nesting."""
    if isinstance(x, Value):
        return [x], ()
    if not isinstance(x, (list, tuple)):
        raise TypeError(f"expected a Value or nested lists of Values, found {type(x).__name__}")
    parts = [_leaves(item) for item in x]
    shape = parts[0][1] if parts else ()
    if any(s != shape for _, s in parts):
        raise ValueError("nested lists of Values must be rectangular, "
                         f"but found rows of shapes {shape} and {next(s for _, s in parts if s != shape)}")
    return [v for vs, _ in parts for v in vs], (len(parts), *shape)
