"""Every loss replays exactly: recorded on some predictions and targets, replayed on
others, it holds what the loss built afresh on those holds, value and grads bit for
bit, however far the data moves (softmax's shift is a node, not a constant); and the
digits loop (MLP 64-32-10, batches of 32, softmax cross-entropy) trained compiled is
the dynamic loop bit for bit."""
from __future__ import annotations

import random
import struct
from typing import Any, Callable

import numpy as np
import pytest

import fastgrad
from fastgrad import losses, nn, optim

rng = np.random.RandomState(4)


def bits(x: float) -> bytes:
    return struct.pack("<d", x)


def _two_samples(shape: tuple[int, ...], scale: float) -> tuple[np.ndarray, np.ndarray]:
    return rng.uniform(-scale, scale, shape), rng.uniform(-scale, scale, shape)


LOSSES: dict[str, tuple[Callable[[Any, Any], Any], tuple[int, ...], Callable[[], np.ndarray]]] = {
    "mse": (losses.mse, (6,), lambda: rng.uniform(-1, 1, 6)),
    "hinge": (losses.hinge, (6,), lambda: np.where(rng.uniform(size=6) < 0.5, -1.0, 1.0)),
    "bce_with_logits": (losses.bce_with_logits, (6,), lambda: rng.uniform(0, 1, 6)),
    "softmax_cross_entropy": (losses.softmax_cross_entropy, (3, 4),
                              lambda: np.eye(4)[rng.randint(0, 4, 3)]),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
@pytest.mark.parametrize("scale", [3.0, 900.0])
def test_every_loss_replays_as_built_afresh(name: str, scale: float) -> None:
    loss_fn, shape, targets = LOSSES[name]
    (P1, P2), T1, T2 = _two_samples(shape, scale), targets(), targets()
    ps, ts = fastgrad.from_array(P1), fastgrad.from_array(T1)
    total = loss_fn(ps, ts)
    step = fastgrad.compile(total, inputs=[ps, ts])
    step.forward(P2, T2)
    step.backward()
    ps2, ts2 = fastgrad.from_array(P2), fastgrad.from_array(T2)
    fresh = loss_fn(ps2, ts2)
    fresh.backward()
    assert bits(total.data) == bits(fresh.data)
    assert [bits(g) for g in fastgrad.grad_array(ps).ravel()] == [
        bits(g) for g in fastgrad.grad_array(ps2).ravel()]
    assert [bits(g) for g in fastgrad.grad_array(ts).ravel()] == [
        bits(g) for g in fastgrad.grad_array(ts2).ravel()]


def test_softmax_shift_follows_the_data_under_replay() -> None:
    row = fastgrad.from_array(np.array([[0.0, 1.0, 2.0]]))
    total = losses.softmax_cross_entropy(row, [0])
    step = fastgrad.compile(total, inputs=[row])
    step.forward(np.array([[1000.0, 0.0, -1000.0]]))  # exp() of an unshifted 1000 overflows
    assert total.data == 0.0


def test_probability_rows_are_index_targets_in_value() -> None:
    z = [[0.5, -1.0, 2.0], [0.0, 0.25, -0.5]]
    by_index = losses.softmax_cross_entropy(z, [2, 0])
    by_rows = losses.softmax_cross_entropy(z, [[0.0, 0.0, 1.0], np.array([1.0, 0.0, 0.0])])
    assert by_rows.data == pytest.approx(by_index.data, rel=1e-15)
    with pytest.raises(ValueError, match="3 classes but its target row 2"):
        losses.softmax_cross_entropy(z, [[0.0, 1.0], [1.0, 0.0]])


def _digits(steps: int, compiled: bool) -> tuple[list[float], list[tuple[float, float]]]:
    data = np.random.RandomState(1)
    X = data.uniform(0.0, 1.0, (80, 64))
    T = np.eye(10)[data.randint(0, 10, 80)]
    batches = random.Random(2)
    random.seed(3)
    model = nn.MLP(64, [32, 10])
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.5)
    out = []
    step = None
    for _ in range(steps):
        i = batches.sample(range(len(X)), 32)
        if compiled:
            if step is None:
                xs, ts = fastgrad.from_array(X[i]), fastgrad.from_array(T[i])
                loss = losses.softmax_cross_entropy([model(r) for r in xs], ts)
                step = fastgrad.compile(loss, inputs=[xs, ts])
            step.forward(X[i], T[i])
            opt.zero_grad()
            step.backward()
        else:
            xs, ts = fastgrad.from_array(X[i]), fastgrad.from_array(T[i])
            loss = losses.softmax_cross_entropy([model(r) for r in xs], ts)
            opt.zero_grad()
            loss.backward()
        opt.step()
        out.append(loss.data)
    return out, [(p.data, p.grad) for p in model.parameters()]


def test_digits_training_replayed_is_the_dynamic_path() -> None:
    steps = 12 if fastgrad.backend == "fast" else 3
    dyn, dyn_params = _digits(steps, compiled=False)
    rep, rep_params = _digits(steps, compiled=True)
    assert [bits(x) for x in rep] == [bits(x) for x in dyn]
    assert all(bits(a) == bits(c) and bits(b) == bits(d)
               for (a, b), (c, d) in zip(rep_params, dyn_params))
