"""The mixture-of-experts layer of equations (20)-(22), in numpy, with a
hand-written reverse pass.

Forward, for one token u of width m (eq. 20-22):

    a_i = u^T e_i     affinities (one matmul with the centroid matrix)
    s   = Softmax(a)  scores
    g_i = s_i k_i     gates: k_i = 1 for the Top-K_r scores, else 0
                      (eq. 21), or k_i = 1 for all i ("dense" gating,
                      the answer to 3(f))
    h'  = u + sum_i FFN_i^(s)(u) + sum_i g_i FFN_i^(r)(u)

Every FFN is W2 relu(W1 u + b1) + b2. Under Top-K_r gating the routed
experts outside the Top-K_r are not evaluated at all, as in a real MoE.

The reverse pass applies the adjoint rule of 3(b),
vbar_a = sum_{b in C(a)} vbar_b dv_b/dv_a, node by node from the output
back: each node type (sum, product, relu, matmul, softmax) only knows its
local derivatives and multiplies the adjoint it receives by them.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np

Gating = Literal["topk", "dense"]
# One expert's parameters: w1 (hidden, m), b1, w2 (m, hidden), b2.
FFN = dict[str, np.ndarray]


@dataclass
class MoEParams:
    shared: list[FFN]
    routed: list[FFN]
    centroids: np.ndarray  # one row e_i per routed expert: (n_routed, m)
    top_k: int

    def arrays(self) -> Iterator[np.ndarray]:
        """Every parameter array, in a fixed order (for finite
        differences)."""
        for ffn in self.shared + self.routed:
            yield from ffn.values()
        yield self.centroids


@dataclass
class FFNTape:
    """What one expert's forward pass keeps for the reverse pass."""

    pre: np.ndarray  # a = W1 u + b1
    hidden: np.ndarray  # z = relu(a)
    out: np.ndarray  # y = W2 z + b2


@dataclass
class MoETape:
    """The forward values of one token: the reverse pass reads them,
    never recomputes them."""

    u: np.ndarray
    shared: list[FFNTape]
    routed: dict[int, FFNTape]  # only the experts that were evaluated
    affinities: np.ndarray  # a_i = u^T e_i
    scores: np.ndarray  # s_i
    mask: np.ndarray  # k_i (1 selected, 0 not): a constant of the graph
    gates: np.ndarray  # g_i = s_i k_i
    out: np.ndarray  # h'


@dataclass
class MoEGrads:
    shared: list[FFN]
    routed: list[FFN]
    centroids: np.ndarray
    u: np.ndarray
    gates: np.ndarray  # dL/dg_i, kept to explain 3(e)
    scores: np.ndarray  # dL/ds_i

    def arrays(self) -> Iterator[np.ndarray]:
        """Gradients in the order of MoEParams.arrays()."""
        for ffn in self.shared + self.routed:
            yield from ffn.values()
        yield self.centroids


def init_ffn(rng: np.random.Generator, width: int, hidden: int) -> FFN:
    return {
        "w1": rng.normal(0, 1 / np.sqrt(width), (hidden, width)),
        "b1": rng.normal(0, 0.1, hidden),
        "w2": rng.normal(0, 1 / np.sqrt(hidden), (width, hidden)),
        "b2": rng.normal(0, 0.1, width),
    }


def init_layer(
    rng: np.random.Generator,
    width: int,
    hidden: int,
    n_shared: int,
    n_routed: int,
    top_k: int,
) -> MoEParams:
    return MoEParams(
        shared=[init_ffn(rng, width, hidden) for _ in range(n_shared)],
        routed=[init_ffn(rng, width, hidden) for _ in range(n_routed)],
        centroids=rng.normal(0, 1 / np.sqrt(width), (n_routed, width)),
        top_k=top_k,
    )


# Forward pieces


def softmax(affinities: np.ndarray) -> np.ndarray:
    """Softmax along the last axis (shifted by the maximum, which leaves
    it unchanged)."""
    top = affinities.max(axis=-1, keepdims=True)
    shifted = np.exp(affinities - top)
    return shifted / shifted.sum(axis=-1, keepdims=True)


def top_k_mask(scores: np.ndarray, k: int) -> np.ndarray:
    """1 where a score is among the k largest of its row, else 0 (eq. 21's
    case split)."""
    order = np.argsort(-scores, axis=-1, kind="stable")[..., :k]
    mask = np.zeros_like(scores)
    np.put_along_axis(mask, order, 1.0, axis=-1)
    return mask


def ffn_forward(ffn: FFN, u: np.ndarray) -> FFNTape:
    pre = ffn["w1"] @ u + ffn["b1"]
    hidden = np.maximum(pre, 0.0)
    return FFNTape(pre, hidden, ffn["w2"] @ hidden + ffn["b2"])


def moe_forward(
    params: MoEParams,
    u: np.ndarray,
    gating: Gating = "topk",
) -> MoETape:
    affinities = params.centroids @ u
    scores = softmax(affinities)
    dense = np.ones_like(scores)
    mask = top_k_mask(scores, params.top_k) if gating == "topk" else dense
    gates = scores * mask
    shared = [ffn_forward(ffn, u) for ffn in params.shared]
    # A gate that is the constant 0 makes its expert irrelevant: it is not
    # evaluated.
    selected = np.flatnonzero(mask)
    routed = {i: ffn_forward(params.routed[i], u) for i in selected}
    shared_sum = sum(t.out for t in shared)
    routed_sum = sum(gates[i] * t.out for i, t in routed.items())
    out = u + shared_sum + routed_sum
    return MoETape(u, shared, routed, affinities, scores, mask, gates, out)


