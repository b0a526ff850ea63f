"""Exercise 1 (positional encoding): every number the answers quote, recomputed here and
found in the PDF, and the claims around them checked.

The test builds E with its own loop over the sheet's formula, redraws the notebook's random
features from the published seeds and recomputes each quantity with formulas of its own
(explicit sums, stacked matrices, least-squares projectors) rather than the notebook's
helpers. Each number the answers print is found in the PDF inside the words that say what it
is, written by tests/sheet/quoting.py from the recomputed value (or from the sheet's n and p),
never by the engine's formatter.
"""

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from figures_src.positional_encoding import positional_encoding
from pipeline.paths import PROJECT
from tests.sheet.quoting import reads, says

N, P = 64, 256
NEAR = 5  # the offset at which 1(b) quotes E^T E
SWEEP_DIMS = [2**k for k in range(4, 13)]  # the 1(d) sweep: p = 16, ..., 4096
# The scores of 1(a) as pdftotext reads the display, in the order sympy writes the terms.
ADDED = "E⊤E + E⊤X + X⊤E + X⊤X"
CONCATENATED = "E⊤E + X⊤X"


def sheet_encoding(n: int, p: int) -> np.ndarray:
    """E straight from the sheet, one entry at a time: rows 2k (sin) and 2k+1 (cos)."""
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


