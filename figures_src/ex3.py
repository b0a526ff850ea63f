# %% [markdown]
# Exercise 3: mixture of experts and backpropagation.
#
# The layer of equations (20)-(22) lives in figures_src/moe_layer.py
# (forward pass and a hand-written reverse pass, one local rule per node
# type). This notebook draws the layer, derives the adjoint messages of sum
# and product nodes, follows the gradient of one token through the layer and
# trains a toy router with the side losses of 3(g)-(h).

# %%
from collections.abc import Callable, Sequence

import numpy as np
import sympy

from figures_src.moe_layer import (
    MoEParams,
    central_differences,
    ffn_norm,
    init_layer,
    moe_backward,
    moe_forward,
    softmax,
    softmax_backward,
    squared_error,
    top_k_mask,
)
from figures_src.page import TEXT_WIDTH_CM
from figures_src.publish import new_figure, publish, publish_formula, save_figure, save_tikz
from pipeline.texify import format_number

# %% 3(a) Schematic of the MoE layer, generated from N_s, N_r and K_r
# All coordinates are in cm at the printed size: the picture is included at
# scale 1, so a 9 pt label here is a 9 pt label on paper. Rows from the top:
# the residual path, the shared experts, the routed experts; the router sits
# below them. A routed expert's product node is shifted right by one step
# per row, so that each gate line rises to its node without running through
# another node (the crossings with the expert outputs below it cannot all be
# avoided: u_t, the router and the sum all connect to every routed branch, a
# K_{3,N_r} graph, which is not planar for N_r >= 3). A white halo under
# each gate line marks where it passes over an edge.

SCHEMATIC_SIZES = {"n_shared": 2, "n_routed": 4, "top_k": 2}
GRADIENT_VIEW_SELECTION = (1, 2)  # a concrete Top-2 for the gradient view of 3(e) (0-based)

ROW = 0.85  # distance between rows
X_BUS, X_BOX, BOX_WIDTH = 0.9, 1.6, 1.5
X_PRODUCT, PRODUCT_STEP = 6.6, 0.6
SUM_GAP = 2.6  # room between the last product node and the sum, for the longest edge label
SUM_WIDTH, OUTPUT_LENGTH = 0.4, 0.9

TIKZ_STYLES = r"""
  >={Stealth[length=4pt]}, line width=0.6pt, font=\small,
  box/.style={draw, rounded corners=2pt, fill=white, minimum height=0.6cm, minimum width=%(box)scm,
              inner sep=2pt},
  product/.style={draw, circle, fill=white, minimum size=0.4cm, inner sep=0pt},
  dot/.style={circle, fill, inner sep=0pt, minimum size=3.2pt},
  lab/.style={font=\footnotesize, inner sep=1.5pt},
  gate/.style={draw=gatecolour, ->, preaction={draw=white, line width=3pt, solid, -}},
  flow/.style={draw=gradcolour, line width=1.3pt},
  stopped/.style={draw=black!35, dashed, text=black!45},
"""


U = r"\mathbf{u}_t"


def coord(x: float, y: float) -> str:
    return f"({x:.2f},{y:.2f})"


def ffn(kind: str, i: int) -> str:
    """The LaTeX name of expert i, kind "s" (shared) or "r" (routed)."""
    return rf"\mathrm{{FFN}}^{{({kind})}}_{{{i}}}"


def node(options: str, name: str, at: str, text: str) -> str:
    """A node; `at` may be empty when the options place it (fit=...)."""
    position = f" at {at}" if at else ""
    return rf"\node[{options}] ({name}){position} {{{text}}};"


def edge(options: str, start: str, end: str, label: str = "", where: str = "above") -> str:
    """A line from start to end, with the quantity it carries written beside it."""
    label_node = f" node[lab, {where}] {{{label}}}" if label else ""
    return rf"\draw[{options}] {start} --{label_node} {end};"


