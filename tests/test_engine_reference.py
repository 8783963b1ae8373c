"""The engine in use against independent references: interval bounds, torch, micrograd.

Random programs (tests/programs.py) run on the backend `import fastgrad` gives, on the
interval reference (tests/intervals.py: rigorous float64 error bounds, typically
~1e-15 relative), and on torch float64 / the micrograd package. Each engine's data
and grads must lie inside the bounds, which is how "equal up to floating-point
reassociation" is checked without a tolerance that hypothesis could defeat.
"""
from __future__ import annotations

import math

import pytest
from hypothesis import given

import fastgrad
import fastgrad.engine
import intervals
from programs import (MICROGRAD_ACTS, MICROGRAD_OPS, TORCH_ACTS, TORCH_OPS, EngineExecutor,
                      IntervalExecutor, Member, MicrogradExecutor, Program, Ref, Run, Step,
                      TorchExecutor, fuzz_settings, programs)

pytestmark = pytest.mark.usefixtures("fresh_heap")

ENGINE, BOUNDS = 0, 1  # member positions: the engine under test leads, bounds follow


def _assert_within(run: Run, k: int, who: str, lenient: bool = False) -> None:
    """Every data and grad of member k lies within the interval bounds. lenient, for
    another engine: its inf/nan cases differ, and it computes some rules in another
    order (torch's c / x backward multiplies grad by c first), whose intermediates can
    leave the normal range and round more coarsely than the bounds allow once a graph
    holds magnitudes beyond 1e+-100; such graphs and non-finite values are not checked."""
    if lenient and _has_extreme_magnitudes(run):
        return
    for name, handles in run.rows():
        if handles[k] is None or not run.members[k].alive:
            continue
        values = run.members[k].executor.read(handles[k])
        for attr, x, bounds in zip(("data", "grad"), values, handles[BOUNDS].read()):
            if lenient and not math.isfinite(x):
                continue
            assert intervals.contains(bounds, x), (
                f"{who}: {name}.{attr} = {x!r} is outside {bounds}\n{run.transcript()}")


def _has_extreme_magnitudes(run: Run) -> bool:
    for _, handles in run.rows():
        if handles[ENGINE] is None:
            continue
        for x in EngineExecutor(fastgrad.engine).read(handles[ENGINE]):
            if math.isfinite(x) and x != 0.0 and not 1e-100 <= abs(x) <= 1e100:
                return True
    return False


def _run(*others: Member) -> Run:
    engine = Member(EngineExecutor(fastgrad.engine))
    return Run([engine, Member(IntervalExecutor(), "follow"), *others])


@fuzz_settings(200)
@given(programs())
def test_engine_within_bounds(program: Program) -> None:
    def check(run: Run) -> None:
        _assert_within(run, ENGINE, fastgrad.backend)
    _run().program(program, after_build=check, after_step=check)


@fuzz_settings(150)
@given(programs(ops=TORCH_OPS, acts=TORCH_ACTS, after=False))
def test_engine_and_torch_within_bounds(program: Program) -> None:
    torch = pytest.importorskip("torch")
    def check(run: Run) -> None:
        _assert_within(run, ENGINE, fastgrad.backend)
        _assert_within(run, 2, "torch", lenient=True)
    _run(Member(TorchExecutor(torch), "follow")).program(program, after_build=check)


@fuzz_settings(150)
@given(programs(ops=MICROGRAD_OPS, acts=MICROGRAD_ACTS, after=False))
def test_engine_and_micrograd_within_bounds(program: Program) -> None:
    engine = pytest.importorskip("micrograd.engine")
    def check(run: Run) -> None:
        _assert_within(run, ENGINE, fastgrad.backend)
        _assert_within(run, 2, "micrograd", lenient=True)
    _run(Member(MicrogradExecutor(engine.Value), "lenient")).program(program, after_build=check)


def test_bounds_are_tight_enough_to_catch_an_ulp_scale_error() -> None:
    """The yardstick itself: a well-conditioned graph gets ~1e-15 bounds, so an error of
    1e-12 relative in any number is caught."""
    run = _run()
    run.program(Program((0.7, -1.3), tuple(
        Step(op, tuple(map(Ref, refs))) for op, refs in
        [("a * b", (0, 1)), ("a.tanh()", (0,)), ("a / b", (0, 2)), ("a.sigmoid()", (0,)),
         ("a.exp()", (1,)), ("a + b", (0, 1)), ("a ** b", (3, 2))])))
    for name, handles in run.rows():
        data, grad = EngineExecutor(fastgrad.engine).read(handles[ENGINE])
        for x, bounds in zip((data, grad), handles[BOUNDS].read()):
            assert bounds is not None and intervals.contains(bounds, x), (name, x, bounds)
            if x != 0.0:
                assert not intervals.contains(bounds, x * (1 + 1e-12)), (name, x, bounds)

