"""Sinusoidal positional encoding and the attention scores of Exercise 1.

The encoding is the one of "Attention Is All You Need". As on the sheet,
features X and embeddings E are p x n matrices with one column per
token, keys equal queries (K = Q), and (K^T Q)_ij is the score of key i
for query j.
"""

import numpy as np

MAX_WAVELENGTH = 10_000.0


def frequencies(dim: int) -> np.ndarray:
    """w_k = exp(-2k log(10000) / p) for k = 0, ..., p/2 - 1.

    They fall geometrically from w_0 = 1 to almost 1e-4.
    """
    if dim % 2:
        raise ValueError(f"the embedding dimension must be even, got {dim}")
    k = np.arange(dim // 2)
    return np.exp(-2 * k * np.log(MAX_WAVELENGTH) / dim)


def positional_encoding(n_tokens: int, dim: int) -> np.ndarray:
    """E (p x n): rows 2k and 2k+1 hold sin(w_k i) and cos(w_k i).

    The positions are i = 0, ..., n - 1.
    """
    phases = np.outer(frequencies(dim), np.arange(n_tokens))
    encoding = np.empty((dim, n_tokens))
    encoding[0::2] = np.sin(phases)
    encoding[1::2] = np.cos(phases)
    return encoding


def gram_of_offset(offset: np.ndarray, dim: int) -> np.ndarray:
    """(E^T E)_ij as a function of the offset i - j: sum_k cos(w_k (i - j)).

    Each sine/cosine pair adds sin a sin b + cos a cos b = cos(a - b).
    """
    phases = np.multiply.outer(np.asarray(offset, float), frequencies(dim))
    return np.cos(phases).sum(axis=-1)


def scores_added(features: np.ndarray, encoding: np.ndarray) -> np.ndarray:
    """K^T Q for K = Q = X + E."""
    keys = features + encoding
    return keys.T @ keys


def scores_concatenated(
    features: np.ndarray,
    encoding: np.ndarray,
) -> np.ndarray:
    """K^T Q for K = Q = concat(X, E), stacked along the features.

    The keys are 2p x n.
    """
    keys = np.concatenate([features, encoding], axis=0)
    return keys.T @ keys


def attention_weights(scores: np.ndarray) -> np.ndarray:
    """Softmax over the keys (axis 0), separately for every query (column).

    Subtracting each column's maximum first avoids overflow and leaves the
    softmax unchanged.
    """
    shifted = np.exp(scores - scores.max(axis=0, keepdims=True))
    return shifted / shifted.sum(axis=0, keepdims=True)


def relative_difference(values: np.ndarray, reference: np.ndarray) -> float:
    """|values - reference|_F / |reference|_F (Frobenius norms)."""
    error = np.linalg.norm(values - reference)
    return float(error / np.linalg.norm(reference))