def moe_schematic(
    n_shared: int, n_routed: int, top_k: int, selected: Sequence[int] | None = None
) -> tuple[str, float]:
    """TikZ for the layer of eq. (20) and its printed width in cm.

    With `selected` (the Top-K of one token) the picture becomes the gradient view of 3(e):
    edges that carry an adjoint back are drawn thick in colour, the branches of unselected
    experts grey and dashed (their gate is the constant 0).
    """
    gradient_view = selected is not None
    y_shared = [-(1 + i) * ROW for i in range(n_shared)]
    y_routed = [-(1 + n_shared + i) * ROW for i in range(n_routed)]
    y_router = y_routed[-1] - 1.35
    y_middle = y_routed[-1] / 2
    x_products = [X_PRODUCT + i * PRODUCT_STEP for i in range(n_routed)]
    x_sum = x_products[-1] + SUM_GAP
    x_out = x_sum + SUM_WIDTH + OUTPUT_LENGTH

    def style(carries_gradient: bool, base: str = "") -> str:
        """The TikZ options of an edge or a box in the current view."""
        if not gradient_view:
            return base
        extra = "flow" if carries_gradient else "stopped"
        return f"{base}, {extra}" if base else extra

    arrow = style(True, "->")
    nodes, edges = [], []

    # Input, bus (a junction dot where each path leaves it) and the residual
    # path.
    nodes.append(node("anchor=east", "u", coord(0.05, 0), f"${U}$"))
    for y in [0, *y_shared, *y_routed, y_router]:
        nodes.append(node("dot", f"bus{y:.2f}", coord(X_BUS, y), ""))
    edges.append(edge(style(True), "(u.east)", coord(X_BUS, 0)))
    edges.append(edge(style(True), coord(X_BUS, 0), coord(X_BUS, y_router)))
    edges.append(edge(arrow, coord(X_BUS, 0), coord(x_sum, 0), f"${U}$ (residual)"))

    # Shared experts: straight into the sum.
    for i, y in enumerate(y_shared, start=1):
        nodes.append(node(f"box, {style(True)}, anchor=west", f"s{i}", coord(X_BOX, y), f"${ffn('s', i)}$"))
        edges.append(edge(arrow, coord(X_BUS, y), f"(s{i}.west)"))
        label = f"${ffn('s', i)}({U})$"
        edges.append(edge(arrow, f"(s{i}.east)", coord(x_sum, y), label, "above, pos=0.2"))

    # Routed experts: FFN -> product node (times the gate) -> sum.
    for i, (y, x_p) in enumerate(zip(y_routed, x_products, strict=True), start=1):
        on = not gradient_view or i - 1 in selected
        routed = style(on, "->")
        nodes.append(node(f"box, {style(on)}, anchor=west", f"r{i}", coord(X_BOX, y), f"${ffn('r', i)}$"))
        nodes.append(node(f"product, {style(on)}", f"p{i}", coord(x_p, y), r"$\times$"))
        edges.append(edge(routed, coord(X_BUS, y), f"(r{i}.west)"))
        label = f"${ffn('r', i)}({U})$"
        edges.append(edge(routed, f"(r{i}.east)", f"(p{i}.west)", label, "above, pos=0.35"))
        label = rf"$g_{{{i},t}}\,{ffn('r', i)}({U})$"
        where = "above, pos=0.97, anchor=south east"
        edges.append(edge(routed, f"(p{i}.east)", coord(x_sum, y), label, where))
        # The gate line rises from the Top-K box to the product node; its
        # label sits below.
        edges.append(edge(f"gate, {style(on)}", f"(topk.north -| {x_p:.2f},0)", f"(p{i}.south)"))
        gate = f"g_{{{i},t}}" + ("" if on else "{=}0")
        nodes.append(node("lab, anchor=west", f"g{i}", coord(x_p + 0.05, y - 0.45), f"${gate}$"))

    # Router: affinities, softmax, Top-K (as wide as the row of product
    # nodes).
    x_softmax = X_BOX + BOX_WIDTH + 1.1
    x_topk = x_products[0] - 0.35
    topk_width = x_products[-1] - x_topk + 0.35
    router_box = f"box, {style(True)}, anchor=west, minimum width=1.2cm"
    nodes.append(node(router_box, "aff", coord(X_BOX, y_router), "affinity"))
    nodes.append(node(router_box, "soft", coord(x_softmax, y_router), "Softmax"))
    topk_box = f"{router_box}, minimum width={topk_width:.2f}cm"
    nodes.append(node(topk_box, "topk", coord(x_topk, y_router), r"Top-$K_r$ (eq.~21)"))
    router_label = rf"router $g_{{i,t}}({U})$ with centroids $\mathbf{{e}}_1,\dots,\mathbf{{e}}_{{N_r}}$"
    nodes.append(
        r"\begin{scope}[on background layer]"
        + node(
            "draw=black!50, dashed, rounded corners=3pt, inner sep=4pt, fit=(aff) (soft) (topk), "
            f"label={{[lab, anchor=north west]south west:{router_label}}}",
            "router",
            "",
            "",
        )
        + r"\end{scope}"
    )
    edges.append(edge(arrow, coord(X_BUS, y_router), "(aff.west)"))
    edges.append(edge(arrow, "(aff.east)", "(soft.west)", rf"${U}^{{\top}}\mathbf{{e}}_i$"))
    edges.append(edge(arrow, "(soft.east)", "(topk.west)", "$s_{i,t}$"))

    # The sum node: one tall box that every term enters, and the output.
    sum_box = (
        f"draw, {style(True)}, fill=white, rounded corners=2pt, inner sep=0pt, "
        f"minimum width={SUM_WIDTH}cm, minimum height={0.6 - y_routed[-1]:.2f}cm"
    )
    nodes.append(node(sum_box, "sum", coord(x_sum + SUM_WIDTH / 2, y_middle), "$+$"))
    edges.append(edge(arrow, "(sum.east)", coord(x_out, y_middle), r"$\mathbf{h}'_t$"))

    colours = (
        r"\definecolor{gradcolour}{HTML}{D55E00}"  # vermillion and blue of Okabe-Ito
        r"\definecolor{gatecolour}{HTML}{0072B2}"
    )
    picture = "\n".join(
        [
            colours,
            r"\begin{tikzpicture}[" + TIKZ_STYLES % {"box": BOX_WIDTH} + "]",
            *nodes,
            r"\begin{scope}[on background layer]",
            *edges,
            r"\end{scope}",
            r"\end{tikzpicture}",
        ]
    )
    return picture, x_out + 0.4


