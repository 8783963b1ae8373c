"""Pickling and copying: Values, Modules and optimizer state round-trip.

A Value pickles and deep-copies as a leaf holding its data, grad and label (its graph
is not data), so a graph of any depth pickles without recursion. Modules and
optimizers are plain objects over Values and numpy arrays: their copies hold equal
numbers and train on, independently, exactly as the originals do.
"""
from __future__ import annotations

import copy
import math
import pickle
import subprocess
import sys
from typing import Any, Callable

import numpy as np
import pytest

import fastgrad
from fastgrad import Value, engine, nn, optim
from fastgrad.examples import moons
from fastgrad.cli.common import child_env
from training import live, train

# earlier modules' cyclic garbage holding Values must not be collected mid-test
pytestmark = pytest.mark.usefixtures("fresh_heap")

PROTOCOLS = range(pickle.HIGHEST_PROTOCOL + 1)
SPECIALS = [0.0, -0.0, 1.5, -2.25, 5e-324, -1e-300, 1e308, math.inf, -math.inf, math.nan]


def bits(x: float) -> str:
    return float(x).hex() if x == x else "nan"


def state(v: Value) -> tuple[str, str, str]:
    return bits(v.data), bits(v.grad), v.label


def pickle_round_trip(obj: Any, protocol: int = pickle.HIGHEST_PROTOCOL) -> Any:
    return pickle.loads(pickle.dumps(obj, protocol))


COPIERS: dict[str, Callable[[Any], Any]] = {
    "deepcopy": copy.deepcopy,
    **{f"pickle{p}": (lambda obj, p=p: pickle_round_trip(obj, p)) for p in PROTOCOLS},
}


# -- Values ------------------------------------------------------------------------------

@pytest.mark.parametrize("how", sorted(COPIERS))
def test_values_round_trip_data_grad_and_label(how: str) -> None:
    values = []
    for i, x in enumerate(SPECIALS):
        v = Value(x, label=f"v{i} é→")
        v.grad = SPECIALS[-1 - i]
        values.append(v)
    values.append(Value(3.0))  # no label
    copies = COPIERS[how](values)
    assert [state(c) for c in copies] == [state(v) for v in values]
    assert all(type(c) is Value for c in copies)


@pytest.mark.parametrize("how", ["deepcopy", "pickle", "copy"])
def test_a_result_node_copies_as_an_independent_leaf(how: str) -> None:
    a, b = Value(2.0), Value(-3.0)
    y = (a * b).tanh() + a
    y.label = "y"
    y.backward()
    c = {"deepcopy": copy.deepcopy, "pickle": pickle_round_trip, "copy": copy.copy}[how](y)
    assert c is not y and state(c) == state(y)
    assert c._prev == set() and c._op == ""
    c.data, c.grad = 10.0, 0.0
    assert y.data == math.tanh(-6.0) + 2.0 and y.grad == 1.0
    (c * 2.0).backward()  # the copy is a working leaf; the original graph is untouched
    assert c.grad == 2.0 and a.grad == 1.0 + (1 - math.tanh(-6.0) ** 2) * -3.0


def test_identity_within_one_pickle_is_kept() -> None:
    a, b = Value(1.0), Value(2.0)
    for copied in (copy.deepcopy([a, b, a, {"k": a}]), pickle_round_trip([a, b, a, {"k": a}])):
        assert copied[0] is copied[2] is copied[3]["k"] and copied[1] is not copied[0]


def test_a_graph_far_deeper_than_the_recursion_limit_pickles() -> None:
    depth = 100_000
    assert depth > 10 * sys.getrecursionlimit()
    start = live()
    x = Value(0.5, label="x")
    y = x
    for _ in range(depth):
        y = y * 1.0000001 + 1e-7
    y.backward()
    before = live()
    for copier in (pickle_round_trip, copy.deepcopy):
        copied = copier([x, y])
        assert [state(c) for c in copied] == [state(x), state(y)]
        assert live() == before + 2  # two leaves, not the chain
        del copied
    del x, y
    assert live() == start


