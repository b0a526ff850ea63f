"""Exercise 3 (mixture of experts and backpropagation): the claims of the
answers checked numerically (the reverse pass, which experts get gradient,
the side losses), and every value they quote recomputed or taken from the
sheet and the papers, and found in the PDF in the sentence that says what
it is, and in the printed output of the cells they cite.

The test writes its own forward pass of eqs. (20)-(22) (every expert
evaluated, the gate a plain `where`), takes central finite differences of
it over one flat parameter vector and compares them with the hand-written
reverse pass of figures_src/moe_layer.py. The toy router of 3(g)-(h) is
retrained by a second implementation that differentiates the losses
through the softmax Jacobian matrix of each token.

Expected text is written here: numbers by `reads` (tests/sheet/quoting.py)
from this file's recomputation or from the givens (DeepSeek-V2's sizes),
formulas as pdftotext reads them, and each is looked for with the words
around it (`says`), so a value in the wrong sentence or two values swapped
fail.
"""

import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
import sympy
from conftest import pdf_to_text

from figures_src.moe_layer import (
    MoEParams,
    init_layer,
    moe_backward,
    moe_forward,
    softmax_backward,
)
from pipeline.paths import PROJECT
from tests.sheet.quoting import MINUS, reads, says

FIGURES = PROJECT.figures
STEP = 1e-5
VARIANTS = ("none", "balance", "usage")
PER_VARIANT = ("mean_scores", "usage", "cv_scores", "cv_usage", "task_reward")
# DeepSeek-V2's MoE layers (DeepSeek-AI, 2024): 2 shared and 160 routed
# experts, 6 of them active per token.
V2_SHARED, V2_ROUTED, V2_ACTIVE = 2, 160, 6
# The task titles as the PDF prints them, in order.
TITLES = {
    "a": "Schematic of the MoE layer",
    "b": "The adjoint",
    "c": "Backward message of a sum node",
    "d": "Backward message of a product node",
    "e": "Which experts receive gradient",
    "f": "A gating that reaches every expert",
    "g": "A side loss for balanced average scores (bonus)",
    "h": "A side loss that balances expert usage (bonus)",
}
# How pdftotext reads the adjoint \bar{v}_a: v, a combining macron, a.
ADJOINT = "v\u0304a"
# The local derivatives of v_a by its parents c and d, and the messages
# v_a sends them, as the PDF reads them: (sum node, product node).
LOCAL = {"sum": {"c": "1", "d": "1"}, "product": {"c": "d", "d": "c"}}
MESSAGE = {
    "sum": {"c": ADJOINT, "d": ADJOINT},
    "product": {"c": f"{ADJOINT} d", "d": f"{ADJOINT} c"},
}
# What the cell deriving them prints, one line per message: the sum
# node's for 3(c), the product node's for 3(d).
MESSAGE_LINES = {
    "c": ("v_a = c + d: to c: vbar_a * 1", "v_a = c + d: to d: vbar_a * 1"),
    "d": ("v_a = c*d: to c: vbar_a * d", "v_a = c*d: to d: vbar_a * c"),
}
CODEREF = re.compile(r"\(code: cell ([A-Z]\.\d+), p\. (\d+)\)")
NEXT_CELL = re.compile(r"Cell [A-Z]\.\d+ ")
SECTION = "Mixture of experts and backpropagation"


@pytest.fixture(scope="module")
def ex3(results: dict[str, dict]) -> dict:
    return results["ex3"]


@pytest.fixture(scope="module")
def cells(built_pdf: Path) -> list[dict]:
    return json.loads(PROJECT.results_of("ex3").read_text(encoding="utf-8"))["cells"]


@pytest.fixture(scope="module")
def answers(pdf_text: str) -> str:
    """The text of exercise 3's answers, up to the appendix."""
    start = pdf_text.index(SECTION)
    return pdf_text[start : pdf_text.index("Code and output", start)]


