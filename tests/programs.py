"""Random engine programs, and running one program on several engines in lockstep.

A program is a few leaves, then steps: ops over earlier results (shared freely, so
the graphs are DAGs), constants on either side, `no_grad` regions, handles dropped
(so the compiled store reclaims and reuses slots), and actions: backward from any
node, zero_grad, assigning data or grad. `Run` executes it on every member at once;
the first member decides whether an op raises, and a transcript of what ran is kept
as a Python script, so any failure comes with a reproducer.
"""
from __future__ import annotations

import gc
import math
import os
import struct
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from collections.abc import Iterator, Sequence
from typing import Any, Callable

from hypothesis import settings, strategies as st

import intervals
from ops_spec import ACTIVATIONS, ACTS, FORMS, OPS, Op

ENGINE_ERRORS = (ZeroDivisionError, ValueError, OverflowError)


def fuzz_settings(default: int) -> settings:
    """Hypothesis settings with `default` examples, or FASTGRAD_FUZZ_EXAMPLES if set."""
    return settings(max_examples=int(os.environ.get("FASTGRAD_FUZZ_EXAMPLES", default)))


def same_float(a: float, b: float) -> bool:
    """Bitwise equality (so 0.0 != -0.0), with every nan equal to every nan."""
    if a != a or b != b:
        return a != a and b != b
    return struct.pack("<d", a) == struct.pack("<d", b)


class Ref(int):
    """An operand: the Ref-th most recent live handle (0 is the latest), modulo count."""

    def __repr__(self) -> str:
        return f"Ref({int(self)})"



@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic collector off: a collection may free garbage earlier examples left
    (tracebacks holding Values) and so change live_nodes while an op is measured."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()

@dataclass(frozen=True)
class Step:
    op: str
    args: tuple = ()
    shape: tuple[int, ...] = ()  # dot: (n,); layer, mlp: the widths (nin, n1, ...)
    act: str = ""  # layer, mlp: the activations, one per layer, comma-separated
    no_grad: bool = False


@dataclass(frozen=True)
class Program:
    leaves: tuple[float, ...]
    build: tuple[Step, ...]  # ops and drops; then backward from the last handle
    after: tuple[Step, ...] = ()  # further ops and actions


# -- the op list, from the op spec: a fixed-arity op's forms by expression ("c - a"),
# and the structural steps that make the n-ary ops ------------------------------------
LAYERED = ("layer", "mlp", "dense")  # dense: Dense(w, b, act), called on x, then x reversed
NARY = tuple(dict.fromkeys(k for op in OPS for k in op.fuzz))  # sum, dot, layer, ...
ALL_OPS = (*FORMS, *NARY)
# what the micrograd package implements (its ** takes constant exponents only).
# Compared on one backward() only: micrograd builds a - b, a / b and chains of sums as
# several nodes, and under a repeated backward() each hidden node re-sends the grad it
# accumulated before, where fastgrad's single node does not.
MICROGRAD_OPS = (*(k for k, s in FORMS.items() if s.op.micrograd), *NARY)
MICROGRAD_ACTS = (*(k for k, s in ACTIVATIONS.items() if s.op.micrograd), "linear")
TORCH_OPS = (*(k for k, s in FORMS.items() if s.op.torch), *NARY)
TORCH_ACTS = (*(k for k, s in ACTIVATIONS.items() if s.op.torch), "linear")
ACTIONS = ("backward", "zero_grad", "set_grad", "set_data")


# -- strategies ----------------------------------------------------------------------
def numbers(lo: float = -6.0, hi: float = 6.0) -> st.SearchStrategy[float]:
    """Mostly moderate floats, with the specials and extremes mixed in."""
    return st.one_of(
        st.sampled_from([0.0, -0.0, 1.0, -1.0, 0.5, 2.0, -3.0, 1e-3]),
        st.floats(lo, hi),
        st.floats(),  # huge, tiny, subnormal, inf, nan
    )


EXPONENTS = st.one_of(st.sampled_from([2.0, 3.0, 0.5, -1.0, -2.0, 0.0, 1.0, 1.5, -0.5]),
                      numbers(-4.0, 4.0))