schematic, schematic_width = moe_schematic(**SCHEMATIC_SIZES)
assert schematic_width <= TEXT_WIDTH_CM, f"the schematic is {schematic_width:.1f} cm wide"
save_tikz(schematic, "ex3-moe-schematic")
save_tikz(moe_schematic(**SCHEMATIC_SIZES, selected=GRADIENT_VIEW_SELECTION)[0], "ex3-moe-gradient")
for name, value in SCHEMATIC_SIZES.items():
    publish(f"schematic_{name}", value)
publish("gradient_view_selected", [i + 1 for i in GRADIENT_VIEW_SELECTION])
print(
    f"schematic: N_s={SCHEMATIC_SIZES['n_shared']}, N_r={SCHEMATIC_SIZES['n_routed']}, "
    f"K_r={SCHEMATIC_SIZES['top_k']}, about {schematic_width:.1f} cm wide"
)

# %% 3(b)-(d) The messages of sum and product nodes, derived
# A node v_a sends each parent p the message vbar_a ∂v_a/∂p (the parent adds
# up what its children send: that sum is the adjoint of 3(b)). sympy takes
# the local derivatives.
c, d, adjoint = sympy.symbols(r"c d \bar{v}_a")
for node_name, node in {"sum": c + d, "product": c * d}.items():
    for parent in (c, d):
        local = sympy.diff(node, parent)
        publish_formula(f"partial_{node_name}_{parent}", local)
        publish_formula(f"message_{node_name}_{parent}", adjoint * local)
        print(f"v_a = {node}: dv_a/d{parent} = {local}, message to {parent}: {adjoint * local}")

