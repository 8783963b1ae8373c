"""An operator spelled `a + b` and the same operation through its method
(Value.__add__(a, b), Value.__radd__(b, a)) make the same node: the compiled backend's
number slots take the common operands (exact Values, floats and ints) in line and hand
every other case to the methods, so the two paths must never be told apart: the same
data bit for bit, op, operands, gradients, and the same exception where one raises.
On the pure backend both spellings run the same method."""
from __future__ import annotations

import itertools
import math
import operator
import struct
from typing import Any, Callable

import numpy as np
import pytest

import fastgrad
from fastgrad import Value, engine
from programs import ENGINE_ERRORS, same_float


class Sub(Value):
    pass


OPERATORS = [(operator.add, "__add__", "__radd__"), (operator.sub, "__sub__", "__rsub__"),
             (operator.mul, "__mul__", "__rmul__"), (operator.truediv, "__truediv__",
                                                     "__rtruediv__"),
             (operator.pow, "__pow__", "__rpow__")]
# -1 is also what an int's conversion returns on failure
NUMBERS = [0.0, -0.0, 1.0, -1.0, -2.5, 3.0, 1e308, 5e-324, math.inf, -math.inf, math.nan,
           -math.nan]
# the other operand of a Value, each a function of a number; ints as ints where exact
KINDS: dict[str, Callable[[float], Any]] = {
    "Value": Value, "Sub": Sub, "float": float,
    "int": lambda x: int(x) if math.isfinite(x) and x == int(x) else x,
    "bool": lambda x: bool(x) if math.isfinite(x) else x,
    "np.float64": np.float64, "np.int64": lambda x: np.int64(x) if x == 3.0 else x,
}


def _bits(x: float) -> bytes:
    return struct.pack("<d", x)


def _outcome(make: Callable[[], Any], any_nan: bool = False) -> tuple:
    """What an operation gives: its exception, or its node: data bits (any nan the
    same if any_nan), op, operands (constants as bits), type."""
    try:
        out = make()
    except (*ENGINE_ERRORS, TypeError, MemoryError, AttributeError) as exc:
        return type(exc).__name__, str(exc)
    if not isinstance(out, Value):
        return "result", type(out).__name__
    operands = tuple(o if isinstance(o, Value) else _bits(o) for o in out._operands)
    data = "nan" if any_nan and math.isnan(out.data) else _bits(out.data)
    return "node", data, out._op, operands, type(out).__name__


def _by_method(name: str, rname: str, x: Any, y: Any) -> Any:
    """x op y through the method Python calls first: x's, or y's reflected one."""
    if isinstance(x, Value):
        return getattr(type(x), name)(x, y)
    return getattr(type(y), rname)(y, x)


def _both(op: Callable, name: str, rname: str, x: Any, y: Any,
          two_nans: bool = False) -> tuple[tuple, tuple]:
    """(x op y as an operator, the same through its method). Which of two nan operands
    an operation passes on is the compiler's choice (tests/test_engine_floats.py): with
    two_nans, any nan result is the same."""
    return (_outcome(lambda: op(x, y), two_nans),
            _outcome(lambda: _by_method(name, rname, x, y), two_nans))


@pytest.mark.parametrize("op,name,rname", OPERATORS, ids=[o[1] for o in OPERATORS])
@pytest.mark.parametrize("kind", list(KINDS))
def test_operator_and_method_make_the_same_node(op: Callable, name: str, rname: str,
                                                kind: str) -> None:
    make = KINDS[kind]
    for a, b in itertools.product(NUMBERS, repeat=2):
        for x, y in ((Value(a), make(b)), (make(a), Value(b))):
            by_operator, by_method = _both(op, name, rname, x, y,
                                           math.isnan(a) and math.isnan(b))
            assert by_operator == by_method, (name, kind, a, b)


@pytest.mark.parametrize("op,name,rname", OPERATORS, ids=[o[1] for o in OPERATORS])
def test_operator_gradients_are_the_methods(op: Callable, name: str, rname: str) -> None:
    for a, b in itertools.product((1.5, 2.0, 3.0), repeat=2):  # no error, ints 1 2 3
        for kinds in ("vv", "vc", "cv", "vi", "iv"):
            grads = []
            for by_operator in (True, False):
                leaves = [Value(a), Value(b)]
                x, y = (leaves[k] if kind == "v" else int(n) if kind == "i" else n
                        for k, (kind, n) in enumerate(zip(kinds, (a, b))))
                out = op(x, y) if by_operator else _by_method(name, rname, x, y)
                out.backward()
                grads.append([_bits(v.grad) for v in leaves])
            assert grads[0] == grads[1], (name, kinds, a, b)


def test_a_constant_subtracted_keeps_a_nans_sign() -> None:
    # x - c is made as x + (-c), but for a nan c: -nan would flip the sign x - c keeps
    for c in (math.nan, -math.nan):
        for x in (1.0, math.inf):
            want = x - c
            assert _bits((Value(x) - c).data) == _bits(want)
            assert same_float((Value(x) - c).data, want)


def test_ints_too_large_for_a_float_raise_as_the_methods_do() -> None:
    big = 10**400
    for op, name, rname in OPERATORS:
        for x, y in ((Value(2.0), big), (big, Value(2.0))):
            by_operator, by_method = _both(op, name, rname, x, y)
            assert by_operator == by_method and by_operator[0] == "OverflowError", name


def test_under_no_grad_an_operator_makes_a_leaf() -> None:
    a, b = Value(2.0), Value(3.0)
    with fastgrad.no_grad():
        for out in (a + b, a - 1.0, 2 * a, a / b, a ** 2, 2.0 ** a):
            assert out._op == "" and out._prev == set()


def test_an_uninitialised_value_raises_through_the_operator() -> None:
    blank = Value.__new__(Value)
    for op, name, rname in OPERATORS:
        for x, y in ((blank, Value(1.0)), (Value(1.0), blank), (blank, 2.0), (2, blank)):
            by_operator, by_method = _both(op, name, rname, x, y)
            assert by_operator == by_method and by_operator[0] == "AttributeError", name


@pytest.mark.usefixtures("fresh_heap")  # no collection may make room mid-test
def test_the_node_limit_holds_for_operators() -> None:
    a, b = Value(1.0), Value(2.0)
    live = engine.stats()["live_nodes"]
    engine.set_node_limit(live)
    try:
        for op, _, _ in OPERATORS:
            for x, y in ((a, b), (a, 2.0), (3, b)):
                with pytest.raises(MemoryError):
                    op(x, y)
        assert engine.stats()["live_nodes"] == live
    finally:
        engine.set_node_limit(None)


def test_many_results_alive_at_once_each_own_their_node() -> None:
    # past the spare facades kept for reuse, results take new objects
    a = Value(1.5)
    outs = [a * float(k) for k in range(5000)] + [a + k for k in range(5000)]
    assert len({id(o) for o in outs}) == len(outs)
    assert [o.data for o in outs[:3]] == [0.0, 1.5, 3.0]
    assert outs[-1].data == 1.5 + 4999
