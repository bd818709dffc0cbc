"""The Student-t E-step of rows with missing values (NaN), conditioned on what is observed.

Values are assumed missing at random, as for the Gaussian family
(:mod:`emkit.families.gaussian_missing`), and EM treats the missing cells as latent beside
the hidden precision scale ``tau`` (Liu and Rubin, *Statistica Sinica* 5, 1995, the
missing-data case; applied per component). For a row with observed coordinates ``o``
(``p_o`` of them) and missing ones ``m``, under component ``k`` with location ``mu``, scale
matrix ``Sigma`` and degrees of freedom ``nu``:

- ``x | tau ~ N(mu, Sigma / tau)`` gives ``x_o | tau ~ N(mu_o, Sigma_oo / tau)``, so with
  ``tau ~ Gamma(nu / 2, rate nu / 2)`` the observed coordinates are ``t_nu(mu_o, Sigma_oo)``
  (the same degrees of freedom): the row's log-likelihood is that density, with the squared
  Mahalanobis distance ``delta_o = (x_o - mu_o)^T Sigma_oo^-1 (x_o - mu_o)`` and ``p_o`` in
  place of ``delta`` and ``D``.
- ``p(tau | x_o)`` is proportional to ``tau^(nu/2 - 1) e^(-nu tau / 2) tau^(p_o / 2)
  e^(-tau delta_o / 2)``: a Gamma of shape ``(nu + p_o) / 2`` and rate ``(nu + delta_o) / 2``,
  so ``u = E[tau | x_o] = (nu + p_o) / (nu + delta_o)`` and
  ``E[log tau | x_o] = psi((nu + p_o) / 2) - log((nu + delta_o) / 2)``.
- Given ``tau`` the Gaussian conditioning holds with ``Sigma / tau``:
  ``x_m | x_o, tau ~ N(xhat_m, Sigma_m|o / tau)`` with
  ``xhat_m = mu_m + Sigma_mo Sigma_oo^-1 (x_o - mu_o)`` (free of ``tau``) and
  ``Sigma_m|o = Sigma_mm - Sigma_mo Sigma_oo^-1 Sigma_om``.

With ``xhat`` the row completed by ``xhat_m`` and ``c`` any centre, the moments the family's
M-step reads are then, for a weight ``w`` (responsibility times sample weight),

- ``E[w tau] = w u``;
- ``E[w tau (x - c)] = w E[tau E[x | x_o, tau]] - w u c = w u (xhat - c)``;
- ``E[w tau (x - c)(x - c)^T] = w E[tau ((xhat - c)(xhat - c)^T + Sigma_m|o / tau)]
  = w u (xhat - c)(xhat - c)^T + w Sigma_m|o`` on the missing block: the conditional
  covariance weighted by ``w``, not by ``w u``, since the ``1 / tau`` cancels ``tau``;
- ``E[w log tau]``, with ``p_o`` in place of ``D``.

The expected complete-data log-likelihood thus keeps its form, a Gaussian part with weights
``w u`` and a Gamma part in ``nu`` whose score equation reads ``sum w (E[log tau] - u + 1)``:
the family's M-step, its degrees-of-freedom updates included (per component, shared or
fixed), needs no change, and EM stays monotone in the observed-data likelihood.

Full and tied scale matrices (and mclust's models stored as them) go one missingness pattern
at a time, through the Gaussian family's blocks (one Cholesky factor of ``Sigma_koo`` per
pattern and component, vectorised over the pattern's rows and the components). With
diagonal and spherical scale matrices a missing coordinate drops out (``xhat_m = mu_m``,
``Sigma_m|o`` its variance). Rows with nothing observed have likelihood one: they are left
out (no statistics, nothing added to the log-likelihood). Rows without NaN never come here.

Imputation (:class:`StudentImputation`): ``x_m | x_o`` under component ``k`` is a t with
``nu + p_o`` degrees of freedom, location ``xhat_m`` and scale matrix
``(nu + delta_o) / (nu + p_o) Sigma_m|o``; its covariance is
``E[1 / tau | x_o] Sigma_m|o = (nu + delta_o) / (nu + p_o - 2) Sigma_m|o`` (infinite when
``nu + p_o <= 2``). A draw takes ``tau`` from its Gamma posterior, then the Gaussian.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from scipy.special import digamma, gammaln

from emkit.families.covariance import CovarianceStructure
from emkit.families.gaussian_missing import (
    _blocks,
    _Masked,
    _Pattern,
    _reduce,
    conditional_gaussians,
    conditional_moments,
)
from emkit.families.imputation import Imputation, _mixed
from emkit.numerics.logspace import responsibilities

if TYPE_CHECKING:
    from emkit.families.student import StudentParams, StudentT


class MissingMoments(NamedTuple):
    """Sums over partly observed rows, as :class:`emkit.families.student.StudentStats`
    holds them (centred on the locations), and their log-likelihood.

    Attributes
    ----------
    sum_w : ndarray of shape (n_components,)
    sum_wu : ndarray of shape (n_components,)
    sum_dx : ndarray of shape (n_components, n_features)
    scatter : ndarray
        Reduced to the covariance structure's scatter shape.
    sum_w_log_tau : ndarray of shape (n_components,)
    loglik : float
        Summed (weighted) log-likelihood of the rows' observed coordinates (0 when the
        weights were given).
    """

    sum_w: np.ndarray
    sum_wu: np.ndarray
    sum_dx: np.ndarray
    scatter: np.ndarray
    sum_w_log_tau: np.ndarray
    loglik: float


class _Observed(NamedTuple):
    """What a block of rows shows under every component.

    ``delta`` (n_rows, K) the squared Mahalanobis distances of the observed coordinates,
    ``half_log_det`` (n_rows, K) or (K,) ``log|Sigma_koo| / 2``, ``n_observed`` (n_rows, 1)
    or a number, ``p_o``."""

    delta: np.ndarray
    half_log_det: np.ndarray
    n_observed: np.ndarray | int


def _observed(block: _Pattern | _Masked, z: np.ndarray) -> _Observed:
    """:class:`_Observed` of a block from its ``whitened()`` deviations ``z``."""
    if isinstance(block, _Pattern):
        delta = np.einsum("kni,kni->nk", z, z)
        return _Observed(delta, block.log_det, block.observed.size)
    # A masked block: z is the observed mask, and the coordinates are independent.
    k = block.means.shape[0]
    delta = np.empty((block.X.shape[0], k))
    for c in range(k):
        dev = np.where(z, block.X - block.means[c], 0.0)
        delta[:, c] = (dev * dev) @ (1.0 / block.variances[c])
    half_log_det = 0.5 * (z @ np.log(block.variances).T)
    return _Observed(delta, half_log_det, z.sum(axis=1, keepdims=True))


def _log_density(seen: _Observed, dof: np.ndarray) -> np.ndarray:
    """``log t_nu(x_o | mu_o, Sigma_oo)``, shape (n_rows, K)."""
    p = seen.n_observed
    half = 0.5 * (dof + p)
    return (
        gammaln(half)
        - gammaln(0.5 * dof)
        - 0.5 * p * np.log(np.pi * dof)
        - seen.half_log_det
        - half * np.log1p(seen.delta / dof)
    )


def _block_moments(
    block: _Pattern | _Masked,
    z: np.ndarray,
    seen: _Observed,
    dof: np.ndarray,
    means: np.ndarray,
    resp: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """``(sum_w, sum_wu, sum_dx, second, sum_w_log_tau)`` of one block with weights ``resp``
    (n_rows, K), the second moments unreduced (see the module notes)."""
    shape = dof + seen.n_observed
    shifted = dof + seen.delta
    u = shape / shifted
    # E[log tau] = psi(a) - log(b), a = (nu + p_o) / 2, b = (nu + delta_o) / 2.
    log_tau = digamma(0.5 * shape) - np.log(0.5 * shifted)
    wu = resp * u
    first, second = block.moments(z, wu, means)
    # The Gaussian block weighs the conditional covariance of the missing cells by its
    # weights, here w u; it is due with w (the module notes), so add w - w u of it.
    extra = resp - wu
    if isinstance(block, _Pattern):
        m = block.missing
        second[:, m[:, None], m[None, :]] += extra.sum(axis=0)[:, None, None] * block.residual
    else:
        second += (extra.T @ (~z).astype(np.float64)) * block.variances
    return resp.sum(axis=0), wu.sum(axis=0), first, second, np.einsum("nk,nk->k", resp, log_tau)


def _partial_blocks(
    structure: CovarianceStructure, params: StudentParams, X: np.ndarray
) -> Iterator[tuple[np.ndarray, _Pattern | _Masked, np.ndarray, _Observed]]:
    """``(rows, block, z, observed)`` over the partly observed rows ``X`` (n, D)."""
    X = np.asarray(X, dtype=np.float64)
    for rows, block in _blocks(structure, params.means, params.covariances, X):
        z = block.whitened()
        yield rows, block, z, _observed(block, z)


def missing_log_prob(
    structure: CovarianceStructure, params: StudentParams, X: np.ndarray
) -> np.ndarray:
    """``log t_nu_k(x_io | mu_ko, Sigma_koo)`` of partly observed rows ``X`` (n, D), shape
    (n, K)."""
    out = np.empty((X.shape[0], params.means.shape[0]))
    for rows, _, _, seen in _partial_blocks(structure, params, X):
        out[rows] = _log_density(seen, params.dof)
    return out


def _accumulate(
    structure: CovarianceStructure,
    params: StudentParams,
    X: np.ndarray,
    weigh: Callable[[np.ndarray, _Observed], tuple[np.ndarray, float]],
) -> MissingMoments:
    """The moments of partly observed rows ``X``, every block weighted by
    ``weigh(rows, observed) -> (resp, loglik)`` (``observed`` the block's :class:`_Observed`)."""
    k, d = params.means.shape
    sums = [np.zeros(k), np.zeros(k), np.zeros((k, d))]
    second = np.zeros((k, d, d) if structure.matrices else (k, d))
    sum_w_log_tau = np.zeros(k)
    loglik = 0.0
    for rows, block, z, seen in _partial_blocks(structure, params, X):
        resp, ll = weigh(rows, seen)
        sw, swu, first, sec, slt = _block_moments(block, z, seen, params.dof, params.means, resp)
        sums[0] += sw
        sums[1] += swu
        sums[2] += first
        second += sec
        sum_w_log_tau += slt
        loglik += ll
    return MissingMoments(*sums, _reduce(structure, second), sum_w_log_tau, loglik)


def missing_stats(
    structure: CovarianceStructure, params: StudentParams, X: np.ndarray, resp: np.ndarray
) -> MissingMoments:
    """The moments of partly observed rows ``X`` (n, D) with weights ``resp`` (n, K),
    conditioned on their observed coordinates (``loglik`` is 0)."""
    resp = np.asarray(resp, dtype=np.float64)
    return _accumulate(structure, params, X, lambda rows, seen: (resp[rows], 0.0))


def missing_mixture_e_step(
    structure: CovarianceStructure,
    params: StudentParams,
    log_weights: np.ndarray,
    X: np.ndarray,
    sample_weight: np.ndarray | None,
    hard: bool,
) -> MissingMoments:
    """The mixture E-step of partly observed rows ``X`` (n, D): one factorisation per
    pattern and component serves the scores and the moments.

    Parameters
    ----------
    structure : CovarianceStructure
    params : StudentParams
    log_weights : ndarray of shape (n_components,)
    X : ndarray of shape (n_samples, n_features)
        Every row with some, not all, coordinates observed.
    sample_weight : ndarray of shape (n_samples,) or None
    hard : bool
        Classification EM.
    """

    def weigh(rows: np.ndarray, seen: _Observed) -> tuple[np.ndarray, float]:
        log_joint = _log_density(seen, params.dof)
        log_joint += log_weights
        w = None if sample_weight is None else sample_weight[rows]
        return responsibilities(log_joint, w, hard)

    return _accumulate(structure, params, X, weigh)


# -- imputation: the missing coordinates given the observed ones --------------------------
def observed_distances(
    structure: CovarianceStructure, params: StudentParams, X: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``delta_o`` (n, K), the squared Mahalanobis distances of every row's observed
    coordinates (0 for a row with nothing observed), and ``p_o`` (n,), their numbers."""
    X = np.asarray(X, dtype=np.float64)
    observed = ~np.isnan(X)
    n_observed = observed.sum(axis=1)
    delta = np.zeros((X.shape[0], params.means.shape[0]))
    seen = np.flatnonzero(n_observed > 0)
    for rows, _, _, obs in _partial_blocks(structure, params, X[seen]):
        delta[seen[rows]] = obs.delta
    return delta, n_observed


def _posterior_shape_rate(
    structure: CovarianceStructure, params: StudentParams, X: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Shape ``(nu + p_o) / 2`` and rate ``(nu + delta_o) / 2`` of ``tau | x_o``, both
    (n, K)."""
    delta, n_observed = observed_distances(structure, params, X)
    dof = np.asarray(params.dof, dtype=np.float64)
    return 0.5 * (dof + n_observed[:, None]), 0.5 * (dof + delta)


class StudentImputation(Imputation):
    """The conditional t of the missing coordinates given the observed ones (see the module
    notes): the Gaussian's conditional means, its conditional covariances scaled by
    ``E[1 / tau | x_o] = (nu + delta_o) / (nu + p_o - 2)``.

    The standard deviation of a missing cell is infinite where a component of positive
    posterior has ``nu + p_o <= 2``."""

    def impute(
        self, family: StudentT, params: StudentParams, X: np.ndarray, resp: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        structure = family.covariance
        means, variances = conditional_moments(structure, params.means, params.covariances, X)
        shape, rate = _posterior_shape_rate(structure, params, X)
        with np.errstate(divide="ignore"):
            inverse_tau = np.where(shape > 1.0, rate / np.maximum(shape - 1.0, 0.0), np.inf)
        # Observed cells have no variance whatever E[1 / tau]; missing ones are scaled.
        variances = np.where(np.isnan(X)[:, None, :], variances * inverse_tau[:, :, None], 0.0)
        return _mixed(X, resp, means, variances)

    def draw(
        self,
        family: StudentT,
        params: StudentParams,
        X: np.ndarray,
        components: np.ndarray,
        rng: np.random.RandomState,
    ) -> np.ndarray:
        out = X.copy()
        structure = family.covariance
        rows = np.arange(X.shape[0])
        shape, rate = _posterior_shape_rate(structure, params, X)
        tau = rng.gamma(shape[rows, components], 1.0 / rate[rows, components])
        scale = 1.0 / np.sqrt(tau)
        if not structure.matrices:
            means, variances = conditional_moments(structure, params.means, params.covariances, X)
            missing = np.isnan(X)
            noise = rng.standard_normal(X.shape)
            drawn = means[rows, components] + np.sqrt(variances[rows, components]) * (
                noise * scale[:, None]
            )
            out[missing] = drawn[missing]
            return out
        for c in conditional_gaussians(structure, params.means, params.covariances, X):
            chol = np.linalg.cholesky(c.covariances)
            picked = components[c.rows]
            noise = rng.standard_normal((c.rows.size, c.missing.size)) * scale[c.rows, None]
            drawn = c.means[picked, np.arange(c.rows.size)]
            drawn += np.einsum("nij,nj->ni", chol[picked], noise)
            out[np.ix_(c.rows, c.missing)] = drawn
        return out