def test_a_pickled_value_loads_in_a_fresh_interpreter() -> None:
    v = Value(-0.1, label="weight")
    v.grad = 1e-300
    code = ("import pickle, sys; v = pickle.loads(sys.stdin.buffer.read()); "
            "print(type(v).__module__, v.data.hex(), v.grad.hex(), v.label)")
    proc = subprocess.run([sys.executable, "-c", code], input=pickle.dumps(v),
                          capture_output=True, env=child_env(), timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.decode().split() == [type(v).__module__, v.data.hex(), v.grad.hex(),
                                            "weight"]


@pytest.mark.parametrize("args, error", [
    (("1.0", 0.0, ""), TypeError), ((1.0, 0.0, 5), TypeError), ((None, 0.0, ""), TypeError),
    ((1.0, "0.0", ""), TypeError),
], ids=["str data", "int label", "None data", "str grad"])
def test_a_crafted_pickle_with_bad_fields_is_refused(args: tuple, error: type) -> None:
    """What a tampered pickle can pass to the restore function: refused, no node made."""
    restore = Value(0.0).__reduce__()[0]
    before = live()
    with pytest.raises(error):
        restore(*args)
    assert live() == before


# -- Modules -----------------------------------------------------------------------------

def _trained_model(seed: int = 5) -> tuple[nn.MLP, np.ndarray, np.ndarray]:
    X, y = moons.data(seed)
    X, y = X[:30], y[:30]
    model = moons.model(nn.MLP, seed)
    for k in range(2):
        moons.step(model, Value, X, y, k, 10)
    return model, X, y


def _numbers(model: nn.Module) -> list[str]:
    ps = model.parameters()
    return [bits(x) for x in fastgrad.get_data(ps)] + [bits(x) for x in fastgrad.get_grad(ps)]


@pytest.mark.parametrize("how", ["deepcopy", "pickle0", f"pickle{pickle.HIGHEST_PROTOCOL}"])
def test_a_model_copy_is_equal_and_trains_independently(how: str) -> None:
    model, X, y = _trained_model()
    clone = COPIERS[how](model)
    assert type(clone) is nn.MLP and repr(clone) == repr(model)
    assert _numbers(clone) == _numbers(model)
    assert not set(map(id, clone.parameters())) & set(map(id, model.parameters()))
    assert clone.predict(X).tobytes() == model.predict(X).tobytes()

    frozen = _numbers(model)
    clone_losses = [moons.step(clone, Value, X, y, k, 10)[0] for k in range(2, 5)]
    assert _numbers(model) == frozen, "training the copy changed the original"
    model_losses = [moons.step(model, Value, X, y, k, 10)[0] for k in range(2, 5)]
    assert model_losses == clone_losses and _numbers(model) == _numbers(clone)


@pytest.mark.parametrize("make", [lambda: nn.Neuron(3, nonlin="tanh"),
                                  lambda: nn.Layer(3, 2, nonlin="sigmoid")],
                         ids=["Neuron", "Layer"])
def test_neurons_and_layers_copy_with_their_activation(make: Callable[[], nn.Module]) -> None:
    module = make()
    x = [0.3, -1.2, 2.0]
    for clone in (copy.deepcopy(module), pickle_round_trip(module)):
        assert repr(clone) == repr(module)
        out, expected = clone(x), module(x)
        out, expected = (out, expected) if isinstance(out, list) else ([out], [expected])
        assert [v.data for v in out] == [v.data for v in expected]


@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
def test_an_engine_dense_copies_with_copies_of_its_weights(how: str) -> None:
    w, b = [[Value(0.3), Value(-0.6)], [Value(0.8), Value(0.1)]], [Value(0.0), Value(0.2)]
    dense = engine.Dense(w, b, "tanh")
    clone = COPIERS["deepcopy" if how == "deepcopy" else "pickle5"](dense)
    x = [0.7, -1.1]
    assert [v.data for v in clone(x)] == [v.data for v in dense(x)]
    w[0][0].data = 5.0  # the copy holds weights of its own
    assert [v.data for v in clone(x)] != [v.data for v in dense(x)]


# -- optimizer state ---------------------------------------------------------------------

OPTIMIZERS = {
    "sgd-momentum": lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=1e-3),
    "adam": lambda ps: optim.Adam(ps, lr=0.01, betas=(0.8, 0.99), weight_decay=1e-3),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
def test_a_copied_model_and_optimizer_continue_identically(name: str, how: str) -> None:
    model, X, y = _trained_model()
    opt = OPTIMIZERS[name](model.parameters())
    train(model, opt, X, y, 2)
    clone_model, clone_opt = COPIERS["deepcopy" if how == "deepcopy" else "pickle5"]((model, opt))
    # the copied optimizer updates the copied parameters, not the originals
    assert [id(p) for p in clone_opt.params] == [id(p) for p in clone_model.parameters()]
    frozen = _numbers(model)
    clone_losses = train(clone_model, clone_opt, X, y, 3)
    assert _numbers(model) == frozen
    assert train(model, opt, X, y, 3) == clone_losses
    assert _numbers(model) == _numbers(clone_model)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_a_pickled_state_dict_resumes_training_on_a_fresh_optimizer(name: str) -> None:
    model, X, y = _trained_model()
    opt = OPTIMIZERS[name](model.parameters())
    train(model, opt, X, y, 2)
    saved_model = pickle.dumps(model.state_dict())
    saved_opt = pickle.dumps(opt.state_dict())

    resumed = moons.model(nn.MLP, 99)  # other weights, overwritten by the load
    resumed.load_state_dict(pickle.loads(saved_model))
    resumed_opt = OPTIMIZERS[name](resumed.parameters())
    resumed_opt.load_state_dict(pickle.loads(saved_opt))
    assert train(resumed, resumed_opt, X, y, 3) == train(model, opt, X, y, 3)
    assert fastgrad.get_data(resumed.parameters()).tobytes() == \
        fastgrad.get_data(model.parameters()).tobytes()


def test_copies_do_not_outlive_their_owners() -> None:
    before = live()
    model, _, _ = _trained_model()
    opt = optim.Adam(model.parameters())
    clones = [copy.deepcopy((model, opt)), pickle_round_trip((model, opt))]
    del model, opt, clones
    assert live() == before
