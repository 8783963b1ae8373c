"""fastgrad.interop: an MLP to torch.nn.Sequential and back, and to ONNX (run by onnxruntime)."""
from __future__ import annotations

import random
from typing import Any, Callable

import numpy as np
import pytest

from fastgrad import Value, interop, nn

TOL = {"rtol": 1e-12, "atol": 1e-12}  # torch and onnxruntime sum a neuron in another order


def _mlp(nin: int, nouts: list[int], acts: list[str] | None = None) -> nn.MLP:
    model = nn.MLP(nin, nouts)
    for layer, act in zip(model.layers, acts or []):
        for neuron in layer.neurons:
            neuron.nonlin = act
    for p in model.parameters():  # biases away from zero, so they are tested too
        p.data += random.uniform(-0.5, 0.5)
    return model


ARCHITECTURES: dict[str, Callable[[], nn.Module]] = {
    "micrograd's MLP": lambda: _mlp(2, [16, 16, 1]),
    "tanh and sigmoid": lambda: _mlp(3, [5, 4, 2], ["tanh", "sigmoid", "linear"]),
    "activated output": lambda: _mlp(4, [3, 3], ["relu", "tanh"]),
    "one layer": lambda: _mlp(3, [2]),
    "a Layer": lambda: nn.Layer(3, 4, nonlin="sigmoid"),
    "a Neuron": lambda: nn.Neuron(5),
    "a linear Neuron": lambda: nn.Neuron(2, nonlin=False),
}


def _inputs(model: nn.Module, n: int = 40) -> np.ndarray:
    return np.random.RandomState(7).uniform(-3, 3, (n, model._layer_specs()[0].nin))


def _outputs(model: nn.Module, X: np.ndarray) -> np.ndarray:
    """The model's outputs as (samples, outputs), by calling it on each row (the graph)
    and by predict, which must agree bitwise."""
    rows = []
    for x in X.tolist():
        out = model(x)
        rows.append([v.data for v in out] if isinstance(out, list) else [out.data])
    calls = np.array(rows)
    assert np.array_equal(model.predict(X).reshape(calls.shape), calls)
    return calls


@pytest.fixture(params=list(ARCHITECTURES), ids=list(ARCHITECTURES))
def model(request) -> nn.Module:
    random.seed(sum(map(ord, request.param)))
    return ARCHITECTURES[request.param]()


# -- torch ---------------------------------------------------------------------------------