@pytest.fixture(scope="module")
def typeset_answers(built_pdf: Path) -> str:
    """Exercise 3's answers in the order pdftotext finds them typeset, which
    keeps a display formula's pieces in reading order (a fraction's
    numerator before its denominator; \\x10 and \\x11 are the big
    parentheses)."""
    text = pdf_to_text(built_pdf, raw=True)
    start = text.index(SECTION)
    return text[start : text.index("Code and output", start)]


@pytest.fixture(scope="module")
def appendix(pdf_text: str) -> str:
    """Exercise 3's part of the appendix: its cells and their output."""
    start = pdf_text.index(SECTION, pdf_text.index("Code and output"))
    return pdf_text[start:]


def task(answers: str, letter: str) -> str:
    """The text of one task, from its title to the next task's (or the
    references)."""
    letters = list(TITLES)
    start = answers.index(TITLES[letter])
    following = letters[letters.index(letter) + 1 :]
    end = answers.index(TITLES[following[0]], start) if following else answers.index("References", start)
    return answers[start:end]


def cited_cell(answers: str, appendix: str, letter: str, built_pdf: Path) -> str:
    """The cell that task `letter` cites, as the appendix prints it (code
    and output, up to the next cell); the page the citation names must
    show it."""
    cited = CODEREF.findall(task(answers, letter))
    assert len(cited) == 1, f"3({letter}) should cite one cell, cites {cited}"
    label, page = cited[0]
    on_page = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-f", page, "-l", page, str(built_pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"Cell {label}" in on_page, f"3({letter}) cites cell {label} on p. {page}, which does not show it"
    start = appendix.index(f"Cell {label} ")
    following = NEXT_CELL.search(appendix, start + 1)
    return appendix[start : following.start() if following else len(appendix)]


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


def router_scores(params: MoEParams, u: np.ndarray) -> np.ndarray:
    """s_i = Softmax_i(u^T e_i), eq. (22)."""
    logits = params.centroids @ u
    return np.exp(logits - np.logaddexp.reduce(logits))


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


def test_published_scores_and_selected_experts_and_who_gets_gradient(token_run: dict, ex3: dict) -> None:
    """The published scores and Top-K_r against this file's softmax; by
    finite differences of the reference loss, Top-K_r gives gradient to
    every shared expert, the selected routed ones only and every centroid,
    dense gating to every expert; the reverse pass leaves the unselected
    experts at exactly zero."""
    params, u = token_run["params"], token_run["u"]
    top_k = ex3["layer_top_k"]
    scores = router_scores(params, u)
    chosen = set(np.argsort(scores)[-top_k:])
    np.testing.assert_allclose(ex3["scores"], scores, rtol=1e-12)
    assert ex3["selected_experts"] == [i + 1 for i in sorted(chosen)]
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
    assert np.all(dense["centroids"] > 1e-6)


def test_unselected_centroids_get_gradient_along_the_token(
    token_run: dict,
    ex3: dict,
    typeset_answers: str,
) -> None:
    """3(e): dL/de_j = -gamma s_j u for every unselected j, with
    gamma = sum_{k selected} s_k dL/dg_k, as the answer writes it: the
    published gamma, and the finite differences of the reference loss,
    nonzero."""
    says(
        task(typeset_answers, "e"),
        "∂L ∂ej = sj,t \x10 ∂L ∂sj,t − γt \x11 ut, γt = X k∈Top-Kr sk,t ∂L ∂sk,t , "
        "so an unselected j, with ∂L/∂sj,t = 0, still receives −γtsj,tut",
    )
    params, u = token_run["params"], token_run["u"]
    scores = router_scores(params, u)
    selected = np.argsort(scores)[-ex3["layer_top_k"] :]
    gates = np.zeros_like(scores)
    gates[selected] = scores[selected]
    shared = sum(relu_net(e, u) for e in params.shared)
    routed = sum(g * relu_net(e, u) for g, e in zip(gates, params.routed, strict=True))
    out_bar = u + shared + routed - token_run["target"]
    gamma = sum(scores[k] * float(out_bar @ relu_net(params.routed[k], u)) for k in selected)
    assert ex3["gamma"] == pytest.approx(gamma, rel=1e-10)
    vectors = blocks(token_run["topk"]["numeric"], params)["centroid_vectors"]
    for j in set(range(len(scores))) - set(selected):
        expected = -gamma * scores[j] * u
        np.testing.assert_allclose(vectors[j], expected, rtol=1e-5)
        assert np.linalg.norm(vectors[j]) > 1e-4
    assert 0 <= ex3["centroid_rule_error"] < 1e-12


