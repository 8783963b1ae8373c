"""mlp_record: what a fused MLP call node keeps of its hidden neurons, read back as the
unfused graph's nodes would hold them: the same numbers on both backends, bit for bit,
and micrograd's for the same network."""
from __future__ import annotations

import random
from typing import Any

import pytest

import fastgrad
from fastgrad import engine, nn
from fastgrad.engine import Value, mlp_record

pytestmark = pytest.mark.sanitize  # it reads a call's record through C


def _call(out: Any) -> Any:
    """The fused call node feeding an output neuron."""
    return next(v for v in out._prev if v._op == "mlp")


def _numbers(record: Any) -> list[list[tuple[float, ...]]]:
    return [[(n.dot, n.dot_grad, n.data, n.grad) for n in layer.neurons]
            for layer in record.layers]


def _network(module: Any, sizes: list[int], seed: int, **kw: Any) -> Any:
    random.seed(seed)
    return module.MLP(sizes[0], sizes[1:], **kw)


def test_the_record_names_the_call_s_inputs_rows_and_activations() -> None:
    model = _network(nn, [2, 3, 2, 1], 1, nonlin="tanh")
    x0 = Value(0.5)
    record = mlp_record(_call(model([x0, -1.5])))
    assert record.inputs == (x0, -1.5) and record.inputs[0] is x0
    assert [layer.act for layer in record.layers] == ["tanh", "tanh"]
    for layer, neurons in zip(record.layers, model.layers):
        assert len(layer.neurons) == len(neurons.neurons)
        for got, n in zip(layer.neurons, neurons.neurons):
            assert all(a is b for a, b in zip(got.weights, n.w)) and len(got.weights) == len(n.w)
            assert got.bias is n.b


def test_before_a_backward_the_grads_are_zero_and_the_data_the_forward_s() -> None:
    model = _network(nn, [2, 4, 3, 1], 2)
    out = model([0.25, -0.75])
    numbers = _numbers(mlp_record(_call(out)))
    assert all(dg == 0.0 and g == 0.0 for layer in numbers for _, dg, _, g in layer)
    below = [0.25, -0.75]
    for layer, neurons in zip(numbers, model.layers):
        for (z, _, h, _), n in zip(layer, neurons.neurons):
            acc = n.b.data
            for w, x in zip(n.w, below):
                acc = acc + w.data * x
            assert z == acc and h == max(acc, 0.0)
        below = [h for _, _, h, _ in layer]


def test_a_linear_hidden_layer_s_dot_is_its_output() -> None:
    denses = [engine.Dense([[Value(0.5), Value(-2.0)]], [Value(0.25)], "linear"),
              engine.Dense([[Value(3.0)]], [0.0], "linear")]
    out = engine.Network(denses)([Value(1.0), 2.0])[0]
    (out * out).backward()
    (layer,) = mlp_record(_call(out)).layers
    assert layer.act == "linear"
    grad = 2 * out.data * 3.0
    assert layer.neurons[0][2:] == (-3.25, grad, -3.25, grad)
    assert layer.neurons[0].bias is denses[0].biases[0]


def test_only_a_fused_call_node_has_a_record() -> None:
    model = _network(nn, [2, 2, 1], 3)
    out = model([1.0, 2.0])
    for bad, what in [(out, "_op 'dot'"), (Value(1.0), "_op ''"), (1.5, "float")]:
        with pytest.raises(TypeError, match=f"mlp_record needs a fused MLP call.*{what}"):
            mlp_record(bad)


def _fast_and_pure(build: Any) -> list[Any]:
    from fastgrad import pure
    return [build(fastgrad, nn), build(pure, pure.nn)]


def test_both_backends_keep_the_same_numbers_bit_for_bit() -> None:
    if fastgrad.backend != "fast":
        pytest.skip("a run of the pure backend has no compiled one to compare with")

    def build(eng: Any, nn_: Any) -> list[Any]:
        model = _network(nn_, [3, 5, 4, 2], 4, nonlin="tanh")
        x = [eng.Value(0.3), -0.7, eng.Value(2.0)]
        outs = model(x)
        before = _numbers(engine_of(eng).mlp_record(_call(outs[0])))
        (outs[0] * outs[1] + outs[0]).backward()
        return [before, _numbers(engine_of(eng).mlp_record(_call(outs[0])))]
    fast, pure = _fast_and_pure(build)
    assert [[[tuple(map(float.hex, n)) for n in layer] for layer in step] for step in fast] == [
        [[tuple(map(float.hex, n)) for n in layer] for layer in step] for step in pure]


def engine_of(eng: Any) -> Any:
    return eng.engine


def test_micrograd_s_unfused_nodes_hold_the_same_numbers() -> None:
    mg_engine = pytest.importorskip("micrograd.engine")
    mg_nn = pytest.importorskip("micrograd.nn")
    sizes = [3, 4, 4, 2]
    theirs = _network(mg_nn, sizes, 5)
    ours = nn.MLP(sizes[0], sizes[1:])
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
        p.data = q.data
    data = [0.5, -1.5, 0.25]
    outs = ours([Value(d) for d in data])
    (outs[0] * outs[1]).backward()
    x = [mg_engine.Value(d) for d in data]
    nodes = []
    for layer in theirs.layers:  # micrograd's Layer call, its nodes kept
        x = [n(x) for n in layer.neurons]
        nodes.append(x)
    (x[0] * x[1]).backward()
    want = [[(next(iter(h._prev)).data, next(iter(h._prev)).grad, h.data, h.grad) for h in layer]
            for layer in nodes[:-1]]
    assert _numbers(mlp_record(_call(outs[0]))) == want
