"""fastgrad.compile: record a graph once, replay its forward and backward every step.

Backend-neutral: the Replay of the engine the Values belong to (csrc/replay.c under
fastgrad/_replay.pxi, or fastgrad/pure/replay.py) holds the recorded order and runs
it; this module matches forward's arrays to the input leaves and checks them before
anything changes.
"""
from __future__ import annotations

import functools
import sys
from collections.abc import Sequence
from typing import Any, Callable

import numpy as np

from fastgrad import checks

__all__ = ["compile", "CompiledStep"]


class CompiledStep:
    """A recorded graph (made by `fastgrad.compile`): `forward(*arrays)` writes the
    inputs' data from `arrays` (one per input, each of that input's shape), then
    recomputes every node from the leaves as they are now (with no arrays, recomputes
    only); `backward()` accumulates grads as `outputs.backward()` does, from the last
    forward's values.

    A math error in `forward` raises what the dynamic path raises and leaves every leaf
    but the inputs as it was; wrong shapes or non-numbers raise before anything
    changes. The original Values read the replayed data and grads. The step owns the
    nodes it replays: they live while it lives, and go when it is dropped.

    Threads: a replay of 2048 nodes or more lets the GIL go (docs/compile.md says
    what other threads may do meanwhile); the step runs one call at a time.

    A step is an instance of its engine's step type (_step_type): this class and the
    engine's Replay, whose own methods are the step's forward and backward.
    """

    forward: Callable[..., None]
    backward: Callable[[], None]

    def __new__(cls, outputs: Any, inputs: Sequence[Any] = ()) -> CompiledStep:
        if cls is CompiledStep:
            cls = _step_type(_engine(_listed(outputs)[0]))
        return super().__new__(cls)

    def __init__(self, outputs: Any, inputs: Sequence[Any] = ()) -> None:
        self.outputs: list[Any] = _listed(outputs)
        engine = _engine(self.outputs[0])
        if _engine(inputs) is not None or not isinstance(inputs, (list, tuple)):
            raise TypeError("compile: inputs must be a list of leaf Values or nested lists "
                            f"of them, not {type(inputs).__name__}")
        self.inputs = list(inputs)
        self._shapes: list[tuple[int, ...]] = []
        leaves: list[Any] = []
        nesting = _arrays(engine)._leaves
        for item in self.inputs:
            vs, shape = nesting(item)
            leaves += vs
            self._shapes.append(shape)
        if len({id(v) for v in leaves}) != len(leaves):
            raise ValueError("compile: a leaf Value appears more than once in inputs")
        super().__init__(self.outputs, leaves,  # type: ignore[call-arg]
                         functools.partial(_pack, tuple(self._shapes)))

    def __repr__(self) -> str:
        return f"CompiledStep(outputs={len(self.outputs)}, inputs={self._shapes})"


@functools.cache
def _step_type(engine: Any) -> type[CompiledStep]:
    """The steps of engine: CompiledStep over its Replay, forward and backward the
    Replay's own run and backward, set on the type (engine._step_methods): bound
    methods set on each step would cost a lookup in its dict at every call."""
    cls: Any = type("CompiledStep", (CompiledStep, engine.Replay),
               {"__module__": __name__, "__qualname__": "CompiledStep"})
    cls.forward, cls.backward = engine._step_methods(cls)
    return cls


def _listed(outputs: Any) -> list[Any]:
    """compile's outputs as a non-empty list of Values of one engine (checked by its
    Replay)."""
    if _engine(outputs) is not None:
        listed = [outputs]
    elif isinstance(outputs, (list, tuple)):
        listed = list(outputs)
    else:
        raise TypeError("compile: outputs must be a Value or a list of Values, not "
                        f"{type(outputs).__name__}")
    if not listed:
        raise ValueError("compile: no outputs to record")
    if _engine(listed[0]) is None:
        raise checks.not_a_value(listed[0])
    return listed


def _pack(shapes: tuple[tuple[int, ...], ...], *arrays: Any) -> np.ndarray:
    """forward's arrays, checked against the inputs' shapes, as one float64 vector."""
    if len(arrays) != len(shapes):
        raise TypeError(f"step.forward takes {len(shapes)} arrays (one per input), got "
                        f"{len(arrays)}")
    parts = [checks.real_array(a, shape, f"input {k}", "step.forward").ravel()
             for k, (a, shape) in enumerate(zip(arrays, shapes))]
    return np.ascontiguousarray(np.concatenate(parts) if parts else np.empty(0))


def _engine(v: Any) -> Any:
    """The engine module (fastgrad._core or fastgrad.pure.engine) whose Value v is; None
    if v is no Value."""
    module = sys.modules.get(type(v).__module__)
    return module if getattr(module, "Value", None) is type(v) and hasattr(
        module, "Replay") else None


def _arrays(engine: Any) -> Any:
    """The arrays module (its nesting helpers) bound to engine."""
    import fastgrad.pure.engine
    if engine is fastgrad.pure.engine:
        import fastgrad.pure.arrays
        return fastgrad.pure.arrays
    import fastgrad.arrays
    return fastgrad.arrays


def compile(outputs: Any, inputs: Sequence[Any] = ()) -> CompiledStep:  # noqa: A001
    """Record the graph below `outputs` (a Value or a list of Values) for replay.

    `inputs`: a list whose items are leaf Values or nested lists of them, matched one to
    one with `forward`'s arguments; every other leaf below `outputs` is a parameter,
    read as it is at each `forward()`. What Python decided while the graph was built
    (an `if` on a Value's data, a loop's length) is fixed in the recording, as with
    `torch.jit.trace`. See CompiledStep for the step's methods and for threads.
    """
    return CompiledStep(outputs, inputs)
