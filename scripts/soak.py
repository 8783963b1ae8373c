#!/usr/bin/env python3
"""Soak test: constant memory over a long training run, and a very long chain.

    PYTHONPATH=. python scripts/soak.py [--steps 100000] [--chain 10000000] [--every 10000]

1. Trains micrograd's moons demo (MLP(2, [16, 16, 1]), the notebook's loss and SGD
   update) for --steps steps, printing resident memory and live nodes every --every
   steps. Fails if, after --warmup steps, RSS grows by 1 MiB or more or the Python
   objects alive grow by one per two steps (a leak of one object a step), or if
   between steps the live node count is not exactly the parameter count.
2. Builds a chain of --chain operations (y = y*a + b, alternating), backpropagates it,
   checks data and grad against the same float arithmetic, and drops it, printing the
   time of each phase and the live nodes. Fails unless the store is back where it was.

Runs on the backend `import fastgrad` picks (FASTGRAD_PURE=1: the pure one, ~50 ms a
step and ~400 bytes a node, so size it down there). Exit status 0 when all is well.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import fastgrad
from fastgrad import Value, nn
from fastgrad.examples import moons

MiB = 1 << 20


def rss() -> int:
    """Resident set size in bytes (Linux /proc)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def live() -> int:
    return fastgrad.stats()["live_nodes"]


def soak_training(steps: int, every: int, warmup: int) -> bool:
    X, y = moons.data(1337)
    model = moons.model(nn.MLP, 1337)
    expected = live()
    print(f"training: {steps} steps of the moons demo, {expected} live nodes expected "
          f"between steps, RSS measured from step {warmup}")
    start, blocks = rss(), sys.getallocatedblocks()
    worst_live = expected
    t0 = time.perf_counter()
    for k in range(steps):
        if k == warmup:
            start, blocks = rss(), sys.getallocatedblocks()
        loss, acc = moons.step(model, Value, X, y, k, steps)
        if live() != expected:
            worst_live = live()
        if (k + 1) % every == 0 or k + 1 == steps:
            now = rss()
            growth = (f"{(now - start) / MiB:+.2f} MiB, {sys.getallocatedblocks() - blocks:+d} "
                      f"objects since warm-up" if k >= warmup else "warming up")
            print(f"  step {k + 1:>8}  loss {loss:.6f}  acc {acc:.2f}  RSS {now / MiB:8.2f} MiB "
                  f"({growth})  live nodes {live()}  {time.perf_counter() - t0:8.1f} s",
                  flush=True)
    growth, objects = 0, 0
    if steps > warmup:
        growth, objects = rss() - start, sys.getallocatedblocks() - blocks
    ok = growth < MiB and objects < max((steps - warmup) // 2, 10) and worst_live == expected
    print(f"training: after warm-up RSS {growth / MiB:+.3f} MiB (limit 1 MiB), Python objects "
          f"{objects:+d}; live nodes {'always' if worst_live == expected else 'NOT always'} "
          f"{expected}: {'ok' if ok else 'FAILED'}")
    return ok


def soak_chain(n: int) -> bool:
    scale, shift = 1.0000001, -1e-7
    before, rss0 = live(), rss()
    print(f"chain: {n} operations")
    t0 = time.perf_counter()
    x = Value(0.5)
    y = x
    for i in range(n):
        y = y * scale if i % 2 == 0 else y + shift
    t1 = time.perf_counter()
    print(f"  built in {t1 - t0:.2f} s: {live() - before} live nodes, "
          f"RSS {(rss() - rss0) / MiB:+.1f} MiB, store {fastgrad.stats()['bytes'] / MiB:.1f} MiB")
    y.backward()
    t2 = time.perf_counter()
    print(f"  backward in {t2 - t1:.2f} s")
    data, grad = 0.5, 1.0  # the same arithmetic on floats, in the sweep's order
    for i in range(n):
        if i % 2 == 0:
            data, grad = data * scale, scale * grad
        else:
            data = data + shift
    same = y.data == data and x.grad == grad
    t3 = time.perf_counter()
    del x, y
    t4 = time.perf_counter()
    back = live() == before
    print(f"  released in {t4 - t3:.2f} s: {live() - before} live nodes left; data and grad "
          f"{'equal' if same else 'DIFFER from'} the float computation")
    ok = same and back
    print(f"chain: {'ok' if ok else 'FAILED'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=100_000, help="training steps (0: skip)")
    parser.add_argument("--every", type=int, default=10_000, help="print every N steps")
    parser.add_argument("--warmup", type=int, default=100, help="steps before RSS is measured")
    parser.add_argument("--chain", type=int, default=10_000_000, help="chain length (0: skip)")
    args = parser.parse_args()
    for name in ("steps", "chain", "warmup"):
        if getattr(args, name) < 0:
            parser.error(f"--{name} must be >= 0")
    if args.every < 1:
        parser.error("--every must be >= 1")
    print(f"fastgrad {fastgrad.__version__}, {fastgrad.backend} backend, "
          f"Python {sys.version.split()[0]}")
    ok = True
    if args.steps:
        ok &= soak_training(args.steps, args.every, args.warmup)
    if args.chain:
        ok &= soak_chain(args.chain)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
