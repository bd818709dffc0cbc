"""Covariance structures of Gaussian components, as strategy objects.

Each strategy knows, for K components in D dimensions, the shape of its covariance
parameters, how to accumulate centred second moments from weighted samples, how to turn them
into covariances, and how to score samples through Cholesky factors of the precisions.

Second moments are accumulated about fixed centres (the component means of the previous
iteration): they stay additive over chunks, and subtracting the small shift of the mean
afterwards avoids the cancellation of raw ``sum(x x^T) - n mu mu^T``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np

from emkit.families.gaussian_kernels import (
    centred_moments,
    full_moments,
    full_sq_mahalanobis,
    fused_diag,
    fused_full,
    weighted_sq_dist,
)
from emkit.numerics.linalg import (
    ILL_DEFINED,
    check_positive_definite,
    covariance_from_precision,
    precision_cholesky,
)

LOG_2PI = float(np.log(2.0 * np.pi))


class CovarianceStructure(ABC):
    """How K Gaussian components share and shape their covariances."""

    name: ClassVar[str]

    @abstractmethod
    def shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        """Shape of the covariance parameter array."""

    @abstractmethod
    def moments(
        self, X: np.ndarray, resp: np.ndarray, centres: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """First moments ``sum_i r_ik (x_i - c_k)`` (K, D) and second moments about the
        centres ``c_k``, reduced to :meth:`scatter_shape`, of samples ``X`` (n, D) weighted by
        ``resp`` (n, K)."""

    @abstractmethod
    def scatter_shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        """Shape of the accumulated second moments."""

    @abstractmethod
    def estimate(
        self,
        nk: np.ndarray,
        shift: np.ndarray,
        scatter: np.ndarray,
        reg_covar: float,
        old: np.ndarray,
        empty: np.ndarray,
    ) -> np.ndarray:
        """Covariances from weights ``nk`` (K,), mean shifts ``shift`` (K, D) (new mean minus
        centre), scatter about the centres, and ``reg_covar`` added to the variances.
        Components flagged ``empty`` keep their ``old`` covariance."""

    @abstractmethod
    def outer(self, a: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
        """``w_k a_k b_k^T`` for vectors ``a``, ``b`` (K, D) and weights ``w`` (K,), reduced to
        :meth:`scatter_shape` as second moments are."""

    @abstractmethod
    def map_estimate(
        self,
        scatter: np.ndarray,
        nk: np.ndarray,
        covars_prior: np.ndarray | float,
        covars_weight: float,
        reg_covar: float,
    ) -> np.ndarray:
        """Posterior-mode covariances under hmmlearn's conjugate prior: ``covars_prior`` plus
        the scatter about the new means (prior term on the means included), divided by the
        effective weight (``nk`` plus ``covars_weight`` less the dimension of the scale
        matrix, never negative), plus ``reg_covar`` on the variances."""

    @abstractmethod
    def precisions_cholesky(self, covariances: np.ndarray) -> np.ndarray:
        """Cholesky factors of the precisions (same shape as ``covariances``)."""

    @abstractmethod
    def covariances_from_precisions(self, precisions: np.ndarray) -> np.ndarray:
        """Covariances from (validated) precisions of the same shape."""

    @abstractmethod
    def precisions(self, prec_chol: np.ndarray) -> np.ndarray:
        """Precision matrices (or vectors / scalars) from their Cholesky factors."""

    @abstractmethod
    def log_prob(self, X: np.ndarray, means: np.ndarray, prec_chol: np.ndarray) -> np.ndarray:
        """``log N(x_i | mu_k, Sigma_k)``, shape (n_samples, n_components)."""

    @abstractmethod
    def fused_e_step(
        self,
        X: np.ndarray,
        weights: np.ndarray,
        means: np.ndarray,
        prec_chol: np.ndarray,
        log_weights: np.ndarray,
        hard: bool,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The whole E-step of a Gaussian mixture in one compiled pass over ``X`` (n, D).

        ``weights`` are the sample weights (an empty array for none), ``log_weights`` (K,)
        the log mixing proportions. Returns the component weights ``sum_w`` (K,), the first
        and second moments about ``means`` (as :meth:`moments`), and ``top``, ``norm`` of
        shape (n,) with ``top + log(norm)`` the log-likelihood of every sample.
        """

    @abstractmethod
    def n_parameters(self, n_components: int, n_features: int) -> int:
        """Number of free covariance parameters."""

    @abstractmethod
    def pooled(
        self, scatter: np.ndarray, total: float, n_components: int, reg_covar: float
    ) -> np.ndarray:
        """Covariance parameters with every component at the pooled covariance (plus
        ``reg_covar`` on the variances), from second moments accumulated about one common
        centre, the overall mean."""

    @abstractmethod
    def full(self, covariances: np.ndarray, n_components: int, n_features: int) -> np.ndarray:
        """Covariances as K full (D, D) matrices, shape (K, D, D)."""

    @abstractmethod
    def check(
        self, covariances: np.ndarray, n_components: int, n_features: int, name: str
    ) -> np.ndarray:
        """Validate user-supplied covariances (or precisions); return them as float64."""

    def _check_shape(
        self, arr: np.ndarray, n_components: int, n_features: int, name: str
    ) -> np.ndarray:
        arr = np.asarray(arr, dtype=np.float64)
        expected = self.shape(n_components, n_features)
        if arr.shape != expected:
            raise ValueError(
                f"the parameter '{name}' should have the shape {expected} for "
                f"covariance_type='{self.name}', but got {arr.shape}"
            )
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"'{name}' holds NaN or infinite values")
        return arr


