# %% [markdown]
# # Exercise 3: Mixture of experts and backpropagation
# The backward messages of sum and product nodes and the cost of dense
# gating. The cells that draw the schematic of 3(a) and those that only
# check the results are left out here, so the cell numbers skip them.

# %% Setup
import sympy

from pipeline.publish import publish, publish_formula

# %% 3(a) Layout of the schematic, in cm at the printed size
# The picture is included at scale 1, so a 9 pt label here is 9 pt on
# paper. A routed expert's product node is shifted right by one step per
# row, so that each gate line rises to its node without running through
# another node. Crossings with the expert outputs below it cannot all be
# avoided (u_t, the router and the sum all connect to every routed
# branch: a K_{3,N_r} graph, not planar for N_r >= 3); a white halo under
# each gate line marks where it passes over an edge.
SCHEMATIC_SIZES = {"n_shared": 2, "n_routed": 4, "top_k": 2}

ROW = 0.95  # distance between rows
X_BUS, X_BOX, BOX_WIDTH = 0.9, 1.6, 1.5
X_PRODUCT, PRODUCT_STEP = 6.6, 1.15
SUM_GAP = 2.6  # room between the last product node and the sum
SUM_WIDTH, OUTPUT_LENGTH = 0.4, 0.9
# Offset of a gate label's top left corner from its product node's centre.
GATE_LABEL_SHIFT, GATE_LABEL_DROP = 0.06, 0.2

TIKZ_STYLES = r"""
  >={Stealth[length=4pt]}, line width=0.6pt, font=\small,
  box/.style={draw, rounded corners=2pt, fill=white,
              minimum height=0.6cm, minimum width=%(box)scm,
              inner sep=2pt},
  product/.style={draw, circle, fill=white, minimum size=0.4cm,
                  inner sep=0pt},
  dot/.style={circle, fill, inner sep=0pt, minimum size=3.2pt},
  lab/.style={font=\footnotesize, inner sep=1.5pt},
  gate/.style={draw=gatecolour, ->,
               preaction={draw=white, line width=3pt, solid, -}},
"""
# The blue of the Okabe-Ito palette.
TIKZ_COLOURS = r"\definecolor{gatecolour}{HTML}{0072B2}"

BACKGROUND = r"\begin{scope}[on background layer]"
U = r"\mathbf{u}_t"


# %% [markdown]
# The schematic is generated from $N_s$, $N_r$ and $K_r$ as TikZ code:
# first the pieces, then the picture.


# %% 3(a) TikZ pieces: coordinates, expert names, nodes and edges
def coord(x: float, y: float) -> str:
    return f"({x:.2f},{y:.2f})"


def ffn(kind: str, i: int) -> str:
    """The LaTeX name of expert i, kind "s" (shared) or "r" (routed)."""
    return rf"\mathrm{{FFN}}^{{({kind})}}_{{{i}}}"


def node(options: str, name: str, at: str, text: str) -> str:
    """A node; `at` may be empty when the options place it (fit=...)."""
    position = f" at {at}" if at else ""
    return rf"\node[{options}] ({name}){position} {{{text}}};"


def edge(
    options: str,
    start: str,
    end: str,
    label: str = "",
    where: str = "above",
) -> str:
    """A line from start to end, with the quantity it carries beside
    it."""
    label_node = f" node[lab, {where}] {{{label}}}" if label else ""
    return rf"\draw[{options}] {start} --{label_node} {end};"


