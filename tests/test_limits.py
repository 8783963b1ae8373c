"""Limits: when the store cannot grow, the operation raises MemoryError and
nothing is corrupted.

engine.set_node_limit(n) caps the live nodes as running out of memory would. Each case
gets too little room for what it builds (operations that make several nodes get room
for some of them), must raise MemoryError leaving the live count and every existing
data and grad as they were, and must work once the cap is lifted. What makes no node
(backward, reading and writing data and grads, predict, optimizer steps) works at the
cap.
"""
from __future__ import annotations

import copy
import math
import pickle
from collections.abc import Iterator
from typing import Any, Callable

import numpy as np
import pytest

import fastgrad
from fastgrad import Value, arrays, engine, losses, nn, optim
from fastgrad.examples import moons
from training import live

# earlier modules' cyclic garbage holding Values must not be collected mid-test
pytestmark = pytest.mark.usefixtures("fresh_heap")


@pytest.fixture(autouse=True)
def _no_cap_after() -> Iterator[None]:
    yield
    engine.set_node_limit(None)


class World:
    """Values with data and grads of their own, a small model with gradients."""

    def __init__(self) -> None:
        self.a, self.b = Value(1.5, label="a"), Value(-0.5, label="b")
        self.model = nn.MLP(2, [3, 2])
        out = self.model([self.a, self.b])
        (out[0] * out[1] + self.a).backward()
        del out
        self.values = [self.a, self.b, *self.model.parameters()]

    def snapshot(self) -> list[tuple[str, str, str]]:
        return [(repr(v.data), repr(v.grad), v.label) for v in self.values]


# (name, room for new nodes, the operation); every one needs more room than it gets
CASES: list[tuple[str, int, Callable[[World], Any]]] = [
    ("Value()", 0, lambda w: Value(1.0)),
    ("Value() past room for two", 2, lambda w: [Value(float(i)) for i in range(3)]),
    ("value + value", 0, lambda w: w.a + w.b),
    ("value + constant", 0, lambda w: w.a + 1.0),
    ("constant - value", 0, lambda w: 1.0 - w.a),
    ("value * value", 0, lambda w: w.a * w.b),
    ("value / value", 0, lambda w: w.a / w.b),
    ("value ** constant", 0, lambda w: w.a ** 2),
    ("constant ** value", 0, lambda w: 2.0 ** w.a),
    ("value ** value", 0, lambda w: w.a ** w.b),
    ("-value", 0, lambda w: -w.a),
    ("abs", 0, lambda w: abs(w.b)),
    ("relu", 0, lambda w: w.a.relu()),
    ("tanh", 0, lambda w: w.a.tanh()),
    ("sigmoid", 0, lambda w: w.a.sigmoid()),
    ("exp", 0, lambda w: w.a.exp()),
    ("log", 0, lambda w: w.a.log()),
    ("sqrt", 0, lambda w: w.a.sqrt()),
    ("expression, third node", 2, lambda w: (w.a * w.b + 1.0).tanh()),
    ("sum", 0, lambda w: fastgrad.sum([w.a, w.b, 2.0])),
    ("dot", 0, lambda w: fastgrad.dot([w.a, w.b], [w.b, 3.0], w.a)),
    ("layer, tanh, room for 2 of 6 nodes", 2,
     lambda w: fastgrad.layer([[w.a, w.b]] * 3, [w.a, w.b, w.a], [1.0, w.b], "tanh")),
    ("layer, linear, room for 2 of 3 nodes", 2,
     lambda w: fastgrad.layer([[w.a, w.b]] * 3, [w.a, w.b, w.a], [1.0, w.b], "linear")),
    ("Dense call, room for 2 of 4 nodes", 2,
     lambda w: engine.Dense([[w.a, w.b], [w.b, w.a]], [w.a, w.b], "sigmoid")([0.5, w.a])),
    # a fused call makes an 'mlp' node, then one node per output neuron
    ("engine mlp, no room", 0, lambda w: engine.mlp(w.model._layer_specs(), [w.a, 0.5])),
    ("engine mlp, room for 1 of 2 nodes", 1,
     lambda w: engine.mlp(w.model._layer_specs(), [w.a, 0.5])),
    ("MLP call, room for 1 of 2 nodes", 1, lambda w: w.model([0.25, w.b])),
    ("MLP call, room for 2 of 3 nodes", 2, lambda w: w.model([0.25, w.b])),
    ("Neuron call", 1, lambda w: w.model.layers[0].neurons[0]([1.0, 2.0])),
    ("MLP constructor", 10, lambda w: nn.MLP(2, [4, 1])),
    ("from_array", 3, lambda w: arrays.from_array(np.ones((2, 2)))),
    ("hinge loss", 5, lambda w: losses.hinge([w.a, w.b], [1, -1])),
    ("softmax cross-entropy", 5, lambda w: losses.softmax_cross_entropy([[w.a, w.b]], [0])),
    ("deepcopy of Values", 1, lambda w: copy.deepcopy([w.a, w.b])),
    ("deepcopy of a model", 5, lambda w: copy.deepcopy(w.model)),
    ("unpickling Values", 1, lambda w: pickle.loads(pickle.dumps([w.a, w.b]))),
]


