"""The pure-Python reference engine: readable, and the specification.

It reads like micrograd: every operation makes a Value that remembers its children
and a closure with its local derivative. Where it differs from micrograd it is on
purpose, and the compiled core does exactly the same, so the two agree bitwise:

- children are kept in operand order (micrograd keeps a set) and the topological
  walk is iterative, so the order of accumulation is defined and deep graphs work;
- constants are folded into the node that uses them (`x * 2` is one node);
- `a - b` and `a / b` are single nodes computed as Python floats compute them;
- errors are Python float's: a failing operation raises before any node exists;
- the backward sweep never raises: where Python would, it gives the IEEE result
  (inf or nan), as the C sweep does (fastgrad/pure/_ieee.py).

The n-ary nodes and dense layers are in fused.py, the bulk kernels in kernels.py,
recorded graphs in replay.py; this module re-exports them, so it stands for the whole
backend as fastgrad._core does.
"""
from __future__ import annotations

import math
import operator
import threading
from collections.abc import Iterable
from typing import Any, Callable, NamedTuple

import numpy as np

from fastgrad import checks, elementwise
from fastgrad.checks import as_float
from fastgrad.pure._ieee import fdiv, flog, pow_slope, real_pow, relu, sigmoid
from fastgrad.pure.sweep import sweep, topological_order

__all__ = [
    "Value", "Dense", "Network", "sum", "dot", "layer", "mlp", "no_grad", "is_grad_enabled",
    "stats", "set_node_limit",
    "get_data", "set_data", "get_grad", "set_grad", "sgd_step", "adam_step", "mlp_predict",
    "Replay", "mlp_record",
]

_mode = threading.local()  # per thread, as in PyTorch: .grad_off set by no_grad
_live_nodes = 0
_max_live = checks.MAX_NODES


class Activation(NamedTuple):
    op: str                            # the label of its node
    forward: Callable[[float], float]
    slope: Callable[[float], float]    # its derivative, from its output


# The activations, each its forward rule and its derivative side by side: a table rather
# than three methods' bodies, since dense layers and the fused Network apply them too.
ACTIVATIONS: dict[str, Activation] = {
    "relu": Activation("ReLU", relu, lambda out: 1.0 if out > 0.0 else 0.0),
    "tanh": Activation("tanh", math.tanh, lambda out: 1.0 - out * out),
    "sigmoid": Activation("sigmoid", sigmoid, lambda out: out * (1.0 - out)),
}


def _constant(x: Any) -> float | None:
    """x as an operation's constant operand; None if it is no number (NotImplemented, or
    an array's elementwise result: fastgrad.elementwise), an array of size 1 included."""
    if elementwise.is_array(x):
        return None
    try:
        return as_float(x)
    except TypeError:
        return None


def _noop(out: Value) -> None:
    pass


def _nothing() -> None:
    """A custom node's _backward until one is set: it passes nothing back (micrograd's)."""


def _run_closure(out: Value) -> None:
    """A custom node's local backward: the closure set on it."""
    out._closure()  # type: ignore[misc]  # a custom node's is never None


_NO_CHILDREN: tuple[Value, ...] = ()


