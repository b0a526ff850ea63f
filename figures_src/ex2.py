# %% [markdown]
# # Exercise 2: Multi-Head Latent Attention
#
# MLA caches only the latent z_t = C x_t (l numbers per token) and
# decompresses keys and values with k_t = D^K z_t and v_t = D^V z_t. The
# cells below back the three answers: 2(a) the variant W^K D z is the same
# model with more parameters and compute, 2(b) the best linear compression
# is PCA, and 2(c) the decompressed key carries no more information than
# z_t, while D^K and D^V can be absorbed into the query and the output. In
# code the sheet's latent size l is called `ell`.

# %%
from collections.abc import Callable

import numpy as np
from pylatex import Tabular
from pylatex.utils import NoEscape

from figures_src.latent_attention import synthetic_inputs
from figures_src.publish import new_figure, publish, save_figure
from pipeline.texify import format_number

Array = np.ndarray
# (p, l) of a small model and of a DeepSeek-V2-like one
SIZES = [(1024, 128), (5120, 512)]


def gaussian(rng: np.random.Generator, rows: int, cols: int) -> Array:
    """A rows x cols matrix with N(0, 1/cols) entries (keeps unit scale)."""
    return rng.standard_normal((rows, cols)) / np.sqrt(cols)


def max_abs_difference(a: Array, b: Array) -> float:
    return float(np.max(np.abs(a - b)))


# A table row: label, formula, and the value as a function of (p, l).
Row = tuple[str, str, Callable[[int, int], float]]


def size_table(rows: list[Row], rule_after: set[int]) -> Tabular:
    """Booktabs table: per quantity its formula and its value for SIZES."""
    table = Tabular("ll" + "r" * len(SIZES), booktabs=True)
    sizes = [rf"$p = {format_number(p)},\ l = {ell}$" for p, ell in SIZES]
    table.add_row([NoEscape(cell) for cell in ["", "formula", *sizes]])
    table.add_hline()
    for index, (label, formula, value) in enumerate(rows):
        values = [format_number(value(p, ell)) for p, ell in SIZES]
        table.add_row([NoEscape(c) for c in [label, formula, *values]])
        if index in rule_after:
            table.add_hline()
    return table


# %% 2(a) The variant's W^K D is one p x l matrix
# W^K (D z) multiplies z by the p x l matrix D, then by the p x p matrix
# W^K; by associativity this is (W^K D) z, one p x l matrix of rank <= l:
# a D^K in disguise.
rng = np.random.default_rng(20)
p, ell = SIZES[0]
n_tokens = 256
C, D = gaussian(rng, ell, p), gaussian(rng, p, ell)
W_K, W_V = gaussian(rng, p, p), gaussian(rng, p, p)
# latents z_t of n_tokens inputs, one per column
Z = C @ gaussian(rng, p, n_tokens)

D_K, D_V = W_K @ D, W_V @ D  # the single matrices MLA learns instead
difference_a = max(
    max_abs_difference(W_K @ (D @ Z), D_K @ Z),
    max_abs_difference(W_V @ (D @ Z), D_V @ Z),
)

# The factorisation is not identifiable: D is shared by keys and values,
# so any invertible A (here a random one) gives another triple
# (W^K A, W^V A, A^{-1} D) with the same products W^K D and W^V D: a
# p^2-dimensional family of equivalent optima.
A = np.eye(p) + gaussian(rng, p, p)
A_inv_D = np.linalg.solve(A, D)
difference_reparametrised = max(
    max_abs_difference((W_K @ A) @ A_inv_D, D_K),
    max_abs_difference((W_V @ A) @ A_inv_D, D_V),
)

rank_WD = np.linalg.matrix_rank(D_K)
print(f"p = {p}, l = {ell}, {n_tokens} latents: rank(W^K D) = {rank_WD}")
print(f"max |W^K (D z) - (W^K D) z| (keys, values): {difference_a:.3g}")
reparametrised = f"{difference_reparametrised:.3g}"
print(f"max |(W A)(A^-1 D) - W D| (W = W^K, W^V): {reparametrised}")
publish("a_p", p)
publish("a_l", ell)
publish("a_tokens", n_tokens)
publish("a_rank_WD", rank_WD)
publish("a_difference", difference_a)
publish("a_difference_reparametrised", difference_reparametrised)


