"""Exercise 3 (mixture of experts and backpropagation): the reverse pass, the gradient claims and every
published number, recomputed here and found in the PDF.

The test writes its own forward pass of eqs. (20)-(22) (every expert evaluated, the gate a plain
`where`), takes central finite differences of it over one flat parameter vector and compares them with
the hand-written reverse pass of figures_src/moe_layer.py. The toy router of 3(g)-(h) is retrained by a
second implementation that differentiates the losses through the softmax Jacobian matrix of each token.
"""

import re
from pathlib import Path

import numpy as np
import pytest
import sympy

from figures_src.moe_layer import MoEParams, init_layer, moe_backward, moe_forward
from pipeline.texify import format_number
from tests.conftest import as_printed

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ROOT / "report" / "figures"
STEP = 1e-5


@pytest.fixture(scope="module")
def ex3(results: dict[str, dict]) -> dict:
    return results["ex3"]


# The layer of 3(e), forward pass written independently of moe_layer.py --------------------------


def layer_and_token(ex3: dict) -> tuple[MoEParams, np.ndarray, np.ndarray]:
    """The notebook's layer, token and target: the same draws from the published seed."""
    rng = np.random.default_rng(ex3["layer_seed"])
    sizes = {k: ex3[f"layer_{k}"] for k in ("d", "hidden", "n_shared", "n_routed", "top_k")}
    params = init_layer(rng, **sizes)
    return params, rng.normal(size=sizes["d"]), rng.normal(size=sizes["d"])


def pack(params: MoEParams, u: np.ndarray) -> np.ndarray:
    experts = [np.concatenate([v.ravel() for v in f.values()]) for f in params.shared + params.routed]
    return np.concatenate([*experts, params.centroids.ravel(), u])


def reference_loss(theta: np.ndarray, like: MoEParams, target: np.ndarray, gating: str) -> float:
    """L = ½ ||h' − y||² from a flat parameter vector, eqs. (20)-(22) written out directly."""
    d = len(target)
    pieces, offset = [], 0
    for ffn in like.shared + like.routed:
        sizes = {name: value.shape for name, value in ffn.items()}
        expert = {}
        for name, shape in sizes.items():
            count = int(np.prod(shape))
            expert[name] = theta[offset : offset + count].reshape(shape)
            offset += count
        pieces.append(expert)
    n_routed = len(like.routed)
    centroids = theta[offset : offset + n_routed * d].reshape(n_routed, d)
    u = theta[offset + n_routed * d :]

    def run(e: dict) -> np.ndarray:
        return e["w2"] @ np.where(e["w1"] @ u + e["b1"] > 0, e["w1"] @ u + e["b1"], 0.0) + e["b2"]

    logits = centroids @ u
    scores = np.exp(logits - np.logaddexp.reduce(logits))
    if gating == "topk":
        threshold = np.sort(scores)[-like.top_k]
        gates = np.where(scores >= threshold, scores, 0.0)
    else:
        gates = scores
    shared = pieces[: len(like.shared)]
    out = (
        u
        + sum(run(e) for e in shared)
        + sum(g * run(e) for g, e in zip(gates, pieces[len(shared) :], strict=True))
    )
    return 0.5 * float(np.sum((out - target) ** 2))


def numeric_gradient(theta: np.ndarray, like: MoEParams, target: np.ndarray, gating: str) -> np.ndarray:
    gradient = np.zeros_like(theta)
    for k in range(len(theta)):
        up, down = theta.copy(), theta.copy()
        up[k] += STEP
        down[k] -= STEP
        gradient[k] = (
            reference_loss(up, like, target, gating) - reference_loss(down, like, target, gating)
        ) / (2 * STEP)
    return gradient


