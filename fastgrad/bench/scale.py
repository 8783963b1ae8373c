"""The dynamic path at scale: forward per op against the live graph's size,
and micrograd's README expression built fresh each iteration, each timed beside the same
code on Python floats in the same process, so the ratio sees one machine load."""
from __future__ import annotations

import gc
import time
from typing import Any, Callable

from fastgrad.bench.measure import NA, repeat
from fastgrad.bench.spec import LIVE_EXPONENTS, Config
from fastgrad.bench.workloads import PAIRS, Result, mixed, mixed_floats

# the engines whose nodes are Python objects take ~10x fastgrad's memory a node and
# 100x-1000x its time (torch more): their columns stop here
LIVE_CAPS = {"fastgrad (pure)": 10**6, "micrograd": 10**6, "torch": 10**5}
CHEAP_X, CHEAP_W = 0.5, 0.25  # acc grows by 0.0625 a round: no overflow at 10^7 ops
CHEAP_OPS = 5  # * + - * + a round
MIXED_OPS = 6 * len(PAIRS)  # a round of the mixed loop is all of PAIRS
README_BATCH = 50  # expressions per timed block


def cheap(acc: Any, x: Any, w: Any, rounds: int) -> Any:
    for _ in range(rounds):
        acc = acc + (x * w + 0.5 - w) * x
    return acc


def _mixed_rounds(make: Callable[[float], Any]) -> Callable[[Any, int], Any]:
    leaves = [(make(a), make(b)) for a, b in PAIRS]

    def run(y: Any, rounds: int) -> Any:
        for _ in range(rounds):
            y = mixed(y, leaves)
        return y
    return run


def _mixed_floats_rounds(y: float, rounds: int) -> float:
    for _ in range(rounds):
        y = mixed_floats(y, PAIRS)
    return y


def live_size(make: Callable[[float], Any], config: Config, cap: int | None = None) -> Result:
    """Per loop and live size n: one sample builds a chain of n ops (every node stays alive,
    the chain holds them) and times it beside the same loop on floats; the chain is freed
    after the timing. Sizes above config.live_max, or above the engine's cap, are not run."""
    x, w = make(CHEAP_X), make(CHEAP_W)
    run_mixed = _mixed_rounds(make)
    loops = {
        "cheap": (CHEAP_OPS, lambda y, r: cheap(y, x, w, r),
                  lambda y, r: cheap(y, CHEAP_X, CHEAP_W, r)),
        "mixed": (MIXED_OPS, run_mixed, _mixed_floats_rounds),
    }
    result: Result = {}
    for loop, (ops, engine, floats) in loops.items():
        for e in LIVE_EXPONENTS:
            n = 10**e
            key = live_key(loop, e)
            if n > config.live_max:
                result[key] = NA("not run", f"live sizes above {config.live_max:.0e} nodes are "
                                            "left out of this run (--quick stops at 10^4)")
                continue
            if cap is not None and n > cap:
                result[key] = NA("capped", f"this engine is run up to {cap:.0e} live nodes "
                                           "(~10x fastgrad's memory a node, 100x+ its time)")
                continue
            result[key] = repeat(_chain_sample(make, engine, floats, max(1, n // ops)),
                                 config)[0]
            gc.collect()
    return result


def _chain_sample(make: Callable[[float], Any], engine: Callable[[Any, int], Any],
                  floats: Callable[[float, int], float], rounds: int
                  ) -> Callable[[], tuple[float]]:
    def sample() -> tuple[float]:
        y0 = make(0.1)
        t0 = time.perf_counter()
        floats(0.1, rounds)
        t1 = time.perf_counter()
        y = engine(y0, rounds)
        t2 = time.perf_counter()
        del y  # after the timing: the graph is kept alive while it grows
        return ((t2 - t1) / (t1 - t0),)
    return sample


def live_key(loop: str, exponent: int) -> str:
    return f"live_{loop}_{exponent}"


def readme_floats() -> float:
    """micrograd's README expression (fastgrad.bench.compiled.readme_expression) on floats,
    max(., 0.0) for relu: the floor of one forward."""
    a, b = -4.0, 2.0
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + max(b + a, 0.0)
    d += 3 * d + max(b - a, 0.0)
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    return g


def readme(make: Callable[[float], Any], config: Config) -> Result:
    """A fresh README graph per iteration, forward + backward, against its forward alone on
    floats: blocks of README_BATCH of each, back to back."""
    from fastgrad.bench.compiled import readme_expression  # it builds on workloads.py

    def sample() -> tuple[float, float]:
        t0 = time.perf_counter()
        for _ in range(README_BATCH):
            readme_floats()
        t1 = time.perf_counter()
        for _ in range(README_BATCH):
            readme_expression(make)[0].backward()
        t2 = time.perf_counter()
        return (t2 - t1) / README_BATCH, (t2 - t1) / (t1 - t0)

    step, over = repeat(sample, config)
    return {"readme_step": step, "readme_over_floats": over}