# %% 2(a) Parameters and compute of both forms
# Counts follow from the matrices' shapes. A matrix-vector product costs
# one multiply-add per matrix entry: MLA decompresses with two of them
# (D^K z, D^V z), the variant with three (D z, then W^K and W^V on it).
def entries(*shapes: tuple[int, int]) -> int:
    return sum(rows * cols for rows, cols in shapes)


def mla_parameters(p: int, ell: int) -> int:
    return entries((ell, p), (p, ell), (p, ell))  # C, D^K, D^V


def variant_parameters(p: int, ell: int) -> int:
    return entries((ell, p), (p, ell), (p, p), (p, p))  # C, D, W^K, W^V


def mla_macs(p: int, ell: int) -> int:
    return entries((p, ell), (p, ell))  # D^K z, D^V z


def variant_macs(p: int, ell: int) -> int:
    return entries((p, ell), (p, p), (p, p))  # D z, then W^K and W^V


def parameter_ratio(p: int, ell: int) -> float:
    return variant_parameters(p, ell) / mla_parameters(p, ell)


def macs_ratio(p: int, ell: int) -> float:
    return variant_macs(p, ell) / mla_macs(p, ell)


rows_a: list[Row] = [
    (r"parameters, MLA ($C, D^K, D^V$)", "$3pl$", mla_parameters),
    (
        r"parameters, variant ($C, D, W^K, W^V$)",
        "$2pl + 2p^2$",
        variant_parameters,
    ),
    ("ratio variant / MLA", "", parameter_ratio),
    ("multiply-adds per token, MLA", "$2pl$", mla_macs),
    ("multiply-adds per token, variant", "$pl + 2p^2$", variant_macs),
    ("ratio variant / MLA", "", macs_ratio),
]
publish("table_a", size_table(rows_a, rule_after={2}))
publish("a_param_ratios", [parameter_ratio(*size) for size in SIZES])
for size in SIZES:
    print(f"p = {size[0]}, l = {size[1]}:")
    for name, mla, variant, ratio in [
        ("parameters", mla_parameters, variant_parameters, parameter_ratio),
        ("multiply-adds", mla_macs, variant_macs, macs_ratio),
    ]:
        counts = f"MLA {mla(*size):>9,}, variant {variant(*size):>10,}"
        print(f"  {name:>13}: {counts}, ratio {ratio(*size):.3g}")

# %% 2(b) Synthetic inputs and the PCA optimum
# Objective: min over C, D of (1/n) sum_t ||x_t - D C x_t||^2, a linear
# autoencoder. Its optimum (Eckart-Young applied to S^{1/2}) is D = U_l,
# C = U_l^T with U_l the top-l eigenvectors of the second-moment matrix
# S = (1/n) sum_t x_t x_t^T; the error is the sum of the discarded
# eigenvalues. We check this on seeded inputs with a decaying spectrum.
P_B, N_B, SPECTRUM_SCALE, SEED_B = 64, 4000, 10.0, 2
X = synthetic_inputs(P_B, N_B, SPECTRUM_SCALE, SEED_B)
S = X @ X.T / N_B
eigenvalues, eigenvectors = np.linalg.eigh(S)
# eigh sorts ascending; we want the largest first
eigenvalues, eigenvectors = eigenvalues[::-1], eigenvectors[:, ::-1]
latent_dims = np.arange(1, P_B)


def reconstruction_error(X: Array, C: Array, D: Array) -> float:
    """(1/n) sum_t ||x_t - D C x_t||^2, on the inputs themselves."""
    return float(np.mean(np.sum((X - D @ (C @ X)) ** 2, axis=0)))


def pca_codec(ell: int) -> tuple[Array, Array]:
    """The optimal (C, D) for latent size l: onto the top-l eigenvectors
    and back."""
    U_l = eigenvectors[:, :ell]
    return U_l.T, U_l


