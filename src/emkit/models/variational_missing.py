"""Missing values (NaN cells) in the variational E-step of the Bayesian Gaussian mixture.

Values are assumed missing at random, as in :mod:`emkit.families.gaussian_missing`: the
missing cells ``x_im`` of row ``i`` (coordinates ``m``, observed ones ``o``, ``p_o = |o|``,
``|m| = D - p_o``) become latent variables, and the mean-field family of
:mod:`emkit.models.variational_mixture` gets a structured factor for them::

    q(Z, X_m, pi, mu, Lambda) = prod_i q(z_i) q(x_im | z_i)  q(pi)  prod_k q(mu_k, Lambda_k)

Coordinate ascent on this family is exact, so the evidence lower bound (ELBO) stays a true
lower bound on ``log p(X_o)`` and never decreases. The derivation, for one row and one
component ``k`` (write ``P = nu_k W_k`` for the expected precision, ``S = P^-1`` the
model's ``covariances``, ``d = x - m_k``):

1. Under ``q(mu_k, Lambda_k) = N(m_k, (beta_k Lambda_k)^-1) Wishart(W_k, nu_k)``,
   ``E[log N(x | mu_k, Lambda_k^-1)] = 1/2 E[log|Lambda_k|] - D/2 log 2 pi - D/(2 beta_k)
   - 1/2 d^T P d``: a quadratic in the whole ``x``, missing coordinates included
   (``E[Lambda mu] = P m_k``; ``E[(x - mu)^T Lambda (x - mu)] = d^T P d + D / beta_k``).
2. The optimal ``q(x_m | z = k)`` is therefore Gaussian, with precision ``P_mm`` and mean
   ``a = m_km - P_mm^-1 P_mo d_o`` (``= m_km + S_mo S_oo^-1 d_o``): the conditional
   Gaussian of ``x_m`` given ``x_o`` under ``N(m_k, S)``, i.e.
   :func:`emkit.families.gaussian_missing.conditional_gaussians` at the model's means and
   covariances.
3. For any ``q(x_m | z = k) = N(a, C)``, the row's term under ``k`` is
   ``E_q[E[log N(x | mu_k, Lambda_k^-1)]] + H[q(x_m | z = k)]`` with
   ``E_q[d^T P d] = d_bar^T P d_bar + tr(P_mm C)`` (``d_bar`` the deviation of the
   completed row ``(x_o, a)``) and ``H = |m|/2 (1 + log 2 pi) + 1/2 log|C|``. At the
   optimum of 2, ``d_bar^T P d_bar = d_o^T (P_oo - P_om P_mm^-1 P_mo) d_o = d_o^T S_oo^-1
   d_o`` (the Schur complement of ``P`` on the observed block is the precision of the
   observed marginal), and ``tr(P_mm C) = |m|`` cancels the ``|m|/2`` of the entropy. The
   ``|m|/2 log 2 pi`` of the entropy turns ``D/2 log 2 pi`` into ``p_o/2 log 2 pi``, and
   ``log|C| = -log|P_mm| = -log|P| + log|S_oo^-1|`` (``|P| = |P_mm| |S_oo^-1|``), so

   ``log rho_ik = E[log pi_k] + log N(x_io | m_ko, S_k,oo)
                  + 1/2 (E[log|Lambda_k|] - log|P|) - D/(2 beta_k)``.

   The Gaussian part is the observed-coordinate density (``p_o`` in its normaliser, the
   observed block of ``S``); what the Wishart and the mean's spread add is *unchanged*, with
   the full ``D``: ``Lambda_k`` is a (D, D) precision whatever is observed, and the mean's
   spread enters through every coordinate, the missing ones via ``x_m``. With nothing
   missing this is the complete-data ``log rho_ik`` of
   :meth:`~emkit.models.variational_mixture.VariationalGaussianMixture.log_joint`.
4. With ``q(z_i = k)`` proportional to ``rho_ik`` the row's part of the ELBO is
   ``log sum_k rho_ik``, additive over rows, exactly as without NaN.
5. The variational M-step reads the data through ``sum_i r_ik E_q[x_i | k]`` and
   ``sum_i r_ik E_q[x_i x_i^T | k]``: the completed rows ``(x_o, a)`` and their outer
   products, with ``C = P_mm^-1 = S_mm - S_mo S_oo^-1 S_om`` added on the missing block.
   These are the statistics of the maximum-likelihood E-step at ``(m_k, S_k)``
   (:func:`emkit.families.gaussian_missing.missing_mixture_e_step`), so that pass serves
   here unchanged. Since the log-joint is linear in these statistics, the conjugate updates
   from them maximise the bound over ``q(pi) q(mu, Lambda)`` for every covariance structure
   the model has ('full', 'tied', 'diag', 'spherical': a tied ``P`` is shared, a diagonal
   one makes every missing coordinate decouple, ``a = m_km`` and ``C = 1 / P_mm``).

A row with nothing observed is no data (``p(x_o)`` of an empty ``o`` is one): it is left
out of the E-step (no ``q(z_i)``, no statistics, nothing added to the bound), as in the
maximum-likelihood mixture, and its posterior over the components is the expected mixing
weights.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from emkit.families.covariance import CovarianceStructure
from emkit.families.gaussian import GaussianStats
from emkit.families.gaussian_missing import missing_log_prob, missing_mixture_e_step, split_rows

__all__ = ["e_step_with_missing", "log_joint_with_missing"]

CompleteEStep = Callable[[np.ndarray, "np.ndarray | None"], tuple[GaussianStats, float]]
"""``(X, sample_weight) -> (stats, bound)`` of rows without NaN (the model's compiled pass)."""


def e_step_with_missing(
    structure: CovarianceStructure,
    means: np.ndarray,
    covariances: np.ndarray,
    log_weights: np.ndarray,
    X: np.ndarray,
    sample_weight: np.ndarray | None,
    hard: bool,
    complete: CompleteEStep,
) -> tuple[GaussianStats, float]:
    """The variational E-step of a batch ``X`` (n_samples, n_features) holding NaN cells.

    Parameters
    ----------
    structure : CovarianceStructure
    means : ndarray of shape (n_components, n_features)
        ``m_k``.
    covariances : ndarray
        ``(nu_k W_k)^-1``, shaped by ``structure``.
    log_weights : ndarray of shape (n_components,)
        What ``log rho_ik`` adds to the Gaussian log-density (see the module notes, 3).
    X : ndarray of shape (n_samples, n_features)
        float64 or float32, NaN where a cell is missing.
    sample_weight : ndarray of shape (n_samples,) or None
    hard : bool
        Point masses ``q(z_i)`` on the largest ``log rho_ik``.
    complete : callable
        The E-step of the rows without NaN.

    Returns
    -------
    stats : GaussianStats
        About ``means``: responsibilities times the completed rows, the conditional
        covariances ``(nu_k W_k,mm)^-1`` added to the second moments.
    bound : float
        The batch's data part of the ELBO; rows with nothing observed add nothing.
    """
    split = split_rows(X)
    w = None if sample_weight is None else np.asarray(sample_weight, np.float64)
    stats, bound = complete(X[split.complete], None if w is None else w[split.complete])
    sum_w, first, second, partial_bound = missing_mixture_e_step(
        structure,
        means,
        covariances,
        log_weights,
        X[split.partial],
        None if w is None else w[split.partial],
        hard,
    )
    partial = GaussianStats(sum_w, first, second, means, structure)
    return stats + partial, bound + partial_bound


def log_joint_with_missing(
    structure: CovarianceStructure,
    means: np.ndarray,
    covariances: np.ndarray,
    log_weights: np.ndarray,
    X: np.ndarray,
    complete: Callable[[np.ndarray], np.ndarray],
    unobserved: np.ndarray,
) -> np.ndarray:
    """``log rho_ik`` of the rows of ``X`` (n_samples, n_features) holding NaN cells, shape
    (n_samples, n_components).

    Rows without NaN get ``complete(rows)``; partly observed rows the observed-coordinate
    ``log rho_ik`` of the module notes (3), from ``means``, ``covariances`` and
    ``log_weights`` as in :func:`e_step_with_missing`; rows with nothing observed
    ``unobserved`` (n_components,), which the caller makes the log of the expected mixing
    weights.
    """
    split = split_rows(X)
    out = np.empty((X.shape[0], means.shape[0]))
    if split.complete.size:
        out[split.complete] = complete(X[split.complete])
    if split.partial.size:
        partial = missing_log_prob(structure, means, covariances, X[split.partial])
        out[split.partial] = partial + log_weights
    out[split.empty] = unobserved
    return out
