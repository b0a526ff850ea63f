"""Exercise 2: the numbers the MLA answers quote, recomputed from the sizes and found in the PDF
inside the words that say what they are, and in the output of the cited cells; the identities the
answers rest on, checked numerically.

The notebook works with eigh, np.linalg.solve and explicit counts; these tests use SVDs, lstsq,
einsum and the closed forms of the text instead. The expected text of each number is written by
tests/sheet/quoting.py, not by the engine's formatter.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from pypdf import PdfReader

from figures_src.latent_attention import synthetic_inputs
from pipeline.paths import PROJECT
from tests.sheet.quoting import reads, says

P, L = 5120, 512  # DeepSeek-V2's hidden size and KV latent size
ROUND_OFF = 1e-12
PARAMETER_RATIO = (2 * P * L + 2 * P**2) / (3 * P * L)  # the variant's parameters over MLA's
MACS_RATIO = (P * L + 2 * P**2) / (2 * P * L)  # its multiply-adds per token over MLA's
CACHE_REDUCTION = 2 * P / L  # k_t and v_t (2p numbers) over z_t (l)


@pytest.fixture(scope="module")
def ex2(results: dict[str, dict]) -> dict:
    return results["ex2"]


@pytest.fixture(scope="module")
def answers(pdf_text: str) -> str:
    start = pdf_text.index("Multi-head latent attention")
    return pdf_text[start : pdf_text.index("Mixture of experts and backpropagation", start)]


@pytest.fixture(scope="module")
def outputs(built_pdf: Path) -> dict[str, str]:
    """The printed output of the notebook's cells, joined per task ('' for the checks)."""
    cells = json.loads(PROJECT.results_of("ex2").read_text(encoding="utf-8"))["cells"]
    joined: dict[str, str] = {}
    for cell in cells:
        joined[cell["task"]] = joined.get(cell["task"], "") + cell["output"]
    return joined


def test_tasks_are_titled_in_order(pdf_text: str) -> None:
    titles = ["2(a) Why not decompress", "A training objective for C", "2(c) Does"]
    starts = [pdf_text.find(title) for title in titles]
    assert -1 not in starts and starts == sorted(starts)


def test_bookmarks_read_as_plain_text(built_pdf: Path) -> None:
    outline = PdfReader(built_pdf).outline
    index = next(i for i, item in enumerate(outline) if getattr(item, "title", "").startswith("2 "))
    tasks = outline[index + 1]  # the nested list under exercise 2
    assert isinstance(tasks, list)
    titles = [getattr(item, "title", None) for item in tasks]
    assert titles == [
        "2(a) Why not decompress with W^K D and W^V D?",
        "2(b) A training objective for C and D",
        "2(c) Does k_t hold more information than z_t?",
    ]


def test_published_costs_match_the_counts_of_the_text(ex2: dict) -> None:
    assert (ex2["v2_p"], ex2["v2_l"]) == (P, L)
    assert ex2["a_parameter_ratio"] == pytest.approx(PARAMETER_RATIO, rel=1e-12)
    assert ex2["a_macs_ratio"] == pytest.approx(MACS_RATIO, rel=1e-12)
    assert ex2["c_cache_reduction"] == pytest.approx(CACHE_REDUCTION, rel=1e-12)


def test_2a_quotes_the_parameter_and_compute_ratios_in_that_order(answers: str) -> None:
    """Parameters first, then multiply-adds, as the sentence before them counts them."""
    says(answers, f"instead of 2pl: {reads(PARAMETER_RATIO)} and {reads(MACS_RATIO)} times as many for")


def test_2a_quotes_the_sizes_as_hidden_and_latent(answers: str) -> None:
    says(answers, f"hidden size p = {reads(P)} and latent size l = {reads(L)} (")


def test_2c_quotes_the_cache_reduction(answers: str) -> None:
    says(answers, f"are cached, {reads(CACHE_REDUCTION)} times fewer than 2p")


def test_cited_cells_print_the_counts_and_ratios(outputs: dict[str, str]) -> None:
    """The cells 2(a) and 2(c) cite print the sizes, each count in full and the ratios."""
    for line in [
        f"p = {P}, l = {L}",
        f"parameters: MLA {3 * P * L:,}, variant {2 * P * L + 2 * P**2:,}, ratio {PARAMETER_RATIO:.3g}",
        f"multiply-adds: MLA {2 * P * L:,}, variant {P * L + 2 * P**2:,}, ratio {MACS_RATIO:.3g}",
    ]:
        assert line in outputs["2(a)"], line
    assert f"MHA {2 * P}, MLA {L}, {CACHE_REDUCTION:.3g} times fewer" in outputs["2(c)"]