# %% 3(e) One token through the layer: gradients by the reverse pass, checked
# A layer as in DeepSeekMoE, only tiny: 2 shared and 8 routed experts,
# Top-2, d = 6, FFNs with one hidden ReLU layer of 8 units. The loss is L =
# ½ ||h'_t − y||² for a random target y; the reverse pass starts from the
# seed Lbar = 1, so hbar'_t = h'_t − y.
LAYER = {"d": 6, "hidden": 8, "n_shared": 2, "n_routed": 8, "top_k": 2}
LAYER_SEED = 3
FD_STEP = 1e-5


def example_token(seed: int) -> tuple[MoEParams, np.ndarray, np.ndarray]:
    """The layer, the token u_t and the target of 3(e), all from one seed."""
    rng = np.random.default_rng(seed)
    params = init_layer(rng, **LAYER)
    return params, rng.normal(size=LAYER["d"]), rng.normal(size=LAYER["d"])


def gradient_check(params: MoEParams, u: np.ndarray, target: np.ndarray, gating: str) -> float:
    """The largest relative error ||reverse − finite differences|| / ||reverse|| over all
    parameter arrays (and u) with a nonzero gradient; arrays whose gradient is zero must have
    finite differences that are exactly zero too."""
    tape = moe_forward(params, u, gating)
    grads = moe_backward(params, tape, tape.out - target)
    reverse = [*grads.arrays(), grads.u]
    numeric = central_differences(
        lambda: squared_error(moe_forward(params, u, gating).out, target), [*params.arrays(), u], FD_STEP
    )
    errors = []
    for exact, approximate in zip(reverse, numeric, strict=True):
        if np.linalg.norm(exact) == 0:
            assert np.all(approximate == 0), "finite differences see a gradient the reverse pass misses"
        else:
            errors.append(np.linalg.norm(exact - approximate) / np.linalg.norm(exact))
    return max(errors)


params, token, target = example_token(LAYER_SEED)
runs = {}
for gating in ("topk", "dense"):
    tape = moe_forward(params, token, gating)
    runs[gating] = (tape, moe_backward(params, tape, tape.out - target))
fd_errors = {gating: gradient_check(params, token, target, gating) for gating in runs}

tape, grads = runs["topk"]
selected = np.flatnonzero(tape.mask)
sorted_scores = np.sort(tape.scores)[::-1]
# The finite differences never flip the Top-K: the K-th and (K+1)-th scores
# are far apart.
topk_margin = sorted_scores[LAYER["top_k"] - 1] - sorted_scores[LAYER["top_k"]]
assert topk_margin > 1e3 * FD_STEP

for name, value in LAYER.items():
    publish(f"layer_{name}", value)
publish("layer_seed", LAYER_SEED)
publish("fd_step", FD_STEP)
publish("fd_error", max(fd_errors.values()))
publish("selected_experts", [int(i) + 1 for i in selected])
publish("scores", tape.scores)
print("scores s_t:", np.round(tape.scores, 3), "-> Top-2 experts", selected + 1)
print("reverse pass vs central differences, max relative error:", fd_errors)

# %% 3(e) The centroids: every e_j gets gradient through the softmax denominator
# Unselected j: sbar_j = 0, so the softmax rule gives lbar_j = s_j (0 − Σ_k
# sbar_k s_k) = −c s_j with c = Σ_{k in Top-K} sbar_k s_k, and ebar_j =
# lbar_j u_t: all unselected centroids get the same direction u_t, with a
# length proportional to their score.
c_denominator = float(grads.scores @ tape.scores)
unselected = np.flatnonzero(tape.mask == 0)
predicted = -c_denominator * np.outer(tape.scores[unselected], token)
centroid_rule_error = np.abs(grads.centroids[unselected] - predicted).max() / np.abs(predicted).max()
centroid_norms_topk = np.linalg.norm(grads.centroids, axis=1)
publish("c_denominator", c_denominator)
publish("centroid_rule_error", centroid_rule_error)
publish("min_centroid_grad_topk", centroid_norms_topk.min())
print(
    f"c = sum_k sbar_k s_k = {c_denominator:.4f}; e_bar_j = -c s_j u_t for unselected j "
    f"(max relative deviation {centroid_rule_error:.1e})"
)
print("smallest centroid gradient norm:", centroid_norms_topk.min())

