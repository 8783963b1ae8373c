"""micrograd's constructor and custom ops, on both backends:
Value(data, _children, _op) with a `_backward` closure, exactly as lectures write them,
takes part in every graph (fused nodes on either side), in backward() (iteratively),
in _prev/_op, pickling and copy; built-in nodes have micrograd's `_backward()` too.
Custom nodes' facades live as long as a user needs them, and are freed by the collector."""
from __future__ import annotations

import copy
import gc
import math
import pickle
import random
import weakref
from typing import Any, Callable

import pytest

import fastgrad
from fastgrad import Value, nn

pytestmark = pytest.mark.sanitize  # custom nodes drive the store's pins and hooks


@pytest.fixture(autouse=True, scope="module")
def _collect_custom_graphs() -> Any:
    """Leave no garbage behind: a dropped graph with custom nodes behind built-in ones
    takes a collection per such layer, which would otherwise come in a later module."""
    yield
    while gc.collect():
        pass


def lecture_ops(V: type) -> dict[str, Callable[[Any], Any]]:
    """tanh, exp and relu as Karpathy's lecture and micrograd's README write them, on the
    Value class V (fastgrad's or micrograd's)."""

    def tanh(self: Any) -> Any:
        x = self.data
        t = (math.exp(2 * x) - 1) / (math.exp(2 * x) + 1)
        out = V(t, (self,), 'tanh')

        def _backward() -> None:
            self.grad += (1 - t**2) * out.grad
        out._backward = _backward
        return out

    def exp(self: Any) -> Any:
        x = self.data
        out = V(math.exp(x), (self,), 'exp')

        def _backward() -> None:
            self.grad += out.data * out.grad
        out._backward = _backward
        return out

    def relu(self: Any) -> Any:
        out = V(0 if self.data < 0 else self.data, (self,), 'ReLU')

        def _backward() -> None:
            self.grad += (out.data > 0) * out.grad
        out._backward = _backward
        return out

    return {"tanh": tanh, "exp": exp, "relu": relu}


CUSTOM = lecture_ops(Value)
BUILTIN: dict[str, Callable[[Any], Any]] = {
    "tanh": lambda v: v.tanh(), "exp": lambda v: v.exp(), "relu": lambda v: v.relu()}


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-300)


def mixed(ops: dict[str, Callable[[Any], Any]]) -> tuple[Value, list[Value]]:
    """A graph with custom (or built-in) ops below and above fused nodes: a fused MLP
    call on tanh'd inputs, a dot, a sum, a network head fed through exp and relu."""
    random.seed(3)
    model = nn.MLP(3, [4, 4, 2])
    xs = [Value(x) for x in (0.5, -1.2, 2.0)]
    h = [ops["tanh"](x * 0.7) for x in xs]
    y = model(h)
    d = fastgrad.dot(h, xs, 0.1)
    z = ops["relu"](d) + ops["exp"](y[0] * 0.3) - ops["tanh"](y[1])
    loss = fastgrad.sum([z, ops["tanh"](fastgrad.sum(h)), ops["exp"](-d)]) * 2.0
    return loss, xs + model.parameters()


def test_lecture_ops_give_the_builtin_ops_numbers_in_a_mixed_graph() -> None:
    loss, leaves = mixed(CUSTOM)
    loss.backward()
    ref, ref_leaves = mixed(BUILTIN)
    ref.backward()
    assert close(loss.data, ref.data)
    for a, b in zip(leaves, ref_leaves):
        assert close(a.grad, b.grad), (a, b)
    assert any(v.grad != 0.0 for v in leaves)


def test_lecture_ops_agree_with_micrograd() -> None:
    mg = pytest.importorskip("micrograd.engine")

    def program(V: type) -> tuple[Any, list[Any]]:
        ops = lecture_ops(V)
        a, b, c = V(0.8), V(-1.5), V(0.3)
        e = ops["tanh"](a * b + c)
        f = ops["exp"](e * a) + ops["relu"](b + 2.0) * e
        g = ops["tanh"](f * c - a) + f ** 2
        return g, [a, b, c]

    out, leaves = program(Value)
    want, want_leaves = program(mg.Value)
    out.backward()
    want.backward()
    assert close(out.data, want.data)
    for v, w in zip(leaves, want_leaves):
        assert close(v.grad, w.grad), (v, w)


