"""The op spec: every primitive op of the engine, once, for all the tests.

One entry per op code of the C op table, in its order. Each says:

- code, label, arity: as `fastgrad._core.op_table()` lists them (label is micrograd's
  `_op`; arity counts the Value operands, -1 for any number);
- api: the Value methods (`Value.relu`) and engine functions (`sum`) that make it;
- operands: the op's operands in order, `a` and `b` Values, `c` a number folded into
  the node; `*` for any number (the n-ary ops);
- forms: how user code spells it, as Python expressions over those operands (`c + a`
  is also addc; `-a` is mulc with c pinned to -1). The n-ary ops have `build` instead:
  (engine, *Values) -> the node;
- forward, derivative: its real-number rule and its local derivatives (one per Value
  operand, from the operands and the output), written against a number system `m`:
  tests/reals.py evaluates them in Python floats (the exact reference of the float
  grids and gradcheck), tests/intervals.py in intervals (the fuzzer's bounds),
  tests/exact.py in 200-bit arithmetic (the derivatives at tiny, huge and zero
  operands, where a float formula can overflow or underflow spuriously). The
  n-ary ops' rules are structural (intervals.nsum/dot, the executors in programs.py),
  and `fuzz` names the program steps that make them;
- points: operands where it is smooth (gradcheck, label checks); edges: values its
  float grid adds to the IEEE specials every grid has.

Adding an op is one entry here; every op table in the tests derives from OPS.
"""
from __future__ import annotations

import inspect
import math
import re
from dataclasses import dataclass
from collections.abc import Sequence
from typing import Any, Callable, Optional

Rule = Optional[Callable[..., Any]]

# the IEEE corner cases every float grid runs through: signed zeros, the smallest
# subnormal, the extremes, infinities, nan
SPECIALS = (0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 3.0, 1e-300, -1e-300, 5e-324,
            1e300, -1e300, math.inf, -math.inf, math.nan)
_MAX = 1.7976931348623157e308  # sums of two overflow
_MIN_NORMAL = 2.2250738585072014e-308  # products and quotients go subnormal past it
_EXP_EDGES = (709.0, 709.782712893384, 710.0, -745.0, -746.0)  # exp overflows past 709.78
# non-integers, huge exponents, the largest odd integers (a negative base's sign)
_POW_EDGES = (-2.5, 0.25, 1000.5, -1000.5, 709.0, 710.0, 9007199254740991.0,
              -9007199254740991.0)

UNARY_POINTS = ((0.37,), (1.9,), (-0.8,), (-2.6,))
POSITIVE_POINTS = ((0.37,), (1.9,), (0.8,), (2.6,))
BINARY_POINTS = ((1.3, -0.7), (0.45, 2.2), (3.1, 0.9))
CONST_POINTS = ((0.37, 2.5), (-2.6, -1.25), (1.9, 0.5))


@dataclass(frozen=True)
class Form:
    """One spelling of an op: a Python expression over its operands a, b, c."""

    expr: str
    pin: float | None = None  # the constant a form fixes, where it names no c


@dataclass(frozen=True)
class Op:
    """One op (see the module docstring); entries give the first nine fields in order."""

    code: str
    label: str
    operands: str
    api: tuple[str, ...]
    forms: tuple[Form, ...] = ()
    forward: Rule = None
    derivative: Rule = None
    points: tuple[tuple[float, ...], ...] = ()
    edges: tuple[float, ...] = ()
    build: Rule = None  # the n-ary ops and the leaf: (engine, *Values) -> the node
    fuzz: tuple[str, ...] = ()  # program steps (programs.py) that make an n-ary op
    exponent: bool = False  # c is drawn as an exponent (small, often integral)
    activation: str | None = None  # its name as an activation of layer, Dense, mlp
    micrograd: bool = False  # the micrograd package's Value has it, spelled alike
    torch: bool = True  # torch tensors have it, spelled alike
    label_suffix: Callable[[float], str] | None = None  # of c: powc's "**2"

    @property
    def arity(self) -> int:
        return -1 if self.operands == "*" else len(self.operands.replace("c", ""))

    @property
    def grid(self) -> tuple[float, ...]:
        return SPECIALS + self.edges

    def label_for(self, operands: Sequence[Any]) -> str:
        """The `_op` of a node made from these operands."""
        return self.label + (self.label_suffix(operands[-1]) if self.label_suffix else "")