@pytest.fixture(scope="module")
def token_run(ex3: dict) -> dict:
    params, u, target = layer_and_token(ex3)
    theta = pack(params, u)
    run = {"params": params, "u": u, "target": target}
    for gating in ("topk", "dense"):
        tape = moe_forward(params, u, gating)
        grads = moe_backward(params, tape, tape.out - target)
        reverse = np.concatenate([np.concatenate([g.ravel() for g in grads.arrays()]), grads.u])
        run[gating] = {
            "tape": tape,
            "grads": grads,
            "reverse": reverse,
            "numeric": numeric_gradient(theta, params, target, gating),
        }
    return run


def blocks(flat: np.ndarray, params: MoEParams) -> dict[str, np.ndarray]:
    """Per-expert parameter-gradient norms and per-centroid norms from a flat gradient."""
    sizes = [sum(v.size for v in f.values()) for f in params.shared + params.routed]
    ends = np.cumsum(sizes)
    experts = np.array([np.linalg.norm(flat[e - s : e]) for s, e in zip(sizes, ends, strict=True)])
    n_routed, d = params.centroids.shape
    centroids = flat[ends[-1] : ends[-1] + n_routed * d].reshape(n_routed, d)
    n_shared = len(params.shared)
    return {
        "shared": experts[:n_shared],
        "routed": experts[n_shared:],
        "centroids": np.linalg.norm(centroids, axis=1),
        "centroid_vectors": centroids,
    }


def test_reverse_pass_matches_finite_differences(token_run: dict, ex3: dict) -> None:
    for gating in ("topk", "dense"):
        reverse, numeric = token_run[gating]["reverse"], token_run[gating]["numeric"]
        np.testing.assert_allclose(reverse, numeric, rtol=1e-5, atol=1e-7 * np.abs(numeric).max())
        # Where the reverse pass says zero, finite differences are exactly zero too.
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
    assert np.all(dense["shared"] > 1e-3) and np.all(dense["routed"] > 1e-3)
    assert np.all(dense["centroids"] > 0)


def test_unselected_centroids_get_gradient_along_the_token(token_run: dict, ex3: dict) -> None:
    """ē_j = −c s_j u for every unselected j, with c = Σ_{k selected} s_k ∂L/∂g_k."""
    tape = token_run["topk"]["tape"]
    params, u, target = token_run["params"], token_run["u"], token_run["target"]
    out_bar = tape.out - target
    c = 0.0
    for k in np.flatnonzero(tape.mask):
        ffn = params.routed[k]
        expert_out = ffn["w2"] @ np.maximum(ffn["w1"] @ u + ffn["b1"], 0) + ffn["b2"]
        c += tape.scores[k] * float(out_bar @ expert_out)
    assert ex3["c_denominator"] == pytest.approx(c, rel=1e-10)
    assert c > 0  # the template's branch on the sign
    centroid_vectors = blocks(token_run["topk"]["numeric"], params)["centroid_vectors"]
    for j in np.flatnonzero(tape.mask == 0):
        np.testing.assert_allclose(centroid_vectors[j], -c * tape.scores[j] * u, rtol=1e-5)
    assert 0 <= ex3["centroid_rule_error"] < 1e-12


def test_published_gradient_norms(token_run: dict, ex3: dict) -> None:
    for gating in ("topk", "dense"):
        numeric = blocks(token_run[gating]["numeric"], token_run["params"])
        for part in ("shared", "routed", "centroids"):
            np.testing.assert_allclose(ex3[f"norms_{gating}_{part}"], numeric[part], rtol=1e-5, atol=1e-12)
    sparse = blocks(token_run["topk"]["numeric"], token_run["params"])
    dense = blocks(token_run["dense"]["numeric"], token_run["params"])
    assert ex3["min_centroid_grad_topk"] == pytest.approx(sparse["centroids"].min(), rel=1e-5)
    assert ex3["min_expert_grad_dense"] == pytest.approx(
        min(dense["shared"].min(), dense["routed"].min()), rel=1e-5
    )