pca_codecs = [pca_codec(ell) for ell in latent_dims]
pca_errors = np.array([reconstruction_error(X, *cd) for cd in pca_codecs])
discarded = np.array([eigenvalues[ell:].sum() for ell in latent_dims])
difference_b = max_abs_difference(pca_errors, discarded)
top, bottom = eigenvalues[0], eigenvalues[-1]
print(f"p = {P_B}, n = {N_B}, variances exp(-i/{SPECTRUM_SCALE:g})")
print(f"eigenvalues of S: {top:.3f} ... {bottom:.4f}")
print(f"max_l |PCA error - discarded eigenvalues| = {difference_b:.3g}")
publish("b_p", P_B)
publish("b_n", N_B)
publish("b_scale", SPECTRUM_SCALE)
publish("b_seed", SEED_B)
publish("b_difference", difference_b)
publish("b_latent_dims", latent_dims)
publish("b_pca_errors", pca_errors)
publish("b_discarded", discarded)


# %% 2(b) Random compressions and gradient descent do not beat it
# For a fixed C the best decoder is the least-squares fit of x on z = C x,
# D = S C^T (C S C^T)^{-1}. A random C with its best D is the baseline;
# gradient descent on both (full batch, from a small random start)
# approaches PCA but never beats it.
def error_from_moments(C: Array, D: Array) -> float:
    """The same error written with S, tr((I - DC) S (I - DC)^T): cheap
    for many (C, D)."""
    residual = np.eye(len(S)) - D @ C
    return float(np.trace(residual @ S @ residual.T))


def best_decoder(C: Array) -> Array:
    return np.linalg.solve(C @ S @ C.T, C @ S).T


def train_codec(
    ell: int,
    rng: np.random.Generator,
    steps: int,
    rate: float,
) -> tuple[Array, Array]:
    """Gradient descent on the reconstruction error. With R = I - DC the
    gradients are -2 R S C^T for D and -2 D^T R S for C."""
    C = 0.1 * rng.standard_normal((ell, len(S)))
    D = 0.1 * rng.standard_normal((len(S), ell))
    for _ in range(steps):
        residual_S = (np.eye(len(S)) - D @ C) @ S
        step_C, step_D = D.T @ residual_S, residual_S @ C.T
        C, D = C + 2 * rate * step_C, D + 2 * rate * step_D
    return C, D


def draw_errors(ell: int, rng: np.random.Generator) -> list[float]:
    """Errors of RANDOM_DRAWS random l x p encoders C, each with best D."""
    encoders = rng.standard_normal((RANDOM_DRAWS, ell, P_B))
    return [error_from_moments(C, best_decoder(C)) for C in encoders]


rng = np.random.default_rng(21)
RANDOM_DRAWS = 20
random_errors = np.array([draw_errors(ell, rng) for ell in latent_dims])
TRAINED_DIMS, STEPS = [1, 2, 4, 8, 16, 24, 32, 48], 4000
RATE = 0.3 / eigenvalues[0]  # small enough for stable steps
codecs = [train_codec(ell, rng, STEPS, RATE) for ell in TRAINED_DIMS]
trained_errors = np.array([reconstruction_error(X, *cd) for cd in codecs])

random_excess = random_errors.min(axis=1) / pca_errors - 1
trained_excess = trained_errors / pca_errors[np.array(TRAINED_DIMS) - 1] - 1
worst = TRAINED_DIMS[int(np.argmax(trained_excess))]
least = 100 * random_excess.min()
low, high = trained_excess.min(), 100 * trained_excess.max()
print("relative error above PCA's:")
print(f"  random C, best D ({RANDOM_DRAWS} draws per l): >= {least:.3g}%")
print(f"  gradient descent ({STEPS} steps): >= {low:.3g},")
print(f"    <= {high:.3g}% (at l = {worst})")
publish("b_random_draws", RANDOM_DRAWS)
publish("b_random_errors", random_errors)
publish("b_random_excess_min_percent", 100 * random_excess.min())
publish("b_trained_dims", TRAINED_DIMS)
publish("b_trained_errors", trained_errors)
publish("b_steps", STEPS)
publish("b_trained_excess_min", trained_excess.min())
publish("b_trained_excess_max_percent", 100 * trained_excess.max())
publish("b_trained_worst_dim", worst)