def test_published_gradient_norms_match_finite_differences(token_run: dict, ex3: dict) -> None:
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


# 3(c)-(d): the messages of sum and product nodes


def test_published_messages_are_the_local_derivatives_times_the_adjoint(ex3: dict) -> None:
    """The published LaTeX of d(c + d)/dc = 1, d(cd)/dc = d, ... and of
    the messages vbar_a times them, against expressions written here."""
    c, d, adjoint = sympy.symbols(r"c d \bar{v}_a")
    expected = {
        "sum": {c: sympy.Integer(1), d: sympy.Integer(1)},
        "product": {c: d, d: c},
    }
    for node, parents in expected.items():
        for parent, local in parents.items():
            assert ex3[f"partial_{node}_{parent}"] == sympy.latex(local)
            assert ex3[f"message_{node}_{parent}"] == sympy.latex(adjoint * local)


def test_pdf_gives_the_sum_nodes_derivatives_and_messages(answers: str) -> None:
    """3(c): dv_a/dc = 1 and dv_a/dd = 1, so v_a sends vbar_a to each
    parent, as pdftotext reads the formulas (the citation between them
    left out)."""
    text = task(answers, "c")
    local, message = LOCAL["sum"], MESSAGE["sum"]
    says(text, f"As ∂va /∂c = {local['c']} and ∂va /∂d = {local['d']} (")
    says(text, f"va sends {message['c']} to c and {message['d']} to d: its own adjoint, unchanged")


def test_pdf_gives_the_product_nodes_derivatives_and_messages(answers: str) -> None:
    """3(d): dv_a/dc = d and dv_a/dd = c, so v_a sends vbar_a d to c and
    vbar_a c to d: each factor to the other's parent, never swapped."""
    text = task(answers, "d")
    local, message = LOCAL["product"], MESSAGE["product"]
    says(text, f"with parents c and d, ∂va /∂c = {local['c']} and ∂va /∂d = {local['d']} (")
    says(text, f"so va sends {message['c']} to c and {message['d']} to d: each parent receives")
    says(text, "If one factor is 0, the other receives exactly 0.")


def test_cited_cells_of_3c_and_3d_print_their_nodes_messages(
    answers: str, appendix: str, built_pdf: Path
) -> None:
    """The cell that 3(c) cites prints the sum node's two messages, the
    one 3(d) cites the product node's, in the appendix of the PDF."""
    for letter, lines in MESSAGE_LINES.items():
        says(cited_cell(answers, appendix, letter, built_pdf), " ".join(lines))


# 3(f): the cost of dense gating at DeepSeek-V2's sizes


def test_published_dense_gating_cost_is_deepseek_v2s(ex3: dict) -> None:
    """The sizes are DeepSeek-V2's, N_r / K_r = 160/6 and
    (N_s + N_r) / (N_s + K_r) = 162/8."""
    sizes = (ex3["v2_n_shared"], ex3["v2_n_routed"], ex3["v2_top_k"])
    assert sizes == (V2_SHARED, V2_ROUTED, V2_ACTIVE)
    assert ex3["v2_routed_factor"] == pytest.approx(V2_ROUTED / V2_ACTIVE, rel=1e-12)
    every = (V2_SHARED + V2_ROUTED) / (V2_SHARED + V2_ACTIVE)
    assert ex3["v2_ffn_factor"] == pytest.approx(every, rel=1e-12)


