"""`python -m fastgrad`: train micrograd's moons demo and draw the decision boundary it learned."""
from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np

from fastgrad.cli import common
from fastgrad.examples import moons

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PURE_STEPS = 3  # steps replayed on the pure backend to measure the speed-up
DYNAMIC_STEPS = 5  # steps of the dynamic path run beside a compiled run, to compare
MARGIN = 1.0  # the notebook's mesh reaches one unit past the data on every side
MESH_STEP = 0.02  # the PNG's mesh spacing (the notebook's 0.25 draws visible steps)
COLOURS = {-1: "#d53e4f", 1: "#3288bd"}  # each class's, the ends of the notebook's Spectral


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--steps", type=common.positive_int, default=100, metavar="N",
                        help="SGD steps to train (default 100, as in micrograd's notebook); "
                             "the learning rate falls linearly from 1.0 to 0.1 over them")
    parser.add_argument("--seed", type=common.seed, default=1337,
                        help="seed for the dataset and the initial weights (default 1337)")
    parser.add_argument("--backend", choices=common.BACKEND_CHOICES, default="auto",
                        help="engine to train on: 'fast' (compiled core), 'pure' (the "
                             "Python reference), or 'auto', what `import fastgrad` picks "
                             "(default; FASTGRAD_PURE=1 selects pure)")
    parser.add_argument("--dynamic", action="store_true",
                        help="build the graph every step, as micrograd does, instead of "
                             "recording it once and replaying it (fastgrad.compile, the "
                             "default); a compiled run also times the dynamic path")
    parser.add_argument("--plot", metavar="PATH", type=common.output_file,
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
    engine, nn = common.modules(args.backend)
    used = common.name(engine)
    X, y = moons.data(args.seed)
    model = moons.model(nn.MLP, args.seed)
    print(f"micrograd's moons demo on fastgrad ({used} backend): {len(X)} samples, "
          f"MLP(2, {moons.SIZES}), {len(model.parameters())} parameters, {args.steps} steps",
          file=out)

    progress = _Progress(out, args.steps)
    losses, times = [], []
    compiled = None if args.dynamic else moons.Compiled(model, engine, X, y)
    for k in range(args.steps):
        t0 = time.perf_counter()
        if compiled is None:
            loss, acc = moons.step(model, engine.Value, X, y, k, args.steps)
        else:
            loss, acc = compiled.step(k, args.steps)
        times.append(time.perf_counter() - t0)
        losses.append(loss)
        progress.show(k, loss, acc)
    progress.close()

    step_time = statistics.median(times)
    mode = "dynamic" if compiled is None else "compiled"
    print(f"final accuracy {acc * 100:.0f}% (loss {loss:.6f}); "
          f"time per step {common.duration(step_time)} (median of {args.steps}, {mode})",
          file=out)
    status = 0 if compiled is None else _compare_with_dynamic(args, engine, nn, X, y, losses,
                                                               step_time, out)
    status |= _compare_with_pure(used, args, X, y, losses, step_time, out)

    if args.plot:
        png_plot(model, engine, X, y, args.plot)
        print(f"decision boundary written to {args.plot}", file=out)
    elif not args.no_plot:
        print(text_plot(model, engine, X, y), file=out)
    return status


def _dynamic_steps(engine: Any, nn: Any, args: argparse.Namespace, X: np.ndarray,
                   y: np.ndarray, n: int) -> tuple[float, list[float]]:
    """The demo's first n steps on a fresh model, the graph built every step: the median
    time per step and the losses."""
    model = moons.model(nn.MLP, args.seed)
    times, step_losses = [], []
    for k in range(n):
        t0 = time.perf_counter()
        step_losses.append(moons.step(model, engine.Value, X, y, k, args.steps)[0])
        times.append(time.perf_counter() - t0)
    return statistics.median(times), step_losses


def _compare_with_dynamic(args: argparse.Namespace, engine: Any, nn: Any, X: np.ndarray,
                          y: np.ndarray, losses: list[float], step_time: float,
                          out: TextIO) -> int:
    """The first steps again on the dynamic path (the graph built every step): its time
    per step, and whether its losses are the compiled run's."""
    n = min(DYNAMIC_STEPS, args.steps)
    dynamic_time, rebuilt = _dynamic_steps(engine, nn, args, X, y, n)
    same = rebuilt == losses[:n]
    print(f"dynamic path: {common.duration(dynamic_time)} per step on steps 0-{n - 1} "
          f"({'bit-identical losses' if same else 'LOSSES DIFFER'}); compiled is "
          f"{dynamic_time / step_time:.1f}x faster", file=out)
    if not same:
        print(f"fastgrad: compiled and dynamic steps disagree: {losses[:n]} vs {rebuilt}",
              file=sys.stderr)
    return 0 if same else 1


def _compare_with_pure(used: str, args: argparse.Namespace, X: np.ndarray, y: np.ndarray,
                       losses: list[float], step_time: float, out: TextIO) -> int:
    """The first steps again on the pure backend's dynamic path: its time per step and
    its losses."""
    if used == "pure":
        print("speed-up over pure: n/a, this run is on the pure backend", file=out)
        return 0
    engine, nn = common.modules("pure")
    n = min(PURE_STEPS, args.steps)
    pure_time, replayed = _dynamic_steps(engine, nn, args, X, y, n)
    same = replayed == losses[:n]
    print(f"pure backend: {common.duration(pure_time)} per step on steps 0-{n - 1} "
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


# -- the decision boundary: a PNG through matplotlib, or characters ---------------------

def extent(X: np.ndarray) -> tuple[float, float, float, float]:
    """(x_min, x_max, y_min, y_max) of the notebook's mesh around the data."""
    return (X[:, 0].min() - MARGIN, X[:, 0].max() + MARGIN,
            X[:, 1].min() - MARGIN, X[:, 1].max() + MARGIN)


def scores(model: Any, engine: Any, points: np.ndarray) -> np.ndarray:
    """The model's score at every row of `points`, without building a graph."""
    predict = getattr(model, "predict", None)
    if predict is not None:  # one call into the engine for the whole array
        return np.asarray(predict(points), dtype=np.float64).reshape(len(points), -1)[:, 0]
    with engine.no_grad():
        return np.array([model(list(map(engine.Value, row))).data for row in points])


def text_plot(model: Any, engine: Any, X: np.ndarray, y: np.ndarray, cols: int = 64) -> str:
    """A character plot: '.' where the model says +1, 'o' / 'x' the +1 / -1 samples."""
    x0, x1, y0, y1 = extent(X)
    rows = max(4, round(cols * (y1 - y0) / (x1 - x0) / 2))  # a cell is about twice as tall as wide
    xs = x0 + (np.arange(cols) + 0.5) * (x1 - x0) / cols
    ys = y1 - (np.arange(rows) + 0.5) * (y1 - y0) / rows  # top row first
    grid = np.array([[x, yv] for yv in ys for x in xs])
    positive = (scores(model, engine, grid) > 0).reshape(rows, cols)
    canvas = [["." if p else " " for p in row] for row in positive]
    for (px, py), label in zip(X, y):
        c = min(cols - 1, int((px - x0) / (x1 - x0) * cols))
        r = min(rows - 1, int((y1 - py) / (y1 - y0) * rows))
        canvas[r][c] = "o" if label > 0 else "x"
    border = "+" + "-" * cols + "+"
    lines = [border, *("|" + "".join(row) + "|" for row in canvas), border]
    lines.append("'.' the model says +1, 'o' samples of +1, 'x' samples of -1")
    return "\n".join(lines)


def boundary_figure(model: Any, engine: Any, X: np.ndarray, y: np.ndarray,
                    step: float = MESH_STEP) -> Figure:
    """The notebook's figure, finer: the model's decision over a mesh of spacing `step`,
    its boundary (score 0), the samples by class, axis labels, a legend, and the
    accuracy in the title. A matplotlib Figure, not yet saved."""
    from matplotlib.figure import Figure  # optional dependency, checked by the caller
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    x0, x1, y0, y1 = extent(X)
    xx, yy = np.meshgrid(np.arange(x0, x1, step), np.arange(y0, y1, step))
    S = scores(model, engine, np.c_[xx.ravel(), yy.ravel()]).reshape(xx.shape)
    accuracy = np.mean((scores(model, engine, X) > 0) == (y > 0))
    fig = Figure(figsize=(6.4, 4.8))
    ax = fig.subplots()
    ax.contourf(xx, yy, S > 0, levels=[-0.5, 0.5, 1.5], colors=[COLOURS[-1], COLOURS[1]],
                alpha=0.35)
    ax.contour(xx, yy, S, levels=[0.0], colors="k", linewidths=1.5)
    for label in (1, -1):
        ax.scatter(X[y == label, 0], X[y == label, 1], s=36, color=COLOURS[label],
                   edgecolors="k", label=f"class {label:+d}")
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    handles, _ = ax.get_legend_handles_labels()
    handles += [Line2D([], [], color="k", label="decision boundary (score 0)"),
                Patch(color=COLOURS[1], alpha=0.35, label="model says +1"),
                Patch(color=COLOURS[-1], alpha=0.35, label="model says -1")]
    ax.legend(handles=handles, loc="upper right", fontsize="small", framealpha=0.9)
    ax.set_title(f"fastgrad: MLP(2, {moons.SIZES}) on micrograd's moons, "
                 f"accuracy {accuracy * 100:.0f}%")
    return fig


def png_plot(model: Any, engine: Any, X: np.ndarray, y: np.ndarray, path: str) -> None:
    """boundary_figure written to `path` as a PNG."""
    boundary_figure(model, engine, X, y).savefig(path, dpi=100)
