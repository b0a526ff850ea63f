"""Exercise 3 (mixture of experts and backpropagation): the claims of the
answers checked numerically (the reverse pass, which experts get gradient,
the side losses), and every number they quote recomputed, found in the PDF
and in the printed output of the cells they cite.

The test writes its own forward pass of eqs. (20)-(22) (every expert
evaluated, the gate a plain `where`), takes central finite differences of
it over one flat parameter vector and compares them with the hand-written
reverse pass of figures_src/moe_layer.py. The toy router of 3(g)-(h) is
retrained by a second implementation that differentiates the losses
through the softmax Jacobian matrix of each token.
"""

import json
import re
from pathlib import Path

import numpy as np
import pytest
import sympy

from figures_src.moe_layer import (
    MoEParams,
    init_layer,
    moe_backward,
    moe_forward,
)
from pipeline.paths import PROJECT
from pipeline.texify import format_number
from tests.conftest import as_printed

FIGURES = PROJECT.figures
TEMPLATE = PROJECT.templates_dir / "ex3.tex"
STEP = 1e-5
VARIANTS = ("none", "balance", "usage")
PER_VARIANT = ("mean_scores", "usage", "cv_scores", "cv_usage", "task_reward")


@pytest.fixture(scope="module")
def ex3(results: dict[str, dict]) -> dict:
    return results["ex3"]


@pytest.fixture(scope="module")
def cells(built_pdf: Path) -> list[dict]:
    return json.loads(PROJECT.results_of("ex3").read_text(encoding="utf-8"))["cells"]


# The layer of 3(e), forward pass written independently of moe_layer.py


def layer_and_token(ex3: dict) -> tuple[MoEParams, np.ndarray, np.ndarray]:
    """The notebook's layer, token and target: the same draws from the
    published seed."""
    rng = np.random.default_rng(ex3["layer_seed"])
    keys = ("width", "hidden", "n_shared", "n_routed", "top_k")
    sizes = {k: ex3[f"layer_{k}"] for k in keys}
    params = init_layer(rng, **sizes)
    width = sizes["width"]
    return params, rng.normal(size=width), rng.normal(size=width)


def pack(params: MoEParams, u: np.ndarray) -> np.ndarray:
    arrays = [*params.arrays(), u]
    return np.concatenate([a.ravel() for a in arrays])


def relu_net(e: dict, u: np.ndarray) -> np.ndarray:
    pre = e["w1"] @ u + e["b1"]
    return e["w2"] @ np.where(pre > 0, pre, 0.0) + e["b2"]


def reference_loss(
    theta: np.ndarray,
    like: MoEParams,
    target: np.ndarray,
    gating: str,
) -> float:
    """L = 1/2 ||h' - y||^2 from a flat parameter vector, eqs. (20)-(22)
    written out directly."""
    width = len(target)
    pieces, offset = [], 0
    for ffn in like.shared + like.routed:
        expert = {}
        for name, value in ffn.items():
            flat = theta[offset : offset + value.size]
            expert[name] = flat.reshape(value.shape)
            offset += value.size
        pieces.append(expert)
    n_routed = len(like.routed)
    end = offset + n_routed * width
    centroids = theta[offset:end].reshape(n_routed, width)
    u = theta[end:]
    logits = centroids @ u
    scores = np.exp(logits - np.logaddexp.reduce(logits))
    if gating == "topk":
        threshold = np.sort(scores)[-like.top_k]
        gates = np.where(scores >= threshold, scores, 0.0)
    else:
        gates = scores
    n_shared = len(like.shared)
    shared = sum(relu_net(e, u) for e in pieces[:n_shared])
    routed = pieces[n_shared:]
    terms = zip(gates, routed, strict=True)
    gated = sum(g * relu_net(e, u) for g, e in terms)
    return 0.5 * float(np.sum((u + shared + gated - target) ** 2))


def numeric_gradient(
    theta: np.ndarray,
    like: MoEParams,
    target: np.ndarray,
    gating: str,
) -> np.ndarray:
    gradient = np.zeros_like(theta)
    for k in range(len(theta)):
        up, down = theta.copy(), theta.copy()
        up[k] += STEP
        down[k] -= STEP
        rise = reference_loss(up, like, target, gating)
        fall = reference_loss(down, like, target, gating)
        gradient[k] = (rise - fall) / (2 * STEP)
    return gradient