REFS = st.builds(Ref, st.integers(0, 12))
OPERANDS = st.one_of(REFS, numbers())


@st.composite
def steps(draw: st.DrawFn, ops: Sequence[str], acts: Sequence[str] = ACTS) -> Step:
    op = draw(st.sampled_from(ops))
    no_grad = draw(st.integers(0, 9)) == 0
    if op == "sum":
        args = draw(st.lists(OPERANDS, max_size=5))
        return Step(op, tuple(args), no_grad=no_grad)
    if op == "dot":
        n = draw(st.integers(0, 4))
        args = draw(st.lists(OPERANDS, min_size=2 * n + 1, max_size=2 * n + 1))
        return Step(op, tuple(args), shape=(n,), no_grad=no_grad)
    if op in LAYERED:
        depth = (2, 3) if op == "mlp" else (1, 1)
        widths = draw(st.lists(st.integers(1, 3), min_size=depth[0] + 1, max_size=depth[1] + 1))
        n_params = sum(o * (i + 1) for i, o in zip(widths, widths[1:]))
        params = draw(st.lists(REFS, min_size=n_params, max_size=n_params))
        xs = draw(st.lists(OPERANDS, min_size=widths[0], max_size=widths[0]))
        act = ",".join(draw(st.sampled_from(acts)) for _ in widths[1:])
        return Step(op, tuple(params + xs), shape=tuple(widths), act=act, no_grad=no_grad)
    kinds = {"v": REFS, "c": numbers(), "e": EXPONENTS}
    args = tuple(draw(kinds[k]) for k in FORMS[op].kinds)
    return Step(op, args, no_grad=no_grad)


def actions() -> st.SearchStrategy[Step]:
    return st.one_of(
        st.builds(lambda r: Step("backward", (r,)), REFS),
        st.builds(lambda r: Step("zero_grad", (r,)), REFS),
        st.builds(lambda r, x: Step("set_grad", (r, x)), REFS, numbers()),
        st.builds(lambda r, x: Step("set_data", (r, x)), REFS, numbers()),
        st.builds(lambda r: Step("drop", (r,)), REFS),
    )


@st.composite
def programs(draw: st.DrawFn, ops: Sequence[str] = ALL_OPS, acts: Sequence[str] = ACTS,
             max_steps: int = 14, after: bool = True) -> Program:
    leaves = draw(st.lists(numbers(), min_size=1, max_size=4))
    drop = st.builds(lambda r: Step("drop", (r,)), REFS)
    build = draw(st.lists(st.one_of(steps(ops, acts), steps(ops, acts), drop),
                          min_size=1, max_size=max_steps))
    rest = draw(st.lists(st.one_of(steps(ops, acts), actions()), max_size=8)) if after else []
    return Program(tuple(leaves), tuple(build), tuple(rest))


# -- executors: one per kind of engine -------------------------------------------------
def _chain_sum(args: Sequence[Any]) -> Any:
    acc = 0.0
    for a in args:
        acc = acc + a
    return acc


def _chain_dot(ws: Sequence[Any], xs: Sequence[Any], bias: Any) -> Any:
    acc = bias * 1.0  # a new node even when there are no products, as dot() gives
    for w, x in zip(ws, xs):
        acc = acc + w * x
    return acc


Layers = list[tuple[list[list[Any]], list[Any], str]]


def _split_layers(args: Sequence[Any], step: Step) -> tuple[Layers, list[Any]]:
    """A layer/mlp step's arguments as mlp() takes them: [(weights, biases, act)], x."""
    layers, k = [], 0
    for nin, nout, act in zip(step.shape, step.shape[1:], step.act.split(",")):
        weights = [list(args[k + j * nin:k + (j + 1) * nin]) for j in range(nout)]
        k += nout * nin
        layers.append((weights, list(args[k:k + nout]), act))
        k += nout
    return layers, list(args[k:])


def _calls(step: Step, x: list[Any]) -> list[list[Any]]:
    """The inputs a layered step is called on: a Dense is called twice, to reuse it."""
    return [x, x[::-1]] if step.op == "dense" else [x]


