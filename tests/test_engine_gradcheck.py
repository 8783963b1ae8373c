"""Every op's gradient against central finite differences (inputs away from kinks)."""
from __future__ import annotations

from typing import Callable

import pytest

import fastgrad
from fastgrad import Value


def numeric_grads(f: Callable[..., Value], xs: tuple[float, ...]) -> list[float]:
    """Central differences, step scaled to each input; divided by the step actually taken."""
    grads = []
    for i, x in enumerate(xs):
        h = 1e-6 * max(1.0, abs(x))
        up, down = list(xs), list(xs)
        up[i], down[i] = x + h, x - h
        fu = f(*[Value(v) for v in up]).data
        fd = f(*[Value(v) for v in down]).data
        grads.append((fu - fd) / (up[i] - down[i]))
    return grads


def analytic_grads(f: Callable[..., Value], xs: tuple[float, ...]) -> list[float]:
    vs = [Value(x) for x in xs]
    f(*vs).backward()
    return [v.grad for v in vs]


def assert_gradcheck(f: Callable[..., Value], *xs: float) -> None:
    got, want = analytic_grads(f, xs), numeric_grads(f, xs)
    assert got == pytest.approx(want, rel=1e-6, abs=1e-8)


UNARY = {
    "neg": lambda x: -x, "abs": abs, "relu": Value.relu, "tanh": Value.tanh,
    "sigmoid": Value.sigmoid, "exp": Value.exp, "log": Value.log, "sqrt": Value.sqrt,
    "pos": lambda x: (+x) * 1.0,
    "+c": lambda x: x + 2.5, "c+": lambda x: 2.5 + x, "-c": lambda x: x - 2.5,
    "c-": lambda x: 2.5 - x, "*c": lambda x: x * 2.5, "c*": lambda x: 2.5 * x,
    "/c": lambda x: x / 2.5, "c/": lambda x: 2.5 / x, "**2": lambda x: x ** 2,
    "**3": lambda x: x ** 3, "**-1": lambda x: x ** -1, "**-2": lambda x: x ** -2,
    "**0.5": lambda x: x ** 0.5, "**1.5": lambda x: x ** 1.5, "**0": lambda x: x ** 0 * x,
    "c**": lambda x: 2.5 ** x, "0.5**": lambda x: 0.5 ** x,
}
POSITIVE_ONLY = {"log", "sqrt", "**0.5", "**1.5"}


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("x", [0.37, 1.9, -0.8, -2.6])
def test_unary(name: str, x: float) -> None:
    if name in POSITIVE_ONLY and x < 0:
        x = -x
    assert_gradcheck(UNARY[name], x)


BINARY = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
    "/": lambda a, b: a / b, "**": lambda a, b: a ** b,
}


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("a, b", [(1.3, -0.7), (0.45, 2.2), (3.1, 0.9)])
def test_binary(name: str, a: float, b: float) -> None:
    assert_gradcheck(BINARY[name], a, b)


def test_same_value_on_both_sides() -> None:
    for f in BINARY.values():
        assert_gradcheck(lambda a: f(a, a), 1.7)


def test_sum() -> None:
    assert_gradcheck(lambda a, b, c: fastgrad.sum([a, 2.0, b * c, a]), 0.3, -1.2, 0.8)


def test_dot() -> None:
    assert_gradcheck(lambda w1, w2, x, b: fastgrad.dot([w1, w2, 0.5], [x, 3.0, w1], b),
                     0.4, -0.9, 1.6, 0.2)


@pytest.mark.parametrize("act", ["relu", "tanh", "sigmoid", "linear"])
def test_layer(act: str) -> None:
    def f(w00, w01, w10, w11, b0, b1, x0):
        outs = fastgrad.layer([[w00, w01], [w10, w11]], [b0, b1], [x0, -1.3], act)
        return outs[0] * 1.5 + outs[1] * outs[1]
    assert_gradcheck(f, 0.3, -0.4, 0.9, 0.2, 0.1, 0.5, 0.8)


def test_composite_expression() -> None:
    def f(a, b, c):
        h = (a * b + c.exp()).tanh() / (1.0 + (a - c) ** 2)
        g = (b.relu() + 0.1).log() * h.sigmoid() - abs(a) ** 1.5
        return g + (h * g).sqrt() if (h * g).data > 0 else g - h
    assert_gradcheck(f, 0.7, 1.4, -0.3)


def test_micrograds_own_engine_test() -> None:
    """micrograd's test_more_ops, with the numbers its torch comparison gives."""
    a, b = Value(-4.0), Value(2.0)
    c = a + b
    d = a * b + b ** 3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e ** 2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    assert g.data == pytest.approx(24.70408163265306, rel=1e-12)
    assert a.grad == pytest.approx(138.83381924198252, rel=1e-12)
    assert b.grad == pytest.approx(645.5772594752186, rel=1e-12)
