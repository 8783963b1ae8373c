"""fastgrad.compile over graphs that apply networks to many samples: the compiled core
runs a network's calls as one batched kernel (csrc/batch.h) where that changes no
number, and falls back where it would. Each graph, recorded on some inputs and
replayed on others, holds bit for bit what the graph built afresh on those inputs
holds: every parameter's and every input's data and grad, and every output's."""
from __future__ import annotations

import random
import struct
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import fastgrad
from fastgrad import Value, losses, nn, optim

pytestmark = pytest.mark.sanitize  # the batch planner and kernels index by hand

Build = Callable[[Any], list[Any]]  # the inputs' Values -> the outputs


def bits(x: float) -> bytes:
    return struct.pack("<d", x)


def _flat(xs: Any) -> list[Any]:
    return [v for row in xs for v in row]


def _state(params: list[Any], xs: Any, outs: list[Any]) -> list[tuple[bytes, bytes]]:
    return [(bits(v.data), bits(v.grad)) for v in [*params, *_flat(xs), *outs]]


Plan = list[tuple[bool, int, bool]]  # Replay._plan(): (swept, nodes, kernel) by batch


def _replayed_is_rebuilt(build: Build, params: list[Any], shape: tuple[int, int],
                         batches: int, backwards: int = 1, plan: Plan | None = None) -> None:
    """Record build on one array, replay it on another, and build it afresh there; the
    compiled core runs `batches` batches (forward's and the sweeps'; as `plan` says, if
    given), the pure none."""
    rng = np.random.RandomState(5)
    first, second = rng.uniform(-1.5, 1.5, shape), rng.uniform(-1.5, 1.5, shape)
    xs = fastgrad.from_array(first)
    outs = build(xs)
    step = fastgrad.compile(outs, inputs=[xs])
    fast = fastgrad.backend == "fast"
    assert step._batches() == (batches if fast else 0)
    if plan is not None:
        assert step._plan() == (plan if fast else [])
    fastgrad.set_grad(params, 0.0)
    step.forward(second)
    for _ in range(backwards):
        step.backward()
    replayed = _state(params, xs, outs)
    fastgrad.set_grad(params, 0.0)
    xs2 = fastgrad.from_array(second)
    outs2 = build(xs2)
    for _ in range(backwards):
        for out in outs2:
            out.backward()
    assert replayed == _state(params, xs2, outs2)


def _list(out: Any) -> list[Any]:
    """A model's outputs as a list (micrograd's MLP gives a lone output bare)."""
    return out if isinstance(out, list) else [out]


def _model(nin: int, nouts: list[int], seed: int, nonlin: str = "relu") -> nn.MLP:
    random.seed(seed)
    return nn.MLP(nin, nouts, nonlin=nonlin)


@pytest.mark.parametrize("nouts", [[4, 3], [5, 4, 2], [16, 16, 1], [20, 3, 1]])
@pytest.mark.parametrize("nonlin", ["relu", "tanh"])
@pytest.mark.parametrize("backwards", [1, 2])
def test_one_network_on_many_samples(nouts: list[int], nonlin: str, backwards: int) -> None:
    """The calls and their heads, forward and backward; the heads by call in one kernel."""
    model = _model(19, nouts, 1, nonlin)
    loss = lambda xs: [fastgrad.sum([o for row in xs for o in _list(model(row))])]  # noqa: E731
    nodes = 21 * (1 + nouts[-1])
    _replayed_is_rebuilt(loss, model.parameters(), (21, 19), 2, backwards,
                         [(False, nodes, False), (True, nodes, True)])


@pytest.mark.parametrize("backwards", [1, 2])
def test_heads_swept_by_neuron(backwards: int) -> None:
    """Every call's first output, then every call's second...: the sweep takes the heads
    by neuron, not by call, so they run with the calls one by one, in its order."""
    model = _model(5, [6, 3], 15)

    def build(xs: Any) -> list[Any]:
        outs = [model(row) for row in xs]
        return [fastgrad.sum([(o[j] * (j + 1.0)).tanh() for j in range(3) for o in outs])]
    _replayed_is_rebuilt(build, model.parameters(), (7, 5), 2, backwards,
                         [(False, 28, False), (True, 28, False)])


