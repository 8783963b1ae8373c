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


def scale(k: float, x: float) -> float:
    """k * x, where k = 0 gives 0 whatever x is: a term constant in an operand (x ** 0)
    has slope 0 there, as torch has it, even where x's factor is a pole."""
    return 0.0 if k == 0.0 else k * x


def unless_zero_base(a: float, b: float, x: float) -> float:
    """x, or 0 where the base a of a ** b is zero and b >= 0: torch's d(a ** b)/db there
    (a ** b is 0 or 1 near such points from the right; log(0) would make it nan)."""
    return 0.0 if a == 0.0 and b >= 0.0 else x


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
