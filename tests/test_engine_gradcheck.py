"""Every op's gradient against its derivative in the op spec and against central finite
differences, at the spec's points (away from kinks); then composite graphs."""
from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Callable

import pytest

import fastgrad
import fastgrad.engine
import reals
from fastgrad import Value
from ops_spec import ACTS, SPELLINGS, Spelling


def numeric_grads(f: Callable[..., Value], xs: Sequence[float], values: int) -> list[float]:
    """Central differences in the first `values` arguments (the rest are constants),
    step scaled to each input; divided by the step actually taken."""
    def at(args: list[float]) -> float:
        return f(*[Value(x) for x in args[:values]], *args[values:]).data

    grads = []
    for i in range(values):
        h = 1e-6 * max(1.0, abs(xs[i]))
        up, down = list(xs), list(xs)
        up[i], down[i] = xs[i] + h, xs[i] - h
        grads.append((at(up) - at(down)) / (up[i] - down[i]))
    return grads


def analytic_grads(f: Callable[..., Value], xs: Sequence[float], values: int) -> list[float]:
    vs = [Value(x) for x in xs[:values]]
    f(*vs, *xs[values:]).backward()
    return [v.grad for v in vs]


def assert_gradcheck(f: Callable[..., Value], *xs: float) -> None:
    got, want = analytic_grads(f, xs, len(xs)), numeric_grads(f, xs, len(xs))
    assert got == pytest.approx(want, rel=1e-6, abs=1e-8)


CASES = [(s, point) for s in SPELLINGS for point in s.op.points]


@pytest.mark.parametrize("spelling, point", CASES, ids=[f"{s}-{p}" for s, p in CASES])
def test_op(spelling: Spelling, point: tuple[float, ...]) -> None:
    """The engine's grads are the spec's derivative (where it gives one), and the
    engine's own forward agrees with them by finite differences."""
    args = spelling.args_at(point)
    values = spelling.kinds.count("v")
    f = functools.partial(spelling.make, fastgrad.engine)
    got = analytic_grads(f, args, values)
    assert got == pytest.approx(numeric_grads(f, args, values), rel=1e-6, abs=1e-8)
    op = spelling.op
    if op.derivative is not None:
        operands = spelling.operands(args)
        want = op.derivative(reals, *operands, op.forward(reals, *operands))
        assert got == pytest.approx(list(want), rel=1e-12, abs=1e-300)


@pytest.mark.parametrize("spelling", [s for s in SPELLINGS if s.kinds == "vv"], ids=str)
def test_same_value_on_both_sides(spelling: Spelling) -> None:
    assert_gradcheck(lambda a: spelling.make(fastgrad.engine, a, a), 1.7)


@pytest.mark.parametrize("act", ACTS)
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