def test_some_heads_unused() -> None:
    """Calls whose heads are not all in the graph: they run one by one, with the calls."""
    model = _model(4, [5, 3], 16)

    def build(xs: Any) -> list[Any]:
        return [fastgrad.sum([o for k, row in enumerate(xs) for o in model(row)[:1 + k % 3]])]
    _replayed_is_rebuilt(build, model.parameters(), (6, 4), 2, 1,
                         [(False, 6 + 12, False), (True, 6 + 12, False)])


def test_a_penalty_on_output_weights_between_the_heads() -> None:
    """A term on an output layer's weight between the heads in the sweep: the calls
    batch, their heads stay where they are."""
    model = _model(4, [6, 2], 17)
    params = model.parameters()
    out = params[-3:]  # the last neuron's weights and bias

    def build(xs: Any) -> list[Any]:
        terms = []
        for k, row in enumerate(xs):
            terms += model(row)
            terms.append(out[k % 3] * out[k % 3])
        return [fastgrad.sum(terms)]
    _replayed_is_rebuilt(build, params, (6, 4), 2, 2,
                         [(False, 6 * 3, False), (True, 6, False)])


def test_one_network_under_softmax_cross_entropy() -> None:
    model = _model(10, [12, 4], 2)

    def build(xs: Any) -> list[Any]:
        return [losses.softmax_cross_entropy([model(r) for r in xs], [k % 4 for k in
                                                                      range(len(xs))])]
    _replayed_is_rebuilt(build, model.parameters(), (9, 10), 2, backwards=2)


def test_two_networks_on_the_same_samples() -> None:
    """Both networks' calls pass terms to the same inputs: at most one of them runs
    batched in the sweep, and the inputs take the terms in the sweep's order."""
    a, b = _model(6, [5, 3], 3), _model(6, [4, 2, 2], 4)

    def build(xs: Any) -> list[Any]:
        return [fastgrad.sum([o * o for row in xs for o in [*a(row), *_list(b(row))]])]
    _replayed_is_rebuilt(build, a.parameters() + b.parameters(), (8, 6), 2)


def test_two_networks_on_different_samples_and_several_outputs() -> None:
    a, b = _model(5, [6, 2], 5), _model(5, [3, 3, 1], 6)

    def build(xs: Any) -> list[Any]:
        left = fastgrad.sum([o.tanh() for row in xs[:5] for o in a(row)])
        right = fastgrad.sum([o for row in xs[5:] for o in _list(b(row))])
        return [left, right, left * right]
    _replayed_is_rebuilt(build, a.parameters() + b.parameters(), (11, 5), 6,
                         backwards=2)


def test_a_network_on_another_networks_outputs() -> None:
    """The second network's inputs are the first's outputs: its calls' batch must not
    move past the heads it passes terms to."""
    a, b = _model(4, [5, 3], 7), _model(3, [4, 2], 8)

    def build(xs: Any) -> list[Any]:
        return [fastgrad.sum([o for row in xs for o in b(a(row))])]
    _replayed_is_rebuilt(build, a.parameters() + b.parameters(), (7, 4), 2)


def test_one_network_twice_per_sample() -> None:
    """A network on its own outputs: its later calls take the earlier calls' heads."""
    model = _model(3, [4, 3], 9)

    def build(xs: Any) -> list[Any]:
        return [fastgrad.sum([o for row in xs for o in model(model(row))])]
    _replayed_is_rebuilt(build, model.parameters(), (6, 3), 0)


def test_weight_decay_in_the_graph() -> None:
    """A penalty on the weights passes terms to them between the calls in the sweep:
    the calls stay where they are."""
    model = _model(4, [6, 2], 10)
    params = model.parameters()

    def build(xs: Any) -> list[Any]:
        terms = []
        for k, row in enumerate(xs):
            terms += model(row)
            terms.append(params[k] * params[k])
        return [fastgrad.sum(terms)]
    _replayed_is_rebuilt(build, params, (6, 4), 1)


def test_inputs_that_are_computed_constant_repeated_or_weights() -> None:
    """Inputs computed from the leaves, a constant, one input twice in a call, and a
    weight of the network itself as an input: every batched path and fallback."""
    model = _model(4, [5, 3, 2], 11)
    params = model.parameters()
    cases: list[tuple[Callable[[list[Any]], list[Any]], int]] = [
        (lambda r: [r[0] * 2.0, r[1].tanh(), r[2] + r[3], r[3]], 0),  # not ready, read
        (lambda r: [r[0], 0.5, r[2], r[3]], 2),
        (lambda r: [r[0], r[0], r[2], r[3]], 2),  # layer by layer
        (lambda r: [r[0], params[1], r[2], r[3]], 2),  # call by call
    ]
    for case, batches in cases:
        def build(xs: Any, case: Any = case) -> list[Any]:
            return [fastgrad.sum([o for row in xs for o in model(case(row))])]
        _replayed_is_rebuilt(build, params, (5, 4), batches, backwards=2)