def test_answers_quote_no_round_off(answers: str) -> None:
    """Round-off checks stay in the notebook: the answers print no power of ten at all, and do
    not mention the notebook's DeepSeek-V2-sized check."""
    assert "× 10" not in answers
    assert "DeepSeek-V2-sized" not in answers


# 2(a): the variant is MLA with a factored D^K.


def test_product_is_one_low_rank_matrix_and_every_mla_is_a_variant(answers: str) -> None:
    says(
        answers,
        "W K D is one p × l matrix (of rank at most l): every variant is an MLA with "
        "DK = W K D and DV = W V D.",
    )
    says(
        answers,
        "Conversely, with W K , W V trained too, every MLA is a variant, with "
        "D = (Il 0)⊤ , W K = (DK 0), W V = (DV 0);",
    )
    rng = np.random.default_rng(0)
    p, ell = 96, 12
    W_K, D = rng.standard_normal((p, p)), rng.standard_normal((p, ell))
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


def test_all_extra_parameters_are_redundant(answers: str) -> None:
    """The Jacobian of (D, W^K, W^V) -> (W^K D, W^V D) has full rank 2pl, so the equivalent
    parameters form a set of dimension pl + 2p^2 - 2pl = 2p^2 - pl, the variant's extra count."""
    says(
        answers,
        "all 2p2 − pl extra parameters are redundant: for D of full rank, "
        "(D, W K , W V ) 7→ (W K D, W V D) has a Jacobian of full rank 2pl",
    )
    rng = np.random.default_rng(4)
    p, ell = 7, 3
    W_K, W_V, D = rng.standard_normal((p, p)), rng.standard_normal((p, p)), rng.standard_normal((p, ell))
    eye_p = np.eye(p)
    # Row-major vec: d(W D) = (I kron D^T) dW + (W kron I) dD.
    dD = [np.kron(W, np.eye(ell)) for W in (W_K, W_V)]
    dW = np.kron(eye_p, D.T)
    zeros = np.zeros_like(dW)
    jacobian = np.block([[dD[0], dW, zeros], [dD[1], zeros, dW]])
    # Finite differences confirm the linearisation.
    step = rng.standard_normal((jacobian.shape[1],)) * 1e-6
    sD = step[: p * ell].reshape(p, ell)
    sK, sV = step[p * ell :].reshape(2, p, p)
    change = np.concatenate([((W + sW) @ (D + sD) - W @ D).ravel() for W, sW in [(W_K, sK), (W_V, sV)]])
    assert np.allclose(change, jacobian @ step, atol=1e-10)
    nullity = jacobian.shape[1] - np.linalg.matrix_rank(jacobian)
    assert nullity == 2 * p**2 - p * ell


def test_notebook_checks_of_2a(ex2: dict) -> None:
    assert ex2["a_rank_WD"] == ex2["a_check_l"]
    assert 0 <= ex2["a_difference"] < ROUND_OFF
    assert 0 <= ex2["a_difference_reparametrised"] < 1e-10


# 2(b): the PCA optimum of the reconstruction objective, and of the key-value objective.


def test_pca_error_is_the_sum_of_discarded_eigenvalues(ex2: dict) -> None:
    """Recomputed from an SVD of the data (the notebook uses eigh of S)."""
    X = synthetic_inputs(ex2["b_p"], ex2["b_n"], ex2["b_scale"], ex2["b_seed"])
    U, singular, _ = np.linalg.svd(X / np.sqrt(ex2["b_n"]), full_matrices=False)
    dims = range(1, ex2["b_p"])
    errors = [np.linalg.norm(X - U[:, :ell] @ (U[:, :ell].T @ X)) ** 2 / X.shape[1] for ell in dims]
    discarded = [np.sum(singular[ell:] ** 2) for ell in dims]
    assert np.allclose(errors, discarded, rtol=1e-9, atol=1e-13)
    assert np.allclose(ex2["b_pca_errors"], errors, rtol=1e-9, atol=1e-13)
    assert np.allclose(ex2["b_discarded"], discarded, rtol=1e-9, atol=1e-13)
    assert 0 <= ex2["b_difference"] < ROUND_OFF
    # No other rank-l pair does better: a random C with its least-squares decoder (lstsq).
    rng = np.random.default_rng(1)
    for ell in [1, 5, 20, 40, 63]:
        Z = rng.standard_normal((ell, X.shape[0])) @ X
        decoder = np.linalg.lstsq(Z.T, X.T, rcond=None)[0].T
        assert np.linalg.norm(X - decoder @ Z) ** 2 / X.shape[1] >= errors[ell - 1]


