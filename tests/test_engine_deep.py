"""Deep graphs: no recursion limit anywhere (forward, backward, release)."""
from __future__ import annotations

import sys

import pytest

import fastgrad
from fastgrad import Value

pytestmark = pytest.mark.usefixtures("fresh_heap")


def live() -> int:
    return fastgrad.stats()["live_nodes"]


def test_million_operation_chain_runs_backward_and_is_released() -> None:
    n = 500_000  # two ops per round: 10^6 nodes
    scale, shift = 1.0000001, -1e-7
    before = live()
    x = Value(0.5)
    y = x
    for _ in range(n):
        y = y * scale + shift
    assert live() == before + 1 + 2 * n
    y.backward()
    # the same arithmetic on floats, in the order the sweep does it
    data, grad = 0.5, 1.0
    for _ in range(n):
        data = data * scale + shift
        grad = scale * grad
    assert y.data == data and x.grad == grad
    del y
    assert live() == before + 1
    del x
    assert live() == before


def test_deep_chain_with_shared_operands() -> None:
    # every node uses its predecessor twice: 2^depth paths, one visit per node
    depth = 20_000
    before = live()
    x = Value(0.3)
    y = x
    for _ in range(depth):
        y = (y + y) * 0.5
    y.backward()
    assert y.data == 0.3 and x.grad == 1.0
    del x, y
    assert live() == before


def test_deep_chain_naming_one_node_below_it_at_every_step() -> None:
    # the walk descends the chain first, so every step leaves c to enter on the stack:
    # a stack deeper than the graph has nodes, which grows as the walk goes
    from fastgrad import pure
    grads = []
    for V in (Value, pure.Value):
        x = V(0.3)
        c = x * 2.0
        y = x
        for _ in range(40_000):
            y = y * 0.5 + c
        y.backward()
        grads.append(x.grad)
        del x, c, y
    assert grads[0] == grads[1] and abs(grads[0] - 4.0) < 1e-12


def test_deep_chain_released_without_backward() -> None:
    before = live()
    y = Value(1.0)
    for _ in range(3 * sys.getrecursionlimit() + 100_000):
        y = (y + 1.0).relu()
    assert y.data > 100_000
    del y
    assert live() == before


def test_deep_chain_of_fused_nodes() -> None:
    before = live()
    w = Value(0.5)
    y = Value(1.0)
    for _ in range(50_000):
        y = fastgrad.dot([w], [y], 0.25)
    y.backward()
    assert y.data == 0.5  # the fixed point of 0.5*y + 0.25
    assert w.grad > 0.0
    del y, w
    assert live() == before
