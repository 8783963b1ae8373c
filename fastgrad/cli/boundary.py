"""The moons demo's decision boundary: a PNG through matplotlib, or characters."""
from __future__ import annotations

from typing import Any

import numpy as np

MARGIN = 1.0  # the notebook's mesh reaches one unit past the data on every side


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


def png_plot(model: Any, engine: Any, X: np.ndarray, y: np.ndarray, path: str) -> None:
    """The notebook's figure: filled contours of the decision and the samples on top."""
    from matplotlib.figure import Figure  # optional dependency, checked by the caller

    x0, x1, y0, y1 = extent(X)
    xx, yy = np.meshgrid(np.linspace(x0, x1, 100), np.linspace(y0, y1, 100))
    mesh = np.c_[xx.ravel(), yy.ravel()]
    Z = (scores(model, engine, mesh) > 0).reshape(xx.shape)
    fig = Figure(figsize=(6, 4.5))
    ax = fig.subplots()
    ax.contourf(xx, yy, Z, cmap="Spectral", alpha=0.8)
    ax.scatter(X[:, 0], X[:, 1], c=y, s=40, cmap="Spectral", edgecolors="k")
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_title("fastgrad: MLP(2, [16, 16, 1]) on micrograd's moons")
    fig.savefig(path, dpi=100)
