"""Every op's data is what Python float arithmetic (and math) gives, special values
included: signed zeros, subnormals, huge, inf, nan; and where Python raises, the op
raises the same exception. (Python's float ** goes complex for a negative base and a
non-integer exponent; the engine raises ValueError there, as math.pow does.)
"""
from __future__ import annotations

import itertools
import math
import operator
from typing import Any, Callable

import pytest

from fastgrad import Value
from programs import SPECIALS, same_float

def _pow(x: float, y: float) -> float:
    if x < 0.0 and math.isfinite(x) and math.isfinite(y) and not y.is_integer():
        return math.pow(x, y)  # raises ValueError: math domain error
    return x ** y


def _outcome(f: Callable[..., Any], *args: Any) -> tuple[str, float]:
    try:
        out = f(*args)
    except (ZeroDivisionError, ValueError, OverflowError) as exc:
        return type(exc).__name__, 0.0
    return "ok", out.data if isinstance(out, Value) else out


BINARY = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}


@pytest.mark.parametrize("name", [*BINARY, "**"])
def test_binary_ops_are_python_floats(name: str) -> None:
    op = BINARY.get(name, operator.pow)
    ref = BINARY.get(name, _pow)
    for x, y in itertools.product(SPECIALS, repeat=2):
        want = _outcome(ref, x, y)
        for args in [(Value(x), Value(y)), (Value(x), y), (x, Value(y))]:
            got = _outcome(op, *args)
            assert got[0] == want[0] and same_float(got[1], want[1]), (name, args, got, want)


UNARY: dict[str, tuple[Callable[[Value], Value], Callable[[float], float]]] = {
    "neg": (operator.neg, operator.neg),
    "abs": (abs, abs),
    "relu": (Value.relu, lambda x: 0.0 if x < 0.0 else x),
    "tanh": (Value.tanh, math.tanh),
    "exp": (Value.exp, math.exp),
    "log": (Value.log, math.log),
    "sqrt": (Value.sqrt, math.sqrt),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_ops_are_math(name: str) -> None:
    op, ref = UNARY[name]
    for x in SPECIALS:
        got, want = _outcome(op, Value(x)), _outcome(ref, x)
        assert got[0] == want[0] and same_float(got[1], want[1]), (name, x, got, want)


def test_sigmoid_is_the_logistic_function_without_overflow() -> None:
    for x in SPECIALS:
        s = Value(x).sigmoid().data
        if math.isnan(x):
            assert math.isnan(s)
            continue
        assert 0.0 <= s <= 1.0
        want = 1.0 / (1.0 + math.exp(-x)) if x > -700 else 0.0
        assert s == pytest.approx(want, rel=1e-15, abs=1e-300)
