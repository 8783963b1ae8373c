"""fastgrad.nn: micrograd's Module/Neuron/Layer/MLP API on fused kernels, and predict()."""
from __future__ import annotations

import random

import numpy as np
import pytest

import fastgrad
from fastgrad import Value, dot, losses, nn, optim
from fastgrad.datasets import make_blobs, make_moons
from ops_spec import ACTS

ACTIVATIONS = [True, False, *ACTS]  # nonlin: micrograd's flag, or an activation's name


def _apply(act: object, v: Value) -> Value:
    name = {True: "relu", False: "linear"}.get(act, act)  # type: ignore[call-overload]
    return v if name == "linear" else getattr(v, name)()


# -- micrograd's API ---------------------------------------------------------------------

def test_mlp_shapes_and_parameter_count() -> None:
    model = nn.MLP(2, [16, 16, 1])
    assert len(model.parameters()) == 337
    assert [len(layer.neurons) for layer in model.layers] == [16, 16, 1]
    assert [len(layer.neurons[0].w) for layer in model.layers] == [2, 16, 16]
    assert isinstance(model([0.5, -0.5]), Value)  # one output: unwrapped
    out = nn.MLP(2, [3, 4])([1.0, 2.0])
    assert isinstance(out, list) and len(out) == 4 and all(isinstance(v, Value) for v in out)
    assert isinstance(nn.Layer(3, 1)([1, 2, 3]), Value)
    assert len(nn.Layer(3, 2)([1, 2, 3])) == 2
    assert isinstance(nn.Neuron(3)([1, 2, 3]), Value)


def test_parameter_order_is_micrograds() -> None:
    layer = nn.Layer(3, 2)
    n0, n1 = layer.neurons
    assert n0.parameters() == n0.w + [n0.b]
    assert layer.parameters() == n0.w + [n0.b] + n1.w + [n1.b]
    model = nn.MLP(2, [3, 1])
    assert model.parameters() == model.layers[0].parameters() + model.layers[1].parameters()


def test_initial_weights_are_uniform_and_biases_zero() -> None:
    model = nn.MLP(4, [8, 1])
    for layer in model.layers:
        for n in layer.neurons:
            assert n.b.data == 0.0
            assert all(-1.0 <= w.data <= 1.0 for w in n.w)


def test_reprs() -> None:
    assert repr(nn.Neuron(2)) == "ReLUNeuron(2)"
    assert repr(nn.Neuron(2, nonlin=False)) == "LinearNeuron(2)"
    assert repr(nn.Neuron(2, nonlin="tanh")) == "TanhNeuron(2)"
    assert repr(nn.Neuron(2, nonlin="sigmoid")) == "SigmoidNeuron(2)"
    assert repr(nn.Neuron(2, nonlin="linear")) == "LinearNeuron(2)"
    assert repr(nn.Layer(2, 2, nonlin=False)) == "Layer of [LinearNeuron(2), LinearNeuron(2)]"
    assert repr(nn.MLP(2, [2, 1])) == ("MLP of [Layer of [ReLUNeuron(2), ReLUNeuron(2)], "
                                       "Layer of [LinearNeuron(2)]]")


@pytest.mark.parametrize("seed", [0, 1337])
def test_same_initial_weights_and_reprs_as_micrograd(seed: int) -> None:
    mg = pytest.importorskip("micrograd.nn")
    random.seed(seed)
    ours = [nn.MLP(2, [16, 16, 1]), nn.Layer(3, 2, nonlin=False), nn.Neuron(4)]
    after_ours = random.random()
    random.seed(seed)
    theirs = [mg.MLP(2, [16, 16, 1]), mg.Layer(3, 2, nonlin=False), mg.Neuron(4)]
    after_theirs = random.random()
    for a, b in zip(ours, theirs):
        assert [p.data for p in a.parameters()] == [p.data for p in b.parameters()]
        assert repr(a) == repr(b)
    assert after_ours == after_theirs  # the same number of draws from `random`


