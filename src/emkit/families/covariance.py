"""Covariance structures of Gaussian components, as strategy objects.

Each strategy knows, for K components in D dimensions, the shape of its covariance
parameters, how to accumulate centred second moments from weighted samples, how to turn them
into covariances, and how to score samples through Cholesky factors of the precisions.

Second moments are accumulated about fixed centres (the component means of the previous
iteration): they stay additive over chunks, and subtracting the small shift of the mean
afterwards avoids the cancellation of raw ``sum(x x^T) - n mu mu^T``.

Besides scikit-learn's four types ('full', 'tied', 'diag', 'spherical'), the registry holds
mclust's fourteen models ``Sigma_k = lambda_k D_k A_k D_k^T`` (volume, shape, orientation; see
:mod:`emkit.families.mclust_covariance`): VVV, EEE, VVI and VII are the four strategies above
under other names, and the other ten subclass the one that stores and scores them (EII
'spherical'; EEI, VEI, EVI 'diag'; VEE, EVE, VVE, EEV, VEV, EVV 'full') with their own M-step.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np

from emkit.families.gaussian_kernels import (
    centred_moments,
    diag_scores,
    full_moments,
    full_scores,
    fused_diag,
    fused_full,
)
from emkit.families.mclust_covariance import (
    fit_eei,
    fit_eev,
    fit_eii,
    fit_eve,
    fit_evi,
    fit_evv,
    fit_vee,
    fit_vei,
    fit_vev,
    fit_vve,
    structure_violation,
)
from emkit.numerics.linalg import (
    check_positive_definite,
    covariance_from_precision,
    ill_defined,
    precision_cholesky,
)

LOG_2PI = float(np.log(2.0 * np.pi))


class CovarianceStructure(ABC):
    """How K Gaussian components share and shape their covariances.

    Structures hold no state: two of the same class are equal, and one writes itself as the
    call that makes it."""

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other)

    def __hash__(self) -> int:
        return hash(type(self))

    def __repr__(self) -> str:
        return f"covariance_structure({self.name!r})"

    name: ClassVar[str]
    matrices: ClassVar[bool]
    """Whether a covariance parameter is a full (D, D) matrix (not variances)."""
    shared: ClassVar[bool] = False
    """Whether all components share one covariance parameter (no component axis)."""
    extrapolates: ClassVar[bool] = True
    """Whether every point of the family's unconstrained coordinates (Cholesky factors of
    covariance matrices, logs of variances) has this structure, so that SQUAREM can
    extrapolate in them. Shared orientations or shapes of full matrices are not kept."""

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

    def rebase(
        self, sum_w: np.ndarray, sum_dx: np.ndarray, scatter: np.ndarray, shift: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """First and second moments about centres moved by ``-shift`` (K, D): from weights
        ``sum_w`` (K,), ``sum_dx`` (K, D) and ``scatter`` about centres ``c``, those about
        ``c - shift``. With ``x - c + shift`` in place of ``x - c``, the first moments gain
        ``sum_w shift`` and the second ``sum_dx shift^T + shift sum_dx^T + sum_w shift
        shift^T``, exactly, reduced as the structure reduces second moments."""
        ones = np.ones_like(sum_w)
        moved = (
            scatter
            + self.outer(sum_dx, shift, ones)
            + self.outer(shift, sum_dx, ones)
            + self.outer(shift, shift, sum_w)
        )
        return sum_dx + sum_w[:, None] * shift, moved

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

    def map_log_prior(
        self,
        prec_chol: np.ndarray,
        deviation: np.ndarray,
        means_weight: np.ndarray,
        covars_prior: np.ndarray | float,
        covars_weight: float,
    ) -> float:
        """Log density, up to a constant, of hmmlearn's conjugate prior at the covariances
        (as Cholesky factors of their precisions) and the means (``deviation``: means less
        the prior means, (K, D); ``means_weight`` (K,)): the function whose sum with the
        expected log-likelihood :meth:`map_estimate` maximises,
        ``sum_k c log|P_k| - tr((Psi_k + w_k d_k d_k^T) Lambda_k) / 2`` with ``Psi`` the
        ``covars_prior`` as a matrix and ``c`` the ``covars_weight`` less the dimension of the
        scale matrix (never negative); a shared covariance counts its factor once."""
        raise NotImplementedError(
            f"covariance_type={self.name!r} has no posterior-mode (MAP) M-step"
        )

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
    def log_det(self, prec_chol: np.ndarray, n_components: int, n_features: int) -> np.ndarray:
        """``log|P_k| = -log|Sigma_k| / 2`` of every component, shape (n_components,)."""

    @abstractmethod
    def scores(
        self,
        X: np.ndarray,
        means: np.ndarray,
        prec_chol: np.ndarray,
        scale: float,
        bias: np.ndarray,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """``bias[k] + scale * (x_i - mu_k)^T Sigma_k^-1 (x_i - mu_k)``, shape (n_samples,
        n_components), in one compiled pass (into ``out`` when given: C-contiguous float64)."""

    def log_prob(
        self,
        X: np.ndarray,
        means: np.ndarray,
        prec_chol: np.ndarray,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """``log N(x_i | mu_k, Sigma_k)``, shape (n_samples, n_components), written into
        ``out`` (C-contiguous float64) when given."""
        return self.scores(X, means, prec_chol, -0.5, self._log_norm(prec_chol, means.shape), out)

    def sq_mahalanobis(self, X: np.ndarray, means: np.ndarray, prec_chol: np.ndarray) -> np.ndarray:
        """Squared Mahalanobis distances of the samples to every component, shape
        (n_samples, n_components)."""
        return self.scores(X, means, prec_chol, 1.0, np.zeros(means.shape[0]))

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

    def reduce_full(self, second: np.ndarray) -> np.ndarray:
        """Full second moments of every component, shape (K, D, D), reduced to the scatter
        of a structure of matrices: summed over the components when they share one."""
        return second.sum(axis=0) if self.shared else second

    @abstractmethod
    def check(
        self, covariances: np.ndarray, n_components: int, n_features: int, name: str
    ) -> np.ndarray:
        """Validate user-supplied covariances (or precisions); return them as float64."""

    def component_shape(self, n_features: int) -> tuple[int, ...]:
        """Shape of one component's covariance parameter: (D, D), (D,) or ()."""
        return (n_features, n_features) if self.matrices else self.shape(1, n_features)[1:]

    def from_matrix(self, covariance: np.ndarray) -> np.ndarray:
        """One (D, D) covariance in the shape of one component's parameter: the matrix, its
        diagonal, or its mean variance."""
        return np.asarray(covariance, dtype=np.float64)

    def repeated(self, covariance: np.ndarray, n_components: int) -> np.ndarray:
        """Covariance parameters with every one of ``n_components`` components at the one
        (D, D) ``covariance``, in :meth:`shape`."""
        one = self.from_matrix(covariance)
        shape = self.shape(n_components, np.shape(covariance)[0])
        return np.broadcast_to(one, shape).copy()

    def from_full(self, covariances: np.ndarray) -> np.ndarray:
        """Covariance parameters from K full (D, D) matrices (the inverse of :meth:`full`);
        ValueError when the matrices do not have the structure."""
        return np.asarray(covariances, dtype=np.float64)

    def _log_norm(self, prec_chol: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        """Log normalising constants ``log|P_k| - D/2 log(2 pi)`` of K components in D
        dimensions, shape (n_components,)."""
        return self.log_det(prec_chol, *shape) - 0.5 * shape[1] * LOG_2PI

    def _check_shape(
        self, arr: np.ndarray, n_components: int, n_features: int, name: str
    ) -> np.ndarray:
        arr = np.asarray(arr, dtype=np.float64)
        expected = self.shape(n_components, n_features)
        if arr.shape != expected:
            raise ValueError(
                f"The parameter '{name}' should have the shape of {expected}, but got "
                f"{arr.shape} (covariance_type='{self.name}')"
            )
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"'{name}' holds NaN or infinite values")
        return arr