@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def test_to_torch_gives_linear_layers_and_activations_with_the_same_outputs(torch, model) -> None:
    seq = interop.to_torch(model)
    X = _inputs(model)
    assert isinstance(seq, torch.nn.Sequential)
    linears = [m for m in seq if isinstance(m, torch.nn.Linear)]
    specs = model._layer_specs()
    assert len(linears) == len(specs)
    expected = []
    for spec in specs:
        expected.append(torch.nn.Linear)
        if spec.act != "linear":
            expected.append({"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh,
                             "sigmoid": torch.nn.Sigmoid}[spec.act])
    assert [type(m) for m in seq] == expected
    for linear, spec in zip(linears, specs):
        assert linear.weight.dtype == torch.float64
        assert linear.weight.tolist() == [[w.data for w in row] for row in spec.weights]
        assert linear.bias.tolist() == [b.data for b in spec.biases]
    with torch.no_grad():
        got = seq(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(got, _outputs(model, X), **TOL)


def test_conversions_leave_both_random_streams_alone(torch) -> None:
    model, seq = _mlp(3, [4, 1]), torch.nn.Sequential(torch.nn.Linear(2, 2))
    python, torch_rng = random.getstate(), torch.random.get_rng_state()
    interop.to_torch(model)
    interop.from_torch(seq)
    assert random.getstate() == python
    assert torch.equal(torch.random.get_rng_state(), torch_rng)


def test_round_trip_through_torch_keeps_every_weight_and_activation(torch, model) -> None:
    back = interop.from_torch(interop.to_torch(model))
    assert isinstance(back, nn.MLP)
    assert [p.data for p in back.parameters()] == [p.data for p in model.parameters()]
    assert [d.act for d in back._layer_specs()] == [d.act for d in model._layer_specs()]
    X = _inputs(model)
    assert np.array_equal(_outputs(back, X), _outputs(model, X))
    if isinstance(model, nn.MLP):
        assert repr(back) == repr(model)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_from_torch_computes_what_the_sequential_computes(torch, dtype: str) -> None:
    torch.manual_seed(0)
    dt = getattr(torch, dtype)
    seq = torch.nn.Sequential(
        torch.nn.Linear(3, 6, dtype=dt), torch.nn.Tanh(), torch.nn.Identity(),
        torch.nn.Linear(6, 5, bias=False, dtype=dt), torch.nn.ReLU(),
        torch.nn.Linear(5, 4, dtype=dt), torch.nn.Sigmoid(), torch.nn.Linear(4, 2, dtype=dt))
    model = interop.from_torch(seq)
    assert [n.nonlin for n in (layer.neurons[0] for layer in model.layers)] == [
        "tanh", True, "sigmoid", False]
    assert [b.data for b in (n.b for n in model.layers[1].neurons)] == [0.0] * 5
    X = np.random.RandomState(1).randn(30, 3)
    with torch.no_grad():
        want = seq.double()(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(_outputs(model, X), want, **TOL)
    again = interop.to_torch(model)  # and back: the same weights, zero biases for none
    assert [type(m) for m in again] == [type(m) for m in seq if type(m) is not torch.nn.Identity]
    for mine, theirs in zip([m for m in again if isinstance(m, torch.nn.Linear)],
                            [m for m in seq if isinstance(m, torch.nn.Linear)]):
        assert torch.equal(mine.weight, theirs.weight)
        assert torch.equal(mine.bias, torch.zeros(mine.bias.shape, dtype=torch.float64)
                           if theirs.bias is None else theirs.bias)


def test_a_trained_torch_model_carries_over(torch) -> None:
    """A model trained in torch, moved to fastgrad: the same loss, and the same gradients
    after one more backward."""
    torch.manual_seed(3)
    seq = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.ReLU(),
                              torch.nn.Linear(8, 1)).double()
    X = torch.randn(20, 2, dtype=torch.float64)
    y = X[:, :1] * 2 - X[:, 1:]
    opt = torch.optim.SGD(seq.parameters(), lr=0.05)
    for _ in range(20):
        opt.zero_grad()
        loss = ((seq(X) - y) ** 2).mean()
        loss.backward()
        opt.step()
    opt.zero_grad()
    ((seq(X) - y) ** 2).mean().backward()
    model = interop.from_torch(seq)
    ours = sum((model(x) - t) ** 2 for x, t in zip(X.tolist(), y[:, 0].tolist())) / len(X)
    ours.backward()
    want_loss = ((seq(X) - y) ** 2).mean().item()
    assert ours.data == pytest.approx(want_loss, rel=1e-12)
    want = [g for linear in (seq[0], seq[2]) for w, b in zip(linear.weight.grad.tolist(),
                                                            linear.bias.grad.tolist())
            for g in w + [b]]  # fastgrad's order: each neuron's weights, then its bias
    np.testing.assert_allclose([p.grad for p in model.parameters()], want, **TOL)


class _Pair(nn.Module):
    def __init__(self) -> None:
        self.u = Value(1.0)

    def parameters(self) -> list[Value]:
        return [self.u]


def _unchained() -> nn.MLP:
    model = nn.MLP(3, [4, 2])
    model.layers[1] = nn.Layer(5, 2)
    return model


def _mixed() -> nn.Layer:
    layer = nn.Layer(3, 2)
    layer.neurons[1].nonlin = "tanh"
    return layer


@pytest.mark.parametrize("make, error, match", [
    (_Pair, TypeError, "expected a Neuron, Layer or MLP, not _Pair"),
    (lambda: [[1.0, 2.0]], TypeError, "not list"),
    (lambda: nn.MLP(3, []), ValueError, "no layers"),
    (lambda: nn.Layer(3, 0), ValueError, "layer 0 has no neurons"),
    (_unchained, ValueError, "layer 1 takes 5 inputs, but layer 0 gives 4"),
    (_mixed, ValueError, "share one activation"),
], ids=["Module", "list", "no layers", "no neurons", "unchained", "mixed activations"])
def test_what_is_no_stack_of_dense_layers_is_refused(make, error, match: str) -> None:
    pytest.importorskip("torch")
    with pytest.raises(error, match=match):
        interop.to_torch(make())


def _seq(torch: Any, *modules: str) -> Any:
    return torch.nn.Sequential(*[eval(m, {"nn": torch.nn, "torch": torch}) for m in modules])


@pytest.mark.parametrize("modules, error, match", [
    (["nn.Linear(2, 3)", "nn.GELU()"], ValueError, "module 1 is a GELU; only Linear, ReLU"),
    (["nn.Linear(2, 3)", "nn.LeakyReLU()"], ValueError, "module 1 is a LeakyReLU"),
    (["nn.Linear(2, 3)", "nn.Dropout()"], ValueError, "module 1 is a Dropout"),
    (["nn.Conv1d(1, 1, 1)"], ValueError, "module 0 is a Conv1d"),
    (["nn.Sequential(nn.Linear(2, 2))"], ValueError, "module 0 is a Sequential"),
    (["nn.Bilinear(2, 2, 2)"], ValueError, "module 0 is a Bilinear"),
    (["nn.ReLU()", "nn.Linear(2, 3)"], ValueError, r"module 0 \(ReLU\) does not follow a Linear"),
    (["nn.Linear(2, 3)", "nn.Tanh()", "nn.ReLU()"], ValueError,
     r"module 2 \(ReLU\) does not follow a Linear layer directly"),
    (["nn.Linear(2, 3)", "nn.Linear(4, 1)"], ValueError,
     r"module 1 \(Linear\) takes 4 inputs, but the layer before gives 3"),
    ([], ValueError, "no Linear layer"),
    (["nn.Identity()"], ValueError, "no Linear layer"),
    (["nn.Linear(2, 2, dtype=torch.complex128)"], ValueError, "dtype torch.complex128"),
])
def test_from_torch_refuses_what_an_mlp_cannot_compute(torch, modules, error, match) -> None:
    with pytest.raises(error, match=match):
        interop.from_torch(_seq(torch, *modules))


def test_from_torch_needs_a_sequential_of_exact_types(torch) -> None:
    with pytest.raises(TypeError, match="expected a torch.nn.Sequential, not Linear"):
        interop.from_torch(torch.nn.Linear(2, 2))
    with pytest.raises(TypeError, match="not ModuleList"):
        interop.from_torch(torch.nn.ModuleList([torch.nn.Linear(2, 2)]))

    class Scaled(torch.nn.Linear):
        def forward(self, x):
            return 2 * super().forward(x)
    with pytest.raises(ValueError, match="module 0 is a Scaled"):
        interop.from_torch(torch.nn.Sequential(Scaled(2, 2)))


# -- ONNX ----------------------------------------------------------------------------------

@pytest.fixture
def ort():
    pytest.importorskip("onnx")
    return pytest.importorskip("onnxruntime")


def test_to_onnx_matches_onnxruntime(ort, model, tmp_path) -> None:
    import onnx
    path = tmp_path / "model.onnx"
    proto = interop.to_onnx(model, path)
    assert onnx.load(str(path)) == proto
    onnx.checker.check_model(proto)
    ops = [n.op_type for n in proto.graph.node]
    assert ops.count("Gemm") == len(model._layer_specs())
    assert set(ops) <= {"Gemm", "Relu", "Tanh", "Sigmoid"}
    assert all(t.data_type == onnx.TensorProto.DOUBLE for t in proto.graph.initializer)
    X = _inputs(model)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"x": X})
    assert got.dtype == np.float64 and got.shape == (len(X), model._layer_specs()[-1].nout)
    np.testing.assert_allclose(got, _outputs(model, X), **TOL)