class Full(CovarianceStructure):
    """Every component has its own full covariance matrix, shape (K, D, D)."""

    name = "full"

    def shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        return (n_components, n_features, n_features)

    scatter_shape = shape

    def moments(self, X, resp, centres):
        return full_moments(X, resp, centres)

    def estimate(self, nk, shift, scatter, reg_covar, old, empty):
        cov = scatter / np.where(empty, 1.0, nk)[:, None, None]
        cov -= shift[:, :, None] * shift[:, None, :]
        _add_to_diagonal(cov, reg_covar)
        cov[empty] = old[empty]
        return cov

    def outer(self, a, b, w):
        return w[:, None, None] * a[:, :, None] * b[:, None, :]

    def map_estimate(self, scatter, nk, covars_prior, covars_weight, reg_covar):
        extra = max(covars_weight - scatter.shape[-1], 0.0)
        cov = (covars_prior + scatter) / (extra + nk)[:, None, None]
        _add_to_diagonal(cov, reg_covar)
        return cov

    def precisions_cholesky(self, covariances):
        return np.stack([precision_cholesky(c, k) for k, c in enumerate(covariances)])

    def covariances_from_precisions(self, precisions):
        return np.stack([covariance_from_precision(p, k) for k, p in enumerate(precisions)])

    def precisions(self, prec_chol):
        return prec_chol @ np.swapaxes(prec_chol, 1, 2)

    def log_prob(self, X, means, prec_chol):
        log_det = np.log(np.diagonal(prec_chol, axis1=1, axis2=2)).sum(axis=1)
        maha = full_sq_mahalanobis(X, means, prec_chol)
        return _gaussian_log_density(maha, log_det, X.shape[1])

    def fused_e_step(self, X, weights, means, prec_chol, log_weights, hard):
        log_det = np.log(np.diagonal(prec_chol, axis1=1, axis2=2)).sum(axis=1)
        bias = log_weights + log_det - 0.5 * X.shape[1] * LOG_2PI
        return fused_full(X, weights, means, prec_chol, bias, hard)

    def n_parameters(self, n_components, n_features):
        return n_components * n_features * (n_features + 1) // 2

    def pooled(self, scatter, total, n_components, reg_covar):
        cov = np.repeat(scatter.sum(axis=0)[None] / total, n_components, axis=0)
        _add_to_diagonal(cov, reg_covar)
        return cov

    def full(self, covariances, n_components, n_features):
        return covariances

    def check(self, covariances, n_components, n_features, name):
        arr = self._check_shape(covariances, n_components, n_features, name)
        for k, c in enumerate(arr):
            check_positive_definite(c, f"'{name}' of component {k}")
        return arr