def test_forward_and_grads_match_micrograd() -> None:
    mg_nn = pytest.importorskip("micrograd.nn")
    mg_engine = pytest.importorskip("micrograd.engine")
    random.seed(7)
    ours = nn.MLP(3, [8, 8, 1])
    random.seed(7)
    theirs = mg_nn.MLP(3, [8, 8, 1])
    x = [0.3, -1.2, 2.5]
    out, ref = ours(x), theirs([mg_engine.Value(v) for v in x])
    assert out.data == pytest.approx(ref.data, rel=1e-12)
    out.backward()
    ref.backward()
    assert [p.grad for p in ours.parameters()] == pytest.approx(
        [p.grad for p in theirs.parameters()], rel=1e-12, abs=1e-300)


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_each_activation_is_dot_then_the_activation(act: object) -> None:
    random.seed(3)
    layer = nn.Layer(3, 2, nonlin=act)
    x = [Value(0.5), Value(-1.0), Value(2.0)]
    outs = layer(x)
    expected = [_apply(act, dot(n.w, x, n.b)) for n in layer.neurons]
    assert [o.data for o in outs] == [e.data for e in expected]
    fastgrad.sum(outs).backward()
    grads = [v.grad for v in x + layer.parameters()]
    for v in x + layer.parameters():
        v.grad = 0.0
    fastgrad.sum(expected).backward()
    assert [v.grad for v in x + layer.parameters()] == grads
    single = layer.neurons[0](x)
    assert single.data == expected[0].data


def test_unknown_nonlin_raises() -> None:
    with pytest.raises(ValueError, match="nonlin"):
        nn.Neuron(2, nonlin="gelu")
    with pytest.raises(ValueError, match="nonlin"):
        nn.Layer(2, 2, nonlin="softmax")


