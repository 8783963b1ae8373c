"""C's float semantics where Python's differ, and the formulas csrc/ applies the
activations with, so the pure twin computes bit for bit what the compiled core does.

The forward ops raise where Python's float arithmetic raises (`real_pow`); the
backward sweep and the optimizer kernels never raise, as C does not: where Python
would, they give the IEEE result, inf or nan (`fdiv`, `fpow`, `flog`, `fsqrt`).
"""
from __future__ import annotations

import math

_inf = math.inf
_nan = math.nan


def _is_odd_integer(y: float) -> bool:
    return math.isfinite(y) and y.is_integer() and math.fmod(y, 2.0) != 0.0


def fdiv(x: float, y: float) -> float:
    """x / y as C computes it: ±inf or nan instead of ZeroDivisionError."""
    if y != 0.0:
        return x / y
    if x != x or x == 0.0:
        return _nan
    return math.copysign(_inf, x) * math.copysign(1.0, y)


def fpow(x: float, y: float) -> float:
    """C's pow(x, y): Python's ** where that returns a float, IEEE values elsewhere."""
    try:
        r = x ** y
    except ZeroDivisionError:  # 0.0 ** negative is a pole
        return math.copysign(_inf, x) if _is_odd_integer(y) else _inf
    except OverflowError:
        return -_inf if x < 0.0 and _is_odd_integer(y) else _inf
    return _nan if isinstance(r, complex) else r


def pow_slope(x: float, y: float, out: float) -> float:
    """d(x**y)/dx as csrc/ops.h's fg_pow_slope: y * x**(y-1), or (y / x) * out where
    x**(y-1) alone overflows and that does not (a subnormal x, |y| < 1)."""
    d = y * fpow(x, y - 1.0)
    if math.isinf(d) and x != 0.0:
        e = fdiv(y, x) * out
        if math.isfinite(e):
            d = e
    return d


def flog(x: float) -> float:
    """C's log(x): -inf at zero, nan below it."""
    if x > 0.0:
        return math.log(x)
    return -_inf if x == 0.0 else _nan


def fsqrt(x: float) -> float:
    """C's sqrt(x): nan below zero instead of ValueError."""
    return math.sqrt(x) if x >= 0.0 else _nan


def real_pow(x: float, y: float) -> float:
    """Python's x ** y, with ValueError where Python would go complex (and then maybe
    overflow: a negative finite base to a finite non-integer power is a domain error)."""
    if x < 0.0 and math.isfinite(x) and math.isfinite(y) and not y.is_integer():
        raise ValueError("math domain error")
    return x ** y


def sigmoid(x: float) -> float:
    """1 / (1 + e^-x) without overflow for any finite x."""
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def relu(x: float) -> float:
    return 0.0 if x < 0.0 else x
