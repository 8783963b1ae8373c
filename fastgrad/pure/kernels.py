"""Bulk kernels: a whole parameter list or data set per call.

The compiled engine runs each of these as one call into C, with the same arithmetic;
here they are loops over Python floats, in the same order.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from fastgrad import checks
from fastgrad.pure._ieee import fdiv, fpow, fsqrt
from fastgrad.pure.engine import Value
from fastgrad.pure.fused import RULES, Dense, DenseSpec, operand


def _values(params: Iterable[Any]) -> list[Value]:
    ps = list(params)
    for p in ps:
        if not isinstance(p, Value):
            raise checks.not_a_value(p)
        p._label  # noqa: B018 (set last by __init__: an uninitialised Value raises)
    return ps


def get_data(params: Iterable[Value]) -> np.ndarray:
    return np.array([p._data for p in _values(params)], dtype=np.float64)


def set_data(params: Iterable[Value], values: Any) -> None:
    ps = _values(params)
    for p, x in zip(ps, checks.vector(values, len(ps), "set_data").tolist()):
        p._data = x


def get_grad(params: Iterable[Value]) -> np.ndarray:
    return np.array([p._grad for p in _values(params)], dtype=np.float64)


def set_grad(params: Iterable[Value], values: Any) -> None:
    ps = _values(params)
    for p, x in zip(ps, checks.vector(values, len(ps), "set_grad").tolist()):
        p._grad = x


def sgd_step(params: Iterable[Value], lr: float, momentum: float, weight_decay: float,
             buf: np.ndarray, first: bool) -> None:
    """torch.optim.SGD's update (no dampening, no nesterov); buf holds the momentum."""
    ps = _values(params)
    lr, momentum, weight_decay = float(lr), float(momentum), float(weight_decay)
    b = checks.state_buffer(buf, len(ps), "sgd_step").tolist()
    for i, p in enumerate(ps):
        g = p._grad
        if weight_decay != 0.0:
            g = g + weight_decay * p._data
        if momentum != 0.0:
            b[i] = g if first else momentum * b[i] + g
            g = b[i]
        p._data = p._data - lr * g
    buf[:] = b


def adam_step(params: Iterable[Value], lr: float, beta1: float, beta2: float, eps: float,
              weight_decay: float, step: int, m: np.ndarray, v: np.ndarray) -> None:
    """torch.optim.Adam's update for step `step` (1-based); m, v are its moments."""
    ps = _values(params)
    lr, beta1, beta2, eps = float(lr), float(beta1), float(beta2), float(eps)
    weight_decay = float(weight_decay)
    checks.adam_step_number(step)
    ml = checks.state_buffer(m, len(ps), "adam_step").tolist()
    vl = checks.state_buffer(v, len(ps), "adam_step").tolist()
    # IEEE results where Python would raise (beta = 1, eps = 0 with a zero moment, ...)
    step_size = fdiv(lr, 1.0 - fpow(beta1, float(step)))
    bc2_sqrt = fsqrt(1.0 - fpow(beta2, float(step)))
    for i, p in enumerate(ps):
        g = p._grad
        if weight_decay != 0.0:
            g = g + weight_decay * p._data
        ml[i] = beta1 * ml[i] + (1.0 - beta1) * g
        vl[i] = beta2 * vl[i] + (1.0 - beta2) * g * g
        denom = fdiv(fsqrt(vl[i]), bc2_sqrt) + eps
        p._data = p._data - step_size * fdiv(ml[i], denom)
    m[:] = ml
    v[:] = vl


def mlp_predict(layers: Iterable[DenseSpec], X: Any) -> np.ndarray:
    """Outputs of dense layers on every row of X, as calling them computes them, with
    no graph and no Value."""
    X = checks.samples(X, "mlp_predict")
    plan = []
    width = X.shape[1]
    for d in checks.denses(layers, Dense, "mlp_predict"):
        if d.nin >= 0 and d.nin != width:
            raise checks.wrong_inputs("Dense:", d.nin, width)
        W = [[operand(p)[1] for p in row] for row in d.weights]
        B = [operand(p)[1] for p in d.biases]
        plan.append((W, B, RULES[d.act].forward))
        width = d.nout
    out = []
    for x in X.tolist():
        for W, B, f in plan:
            y = []
            for w, b in zip(W, B):
                acc = b
                for wi, xi in zip(w, x):
                    acc = acc + wi * xi
                y.append(f(acc))
            x = y
        out.append(x)
    return np.array(out, dtype=np.float64).reshape(X.shape[0], width)
