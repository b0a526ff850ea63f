"""Exercise 2: every number of the MLA answers, recomputed independently and found in the PDF.

The notebook works with eigh, np.linalg.solve and shape-based counts; these tests use
SVDs, lstsq, einsum and the closed forms of the text instead.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from pypdf import PdfReader

from figures_src.latent_attention import synthetic_inputs
from pipeline.paths import PROJECT
from pipeline.texify import format_number
from tests.conftest import as_printed

SIZES = [(1024, 128), (5120, 512)]
ROUND_OFF = 1e-12


def printed(value: float, digits: int = 3) -> str:
    return as_printed(format_number(value, digits))


def assert_printed(pdf_text: str, *phrases: str) -> None:
    for phrase in phrases:
        assert phrase in pdf_text, f"{phrase!r} is not in the PDF"


@pytest.fixture(scope="module")
def ex2(results: dict[str, dict]) -> dict:
    return results["ex2"]


def test_tasks_are_titled_in_order(pdf_text: str) -> None:
    titles = ["2(a) Why not decompress", "A training objective for C", "2(c) Does"]
    starts = [pdf_text.find(title) for title in titles]
    assert -1 not in starts and starts == sorted(starts)


def test_bookmarks_read_as_plain_text(built_pdf: Path) -> None:
    outline = PdfReader(built_pdf).outline
    index = next(i for i, item in enumerate(outline) if getattr(item, "title", "").startswith("2 "))
    titles = [item.title for item in outline[index + 1]]
    assert titles == [
        "2(a) Why not decompress with W^K D and W^V D?",
        "2(b) A training objective for C and D",
        "2(c) Does k_t hold more information than z_t?",
    ]


@pytest.fixture(scope="module")
def outputs(built_pdf: Path) -> dict[str, str]:
    """The printed output of the notebook's cells, joined per task."""
    cells = json.loads(PROJECT.results_of("ex2").read_text(encoding="utf-8"))["cells"]
    joined: dict[str, str] = {}
    for cell in cells:
        joined[cell["task"]] = joined.get(cell["task"], "") + cell["output"]
    return joined


def test_every_quoted_number_is_printed_by_its_task(ex2: dict, outputs: dict[str, str]) -> None:
    """The text quotes 3 significant digits (2 for two percentages); the cells print at least that."""

    def g3(value: float) -> str:
        return f"{value:.3g}"

    expected = {
        "2(a)": [
            f"p = {ex2['a_p']}, l = {ex2['a_l']}, {ex2['a_tokens']} latents",
            f"rank(W^K D) = {ex2['a_rank_WD']}",
            g3(ex2["a_difference"]),
            g3(ex2["a_difference_reparametrised"]),
            *(f"ratio {g3(r)}" for r in ex2["a_param_ratios"]),
        ],
        "2(b)": [
            f"p = {ex2['b_p']}, n = {ex2['b_n']}, variances exp(-i/{ex2['b_scale']:g})",
            g3(ex2["b_difference"]),
            f"({ex2['b_random_draws']} draws per l): >= {g3(ex2['b_random_excess_min_percent'])}%",
            f"({ex2['b_steps']} steps): >= {g3(ex2['b_trained_excess_min'])}",
            f"<= {g3(ex2['b_trained_excess_max_percent'])}% (at l = {ex2['b_trained_worst_dim']})",
        ],
        "2(c)": [
            f"p = {ex2['c_p']}, l = {ex2['c_l']}, n = {ex2['c_n']} tokens",
            f"rank of the inputs {ex2['c_rank_inputs']}, of the keys D^K z_t {ex2['c_rank_keys']}",
            g3(ex2["c_difference_recovered"]),
            f"{ex2['c_heads']} heads, absorbed vs decompressed: {g3(ex2['c_difference_absorbed'])}",
            f"{sorted(set(ex2['c_query_map_ranks']))} (d_h = {ex2['c_head_dim']}, l = {ex2['c_l']})",
            *(f"({g3(r)} times fewer)" for r in ex2["c_cache_reductions"]),
        ],
    }
    for p, ell in SIZES:
        mla, variant = 3 * p * ell, 2 * p * ell + 2 * p**2
        mla_macs, variant_macs = 2 * p * ell, p * ell + 2 * p**2
        expected["2(a)"] += [f"{n:,}" for n in [mla, variant, mla_macs, variant_macs]]
        expected["2(a)"].append(f"ratio {g3(variant_macs / mla_macs)}")
        expected["2(c)"] += [f"MHA {2 * p:,}, MLA {ell:,}", f"decompressed {p * ell + p:,}, absorbed {ell:,}"]
    for task, phrases in expected.items():
        for phrase in phrases:
            assert phrase in outputs[task], f"{task} does not print {phrase!r}"