# %% 3(a) The schematic: every path of u_t, each edge with what it carries
def moe_schematic(
    n_shared: int,
    n_routed: int,
    top_k: int,
) -> tuple[str, float]:
    """TikZ for the layer of eq. (20) and its printed width in cm."""
    y_shared = [-(1 + i) * ROW for i in range(n_shared)]
    y_routed = [-(1 + n_shared + i) * ROW for i in range(n_routed)]
    y_router = y_routed[-1] - 1.35
    y_middle = y_routed[-1] / 2
    x_products = [X_PRODUCT + i * PRODUCT_STEP for i in range(n_routed)]
    x_sum = x_products[-1] + SUM_GAP
    x_out = x_sum + SUM_WIDTH + OUTPUT_LENGTH
    nodes, edges = [], []

    # Input, bus (a junction dot where each path leaves it) and the
    # residual path.
    nodes.append(node("anchor=east", "u", coord(0.05, 0), f"${U}$"))
    for y in [0, *y_shared, *y_routed, y_router]:
        nodes.append(node("dot", f"bus{y:.2f}", coord(X_BUS, y), ""))
    bus_top, bus_bottom = coord(X_BUS, 0), coord(X_BUS, y_router)
    edges.append(edge("", "(u.east)", bus_top))
    edges.append(edge("", bus_top, bus_bottom))
    residual = f"${U}$ (residual)"
    edges.append(edge("->", bus_top, coord(x_sum, 0), residual))

    # Shared experts: straight into the sum.
    for i, y in enumerate(y_shared, start=1):
        name = f"${ffn('s', i)}$"
        at = coord(X_BOX, y)
        nodes.append(node("box, anchor=west", f"s{i}", at, name))
        edges.append(edge("->", coord(X_BUS, y), f"(s{i}.west)"))
        label = f"${ffn('s', i)}({U})$"
        end = coord(x_sum, y)
        line = edge("->", f"(s{i}.east)", end, label, "above, pos=0.2")
        edges.append(line)

    # Routed experts: FFN -> product node (times the gate) -> sum.
    routed_rows = zip(y_routed, x_products, strict=True)
    for i, (y, x_p) in enumerate(routed_rows, start=1):
        name = f"${ffn('r', i)}$"
        at = coord(X_BOX, y)
        nodes.append(node("box, anchor=west", f"r{i}", at, name))
        nodes.append(node("product", f"p{i}", coord(x_p, y), r"$\times$"))
        edges.append(edge("->", coord(X_BUS, y), f"(r{i}.west)"))
        label = f"${ffn('r', i)}({U})$"
        where = "above, pos=0.35"
        line = edge("->", f"(r{i}.east)", f"(p{i}.west)", label, where)
        edges.append(line)
        label = rf"$g_{{{i},t}}\,{ffn('r', i)}({U})$"
        where = "above, pos=0.97, anchor=south east"
        end = coord(x_sum, y)
        edges.append(edge("->", f"(p{i}.east)", end, label, where))
        # The gate line rises from the Top-K_r box to the product node;
        # its label hangs right of the line, just under the node.
        gate_start = f"(topk.north -| {x_p:.2f},0)"
        edges.append(edge("gate", gate_start, f"(p{i}.south)"))
        at = coord(x_p + GATE_LABEL_SHIFT, y - GATE_LABEL_DROP)
        gate_label = "lab, anchor=north west"
        nodes.append(node(gate_label, f"g{i}", at, f"$g_{{{i},t}}$"))

    # Router: affinities, softmax, Top-K_r (as wide as the row of product
    # nodes).
    x_softmax = X_BOX + BOX_WIDTH + 1.1
    x_topk = x_products[0] - 0.35
    topk_width = x_products[-1] - x_topk + 0.35
    box = "box, anchor=west, minimum width=1.2cm"
    at = coord(X_BOX, y_router)
    nodes.append(node(box, "aff", at, "affinity"))
    at = coord(x_softmax, y_router)
    nodes.append(node(box, "soft", at, "Softmax"))
    topk_box = f"{box}, minimum width={topk_width:.2f}cm"
    at = coord(x_topk, y_router)
    topk = rf"Top-$K_r$ (eq.~21), $K_r = {top_k}$"
    nodes.append(node(topk_box, "topk", at, topk))
    router_label = rf"router $g_{{i,t}}({U})$"
    router_frame = (
        "draw=black!50, dashed, rounded corners=3pt, inner sep=4pt, "
        "fit=(aff) (soft) (topk), "
        f"label={{[lab, anchor=north east]south east:{router_label}}}"
    )
    # The centroids are the router's learned parameters: an input of the
    # affinities, from below the frame.
    centroids = r"centroids $\mathbf{e}_1,\dots,\mathbf{e}_{N_r}$ (learned)"
    at = coord(X_BOX + 0.6, y_router - 0.95)
    nodes.append(node("lab, anchor=north west, xshift=-0.6cm", "cent", at, centroids))
    edges.append(edge("->", f"({X_BOX + 0.6:.2f},{y_router - 0.95:.2f})", "(aff.south)"))
    frame = node(router_frame, "router", "", "")
    nodes += [BACKGROUND, frame, r"\end{scope}"]
    affinity = rf"${U}^{{\top}}\mathbf{{e}}_i$"
    edges.append(edge("->", coord(X_BUS, y_router), "(aff.west)"))
    edges.append(edge("->", "(aff.east)", "(soft.west)", affinity))
    edges.append(edge("->", "(soft.east)", "(topk.west)", "$s_{i,t}$"))

    # The sum node: one tall box that every term enters, and the output.
    sum_box = (
        "draw, fill=white, rounded corners=2pt, "
        f"inner sep=0pt, minimum width={SUM_WIDTH}cm, "
        f"minimum height={0.6 - y_routed[-1]:.2f}cm"
    )
    at = coord(x_sum + SUM_WIDTH / 2, y_middle)
    nodes.append(node(sum_box, "sum", at, "$+$"))
    output = coord(x_out, y_middle)
    edges.append(edge("->", "(sum.east)", output, r"$\mathbf{h}'_t$"))

    styles = TIKZ_STYLES % {"box": BOX_WIDTH}
    picture = "\n".join(
        [
            TIKZ_COLOURS,
            r"\begin{tikzpicture}[" + styles + "]",
            *nodes,
            BACKGROUND,
            *edges,
            r"\end{scope}",
            r"\end{tikzpicture}",
        ]
    )
    return picture, x_out + 0.4


