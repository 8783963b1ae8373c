"""numpy ufuncs with a Value operand, as on micrograd's plain class: numpy runs them over
object arrays, calling the Values' own operators (and methods: np.exp calls .exp()) per
element, so an array with a Value gives an object array of Values and a numpy scalar with
a Value gives a Value.

Both backends' Value.__array_ufunc__ hand their call here.
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


def array_ufunc(ufunc: np.ufunc, method: str, inputs: tuple, kwargs: dict[str, Any]) -> Any:
    """ufunc.method over the inputs as object arrays (a 0-d result comes back unwrapped)."""
    return getattr(ufunc, method)(*[_as_objects(x) for x in inputs], **kwargs)
