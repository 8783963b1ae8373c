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
  (inf or nan), as the C sweep does.
"""
from __future__ import annotations

import math
import numbers
import threading
from typing import Any, Callable, Iterable, Sequence, Union

import numpy as np

from fastgrad.checks import reals

__all__ = [
    "Value", "Dense", "Network", "sum", "dot", "layer", "mlp", "no_grad", "is_grad_enabled", "stats",
    "set_node_limit",
    "get_data", "set_data", "get_grad", "set_grad", "sgd_step", "adam_step", "mlp_predict",
]

_builtin_sum = sum
_inf = math.inf
_nan = math.nan
_mode = threading.local()  # per thread, as in PyTorch: .grad_off set by no_grad
_live_nodes = 0
_max_live = 2 ** 31 - 2  # as the compiled store: ids are 32-bit


def _as_float(x: Any) -> float:
    """The float Python arithmetic would use for `x`; TypeError if it is no real number."""
    if isinstance(x, float):
        return float(x)
    if (isinstance(x, (str, bytes, bytearray))
            or (isinstance(x, numbers.Complex) and not isinstance(x, numbers.Real))
            or not (hasattr(type(x), "__float__") or hasattr(type(x), "__index__"))):
        raise TypeError(f"a Value needs a real number, not {type(x).__name__}")
    return float(x)


# -- IEEE helpers for the backward sweep, which must not raise (C does not) --------

def _is_odd_integer(y: float) -> bool:
    return math.isfinite(y) and y.is_integer() and math.fmod(y, 2.0) != 0.0


def _fdiv(x: float, y: float) -> float:
    """x / y as C computes it: ±inf or nan instead of ZeroDivisionError."""
    if y != 0.0:
        return x / y
    if x != x or x == 0.0:
        return _nan
    return math.copysign(_inf, x) * math.copysign(1.0, y)


def _fpow(x: float, y: float) -> float:
    """C's pow(x, y): Python's ** where that returns a float, IEEE values elsewhere."""
    try:
        r = x ** y
    except ZeroDivisionError:  # 0.0 ** negative is a pole
        return math.copysign(_inf, x) if _is_odd_integer(y) else _inf
    except OverflowError:
        return -_inf if x < 0.0 and _is_odd_integer(y) else _inf
    return _nan if isinstance(r, complex) else r


def _flog(x: float) -> float:
    """C's log(x): -inf at zero, nan below it."""
    if x > 0.0:
        return math.log(x)
    return -_inf if x == 0.0 else _nan


def _pow(x: float, y: float) -> float:
    """Python's x ** y, with ValueError where Python would go complex (and then maybe
    overflow: a negative finite base to a finite non-integer power is a domain error)."""
    if x < 0.0 and math.isfinite(x) and math.isfinite(y) and not y.is_integer():
        raise ValueError("math domain error")
    return x ** y


def _sigmoid(x: float) -> float:
    """1 / (1 + e^-x) without overflow for any finite x."""
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _relu(x: float) -> float:
    return 0.0 if x < 0.0 else x


# activation -> (its op label, its forward rule, its derivative from its output)
_ACTIVATION_RULES: dict[str, tuple[str, Callable[[float], float], Callable[[float], float]]] = {
    "relu": ("ReLU", _relu, lambda out: 1.0 if out > 0.0 else 0.0),
    "tanh": ("tanh", math.tanh, lambda out: 1.0 - out * out),
    "sigmoid": ("sigmoid", _sigmoid, lambda out: out * (1.0 - out)),
    "linear": ("", lambda z: z, lambda out: 1.0),  # no node: the dot is the output
}


def _pow_label(c: float) -> str:
    return f"**{int(c)}" if c.is_integer() and abs(c) < 2.0 ** 53 else f"**{c}"


def _noop(out: Value) -> None:
    pass


