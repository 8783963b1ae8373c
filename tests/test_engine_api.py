"""The Value API, on whichever backend `import fastgrad` gives (FASTGRAD_PURE=1: pure)."""
from __future__ import annotations

import decimal
import fractions
import math
import operator

import numpy as np
import pytest

import fastgrad
import fastgrad.engine
from fastgrad import Value
from ops_spec import ACTIVATIONS, ACTS

pytestmark = pytest.mark.usefixtures("fresh_heap")


def live() -> int:
    return fastgrad.stats()["live_nodes"]


class Floaty:
    """Not a number type, but convertible: what `Value(x)` must accept."""

    def __float__(self) -> float:
        return 2.5


# -- construction and attributes --------------------------------------------------------

@pytest.mark.parametrize("x, expected", [
    (3, 3.0), (-2.5, -2.5), (True, 1.0), (False, 0.0), (np.int64(3), 3.0),
    (np.float64(0.1), 0.1), (np.float32(0.1), float(np.float32(0.1))), (np.bool_(True), 1.0),
    (fractions.Fraction(1, 4), 0.25), (decimal.Decimal("1.5"), 1.5), (Floaty(), 2.5),
    (2 ** 60 + 1, float(2 ** 60 + 1)), (math.inf, math.inf),
])
def test_value_accepts_real_numbers_and_stores_a_float(x, expected) -> None:
    v = Value(x)
    assert type(v.data) is float and v.data == expected
    assert type(v.grad) is float and v.grad == 0.0
    assert v.label == "" and v._op == "" and v._prev == set()


def test_value_keeps_nan() -> None:
    assert math.isnan(Value(math.nan).data)


@pytest.mark.parametrize("bad", ["1.0", b"1", None, 1j, [1.0], (1.0,), {}, object()])
def test_value_rejects_non_numbers(bad) -> None:
    with pytest.raises(TypeError):
        Value(bad)


def test_label() -> None:
    v = Value(1.0, label="w")
    assert v.label == "w"
    assert Value(1.0, (), "", "b").label == "b"  # micrograd's lecture signature
    v.label = "w2"
    assert v.label == "w2"


def test_data_and_grad_are_assignable() -> None:
    p = Value(1.0)
    p.grad = 0.5
    p.data -= 0.1 * p.grad
    assert p.data == 1.0 - 0.1 * 0.5
    p.grad = 0
    assert type(p.grad) is float and p.grad == 0.0
    p.data = np.float32(2.0)
    assert type(p.data) is float and p.data == 2.0


def test_assigning_a_result_node_data_is_used_by_later_ops() -> None:
    a = Value(3.0)
    b = a * 2.0
    b.data = 10.0
    assert (b + 1.0).data == 11.0


def test_prev_gives_the_same_child_objects_every_time() -> None:
    a, b = Value(2.0), Value(3.0)
    c = a * b
    assert c._prev == {a, b}
    assert all(any(x is y for y in (a, b)) for x in c._prev)
    d = (a + b).tanh()
    del a, b  # only the graph keeps the leaves now
    first = d._prev
    (s,) = first
    assert d._prev == first and next(iter(d._prev)) is s
    assert {id(x) for x in s._prev} == {id(x) for x in s._prev}
    assert sorted(x.data for x in s._prev) == [2.0, 3.0]


def test_prev_of_an_op_with_a_constant_holds_only_the_value() -> None:
    a = Value(2.0)
    assert (a * 2)._prev == {a} and (2 - a)._prev == {a} and (a ** 3)._prev == {a}
    assert (a * a)._prev == {a}


# -- arithmetic: the numbers are Python float's -------------------------------------------