# %% 3(a) Drawing it for N_s = 2, N_r = 4, K_r = 2
from pipeline.page import TEXT_WIDTH_CM
from pipeline.publish import save_tikz

schematic, schematic_width = moe_schematic(**SCHEMATIC_SIZES)
assert schematic_width <= TEXT_WIDTH_CM, f"{schematic_width:.1f} cm wide"
save_tikz(schematic, "ex3-moe-schematic")
for name, value in SCHEMATIC_SIZES.items():
    publish(f"schematic_{name}", value)
drawn = ", ".join(f"{k}={v}" for k, v in SCHEMATIC_SIZES.items())
print(f"schematic: {drawn}, about {schematic_width:.1f} cm wide")

# %% [markdown]
# In the backward pass a node $v_a$ sends each parent its adjoint
# $\bar v_a$ times the local derivative of $v_a$ by that parent.

# %% 3(c)-(d) The messages of sum and product nodes, derived
# sympy takes the local derivatives; vbar_a is the adjoint of v_a.
c, d, adjoint = sympy.symbols(r"c d \bar{v}_a")
for node_name, node_value in {"sum": c + d, "product": c * d}.items():
    for parent in (c, d):
        local = sympy.diff(node_value, parent)
        publish_formula(f"partial_{node_name}_{parent}", local)
        publish_formula(f"message_{node_name}_{parent}", adjoint * local)
        print(f"v_a = {node_value}: to {parent}: vbar_a * {local}")

# %% [markdown]
# Dense gating, $g_{i,t} = s_{i,t}$ for every routed expert, reaches all
# experts: what does it cost at the sizes of DeepSeek-V2 (as in exercise 2)?

# %% 3(f) Dense gating: every routed expert runs for every token
# DeepSeek-V2's MoE layers: N_s shared, N_r routed experts, K_r active.
# All experts are taken to be of equal size (equal compute per token).
N_S, N_R, K_R = 2, 160, 6
routed = N_R / K_R  # routed experts run per token: dense over Top-K_r
every = (N_S + N_R) / (N_S + K_R)  # all experts, the shared ones too
print(f"dense: {N_R}/{K_R} = {routed:.4g} x the routed experts,")
print(f"       {N_S + N_R}/{N_S + K_R} = {every:.4g} x all")
v2 = {"n_shared": N_S, "n_routed": N_R, "top_k": K_R}
v2 |= {"routed_factor": routed, "ffn_factor": every}
for name, value in v2.items():
    publish(f"v2_{name}", value)

# %% [markdown]
# ## Checks
# The claims of 3(e) on one token through a small layer, and the side
# losses of 3(g)-(h) on a toy router.


# %% Check of 3(e): a small layer, one token and its target
# As in DeepSeekMoE, only tiny: 2 shared and 8 routed experts, Top-2,
# token width 6, FFNs with one hidden ReLU layer of 8 units. The loss is
# L = 1/2 ||h'_t - y||^2 for a random target y, so the reverse pass
# starts from dL/dh'_t = h'_t - y.
import numpy as np

import figures_src.moe_layer as moe

