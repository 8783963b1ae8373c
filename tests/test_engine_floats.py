"""Every op's data is what Python float arithmetic (and math) gives, special values
included: signed zeros, subnormals, huge, inf, nan; and where Python raises, the op
raises the same exception. The reference is each op's rule in tests/ops_spec.py,
evaluated in Python floats (tests/reals.py). (Python's float ** goes complex for a
negative base and a non-integer exponent; the engine raises ValueError there, as
math.pow does.)
"""
from __future__ import annotations

import itertools
import math
import struct
from typing import Any, Callable

import pytest

import fastgrad.engine as engine
import reals
from fastgrad import Value
from ops_spec import BY_CODE, FORMS, Spelling
from programs import same_float


def _outcome(f: Callable[..., Any], *args: Any) -> tuple[str, float]:
    try:
        out = f(*args)
    except (ZeroDivisionError, ValueError, OverflowError) as exc:
        return type(exc).__name__, 0.0
    return "ok", out.data if isinstance(out, Value) else out


@pytest.mark.parametrize("spelling", FORMS.values(), ids=str)
def test_ops_are_python_floats(spelling: Spelling) -> None:
    op = spelling.op
    for xs in itertools.product(op.grid, repeat=len(spelling.kinds)):
        want = _outcome(op.forward, reals, *spelling.operands(xs))
        args = [Value(x) if k == "v" else x for k, x in zip(spelling.kinds, xs)]
        got = _outcome(spelling.make, engine, *args)
        assert got[0] == want[0] and same_float(got[1], want[1]), (spelling, xs, got, want)


def test_sigmoid_is_the_logistic_function_without_overflow() -> None:
    for x in BY_CODE["sigmoid"].grid:
        s = Value(x).sigmoid().data
        if math.isnan(x):
            assert math.isnan(s)
            continue
        assert 0.0 <= s <= 1.0
        want = 1.0 / (1.0 + math.exp(-x)) if x > -700 else 0.0
        assert s == pytest.approx(want, rel=1e-15, abs=1e-300)


# Which of two nans an operation passes on is the compiler's choice, even inside CPython
# (its generic and specialised float additions differ): nan signs are compared where at
# most one operand is a nan.
SIGNED_GRID = (0.0, -0.0, 1.0, -0.5, math.inf, -math.inf, math.nan, -math.nan)


def _bits(outcome: tuple[str, float]) -> tuple[str, bytes]:
    return outcome[0], struct.pack("<d", outcome[1])


@pytest.mark.parametrize("spelling", FORMS.values(), ids=str)
def test_nan_signs_and_signed_zeros_are_python_floats(spelling: Spelling) -> None:
    """Bit for bit, a nan's sign included: an operator's result is Python's for the
    same expression on floats (`-a` is micrograd's a * -1, whose nan keeps its sign
    where Python's -x flips it), a method's or a power's is the spec's rule in Python
    floats (Python's ** goes complex where the engine raises); and the compiled core's
    is the pure one's."""
    from fastgrad import pure
    op = spelling.op
    by_rule = "." in spelling.name or "**" in spelling.name or spelling.name == "-a"
    python = None if by_rule else eval(  # noqa: S307
        f"lambda {', '.join(spelling.params)}: {spelling.name}")
    for xs in itertools.product(SIGNED_GRID, repeat=len(spelling.kinds)):
        if sum(map(math.isnan, xs)) > 1:
            continue
        if python is None:
            want = _outcome(op.forward, reals, *spelling.operands(xs))
        else:
            want = _outcome(python, *xs)
        for eng in {engine.backend: engine, "pure": pure}.values():
            args = [eng.Value(x) if k == "v" else x for k, x in zip(spelling.kinds, xs)]
            got = _outcome(spelling.make, eng, *args)
            assert _bits(got) == _bits(want), (spelling, xs, eng.backend, got, want)


def test_a_squares_gradient_is_twice_its_base_bit_for_bit_on_both_backends() -> None:
    """x ** 2's backward takes x ** 1 for x itself, as pow gives it (the compiled core
    without calling pow): the grad is 2 * x, bit for bit on either backend, the special
    values' signs included."""
    from fastgrad import pure
    for x in (*SIGNED_GRID, 5e-324, -2.2250738585072014e-308, 1e154, -0.37, 3.5):
        grads = []
        for eng in {engine.backend: engine, "pure": pure}.values():
            v = eng.Value(x)
            (v ** 2).backward()
            grads.append(struct.pack("<d", v.grad))
        assert len(set(grads)) == 1, (x, grads)
        twice = 0.0 + 2.0 * x
        assert math.isnan(twice) if math.isnan(x) else grads[0] == struct.pack("<d", twice), x
