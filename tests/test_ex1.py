"""Exercise 1 (positional encoding): every published number, recomputed here and found in the PDF.

The test builds E with its own loop over the sheet's formula, redraws the notebook's random features
from the published seed and recomputes each quantity with formulas of its own (explicit sums,
stacked matrices, Frobenius identities) rather than the notebook's helpers.
"""

import math
import re

import numpy as np
import pytest

from figures_src.positional_encoding import gram_of_offset, positional_encoding
from pipeline.texify import format_number
from tests.conftest import as_printed

N, P = 64, 256

# Numbers the template prints with two significant digits (`|num(2)`); all others use the default 3.
TWO_DIGITS = {
    "toeplitz_error",
    "max_other_weight_added",
    "max_other_weight_concatenated",
    "self_weight_scaled_added",
    "self_weight_scaled_concatenated",
}


# The 1(d) sweep: p = 16, 32, ..., 4096.
SWEEP_DIMS = [2**k for k in range(4, 13)]


def sheet_encoding(n: int, p: int) -> np.ndarray:
    """E straight from the sheet, one entry at a time: rows 2k (sin) and 2k+1 (cos), positions 0..n-1."""
    encoding = np.zeros((p, n))
    for k in range(p // 2):
        omega = 10000.0 ** (-2 * k / p)
        for i in range(n):
            encoding[2 * k, i] = math.sin(i * omega)
            encoding[2 * k + 1, i] = math.cos(i * omega)
    return encoding


def softmax_over_keys(scores: np.ndarray) -> np.ndarray:
    """Column-wise softmax via log-sum-exp."""
    top = scores.max(axis=0)
    log_norm = top + np.log(np.exp(scores - top).sum(axis=0))
    return np.exp(scores - log_norm)


@pytest.fixture(scope="module")
def E() -> np.ndarray:
    return sheet_encoding(N, P)


@pytest.fixture(scope="module")
def ex1(results: dict[str, dict]) -> dict:
    return results["ex1"]


def gaussian_in_span(basis: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Projects the columns of z onto span(basis) by least squares, G (G^T G)^-1 G^T z: no
    orthonormal basis."""
    return basis @ np.linalg.solve(basis.T @ basis, basis.T @ z)


def squared_cosines(g_v: np.ndarray, g_u: np.ndarray) -> np.ndarray:
    """cos^2 of the principal angles between span(g_v) and span(g_u), ascending: the eigenvalues of
    P_V P_U on V, written in the (non-orthonormal) basis g_v as
    (G_v^T G_v)^-1 G_v^T G_u (G_u^T G_u)^-1 G_u^T G_v."""
    onto_v = np.linalg.solve(g_v.T @ g_v, g_v.T @ g_u)
    onto_u = np.linalg.solve(g_u.T @ g_u, g_u.T @ g_v)
    return np.sort(np.linalg.eigvals(onto_v @ onto_u).real)


@pytest.fixture(scope="module")
def sweep(ex1: dict) -> dict[str, float]:
    """The 1(d) sweep again from the published seed, in the notebook's order of draws (basis of V, basis of U,
    features, positions), with least-squares projectors and eigenvalues instead of QR and SVD."""
    d, n, trials = ex1["subspace_dim"], ex1["n_tokens"], ex1["sweep_trials"]
    rng = np.random.default_rng(ex1["sweep_seed"])
    means = []
    for p in SWEEP_DIMS:
        draws = []
        for _ in range(trials):
            g_v, g_u = rng.normal(size=(p, d)), rng.normal(size=(p, d))
            X = gaussian_in_span(g_v, rng.normal(size=(p, n)))
            E = gaussian_in_span(g_u, rng.normal(size=(p, n)))
            ratio = np.linalg.norm(X.T @ E + E.T @ X) / np.linalg.norm(X.T @ X + E.T @ E)
            cos2 = squared_cosines(g_v, g_u)
            draws.append((ratio, math.sqrt(cos2[-1]), cos2.mean()))
        means.append(np.mean(draws, axis=0))
    ratio, max_cos, mean_cos2 = np.array(means).T
    log_p, log_ratio = np.log(SWEEP_DIMS), np.log(ratio)
    log_p, log_ratio = log_p - log_p.mean(), log_ratio - log_ratio.mean()
    over_expected = mean_cos2 * np.array(SWEEP_DIMS) / d
    over_estimate = ratio * np.sqrt(np.array(SWEEP_DIMS) / d)
    # The finite-n estimate as a ratio of the two expectations, written out term by term.
    numerator = 2 * n * n + 2 * n  # E||X^T E + E^T X||^2 / (d^2/p): 2 E||A||^2 + 2 E tr(A A)
    denominator = 2 * n * d * (n + d + 1) + 2 * n * d * d  # E||X^T X||^2 + E||E^T E||^2 + 2 E tr(.)
    finite_n_factor = math.sqrt(numerator * d / denominator)
    over_finite_n = over_estimate / finite_n_factor
    return {
        "sweep_p_min": SWEEP_DIMS[0],
        "sweep_p_max": SWEEP_DIMS[-1],
        "sweep_ratio_min_p": ratio[0],
        "sweep_ratio_max_p": ratio[-1],
        "sweep_max_cos_min_p": max_cos[0],
        "sweep_max_cos_max_p": max_cos[-1],
        "cos2_over_expected_low": over_expected.min(),
        "cos2_over_expected_high": over_expected.max(),
        "ratio_slope": np.dot(log_p, log_ratio) / np.dot(log_p, log_p),
        "finite_n_factor": finite_n_factor,
        "over_estimate_low": over_estimate.min(),
        "over_estimate_high": over_estimate.max(),
        "over_finite_n_low": over_finite_n.min(),
        "over_finite_n_high": over_finite_n.max(),
    }


@pytest.fixture(scope="module")
def expected(E: np.ndarray, ex1: dict, sweep: dict[str, float]) -> dict[str, float]:
    """Every number of Exercise 1, recomputed independently of the notebook."""
    gram = E.T @ E
    rng = np.random.default_rng(ex1["seed"])
    variance = E.var()
    X = rng.normal(scale=math.sqrt(variance), size=(P, N))
    added = (X + E).T @ (X + E)
    stacked = np.vstack([X, E])
    concatenated = stacked.T @ stacked
    off = ~np.eye(N, dtype=bool)
    cross = X.T @ E + E.T @ X

    def smallest_gap(scores: np.ndarray) -> float:
        """min over queries j of S_jj - max_{i != j} S_ij, one column at a time."""
        return min(scores[j, j] - np.delete(scores[:, j], j).max() for j in range(N))

    # Bonus: E's 99%-energy subspace, features orthogonal to it and in a random subspace (same draws).
    left, singular_values, _ = np.linalg.svd(E)
    rank = int(np.argmax(np.cumsum(singular_values**2) >= 0.99 * np.sum(singular_values**2)) + 1)
    feature_basis = left[:, rank:] @ np.linalg.qr(rng.normal(size=(P - rank, rank)))[0]
    random_basis = np.linalg.qr(rng.normal(size=(P, rank)))[0]
    scale = math.sqrt(variance * P / rank)
    X_orth = scale * feature_basis @ rng.normal(size=(rank, N))
    X_rand = scale * random_basis @ rng.normal(size=(rank, N))

    def score_difference(features: np.ndarray) -> float:
        cross_terms = features.T @ E + E.T @ features
        return np.linalg.norm(cross_terms) / np.linalg.norm(features.T @ features + gram)

    return {
        "gram_diagonal": P / 2,
        "gram_neighbour": gram[0, 1],
        "gram_farthest": gram[0, N - 1],
        "gram_min": gram.min(),
        "n_slow_frequencies": sum(1 for k in range(P // 2) if (N - 1) * 10000.0 ** (-2 * k / P) < 1),
        "n_frequencies": P // 2,
        "omega_min": 10000.0 ** (-(P - 2) / P),
        "feature_variance": variance,
        "mean_diagonal_added": np.trace(added) / N,
        "mean_diagonal_concatenated": np.trace(concatenated) / N,
        "expected_diagonal": P * variance + P / 2,
        # E||x_i||^2 + ||e_i||^2 - E(K^T Q)_{i,i+1}, with (E^T E)_{i,i+1} = sum_k cos(w_k).
        "gap_expected": P * variance + sum(1 - math.cos(10000.0 ** (-2 * k / P)) for k in range(P // 2)),
        "gap_min_added": smallest_gap(added),
        "gap_min_concatenated": smallest_gap(concatenated),
        "cross_rms": math.sqrt(np.mean(cross[off] ** 2)),
        "cross_std_expected": math.sqrt(variance * P),
        "relative_difference": np.linalg.norm(cross) / np.linalg.norm(concatenated),
        "correlation": np.corrcoef(added[off], concatenated[off])[0, 1],
        "max_other_weight_added": softmax_over_keys(added)[off].max(),
        "max_other_weight_concatenated": softmax_over_keys(concatenated)[off].max(),
        "self_weight_scaled_added": np.mean(np.diag(softmax_over_keys(added / math.sqrt(P)))),
        "self_weight_scaled_concatenated": np.mean(np.diag(softmax_over_keys(concatenated / math.sqrt(P)))),
        "rank_99": rank,
        "expected_cos2_random": rank / P,
        # ||U^T W||_F^2 is the sum of the squared cosines of the principal angles.
        "mean_cos2_random": np.linalg.norm(left[:, :rank].T @ random_basis) ** 2 / rank,
        "difference_orthogonal": score_difference(X_orth),
        "difference_random": score_difference(X_rand),
        # P_V(X + E) - X = P_V E, since X lies in V.
        "recovery_error": np.linalg.norm(feature_basis @ (feature_basis.T @ E)) / np.linalg.norm(X_orth),
        # That error, P_V E, is the part of E's residual that falls into V.
        "residual_energy": np.sum(singular_values[rank:] ** 2) / np.sum(singular_values**2),
        "residual_share_in_v": np.linalg.norm(feature_basis.T @ E) ** 2
        / (np.linalg.norm(E) ** 2 - np.linalg.norm(left[:, :rank].T @ E) ** 2),
        "expected_share_in_v": rank / (P - rank),
        **{name: value for name, value in sweep.items() if name in ex1},
    }


def test_encoding_matches_the_sheet(E: np.ndarray) -> None:
    np.testing.assert_allclose(positional_encoding(N, P), E, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(E, axis=0) ** 2, P / 2)


def test_gram_depends_on_the_offset_only(E: np.ndarray, ex1: dict) -> None:
    offsets = np.subtract.outer(np.arange(N), np.arange(N))
    np.testing.assert_allclose(gram_of_offset(offsets, P), E.T @ E, atol=1e-9)
    assert 0 <= ex1["toeplitz_error"] < 1e-10


def test_expansions(ex1: dict) -> None:
    rng = np.random.default_rng(0)
    X, E = rng.normal(size=(2, 6, 4))
    t = r"^{\top}"
    terms = {f"E{t} E": E.T @ E, f"E{t} X": E.T @ X, f"X{t} E": X.T @ E, f"X{t} X": X.T @ X}
    assert set(ex1["expansion_added"].split(" + ")) == set(terms)
    assert set(ex1["expansion_concatenated"].split(" + ")) == {f"E{t} E", f"X{t} X"}
    np.testing.assert_allclose((X + E).T @ (X + E), sum(terms.values()))
    stacked = np.vstack([X, E])
    np.testing.assert_allclose(stacked.T @ stacked, terms[f"E{t} E"] + terms[f"X{t} X"])


def test_published_values(ex1: dict, expected: dict[str, float]) -> None:
    for name, value in expected.items():
        assert ex1[name] == pytest.approx(value, rel=1e-6), name


def tight_times(text: str) -> str:
    """TeX may shrink the math space around the times sign to nothing on a tight line; compare
    without it."""
    return re.sub(r"\s*\u00d7\s*", "\u00d7", text)


def test_numbers_in_pdf(pdf_text: str, ex1: dict, expected: dict[str, float]) -> None:
    text = tight_times(pdf_text)
    for name in [
        *expected,
        "toeplitz_error",
        "seed",
        "n_tokens",
        "dim",
        "subspace_dim",
        "sweep_trials",
        "sweep_seed",
    ]:
        printed = tight_times(as_printed(format_number(ex1[name], 2 if name in TWO_DIGITS else 3)))
        assert printed in text, f"{name} = {ex1[name]} should read {printed!r}"


def test_sweep_claims(sweep: dict[str, float]) -> None:
    """What the text says about the sweep: slope -1/2, the ratio below sqrt(d/p) but close to the finite-n
    estimate, mean cos^2 close to d/p, the largest cosine from near 1 to near 0."""
    assert sweep["ratio_slope"] == pytest.approx(-0.5, abs=0.03)
    assert 0.8 < sweep["over_estimate_low"] <= sweep["over_estimate_high"] < 1
    assert sweep["finite_n_factor"] == pytest.approx(0.9, abs=0.01)
    assert 0.9 < sweep["over_finite_n_low"] < 1 < sweep["over_finite_n_high"] < 1.1
    assert 0.9 < sweep["cos2_over_expected_low"] <= sweep["cos2_over_expected_high"] < 1.1
    assert sweep["sweep_max_cos_min_p"] > 0.9 > 0.1 > sweep["sweep_max_cos_max_p"]


def test_sweep_expectations() -> None:
    """The expectations of the 1(d) argument, by Monte Carlo in a small case (n = 5, d = 3, where the
    finite-n terms are large): E tr(P_V P_U) = d^2/p; for fixed subspaces E||X^T E||_F^2 = n^2 tr(P_V P_U),
    E||X^T E + E^T X||_F^2 = 2n(n + 1) tr(P_V P_U), E||X^T X||_F^2 = nd(n + d + 1) and
    E||X^T X + E^T E||_F^2 = 2nd(n + 2d + 1)."""
    rng = np.random.default_rng(0)
    p, d, n, draws = 24, 3, 5, 6000
    traces = [squared_cosines(*rng.normal(size=(2, p, d))).sum() for _ in range(draws)]
    assert np.mean(traces) == pytest.approx(d * d / p, rel=0.05)
    g_v, g_u = rng.normal(size=(2, p, d))
    trace = squared_cosines(g_v, g_u).sum()
    cross, both_cross, content, rest = [], [], [], []
    for _ in range(draws):
        X = gaussian_in_span(g_v, rng.normal(size=(p, n)))
        E = gaussian_in_span(g_u, rng.normal(size=(p, n)))
        cross.append(np.linalg.norm(X.T @ E) ** 2)
        both_cross.append(np.linalg.norm(X.T @ E + E.T @ X) ** 2)
        content.append(np.linalg.norm(X.T @ X) ** 2)
        rest.append(np.linalg.norm(X.T @ X + E.T @ E) ** 2)
    assert np.mean(cross) == pytest.approx(n * n * trace, rel=0.06)
    assert np.mean(both_cross) == pytest.approx(2 * n * (n + 1) * trace, rel=0.06)
    assert np.mean(content) == pytest.approx(n * d * (n + d + 1), rel=0.04)
    assert np.mean(rest) == pytest.approx(2 * n * d * (n + 2 * d + 1), rel=0.04)


def test_gap_claims(E: np.ndarray, ex1: dict) -> None:
    """1(c): E^T E is largest off the diagonal at offset 1, and the expected gap grows like p."""
    gram = E.T @ E
    assert gram[0, 1] == pytest.approx(max(gram[i, j] for i in range(N) for j in range(N) if i != j))
    gaps_per_dim = []
    for p in [128, 256, 512, 1024]:
        encoding = positional_encoding(N, p)
        gaps_per_dim.append((p * encoding.var() + p / 2 - (encoding.T @ encoding)[0, 1]) / p)
    assert max(gaps_per_dim) < 1.1 * min(gaps_per_dim)
    assert gaps_per_dim[1] * P == pytest.approx(ex1["gap_expected"])


def test_random_subspace_is_like_full_dimensional_features(ex1: dict) -> None:
    """1(d): at p = 256 a random feature subspace gives about the score difference of 1(c)."""
    assert ex1["difference_random"] == pytest.approx(ex1["relative_difference"], rel=0.1)
    assert ex1["difference_orthogonal"] < 0.2 * ex1["relative_difference"]


def test_task_headings(pdf_text: str) -> None:
    for heading in [
        "1(a) Expanding the scores",
        "1(b) Sinusoidal embeddings and their Gram matrix",
        "1(c) Scores for random features",
        "1(d) Adding versus concatenating in low-dimensional subspaces (bonus)",
    ]:
        assert heading in pdf_text