def test_prev_op_operands_and_label() -> None:
    x, w = Value(0.5), Value(2.0)
    out = Value(x.data * w.data, (x, w), '*', label='xw')
    assert out._prev == {x, w} and out._op == '*' and out.label == 'xw'
    assert out._operands == (x, w)
    assert Value(1.0, (x,), 'f', 'pos').label == 'pos'  # the lecture's 4th positional
    t = CUSTOM["tanh"](x)
    assert t._op == 'tanh' and t._prev == {x} and t.data == pytest.approx(math.tanh(0.5))
    leaf = Value(3.0, [], '')
    assert leaf._prev == set() and leaf._op == ''


def test_children_may_be_any_iterable_of_values() -> None:
    x, y = Value(1.0), Value(2.0)
    for kids in [(x, y), [x, y], {x: 0, y: 0}, iter([x, y]), (v for v in (x, y))]:
        out = Value(3.0, kids, '+')
        assert out._prev == {x, y}


def test_a_node_without_a_backward_passes_nothing_back() -> None:
    x = Value(1.5)
    out = Value(3.0, (x,), 'f')
    out._backward()  # micrograd's default: a no-op
    (out * 2.0).backward()
    assert x.grad == 0.0 and out.grad == 2.0


def test_backward_calls_closures_in_topological_order() -> None:
    calls: list[str] = []
    x = Value(1.0)

    def node(name: str, kids: tuple) -> Value:
        out = Value(1.0, kids, name)

        def _backward() -> None:
            calls.append(name)
            for k in kids:
                k.grad += out.grad
        out._backward = _backward
        return out

    a = node("a", (x,))
    b = node("b", (a, x))
    c = node("c", (a, b))
    (c * 1.0 + fastgrad.sum([b, a])).backward()
    assert calls == ["c", "b", "a"]
    assert (c.grad, b.grad, a.grad, x.grad) == (1.0, 2.0, 4.0, 6.0)


def test_a_deep_chain_of_custom_nodes_needs_no_recursion() -> None:
    def scale(self: Value) -> Value:
        out = Value(self.data * 0.9999, (self,), 'scale')

        def _backward() -> None:
            self.grad += 0.9999 * out.grad
        out._backward = _backward
        return out

    n = 10 ** 5
    x = Value(0.3)
    z = x
    for _ in range(n):
        z = scale(z)
    z.backward()
    assert close(x.grad, 0.9999 ** n)
    base = fastgrad.stats()["live_nodes"]
    del z
    gc.collect()  # one cycle of facades: one collection frees the whole chain
    assert fastgrad.stats()["live_nodes"] == base - n


def test_an_exception_in_a_closure_comes_out_of_backward() -> None:
    x = Value(2.0)
    out = Value(4.0, (x,), 'sq')

    def fails() -> None:
        raise ValueError("closure failed")
    out._backward = fails
    y = out * 3.0
    with pytest.raises(ValueError, match="closure failed"):
        y.backward()
    assert y.grad == 1.0 and out.grad == 3.0 and x.grad == 0.0  # swept up to the closure

    def works() -> None:
        x.grad += 2 * x.data * out.grad
    out._backward = works
    y.backward()
    assert x.grad == 2 * 2.0 * 6.0  # out's grad accumulated: 3 + 3


def test_a_closure_may_build_graphs_call_backward_and_drop_values() -> None:
    x = Value(0.7)
    keep: list[Value] = []
    root: list[Value] = []

    def _backward() -> None:
        # enough new nodes to grow (and move) the store's arrays, then drop them (a trim)
        keep.extend(Value(float(i)) for i in range(200_000))
        inner = Value(3.0) * Value(2.0)
        inner.backward()
        keep.clear()
        root[0].__init__(-1.0)  # the graph's root no longer names its node
        x.grad += (1 - out.data ** 2) * out.grad + inner.grad
    out = Value(math.tanh(x.data), (x,), 'tanh')
    out._backward = _backward
    y = fastgrad.sum([out * 2.0, x])
    root.append(y)
    base = fastgrad.stats()["live_nodes"]
    y.backward()
    assert close(x.grad, 2.0 * (1 - math.tanh(0.7) ** 2) + 1.0 + 1.0)
    assert y.data == -1.0 and fastgrad.stats()["live_nodes"] < base  # its old graph freed


def test_a_closure_may_run_backward_on_the_graph_being_swept() -> None:
    x = Value(1.5)
    out = Value(3.0, (x,), 'double')
    nested: list[bool] = []

    def _backward() -> None:
        if not nested:  # once: out.backward() inside the sweep that is passing through out
            nested.append(True)
            out.backward()  # sets out.grad to 1 and passes it on: x gets 2 here
        x.grad += 2.0 * out.grad
    out._backward = _backward
    y = out * 4.0
    y.backward()
    assert (y.grad, out.grad, x.grad) == (1.0, 1.0, 4.0)  # out's 4 was reset by the inner