def gaussian_in_span(basis: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Projects the columns of z onto span(basis) by least squares, G (G^T G)^-1 G^T z: no
    orthonormal basis."""
    return basis @ np.linalg.solve(basis.T @ basis, basis.T @ z)


def squared_cosines(g_x: np.ndarray, g_e: np.ndarray) -> np.ndarray:
    """cos^2 of the principal angles between span(g_x) and span(g_e), ascending: the eigenvalues of
    P_X P_E on V_X, written in the (non-orthonormal) basis g_x."""
    onto_x = np.linalg.solve(g_x.T @ g_x, g_x.T @ g_e)
    onto_e = np.linalg.solve(g_e.T @ g_e, g_e.T @ g_x)
    return np.sort(np.linalg.eigvals(onto_x @ onto_e).real)


@pytest.fixture(scope="module")
def E() -> np.ndarray:
    return sheet_encoding(N, P)


@pytest.fixture(scope="module")
def ex1(results: dict[str, dict]) -> dict:
    return results["ex1"]


@pytest.fixture(scope="module")
def sweep(ex1: dict) -> dict[str, np.ndarray]:
    """The 1(d) sweep again from the published seed, in the notebook's order of draws (basis of V_X,
    basis of V_E, features, positions), with least-squares projectors instead of QR."""
    m, n, trials = ex1["subspace_dim"], ex1["n_tokens"], ex1["sweep_trials"]
    rng = np.random.default_rng(ex1["sweep_seed"])
    ratios = []
    for p in SWEEP_DIMS:
        draws = []
        for _ in range(trials):
            g_x, g_e = rng.normal(size=(p, m)), rng.normal(size=(p, m))
            X = gaussian_in_span(g_x, rng.normal(size=(p, n)))
            E = gaussian_in_span(g_e, rng.normal(size=(p, n)))
            draws.append(np.linalg.norm(X.T @ E + E.T @ X) / np.linalg.norm(X.T @ X + E.T @ E))
        ratios.append(np.mean(draws))
    return {"p": np.array(SWEEP_DIMS), "ratio": np.array(ratios)}


@pytest.fixture(scope="module")
def expected(E: np.ndarray, ex1: dict, sweep: dict[str, np.ndarray]) -> dict[str, float]:
    """Every number the answers of Exercise 1 quote, recomputed independently of the notebook."""
    gram = E.T @ E
    omega = np.array([10000.0 ** (-2 * k / P) for k in range(P // 2)])
    slow = omega * (N - 1) < 1
    rng = np.random.default_rng(ex1["seed"])
    variance = E.var()
    X = rng.normal(scale=math.sqrt(variance), size=(P, N))
    added = (X + E).T @ (X + E)
    stacked = np.vstack([X, E])
    concatenated = stacked.T @ stacked
    off = ~np.eye(N, dtype=bool)
    cross = X.T @ E + E.T @ X
    log_p, log_ratio = np.log(sweep["p"]), np.log(sweep["ratio"])
    log_p, log_ratio = log_p - log_p.mean(), log_ratio - log_ratio.mean()
    return {
        "gram_diagonal": P / 2,
        "gram_near": gram[0, NEAR],
        "gram_farthest": gram[0, N - 1],
        "gram_min": gram.min(),
        "n_frequencies": P // 2,
        "n_slow_frequencies": int(slow.sum()),
        "cos_one": math.cos(1),
        "slow_part_farthest": sum(math.cos(w * (N - 1)) for w in omega[slow]),
        "fast_part_farthest": sum(math.cos(w * (N - 1)) for w in omega[~slow]),
        "feature_variance": variance,
        "expected_diagonal": P * variance + P / 2,
        "gram_neighbour": max(gram[i, j] for i in range(N) for j in range(N) if i != j),
        "cross_std": math.sqrt(variance * P),
        "noise_std": variance * math.sqrt(P),
        "relative_difference": np.linalg.norm(cross) / np.linalg.norm(concatenated),
        "correlation": np.corrcoef(added[off], concatenated[off])[0, 1],
        "max_other_weight_added": softmax_over_keys(added)[off].max(),
        "max_other_weight_concatenated": softmax_over_keys(concatenated)[off].max(),
        "self_weight_scaled_added": np.mean(np.diag(softmax_over_keys(added / math.sqrt(P)))),
        "self_weight_scaled_concatenated": np.mean(np.diag(softmax_over_keys(concatenated / math.sqrt(P)))),
        "ratio_slope": np.dot(log_p, log_ratio) / np.dot(log_p, log_p),
        "sweep_p_min": SWEEP_DIMS[0],
        "sweep_p_max": SWEEP_DIMS[-1],
        "sweep_ratio_min_p": sweep["ratio"][0],
        "sweep_ratio_max_p": sweep["ratio"][-1],
    }


@pytest.fixture(scope="module")
def answers(pdf_text: str) -> str:
    """The text of the answers, title to the end of the last task (the appendix cut off)."""
    return pdf_text[: pdf_text.index("Code and output")]


def tight_top(text: str) -> str:
    """pdftotext spaces the superscript ⊤ by its glyph gaps (X ⊤E, E⊤E): none around it."""
    return re.sub(r"\s*⊤\s*", "⊤", text)


@pytest.fixture(scope="module")
def task_a(answers: str) -> str:
    """The text of 1(a), from its title to the title of 1(b), with ⊤ unspaced."""
    return tight_top(answers[answers.index("Expanding the scores") : answers.index("Sinusoidal embeddings")])


def test_modules_encoding_matches_the_sheet(E: np.ndarray) -> None:
    np.testing.assert_allclose(positional_encoding(N, P), E, atol=1e-12)


@pytest.mark.parametrize(
    ("n_tokens", "dim", "message"),
    [(64, 0, "p = 0"), (64, 7, "p = 7"), (64, -2, "p = -2"), (0, 256, "n = 0"), (-3, 256, "n = -3")],
)
def test_impossible_sizes_raise(n_tokens: int, dim: int, message: str) -> None:
    """The dimension must be even and positive, and there must be at least one token."""
    with pytest.raises(ValueError, match=re.escape(message)) as raised:
        positional_encoding(n_tokens, dim)
    assert ("even and positive" if "p =" in message else "at least one token") in str(raised.value)


def test_smallest_encoding_is_one_position_in_two_dimensions() -> None:
    np.testing.assert_allclose(positional_encoding(1, 2), [[0.0], [1.0]])


def test_modules_gram_is_the_closed_form_of_the_offset(ex1: dict) -> None:
    """Eq. (1): (E^T E)_ij = sum_k cos(w_k (i - j)) for the module's E; the notebook's own check
    agrees."""
    encoding = positional_encoding(N, P)
    offsets = np.subtract.outer(np.arange(N), np.arange(N))
    omega = 10000.0 ** (-2 * np.arange(P // 2) / P)
    closed_form = np.cos(offsets[..., None] * omega).sum(axis=-1)
    np.testing.assert_allclose(encoding.T @ encoding, closed_form, atol=1e-9)
    assert 0 <= ex1["toeplitz_error"] < 1e-10


def test_published_expansions_are_sympys_latex(ex1: dict) -> None:
    assert ex1["expansion_added"] == r"E^{\top} E + E^{\top} X + X^{\top} E + X^{\top} X"
    assert ex1["expansion_concatenated"] == r"E^{\top} E + X^{\top} X"


def test_1a_typesets_the_expansions_in_sympys_order(task_a: str) -> None:
    """The display reads K^T Q = (added) and K^T Q = (concatenated), each term in sympy's order
    and none more."""
    says(task_a, f"K⊤Q = {ADDED}")
    says(task_a, f"and K⊤Q = {CONCATENATED}.")
    for more in [" + ", " − "]:
        assert f"K⊤Q = {ADDED}{more}" not in task_a


def test_1a_typeset_expansions_equal_the_products(task_a: str) -> None:
    """The terms the PDF shows, evaluated on random X and E, add up to (X + E)^T (X + E) and to
    [X; E]^T [X; E]."""
    shown = re.findall(r"K⊤Q = (−?[XE]⊤[XE](?: [+−] [XE]⊤[XE])*)", task_a)
    assert len(shown) == 2, shown
    rng = np.random.default_rng(0)
    matrices = dict(zip("XE", rng.normal(size=(2, 6, 4)), strict=True))

    def evaluate(terms: str) -> np.ndarray:
        """The sum of the signed terms A⊤B, as A.T @ B."""
        signed = re.findall(r"(−?) ?([XE])⊤([XE])", terms.replace("+ ", ""))
        return sum((-1 if sign else 1) * matrices[left].T @ matrices[right] for sign, left, right in signed)

    added, concatenated = shown
    X, E = matrices["X"], matrices["E"]
    np.testing.assert_allclose(evaluate(added), (X + E).T @ (X + E))
    np.testing.assert_allclose(evaluate(concatenated), np.vstack([X, E]).T @ np.vstack([X, E]))


def test_addition_is_concatenation_followed_by_the_map_I_I(answers: str) -> None:
    """1(a): X + E = [I I][X; E], and the added scores put [[I, I], [I, I]] between the stacks."""
    says(answers, "Addition is concatenation followed by the fixed map [I I]")
    rng = np.random.default_rng(1)
    p, n = 5, 4
    X, E = rng.normal(size=(2, p, n))
    stacked = np.vstack([X, E])
    sum_map = np.hstack([np.eye(p), np.eye(p)])
    np.testing.assert_allclose(sum_map @ stacked, X + E)
    np.testing.assert_allclose(stacked.T @ (sum_map.T @ sum_map) @ stacked, (X + E).T @ (X + E))


def test_published_values_match_the_recomputation(ex1: dict, expected: dict[str, float]) -> None:
    """The notebook's values against the recomputation, and its sizes against the sheet's."""
    assert (ex1["n_tokens"], ex1["dim"], ex1["near_offset"]) == (N, P, NEAR)
    for name, value in expected.items():
        assert ex1[name] == pytest.approx(value, rel=1e-6), name


def test_1b_quotes_n_and_p_in_the_text_and_in_figure_1(answers: str) -> None:
    says(answers, f"the notebook builds it for n = {reads(N)} and p = {reads(P)} (")
    says(tight_top(answers), f"Left: E⊤E for n = {reads(N)}, p = {reads(P)}. Right")


def test_1b_quotes_the_diagonal_as_p_over_2(answers: str, expected: dict[str, float]) -> None:
    says(answers, f"p/2 = {reads(expected['gram_diagonal'])}: each sine")


def test_1b_quotes_the_fall_at_offsets_near_and_n_minus_1(answers: str, expected: dict[str, float]) -> None:
    """The entry at offset 5, then the one at the largest offset n - 1, each with its offset."""
    near, farthest = reads(expected["gram_near"]), reads(expected["gram_farthest"])
    says(answers, f"fall steeply at first, to {near} at |i − j| = {reads(NEAR)}, then slowly")
    says(answers, f"small ripples, to {farthest} at |i − j| = {reads(N - 1)}.")


def test_1b_quotes_the_smallest_entry(answers: str, expected: dict[str, float]) -> None:
    says(answers, f"(smallest entry {reads(expected['gram_min'])}).")


def test_1b_quotes_the_slow_frequencies_and_their_sum(answers: str, expected: dict[str, float]) -> None:
    """How many frequencies are slow, of how many; cos 1; their sum at i = j and at n - 1."""
    slow = reads(expected["n_slow_frequencies"])
    says(answers, f"The {slow} of the {reads(P // 2)} frequencies with")
    says(answers, f"more than cos 1 = {reads(expected['cos_one'])} to every entry")
    farthest = reads(expected["slow_part_farthest"])
    says(answers, f"together {slow} at i = j and {farthest} at |i − j| = {reads(N - 1)}, nearly")


def test_1b_quotes_the_other_frequencies_and_their_fall(answers: str, expected: dict[str, float]) -> None:
    """The faster frequencies, p/2 minus the slow ones, and the sum of their cosines."""
    fast = reads(P // 2 - expected["n_slow_frequencies"])
    farthest = reads(expected["fast_part_farthest"])
    says(answers, f"comes from the other {fast} frequencies, whose sum falls from {fast} at i = j")
    says(answers, f"at i = j to {farthest} at |i − j| = {reads(N - 1)}.")


def test_1c_quotes_the_variance_and_the_seed(answers: str, ex1: dict, expected: dict[str, float]) -> None:
    variance = reads(expected["feature_variance"])
    says(
        answers,
        f"= {variance} the variance of the pn entries of E; X is drawn with seed {reads(ex1['seed'])} (",
    )


def test_1c_quotes_the_expected_diagonal_and_the_largest_entry_off_it(
    answers: str, expected: dict[str, float]
) -> None:
    says(answers, f"p/2 = {reads(expected['expected_diagonal'])} for both")
    says(answers, f"≤ {reads(expected['gram_neighbour'], 4)}. Through the softmax")


def test_1c_quotes_the_weights_for_addition_then_concatenation(
    answers: str, expected: dict[str, float]
) -> None:
    """Largest weight on another token, then the mean weight on itself with 1/sqrt(p): addition
    first each time, two significant digits."""
    added, concatenated = (reads(expected[f"max_other_weight_{how}"], 2) for how in ["added", "concatenated"])
    says(answers, f"more than {added} of its weight on another token with addition, {concatenated} with")
    added, concatenated = (
        reads(expected[f"self_weight_scaled_{how}"], 2) for how in ["added", "concatenated"]
    )
    says(answers, f"a query keeps {added} and {concatenated} of its weight on itself")


def test_1c_quotes_the_noise_of_concatenation_and_the_cross_terms_of_addition(
    answers: str, expected: dict[str, float]
) -> None:
    says(answers, f"= {reads(expected['noise_std'])} off the diagonal.")
    says(answers, f"= {reads(expected['cross_std'])} together.")


def test_1c_quotes_the_relative_difference_and_the_correlation(
    answers: str, expected: dict[str, float]
) -> None:
    difference, correlation = reads(expected["relative_difference"]), reads(expected["correlation"])
    says(answers, f"= {difference} and have correlation {correlation} off the diagonal")


def test_1d_quotes_the_sweep(answers: str, ex1: dict, expected: dict[str, float]) -> None:
    """m and n, the ratio at the smallest and the largest p with those p, the slope."""
    low, high = reads(expected["sweep_ratio_min_p"]), reads(expected["sweep_ratio_max_p"])
    says(
        answers,
        f"with m = {reads(ex1['subspace_dim'])} and n = {reads(N)}, the cross terms fall from {low} of",
    )
    says(
        answers,
        f"the rest at p = {reads(SWEEP_DIMS[0])} to {high} at p = {reads(SWEEP_DIMS[-1])}, with a log",
    )
    says(answers, f"slope of {reads(expected['ratio_slope'])} (Figure")


def test_figure_3_names_m_n_the_trials_and_the_seed(answers: str, ex1: dict) -> None:
    says(answers, f"random {reads(ex1['subspace_dim'])}-dimensional subspaces")
    trials, seed = reads(ex1["sweep_trials"]), reads(ex1["sweep_seed"])
    says(answers, f"(n = {reads(N)}, mean of {trials} draws per p, seed {seed}).")


def test_cited_cells_print_every_quoted_number(built_pdf: Path, expected: dict) -> None:
    """The cells of 1(b)-(d), which the answers cite, print each number the answers quote."""
    cells = json.loads(PROJECT.results_of("ex1").read_text(encoding="utf-8"))["cells"]
    output = "\n".join(cell["output"] for cell in cells if cell["task"] in {"1(b)", "1(c)", "1(d)"})
    for name, value in expected.items():
        shown = f"{value:.4g}" if name not in {"sweep_p_min", "sweep_p_max"} else str(value)
        if name.startswith("sweep_ratio"):
            shown = f"{value:.3g}"
        assert shown in output, f"the cited cells never print {name} ({shown})"


def test_published_gram_falls_steeply_then_slowly(ex1: dict) -> None:
    """1(b): over the first offsets the entries fall more than 5 times as fast as after them."""
    steep = (ex1["gram_diagonal"] - ex1["gram_near"]) / ex1["near_offset"]
    slow = (ex1["gram_near"] - ex1["gram_farthest"]) / (ex1["n_tokens"] - 1 - ex1["near_offset"])
    assert steep > 5 * slow


def test_published_slow_frequencies_add_more_than_cos_1_each(ex1: dict) -> None:
    """1(b): each slow frequency adds more than cos 1, so their sum at n - 1 exceeds their number
    times cos 1 and is close to their number at i = j."""
    assert ex1["cos_one"] * ex1["n_slow_frequencies"] < ex1["slow_part_farthest"] < ex1["n_slow_frequencies"]


def test_published_fast_frequencies_make_the_fall(ex1: dict) -> None:
    """1(b): the slow frequencies fall by less than a tenth of what the faster ones fall."""
    slow_fall = ex1["n_slow_frequencies"] - ex1["slow_part_farthest"]
    fast_fall = ex1["n_frequencies"] - ex1["n_slow_frequencies"] - ex1["fast_part_farthest"]
    assert 0 < slow_fall < 0.1 * fast_fall


def test_published_gram_stays_far_from_zero(ex1: dict) -> None:
    assert ex1["gram_min"] > 0.4 * ex1["gram_diagonal"]


def test_measured_cross_terms_spread_as_sigma_sqrt_p(ex1: dict, expected: dict[str, float]) -> None:
    """1(c): the notebook's RMS of the cross terms off the diagonal is the sigma sqrt(p) quoted."""
    assert ex1["cross_rms"] == pytest.approx(expected["cross_std"], rel=0.05)


