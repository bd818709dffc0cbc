"""Latent linear Gaussian models: factor analysis and probabilistic PCA, for the one EM driver.

Both say ``x = mean + L z + e`` with ``z ~ N(0, I_k)`` and ``e ~ N(0, Psi)``, so that
``x ~ N(mean, L L^T + Psi)``; factor analysis has a diagonal ``Psi`` (:class:`DiagonalNoise`),
probabilistic PCA (Tipping and Bishop 1999) ``Psi = sigma^2 I`` (:class:`IsotropicNoise`).

How the fit runs (and why so)
-----------------------------
With complete data the sample mean and covariance are sufficient: the likelihood of the rows
is a function of them alone. So a fit reads the data once, for the :class:`Moments`
(:func:`data_moments`: additive statistics summed by the executor over the source's chunks,
so that arrays, chunks, threads, files from ``emkit.open_data`` and Dask collections all
give them), and every EM iteration after that works on D x D matrices only.

Those iterations still run through the one driver, :func:`emkit.core.driver.fit_em`: its
data is a source of one "row" (:class:`MomentRows`), a :class:`CovarianceBlock` holding the
mean and covariance of the data, whose weight is the number of samples. That row is exactly
what the rows it summarises are to the model: :class:`CovarianceModel`'s E-step of the block
returns the expected complete-data statistics of all the rows (Rubin and Thayer 1982:
``beta = L^T (L L^T + Psi)^-1`` applied to the covariance) and their exact log-likelihood
under ``N(mean, L L^T + Psi)``; the M-step is the same as for rows. The driver thus keeps
everything it owns (convergence, the monotonicity check of the bound at every step, SQUAREM,
callbacks, the final E-step) and no model has a loop of its own. The alternative, an E-step
per pass over the rows, gives the same iterates at the cost of a pass per iteration.

With missing values (NaN) the moments are no longer sufficient. :class:`RowModel` then runs
the conditional E-step on the rows, each iteration a pass: rows are grouped by their pattern
of missing values, the posterior of ``z`` given a row's observed coordinates is formed once
per pattern (a k x k Cholesky factor), and the expected missing coordinates and their
conditional (co)variances enter the statistics. Its bound is the observed-data
log-likelihood, the sum of the marginal Gaussian densities of every row's observed
coordinates. This assumes the values are missing at random (whether a value is missing may
depend on the observed values, not on the missing one); otherwise the fit is biased. With no
NaN, :class:`RowModel` gives the statistics :class:`CovarianceModel` gives, up to round-off.

Both share the statistics (:class:`LatentLinearStats`: the regression of ``x`` on
``(z, 1)``) and the M-step: ``[L, mean] = E[x z~^T] E[z~ z~^T]^-1`` and
``Psi = diag(E[x x^T] - [L, mean] E[z~ x^T])``, with ``Psi`` averaged over the features for
PPCA. A variance that would fall below its floor (:attr:`LatentLinearModel.floor`, a
Heywood case for factor analysis) is held at the floor: the constrained maximum of the
M-step's objective, which is separable in the variances, so EM stays monotone.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from emkit.core.stats import Additive
from emkit.exceptions import DegenerateFitError
from emkit.execution.sources import DEFAULT_CHUNK_SIZE, Chunk, RowSource, as_source

__all__ = [
    "CovarianceBlock",
    "CovarianceModel",
    "DiagonalNoise",
    "IsotropicNoise",
    "LatentLinearModel",
    "LatentLinearParams",
    "LatentLinearStats",
    "MomentRows",
    "Moments",
    "RowModel",
    "data_moments",
    "gaussian_loglik",
    "moments_of",
]

LOG_2PI = math.log(2.0 * math.pi)


# -- the moments of the data (one pass) ----------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Moments(Additive):
    """Weighted first and second moments of rows that may hold NaN, about ``center``.

    Pairs of features are counted over the rows where both are observed, so that with
    missing values the statistics give pairwise means and covariances (a starting point),
    and without them the sample mean and covariance.

    Attributes
    ----------
    center : ndarray of shape (n_features,)
        The reference the sums are taken about (not a sum).
    count : ndarray of shape (n_features, n_features)
        ``count[i, j]``: weight of the rows where features i and j are both observed.
    sums : ndarray of shape (n_features, n_features)
        ``sums[i, j] = sum w (x_i - center_i)`` over those rows.
    scatter : ndarray of shape (n_features, n_features)
        ``sum w (x_i - center_i) (x_j - center_j)`` over those rows.
    weight : float
        Weight of all the rows.
    n_missing : float
        Number of missing values (NaN) read.
    """

    references: ClassVar[tuple[str, ...]] = ("center",)
    center: np.ndarray
    count: np.ndarray
    sums: np.ndarray
    scatter: np.ndarray
    weight: float
    n_missing: float

    def rebased(self, like: Moments) -> Moments:
        delta = self.center - like.center
        sums = self.sums + delta[:, None] * self.count
        scatter = (
            self.scatter
            + delta[:, None] * self.sums.T
            + delta[None, :] * self.sums
            + np.outer(delta, delta) * self.count
        )
        return Moments(like.center, self.count, sums, scatter, self.weight, self.n_missing)

    @property
    def n_features(self) -> int:
        return int(self.center.shape[0])

    @property
    def complete(self) -> bool:
        """Whether no value was missing."""
        return self.n_missing == 0

    def mean(self) -> np.ndarray:
        """Mean of every feature over the rows where it is observed, shape (n_features,)."""
        observed = np.diag(self.count)
        with np.errstate(invalid="ignore", divide="ignore"):
            shift = np.where(observed > 0, np.diag(self.sums) / observed, 0.0)
        return self.center + shift

    def covariance(self) -> np.ndarray:
        """Covariance (denominator: the weight) of the features, shape (n_features,
        n_features): the sample covariance without missing values, else the pairwise one
        (over the rows where both features are observed; not always positive
        semi-definite)."""
        count = np.where(self.count > 0, self.count, 1.0)
        mean_i = self.sums / count
        cov = self.scatter / count - mean_i * mean_i.T
        return (cov + cov.T) / 2.0


def moments_of(X: Any, sample_weight: np.ndarray | None = None) -> Moments:
    """The :class:`Moments` of rows ``X`` of shape (n_samples, n_features) (NaN for missing
    values), accumulated in float64 about the rows' own means.

    Raises
    ------
    TypeError
        When ``X`` is a sparse matrix.
    """
    if sp.issparse(X):
        raise TypeError("factor models need dense rows: give X.toarray()")
    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    mask = np.isnan(X)
    n_missing = float(np.count_nonzero(mask))
    if n == 0:
        zeros = np.zeros((d, d))
        return Moments(np.zeros(d), zeros, zeros, zeros, 0.0, 0.0)
    if not n_missing:
        center = X.mean(axis=0)
        A = X - center
        column = w @ A
        total = float(w.sum())
        return Moments(
            center,
            np.full((d, d), total),
            np.repeat(column[:, None], d, axis=1),
            A.T @ (A * w[:, None]),
            total,
            0.0,
        )
    observed = ~mask
    with np.errstate(invalid="ignore"):
        n_obs = observed.sum(axis=0)
        center = np.where(n_obs > 0, np.nansum(X, axis=0) / np.maximum(n_obs, 1), 0.0)
    A = np.where(mask, 0.0, X - center)
    O = observed.astype(np.float64)
    Ow = O * w[:, None]
    return Moments(center, O.T @ Ow, A.T @ Ow, A.T @ (A * w[:, None]), float(w.sum()), n_missing)


def data_moments(data: Any, *, chunk_size: int | None = None, n_jobs: int | None = None) -> Moments:
    """The :class:`Moments` of all the rows of ``data`` (an array, a row source, chunks, a
    dask collection) in one pass, on the executor of the fit (:func:`emkit.config_context`,
    threads, or the cluster the rows live on); the sum does not depend on it.

    Raises
    ------
    ValueError
        When the data holds no rows.
    """
    from emkit.config import executor_for

    source = as_source(data)
    executor = executor_for(n_jobs, source)
    placement = executor.place(source, int(chunk_size or DEFAULT_CHUNK_SIZE))

    def one(chunk: Chunk) -> Moments:
        return moments_of(*chunk)

    with executor.compute():
        total = placement.map_reduce(one, operator.add)
    if total is None or not total.weight > 0:
        raise ValueError("the data holds no rows")
    return total


# -- the data of the EM iterations without missing values: one summarising row ---------------------
@dataclass(frozen=True, eq=False)
class CovarianceBlock:
    """Rows summarised by their mean and covariance: one "row" for
    :class:`CovarianceModel`, whose weight (given with it) is the number of rows.

    Attributes
    ----------
    mean : ndarray of shape (n_features,)
    covariance : ndarray of shape (n_features, n_features)
        With denominator the weight (the maximum-likelihood covariance).
    """

    mean: np.ndarray
    covariance: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return (1, int(self.mean.shape[0]))

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.float64)


class MomentRows(RowSource):
    """A source of one row, a :class:`CovarianceBlock`, of weight ``weight``."""

    def __init__(self, block: CovarianceBlock, weight: float) -> None:
        self.block = block
        self.weight = float(weight)
        self.n_features = block.shape[1]
        self.dtype = np.dtype(np.float64)

    @property
    def n_rows(self) -> int:
        return 1

    @property
    def in_memory(self) -> bool:
        return True

    @property
    def weighted(self) -> bool:
        return True

    def chunks(self, max_rows: int) -> Any:
        yield self.block, np.array([self.weight])

    def sample(self, max_rows: int, random_state: np.random.RandomState) -> Chunk:
        return self.block, np.array([self.weight])


# -- parameters, statistics, noise structures ------------------------------------------------------
@dataclass(frozen=True, eq=False)
class LatentLinearParams:
    """Parameters of ``x = mean + loadings z + e``.

    Attributes
    ----------
    mean : ndarray of shape (n_features,)
    loadings : ndarray of shape (n_features, n_components)
    noise : ndarray of shape (n_features,)
        The variances of ``e`` (all equal for PPCA).
    """

    mean: np.ndarray
    loadings: np.ndarray
    noise: np.ndarray

    def covariance(self) -> np.ndarray:
        """``loadings loadings^T + diag(noise)``, shape (n_features, n_features)."""
        return self.loadings @ self.loadings.T + np.diag(self.noise)


@dataclass(frozen=True, eq=False)
class LatentLinearStats(Additive):
    """Expected complete-data statistics: the regression of ``x`` on ``z~ = (z, 1)``.

    Attributes
    ----------
    center : ndarray of shape (n_features,)
        The reference of the sums of ``x`` (the mean of the parameters of the E-step).
    weight : float
        Weight of the rows.
    sum_xz : ndarray of shape (n_features, n_components + 1)
        ``sum w E[(x - center) z~^T]``.
    sum_zz : ndarray of shape (n_components + 1, n_components + 1)
        ``sum w E[z~ z~^T]``.
    sum_xx : ndarray of shape (n_features,)
        ``sum w E[(x - center)^2]``, feature by feature.
    """

    references: ClassVar[tuple[str, ...]] = ("center",)
    center: np.ndarray
    weight: float
    sum_xz: np.ndarray
    sum_zz: np.ndarray
    sum_xx: np.ndarray

    def rebased(self, like: LatentLinearStats) -> LatentLinearStats:
        delta = self.center - like.center
        sum_xz = self.sum_xz + np.outer(delta, self.sum_zz[-1])
        sum_xx = self.sum_xx + 2.0 * delta * self.sum_xz[:, -1] + self.weight * delta**2
        return LatentLinearStats(like.center, self.weight, sum_xz, self.sum_zz, sum_xx)


@dataclass(frozen=True)
class DiagonalNoise:
    """A variance per feature: factor analysis."""

    name: ClassVar[str] = "diagonal"

    def update(self, residual: np.ndarray, weight: float) -> np.ndarray:
        """The M-step's variances from the summed residual squares, shape (n_features,)."""
        return residual / weight