@pytest.mark.parametrize("f", [
    operator.add, operator.sub, operator.mul, operator.truediv, operator.pow,
    lambda x, y: x + 2, lambda x, y: 2 + x, lambda x, y: x - 2, lambda x, y: 2 - x,
    lambda x, y: x * 3, lambda x, y: 3 * x, lambda x, y: x / 3, lambda x, y: 3 / x,
    lambda x, y: x ** 2, lambda x, y: x ** 2.5, lambda x, y: 2 ** x, lambda x, y: 2.5 ** y,
    lambda x, y: -x, lambda x, y: abs(-x), lambda x, y: +x,
    lambda x, y: x + True, lambda x, y: np.float64(0.5) * x, lambda x, y: x * np.int64(3),
])
@pytest.mark.parametrize("a, b", [(1.5, 2.25), (0.1, 0.7), (3.0, -0.5), (7.0, 1e-3)])
def test_operators_compute_what_floats_compute(f, a, b) -> None:
    expected = f(a, b)
    for args in [(Value(a), Value(b)), (Value(a), b), (a, Value(b))]:
        out = f(*args)
        if isinstance(out, Value):
            assert out.data == expected
        else:  # both plain: nothing to check for this argument pattern
            assert out == expected


@pytest.mark.parametrize("f", [
    lambda a, v: a * v, lambda a, v: v + a, lambda a, v: a - v, lambda a, v: v / a,
    lambda a, v: a ** v, lambda a, v: v ** a, lambda a, v: np.exp(a * v),
])
def test_numpy_arrays_with_a_value_give_object_arrays_of_values(f) -> None:
    arr = np.array([[1.0, 2.0], [0.5, 3.0]])
    v = Value(1.5)
    out = f(arr, v)
    assert out.dtype == object and out.shape == arr.shape
    assert all(isinstance(o, Value) for o in out.flat)
    assert [o.data for o in out.flat] == [f(x, Value(1.5)).data for x in arr.ravel().tolist()]
    out.flat[3].backward()
    assert v.grad != 0.0  # each element is a node of v's graph


@pytest.mark.parametrize("scalar", [np.float64(0.5), np.float32(0.5), np.int64(3),
                                    np.bool_(True), np.array(0.5)])
def test_numpy_scalars_with_a_value_give_a_value(scalar) -> None:
    for out, want in [(scalar * Value(2.0), float(scalar) * 2.0),
                      (Value(2.0) - scalar, 2.0 - float(scalar)),
                      (scalar / Value(4.0), float(scalar) / 4.0)]:
        assert type(out) is Value and out.data == want


def test_unary_methods_compute_what_math_computes() -> None:
    for x in (0.3, 1.7, -2.2, 0.0):
        v = Value(x)
        assert v.relu().data == max(x, 0.0)
        assert v.tanh().data == math.tanh(x)
        assert v.exp().data == math.exp(x)
        assert v.sigmoid().data == pytest.approx(1.0 / (1.0 + math.exp(-x)), rel=1e-15)
        assert abs(v).data == abs(x)
        if x > 0:
            assert v.log().data == math.log(x)
            assert v.sqrt().data == math.sqrt(x)


def test_float_overflow_in_plain_arithmetic_gives_inf_like_python() -> None:
    assert (Value(1e308) * 10).data == math.inf
    assert (Value(1e308) + Value(1e308)).data == math.inf
    assert (Value(-1e308) - 1e308).data == -math.inf
    assert math.isnan((Value(math.inf) - math.inf).data)
    assert (Value(1.0) / 1e-320).data == 1.0 / 1e-320


@pytest.mark.parametrize("x", [1e308, -1e308, 1000.0, -1000.0, 710.0, -746.0, 50.0, -50.0,
                               5e-324, math.inf, -math.inf])
def test_sigmoid_and_tanh_are_stable_for_any_magnitude(x) -> None:
    s, t = Value(x).sigmoid(), Value(x).tanh()
    assert 0.0 <= s.data <= 1.0 and -1.0 <= t.data <= 1.0
    s.backward()
    t.backward()
    if math.isfinite(x):
        assert not math.isnan(s.grad) and not math.isnan(t.grad)
    if abs(x) >= 50:
        assert s.data == (1.0 if x > 0 else pytest.approx(0.0, abs=1e-21))
        assert t.data == math.copysign(1.0, x)


def test_float_conversion() -> None:
    assert float(Value(2.5)) == 2.5
    assert math.sqrt(Value(4.0)) == 2.0  # anything taking a float takes a Value