# %% 2(b) Reconstruction error against l
fig = new_figure(width=0.8, aspect=0.5)
ax = fig.add_subplot()
# The band spans all random draws, the line is their median.
ax.fill_between(
    latent_dims,
    random_errors.min(axis=1),
    random_errors.max(axis=1),
    color="C1",
    alpha=0.25,
    lw=0,
)
ax.plot(
    latent_dims,
    np.median(random_errors, axis=1),
    color="C1",
    label=f"random $C$, best $D$ ({RANDOM_DRAWS} draws)",
)
ax.plot(
    latent_dims,
    pca_errors,
    color="C0",
    label=r"PCA: $D = U_l$, $C = U_l^\top$",
)
ax.plot(
    latent_dims[::3],
    discarded[::3],
    "o",
    color="C0",
    markerfacecolor="none",
    markersize=4,
    label=r"$\lambda_{l+1} + \dots + \lambda_p$ (discarded eigenvalues)",
)
ax.plot(
    TRAINED_DIMS,
    trained_errors,
    "x",
    color="k",
    markersize=5,
    label=f"gradient descent ({STEPS} steps)",
)
ax.set_yscale("log")
ax.set_xlabel("latent dimension $l$")
ax.set_ylabel(r"mean of $\|\mathbf{x}_t - DC\mathbf{x}_t\|^2$ over $t$")
ax.set_xlim(0, P_B)
ax.legend(frameon=False)
save_figure(fig, "ex2-pca")

# %% 2(c) Decompressed keys have rank l
# k_t = D^K z_t lies in the column space of D^K, an l-dimensional subspace
# of R^p: the p x n matrix of decompressed keys has rank l although the
# inputs have rank p. And z_t = (D^K)^+ k_t recovers the latent exactly:
# k_t and z_t carry the same information.
rng = np.random.default_rng(22)
P_C, L_C, HEADS, N_C = 256, 64, 8, 512
C = gaussian(rng, L_C, P_C)
D_K, D_V = gaussian(rng, P_C, L_C), gaussian(rng, P_C, L_C)
X_c = rng.standard_normal((P_C, N_C))
Z_c = C @ X_c
K_hat = D_K @ Z_c
difference_recovered = max_abs_difference(np.linalg.pinv(D_K) @ K_hat, Z_c)
rank_inputs = np.linalg.matrix_rank(X_c)
rank_keys = np.linalg.matrix_rank(K_hat)
print(f"p = {P_C}, l = {L_C}, n = {N_C} tokens")
print(f"rank of the inputs {rank_inputs}, of the keys D^K z_t {rank_keys}")
print(f"max |(D^K)^+ k_t - z_t| = {difference_recovered:.3g}")
publish("c_p", P_C)
publish("c_l", L_C)
publish("c_n", N_C)
publish("c_rank_inputs", rank_inputs)
publish("c_rank_keys", rank_keys)
publish("c_difference_recovered", difference_recovered)

fig = new_figure(width=0.6, aspect=0.6)
ax = fig.add_subplot()
index = np.arange(1, P_C + 1)
for matrix, label in [
    (X_c, r"inputs $\mathbf{x}_t$"),
    (K_hat, r"decompressed keys $D^K\mathbf{z}_t$"),
]:
    ax.semilogy(index, np.linalg.svd(matrix, compute_uv=False), label=label)
ax.axvline(L_C, color="0.5", linestyle="--", linewidth=0.8)
ax.annotate(
    f"$l = {L_C}$",
    (L_C, 1e-8),
    xytext=(4, 0),
    textcoords="offset points",
    color="0.3",
)
ax.set_xlabel("index $i$")
ax.set_ylabel(r"singular value $s_i$")
ax.legend(frameon=False)
save_figure(fig, "ex2-rank")

# %% 2(c) Attention straight on the latents: D^K, D^V absorbed
# Per head h, with q_h = W^Q_h x:
#   q_h^T (D^K_h z_t) = ((D^K_h)^T W^Q_h x)^T z_t,
#   W^O_h sum_t a_t D^V_h z_t = (W^O_h D^V_h) sum_t a_t z_t.
# So decompressed MLA is multi-head attention run directly on the cached
# z_t, with an l x p query map and a p x l output map per head; both are
# products of rank <= d_h: a low-rank parameterisation, no new power.
d_head = P_C // HEADS
# the rows of q, k and v that belong to each head
head_rows = np.split(np.arange(P_C), HEADS)
W_Q, W_O = gaussian(rng, P_C, P_C), gaussian(rng, P_C, P_C)
# 16 new tokens attending to the cache
inputs = rng.standard_normal((P_C, 16))
# per head: (D^K_h)^T W^Q_h (l x p) and W^O_h D^V_h (p x l)
latent_query_maps = [D_K[h].T @ W_Q[h] for h in head_rows]
latent_output_maps = [W_O[:, h] @ D_V[h] for h in head_rows]