def test_published_scores_keep_attention_on_the_token_itself(ex1: dict) -> None:
    """1(c): the expected diagonal is far above every entry off it, and the softmax puts nearly
    all weight on the token itself, unscaled and scaled."""
    assert ex1["expected_diagonal"] > ex1["gram_neighbour"] + 50
    assert max(ex1["max_other_weight_added"], ex1["max_other_weight_concatenated"]) < 1e-20
    assert min(ex1["self_weight_scaled_added"], ex1["self_weight_scaled_concatenated"]) > 0.9


def test_published_scores_share_the_band(ex1: dict) -> None:
    """1(c): the two score matrices differ by a small fraction and are strongly correlated."""
    assert ex1["relative_difference"] < 0.2
    assert 0.7 < ex1["correlation"] < 0.95


def test_score_moments_of_1c_by_monte_carlo(answers: str) -> None:
    """1(c), by Monte Carlo in a small case: both score matrices have the expectation
    p sigma^2 I + E^T E; off the diagonal X^T X has standard deviation sigma^2 sqrt(p) and the
    cross terms sigma sqrt(p); for fixed i, (X^T E)_ij and (X^T E)_ij' have covariance
    sigma^2 (E^T E)_jj'."""
    says(answers, "both score matrices have the expectation pσ 2 I + E ⊤ E;")
    says(answers, "for fixed i, (X ⊤ E)ij and (X ⊤ E)ij ′ have covariance σ 2 (E ⊤ E)jj ′")
    says(answers, "off the diagonal two independent N (0, σ 2 p/2) terms")
    rng = np.random.default_rng(0)
    p, n, draws = 16, 4, 40000
    E = sheet_encoding(n, p)
    sigma2 = E.var()
    X = rng.normal(scale=math.sqrt(sigma2), size=(draws, p, n))
    added = np.einsum("dpi,dpj->dij", X + E, X + E)
    content = np.einsum("dpi,dpj->dij", X, X)
    cross_ie = np.einsum("dpi,pj->dij", X, E)  # (X^T E)_ij for every draw
    cross = cross_ie + cross_ie.transpose(0, 2, 1)
    expectation = p * sigma2 * np.eye(n) + E.T @ E
    assert np.allclose(added.mean(axis=0), expectation, atol=0.05 * p * sigma2)
    assert content[:, 0, 1].std() == pytest.approx(sigma2 * math.sqrt(p), rel=0.02)
    assert cross[:, 0, 1].std() == pytest.approx(math.sqrt(sigma2 * p), rel=0.02)
    covariance = np.cov(cross_ie[:, 0, 1], cross_ie[:, 0, 3])[0, 1]
    assert covariance == pytest.approx(sigma2 * (E.T @ E)[1, 3], rel=0.05)


