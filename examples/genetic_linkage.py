"""Write your own latent-variable model: the genetic-linkage multinomial.

The classic first example of EM (Rao 1973; Dempster, Laird & Rubin 1977): 197 animals fall
into four categories with counts (125, 18, 20, 34) and probabilities
(1/2 + t/4, (1 - t)/4, (1 - t)/4, t/4). Splitting the first cell into a latent pair with
probabilities 1/2 and t/4 turns the likelihood into a binomial one, so the M-step is a ratio
of counts. Run with ``PYTHONPATH=src python examples/genetic_linkage.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import emkit
from emkit.core.stats import Additive

COUNTS = np.array([125, 18, 20, 34])
THETA_HAT = (15 + np.sqrt(15**2 + 4 * 197 * 68)) / (2 * 197)  # root of 197t^2 - 15t - 68


@dataclass(frozen=True)
class LinkageParams:
    theta: float


@dataclass(frozen=True, eq=False)
class LinkageStats(Additive):
    # Both fields are sums over samples, so the statistics of chunks add up to those of the
    # whole data set: that is all the driver needs to fit over chunks, threads or a cluster.
    latent: float  # expected count of the t/4 half of cell 1
    counts: np.ndarray  # (weighted) counts of the four observed cells


def cell_log_probs(theta: float) -> np.ndarray:
    # At theta = 0 or 1, where the MLE can lie when some cells are empty, a cell has
    # probability zero, and -inf is its exact log-probability, not an error.
    with np.errstate(divide="ignore"):
        return np.log([0.5 + theta / 4, (1 - theta) / 4, (1 - theta) / 4, theta / 4])


def _cells(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != 1:
        raise ValueError(f"X must have shape (n_samples, 1), got {X.shape}")
    cells = X[:, 0].astype(np.intp)
    # Refuse rather than round or clip: a category 2.5 or 7 is a bug in the caller's data.
    if np.any(cells != X[:, 0]) or np.any((cells < 0) | (cells > 3)):
        raise ValueError("X must hold category indices 0, 1, 2 or 3")
    return cells


class GeneticLinkage:
    """The linkage model; X has shape (n_samples, 1) and holds category indices 0..3."""

    def init(self, X, random_state, sample_weight=None) -> LinkageParams:
        # Keep away from 0 and 1, where an observed cell would have probability zero.
        return LinkageParams(theta=float(random_state.uniform(0.05, 0.95)))

    def e_step(self, params, X, sample_weight=None, *, hard=False):
        if hard:
            raise NotImplementedError("GeneticLinkage supports soft EM only")
        w = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        counts = np.bincount(_cells(X), weights=w, minlength=4).astype(np.float64)
        t = params.theta
        latent = counts[0] * (t / 4) / (0.5 + t / 4)
        seen = counts > 0  # an empty cell adds nothing, even where its log-probability is -inf
        loglik = float(counts[seen] @ cell_log_probs(t)[seen])
        return LinkageStats(latent=latent, counts=counts), loglik

    def m_step(self, stats: LinkageStats, params: LinkageParams) -> LinkageParams:
        # The complete-data MLE: successes (latent + cell 4) over trials (all but the 1/2 half).
        y = stats.counts
        return LinkageParams(theta=float((stats.latent + y[3]) / (stats.latent + y[1:].sum())))

    def log_prob(self, params: LinkageParams, X: np.ndarray) -> np.ndarray:
        return cell_log_probs(params.theta)[_cells(X)]


def per_animal() -> np.ndarray:
    """One row per animal: shape (197, 1)."""
    return np.repeat(np.arange(4), COUNTS)[:, None]


def per_category() -> tuple[np.ndarray, np.ndarray]:
    """One row per category, weighted by its count: shapes (4, 1) and (4,)."""
    return np.arange(4)[:, None], COUNTS.astype(np.float64)


if __name__ == "__main__":
    model = GeneticLinkage()
    thetas: list[float] = []  # the driver hands every iterate to the callback
    fit = emkit.fit_em(
        model,
        per_animal(),
        tol=1e-12,
        max_iter=100,
        init=LinkageParams(theta=0.5),
        callback=lambda info: thetas.append(info.params.theta),
    )
    X4, w4 = per_category()
    fit4 = emkit.fit_em(
        model, X4, sample_weight=w4, tol=1e-12, max_iter=100, init=LinkageParams(theta=0.5)
    )
    print(f"closed form      theta = {THETA_HAT:.10f}")
    print(
        f"197 animal rows  theta = {fit.params.theta:.10f}  ({fit.n_iter} iterations, "
        f"converged={fit.converged})"
    )
    same = np.array_equal(fit4.lower_bounds, fit.lower_bounds)
    print(f"4 weighted rows  theta = {fit4.params.theta:.10f}  (same bound history: {same})")

    # DLR's Table 1: the error shrinks by a constant factor (the rate of EM) every iteration.
    print("\n p   theta^(p)     theta^(p) - theta_hat   ratio    mean log-likelihood")
    for p, (theta, bound) in enumerate(zip(thetas, fit.lower_bounds, strict=True)):
        err = theta - THETA_HAT
        ratio = f"{err / (thetas[p - 1] - THETA_HAT):.4f}" if p else "      "
        print(f"{p:2d}   {theta:.9f}   {err:+.6e}           {ratio}   {bound:.15f}")

    # tol bounds the change of the mean log-likelihood, which is flat at its maximum, so theta
    # is only within about sqrt(tol / curvature) of the MLE. With tol=0, EM runs max_iter
    # iterations and settles on the floating-point fixed point of the EM map.
    more = emkit.fit_em(model, per_animal(), tol=0.0, max_iter=30, init=fit.params)
    print(
        f"\n30 more iterations: theta = {more.params.theta:.10f}, "
        f"|theta - closed form| = {abs(more.params.theta - THETA_HAT):.1e}"
    )
