"""The compiled workload: fastgrad.compile's replayed steps beside the dynamic path,
micrograd and torch, on three programs:

- moons: the notebook's step (forward, zero_grad, backward, the SGD update in C);
- digits: MLP 64-32-10 on batches of 32, softmax cross-entropy, SGD;
- expr: micrograd's README expression, forward() + backward() per iteration.

The moons step is also timed against its arithmetic floor: the same step (forward,
loss, backward with the inputs' grads, SGD) as plain C loops over arrays, no graph
(csrc/floor.c), interleaved with the compiled step (fastgrad's column only).

Each column's `*_compiled` row is its own step (fastgrad's and fastgrad.pure's
compiled, micrograd's and torch's as their users write them). Each `*_over_compiled`
row times a step in blocks interleaved with fastgrad's compiled step in the same
process, the median ratio of the two: the column's own step, or on the fastgrad column
its dynamic path, so the rows compare like with like on a shared machine.
"""
from __future__ import annotations

import itertools
import random
from typing import Any, Callable

import numpy as np

from fastgrad.bench.measure import NA, repeat
from fastgrad.bench.spec import Config
from fastgrad.bench.workloads import (DIGITS_BATCH, DIGITS_LR, Kit, Result, Unavailable,
                                      _block, load_digits, load_kit, moons_stepper)
from fastgrad.examples import moons

Step = Callable[[], Any]
PROGRAMS = ("moons", "digits", "expr")


def readme_expression(Value: Any) -> tuple[Any, Any, Any]:
    """micrograd's README example in its own words: (g, a, b), a and b its leaves."""
    a = Value(-4.0)
    b = Value(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    return g, a, b


def digits_batches(seed: int) -> tuple[np.ndarray, np.ndarray, Callable[[], list[int]]]:
    """The digits pixels, their one-hot targets, and the next batch's rows: drawn ahead,
    as torch's step draws its batch outside its timing."""
    X, y = load_digits()
    rng = random.Random(seed)
    batches = itertools.cycle([rng.sample(range(len(X)), DIGITS_BATCH) for _ in range(64)])
    return X, np.eye(10)[y], lambda: next(batches)


def _digits_model(kit: Kit, seed: int) -> tuple[Any, Any]:
    random.seed(seed)
    model = kit.MLP(64, [32, 10])
    return model, kit.optim.SGD(model.parameters(), lr=DIGITS_LR)


def compiled_step(kit: Kit, name: str, seed: int) -> Step:
    """fastgrad's compiled step of program `name` on a fastgrad kit."""
    import fastgrad
    import fastgrad.engine
    if name == "expr":
        g, a, b = readme_expression(kit.Value)
        replay = fastgrad.compile(g, inputs=[a, b])

        def expr() -> None:
            replay.forward()
            replay.backward()
        return expr
    if name == "moons":
        X, y = moons.data(seed)
        trainer = moons.Compiled(moons.model(kit.MLP, seed), fastgrad.engine, X, y)
        count = [0]

        def moons_step() -> None:
            trainer.step(count[0] % 100, 100)
            count[0] += 1
        return moons_step
    X, T, batch = digits_batches(seed)
    model, optimizer = _digits_model(kit, seed)
    i = batch()
    xs, ts = fastgrad.from_array(X[i]), fastgrad.from_array(T[i])
    assert isinstance(xs, list)
    loss = kit.losses.softmax_cross_entropy([model(row) for row in xs], ts)
    replay = fastgrad.compile(loss, inputs=[xs, ts])

    def digits() -> None:
        i = batch()
        replay.forward(X[i], T[i])
        optimizer.zero_grad()
        replay.backward()
        optimizer.step()
    return digits


def moons_macs() -> int:
    """The moons step's multiply-adds: a forward's per weight and sample, a backward's
    two (the weight's grad, its input's), and per parameter one for the L2 term, one
    for its grad and one for the update."""
    sizes = [2, *moons.SIZES]
    weights = sum(a * b for a, b in zip(sizes, sizes[1:]))
    params = sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))
    return 3 * weights * moons.N_SAMPLES + 3 * params


def floor_step(seed: int) -> Step:
    """The moons step as plain C loops over the same parameters and data."""
    import fastgrad._core as core
    import fastgrad.nn
    X, y = moons.data(seed)
    X, y = np.ascontiguousarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
    sizes = [2, *moons.SIZES]
    params = np.array([p.data for p in moons.model(fastgrad.nn.MLP, seed).parameters()])
    scratch = np.empty(core._floor_scratch(sizes, len(X)))
    count = [0]

    def step() -> None:
        lr = 1.0 - 0.9 * (count[0] % 100) / 100
        count[0] += 1
        core._floor_step(sizes, params, X, y, moons.ALPHA, lr, scratch)
    return step


def dynamic_step(kit: Kit, name: str, seed: int) -> Step | None:
    """The same program built every step, as micrograd's users write it (None: the
    engine cannot run it)."""
    if name == "expr":
        return lambda: readme_expression(kit.Value)[0].backward()
    if name == "moons":
        return moons_stepper(kit, seed)
    if kit.losses is None:
        return None
    X, T, batch = digits_batches(seed)
    model, optimizer = _digits_model(kit, seed)

    def digits() -> None:
        i = batch()
        logits = [model(list(map(kit.Value, X[j]))) for j in i]
        loss = kit.losses.softmax_cross_entropy(logits, [Tj for Tj in T[i]])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return digits


def measure(own: dict[str, Step | None], other: dict[str, Step | None], config: Config,
            why: str) -> Result:
    """Each program's own step, and `other`'s over fastgrad's compiled step, interleaved."""
    try:
        fast: Kit | None = load_kit("fastgrad")
    except Unavailable:
        fast = None
    result: Result = {}
    for name in PROGRAMS:
        step, versus = own[name], other[name]
        if step is None or versus is None:
            result[f"{name}_compiled"] = result[f"{name}_over_compiled"] = NA("n/a", why)
            continue
        result[f"{name}_compiled"] = _seconds(step, config)
        result[f"{name}_over_compiled"] = (
            NA("no core", "the compiled core is absent") if fast is None
            else _over(versus, compiled_step(fast, name, config.seed), config))
    return result


def _seconds(step: Step, config: Config) -> float:
    return repeat(lambda: (_block(step),), config)[0]


def _over(step: Step, reference: Step, config: Config) -> float:
    """Median ratio of a block of step() to the block of reference() just before it."""
    def sample() -> tuple[float]:
        ref = _block(reference)
        return (_block(step) / ref,)
    return repeat(sample, config)[0]


def workload(kit: Kit, config: Config) -> Result:
    """fastgrad's columns run their compiled steps (the ratio: the dynamic path over
    them); micrograd runs its own. fastgrad's also times the moons floor."""
    seed = config.seed
    dynamic = {name: dynamic_step(kit, name, seed) for name in PROGRAMS}
    if kit.losses is None:  # micrograd
        result = measure(dynamic, dynamic, config, "micrograd's Value has no exp() or log()")
    else:
        own: dict[str, Step | None] = {name: compiled_step(kit, name, seed)
                                       for name in PROGRAMS}
        result = measure(own, dynamic, config, "")
    if kit.name != "fastgrad (fast)":
        na = NA("n/a", "the floor is timed against fastgrad's compiled core")
        return {**result, "moons_floor": na, "moons_over_floor": na}
    floor = floor_step(seed)
    return {**result, "moons_floor": _seconds(floor, config),
            "moons_over_floor": _over(compiled_step(kit, "moons", seed), floor, config)}