def test_comparisons_compare_data() -> None:
    a, b = Value(1.0), Value(2.0)
    assert a < b and a <= b and b > a and b >= a and a <= Value(1.0) and a >= 1
    assert a < 1.5 and 1.5 > a and 0.5 < a and 3 >= b and not (b < a)
    assert max([a, b]) is b and sorted([b, a]) == [a, b]


def test_equality_and_hash_are_identity() -> None:
    a, b = Value(1.0), Value(1.0)
    assert a == a and a != b and not (a == 1.0) and a != 1.0
    assert hash(a) == hash(a)
    assert len({a, b, a}) == 2
    grads = {a: "a", b: "b"}
    assert grads[a] == "a" and grads[b] == "b"


def test_repr() -> None:
    assert repr(Value(2.0)) == "Value(data=2.0, grad=0.0)"
    v = Value(-3)
    v.grad = 0.25
    assert repr(v) == "Value(data=-3.0, grad=0.25)"


@pytest.mark.parametrize("scalar", [np.int64(3), np.float64(2.0), np.float32(2.0), np.int32(3)])
@pytest.mark.parametrize("f", [operator.add, operator.sub, operator.mul, operator.truediv,
                               operator.pow])
def test_numpy_scalars_on_the_left_give_a_value(scalar, f) -> None:
    v = Value(1.5)
    out = f(scalar, v)
    assert isinstance(out, Value)
    assert out.data == f(float(scalar), 1.5)
    out.backward()
    assert v.grad != 0.0


def test_numpy_operands_defer_to_the_values_operators(monkeypatch) -> None:
    """numpy defers to Value's operators (no ufunc call, which costs 20x an operation): a
    numpy scalar is a constant like a float; an array, even of size 1, is elementwise;
    np.exp on a Value calls its exp(), as on micrograd's plain class."""
    from fastgrad import elementwise
    v = Value(1.5)
    with monkeypatch.context() as m:
        m.setattr(elementwise, "with_array", lambda *a: pytest.fail("a scalar went elementwise"))
        for s in (np.int64(2), np.float64(2.0), np.float32(2.0)):
            for out in (s * v, s + v, s - v, s / v, s ** v, v * s, v - s):
                assert type(out) is Value and len(out._prev) == 1
    for arr in (np.array([2.0]), np.array([[2.0]])):
        for r in (arr * v, v * arr, arr + v, v - arr, arr ** v, arr / v):
            assert isinstance(r, np.ndarray) and r.dtype == object and r.shape == arr.shape
            assert type(r.flat[0]) is Value
    e = np.exp(v)
    assert type(e) is Value and e.data == v.exp().data


def test_value_pow_value_gradients() -> None:
    a, b = Value(2.0), Value(3.0)
    out = a ** b
    out.backward()
    assert out.data == 8.0
    assert a.grad == 3.0 * 2.0 ** 2
    assert b.grad == 8.0 * math.log(2.0)


# -- fused nodes ------------------------------------------------------------------------------

def test_sum_is_builtin_sum_in_one_node() -> None:
    xs = [Value(0.1), Value(0.2), Value(0.3)]
    s = fastgrad.sum([xs[0], 0.5, xs[1], xs[2]])
    assert s.data == 0.0 + 0.1 + 0.5 + 0.2 + 0.3 and s._op == "sum"
    assert s._prev == set(xs)
    s.backward()
    assert [x.grad for x in xs] == [1.0, 1.0, 1.0]
    assert fastgrad.sum(x for x in xs).data == 0.0 + xs[0].data + xs[1].data + xs[2].data
    assert fastgrad.sum([]).data == 0.0


builtin_sum = sum


def test_sum_counts_a_repeated_operand_twice() -> None:
    x = Value(1.5)
    s = fastgrad.sum([x, x, 2.0])
    s.backward()
    assert s.data == 5.0 and x.grad == 2.0


def test_sum_and_dot_take_any_iterables() -> None:
    a = Value(2.0)
    assert fastgrad.dot((v for v in [a]), iter([3.0]), 1.0).data == 7.0
    assert fastgrad.sum(v for v in [a, 1.0]).data == 3.0