# 2(a): the variant is MLA with a factored D^K.


def test_product_is_one_low_rank_matrix_and_every_mla_is_a_variant() -> None:
    rng = np.random.default_rng(0)
    p, ell = 96, 12
    W_K, D = rng.standard_normal((p, p)), rng.standard_normal((p, ell))
    z = rng.standard_normal((ell, 30))
    assert np.allclose(np.einsum("ij,jk,kt->it", W_K, D, z), (W_K @ D) @ z)
    assert np.linalg.matrix_rank(W_K @ D) == ell < np.linalg.matrix_rank(W_K) == p
    # Every pair (D^K, D^V) is reached with a shared D = [I; 0] and W = [D^K 0], [D^V 0].
    D_K, D_V = rng.standard_normal((p, ell)), rng.standard_normal((p, ell))
    shared = np.vstack([np.eye(ell), np.zeros((p - ell, ell))])
    pad = np.zeros((p, p - ell))
    assert np.array_equal(np.hstack([D_K, pad]) @ shared, D_K)
    assert np.array_equal(np.hstack([D_V, pad]) @ shared, D_V)
    # Non-identifiable: D is shared, so (W^K A, W^V A, A^{-1} D) keeps both products.
    W_V = rng.standard_normal((p, p))
    A = np.eye(p) + rng.standard_normal((p, p)) / np.sqrt(p)
    A_inv_D = np.linalg.inv(A) @ D
    assert np.allclose((W_K @ A) @ A_inv_D, W_K @ D)
    assert np.allclose((W_V @ A) @ A_inv_D, W_V @ D)


def test_all_extra_parameters_are_redundant() -> None:
    """The Jacobian of (D, W^K, W^V) -> (W^K D, W^V D) has full rank 2pl, so the equivalent
    parameters form a set of dimension pl + 2p^2 - 2pl = 2p^2 - pl, the variant's extra count."""
    rng = np.random.default_rng(4)
    p, ell = 7, 3
    W_K, W_V, D = rng.standard_normal((p, p)), rng.standard_normal((p, p)), rng.standard_normal((p, ell))
    eye_p = np.eye(p)
    # Row-major vec: d(W D) = (I kron D^T) dW + (W kron I) dD.
    dD = [np.kron(W, np.eye(ell)) for W in (W_K, W_V)]
    dW = np.kron(eye_p, D.T)
    zeros = np.zeros_like(dW)
    jacobian = np.block([[dD[0], dW, zeros], [dD[1], zeros, dW]])
    assert jacobian.shape == (2 * p * ell, p * ell + 2 * p**2)
    # Finite differences confirm the linearisation.
    step = rng.standard_normal(jacobian.shape[1]) * 1e-6
    sD, sK, sV = step[: p * ell].reshape(p, ell), *step[p * ell :].reshape(2, p, p)
    change = np.concatenate([((W + sW) @ (D + sD) - W @ D).ravel() for W, sW in [(W_K, sK), (W_V, sV)]])
    assert np.allclose(change, jacobian @ step, atol=1e-10)
    nullity = jacobian.shape[1] - np.linalg.matrix_rank(jacobian)
    assert nullity == 2 * p**2 - p * ell == (2 * p * ell + 2 * p**2) - 3 * p * ell


