"""The workloads on engines with micrograd's Value API, and on plain floats (the floor).

Every workload is written once against a Kit (the engine's Value, MLP, ...), so
fastgrad, fastgrad.pure and micrograd run the same Python code, as their users would.
"""
from __future__ import annotations

import gc
import random
import time
import tracemalloc
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from fastgrad.examples import moons
from fastgrad.bench.measure import NA, repeat, rss
from fastgrad.bench.spec import Config

Result = dict[str, "float | NA"]

# per-op: 100 rounds of 6 user-level ops; the chain stays short enough for micrograd's
# recursive backward (its depth is about 500 nodes), and y stays bounded (y <= 18)
PAIRS = [(0.5 + i / 200, 1.0 + i / 100) for i in range(100)]
OPS_PER_GRAPH = 6 * len(PAIRS)
# deep chain and memory: y = y * w + b, two ops a round, y -> 1 and never overflows
CHAIN_W, CHAIN_B = 0.9999, 1e-4
BLOCK = 0.1  # seconds of steps on each side of an interleaved moons sample
MESH_CHUNK = 25  # points per timed sample when every point builds Values
DIGITS_BATCH, DIGITS_LR = 32, 0.1


@dataclass
class Kit:
    """An engine with micrograd's API, as one backend column of the bench."""
    name: str
    Value: Any
    MLP: Any
    no_grad: Callable[[], Any] | None  # None: the engine has no graph-free mode
    stats: Callable[[], dict] | None  # fastgrad.stats: live nodes (and bytes, if native)
    native_memory: bool = False  # nodes outside Python's heap: count bytes with stats()
    losses: Any = None  # fastgrad.losses and fastgrad.optim; None for micrograd
    optim: Any = None


class Unavailable(Exception):
    """The backend cannot be loaded in this process."""


def load_kit(backend: str) -> Kit:
    """"fastgrad", "pure" (what `import fastgrad` gives must match) or "micrograd"."""
    if backend == "micrograd":
        try:
            from micrograd.engine import Value
            from micrograd.nn import MLP
        except ImportError as exc:
            raise Unavailable(f"micrograd is not importable ({exc})") from None
        return Kit("micrograd", Value, MLP, no_grad=None, stats=None)
    import fastgrad
    import fastgrad.losses
    import fastgrad.nn
    import fastgrad.optim
    wanted = {"fastgrad": "fast", "pure": "pure"}[backend]
    if fastgrad.backend != wanted:
        raise Unavailable("the compiled core is not built or not importable; "
                          "fastgrad fell back to its pure backend")
    return Kit(f"fastgrad ({wanted})", fastgrad.Value, fastgrad.nn.MLP, fastgrad.no_grad,
               fastgrad.stats, native_memory=wanted == "fast", losses=fastgrad.losses,
               optim=fastgrad.optim)


def mixed(y: Any, pairs: list) -> Any:
    for a, b in pairs:
        y = (y * a + b - a / b).relu() * 0.9
    return y


def mixed_floats(y: float, pairs: list) -> float:
    # the same loop on floats; max(., 0.0) stands for relu, a call like the method call
    for a, b in pairs:
        y = max(y * a + b - a / b, 0.0) * 0.9
    return y


