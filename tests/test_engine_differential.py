"""The compiled core against the pure reference: bitwise equal data and grads.

Both backends run the same programs side by side (random DAGs from hypothesis, and an
exhaustive grid of IEEE special values through every op). Every node's data and grad
must match bit for bit (nan matches nan), both must raise the same exception type at
the same op, a failed op must leave both stores unchanged, and dropping everything
must return both live-node counts to where they started.
"""
from __future__ import annotations

import itertools
import struct
from typing import Any

import pytest
from hypothesis import given

from ops_spec import ACTIVATIONS, ACTS, FORMS, SPECIALS, SPELLINGS, Spelling
from programs import (ENGINE_ERRORS, EngineExecutor, Member, Program, Run, fuzz_settings,
                      programs, same_float)

fast = pytest.importorskip("fastgrad._core")
import fastgrad.pure.engine as pure  # noqa: E402 - after the skip: both or nothing

pytestmark = pytest.mark.usefixtures("fresh_heap")


def test_both_backends_export_the_same_names() -> None:
    assert sorted(fast.__all__) == sorted(pure.__all__)


def _mismatch(run: Run, what: str) -> str:
    return f"fast and pure differ: {what}\nreproducer:\n{run.transcript()}"


def _operands_shape(v: Any, names: dict[int, str]) -> list[tuple[Any, ...]]:
    """v._operands, comparable across backends: each constant's bits; each Value's name
    in names, else its first place among the operands, with its _op and data."""
    operands = v._operands
    assert type(operands) is tuple
    assert {id(x) for x in operands if type(x) is not float} == {id(c) for c in v._prev}
    first: dict[int, int] = {}
    return [("c", struct.pack("<d", x)) if type(x) is float else
            ("v", names.get(id(x), first.setdefault(id(x), len(first))), x._op, repr(x.data))
            for x in operands]


def _assert_same_graph(run: Run) -> None:
    rows = run.rows()
    names = [{id(handles[k]): name for name, handles in rows} for k in (0, 1)]
    for name, (p, f) in rows:
        shapes = _operands_shape(p, names[0]), _operands_shape(f, names[1])
        assert shapes[0] == shapes[1], _mismatch(
            run, f"{name}._operands: pure {shapes[0]}, fast {shapes[1]}")
        for attr in ("data", "grad"):
            a, b = getattr(p, attr), getattr(f, attr)
            assert same_float(a, b), _mismatch(run, f"{name}.{attr}: pure {a!r}, fast {b!r}")
        assert p._op == f._op, _mismatch(run, f"{name}._op: pure {p._op!r}, fast {f._op!r}")
        first, again = f._prev, f._prev
        assert {id(c) for c in first} == {id(c) for c in again}, (
            _mismatch(run, f"{name}._prev gives new objects on each access"))
        pure_children = sorted(repr(c.data) for c in p._prev)
        fast_children = sorted(repr(c.data) for c in first)
        assert pure_children == fast_children, _mismatch(
            run, f"{name}._prev data: pure {pure_children}, fast {fast_children}")


def _live() -> tuple[int, int]:
    return pure.stats()["live_nodes"], fast.stats()["live_nodes"]


@fuzz_settings(300)
@given(programs())
def test_random_programs_match_bitwise(program: Program) -> None:
    before = _live()
    run = Run([Member(EngineExecutor(pure)), Member(EngineExecutor(fast))])
    run.program(program, after_build=_assert_same_graph, after_step=_assert_same_graph)
    transcript = run.transcript()
    del run
    assert _live() == before, f"live nodes {before} -> {_live()} after dropping:\n{transcript}"


def _one_op(engine: Any, spelling: Spelling, xs: tuple[float, ...]) -> tuple[str, list[float]]:
    """Outcome of one op over fresh leaves, then two backward() calls: every number."""
    args = [engine.Value(x) if k == "v" else x for k, x in zip(spelling.kinds, xs)]
    leaves = [a for a in args if isinstance(a, engine.Value)]
    for leaf in leaves:
        leaf.grad = 0.25  # backward must accumulate onto existing grads
    live = engine.stats()["live_nodes"]
    try:
        out = spelling.make(engine, *args)
    except ENGINE_ERRORS as exc:
        kind = type(exc)
    else:
        shape = _operands_shape(out, {id(v): f"arg{i}" for i, v in enumerate(args)})
        out.backward()
        first = [out.data, out.grad] + [v.grad for v in leaves]
        out.backward()
        return (f"ok {shape}", first + [out.grad] + [v.grad for v in leaves])
    # a failed op: nothing created, the operands untouched
    assert engine.stats()["live_nodes"] == live
    return (kind.__name__, [v.data for v in leaves] + [v.grad for v in leaves])


@pytest.mark.parametrize("spelling", FORMS.values(), ids=str)
def test_special_values_match_bitwise(spelling: Spelling) -> None:
    for xs in itertools.product(spelling.op.grid, repeat=len(spelling.kinds)):
        p, f = _one_op(pure, spelling, xs), _one_op(fast, spelling, xs)
        assert p[0] == f[0] and len(p[1]) == len(f[1]), f"{spelling}{xs}: pure {p}, fast {f}"
        assert all(map(same_float, p[1], f[1])), f"{spelling}{xs}: pure {p}, fast {f}"


def _operands_below(v: Any, names: dict[int, str]) -> list[list[tuple[Any, ...]]]:
    """The _operands shapes of v and of every node below it that names lacks, in the
    order of a walk through _operands (the builds' inner nodes: b * c, a call's node)."""
    out, stack, seen = [], [v], {id(v)}
    while stack:
        node = stack.pop()
        out.append(_operands_shape(node, names))
        for x in reversed(node._operands):
            if type(x) is not float and id(x) not in names and id(x) not in seen:
                seen.add(id(x))
                stack.append(x)
    return out


OPERAND_CASES = [(s, p) for s in SPELLINGS for p in s.op.points]


@pytest.mark.parametrize("spelling, point", OPERAND_CASES,
                         ids=[f"{s.op.code}-{s.name}-{p}" for s, p in OPERAND_CASES])
def test_operands_match(spelling: Spelling, point: tuple[float, ...]) -> None:
    """Every op of the spec, each spelling: the same operands in the same order, the
    same Values and bitwise the same constants, on both backends, down to the leaves."""
    got = []
    for engine in (pure, fast):
        args = [engine.Value(x) if k == "v" else x
                for k, x in zip(spelling.kinds, spelling.args_at(point))]
        names = {id(v): f"arg{i}" for i, v in enumerate(args) if isinstance(v, engine.Value)}
        got.append(_operands_below(spelling.make(engine, *args), names))
    assert got[0] == got[1], f"{spelling} at {point}: pure {got[0]}, fast {got[1]}"


@pytest.mark.parametrize("act", ACTS)
def test_fused_nodes_over_special_values_match_bitwise(act: str) -> None:
    grid = SPECIALS + (ACTIVATIONS[act].op.edges if act in ACTIVATIONS else ())
    for w, x, b in itertools.product(grid[::2], grid[1::2], grid[::3]):
        got = []
        for engine in (pure, fast):
            ws = [engine.Value(w), engine.Value(0.75)]
            bias = engine.Value(b)
            outs = engine.layer([ws], [bias], [x, 2.0], act)
            total = engine.sum(outs + [engine.dot(ws, [1.5, x], b)])
            total.backward()
            got.append([v.data for v in outs] + [total.data] + [v.grad for v in ws + [bias]])
        assert all(map(same_float, *got)), f"{act} w={w} x={x} b={b}: pure {got[0]}, fast {got[1]}"