def test_2a_check_values(ex2: dict, pdf_text: str) -> None:
    assert (ex2["a_p"], ex2["a_l"]) == SIZES[0]
    assert ex2["a_rank_WD"] == ex2["a_l"]
    assert 0 <= ex2["a_difference"] < ROUND_OFF
    assert 0 <= ex2["a_difference_reparametrised"] < 1e-10
    assert_printed(
        pdf_text,
        f"p = {printed(ex2['a_p'])}, l = {printed(ex2['a_l'])} and {printed(ex2['a_tokens'])} latents",
        f"differ by at most {printed(ex2['a_difference'])}",
        f"rank(W K D) = {printed(ex2['a_rank_WD'])}",
        f"changes the product by at most {printed(ex2['a_difference_reparametrised'])}",
        "(W K A, W V A, A−1 D) gives the same products",
        "family of equivalent optima",
        "(2p2 − pl)-dimensional set: all the extra parameters of Table",
    )


def test_2a_table_counts(ex2: dict, pdf_text: str) -> None:
    for p, ell in SIZES:
        mla, variant = 3 * p * ell, 2 * p * ell + 2 * p**2
        mla_macs, variant_macs = 2 * p * ell, p * ell + 2 * p**2
        assert_printed(
            pdf_text,
            f"p = {printed(p)}, l = {printed(ell)}",
            *(printed(value) for value in [mla, variant, variant / mla, mla_macs, variant_macs]),
            printed(variant_macs / mla_macs),
        )
    ratios = [(2 * p * ell + 2 * p**2) / (3 * p * ell) for p, ell in SIZES]
    assert ex2["a_param_ratios"] == pytest.approx(ratios)
    assert_printed(pdf_text, f"{printed(ratios[0])} to {printed(ratios[1])} times as many")


# 2(b): the PCA optimum of the reconstruction objective.


@pytest.fixture(scope="module")
def optimum(ex2: dict) -> dict:
    """The optimum recomputed from an SVD of the data (the notebook uses eigh of S)."""
    X = synthetic_inputs(ex2["b_p"], ex2["b_n"], ex2["b_scale"], ex2["b_seed"])
    U, singular, _ = np.linalg.svd(X / np.sqrt(ex2["b_n"]), full_matrices=False)
    eigenvalues = singular**2
    dims = np.array(ex2["b_latent_dims"])
    errors = np.array([np.linalg.norm(X - U[:, :ell] @ (U[:, :ell].T @ X)) ** 2 / X.shape[1] for ell in dims])
    discarded = np.array([eigenvalues[ell:].sum() for ell in dims])
    return {"X": X, "dims": dims, "errors": errors, "discarded": discarded}


def test_pca_error_is_the_sum_of_discarded_eigenvalues(ex2: dict, optimum: dict, pdf_text: str) -> None:
    assert list(optimum["dims"]) == list(range(1, ex2["b_p"]))
    assert np.allclose(optimum["errors"], optimum["discarded"], rtol=1e-9, atol=1e-13)
    assert np.allclose(ex2["b_pca_errors"], optimum["errors"], rtol=1e-9, atol=1e-13)
    assert np.allclose(ex2["b_discarded"], optimum["discarded"], rtol=1e-9, atol=1e-13)
    assert 0 <= ex2["b_difference"] < ROUND_OFF
    assert_printed(
        pdf_text,
        f"on {printed(ex2['b_n'])} seeded inputs in p = {printed(ex2['b_p'])} dimensions",
        f"e−i/{printed(ex2['b_scale'])}",
        f"discarded eigenvalues to within {printed(ex2['b_difference'])}",
    )


