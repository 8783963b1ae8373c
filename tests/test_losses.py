"""fastgrad.losses: values and gradients against torch, micrograd's demo forms, bad input."""
from __future__ import annotations

import numpy as np
import pytest

from fastgrad import Value, get_grad, losses

rng = np.random.RandomState(0)
N = 12
PREDS = rng.uniform(-3.0, 3.0, N)
TARGETS = rng.uniform(-1.0, 1.0, N)
SIGNS = np.where(rng.uniform(size=N) < 0.5, -1.0, 1.0)
LOGITS = np.append(rng.uniform(-6.0, 6.0, N - 3), [0.0, 35.0, -35.0])
PROBS = np.append(rng.uniform(0.0, 1.0, N - 4), [0.0, 1.0, 1.0, 0.0])
ROWS = rng.uniform(-4.0, 4.0, (N, 4))
ROWS[rng.uniform(size=N) < 0.3, 3] += 900.0  # logits that overflow exp() unshifted
CLASSES = rng.randint(0, 4, N)


def _check(ours_fn, torch_fn, x: np.ndarray, *rest) -> None:
    """The loss and its gradient w.r.t. x agree with torch's to 1e-10 relative."""
    torch = pytest.importorskip("torch")
    xs = [Value(v) for v in x.ravel()]
    k = x.shape[-1]
    loss = ours_fn(xs if x.ndim == 1 else [xs[i:i + k] for i in range(0, len(xs), k)], *rest)
    loss.backward()
    tx = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    ref = torch_fn(torch, tx, *rest)
    ref.backward()
    assert loss.data == pytest.approx(ref.item(), rel=1e-10)
    np.testing.assert_allclose(get_grad(xs), tx.grad.numpy().ravel(), rtol=1e-10, atol=1e-15)


def test_mse_matches_torch() -> None:
    _check(losses.mse,
           lambda t, x, y: t.nn.functional.mse_loss(x, t.tensor(y, dtype=t.float64)),
           PREDS, TARGETS)


def test_mse_averages_over_every_element_of_rows() -> None:
    _check(losses.mse,
           lambda t, x, y: t.nn.functional.mse_loss(x, t.tensor(y, dtype=t.float64)),
           ROWS[:, :3] / 100, ROWS[:, 1:] / 100)


def test_hinge_matches_torch() -> None:
    _check(losses.hinge,
           lambda t, x, y: t.relu(1 - t.tensor(y, dtype=t.float64) * x).mean(),
           PREDS, SIGNS)


def test_bce_with_logits_matches_torch() -> None:
    _check(losses.bce_with_logits,
           lambda t, x, y: t.nn.functional.binary_cross_entropy_with_logits(
               x, t.tensor(y, dtype=t.float64)),
           LOGITS, PROBS)


def test_softmax_cross_entropy_matches_torch() -> None:
    _check(losses.softmax_cross_entropy,
           lambda t, x, y: t.nn.functional.cross_entropy(x, t.tensor(y)),
           ROWS, CLASSES)


def test_l2_matches_torch() -> None:
    _check(lambda ps, alpha: losses.l2(ps, alpha),
           lambda t, x, alpha: alpha * (x * x).sum(), PREDS, 1e-4)


def test_hinge_and_l2_are_micrograds_demo_loss_bitwise() -> None:
    def run(loss_fn):
        ss = [Value(v) for v in PREDS]
        ps = [Value(v) for v in TARGETS]
        loss = loss_fn(ss, ps)
        loss.backward()
        return loss.data, get_grad(ss + ps)

    def demo(scores, params):
        losses_ = [(1 + -yi * scorei).relu() for yi, scorei in zip(SIGNS, scores)]
        data_loss = sum(losses_) * (1.0 / len(losses_))
        return data_loss + 1e-4 * sum(p * p for p in params)

    fused = run(lambda ss, ps: losses.hinge(ss, SIGNS) + losses.l2(ps, 1e-4))
    plain = run(demo)
    assert fused[0] == plain[0]
    assert np.array_equal(fused[1], plain[1])


def test_bce_gradient_at_zero_is_sigmoid_minus_target() -> None:
    for y in (0.0, 0.3, 1.0):
        x = Value(0.0)
        losses.bce_with_logits([x], [y]).backward()
        assert x.grad == 0.5 - y


def test_bce_and_cross_entropy_do_not_overflow() -> None:
    big = losses.bce_with_logits([Value(1000.0), Value(-1000.0), Value(800.0)], [0.0, 0.0, 1.0])
    assert big.data == pytest.approx((1000.0 + 0.0 + 0.0) / 3, rel=1e-15)
    row = [Value(1000.0), Value(0.0), Value(-1000.0)]
    ce = losses.softmax_cross_entropy([row], [1])
    ce.backward()
    assert ce.data == 1000.0
    assert [v.grad for v in row] == [1.0, -1.0, 0.0]


def test_targets_may_be_values() -> None:
    p, t = Value(2.0), Value(0.5)
    losses.mse([p], [t]).backward()
    assert (p.grad, t.grad) == (3.0, -3.0)


def test_losses_reduce_by_mean() -> None:
    assert losses.mse([1.0, 3.0], [0.0, 0.0]).data == 5.0
    assert losses.hinge([Value(0.0), Value(2.0)], [1, 1]).data == 0.5
    pair = [Value(0.0), Value(0.0)]
    assert losses.softmax_cross_entropy([pair, pair], [0, 1]).data == pytest.approx(np.log(2))


@pytest.mark.parametrize("call, error", [
    (lambda: losses.mse([Value(1.0)] * 2, [1.0]), "2 predictions but 1 targets"),
    (lambda: losses.hinge([], []), "no predictions"),
    (lambda: losses.bce_with_logits([Value(0.0)], ["x"]), "real number, not str"),
    (lambda: losses.mse(["a"], [1.0]), "real number"),
    (lambda: losses.softmax_cross_entropy([[1.0, 2.0]], [2]), "class index"),
    (lambda: losses.softmax_cross_entropy([[1.0, 2.0]], [0.0]), "class index"),
    (lambda: losses.softmax_cross_entropy([[1.0, 2.0]], [True]), "class index"),
    (lambda: losses.softmax_cross_entropy([[1.0, 2.0]], [0, 1]), "1 rows but 2 targets"),
    (lambda: losses.softmax_cross_entropy([], []), "no rows"),
])
def test_bad_input_raises(call, error: str) -> None:
    with pytest.raises((TypeError, ValueError), match=error):
        call()
