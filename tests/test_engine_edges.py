"""Gradients at tiny, huge and zero operands: every op's local derivatives are the op
spec's, computed exactly and rounded once (tests/exact.py), so no formula overflows or
underflows on the way to a representable result; and the cases torch defines by
convention (x ** 0, a zero base) are torch's."""
from __future__ import annotations

import itertools
import math
from typing import Any

import pytest

import exact
import fastgrad
import fastgrad.engine as engine
from fastgrad import Value
from ops_spec import FORMS, Spelling
from programs import same_float

# magnitudes where a product or quotient of two operands leaves the float range
EXTREMES = (1e-200, -1e-200, 1e200, 1e-100, 1e100, 2.2250738585072014e-308)


def _grid(spelling: Spelling) -> tuple[float, ...]:
    return tuple(x for x in dict.fromkeys(spelling.op.grid + EXTREMES) if math.isfinite(x))


def _close(got: float, want: float) -> bool:
    if not math.isfinite(want):
        return same_float(got, want)
    return math.isfinite(got) and abs(got - want) <= 1e-13 * abs(want) + 1e-305


@pytest.mark.parametrize("spelling", FORMS.values(), ids=str)
def test_grads_are_the_exact_derivative_rounded_once(spelling: Spelling) -> None:
    op = spelling.op
    wrong = []
    for xs in itertools.product(_grid(spelling), repeat=len(spelling.kinds)):
        args: list[Any] = [Value(x) if k == "v" else x for k, x in zip(spelling.kinds, xs)]
        try:
            out = spelling.make(engine, *args)
        except (ZeroDivisionError, ValueError, OverflowError):
            continue
        out.backward()
        operands = [exact.point(x) for x in spelling.operands(xs)]
        want = op.derivative(exact, *operands, exact.point(out.data))
        got = [a.grad for a in args if isinstance(a, Value)]
        want = [exact.to_float(w) for w in want]
        if not all(map(_close, got, want)):
            wrong.append((xs, got, want))
    assert not wrong, f"{spelling} on {fastgrad.backend}: {len(wrong)} points, e.g. {wrong[:5]}"


# (expression over the Values a and b, a, b, torch float64's grads of a and b)
CASES = [
    ("1e-300 / b", None, 1e-200, (None, -1e100)),
    ("a / b", 1e-300, 1e-200, (1e200, -1e100)),
    ("a / b", 1e300, 1e200, (1e-200, -1e-100)),
    ("a / a", 1e-200, None, (0.0, None)),
    ("a ** 0", 0.0, None, (0.0, None)),
    ("a ** 0.0", -0.0, None, (0.0, None)),
    ("a ** b", 0.0, 0.0, (0.0, 0.0)),
    ("a ** b", 0.0, 2.0, (0.0, 0.0)),
    ("0.0 ** b", None, 0.0, (None, 0.0)),
    ("0.0 ** b", None, 3.5, (None, 0.0)),
    ("(a * a) ** 0 * 3.0 + a", 0.0, None, (1.0, None)),  # polynomial features at zero
]


def _grads(expr: str, a: float | None, b: float | None, make: Any) -> list[float | None]:
    va, vb = (None if a is None else make(a)), (None if b is None else make(b))
    out = eval(expr, {}, {"a": va, "b": vb})  # noqa: S307
    out.backward()
    return [None if v is None else float(v.grad) for v in (va, vb)]


@pytest.mark.parametrize("expr, a, b, want", CASES, ids=[f"{c[0]} at {c[1:3]}" for c in CASES])
def test_edge_gradients_are_torchs(expr: str, a: float | None, b: float | None,
                                   want: tuple[float | None, ...]) -> None:
    got = _grads(expr, a, b, Value)
    assert all(g is w is None or same_float(g, w) for g, w in zip(got, want)), got
    torch = pytest.importorskip("torch")
    if expr.startswith("1e-300 /"):
        return  # torch's c / x backward squares 1/x and overflows: -inf, not -1e100
    def tensor(x: float) -> Any:
        return torch.tensor(x, dtype=torch.float64, requires_grad=True)
    assert _grads(expr, a, b, tensor) == list(want)


def test_a_nan_grad_does_not_reach_a_constant_exponents_base() -> None:
    """As torch: x ** 0 passes nothing back, even a nan from above."""
    for make in (lambda x: x ** 0, lambda x: x ** Value(0.0)):
        x = Value(0.0)
        (make(x) * math.nan).backward()
        assert x.grad == 0.0