def test_pdf_quotes_deepseek_v2_sizes_and_the_two_cost_factors(answers: str) -> None:
    """3(f): N_s = 2, N_r = 160, K_r = 6, then 160/6 = 26.7 times the
    routed-expert compute and 162/8 = 20.25, which a reader rounds to
    20.3, times that of all experts, each in its place."""
    routed = V2_ROUTED / V2_ACTIVE
    every = (V2_SHARED + V2_ROUTED) / (V2_SHARED + V2_ACTIVE)
    says(
        task(answers, "f"),
        f"Ns = {reads(V2_SHARED)}, Nr = {reads(V2_ROUTED)} and Kr = {reads(V2_ACTIVE)} (as in exercise 2), "
        f"assuming experts of equal size, that is {reads(routed)} times the routed-expert compute, "
        f"or {reads(every)} times that of all experts",
    )


def test_cited_cell_of_3f_holds_the_sizes_and_prints_both_factors_as_fractions(
    answers: str, appendix: str, built_pdf: Path
) -> None:
    """The cell prints 160/6 and 162/8 to four digits (26.67, 20.25), so the answer's
    26.7 and 20.3 read as their roundings."""
    cell = cited_cell(answers, appendix, "f", built_pdf)
    says(cell, f"N_S, N_R, K_R = {V2_SHARED}, {V2_ROUTED}, {V2_ACTIVE}")
    routed = V2_ROUTED / V2_ACTIVE
    every = (V2_SHARED + V2_ROUTED) / (V2_SHARED + V2_ACTIVE)
    says(
        cell,
        f"dense: {V2_ROUTED}/{V2_ACTIVE} = {reads(routed, 4)} x the routed experts, "
        f"{V2_SHARED + V2_ROUTED}/{V2_SHARED + V2_ACTIVE} = {reads(every, 4)} x all",
    )


def test_only_3c_3d_and_3f_cite_a_cell_and_the_appendix_leaves_out_the_rest(
    answers: str, appendix: str
) -> None:
    """The answers cite the cells whose formulas (3(c)-(d)) and numbers
    (3(f)) they quote, and no other; the schematic's generator and the
    checks stay out of the appendix."""
    citing = {letter for letter in TITLES if CODEREF.search(task(answers, letter))}
    assert citing == {"c", "d", "f"}
    for left_out in ("def moe_schematic", "save_tikz", "Check of", "def gradient_check"):
        assert left_out not in appendix, left_out


def test_cell_outputs_show_no_unrounded_floats(cells: list[dict]) -> None:
    everything = "".join(c["output"] for c in cells)
    assert "np.float64" not in everything
    assert not re.search(r"\d\.\d{7,}", everything), "unrounded floats"


# 3(a): the schematic


def test_schematic_draws_every_path_for_the_published_sizes(ex3: dict) -> None:
    """Exactly N_s shared and N_r routed experts, each routed one with its
    gate and product node, and the labels of the router and the sum."""
    n_shared = ex3["schematic_n_shared"]
    n_routed = ex3["schematic_n_routed"]
    forward = (FIGURES / "ex3-moe-schematic.tex").read_text(encoding="utf-8")
    u = r"(\mathbf{u}_t)"
    for kind, count in (("s", n_shared), ("r", n_routed)):
        drawn = re.findall(rf"\\mathrm{{FFN}}\^{{\({kind}\)}}_{{(\d+)}}", forward)
        assert {int(i) for i in drawn} == set(range(1, count + 1)), kind
    gated = re.findall(r"g_\{(\d+),t\}\\,\\mathrm\{FFN\}\^\{\(r\)\}_\{(\d+)\}" + re.escape(u), forward)
    assert gated == [(str(i), str(i)) for i in range(1, n_routed + 1)]
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