def test_key_value_objective_is_pca_in_the_metric_of_the_projections(answers: str) -> None:
    """min over C, D of sum_t ||W^K (x_t - DC x_t)||^2 + ||W^V (x_t - DC x_t)||^2 is PCA in the
    metric M = W^K^T W^K + W^V^T W^V: with U' the top-l eigenvectors of M^{1/2} S M^{1/2},
    D = M^{-1/2} U' and C = U'^T M^{1/2} attain the sum of its discarded eigenvalues; random C with
    their least-squares decoders do worse."""
    says(answers, "PCA in the metric W K⊤ W K +W V ⊤ W V .")
    rng = np.random.default_rng(7)
    p, n, ell = 12, 400, 3
    X = rng.standard_normal((p, p)) @ rng.standard_normal((p, n))
    W_K, W_V = rng.standard_normal((2, p, p))
    W = np.vstack([W_K, W_V])
    values, vectors = np.linalg.eigh(W.T @ W)
    root = vectors @ np.diag(np.sqrt(values)) @ vectors.T  # M^{1/2}
    S = X @ X.T / n
    eigenvalues, eigenvectors = np.linalg.eigh(root @ S @ root)
    top = eigenvectors[:, -ell:]
    D, C = np.linalg.solve(root, top), top.T @ root

    def loss(C: np.ndarray, D: np.ndarray) -> float:
        return float(np.mean(np.sum((W @ (X - D @ C @ X)) ** 2, axis=0)))

    assert loss(C, D) == pytest.approx(eigenvalues[:-ell].sum(), rel=1e-9)
    for _ in range(20):
        C_random = rng.standard_normal((ell, p))
        Z = C_random @ X
        # The best D for this C: least squares in the metric, W D Z ~ W X.
        D_best = np.linalg.lstsq(np.kron(Z.T, W), (W @ X).ravel(order="F"), rcond=None)[0]
        assert loss(C_random, D_best.reshape((p, ell), order="F")) >= loss(C, D)


def test_eckart_young_on_the_square_root_of_S(answers: str) -> None:
    """L(C, D) = ||(I - DC) S^{1/2}||_F^2, the form to which Eckart-Young applies."""
    says(answers, "By the Eckart–Young theorem (Eckart and Young, 1936) its optima are PCA")
    rng = np.random.default_rng(5)
    p, ell, n = 10, 3, 30
    X = rng.standard_normal((p, n))
    S = X @ X.T / n
    eigenvalues, U = np.linalg.eigh(S)
    root = U @ np.diag(np.sqrt(eigenvalues)) @ U.T
    C, D = rng.standard_normal((ell, p)), rng.standard_normal((p, ell))
    loss = np.mean(np.sum((X - D @ C @ X) ** 2, axis=0))
    assert np.isclose(loss, np.linalg.norm((np.eye(p) - D @ C) @ root) ** 2)


# 2(c): decompressed keys hold no more information; absorption.


def test_decompressed_keys_have_rank_l_and_determine_z(ex2: dict) -> None:
    rng = np.random.default_rng(2)
    p, ell, n = 120, 15, 300
    C, D_K = rng.standard_normal((ell, p)), rng.standard_normal((p, ell))
    Z = C @ rng.standard_normal((p, n))
    keys = D_K @ Z
    singular = np.linalg.svd(keys, compute_uv=False)
    assert singular[ell - 1] > 1e-6 * singular[0] > singular[ell]
    assert np.allclose(np.linalg.lstsq(D_K, keys, rcond=None)[0], Z)
    assert ex2["c_rank_keys"] == ex2["c_l"] < ex2["c_p"]
    assert 0 <= ex2["c_difference_recovered"] < ROUND_OFF


def test_absorbed_attention_equals_decompressed_attention(ex2: dict) -> None:
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
    assert 0 <= ex2["c_difference_absorbed"] < ROUND_OFF


def test_notebooks_latent_query_maps_have_rank_d_h_below_l(ex2: dict) -> None:
    """(D^K_h)^T W^Q_h, an l x p map, has rank d_h = p/H in every head of the notebook's check,
    less than l: decompressing restricts the maps."""
    head_dim = ex2["c_p"] // ex2["c_heads"]
    assert ex2["c_query_map_ranks"] == [head_dim] * ex2["c_heads"]
    assert head_dim < ex2["c_l"]