def test_no_random_or_trained_pair_beats_pca(ex2: dict, optimum: dict, pdf_text: str) -> None:
    best = optimum["errors"]
    random_errors = np.array(ex2["b_random_errors"])
    assert random_errors.shape == (len(best), ex2["b_random_draws"])
    assert np.all(random_errors >= best[:, None])
    excess = 100 * (random_errors.min(axis=1) / best - 1).min()
    assert ex2["b_random_excess_min_percent"] == pytest.approx(excess, rel=1e-6)

    trained = np.array(ex2["b_trained_errors"])
    trained_excess = trained / best[np.array(ex2["b_trained_dims"]) - 1] - 1
    assert np.all(trained_excess >= -1e-12)
    assert trained_excess.max() < 0.01  # gradient descent does approach the optimum
    assert ex2["b_trained_excess_min"] == pytest.approx(trained_excess.min(), rel=1e-3, abs=1e-13)
    assert ex2["b_trained_excess_max_percent"] == pytest.approx(100 * trained_excess.max(), rel=1e-6)
    assert ex2["b_trained_worst_dim"] == ex2["b_trained_dims"][int(np.argmax(trained_excess))]
    assert_printed(
        pdf_text,
        f"over {printed(ex2['b_random_draws'])} draws per l",
        f"at least {printed(excess, 2)} % worse",
        f"({printed(ex2['b_steps'])} full-batch steps)",
        f"relative {printed(ex2['b_trained_excess_min'])} at best",
        f"{printed(100 * trained_excess.max(), 2)} % at worst (l = {printed(ex2['b_trained_worst_dim'])}",
    )


def test_eckart_young_on_square_root_and_uniqueness_needs_nonsingular_s(pdf_text: str) -> None:
    """L(C, D) = ||(I - DC) S^{1/2}||_F^2; with n < p (singular S) a different DC is as good."""
    rng = np.random.default_rng(5)
    p, ell, n = 10, 3, 6
    X = rng.standard_normal((p, n))
    S = X @ X.T / n
    eigenvalues, U = np.linalg.eigh(S)
    root = U @ np.diag(np.sqrt(np.clip(eigenvalues, 0, None))) @ U.T
    C, D = rng.standard_normal((ell, p)), rng.standard_normal((p, ell))
    loss = np.mean(np.sum((X - D @ C @ X) ** 2, axis=0))
    assert np.isclose(loss, np.linalg.norm((np.eye(p) - D @ C) @ root) ** 2)
    U_l = U[:, ::-1][:, :ell]
    null = U[:, :1]  # an eigenvector of the eigenvalue 0 (rank S = n < p)
    assert eigenvalues[0] < 1e-12 < eigenvalues[p - n]
    other_C = U_l.T + rng.standard_normal((ell, 1)) @ null.T  # differs on null(S) only
    assert not np.allclose(U_l @ other_C, U_l @ U_l.T)
    error = np.mean(np.sum((X - U_l @ U_l.T @ X) ** 2, axis=0))
    assert np.isclose(np.mean(np.sum((X - U_l @ other_C @ X) ** 2, axis=0)), error)
    assert_printed(
        pdf_text,
        "Eckart–Young applied to S 1/2",
        "if λl > λl+1 and S is nonsingular; otherwise DC is arbitrary on the null space of S",
    )


def test_random_compression_with_least_squares_decoder_is_worse(optimum: dict) -> None:
    """A second decoder fit (lstsq on the data, not the moment formula) never beats PCA."""
    X, rng = optimum["X"], np.random.default_rng(1)
    for ell in [1, 5, 20, 40, 63]:
        Z = rng.standard_normal((ell, X.shape[0])) @ X
        D = np.linalg.lstsq(Z.T, X.T, rcond=None)[0].T
        assert np.linalg.norm(X - D @ Z) ** 2 / X.shape[1] >= optimum["errors"][ell - 1]


# 2(c): decompressed keys hold no more information; absorption.


def test_decompressed_keys_have_rank_l_and_determine_z() -> None:
    rng = np.random.default_rng(2)
    p, ell, n = 120, 15, 300
    C, D_K = rng.standard_normal((ell, p)), rng.standard_normal((p, ell))
    Z = C @ rng.standard_normal((p, n))
    keys = D_K @ Z
    singular = np.linalg.svd(keys, compute_uv=False)
    assert singular[ell - 1] > 1e-6 * singular[0] > singular[ell]
    assert np.allclose(np.linalg.lstsq(D_K, keys, rcond=None)[0], Z)


