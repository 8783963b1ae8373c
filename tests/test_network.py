"""engine.Network: a whole stack of dense layers per call, as one 'mlp' node for the
hidden layers and one node per output; every number equal to the unfused layers'."""
from __future__ import annotations

import itertools
import math
import pickle
import random
from typing import Any

import pytest

import fastgrad
from fastgrad import engine, nn
from fastgrad.engine import Dense, Network, Value
from ops_spec import ACTS


def _denses(sizes: list[int], acts: list[str], seed: int, shared: bool = False,
            constant: bool = False) -> list[Dense]:
    """Random dense layers; shared: one Value fills two slots of a row and is another
    row's bias; constant: a plain float among the weights."""
    rng = random.Random(seed)
    out = []
    for nin, nout, act in zip(sizes, sizes[1:], acts):
        rows = [[Value(rng.uniform(-1, 1)) for _ in range(nin)] for _ in range(nout)]
        biases: list[Any] = [Value(rng.uniform(-0.5, 0.5)) for _ in range(nout)]
        if shared and nin > 1 and nout > 1:
            rows[1][0] = rows[0][nin - 1]
            biases[0] = rows[1][1]
        if constant:
            rows[-1][0] = 0.75
        out.append(Dense(rows, biases, act))
    return out


def _params(denses: list[Dense]) -> list[Value]:
    seen: dict[int, Value] = {}
    for d in denses:
        for v in [w for row in d.weights for w in row] + list(d.biases):
            if isinstance(v, Value):
                seen.setdefault(id(v), v)
    return list(seen.values())


def _run(denses: list[Value], fused: bool, backwards: int = 1) -> list[float]:
    """Three calls sharing inputs, a loss over every output, backward; all numbers."""
    params = _params(denses)
    for p in params:
        p.grad = 0.0
    a, b = Value(0.3), Value(-0.7)
    loss: Any = 0.0
    outs: list[Value] = []
    for k in range(3):
        x = [a * (k + 1), b, 2.0][:denses[0].nin]
        if fused:
            outs = Network(denses)(x)
        else:
            outs = x
            for d in denses:
                outs = d(outs)
        loss = loss + fastgrad.sum(o * o for o in outs)
    for _ in range(backwards):
        loss.backward()
    return [o.data for o in outs] + [p.grad for p in params] + [a.grad, b.grad, loss.data]


def _same(xs: list[float], ys: list[float]) -> bool:
    return len(xs) == len(ys) and all(
        (math.isnan(x) and math.isnan(y)) or (x == y and math.copysign(1, x) == math.copysign(1, y))
        for x, y in zip(xs, ys))


@pytest.mark.parametrize("acts", list(itertools.product(ACTS, ACTS, ["linear", "tanh"])))
def test_fused_call_equals_the_unfused_layers_bitwise(acts: tuple[str, ...]) -> None:
    denses = _denses([3, 5, 6, 2], list(acts), seed=hash(acts) % 1000)
    assert _same(_run(denses, True), _run(denses, False))


@pytest.mark.parametrize("shared, constant", [(True, False), (False, True), (True, True)])
def test_shared_parameters_and_constants_keep_the_unfused_order(shared: bool,
                                                                constant: bool) -> None:
    denses = _denses([3, 8, 8, 4, 2], ["relu", "tanh", "sigmoid", "linear"], 7, shared, constant)
    assert _same(_run(denses, True), _run(denses, False))


def test_repeated_backward_passes_the_hidden_grads_on_as_the_unfused_graph_does() -> None:
    denses = _denses([2, 4, 4, 1], ["tanh", "relu", "sigmoid"], 3)
    assert _same(_run(denses, True, backwards=2), _run(denses, False, backwards=2))


def test_graph_structure() -> None:
    denses = _denses([2, 3, 2], ["relu", "sigmoid"], 1)
    x = [Value(1.0), 0.5]
    heads = Network(denses)(x)
    assert [h._op for h in heads] == ["sigmoid", "sigmoid"]
    net = next(v for v in heads[0]._prev if v._op == "mlp")
    assert heads[0]._prev == {net, *denses[1].weights[0], denses[1].biases[0]}
    assert net._prev == {x[0], *(w for row in denses[0].weights for w in row), *denses[0].biases}
    assert net.data == 0.0 and net._prev == net._prev
    [linear] = Network(_denses([2, 3, 1], ["relu", "linear"], 1))(x)
    assert isinstance(linear, Value) and linear._op == "dot"


def test_nodes_and_memory() -> None:
    denses = _denses([2, 16, 16, 3], ["relu", "relu", "linear"], 2)
    network = Network(denses)
    before = fastgrad.stats()["live_nodes"]
    outs = network([0.1, 0.2])
    assert fastgrad.stats()["live_nodes"] == before + 4  # the mlp node and three heads
    outs[0].backward()
    del outs
    assert fastgrad.stats()["live_nodes"] == before
    del network, denses  # the Values' last references: the network kept none beyond them
    assert fastgrad.stats()["live_nodes"] == before - 2 * 16 - 16 * 16 - 16 * 3 - 16 - 16 - 3


