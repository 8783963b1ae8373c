"""Optimizers with torch.optim's update rules; each step() is one engine call.

The whole parameter list and the optimizer's state arrays go to one kernel
(engine.sgd_step / engine.adam_step), which updates every parameter in place.
Hyperparameters are plain attributes: set `opt.lr` between steps to schedule it.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

import numpy as np

from fastgrad.checks import check_keys, count, real_array

from .engine import Value, adam_step, set_grad, sgd_step

__all__ = ["Optimizer", "SGD", "Adam"]


def _nonnegative(x: Any, name: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, not {type(x).__name__}")
    if not x >= 0.0:
        raise ValueError(f"invalid {name}: {x} (must be >= 0)")
    return float(x)


def _betas(betas: Any) -> tuple[float, float]:
    try:
        b1, b2 = betas
    except (TypeError, ValueError):
        raise TypeError(f"betas must be a pair of numbers, not {betas!r}") from None
    b1, b2 = _nonnegative(b1, "beta1"), _nonnegative(b2, "beta2")
    if not (b1 < 1.0 and b2 < 1.0):
        raise ValueError(f"invalid betas: {betas!r} (each must be in [0, 1))")
    return b1, b2


class _Hyper:
    """A hyperparameter: a plain attribute to read and set (a schedule sets `opt.lr`
    between steps), checked as it is set, so a bad value fails there and changes nothing."""

    def __init__(self, check: Any) -> None:
        self.check = check

    def __set_name__(self, owner: type, name: str) -> None:
        self.name, self.slot = name, "_" + name

    def __get__(self, obj: Any, objtype: type | None = None) -> Any:
        return self if obj is None else getattr(obj, self.slot)

    def __set__(self, obj: Any, value: Any) -> None:
        setattr(obj, self.slot, self.check(value, self.name))


class Optimizer:
    """A list of distinct parameters, and zero_grad() for them all."""

    def __init__(self, params: Iterable[Value]) -> None:
        self.params = list(params)
        for i, p in enumerate(self.params):
            if not isinstance(p, Value):
                raise TypeError(f"parameter {i} is a {type(p).__name__}, not a Value")
        if not self.params:
            raise ValueError("optimizer got an empty parameter list")
        if len(set(self.params)) != len(self.params):
            raise ValueError("optimizer got the same parameter more than once")

    def zero_grad(self) -> None:
        set_grad(self.params, 0.0)

    def _state_array(self, state: Mapping[str, Any], key: str) -> np.ndarray:
        return real_array(state[key], (len(self.params),), key,
                          f"{type(self).__name__}.load_state_dict")


class SGD(Optimizer):
    """torch.optim.SGD: p -= lr * g, with optional momentum and L2 weight decay."""

    lr, momentum, weight_decay = (_Hyper(_nonnegative) for _ in range(3))

    def __init__(self, params: Iterable[Value], lr: float, momentum: float = 0.0,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params)
        self.lr, self.momentum, self.weight_decay = lr, momentum, weight_decay
        self._buf = np.zeros(len(self.params))
        self._buf_started = False  # torch starts the momentum buffer at the first step

    def step(self) -> None:
        sgd_step(self.params, self.lr, self.momentum, self.weight_decay, self._buf,
                 not self._buf_started)
        if self.momentum != 0.0:
            self._buf_started = True

    def state_dict(self) -> dict[str, Any]:
        """Hyperparameters and the momentum buffer (None before the first momentum step)."""
        return {"lr": self.lr, "momentum": self.momentum, "weight_decay": self.weight_decay,
                "momentum_buffer": self._buf.copy() if self._buf_started else None}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore state_dict()'s output; on any mismatch, raise and change nothing."""
        check_keys(state, ["lr", "momentum", "weight_decay", "momentum_buffer"],
                   "SGD.load_state_dict")
        lr = _nonnegative(state["lr"], "lr")
        momentum = _nonnegative(state["momentum"], "momentum")
        weight_decay = _nonnegative(state["weight_decay"], "weight_decay")
        buf = state["momentum_buffer"]
        buf = None if buf is None else self._state_array(state, "momentum_buffer")
        self.lr, self.momentum, self.weight_decay = lr, momentum, weight_decay
        self._buf_started = buf is not None
        self._buf[:] = 0.0 if buf is None else buf


class Adam(Optimizer):
    """torch.optim.Adam (weight_decay adds weight_decay * p to the gradient; no amsgrad)."""

    lr, eps, weight_decay = (_Hyper(_nonnegative) for _ in range(3))
    betas = _Hyper(lambda value, name: _betas(value))

    def __init__(self, params: Iterable[Value], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params)
        self.lr, self.betas, self.eps, self.weight_decay = lr, betas, eps, weight_decay
        self.step_count = 0
        self._m = np.zeros(len(self.params))  # first-moment estimate (torch's exp_avg)
        self._v = np.zeros(len(self.params))  # second-moment estimate (exp_avg_sq)

    def step(self) -> None:
        step = self.step_count + 1
        adam_step(self.params, self.lr, self.betas[0], self.betas[1], self.eps,
                  self.weight_decay, step, self._m, self._v)
        self.step_count = step

    def state_dict(self) -> dict[str, Any]:
        """Hyperparameters, the step count and both moment estimates (copies)."""
        return {"lr": self.lr, "betas": self.betas, "eps": self.eps,
                "weight_decay": self.weight_decay, "step": self.step_count,
                "exp_avg": self._m.copy(), "exp_avg_sq": self._v.copy()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore state_dict()'s output; on any mismatch, raise and change nothing."""
        check_keys(state, ["lr", "betas", "eps", "weight_decay", "step", "exp_avg",
                           "exp_avg_sq"], "Adam.load_state_dict")
        lr = _nonnegative(state["lr"], "lr")
        betas = _betas(state["betas"])
        eps = _nonnegative(state["eps"], "eps")
        weight_decay = _nonnegative(state["weight_decay"], "weight_decay")
        step = count(state["step"], "Adam.load_state_dict: step")
        m = self._state_array(state, "exp_avg")
        v = self._state_array(state, "exp_avg_sq")
        self.lr, self.betas, self.eps, self.weight_decay = lr, betas, eps, weight_decay
        self.step_count = step
        self._m[:] = m
        self._v[:] = v
