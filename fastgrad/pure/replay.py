"""Recorded graphs, replayed: the readable reference of csrc/replay.c.

A Replay keeps the graph below its outputs in topological order. Its forward writes
the inputs' data and recomputes each node by its `_recompute` (the op's forward rule
on its operands as they are now), each node's grad zero, as a fresh graph's; its
backward runs backward()'s sweep over each output's recorded order, with the very
closures a backward() would call. So a replayed step is, bit for bit, the graph built
again on the same leaves.
"""
from __future__ import annotations

from typing import Any
from collections.abc import Callable, Sequence

from fastgrad import checks
from fastgrad.pure.engine import Value, _run_closure
from fastgrad.pure.sweep import sweep, topological_order


def replayable(node: Value) -> bool:
    """Can a replay recompute node: not a custom node, whose forward is user code?"""
    return node._local is not _run_closure


class Replay:
    """The graph below `outputs` recorded once: forward(values) writes the input
    leaves' data (a float64 vector, or None) and recomputes every node; run(*arrays)
    is forward(pack(*arrays)), forward(None) with no arrays; backward() sweeps from
    each output in turn. Holds every node it names."""

    def __init__(self, outputs: list[Any], inputs: list[Any],
                 pack: Callable[..., Sequence[float]] | None = None) -> None:
        for v in [*outputs, *inputs]:
            if not isinstance(v, Value):
                raise checks.not_a_value(v)
        for k, v in enumerate(inputs):
            if v._children or not replayable(v):  # (a custom node without children)
                raise checks.input_not_a_leaf(k)
        self._roots: list[Value] = list(outputs)
        self._inputs: list[Value] = list(inputs)
        self._orders = [topological_order(root) for root in self._roots]  # for the sweeps
        seen: set[Value] = set()
        self._nodes: list[Value] = []  # every node but the leaves once, operands first
        for order in self._orders:
            for node in order:  # (an empty sum has no operands, and is no leaf)
                if node not in seen and (node._children or node._rule is not None
                                         or not replayable(node)):
                    seen.add(node)
                    self._nodes.append(node)
        for node in self._nodes:
            if not replayable(node):
                raise checks.not_replayable(node._op, node._label)
        self._failed = False
        self._pack = pack

    def forward(self, values: Sequence[float] | None = None) -> None:
        if values is not None:
            if len(values) != len(self._inputs):
                raise ValueError(f"Replay.forward: expected {len(self._inputs)} values, "
                                 f"got {len(values)}")
            for v, x in zip(self._inputs, values):
                v._data = float(x)
        self._failed = True
        for node in self._nodes:
            node._recompute()
            node._grad = 0.0
        self._failed = False

    def run(self, *arrays: Any) -> None:
        """forward(pack(*arrays)), or forward(None) with no arrays: a CompiledStep's
        forward (_step_methods)."""
        if not arrays:
            Replay.forward(self, None)
            return
        if self._pack is None:
            raise TypeError("Replay.run: arrays given, but the Replay has no pack")
        Replay.forward(self, self._pack(*arrays))  # (a step's own forward is this one)

    def backward(self) -> None:
        if self._failed:
            raise checks.replay_failed()
        for root, order in zip(self._roots, self._orders):
            sweep(root, order)

    def _batches(self) -> int:
        """None: the reference replays node by node (the compiled core batches a
        network's calls, with the same numbers)."""
        return 0

    def _plan(self) -> list[tuple[bool, int, bool]]:
        """No batch (see _batches)."""
        return []


def _step_methods(cls: type) -> tuple[Callable[..., None], Callable[..., None]]:
    """A step type's forward and backward (fastgrad/compiled.py), as the compiled core's
    _step_methods: Replay's run and backward."""
    return Replay.run, Replay.backward
