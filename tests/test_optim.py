"""fastgrad.optim: torch.optim's SGD and Adam, one engine call per step."""
from __future__ import annotations

import numpy as np
import pytest

from fastgrad import Value, get_data, get_grad, optim, set_grad
from fastgrad import sum as vsum
from fastgrad.engine import adam_step, sgd_step

INIT = [0.8, -1.3, 0.25, 2.0, -0.6, 1.1]
TARGET = [0.5, 0.1, -0.7, 1.5, 0.3, -1.0]
SCALE = [1.0, 0.5, 2.0, 0.3, 1.5, 0.8]


def _loss(ps: list[Value]) -> Value:
    """A smooth, coupled, non-quadratic objective: sum c (p - t)^2 + 0.1 sum tanh(p_i p_i+1)."""
    terms = [c * (p - t) ** 2 for p, t, c in zip(ps, TARGET, SCALE)]
    terms += [0.1 * (a * b).tanh() for a, b in zip(ps, ps[1:])]
    return vsum(terms)


def _train(opt: optim.Optimizer, ps: list[Value], steps: int) -> np.ndarray:
    for _ in range(steps):
        opt.zero_grad()
        _loss(ps).backward()
        opt.step()
    return get_data(ps)


def _run(make, steps: int) -> np.ndarray:
    """The parameters after `steps` steps of make(params) from INIT."""
    ps = [Value(x) for x in INIT]
    return _train(make(ps), ps, steps)


SETTINGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, weight_decay=0.01)),
    ("SGD", dict(lr=0.1, weight_decay=0.1)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6)),
    ("Adam", dict(lr=0.01, weight_decay=0.1)),
]


def _torch_run(torch, cls, settings: dict, steps: int) -> np.ndarray:
    p = torch.tensor(INIT, dtype=torch.float64, requires_grad=True)
    t = torch.tensor(TARGET, dtype=torch.float64)
    c = torch.tensor(SCALE, dtype=torch.float64)
    opt = cls([p], **settings)
    for _ in range(steps):
        opt.zero_grad()
        loss = (c * (p - t) ** 2).sum() + (0.1 * torch.tanh(p[:-1] * p[1:])).sum()
        loss.backward()
        opt.step()
    return p.detach().numpy()


@pytest.mark.parametrize("name, settings", SETTINGS)
def test_matches_torch_over_100_steps(name: str, settings: dict) -> None:
    torch = pytest.importorskip("torch")
    ours = _run(lambda ps: getattr(optim, name)(ps, **settings), 100)
    theirs = _torch_run(torch, getattr(torch.optim, name), settings, 100)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=0)
    assert not np.allclose(ours, INIT)


def test_plain_sgd_is_micrograds_update() -> None:
    ps = [Value(x) for x in INIT]
    _loss(ps).backward()
    expected = [p.data - 0.3 * p.grad for p in ps]
    optim.SGD(ps, lr=0.3).step()
    assert [p.data for p in ps] == expected


def test_lr_can_be_scheduled_between_steps() -> None:
    ps = [Value(x) for x in INIT]
    opt = optim.SGD(ps, lr=0.1)
    _loss(ps).backward()
    opt.lr = 0.0
    opt.step()
    assert [p.data for p in ps] == INIT
    opt.lr = 0.5
    opt.step()
    assert [p.data for p in ps] != INIT


def test_zero_grad() -> None:
    ps = [Value(x) for x in INIT]
    opt = optim.Adam(ps)
    _loss(ps).backward()
    opt.zero_grad()
    assert get_grad(ps).tolist() == [0.0] * len(ps)


@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=0.01),
    lambda ps: optim.Adam(ps, lr=0.05, weight_decay=0.01),
])
def test_state_dict_resumes_training_exactly(make) -> None:
    ps = [Value(x) for x in INIT]
    opt = make(ps)
    data, state = _train(opt, ps, 5), opt.state_dict()
    straight = _train(opt, ps, 5)
    resumed_ps = [Value(x) for x in data]
    resumed = make(resumed_ps)
    resumed.load_state_dict(state)
    assert np.array_equal(_train(resumed, resumed_ps, 5), straight)


def test_state_dict_holds_copies() -> None:
    ps = [Value(x) for x in INIT]
    opt = optim.Adam(ps)
    _loss(ps).backward()
    opt.step()
    state = opt.state_dict()
    state["exp_avg"][:] = 99.0
    assert opt.state_dict()["exp_avg"][0] != 99.0
    assert state["step"] == 1 and state["betas"] == (0.9, 0.999)
    assert optim.SGD(ps, lr=0.1, momentum=0.9).state_dict()["momentum_buffer"] is None