def test_bad_sizes_raise() -> None:
    with pytest.raises(ValueError, match="nin"):
        nn.Neuron(-1)
    with pytest.raises(ValueError, match="nout"):
        nn.Layer(2, 1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        nn.Layer(2, 2, bias=False)  # type: ignore[call-arg]


def test_wrong_input_length_raises() -> None:
    with pytest.raises(ValueError, match="Neuron takes 2 inputs, got 3"):
        nn.Neuron(2)([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="Layer takes 2 inputs, got 1"):
        nn.Layer(2, 3)([1.0])
    with pytest.raises(ValueError, match="takes 2 inputs, got 3"):
        nn.MLP(2, [3, 1])([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="takes 3 inputs, got 2"):
        nn.MLP(2, [3, 1]).layers[1]([1.0, 2.0])


def test_inputs_may_be_any_sequence_of_numbers_or_values() -> None:
    model = nn.MLP(2, [4, 1])
    expected = model([Value(0.25), Value(-0.75)]).data
    for x in ([0.25, -0.75], (0.25, -0.75), np.array([0.25, -0.75]), iter([0.25, -0.75])):
        assert model(x).data == expected


def test_hidden_layer_of_one_neuron_works() -> None:
    out = nn.MLP(2, [1, 3])([0.5, 0.5])  # micrograd would pass a bare Value to layer 2
    assert len(out) == 3


def test_zero_grad() -> None:
    model = nn.MLP(2, [3, 1])
    model([1.0, -2.0]).backward()
    assert any(p.grad != 0.0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


def test_layer_follows_changes_to_its_neurons() -> None:
    layer = nn.Layer(2, 2, nonlin=False)
    x = [1.0, 2.0]
    layer(x)  # the layer's weight lists are now cached
    layer.neurons[0].w = [Value(1.0), Value(2.0)]
    layer.neurons[1].b = Value(5.0)
    w1 = layer.neurons[1].w
    assert [o.data for o in layer(x)] == [5.0, w1[0].data * 1.0 + w1[1].data * 2.0 + 5.0]
    layer.neurons[0].w[1] = Value(-1.0)  # in place
    assert layer(x)[0].data == -1.0
    layer.neurons.append(nn.Neuron(2, nonlin=False))
    assert len(layer(x)) == 3
    layer.neurons[2] = layer.neurons[0]
    outs = layer(x)
    assert outs[2].data == outs[0].data


def _unevened(model: object) -> None:
    """A neuron's nonlin and another's input size changed after construction."""
    model.layers[0].neurons[1].nonlin = False  # type: ignore[attr-defined]
    hidden = model.layers[1].neurons[2]  # type: ignore[attr-defined]
    hidden.w = hidden.w[:2]


def test_mixed_layers_run_as_micrograds() -> None:
    mg = pytest.importorskip("micrograd.nn")
    results = []
    for mod in (nn, mg):
        random.seed(3)
        model = mod.MLP(3, [4, 4, 1])
        _unevened(model)
        out = model([1.0, -2.0, 0.5])
        out.backward()
        layer = mod.Layer(2, 2)
        layer.neurons.append(mod.Neuron(3, nonlin=False))  # zip pairs its first 2 weights
        outs = layer([1.5, -0.5])
        results.append([out.data, *[o.data for o in outs], *[p.grad for p in model.parameters()]])
    assert results[0] == pytest.approx(results[1], rel=1e-12, abs=1e-300)


def test_a_mixed_layer_is_no_dense_stack_for_predict() -> None:
    layer = nn.Layer(2, 2)
    layer.neurons.append(nn.Neuron(2, nonlin=False))
    with pytest.raises(ValueError, match="share one activation"):
        layer.predict(np.ones((1, 2)))


@pytest.mark.parametrize("nonlin", ACTIVATIONS)
def test_mlp_nonlin_selects_the_hidden_activation(nonlin: object) -> None:
    random.seed(1)
    model = nn.MLP(2, [3, 3, 1], nonlin=nonlin)
    random.seed(1)
    layers = [nn.Layer(2, 3, nonlin=nonlin), nn.Layer(3, 3, nonlin=nonlin),
              nn.Layer(3, 1, nonlin=False)]
    x = [0.3, -1.2]
    want = x
    for layer in layers:
        want = layer(want)
    assert model(x).data == want.data  # type: ignore[union-attr]
    assert repr(nn.MLP(2, [3, 1])) == repr(nn.MLP(2, [3, 1], nonlin=True))


def test_mlp_nonlin_is_checked_without_hidden_layers() -> None:
    with pytest.raises(ValueError, match="nonlin must be"):
        nn.MLP(2, [1], nonlin="swish")


# -- predict -------------------------------------------------------------------------------

def _mesh(n: int = 15) -> np.ndarray:
    xx, yy = np.meshgrid(np.linspace(-2.0, 3.0, n), np.linspace(-1.5, 2.0, n))
    return np.c_[xx.ravel(), yy.ravel()]


@pytest.mark.parametrize("make", [
    lambda: nn.MLP(2, [16, 16, 1]),
    lambda: nn.MLP(2, [5, 3]),
    lambda: nn.Layer(2, 4, nonlin="tanh"),
    lambda: nn.Layer(2, 1, nonlin="sigmoid"),
    lambda: nn.Neuron(2),
])
def test_predict_equals_calling_the_model_bitwise(make) -> None:
    model = make()
    X = _mesh()
    out = model.predict(X)
    calls = [model(list(map(Value, row))) for row in X]
    expected = np.array([[c.data] if isinstance(c, Value) else [v.data for v in c]
                         for c in calls])
    if expected.shape[1] == 1:
        expected = expected[:, 0]
    assert out.dtype == np.float64 and out.shape == expected.shape
    assert np.array_equal(out, expected)


def test_predict_leaves_data_and_grads_alone() -> None:
    model = nn.MLP(2, [4, 1])
    model([1.0, 1.0]).backward()
    before = [(p.data, p.grad) for p in model.parameters()]
    model.predict(_mesh(4))
    assert [(p.data, p.grad) for p in model.parameters()] == before


def test_predict_accepts_lists_and_empty_input() -> None:
    model = nn.MLP(2, [4, 1])
    assert np.array_equal(model.predict([[0.5, 1.0]]), [model([0.5, 1.0]).data])
    assert model.predict(np.empty((0, 2))).shape == (0,)


def test_predict_bad_input_raises() -> None:
    model = nn.MLP(2, [4, 1])
    with pytest.raises(ValueError, match="2-D"):
        model.predict(np.zeros(2))
    with pytest.raises(ValueError, match="2-D"):
        model.predict(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError):
        model.predict(np.zeros((5, 3)))


def test_predict_of_any_other_module_calls_it_per_row() -> None:
    class Twin(nn.Module):
        def __init__(self) -> None:
            self.a, self.b = nn.MLP(2, [3, 1]), nn.Neuron(2, nonlin="tanh")

        def __call__(self, x):
            return [self.a(x), self.b(x) * 2]

        def parameters(self):
            return self.a.parameters() + self.b.parameters()

    model = Twin()
    X = _mesh(3)
    out = model.predict(X)
    assert out.shape == (len(X), 2)
    assert np.array_equal(out, [[v.data for v in model(list(row))] for row in X])


# -- training ------------------------------------------------------------------------------

def _train(nn_mod, losses_mod, optim_mod, value, X, y, steps: int, seed: int = 1337):
    """micrograd's demo loop (max-margin + L2, SGD with its lr schedule) on nn_mod's MLP."""
    random.seed(seed)
    model = nn_mod.MLP(2, [16, 16, 1])
    opt = optim_mod.SGD(model.parameters(), lr=1.0)
    curve = []
    for k in range(steps):
        scores = [model(list(map(value, row))) for row in X]
        loss = losses_mod.hinge(scores, y) + losses_mod.l2(model.parameters(), 1e-4)
        opt.zero_grad()
        loss.backward()
        opt.lr = 1.0 - 0.9 * k / 100
        opt.step()
        curve.append(loss.data)
    return curve, model


def _micrograd_demo_curve(X, y, steps: int, seed: int = 1337) -> list[float]:
    """micrograd's demo.ipynb loop, verbatim but for the sizes."""
    from micrograd.engine import Value as MgValue
    from micrograd.nn import MLP as MgMLP

    random.seed(seed)
    model = MgMLP(2, [16, 16, 1])
    curve = []
    for k in range(steps):
        inputs = [list(map(MgValue, xrow)) for xrow in X]
        scores = list(map(model, inputs))
        losses_ = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores)]
        data_loss = sum(losses_) * (1.0 / len(losses_))
        reg_loss = 1e-4 * sum(p * p for p in model.parameters())
        total_loss = data_loss + reg_loss
        model.zero_grad()
        total_loss.backward()
        learning_rate = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= learning_rate * p.grad
        curve.append(total_loss.data)
    return curve


def test_micrograd_demo_first_loss_is_the_notebooks() -> None:
    # micrograd's demo.ipynb prints "step 0 loss 0.8958441028683222, accuracy 50.0%"
    # for these seeds: same data (make_moons follows scikit-learn), same weights.
    np.random.seed(1337)
    random.seed(1337)
    X, y = make_moons(n_samples=100, noise=0.1)
    y = y * 2 - 1
    model = nn.MLP(2, [16, 16, 1])
    scores = list(map(model, [list(map(Value, row)) for row in X]))
    loss = losses.hinge(scores, y) + losses.l2(model.parameters(), 1e-4)
    assert loss.data == 0.8958441028683222
    assert sum((yi > 0) == (s.data > 0) for yi, s in zip(y, scores)) == 50


def test_moons_loss_curve_matches_micrograd() -> None:
    pytest.importorskip("micrograd")
    X, y = make_moons(n_samples=24, noise=0.1, random_state=3)  # small: micrograd is slow
    y = y * 2 - 1
    ours, _ = _train(nn, losses, optim, Value, X, y, steps=20)
    theirs = _micrograd_demo_curve(X, y, steps=20)
    assert ours == pytest.approx(theirs, rel=1e-9)
    assert ours[-1] < ours[0]


def _pure_twin():
    """fastgrad.pure, to compare with the default backend when that is the compiled one."""
    pytest.importorskip("fastgrad._core")
    if fastgrad.backend != "fast":
        pytest.skip("the default backend is pure here (FASTGRAD_PURE is set)")
    from fastgrad import pure
    return pure


def test_fast_and_pure_train_bitwise_identically() -> None:
    pure = _pure_twin()
    X, y = make_moons(n_samples=50, noise=0.1, random_state=5)
    y = y * 2 - 1
    fast_curve, fast_model = _train(nn, losses, optim, Value, X, y, steps=20)
    pure_curve, pure_model = _train(pure.nn, pure.losses, pure.optim, pure.Value, X, y, steps=20)
    assert fast_curve == pure_curve
    assert np.array_equal(fastgrad.get_grad(fast_model.parameters()),
                          pure.get_grad(pure_model.parameters()))
    assert np.array_equal(fastgrad.get_data(fast_model.parameters()),
                          pure.get_data(pure_model.parameters()))
    mesh = _mesh(40)
    assert np.array_equal(fast_model.predict(mesh), pure_model.predict(mesh))


def test_fast_and_pure_agree_on_every_loss_and_optimizer() -> None:
    pure = _pure_twin()
    X, labels = make_blobs(n_samples=30, centers=3, random_state=2)
    is_one = (labels == 1).astype(float)

    def run(fg):  # fg: the fastgrad or the fastgrad.pure namespace
        random.seed(11)
        model = fg.nn.MLP(2, [8, 3])
        adam = fg.optim.Adam(model.parameters(), lr=0.05, weight_decay=1e-3)
        sgd = fg.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-2)
        curve = []
        for k in range(6):
            outs = [model(row) for row in X.tolist()]
            loss = (fg.losses.softmax_cross_entropy(outs, labels)
                    + fg.losses.mse([o[0] for o in outs], X[:, 0])
                    + fg.losses.bce_with_logits([o[1] for o in outs], is_one)
                    + fg.losses.hinge([o[2] for o in outs], 2 * is_one - 1)
                    + fg.losses.l2(model.parameters(), 1e-3))
            adam.zero_grad()
            loss.backward()
            (adam if k % 2 else sgd).step()
            curve.append(loss.data)
        return curve, fg.get_data(model.parameters())

    fast_curve, fast_params = run(fastgrad)
    pure_curve, pure_params = run(pure)
    assert fast_curve == pure_curve
    assert np.array_equal(fast_params, pure_params)
