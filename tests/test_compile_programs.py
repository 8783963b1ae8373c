"""Replay against rebuild, over random programs: a graph recorded on some leaf data,
replayed on other data, holds bit for bit what the same program built afresh on that
data holds, in data and in every grad (interior nodes included), after one backward
and after a repeated one; on each backend, so fast and pure agree too."""
from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from hypothesis import assume, given, strategies as st

from programs import (EngineExecutor, Member, Program, Run, fuzz_settings, numbers, programs,
                      same_float)

import fastgrad.pure.engine as pure

try:
    import fastgrad._core as fast
    ENGINES: list[Any] = [pure, fast]
except ImportError:  # no compiled core: the pure reference alone
    ENGINES = [pure]


def _build(program: Program, leaves: list[float]) -> tuple[Run, list[list[Any]]]:
    """The program's build steps on `leaves` on every engine: the run, and each
    engine's leaf Values."""
    run = Run([Member(EngineExecutor(m)) for m in ENGINES])
    for x in leaves:
        run.leaf(x)
    made = [[h[k] for h in run.handles] for k in range(len(ENGINES))]
    for s in program.build:
        run.step(s)
    return run, made


def _ops(run: Run, nleaves: int) -> list[str]:
    """The transcript's op lines (which ops ran, which raised), leaves aside."""
    return run.script[1 + nleaves:]


def _below(roots: list[Any]) -> set[int]:
    """The ids of every Value below roots (roots included)."""
    seen: dict[int, Any] = {}
    stack = list(roots)
    while stack:
        v = stack.pop()
        if id(v) not in seen:
            seen[id(v)] = v  # keeps v, so its id stays its own
            stack.extend(v._prev)
    return set(seen)


def _check(recorded: Run, fresh: Run, picks: list[int], what: str) -> None:
    """Every handle the outputs depend on (the others are not replayed)."""
    below = _below([fresh.handles[i][0] for i in picks])
    for (name, hs), (_, fs) in zip(recorded.rows(), fresh.rows()):
        if id(fs[0]) not in below:
            continue
        for k, (h, f) in enumerate(zip(hs, fs)):
            for attr in ("data", "grad"):
                a, b = getattr(h, attr), getattr(f, attr)
                assert same_float(a, b), (
                    f"{ENGINES[k].__name__}, {what}: {name}.{attr} replayed {a!r}, rebuilt "
                    f"{b!r}\n{fresh.transcript()}")


@fuzz_settings(200)
@given(programs(after=False), st.data())
def test_a_replay_is_the_program_built_again(program: Program, data: st.DataObject) -> None:
    # no_grad results are leaves: a replay keeps them, a rebuild recomputes them
    program = dataclasses.replace(program, build=tuple(
        dataclasses.replace(s, no_grad=False) for s in program.build))
    new = data.draw(st.lists(numbers(), min_size=len(program.leaves),
                             max_size=len(program.leaves)))
    recorded, leaves = _build(program, list(program.leaves))
    fresh, _ = _build(program, new)
    # the same ops must have run (and raised) both times, or the graphs differ
    assume(_ops(recorded, len(new)) == _ops(fresh, len(new)))
    n = len(fresh.handles)
    picks = sorted({n - 1, data.draw(st.integers(0, n - 1))}, reverse=True)
    steps = [m.Replay([recorded.handles[i][k] for i in picks], leaves[k])
             for k, m in enumerate(ENGINES)]
    for i in picks:  # grads left behind, as by a step before: forward starts them afresh
        for h in recorded.handles[i]:
            h.backward()
    for vs in leaves:  # the leaves' grads are the caller's (zero_grad), not the replay's
        for v in vs:
            v.grad = 0.0
    for step in steps:
        step.forward(np.array(new, dtype=np.float64))
        step.backward()
    for i in picks:
        for f in fresh.handles[i]:
            f.backward()
    _check(recorded, fresh, picks, "one backward")
    for step in steps:
        step.backward()
    for i in picks:
        for f in fresh.handles[i]:
            f.backward()
    _check(recorded, fresh, picks, "a repeated backward")