@pytest.fixture(scope="module")
def token_run(ex3: dict) -> dict:
    params, u, target = layer_and_token(ex3)
    theta = pack(params, u)
    run = {"params": params, "u": u, "target": target}
    for gating in ("topk", "dense"):
        tape = moe_forward(params, u, gating)
        grads = moe_backward(params, tape, tape.out - target)
        flat = [g.ravel() for g in grads.arrays()]
        run[gating] = {
            "tape": tape,
            "grads": grads,
            "reverse": np.concatenate([*flat, grads.u]),
            "numeric": numeric_gradient(theta, params, target, gating),
        }
    return run


def blocks(flat: np.ndarray, params: MoEParams) -> dict[str, np.ndarray]:
    """Per-expert parameter-gradient norms and per-centroid norms from a
    flat gradient."""
    experts = params.shared + params.routed
    sizes = [sum(v.size for v in f.values()) for f in experts]
    ends = np.cumsum(sizes)
    spans = zip(ends - sizes, ends, strict=True)
    norms = np.array([np.linalg.norm(flat[a:b]) for a, b in spans])
    n_routed, width = params.centroids.shape
    start = ends[-1]
    centroids = flat[start : start + n_routed * width]
    centroids = centroids.reshape(n_routed, width)
    n_shared = len(params.shared)
    return {
        "shared": norms[:n_shared],
        "routed": norms[n_shared:],
        "centroids": np.linalg.norm(centroids, axis=1),
        "centroid_vectors": centroids,
    }


def test_reverse_pass_matches_finite_differences(
    token_run: dict,
    ex3: dict,
) -> None:
    for gating in ("topk", "dense"):
        reverse = token_run[gating]["reverse"]
        numeric = token_run[gating]["numeric"]
        atol = 1e-7 * np.abs(numeric).max()
        np.testing.assert_allclose(reverse, numeric, rtol=1e-5, atol=atol)
        # Where the reverse pass says zero, finite differences are exactly
        # zero too.
        assert np.all(numeric[reverse == 0] == 0)
    assert 0 < ex3["fd_error"] < 1e-6
    assert ex3["fd_step"] == STEP


def test_which_experts_receive_gradient(token_run: dict, ex3: dict) -> None:
    params = token_run["params"]
    top_k = ex3["layer_top_k"]
    scores = token_run["topk"]["tape"].scores
    chosen = set(np.argsort(scores)[-top_k:])
    assert [i + 1 for i in sorted(chosen)] == ex3["selected_experts"]
    np.testing.assert_allclose(ex3["scores"], scores, rtol=1e-12)
    sparse = blocks(token_run["topk"]["numeric"], params)
    dense = blocks(token_run["dense"]["numeric"], params)
    grads = token_run["topk"]["grads"]
    assert np.all(sparse["shared"] > 1e-3)
    for i, norm in enumerate(sparse["routed"]):
        if i in chosen:
            assert norm > 1e-3
        else:
            assert norm == 0.0
            assert all(np.all(v == 0) for v in grads.routed[i].values())
    assert np.all(sparse["centroids"] > 1e-3)
    assert np.all(dense["shared"] > 1e-3)
    assert np.all(dense["routed"] > 1e-3)
    assert np.all(dense["centroids"] > 0)


def test_unselected_centroids_get_gradient_along_the_token(
    token_run: dict,
    ex3: dict,
) -> None:
    """dL/de_j = -gamma s_j u for every unselected j, with
    gamma = sum_{k selected} s_k dL/dg_k."""
    tape = token_run["topk"]["tape"]
    params, u = token_run["params"], token_run["u"]
    out_bar = tape.out - token_run["target"]
    gamma = 0.0
    for k in np.flatnonzero(tape.mask):
        expert_out = relu_net(params.routed[k], u)
        gamma += tape.scores[k] * float(out_bar @ expert_out)
    assert ex3["gamma"] == pytest.approx(gamma, rel=1e-10)
    assert gamma != 0
    numeric = token_run["topk"]["numeric"]
    vectors = blocks(numeric, params)["centroid_vectors"]
    for j in np.flatnonzero(tape.mask == 0):
        expected = -gamma * tape.scores[j] * u
        np.testing.assert_allclose(vectors[j], expected, rtol=1e-5)
    assert 0 <= ex3["centroid_rule_error"] < 1e-12


def test_published_gradient_norms(token_run: dict, ex3: dict) -> None:
    params = token_run["params"]
    gatings = ("topk", "dense")
    found = {g: blocks(token_run[g]["numeric"], params) for g in gatings}
    for gating in gatings:
        for part in ("shared", "routed", "centroids"):
            np.testing.assert_allclose(
                ex3[f"norms_{gating}_{part}"],
                found[gating][part],
                rtol=1e-5,
                atol=1e-12,
            )