class Value:
    """A scalar and its gradient, remembering how it was computed."""

    __slots__ = ("_data", "_grad", "_local", "_rule", "_children", "_op", "_args",
                 "_label", "_closure", "__weakref__")
    __array_priority__ = 1.0  # numpy scalars and arrays defer to us (fastgrad.elementwise)

    def __init__(self, data: Any, _children: Iterable[Value] = _NO_CHILDREN, _op: str = "",
                 label: str = "") -> None:
        global _live_nodes
        x = as_float(data)
        kids = _NO_CHILDREN if _children is _NO_CHILDREN else checks.children(_children)
        for kid in kids:
            if not isinstance(kid, Value):
                raise checks.not_a_child(kid)
        if not isinstance(_op, str):
            raise checks.bad_op(_op)
        if not isinstance(label, str):
            raise checks.bad_label(label)
        custom = bool(kids) or bool(_op)  # micrograd's custom op (the closure comes next)
        if hasattr(self, "_label") and (custom or self._closure is not None):
            raise checks.custom_reinit()
        if _live_nodes >= _max_live:
            raise MemoryError(checks.NO_ROOM)
        self._data = x
        self._grad = 0.0
        # the node's local backward, taking the node (_backward is micrograd's callable)
        self._local: Callable[[Value], None] = _noop
        # the forward rule on the operands' values (_operands' order), what _recompute
        # runs; None for a leaf and a custom node
        self._rule: Callable[..., float] | None = None
        self._children: tuple[Value, ...] = ()
        self._args: tuple | None = None  # the operands with constants, where not _children
        self._op = ""
        # a custom node's _backward, the user's closure; None for any other node
        self._closure: Callable[[], None] | None = _nothing if custom else None
        if custom and not getattr(_mode, "grad_off", False):  # else a leaf, as any op's
            self._children = kids
            self._op = _op
            self._local = _run_closure
        if not hasattr(self, "_label"):  # counted once fully made (__del__ runs for
            _live_nodes += 1              # failed ones too), and once if made again
        self._label = label if type(label) is str else checks.label(label)

    def __getattr__(self, name: str) -> Any:
        # reached for an unset slot (or a property reading one): a Value whose
        # __init__ never ran, if _data is unset too
        try:
            object.__getattribute__(self, "_data")
        except AttributeError:
            raise checks.uninitialised(self) from None
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __del__(self) -> None:
        global _live_nodes
        if hasattr(self, "_label"):
            _live_nodes -= 1

    def __reduce__(self) -> tuple:
        # a Value pickles and deep-copies as a leaf: its graph is not data, and leaves
        # never recurse, however deep the graph behind them
        return _restore, (self._data, self._grad, self._label)

    @classmethod
    def _node(cls, data: float, children: tuple, op: str, args: tuple | None,
              rule: Callable[..., float]) -> Value:
        """A result node, data computed by rule on its operands' values. Under no_grad it
        is a leaf: no children, nothing kept alive."""
        out = cls(data)
        if not getattr(_mode, "grad_off", False):
            out._children = children
            out._args = args
            out._op = op
            out._rule = rule
        return out

    def _attach(self, backward: Callable[[Value], None]) -> Value:
        """This node with its local backward. The closure takes its node as an argument
        rather than capturing it, so no cycle forms and a dropped graph is freed at
        once, without the cycle collector. A leaf (made under no_grad) keeps no
        closure, so it keeps no operand alive."""
        if self._children:
            self._local = backward
        return self

    @property
    def _backward(self) -> Callable[[], None]:
        """micrograd's no-argument callable: this node's local backward, once (its grad
        times the local derivatives, added into its operands' grads). A custom node's
        is the closure set on it (micrograd's recipe); other nodes keep their own."""
        return self._closure if self._closure is not None else self._local_backward

    @_backward.setter
    def _backward(self, f: Callable[[], None]) -> None:
        if self._closure is None:
            raise checks.not_custom(self)
        self._closure = f  # under no_grad its node is a leaf: never called

    def _local_backward(self) -> None:
        """This node's local backward once, as backward() applies it (_backward)."""
        self._local(self)

    # -- attributes ------------------------------------------------------------------
    @property
    def data(self) -> float:
        return self._data

    @data.setter
    def data(self, value: Any) -> None:
        x = as_float(value)
        self._label  # noqa: B018 (set last by __init__: an uninitialised Value raises)
        self._data = x

    @property
    def grad(self) -> float:
        return self._grad

    @grad.setter
    def grad(self, value: Any) -> None:
        x = as_float(value)
        self._label  # noqa: B018 (as in data's setter)
        self._grad = x

    @property
    def label(self) -> str:
        return self._label

    @label.setter
    def label(self, value: str) -> None:
        value = checks.label(value)
        self._data  # noqa: B018 (as in data's setter)
        self._label = value

    @property
    def _prev(self) -> set[Value]:
        return set(self._children)

    @property
    def _operands(self) -> tuple[Value | float, ...]:
        """The operands in operand order, each a Value or the constant folded in there:
        `x * 2` gives (x, 2.0), `2 - x` (2.0, x), `x - 2` (an addition) (x, -2.0), a
        dot (w0, x0, w1, x1, ..., bias); () for a leaf. _prev is the set of its Values."""
        return self._children if self._args is None else self._args

    # -- binary operations: with a Value, or with a constant folded into the node ----
    def __add__(self, other: Any) -> Value:
        if isinstance(other, Value):
            out = Value._node(self._data + other._data, (self, other), "+", None, operator.add)

            def _backward(out: Value) -> None:
                self._grad += out._grad
                other._grad += out._grad
            return out._attach(_backward)
        c = _constant(other)
        if c is None:
            return elementwise.with_array(np.add, self, other)
        out = Value._node(self._data + c, (self,), "+", (self, c), operator.add)

        def _backward_folded(out: Value) -> None:
            self._grad += out._grad
        return out._attach(_backward_folded)

    __radd__ = __add__

    def __sub__(self, other: Any) -> Value:
        if isinstance(other, Value):
            out = Value._node(self._data - other._data, (self, other), "-", None, operator.sub)

            def _backward(out: Value) -> None:
                self._grad += out._grad
                other._grad -= out._grad
            return out._attach(_backward)
        c = _constant(other)
        if c is None:
            return elementwise.with_array(np.subtract, self, other)
        # x - c is exactly x + (-c) in IEEE arithmetic, but for a nan c, which x - c
        # passes on as it is (-c would flip its sign)
        return self + (c if c != c else -c)

    def __rsub__(self, other: Any) -> Value:
        c = _constant(other)
        if c is None:
            return elementwise.with_array(np.subtract, other, self)
        out = Value._node(c - self._data, (self,), "-", (c, self), operator.sub)

        def _backward(out: Value) -> None:
            self._grad -= out._grad
        return out._attach(_backward)

    def __mul__(self, other: Any) -> Value:
        if isinstance(other, Value):
            out = Value._node(self._data * other._data, (self, other), "*", None, operator.mul)

            def _backward(out: Value) -> None:
                self._grad += other._data * out._grad
                other._grad += self._data * out._grad
            return out._attach(_backward)
        c = _constant(other)
        if c is None:
            return elementwise.with_array(np.multiply, self, other)
        out = Value._node(self._data * c, (self,), "*", (self, c), operator.mul)

        def _backward_folded(out: Value) -> None:
            self._grad += c * out._grad
        return out._attach(_backward_folded)

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> Value:
        if isinstance(other, Value):
            out = Value._node(self._data / other._data, (self, other), "/", None,
                              operator.truediv)

            def _backward(out: Value) -> None:
                b = other._data
                self._grad += fdiv(out._grad, b)
                other._grad -= fdiv(out._data, b) * out._grad  # -a/b^2, b*b not formed
            return out._attach(_backward)
        c = _constant(other)
        if c is None:
            return elementwise.with_array(np.true_divide, self, other)
        out = Value._node(self._data / c, (self,), "/", (self, c), operator.truediv)

        def _backward_folded(out: Value) -> None:
            self._grad += out._grad / c
        return out._attach(_backward_folded)

    def __rtruediv__(self, other: Any) -> Value:
        c = _constant(other)
        if c is None:
            return elementwise.with_array(np.true_divide, other, self)
        out = Value._node(c / self._data, (self,), "/", (c, self), operator.truediv)

        def _backward(out: Value) -> None:
            self._grad -= fdiv(out._data, self._data) * out._grad
        return out._attach(_backward)

    def __pow__(self, other: Any) -> Value:
        if isinstance(other, Value):
            out = Value._node(real_pow(self._data, other._data), (self, other), "**", None,
                              real_pow)

            # as torch: x**0 is constant in x; d/dy is 0 where x = 0 and y >= 0
            def _backward(out: Value) -> None:
                a, b = self._data, other._data
                if b != 0.0:
                    self._grad += pow_slope(a, b, out._data) * out._grad
                other._grad += (0.0 if a == 0.0 and b >= 0.0
                                else out._data * flog(a)) * out._grad
            return out._attach(_backward)
        c = _constant(other)
        if c is None:
            return elementwise.with_array(np.power, self, other)
        out = Value._node(real_pow(self._data, c), (self,), checks.pow_label(c), (self, c),
                          real_pow)

        def _backward_folded(out: Value) -> None:
            if c != 0.0:
                self._grad += pow_slope(self._data, c, out._data) * out._grad
        return out._attach(_backward_folded)

    def __rpow__(self, other: Any) -> Value:
        c = _constant(other)
        if c is None:
            return elementwise.with_array(np.power, other, self)
        out = Value._node(real_pow(c, self._data), (self,), "**", (c, self), real_pow)

        def _backward(out: Value) -> None:
            a = self._data
            self._grad += (0.0 if c == 0.0 and a >= 0.0 else out._data * flog(c)) * out._grad
        return out._attach(_backward)

    # -- unary operations ------------------------------------------------------------
    def __neg__(self) -> Value:
        return self * -1.0

    def __pos__(self) -> Value:
        return self

    def __abs__(self) -> Value:
        out = Value._node(abs(self._data), (self,), "abs", None, abs)

        def _backward(out: Value) -> None:
            a = self._data
            self._grad += (1.0 if a > 0.0 else (-1.0 if a < 0.0 else 0.0)) * out._grad
        return out._attach(_backward)

    def exp(self) -> Value:
        out = Value._node(math.exp(self._data), (self,), "exp", None, math.exp)

        def _backward(out: Value) -> None:
            self._grad += out._data * out._grad
        return out._attach(_backward)

    def log(self) -> Value:
        out = Value._node(math.log(self._data), (self,), "log", None, math.log)

        def _backward(out: Value) -> None:
            self._grad += fdiv(out._grad, self._data)
        return out._attach(_backward)

    def sqrt(self) -> Value:
        out = Value._node(math.sqrt(self._data), (self,), "sqrt", None, math.sqrt)

        def _backward(out: Value) -> None:
            self._grad += fdiv(0.5, out._data) * out._grad
        return out._attach(_backward)

    def relu(self) -> Value:
        return self._activation("relu")

    def tanh(self) -> Value:
        return self._activation("tanh")

    def sigmoid(self) -> Value:
        return self._activation("sigmoid")

    def _activation(self, act: str) -> Value:
        op, forward, slope = ACTIVATIONS[act]
        out = Value._node(forward(self._data), (self,), op, None, forward)

        def _backward(out: Value) -> None:
            self._grad += slope(out._data) * out._grad
        return out._attach(_backward)

    # -- comparisons and conversions -------------------------------------------------
    # Comparisons are Python float's against the other side's data or number: exact
    # with ints of any size, NotImplemented (so TypeError) for what floats refuse.
    def __lt__(self, other: Any) -> bool:
        return self._data.__lt__(other._data if isinstance(other, Value) else other)

    def __le__(self, other: Any) -> bool:
        return self._data.__le__(other._data if isinstance(other, Value) else other)

    def __gt__(self, other: Any) -> bool:
        return self._data.__gt__(other._data if isinstance(other, Value) else other)

    def __ge__(self, other: Any) -> bool:
        return self._data.__ge__(other._data if isinstance(other, Value) else other)

    __eq__ = object.__eq__  # identity, as in micrograd: Values live in sets and dicts
    __hash__ = object.__hash__

    def __float__(self) -> float:
        return self._data

    def __repr__(self) -> str:
        return f"Value(data={self._data}, grad={self._grad})"

    # -- gradients -------------------------------------------------------------------
    def backward(self) -> None:
        """Set this Value's grad to 1 and accumulate d(self)/d(node) into every node."""
        sweep(self, topological_order(self))

    def zero_grad(self) -> None:
        self._grad = 0.0

    def _recompute(self) -> None:
        """Recompute this node's data from its operands' data as they are now, as a
        replay does node by node (a leaf keeps its data); the op's error if it fails,
        and then nothing changed."""
        if self._rule is not None:
            self._data = self._rule(*[o._data if isinstance(o, Value) else o
                                      for o in self._operands])


