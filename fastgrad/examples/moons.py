"""micrograd's moons demo (demo.ipynb), kept in micrograd's own words.

The loss and the update below are the notebook's user code, so they run unchanged on
any engine with micrograd's API: fastgrad, fastgrad.pure, or micrograd itself. The
demo command, the bench's moons workload and the tests all call them.
"""
from __future__ import annotations

import random
from typing import Any

import numpy as np

from fastgrad.datasets import make_moons

N_SAMPLES = 100
NOISE = 0.1
SIZES = [16, 16, 1]  # MLP(2, [16, 16, 1]): 337 parameters
ALPHA = 1e-4  # L2 regularisation strength


def data(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The notebook's dataset: 100 noisy moons, labels mapped to -1 / +1."""
    X, y = make_moons(n_samples=N_SAMPLES, noise=NOISE, random_state=seed)
    return X, y * 2 - 1


def model(MLP: Any, seed: int) -> Any:
    """MLP(2, [16, 16, 1]) with its weights drawn after random.seed(seed), as micrograd does."""
    random.seed(seed)
    return MLP(2, SIZES)


def loss(model: Any, Value: Any, X: Any, y: np.ndarray) -> tuple[Any, float]:
    """The notebook's loss(): max-margin loss plus L2, and the accuracy."""
    inputs = [list(map(Value, xrow)) for xrow in X]
    # forward the model to get scores
    scores = list(map(model, inputs))
    # svm "max-margin" loss
    losses = [(1 + -yi*scorei).relu() for yi, scorei in zip(y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    # L2 regularization
    alpha = ALPHA
    reg_loss = alpha * sum(p*p for p in model.parameters())
    total_loss = data_loss + reg_loss
    # also get accuracy
    accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(y, scores)]
    return total_loss, sum(accuracy) / len(accuracy)


def step(model: Any, Value: Any, X: np.ndarray, y: np.ndarray, k: int,
         steps: int) -> tuple[float, float]:
    """One SGD step of the notebook's loop (its lr schedule stretched over `steps`)."""
    # forward
    total_loss, acc = loss(model, Value, X, y)
    # backward
    model.zero_grad()
    total_loss.backward()
    # update (sgd)
    learning_rate = 1.0 - 0.9*k/steps
    for p in model.parameters():
        p.data -= learning_rate * p.grad
    return total_loss.data, acc


class _Scored:
    """The model, keeping the scores the loss asks of it (the notebook's loss returns
    only the total): what a recorded step's accuracy is read from."""

    def __init__(self, model: Any) -> None:
        self.model, self.scores = model, []  # type: tuple[Any, list[Any]]

    def __call__(self, x: Any) -> Any:
        score = self.model(x)
        self.scores.append(score)
        return score

    def parameters(self) -> list[Any]:
        return self.model.parameters()


class Compiled:
    """The notebook's loop with its loss recorded once (fastgrad.compile) and replayed:
    each step a forward, zero_grad, backward and the SGD update in C (the engine's
    sgd_step: p.data - lr * p.grad, the notebook's update bit for bit)."""

    def __init__(self, model: Any, engine: Any, X: np.ndarray, y: np.ndarray) -> None:
        from fastgrad.compiled import compile as record
        self.model, self.engine, self.y = model, engine, y
        xs = [[engine.Value(v) for v in row] for row in X.tolist()]
        scored = _Scored(model)
        self.total, _ = loss(scored, lambda v: v, xs, y)  # the rows' Values are the inputs
        self.scores = scored.scores
        self.params = model.parameters()
        self.buf = np.zeros(len(self.params))
        self.replay = record(self.total, inputs=[xs])

    def step(self, k: int, steps: int) -> tuple[float, float]:
        """step()'s numbers, replayed: the loss and the accuracy before the update."""
        self.replay.forward()
        self.model.zero_grad()
        self.replay.backward()
        learning_rate = 1.0 - 0.9*k/steps
        self.engine.sgd_step(self.params, learning_rate, 0.0, 0.0, self.buf, True)
        scores = self.engine.get_data(self.scores)  # loss()'s accuracy, in one call
        return self.total.data, float(np.mean((self.y > 0) == (scores > 0)))
