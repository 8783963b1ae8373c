"""Threads beside a replay: the compiled core lets the GIL go while a large replay runs
(docs/compile.md), so other threads run fastgrad meanwhile. One builds and drops
graphs big enough to grow the node arrays (growth waits for the replay: the arrays it
reads cannot move); one reads the step's own Values and builds on them. The replay's
numbers must be those of the step run alone, and every graph the others built right.
Both backends (the pure one keeps the GIL: the same numbers); the sanitizer job runs
this module.
"""
from __future__ import annotations

import math
import threading
from typing import Any, Callable

import pytest

import fastgrad
from fastgrad import Value
from training import live

pytestmark = [pytest.mark.sanitize, pytest.mark.usefixtures("fresh_heap", "fast_switching")]
SWITCH_INTERVAL = 1e-5  # seconds between thread switches (conftest.fast_switching)

FAST = fastgrad.backend == "fast"
NODES = 30000 if FAST else 3000  # well above the size that lets the GIL go (2048)
STEPS = 10 if FAST else 3
GROWN = (1 << 15, 1 << 17, 1 << 19) if FAST else (1 << 10,)


def _big_step() -> tuple[Any, list[Value], Value, Value]:
    """A compiled step of about NODES nodes over 16 parameters and one input."""
    params = [Value(0.1 * (k - 8)) for k in range(16)]
    x = Value(0.5)
    acc = x
    for i in range(NODES // 4):
        acc = (acc * params[i % 16] + x).tanh() + 0.25
    return fastgrad.compile(acc, inputs=[x]), params, x, acc


def _numbers(step: Any, params: list[Value], out: Value, x: float) -> list[str]:
    step.forward(x)
    for p in params:
        p.grad = 0.0
    step.backward()
    return [v.hex() for v in [out.data, *(p.grad for p in params)]]


def _chain(n: int) -> float:
    """Build and sweep a chain of n nodes; its leaf's grad (exactly 1.0)."""
    leaf = Value(1.0)
    v = leaf
    for _ in range(n):
        v = v + 0.0
    v.backward()
    return leaf.grad


def test_dynamic_work_and_the_steps_own_values_beside_large_replays() -> None:
    step, params, x, out = _big_step()
    alone = [_numbers(step, params, out, 0.5 + k / STEPS) for k in range(STEPS)]
    before = live()
    stop, rounds = threading.Event(), threading.Event()
    errors: list[BaseException] = []
    grown: list[float] = []
    seen: list[float] = []

    def grow() -> None:
        while not stop.is_set():
            for n in GROWN:
                grown.append(_chain(n))
            rounds.set()

    def touch() -> None:
        while not stop.is_set():
            y = out * 2.0 + params[3] * x  # new nodes on the step's own, dropped at once
            seen.extend([y.data, out.data, out.grad, params[0].data, params[0].grad])
            _ = out.label, out._prev

    def run(job: Callable[[], None]) -> None:
        try:
            job()
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(job,)) for job in (grow, touch)]
    for t in threads:
        t.start()
    try:
        while not rounds.is_set() and not errors:  # replays all through a round of growth
            assert _numbers(step, params, out, 0.5) == alone[0]
        replayed = [_numbers(step, params, out, 0.5 + k / STEPS) for k in range(STEPS)]
    finally:
        stop.set()
        for t in threads:
            t.join()
    if errors:
        raise errors[0]
    assert replayed == alone
    assert grown and all(g == 1.0 for g in grown)
    assert seen and all(math.isfinite(s) for s in seen)
    assert live() == before


def test_a_step_replayed_in_two_threads_at_once_refuses_the_second() -> None:
    step, params, _, out = _big_step()
    alone = _numbers(step, params, out, 0.25)
    outcomes: list[str] = []

    def replay() -> None:
        for _ in range(STEPS):
            try:
                step.forward(0.25)
                outcomes.append("ran")
            except RuntimeError as exc:  # only while the other thread's replay runs
                assert "running in another thread" in str(exc)
                outcomes.append("refused")

    threads = [threading.Thread(target=replay) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outcomes) == 2 * STEPS and "ran" in outcomes
    assert _numbers(step, params, out, 0.25) == alone  # the step usable after
