# %% [markdown]
# # Exercise 1: Positional encoding
# The sinusoidal embeddings E (module `positional_encoding.py`, listed
# after the cells), their Gram matrix, the scores of random features added
# to E or concatenated with it, and features and positions in random
# low-dimensional subspaces. The cells that only check the results are
# left out here, so the cell numbers skip them.

# %% Setup
import numpy as np
import sympy

import figures_src.positional_encoding as pe
from pipeline.publish import new_figure, publish, save_figure

N_TOKENS, DIM, SEED = 64, 256, 1  # n and p as on the sheet; the seed
rng = np.random.default_rng(SEED)
for name, value in {"n_tokens": N_TOKENS, "dim": DIM, "seed": SEED}.items():
    publish(name, value)


def report(values: dict[str, float]) -> None:
    """Publish each value as ex1.<name> and print them on one line."""
    for name, value in values.items():
        publish(name, value)
    print(", ".join(f"{key}={value:.4g}" for key, value in values.items()))


# %% 1(a) Expanding the scores symbolically
# Matrix symbols do not commute: sympy expands the products as matrices
# multiply. Concatenation stacks X on E, the block column [X; E].
X_sym = sympy.MatrixSymbol("X", DIM, N_TOKENS)
E_sym = sympy.MatrixSymbol("E", DIM, N_TOKENS)
added_expansion = ((X_sym + E_sym).T * (X_sym + E_sym)).expand()
stacked = sympy.BlockMatrix([[X_sym], [E_sym]])
concatenated_expansion = sympy.block_collapse(stacked.T * stacked)
publish("expansion_added", added_expansion)
publish("expansion_concatenated", concatenated_expansion)
print("addition:      K^T Q =", added_expansion)
print("concatenation: K^T Q =", concatenated_expansion)

# %% 1(b) The encoding E and its Gram matrix E^T E, drawn
E = pe.positional_encoding(N_TOKENS, DIM)
gram = E.T @ E
fig = new_figure(width=0.9, aspect=0.39)
fig.get_layout_engine().set(wspace=0.12)
ax_matrix, ax_offset = fig.subplots(1, 2)
# The colour scale starts at 0: the corners are not 0.
image = ax_matrix.imshow(gram, interpolation="nearest", vmin=0)
ax_matrix.set(xlabel="position $j$", ylabel="position $i$")
ax_matrix.set_title(r"$E^\top E$")
# The colour bar in an inset beside the square image, just as tall.
bar = fig.colorbar(image, cax=ax_matrix.inset_axes([1.05, 0, 0.06, 1]))
bar.set_label(r"$(E^\top E)_{ij}$")
offsets = np.subtract.outer(np.arange(N_TOKENS), np.arange(N_TOKENS))
ax_offset.plot(offsets.ravel(), gram.ravel(), ".", ms=2)  # every entry
ax_offset.set(xlabel="offset $i - j$", ylim=(0, 1.05 * DIM / 2))
ax_offset.set_title("by offset")
ax_offset.set_ylabel(r"$(E^\top E)_{ij}$")
save_figure(fig, "ex1-gram")

# %% [markdown]
# $E^\top E$ depends on the offset $i - j$ only; its first row shows how
# fast the similarity of two positions decays.

# %% 1(b) The decay of E^T E, and the frequencies behind it
# gram[0, k] is the value of E^T E at offset k.
NEAR, LAST = 5, N_TOKENS - 1
publish("near_offset", NEAR)
report({"gram_diagonal": gram[0, 0], "gram_near": gram[0, NEAR]})
report({"gram_farthest": gram[0, LAST], "gram_min": gram.min()})
# A frequency that turns by less than 1 rad over the whole sequence adds
# more than cos(1) to every entry: nearly the same amount to all of them.
omega = pe.frequencies(DIM)
slow, at_last = omega * LAST < 1, np.cos(omega * LAST)
report({"n_frequencies": omega.size, "n_slow_frequencies": slow.sum()})
# Their sum and the others' sum at the largest offset.
slow_sum, fast_sum = at_last[slow].sum(), at_last[~slow].sum()
report({"slow_part_farthest": slow_sum, "fast_part_farthest": fast_sum})
report({"cos_one": np.cos(1)})