class Tied(CovarianceStructure):
    """All components share one full covariance matrix, shape (D, D)."""

    name = "tied"

    def shape(self, n_components, n_features):
        return (n_features, n_features)

    scatter_shape = shape

    def moments(self, X, resp, centres):
        first, second = full_moments(X, resp, centres)
        return first, second.sum(axis=0)

    def estimate(self, nk, shift, scatter, reg_covar, old, empty):
        cov = scatter - np.einsum("k,ki,kj->ij", nk, shift, shift)
        cov /= nk.sum()
        _add_to_diagonal(cov, reg_covar)
        return cov

    def outer(self, a, b, w):
        return np.einsum("k,ki,kj->ij", w, a, b)

    def map_estimate(self, scatter, nk, covars_prior, covars_weight, reg_covar):
        extra = max(covars_weight - scatter.shape[-1], 0.0)
        cov = (covars_prior + scatter) / (extra + nk.sum())
        _add_to_diagonal(cov, reg_covar)
        return cov

    def precisions_cholesky(self, covariances):
        return precision_cholesky(covariances, "(tied)")

    def covariances_from_precisions(self, precisions):
        return covariance_from_precision(precisions, "(tied)")

    def precisions(self, prec_chol):
        return prec_chol @ prec_chol.T

    def log_prob(self, X, means, prec_chol):
        log_det = np.log(np.diagonal(prec_chol)).sum()
        shared = np.broadcast_to(prec_chol, (means.shape[0], *prec_chol.shape))
        return _gaussian_log_density(full_sq_mahalanobis(X, means, shared), log_det, X.shape[1])

    def fused_e_step(self, X, weights, means, prec_chol, log_weights, hard):
        bias = log_weights + np.log(np.diagonal(prec_chol)).sum() - 0.5 * X.shape[1] * LOG_2PI
        shared = np.broadcast_to(prec_chol, (means.shape[0], *prec_chol.shape))
        sum_w, first, second, top, norm = fused_full(X, weights, means, shared, bias, hard)
        return sum_w, first, second.sum(axis=0), top, norm

    def n_parameters(self, n_components, n_features):
        return n_features * (n_features + 1) // 2

    def pooled(self, scatter, total, n_components, reg_covar):
        cov = scatter / total
        _add_to_diagonal(cov, reg_covar)
        return cov

    def full(self, covariances, n_components, n_features):
        return np.repeat(covariances[None], n_components, axis=0)

    def check(self, covariances, n_components, n_features, name):
        arr = self._check_shape(covariances, n_components, n_features, name)
        check_positive_definite(arr, f"'{name}'")
        return arr


class Diag(CovarianceStructure):
    """Every component has its own diagonal covariance, shape (K, D)."""

    name = "diag"

    def shape(self, n_components, n_features):
        return (n_components, n_features)

    scatter_shape = shape

    def moments(self, X, resp, centres):
        return centred_moments(X, resp, centres)

    def estimate(self, nk, shift, scatter, reg_covar, old, empty):
        cov = scatter / np.where(empty, 1.0, nk)[:, None] - shift * shift + reg_covar
        cov[empty] = old[empty]
        return cov

    def outer(self, a, b, w):
        return w[:, None] * a * b

    def map_estimate(self, scatter, nk, covars_prior, covars_weight, reg_covar):
        # hmmlearn's floor on the effective weight, so that an empty state stays finite.
        weight = np.maximum(max(covars_weight - 1.0, 0.0) + nk, 1e-5)
        return (covars_prior + scatter) / weight[:, None] + reg_covar

    def precisions_cholesky(self, covariances):
        _check_positive(covariances)
        return 1.0 / np.sqrt(covariances)

    def covariances_from_precisions(self, precisions):
        return 1.0 / precisions

    def precisions(self, prec_chol):
        return prec_chol**2

    def log_prob(self, X, means, prec_chol):
        log_det = np.log(prec_chol).sum(axis=1)
        return _gaussian_log_density(weighted_sq_dist(X, means, prec_chol**2), log_det, X.shape[1])

    def fused_e_step(self, X, weights, means, prec_chol, log_weights, hard):
        bias = log_weights + np.log(prec_chol).sum(axis=1) - 0.5 * X.shape[1] * LOG_2PI
        return fused_diag(X, weights, means, prec_chol**2, bias, hard)

    def n_parameters(self, n_components, n_features):
        return n_components * n_features

    def pooled(self, scatter, total, n_components, reg_covar):
        return np.repeat(scatter.sum(axis=0)[None] / total, n_components, axis=0) + reg_covar

    def full(self, covariances, n_components, n_features):
        return np.stack([np.diag(c) for c in covariances])

    def check(self, covariances, n_components, n_features, name):
        arr = self._check_shape(covariances, n_components, n_features, name)
        if np.any(arr <= 0.0):
            raise ValueError(f"'{name}' should be positive")
        return arr