def test_messages_of_sum_and_product_nodes(ex3: dict) -> None:
    c, d, adjoint = sympy.symbols(r"c d \bar{v}_a")
    assert ex3["partial_sum_c"] == ex3["partial_sum_d"] == "1"
    assert ex3["message_sum_c"] == sympy.latex(adjoint)
    assert ex3["message_sum_d"] == sympy.latex(adjoint)
    assert ex3["partial_product_c"] == "d"
    assert ex3["partial_product_d"] == "c"
    assert ex3["message_product_c"] == sympy.latex(adjoint * d)
    assert ex3["message_product_d"] == sympy.latex(adjoint * c)


def test_dense_gating_cost(ex3: dict) -> None:
    sizes = (ex3["v2_n_shared"], ex3["v2_n_routed"], ex3["v2_top_k"])
    assert sizes == (2, 160, 6)  # DeepSeek-V2, the model of exercise 2
    assert ex3["v2_routed_factor"] == pytest.approx(ex3["v2_n_routed"] / ex3["v2_top_k"])
    assert ex3["v2_routed_factor"] == pytest.approx(160 / 6)
    assert ex3["v2_ffn_factor"] == pytest.approx(162 / 8)


# The toy router of 3(g)-(h), retrained by a second implementation


def toy_router_outcome(ex3: dict) -> dict[str, dict]:
    n_routed, top_k = ex3["router_n_routed"], ex3["router_top_k"]
    width, n = ex3["router_width"], ex3["router_n_tokens"]
    steps, lr = ex3["router_steps"], ex3["router_lr"]
    weight = ex3["side_weight"]
    rng = np.random.default_rng(ex3["router_seed"])
    centres = 1.5 * rng.normal(size=(n_routed, width - 1))
    cluster = rng.integers(0, n_routed, n)
    noise = 0.5 * rng.normal(size=(n, width - 1))
    X = np.hstack([centres[cluster] + noise, np.ones((n, 1))])
    Q = np.zeros((n, n_routed))
    Q[:, : len(ex3["generalists"])] = ex3["generalists"]
    Q[np.arange(n), cluster] += ex3["specialist"]

    def route(E: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        logits = X @ E.T
        log_norm = np.logaddexp.reduce(logits, axis=1, keepdims=True)
        S = np.exp(logits - log_norm)
        order = np.argsort(-S, axis=1, kind="stable")
        ranks = np.argsort(order, axis=1, kind="stable")
        return S, (ranks < top_k).astype(float)

    eye = np.eye(n_routed)
    outcome = {}
    for variant in VARIANTS:
        seed = ex3["router_seed"] + 1
        E = np.random.default_rng(seed).normal(0, 0.01, (n_routed, width))
        for _ in range(steps):
            S, M = route(E)
            # d(total loss)/ds_{i,t}: the task term, plus the side loss's
            # (f a constant in L_use).
            W = -M * Q / n
            if variant == "balance":
                W = W + weight * 2 * n_routed * S.mean(axis=0) / n
            if variant == "usage":
                f = n_routed / (top_k * n) * M.sum(axis=0)
                W = W + weight * f / n
            jacobians = np.einsum("ti,ij->tij", S, eye)
            jacobians -= np.einsum("ti,tj->tij", S, S)
            E -= lr * np.einsum("ti,tij->tj", W, jacobians).T @ X
        S, M = route(E)
        f = n_routed / (top_k * n) * M.sum(axis=0)
        outcome[variant] = {
            "mean_scores": S.mean(axis=0),
            "usage": f,
            "task": float(np.sum(M * S * Q) / n),
        }
    return outcome


def test_toy_router(ex3: dict) -> None:
    """The notebook's toy router (not quoted in the answers), retrained by
    the second implementation: the same outcome, and what its printout
    shows: without a side loss the generalists take most routing slots;
    L_bal balances the average scores but not the usage; L_use balances
    the usage although the average scores stay unequal."""
    outcome = toy_router_outcome(ex3)
    for variant, result in outcome.items():
        scores, f = result["mean_scores"], result["usage"]
        published = {k: ex3[f"{k}_{variant}"] for k in PER_VARIANT}
        np.testing.assert_allclose(published["mean_scores"], scores, rtol=1e-7)
        np.testing.assert_allclose(published["usage"], f, rtol=1e-12)
        expected = {
            "cv_scores": scores.std() / scores.mean(),
            "cv_usage": f.std() / f.mean(),
            "task_reward": result["task"],
        }
        for key, value in expected.items():
            assert published[key] == pytest.approx(value, rel=1e-6), key
    n_generalists = len(ex3["generalists"])
    usage_none = np.array(ex3["usage_none"])
    top = np.argsort(usage_none)[::-1][:n_generalists]
    assert set(top) == set(range(n_generalists))
    assert usage_none[:n_generalists].sum() > 0.5 * usage_none.sum()
    assert ex3["cv_scores_balance"] < 0.1 < ex3["cv_usage_balance"]
    assert ex3["cv_usage_usage"] < 0.3 * ex3["cv_usage_balance"]
    assert ex3["cv_scores_usage"] > 5 * ex3["cv_scores_balance"]


def test_flat_scores_balance_sbar_but_not_usage() -> None:
    """3(h): every token with the scores (1/N_r + eps, 1/N_r, ...,
    1/N_r - eps): L_bal is about 1, yet Top-1 sends every token to
    expert 1."""
    n_routed, n_tokens, eps = 8, 100, 1e-3
    token = np.full(n_routed, 1 / n_routed)
    token[0] += eps
    token[-1] -= eps
    scores = np.tile(token, (n_tokens, 1))
    mean_scores = scores.mean(axis=0)
    assert n_routed * np.sum(mean_scores**2) == pytest.approx(1, abs=1e-4)
    assert np.all(np.argmax(scores, axis=1) == 0)


def test_balance_loss_is_one_plus_cv_squared() -> None:
    mean_scores = np.random.default_rng(1).dirichlet(np.ones(8))
    n_routed = len(mean_scores)
    cv = mean_scores.std() / mean_scores.mean()
    balance = n_routed * np.sum(mean_scores**2)
    assert balance == pytest.approx(1 + cv**2)


def softmax_rows(logits: np.ndarray) -> np.ndarray:
    return np.exp(logits - np.logaddexp.reduce(logits, axis=1)[:, None])


def test_side_loss_gradients_through_the_softmax() -> None:
    """3(g)-(h): dL/dl_{j,t} = (c/n) s_{j,t} (w_j - sum_k s_{k,t} w_k)
    with w = sbar (L_bal, c = 2 N_r) or w = f (L_use, c = 1), checked by
    finite differences; the raw dL_bal/dsbar is positive for every
    expert, the logit gradient has both signs, and it vanishes at
    balance."""
    rng = np.random.default_rng(5)
    n, n_routed = 6, 5
    logits = rng.normal(size=(n, n_routed))
    f = rng.uniform(0.2, 2.0, n_routed)

    def balance(lg: np.ndarray) -> float:
        mean = softmax_rows(lg).mean(axis=0)
        return n_routed * float(mean @ mean)

    def use(lg: np.ndarray) -> float:
        return float(f @ softmax_rows(lg).mean(axis=0))

    S = softmax_rows(logits)
    mean = S.mean(axis=0)
    closed = {
        balance: 2 * n_routed / n * S * (mean - S @ mean[:, None]),
        use: S * (f - S @ f[:, None]) / n,
    }
    for loss, gradient in closed.items():
        numeric = np.zeros_like(logits)
        for index in np.ndindex(logits.shape):
            up, down = logits.copy(), logits.copy()
            up[index] += STEP
            down[index] -= STEP
            numeric[index] = (loss(up) - loss(down)) / (2 * STEP)
        np.testing.assert_allclose(gradient, numeric, atol=1e-9)
    assert np.all(2 * n_routed * mean > 0)
    assert closed[balance].min() < 0 < closed[balance].max()
    # At uniform usage (all f_j = 1) the usage loss stops pushing.
    uniform = S * (1 - S @ np.ones((n_routed, 1))) / n
    np.testing.assert_allclose(uniform, 0, atol=1e-15)


def test_usage_loss_is_one_plus_covariance_and_can_drop_below_one() -> None:
    """L_use = sum_i f_i sbar_i = 1 + N_r Cov_i(f_i, sbar_i), below 1
    when usage and average score are anti-correlated."""
    rng = np.random.default_rng(2)
    for _ in range(3):
        f = rng.dirichlet(np.ones(8)) * 8
        mean_scores = rng.dirichlet(np.ones(8))
        cov = np.mean((f - f.mean()) * (mean_scores - mean_scores.mean()))
        assert f @ mean_scores == pytest.approx(1 + 8 * cov)
    f = np.array([1.5, 0.5])
    assert f @ np.array([0.4, 0.6]) < 1


# The schematic, the printed output and the PDF


def test_schematic_shows_every_path(ex3: dict) -> None:
    n_shared = ex3["schematic_n_shared"]
    n_routed = ex3["schematic_n_routed"]
    forward_tex = FIGURES / "ex3-moe-schematic.tex"
    forward = forward_tex.read_text(encoding="utf-8")
    u = r"(\mathbf{u}_t)"
    for i in range(1, n_routed + 1):
        assert rf"g_{{{i},t}}\,\mathrm{{FFN}}^{{(r)}}_{{{i}}}{u}" in forward
    for i in range(1, n_shared + 1):
        assert rf"\mathrm{{FFN}}^{{(s)}}_{{{i}}}{u}" in forward
    assert forward.count(r"{$\times$}") == n_routed
    labels = (
        r"$\mathbf{u}_t$ (residual)",
        "$s_{i,t}$",
        r"$\mathbf{h}'_t$",
        "Softmax",
        f"Top-$K_r$ (eq.~21), $K_r = {ex3['schematic_top_k']}$",
    )
    for label in labels:
        assert label in forward


def test_numbers_in_the_answers(pdf_text: str, ex3: dict) -> None:
    """The sizes of the schematic and of DeepSeek-V2, and the cost of
    dense gating, as formatted for the PDF."""
    start = pdf_text.index("Mixture of experts and backpropagation")
    answers = pdf_text[start : pdf_text.index("Code and output", start)]
    quoted = [
        "schematic_n_shared",
        "schematic_n_routed",
        "schematic_top_k",
        "v2_n_shared",
        "v2_n_routed",
        "v2_top_k",
        "v2_routed_factor",
        "v2_ffn_factor",
    ]
    for name in quoted:
        assert as_printed(format_number(ex3[name])) in answers, name
    factors = [format_number(ex3[f"v2_{k}_factor"]) for k in ("routed", "ffn")]
    assert "that is {} times the routed-expert compute, or {} times".format(*factors) in answers
    assert "assuming experts of equal size" in answers


def test_cited_cells_print_what_the_answers_quote(cells: list[dict], ex3: dict) -> None:
    """3(f): the cell prints the two factors and holds the three sizes;
    3(c)-(d): the cell prints each message. No unrounded floats anywhere."""
    dense = next(c for c in cells if c["task"] == "3(f)")
    for key in ("routed", "ffn"):
        assert f"{ex3[f'v2_{key}_factor']:.3g} x" in dense["output"]
    sizes = (ex3["v2_n_shared"], ex3["v2_n_routed"], ex3["v2_top_k"])
    assert "N_S, N_R, K_R = {}, {}, {}".format(*sizes) in dense["source"]
    messages = next(c for c in cells if c["task"] == "3(c)")["output"]
    for line in ["c + d: to c: vbar_a * 1", "c*d: to c: vbar_a * d", "c*d: to d: vbar_a * c"]:
        assert line in messages
    everything = "".join(c["output"] for c in cells)
    assert "np.float64" not in everything
    assert not re.search(r"\d\.\d{7,}", everything), "unrounded floats"


def test_the_cited_tasks_are_those_with_quoted_code() -> None:
    """The answers cite the cells whose formulas (3(c)-(d)) and numbers
    (3(f)) they quote, and no other: the schematic's generator and the
    checks stay out of the appendix."""
    template = TEMPLATE.read_text(encoding="utf-8")
    assert set(re.findall(r"\\coderef\{([^}]+)\}", template)) == {"3(c)", "3(f)"}


def test_notation(pdf_text: str) -> None:
    """Top-K_r written one way; figures named in full; the bar marks the
    adjoint of a node v (3(b)-(d)) and the average score (3(g)-(h)), never
    a gradient of the scores."""
    start = pdf_text.index("Mixture of experts and backpropagation")
    end = pdf_text.index("Code and output", start)
    section = pdf_text[start:end]
    assert not re.search(r"Top-[kK](?!r)|Top-1|Fig\.", section)
    assert "Figure" in section
    template = TEMPLATE.read_text(encoding="utf-8")
    bars = set(re.findall(r"\\bar\s*\{?\\?([a-zA-Z]+)", template))
    assert bars == {"v", "s"}, bars
    gradients = template[template.index("Which experts receive") : template.index("balanced average")]
    assert r"\bar" not in gradients
    assert r"\mathcal C(a)" in template and "v_b" in template


def test_task_headings(pdf_text: str) -> None:
    """The titles (pdftotext may read a heading's number apart from it)."""
    for title in [
        "Schematic of the MoE layer",
        "The adjoint",
        "Backward message of a sum node",
        "Backward message of a product node",
        "Which experts receive gradient",
        "A gating that reaches every expert",
        "A side loss for balanced average scores (bonus)",
        "A side loss that balances expert usage (bonus)",
    ]:
        assert title in pdf_text
