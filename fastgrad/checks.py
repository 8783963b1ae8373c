"""Checks of what users hand in: state dicts that must match exactly, arrays of reals."""
from __future__ import annotations

from typing import Any, Iterable, Mapping

import numpy as np


def check_keys(state: Any, expected: Iterable[str], owner: str) -> None:
    """ValueError naming the missing and unexpected keys unless state has exactly `expected`."""
    if not isinstance(state, Mapping):
        raise TypeError(f"{owner}: a state dict must be a mapping, not {type(state).__name__}")
    expected = list(expected)
    missing = [k for k in expected if k not in state]
    unexpected = sorted(set(state) - set(expected), key=str)
    if missing or unexpected:
        raise ValueError(f"{owner}: state dict does not match; missing keys: {missing}, "
                         f"unexpected keys: {unexpected}")


def reals(value: Any, what: str) -> np.ndarray:
    """`value` as a float64 array. TypeError for None or complex data (numpy would make
    nan of None and drop imaginary parts); otherwise numpy's own errors (ValueError for
    strings that are no numbers, OverflowError for ints too large for a float)."""
    a = np.asarray(value)
    if value is None or a.dtype.kind in "cV":
        raise TypeError(f"{what}: expected real numbers, not {type(value).__name__} "
                        f"(dtype {a.dtype})")
    return a.astype(np.float64)


def real_array(value: Any, shape: tuple[int, ...], key: str, owner: str) -> np.ndarray:
    """`value` as a float64 array of exactly `shape`; TypeError unless it holds real numbers."""
    a = np.asarray(value)
    if a.dtype.kind not in "iuf":
        raise TypeError(f"{owner}: {key!r} must hold real numbers, not dtype {a.dtype}")
    if a.shape != shape:
        raise ValueError(f"{owner}: {key!r} has shape {a.shape}, expected {shape}")
    return a.astype(np.float64)
