"""Toy datasets for demos and tests, with numpy alone (no scikit-learn).

make_moons and make_blobs follow scikit-learn's functions of the same names step by
step, drawing from a numpy RandomState in the same order, so the same arguments give
the same arrays: micrograd's demo (`np.random.seed(1337); make_moons(n_samples=100,
noise=0.1)`) gets its dataset by changing only the import.
"""
from __future__ import annotations

from typing import Sequence, Union

import numpy as np

from fastgrad.checks import count, is_int, reals

__all__ = ["make_moons", "make_blobs"]

RandomState = Union[None, int, np.integer, np.random.RandomState]


def _generator(random_state: RandomState) -> np.random.RandomState:
    """scikit-learn's check_random_state: None is numpy's global RandomState."""
    if random_state is None:
        return np.random.mtrand._rand  # what np.random.seed() seeds
    if isinstance(random_state, np.random.RandomState):
        return random_state
    if is_int(random_state):
        return np.random.RandomState(random_state)
    raise TypeError(f"random_state must be None, an int or a numpy RandomState, "
                    f"not {type(random_state).__name__}")


def _shuffle(X: np.ndarray, y: np.ndarray, generator: np.random.RandomState
             ) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's utils.shuffle for two arrays."""
    order = np.arange(X.shape[0])
    generator.shuffle(order)
    return X[order], y[order]


def make_moons(n_samples: int = 100, *, shuffle: bool = True, noise: float | None = None,
               random_state: RandomState = None) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles: X float64 (n_samples, 2), y 0/1 (intp).

    noise is the standard deviation of Gaussian noise added to X (None: none).
    """
    n_samples = count(n_samples, "n_samples")
    if noise is not None:
        if isinstance(noise, (str, bytes, bool)) or not isinstance(noise, (int, float, np.number)):
            raise TypeError(f"noise must be a number or None, not {type(noise).__name__}")
        if not 0 <= noise < np.inf:
            raise ValueError(f"noise must be >= 0 and finite, or None, not {noise!r}")
    generator = _generator(random_state)
    n_out = n_samples // 2
    n_in = n_samples - n_out
    outer_x = np.cos(np.linspace(0, np.pi, n_out))
    outer_y = np.sin(np.linspace(0, np.pi, n_out))
    inner_x = 1 - np.cos(np.linspace(0, np.pi, n_in))
    inner_y = 1 - np.sin(np.linspace(0, np.pi, n_in)) - 0.5
    X = np.vstack([np.append(outer_x, inner_x), np.append(outer_y, inner_y)]).T
    y = np.hstack([np.zeros(n_out, dtype=np.intp), np.ones(n_in, dtype=np.intp)])
    if shuffle:
        X, y = _shuffle(X, y, generator)
    if noise is not None:
        X += generator.normal(scale=noise, size=X.shape)
    return X, y


def make_blobs(n_samples: int = 100, n_features: int = 2, *,
               centers: int | Sequence[Sequence[float]] | np.ndarray | None = None,
               cluster_std: float | Sequence[float] = 1.0,
               center_box: tuple[float, float] = (-10.0, 10.0), shuffle: bool = True,
               random_state: RandomState = None) -> tuple[np.ndarray, np.ndarray]:
    """Isotropic Gaussian blobs: X float64 (n_samples, n_features), y the blob index.

    centers: how many blobs (default 3), their centers drawn uniformly from
    center_box; or an array (n_centers, n_features) of fixed centers. cluster_std:
    one standard deviation, or one per center. Samples are split evenly, the first
    blobs taking one more when n_samples does not divide.
    """
    n_samples = count(n_samples, "n_samples")
    n_features = count(n_features, "n_features", 1)
    generator = _generator(random_state)
    if centers is None:
        centers = 3
    box = reals(center_box, "make_blobs center_box")
    if box.shape != (2,):
        raise ValueError(f"center_box must be a pair (low, high), not {center_box!r}")
    if is_int(centers):
        n_centers = count(centers, "centers", 1)
        centers = generator.uniform(box[0], box[1], size=(n_centers, n_features))
    else:
        centers = np.asarray(centers, dtype=np.float64)
        if centers.ndim != 2 or centers.shape[0] < 1:
            raise ValueError(f"centers must be an int or a 2-D array, not shape {centers.shape}")
        n_centers, n_features = centers.shape
    stds = np.asarray(cluster_std, dtype=np.float64)
    if stds.ndim == 0:
        stds = np.full(n_centers, stds)
    if stds.shape != (n_centers,) or not (stds >= 0).all():
        raise ValueError(f"cluster_std must be >= 0, one number or one per center "
                         f"({n_centers}), not {cluster_std!r}")
    counts = [n_samples // n_centers + (1 if i < n_samples % n_centers else 0)
              for i in range(n_centers)]
    X = np.concatenate([generator.normal(loc=centers[i], scale=stds[i], size=(n, n_features))
                        for i, n in enumerate(counts)])
    y = np.repeat(np.arange(n_centers), counts)
    if shuffle:
        X, y = _shuffle(X, y, generator)
    return X, y