def test_to_onnx_of_a_torch_model_matches_torch(ort, torch, tmp_path) -> None:
    torch.manual_seed(5)
    seq = torch.nn.Sequential(torch.nn.Linear(4, 7), torch.nn.Sigmoid(), torch.nn.Linear(7, 3),
                              torch.nn.Tanh()).double()
    interop.to_onnx(interop.from_torch(seq), tmp_path / "m.onnx")
    X = np.random.RandomState(2).randn(25, 4)
    (got,) = ort.InferenceSession(str(tmp_path / "m.onnx"),
                                  providers=["CPUExecutionProvider"]).run(None, {"x": X})
    with torch.no_grad():
        np.testing.assert_allclose(got, seq(torch.from_numpy(X)).numpy(), **TOL)


def test_to_onnx_refuses_what_to_torch_refuses(ort, tmp_path) -> None:
    with pytest.raises(ValueError, match="layer 1 takes 5 inputs"):
        interop.to_onnx(_unchained(), tmp_path / "m.onnx")
    with pytest.raises(TypeError, match="_Pair"):
        interop.to_onnx(_Pair(), tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_a_missing_package_is_named_with_its_extra(monkeypatch) -> None:
    def missing(name: str) -> None:
        raise ImportError(f"No module named {name!r}")
    monkeypatch.setattr("importlib.import_module", missing)
    with pytest.raises(ImportError, match=r"to_torch needs torch: pip install 'fastgrad\[torch\]'"):
        interop.to_torch(nn.Neuron(2))
    with pytest.raises(ImportError, match=r"to_onnx needs onnx: pip install 'fastgrad\[onnx\]'"):
        interop.to_onnx(nn.Neuron(2), "unused.onnx")
