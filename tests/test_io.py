"""numpy interop (bulk data/grad, arrays of Values) and checkpoints (state dicts, .npz)."""
from __future__ import annotations

import numpy as np
import pytest

from fastgrad import (Value, data_array, from_array, get_data, get_grad, grad_array, nn,
                      set_data, set_grad)


def _params() -> list[Value]:
    return [Value(x) for x in (1.5, -2.0, 0.25)]


# -- parameter lists <-> arrays ------------------------------------------------------------

def test_get_and_set_data_and_grad() -> None:
    ps = _params()
    data = get_data(ps)
    assert data.dtype == np.float64 and data.tolist() == [1.5, -2.0, 0.25]
    data[0] = 99.0  # a copy
    assert ps[0].data == 1.5
    set_data(ps, np.array([3.0, 4.0, 5.0]))
    assert [p.data for p in ps] == [3.0, 4.0, 5.0]
    set_data(ps, [1, 2, 3])
    assert get_data(ps).tolist() == [1.0, 2.0, 3.0]
    set_grad(ps, [0.5, -0.5, 2.0])
    assert get_grad(ps).tolist() == [0.5, -0.5, 2.0]
    set_grad(ps, -1.25)  # a float: zero_grad's path
    assert get_grad(ps).tolist() == [-1.25, -1.25, -1.25]
    set_grad(ps, 0.0)
    assert get_grad(ps).tolist() == [0.0, 0.0, 0.0]
    assert get_data([]).shape == (0,)


def test_grads_after_backward_read_in_one_call() -> None:
    a, b = Value(2.0), Value(-3.0)
    (a * b + a).backward()
    assert get_grad([a, b]).tolist() == [a.grad, b.grad] == [-2.0, 2.0]


@pytest.mark.parametrize("call", [
    lambda ps: set_data(ps, [1.0, 2.0]),
    lambda ps: set_data(ps, np.zeros((3, 1))),
    lambda ps: set_grad(ps, [1.0, 2.0, 3.0, 4.0]),
    lambda ps: set_data(ps + [1.0], [1.0, 2.0, 3.0, 4.0]),
    lambda ps: set_grad(ps + ["x"], [1.0, 2.0, 3.0, 4.0]),
    lambda ps: set_grad(ps + ["x"], 0.0),
    lambda ps: set_data(ps, ["a", "b", "c"]),
])
def test_bad_bulk_writes_raise_and_change_nothing(call) -> None:
    ps = _params()
    set_grad(ps, [7.0, 8.0, 9.0])
    with pytest.raises((TypeError, ValueError)):
        call(ps)
    assert [p.data for p in ps] == [1.5, -2.0, 0.25]
    assert [p.grad for p in ps] == [7.0, 8.0, 9.0]


def test_get_data_of_non_values_raises() -> None:
    with pytest.raises(TypeError):
        get_data([Value(1.0), 2.0])


# -- arrays <-> nested lists of Values -----------------------------------------------------

@pytest.mark.parametrize("shape", [(), (4,), (3, 2), (2, 3, 2), (0,), (2, 0)])
def test_from_array_and_back(shape: tuple[int, ...]) -> None:
    a = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape) - 2.5
    values = from_array(a)
    if shape == ():
        assert isinstance(values, Value)
    else:
        assert isinstance(values, list) and len(values) == shape[0]
    back = data_array(values)
    assert back.shape == shape and np.array_equal(back, a)
    assert np.array_equal(grad_array(values), np.zeros(shape))


def test_from_array_makes_new_leaf_values_per_element() -> None:
    X = from_array([[1, 2], [3, 4]])
    assert X[0][0] is not X[1][0] and X[1][1].data == 4.0 and X[1][1]._prev == set()


def test_grad_array_after_backward() -> None:
    X = from_array([[1.0, 2.0], [3.0, 4.0]])
    (X[0][0] * X[1][1] + X[0][1]).backward()
    assert grad_array(X).tolist() == [[4.0, 1.0], [0.0, 1.0]]
    assert data_array((X[0][0], X[0][1])).tolist() == [1.0, 2.0]