def test_absorbed_attention_equals_decompressed_attention() -> None:
    rng = np.random.default_rng(3)
    p, ell, heads, n, m = 64, 8, 4, 50, 5
    d = p // heads
    D_K, D_V, W_O = rng.standard_normal((p, ell)), rng.standard_normal((p, ell)), rng.standard_normal((p, p))
    Z, Q = rng.standard_normal((ell, n)), rng.standard_normal((p, m))
    # Decompressed: keys and values per head, shape (heads, d, n).
    K, V = (D_K @ Z).reshape(heads, d, n), (D_V @ Z).reshape(heads, d, n)
    scores = np.einsum("hdn,hdm->hnm", K, Q.reshape(heads, d, m))
    weights = np.exp(scores - scores.max(axis=1, keepdims=True))
    weights /= weights.sum(axis=1, keepdims=True)
    decompressed = W_O @ np.einsum("hdn,hnm->hdm", V, weights).reshape(p, m)
    # Absorbed: queries mapped into the latent space, W^O_h D^V_h applied to weighted latents.
    absorbed_q = np.einsum("hdl,hdm->hlm", D_K.reshape(heads, d, ell), Q.reshape(heads, d, m))
    assert np.allclose(np.einsum("ln,hlm->hnm", Z, absorbed_q), scores)
    W_OD = np.einsum("phd,hdl->hpl", W_O.reshape(p, heads, d), D_V.reshape(heads, d, ell))
    absorbed = np.einsum("hpl,ln,hnm->pm", W_OD, Z, weights)
    assert np.allclose(absorbed, decompressed)


def test_decompressing_restricts_the_latent_query_maps_to_rank_d_h() -> None:
    """(D^K_h)^T W^Q_h is an l x p map of rank d_h < l: fewer parameters when d_h(p + l) < pl."""
    rng = np.random.default_rng(6)
    p, ell, d = 48, 12, 4
    maps = rng.standard_normal((d, ell)).T @ rng.standard_normal((d, p))
    singular = np.linalg.svd(maps, compute_uv=False)
    assert maps.shape == (ell, p) and singular[d - 1] > 1e-8 * singular[0] > singular[d]
    assert d * (p + ell) < p * ell


def test_2c_check_values(ex2: dict, pdf_text: str) -> None:
    assert ex2["c_rank_keys"] == ex2["c_l"] < ex2["c_rank_inputs"] == ex2["c_p"]
    head_dim = ex2["c_p"] // ex2["c_heads"]
    assert ex2["c_head_dim"] == head_dim < ex2["c_l"]
    assert ex2["c_query_map_ranks"] == [head_dim] * ex2["c_heads"]
    assert 0 <= ex2["c_difference_recovered"] < ROUND_OFF
    assert 0 <= ex2["c_difference_absorbed"] < ROUND_OFF
    assert_printed(
        pdf_text,
        f"p = {printed(ex2['c_p'])}, l = {printed(ex2['c_l'])} and {printed(ex2['c_n'])} tokens",
        f"rank {printed(ex2['c_rank_inputs'])} but the decompressed keys only rank",
        f"only rank {printed(ex2['c_rank_keys'])} (Figure",
        f"zt to within {printed(ex2['c_difference_recovered'])}",
        f"With H = {printed(ex2['c_heads'])} heads",
        f"decompressed computation to within {printed(ex2['c_difference_absorbed'])}",
        f"every latent query map has rank dh = {printed(head_dim)} < l",
        "So k̂t holds no more information than zt",
        "a restriction, not extra flexibility",
        "with H heads, Hl instead of pl + p",
    )
    assert "flexibility in training" not in pdf_text
    assert "data-processing" not in pdf_text


def test_2c_cache_table(ex2: dict, pdf_text: str) -> None:
    reductions = [2 * p / ell for p, ell in SIZES]
    assert ex2["c_cache_reductions"] == pytest.approx(reductions)
    assert_printed(pdf_text, f"({printed(reductions[0])} and {printed(reductions[1])} times fewer")
    for p, ell in SIZES:
        assert_printed(pdf_text, *(printed(value) for value in [2 * p, ell, 2 * p / ell, p * ell + p]))
    # Both score rows count a single head, as the caption says.
    assert_printed(pdf_text, "a single head: H = 1)")
    assert pdf_text.count("multiply-adds per score (H = 1)") == 2