def _restore(data: float, grad: float, label: str) -> Value:
    """A leaf Value as pickled: its data, grad and label (the graph is not kept)."""
    v = Value(data, label=label)
    v.grad = grad
    return v


class no_grad:
    """Context in which operations record no graph: results are leaf Values."""

    def __enter__(self) -> None:
        self._prev = getattr(_mode, "grad_off", False)
        _mode.grad_off = True

    def __exit__(self, *exc: object) -> None:
        _mode.grad_off = self._prev


def is_grad_enabled() -> bool:
    return not getattr(_mode, "grad_off", False)


def set_node_limit(limit: int | None) -> None:
    """Cap the number of live nodes (None: no cap). Past it an operation raises
    MemoryError and changes nothing, as when memory runs out."""
    global _max_live
    _max_live = checks.node_limit(limit)


_BYTES_PER_VALUE = 368  # sys.getsizeof of a Value, its closure and cells, a 2-tuple


def stats() -> dict[str, int]:
    """Live Value count, an estimate of their bytes, and of the bytes of one Value with
    its closure and child tuple (the compiled backend's figures are exact)."""
    nbytes = _live_nodes * _BYTES_PER_VALUE
    return {"live_nodes": _live_nodes, "bytes": nbytes, "node_bytes": _BYTES_PER_VALUE,
            "reserved_bytes": nbytes}


# Last: they build on Value.
from fastgrad.pure.fused import (Dense, Network, dot, layer, mlp, mlp_record,  # noqa: E402
                                 sum)  # noqa: A004
from fastgrad.pure.kernels import (adam_step, get_data, get_grad, mlp_predict,  # noqa: E402
                                   set_data, set_grad, sgd_step)
from fastgrad.pure.replay import Replay, _step_methods  # noqa: E402, F401