# %% 3(f) Gradient norms per expert: Top-K gating against dense gating g = s


def gradient_norms(grads_run: tuple) -> dict[str, np.ndarray]:
    _, g = grads_run
    return {
        "shared": np.array([ffn_norm(f) for f in g.shared]),
        "routed": np.array([ffn_norm(f) for f in g.routed]),
        "centroids": np.linalg.norm(g.centroids, axis=1),
    }


def gradient_table(scores: np.ndarray, mask: np.ndarray, norms: dict[str, dict[str, np.ndarray]]) -> str:
    """booktabs table: one row per expert, a column group per gating."""
    rows = []
    for i in range(len(norms["topk"]["shared"])):
        cells = [f"shared {i + 1}", "--", "--"]
        for gating in ("topk", "dense"):
            cells += [format_number(norms[gating]["shared"][i]), "--"]
        rows.append(" & ".join(cells) + r" \\")
    rows.append(r"\midrule")
    for i, score in enumerate(scores):
        cells = [f"routed {i + 1}", format_number(score), r"$\checkmark$" if mask[i] else ""]
        for gating in ("topk", "dense"):
            cells += [format_number(norms[gating]["routed"][i]), format_number(norms[gating]["centroids"][i])]
        rows.append(" & ".join(cells) + r" \\")
    header = (
        r"\begin{tabular}{lcc rr rr}"
        "\n"
        r"\toprule"
        "\n"
        r" & & & \multicolumn{2}{c}{Top-$K_r$ gating, eq.~(21)} & \multicolumn{2}{c}{dense gating, 3(f)} \\"
        "\n"
        r"\cmidrule(lr){4-5}\cmidrule(lr){6-7}"
        "\n"
        r"expert $i$ & $s_{i,t}$ & in Top-$K_r$ & $\|\nabla_{\theta_i} L\|$ & $\|\nabla_{\mathbf{e}_i} L\|$"
        r" & $\|\nabla_{\theta_i} L\|$ & $\|\nabla_{\mathbf{e}_i} L\|$ \\"
        "\n"
        r"\midrule"
    )
    return header + "\n" + "\n".join(rows) + "\n" r"\bottomrule" "\n" r"\end{tabular}"


norms = {gating: gradient_norms(run) for gating, run in runs.items()}
publish("gradient_table", gradient_table(tape.scores, tape.mask, norms))
for gating in norms:
    for part, values in norms[gating].items():
        publish(f"norms_{gating}_{part}", values)
print("||grad FFN^(r)_i||, Top-K:", np.round(norms["topk"]["routed"], 4))
print("||grad FFN^(r)_i||, dense:", np.round(norms["dense"]["routed"], 4))
min_expert_grad_dense = min(norms["dense"]["shared"].min(), norms["dense"]["routed"].min())
publish("min_expert_grad_dense", min_expert_grad_dense)
print("smallest gradient norm of any expert, dense:", min_expert_grad_dense)

# %% 3(f) What dense gating costs: every routed expert runs for every token
# Sizes of DeepSeek-V3 (1 shared and 256 routed experts per MoE layer, 8 of
# them active).
V3 = {"n_shared": 1, "n_routed": 256, "top_k": 8}
routed_factor = V3["n_routed"] / V3["top_k"]
ffn_factor = (V3["n_shared"] + V3["n_routed"]) / (V3["n_shared"] + V3["top_k"])
for name, value in V3.items():
    publish(f"v3_{name}", value)
publish("v3_routed_factor", routed_factor)
publish("v3_ffn_factor", ffn_factor)
publish("toy_routed_factor", LAYER["n_routed"] / LAYER["top_k"])
print(f"DeepSeek-V3 sizes: routed-expert compute x{routed_factor:.0f}, all experts x{ffn_factor:.1f}")