class Full(CovarianceStructure):
    """Every component has its own full covariance matrix, shape (K, D, D)."""

    name = "full"
    matrices = True

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

    def map_log_prior(self, prec_chol, deviation, means_weight, covars_prior, covars_weight):
        k, d = deviation.shape
        precisions = self.precisions(prec_chol)
        psi = np.broadcast_to(np.asarray(covars_prior, dtype=np.float64), (k, d, d))
        trace = np.einsum("kij,kji->", psi, precisions)
        quad = np.einsum("k,ki,kij,kj->", means_weight, deviation, precisions, deviation)
        c = max(covars_weight - d, 0.0)
        return float(c * self.log_det(prec_chol, k, d).sum() - 0.5 * (trace + quad))

    def precisions_cholesky(self, covariances):
        return np.stack([precision_cholesky(c, k) for k, c in enumerate(covariances)])

    def covariances_from_precisions(self, precisions):
        return np.stack([covariance_from_precision(p, k) for k, p in enumerate(precisions)])

    def precisions(self, prec_chol):
        return prec_chol @ np.swapaxes(prec_chol, 1, 2)

    def log_det(self, prec_chol, n_components, n_features):
        return np.log(np.diagonal(prec_chol, axis1=1, axis2=2)).sum(axis=1)

    def scores(self, X, means, prec_chol, scale, bias, out=None):
        return full_scores(X, means, prec_chol, scale, bias, _out(out, X, means))

    def fused_e_step(self, X, weights, means, prec_chol, log_weights, hard):
        bias = log_weights + self._log_norm(prec_chol, means.shape)
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
            check_positive_definite(c, f"'{name}'", f"component {k}")
        return arr


