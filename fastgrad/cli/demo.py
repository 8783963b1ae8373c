"""`python -m fastgrad`: train micrograd's moons demo and show what it learned."""
from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from typing import TextIO

import numpy as np

from fastgrad.cli import backends, boundary, moons
from fastgrad.cli.argtypes import positive_int, seed
from fastgrad.cli.units import duration

PURE_STEPS = 3  # steps replayed on the pure backend to measure the speed-up


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--steps", type=positive_int, default=100, metavar="N",
                        help="SGD steps to train (default 100, as in micrograd's notebook); "
                             "the learning rate falls linearly from 1.0 to 0.1 over them")
    parser.add_argument("--seed", type=seed, default=1337,
                        help="seed for the dataset and the initial weights (default 1337)")
    parser.add_argument("--backend", choices=backends.BACKEND_CHOICES, default="auto",
                        help="engine to train on: 'fast' (compiled core), 'pure' (the "
                             "Python reference), or 'auto', what `import fastgrad` picks "
                             "(default; FASTGRAD_PURE=1 selects pure)")
    parser.add_argument("--plot", metavar="PATH",
                        help="write the decision boundary as a PNG (needs matplotlib) "
                             "instead of drawing it in the terminal")
    parser.add_argument("--no-plot", action="store_true", help="draw no decision boundary")


def check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Usage errors found before training starts."""
    if args.plot and args.no_plot:
        parser.error("--plot and --no-plot exclude each other")
    if args.plot and importlib.util.find_spec("matplotlib") is None:
        parser.error("--plot needs matplotlib (pip install matplotlib); "
                     "without --plot the boundary is drawn in the terminal")


def run(args: argparse.Namespace) -> int:
    out = sys.stdout  # looked up per call: callers may redirect it
    engine, nn = backends.modules(args.backend)
    used = backends.name(engine)
    X, y = moons.data(args.seed)
    model = moons.model(nn.MLP, args.seed)
    print(f"micrograd's moons demo on fastgrad ({used} backend): {len(X)} samples, "
          f"MLP(2, {moons.SIZES}), {len(model.parameters())} parameters, {args.steps} steps",
          file=out)

    progress = _Progress(out, args.steps)
    losses, times = [], []
    for k in range(args.steps):
        t0 = time.perf_counter()
        loss, acc = moons.step(model, engine.Value, X, y, k, args.steps)
        times.append(time.perf_counter() - t0)
        losses.append(loss)
        progress.show(k, loss, acc)
    progress.close()

    step_time = statistics.median(times)
    print(f"final accuracy {acc * 100:.0f}% (loss {loss:.6f}); "
          f"time per step {duration(step_time)} (median of {args.steps})", file=out)
    status = _compare_with_pure(used, args, X, y, losses, step_time, out)

    if args.plot:
        boundary.png_plot(model, engine, X, y, args.plot)
        print(f"decision boundary written to {args.plot}", file=out)
    elif not args.no_plot:
        print(boundary.text_plot(model, engine, X, y), file=out)
    return status


def _compare_with_pure(used: str, args: argparse.Namespace, X: np.ndarray, y: np.ndarray,
                       losses: list[float], step_time: float, out: TextIO) -> int:
    """Replay the first steps on the pure backend: its time per step and its losses."""
    if used == "pure":
        print("speed-up over pure: n/a, this run is on the pure backend", file=out)
        return 0
    engine, nn = backends.modules("pure")
    model = moons.model(nn.MLP, args.seed)
    n = min(PURE_STEPS, args.steps)
    times, replayed = [], []
    for k in range(n):
        t0 = time.perf_counter()
        replayed.append(moons.step(model, engine.Value, X, y, k, args.steps)[0])
        times.append(time.perf_counter() - t0)
    pure_time = statistics.median(times)
    same = replayed == losses[:n]
    print(f"pure backend: {duration(pure_time)} per step on steps 0-{n - 1} "
          f"({'bit-identical losses' if same else 'LOSSES DIFFER'}); "
          f"speed-up {pure_time / step_time:.0f}x", file=out)
    if not same:
        print(f"fastgrad: the {used} and pure backends disagree: {losses[:n]} vs {replayed}",
              file=sys.stderr)
    return 0 if same else 1


class _Progress:
    """One live line (rewritten in place on a terminal, every tenth step otherwise)."""

    def __init__(self, out: TextIO, steps: int) -> None:
        self.out, self.steps = out, steps
        self.tty = out.isatty()
        self.every = 1 if self.tty else max(1, steps // 10)

    def show(self, k: int, loss: float, acc: float) -> None:
        if k % self.every and k != self.steps - 1:
            return
        width = len(str(self.steps))
        line = f"step {k + 1:{width}d}/{self.steps}  loss {loss:.6f}  accuracy {acc * 100:3.0f}%"
        if self.tty:
            self.out.write("\r" + line)
            self.out.flush()
        else:
            print(line, file=self.out)

    def close(self) -> None:
        if self.tty:
            self.out.write("\n")