# %% 3(g) A toy router that collapses, and the balance loss
# Tokens come from 8 clusters (plus a constant feature, so each centroid
# also acts as a bias). The task loss stands in for what a real MoE learns:
# each token has a fixed "quality" q_{i,t} for expert i, and the loss is
# L_task = −(1/n) Σ_t Σ_i g_{i,t} q_{i,t}. Two experts are good for every
# token (as the early winners of a real MoE become, because only chosen
# experts are trained), and each cluster has a specialist worth a little
# extra. Only the centroids are trained, by plain gradient descent through
# the Top-K gates and the softmax.
ROUTER = {"n_routed": 8, "top_k": 2, "d": 8, "n_tokens": 1024, "steps": 400, "lr": 0.5}
ROUTER_SEED = 0
SIDE_WEIGHT = 3.0
GENERALISTS = (1.0, 0.9)  # quality of experts 1 and 2 for every token
SPECIALIST = 0.2  # extra quality of a cluster's own expert


def router_data(
    rng: np.random.Generator, n_tokens: int, n_routed: int, d: int
) -> tuple[np.ndarray, np.ndarray]:
    """Clustered tokens (n, d) and the expert qualities q (n, n_routed)."""
    centres = 1.5 * rng.normal(size=(n_routed, d - 1))
    cluster = rng.integers(0, n_routed, n_tokens)
    features = centres[cluster] + 0.5 * rng.normal(size=(n_tokens, d - 1))
    tokens = np.hstack([features, np.ones((n_tokens, 1))])
    quality = np.zeros((n_tokens, n_routed))
    quality[:, : len(GENERALISTS)] = GENERALISTS
    quality[np.arange(n_tokens), cluster] += SPECIALIST
    return tokens, quality


# Each side loss returns its value and ∂/∂s_{i,t} (an (n, N_r) array).
SideLoss = Callable[[np.ndarray, np.ndarray], tuple[float, np.ndarray]]


def balance_loss(scores: np.ndarray, mask: np.ndarray) -> tuple[float, np.ndarray]:
    """3(g): L_bal = N_r Σ_i sbar_i², with sbar_i = (1/n) Σ_t s_{i,t}."""
    n_tokens, n_routed = scores.shape
    mean_scores = scores.mean(axis=0)
    gradient = np.broadcast_to(2 * n_routed * mean_scores / n_tokens, scores.shape)
    return n_routed * float(mean_scores @ mean_scores), gradient


def train_router(
    tokens: np.ndarray, quality: np.ndarray, side_loss: SideLoss | None, seed: int
) -> np.ndarray:
    """The centroids after plain gradient descent on L_task + SIDE_WEIGHT · side loss."""
    n_tokens = len(tokens)
    centroids = np.random.default_rng(seed).normal(0, 0.01, (ROUTER["n_routed"], tokens.shape[1]))
    for _ in range(ROUTER["steps"]):
        scores = softmax(tokens @ centroids.T)
        mask = top_k_mask(scores, ROUTER["top_k"])
        score_bar = -mask * quality / n_tokens  # ∂L_task/∂s = −m q / n (g = s m)
        if side_loss is not None:
            score_bar = score_bar + SIDE_WEIGHT * side_loss(scores, mask)[1]
        logit_bar = softmax_backward(score_bar, scores)
        centroids -= ROUTER["lr"] * logit_bar.T @ tokens
    return centroids


def coefficient_of_variation(values: np.ndarray) -> float:
    return float(values.std() / values.mean())


router_rng = np.random.default_rng(ROUTER_SEED)
tokens, quality = router_data(router_rng, ROUTER["n_tokens"], ROUTER["n_routed"], ROUTER["d"])

# The identity behind 3(g): L_bal = 1 + CV(sbar)^2, checked on some random
# scores.
random_scores = softmax(router_rng.normal(size=(ROUTER["n_tokens"], ROUTER["n_routed"])))
random_mean_scores = random_scores.mean(axis=0)
balance_value = balance_loss(random_scores, top_k_mask(random_scores, ROUTER["top_k"]))[0]
one_plus_cv2 = 1 + coefficient_of_variation(random_mean_scores) ** 2
assert np.isclose(balance_value, one_plus_cv2)
print(f"L_bal = {balance_value:.4f} = 1 + CV(sbar)^2 = {one_plus_cv2:.4f}")

# %% 3(h) The usage loss, and the three routers trained
# f_i counts routing slots: piecewise constant in the centroids, so it has
# no gradient and enters the usage loss as a constant weight, recomputed at
# every step.