class Spelling:
    """One way to make an op, as the tests call it: a form, or an n-ary op's build.
    Its arguments are the operands a form names (Values for a, b; a number for c), or
    a build's Values."""

    def __init__(self, op: Op, form: Form | None = None) -> None:
        self.op, self.form = op, form
        if form is None:
            self.name = op.code
            self.params = tuple(inspect.signature(op.build).parameters)[1:]
            self.kinds = "v" * len(self.params)
            self.make: Callable[..., Any] = op.build
            return
        self.name = form.expr
        self.params = tuple(p for p in op.operands if re.search(rf"\b{p}\b", form.expr))
        self.kinds = "".join("v" if p != "c" else "e" if op.exponent else "c"
                             for p in self.params)
        fn = eval(f"lambda {', '.join(self.params)}: {form.expr}")  # noqa: S307
        self.make = lambda engine, *args: fn(*args)

    def __repr__(self) -> str:
        return f"{self.op.code}: {self.name}"

    def operands(self, args: Sequence[Any]) -> list[Any]:
        """The op's operands, in order, given this spelling's arguments."""
        pin = self.form.pin if self.form else None
        return list(args) + ([] if pin is None else [pin])

    def args_at(self, point: Sequence[float]) -> list[float]:
        """This spelling's arguments at a point given as the op's operands."""
        if self.form is None:
            return list(point)
        return [point[self.op.operands.index(p)] for p in self.params]

    def source(self, names: Sequence[str]) -> str:
        """The form with its arguments' source text in place of a, b, c."""
        sub = dict(zip(self.params, names))
        return re.sub(r"\b[abc]\b", lambda m: sub[m.group(0)], self.name)


def exponent_label(c: float) -> str:
    return f"{int(c)}" if c.is_integer() and abs(c) < 2.0 ** 53 else f"{c}"


def sigmoid(x: float) -> float:
    """1 / (1 + e^-x) in the form that cannot overflow (the engine's)."""
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _network(m: Any, a: Any, b: Any, c: Any) -> Any:
    """An output of a fused two-layer network: its linear head node."""
    hidden = ([[a, b], [c, 0.5]], [0.1, a], "tanh")
    return m.mlp([hidden, ([[b, 1.5]], [c], "linear")], [a, -1.3])[0]


def _hidden(m: Any, a: Any, b: Any, c: Any) -> Any:
    """The node holding that network's hidden layers: the head's operand that is no
    parameter (its data is 0.0; the hidden activations live on it)."""
    return next(v for v in _network(m, a, b, c)._prev if all(v is not p for p in (a, b, c)))


def _custom(m: Any, a: Any, b: Any) -> Any:
    """micrograd's custom op as lectures write it, here a * b (its `_op` left empty, as
    the table's label: a lecture's string is its own)."""
    out = m.Value(a.data * b.data, (a, b), "")

    def _backward() -> None:
        a.grad += b.data * out.grad
        b.grad += a.data * out.grad
    out._backward = _backward
    return out


def _unary(code: str, label: str, method: str, forward: Rule, derivative: Rule,
           **kw: Any) -> Op:
    kw.setdefault("points", UNARY_POINTS)
    return Op(code, label, "a", (f"Value.{method}",), (Form(f"a.{method}()"),), forward,
              derivative, **kw)


