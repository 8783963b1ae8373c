"""Threads: the core holds the GIL, so threads may share the process safely.

Four threads training their own models at once must give bitwise the results of the
same runs one after another; graphs built and dropped from many threads keep the live
count exact; the grad mode (no_grad) belongs to the thread that set it. The switch
interval is shortened so threads interleave every few microseconds.
"""
from __future__ import annotations

import random
import threading
from typing import Any, Callable

import pytest

import fastgrad
from fastgrad import Value, datasets, nn, optim
from training import live, train

# earlier modules' cyclic garbage holding Values must not be collected mid-test
pytestmark = pytest.mark.usefixtures("fresh_heap", "fast_switching")
SWITCH_INTERVAL = 1e-6  # seconds between thread switches (conftest.fast_switching)

THREADS = 4
# pure steps are ~30x slower: fewer of them keep the file fast
STEPS, SAMPLES = (40, 50) if fastgrad.backend == "fast" else (4, 20)


def _run_threads(work: Callable[[int], Any]) -> list[Any]:
    """work(i) in THREADS threads released together; their results, re-raising errors."""
    start = threading.Barrier(THREADS)
    results: list[Any] = [None] * THREADS
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            start.wait()
            results[i] = work(i)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def _make_job(i: int, order: list[int]) -> Callable[[], list[float]]:
    """Training run i: its own data, model and optimizer (built here, in one thread,
    since MLP draws its weights from the shared `random`); appends i to `order` after
    each step."""
    X, y = datasets.make_moons(SAMPLES, noise=0.1, random_state=i)
    y = y * 2 - 1
    random.seed(i)
    model = nn.MLP(2, [8, 8, 1])
    opt = (optim.SGD(model.parameters(), lr=0.05, momentum=0.9) if i % 2
           else optim.Adam(model.parameters(), lr=0.01))

    def run() -> list[float]:
        losses = []
        for _ in range(STEPS):
            losses += train(model, opt, X, y, 1)
            order.append(i)
        return losses + fastgrad.get_data(model.parameters()).tolist()

    return run


def test_four_threads_training_at_once_match_sequential_runs() -> None:
    before = live()
    order: list[int] = []
    sequential = [_make_job(i, order)() for i in range(THREADS)]
    order.clear()
    jobs = [_make_job(i, order) for i in range(THREADS)]
    # jobs bound as a default, not a closure cell: the `del` below is what releases it
    concurrent = _run_threads(lambda i, jobs=jobs: jobs[i]())
    switches = sum(a != b for a, b in zip(order, order[1:]))
    assert switches > THREADS, f"the runs did not overlap: {order}"
    for i in range(THREADS):
        assert [x.hex() for x in concurrent[i]] == [x.hex() for x in sequential[i]], f"run {i}"
    del jobs
    assert live() == before


def test_threads_building_and_dropping_graphs_on_shared_leaves_keep_counts_exact() -> None:
    a, b = Value(1.0), Value(2.0)
    before = live()
    rounds = 2000 if fastgrad.backend == "fast" else 300

    def work(i: int) -> None:
        w = [Value(0.5), Value(-0.25)]
        for _ in range(rounds):
            y = (a * b + a).tanh() + fastgrad.dot(w, [a, b], i)
            z = y.sigmoid()
            _ = z._prev
            del y, z

    _run_threads(work)
    assert live() == before


def test_backward_into_shared_leaves_from_many_threads_loses_no_update() -> None:
    a, b = Value(1.0), Value(2.0)
    rounds = 1000 if fastgrad.backend == "fast" else 200

    def work(i: int) -> None:
        for _ in range(rounds):
            (a * b + a).backward()  # adds b + 1 = 3 to a.grad and a = 1 to b.grad

    _run_threads(work)
    # integer sums: exact whatever order the threads' backward passes ran in
    assert a.grad == 3.0 * rounds * THREADS
    assert b.grad == 1.0 * rounds * THREADS


def test_no_grad_in_one_thread_leaves_the_others_recording() -> None:
    entered, checked = threading.Event(), threading.Event()
    seen: dict[str, Any] = {}

    def in_no_grad() -> None:
        with fastgrad.no_grad():
            entered.set()
            checked.wait(10)
            out = Value(2.0) * Value(3.0)
            seen["other thread enabled"] = fastgrad.is_grad_enabled()
            seen["other thread children"] = len(out._prev)
        seen["other thread after"] = fastgrad.is_grad_enabled()

    t = threading.Thread(target=in_no_grad)
    t.start()
    try:
        assert entered.wait(10)
        assert fastgrad.is_grad_enabled()  # this thread still records
        out = Value(2.0) * Value(3.0)
        assert len(out._prev) == 2
    finally:
        checked.set()
        t.join()
    assert seen == {"other thread enabled": False, "other thread children": 0,
                    "other thread after": True}


def test_a_new_thread_records_even_inside_no_grad_of_its_parent() -> None:
    seen: list[Any] = []

    def child() -> None:
        out = Value(1.0) + Value(2.0)
        seen.extend([fastgrad.is_grad_enabled(), len(out._prev)])

    with fastgrad.no_grad():
        t = threading.Thread(target=child)
        t.start()
        t.join()
        assert not fastgrad.is_grad_enabled()
    assert seen == [True, 2]