LAYER = {"width": 6, "hidden": 8, "n_shared": 2, "n_routed": 8, "top_k": 2}
LAYER_SEED, FD_STEP = 3, 1e-5
rng = np.random.default_rng(LAYER_SEED)
params = moe.init_layer(rng, **LAYER)
token, target = (rng.normal(size=LAYER["width"]) for _ in "uy")
for name, value in LAYER.items():
    publish(f"layer_{name}", value)
publish("layer_seed", LAYER_SEED)
publish("fd_step", FD_STEP)


# %% Check of 3(e): the reverse pass against central differences
def gradient_check(gating: str) -> tuple[moe.MoETape, moe.MoEGrads, float]:
    """The reverse pass, and its largest relative deviation from central
    differences over all parameter arrays (and u_t) with a nonzero
    gradient; where it gives zero, the differences must be exactly zero."""
    tape = moe.moe_forward(params, token, gating)
    grads = moe.moe_backward(params, tape, tape.out - target)

    def loss() -> float:
        out = moe.moe_forward(params, token, gating).out
        return moe.squared_error(out, target)

    arrays = [*params.arrays(), token]
    numeric = moe.central_differences(loss, arrays, FD_STEP)
    errors = []
    reverse = [*grads.arrays(), grads.u]
    for exact, approximate in zip(reverse, numeric, strict=True):
        size = np.linalg.norm(exact)
        if size == 0:
            assert np.all(approximate == 0), "the reverse pass misses one"
        else:
            errors.append(np.linalg.norm(exact - approximate) / size)
    return tape, grads, max(errors)


runs = {gating: gradient_check(gating) for gating in ("topk", "dense")}
tape, grads, _ = runs["topk"]
# The differences never flip the Top-K_r: the K_r-th and (K_r+1)-th
# scores are far apart.
ranked = np.sort(tape.scores)[::-1]
assert ranked[LAYER["top_k"] - 1] - ranked[LAYER["top_k"]] > 1e3 * FD_STEP
publish("fd_error", max(error for *_, error in runs.values()))
for gating, (*_, error) in runs.items():
    print(f"{gating} gating: largest relative deviation {error:.3g}")

# %% Check of 3(e): which parameters receive gradient
# Top-K_r: the shared and the selected experts; every centroid, and an
# unselected one exactly dL/de_j = -gamma s_j u_t, gamma the sum over the
# selected k of s_k dL/ds_k. Dense gating (3(f)): every expert.
selected = np.flatnonzero(tape.mask)
gamma = float(grads.scores @ tape.scores)
unselected = np.flatnonzero(tape.mask == 0)
predicted = -gamma * np.outer(tape.scores[unselected], token)
deviation = np.abs(grads.centroids[unselected] - predicted).max()
norms = {
    gating: {
        "shared": np.array([moe.ffn_norm(f) for f in g.shared]),
        "routed": np.array([moe.ffn_norm(f) for f in g.routed]),
        "centroids": np.linalg.norm(g.centroids, axis=1),
    }
    for gating, (_, g, _) in runs.items()
}
publish("selected_experts", [int(i) + 1 for i in selected])
publish("scores", tape.scores)
publish("gamma", gamma)
publish("centroid_rule_error", deviation / np.abs(predicted).max())
for gating, parts in norms.items():
    for part, norm in parts.items():
        publish(f"norms_{gating}_{part}", norm)
print("scores s_i,t:", " ".join(f"{s:.3g}" for s in tape.scores))
print(f"Top-{LAYER['top_k']}: experts {selected + 1}")
print(f"gamma = {gamma:.3g}; dL/de_j = -gamma s_j u_t for unselected j")
for gating, parts in norms.items():
    print(f"gradient norms, {gating} gating:")
    for part, norm in parts.items():
        print(f"  {part:9}", " ".join(f"{v:.3g}" for v in norm))