@pytest.mark.parametrize("change, error", [
    (lambda s: s.pop("exp_avg"), "missing keys: \\['exp_avg'\\]"),
    (lambda s: s.update(extra=1), "unexpected keys: \\['extra'\\]"),
    (lambda s: s.update(exp_avg=np.zeros(3)), "shape"),
    (lambda s: s.update(exp_avg_sq=np.array(["a"] * 6)), "real numbers"),
    (lambda s: s.update(betas=(0.9, 1.0)), "betas"),
    (lambda s: s.update(step=-1), "step"),
    (lambda s: s.update(lr=-0.1), "lr"),
])
def test_bad_adam_state_raises_and_changes_nothing(change, error: str) -> None:
    ps = [Value(x) for x in INIT]
    opt = optim.Adam(ps, lr=0.05)
    _loss(ps).backward()
    opt.step()
    before = opt.state_dict()
    bad = opt.state_dict()
    change(bad)
    with pytest.raises((TypeError, ValueError), match=error):
        opt.load_state_dict(bad)
    after = opt.state_dict()
    assert after.keys() == before.keys()
    for key in before:
        assert np.array_equal(after[key], before[key])


def test_bad_sgd_state_raises_and_changes_nothing() -> None:
    ps = [Value(x) for x in INIT]
    opt = optim.SGD(ps, lr=0.1, momentum=0.9)
    state = opt.state_dict()
    state["momentum_buffer"] = np.ones(2)
    with pytest.raises(ValueError, match="shape"):
        opt.load_state_dict(state)
    assert opt.state_dict()["momentum_buffer"] is None
    with pytest.raises(TypeError, match="mapping"):
        opt.load_state_dict([1, 2])


@pytest.mark.parametrize("make, error", [
    (lambda: optim.SGD([], lr=0.1), "empty"),
    (lambda: optim.SGD([Value(1), 2.0], lr=0.1), "not a Value"),
    (lambda: optim.SGD([Value(1)] * 2, lr=0.1), "more than once"),
    (lambda: optim.SGD([Value(1)], lr=-1.0), "lr"),
    (lambda: optim.SGD([Value(1)], lr="0.1"), "lr"),
    (lambda: optim.SGD([Value(1)], lr=0.1, momentum=-0.5), "momentum"),
    (lambda: optim.Adam([Value(1)], betas=(0.9, 1.0)), "betas"),
    (lambda: optim.Adam([Value(1)], betas=(0.9,)), "betas"),
    (lambda: optim.Adam([Value(1)], eps=-1e-8), "eps"),
    (lambda: optim.Adam([Value(1)], weight_decay=float("nan")), "weight_decay"),
])
def test_bad_optimizer_arguments_raise(make, error: str) -> None:
    with pytest.raises((TypeError, ValueError), match=error):
        make()


def test_step_kernels_check_everything_before_changing_anything() -> None:
    ps = [Value(x) for x in INIT]
    set_grad(ps, 1.0)
    n = len(ps)
    bad_calls = [
        lambda: sgd_step(ps, 0.1, 0.9, 0.0, np.zeros(n - 1), True),
        lambda: sgd_step(ps, 0.1, 0.9, 0.0, np.zeros(n, dtype=np.float32), True),
        lambda: sgd_step(ps, 0.1, 0.9, 0.0, np.zeros(2 * n)[::2], True),
        lambda: sgd_step(ps + [1.0], 0.1, 0.9, 0.0, np.zeros(n + 1), True),
        lambda: adam_step(ps, 0.1, 0.9, 0.999, 1e-8, 0.0, 0, np.zeros(n), np.zeros(n)),
        lambda: adam_step(ps, 0.1, 0.9, 0.999, 1e-8, 0.0, 1, np.zeros(n), np.zeros(n + 1)),
    ]
    frozen = np.zeros(n)
    frozen.flags.writeable = False
    bad_calls.append(lambda: adam_step(ps, 0.1, 0.9, 0.999, 1e-8, 0.0, 1, frozen, np.zeros(n)))
    for call in bad_calls:
        with pytest.raises((TypeError, ValueError)):
            call()
        assert [p.data for p in ps] == INIT


def test_adam_with_zero_eps_and_zero_grad_gives_nan_not_an_error() -> None:
    # 0/0 in the update: both backends give IEEE nan, as torch does, rather than raising
    ps = [Value(1.0)]
    opt = optim.Adam(ps, eps=0.0)
    opt.step()
    assert np.isnan(ps[0].data)