# %% [markdown]
# Random features with the variance of $E$'s entries, added to $E$ or
# concatenated with it: how do the two score matrices differ?

# %% 1(c) Random features, added to E and concatenated with it, drawn
# i.i.d. Gaussian entries with the variance of E's entries (all p*n).
sigma2 = E.var()
X = rng.normal(scale=sigma2**0.5, size=(DIM, N_TOKENS))
keys = np.vstack([X, E])  # concatenation; keys = queries
added, both = (X + E).T @ (X + E), keys.T @ keys
cross = added - both  # X^T E + E^T X, by 1(a)
off = ~np.eye(N_TOKENS, dtype=bool)  # the entries off the diagonal
# The images fill their axes (aspect="auto"), slightly taller than wide.
fig = new_figure(width=1.0, aspect=0.35)
fig.get_layout_engine().set(wspace=0.05)
# One colour scale for both score matrices, up to the largest score off
# the diagonal: the diagonal (about p sigma^2 + p/2) saturates.
scale = {"vmin": min(added.min(), both.min())}
scale["vmax"] = max(added[off].max(), both[off].max())
limit = np.abs(cross).max()
diverging = {"cmap": "RdBu_r", "vmin": -limit, "vmax": limit}
DIFFERENCE = r"difference $X^\top E+E^\top X$"
panels = {"addition": added, "concatenation": both, DIFFERENCE: cross}
both_panels = r"$(K^\top Q)_{ij}$, both panels"
bar_labels = {"concatenation": both_panels, DIFFERENCE: "difference"}
axes = fig.subplots(1, 3)
for ax, (title, scores) in zip(axes, panels.items(), strict=True):
    style = diverging if title == DIFFERENCE else scale
    image = ax.imshow(scores, interpolation="nearest", aspect="auto", **style)
    ax.set(title=title, xlabel="query $j$")
    # The first two panels share the second's colour bar.
    if title in bar_labels:
        bar = fig.colorbar(image, cax=ax.inset_axes([1.05, 0, 0.06, 1]))
        bar.set_label(bar_labels[title])
axes[0].set_ylabel("key $i$")
save_figure(fig, "ex1-scores")


# %% 1(c) The diagonal, the noise, the cross terms and the attention
def softmax_over_keys(scores: np.ndarray) -> np.ndarray:
    """Softmax of each column (query) over its rows (keys)."""
    weights = np.exp(scores - scores.max(axis=0))  # no overflow
    return weights / weights.sum(axis=0)


# The diagonal p sigma^2 + p/2 against E^T E's largest entry off it.
report({"feature_variance": sigma2, "gram_neighbour": gram[off].max()})
report({"expected_diagonal": DIM * (sigma2 + 0.5)})
# Off the diagonal X^T X has std sigma^2 sqrt(p); the cross terms add two
# independent N(0, sigma^2 p/2) terms, std sigma sqrt(p) together.
report({"noise_std": sigma2 * DIM**0.5, "cross_std": (sigma2 * DIM) ** 0.5})
difference = np.linalg.norm(cross) / np.linalg.norm(both)
correlation = np.corrcoef(added[off], both[off])[0, 1]
report({"relative_difference": difference, "correlation": correlation})
# The diagonal wins by far, even with the same 1/sqrt(p) scaling for both.
for name, scores in [("added", added), ("concatenated", both)]:
    other = softmax_over_keys(scores)[off].max()
    itself = softmax_over_keys(scores / np.sqrt(DIM)).diagonal().mean()
    report({f"max_other_weight_{name}": other})
    report({f"self_weight_scaled_{name}": itself})

