"""Nodes over many operands, and dense layers: sum, dot, Dense, Network.

micrograd builds these from binary operations (a neuron is a chain of `+` and `*`);
here each is one node, or a few, computing the very same floats in the same order, so
that the numbers, grads included, are bit for bit those of the chain.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Union

from fastgrad import checks
from fastgrad.checks import as_float
from fastgrad.pure.engine import ACTIVATIONS, Activation, Value, is_grad_enabled

Operand = tuple[Any, float]  # (a Value, or anything with _data and _grad; or None, a constant)

# Every activation a dense layer takes: linear is no node, its output is the dot's.
RULES: dict[str, Activation] = {**ACTIVATIONS, "linear": Activation("dot", lambda z: z,
                                                                    lambda out: 1.0)}
assert sorted(RULES) == sorted(checks.ACTIVATIONS)


def operand(x: Any) -> Operand:
    """(the Value, its data) for a Value, (None, the number) for a constant."""
    if isinstance(x, Value):
        return x, x._data
    return None, as_float(x)


def _slots(operands: Iterable[tuple[Any, float]]) -> tuple[Any, ...]:
    """operand's pairs as a node's _operands: each Value, or its constant."""
    return tuple(c if v is None else v for v, c in operands)


def sum(values: Iterable[Any]) -> Value:  # noqa: A001 - mirrors builtins.sum
    """One node for `builtins.sum(values)`: 0.0 + v0 + v1 + ..., left to right."""
    operands = [operand(v) for v in values]
    acc = 0.0
    for _, x in operands:
        acc = acc + x
    children = tuple(v for v, _ in operands if v is not None)
    out = Value._node(acc, children, "sum", _slots(operands))

    def _backward(out: Value) -> None:
        for v in children:
            v._grad += out._grad
    return out._attach(_backward)


def dot(ws: Sequence[Any], xs: Sequence[Any], bias: Any = 0.0) -> Value:
    """One node for micrograd's neuron sum: bias + w0*x0 + w1*x1 + ..., left to right."""
    ws, xs = checks.dot_operands(ws, xs)
    wv = [operand(w) for w in ws]
    xv = [operand(x) for x in xs]
    bv = operand(bias)
    acc = bv[1]
    for (_, w), (_, x) in zip(wv, xv):
        acc = acc + w * x
    slots = [s for pair in zip(wv, xv) for s in pair] + [bv]
    out = Value._node(acc, tuple(v for v, _ in slots if v is not None), "dot", _slots(slots))

    def _backward(out: Value) -> None:
        _dot_backward(wv, xv, bv, out._grad)
    return out._attach(_backward)


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


class Dense:
    """A dense layer's parameters, made once and called many times:
    `Dense(weights, biases, act)(x)` is act(dot(w_j, x, b_j)) for every neuron j.

    The rows are copied when the Dense is made: to use other Values as weights, make
    a new Dense (the Values' data may change freely, as training does).
    """

    def __init__(self, weights: Iterable[Sequence[Any]], biases: Iterable[Any],
                 act: str = "relu") -> None:
        self.act = checks.activation(act)
        self.weights, self.biases, self.nin = checks.dense_rows(weights, biases)
        for w, b in zip(self.weights, self.biases):
            for v in w + [b]:
                operand(v)  # a TypeError now, not at the first call

    @property
    def nout(self) -> int:
        return len(self.weights)

    def __repr__(self) -> str:
        return f"Dense(nin={self.nin}, nout={self.nout}, act={self.act!r})"

    def __reduce__(self) -> tuple:
        return Dense, (self.weights, self.biases, self.act)

    def __call__(self, x: Iterable[Any]) -> list[Value]:
        x = list(x)
        for v in x:
            operand(v)
        if self.nin >= 0 and len(x) != self.nin:
            raise checks.wrong_inputs("Dense:", self.nin, len(x))
        outs = [dot(w, x, b) for w, b in zip(self.weights, self.biases)]
        return outs if self.act == "linear" else [o._activation(self.act) for o in outs]


def layer(weights: Iterable[Sequence[Any]], biases: Iterable[Any], x: Iterable[Any],
          act: str = "relu") -> list[Value]:
    """A dense layer's outputs, act(dot(w_j, x, b_j)) for every neuron j, in one call."""
    return Dense(weights, biases, act)(x)


DenseSpec = Union[Dense, tuple[Sequence[Sequence[Any]], Sequence[Any], str]]


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

    def __init__(self, layers: Iterable[DenseSpec]) -> None:
        self.layers = checks.denses(layers, Dense, "Network")
        self._fused = len(self.layers) > 1 and all(d.nout for d in self.layers) and all(
            d.nin == below.nout for below, d in zip(self.layers, self.layers[1:]))

    def __repr__(self) -> str:
        return f"Network({self.layers!r})"

    def __reduce__(self) -> tuple:
        return Network, (self.layers,)

    def __call__(self, x: Iterable[Any]) -> list[Value]:
        return self.forward(x)

    def forward(self, x: Iterable[Any]) -> list[Value]:
        """The call, as a method (in the compiled engine, cheaper than the call)."""
        x = list(x)
        nin = self.layers[0].nin
        if nin >= 0 and len(x) != nin:  # (a layer without neurons takes anything)
            raise checks.wrong_inputs("Network", nin, len(x))
        inputs = [operand(v) for v in x]
        if not self._fused or not is_grad_enabled():
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
    rows = [[([operand(w) for w in ws], operand(b)) for ws, b in zip(d.weights, d.biases)]
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
                act.append(_Cell(RULES[d.act].forward(acc)))
                dot_cells.append(_Cell(acc))
        acts.append(act)
        dots.append(dot_cells)
        below = [(c, c._data) for c in act]

    def neuron_backward(i: int, j: int, out: float, g: float) -> None:
        """Neuron j of layer i, its activation's output out and grad g: through the
        activation to the dot, then the dot's backward."""
        if layers[i].act != "linear":
            dot_cell = dots[i][j]
            dot_cell._grad += RULES[layers[i].act].slope(out) * g
            g = dot_cell._grad
        wv, bv = rows[i][j]
        xv = inputs if i == 0 else [(c, c._data) for c in acts[i - 1]]
        _dot_backward(wv, xv, bv, g)

    hidden_slots = [s for layer_rows in rows[:-1] for wv, bv in layer_rows for s in wv + [bv]]
    net = Value._node(0.0, tuple(v for v, _ in inputs + hidden_slots if v is not None), "mlp",
                      _slots(inputs + hidden_slots))

    def net_backward(net: Value) -> None:
        for i in range(len(layers) - 2, -1, -1):
            for j in range(layers[i].nout - 1, -1, -1):
                cell = acts[i][j]
                neuron_backward(i, j, cell._data, cell._grad)
    net._attach(net_backward)

    last, op = len(layers) - 1, RULES[layers[-1].act].op
    heads = []
    for j, ((wv, bv), cell) in enumerate(zip(rows[last], acts[last])):
        row = wv + [bv]
        head = Value._node(cell._data, (net,) + tuple(v for v, _ in row if v is not None), op,
                           (net,) + _slots(row))

        def head_backward(head: Value, j: int = j) -> None:
            neuron_backward(last, j, head._data, head._grad)
        heads.append(head._attach(head_backward))
    return heads


def mlp(layers: Iterable[DenseSpec], x: Iterable[Any]) -> list[Value]:
    """The last layer's outputs of dense layers applied in turn: `Network(layers)(x)`."""
    return Network(layers)(x)