def usage(mask: np.ndarray) -> np.ndarray:
    """f_i = N_r / (K_r n) Σ_t 1[i in Top-K of token t]: 1 for every expert under uniform usage."""
    n_tokens, n_routed = mask.shape
    top_k = int(mask[0].sum())
    return n_routed / (top_k * n_tokens) * mask.sum(axis=0)


def usage_loss(scores: np.ndarray, mask: np.ndarray) -> tuple[float, np.ndarray]:
    """3(h): L_use = Σ_i f_i sbar_i, the usage f_i a constant weight (counts have no gradient)."""
    f = usage(mask)
    return float(f @ scores.mean(axis=0)), np.broadcast_to(f / scores.shape[0], scores.shape)


VARIANTS = {"none": None, "balance": balance_loss, "usage": usage_loss}
outcome = {}
for variant, side_loss in VARIANTS.items():
    centroids = train_router(tokens, quality, side_loss, ROUTER_SEED + 1)
    scores = softmax(tokens @ centroids.T)
    mask = top_k_mask(scores, ROUTER["top_k"])
    outcome[variant] = {
        "mean_scores": scores.mean(axis=0),
        "usage": usage(mask),
        "task": float(np.mean(np.sum(mask * scores * quality, axis=1))),
    }

for name, value in ROUTER.items():
    publish(f"router_{name}", value)
publish("router_seed", ROUTER_SEED)
publish("side_weight", SIDE_WEIGHT)
publish("generalists", list(GENERALISTS))
publish("specialist", SPECIALIST)
for variant, result in outcome.items():
    publish(f"max_usage_{variant}", result["usage"].max())
    publish(f"min_usage_{variant}", result["usage"].min())
    publish(f"task_reward_{variant}", result["task"])
    publish(f"mean_scores_{variant}", result["mean_scores"])
    publish(f"usage_{variant}", result["usage"])
    cv_scores = coefficient_of_variation(result["mean_scores"])
    cv_usage = coefficient_of_variation(result["usage"])
    print(
        f"{variant:8s} N_r*s_bar = {np.round(ROUTER['n_routed'] * result['mean_scores'], 2)}  "
        f"f = {np.round(result['usage'], 2)}  CV(s_bar) = {cv_scores:.3f}  CV(f) = {cv_usage:.3f}  "
        f"task reward = {result['task']:.3f}"
    )
    publish(f"cv_scores_{variant}", cv_scores)
    publish(f"cv_usage_{variant}", cv_usage)

# %% 3(h) Figure: average scores and usage per expert, for the three routers
LABELS = {
    "none": "no side loss",
    "balance": r"$L_{\mathrm{bal}}$ of 3(g)",
    "usage": r"$L_{\mathrm{use}}$ of 3(h)",
}
COLOURS = dict(zip(VARIANTS, ("#440154", "#21918c", "#fde725"), strict=True))  # viridis ends and middle

fig = new_figure(width=1.0, aspect=0.36)
axes = fig.subplots(1, 2, sharey=True)
experts = np.arange(1, ROUTER["n_routed"] + 1)
bar_width = 0.27
panels = (
    ("mean_scores", ROUTER["n_routed"], r"$N_r\,\bar s_i$ (average score, uniform $=1$)"),
    ("usage", 1, r"usage $f_i$ (uniform $=1$)"),
)
for ax, (key, scale, label) in zip(axes, panels, strict=True):
    for offset, variant in zip((-1, 0, 1), VARIANTS, strict=True):
        ax.bar(
            experts + offset * bar_width,
            scale * outcome[variant][key],
            bar_width,
            color=COLOURS[variant],
            edgecolor="black",
            linewidth=0.3,
            label=LABELS[variant],
        )
    ax.axhline(1.0, color="black", linestyle="--", linewidth=0.7)
    ax.set_xticks(experts)
    ax.set_xlabel("routed expert $i$")
    ax.set_title(label)
axes[0].set_ylabel("value relative to uniform")
axes[1].legend(loc="upper right", frameon=False)
save_figure(fig, "ex3-side-losses")