def test_dropped_facades_keep_their_closures_while_needed_then_are_collected() -> None:
    gc.collect()
    base = fastgrad.stats()["live_nodes"]
    x = Value(0.4)
    tanh = CUSTOM["tanh"]
    facades = []
    for _ in range(50):
        out = tanh(x * 2.0)
        y = fastgrad.sum([out * 3.0, x]) + tanh(out)
        facades.append(weakref.ref(out))
        del out  # the user drops the custom node: its consumers still need its closure
        gc.collect()
        x.grad = 0.0
        y.backward()
        t = math.tanh(0.8)
        assert close(x.grad, (3.0 + (1 - math.tanh(t) ** 2)) * (1 - t ** 2) * 2.0 + 1.0)
        del y
    while gc.collect():  # one collection per layer of custom nodes behind built-in ones
        pass
    assert all(r() is None for r in facades)
    assert fastgrad.stats()["live_nodes"] == base + 1  # x


@pytest.mark.parametrize("operands", ["custom, custom", "custom twice", "custom, built-in",
                                      "built-in, custom"])
def test_a_dying_builtin_node_lets_go_of_its_custom_operands_closures(operands: str) -> None:
    """The release frees a dead scalar node's operands in bulk: a custom operand that
    lives on is looked at there (its closure is no longer needed by a built-in node),
    and the node's other operand is still let go of."""
    gc.collect()
    base = fastgrad.stats()["live_nodes"]
    x = Value(0.3)
    tanh = CUSTOM["tanh"]
    c, d = tanh(x), tanh(x * 2.0)
    facades = [weakref.ref(c), weakref.ref(d)]
    if operands == "custom, custom":
        p = c * d
    elif operands == "custom twice":
        p = c * c
    elif operands == "custom, built-in":
        p = c * (x + 1.0)
    else:
        p = (x + 1.0) * d
    del c, d  # p, a built-in node, still needs the closures of those it names
    gc.collect()
    p.backward()
    assert x.grad != 0.0
    del p
    while gc.collect():
        pass
    assert all(r() is None for r in facades)
    assert fastgrad.stats()["live_nodes"] == base + 1  # x


def test_a_custom_node_pickles_and_copies_as_a_builtin_node_does() -> None:
    x = Value(0.5, label='x')
    for node in (CUSTOM["tanh"](x), x.tanh()):
        node.grad = 0.25
        node.label = 'n'
        for twin in (pickle.loads(pickle.dumps(node)), copy.copy(node), copy.deepcopy(node)):
            assert type(twin) is type(x)
            assert (twin.data, twin.grad, twin.label) == (node.data, 0.25, 'n')
            assert twin._prev == set() and twin._op == ''


def test_compile_refuses_a_graph_with_a_custom_node_naming_it() -> None:
    x, w = Value(0.5), Value(-1.0)
    h = CUSTOM["tanh"](x * w)
    h.label = 'hidden'
    y = fastgrad.sum([h * 2.0, w])
    with pytest.raises(ValueError, match="custom node \\('tanh', label 'hidden'\\)"):
        fastgrad.compile([y], inputs=[x])
    with pytest.raises(ValueError, match="custom node \\('exp'\\)"):
        fastgrad.compile([CUSTOM["exp"](x) + 1.0], inputs=[x])
    with pytest.raises(ValueError, match="not a leaf|leaf"):
        fastgrad.compile([h * 1.0], inputs=[Value(1.0, (), 'c')])


def _micrograd_order(root: Value) -> list[Value]:
    """micrograd's topological sort, over the operands in order (so the grads add up in
    the order backward() adds them)."""
    topo: list[Value] = []
    seen: set[Value] = set()
    stack: list[tuple[Value, bool]] = [(root, False)]
    while stack:
        v, done = stack.pop()
        if done:
            topo.append(v)
        elif v not in seen:
            seen.add(v)
            stack.append((v, True))
            kids = [k for k in v._operands if isinstance(k, Value)]
            stack.extend((k, False) for k in reversed(kids))
    return topo


