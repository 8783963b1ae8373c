"""The op spec's vocabulary (tests/ops_spec.py) in 200-bit arithmetic (mpmath).

Evaluated at float operands, a rule gives its exact value rounded once at the end,
so where a float formula overflows or underflows on the way to a representable
result (`a / (b * b)` at b = 1e-200), this reference does not. Poles and undefined
points give IEEE values (inf, nan) rather than exceptions, as the engines' backward
sweeps do.
"""
from __future__ import annotations

import math
from typing import Callable

import mpmath

from ops_spec import sigmoid

Real = mpmath.mpf
_ctx = mpmath.MPContext()
_ctx.prec = 200
ONE = _ctx.mpf(1)
_NAN = _ctx.mpf("nan")


def point(x: float) -> Real:
    return _ctx.mpf(x)


const = point


def add(a: Real, b: Real) -> Real:
    return a + b


def sub(a: Real, b: Real) -> Real:
    return a - b


def mul(a: Real, b: Real) -> Real:
    return a * b


def neg(a: Real) -> Real:
    return -a


def div(a: Real, b: Real) -> Real:
    if b == 0:
        return _NAN if a == 0 or _ctx.isnan(a) else _ctx.inf * _ctx.sign(a)
    return a / b


def square(a: Real) -> Real:
    return a * a


def fabs(a: Real) -> Real:
    return abs(a)


def minus_one(a: Real) -> Real:
    return a - 1


def power(a: Real, b: Real) -> Real:
    if a == 0 and b < 0:
        return _ctx.inf
    if a < 0 and not _ctx.isint(b):
        return _NAN
    return _ctx.power(a, b)


_EXACT: dict[Callable[[float], float], Callable[[Real], Real]] = {
    math.exp: _ctx.exp, math.tanh: _ctx.tanh, math.sqrt: _ctx.sqrt,
    math.log: lambda a: -_ctx.inf if a == 0 else _NAN if a < 0 else _ctx.log(a),
    sigmoid: lambda a: 1 / (1 + _ctx.exp(-a)),
}


def increasing(f: Callable[[float], float], a: Real) -> Real:
    return _EXACT[f](a)


def relu(a: Real) -> Real:
    return a if a > 0 else _ctx.mpf(0)


def sign(a: Real) -> Real:
    return _ctx.mpf(_ctx.sign(a))


def step(a: Real) -> Real:
    return ONE if a > 0 else _ctx.mpf(0)


def scale(k: Real, x: Real) -> Real:
    return _ctx.mpf(0) if k == 0 else k * x


def unless_zero_base(a: Real, b: Real, x: Real) -> Real:
    return _ctx.mpf(0) if a == 0 and b >= 0 else x


def to_float(x: Real) -> float:
    """x rounded to the nearest float, overflowing to inf."""
    return float(x) if not _ctx.isnan(x) else math.nan
