# %% [markdown]
# # Exercise 1: Positional encoding
# Sinusoidal positional embeddings E, their Gram matrix E^T E, and the
# self-attention scores K^T Q when features X and embeddings E are added
# (K = Q = X + E) or concatenated (K = Q = concat(X, E)). The encoding
# itself lives in figures_src/positional_encoding.py (listed after the
# cells).

# %% Setup
import numpy as np
import sympy
from matplotlib.axes import Axes
from matplotlib.colors import Normalize
from matplotlib.image import AxesImage

from figures_src.positional_encoding import (
    attention_weights,
    frequencies,
    gram_of_offset,
    positional_encoding,
    relative_difference,
    scores_added,
    scores_concatenated,
)
from figures_src.publish import (
    new_figure,
    publish,
    publish_formula,
    save_figure,
)

N_TOKENS = 64  # n, as on the sheet
DIM = 256  # p, the embedding dimension
SEED = 1
rng = np.random.default_rng(SEED)
publish("n_tokens", N_TOKENS)
publish("dim", DIM)
publish("seed", SEED)
print(f"n = {N_TOKENS} tokens, p = {DIM} dimensions, seed {SEED}")


def report(name: str, value: float, description: str) -> None:
    """Publish `value` as ex1.<name> and print it as the cell's output."""
    publish(name, value)
    print(f"{description}: {value:.4g}")


# %% 1(a) Expanding the scores symbolically
# Matrix symbols do not commute, so sympy expands the products exactly as
# matrices multiply; the concatenation is the block column [X; E].
X_sym = sympy.MatrixSymbol("X", DIM, N_TOKENS)
E_sym = sympy.MatrixSymbol("E", DIM, N_TOKENS)
added_expansion = ((X_sym + E_sym).T * (X_sym + E_sym)).expand()
stacked = sympy.BlockMatrix([[X_sym], [E_sym]])
concatenated_expansion = sympy.block_collapse(stacked.T * stacked)
publish_formula("expansion_added", added_expansion)
publish_formula("expansion_concatenated", concatenated_expansion)
print("addition:      K^T Q =", added_expansion)
print("concatenation: K^T Q =", concatenated_expansion)

# %% 1(b) The positional encoding E and its Gram matrix E^T E
E = positional_encoding(N_TOKENS, DIM)
gram = E.T @ E
positions = np.arange(N_TOKENS)
offsets = positions[:, None] - positions[None, :]

# E^T E should depend on i - j only (a Toeplitz matrix): compare it with
# the closed form sum_k cos(w_k (i - j)), w_k the frequencies.
toeplitz_error = np.abs(gram - gram_of_offset(offsets, DIM)).max()
# Frequencies that turn by less than one radian over the whole sequence
# stay near cos = 1, sin = 0: they make distant positions look alike and
# keep E^T E far from zero.
n_slow = int(np.sum(frequencies(DIM) * (N_TOKENS - 1) < 1))