@dataclass(frozen=True)
class IsotropicNoise:
    """One variance shared by the features: probabilistic PCA."""

    name: ClassVar[str] = "isotropic"

    def update(self, residual: np.ndarray, weight: float) -> np.ndarray:
        return np.full(residual.shape, residual.sum() / (weight * residual.shape[0]))


NoiseStructure = DiagonalNoise | IsotropicNoise


def gaussian_loglik(params: LatentLinearParams, mean: np.ndarray, covariance: np.ndarray) -> float:
    """Mean log-likelihood of rows of mean ``mean`` and covariance ``covariance`` under
    ``N(params.mean, params.covariance())`` (the exact mean log-likelihood of the rows)."""
    post = _Posterior.of(params)
    d = mean - params.mean
    S = covariance + np.outer(d, d)
    return _summary_loglik(post, S)


class _Posterior(NamedTuple):
    """What every E-step needs of the parameters (all rows observed)."""

    A: np.ndarray  # Psi^-1 L, (D, k)
    chol: np.ndarray  # lower Cholesky factor of P = I + L^T Psi^-1 L, (k, k)
    inv_P: np.ndarray  # P^-1, (k, k)
    logdet: float  # log det(L L^T + Psi)
    noise: np.ndarray

    @classmethod
    def of(cls, params: LatentLinearParams) -> _Posterior:
        L, psi = params.loadings, params.noise
        A = L / psi[:, None]
        P = np.eye(L.shape[1]) + L.T @ A
        try:
            chol = np.linalg.cholesky(P)
        except np.linalg.LinAlgError as exc:
            raise DegenerateFitError(f"the latent posterior is singular: {exc}") from exc
        inv_P = scipy.linalg.cho_solve((chol, True), np.eye(P.shape[0]))
        logdet = float(np.sum(np.log(psi)) + 2.0 * np.sum(np.log(np.diag(chol))))
        return cls(A, chol, inv_P, logdet, psi)