def test_1a_says_addition_is_concatenation_followed_by_a_fixed_map(task_a: str) -> None:
    """The map [I I] belongs to 1(a) itself, before 1(b) starts."""
    says(task_a, "Addition is concatenation followed by the fixed map")


def test_sweep_falls_at_every_p_with_slope_minus_half_below_sqrt_m_over_p(
    ex1: dict, sweep: dict[str, np.ndarray]
) -> None:
    """1(d): the published slope is -1/2; the recomputed ratio falls at every step, parallel to and
    slightly below sqrt(m/p)."""
    assert ex1["ratio_slope"] == pytest.approx(-0.5, abs=0.03)
    assert np.all(np.diff(sweep["ratio"]) < 0)
    below = sweep["ratio"] / np.sqrt(ex1["subspace_dim"] / sweep["p"])
    assert np.all((below > 0.8) & (below < 1))


def test_sweep_expectations_by_monte_carlo(answers: str) -> None:
    """The expectations of the 1(d) argument, by Monte Carlo in a small case (n = 5, m = 3):
    E tr(P_X P_E) = m^2/p; for fixed subspaces E||X^T E||_F^2 = n^2 tr(P_X P_E),
    E||X^T X||_F^2 = nm(n + m + 1); the full ratio of E||X^T E + E^T X||_F^2 = 2n(n + 1) tr(P_X P_E)
    to E||X^T X + E^T E||_F^2 = 2nm(n + 2m + 1) is below m/p, which is why the measured ratio lies
    below sqrt(m/p)."""
    says(answers, "the squared cosines of the principal angles between VX and VE average m/p.")
    rng = np.random.default_rng(0)
    p, m, n, draws = 24, 3, 5, 6000
    traces = [squared_cosines(*rng.normal(size=(2, p, m))).sum() for _ in range(draws)]
    assert np.mean(traces) == pytest.approx(m * m / p, rel=0.05)
    g_x, g_e = rng.normal(size=(2, p, m))
    trace = squared_cosines(g_x, g_e).sum()
    cross, both_cross, content, rest = [], [], [], []
    for _ in range(draws):
        X = gaussian_in_span(g_x, rng.normal(size=(p, n)))
        E = gaussian_in_span(g_e, rng.normal(size=(p, n)))
        cross.append(np.linalg.norm(X.T @ E) ** 2)
        both_cross.append(np.linalg.norm(X.T @ E + E.T @ X) ** 2)
        content.append(np.linalg.norm(X.T @ X) ** 2)
        rest.append(np.linalg.norm(X.T @ X + E.T @ E) ** 2)
    assert np.mean(cross) == pytest.approx(n * n * trace, rel=0.06)
    assert np.mean(both_cross) == pytest.approx(2 * n * (n + 1) * trace, rel=0.06)
    assert np.mean(content) == pytest.approx(n * m * (n + m + 1), rel=0.04)
    assert np.mean(rest) == pytest.approx(2 * n * m * (n + 2 * m + 1), rel=0.04)


