"""fastgrad.compile: training loops replayed equal the dynamic path bit for bit; the
front's checks (shapes, numbers, leaves); math errors mid-replay; the step owns its
nodes; forward() without arrays; several outputs."""
from __future__ import annotations

import gc
import math
import struct

import numpy as np
import pytest

import fastgrad
from fastgrad import Value, nn, optim
from fastgrad.compiled import CompiledStep
from fastgrad.examples import moons
from training import live, train, train_compiled


def bits(x: float) -> bytes:
    return struct.pack("<d", x)


def test_moons_training_replayed_is_the_dynamic_path() -> None:
    X, y = moons.data(3)
    runs = []
    for train_fn in (train, train_compiled):
        model = moons.model(nn.MLP, 7)
        opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        losses = train_fn(model, opt, X, y, 25)
        runs.append((losses, [(p.data, p.grad) for p in model.parameters()]))
    (dyn, dyn_params), (rep, rep_params) = runs
    assert [bits(x) for x in rep] == [bits(x) for x in dyn]
    assert [(bits(d), bits(g)) for d, g in rep_params] == [
        (bits(d), bits(g)) for d, g in dyn_params]
    assert rep[-1] < rep[0]


def _graph() -> tuple[Value, Value, Value, Value]:
    x, p = Value(2.0), Value(3.0)
    h = (p / x).tanh() * p
    out = h + x.log()
    return x, p, h, out


def test_a_replay_recomputes_every_node_and_sweeps_as_backward() -> None:
    x, p, h, out = _graph()
    step = fastgrad.compile(out, inputs=[x])
    p.data = -1.5
    step.forward(0.75)
    step.backward()
    x2, p2 = Value(0.75), Value(-1.5)
    h2 = (p2 / x2).tanh() * p2
    out2 = h2 + x2.log()
    out2.backward()
    for a, b in ((x, x2), (p, p2), (h, h2), (out, out2)):
        assert (bits(a.data), bits(a.grad)) == (bits(b.data), bits(b.grad))


def test_forward_without_arrays_reads_the_leaves_as_they_are() -> None:
    x, p, h, out = _graph()
    step = fastgrad.compile(out, inputs=[x])
    x.data, p.data = 4.0, 0.5
    step.forward()
    assert out.data == math.tanh(0.5 / 4.0) * 0.5 + math.log(4.0)


def test_several_outputs_sweep_in_turn_and_nested_inputs_take_arrays() -> None:
    xs = fastgrad.from_array(np.zeros((2, 3)))
    w = Value(0.5)
    a = fastgrad.sum(v * w for row in xs for v in row)
    b = (xs[1][2] * xs[0][0]).exp()
    step = fastgrad.compile([a, b], inputs=[xs])
    X = np.arange(6.0).reshape(2, 3) / 4
    step.forward(X)
    step.backward()
    xs2 = fastgrad.from_array(X)
    w2 = Value(0.5)
    a2 = fastgrad.sum(v * w2 for row in xs2 for v in row)
    b2 = (xs2[1][2] * xs2[0][0]).exp()
    a2.backward()
    b2.backward()
    assert (a.data, b.data, w.grad) == (a2.data, b2.data, w2.grad)
    assert fastgrad.grad_array(xs).tolist() == fastgrad.grad_array(xs2).tolist()


def test_a_math_error_mid_replay_raises_as_the_dynamic_path_and_keeps_the_step() -> None:
    x, p, h, out = _graph()
    step = fastgrad.compile(out, inputs=[x])
    before = (p.data, p.grad)
    with pytest.raises(ZeroDivisionError):
        p / Value(0.0)
    with pytest.raises(ZeroDivisionError):
        step.forward(0.0)
    assert (p.data, p.grad) == before
    with pytest.raises(RuntimeError, match="forward"):
        step.backward()
    step.forward(2.0)
    step.backward()
    assert out.data == math.tanh(1.5) * 3.0 + math.log(2.0) and p.grad != 0.0


def test_a_domain_error_mid_replay() -> None:
    x, p, h, out = _graph()
    step = fastgrad.compile(out, inputs=[x])
    with pytest.raises(ValueError, match="math domain error"):
        step.forward(-1.0)  # p / x is fine, log(-1) is not
    assert (p.data, p.grad) == (3.0, 0.0)
    step.forward(1.0)
    assert out.data == math.tanh(3.0) * 3.0