def test_batched_training_keeps_inputs_grads() -> None:
    """Steps of SGD, replayed and rebuilt: the parameters and the inputs' grads."""
    data = np.random.RandomState(3)
    X = data.uniform(0.0, 1.0, (40, 12))
    T = np.eye(3)[data.randint(0, 3, 40)]
    runs = []
    for compiled in (False, True):
        model = _model(12, [8, 3], 12)
        opt = optim.SGD(model.parameters(), lr=0.2, momentum=0.5)
        order = random.Random(4)
        step = None
        seen = []
        for _ in range(4):
            i = order.sample(range(len(X)), 10)
            if step is None or not compiled:
                xs, ts = fastgrad.from_array(X[i]), fastgrad.from_array(T[i])
                loss = losses.softmax_cross_entropy([model(r) for r in xs], ts)
                if compiled:
                    step = fastgrad.compile(loss, inputs=[xs, ts])
            opt.zero_grad()
            if step is None:
                loss.backward()
            else:
                fastgrad.set_grad(_flat(xs), 0.0)
                step.forward(X[i], T[i])
                step.backward()
            seen.append([bits(v.grad) for v in _flat(xs)] + [bits(loss.data)])
            opt.step()
        runs.append((seen, [(bits(p.data), bits(p.grad)) for p in model.parameters()]))
    assert runs[0] == runs[1]


def test_replay_after_the_weights_move_reads_them_anew() -> None:
    model = _model(3, [4, 2], 13)
    xs = fastgrad.from_array(np.ones((4, 3)))
    outs = [o for row in xs for o in model(row)]
    step = fastgrad.compile(outs, inputs=[xs])
    for p in model.parameters():
        p.data = p.data * -0.5 + 0.25
    step.forward(np.full((4, 3), 0.5))
    fresh = [o for row in fastgrad.from_array(np.full((4, 3), 0.5)) for o in model(row)]
    assert [bits(o.data) for o in outs] == [bits(o.data) for o in fresh]
    assert isinstance(outs[0], Value)


def test_a_network_with_constant_and_shared_weights() -> None:
    """engine.Network rows holding numbers (constants, no grad) batch; a node filling
    two slots of the rows makes the calls run one by one."""
    from fastgrad.engine import Dense, Network
    random.seed(14)
    w = [[Value(random.uniform(-1, 1)) for _ in range(3)] for _ in range(4)]
    w[1][2] = 0.75  # a constant weight
    b = [Value(0.1), 0.2, Value(-0.3), Value(0.0)]
    v = [[Value(random.uniform(-1, 1)) for _ in range(4)] for _ in range(2)]
    c = [Value(0.05), -0.5]
    params = [p for row in w + v for p in row if isinstance(p, Value)]
    params += [p for p in b + c if isinstance(p, Value)]
    net = Network([Dense(w, b, "tanh"), Dense(v, c, "linear")])
    build = lambda xs: [fastgrad.sum([o for row in xs for o in net(row)])]  # noqa: E731
    _replayed_is_rebuilt(build, params, (6, 3), 2, backwards=2)
    shared = [[w[0][0], *row[1:]] for row in w]  # w[0][0] in every row
    net = Network([Dense(shared, b, "relu"), Dense(v, c, "linear")])
    build = lambda xs: [fastgrad.sum([o for row in xs for o in net(row)])]  # noqa: E731
    _replayed_is_rebuilt(build, params, (6, 3), 2, backwards=2)


def _layer(nin: int, nout: int, seed: int, nonlin: Any = True) -> nn.Layer:
    random.seed(seed)
    return nn.Layer(nin, nout, nonlin=nonlin)


@pytest.mark.parametrize("nonlin", [True, "tanh", "sigmoid", False])
@pytest.mark.parametrize("backwards", [1, 2])
def test_one_dense_layer_on_many_samples(nonlin: Any, backwards: int) -> None:
    """A Layer's dots (and activations) on every sample: one kernel each way."""
    layer = _layer(7, 5, 20, nonlin)
    build = lambda xs: [fastgrad.sum([o * o for row in xs for o in layer(row)])]  # noqa: E731
    nodes = 9 * 5 * (2 if nonlin else 1)
    _replayed_is_rebuilt(build, layer.parameters(), (9, 7), 2, backwards,
                         [(False, nodes, False), (True, nodes, True)])


