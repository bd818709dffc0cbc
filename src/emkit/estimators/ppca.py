"""``emkit.PPCA``: probabilistic principal component analysis (Tipping and Bishop 1999) by EM
on the covariance statistic (:mod:`emkit.models.latent_linear`)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils import check_random_state

from emkit.estimators.factor_analysis import (
    ACCELERATE,
    MAX_ITER,
    N_COMPONENTS,
    TOL,
    _LatentLinearFace,
)
from emkit.estimators.parameters import CHUNK_SIZE, N_JOBS, RANDOM_STATE
from emkit.families.checks import checked_array
from emkit.models.latent_linear import (
    IsotropicNoise,
    LatentLinearParams,
    Moments,
    noise_floor,
    random_start,
)

__all__ = ["PPCA"]


class PPCA(_LatentLinearFace):
    """Probabilistic PCA (Tipping and Bishop 1999), fitted by EM.

    The model: ``x = mean_ + W z + e`` with ``z ~ N(0, I_k)`` and ``e ~ N(0, sigma^2 I)``.
    A fit reads the data once for its mean and covariance, then runs the EM of Tipping and
    Bishop (closed-form M-step: ``W = S W (sigma^2 I + M^-1 W^T S W)^-1``,
    ``sigma^2 = tr(S - S W M^-1 W_new^T) / D``) on D x D matrices through emkit's one EM
    driver, from random loadings (``random_state``); with missing values (NaN, assumed
    missing at random) every iteration is a pass of the conditional E-step over the rows.
    The maximum is known in closed form (the top eigenvectors of the covariance, with
    ``sigma^2`` the mean of the other eigenvalues), which EM reaches; the attributes are
    given in that form, as scikit-learn's PCA gives them.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        The principal axes (orthonormal rows), by decreasing ``explained_variance_``; each
        axis's sign chosen so that its largest coordinate is positive.
    explained_variance_ : ndarray of shape (n_components,)
        The model's variance along each axis, ``s_i^2 + noise_variance_`` where ``s_i`` are
        the singular values of ``W``; at the maximum, the top eigenvalues of the
        maximum-likelihood covariance (denominator n, where scikit-learn's PCA divides by
        n - 1).
    noise_variance_ : float
        ``sigma^2``.
    mean_ : ndarray of shape (n_features,)
    n_iter_ : int
    converged_ : bool
    lower_bound_ : float
        Mean log-likelihood of the training data.
    lower_bounds_ : ndarray of shape (n_iter_ + 1,)
    loglike_ : list of float
        Total log-likelihood after every iteration.
    n_samples_ : float
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Only when X has string feature names.
    """

    _parameters = (
        N_COMPONENTS.with_doc("Number of components k; None for ``n_features - 1``."),
        TOL,
        MAX_ITER,
        RANDOM_STATE.with_doc("Seeds the random starting loadings."),
        ACCELERATE,
        CHUNK_SIZE,
        N_JOBS,
    )
    _fitted_scalars = (*_LatentLinearFace._fitted_scalars, "noise_variance_")
    _fitted_arrays = ("lower_bounds_", "components_", "explained_variance_", "mean_")

    def _n_components(self, n_features: int) -> int:
        if self.n_components is None:
            return max(1, n_features - 1)
        return super()._n_components(n_features)

    def _noise_structure(self) -> IsotropicNoise:
        return IsotropicNoise()

    def _floor(self, variances: np.ndarray) -> np.ndarray:
        return noise_floor(np.full(variances.shape, variances.mean()), 1e-12)

    def _start(self, moments: Moments, k: int, floor: np.ndarray) -> LatentLinearParams:
        return random_start(
            moments.mean(), moments.covariance(), k, floor, check_random_state(self.random_state)
        )

    def _keep(self, params: LatentLinearParams, model: Any, moments: Moments | None) -> None:
        U, s, _ = np.linalg.svd(params.loadings, full_matrices=False)
        sign = np.where(U[np.argmax(np.abs(U), axis=0), np.arange(U.shape[1])] < 0, -1.0, 1.0)
        self.components_ = (U * sign).T
        self.noise_variance_ = float(params.noise[0])
        self.explained_variance_ = s**2 + self.noise_variance_
        self.mean_ = params.mean.copy()
        self._derive()

    def _derive(self) -> None:
        self.loglike_ = [float(b) * self.n_samples_ for b in np.asarray(self.lower_bounds_)[1:]]
        self._n_features_out = self.components_.shape[0]

    def _params(self) -> LatentLinearParams:
        self._check_fitted()
        s = np.sqrt(np.maximum(self.explained_variance_ - self.noise_variance_, 0.0))
        d = self.components_.shape[1]
        return LatentLinearParams(
            np.asarray(self.mean_, np.float64),
            np.asarray(self.components_, np.float64).T * s,
            np.full(d, float(self.noise_variance_)),
        )

    def inverse_transform(self, Z: Any) -> np.ndarray:
        """Rows from factors (Tipping and Bishop's reconstruction
        ``W (W^T W)^-1 M z + mean_``): ``inverse_transform(transform(X))`` is the orthogonal
        projection of ``X - mean_`` onto the principal subspace, plus ``mean_``.

        Parameters
        ----------
        Z : array-like of shape (n_samples, n_components)

        Returns
        -------
        ndarray of shape (n_samples, n_features)
        """
        self._check_fitted()
        Z = np.asarray(Z, dtype=np.float64)
        k = self.components_.shape[0]
        if Z.ndim != 2 or Z.shape[1] != k:
            raise ValueError(f"Z must have shape (n_samples, {k}), got {Z.shape}")
        if not np.all(np.isfinite(Z)):
            raise ValueError("Z holds NaN or infinite values")
        s = np.sqrt(np.maximum(self.explained_variance_ - self.noise_variance_, 0.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            gain = np.where(s > 0, self.explained_variance_ / s, 0.0)
        return (Z * gain) @ self.components_ + self.mean_

    def _restore(self) -> None:
        self._check_parameters()
        d = int(self.n_features_in_)
        k = max(1, d - 1) if self.n_components is None else int(self.n_components)
        self._restore_common(k)
        self.explained_variance_ = checked_array(
            np.asarray(self.explained_variance_), (k,), "explained_variance_"
        )
        if not self.noise_variance_ > 0:
            raise ValueError(f"noise_variance_ must be positive, got {self.noise_variance_!r}")
        if np.any(self.explained_variance_ < self.noise_variance_):
            raise ValueError("explained_variance_ must be at least noise_variance_")
        self._derive()