def _summary_loglik(post: _Posterior, S: np.ndarray) -> float:
    """Mean log-likelihood of rows whose second moment about the model's mean is ``S``."""
    SA = S @ post.A
    trace = float(np.sum(np.diag(S) / post.noise) - np.sum(post.A * (SA @ post.inv_P)))
    return -0.5 * (S.shape[0] * LOG_2PI + post.logdet + trace)


# -- the models -----------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class LatentLinearModel:
    """What factor analysis and PPCA share: parameters, statistics and the M-step.

    Parameters
    ----------
    n_features : int
    n_components : int
        The number of latent factors k, 1 <= k <= n_features.
    noise : DiagonalNoise or IsotropicNoise
        The structure of ``Psi``.
    floor : ndarray of shape (n_features,)
        Lowest variance of every feature's noise; the M-step holds a variance that would
        fall below it there (and :meth:`held` says which).
    """

    n_features: int
    n_components: int
    noise: NoiseStructure
    floor: np.ndarray = field(repr=False)

    monotone: ClassVar[bool] = True

    def __post_init__(self) -> None:
        # No factor at all is a model too: independent features, the noise their variances.
        if not 0 <= self.n_components <= self.n_features:
            raise ValueError(
                f"n_components must be an integer in [0, n_features={self.n_features}], "
                f"got {self.n_components!r}"
            )
        floor = np.asarray(self.floor, dtype=np.float64)
        if floor.shape != (self.n_features,) or not np.all((floor > 0) & np.isfinite(floor)):
            raise ValueError("floor must hold a positive finite variance per feature")
        object.__setattr__(self, "floor", floor)

    def init(
        self,
        X: Any,
        random_state: np.random.RandomState,
        sample_weight: np.ndarray | None = None,
    ) -> LatentLinearParams:
        """A start from the moments of ``X`` (:func:`random_start`)."""
        moments = self._moments(X, sample_weight)
        return random_start(
            moments.mean(), moments.covariance(), self.n_components, self.floor, random_state
        )

    def _moments(self, X: Any, sample_weight: np.ndarray | None) -> Moments:
        raise NotImplementedError

    def m_step(self, stats: LatentLinearStats, params: LatentLinearParams) -> LatentLinearParams:
        k = self.n_components
        try:
            chol = scipy.linalg.cho_factor(stats.sum_zz, lower=True)
        except np.linalg.LinAlgError as exc:
            raise DegenerateFitError(f"the factors' second moments are singular: {exc}") from exc
        W = scipy.linalg.cho_solve(chol, stats.sum_xz.T).T
        residual = stats.sum_xx - np.sum(W * stats.sum_xz, axis=1)
        noise = np.maximum(self.noise.update(residual, stats.weight), self.floor)
        return LatentLinearParams(stats.center + W[:, k], W[:, :k].copy(), noise)

    def held(self, params: LatentLinearParams) -> np.ndarray:
        """Which noise variances sit at their floor, shape (n_features,) of bool."""
        return params.noise <= self.floor

    # -- SQUAREM's coordinates ------------------------------------------------------------
    def to_unconstrained(self, params: LatentLinearParams) -> np.ndarray:
        return np.concatenate([params.mean, params.loadings.ravel(), np.log(params.noise)])

    def from_unconstrained(
        self, vector: np.ndarray, like: LatentLinearParams
    ) -> LatentLinearParams:
        d, k = like.loadings.shape
        mean = vector[:d].copy()
        loadings = vector[d : d + d * k].reshape(d, k).copy()
        noise = np.maximum(np.exp(vector[d + d * k :]), self.floor)
        return LatentLinearParams(mean, loadings, noise)


