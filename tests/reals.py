"""Python float arithmetic, in the vocabulary the op spec's rules are written in.

Each rule in tests/ops_spec.py is a function of a number system `m` (`m.add(a, b)`,
`m.increasing(math.exp, a)`, ...). Evaluated with this module it gives the exact float
reference: what Python's float and math compute, exceptions included (float grids,
gradcheck). tests/intervals.py is the same vocabulary over intervals (the fuzzer's
rigorous bounds).
"""
from __future__ import annotations

import math
import operator
from typing import Callable

ONE = 1.0
add = operator.add
sub = operator.sub
mul = operator.mul
div = operator.truediv  # ZeroDivisionError at zero, as Python's float
neg = operator.neg
fabs = abs


def const(x: float) -> float:
    return x


def square(x: float) -> float:
    return x * x


def minus_one(x: float) -> float:
    return x - 1.0


def power(x: float, y: float) -> float:
    """Python's x ** y, with ValueError where Python would go complex (math.pow's)."""
    if x < 0.0 and math.isfinite(x) and math.isfinite(y) and not y.is_integer():
        return math.pow(x, y)  # raises ValueError: math domain error
    return x ** y


def relu(x: float) -> float:
    return 0.0 if x < 0.0 else x


def sign(x: float) -> float:
    return 1.0 if x > 0.0 else (-1.0 if x < 0.0 else 0.0)


def step(x: float) -> float:
    """relu's derivative, from its output: 1 where it is positive."""
    return 1.0 if x > 0.0 else 0.0


def increasing(f: Callable[[float], float], x: float) -> float:
    """f(x), for a nondecreasing f (exp, log, tanh, ...): over floats, just the call."""
    return f(x)