def test_pdf_quotes_the_schematic_sizes_in_text_caption_and_figure(answers: str, ex3: dict) -> None:
    """3(a): N_s, N_r and K_r of the drawn schematic in the sentence, in
    the caption and in the figure's Top-K_r box, whose gate labels run
    g_1,t to g_Nr,t."""
    shared, routed, top_k = (reads(ex3[f"schematic_{k}"]) for k in ("n_shared", "n_routed", "top_k"))
    text = task(answers, "a")
    says(
        text,
        f"draws equation (20) for Ns = {shared} shared and Nr = {routed} routed experts with Kr = {top_k}.",
    )
    says(text, f"The MoE layer of eq. (20) with Ns = {shared}, Nr = {routed}, Kr = {top_k}. Every edge")
    says(text, f"Top-Kr (eq. 21), Kr = {top_k} router")
    gates = {int(i) for i in re.findall(r"\bg(\d+),t\b", text)}
    assert gates == set(range(1, ex3["schematic_n_routed"] + 1))


# 3(g)-(h): the side losses; the toy router, retrained by a second
# implementation


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


def test_toy_router_retrained_gives_the_published_outcomes_and_their_claims(ex3: dict) -> None:
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


def test_published_router_outcomes_have_balance_loss_one_plus_cv_squared(
    ex3: dict, typeset_answers: str
) -> None:
    """3(g): L_bal = N_r sum_i sbar_i^2 = 1 + CV^2(sbar), CV with the
    population standard deviation, as the answer writes it: the published
    average scores sum to 1 and the published CV is the one of this
    identity."""
    says(task(typeset_answers, "g"), "Lbal = Nr Nr X i=1 s\u03042 i = 1 + CV2 (s\u0304) and CV is")
    says(
        task(typeset_answers, "g"),
        "their population standard deviation (normalised by Nr) over their mean 1/Nr",
    )
    for variant in VARIANTS:
        mean_scores = np.array(ex3[f"mean_scores_{variant}"])
        assert mean_scores.sum() == pytest.approx(1, abs=1e-12)
        balance = len(mean_scores) * np.sum(mean_scores**2)
        assert balance == pytest.approx(1 + ex3[f"cv_scores_{variant}"] ** 2, rel=1e-9), variant


def test_published_router_outcomes_have_usage_loss_one_plus_covariance(
    ex3: dict, typeset_answers: str
) -> None:
    """3(h): sum_i f_i = N_r, and L_use = sum_i f_i sbar_i = 1 + N_r
    Cov_i(f_i, sbar_i) for the published outcomes, as the answer writes
    it; without a side loss the most used experts also score highest and
    L_use exceeds 1, while some outcome with unequal usage lies below 1:
    uniform usage is no minimum."""
    says(
        task(typeset_answers, "h"),
        "not a minimum of Luse = 1 + Nr Covi(fi, s\u0304i) (the fi average 1, the s\u0304i average 1/Nr), "
        "which exceeds 1 when the most used experts also have the highest scores.",
    )
    losses = {}
    for variant in VARIANTS:
        f = np.array(ex3[f"usage_{variant}"])
        mean_scores = np.array(ex3[f"mean_scores_{variant}"])
        n_routed = len(f)
        assert f.sum() == pytest.approx(n_routed, rel=1e-12)
        cov = np.mean((f - f.mean()) * (mean_scores - mean_scores.mean()))
        losses[variant] = float(f @ mean_scores)
        assert losses[variant] == pytest.approx(1 + n_routed * cov, rel=1e-9)
    usage_none = np.array(ex3["usage_none"])
    scores_none = np.array(ex3["mean_scores_none"])
    assert np.argmax(usage_none) == np.argmax(scores_none)
    assert losses["none"] > 1
    assert min(losses.values()) < 1


