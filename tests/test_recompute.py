"""The compiled core's forward by node (what a replay of a recorded graph runs per node):
recomputing every node in topological order after the leaves change gives, bit for bit,
the graph built afresh on the new leaves; a failing op raises and changes nothing."""
from __future__ import annotations

import math
import random
from typing import Any, Callable

import pytest

from fastgrad import engine

if engine.backend != "fast":
    pytest.skip("the forward by node is the compiled core's", allow_module_level=True)

from fastgrad.engine import Dense, Network, Value  # noqa: E402

# every op code the facade makes, on leaves a, b (b > 0)
PROGRAMS: dict[str, Callable[[Value, Value], Any]] = {
    "add": lambda a, b: a + b, "addc": lambda a, b: a + 1.5, "sub": lambda a, b: a - b,
    "rsubc": lambda a, b: 2.0 - a, "mul": lambda a, b: a * b, "mulc": lambda a, b: a * -3.0,
    "div": lambda a, b: a / b, "divc": lambda a, b: a / 7.0, "rdivc": lambda a, b: 3.0 / b,
    "pow": lambda a, b: b ** a, "powc": lambda a, b: a ** 3, "rpowc": lambda a, b: 2.0 ** a,
    "relu": lambda a, b: a.relu(), "tanh": lambda a, b: a.tanh(),
    "sigmoid": lambda a, b: a.sigmoid(), "exp": lambda a, b: a.exp(),
    "log": lambda a, b: b.log(), "sqrt": lambda a, b: b.sqrt(), "abs": lambda a, b: abs(a),
    "sum": lambda a, b: engine.sum([a, 2.0, b, a]),
    "dot": lambda a, b: engine.dot([a, 0.5, b], [b, a, 1.25], a),
    "chain": lambda a, b: ((a * b + a).tanh() * b - a / b).relu() + (a * a).exp(),
}


def test_every_op_with_operands_is_recomputed_here() -> None:
    from fastgrad._core import op_table
    fused = {"net", "head"}  # a network call's nodes: the test below
    user = {"custom"}  # its forward is user code: a replay refuses it (test_custom_ops)
    assert {code for code, _, arity in op_table() if arity != 0} - fused - user <= set(PROGRAMS)


def _order(root: Value) -> list[Value]:
    """Every node below root, operands before the nodes using them."""
    order: list[Value] = []
    seen: set[int] = set()
    stack: list[tuple[Value, bool]] = [(root, False)]
    while stack:
        v, done = stack.pop()
        if done:
            order.append(v)
        elif id(v) not in seen:
            seen.add(id(v))
            stack.append((v, True))
            stack.extend((c, False) for c in v._prev)
    return order


def _replay(root: Value) -> None:
    for v in _order(root):
        v._recompute()


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_recomputing_in_order_is_building_afresh(name: str) -> None:
    build = PROGRAMS[name]
    a, b = Value(0.75), Value(1.5)
    out = build(a, b)
    a.data, b.data = -0.3, 2.25
    _replay(out)
    assert out.data == build(Value(-0.3), Value(2.25)).data


def test_a_network_call_recomputes_its_hidden_layers_and_heads() -> None:
    rng = random.Random(5)

    def dense(nin: int, nout: int, act: str) -> Dense:
        return Dense([[Value(rng.uniform(-1, 1)) for _ in range(nin)] for _ in range(nout)],
                     [Value(rng.uniform(-1, 1)) for _ in range(nout)], act)

    denses = [dense(2, 5, "tanh"), dense(5, 4, "relu"), dense(4, 3, "sigmoid")]
    x = [Value(0.2), Value(-0.6)]
    outs = Network(denses)(x)
    for v in x + [w for d in denses for row in d.weights for w in row]:
        v.data = v.data * 0.5 + 0.125
    for head in outs:
        _replay(head)
    fresh = Network(denses)([Value(v.data) for v in x])
    assert [h.data for h in outs] == [h.data for h in fresh]


def test_a_failing_op_raises_and_keeps_its_data() -> None:
    a, b = Value(1.0), Value(2.0)
    q, root = a / b, b.log()
    b.data = 0.0
    with pytest.raises(ZeroDivisionError):
        q._recompute()
    with pytest.raises(ValueError, match="math domain error"):
        root._recompute()
    assert q.data == 0.5 and root.data == math.log(2.0)


def test_a_leaf_keeps_its_data() -> None:
    a = Value(3.5)
    a._recompute()
    assert a.data == 3.5