def test_a_dense_layer_under_softmax_cross_entropy() -> None:
    """Logistic regression: a one-layer MLP (a lone Dense) under a loss."""
    model = _model(6, [4], 21)

    def build(xs: Any) -> list[Any]:
        return [losses.softmax_cross_entropy([model(r) for r in xs], [k % 4 for k in
                                                                      range(len(xs))])]
    _replayed_is_rebuilt(build, model.parameters(), (8, 6), 2, 2,
                         [(False, 32, False), (True, 32, True)])


def test_dense_outputs_swept_by_neuron() -> None:
    """The sweep takes the dots neuron by neuron: they run one by one, in its order."""
    layer = _layer(4, 3, 22)

    def build(xs: Any) -> list[Any]:
        outs = [layer(row) for row in xs]
        return [fastgrad.sum([(o[j] * (j + 1.0)).tanh() for j in range(3) for o in outs])]
    _replayed_is_rebuilt(build, layer.parameters(), (6, 4), 2, 2,
                         [(False, 36, False), (True, 36, False)])


def test_dense_inputs_repeated_computed_or_weights() -> None:
    """One input twice in a call, inputs computed from the leaves, a weight as an input:
    the dots batch where that is exact, and run one by one (or in place) where not."""
    layer = _layer(3, 4, 23)
    params = layer.parameters()
    cases: list[tuple[Callable[[list[Any]], list[Any]], Plan]] = [
        (lambda r: [r[0], r[0], r[2]], [(False, 40, False), (True, 40, False)]),
        (lambda r: [r[0] * 2.0, r[1], r[2]], []),  # not ready, and read in between
        (lambda r: [r[0], params[1], r[2]], [(False, 40, False), (True, 40, False)]),
    ]
    for case, plan in cases:
        def build(xs: Any, case: Any = case) -> list[Any]:
            return [fastgrad.sum([o for row in xs for o in layer(case(row))])]
        _replayed_is_rebuilt(build, params, (5, 3), len(plan), 2, plan)


def test_a_dense_layer_on_its_own_outputs_and_a_network_after_it() -> None:
    """A Layer on its own outputs (its later dots take its earlier activations: not
    ready in the forward, one by one in the sweep), and an MLP on a Layer's outputs
    (the MLP's calls take the Layer's activations between them: they run one by one)."""
    layer, model = _layer(3, 3, 24), _model(3, [4, 2], 25)
    build = lambda xs: [fastgrad.sum([o for row in xs for o in layer(layer(row))])]  # noqa: E731
    _replayed_is_rebuilt(build, layer.parameters(), (5, 3), 1, 2, [(True, 60, False)])
    build = lambda xs: [fastgrad.sum([o for row in xs for o in model(layer(row))])]  # noqa: E731
    _replayed_is_rebuilt(build, layer.parameters() + model.parameters(), (5, 3), 2, 2,
                         [(False, 30, False), (True, 30, True)])


def test_dense_training_matches_the_dynamic_path() -> None:
    """Steps of SGD on a Layer, replayed and rebuilt each step."""
    data = np.random.RandomState(6)
    X, T = data.uniform(-1, 1, (12, 5)), np.eye(3)[data.randint(0, 3, 12)]
    runs = []
    for compiled in (False, True):
        model = _model(5, [3], 26)
        opt = optim.SGD(model.parameters(), lr=0.3)
        xs, ts = fastgrad.from_array(X), fastgrad.from_array(T)
        loss = losses.softmax_cross_entropy([model(r) for r in xs], ts)
        step = fastgrad.compile(loss, inputs=[xs, ts]) if compiled else None
        for _ in range(5):
            opt.zero_grad()
            if step is None:
                xs, ts = fastgrad.from_array(X), fastgrad.from_array(T)
                loss = losses.softmax_cross_entropy([model(r) for r in xs], ts)
                loss.backward()
            else:
                step.forward(X, T)
                step.backward()
            opt.step()
        runs.append([(bits(p.data), bits(p.grad)) for p in model.parameters()])
    assert runs[0] == runs[1]