class Tied(CovarianceStructure):
    """All components share one full covariance matrix, shape (D, D)."""

    name = "tied"
    matrices = True
    shared = True

    def from_full(self, covariances: np.ndarray) -> np.ndarray:
        covariances = np.asarray(covariances, dtype=np.float64)
        if not np.all(covariances == covariances[:1]):
            raise ValueError(
                "tied covariances given as (n_components, n_features, n_features) matrices "
                "must repeat one matrix; these differ between components (covariance_type="
                "'full' takes them)"
            )
        return covariances[0].copy()

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

    def map_log_prior(self, prec_chol, deviation, means_weight, covars_prior, covars_weight):
        d = deviation.shape[1]
        precision = self.precisions(prec_chol)
        psi = np.broadcast_to(np.asarray(covars_prior, dtype=np.float64), (d, d))
        trace = np.einsum("ij,ji->", psi, precision)
        quad = np.einsum("k,ki,ij,kj->", means_weight, deviation, precision, deviation)
        c = max(covars_weight - d, 0.0)
        return float(c * np.log(np.diagonal(prec_chol)).sum() - 0.5 * (trace + quad))

    def precisions_cholesky(self, covariances):
        return precision_cholesky(covariances, "(tied)")

    def covariances_from_precisions(self, precisions):
        return covariance_from_precision(precisions, "(tied)")

    def precisions(self, prec_chol):
        return prec_chol @ prec_chol.T

    def log_det(self, prec_chol, n_components, n_features):
        return np.full(n_components, np.log(np.diagonal(prec_chol)).sum())

    def scores(self, X, means, prec_chol, scale, bias, out=None):
        shared = np.broadcast_to(prec_chol, (means.shape[0], *prec_chol.shape))
        return full_scores(X, means, shared, scale, bias, _out(out, X, means))

    def fused_e_step(self, X, weights, means, prec_chol, log_weights, hard):
        bias = log_weights + self._log_norm(prec_chol, means.shape)
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
    matrices = False

    def from_matrix(self, covariance: np.ndarray) -> np.ndarray:
        return np.diag(np.asarray(covariance, dtype=np.float64)).copy()

    def from_full(self, covariances: np.ndarray) -> np.ndarray:
        covariances = np.asarray(covariances, dtype=np.float64)
        diagonal = np.diagonal(covariances, axis1=1, axis2=2).copy()
        if not np.all(covariances == diagonal[:, :, None] * np.eye(covariances.shape[1])):
            raise ValueError(
                "diag covariances given as (n_components, n_features, n_features) matrices "
                "must be diagonal; these have off-diagonal entries (covariance_type='full' "
                "takes them)"
            )
        return diagonal

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

    def map_log_prior(self, prec_chol, deviation, means_weight, covars_prior, covars_weight):
        k, d = deviation.shape
        precisions = self.precisions(prec_chol)
        psi = np.broadcast_to(np.asarray(covars_prior, dtype=np.float64), (k, d))
        trace = float((psi * precisions).sum())
        quad = float((means_weight[:, None] * deviation**2 * precisions).sum())
        c = max(covars_weight - 1.0, 0.0)
        return float(c * self.log_det(prec_chol, k, d).sum() - 0.5 * (trace + quad))

    def precisions_cholesky(self, covariances):
        _check_positive(covariances)
        return 1.0 / np.sqrt(covariances)

    def covariances_from_precisions(self, precisions):
        return 1.0 / precisions

    def precisions(self, prec_chol):
        return prec_chol**2

    def log_det(self, prec_chol, n_components, n_features):
        return np.log(prec_chol).sum(axis=1)

    def scores(self, X, means, prec_chol, scale, bias, out=None):
        return diag_scores(X, means, prec_chol**2, scale, bias, _out(out, X, means))

    def fused_e_step(self, X, weights, means, prec_chol, log_weights, hard):
        bias = log_weights + self._log_norm(prec_chol, means.shape)
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
    matrices = False

    def from_matrix(self, covariance: np.ndarray) -> np.ndarray:
        covariance = np.asarray(covariance, dtype=np.float64)
        return np.asarray(np.trace(covariance) / covariance.shape[0])

    def from_full(self, covariances: np.ndarray) -> np.ndarray:
        covariances = np.asarray(covariances, dtype=np.float64)
        diagonal = np.diagonal(covariances, axis1=1, axis2=2)
        if not np.all(covariances == diagonal[:, :1, None] * np.eye(covariances.shape[1])):
            raise ValueError(
                "spherical covariances given as (n_components, n_features, n_features) "
                "matrices must be multiples of the identity"
            )
        return diagonal[:, 0].copy()

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

    def map_log_prior(self, prec_chol, deviation, means_weight, covars_prior, covars_weight):
        k, d = deviation.shape
        precisions = self.precisions(prec_chol)
        psi = np.broadcast_to(np.asarray(covars_prior, dtype=np.float64), (k,))
        trace = float((d * psi * precisions).sum())
        quad = float((means_weight * (deviation**2).sum(axis=1) * precisions).sum())
        c = max(covars_weight - 1.0, 0.0)
        return float(c * self.log_det(prec_chol, k, d).sum() - 0.5 * (trace + quad))

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

    def log_det(self, prec_chol, n_components, n_features):
        return n_features * np.log(prec_chol)

    def scores(self, X, means, prec_chol, scale, bias, out=None):
        prec = np.repeat((prec_chol**2)[:, None], means.shape[1], axis=1)
        return diag_scores(X, means, prec, scale, bias, _out(out, X, means))

    def fused_e_step(self, X, weights, means, prec_chol, log_weights, hard):
        d = X.shape[1]
        bias = log_weights + self._log_norm(prec_chol, means.shape)
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