@dataclass(frozen=True, eq=False)
class CovarianceModel(LatentLinearModel):
    """The model whose rows are :class:`CovarianceBlock` summaries of complete data (see
    the module documentation): an E-step costs O(n_features^2 n_components)."""

    def _moments(self, X: CovarianceBlock, sample_weight: np.ndarray | None) -> Moments:
        n = 1.0 if sample_weight is None else float(np.sum(sample_weight))
        d = X.mean.shape[0]
        return Moments(X.mean, np.full((d, d), n), np.zeros((d, d)), n * X.covariance, n, 0.0)

    def e_step(
        self,
        params: LatentLinearParams,
        X: CovarianceBlock,
        sample_weight: np.ndarray | None = None,
        *,
        hard: bool = False,
    ) -> tuple[LatentLinearStats, float]:
        if hard:
            raise ValueError("factor models have no hard (classification) EM")
        n = 1.0 if sample_weight is None else float(np.sum(sample_weight))
        post = _Posterior.of(params)
        d = X.mean - params.mean
        S = X.covariance + np.outer(d, d)
        SB = S @ post.A @ post.inv_P  # S beta^T
        Ez = post.inv_P @ (post.A.T @ d)
        Ezz = post.inv_P + (post.inv_P @ post.A.T) @ SB
        k = self.n_components
        sum_zz = np.empty((k + 1, k + 1))
        sum_zz[:k, :k] = n * (Ezz + Ezz.T) / 2.0
        sum_zz[:k, k] = sum_zz[k, :k] = n * Ez
        sum_zz[k, k] = n
        sum_xz = n * np.column_stack([SB, d])
        stats = LatentLinearStats(params.mean, n, sum_xz, sum_zz, n * np.diag(S).copy())
        return stats, n * _summary_loglik(post, S)

    def log_prob(self, params: LatentLinearParams, X: CovarianceBlock) -> np.ndarray:
        """The mean log-likelihood of the rows the block summarises, shape (1,)."""
        return np.array([gaussian_loglik(params, X.mean, X.covariance)])