# %% [markdown]
# Features and positions in two independent random $m$-dimensional
# subspaces of $p$-dimensional space: the cross terms as $p$ grows.

# %% 1(d) Two random m-dimensional subspaces as p grows
# A random subspace: the span of m Gaussian vectors, with an orthonormal
# basis from QR. Tokens: Gaussian vectors projected onto it.
M_SUB, TRIALS, SWEEP_SEED = 8, 10, 2  # m; draws per p
P_SWEEP = 2 ** np.arange(4, 13)  # p = 16, 32, ..., 4096
sweep_rng = np.random.default_rng(SWEEP_SEED)


def cross_over_rest(p: int) -> float:
    """One draw of |X^T E + E^T X|_F / |X^T X + E^T E|_F in R^p."""
    V = np.linalg.qr(sweep_rng.normal(size=(p, M_SUB)))[0]  # features
    U = np.linalg.qr(sweep_rng.normal(size=(p, M_SUB)))[0]  # positions
    X_p = V @ V.T @ sweep_rng.normal(size=(p, N_TOKENS))
    E_p = U @ U.T @ sweep_rng.normal(size=(p, N_TOKENS))
    cross_p, rest_p = X_p.T @ E_p + E_p.T @ X_p, X_p.T @ X_p + E_p.T @ E_p
    return np.linalg.norm(cross_p) / np.linalg.norm(rest_p)


draws = [[cross_over_rest(p) for _ in range(TRIALS)] for p in P_SWEEP]
ratio, estimate = np.mean(draws, axis=1), np.sqrt(M_SUB / P_SWEEP)
print("         p", "".join(f"{p:7d}" for p in P_SWEEP))
for name, row in {"cross/rest": ratio, "sqrt(m/p)": estimate}.items():
    print(f"{name:>10}", "".join(f"{value:7.3g}" for value in row))
sweep = {"subspace_dim": M_SUB, "sweep_trials": TRIALS}
sweep |= {"sweep_seed": SWEEP_SEED}
sweep |= {"sweep_p_min": P_SWEEP[0], "sweep_ratio_min_p": ratio[0]}
sweep |= {"sweep_p_max": P_SWEEP[-1], "sweep_ratio_max_p": ratio[-1]}
for name, value in sweep.items():
    publish(name, value)
slope = np.polyfit(np.log(P_SWEEP), np.log(ratio), 1)[0]
report({"ratio_slope": slope})  # of log(cross/rest) against log(p)

# %% 1(d) Figure: the cross terms against p
fig = new_figure(width=0.6, aspect=0.55)
ax = fig.add_subplot()
ax.loglog(P_SWEEP, ratio, "o-", ms=3, lw=0.8, label="cross terms / rest")
ax.loglog(P_SWEEP, estimate, "k--", lw=0.8, label=r"$\sqrt{m/p}$")
ax.minorticks_off()  # plain numbers at a few ticks instead
ax.set_xticks(P_SWEEP[::2], [f"{p}" for p in P_SWEEP[::2]])
ax.set_yticks([0.05, 0.1, 0.2, 0.5], ["0.05", "0.1", "0.2", "0.5"])
ax.set(xlabel="dimension $p$", ylabel="norm of cross terms / rest")
ax.legend(frameon=False)
save_figure(fig, "ex1-sweep")

# %% [markdown]
# ## Checks
# Identities the answers use, checked on the numbers above.

# %% Check of 1(b): E^T E is the closed form sum_k cos(w_k (i - j))
closed_form = np.cos(np.multiply.outer(offsets, omega)).sum(axis=-1)
toeplitz_error = np.abs(gram - closed_form).max()
print(f"max |E^T E - closed form| = {toeplitz_error:.2g}")
publish("toeplitz_error", toeplitz_error)

# %% Check of 1(c): the measured spread of the cross terms off the diagonal
cross_rms = np.sqrt(np.mean(cross[off] ** 2))
print(f"RMS of the cross terms: {cross_rms:.4g}")
publish("cross_rms", cross_rms)