class Spherical(CovarianceStructure):
    """Every component has its own single variance, shape (K,)."""

    name = "spherical"

    def shape(self, n_components, n_features):
        return (n_components,)

    def scatter_shape(self, n_components, n_features):
        return (n_components, n_features)

    moments = Diag.moments
    outer = Diag.outer

    def map_estimate(self, scatter, nk, covars_prior, covars_weight, reg_covar):
        # The mean over features of the diagonal estimate, as hmmlearn's spherical states.
        weight = np.maximum(max(covars_weight - 1.0, 0.0) + nk, 1e-5)
        return (covars_prior + scatter.mean(axis=1)) / weight + reg_covar

    def estimate(self, nk, shift, scatter, reg_covar, old, empty):
        per_feature = scatter / np.where(empty, 1.0, nk)[:, None] - shift * shift
        cov = per_feature.mean(axis=1) + reg_covar
        cov[empty] = old[empty]
        return cov

    def precisions_cholesky(self, covariances):
        _check_positive(covariances)
        return 1.0 / np.sqrt(covariances)

    covariances_from_precisions = Diag.covariances_from_precisions
    precisions = Diag.precisions

    def log_prob(self, X, means, prec_chol):
        d = X.shape[1]
        maha = weighted_sq_dist(X, means, np.repeat((prec_chol**2)[:, None], d, axis=1))
        return _gaussian_log_density(maha, d * np.log(prec_chol), d)

    def fused_e_step(self, X, weights, means, prec_chol, log_weights, hard):
        d = X.shape[1]
        bias = log_weights + d * np.log(prec_chol) - 0.5 * d * LOG_2PI
        prec = np.repeat((prec_chol**2)[:, None], d, axis=1)
        return fused_diag(X, weights, means, prec, bias, hard)

    def n_parameters(self, n_components, n_features):
        return n_components

    def pooled(self, scatter, total, n_components, reg_covar):
        return np.full(n_components, scatter.sum() / (total * scatter.shape[1]) + reg_covar)

    def full(self, covariances, n_components, n_features):
        return covariances[:, None, None] * np.eye(n_features)[None]

    def check(self, covariances, n_components, n_features, name):
        arr = self._check_shape(covariances, n_components, n_features, name)
        if np.any(arr <= 0.0):
            raise ValueError(f"'{name}' should be positive")
        return arr


COVARIANCE_STRUCTURES: dict[str, type[CovarianceStructure]] = {
    cls.name: cls for cls in (Full, Tied, Diag, Spherical)
}


def covariance_structure(name: str | CovarianceStructure) -> CovarianceStructure:
    """The strategy object for a covariance type name ('full', 'tied', 'diag', 'spherical')."""
    if isinstance(name, CovarianceStructure):
        return name
    try:
        return COVARIANCE_STRUCTURES[name]()
    except (KeyError, TypeError):
        raise ValueError(
            f"covariance_type must be one of {sorted(COVARIANCE_STRUCTURES)}, got {name!r}"
        ) from None


def _gaussian_log_density(
    maha: np.ndarray, log_det: np.ndarray | float, n_features: int
) -> np.ndarray:
    """``log_det - 0.5 * (D log 2 pi + maha)``, in place on ``maha`` (n, K)."""
    maha *= -0.5
    maha += log_det - 0.5 * n_features * LOG_2PI
    return maha


def _add_to_diagonal(cov: np.ndarray, value: float) -> None:
    d = cov.shape[-1]
    idx = np.arange(d)
    cov[..., idx, idx] += value


def _check_positive(variances: np.ndarray) -> None:
    bad = np.flatnonzero(np.ravel(variances) <= 0.0)
    if bad.size:
        k = bad[0] // (variances.shape[1] if variances.ndim == 2 else 1)
        raise ValueError(ILL_DEFINED.format(k=k))