def _lecture_neuron() -> tuple[Value, list[Value]]:
    x1, x2 = Value(2.0, label='x1'), Value(0.0, label='x2')
    w1, w2 = Value(-3.0, label='w1'), Value(1.0, label='w2')
    b = Value(6.8813735870195432, label='b')
    n = x1 * w1 + x2 * w2 + b
    return n.tanh(), [x1, x2, w1, w2, b]


def test_backward_by_hand_on_builtin_nodes_as_the_lecture_does() -> None:
    o, leaves = _lecture_neuron()
    n = next(iter(o._prev))
    o.grad = 1.0
    o._backward()
    assert n.grad == pytest.approx(0.5)
    for node in reversed(_micrograd_order(o)[:-1]):  # o's already done
        node._backward()
    ref, ref_leaves = _lecture_neuron()
    ref.backward()
    assert [v.grad for v in leaves] == [v.grad for v in ref_leaves]


@pytest.mark.parametrize("ops", [CUSTOM, BUILTIN], ids=["custom", "builtin"])
def test_backward_by_hand_matches_backward_on_fused_graphs(ops: dict) -> None:
    loss, leaves = mixed(ops)
    loss.grad = 1.0
    for node in reversed(_micrograd_order(loss)):
        node._backward()
    by_hand = [v.grad for v in leaves]
    ref, ref_leaves = mixed(ops)
    ref.backward()
    assert by_hand == [v.grad for v in ref_leaves]


def test_no_grad_makes_a_custom_op_a_leaf() -> None:
    x = Value(0.5)
    with fastgrad.no_grad():
        out = CUSTOM["tanh"](x)  # the closure is taken, and never called
    assert out._prev == set() and out._op == ''
    (out * 2.0).backward()
    assert x.grad == 0.0


def test_a_custom_node_cannot_be_made_again() -> None:
    x = Value(1.0)
    out = Value(2.0, (x,), 'f')
    with pytest.raises(TypeError, match="cannot be made again"):
        out.__init__(3.0)
    with pytest.raises(TypeError, match="cannot be made again"):
        x.__init__(3.0, (Value(1.0),), 'g')
    assert out._prev == {x} and x.data == 1.0


def test_recompute_keeps_a_custom_nodes_data() -> None:
    x = Value(1.0)
    out = Value(5.0, (x,), 'f')
    x.data = 2.0
    out._recompute()
    assert out.data == 5.0


class Named(Value):
    """A subclass as micrograd extensions write one: its own __init__ passing the
    children and op on, and its ops making instances of itself."""

    def __init__(self, data: float, _children: tuple = (), _op: str = "", name: str = "") -> None:
        super().__init__(data, _children, _op)
        self.name = name


NAMED = lecture_ops(Named)


def test_a_subclass_makes_custom_nodes() -> None:
    mine, want = mixed(NAMED), mixed(CUSTOM)
    mine[0].backward()
    want[0].backward()
    assert mine[0].data == want[0].data
    assert [v.grad for v in mine[1]] == [v.grad for v in want[1]]
    t = NAMED["tanh"](Named(0.3, name="x"))
    assert type(t) is Named and t._op == "tanh" and [c.name for c in t._prev] == ["x"]


def test_a_subclass_graph_of_custom_nodes_is_collected() -> None:
    while gc.collect():
        pass
    base = fastgrad.stats()["live_nodes"]
    refs = []
    for k in range(30):
        a = Named(0.1 * k)
        y = fastgrad.sum([NAMED["tanh"](NAMED["exp"](a)), a]) * 2.0
        y.backward()
        refs.append(weakref.ref(y._prev.pop()))
        del a, y
    while gc.collect():
        pass
    assert all(r() is None for r in refs)
    assert fastgrad.stats()["live_nodes"] == base


@pytest.mark.parametrize("call", ["vectorcall", "type.__call__", "keywords"])
def test_every_way_of_calling_value_makes_a_whole_custom_node(call: str) -> None:
    """Value() reached through its vectorcall, through type.__call__ (tp_new: what
    Python 3.9 and heap-type builds use) and with keyword arguments."""
    x = Value(1.5)
    make = {"vectorcall": lambda: Value(2.0, (x,), "op", label="L"),
            "type.__call__": lambda: type.__call__(Value, 2.0, (x,), "op", label="L"),
            "keywords": lambda: Value(2.0, _children=[x], _op="op", label="L")}[call]
    o = make()

    def _backward() -> None:
        x.grad += 3.0 * o.grad
    o._backward = _backward
    o.backward()
    assert (x.grad, o._op, o.label, o._prev) == (3.0, "op", "L", {x})