class RowPosterior(NamedTuple):
    """The posterior of the factors of every row, given its observed coordinates.

    Attributes
    ----------
    mean : ndarray of shape (n_samples, n_components)
        ``E[z | x_observed]``.
    loglik : ndarray of shape (n_samples,)
        Log density of every row's observed coordinates.
    """

    mean: np.ndarray
    loglik: np.ndarray


@dataclass(frozen=True, eq=False)
class RowModel(LatentLinearModel):
    """The model whose rows are the data (NaN for missing values, assumed missing at
    random): the conditional E-step, grouped by pattern of missing values."""

    def _moments(self, X: Any, sample_weight: np.ndarray | None) -> Moments:
        return moments_of(X, sample_weight)

    def posterior(self, params: LatentLinearParams, X: Any) -> RowPosterior:
        """The factors' posterior means and the log-likelihood of every row of ``X``."""
        parts = self._parts(params, X)
        return RowPosterior(parts.Ez, parts.loglik)

    def log_prob(self, params: LatentLinearParams, X: Any) -> np.ndarray:
        return self._parts(params, X).loglik

    def e_step(
        self,
        params: LatentLinearParams,
        X: Any,
        sample_weight: np.ndarray | None = None,
        *,
        hard: bool = False,
    ) -> tuple[LatentLinearStats, float]:
        if hard:
            raise ValueError("factor models have no hard (classification) EM")
        p = self._parts(params, X)
        n, k = p.Ez.shape
        w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, np.float64)
        L, psi = params.loadings, params.noise
        counts = np.bincount(p.inverse, weights=w, minlength=p.inv_P.shape[0])
        Ezw = p.Ez * w[:, None]
        sum_zz = np.empty((k + 1, k + 1))
        cov_z = np.tensordot(counts, p.inv_P, axes=1)
        sum_zz[:k, :k] = cov_z + Ezw.T @ p.Ez
        sum_zz[:k, k] = sum_zz[k, :k] = Ezw.sum(axis=0)
        sum_zz[k, k] = w.sum()
        Rw = p.R * w[:, None]
        sum_xz = np.column_stack([Rw.T @ p.Ez, Rw.sum(axis=0)])
        sum_xx = np.einsum("nd,nd->d", Rw, p.R)
        if p.mask is not None:
            missing = p.mask * w[:, None]
            k2 = k * k
            # sum over the rows where feature j is missing of E[z z^T | x_observed]
            EZZ = (p.patterns.T * counts) @ p.inv_P.reshape(-1, k2)
            EZZ += missing.T @ (p.Ez[:, :, None] * p.Ez[:, None, :]).reshape(n, k2)
            EZZ = EZZ.reshape(-1, k, k)
            EZ = missing.T @ p.Ez
            sum_xz[:, :k] += np.einsum("jab,jb->ja", EZZ, L)
            sum_xz[:, k] += np.sum(L * EZ, axis=1)
            sum_xx += np.einsum("ja,jab,jb->j", L, EZZ, L) + psi * missing.sum(axis=0)
        stats = LatentLinearStats(params.mean, float(w.sum()), sum_xz, sum_zz, sum_xx)
        return stats, float(w @ p.loglik)

    class _Parts(NamedTuple):
        R: np.ndarray  # x - mean, 0 where missing
        mask: np.ndarray | None  # 1.0 where missing (None when nothing is)
        patterns: np.ndarray  # (U, D) 1.0 where missing, per pattern
        inverse: np.ndarray  # pattern of every row
        inv_P: np.ndarray  # (U, k, k)
        Ez: np.ndarray
        loglik: np.ndarray

    def _parts(self, params: LatentLinearParams, X: Any) -> RowModel._Parts:
        if sp.issparse(X):
            raise TypeError("factor models need dense rows: give X.toarray()")
        X = np.asarray(X, dtype=np.float64)
        n = X.shape[0]
        L, psi = params.loadings, params.noise
        k = L.shape[1]
        missing = np.isnan(X)
        R = X - params.mean
        A = L / psi[:, None]
        log_psi = np.log(psi)
        if not missing.any():
            post = _Posterior.of(params)
            b = R @ A
            Ez = b @ post.inv_P
            quad = (R**2) @ (1.0 / psi) - np.sum(b * Ez, axis=1)
            loglik = -0.5 * (X.shape[1] * LOG_2PI + post.logdet + quad)
            inv_P = post.inv_P[None]
            return self._Parts(
                R, None, np.zeros((1, X.shape[1])), np.zeros(n, np.intp), inv_P, Ez, loglik
            )
        R[missing] = 0.0
        patterns, inverse = np.unique(missing, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        observed = (~patterns).astype(np.float64)
        outer = (L[:, :, None] * A[:, None, :]).reshape(-1, k * k)
        P = np.eye(k) + (observed @ outer).reshape(-1, k, k)
        P = (P + np.swapaxes(P, 1, 2)) / 2.0
        try:
            chol = np.linalg.cholesky(P)
        except np.linalg.LinAlgError as exc:
            raise DegenerateFitError(f"the latent posterior is singular: {exc}") from exc
        inv_P = np.linalg.inv(P)
        logdet = observed @ log_psi + 2.0 * np.sum(np.log(np.diagonal(chol, 0, 1, 2)), axis=1)
        b = R @ A
        Ez = np.einsum("nij,nj->ni", inv_P[inverse], b)
        quad = (R**2) @ (1.0 / psi) - np.sum(b * Ez, axis=1)
        n_observed = observed.sum(axis=1)[inverse]
        loglik = -0.5 * (n_observed * LOG_2PI + logdet[inverse] + quad)
        return self._Parts(
            R, missing.astype(np.float64), patterns.astype(np.float64), inverse, inv_P, Ez, loglik
        )


# -- starting points ------------------------------------------------------------------------------
def noise_floor(variances: np.ndarray, relative: float) -> np.ndarray:
    """The lowest noise variance of every feature: ``relative`` times its variance, and
    never below 1e-12 times the mean variance (so that a constant feature has one too)."""
    variances = np.maximum(np.asarray(variances, dtype=np.float64), 0.0)
    scale = max(float(variances.mean()), np.finfo(np.float64).tiny)
    return np.maximum(relative * variances, 1e-12 * scale)


def factor_start(
    mean: np.ndarray,
    covariance: np.ndarray,
    n_components: int,
    floor: np.ndarray,
    *,
    noise: np.ndarray | None = None,
    svd_method: str = "lapack",
    iterated_power: int = 3,
    random_state: Any = None,
) -> LatentLinearParams:
    """Factor analysis's start: noise variances ``noise`` (default R's factanal start,
    ``(1 - k / (2 D)) / diag(S^-1)``, or half the variances when ``S`` is singular), and
    the loadings that maximise the likelihood given them: ``Psi^1/2 U (Lambda - 1)^1/2``
    from the top eigenvectors ``U`` of ``Psi^-1/2 S Psi^-1/2`` (its eigenvalues below 1
    lifted a little, so that no factor starts at zero, where EM would stay).

    ``svd_method``: 'lapack' for an exact eigendecomposition, 'randomized' for
    scikit-learn's randomized SVD of that matrix (``iterated_power`` power iterations,
    seeded by ``random_state``).
    """
    S = np.asarray(covariance, dtype=np.float64)
    d = S.shape[0]
    k = n_components
    if noise is None:
        try:
            chol = np.linalg.cholesky(S)
            diag_inv = np.sum(scipy.linalg.solve_triangular(chol, np.eye(d), lower=True) ** 2, 0)
            psi = (1.0 - 0.5 * k / d) / diag_inv
        except np.linalg.LinAlgError:
            psi = 0.5 * np.diag(S)
    else:
        psi = np.asarray(noise, dtype=np.float64).copy()
    psi = np.maximum(psi, floor)
    root = np.sqrt(psi)
    M = S / np.outer(root, root)
    if k == 0:  # no factors: the features are independent, and their variances the noise
        return LatentLinearParams(np.asarray(mean, dtype=np.float64).copy(), np.empty((d, 0)), psi)
    if svd_method == "randomized":
        from sklearn.utils.extmath import randomized_svd

        U, values, _ = randomized_svd(M, k, n_iter=iterated_power, random_state=random_state)
    else:
        values, U = scipy.linalg.eigh(M, subset_by_index=[d - k, d - 1])
        values, U = values[::-1], U[:, ::-1]
    loadings = root[:, None] * U * np.sqrt(np.maximum(values - 1.0, 1e-2))
    return LatentLinearParams(np.asarray(mean, dtype=np.float64).copy(), loadings, psi)


def random_start(
    mean: np.ndarray,
    covariance: np.ndarray,
    n_components: int,
    floor: np.ndarray,
    random_state: np.random.RandomState,
) -> LatentLinearParams:
    """Loadings drawn from a normal distribution of the data's scale, noise variances half
    the data's variances (PPCA's start: EM climbs from any start to the maximum, its other
    fixed points being saddles); the noise variances all half the mean variance."""
    variances = np.maximum(np.diag(covariance), 0.0)
    d = variances.shape[0]
    scale = math.sqrt(max(float(variances.mean()), np.finfo(np.float64).tiny) / n_components)
    loadings = random_state.standard_normal((d, n_components)) * scale
    noise = np.maximum(np.full(d, 0.5 * variances.mean()), floor)
    return LatentLinearParams(np.asarray(mean, dtype=np.float64).copy(), loadings, noise)
