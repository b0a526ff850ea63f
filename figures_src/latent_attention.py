"""The synthetic inputs of Exercise 2(b), shared by the notebook
(figures_src/ex2.py) and its tests, so that the tests recompute the optimum
on the very same data."""

import numpy as np


def decaying_spectrum(p: int, scale: float) -> np.ndarray:
    """Variances exp(-i/scale), i = 0..p-1: a few strong directions, many
    weak ones."""
    return np.exp(-np.arange(p) / scale)


def synthetic_inputs(p: int, n: int, scale: float, seed: int) -> np.ndarray:
    """n inputs x_t in R^p as the columns of a p x n matrix,
    x_t ~ N(0, Q diag(lambda) Q^T).

    The random rotation Q hides the strong directions from the coordinate
    axes, so a compression has to find them rather than keep the first l
    coordinates.
    """
    rng = np.random.default_rng(seed)
    rotation, _ = np.linalg.qr(rng.standard_normal((p, p)))
    spread = np.sqrt(decaying_spectrum(p, scale))[:, None]
    return rotation @ (spread * rng.standard_normal((p, n)))
