"""The demo's decision-boundary figure (`python -m fastgrad --plot PATH`), inspected as
drawn: the mesh it was contoured on, the boundary's place, the labels, the legend and
the title's accuracy. The PNG itself is tested through the command line (test_cli.py)."""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from fastgrad import engine, nn
from fastgrad.cli import demo
from fastgrad.examples import moons

pytest.importorskip("matplotlib", minversion="3.8")  # a ContourSet is one artist since 3.8
from matplotlib.contour import ContourSet  # noqa: E402 - only once matplotlib is known

FINE = 0.02  # the mesh spacing asked for (the notebook's is 0.25)


@pytest.fixture(scope="module")
def drawn() -> tuple[Any, nn.MLP, np.ndarray, np.ndarray]:
    X, y = moons.data(1337)
    model = moons.model(nn.MLP, 1337)
    for k in range(3):  # a curved boundary, not yet a perfect one
        moons.step(model, engine.Value, X, y, k, 3)
    return demo.boundary_figure(model, engine, X, y), model, X, y


def _contours(fig: Any) -> tuple[ContourSet, ContourSet]:
    (ax,) = fig.axes
    sets = [c for c in ax.collections if isinstance(c, ContourSet)]
    (filled,) = [c for c in sets if c.filled]
    (line,) = [c for c in sets if not c.filled]
    return filled, line


def test_axes_are_labelled_and_the_legend_names_both_classes_and_the_boundary(drawn) -> None:
    fig = drawn[0]
    (ax,) = fig.axes
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x1", "x2")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "class +1", "class -1", "decision boundary (score 0)", "model says +1",
        "model says -1"]


def test_the_samples_are_drawn_by_class(drawn) -> None:
    fig, _, X, y = drawn
    (ax,) = fig.axes
    points = {c.get_label(): c.get_offsets() for c in ax.collections
              if not isinstance(c, ContourSet)}
    assert np.array_equal(points["class +1"], X[y == 1])
    assert np.array_equal(points["class -1"], X[y == -1])


def test_the_title_gives_the_drawn_models_accuracy(drawn) -> None:
    fig, model, X, y = drawn
    accuracy = np.mean((model.predict(X) > 0) == (y > 0))
    assert 0.5 < accuracy < 1  # so the title's figure tells this model from others
    assert fig.axes[0].get_title().endswith(f"accuracy {accuracy * 100:.0f}%")


def test_the_boundary_follows_a_fine_mesh_where_the_score_is_zero(drawn) -> None:
    fig, model, X, _ = drawn
    filled, line = _contours(fig)
    (segments,) = line.allsegs  # one level: score 0
    vertices = np.concatenate(segments)
    # marching squares puts consecutive vertices on the edges of one mesh cell
    steps = np.hypot(*np.diff(vertices, axis=0).T)
    assert steps.max() <= FINE * math.sqrt(2) * (1 + 1e-9)
    assert len(vertices) > 100
    scores = model.predict(vertices)
    assert np.abs(scores).max() < 0.005 * np.abs(model.predict(X)).max()
    # the filled regions span the notebook's extent: the data plus a margin
    x0, x1, y0, y1 = demo.extent(X)
    (ax,) = fig.axes
    assert ax.get_xlim() == (x0, x1) and ax.get_ylim() == (y0, y1)
    assert len(filled.allsegs) == 2  # the model's -1 and +1 regions