def test_subspace_projections_give_back_x_and_e(answers: str) -> None:
    """1(d): for V_X perpendicular to V_E the cross terms vanish and P_X(X + E) = X; for subspaces
    that meet only in 0, oblique projections recover X and E, so a linear map of the concatenation
    is one of the sum."""
    says(
        answers,
        "If VX ⊥ VE , then X ⊤ E = 0: the cross terms vanish and addition gives exactly "
        "the scores of concatenation.",
    )
    says(
        answers,
        "the oblique projections onto one subspace along the other still give back "
        "ΠX (X + E) = X and ΠE (X + E) = E.",
    )
    rng = np.random.default_rng(3)
    p, m_x, m_e, n = 12, 4, 5, 7
    basis = np.linalg.qr(rng.normal(size=(p, m_x + m_e)))[0]
    B_X, B_E = basis[:, :m_x], basis[:, m_x:]
    X, E = B_X @ rng.normal(size=(m_x, n)), B_E @ rng.normal(size=(m_e, n))
    np.testing.assert_allclose(X.T @ E, 0, atol=1e-12)
    np.testing.assert_allclose(B_X @ B_X.T @ (X + E), X, atol=1e-12)
    np.testing.assert_allclose(B_E @ B_E.T @ (X + E), E, atol=1e-12)
    G_X, G_E = rng.normal(size=(p, m_x)), rng.normal(size=(p, m_e))  # generic: they meet in 0
    X, E = G_X @ rng.normal(size=(m_x, n)), G_E @ rng.normal(size=(m_e, n))
    coordinates = np.linalg.pinv(np.hstack([G_X, G_E]))
    pi_x, pi_e = G_X @ coordinates[:m_x], G_E @ coordinates[m_x:]
    np.testing.assert_allclose(pi_x @ (X + E), X, atol=1e-10)
    np.testing.assert_allclose(pi_e @ (X + E), E, atol=1e-10)
    W_X, W_E = rng.normal(size=(2, 3, p))
    np.testing.assert_allclose((W_X @ pi_x + W_E @ pi_e) @ (X + E), W_X @ X + W_E @ E, atol=1e-10)


def test_task_titles_in_order(answers: str) -> None:
    """The titles, in order (pdftotext may read a heading's number apart from it)."""
    titles = [
        "Expanding the scores",
        "Sinusoidal embeddings and their Gram matrix",
        "Scores for random features",
        "Adding versus concatenating in low-dimensional subspaces (bonus)",
    ]
    starts = [answers.find(title) for title in titles]
    assert -1 not in starts and starts == sorted(starts)
