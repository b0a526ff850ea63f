# %% [markdown]
# # Exercise 2: Multi-Head Latent Attention
# The costs of 2(a) and 2(c) at DeepSeek-V2's sizes, in the sheet's shapes
# (the decompressed key has p entries); the latent size l is `ell` here.
# The cells that only check the results are left out here, so the cell
# numbers skip them.

# %% Setup
import numpy as np

from pipeline.publish import publish

# DeepSeek-V2: hidden size p, KV latent size l.
P, ELL = 5120, 512
for name, value in {"p": P, "l": ELL}.items():
    publish(f"v2_{name}", value)

# %% 2(a) Parameters and multiply-adds: MLA against the variant W^K D z
# MLA keeps C, D^K, D^V and decompresses with D^K z and D^V z; the variant
# keeps C, D, W^K, W^V and computes D z, then W^K and W^V of it. A q x r
# matrix has q*r entries and costs q*r multiply-adds per vector.
parameters = {"MLA": 3 * P * ELL, "variant": 2 * P * ELL + 2 * P * P}
macs = {"MLA": 2 * P * ELL, "variant": P * ELL + 2 * P * P}
print(f"p = {P}, l = {ELL}")
for name, count in [("parameters", parameters), ("multiply-adds", macs)]:
    mla, variant = count["MLA"], count["variant"]
    ratio = variant / mla
    print(f"{name}: MLA {mla:,}, variant {variant:,}, ratio {ratio:.3g}")
publish("a_parameter_ratio", parameters["variant"] / parameters["MLA"])
publish("a_macs_ratio", macs["variant"] / macs["MLA"])

# %% [markdown]
# MLA caches only $\mathbf z_t$: how much smaller is the cache?

# %% 2(c) The cache per token and layer: k_t and v_t, or z_t alone
# Standard attention caches k_t and v_t (2p numbers), MLA only z_t (l).
cache_reduction = 2 * P / ELL
print(f"cache: MHA {2 * P}, MLA {ELL}, {cache_reduction:.3g} times fewer")
publish("c_cache_reduction", cache_reduction)

# %% [markdown]
# ## Checks
# The identities behind the answers, on random matrices of moderate
# size: they hold exactly, up to round-off.


# %% Check of 2(a): W^K D is one p x l matrix, and not identifiable
def gaussian(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    """A rows x cols matrix with N(0, 1/cols) entries (unit scale)."""
    return rng.standard_normal((rows, cols)) / np.sqrt(cols)


def max_abs_difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)))


rng = np.random.default_rng(20)
p, ell, n_tokens = 1024, 128, 256
D, W_K, W_V = gaussian(rng, p, ell), gaussian(rng, p, p), gaussian(rng, p, p)
Z = gaussian(rng, ell, n_tokens)  # latents z_t, one per column
# Associativity: W^K (D z) = (W^K D) z, with W^K D of rank l.
difference_a = max(
    max_abs_difference(W_K @ (D @ Z), (W_K @ D) @ Z),
    max_abs_difference(W_V @ (D @ Z), (W_V @ D) @ Z),
)
rank_WD = np.linalg.matrix_rank(W_K @ D)
# Any invertible A gives (W^K A, W^V A, A^{-1} D) the same products.
A = np.eye(p) + gaussian(rng, p, p)
A_inv_D = np.linalg.solve(A, D)
difference_reparametrised = max(
    max_abs_difference((W_K @ A) @ A_inv_D, W_K @ D),
    max_abs_difference((W_V @ A) @ A_inv_D, W_V @ D),
)
print(f"p = {p}, l = {ell}: rank(W^K D) = {rank_WD}")
print(f"max |W (D z) - (W D) z| over W = W^K, W^V: {difference_a:.3g}")
print(f"max |(W A)(A^-1 D) - W D|: {difference_reparametrised:.3g}")
publish("a_check_l", ell)
publish("a_rank_WD", rank_WD)
publish("a_difference", difference_a)
publish("a_difference_reparametrised", difference_reparametrised)

# %% Check of 2(b): the PCA error is the sum of the discarded eigenvalues
from figures_src.latent_attention import synthetic_inputs

# Inputs with variances exp(-i/10) along random orthogonal directions.
P_B, N_B, SPECTRUM_SCALE, SEED_B = 64, 4000, 10.0, 2
X = synthetic_inputs(P_B, N_B, SPECTRUM_SCALE, SEED_B)
S = X @ X.T / N_B  # the second-moment matrix
eigenvalues, eigenvectors = np.linalg.eigh(S)  # ascending
pca_errors, discarded = [], []
for latent in range(1, P_B):
    U_l = eigenvectors[:, -latent:]  # the top-l eigenvectors: D and C^T
    residual = X - U_l @ (U_l.T @ X)
    pca_errors.append(np.mean(np.sum(residual**2, axis=0)))
    discarded.append(eigenvalues[:-latent].sum())