def test_dot_is_micrograds_neuron_sum() -> None:
    ws = [Value(0.5), Value(-0.3)]
    xs = [Value(2.0), 3.0]
    b = Value(0.1)
    out = fastgrad.dot(ws, xs, b)
    assert out.data == 0.1 + 0.5 * 2.0 + -0.3 * 3.0
    assert out.data == builtin_sum((w * x for w, x in zip(ws, xs)), b).data
    out.backward()
    assert (ws[0].grad, ws[1].grad, xs[0].grad, b.grad) == (2.0, 3.0, 0.5, 1.0)
    assert fastgrad.dot([Value(2.0)], [Value(4.0)]).data == 8.0  # bias defaults to 0.0


@pytest.mark.parametrize("act", ACTS)
def test_layer_is_a_list_of_activated_dots(act: str) -> None:
    def f(v: Value) -> Value:
        return v if act == "linear" else ACTIVATIONS[act].make(fastgrad.engine, v)

    def make() -> tuple[list, list, list]:
        w = [[Value(0.2), Value(-0.4)], [Value(-0.7), Value(0.1)]]
        return w, [Value(0.05), Value(-0.2)], [1.5, Value(-2.0)]

    w, b, x = make()
    outs = fastgrad.layer(w, b, x, act)
    fastgrad.sum(outs).backward()
    # the same layer as micrograd writes it: scalar ops, left to right
    w2, b2, x2 = make()
    outs2 = [f(builtin_sum((wi * xi for wi, xi in zip(wj, x2)), bj)) for wj, bj in zip(w2, b2)]
    builtin_sum(outs2).backward()
    params = [p for row in w for p in row] + b + [x[1]]
    params2 = [p for row in w2 for p in row] + b2 + [x2[1]]
    assert [o.data for o in outs] == [o.data for o in outs2]
    assert [p.grad for p in params] == [p.grad for p in params2]
    assert any(p.grad != 0.0 for p in params)


def test_mlp_is_layers_in_turn() -> None:
    def make() -> list:
        return [([[Value(0.3), Value(-0.6)], [Value(0.8), Value(0.1)]], [Value(0.0), Value(0.2)],
                 "tanh"), ([[Value(-0.5), Value(0.7)]], [Value(0.05)], "linear")]

    layers = make()
    outs = fastgrad.engine.mlp(layers, [1.5, -0.5])
    outs[0].backward()
    layers2 = make()
    h = [1.5, -0.5]
    for w, b, act in layers2:
        h = fastgrad.layer(w, b, h, act)
    h[0].backward()
    assert [o.data for o in outs] == [o.data for o in h]
    grads = [p.grad for w, b, _ in layers for p in [*b, *(x for row in w for x in row)]]
    grads2 = [p.grad for w, b, _ in layers2 for p in [*b, *(x for row in w for x in row)]]
    assert grads == grads2 and any(grads)


def test_dense_is_a_reusable_layer() -> None:
    w = [[Value(0.3), Value(-0.6)], [Value(0.8), Value(0.1)]]
    b = [Value(0.0), Value(0.2)]
    dense = fastgrad.engine.Dense(w, b, "sigmoid")
    x1, x2 = [Value(1.5), -0.5], [0.25, Value(2.0)]
    got = dense(x1) + dense(x2)
    want = fastgrad.layer(w, b, x1, "sigmoid") + fastgrad.layer(w, b, x2, "sigmoid")
    assert [o.data for o in got] == [o.data for o in want]
    before = [o.data for o in dense(x1)]
    w[1][0] = Value(-2.0)  # the rows were copied when the Dense was made
    w[0][0].data = 0.5  # but data may change freely, as training does
    after = dense(x1)
    assert after[1].data == before[1] and after[0].data != before[0]
    assert after[0].data == fastgrad.layer(w, b, x1, "sigmoid")[0].data


# -- no_grad ----------------------------------------------------------------------------------

