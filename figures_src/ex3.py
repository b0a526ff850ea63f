# %% [markdown]
# Exercise 3: mixture of experts and backpropagation.
#
# The layer of equations (20)-(22) lives in figures_src/moe_layer.py
# (forward pass and a hand-written reverse pass, one local rule per node
# type). This notebook draws the layer, derives the adjoint messages of sum
# and product nodes, follows the gradient of one token through the layer
# and trains a toy router with the side losses of 3(g)-(h).

# %%
from collections.abc import Callable, Sequence

import numpy as np
import sympy
from pylatex.utils import NoEscape

from figures_src.moe_layer import (
    MoEParams,
    MoETape,
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
from figures_src.publish import (
    new_figure,
    publish,
    publish_formula,
    save_figure,
    save_tikz,
)
from pipeline.texify import format_number


def g3(values: Sequence[float]) -> str:
    """Numbers for a cell's printout, 3 significant digits each."""
    return " ".join(f"{v:.3g}" for v in values)


# %% 3(a) Schematic of the MoE layer, generated from N_s, N_r and K_r
# All coordinates are in cm at the printed size: the picture is included
# at scale 1, so a 9 pt label here is a 9 pt label on paper. Rows from the
# top: the residual path, the shared experts, the routed experts; the
# router sits below them. A routed expert's product node is shifted right
# by one step per row, so that each gate line rises to its node without
# running through another node (the crossings with the expert outputs
# below it cannot all be avoided: u_t, the router and the sum all connect
# to every routed branch, a K_{3,N_r} graph, which is not planar for
# N_r >= 3). A white halo under each gate line marks where it passes over
# an edge. Each gate label sits right of its own line, tucked under the
# product node it feeds; the step between product nodes leaves the next
# node clear of even the widest label, "g_{i,t}=0".

SCHEMATIC_SIZES = {"n_shared": 2, "n_routed": 4, "top_k": 2}
# A concrete Top-K_r for the gradient view of 3(e) (0-based).
GRADIENT_VIEW_SELECTION = (1, 2)

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
  flow/.style={draw=gradcolour, line width=1.3pt},
  stopped/.style={draw=black!35, dashed, text=black!45},
"""
# Vermillion and blue of the Okabe-Ito palette.
TIKZ_COLOURS = (
    r"\definecolor{gradcolour}{HTML}{D55E00}"
    r"\definecolor{gatecolour}{HTML}{0072B2}"
)

BACKGROUND = r"\begin{scope}[on background layer]"
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


def moe_schematic(
    n_shared: int,
    n_routed: int,
    top_k: int,
    selected: Sequence[int] | None = None,
) -> tuple[str, float]:
    """TikZ for the layer of eq. (20) and its printed width in cm.

    With `selected` (the Top-K_r of one token) the picture becomes the
    gradient view of 3(e): edges that carry an adjoint back are drawn
    thick in colour, the branches of unselected experts grey and dashed
    (their gate is the constant 0).
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

    # Input, bus (a junction dot where each path leaves it) and the
    # residual path.
    nodes.append(node("anchor=east", "u", coord(0.05, 0), f"${U}$"))
    for y in [0, *y_shared, *y_routed, y_router]:
        nodes.append(node("dot", f"bus{y:.2f}", coord(X_BUS, y), ""))
    bus_top, bus_bottom = coord(X_BUS, 0), coord(X_BUS, y_router)
    edges.append(edge(style(True), "(u.east)", bus_top))
    edges.append(edge(style(True), bus_top, bus_bottom))
    residual = f"${U}$ (residual)"
    edges.append(edge(arrow, bus_top, coord(x_sum, 0), residual))

    # Shared experts: straight into the sum.
    for i, y in enumerate(y_shared, start=1):
        options = f"box, {style(True)}, anchor=west"
        name = f"${ffn('s', i)}$"
        nodes.append(node(options, f"s{i}", coord(X_BOX, y), name))
        edges.append(edge(arrow, coord(X_BUS, y), f"(s{i}.west)"))
        label = f"${ffn('s', i)}({U})$"
        end = coord(x_sum, y)
        line = edge(arrow, f"(s{i}.east)", end, label, "above, pos=0.2")
        edges.append(line)

    # Routed experts: FFN -> product node (times the gate) -> sum.
    routed_rows = zip(y_routed, x_products, strict=True)
    for i, (y, x_p) in enumerate(routed_rows, start=1):
        on = not gradient_view or i - 1 in selected
        routed = style(on, "->")
        options = f"box, {style(on)}, anchor=west"
        name = f"${ffn('r', i)}$"
        nodes.append(node(options, f"r{i}", coord(X_BOX, y), name))
        product = f"product, {style(on)}"
        nodes.append(node(product, f"p{i}", coord(x_p, y), r"$\times$"))
        edges.append(edge(routed, coord(X_BUS, y), f"(r{i}.west)"))
        label = f"${ffn('r', i)}({U})$"
        where = "above, pos=0.35"
        line = edge(routed, f"(r{i}.east)", f"(p{i}.west)", label, where)
        edges.append(line)
        label = rf"$g_{{{i},t}}\,{ffn('r', i)}({U})$"
        where = "above, pos=0.97, anchor=south east"
        end = coord(x_sum, y)
        edges.append(edge(routed, f"(p{i}.east)", end, label, where))
        # The gate line rises from the Top-K_r box to the product node;
        # its label hangs right of the line, just under the node.
        gate_start = f"(topk.north -| {x_p:.2f},0)"
        gate_line = edge(f"gate, {style(on)}", gate_start, f"(p{i}.south)")
        edges.append(gate_line)
        gate = f"g_{{{i},t}}" + ("" if on else "{=}0")
        at = coord(x_p + GATE_LABEL_SHIFT, y - GATE_LABEL_DROP)
        gate_label = "lab, anchor=north west"
        nodes.append(node(gate_label, f"g{i}", at, f"${gate}$"))

    # Router: affinities, softmax, Top-K_r (as wide as the row of product
    # nodes).
    x_softmax = X_BOX + BOX_WIDTH + 1.1
    x_topk = x_products[0] - 0.35
    topk_width = x_products[-1] - x_topk + 0.35
    box = f"box, {style(True)}, anchor=west, minimum width=1.2cm"
    at = coord(X_BOX, y_router)
    nodes.append(node(box, "aff", at, "affinity"))
    at = coord(x_softmax, y_router)
    nodes.append(node(box, "soft", at, "Softmax"))
    topk_box = f"{box}, minimum width={topk_width:.2f}cm"
    at = coord(x_topk, y_router)
    nodes.append(node(topk_box, "topk", at, r"Top-$K_r$ (eq.~21)"))
    router_label = (
        rf"router $g_{{i,t}}({U})$ with centroids "
        r"$\mathbf{e}_1,\dots,\mathbf{e}_{N_r}$"
    )
    router_frame = (
        "draw=black!50, dashed, rounded corners=3pt, inner sep=4pt, "
        "fit=(aff) (soft) (topk), "
        f"label={{[lab, anchor=north west]south west:{router_label}}}"
    )
    frame = node(router_frame, "router", "", "")
    nodes += [BACKGROUND, frame, r"\end{scope}"]
    affinity = rf"${U}^{{\top}}\mathbf{{e}}_i$"
    edges.append(edge(arrow, coord(X_BUS, y_router), "(aff.west)"))
    edges.append(edge(arrow, "(aff.east)", "(soft.west)", affinity))
    edges.append(edge(arrow, "(soft.east)", "(topk.west)", "$s_{i,t}$"))

    # The sum node: one tall box that every term enters, and the output.
    sum_box = (
        f"draw, {style(True)}, fill=white, rounded corners=2pt, "
        f"inner sep=0pt, minimum width={SUM_WIDTH}cm, "
        f"minimum height={0.6 - y_routed[-1]:.2f}cm"
    )
    at = coord(x_sum + SUM_WIDTH / 2, y_middle)
    nodes.append(node(sum_box, "sum", at, "$+$"))
    output = coord(x_out, y_middle)
    edges.append(edge(arrow, "(sum.east)", output, r"$\mathbf{h}'_t$"))

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


schematic, schematic_width = moe_schematic(**SCHEMATIC_SIZES)
assert schematic_width <= TEXT_WIDTH_CM, f"{schematic_width:.1f} cm wide"
save_tikz(schematic, "ex3-moe-schematic")
selection = GRADIENT_VIEW_SELECTION
gradient_picture, _ = moe_schematic(**SCHEMATIC_SIZES, selected=selection)
save_tikz(gradient_picture, "ex3-moe-gradient")
for name, value in SCHEMATIC_SIZES.items():
    publish(f"schematic_{name}", value)
view_selected = [i + 1 for i in GRADIENT_VIEW_SELECTION]
publish("gradient_view_selected", view_selected)
drawn = ", ".join(f"{k}={v}" for k, v in SCHEMATIC_SIZES.items())
print(f"schematic: {drawn}, about {schematic_width:.1f} cm wide")
print(f"gradient view: Top-K_r = experts {view_selected}")

# %% 3(b)-(d) The messages of sum and product nodes, derived
# A node v_a sends each parent p the message vbar_a dv_a/dp (the parent
# adds up what its children send: that sum is the adjoint of 3(b)). sympy
# takes the local derivatives. The template gets their LaTeX; the
# printout shows them as plain text, the adjoint named vbar_a.
c, d, adjoint = sympy.symbols(r"c d \bar{v}_a")
plain = {adjoint: sympy.Symbol("vbar_a")}
MESSAGE_COLUMNS = {"node": 9, "v_a": 7, "parent p": 10, "dv_a/dp": 9}


def message_row(cells: Sequence[object]) -> str:
    """One row of the printed table: fixed-width columns, then the
    message."""
    *fixed, message = (sympy.sstr(cell) for cell in cells)
    widths = MESSAGE_COLUMNS.values()
    padded = (f"{cell:<{w}}" for cell, w in zip(fixed, widths, strict=True))
    return "".join(padded) + message


print("vbar_a: the adjoint of node v_a, as in 3(b)")
print(message_row([*MESSAGE_COLUMNS, "message vbar_a * dv_a/dp"]))
for node_name, node_value in {"sum": c + d, "product": c * d}.items():
    for parent in (c, d):
        local = sympy.diff(node_value, parent)
        message = adjoint * local
        publish_formula(f"partial_{node_name}_{parent}", local)
        publish_formula(f"message_{node_name}_{parent}", message)
        cells = (node_name, node_value, parent, local, message.subs(plain))
        print(message_row(cells))

# %% 3(e) One token through the layer: gradients by the reverse pass
# A layer as in DeepSeekMoE, only tiny: 2 shared and 8 routed experts,
# Top-2, token width m = 6, FFNs with one hidden ReLU layer of 8 units.
# The loss is L = 1/2 ||h'_t - y||^2 for a random target y; the reverse
# pass starts from the seed Lbar = 1, so hbar'_t = h'_t - y.
LAYER = {"width": 6, "hidden": 8, "n_shared": 2, "n_routed": 8, "top_k": 2}
LAYER_SEED = 3
FD_STEP = 1e-5


def example_token(seed: int) -> tuple[MoEParams, np.ndarray, np.ndarray]:
    """The layer, the token u_t and the target of 3(e), from one seed."""
    rng = np.random.default_rng(seed)
    params = init_layer(rng, **LAYER)
    width = LAYER["width"]
    return params, rng.normal(size=width), rng.normal(size=width)


def gradient_check(
    params: MoEParams,
    u: np.ndarray,
    target: np.ndarray,
    gating: str,
) -> float:
    """The largest relative error ||reverse - finite differences|| /
    ||reverse|| over all parameter arrays (and u) with a nonzero
    gradient; arrays whose gradient is zero must have finite differences
    that are exactly zero too."""
    tape = moe_forward(params, u, gating)
    grads = moe_backward(params, tape, tape.out - target)
    reverse = [*grads.arrays(), grads.u]

    def loss() -> float:
        return squared_error(moe_forward(params, u, gating).out, target)

    arrays = [*params.arrays(), u]
    numeric = central_differences(loss, arrays, FD_STEP)
    errors = []
    for exact, approximate in zip(reverse, numeric, strict=True):
        if np.linalg.norm(exact) == 0:
            missed = "finite differences see a gradient the reverse misses"
            assert np.all(approximate == 0), missed
        else:
            error = np.linalg.norm(exact - approximate)
            errors.append(error / np.linalg.norm(exact))
    return max(errors)


params, token, target = example_token(LAYER_SEED)
runs = {}
for gating in ("topk", "dense"):
    tape = moe_forward(params, token, gating)
    runs[gating] = (tape, moe_backward(params, tape, tape.out - target))
fd_errors = {g: gradient_check(params, token, target, g) for g in runs}

tape, grads = runs["topk"]
selected = np.flatnonzero(tape.mask)
sorted_scores = np.sort(tape.scores)[::-1]
# The finite differences never flip the Top-K_r: the K_r-th and
# (K_r+1)-th scores are far apart.
top_k = LAYER["top_k"]
topk_margin = sorted_scores[top_k - 1] - sorted_scores[top_k]
assert topk_margin > 1e3 * FD_STEP

for name, value in LAYER.items():
    publish(f"layer_{name}", value)
publish("layer_seed", LAYER_SEED)
publish("fd_step", FD_STEP)
publish("fd_error", max(fd_errors.values()))
publish("selected_experts", [int(i) + 1 for i in selected])
publish("scores", tape.scores)
print("layer:", ", ".join(f"{k}={v}" for k, v in LAYER.items()))
print("scores s_t:", g3(tape.scores))
print(f"Top-{top_k} experts: {selected + 1}")
print(f"central differences, step {FD_STEP:.3g}; largest relative error:")
for gating, error in fd_errors.items():
    print(f"  {gating} gating: {error:.3g}")

# %% 3(e) The centroids: every e_j gets gradient through the softmax
# Unselected j: sbar_j = 0, so the softmax rule gives
# lbar_j = s_j (0 - sum_k sbar_k s_k) = -c s_j with
# c = sum_{k in Top-K_r} sbar_k s_k, and ebar_j = lbar_j u_t: all
# unselected centroids get the same direction u_t, with a length
# proportional to their score.
c_denominator = float(grads.scores @ tape.scores)
unselected = np.flatnonzero(tape.mask == 0)
predicted = -c_denominator * np.outer(tape.scores[unselected], token)
deviation = np.abs(grads.centroids[unselected] - predicted).max()
centroid_rule_error = deviation / np.abs(predicted).max()
centroid_norms_topk = np.linalg.norm(grads.centroids, axis=1)
publish("c_denominator", c_denominator)
publish("centroid_rule_error", centroid_rule_error)
publish("min_centroid_grad_topk", centroid_norms_topk.min())
print(f"c = sum_k sbar_k s_k = {c_denominator:.3g}")
print("ebar_j = -c s_j u_t for every unselected j, up to a relative")
print(f"deviation of at most {centroid_rule_error:.3g}")
print(f"smallest centroid gradient norm: {centroid_norms_topk.min():.3g}")

# %% 3(e) Gradient norms per expert, Top-K_r gating and dense gating g = s
# The table of 3(e), whose right half is the evidence for 3(f).
GATINGS = ("topk", "dense")
PARTS = ("shared", "routed", "centroids")


def gradient_norms(tape_and_grads: tuple) -> dict[str, np.ndarray]:
    _, g = tape_and_grads
    return {
        "shared": np.array([ffn_norm(f) for f in g.shared]),
        "routed": np.array([ffn_norm(f) for f in g.routed]),
        "centroids": np.linalg.norm(g.centroids, axis=1),
    }


Row = tuple[str, list[float | None], str]


def norm_rows(
    tape: MoETape,
    norms: dict[str, dict[str, np.ndarray]],
) -> dict[str, list[Row]]:
    """Per kind of expert, one row per expert: its name; its score and
    the norms of its parameters' and its centroid's gradient under each
    gating (None where there is no such quantity); whether it is in the
    Top-K_r ("yes", "no", or "--" for a shared expert)."""
    shared = []
    for i in range(LAYER["n_shared"]):
        values = [None]
        for gating in GATINGS:
            values += [norms[gating]["shared"][i], None]
        shared.append((f"shared {i + 1}", values, "--"))
    routed = []
    for i, score in enumerate(tape.scores):
        values = [score]
        for gating in GATINGS:
            values += [norms[gating][part][i] for part in PARTS[1:]]
        chosen = "yes" if tape.mask[i] else "no"
        routed.append((f"routed {i + 1}", values, chosen))
    return {"shared": shared, "routed": routed}


def latex_cell(value: float | None) -> str:
    return "--" if value is None else format_number(value, trailing_zeros=True)


def gradient_table(rows: dict[str, list[Row]]) -> NoEscape:
    """booktabs table: one row per expert, a column group per gating;
    every number through format_number."""
    ticks = {"yes": r"$\checkmark$", "no": "", "--": "--"}
    body = []
    for kind in ("shared", "routed"):
        for name, values, chosen in rows[kind]:
            cells = [latex_cell(v) for v in values]
            cells.insert(1, ticks[chosen])
            body.append(" & ".join([name, *cells]) + r" \\")
        body.append(r"\midrule")
    theta = r"$\|\nabla_{\boldsymbol{\theta}_i} L\|$"
    centroid = r"$\|\nabla_{\mathbf{e}_i} L\|$"
    header = [
        r"\begin{tabular}{lcc rr rr}",
        r"\toprule",
        r" & & & \multicolumn{2}{c}{Top-$K_r$ gating, eq.~(21)}"
        r" & \multicolumn{2}{c}{dense gating, 3(f)} \\",
        r"\cmidrule(lr){4-5}\cmidrule(lr){6-7}",
        rf"expert $i$ & $s_{{i,t}}$ & in Top-$K_r$ & {theta} & {centroid}"
        rf" & {theta} & {centroid} \\",
        r"\midrule",
    ]
    footer = [r"\bottomrule", r"\end{tabular}"]
    return NoEscape("\n".join(header + body[:-1] + footer))


def print_rows(rows: dict[str, list[Row]]) -> None:
    """The table as the cell's output, 3 significant digits."""
    print("gradient norms (theta_i: all parameters of expert i)")
    groups = ("Top-K_r gating", "dense gating")
    print(" " * 20 + "".join(f"{g:^22}" for g in groups))
    columns = ("s_i,t", "|theta_i|", "|e_i|", "|theta_i|", "|e_i|")
    header = "".join(f"{c:>11}" for c in columns)
    print(f"{'expert':9}{header}  in Top-K_r")
    for name, values, chosen in rows["shared"] + rows["routed"]:
        cells = [f"{v:.3g}" if v is not None else "--" for v in values]
        line = "".join(f"{c:>11}" for c in cells)
        print(f"{name:9}{line}  {chosen}")


norms = {gating: gradient_norms(run) for gating, run in runs.items()}
rows = norm_rows(tape, norms)
publish("gradient_table", gradient_table(rows))
for gating in norms:
    for part, values in norms[gating].items():
        publish(f"norms_{gating}_{part}", values)
print_rows(rows)
dense = norms["dense"]
min_expert_grad_dense = min(dense["shared"].min(), dense["routed"].min())
publish("min_expert_grad_dense", min_expert_grad_dense)
print(f"smallest expert gradient norm, dense: {min_expert_grad_dense:.3g}")

# %% 3(f) What dense gating costs: every routed expert runs for every token
# Sizes of DeepSeek-V3 (1 shared and 256 routed experts per MoE layer, 8
# of them active).
V3 = {"n_shared": 1, "n_routed": 256, "top_k": 8}
routed_factor = V3["n_routed"] / V3["top_k"]
all_experts = V3["n_shared"] + V3["n_routed"]
ffn_factor = all_experts / (V3["n_shared"] + V3["top_k"])
toy_routed_factor = LAYER["n_routed"] / LAYER["top_k"]
for name, value in V3.items():
    publish(f"v3_{name}", value)
publish("v3_routed_factor", routed_factor)
publish("v3_ffn_factor", ffn_factor)
publish("toy_routed_factor", toy_routed_factor)
print("DeepSeek-V3:", ", ".join(f"{k}={v}" for k, v in V3.items()))
print(f"dense gating: routed-expert compute x{routed_factor:.3g}")
print(f"              all experts' compute  x{ffn_factor:.3g}")
print(f"toy layer of 3(e): routed-expert compute x{toy_routed_factor:.3g}")

# %% 3(g) A toy router that collapses, and the balance loss
# Tokens come from 8 clusters (plus a constant feature, so each centroid
# also acts as a bias). The task loss stands in for what a real MoE
# learns: each token has a fixed "quality" q_{i,t} for expert i, and the
# loss is L_task = -(1/n) sum_t sum_i g_{i,t} q_{i,t}. Two experts are
# good for every token (as the early winners of a real MoE become,
# because only chosen experts are trained), and each cluster has a
# specialist worth a little extra. Only the centroids are trained, by
# plain gradient descent through the Top-K_r gates and the softmax, on
# L_task + alpha * (side loss), the same weight alpha for either side
# loss.
ROUTER = {
    "n_routed": 8,
    "top_k": 2,
    "width": 8,
    "n_tokens": 1024,
    "steps": 400,
    "lr": 0.5,
}
ROUTER_SEED = 0
SIDE_WEIGHT = 3.0  # alpha
GENERALISTS = (1.0, 0.9)  # quality of experts 1 and 2 for every token
SPECIALIST = 0.2  # extra quality of a cluster's own expert


def router_data(
    rng: np.random.Generator,
    n_tokens: int,
    n_routed: int,
    width: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Clustered tokens (n, width) and the expert qualities q
    (n, n_routed)."""
    centres = 1.5 * rng.normal(size=(n_routed, width - 1))
    cluster = rng.integers(0, n_routed, n_tokens)
    noise = 0.5 * rng.normal(size=(n_tokens, width - 1))
    tokens = np.hstack([centres[cluster] + noise, np.ones((n_tokens, 1))])
    quality = np.zeros((n_tokens, n_routed))
    quality[:, : len(GENERALISTS)] = GENERALISTS
    quality[np.arange(n_tokens), cluster] += SPECIALIST
    return tokens, quality


# Each side loss returns its value and d/ds_{i,t} (an (n, N_r) array).
SideLoss = Callable[[np.ndarray, np.ndarray], tuple[float, np.ndarray]]


def balance_loss(
    scores: np.ndarray,
    mask: np.ndarray,
) -> tuple[float, np.ndarray]:
    """3(g): L_bal = N_r sum_i sbar_i^2, sbar_i = (1/n) sum_t s_{i,t}."""
    n_tokens, n_routed = scores.shape
    mean_scores = scores.mean(axis=0)
    gradient = 2 * n_routed * mean_scores / n_tokens
    value = n_routed * float(mean_scores @ mean_scores)
    return value, np.broadcast_to(gradient, scores.shape)


def route(centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The scores s_{i,t} of every token and its Top-K_r mask."""
    scores = softmax(tokens @ centroids.T)
    return scores, top_k_mask(scores, ROUTER["top_k"])


def train_router(side_loss: SideLoss | None) -> np.ndarray:
    """The centroids after gradient descent on L_task + alpha * side
    loss."""
    rng = np.random.default_rng(ROUTER_SEED + 1)
    shape = (ROUTER["n_routed"], ROUTER["width"])
    centroids = rng.normal(0, 0.01, shape)
    for _ in range(ROUTER["steps"]):
        scores, mask = route(centroids)
        # dL_task/ds = -mask q / n (the gate is g = s * mask).
        score_bar = -mask * quality / len(tokens)
        if side_loss is not None:
            side_bar = side_loss(scores, mask)[1]
            score_bar = score_bar + SIDE_WEIGHT * side_bar
        logit_bar = softmax_backward(score_bar, scores)
        centroids -= ROUTER["lr"] * logit_bar.T @ tokens
    return centroids


def coefficient_of_variation(values: np.ndarray) -> float:
    return float(values.std() / values.mean())


router_rng = np.random.default_rng(ROUTER_SEED)
data_sizes = (ROUTER["n_tokens"], ROUTER["n_routed"], ROUTER["width"])
tokens, quality = router_data(router_rng, *data_sizes)
print("toy router:", ", ".join(f"{k}={v}" for k, v in ROUTER.items()))
print(f"side-loss weight alpha = {SIDE_WEIGHT:.3g}")

trained = {
    "none": train_router(None),
    "balance": train_router(balance_loss),
}
n_routed = ROUTER["n_routed"]
for variant, centroids in trained.items():
    mean_scores = route(centroids)[0].mean(axis=0)
    cv = coefficient_of_variation(mean_scores)
    print(f"{variant}: N_r*sbar_i = {g3(n_routed * mean_scores)}")
    print(f"{'':{len(variant)}}  CV(sbar) = {cv:.3g}")

# Without a side loss the router collapses onto the generalists: the
# other experts' average scores are too small to show as bars.
collapsed = n_routed * route(trained["none"])[0].mean(axis=0)
collapsed_max = collapsed[len(GENERALISTS) :].max()
publish("collapsed_max_score", collapsed_max)
others = f"experts {len(GENERALISTS) + 1}-{n_routed}"
print(f"none: {others} have N_r*sbar_i <= {collapsed_max:.3g}")

# The identity behind 3(g): L_bal = 1 + CV(sbar)^2, on random scores.
random_logits = router_rng.normal(size=(ROUTER["n_tokens"], n_routed))
random_scores = softmax(random_logits)
random_mask = top_k_mask(random_scores, ROUTER["top_k"])
balance_value = balance_loss(random_scores, random_mask)[0]
random_cv = coefficient_of_variation(random_scores.mean(axis=0))
one_plus_cv2 = 1 + random_cv**2
assert np.isclose(balance_value, one_plus_cv2)
print(f"L_bal = {balance_value:.6g} = 1 + CV(sbar)^2 = {one_plus_cv2:.6g}")

# %% 3(h) The usage loss, and the three routers compared
# f_i counts routing slots: piecewise constant in the centroids, so it
# has no gradient and enters the usage loss as a constant weight,
# recomputed at every step.


def usage(mask: np.ndarray) -> np.ndarray:
    """f_i = N_r / (K_r n) sum_t 1[i in Top-K_r of token t]: 1 for every
    expert under uniform usage."""
    n_tokens, n_routed = mask.shape
    top_k = int(mask[0].sum())
    return n_routed / (top_k * n_tokens) * mask.sum(axis=0)


def usage_loss(
    scores: np.ndarray,
    mask: np.ndarray,
) -> tuple[float, np.ndarray]:
    """3(h): L_use = sum_i f_i sbar_i, the usage f_i a constant weight
    (counts have no gradient)."""
    f = usage(mask)
    gradient = np.broadcast_to(f / scores.shape[0], scores.shape)
    return float(f @ scores.mean(axis=0)), gradient


trained["usage"] = train_router(usage_loss)
outcome = {}
for variant, centroids in trained.items():
    scores, mask = route(centroids)
    mean_scores, f = scores.mean(axis=0), usage(mask)
    reward = np.sum(mask * scores * quality, axis=1)
    outcome[variant] = {
        "mean_scores": mean_scores,
        "usage": f,
        "task_reward": float(np.mean(reward)),
        "cv_scores": coefficient_of_variation(mean_scores),
        "cv_usage": coefficient_of_variation(f),
    }

for name, value in ROUTER.items():
    publish(f"router_{name}", value)
publish("router_seed", ROUTER_SEED)
publish("side_weight", SIDE_WEIGHT)
publish("generalists", list(GENERALISTS))
publish("specialist", SPECIALIST)
for variant, result in outcome.items():
    for key, value in result.items():
        publish(f"{key}_{variant}", value)
    publish(f"max_usage_{variant}", result["usage"].max())
    publish(f"min_usage_{variant}", result["usage"].min())

print(f"all side losses weighted by alpha = {SIDE_WEIGHT:.3g}")
usage_run = outcome["usage"]
print(f"usage: N_r*sbar_i = {g3(n_routed * usage_run['mean_scores'])}")
print("side loss   CV(sbar)  CV(f)    usage range f_i    task reward")
for variant, result in outcome.items():
    low, high = result["usage"].min(), result["usage"].max()
    usage_range = f"[{low:.3g}, {high:.3g}]"
    print(
        f"{variant:10}  {result['cv_scores']:<8.3g}  "
        f"{result['cv_usage']:<7.3g}  {usage_range:17}  "
        f"{result['task_reward']:.3g}"
    )
for variant, result in outcome.items():
    print(f"f_i, {variant + ':':8} {g3(result['usage'])}")

# %% 3(h) Figure: average scores and usage per expert, three routers
LABELS = {
    "none": "no side loss",
    "balance": r"$L_{\mathrm{bal}}$ of 3(g)",
    "usage": r"$L_{\mathrm{use}}$ of 3(h)",
}
VIRIDIS_ENDS_AND_MIDDLE = ("#440154", "#21918c", "#fde725")
BAR_COLOURS = dict(zip(trained, VIRIDIS_ENDS_AND_MIDDLE, strict=True))

fig = new_figure(width=1.0, aspect=0.36)
axes = fig.subplots(1, 2, sharey=True)
experts = np.arange(1, n_routed + 1)
bar_width = 0.27
panels = (
    (
        "mean_scores",
        n_routed,
        r"average score $N_r\,\bar s_i$ (uniform: 1)",
    ),
    ("usage", 1, r"usage $f_i$ (uniform: 1)"),
)
for ax, (key, scale, title) in zip(axes, panels, strict=True):
    for offset, variant in zip((-1, 0, 1), trained, strict=True):
        ax.bar(
            experts + offset * bar_width,
            scale * outcome[variant][key],
            bar_width,
            color=BAR_COLOURS[variant],
            edgecolor="black",
            linewidth=0.3,
            label=LABELS[variant],
        )
    ax.axhline(1.0, color="black", linestyle="--", linewidth=0.7)
    ax.set_xticks(experts)
    ax.set_xlabel("routed expert $i$")
    ax.set_title(title)
axes[0].set_ylabel("value relative to uniform")
axes[1].legend(loc="upper right", frameon=False)
save_figure(fig, "ex3-side-losses")