def softmax(scores: Array) -> Array:
    """Softmax over the cached tokens (axis 0), one column per query."""
    weights = np.exp(scores - scores.max(axis=0))
    return weights / weights.sum(axis=0)


def attention_decompressed(inputs: Array, Z: Array) -> Array:
    """Multi-head attention on keys and values decompressed to p dims."""
    queries, keys, values = W_Q @ inputs, D_K @ Z, D_V @ Z
    heads = []
    for h in head_rows:
        weights = softmax(keys[h].T @ queries[h] / np.sqrt(d_head))
        heads.append(values[h] @ weights)
    return W_O @ np.vstack(heads)


def attention_on_latents(inputs: Array, Z: Array) -> Array:
    """Multi-head attention on the l-dimensional latents only: one
    query map and one output map per head, no k_t or v_t formed."""
    output = np.zeros((P_C, inputs.shape[1]))
    maps = zip(latent_query_maps, latent_output_maps, strict=True)
    for query_map, output_map in maps:
        weights = softmax(Z.T @ (query_map @ inputs) / np.sqrt(d_head))
        output += output_map @ (Z @ weights)
    return output


difference_absorbed = max_abs_difference(
    attention_decompressed(inputs, Z_c),
    attention_on_latents(inputs, Z_c),
)
query_map_ranks = [int(np.linalg.matrix_rank(m)) for m in latent_query_maps]
print(f"{HEADS} heads, absorbed vs decompressed: {difference_absorbed:.3g}")
print(f"ranks of the {L_C} x {P_C} query maps (D^K_h)^T W^Q_h:")
print(f"  {sorted(set(query_map_ranks))} (d_h = {d_head}, l = {L_C})")
publish("c_heads", HEADS)
publish("c_head_dim", d_head)
publish("c_query_map_ranks", query_map_ranks)
publish("c_difference_absorbed", difference_absorbed)

# %% 2(c) Cache size and cost of one score
# Standard attention caches k_t and v_t (2p numbers per token and layer),
# MLA only z_t (l). With a single head (H = 1, as in the sheet), a score
# q^T k_t costs p l + p multiply-adds if k_t = D^K z_t is decompressed on
# the fly, but only l with D^K absorbed (plus p l once per query for
# (D^K)^T q). With H heads: H l against the same p l + p.
rows_c: list[Row] = [
    (
        r"cache per token and layer, MHA ($\mathbf{k}_t, \mathbf{v}_t$)",
        "$2p$",
        lambda p, ell: 2 * p,
    ),
    (
        r"cache per token and layer, MLA ($\mathbf{z}_t$)",
        "$l$",
        lambda p, ell: ell,
    ),
    ("reduction", "$2p/l$", lambda p, ell: 2 * p / ell),
    (
        r"multiply-adds per score ($H = 1$), $\hat{\mathbf{k}}_t$ formed",
        "$pl + p$",
        lambda p, ell: p * ell + p,
    ),
    (
        r"multiply-adds per score ($H = 1$), $D^K$ absorbed",
        "$l$",
        lambda p, ell: ell,
    ),
]
publish("table_c", size_table(rows_c, rule_after={2}))
publish("c_cache_reductions", [2 * p_ / ell_ for p_, ell_ in SIZES])
for p_, ell_ in SIZES:
    cache, fewer = f"MHA {2 * p_:,}, MLA {ell_:,}", 2 * p_ / ell_
    print(f"p = {p_}, l = {ell_}:")
    print(f"  cache per token and layer: {cache} ({fewer:.3g} times fewer)")
    scores = f"decompressed {p_ * ell_ + p_:,}, absorbed {ell_:,}"
    print(f"  multiply-adds per score, one head: {scores}")
