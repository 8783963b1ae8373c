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
