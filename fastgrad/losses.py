"""Loss functions, built from engine ops so both backends agree bitwise.

Reduction: every loss is the mean over samples (over all elements for mse), computed
as micrograd's moons demo averages its loss, `sum(per_sample) * (1.0 / n)`, where
`sum` is one fused node. Predictions are Values (numbers are taken as constants);
targets are numbers or Values. Nested predictions and targets (rows of outputs) are
paired element by element in row-major order.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from fastgrad.checks import is_int, is_real_type

from .engine import Value, dot
from .engine import sum as _sum

__all__ = ["mse", "hinge", "bce_with_logits", "softmax_cross_entropy", "l2"]


def _elements(x: Any) -> list[Any]:
    """The leaves of a Value, a number, or nested lists/tuples/arrays of them."""
    if isinstance(x, np.ndarray):
        return x.ravel().tolist()
    if isinstance(x, (list, tuple)):
        return [leaf for item in x for leaf in _elements(item)]
    return [x]


def _target(t: Any) -> float:
    """A number target as a float; TypeError for what Value() refuses (str, complex, ...)."""
    if not is_real_type(type(t)):
        raise TypeError(f"a target must be a real number, not {type(t).__name__}")
    return float(t)


def _pairs(preds: Any, targets: Any, loss: str) -> tuple[list[Value], list[Any]]:
    ps = [p if isinstance(p, Value) else Value(p) for p in _elements(preds)]
    ts = [t if isinstance(t, Value) else _target(t) for t in _elements(targets)]
    if len(ps) != len(ts):
        raise ValueError(f"{loss}: {len(ps)} predictions but {len(ts)} targets")
    if not ps:
        raise ValueError(f"{loss}: no predictions")
    return ps, ts


def _mean(terms: list[Value]) -> Value:
    return _sum(terms) * (1.0 / len(terms))


def mse(preds: Any, targets: Any) -> Value:
    """Mean squared error: mean of (pred - target)**2, the squares summed in one dot node."""
    ps, ts = _pairs(preds, targets, "mse")
    diffs = [p - t for p, t in zip(ps, ts)]
    return dot(diffs, diffs) * (1.0 / len(diffs))


def hinge(scores: Any, targets: Any) -> Value:
    """micrograd's max-margin loss: mean of relu(1 - y * score), targets y in {-1, +1}.

    Equal bitwise to the demo's `sum((1 + -yi*scorei).relu() ...) * (1.0 / n)`.
    """
    ss, ys = _pairs(scores, targets, "hinge")
    return _mean([dot((-y,), (s,), 1.0).relu() for s, y in zip(ss, ys)])


def bce_with_logits(logits: Any, targets: Any) -> Value:
    """Binary cross-entropy of sigmoid(logit) against targets in [0, 1], mean over samples.

    Per sample relu(x) - x*y + log(1 + exp(-|x|)), which overflows for no logit (for
    |x| > ~37 the last term rounds to 0 where log1p would keep ~exp(-|x|)). -|x| is
    formed as x - 2*relu(x), so the gradient is sigmoid(x) - y at x = 0 too.
    """
    xs, ys = _pairs(logits, targets, "bce_with_logits")
    terms = []
    for x, y in zip(xs, ys):
        r = x.relu()
        neg_abs = dot((1.0, -2.0), (x, r))  # x - 2*relu(x) == -|x| exactly
        softplus = (neg_abs.exp() + 1.0).log()
        terms.append(dot((-y, 1.0), (x, softplus), r))  # relu(x) - x*y + softplus
    return _mean(terms)


def _shift(zs: list[Value]) -> Value:
    """A node at the row's largest logit, so the shift follows the data under replay
    (fastgrad.compile): m = z0, then m + relu(z - m) for each next z. Where z <= m the
    relu gives 0 and m stays exact; where z > m, m + (z - m) is z to one rounding of
    the larger magnitude, so z_j - m never exceeds a few ulps and exp() cannot
    overflow (for logits below ~1e18 in magnitude)."""
    m = zs[0]
    for z in zs[1:]:
        m = m + (z - m).relu()
    return m


def softmax_cross_entropy(logits: Sequence[Sequence[Any]], targets: Iterable[Any]) -> Value:
    """Cross-entropy of softmax(row) against each row's target, mean over rows.

    A target is a class index, or a row of probabilities (numbers or Values, e.g. a
    one-hot row): -sum_j p_j log softmax_j. Per row log(sum_j exp(z_j - m)) - (z_t - m)
    with m the row's largest logit, as a node (_shift): nothing overflows, value and
    gradient are those without the shift up to rounding, and a recorded step replays
    exactly. Index targets are part of the graph's structure (a replay keeps them);
    probability rows given as Values are data, so a replay can change them.
    """
    rows = list(logits)
    ts = targets.tolist() if isinstance(targets, np.ndarray) else list(targets)
    if len(rows) != len(ts):
        raise ValueError(f"softmax_cross_entropy: {len(rows)} rows but {len(ts)} targets")
    if not rows:
        raise ValueError("softmax_cross_entropy: no rows")
    terms = []
    for i, (row, t) in enumerate(zip(rows, ts)):
        zs = [z if isinstance(z, Value) else Value(z) for z in row]
        probs = _probabilities(t, len(zs), i)
        if probs is None and (not is_int(t) or not 0 <= t < len(zs)):
            raise ValueError(f"softmax_cross_entropy: row {i} has {len(zs)} classes; "
                             f"its target must be a class index, not {t!r}")
        m = _shift(zs)
        shifted = [z - m for z in zs]
        log_sum = _sum(s.exp() for s in shifted).log()
        if probs is None:
            terms.append(log_sum - shifted[t])
        else:  # -sum_j p_j (s_j - log_sum)
            terms.append(dot(probs, [log_sum - s for s in shifted]))
    return _mean(terms)


def _probabilities(t: Any, classes: int, row: int) -> list[Any] | None:
    """A probability-row target as Values and floats; None for a class index."""
    if not isinstance(t, (list, tuple, np.ndarray)):
        return None
    ps = [p if isinstance(p, Value) else _target(p) for p in _elements(t)]
    if len(ps) != classes:
        raise ValueError(f"softmax_cross_entropy: row {row} has {classes} classes but its "
                         f"target row {len(ps)} probabilities")
    return ps


def l2(params: Iterable[Value], alpha: float) -> Value:
    """alpha * sum(p*p for p in params), micrograd demo's regularisation, as one dot node."""
    ps = list(params)
    if isinstance(alpha, (str, bytes)) or not isinstance(alpha, (int, float, np.number)):
        raise TypeError(f"l2: alpha must be a real number, not {type(alpha).__name__}")
    return dot(ps, ps) * alpha