class EngineExecutor:
    """A fastgrad engine module (fastgrad, fastgrad.pure.engine, fastgrad._core)."""

    def __init__(self, engine: Any) -> None:
        self.m = engine

    def leaf(self, x: float) -> Any:
        return self.m.Value(x)

    def apply(self, step: Step, args: list) -> list:
        with self.m.no_grad() if step.no_grad else nullcontext():
            if step.op == "sum":
                return [self.m.sum(args)]
            if step.op == "dot":
                n = step.shape[0]
                return [self.m.dot(args[:n], args[n:2 * n], args[2 * n])]
            if step.op == "layer":
                ((weights, biases, act),), xs = _split_layers(args, step)
                return list(self.m.layer(weights, biases, xs, act))
            if step.op == "mlp":
                return list(self.m.mlp(*_split_layers(args, step)))
            if step.op == "dense":
                ((weights, biases, act),), xs = _split_layers(args, step)
                dense = self.m.Dense(weights, biases, act)
                return list(dense(xs)) + list(dense(xs[::-1]))
            return [FORMS[step.op].make(self.m, *args)]

    def act(self, step: Step, h: Any, x: float | None) -> None:
        if step.op == "backward":
            h.backward()
        elif step.op == "zero_grad":
            h.zero_grad()
        elif step.op == "set_grad":
            h.grad = x
        else:
            h.data = x

    def read(self, h: Any) -> tuple[float, float]:
        return h.data, h.grad

    def live(self) -> int:
        return self.m.stats()["live_nodes"]


class _ChainExecutor:
    """Engines without fused nodes: sum/dot/layer/mlp become chains of + and *."""

    def leaf(self, x: float) -> Any:
        raise NotImplementedError

    def _wrap(self, out: Any) -> Any:
        return self.leaf(float(out)) if isinstance(out, float) else out

    def _compute(self, step: Step, args: list) -> list:
        if step.op == "sum":
            return [_chain_sum(args)]
        if step.op == "dot":
            n = step.shape[0]
            return [_chain_dot(args[:n], args[n:2 * n], args[2 * n])]
        if step.op in LAYERED:
            layers, x = _split_layers(args, step)
            outs = []
            for xs in _calls(step, x):
                for weights, biases, act in layers:
                    xs = [self._wrap(_chain_dot(w, xs, b)) for w, b in zip(weights, biases)]
                    if act != "linear":
                        xs = [ACTIVATIONS[act].make(None, x) for x in xs]
                outs += xs
            return outs
        return [FORMS[step.op].make(None, *args)]

    def live(self) -> None:
        return None


class TorchExecutor(_ChainExecutor):
    """torch float64 scalars; every node keeps its grad (retain_grad)."""

    def __init__(self, torch: Any) -> None:
        self.torch = torch

    def leaf(self, x: float) -> Any:
        return self.torch.tensor(x, dtype=self.torch.float64, requires_grad=True)

    def apply(self, step: Step, args: list) -> list:
        if step.no_grad:
            with self.torch.no_grad():
                return [self.leaf(float(o)) for o in self._compute(step, args)]
        outs = [self._wrap(o) for o in self._compute(step, args)]
        for o in outs:
            if not o.is_leaf:
                o.retain_grad()
        return outs

    def act(self, step: Step, h: Any, x: float | None) -> None:
        assert step.op == "backward", "torch follows only the first backward()"
        h.backward()

    def read(self, h: Any) -> tuple[float, float]:
        return h.item(), 0.0 if h.grad is None else h.grad.item()


class MicrogradExecutor(_ChainExecutor):
    """The micrograd package (its ops only; it has no no_grad, so results are re-wrapped)."""

    def __init__(self, value_cls: type) -> None:
        self.Value = value_cls

    def leaf(self, x: float) -> Any:
        return self.Value(x)

    def apply(self, step: Step, args: list) -> list:
        outs = [self._wrap(o) for o in self._compute(step, args)]
        if any(isinstance(o.data, complex) for o in outs):
            raise ValueError("micrograd computed a complex number")
        return [self.leaf(float(o.data)) for o in outs] if step.no_grad else outs

    def act(self, step: Step, h: Any, x: float | None) -> None:
        if step.op == "backward":
            h.backward()
        elif step.op == "zero_grad":
            h.grad = 0.0
        elif step.op == "set_grad":
            h.grad = x
        else:
            h.data = x

    def read(self, h: Any) -> tuple[float, float]:
        return float(h.data), float(h.grad)