# -- the constrained eigen-decomposition models -------------------------------------------------
class _Constrained(CovarianceStructure):
    """A model ``Sigma_k = lambda_k D_k A_k D_k^T`` with some of volume, shape and orientation
    shared or fixed (see :mod:`emkit.families.mclust_covariance`), stored and scored as the
    strategy it subclasses (placed after this class in the bases). That strategy's
    :meth:`pooled` serves unchanged: equal covariances have every model's structure.

    Its M-step minimises ``sum_k n_k log|Sigma_k| + tr(W'_k Sigma_k^{-1})`` over the model's
    covariances, with ``W'_k = W_k + n_k reg_covar I`` and ``W_k`` the scatter about the new
    mean: ``reg_covar`` is added to the variances of every ``W_k / n_k`` before the structure
    is imposed. That is where 'full', 'tied', 'diag' and 'spherical' add it too (their fitted
    variances grow by exactly ``reg_covar``, as do those of EII and EEI); for the other
    constrained models the fitted variances do not simply grow by ``reg_covar``: they maximise
    the expected complete-data log-likelihood penalised by ``-reg_covar / 2 sum_k n_k
    tr(Sigma_k^{-1})``, keep their structure and stay positive definite.
    """

    def estimate(self, nk, shift, scatter, reg_covar, old, empty):
        active = ~empty
        if not active.any():
            # No weight anywhere: every covariance is as good as any other.
            return old.copy()
        # The scatter about the new means, from moments about the previous ones.
        if scatter.ndim == 2:
            W = scatter - nk[:, None] * shift * shift + (nk * reg_covar)[:, None]
        else:
            W = scatter - nk[:, None, None] * shift[:, :, None] * shift[:, None, :]
            idx = np.arange(W.shape[-1])
            W[:, idx, idx] += (nk * reg_covar)[:, None]
        return self._fit(nk, W, old, active)

    @abstractmethod
    def _fit(
        self, nk: np.ndarray, W: np.ndarray, old: np.ndarray, active: np.ndarray
    ) -> np.ndarray:
        """Covariances from weights ``nk`` (K,), regularised scatters about the new means
        ``W`` (K, D) (diagonals) or (K, D, D), the previous covariances ``old`` and the
        components with weight, ``active`` (K,) (only their scatters are read)."""

    def map_estimate(self, scatter, nk, covars_prior, covars_weight, reg_covar):
        raise NotImplementedError(
            f"covariance_type={self.name!r} has no posterior-mode (MAP) M-step; the conjugate "
            "prior of hmmlearn is available for 'full', 'tied', 'diag' and 'spherical' "
            "('VVV', 'EEE', 'VVI', 'VII') only"
        )

    def check(self, covariances, n_components, n_features, name):
        arr = super().check(covariances, n_components, n_features, name)
        problem = structure_violation(self.name, arr)
        if problem is not None:
            raise ValueError(
                f"'{name}' does not have the structure of covariance_type={self.name!r}: {problem}"
            )
        return arr