def test_pdf_example_of_3h_balanced_scores_with_one_winner(answers: str) -> None:
    """3(h): every token scores expert 1 with 1/N_r + eps, expert N_r with
    1/N_r - eps, the others with 1/N_r. Recomputed for N_r = 8: L_bal is
    1 to the digit the answer gives, and Top-1 sends every token to expert
    1, as the answer says."""
    n_routed, n_tokens, eps = 8, 100, 1e-3
    token = np.full(n_routed, 1 / n_routed)
    token[0] += eps
    token[-1] -= eps
    scores = np.tile(token, (n_tokens, 1))
    mean_scores = scores.mean(axis=0)
    balance = n_routed * np.sum(mean_scores**2)
    (winner,) = set(np.argmax(scores, axis=1) + 1)
    says(
        task(answers, "h"),
        f"If every token scores expert {winner} with 1/Nr + ε, expert Nr with 1/Nr {MINUS} ε "
        f"and the others with 1/Nr , then s\u0304 is balanced up to ε and Lbal ≈ {reads(balance, 1)}, "
        f"yet with Kr = 1 every token goes to expert {winner}.",
    )


def softmax_rows(logits: np.ndarray) -> np.ndarray:
    return np.exp(logits - np.logaddexp.reduce(logits, axis=1)[:, None])


def test_side_loss_gradients_match_finite_differences_and_softmax_backward(typeset_answers: str) -> None:
    """3(g)-(h): dL/dl_{j,t} = (c/n) s_{j,t} (w_j - sum_k s_{k,t} w_k)
    with w = sbar (L_bal, c = 2 N_r) or w = f (L_use, c = 1), the
    answers' formulas, checked by finite differences; moe_layer's
    softmax_backward, which trains the notebook's toy router, gives the
    same from dL/ds."""
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
    by_scores = {
        balance: np.broadcast_to(2 * n_routed * mean / n, S.shape),
        use: np.broadcast_to(f / n, S.shape),
    }
    for loss, gradient in closed.items():
        numeric = np.zeros_like(logits)
        for index in np.ndindex(logits.shape):
            up, down = logits.copy(), logits.copy()
            up[index] += STEP
            down[index] -= STEP
            numeric[index] = (loss(up) - loss(down)) / (2 * STEP)
        np.testing.assert_allclose(gradient, numeric, atol=1e-9)
        np.testing.assert_allclose(softmax_backward(by_scores[loss], S), numeric, atol=1e-9)
    says(
        task(typeset_answers, "g"),
        "∂Lbal ∂(u⊤ t ej) = 2Nr n sj,t \x10 s\u0304j − Nr X k=1 sk,t s\u0304k \x11 : each token",
    )
    says(
        task(typeset_answers, "h"), "∂Luse ∂(u⊤ t ej) = 1 n sj,t \x10 fj − Nr X k=1 sk,t fk \x11 . Each token"
    )


# Notation and headings


def test_notation_is_one_throughout_the_answers(answers: str) -> None:
    """Top-K_r written one way; figures named in full; the bar marks the
    adjoint of a node v (3(b)-(d)) and the average score (3(g)-(h)), never
    a gradient of the scores (3(e))."""
    assert not re.search(r"Top-[kK](?!r)|Top-1|Fig\.", answers)
    assert re.search(r"Figure \d+ draws equation \(20\)", answers)
    says(task(answers, "b"), "L depends on va only through its children vb , b ∈ C(a), so by")
    barred = set(re.findall(r"(\w)\u0304", answers))
    assert barred == {"v", "s"}, barred
    assert "\u0304" not in task(answers, "e")


def test_task_titles_appear_in_order(answers: str) -> None:
    """The titles, in the order of the tasks (pdftotext may read a
    heading's number apart from it)."""
    places = [answers.index(title) for title in TITLES.values()]
    assert places == sorted(places)
