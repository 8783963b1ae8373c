"""fastgrad.datasets: scikit-learn's make_moons and make_blobs with numpy alone."""
from __future__ import annotations

import numpy as np
import pytest

from fastgrad.datasets import make_blobs, make_moons


def test_moons_shapes_labels_and_geometry() -> None:
    X, y = make_moons(n_samples=101, shuffle=False)
    assert X.shape == (101, 2) and X.dtype == np.float64
    assert y.shape == (101,) and y.dtype.kind == "i"
    assert (y == 0).sum() == 50 and (y == 1).sum() == 51
    outer, inner = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(*outer.T), 1.0)  # the upper unit half circle
    np.testing.assert_allclose(np.hypot(inner[:, 0] - 1.0, inner[:, 1] - 0.5), 1.0)
    assert (outer[:, 1] >= 0).all() and (inner[:, 1] <= 0.5).all()


def test_moons_are_deterministic_for_a_seed() -> None:
    a = make_moons(n_samples=50, noise=0.2, random_state=3)
    b = make_moons(n_samples=50, noise=0.2, random_state=np.random.RandomState(3))
    c = make_moons(n_samples=50, noise=0.2, random_state=4)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def test_moons_without_a_seed_use_numpys_global_state() -> None:
    np.random.seed(1337)
    a = make_moons(n_samples=30, noise=0.1)
    np.random.seed(1337)
    b = make_moons(n_samples=30, noise=0.1)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_blobs_shapes_labels_and_centers() -> None:
    X, y = make_blobs(n_samples=10, centers=3, random_state=0)
    assert X.shape == (10, 2) and X.dtype == np.float64
    assert sorted(np.bincount(y)) == [3, 3, 4]
    centers = [[0.0, 0.0, 0.0], [100.0, 100.0, 100.0]]
    X, y = make_blobs(n_samples=40, centers=centers, cluster_std=[0.5, 0.0], random_state=1)
    assert X.shape == (40, 3)
    assert np.array_equal(X[y == 1], np.full((20, 3), 100.0))  # std 0: exactly the center
    assert np.abs(X[y == 0]).max() < 5.0


def test_blobs_are_deterministic_for_a_seed() -> None:
    a = make_blobs(n_samples=25, n_features=3, centers=4, random_state=9)
    b = make_blobs(n_samples=25, n_features=3, centers=4, random_state=9)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


@pytest.mark.parametrize("kwargs", [
    dict(n_samples=100, noise=0.1, random_state=0),
    dict(n_samples=33, noise=0.3, random_state=7),
    dict(n_samples=20, shuffle=False, random_state=1),
])
def test_moons_equal_scikit_learns(kwargs: dict) -> None:
    sk = pytest.importorskip("sklearn.datasets")
    for ours, theirs in zip(make_moons(**kwargs), sk.make_moons(**kwargs)):
        assert np.array_equal(ours, theirs)


@pytest.mark.parametrize("kwargs", [
    dict(n_samples=100, random_state=0),
    dict(n_samples=31, n_features=3, centers=4, cluster_std=[0.5, 1.0, 2.0, 0.1], random_state=5),
    dict(n_samples=12, centers=[[1.0, 2.0], [-3.0, 0.5]], shuffle=False, random_state=2),
])
def test_blobs_equal_scikit_learns(kwargs: dict) -> None:
    sk = pytest.importorskip("sklearn.datasets")
    for ours, theirs in zip(make_blobs(**kwargs), sk.make_blobs(**kwargs)):
        assert np.array_equal(ours, theirs)


@pytest.mark.parametrize("call", [
    lambda: make_moons(n_samples=-1),
    lambda: make_moons(n_samples=10.5),
    lambda: make_moons(noise=-0.1),
    lambda: make_moons(random_state="seed"),
    lambda: make_moons(random_state=np.random.default_rng(0)),
    lambda: make_blobs(centers=0),
    lambda: make_blobs(centers=[1.0, 2.0]),
    lambda: make_blobs(centers=2, cluster_std=[1.0, 2.0, 3.0]),
    lambda: make_blobs(cluster_std=-1.0),
    lambda: make_blobs(n_features=0),
])
def test_bad_arguments_raise(call) -> None:
    with pytest.raises((TypeError, ValueError)):
        call()