def chain(y: Any, w: Any, b: Any, ops: int) -> Any:
    for _ in range(ops // 2):
        y = y * w + b
    return y


def per_op(make: Callable[[float], Any], config: Config) -> Result:
    """Forward and backward time per op of the mixed loop; make(x) builds a leaf.

    Each sample also times the floats loop just before, so the ratio to the floor is
    taken under the same machine load (this machine's load drifts between processes).
    """
    leaves = [(make(a), make(b)) for a, b in PAIRS]

    def sample() -> tuple[float, float, float]:
        y0 = make(0.1)
        t = time.perf_counter()
        mixed_floats(0.1, PAIRS)
        t0 = time.perf_counter()
        y = mixed(y0, leaves)
        t1 = time.perf_counter()
        y.backward()
        t2 = time.perf_counter()
        del y  # freeing the graph is part of an op's cost, as freeing a float is
        t3 = time.perf_counter()
        forward = t1 - t0 + t3 - t2
        return forward / OPS_PER_GRAPH, (t2 - t1) / OPS_PER_GRAPH, forward / (t0 - t)

    forward, backward, over_floats = repeat(sample, config)
    return {"op_forward": forward, "op_backward": backward, "op_over_floats": over_floats}


def per_op_floats(config: Config) -> Result:
    def sample() -> tuple[float]:
        t0 = time.perf_counter()
        mixed_floats(0.1, PAIRS)
        return ((time.perf_counter() - t0) / OPS_PER_GRAPH,)

    return {"op_forward": repeat(sample, config)[0]}


def moons_stepper(kit: Kit, seed: int) -> Callable[[], tuple[float, float]]:
    """The notebook's training step on `kit`, one call per step."""
    X, y = moons.data(seed)
    model = moons.model(kit.MLP, seed)
    k = 0

    def step() -> tuple[float, float]:
        nonlocal k
        k += 1
        return moons.step(model, kit.Value, X, y, (k - 1) % 100, 100)
    return step


def timed_steps(step: Callable[[], Any], config: Config,
                reference: Callable[[], Any] | None) -> Result:
    """Median time of step(). With a reference (fastgrad's own step), each sample is a
    block of reference steps then a block of step()s, each block at least BLOCK seconds
    (or one call), so both see the same machine load over similar spans; the median of
    the two blocks' ratio is the figure the targets check."""
    def sample() -> tuple[float, ...]:
        if reference is None:
            t0 = time.perf_counter()
            step()
            return (time.perf_counter() - t0,)
        ref = _block(reference)
        own = _block(step)
        return own, own / ref

    medians = repeat(sample, config)
    result: Result = {"moons_step": medians[0]}
    if reference is not None:
        result["moons_over_fastgrad"] = medians[1]
    return result


def _block(fn: Callable[[], Any]) -> float:
    """Mean seconds per call of fn over calls adding up to at least BLOCK seconds."""
    n, t0 = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= BLOCK:
            return elapsed / n


def fastgrad_reference(seed: int) -> Callable[[], Any] | None:
    """The moons step on the compiled core, for workers of other engines; None without it."""
    try:
        return moons_stepper(load_kit("fastgrad"), seed)
    except Unavailable:
        return None


def moons_step(kit: Kit, config: Config) -> Result:
    reference = None if kit.name.startswith("fastgrad") else fastgrad_reference(config.seed)
    return timed_steps(moons_stepper(kit, config.seed), config, reference)


def deep_chain(make: Callable[[float], Any], config: Config) -> Result:
    """Forward and backward time of an n-op chain; make(x) builds a leaf."""
    n = config.chain_ops
    w, b = make(CHAIN_W), make(CHAIN_B)
    failure: NA | None = None

    def sample() -> tuple[float, float]:
        nonlocal failure
        y0 = make(1.0)
        t0 = time.perf_counter()
        y = chain(y0, w, b, n)
        t1 = time.perf_counter()
        try:
            y.backward()
        except RecursionError as exc:
            failure = NA("RecursionError", f"backward() of a {n}-op chain: RecursionError: {exc}")
        t2 = time.perf_counter()
        return t1 - t0, t2 - t1

    first = sample()  # a warm-up, and the only run when backward cannot finish
    if failure is not None:
        return {"chain_forward": first[0], "chain_backward": failure}
    forward, backward = repeat(sample, config, min_repeats=min(3, config.min_repeats))
    return {"chain_forward": forward, "chain_backward": backward}


def deep_chain_floats(config: Config) -> Result:
    def sample() -> tuple[float]:
        t0 = time.perf_counter()
        chain(1.0, CHAIN_W, CHAIN_B, config.chain_ops)
        return (time.perf_counter() - t0,)

    return {"chain_forward": repeat(sample, config, min_repeats=min(3, config.min_repeats))[0]}


def memory(kit: Kit, config: Config) -> Result:
    """Bytes per node of an n-op graph, and what is left once it is dropped.

    The compiled core's nodes live in C arrays that tracemalloc cannot see, so its
    accounting is fastgrad.stats()['bytes']; the Python engines' is tracemalloc's.
    """
    V, n = kit.Value, config.chain_ops
    w, b, y0 = V(CHAIN_W), V(CHAIN_B), V(1.0)
    stats = kit.stats
    if kit.native_memory and stats is not None:
        def probe() -> int:
            return stats()["bytes"]
    else:
        tracemalloc.start()

        def probe() -> int:
            return tracemalloc.get_traced_memory()[0]

    def nodes() -> int:
        return kit.stats()["live_nodes"] if kit.stats else 0
    gc.collect()
    base, base_rss, base_nodes = probe(), rss(), nodes()
    y = chain(y0, w, b, n)
    grown, grown_rss = probe(), rss()
    del y
    gc.collect()
    after, after_rss, after_nodes = probe(), rss(), nodes()
    result: Result = {"mem_node": (grown - base) / n, "mem_release": float(after - base),
                      "mem_release_nodes": float(after_nodes - base_nodes) if kit.stats else
                      NA("no node count", f"{kit.name} keeps no count of live nodes")}
    if base_rss is None or grown_rss is None or after_rss is None:
        no_rss = NA("no /proc", "RSS is read from /proc")
        result["mem_node_rss"] = result["mem_release_rss"] = no_rss
    else:
        result["mem_node_rss"] = (grown_rss - base_rss) / n
        result["mem_release_rss"] = float(after_rss - base_rss)
    return result


def mesh_points(side: int) -> np.ndarray:
    """side x side points over the moons demo's plotting area."""
    xx, yy = np.meshgrid(np.linspace(-2.0, 3.0, side), np.linspace(-1.5, 2.0, side))
    return np.c_[xx.ravel(), yy.ravel()]


def mesh(kit: Kit, config: Config) -> Result:
    model = moons.model(kit.MLP, config.seed)
    points = mesh_points(config.mesh_side)
    chunks = [points[i:i + MESH_CHUNK] for i in range(0, len(points), MESH_CHUNK)]
    V, turn = kit.Value, 0

    def per_point() -> tuple[float]:  # the notebook's mesh code, a chunk at a time
        nonlocal turn
        rows = chunks[turn % len(chunks)]
        turn += 1
        t0 = time.perf_counter()
        inputs = [list(map(V, xrow)) for xrow in rows]
        scores = list(map(model, inputs))
        del inputs, scores
        return ((time.perf_counter() - t0) / len(rows),)

    result: Result = {"mesh_graph": repeat(per_point, config)[0]}
    if kit.no_grad is None:
        result["mesh_no_grad"] = NA("no no_grad", f"{kit.name} has no no_grad(): every "
                                                  "call records a graph")
    else:
        with kit.no_grad():
            result["mesh_no_grad"] = repeat(per_point, config)[0]
    if hasattr(model, "predict"):
        def whole() -> tuple[float]:
            t0 = time.perf_counter()
            model.predict(points)
            return ((time.perf_counter() - t0) / len(points),)
        result["mesh_array"] = repeat(whole, config)[0]
    else:
        result["mesh_array"] = NA("no predict()", f"{kit.name}'s MLP has no predict(X)")
    return result


def digits_step(kit: Kit, config: Config) -> Result:
    """A bigger model the way fastgrad is meant for it: fused loss, one-call optimizer."""
    if kit.losses is None:
        return {"digits_step": NA("no softmax CE", f"{kit.name} has no softmax cross-entropy "
                                                   "(its Value has no exp() or log())")}
    X, y = load_digits()
    random.seed(config.seed)
    model = kit.MLP(64, [32, 10])
    optimizer = kit.optim.SGD(model.parameters(), lr=DIGITS_LR)
    V, batches = kit.Value, random.Random(config.seed)

    def sample() -> tuple[float]:
        idx = batches.sample(range(len(X)), DIGITS_BATCH)
        t0 = time.perf_counter()
        logits = [model(list(map(V, X[i]))) for i in idx]
        loss = kit.losses.softmax_cross_entropy(logits, [y[i] for i in idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return (time.perf_counter() - t0,)

    return {"digits_step": repeat(sample, config)[0]}


def load_digits() -> tuple[np.ndarray, list[int]]:
    """scikit-learn's bundled 8x8 digits, pixels scaled to [0, 1]."""
    from sklearn.datasets import load_digits as sk_load_digits  # the runner checked for it
    digits = sk_load_digits()
    return digits.data / 16.0, [int(t) for t in digits.target]


ENGINE_WORKLOADS: dict[str, Callable[[Kit, Config], Result]] = {
    "per-op": lambda kit, config: per_op(kit.Value, config), "moons": moons_step,
    "deep-chain": lambda kit, config: deep_chain(kit.Value, config), "memory": memory,
    "mesh": mesh, "digits": digits_step,
    "compiled": lambda kit, config: _compiled_workload(kit, config),
    "live-size": lambda kit, config: _scale().live_size(kit.Value, config,
                                                         _scale().LIVE_CAPS.get(kit.name)),
    "readme": lambda kit, config: _scale().readme(kit.Value, config),
}


def _scale() -> Any:
    from fastgrad.bench import scale  # it builds on this module
    return scale


def _compiled_workload(kit: Kit, config: Config) -> Result:
    from fastgrad.bench.compiled import workload  # it builds on this module
    return workload(kit, config)
FLOAT_WORKLOADS = {"per-op": per_op_floats, "deep-chain": deep_chain_floats}
