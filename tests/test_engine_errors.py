"""Errors are Python float's, and a failing operation leaves the graph untouched.

Table-driven: each case builds leaves, gives them grads, runs one operation that must
raise, then checks that no node was created (live_nodes) and that no existing data
or grad changed.
"""
from __future__ import annotations

import math
import warnings
from typing import Any, Callable

import numpy as np
import pytest

import fastgrad
import fastgrad.engine as engine
from fastgrad import Value

pytestmark = pytest.mark.usefixtures("fresh_heap")

V = Value
Case = tuple[str, tuple[float, ...], Callable[..., Any], type]

CASES: list[Case] = [
    # ZeroDivisionError: as 1.0 / 0.0 and 0.0 ** -1 in Python
    ("value / zero value", (1.0, 0.0), lambda a, b: a / b, ZeroDivisionError),
    ("value / negative zero", (1.0, -0.0), lambda a, b: a / b, ZeroDivisionError),
    ("zero / zero", (0.0, 0.0), lambda a, b: a / b, ZeroDivisionError),
    ("value / 0", (1.0, 2.0), lambda a, b: a / 0, ZeroDivisionError),
    ("value / 0.0", (1.0, 2.0), lambda a, b: a / 0.0, ZeroDivisionError),
    ("value / numpy 0", (1.0, 2.0), lambda a, b: a / np.float64(0.0), ZeroDivisionError),
    ("number / zero value", (0.0, 2.0), lambda a, b: 1.0 / a, ZeroDivisionError),
    ("zero ** -1", (0.0, 2.0), lambda a, b: a ** -1, ZeroDivisionError),
    ("zero ** -0.5", (0.0, 2.0), lambda a, b: a ** -0.5, ZeroDivisionError),
    ("zero ** negative value", (0.0, -2.0), lambda a, b: a ** b, ZeroDivisionError),
    ("0.0 ** negative value", (-1.0, 2.0), lambda a, b: 0.0 ** a, ZeroDivisionError),
    # ValueError: math domain
    ("log(0)", (0.0, 1.0), lambda a, b: a.log(), ValueError),
    ("log(-0.0)", (-0.0, 1.0), lambda a, b: a.log(), ValueError),
    ("log(-1)", (-1.0, 1.0), lambda a, b: a.log(), ValueError),
    ("log(-inf)", (-math.inf, 1.0), lambda a, b: a.log(), ValueError),
    ("sqrt(-1)", (-1.0, 1.0), lambda a, b: a.sqrt(), ValueError),
    ("sqrt(-tiny)", (-5e-324, 1.0), lambda a, b: a.sqrt(), ValueError),
    ("negative ** 0.5", (-4.0, 1.0), lambda a, b: a ** 0.5, ValueError),
    ("negative ** non-integer value", (-8.0, 1 / 3), lambda a, b: a ** b, ValueError),
    ("negative number ** value", (0.5, 1.0), lambda a, b: (-2.0) ** a, ValueError),
    ("huge negative ** non-integer", (-1e300, 1.0), lambda a, b: a ** 1000.5, ValueError),
    ("dot length mismatch", (1.0, 2.0), lambda a, b: fastgrad.dot([a, b], [1.0]), ValueError),
    ("unknown activation", (1.0, 2.0), lambda a, b: fastgrad.layer([[a]], [b], [1.0], "softmax"),
     ValueError),
    ("layer row too short, second neuron", (1.0, 2.0),
     lambda a, b: fastgrad.layer([[a], [a, b]], [a, b], [1.0], "tanh"), ValueError),
    ("layer with fewer biases than rows", (1.0, 2.0),
     lambda a, b: fastgrad.layer([[a], [b]], [a], [1.0]), ValueError),
    ("Dense with ragged rows", (1.0, 2.0), lambda a, b: engine.Dense([[a], [a, b]], [a, b]),
     ValueError),
    ("Dense called with too many inputs", (1.0, 2.0),
     lambda a, b: engine.Dense([[a]], [b])([1.0, 2.0]), ValueError),
    ("Dense with an unknown activation", (1.0, 2.0), lambda a, b: engine.Dense([[a]], [b], "gelu"),
     ValueError),
    ("mlp without layers", (1.0, 2.0), lambda a, b: engine.mlp([], [1.0]), ValueError),
    ("mlp whose second layer does not fit", (1.0, 2.0),
     lambda a, b: engine.mlp([([[a]], [b], "relu"), ([[a, b]], [b], "relu")], [1.0]), ValueError),
    # OverflowError: as math.exp(1000) and 10.0 ** 400 in Python
    ("exp(1000)", (1000.0, 1.0), lambda a, b: a.exp(), OverflowError),
    ("exp(710)", (710.0, 1.0), lambda a, b: a.exp(), OverflowError),
    ("10.0 ** 400", (10.0, 1.0), lambda a, b: a ** 400, OverflowError),
    ("1e200 ** 2", (1e200, 1.0), lambda a, b: a ** 2, OverflowError),
    ("1e-200 ** -2", (1e-200, 1.0), lambda a, b: a ** -2, OverflowError),
    ("value ** value", (10.0, 400.0), lambda a, b: a ** b, OverflowError),
    ("number ** value", (400.0, 1.0), lambda a, b: 10.0 ** a, OverflowError),
    ("int too large for a float", (1.0, 2.0), lambda a, b: a + 10 ** 400, OverflowError),
    ("int too large, reflected", (1.0, 2.0), lambda a, b: 10 ** 400 * a, OverflowError),
    ("int too large in dot", (1.0, 2.0), lambda a, b: fastgrad.dot([a], [10 ** 400]),
     OverflowError),
    ("Value(int too large)", (1.0, 2.0), lambda a, b: Value(10 ** 400), OverflowError),
    # TypeError: operands that are not numbers or Values
    ("value + str", (1.0, 2.0), lambda a, b: a + "x", TypeError),
    ("str + value", (1.0, 2.0), lambda a, b: "x" + a, TypeError),
    ("value * None", (1.0, 2.0), lambda a, b: a * None, TypeError),
    ("None * value", (1.0, 2.0), lambda a, b: None * a, TypeError),
    ("value - list", (1.0, 2.0), lambda a, b: a - [1.0], TypeError),
    ("list + value", (1.0, 2.0), lambda a, b: [1.0] + a, TypeError),
    ("value / str", (1.0, 2.0), lambda a, b: a / "2", TypeError),
    ("str / value", (1.0, 2.0), lambda a, b: "2" / a, TypeError),
    ("value ** str", (1.0, 2.0), lambda a, b: a ** "2", TypeError),
    ("str ** value", (1.0, 2.0), lambda a, b: "2" ** a, TypeError),
    ("value ** None", (1.0, 2.0), lambda a, b: a ** None, TypeError),
    ("three-argument pow", (1.0, 2.0), lambda a, b: pow(a, 2, 3), TypeError),
    ("value + complex", (1.0, 2.0), lambda a, b: a + 1j, TypeError),
    ("complex * value", (1.0, 2.0), lambda a, b: 1j * a, TypeError),
    ("value < str", (1.0, 2.0), lambda a, b: a < "x", TypeError),
    ("None >= value", (1.0, 2.0), lambda a, b: None >= a, TypeError),
    ("sum with a str", (1.0, 2.0), lambda a, b: fastgrad.sum([a, b, "x"]), TypeError),
    ("sum with None", (1.0, 2.0), lambda a, b: fastgrad.sum([a, None]), TypeError),
    ("sum of a non-iterable", (1.0, 2.0), lambda a, b: fastgrad.sum(a), TypeError),
    ("dot with a str input", (1.0, 2.0), lambda a, b: fastgrad.dot([a, b], [1.0, "x"]), TypeError),
    ("dot with a str bias", (1.0, 2.0), lambda a, b: fastgrad.dot([a], [b], "bias"), TypeError),
    ("layer with a str input", (1.0, 2.0), lambda a, b: fastgrad.layer([[a]], [b], ["x"]),
     TypeError),
    ("Dense with a str bias", (1.0, 2.0), lambda a, b: engine.Dense([[a]], ["x"]), TypeError),
    ("mlp with a str input", (1.0, 2.0), lambda a, b: engine.mlp([([[a]], [b], "relu")], ["x"]),
     TypeError),
    ("Value(str)", (1.0, 2.0), lambda a, b: Value("1.0"), TypeError),
    ("Value(None)", (1.0, 2.0), lambda a, b: Value(None), TypeError),
    ("Value(complex)", (1.0, 2.0), lambda a, b: Value(1 + 0j), TypeError),
    ("Value(list)", (1.0, 2.0), lambda a, b: Value([1.0]), TypeError),
    ("data = str", (1.0, 2.0), lambda a, b: setattr(a, "data", "3"), TypeError),
    ("data = None", (1.0, 2.0), lambda a, b: setattr(a, "data", None), TypeError),
    ("grad = str", (1.0, 2.0), lambda a, b: setattr(b, "grad", "3"), TypeError),
    ("grad = complex", (1.0, 2.0), lambda a, b: setattr(b, "grad", 1j), TypeError),
]