def _interval_node(op: Op, operands: list) -> intervals.Node:
    return intervals.rule_node(lambda *v: op.forward(intervals, *v),
                               lambda *v: op.derivative(intervals, *v), operands)


class IntervalExecutor:
    """The interval reference (tests/intervals.py): reads give enclosing intervals."""

    def leaf(self, x: float) -> intervals.Node:
        return intervals.Node(intervals.point(x))

    def apply(self, step: Step, args: list) -> list[intervals.Node]:
        if step.op == "sum":
            outs = [intervals.nsum(args)]
        elif step.op == "dot":
            n = step.shape[0]
            outs = [intervals.dot(args[:n], args[n:2 * n], args[2 * n])]
        elif step.op in LAYERED:
            layers, x = _split_layers(args, step)
            outs = []
            for xs in _calls(step, x):
                for weights, biases, act in layers:
                    xs = [intervals.dot(w, xs, b) for w, b in zip(weights, biases)]
                    if act != "linear":
                        xs = [_interval_node(ACTIVATIONS[act].op, [o]) for o in xs]
                outs += xs
        else:
            spelling = FORMS[step.op]
            outs = [_interval_node(spelling.op, spelling.operands(args))]
        # a no_grad result is a leaf: same value, nothing behind it
        return [intervals.Node(o.value) for o in outs] if step.no_grad else outs

    def act(self, step: Step, h: intervals.Node, x: float | None) -> None:
        if step.op == "backward":
            intervals.backward(h)
        elif step.op == "zero_grad":
            intervals.set_grad(h, 0.0)
        elif step.op == "set_grad":
            intervals.set_grad(h, x)
        else:
            intervals.set_data(h, x)

    def read(self, h: intervals.Node) -> tuple[intervals.Interval, intervals.Interval]:
        return h.read()

    def live(self) -> None:
        return None


# -- running a program on several executors at once ----------------------------------
@dataclass
class Member:
    executor: Any
    # "strict": raises exactly when the first member raises, the same type;
    # "follow": skips the ops the first member raised on, and never raises;
    # "lenient": like follow, but a raise of its own just ends its part (micrograd's
    #            x / y is x * y**-1, which can overflow where x / y does not).
    role: str = "strict"
    alive: bool = True


def _list(items: Any) -> str:
    return f"[{', '.join(items)}]"


def _const(x: float) -> str:
    """x as Python source, parenthesized when negative so `(-2.0) ** v` parses right."""
    src = repr(x) if math.isfinite(x) else f"float('{x}')"
    return f"({src})" if math.copysign(1.0, x) < 0.0 and math.isfinite(x) else src


