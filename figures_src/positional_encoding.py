"""The sinusoidal positional encoding E of Exercise 1 (p x n)."""

import numpy as np


def frequencies(dim: int) -> np.ndarray:
    """w_k = exp(-2k log(10000) / p) for k = 0, ..., p/2 - 1."""
    if dim <= 0 or dim % 2:
        raise ValueError(f"dimension p = {dim} is not even and positive")
    return np.exp(-2 * np.arange(dim // 2) * np.log(10_000) / dim)


def positional_encoding(n_tokens: int, dim: int) -> np.ndarray:
    """p x n: rows 2k, 2k+1 hold sin(w_k i), cos(w_k i); i = 0, ..., n-1."""
    if n_tokens < 1:
        raise ValueError(f"n = {n_tokens}: need at least one token")
    phases = np.outer(frequencies(dim), np.arange(n_tokens))
    encoding = np.empty((dim, n_tokens))
    encoding[0::2], encoding[1::2] = np.sin(phases), np.cos(phases)
    return encoding