def test_messages_of_sum_and_product_nodes(ex3: dict) -> None:
    c, d, adjoint = sympy.symbols(r"c d \bar{v}_a")
    assert ex3["partial_sum_c"] == ex3["partial_sum_d"] == "1"
    assert ex3["message_sum_c"] == ex3["message_sum_d"] == sympy.latex(adjoint)
    assert (ex3["partial_product_c"], ex3["partial_product_d"]) == ("d", "c")
    assert ex3["message_product_c"] == sympy.latex(adjoint * d)
    assert ex3["message_product_d"] == sympy.latex(adjoint * c)


def test_dense_gating_cost(ex3: dict) -> None:
    assert ex3["v3_routed_factor"] == ex3["v3_n_routed"] / ex3["v3_top_k"] == 32
    assert ex3["v3_ffn_factor"] == pytest.approx(257 / 9)
    assert ex3["toy_routed_factor"] == ex3["layer_n_routed"] / ex3["layer_top_k"]


# The toy router of 3(g)-(h), retrained by a second implementation ---------------------------------


def toy_router_outcome(ex3: dict) -> dict[str, dict[str, np.ndarray | float]]:
    n_routed, top_k, d = ex3["router_n_routed"], ex3["router_top_k"], ex3["router_d"]
    n, steps, lr, weight = ex3["router_n_tokens"], ex3["router_steps"], ex3["router_lr"], ex3["side_weight"]
    rng = np.random.default_rng(ex3["router_seed"])
    centres = 1.5 * rng.normal(size=(n_routed, d - 1))
    cluster = rng.integers(0, n_routed, n)
    X = np.hstack([centres[cluster] + 0.5 * rng.normal(size=(n, d - 1)), np.ones((n, 1))])
    Q = np.zeros((n, n_routed))
    Q[:, : len(ex3["generalists"])] = ex3["generalists"]
    Q[np.arange(n), cluster] += ex3["specialist"]

    def route(E: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        logits = X @ E.T
        S = np.exp(logits - np.logaddexp.reduce(logits, axis=1, keepdims=True))
        ranks = np.argsort(np.argsort(-S, axis=1, kind="stable"), axis=1, kind="stable")
        return S, (ranks < top_k).astype(float)

    outcome = {}
    for variant in ("none", "balance", "usage"):
        E = np.random.default_rng(ex3["router_seed"] + 1).normal(0, 0.01, (n_routed, d))
        for _ in range(steps):
            S, M = route(E)
            # ∂(total loss)/∂s_{i,t}: task term, plus the side loss's (f a constant in L_use).
            W = -M * Q / n
            if variant == "balance":
                W = W + weight * 2 * n_routed * S.mean(axis=0) / n
            if variant == "usage":
                W = W + weight * (n_routed / (top_k * n) * M.sum(axis=0)) / n
            jacobians = np.einsum("ti,ij->tij", S, np.eye(n_routed)) - np.einsum("ti,tj->tij", S, S)
            E -= lr * np.einsum("ti,tij->tj", W, jacobians).T @ X
        S, M = route(E)
        f = n_routed / (top_k * n) * M.sum(axis=0)
        outcome[variant] = {"mean_scores": S.mean(axis=0), "usage": f, "task": float(np.sum(M * S * Q) / n)}
    return outcome


def test_toy_router(ex3: dict) -> None:
    outcome = toy_router_outcome(ex3)
    for variant, result in outcome.items():
        np.testing.assert_allclose(ex3[f"mean_scores_{variant}"], result["mean_scores"], rtol=1e-7)
        np.testing.assert_allclose(ex3[f"usage_{variant}"], result["usage"], rtol=1e-12)
        cv_scores = result["mean_scores"].std() / result["mean_scores"].mean()
        cv_usage = result["usage"].std() / result["usage"].mean()
        assert ex3[f"cv_scores_{variant}"] == pytest.approx(cv_scores, rel=1e-6)
        assert ex3[f"cv_usage_{variant}"] == pytest.approx(cv_usage, rel=1e-6)
        assert ex3[f"max_usage_{variant}"] == pytest.approx(result["usage"].max())
        assert ex3[f"min_usage_{variant}"] == pytest.approx(result["usage"].min())
        assert ex3[f"task_reward_{variant}"] == pytest.approx(result["task"], rel=1e-6)
    # The claims of the text: collapse without a side loss; L_bal balances the average scores but not
    # the usage; L_use balances the usage although the average scores stay unequal.
    assert ex3["cv_scores_none"] > 1 and ex3["cv_usage_none"] > 1
    assert ex3["cv_scores_balance"] < 0.1 < 3 * ex3["cv_usage_usage"] < ex3["cv_usage_balance"]
    assert ex3["cv_scores_usage"] > 5 * ex3["cv_scores_balance"]
    assert ex3["max_usage_balance"] > 2 and ex3["min_usage_balance"] < 0.7
    assert ex3["task_reward_none"] > max(ex3["task_reward_balance"], ex3["task_reward_usage"])


def test_balance_loss_is_one_plus_cv_squared() -> None:
    mean_scores = np.random.default_rng(1).dirichlet(np.ones(8))
    n_routed = len(mean_scores)
    cv = mean_scores.std() / mean_scores.mean()
    assert n_routed * np.sum(mean_scores**2) == pytest.approx(1 + cv**2)


# The schematic and the PDF -----------------------------------------------------------------------


def test_schematic_shows_every_path(ex3: dict) -> None:
    n_shared, n_routed = ex3["schematic_n_shared"], ex3["schematic_n_routed"]
    forward = (FIGURES / "ex3-moe-schematic.tex").read_text(encoding="utf-8")
    for i in range(1, n_routed + 1):
        assert rf"g_{{{i},t}}\,\mathrm{{FFN}}^{{(r)}}_{{{i}}}(\mathbf{{u}}_t)" in forward
    for i in range(1, n_shared + 1):
        assert rf"\mathrm{{FFN}}^{{(s)}}_{{{i}}}(\mathbf{{u}}_t)" in forward
    assert forward.count(r"{$\times$}") == n_routed
    for label in (r"$\mathbf{u}_t$ (residual)", "$s_{i,t}$", r"$\mathbf{h}'_t$", "Softmax", "Top-$K_r$"):
        assert label in forward
    gradient = (FIGURES / "ex3-moe-gradient.tex").read_text(encoding="utf-8")
    unselected = n_routed - len(ex3["gradient_view_selected"])
    assert len(re.findall(r"g_\{\d,t\}\{=\}0", gradient)) == unselected
    assert ", stopped" not in forward and ", stopped" in gradient


def tight_times(text: str) -> str:
    return re.sub(r"\s*×\s*", "×", text)


def test_numbers_in_pdf(pdf_text: str, ex3: dict) -> None:
    text = tight_times(pdf_text)
    scalars = [
        "fd_error",
        "fd_step",
        "c_denominator",
        "centroid_rule_error",
        "min_centroid_grad_topk",
        "min_expert_grad_dense",
        "v3_n_shared",
        "v3_n_routed",
        "v3_top_k",
        "v3_routed_factor",
        "v3_ffn_factor",
        "toy_routed_factor",
        "side_weight",
        "router_n_tokens",
        *(
            f"{kind}_{variant}"
            for kind in ("cv_scores", "cv_usage", "max_usage", "min_usage", "task_reward")
            for variant in ("none", "balance", "usage")
        ),
    ]
    values = {name: ex3[name] for name in scalars}
    for gating in ("topk", "dense"):
        for part in ("shared", "routed", "centroids"):
            values |= {f"norms_{gating}_{part}[{i}]": v for i, v in enumerate(ex3[f"norms_{gating}_{part}"])}
    values |= {f"scores[{i}]": v for i, v in enumerate(ex3["scores"])}
    for name, value in values.items():
        printed = tight_times(as_printed(format_number(value)))
        assert printed in text, f"{name} = {value} should read {printed!r}"
    experts = ex3["selected_experts"]
    assert f"routed to experts {experts[0]} and {experts[1]}" in pdf_text


def test_task_headings(pdf_text: str) -> None:
    """The titles (pdftotext may read a heading's number apart from it, next to a table)."""
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
