"""The C op table, both Values and the op spec agree: an op missing anywhere fails a
test that names it.

The compiled table is `fastgrad._core.op_table()`: (code, label, arity) per op, in
enum order. Where the extension is not built, the pure Value is checked alone.
"""
from __future__ import annotations

from types import ModuleType

import pytest

import fastgrad.pure.engine as pure
from ops_spec import BY_CODE, OPS, SPELLINGS, Op, Spelling

try:
    import fastgrad._core as core
except ImportError:  # a pure-only checkout: nothing compiled to compare
    core = None

ENGINES = [pure] + ([core] if core is not None else [])
needs_core = pytest.mark.skipif(core is None, reason="fastgrad._core is not built")
# what a Value has beside the methods that make nodes (+v is v itself: no node)
NOT_OPS = {"data", "grad", "label", "backward", "zero_grad", "__pos__", "__float__",
           "__array_priority__", "__del__", "__getattr__"}


@needs_core
def test_c_op_table_is_the_spec() -> None:
    table = [tuple(row) for row in core.op_table()]
    codes = [code for code, _, _ in table]
    missing = [op.code for op in OPS if op.code not in codes]
    assert not missing, f"in tests/ops_spec.py but not in the C op table: {missing}"
    extra = [code for code in codes if code not in BY_CODE]
    assert not extra, f"in the C op table but not in tests/ops_spec.py: {extra}"
    differ = [f"{code}: C {(label, arity)}, spec {(BY_CODE[code].label, BY_CODE[code].arity)}"
              for code, label, arity in table
              if (label, arity) != (BY_CODE[code].label, BY_CODE[code].arity)]
    assert not differ, "label or arity differ: " + "; ".join(differ)
    assert codes == [op.code for op in OPS], "the spec lists the ops in another order than C"


def _resolve(engine: ModuleType, name: str) -> object:
    owner, _, attr = name.rpartition(".")
    return getattr(engine.Value if owner == "Value" else engine, attr, None)


@pytest.mark.parametrize("engine", ENGINES, ids=lambda m: m.__name__)
@pytest.mark.parametrize("op", OPS, ids=lambda op: op.code)
def test_op_api_exists(op: Op, engine: ModuleType) -> None:
    missing = [name for name in op.api if _resolve(engine, name) is None]
    assert not missing, f"op {op.code!r}: {engine.__name__} has no {missing}"


@pytest.mark.parametrize("engine", ENGINES, ids=lambda m: m.__name__)
def test_value_has_no_op_the_spec_lacks(engine: ModuleType) -> None:
    listed = {name.rpartition(".")[2] for op in OPS for name in op.api}
    own = [n for n in dir(engine.Value) if n not in dir(object) and n not in NOT_OPS]
    # public names, and dunders that are methods (not __slots__, __weakref__, ...)
    unlisted = [n for n in own if n not in listed and (
        not n.startswith("_") if not n.startswith("__") else callable(getattr(engine.Value, n)))]
    assert not unlisted, f"{engine.__name__}.Value has {unlisted}, which no op in the spec lists"


LABEL_CASES = [(s, p) for s in SPELLINGS for p in s.op.points]


@pytest.mark.parametrize("engine", ENGINES, ids=lambda m: m.__name__)
@pytest.mark.parametrize("spelling, point", LABEL_CASES,
                         ids=[f"{s.op.code}-{s.name}-{p}" for s, p in LABEL_CASES])
def test_op_label(spelling: Spelling, point: tuple[float, ...], engine: ModuleType) -> None:
    args = [engine.Value(x) if k == "v" else x
            for k, x in zip(spelling.kinds, spelling.args_at(point))]
    out = spelling.make(engine, *args)
    want = spelling.op.label_for(spelling.operands(spelling.args_at(point)))
    assert out._op == want, f"{spelling} on {engine.__name__}: _op {out._op!r}, spec {want!r}"


def test_every_op_can_be_made() -> None:
    unmade = [op.code for op in OPS if not (op.forms or op.build) or not op.points]
    assert not unmade, f"ops with no form or build, or no points to make them at: {unmade}"


def test_spec_codes_are_unique() -> None:
    assert len(BY_CODE) == len(OPS)