@pytest.mark.parametrize("bad, error, match", [
    (np.zeros(3), ValueError, "shape"),
    (np.zeros((2, 1)), ValueError, "shape"),
    ([[1.0], [2.0, 3.0]], ValueError, None),
    (["a", "b"], TypeError, "real numbers"),
    ([None, 1.0], TypeError, "real numbers"),
    ([1j, 2.0], TypeError, "real numbers"),
])
def test_bad_arrays_raise_before_anything_changes(bad: object, error: type,
                                                   match: str | None) -> None:
    xs = [Value(1.0), Value(2.0)]
    out = xs[0] * xs[1]
    step = fastgrad.compile(out, inputs=[xs])
    with pytest.raises(error, match=match):
        step.forward(bad)
    assert [v.data for v in xs] == [1.0, 2.0] and out.data == 2.0


def test_forward_takes_one_array_per_input() -> None:
    x, y = Value(1.0), Value(2.0)
    step = fastgrad.compile(x + y, inputs=[x, y])
    with pytest.raises(TypeError, match="takes 2 arrays"):
        step.forward(1.0)
    step.forward(3.0, np.float32(4.0))
    assert (x + y).data == 7.0


def test_compile_checks_its_arguments() -> None:
    x = Value(1.0)
    y = x * 2.0
    with pytest.raises(ValueError, match="not a leaf"):
        fastgrad.compile(y, inputs=[y])
    with pytest.raises(TypeError, match="Value"):
        fastgrad.compile(1.0)
    with pytest.raises(TypeError):
        fastgrad.compile([y, 2.0])
    with pytest.raises(ValueError, match="more than once"):
        fastgrad.compile(y, inputs=[x, [x]])
    with pytest.raises(ValueError, match="no outputs"):
        fastgrad.compile([])
    with pytest.raises(TypeError, match="inputs"):
        fastgrad.compile(y, inputs=x)


def test_the_step_owns_its_nodes() -> None:
    gc.collect()
    start = live()
    xs = fastgrad.from_array(np.ones((4, 2)))
    model = nn.MLP(2, [3, 1])
    total = fastgrad.sum(model(row) for row in xs)
    held = live()
    step = fastgrad.compile(total, inputs=[xs])
    del xs, total
    assert live() == held  # nothing freed: the step holds the graph
    step.forward(np.zeros((4, 2)))
    step.backward()
    del step
    params = len(model.parameters())
    assert live() == start + params


def test_a_leaf_output_gets_grad_one() -> None:
    x = Value(5.0)
    step = fastgrad.compile(x, inputs=[x])
    step.forward(2.0)
    step.backward()
    assert (x.data, x.grad) == (2.0, 1.0)


def test_the_values_engine_replays_them_whichever_fastgrad_selected() -> None:
    import fastgrad.pure.engine as pure
    x = pure.Value(1.0)
    y = (x * 3.0).exp()
    step = fastgrad.compile(y, inputs=[x])
    step.forward(0.0)
    step.backward()
    assert (y.data, x.grad) == (1.0, 3.0)


def test_a_step_made_by_its_class_is_as_compiled_on_either_engine() -> None:
    import fastgrad.pure.engine as pure
    for V in (Value, pure.Value):
        x = V(1.5)
        y = x ** 2.0 * 3.0
        step = CompiledStep(y, [x])
        assert isinstance(step, CompiledStep) and type(step).__name__ == "CompiledStep"
        assert type(step) is type(fastgrad.compile(y, inputs=[x]))
        assert repr(step) == "CompiledStep(outputs=1, inputs=[()])"
        step.forward(-2.0)
        step.backward()
        step.backward()
        assert (y.data, x.grad) == (12.0, -36.0)  # the second sweep meets grads of the first


def _readme_built(a: float, b: float) -> tuple[Value, Value, Value]:
    """micrograd's README expression built afresh on leaves of data a and b."""
    from fastgrad.bench.compiled import readme_expression
    data = iter((a, b))
    return readme_expression(lambda _: Value(next(data)))


@pytest.mark.parametrize("a, b", [(-4.0, 2.0), (0.5, -3.25), (-0.0, 7.0), (3.0, 3.0),
                                  (1e-310, -2.0), (-1e200, 1e100)])
def test_micrograds_readme_expression_replayed_is_rebuilt(a: float, b: float) -> None:
    """Shared subexpressions, folded constants, squares and cubes of negative bases
    (pow's fast tests, a square's slope without pow), a repeated backward."""
    g, la, lb = _readme_built(-4.0, 2.0)
    step = fastgrad.compile(g, inputs=[la, lb])
    try:
        step.forward(a, b)
    except (OverflowError, ZeroDivisionError) as exc:
        with pytest.raises(type(exc)):
            _readme_built(a, b)
        return
    step.backward()
    step.backward()
    g2, la2, lb2 = _readme_built(a, b)
    g2.backward()
    g2.backward()
    assert [bits(v) for v in (g.data, g.grad, la.grad, lb.grad)] == [
        bits(v) for v in (g2.data, g2.grad, la2.grad, lb2.grad)]