def test_an_output_outlives_its_network_and_layers() -> None:
    denses = _denses([2, 3, 1], ["tanh", "linear"], 4)
    x = [Value(0.3), Value(-0.7)]
    expected = denses[1](denses[0](x))[0].data
    out = Network(denses)(x)[0]
    del denses
    out.backward()
    assert out.data == expected and x[0].grad != 0.0


def test_no_grad_gives_leaves_with_the_same_numbers() -> None:
    denses = _denses([2, 4, 2], ["relu", "linear"], 5)
    network = Network(denses)
    with_graph = [v.data for v in network([0.25, -1.0])]
    with engine.no_grad():
        outs = network([0.25, -1.0])
    assert [v.data for v in outs] == with_graph and all(v._prev == set() for v in outs)


def test_unfusable_stacks_go_layer_by_layer() -> None:
    one = Network(_denses([2, 3], ["relu"], 6))
    assert len(one([1.0, 2.0])) == 3
    empty = Dense([], [], "relu")
    assert Network([empty, empty])([1.0, 2.0]) == []  # no neurons: any input fits
    with pytest.raises(ValueError, match="no layers"):
        Network([])


def test_bad_input_names_the_network() -> None:
    network = Network(_denses([2, 3, 1], ["relu", "linear"], 8))
    with pytest.raises(ValueError, match="Network takes 2 inputs, got 3"):
        network([1.0, 2.0, 3.0])
    with pytest.raises(TypeError):
        network(["a", 1.0])


def test_pickles_as_its_layers() -> None:
    network = Network(_denses([2, 3, 1], ["relu", "linear"], 9))
    copy = pickle.loads(pickle.dumps(network))
    assert len(copy.layers) == 2
    assert copy([0.5, 0.25])[0].data == network([0.5, 0.25])[0].data


def test_mlp_uses_one_network_and_rebuilds_it_when_a_layer_changes() -> None:
    random.seed(0)
    model = nn.MLP(2, [4, 4, 1])
    out = model([1.0, 2.0])
    assert out._op == "dot" and any(v._op == "mlp" for v in out._prev)
    model.layers[0].neurons[0].w[0] = Value(10.0)
    by_layer = model.layers[2](model.layers[1](model.layers[0]([1.0, 2.0])))
    assert model([1.0, 2.0]).data == by_layer.data


def test_fast_and_pure_agree_bitwise_on_numbers_and_structure() -> None:
    core = pytest.importorskip("fastgrad._core")
    from fastgrad.pure import engine as pure

    def run(m: Any) -> list[Any]:
        rng = random.Random(11)
        denses = [m.Dense([[m.Value(rng.uniform(-1, 1)) for _ in range(nin)] for _ in range(nout)],
                          [m.Value(rng.uniform(-1, 1)) for _ in range(nout)], act)
                  for nin, nout, act in [(3, 5, "tanh"), (5, 4, "relu"), (4, 2, "sigmoid")]]
        x = [m.Value(0.2), -0.4, m.Value(1.5)]
        outs = m.Network(denses)(x)
        loss = outs[0] * outs[1] + outs[1]
        loss.backward()
        loss.backward()
        params = [w for d in denses for row in d.weights for w in row] + \
                 [b for d in denses for b in d.biases]
        return ([v.data for v in outs], [p.grad for p in params], [x[0].grad, x[2].grad],
                [v._op for v in outs], sorted(len(v._prev) for v in outs))

    assert run(core) == run(pure)


RUNS_SCRIPT = r"""
import random, sys
import fastgrad
from fastgrad import nn
# A fresh process: the model's Values take new ids in order, so each neuron's weights
# and bias are a run of ids and the network reads them as arrays.
random.seed(3)
model = nn.MLP(3, [8, 8, 4, 2])
v, w = fastgrad.Value(0.5), fastgrad.Value(2.0)
inputs = [
    [v, -1.25, w],  # inputs apart from each other and from the weights
    [v, -1.25, v],  # one input twice
    [v, model.layers[0].neurons[3].w[1], w],  # a first-layer weight as an input
    [-0.5, model.layers[0].neurons[3].w[1], w],  # the same, the inputs' ids rising
]
def numbers(x, fused):
    for p in model.parameters() + [v, w]:
        p.grad = 0.0
    if fused:
        outs = model(x)
    else:
        outs = x
        for layer in model.layers:
            outs = layer(outs)
    loss = outs[0] * outs[1] + outs[1].tanh()
    loss.backward()
    return [o.data for o in outs] + [p.grad for p in model.parameters()] + [v.grad, w.grad]
for x in inputs:
    fused, unfused = numbers(x, True), numbers(x, False)
    if [a.hex() for a in fused] != [b.hex() for b in unfused]:
        sys.exit(f"fused and unfused numbers differ for inputs {x}")
"""


def test_a_fresh_models_weights_read_as_arrays_give_the_same_numbers() -> None:
    """The kernels' array path (each row's ids consecutive, as in a model made in a
    fresh process) against the unfused layers, bit for bit."""
    import os
    import subprocess
    import sys
    result = subprocess.run([sys.executable, "-c", RUNS_SCRIPT], env=dict(os.environ),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
