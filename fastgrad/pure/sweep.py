"""backward()'s walk and sweep over the pure backend's graph (the twin of csrc/sweep.c):
the topological order below a root, and the sweep of the local backwards over it."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastgrad.pure.engine import Value


def topological_order(root: Value) -> list[Value]:
    """Depth-first post-order from root, children in operand order, without recursion."""
    topo: list[Value] = []
    visited = {root}
    stack = [(root, iter(root._children))]
    while stack:
        node, children = stack[-1]
        for child in children:
            if child not in visited:
                visited.add(child)
                stack.append((child, iter(child._children)))
                break
        else:
            stack.pop()
            topo.append(node)
    return topo


def sweep(root: Value, topo: list[Value]) -> None:
    """backward()'s sweep over root's topological order: root's grad set to 1, then
    every node's closure from the top (a replay runs it over its recorded order)."""
    root._grad = 1.0
    for node in reversed(topo):
        node._local(node)