def _raises_memory_error(fn: Callable[[World], Any], world: World | None) -> str:
    try:
        fn(world)
    except MemoryError as exc:
        return str(exc)  # the exception and its frames are released on return
    pytest.fail("expected MemoryError")


@pytest.mark.parametrize("name, room, fn", CASES, ids=[c[0] for c in CASES])
def test_no_room_raises_memory_error_and_changes_nothing(name, room, fn) -> None:
    world = World()
    before, state = live(), world.snapshot()
    engine.set_node_limit(before + room)
    message = _raises_memory_error(fn, world)
    assert "node" in message and "limit" in message
    assert live() == before, "a failed operation left nodes behind"
    assert world.snapshot() == state, "a failed operation changed data, grad or label"
    engine.set_node_limit(None)
    result = fn(world)  # the cap lifted, the same operation works
    assert live() > before
    del result
    assert live() == before


def test_under_no_grad_a_result_still_needs_a_node() -> None:
    world = World()
    before = live()
    engine.set_node_limit(before)
    with fastgrad.no_grad():
        _raises_memory_error(lambda w: w.a * w.b, world)
    assert fastgrad.is_grad_enabled()
    assert live() == before


def test_what_makes_no_node_works_at_the_cap() -> None:
    world = World()
    a, b, model = world.a, world.b, world.model
    y = (a * b).tanh() + a
    a.grad = b.grad = 0.0
    engine.set_node_limit(live())
    y.backward()  # backward, reading the graph and the bulk kernels create nothing
    assert y.grad == 1.0 and a.grad == pytest.approx(1.0 - 0.5 * (1 - math.tanh(-0.75) ** 2))
    assert {c.data for c in y._prev} == {a.data, math.tanh(-0.75)}
    a.data, a.grad = 2.0, 0.0
    model.zero_grad()
    params = model.parameters()
    assert fastgrad.get_grad(params).tolist() == [0.0] * len(params)
    fastgrad.set_grad(params, 1.0)
    opt = optim.Adam(params, lr=0.1)
    opt.step()
    assert model.predict(np.ones((3, 2))).shape == (3, 2)
    assert model.state_dict()["layers.0.weight"].shape == (3, 2)
    model.load_state_dict(model.state_dict())


def test_a_cap_below_the_live_count_refuses_new_nodes_only() -> None:
    start = live()
    world = World()
    before, state = live(), world.snapshot()
    engine.set_node_limit(start + 1)
    _raises_memory_error(lambda w: w.a + w.b, world)
    assert live() == before and world.snapshot() == state
    world.a.data = 4.0  # existing nodes stay usable
    assert world.a.data == 4.0
    del world  # dropping is always possible, and makes room again
    assert live() == start
    v = Value(1.0)
    _raises_memory_error(lambda w: Value(2.0), None)
    del v


@pytest.mark.parametrize("limit, error", [(-1, ValueError), ("10", TypeError)])
def test_bad_limits_are_refused(limit: Any, error: type) -> None:
    with pytest.raises(error):
        engine.set_node_limit(limit)
    Value(1.0)  # no cap was set


def test_training_resumes_bitwise_after_running_out_of_room() -> None:
    """A step that runs out of room changes nothing: lifting the cap and repeating it
    gives exactly the run that never hit the cap."""
    X, y = moons.data(3)
    X, y = X[:20], y[:20]
    reference = moons.model(nn.MLP, 3)
    ref_losses = [moons.step(reference, Value, X, y, k, 4)[0] for k in range(4)]

    model = moons.model(nn.MLP, 3)
    got = [moons.step(model, Value, X, y, 0, 4)[0]]
    params = fastgrad.get_data(model.parameters())
    engine.set_node_limit(live() + 500)  # a step needs thousands of nodes
    _raises_memory_error(lambda _: moons.step(model, Value, X, y, 1, 4), None)
    assert fastgrad.get_data(model.parameters()).tobytes() == params.tobytes()
    engine.set_node_limit(None)
    got += [moons.step(model, Value, X, y, k, 4)[0] for k in range(1, 4)]
    assert got == ref_losses
    assert fastgrad.get_data(model.parameters()).tobytes() == \
        fastgrad.get_data(reference.parameters()).tobytes()