def squared_error(out: np.ndarray, target: np.ndarray) -> float:
    """The toy loss L = 1/2 ||h' - target||^2 that the gradients of 3(e)
    are taken of."""
    return 0.5 * float(np.sum((out - target) ** 2))


# Reverse pass: one local rule per node type


def sum_node_backward(
    adjoint: np.ndarray,
    n_terms: int,
) -> list[np.ndarray]:
    """v = sum_j c_j: dv/dc_j = 1, so every summand receives the adjoint
    unchanged (3(c))."""
    return [adjoint] * n_terms


def scale_node_backward(
    adjoint: np.ndarray,
    gate: float,
    vector: np.ndarray,
) -> tuple[float, np.ndarray]:
    """p = g y (a scalar times a vector, one product node per component,
    3(d)): the gate receives sum_k pbar_k y_k, the vector pbar g."""
    return float(adjoint @ vector), adjoint * gate


def relu_backward(adjoint: np.ndarray, pre: np.ndarray) -> np.ndarray:
    """z = relu(a): dz/da = 1 where a > 0, else 0."""
    return adjoint * (pre > 0)


def matvec_backward(
    adjoint: np.ndarray, matrix: np.ndarray, vector: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """y = M x, y_k = sum_j M_kj x_j: Mbar_kj = ybar_k x_j and
    xbar_j = sum_k ybar_k M_kj."""
    return np.outer(adjoint, vector), matrix.T @ adjoint


def softmax_backward(adjoint: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """s = Softmax(a): ds_i/da_j = s_i (delta_ij - s_j), so
    dL/da_j = s_j (dL/ds_j - sum_i s_i dL/ds_i).

    Works row-wise on a batch too (the toy router of 3(g)-(h) uses it that
    way).
    """
    weighted = np.sum(adjoint * scores, axis=-1, keepdims=True)
    return scores * (adjoint - weighted)


def ffn_backward(
    ffn: FFN,
    tape: FFNTape,
    u: np.ndarray,
    adjoint: np.ndarray,
) -> tuple[FFN, np.ndarray]:
    """y = W2 relu(W1 u + b1) + b2, read backwards: sum, matmul, relu,
    sum, matmul."""
    b2_bar, w2z_bar = sum_node_backward(adjoint, 2)
    w2_bar, z_bar = matvec_backward(w2z_bar, ffn["w2"], tape.hidden)
    a_bar = relu_backward(z_bar, tape.pre)
    b1_bar, w1u_bar = sum_node_backward(a_bar, 2)
    w1_bar, u_bar = matvec_backward(w1u_bar, ffn["w1"], u)
    return {"w1": w1_bar, "b1": b1_bar, "w2": w2_bar, "b2": b2_bar}, u_bar


def zero_ffn(ffn: FFN) -> FFN:
    return {name: np.zeros_like(value) for name, value in ffn.items()}


def moe_backward(
    params: MoEParams,
    tape: MoETape,
    out_adjoint: np.ndarray,
) -> MoEGrads:
    """All gradients of L, given hbar' = dL/dh' (the seed vbar_L = 1
    already pushed through L)."""
    n_shared, n_routed = len(params.shared), len(params.routed)
    # h' = u + sum of shared + sum of products: one sum node.
    n_terms = 1 + n_shared + len(tape.routed)
    residual_bar, *term_bars = sum_node_backward(out_adjoint, n_terms)
    u_bar = residual_bar.copy()

    shared_grads = []
    shared_bars = term_bars[:n_shared]
    shared = zip(params.shared, tape.shared, shared_bars, strict=True)
    for ffn, kept, bar in shared:
        grads, u_part = ffn_backward(ffn, kept, tape.u, bar)
        shared_grads.append(grads)
        u_bar += u_part

    # Product nodes g_i FFN_i^(r)(u). An expert that was not evaluated has
    # no product node: nothing reaches it, its parameters' gradient is
    # exactly zero.
    routed_grads = [zero_ffn(ffn) for ffn in params.routed]
    gate_bar = np.zeros(n_routed)
    routed_bars = term_bars[n_shared:]
    routed = zip(tape.routed.items(), routed_bars, strict=True)
    for (i, kept), bar in routed:
        gate = tape.gates[i]
        gate_bar[i], out_bar = scale_node_backward(bar, gate, kept.out)
        ffn = params.routed[i]
        routed_grads[i], u_part = ffn_backward(ffn, kept, tape.u, out_bar)
        u_bar += u_part

    # g = s k, with the mask k a constant (its derivative is zero almost
    # everywhere).
    score_bar = gate_bar * tape.mask
    affinity_bar = softmax_backward(score_bar, tape.scores)
    e_bar, u_part = matvec_backward(affinity_bar, params.centroids, tape.u)
    u_bar += u_part
    return MoEGrads(
        shared_grads,
        routed_grads,
        e_bar,
        u_bar,
        gate_bar,
        score_bar,
    )


# Checking: central finite differences


def central_differences(
    loss: Callable[[], float],
    arrays: list[np.ndarray],
    step: float,
) -> list[np.ndarray]:
    """dloss/dx for every entry x of `arrays`, by
    (L(x + h) - L(x - h)) / 2h.

    The entries are perturbed in place and restored, so `loss` reads the
    current values.
    """
    gradients = []
    for array in arrays:
        gradient = np.zeros_like(array)
        for index in np.ndindex(array.shape):
            kept = array[index]
            array[index] = kept + step
            up = loss()
            array[index] = kept - step
            down = loss()
            array[index] = kept
            gradient[index] = (up - down) / (2 * step)
        gradients.append(gradient)
    return gradients


def ffn_norm(ffn: FFN) -> float:
    """The Euclidean norm of all of one expert's parameters (or gradients)
    together."""
    return float(np.sqrt(sum(np.sum(value**2) for value in ffn.values())))