def test_ragged_or_non_value_nesting_raises() -> None:
    X = from_array([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(ValueError, match="rectangular"):
        data_array([X[0], X[1][:1]])
    with pytest.raises(TypeError, match="float"):
        data_array([X[0][0], 2.0])
    with pytest.raises(ValueError):
        from_array([[1.0, 2.0], [3.0]])


# -- state dicts and .npz checkpoints ------------------------------------------------------

def test_state_dict_names_and_shapes() -> None:
    model = nn.MLP(3, [4, 2])
    state = model.state_dict()
    assert list(state) == ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]
    assert [a.shape for a in state.values()] == [(4, 3), (4,), (2, 4), (2,)]
    assert all(a.dtype == np.float64 for a in state.values())
    for i, layer in enumerate(model.layers):  # row j is neuron j
        weights = [[w.data for w in n.w] for n in layer.neurons]
        assert state[f"layers.{i}.weight"].tolist() == weights
        assert state[f"layers.{i}.bias"].tolist() == [n.b.data for n in layer.neurons]
    neuron = nn.Neuron(2)
    assert {k: v.shape for k, v in neuron.state_dict().items()} == {"w": (2,), "b": ()}
    assert list(nn.Layer(2, 3).state_dict()) == ["weight", "bias"]


def test_load_state_dict_round_trip() -> None:
    a, b = nn.MLP(2, [5, 1]), nn.MLP(2, [5, 1])
    b.load_state_dict(a.state_dict())
    assert np.array_equal(get_data(b.parameters()), get_data(a.parameters()))
    assert b([0.3, 0.7]).data == a([0.3, 0.7]).data


def test_state_dict_of_a_plain_module_is_its_parameter_list() -> None:
    class Pair(nn.Module):
        def __init__(self) -> None:
            self.u, self.v = Value(1.0), Value(2.0)

        def parameters(self):
            return [self.u, self.v]

    m = Pair()
    assert list(m.state_dict()) == ["parameters"]
    m.load_state_dict({"parameters": [5.0, 6.0]})
    assert (m.u.data, m.v.data) == (5.0, 6.0)


@pytest.mark.parametrize("change, error", [
    (lambda s: s.pop("layers.1.bias"), r"missing keys: \['layers.1.bias'\]"),
    (lambda s: s.update({"layers.2.weight": np.zeros((1, 1))}), "unexpected keys"),
    (lambda s: s.update({"layers.0.weight": np.zeros((3, 2))}),
     r"shape \(3, 2\), expected \(2, 3\)"),
    (lambda s: s.update({"layers.0.bias": np.zeros(3)}), "shape"),
    (lambda s: s.update({"layers.0.bias": np.array(["a", "b"])}), "real numbers"),
    (lambda s: s.update({"layers.0.bias": np.array([1j, 2j])}), "real numbers"),
])
def test_bad_state_dict_raises_and_leaves_model_unchanged(change, error: str) -> None:
    model = nn.MLP(3, [2, 2])
    before = get_data(model.parameters())
    state = {k: v + 1.0 for k, v in model.state_dict().items()}
    change(state)
    with pytest.raises((TypeError, ValueError), match=error):
        model.load_state_dict(state)
    assert np.array_equal(get_data(model.parameters()), before)


def test_load_state_dict_needs_a_mapping() -> None:
    with pytest.raises(TypeError, match="mapping"):
        nn.Neuron(2).load_state_dict([1.0, 2.0, 0.0])


def test_save_and_load_round_trip(tmp_path) -> None:
    a, b = nn.MLP(2, [16, 16, 1]), nn.MLP(2, [16, 16, 1])
    path = tmp_path / "model.npz"
    a.save(path)
    b.load(str(path))
    assert np.array_equal(get_data(b.parameters()), get_data(a.parameters()))
    mesh = np.random.RandomState(1).uniform(-2, 2, (50, 2))
    assert np.array_equal(b.predict(mesh), a.predict(mesh))
    a.save(tmp_path / "no_suffix")  # the name is kept exactly
    assert (tmp_path / "no_suffix").exists()


def test_load_wrong_architecture_raises_and_leaves_model_unchanged(tmp_path) -> None:
    nn.MLP(2, [8, 1]).save(tmp_path / "small.npz")
    model = nn.MLP(2, [16, 1])
    before = get_data(model.parameters())
    with pytest.raises(ValueError, match="shape"):
        model.load(tmp_path / "small.npz")
    assert np.array_equal(get_data(model.parameters()), before)


def test_load_never_unpickles(tmp_path) -> None:
    model = nn.Neuron(2)
    before = get_data(model.parameters())
    path = tmp_path / "evil.npz"
    np.savez(path, w=np.array([object(), object()], dtype=object), b=np.zeros(()))
    with pytest.raises(ValueError, match="dtype object.*never loaded"):
        model.load(path)
    np.save(tmp_path / "plain.npy", np.zeros(3))
    with pytest.raises(ValueError, match="not an .npz archive"):
        model.load(tmp_path / "plain.npy")
    (tmp_path / "junk.npz").write_bytes(b"not numpy at all")
    with pytest.raises(ValueError):
        model.load(tmp_path / "junk.npz")
    assert np.array_equal(get_data(model.parameters()), before)
