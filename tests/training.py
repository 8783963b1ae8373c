"""The live node count, and a few optimizer steps of micrograd's moons demo: what the
memory, threads and pickling tests watch and run."""
from __future__ import annotations

import numpy as np

import fastgrad
from fastgrad import Value, nn, optim
from fastgrad.examples import moons


def live() -> int:
    return fastgrad.stats()["live_nodes"]


def train(model: nn.MLP, opt: optim.Optimizer, X: np.ndarray, y: np.ndarray, steps: int
          ) -> list[float]:
    """`steps` optimizer steps on micrograd's demo loss; the loss of each."""
    out = []
    for _ in range(steps):
        loss, _ = moons.loss(model, Value, X, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        out.append(loss.data)
    return out


def train_compiled(model: nn.MLP, opt: optim.Optimizer, X: np.ndarray, y: np.ndarray,
                   steps: int) -> list[float]:
    """train()'s steps, the demo's loss recorded once (its inputs leaf Values from X)
    and replayed by fastgrad.compile; the loss of each."""
    xs = fastgrad.from_array(X)
    loss, _ = moons.loss(model, lambda v: v, xs, y)  # the rows' Values are the inputs
    step = fastgrad.compile(loss, inputs=[xs])
    out = []
    for _ in range(steps):
        step.forward(X)
        opt.zero_grad()
        step.backward()
        opt.step()
        out.append(loss.data)
    return out