report("gram_diagonal", gram.diagonal().mean(), "mean of diag(E^T E)")
report("gram_diagonal_spread", np.ptp(gram.diagonal()), "  its spread")
report("gram_neighbour", gram[0, 1], "E^T E at offset 1")
report("gram_farthest", gram[0, -1], f"E^T E at offset {N_TOKENS - 1}")
report("gram_min", gram.min(), "smallest entry of E^T E")
report("toeplitz_error", toeplitz_error, "max |E^T E - closed form|")
report("n_slow_frequencies", n_slow, "frequencies turning < 1 rad")
report("n_frequencies", DIM // 2, "  of all frequencies")
report("omega_min", frequencies(DIM).min(), "the slowest frequency")


# %% 1(b) Figure: E, E^T E and E^T E against the offset
def heatmap(ax: Axes, data: np.ndarray, **style: object) -> AxesImage:
    """One matrix entry per pixel, no smoothing between entries."""
    return ax.imshow(data, interpolation="nearest", **style)


# Mathtext sets \top with the spacing of a binary operator, which leaves a
# gap in E^T E; the negative thin spaces \! close it, as in the text.
fig = new_figure(width=1.0, aspect=0.36)
fig.get_layout_engine().set(wspace=0.12)
ax_e, ax_gram, ax_offset = fig.subplots(1, 3, width_ratios=[0.8, 1, 1.1])

image = heatmap(ax_e, E, aspect="auto", cmap="RdBu_r", vmin=-1, vmax=1)
ax_e.set(xlabel="position $i$", ylabel="dimension $d$", title="$E$")
fig.colorbar(image, ax=ax_e, shrink=0.9, label="$E_{di}$")

image = heatmap(ax_gram, gram, cmap="viridis")
ax_gram.set(
    xlabel="position $j$",
    ylabel="position $i$",
    title=r"$E^{\!\top}\!E$",
)
fig.colorbar(image, ax=ax_gram, shrink=0.9, label=r"$(E^{\!\top}\!E)_{ij}$")

fine = np.linspace(-(N_TOKENS - 1), N_TOKENS - 1, 1001)
ax_offset.plot(offsets.ravel(), gram.ravel(), ".", ms=2.5, label="entries")
closed_form = gram_of_offset(fine, DIM)
ax_offset.plot(fine, closed_form, "k", lw=0.8, label="closed form")
ax_offset.set(
    xlabel=r"offset $\Delta = i - j$",
    ylabel=r"$(E^{\!\top}\!E)_{ij}$",
    title=r"$E^{\!\top}\!E$ against $\Delta$",
)
ax_offset.set_ylim(0, None)
ax_offset.legend(loc="lower center", frameon=False)
save_figure(fig, "ex1-gram")

# %% 1(c) Scores for random features, added and concatenated
# Features: i.i.d. Gaussian entries with the variance of E's entries
# (taken over all p*n entries).
feature_variance = E.var()
sigma = np.sqrt(feature_variance)
X = rng.normal(scale=sigma, size=(DIM, N_TOKENS))

added = scores_added(X, E)
concatenated = scores_concatenated(X, E)
cross = added - concatenated  # = X^T E + E^T X, the only difference (1(a))
off_diagonal = ~np.eye(N_TOKENS, dtype=bool)
off_scores = np.append(added[off_diagonal], concatenated[off_diagonal])

# For i != j, x_i^T e_j + x_j^T e_i is the sum of two independent
# N(0, sigma^2 |e|^2) terms with |e|^2 = p/2, so its standard deviation is
# sigma sqrt(p): it grows like sqrt(p), the diagonal |x_i|^2 + |e_i|^2
# like p.
cross_rms = np.sqrt(np.mean(cross[off_diagonal] ** 2))
correlation = np.corrcoef(added[off_diagonal], concatenated[off_diagonal])


def self_gap(scores: np.ndarray) -> np.ndarray:
    """Per query j: its own score minus the largest score of another key.

    The softmax of column j depends on this gap, not on the levels.
    """
    others = np.where(off_diagonal, scores, -np.inf)
    return scores.diagonal() - others.max(axis=0)


report("feature_variance", feature_variance, "sigma^2 = Var(E)")
mean_added = added.diagonal().mean()
mean_concatenated = concatenated.diagonal().mean()
expected_diagonal = DIM * feature_variance + DIM / 2
report("mean_diagonal_added", mean_added, "mean diagonal, added")
report("mean_diagonal_concatenated", mean_concatenated, "  concatenated")
report("expected_diagonal", expected_diagonal, "  expected p sigma^2 + p/2")

# E^T E is largest off the diagonal at the neighbours i +- 1 (1(b)): in
# expectation the diagonal beats them by p sigma^2 + p/2 - (E^T E)_{i,i+1}.
report(
    "gap_expected",
    expected_diagonal - gram[0, 1],
    "expected gap to the neighbours i +- 1",
)
report("gap_min_added", self_gap(added).min(), "  smallest gap, added")
report(
    "gap_min_concatenated",
    self_gap(concatenated).min(),
    "  smallest gap, concatenated",
)
report("cross_rms", cross_rms, "rms of the cross terms off the diagonal")
cross_expected = sigma * np.sqrt(DIM)
report("cross_std_expected", cross_expected, "  expected sigma sqrt(p)")
difference_full = relative_difference(added, concatenated)
report(
    "relative_difference",
    difference_full,
    "|added - concatenated|_F / |concatenated|_F",
)
report("correlation", correlation[0, 1], "correlation off the diagonal")

# The softmax over each query's column turns scores into weights. The
# diagonal wins by far, even with the 1/sqrt(p) of scaled dot products.
for name, scores in [("added", added), ("concatenated", concatenated)]:
    weights = attention_weights(scores)
    scaled = attention_weights(scores / np.sqrt(DIM))
    report(
        f"max_other_weight_{name}",
        weights[off_diagonal].max(),
        f"largest weight on another token, {name}",
    )
    report(
        f"self_weight_scaled_{name}",
        scaled.diagonal().mean(),
        "  mean weight on itself with 1/sqrt(p) scaling",
    )

# %% 1(c) Figure: both score matrices, their difference, one query's scores
fig = new_figure(width=1.0, aspect=0.66)
top, bottom = fig.subfigures(2, 1, height_ratios=[0.8, 1])
ax_added, ax_concatenated, ax_cross = top.subplots(1, 3)
# Room between the panels, so the colour bar labels stay clear of the
# next panel's axis label.
fig.get_layout_engine().set(wspace=0.12)
# The diagonal (about p sigma^2 + p/2) would flatten everything else: the
# shared scale stops at the largest off-diagonal score and the diagonal
# saturates.
SCORE_AXES = {"xlabel": "query position $j$", "ylabel": "key position $i$"}
shared = Normalize(vmin=off_scores.min(), vmax=off_scores.max())
panels = [
    (ax_added, added, "addition"),
    (ax_concatenated, concatenated, "concatenation"),
]
for ax, scores, title in panels:
    image = heatmap(ax, scores, norm=shared)
    ax.set(title=title, **SCORE_AXES)
# One colour bar for both score panels, right of them; shrink 0.75 makes
# it (and the difference's) as tall as the square heatmaps.
top.colorbar(
    image,
    ax=[ax_added, ax_concatenated],
    extend="max",
    shrink=0.75,
    label=r"score $(K^{\!\top}\!Q)_{ij}$",
)
limit = np.abs(cross).max()
image = heatmap(ax_cross, cross, cmap="RdBu_r", vmin=-limit, vmax=limit)
ax_cross.set(title="difference", **SCORE_AXES)
cross_label = r"$(X^{\!\top}\!E+E^{\!\top}\!X)_{ij}$"
top.colorbar(image, ax=ax_cross, shrink=0.75, label=cross_label)

query = N_TOKENS // 2
ax = bottom.subplots()
ax.plot(positions, added[:, query], "o-", ms=2.5, lw=0.8, label="addition")
ax.plot(
    positions,
    concatenated[:, query],
    "s-",
    ms=2.5,
    lw=0.8,
    label="concatenation",
)
positional = r"$E^{\!\top}\!E$ alone"
ax.plot(positions, gram[:, query], "k--", lw=0.8, label=positional)
ax.set(xlabel="key position $i$", ylabel=f"score for query $j={query}$")
# Top left: the scores there stay far below the peak at i = j.
ax.legend(frameon=False, loc="upper left")
save_figure(fig, "ex1-scores")

# %% 1(d) (bonus) E lies in a low-dimensional subspace, features in another
# Over 64 positions the slow sinusoids are smooth functions of i, so E is
# numerically low-rank: few directions hold almost all of its energy.
left, singular_values, _ = np.linalg.svd(E)
energy = np.cumsum(singular_values**2) / np.sum(singular_values**2)
rank_99 = int(np.searchsorted(energy, 0.99) + 1)
position_basis, complement = left[:, :rank_99], left[:, rank_99:]


def features_in(basis: np.ndarray) -> np.ndarray:
    """n Gaussian features in span(basis), with the total variance of 1(c).

    `basis` has orthonormal columns.
    """
    coefficients = rng.normal(size=(basis.shape[1], N_TOKENS))
    scale = np.sqrt(feature_variance * DIM / basis.shape[1])
    return scale * basis @ coefficients


def score_difference(features: np.ndarray) -> float:
    """How far addition is from concatenation for these features."""
    reference = scores_concatenated(features, E)
    return relative_difference(scores_added(features, E), reference)


# Features in a rank_99-dimensional subspace orthogonal to E's principal
# subspace, and in a random subspace of the same dimension. Averaged over
# random subspaces V, (p / dim) P_V is the identity: such features have
# on average the covariance sigma^2 I of 1(c), and cross terms as large.
rotation = np.linalg.qr(rng.normal(size=(DIM - rank_99, rank_99)))[0]
feature_basis = complement @ rotation
random_basis = np.linalg.qr(rng.normal(size=(DIM, rank_99)))[0]
X_orthogonal = features_in(feature_basis)
X_random = features_in(random_basis)

# Projecting the sum onto the feature subspace recovers the features:
# adding them loses (almost) nothing.
recovered = feature_basis @ (feature_basis.T @ (X_orthogonal + E))
recovery_error = relative_difference(recovered, X_orthogonal)
# The error is P_V E (P_V X = X): since V lies in the complement of E's
# principal subspace, it is the part of E's residual there that falls
# into V. A V drawn at random in the complement would hold about
# dim / (p - dim) of the residual's energy.
residual = complement @ (complement.T @ E)
residual_energy = np.sum(residual**2) / np.sum(E**2)
share_in_v = np.sum((feature_basis.T @ E) ** 2) / np.sum(residual**2)
# Principal angles between E's subspace and the random one: the mean cos^2
# is dim/p in expectation.
cosines = np.linalg.svd(position_basis.T @ random_basis, compute_uv=False)

report("rank_99", rank_99, "dimensions holding 99% of |E|_F^2")
report(
    "difference_orthogonal",
    score_difference(X_orthogonal),
    "features orthogonal to E: relative score difference",
)
report("recovery_error", recovery_error, "  relative error of recovered X")
report("residual_energy", residual_energy, "  E's residual / |E|_F^2")
report("residual_share_in_v", share_in_v, "  share of the residual in V")
report(
    "expected_share_in_v",
    rank_99 / (DIM - rank_99),
    "  expected for a random V: dim/(p - dim)",
)
report(
    "difference_random",
    score_difference(X_random),
    "features in a random subspace: relative score difference",
)
report("mean_cos2_random", np.mean(cosines**2), "  mean cos^2 of angles")
report("expected_cos2_random", rank_99 / DIM, "  expected dim/p")
print(f"full-dimensional features (1(c)): {difference_full:.4g}")

# %% 1(d) Figure: the singular values of E
fig = new_figure(width=0.55, aspect=0.45)
ax = fig.add_subplot()
index = np.arange(1, singular_values.size + 1)
ax.semilogy(index, singular_values / singular_values[0], ".", ms=4)
ax.axvline(rank_99 + 0.5, color="k", lw=0.8, ls="--")
label = f"99% of $\\|E\\|_F^2$\nin the first {rank_99}"
ax.text(rank_99 - 0.5, 1e-12, label, ha="right", fontsize=8)
ax.set(xlabel="index $r$ of the singular value $s_r$ of $E$")
ax.set_ylabel("$s_r / s_1$")
save_figure(fig, "ex1-spectrum")


# %% 1(d) Random subspaces: the cross terms as the dimension p grows
# Features and positions in two independent, uniformly random subspaces
# V, U of R^p of fixed dimension d. The squared cosines of their
# principal angles average d/p, so the cross terms should shrink like
# sqrt(d/p) relative to X^T X + E^T E.
SUBSPACE_DIM = 8  # d = dim V = dim U, fixed while p grows
SWEEP_DIMS = 2 ** np.arange(4, 13)  # p = 16, 32, ..., 4096
SWEEP_TRIALS = 10  # independent pairs of subspaces per p, averaged
SWEEP_SEED = 2
sweep_rng = np.random.default_rng(SWEEP_SEED)


def random_subspace(dim: int) -> np.ndarray:
    """Orthonormal basis (p x d) of a uniformly random subspace of R^p.

    The span of d Gaussian vectors is uniformly distributed; QR turns
    them into an orthonormal basis of that span.
    """
    return np.linalg.qr(sweep_rng.normal(size=(dim, SUBSPACE_DIM)))[0]


def gaussian_in(basis: np.ndarray) -> np.ndarray:
    """n standard Gaussian vectors of R^p projected onto span(basis).

    The projection does not depend on which orthonormal basis spans the
    subspace; the coordinates in any such basis are i.i.d. N(0, 1).
    """
    z = sweep_rng.normal(size=(basis.shape[0], N_TOKENS))
    return basis @ (basis.T @ z)


def subspace_trial(dim: int) -> tuple[float, float, float]:
    """One draw of V and U in R^p, with features X and positions E.

    Returns |X^T E + E^T X|_F / |X^T X + E^T E|_F, the largest cosine of
    a principal angle between V and U, and the mean squared cosine.
    """
    basis_v, basis_u = random_subspace(dim), random_subspace(dim)
    X_p, E_p = gaussian_in(basis_v), gaussian_in(basis_u)
    # added - concatenated is the cross term (1(a)); concatenated the rest
    ratio = relative_difference(
        scores_added(X_p, E_p),
        scores_concatenated(X_p, E_p),
    )
    cos = np.linalg.svd(basis_v.T @ basis_u, compute_uv=False)
    return ratio, cos.max(), np.mean(cos**2)


def mean_of_trials(dim: int) -> np.ndarray:
    """subspace_trial(p), averaged over SWEEP_TRIALS independent draws."""
    draws = [subspace_trial(dim) for _ in range(SWEEP_TRIALS)]
    return np.mean(draws, axis=0)


sweep = np.array([mean_of_trials(dim) for dim in SWEEP_DIMS])
sweep_ratio, sweep_max_cos, sweep_mean_cos2 = sweep.T
# Slope of the least-squares line through log(ratio) against log(p).
ratio_slope = np.polyfit(np.log(SWEEP_DIMS), np.log(sweep_ratio), 1)[0]
cos2_over_expected = sweep_mean_cos2 * SWEEP_DIMS / SUBSPACE_DIM
# sqrt(d/p) keeps only the leading terms for n >> d. In full, in
# expectation, |X^T E + E^T X|_F^2 = 2n(n+1) d^2/p (the n diagonal terms
# add to the n^2 pairs) and |X^T X + E^T E|_F^2 = 2nd(n+d+1) + 2nd^2 (the
# mixed term 2 tr(X^T X E^T E)): the ratio is sqrt(d/p) times this factor.
finite_n_factor = np.sqrt(
    (N_TOKENS + 1) / (N_TOKENS + 2 * SUBSPACE_DIM + 1),
)
over_estimate = sweep_ratio / np.sqrt(SUBSPACE_DIM / SWEEP_DIMS)
over_finite_n = over_estimate / finite_n_factor

print(
    f"d = {SUBSPACE_DIM}, n = {N_TOKENS}, {SWEEP_TRIALS} draws per p",
    f"(seed {SWEEP_SEED})",
)
print("ratio = cross/rest, estimate = factor * sqrt(d/p),")
print("cos: principal angles of V and U, mean cos^2 in units of d/p")
print("    p   ratio  ratio/sqrt(d/p)  ratio/estimate  max cos  mean cos^2")
for row in zip(
    SWEEP_DIMS,
    sweep_ratio,
    over_estimate,
    over_finite_n,
    sweep_max_cos,
    cos2_over_expected,
    strict=True,
):
    print(
        "{:5d}  {:.4f}  {:15.3f}  {:14.3f}  {:7.4f}  {:10.3f}".format(*row),
    )
report("ratio_slope", ratio_slope, "slope of log(cross/rest) vs log(p)")
report(
    "finite_n_factor",
    finite_n_factor,
    "finite-n factor sqrt((n+1)/(n+2d+1))",
)
publish("subspace_dim", SUBSPACE_DIM)
publish("sweep_trials", SWEEP_TRIALS)
publish("sweep_seed", SWEEP_SEED)
publish("sweep_p_min", SWEEP_DIMS[0])
publish("sweep_p_max", SWEEP_DIMS[-1])
publish("sweep_ratio_min_p", sweep_ratio[0])
publish("sweep_ratio_max_p", sweep_ratio[-1])
publish("sweep_max_cos_min_p", sweep_max_cos[0])
publish("sweep_max_cos_max_p", sweep_max_cos[-1])
publish("cos2_over_expected_low", cos2_over_expected.min())
publish("cos2_over_expected_high", cos2_over_expected.max())
publish("over_estimate_low", over_estimate.min())
publish("over_estimate_high", over_estimate.max())
publish("over_finite_n_low", over_finite_n.min())
publish("over_finite_n_high", over_finite_n.max())

# %% 1(d) Figure: cross terms and principal angles against p
fig = new_figure(width=0.8, aspect=0.39)
ax = fig.add_subplot()
curves = [
    (sweep_ratio, "o-", "cross terms / rest"),
    (sweep_max_cos, "s-", "largest cosine"),
    (np.sqrt(sweep_mean_cos2), "^-", "RMS cosine"),
]
for values, style, label in curves:
    ax.loglog(SWEEP_DIMS, values, style, ms=3, lw=0.8, label=label)
# On top (zorder): the RMS cosine coincides with sqrt(d/p) and would hide
# the reference line.
reference = np.sqrt(SUBSPACE_DIM / SWEEP_DIMS)
ax.loglog(
    SWEEP_DIMS,
    reference,
    "k--",
    lw=0.9,
    zorder=3,
    label=r"$\sqrt{d/p}$",
)
ax.set_xscale("log", base=2)
ax.set_xticks(SWEEP_DIMS[::2], [str(dim) for dim in SWEEP_DIMS[::2]])
ax.set(xlabel="dimension $p$", ylabel="relative size or cosine")
# Beside the axes: inside, it would cover one of the curves.
ax.legend(frameon=False, loc="center left", bbox_to_anchor=(1, 0.5))
save_figure(fig, "ex1-sweep")
