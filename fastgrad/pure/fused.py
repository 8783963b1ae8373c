"""Nodes over many operands, and dense layers: sum, dot, Dense, Network.

micrograd builds these from binary operations (a neuron is a chain of `+` and `*`);
here each is one node, or a few, computing the very same floats in the same order, so
that the numbers, grads included, are bit for bit those of the chain.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Union

from fastgrad import checks
from fastgrad.checks import as_float
from fastgrad.pure.engine import ACTIVATIONS, Activation, Value, is_grad_enabled
from fastgrad.records import HiddenLayer, HiddenNeuron, MlpRecord

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


def _sum_rule(*terms: float) -> float:
    """sum's forward: 0.0 + t0 + t1 + ..., left to right."""
    acc = 0.0
    for x in terms:
        acc = acc + x
    return acc


def _dot_rule(*slots: float) -> float:
    """dot's forward on its operands' values w0, x0, w1, x1, ..., bias:
    bias + w0*x0 + w1*x1 + ..., left to right."""
    acc = slots[-1]
    for i in range(0, len(slots) - 1, 2):
        acc = acc + slots[i] * slots[i + 1]
    return acc


def _value(x: Operand) -> float:
    """An operand's value as it is now: its Value's data, or its constant."""
    return x[1] if x[0] is None else x[0]._data


def sum(values: Iterable[Any]) -> Value:  # noqa: A001 - mirrors builtins.sum
    """One node for `builtins.sum(values)`: 0.0 + v0 + v1 + ..., left to right."""
    operands = [operand(v) for v in values]
    children = tuple(v for v, _ in operands if v is not None)
    out = Value._node(_sum_rule(*[x for _, x in operands]), children, "sum",
                      _slots(operands), _sum_rule)

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
    slots = [s for pair in zip(wv, xv) for s in pair] + [bv]
    out = Value._node(_dot_rule(*[x for _, x in slots]),
                      tuple(v for v, _ in slots if v is not None), "dot", _slots(slots),
                      _dot_rule)

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
        if "weights" in self.__dict__:
            raise checks.made_once("Dense")
        a = checks.activation(act)
        wl, bl, nin = checks.dense_rows(weights, biases)
        for w, b in zip(wl, bl):
            for v in w + [b]:
                operand(v)  # a TypeError now, not at the first call
        self.act, self.nin, self.biases, self.weights = a, nin, bl, wl  # weights: made

    def __getattr__(self, name: str) -> Any:
        # reached only for a Dense whose __init__ never ran or failed
        raise checks.uninitialised(self)

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
        if "layers" in self.__dict__:
            raise checks.made_once("Network")
        ls = checks.denses(layers, Dense, "Network")
        for d in ls:
            d.weights  # noqa: B018 (an uninitialised Dense raises now)
        self._fused = len(ls) > 1 and all(d.nout for d in ls) and all(
            d.nin == below.nout for below, d in zip(ls, ls[1:]))
        self.layers = ls

    def __getattr__(self, name: str) -> Any:
        # reached only for a Network whose __init__ never ran or failed
        raise checks.uninitialised(self)

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


def _row_dot(wv: Sequence[Operand], bv: Operand, below: Sequence[float]) -> float:
    """A neuron's dot as dot() sums it, on its row's values now and the given inputs."""
    acc = _value(bv)
    for w, x in zip(wv, below):
        acc = acc + _value(w) * x
    return acc


class _CallRule:
    """An mlp node's forward rule (what _recompute runs), with what mlp_record reads."""
    __slots__ = ("forward", "record")

    def __init__(self, forward: Callable[..., float], record: Callable[[], MlpRecord]) -> None:
        self.forward, self.record = forward, record

    def __call__(self, *values: float) -> float:
        return self.forward(*values)


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
    acts = [[_Cell(0.0) for _ in range(d.nout)] for d in layers]  # each neuron's activation
    # each neuron's dot, where an activation follows
    dots = [[_Cell(0.0) for _ in range(d.nout if d.act != "linear" else 0)] for d in layers]

    def neuron(k: int, j: int, below: list[float]) -> float:
        """Neuron j of layer k on the layer below's values: its dot as dot() sums it,
        then its activation, on the tape with grads zero (a new call's); its value."""
        acc = _row_dot(*rows[k][j], below)
        cell = acts[k][j]
        if layers[k].act == "linear":
            cell._data, cell._grad = acc, 0.0
        else:
            cell._data, cell._grad = RULES[layers[k].act].forward(acc), 0.0
            dots[k][j]._data, dots[k][j]._grad = acc, 0.0
        return cell._data

    def forward(*_: float) -> float:
        """The mlp node's rule: the hidden layers on the operands' data as they are
        now (each head computes its own neuron: its row may be recomputed after this
        node). The node's own data is 0."""
        below = taken[:] = [_value(x) for x in inputs]
        for k in range(len(layers) - 1):
            below = [neuron(k, j, below) for j in range(layers[k].nout)]
        return 0.0
    taken: list[float] = []  # the inputs' data the last forward took
    forward()

    def record() -> MlpRecord:
        """mlp_record of this call."""
        layer_records, below = [], taken
        for k in range(len(layers) - 1):
            neurons = []
            for j, (wv, bv) in enumerate(rows[k]):
                act = acts[k][j]
                dot = dots[k][j] if dots[k] else act
                neurons.append(HiddenNeuron(_slots(wv), _slots([bv])[0], _row_dot(wv, bv, below),
                                            dot._grad, act._data, act._grad))
            layer_records.append(HiddenLayer(layers[k].act, tuple(neurons)))
            below = [c._data for c in acts[k]]
        return MlpRecord(_slots(inputs), tuple(layer_records))

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
                      _slots(inputs + hidden_slots), _CallRule(forward, record))

    def net_backward(net: Value) -> None:
        for i in range(len(layers) - 2, -1, -1):
            for j in range(layers[i].nout - 1, -1, -1):
                cell = acts[i][j]
                neuron_backward(i, j, cell._data, cell._grad)
    net._attach(net_backward)

    last, op = len(layers) - 1, RULES[layers[-1].act].op
    heads = []
    for j, (wv, bv) in enumerate(rows[last]):
        row = wv + [bv]

        def head_rule(*_: float, j: int = j) -> float:
            return neuron(last, j, [c._data for c in acts[last - 1]])
        head = Value._node(head_rule(), (net,) + tuple(v for v, _ in row if v is not None), op,
                           (net,) + _slots(row), head_rule)

        def head_backward(head: Value, j: int = j) -> None:
            neuron_backward(last, j, head._data, head._grad)
        heads.append(head._attach(head_backward))
    return heads


def mlp_record(call: Any) -> MlpRecord:
    """What a fused MLP call node (`_op == "mlp"`) keeps of its hidden layers: each
    hidden neuron's weights and bias, its dot's data and grad, and its activation's, as
    the nodes of micrograd's unfused graph would hold them (grads 0 before a backward;
    a dot's data summed again from the inputs the forward took, the weights as they
    are now: the forward's while they keep the data they had then). Read only."""
    if not isinstance(call, Value) or not isinstance(call._rule, _CallRule):
        raise checks.not_an_mlp_call(call, call._op if isinstance(call, Value) else None)
    return call._rule.record()


def mlp(layers: Iterable[DenseSpec], x: Iterable[Any]) -> list[Value]:
    """The last layer's outputs of dense layers applied in turn: `Network(layers)(x)`."""
    return Network(layers)(x)