def _snapshot(vs: list[Value]) -> list[tuple[str, str]]:
    return [(repr(v.data), repr(v.grad)) for v in vs]


def _leaves_with_graph(values: tuple[float, ...]) -> list[Value]:
    """The case's operands, with grads of their own and a graph above them."""
    a, b = (Value(x) for x in values)
    top = (a * 2.0 + b).tanh()
    top.backward()
    a.grad, b.grad = 0.25, -0.5
    return [a, b, top]


def _raises(expected: type, fn: Callable[..., Any], *args: Any) -> None:
    try:
        fn(*args)
    except expected:
        return  # the exception, its traceback and frames are released here
    pytest.fail(f"expected {expected.__name__}")


@pytest.mark.parametrize("name, values, fn, expected", CASES, ids=[c[0] for c in CASES])
def test_error_raises_and_changes_nothing(name, values, fn, expected) -> None:
    nodes = _leaves_with_graph(values)
    before, state = fastgrad.stats()["live_nodes"], _snapshot(nodes)
    _raises(expected, fn, nodes[0], nodes[1])
    assert fastgrad.stats()["live_nodes"] == before, "a failed operation left a node behind"
    assert _snapshot(nodes) == state, "a failed operation changed data or grad"


@pytest.mark.parametrize("name, values, fn, expected",
                         [c for c in CASES if c[3] is not TypeError],
                         ids=[c[0] for c in CASES if c[3] is not TypeError])