class Run:
    """One program executed on every member in lockstep; handles[i][k] is member k's."""

    HEADER = "from fastgrad.engine import Dense, Value, dot, layer, mlp, no_grad, sum"

    def __init__(self, members: Sequence[Member]) -> None:
        self.members = list(members)
        self.handles: list[list[Any]] = []
        self.names: list[str] = []
        self.script: list[str] = [self.HEADER]
        self._counter = 0

    def transcript(self) -> str:
        return "\n".join(self.script)

    def _name(self) -> str:
        self._counter += 1
        return f"v{self._counter}"

    def _index(self, ref: Ref) -> int:
        return len(self.handles) - 1 - ref % len(self.handles)

    def _src(self, arg: Any) -> str:
        return self.names[self._index(arg)] if isinstance(arg, Ref) else _const(arg)

    def leaf(self, x: float) -> None:
        self.handles.append([m.executor.leaf(x) for m in self.members])
        self.names.append(self._name())
        self.script.append(f"{self.names[-1]} = Value({_const(x)})")

    def program(self, program: Program, after_build: Callable[[Run], None] | None = None,
                after_step: Callable[[Run], None] | None = None) -> None:
        """Leaves, build steps, backward from the last handle, then the rest; the
        callbacks (given this Run) check the state after the build and each later step."""
        for x in program.leaves:
            self.leaf(x)
        for s in program.build:
            self.step(s)
        self.step(Step("backward", (Ref(0),)))
        if after_build:
            after_build(self)
        for s in program.after:
            self.step(s)
            if after_step:
                after_step(self)

    def step(self, step: Step) -> None:
        if step.op == "drop":
            if len(self.handles) > 1:
                i = self._index(step.args[0])
                self.script.append(f"del {self.names[i]}")
                del self.handles[i], self.names[i]
        elif step.op in ACTIONS:
            self._action(step)
        else:
            self._op(step)

    def _action(self, step: Step) -> None:
        i = self._index(step.args[0])
        x = step.args[1] if len(step.args) > 1 else None
        name = self.names[i]
        if x is None:
            self.script.append(f"{name}.{step.op}()")
        else:
            self.script.append(f"{name}.{step.op[4:]} = {_const(x)}")
        for k, m in enumerate(self.members):
            if not m.alive:
                continue
            try:
                m.executor.act(step, self.handles[i][k], x)
            except ENGINE_ERRORS:
                if m.role != "lenient":
                    raise
                m.alive = False

    def _op(self, step: Step) -> None:
        expr = self._op_source(step)
        outcomes: list[type | None] = []
        results: list[list | None] = []
        for k, m in enumerate(self.members):
            if not m.alive or (k and m.role != "strict" and outcomes[0] is not None):
                results.append(None)
                continue
            args = [self.handles[self._index(a)][k] if isinstance(a, Ref) else a
                    for a in step.args]
            with _collector_paused():  # counts that only the op can move
                before = m.executor.live()
                outcome = None
                try:
                    results.append(m.executor.apply(step, args))
                except ENGINE_ERRORS as exc:
                    if m.role == "follow":
                        raise AssertionError(
                            f"member {k} raised\n{self.transcript()}\n{expr}") from exc
                    results.append(None)
                    outcome = type(exc)
                after = m.executor.live()
            if outcome is not None:
                assert before == after, (f"member {k}: a failed op changed live_nodes "
                                         f"{before} -> {after}\n{self.transcript()}\n{expr}")
            if k == 0 or m.role == "strict":
                outcomes.append(outcome)
            elif outcome is not None:
                m.alive = False
        assert len(set(outcomes)) == 1, (
            "members disagree on raising: "
            + ", ".join(o.__name__ if o else "no error" for o in outcomes)
            + f"\n{self.transcript()}\n{expr}")
        if outcomes[0] is not None:
            self.script.append(f"# {expr}  -> raises {outcomes[0].__name__}")
            return
        names = [self._name() for _ in results[0]]
        many = step.op in LAYERED
        targets = ", ".join(names) + ("," if many and len(names) == 1 else "")
        prefix = "with no_grad(): " if step.no_grad else ""
        self.script.append(f"{prefix}{targets} = {expr}")
        for j, name in enumerate(names):
            self.handles.append([r[j] if r is not None else None for r in results])
            self.names.append(name)

    def _op_source(self, step: Step) -> str:
        a = [self._src(x) for x in step.args]
        if step.op == "sum":
            return f"sum({_list(a)})"
        if step.op == "dot":
            n = step.shape[0]
            return f"dot({_list(a[:n])}, {_list(a[n:2 * n])}, {a[2 * n]})"
        if step.op in LAYERED:
            layers, x = _split_layers(a, step)
            specs = [(_list(map(_list, w)), _list(b), repr(act)) for w, b, act in layers]
            if step.op == "layer":
                (w, b, act), = specs
                return f"layer({w}, {b}, {_list(x)}, {act})"
            if step.op == "dense":
                (w, b, act), = specs
                return f"(lambda d: d({_list(x)}) + d({_list(x[::-1])}))(Dense({w}, {b}, {act}))"
            return f"mlp({_list(f'({w}, {b}, {act})' for w, b, act in specs)}, {_list(x)})"
        return FORMS[step.op].source(a)

    def rows(self) -> list[tuple[str, list[Any]]]:
        """(name, [each member's handle]) for every live handle."""
        return list(zip(self.names, self.handles))