def test_no_grad_results_are_leaves() -> None:
    a = Value(2.0)
    assert fastgrad.is_grad_enabled()
    with fastgrad.no_grad():
        assert not fastgrad.is_grad_enabled()
        b = (a * 3.0).tanh()
        s = fastgrad.sum([a, b])
    assert fastgrad.is_grad_enabled()
    assert b.data == math.tanh(6.0) and b._prev == set() and b._op == ""
    assert s._prev == set()
    out = b * a
    out.backward()
    assert a.grad == b.data and b.grad == 2.0  # the no_grad leaf gets a grad of its own


def test_no_grad_nests_and_restores_after_exceptions() -> None:
    with fastgrad.no_grad():
        with fastgrad.no_grad():
            assert not fastgrad.is_grad_enabled()
        assert not fastgrad.is_grad_enabled()
    assert fastgrad.is_grad_enabled()
    with pytest.raises(ZeroDivisionError), fastgrad.no_grad():
        Value(1.0) / 0.0
    assert fastgrad.is_grad_enabled()
    assert (Value(1.0) * 2)._op == "*"


def test_no_grad_keeps_no_operand_alive() -> None:
    before = live()
    with fastgrad.no_grad():
        a = Value(1.0)
        b = a * 2.0 + 1.0
    del a
    assert live() == before + 1 and b.data == 3.0
    del b
    assert live() == before


# -- backward ---------------------------------------------------------------------------------

def test_backward_sets_root_grad_to_one() -> None:
    x = Value(3.0)
    y = x * x
    y.grad = 5.0
    y.backward()
    assert y.grad == 1.0 and x.grad == 6.0
    leaf = Value(1.0)
    leaf.backward()
    assert leaf.grad == 1.0


def test_backward_accumulates_micrograd_style() -> None:
    # every node keeps its grad; a second backward adds a fresh pass on top, so nodes
    # that already hold a grad pass on their accumulated total (micrograd's rule)
    x = Value(2.0)
    y = x * 3.0
    z = y * 5.0
    z.backward()
    assert (x.grad, y.grad, z.grad) == (15.0, 5.0, 1.0)
    z.backward()
    assert (x.grad, y.grad, z.grad) == (15.0 + 30.0, 10.0, 1.0)


def test_shared_subexpressions_accumulate_every_path() -> None:
    a = Value(2.0)
    b = a * a  # a twice in one node
    c = b + a  # a again through another node
    d = c * b  # b on two paths
    d.backward()
    # d = (a^2 + a) a^2 = a^4 + a^3; dd/da = 4a^3 + 3a^2
    assert a.grad == 4 * 8.0 + 3 * 4.0
    assert b.grad == c.data + b.data


def test_diamond_visits_each_node_once() -> None:
    x = Value(0.5)
    top = x.tanh()
    left, right = top * 2.0, top * 3.0
    out = left + right
    out.backward()
    assert top.grad == 5.0
    assert x.grad == 5.0 * (1.0 - top.data * top.data)


def test_zero_grad_resets_only_that_value() -> None:
    a, b = Value(1.0), Value(2.0)
    (a * b).backward()
    a.zero_grad()
    assert a.grad == 0.0 and b.grad == 1.0


# -- lifetime ---------------------------------------------------------------------------------

def test_live_nodes_go_back_after_del() -> None:
    before = live()
    x = Value(1.0)
    y = x
    for _ in range(100):
        y = (y * 1.01 + 0.5).tanh()
    y.backward()
    assert live() >= before + 301
    stats = fastgrad.stats()
    assert set(stats) >= {"live_nodes", "bytes"} and stats["bytes"] > 0
    del y
    assert live() == before + 1  # x
    del x
    assert live() == before


def test_a_kept_intermediate_keeps_its_subgraph_and_nothing_else() -> None:
    before = live()
    a = Value(1.0)
    b = a * 2.0
    c = b + 1.0
    d = c * c
    del a, b, d
    assert live() == before + 3  # c, b, a
    assert c.data == 3.0 and next(iter(c._prev)).data == 2.0
    del c
    assert live() == before