def test_errors_raise_under_no_grad_too(name, values, fn, expected) -> None:
    nodes = _leaves_with_graph(values)
    before = fastgrad.stats()["live_nodes"]
    with fastgrad.no_grad():
        _raises(expected, fn, nodes[0], nodes[1])
    assert fastgrad.is_grad_enabled()
    assert fastgrad.stats()["live_nodes"] == before


@pytest.mark.parametrize("make", [lambda: Value(np.complex128(1 + 1j)),
                                  lambda: Value(1.0) + np.complex128(1j)],
                         ids=["Value(np.complex128)", "value + np.complex128"])
def test_numpy_complex_is_refused_like_complex(make) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(TypeError):
            make()


@pytest.mark.parametrize("compare", [lambda: Value(1.0) < 10 ** 400,
                                     lambda: Value(2.0 ** 53) < 2 ** 53 + 1],
                         ids=["huge int", "int beyond 2**53"])
def test_comparisons_with_ints_are_exact_like_floats(compare) -> None:
    assert compare() is True


def _pole(op: Callable[[Value], Value], at: float, on_output: bool = False) -> float:
    """The grad backward() gives when the operand (or the output) is moved onto a pole
    after the forward pass, where Python arithmetic would raise."""
    x = Value(1.0)
    out = op(x)
    (out if on_output else x).data = at
    out.backward()
    return x.grad


@pytest.mark.parametrize("op, at, on_output, expected", [
    (lambda x: 1.0 / x, 0.0, False, -math.inf),
    (lambda x: x.log(), 0.0, False, math.inf),
    (lambda x: x.log(), -0.0, False, -math.inf),
    (lambda x: x.sqrt(), 0.0, True, math.inf),
    (lambda x: x ** -1, 0.0, False, -math.inf),
    (lambda x: x ** -2, -0.0, False, math.inf),
    (lambda x: x ** 0.5, -1.0, False, math.nan),
    (lambda x: 0.0 ** x, -1.0, False, math.nan),
    (lambda x: Value(1.0) / x, 0.0, False, -math.inf),
], ids=["c/x", "log 0", "log -0", "sqrt", "x**-1", "x**-2 at -0", "x**0.5 at -1", "0**x at -1",
        "v/x"])
def test_backward_never_raises_it_gives_ieee_results(op, at, on_output, expected) -> None:
    got = _pole(op, at, on_output)
    assert got == expected or (math.isnan(expected) and math.isnan(got))


def test_operations_after_an_error_still_work() -> None:
    a = Value(0.0)
    _raises(ZeroDivisionError, lambda: 1.0 / a)
    out = (a + 1.0) * 3.0
    out.backward()
    assert out.data == 3.0 and a.grad == 3.0


def test_values_dying_as_an_error_propagates_keep_that_error() -> None:
    # the operands die after the TypeError is set, as the interpreter unwinds: dropping
    # their labels (and nodes) must neither clear nor replace it
    before = fastgrad.stats()["live_nodes"]
    with pytest.raises(TypeError, match="unsupported operand"):
        (Value(1.0, label="a") * Value(2.0, label="b")) + object()  # type: ignore[operator]
    assert fastgrad.stats()["live_nodes"] == before
    assert Value(3.0).label == ""