OPS: tuple[Op, ...] = (
    Op("leaf", "", "", ("Value",), build=lambda m, a: a, points=((2.0,),)),
    Op("add", "+", "ab", ("Value.__add__",), (Form("a + b"),),
       lambda m, a, b: m.add(a, b), lambda m, a, b, out: (m.ONE, m.ONE),
       BINARY_POINTS, (_MAX,), micrograd=True),
    Op("addc", "+", "ac", ("Value.__add__", "Value.__radd__", "Value.__sub__"),
       (Form("a + c"), Form("c + a"), Form("a - -c")),  # x - c is x + (-c) (a nan c: c)
       lambda m, a, c: m.add(a, c), lambda m, a, c, out: (m.ONE,),
       CONST_POINTS, (_MAX,), micrograd=True),
    Op("sub", "-", "ab", ("Value.__sub__",), (Form("a - b"),),
       lambda m, a, b: m.sub(a, b), lambda m, a, b, out: (m.ONE, m.neg(m.ONE)),
       BINARY_POINTS, (_MAX,), micrograd=True),
    Op("rsubc", "-", "ac", ("Value.__rsub__",), (Form("c - a"),),
       lambda m, a, c: m.sub(c, a), lambda m, a, c, out: (m.neg(m.ONE),),
       CONST_POINTS, (_MAX,), micrograd=True),
    Op("mul", "*", "ab", ("Value.__mul__",), (Form("a * b"),),
       lambda m, a, b: m.mul(a, b), lambda m, a, b, out: (b, a),
       BINARY_POINTS, (_MIN_NORMAL,), micrograd=True),
    Op("mulc", "*", "ac", ("Value.__mul__", "Value.__rmul__", "Value.__neg__"),
       (Form("a * c"), Form("c * a"), Form("-a", pin=-1.0)),
       lambda m, a, c: m.mul(a, c), lambda m, a, c, out: (c,),
       CONST_POINTS, (_MIN_NORMAL,), micrograd=True),
    Op("div", "/", "ab", ("Value.__truediv__",), (Form("a / b"),),
       lambda m, a, b: m.div(a, b),
       lambda m, a, b, out: (m.div(m.ONE, b), m.neg(m.div(out, b))),
       BINARY_POINTS, (_MIN_NORMAL,), micrograd=True),
    Op("divc", "/", "ac", ("Value.__truediv__",), (Form("a / c"),),
       lambda m, a, c: m.div(a, c), lambda m, a, c, out: (m.div(m.ONE, c),),
       CONST_POINTS, (_MIN_NORMAL,), micrograd=True),
    Op("rdivc", "/", "ac", ("Value.__rtruediv__",), (Form("c / a"),),
       lambda m, a, c: m.div(c, a), lambda m, a, c, out: (m.neg(m.div(out, a)),),
       CONST_POINTS, (_MIN_NORMAL,), micrograd=True),
    Op("pow", "**", "ab", ("Value.__pow__",), (Form("a ** b"),),
       lambda m, a, b: m.power(a, b),
       lambda m, a, b, out: (m.scale(b, m.power(a, m.minus_one(b))),
                             m.unless_zero_base(a, b, m.mul(out, m.increasing(math.log, a)))),
       BINARY_POINTS, _POW_EDGES),
    Op("powc", "**", "ac", ("Value.__pow__",), (Form("a ** c"),),
       lambda m, a, c: m.power(a, c),
       lambda m, a, c, out: (m.scale(c, m.power(a, m.minus_one(c))),),
       ((0.37, 2.0), (1.9, 3.0), (-0.8, -1.0), (-2.6, -2.0), (0.37, 0.5), (1.9, 1.5),
        (0.8, 0.0)),
       _POW_EDGES, exponent=True, micrograd=True, label_suffix=exponent_label),
    Op("rpowc", "**", "ac", ("Value.__rpow__",), (Form("c ** a"),),
       lambda m, a, c: m.power(c, a),
       lambda m, a, c, out: (m.unless_zero_base(c, a, m.mul(out, m.increasing(math.log, c))),),
       ((0.37, 2.5), (-0.8, 0.5), (1.9, 2.5), (-2.6, 0.5)), _POW_EDGES),
    _unary("relu", "ReLU", "relu", lambda m, a: m.relu(a), lambda m, a, out: (m.step(out),),
           activation="relu", micrograd=True),
    _unary("tanh", "tanh", "tanh", lambda m, a: m.increasing(math.tanh, a),
           lambda m, a, out: (m.sub(m.ONE, m.square(out)),), edges=(19.0, 20.0, -20.0),
           activation="tanh"),
    _unary("sigmoid", "sigmoid", "sigmoid", lambda m, a: m.increasing(sigmoid, a),
           lambda m, a, out: (m.mul(out, m.sub(m.ONE, out)),), edges=_EXP_EDGES,
           activation="sigmoid"),
    _unary("exp", "exp", "exp", lambda m, a: m.increasing(math.exp, a),
           lambda m, a, out: (out,), edges=_EXP_EDGES),
    _unary("log", "log", "log", lambda m, a: m.increasing(math.log, a),
           lambda m, a, out: (m.div(m.ONE, a),), points=POSITIVE_POINTS,
           edges=(_MIN_NORMAL, 0.9999999999999999)),
    _unary("sqrt", "sqrt", "sqrt", lambda m, a: m.increasing(math.sqrt, a),
           lambda m, a, out: (m.div(m.const(0.5), out),), points=POSITIVE_POINTS,
           edges=(_MIN_NORMAL, 4.0)),
    Op("abs", "abs", "a", ("Value.__abs__",), (Form("abs(a)"),),
       lambda m, a: m.fabs(a), lambda m, a, out: (m.sign(a),), UNARY_POINTS),
    Op("sum", "sum", "*", ("sum",), build=lambda m, a, b, c: m.sum([a, 2.0, b * c, a]),
       points=((0.3, -1.2, 0.8),), fuzz=("sum",)),
    Op("dot", "dot", "*", ("dot", "layer", "Dense"),
       build=lambda m, w1, w2, x, b: m.dot([w1, w2, 0.5], [x, 3.0, w1], b),
       points=((0.4, -0.9, 1.6, 0.2),), fuzz=("dot", "layer", "dense")),
    Op("net", "mlp", "*", ("mlp",), build=_hidden, points=((0.3, -0.4, 0.9),), fuzz=("mlp",)),
    Op("head", "dot", "*", ("mlp",), build=_network, points=((0.3, -0.4, 0.9),),
       fuzz=("mlp",)),
    Op("custom", "", "*", ("Value",), build=_custom, points=((0.3, -0.4),)),
)

BY_CODE = {op.code: op for op in OPS}
SPELLINGS = tuple(s for op in OPS
                  for s in ([Spelling(op)] if op.build else [Spelling(op, f) for f in op.forms]))
FORMS = {s.name: s for s in SPELLINGS if s.form}  # the fixed-arity spellings, by expression
# an activation's name (layer, Dense and mlp take it as act) -> its spelling
ACTIVATIONS = {s.op.activation: s for s in SPELLINGS if s.op.activation}
ACTS = (*ACTIVATIONS, "linear")  # what layer, Dense and mlp take as act