# %% Check of 3(g)-(h): clustered tokens and fixed expert qualities
# Tokens from 8 clusters (plus a constant feature, so each centroid also
# acts as a bias). Token t has a fixed quality q_{i,t} for expert i, and
# the task loss is -(1/n) sum_t sum_i g_{i,t} q_{i,t}: experts 1 and 2
# are good for every token (as the early winners of a real MoE become),
# and each cluster has a specialist worth a little extra.
ROUTER = {"n_routed": 8, "top_k": 2, "width": 8, "n_tokens": 1024}
ROUTER_SEED, STEPS, LEARNING_RATE = 0, 400, 0.5
SIDE_WEIGHT = 3.0  # alpha
GENERALISTS = (1.0, 0.9)  # quality of experts 1 and 2 for every token
SPECIALIST = 0.2  # extra quality of a cluster's own expert
router_rng = np.random.default_rng(ROUTER_SEED)
n_routed, n_tokens = ROUTER["n_routed"], ROUTER["n_tokens"]
width = ROUTER["width"]
centres = 1.5 * router_rng.normal(size=(n_routed, width - 1))
cluster = router_rng.integers(0, n_routed, n_tokens)
noise = 0.5 * router_rng.normal(size=(n_tokens, width - 1))
tokens = np.hstack([centres[cluster] + noise, np.ones((n_tokens, 1))])
quality = np.zeros((n_tokens, n_routed))
quality[:, : len(GENERALISTS)] = GENERALISTS
quality[np.arange(n_tokens), cluster] += SPECIALIST
for name, value in ROUTER.items():
    publish(f"router_{name}", value)
publish("router_seed", ROUTER_SEED)
publish("router_steps", STEPS)
publish("router_lr", LEARNING_RATE)
publish("side_weight", SIDE_WEIGHT)
publish("generalists", list(GENERALISTS))
publish("specialist", SPECIALIST)


# %% Check of 3(g)-(h): routing, usage and the side losses' gradients
def route(centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The scores s_{i,t} of every token and its Top-K_r mask."""
    scores = moe.softmax(tokens @ centroids.T)
    return scores, moe.top_k_mask(scores, ROUTER["top_k"])


def usage(mask: np.ndarray) -> np.ndarray:
    """f_i = N_r / (K_r n) sum_t 1[i in the Top-K_r of token t]."""
    return n_routed / (ROUTER["top_k"] * n_tokens) * mask.sum(axis=0)


# Each side loss as its gradient dL/ds_{i,t} (an n x N_r array).
def no_side_loss(scores: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return np.zeros_like(scores)


def balance_gradient(scores: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """L_bal = N_r sum_i sbar_i^2, sbar_i = (1/n) sum_t s_{i,t}."""
    gradient = 2 * n_routed * scores.mean(axis=0) / n_tokens
    return np.broadcast_to(gradient, scores.shape)


def usage_gradient(scores: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """L_use = sum_i f_i sbar_i, the counts f_i a constant weight (they
    have no gradient)."""
    return np.broadcast_to(usage(mask) / n_tokens, scores.shape)


SIDE_LOSSES = {
    "none": no_side_loss,
    "balance": balance_gradient,
    "usage": usage_gradient,
}

# %% Check of 3(g)-(h): the centroids trained with each side loss
# Plain gradient descent on the task loss + alpha * (side loss), through
# the Top-K_r gates g = s * mask and the softmax; only the centroids move.
outcome = {}
for variant, side_gradient in SIDE_LOSSES.items():
    start = np.random.default_rng(ROUTER_SEED + 1)
    centroids = start.normal(0, 0.01, (n_routed, width))
    for _ in range(STEPS):
        scores, mask = route(centroids)
        score_grad = -mask * quality / n_tokens  # dL_task/ds
        score_grad = score_grad + SIDE_WEIGHT * side_gradient(scores, mask)
        affinity_grad = moe.softmax_backward(score_grad, scores)
        centroids -= LEARNING_RATE * affinity_grad.T @ tokens
    scores, mask = route(centroids)
    mean_scores, f = scores.mean(axis=0), usage(mask)
    outcome[variant] = {
        "mean_scores": mean_scores,
        "usage": f,
        "cv_scores": float(mean_scores.std() / mean_scores.mean()),
        "cv_usage": float(f.std() / f.mean()),
        "task_reward": float(np.sum(mask * scores * quality) / n_tokens),
    }
for variant, result in outcome.items():
    for key, value in result.items():
        publish(f"{key}_{variant}", value)
print(f"side-loss weight alpha = {SIDE_WEIGHT:.3g}")
print("side loss  CV(sbar)  CV(f)  task reward  usage f_i of experts 1-8")
for variant, result in outcome.items():
    f = " ".join(f"{v:.2f}" for v in result["usage"])
    print(
        f"{variant:9}  {result['cv_scores']:8.3g}  {result['cv_usage']:5.3g}"
        f"  {result['task_reward']:11.3g}  {f}"
    )