difference_b = max_abs_difference(np.array(pca_errors), np.array(discarded))
print(f"max over l |PCA error - discarded eigenvalues|: {difference_b:.3g}")
for name, value in {"p": P_B, "n": N_B, "scale": SPECTRUM_SCALE}.items():
    publish(f"b_{name}", value)
publish("b_seed", SEED_B)
publish("b_pca_errors", pca_errors)
publish("b_discarded", discarded)
publish("b_difference", difference_b)

# %% Check of 2(b), drawn: the PCA error on the discarded eigenvalues
from pipeline.publish import new_figure, save_figure

fig = new_figure(width=0.6, aspect=0.5)
ax = fig.add_subplot()
latent_sizes = np.arange(1, P_B)
ax.semilogy(latent_sizes, pca_errors, label="PCA reconstruction error")
tail = r"$\lambda_{l+1} + \dots + \lambda_p$"  # the discarded eigenvalues
ax.semilogy(latent_sizes[::4], discarded[::4], "o", ms=3, label=tail)
ax.set(xlabel="latent size $l$", ylabel="mean squared error")
ax.legend(frameon=False)
save_figure(fig, "ex2-pca")

# %% Check of 2(c): keys of rank l, and attention on the latents
# k_t = D^K z_t lies in the l-dimensional column space of D^K, and
# z_t = (D^K)^+ k_t. Per head h, q_h^T D^K_h z_t = ((D^K_h)^T q_h)^T z_t
# and W^O_h sum_t beta_t D^V_h z_t = (W^O_h D^V_h) sum_t beta_t z_t:
# attention straight on the cached latents gives the same output.
rng = np.random.default_rng(22)
P_C, L_C, HEADS, N_C = 256, 64, 8, 512
C = gaussian(rng, L_C, P_C)
D_K, D_V = gaussian(rng, P_C, L_C), gaussian(rng, P_C, L_C)
Z_c = C @ rng.standard_normal((P_C, N_C))
K_hat = D_K @ Z_c
recovered = max_abs_difference(np.linalg.pinv(D_K) @ K_hat, Z_c)
W_Q, W_O = gaussian(rng, P_C, P_C), gaussian(rng, P_C, P_C)
queries = W_Q @ rng.standard_normal((P_C, 16))  # 16 new tokens
heads = np.split(np.arange(P_C), HEADS)  # the rows of each head
d_head = P_C // HEADS


def softmax(scores: np.ndarray) -> np.ndarray:
    """Softmax over the cached tokens (axis 0), one column per query."""
    weights = np.exp(scores - scores.max(axis=0))
    return weights / weights.sum(axis=0)


decompressed = np.zeros_like(queries)
on_latents = np.zeros_like(queries)
query_map_ranks = []
for h in heads:
    scores = (D_K[h] @ Z_c).T @ queries[h] / np.sqrt(d_head)
    decompressed += W_O[:, h] @ (D_V[h] @ Z_c) @ softmax(scores)
    query_map = D_K[h].T @ W_Q[h]  # l x p, absorbs D^K_h
    query_map_ranks.append(int(np.linalg.matrix_rank(query_map)))
    latent_scores = Z_c.T @ (D_K[h].T @ queries[h]) / np.sqrt(d_head)
    on_latents += (W_O[:, h] @ D_V[h]) @ (Z_c @ softmax(latent_scores))
absorbed = max_abs_difference(decompressed, on_latents)
rank_keys = np.linalg.matrix_rank(K_hat)
print(f"p = {P_C}, l = {L_C}: rank of the keys {rank_keys}")
print(f"max |(D^K)^+ k_t - z_t| = {recovered:.3g}")
print(f"{HEADS} heads, on the latents vs decompressed: {absorbed:.3g}")
print(f"ranks of the l x p query maps: {sorted(set(query_map_ranks))}")
publish("c_p", P_C)
publish("c_l", L_C)
publish("c_heads", HEADS)
publish("c_head_dim", d_head)
publish("c_rank_keys", rank_keys)
publish("c_difference_recovered", recovered)
publish("c_difference_absorbed", absorbed)
publish("c_query_map_ranks", query_map_ranks)
