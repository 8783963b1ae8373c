"""The workloads as a PyTorch user writes them: float64, scalar tensors where the
workload is per-op, batched tensors where it is a model."""
from __future__ import annotations

import time
from typing import Callable

import numpy as np
import torch

from fastgrad.examples import moons
from fastgrad.bench.measure import NA, repeat, rss
from fastgrad.bench.spec import Config
from fastgrad.bench import scale, workloads
from fastgrad.bench.workloads import (
    CHAIN_B, CHAIN_W, DIGITS_BATCH, DIGITS_LR, Result, chain, load_digits, mesh_points,
)

DT = torch.float64
# One thread, as fastgrad has: on tensors this small, more threads only add hand-offs,
# and on a busy machine spinning worker threads make torch's times erratic.
torch.set_num_threads(1)


def _scalar(x: float) -> torch.Tensor:
    return torch.tensor(x, dtype=DT, requires_grad=True)


def _mlp(sizes: list[int], seed: int) -> torch.nn.Sequential:
    """Linear layers with ReLU between them, as micrograd's MLP (linear last layer)."""
    torch.manual_seed(seed)
    layers: list[torch.nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1], dtype=DT))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def moons_step(config: Config) -> Result:
    return workloads.timed_steps(moons_stepper(config.seed), config,
                                 workloads.fastgrad_reference(config.seed))


def moons_stepper(seed: int) -> Callable[[], tuple[float, float]]:
    """The notebook's step on a (100, 2) tensor: hinge loss + L2, SGD, lr schedule."""
    X_np, y_np = moons.data(seed)
    X, y = torch.tensor(X_np, dtype=DT), torch.tensor(y_np, dtype=DT)
    model = _mlp([2, *moons.SIZES], seed)
    params = list(model.parameters())
    optimizer = torch.optim.SGD(params, lr=1.0)
    k = 0

    def step() -> tuple[float, float]:
        nonlocal k
        scores = model(X).squeeze(1)
        data_loss = torch.relu(1 - y * scores).mean()
        reg_loss = moons.ALPHA * sum((p * p).sum() for p in params)
        total_loss = data_loss + reg_loss
        accuracy = ((y > 0) == (scores > 0)).double().mean().item()
        optimizer.zero_grad()
        total_loss.backward()
        optimizer.param_groups[0]["lr"] = 1.0 - 0.9 * (k % 100) / 100
        optimizer.step()
        k += 1
        return total_loss.item(), accuracy
    return step


def memory(config: Config) -> Result:
    n = config.chain_ops
    w, b, y0 = _scalar(CHAIN_W), _scalar(CHAIN_B), _scalar(1.0)
    base_rss = rss()
    y = chain(y0, w, b, n)
    grown_rss = rss()
    del y
    after_rss = rss()
    na = NA("RSS only", "torch keeps no per-node count; see the RSS rows")
    if base_rss is None or grown_rss is None or after_rss is None:
        rss_na = NA("no /proc", "RSS is read from /proc")
        return {"mem_node": na, "mem_release": na, "mem_release_nodes": na,
                "mem_node_rss": rss_na, "mem_release_rss": rss_na}
    return {"mem_node": na, "mem_release": na, "mem_release_nodes": na,
            "mem_node_rss": (grown_rss - base_rss) / n,
            "mem_release_rss": float(after_rss - base_rss)}


def mesh(config: Config) -> Result:
    model = _mlp([2, *moons.SIZES], config.seed)
    points = torch.tensor(mesh_points(config.mesh_side), dtype=DT)

    def whole() -> tuple[float]:
        t0 = time.perf_counter()
        with torch.no_grad():
            model(points).numpy()
        return ((time.perf_counter() - t0) / len(points),)

    batched = NA("batched only", "torch evaluates the mesh as one tensor: see the array row")
    return {"mesh_graph": batched, "mesh_no_grad": batched, "mesh_array": repeat(whole, config)[0]}


def digits_step(config: Config) -> Result:
    step = digits_stepper(config.seed)
    return {"digits_step": repeat(lambda: (step(),), config)[0]}


def digits_stepper(seed: int) -> Callable[[], float]:
    """One SGD step on a random batch; its seconds, the batch's draw left out."""
    X_np, y_list = load_digits()
    X, y = torch.tensor(X_np, dtype=DT), torch.tensor(y_list)
    model = _mlp([64, 32, 10], seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=DIGITS_LR)
    rng = np.random.default_rng(seed)

    def step() -> float:
        idx = torch.from_numpy(rng.choice(len(X), DIGITS_BATCH, replace=False))
        t0 = time.perf_counter()
        loss = torch.nn.functional.cross_entropy(model(X[idx]), y[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return time.perf_counter() - t0
    return step


def compiled(config: Config) -> Result:
    """The compiled workload's torch column: torch's own steps (bench/compiled.py)."""
    from fastgrad.bench.compiled import measure, readme_expression
    steps: dict[str, Callable[[], object] | None] = {
        "moons": moons_stepper(config.seed), "digits": digits_stepper(config.seed),
        "expr": lambda: readme_expression(_scalar)[0].backward()}
    return measure(steps, steps, config, "")


WORKLOADS: dict[str, Callable[[Config], Result]] = {
    "per-op": lambda config: workloads.per_op(_scalar, config), "moons": moons_step,
    "deep-chain": lambda config: workloads.deep_chain(_scalar, config), "memory": memory,
    "mesh": mesh, "digits": digits_step, "compiled": compiled,
    "live-size": lambda config: scale.live_size(_scalar, config, scale.LIVE_CAPS["torch"]),
    "readme": lambda config: scale.readme(_scalar, config),
}