class EII(_Constrained, Spherical):
    """EII: ``Sigma_k = lambda I``, one variance for all components.

    Stored as 'spherical', shape (K,), all values equal. M-step in closed form:
    ``lambda = sum_k tr(W_k) / (D sum_k n_k) + reg_covar``.
    """

    name = "EII"

    def _fit(self, nk, W, old, active):
        return fit_eii(nk, W, active)

    def n_parameters(self, n_components, n_features):
        return 1


class EEI(_Constrained, Diag):
    """EEI: ``Sigma_k = lambda A``, one diagonal covariance for all components.

    Stored as 'diag', shape (K, D), all rows equal. M-step in closed form:
    ``diag(sum_k W_k) / sum_k n_k + reg_covar``.
    """

    name = "EEI"

    def _fit(self, nk, W, old, active):
        return fit_eei(nk, W, active)

    def n_parameters(self, n_components, n_features):
        return n_features


class VEI(_Constrained, Diag):
    """VEI: ``Sigma_k = lambda_k A``, diagonal, own volumes, one shape.

    Stored as 'diag', shape (K, D), rows proportional. M-step iterative (volumes and shape in
    turn, see :func:`~emkit.families.mclust_covariance.fit_vei`); ``reg_covar`` is added to
    the variances of every ``W_k / n_k`` first.
    """

    name = "VEI"

    def _fit(self, nk, W, old, active):
        return fit_vei(nk, W, old, active)

    def n_parameters(self, n_components, n_features):
        return n_components + n_features - 1


class EVI(_Constrained, Diag):
    """EVI: ``Sigma_k = lambda A_k``, diagonal, one volume, own shapes.

    Stored as 'diag', shape (K, D), rows of equal product. M-step in closed form (see
    :func:`~emkit.families.mclust_covariance.fit_evi`); ``reg_covar`` is added to the
    variances of every ``W_k / n_k`` first.
    """

    name = "EVI"

    def _fit(self, nk, W, old, active):
        return fit_evi(nk, W, old, active)

    def n_parameters(self, n_components, n_features):
        return 1 + n_components * (n_features - 1)


class VEE(_Constrained, Full):
    """VEE: ``Sigma_k = lambda_k C`` with ``|C| = 1``: own volumes, one shape and orientation.

    Stored as 'full', shape (K, D, D). M-step iterative (volumes and ``C`` in turn, see
    :func:`~emkit.families.mclust_covariance.fit_vee`); ``reg_covar`` is added to the
    variances of every ``W_k / n_k`` first.
    """

    name = "VEE"
    extrapolates = False

    def _fit(self, nk, W, old, active):
        return fit_vee(nk, W, old, active)

    def n_parameters(self, n_components, n_features):
        return n_components - 1 + n_features * (n_features + 1) // 2


class EVE(_Constrained, Full):
    """EVE: ``Sigma_k = lambda D A_k D^T``: one volume and orientation, own shapes.

    Stored as 'full', shape (K, D, D). M-step iterative (volume and shapes, then the
    orientation, in turn, see :func:`~emkit.families.mclust_covariance.fit_eve`);
    ``reg_covar`` is added to the variances of every ``W_k / n_k`` first.
    """

    name = "EVE"
    extrapolates = False

    def _fit(self, nk, W, old, active):
        return fit_eve(nk, W, old, active)

    def n_parameters(self, n_components, n_features):
        return 1 + n_components * (n_features - 1) + n_features * (n_features - 1) // 2


class VVE(_Constrained, Full):
    """VVE: ``Sigma_k = lambda_k D A_k D^T``: one orientation, own volumes and shapes.

    Stored as 'full', shape (K, D, D). M-step iterative (variances, then the orientation, in
    turn, see :func:`~emkit.families.mclust_covariance.fit_vve`); ``reg_covar`` is added to
    the variances of every ``W_k / n_k`` first.
    """

    name = "VVE"
    extrapolates = False

    def _fit(self, nk, W, old, active):
        return fit_vve(nk, W, old, active)

    def n_parameters(self, n_components, n_features):
        return n_components * n_features + n_features * (n_features - 1) // 2