class Value:
    """A scalar and its gradient, remembering how it was computed."""

    __slots__ = ("_data", "_grad", "_backward", "_children", "_op", "_label", "__weakref__")
    __array_ufunc__ = None  # numpy scalars on the left defer to our reflected ops

    def __init__(self, data: Any, label: str = "") -> None:
        global _live_nodes
        x = _as_float(data)
        if not isinstance(label, str):
            raise TypeError(f"label must be a str, not {type(label).__name__}")
        if _live_nodes >= _max_live:
            raise MemoryError("fastgrad: no room for another node (out of memory or at the node limit)")
        self._data = x
        self._grad = 0.0
        self._backward: Callable[[Value], None] = _noop
        self._children: tuple[Value, ...] = ()
        self._op = ""
        if not hasattr(self, "_label"):  # counted once fully made (__del__ runs for
            _live_nodes += 1              # failed ones too), and once if made again
        self._label = label

    def __del__(self) -> None:
        global _live_nodes
        if hasattr(self, "_label"):
            _live_nodes -= 1

    def __reduce__(self) -> tuple:
        # a Value pickles and deep-copies as a leaf: its graph is not data, and leaves
        # never recurse, however deep the graph behind them
        return _restore, (self._data, self._grad, self._label)

    @classmethod
    def _node(cls, data: float, children: tuple, op: str) -> Value:
        """A result node. Under no_grad it is a leaf: no children, nothing kept alive."""
        out = cls(data)
        if not getattr(_mode, "grad_off", False):
            out._children = children
            out._op = op
        return out

    def _attach(self, backward: Callable[[Value], None]) -> None:
        # The closure takes its node as an argument rather than capturing it, so no
        # cycle forms and a dropped graph is freed at once, without the cycle collector.
        # A leaf (made under no_grad) keeps no closure, so it keeps no operand alive.
        if self._children:
            self._backward = backward

    # -- attributes ------------------------------------------------------------------
    @property
    def data(self) -> float:
        return self._data

    @data.setter
    def data(self, value: Any) -> None:
        self._data = _as_float(value)

    @property
    def grad(self) -> float:
        return self._grad

    @grad.setter
    def grad(self, value: Any) -> None:
        self._grad = _as_float(value)

    @property
    def label(self) -> str:
        return self._label

    @label.setter
    def label(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError(f"label must be a str, not {type(value).__name__}")
        self._label = value

    @property
    def _prev(self) -> set[Value]:
        return set(self._children)

    # -- binary operations -----------------------------------------------------------
    def __add__(self, other: Any) -> Value:
        if isinstance(other, Value):
            out = Value._node(self._data + other._data, (self, other), "+")

            def _backward(out: Value) -> None:
                self._grad += out._grad
                other._grad += out._grad
        else:
            try:
                c = _as_float(other)
            except TypeError:
                return NotImplemented
            out = Value._node(self._data + c, (self,), "+")

            def _backward(out: Value) -> None:
                self._grad += out._grad
        out._attach(_backward)
        return out

    __radd__ = __add__

    def __sub__(self, other: Any) -> Value:
        if isinstance(other, Value):
            out = Value._node(self._data - other._data, (self, other), "-")

            def _backward(out: Value) -> None:
                self._grad += out._grad
                other._grad -= out._grad
            out._attach(_backward)
            return out
        try:
            c = _as_float(other)
        except TypeError:
            return NotImplemented
        return self + (-c)  # x - c is exactly x + (-c) in IEEE arithmetic

    def __rsub__(self, other: Any) -> Value:
        try:
            c = _as_float(other)
        except TypeError:
            return NotImplemented
        out = Value._node(c - self._data, (self,), "-")

        def _backward(out: Value) -> None:
            self._grad -= out._grad
        out._attach(_backward)
        return out

    def __mul__(self, other: Any) -> Value:
        if isinstance(other, Value):
            out = Value._node(self._data * other._data, (self, other), "*")

            def _backward(out: Value) -> None:
                self._grad += other._data * out._grad
                other._grad += self._data * out._grad
        else:
            try:
                c = _as_float(other)
            except TypeError:
                return NotImplemented
            out = Value._node(self._data * c, (self,), "*")

            def _backward(out: Value) -> None:
                self._grad += c * out._grad
        out._attach(_backward)
        return out

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> Value:
        if isinstance(other, Value):
            out = Value._node(self._data / other._data, (self, other), "/")

            def _backward(out: Value) -> None:
                a, b = self._data, other._data
                self._grad += _fdiv(out._grad, b)
                other._grad -= _fdiv(a, b * b) * out._grad
        else:
            try:
                c = _as_float(other)
            except TypeError:
                return NotImplemented
            out = Value._node(self._data / c, (self,), "/")

            def _backward(out: Value) -> None:
                self._grad += out._grad / c
        out._attach(_backward)
        return out

    def __rtruediv__(self, other: Any) -> Value:
        try:
            c = _as_float(other)
        except TypeError:
            return NotImplemented
        out = Value._node(c / self._data, (self,), "/")

        def _backward(out: Value) -> None:
            a = self._data
            self._grad -= _fdiv(c, a * a) * out._grad
        out._attach(_backward)
        return out

    def __pow__(self, other: Any) -> Value:
        if isinstance(other, Value):
            out = Value._node(_pow(self._data, other._data), (self, other), "**")

            def _backward(out: Value) -> None:
                a, b = self._data, other._data
                self._grad += (b * _fpow(a, b - 1.0)) * out._grad
                other._grad += (out._data * _flog(a)) * out._grad
        else:
            try:
                c = _as_float(other)
            except TypeError:
                return NotImplemented
            out = Value._node(_pow(self._data, c), (self,), _pow_label(c))

            def _backward(out: Value) -> None:
                self._grad += (c * _fpow(self._data, c - 1.0)) * out._grad
        out._attach(_backward)
        return out

    def __rpow__(self, other: Any) -> Value:
        try:
            c = _as_float(other)
        except TypeError:
            return NotImplemented
        out = Value._node(_pow(c, self._data), (self,), "**")

        def _backward(out: Value) -> None:
            self._grad += (out._data * _flog(c)) * out._grad
        out._attach(_backward)
        return out

    # -- unary operations ------------------------------------------------------------
    def __neg__(self) -> Value:
        return self * -1.0

    def __pos__(self) -> Value:
        return self

    def __abs__(self) -> Value:
        a = self._data
        out = Value._node(abs(a), (self,), "abs")

        def _backward(out: Value) -> None:
            a = self._data
            sign = 1.0 if a > 0.0 else (-1.0 if a < 0.0 else 0.0)
            self._grad += sign * out._grad
        out._attach(_backward)
        return out

    def relu(self) -> Value:
        return self._activation("relu")

    def tanh(self) -> Value:
        return self._activation("tanh")

    def sigmoid(self) -> Value:
        return self._activation("sigmoid")

    def _activation(self, act: str) -> Value:
        op, forward, slope = _ACTIVATION_RULES[act]
        out = Value._node(forward(self._data), (self,), op)

        def _backward(out: Value) -> None:
            self._grad += slope(out._data) * out._grad
        out._attach(_backward)
        return out

    def exp(self) -> Value:
        out = Value._node(math.exp(self._data), (self,), "exp")

        def _backward(out: Value) -> None:
            self._grad += out._data * out._grad
        out._attach(_backward)
        return out

    def log(self) -> Value:
        out = Value._node(math.log(self._data), (self,), "log")

        def _backward(out: Value) -> None:
            self._grad += _fdiv(out._grad, self._data)
        out._attach(_backward)
        return out

    def sqrt(self) -> Value:
        out = Value._node(math.sqrt(self._data), (self,), "sqrt")

        def _backward(out: Value) -> None:
            self._grad += _fdiv(0.5, out._data) * out._grad
        out._attach(_backward)
        return out

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
        topo = _topological_order(self)
        self._grad = 1.0
        for node in reversed(topo):
            node._backward(node)

    def zero_grad(self) -> None:
        self._grad = 0.0


def _restore(data: float, grad: float, label: str) -> Value:
    """A leaf Value as pickled: its data, grad and label (the graph is not kept)."""
    v = Value(data, label)
    v.grad = grad
    return v


def _topological_order(root: Value) -> list[Value]:
    """Depth-first post-order from root, children in operand order, without recursion."""
    topo: list[Value] = []
    visited = {root}
    stack = [(root, iter(root._children))]
    while stack:
        node, children = stack[-1]
        for child in children:
            if child not in visited:
                visited.add(child)
                stack.append((child, iter(child._children)))
                break
        else:
            stack.pop()
            topo.append(node)
    return topo


# -- n-ary nodes ---------------------------------------------------------------------

def _operand(x: Any) -> tuple[Value | None, float]:
    """(the Value, its data) for a Value, (None, the number) for a constant."""
    if isinstance(x, Value):
        return x, x._data
    return None, _as_float(x)


def sum(values: Iterable[Any]) -> Value:  # noqa: A001 - mirrors builtins.sum
    """One node for `builtins.sum(values)`: 0.0 + v0 + v1 + ..., left to right."""
    operands = [_operand(v) for v in values]
    acc = 0.0
    for _, x in operands:
        acc = acc + x
    children = tuple(v for v, _ in operands if v is not None)
    out = Value._node(acc, children, "sum")

    def _backward(out: Value) -> None:
        for v in children:
            v._grad += out._grad
    out._attach(_backward)
    return out


def dot(ws: Sequence[Any], xs: Sequence[Any], bias: Any = 0.0) -> Value:
    """One node for micrograd's neuron sum: bias + w0*x0 + w1*x1 + ..., left to right."""
    ws, xs = list(ws), list(xs)
    if len(ws) != len(xs):
        raise ValueError(f"dot: {len(ws)} weights but {len(xs)} inputs")
    wv = [_operand(w) for w in ws]
    xv = [_operand(x) for x in xs]
    bv = _operand(bias)
    acc = bv[1]
    for (_, w), (_, x) in zip(wv, xv):
        acc = acc + w * x
    slots = [s for pair in zip(wv, xv) for s in pair] + [bv]
    children = tuple(v for v, _ in slots if v is not None)
    out = Value._node(acc, children, "dot")

    def _backward(out: Value) -> None:
        _dot_backward(wv, xv, bv, out._grad)
    out._attach(_backward)
    return out


Operand = tuple[Any, float]  # (a Value, or anything with _data and _grad; or None, a constant)


def _dot_backward(wv: Sequence[Operand], xv: Sequence[Operand], bv: Operand, g: float) -> None:
    """dot's backward with grad g: each product passes the grad to both of its factors,
    then the bias gets it."""
    for (w, wc), (x, xc) in zip(wv, xv):
        wd = w._data if w is not None else wc
        xd = x._data if x is not None else xc
        if w is not None:
            w._grad += xd * g
        if x is not None:
            x._grad += wd * g
    if bv[0] is not None:
        bv[0]._grad += g


_ACTIVATIONS: dict[str, Callable[[Value], Value] | None] = {
    "relu": Value.relu, "tanh": Value.tanh, "sigmoid": Value.sigmoid, "linear": None,
}


class Dense:
    """A dense layer's parameters, made once and called many times:
    `Dense(weights, biases, act)(x)` is act(dot(w_j, x, b_j)) for every neuron j.

    The rows are copied when the Dense is made: to use other Values as weights, make
    a new Dense (the Values' data may change freely, as training does).
    """

    def __init__(self, weights: Iterable[Sequence[Any]], biases: Iterable[Any],
                 act: str = "relu") -> None:
        if not isinstance(act, str):
            raise TypeError(f"act must be a str, not {type(act).__name__}")
        if act not in _ACTIVATIONS:
            raise ValueError(f"unknown activation {act!r}; use one of {sorted(_ACTIVATIONS)}")
        wl = [list(w) for w in weights]
        bl = list(biases)
        if len(wl) != len(bl):
            raise ValueError(f"Dense: {len(wl)} weight rows but {len(bl)} biases")
        self.nin = len(wl[0]) if wl else -1  # -1: no neurons, any input fits
        for j, w in enumerate(wl):
            if len(w) != self.nin:
                raise ValueError(f"Dense: row {j} has {len(w)} weights, row 0 {self.nin}")
            for v in w + [bl[j]]:
                _operand(v)  # a TypeError now, not at the first call
        self.weights, self.biases, self.act = wl, bl, act

    @property
    def nout(self) -> int:
        return len(self.weights)

    def __repr__(self) -> str:
        return f"Dense(nin={self.nin}, nout={self.nout}, act={self.act!r})"

    def __reduce__(self) -> tuple:
        return Dense, (self.weights, self.biases, self.act)

    def _check(self, n: int) -> None:
        if self.nin >= 0 and n != self.nin:
            raise ValueError(f"Dense: takes {self.nin} inputs, got {n}")

    def __call__(self, x: Iterable[Any]) -> list[Value]:
        x = list(x)
        for v in x:
            _operand(v)
        self._check(len(x))
        f = _ACTIVATIONS[self.act]
        outs = [dot(w, x, b) for w, b in zip(self.weights, self.biases)]
        return outs if f is None else [f(o) for o in outs]


def layer(weights: Iterable[Sequence[Any]], biases: Iterable[Any], x: Iterable[Any],
          act: str = "relu") -> list[Value]:
    """A dense layer's outputs, act(dot(w_j, x, b_j)) for every neuron j, in one call."""
    return Dense(weights, biases, act)(x)


DenseSpec = Union[Dense, tuple[Sequence[Sequence[Any]], Sequence[Any], str]]


def _denses(layers: Iterable[DenseSpec], who: str) -> list[Dense]:
    """layers as Dense objects: each a Dense or a (weights, biases, act) triple."""
    out = [d if isinstance(d, Dense) else Dense(*d) for d in layers]
    if not out:
        raise ValueError(f"{who}: no layers")
    return out


class Network:
    """Dense layers applied in turn, made once and called many times:
    `Network(layers)(x)` is the last layer's outputs, as calling each layer on the
    one before's. With the graph on, a call makes one node ("mlp") for all the hidden
    layers and one per output neuron (a "dot", or its activation's name) whose
    operands are that node and the neuron's weights and bias: the hidden activations
    are values on the mlp node's tape, not nodes. The numbers, grads included, are
    those of the unfused layers, bit for bit: the tape keeps the grads the hidden
    nodes would hold, and the mlp node's backward passes them on in the order the
    unfused graph's sweep would (layers from the top, neurons last to first, each
    neuron's activation before its dot).
    """

    def __init__(self, layers: Iterable[DenseSpec], name: str = "Network",
                 unwrap: bool = False) -> None:
        if not isinstance(name, str):
            raise TypeError(f"name must be a str, not {type(name).__name__}")
        self.name = name  # for error messages: "{name} takes 2 inputs, got 3"
        self.unwrap = bool(unwrap)  # a single output is returned bare, not in a list
        self.layers = _denses(layers, name)
        self._fused = len(self.layers) > 1 and all(d.nout for d in self.layers) and all(
            d.nin == below.nout for below, d in zip(self.layers, self.layers[1:]))

    def __repr__(self) -> str:
        return f"Network({self.layers!r}, {self.name!r}, unwrap={self.unwrap})"

    def __reduce__(self) -> tuple:
        return Network, (self.layers, self.name, self.unwrap)

    def __call__(self, x: Iterable[Any]) -> Value | list[Value]:
        return self.forward(x)

    def forward(self, x: Iterable[Any]) -> Value | list[Value]:
        """The call, as a method (in the compiled engine, cheaper than the call)."""
        outs = self._outputs(x)
        return outs[0] if self.unwrap and len(outs) == 1 else outs

    def _outputs(self, x: Iterable[Any]) -> list[Value]:
        x = list(x)
        first = self.layers[0]
        if first.nout and len(x) != first.nin:  # (a layer without neurons takes anything)
            raise ValueError(f"{self.name} takes {first.nin} inputs, got {len(x)}")
        inputs = [_operand(v) for v in x]
        if not self._fused or getattr(_mode, "grad_off", False):
            for d in self.layers:
                x = d(x)
            return list(x)
        return _network_call(self.layers, inputs)


class _Cell:
    """A hidden neuron's activation or dot on the tape: the data and grad its node
    would hold."""
    __slots__ = ("_data", "_grad")

    def __init__(self, data: float) -> None:
        self._data = data
        self._grad = 0.0


def _network_call(layers: list[Dense], inputs: list[Operand]) -> list[Value]:
    """One fused call of Network: the mlp node and a head node per output neuron."""
    rows = [[([_operand(w) for w in ws], _operand(b)) for ws, b in zip(d.weights, d.biases)]
            for d in layers]
    # forward: each neuron's dot as dot() sums it, then its activation
    below: list[Operand] = inputs
    acts: list[list[_Cell]] = []  # per layer, each neuron's activation
    dots: list[list[_Cell]] = []  # per layer, each neuron's dot (where an activation follows)
    for d, layer_rows in zip(layers, rows):
        act, dot_cells = [], []
        for wv, bv in layer_rows:
            acc = bv[1]
            for (_, w), (_, x) in zip(wv, below):
                acc = acc + w * x
            if d.act == "linear":
                act.append(_Cell(acc))
            else:
                act.append(_Cell(_ACTIVATION_RULES[d.act][1](acc)))
                dot_cells.append(_Cell(acc))
        acts.append(act)
        dots.append(dot_cells)
        below = [(c, c._data) for c in act]

    def neuron_backward(l: int, j: int, out: float, g: float) -> None:
        """Neuron j of layer l, its activation's output out and grad g: through the
        activation to the dot, then the dot's backward."""
        if layers[l].act != "linear":
            dot_cell = dots[l][j]
            dot_cell._grad += _ACTIVATION_RULES[layers[l].act][2](out) * g
            g = dot_cell._grad
        wv, bv = rows[l][j]
        xv = inputs if l == 0 else [(c, c._data) for c in acts[l - 1]]
        _dot_backward(wv, xv, bv, g)

    hidden_params = tuple(v for layer_rows in rows[:-1] for wv, bv in layer_rows
                          for v, _ in wv + [bv] if v is not None)
    net = Value._node(0.0, tuple(v for v, _ in inputs if v is not None) + hidden_params, "mlp")

    def net_backward(net: Value) -> None:
        for l in range(len(layers) - 2, -1, -1):
            for j in range(layers[l].nout - 1, -1, -1):
                cell = acts[l][j]
                neuron_backward(l, j, cell._data, cell._grad)
    net._attach(net_backward)

    last, top = len(layers) - 1, layers[-1]
    op = "dot" if top.act == "linear" else _ACTIVATION_RULES[top.act][0]
    heads = []
    for j, ((wv, bv), cell) in enumerate(zip(rows[last], acts[last])):
        head = Value._node(cell._data, (net,) + tuple(v for v, _ in wv + [bv] if v is not None), op)

        def head_backward(head: Value, j: int = j) -> None:
            neuron_backward(last, j, head._data, head._grad)
        head._attach(head_backward)
        heads.append(head)
    return heads


def mlp(layers: Iterable[DenseSpec], x: Iterable[Any]) -> list[Value]:
    """The last layer's outputs of dense layers applied in turn: `Network(layers)(x)`."""
    return Network(layers)(x)


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
    if limit is not None and limit < 0:
        raise ValueError(f"node limit must be >= 0 or None, not {limit}")
    _max_live = 2 ** 31 - 2 if limit is None else min(limit, 2 ** 31 - 2)


def stats() -> dict[str, int]:
    """Live Value count, an estimate of their bytes, and of the bytes of one Value with
    its closure and child tuple (the compiled backend's figures are exact)."""
    nbytes = _live_nodes * _BYTES_PER_VALUE
    return {"live_nodes": _live_nodes, "bytes": nbytes, "node_bytes": _BYTES_PER_VALUE,
            "reserved_bytes": nbytes}


_BYTES_PER_VALUE = 360  # sys.getsizeof of a Value, its closure and cells, a 2-tuple


# -- bulk kernels: a whole parameter list or data set per call -----------------------
# The compiled engine runs each of these as one call into C, with the same arithmetic.

def _values(params: Iterable[Any]) -> list[Value]:
    ps = list(params)
    for p in ps:
        if not isinstance(p, Value):
            raise TypeError(f"expected Values, got {type(p).__name__}")
    return ps


def _vector(values: Any, n: int, what: str) -> list[float]:
    """values as n floats: a scalar broadcasts, anything else must have shape (n,)."""
    a = reals(values, what)
    if a.ndim == 0:
        return [float(a)] * n
    if a.shape != (n,):
        raise ValueError(f"{what}: expected {n} values, got an array of shape {a.shape}")
    return a.tolist()


def _state(buf: Any, n: int, what: str) -> np.ndarray:
    """An optimizer state array: float64, shape (n,), updated in place."""
    if not (isinstance(buf, np.ndarray) and buf.dtype == np.float64 and buf.shape == (n,)
            and buf.flags.c_contiguous and buf.flags.writeable):
        raise ValueError(f"{what}: expected a writeable float64 array of shape ({n},)")
    return buf


def _fsqrt(x: float) -> float:
    """C's sqrt(x): nan below zero instead of ValueError."""
    return math.sqrt(x) if x >= 0.0 else _nan


def get_data(params: Iterable[Value]) -> np.ndarray:
    return np.array([p._data for p in _values(params)], dtype=np.float64)


def set_data(params: Iterable[Value], values: Any) -> None:
    ps = _values(params)
    for p, x in zip(ps, _vector(values, len(ps), "set_data")):
        p._data = x


def get_grad(params: Iterable[Value]) -> np.ndarray:
    return np.array([p._grad for p in _values(params)], dtype=np.float64)


def set_grad(params: Iterable[Value], values: Any) -> None:
    ps = _values(params)
    for p, x in zip(ps, _vector(values, len(ps), "set_grad")):
        p._grad = x


def sgd_step(params: Iterable[Value], lr: float, momentum: float, weight_decay: float,
             buf: np.ndarray, first: bool) -> None:
    """torch.optim.SGD's update (no dampening, no nesterov); buf holds the momentum."""
    ps = _values(params)
    lr, momentum, weight_decay = float(lr), float(momentum), float(weight_decay)
    b = _state(buf, len(ps), "sgd_step").tolist()
    for i, p in enumerate(ps):
        g = p._grad
        if weight_decay != 0.0:
            g = g + weight_decay * p._data
        if momentum != 0.0:
            b[i] = g if first else momentum * b[i] + g
            g = b[i]
        p._data = p._data - lr * g
    buf[:] = b


def adam_step(params: Iterable[Value], lr: float, beta1: float, beta2: float, eps: float,
              weight_decay: float, step: int, m: np.ndarray, v: np.ndarray) -> None:
    """torch.optim.Adam's update for step `step` (1-based); m, v are its moments."""
    ps = _values(params)
    lr, beta1, beta2, eps = float(lr), float(beta1), float(beta2), float(eps)
    weight_decay = float(weight_decay)
    if step < 1:
        raise ValueError(f"adam_step: step counts from 1, got {step}")
    ml = _state(m, len(ps), "adam_step").tolist()
    vl = _state(v, len(ps), "adam_step").tolist()
    # IEEE results where Python would raise (beta = 1, eps = 0 with a zero moment, ...)
    step_size = _fdiv(lr, 1.0 - _fpow(beta1, float(step)))
    bc2_sqrt = _fsqrt(1.0 - _fpow(beta2, float(step)))
    for i, p in enumerate(ps):
        g = p._grad
        if weight_decay != 0.0:
            g = g + weight_decay * p._data
        ml[i] = beta1 * ml[i] + (1.0 - beta1) * g
        vl[i] = beta2 * vl[i] + (1.0 - beta2) * g * g
        denom = _fdiv(_fsqrt(vl[i]), bc2_sqrt) + eps
        p._data = p._data - step_size * _fdiv(ml[i], denom)
    m[:] = ml
    v[:] = vl


def mlp_predict(layers: Iterable[DenseSpec], X: Any) -> np.ndarray:
    """Outputs of dense layers on every row of X, as calling them computes them, with
    no graph and no Value."""
    X = reals(X, "mlp_predict")
    if X.ndim != 2:
        raise ValueError(f"mlp_predict: X must be 2-D (samples, features), got {X.ndim}-D")
    plan = []
    width = X.shape[1]
    for d in _denses(layers, "mlp_predict"):
        d._check(width)
        W = [[_operand(p)[1] for p in row] for row in d.weights]
        B = [_operand(p)[1] for p in d.biases]
        plan.append((W, B, _ACTIVATION_RULES[d.act][1]))
        width = d.nout
    out = []
    for x in X.tolist():
        for W, B, f in plan:
            y = []
            for w, b in zip(W, B):
                acc = b
                for wi, xi in zip(w, x):
                    acc = acc + wi * xi
                y.append(f(acc))
            x = y
        out.append(x)
    return np.array(out, dtype=np.float64).reshape(X.shape[0], width)
