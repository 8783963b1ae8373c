"""numpy arrays with a Value, as on micrograd's plain class: an object array of Values.

Value has no __array_ufunc__ and a higher __array_priority__ than numpy's, so numpy
scalars and arrays on the left of an operator defer to the Value's reflected operator: a
numpy scalar is then a constant like any number (no ufunc machinery, which costs 20x the
operation), and an array reaches with_array, which runs the ufunc over object arrays,
calling the Values' own operators per element. A ufunc called on a Value (np.exp(v))
runs numpy's object loop, which calls v.exp(), as on micrograd.
"""
from __future__ import annotations

from typing import Any

import numpy as np


def _as_objects(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return x.astype(object)  # its numbers as Python numbers
    if isinstance(x, np.generic):  # a numpy scalar as a Python number: as an object it
        return x.item()            # would hand the element's op back to numpy
    a = np.empty((), dtype=object)  # a Value (or other object) as one element
    a[()] = x
    return a


def is_array(x: Any) -> bool:
    """A numpy array of one dimension or more: elementwise with a Value, never a constant
    (not even of size 1, which float() would convert)."""
    return isinstance(x, np.ndarray) and x.ndim > 0


def with_array(ufunc: np.ufunc, a: Any, b: Any) -> Any:
    """ufunc(a, b), a Value's operator with a number it could not take: over object arrays
    if either is a numpy array (a 0-d result comes back unwrapped), else NotImplemented."""
    if not (isinstance(a, np.ndarray) or isinstance(b, np.ndarray)):
        return NotImplemented
    return ufunc(_as_objects(a), _as_objects(b))