class EEV(_Constrained, Full):
    """EEV: ``Sigma_k = lambda D_k A D_k^T``: one volume and shape, own orientations.

    Stored as 'full', shape (K, D, D). M-step in closed form (see
    :func:`~emkit.families.mclust_covariance.fit_eev`); ``reg_covar`` is added to the
    variances of every ``W_k / n_k`` first.
    """

    name = "EEV"
    extrapolates = False

    def _fit(self, nk, W, old, active):
        return fit_eev(nk, W, old, active)

    def n_parameters(self, n_components, n_features):
        return n_features + n_components * n_features * (n_features - 1) // 2


class VEV(_Constrained, Full):
    """VEV: ``Sigma_k = lambda_k D_k A D_k^T``: one shape, own volumes and orientations.

    Stored as 'full', shape (K, D, D). M-step iterative (volumes and shape in turn, with the
    scatters' eigenvectors as orientations, see
    :func:`~emkit.families.mclust_covariance.fit_vev`); ``reg_covar`` is added to the
    variances of every ``W_k / n_k`` first.
    """

    name = "VEV"
    extrapolates = False

    def _fit(self, nk, W, old, active):
        return fit_vev(nk, W, old, active)

    def n_parameters(self, n_components, n_features):
        return n_components + n_features - 1 + n_components * n_features * (n_features - 1) // 2


class EVV(_Constrained, Full):
    """EVV: ``Sigma_k = lambda C_k`` with ``|C_k| = 1``: one volume, own shapes and
    orientations.

    Stored as 'full', shape (K, D, D). M-step in closed form (see
    :func:`~emkit.families.mclust_covariance.fit_evv`); ``reg_covar`` is added to the
    variances of every ``W_k / n_k`` first.
    """

    name = "EVV"
    extrapolates = False

    def _fit(self, nk, W, old, active):
        return fit_evv(nk, W, old, active)

    def n_parameters(self, n_components, n_features):
        return 1 + n_components * (n_features * (n_features + 1) // 2 - 1)


COVARIANCE_STRUCTURES: dict[str, type[CovarianceStructure]] = {
    "full": Full,
    "tied": Tied,
    "diag": Diag,
    "spherical": Spherical,
    "EII": EII,
    "VII": Spherical,
    "EEI": EEI,
    "VEI": VEI,
    "EVI": EVI,
    "VVI": Diag,
    "EEE": Tied,
    "VEE": VEE,
    "EVE": EVE,
    "VVE": VVE,
    "EEV": EEV,
    "VEV": VEV,
    "EVV": EVV,
    "VVV": Full,
}
"""Covariance types by name: scikit-learn's four, and mclust's fourteen models of
``Sigma_k = lambda_k D_k A_k D_k^T``, of which VII, VVI, EEE and VVV are the same strategies as
'spherical', 'diag', 'tied' and 'full'."""


def covariance_structure(name: str | CovarianceStructure) -> CovarianceStructure:
    """The strategy object for a covariance type name (a key of
    :data:`COVARIANCE_STRUCTURES`), or ``name`` itself when it is a strategy already."""
    if isinstance(name, CovarianceStructure):
        return name
    try:
        return COVARIANCE_STRUCTURES[name]()
    except (KeyError, TypeError):
        raise ValueError(
            f"covariance_type must be one of {', '.join(map(repr, COVARIANCE_STRUCTURES))}; "
            f"got {name!r}"
        ) from None


def _out(out: np.ndarray | None, X: np.ndarray, means: np.ndarray) -> np.ndarray:
    shape = (X.shape[0], means.shape[0])
    if out is None:
        return np.empty(shape)
    if out.shape != shape or out.dtype != np.float64 or not out.flags.c_contiguous:
        raise ValueError(f"out must be a C-contiguous float64 array of shape {shape}")
    return out


def _add_to_diagonal(cov: np.ndarray, value: float) -> None:
    d = cov.shape[-1]
    idx = np.arange(d)
    cov[..., idx, idx] += value


def _check_positive(variances: np.ndarray) -> None:
    bad = np.flatnonzero(np.ravel(variances) <= 0.0)
    if bad.size:
        k = bad[0] // (variances.shape[1] if variances.ndim == 2 else 1)
        raise ill_defined(k)
