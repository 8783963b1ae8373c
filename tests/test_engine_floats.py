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
