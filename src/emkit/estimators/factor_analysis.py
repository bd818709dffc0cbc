"""``emkit.FactorAnalysis``: maximum-likelihood factor analysis by EM on the covariance
statistic (:mod:`emkit.models.latent_linear`), a drop-in for scikit-learn's
``sklearn.decomposition.FactorAnalysis`` with what R's ``factanal`` reports besides."""

from __future__ import annotations

import functools
import math
from typing import Any, NamedTuple

import numpy as np
import scipy.stats
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import validate_data

from emkit.core.driver import EMResult
from emkit.estimators.base import EMEstimatorMixin, dask_rows
from emkit.estimators.parameters import (
    CHUNK_SIZE,
    N_JOBS,
    RANDOM_STATE,
    DeclaredParameters,
    Param,
    boolean,
    integer,
    one_of,
    optional,
    real,
)
from emkit.exceptions import warn
from emkit.execution.sources import RowSource
from emkit.families.checks import checked_array
from emkit.models.latent_linear import (
    CovarianceBlock,
    CovarianceModel,
    DiagonalNoise,
    IsotropicNoise,
    LatentLinearParams,
    MomentRows,
    Moments,
    RowModel,
    data_moments,
    factor_start,
    noise_floor,
)
from emkit.numerics.rotation import Rotation, orthomax, promax, sort_loadings

__all__ = ["FactorAnalysis", "FactorTest", "HeywoodWarning"]


class HeywoodWarning(UserWarning):
    """A factor analysis fit holds some uniquenesses at their lower bound (a Heywood case):
    the maximum of the likelihood lies on the boundary, where a feature is all common
    variance."""


class FactorTest(NamedTuple):
    """The likelihood-ratio test that ``n_components`` factors suffice, as R's ``factanal``
    prints it (Bartlett's correction).

    Attributes
    ----------
    statistic : float
        ``(n - 1 - (2 p + 5) / 6 - 2 k / 3) * objective``: chi-squared under the hypothesis.
    dof : int
        ``((p - k)^2 - p - k) / 2``.
    pvalue : float
        Upper tail probability of the statistic.
    """

    statistic: float
    dof: int
    pvalue: float


def _noise_init(value: Any) -> str | None:
    if value is None:
        return None
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        array = np.asarray([])
    if array.ndim != 1 or array.size == 0 or not np.all(np.isfinite(array) & (array > 0)):
        return "must be None or a 1-D array of positive finite variances"
    return None


def _fraction(value: Any) -> str | None:
    if real(0.0, strict=True)(value) is None and value < 1.0:
        return None
    return "must be a number in (0, 1)"


def _finite_rows(X: Any, whom: str) -> np.ndarray:
    """A chunk of a row source as floats, NaN (missing) allowed and infinities refused."""
    X = np.asarray(X)
    if X.dtype.kind not in "biuf":
        raise ValueError(f"{whom}: the data must be numeric, got dtype {X.dtype}")
    if np.isinf(X).any():
        raise ValueError(f"{whom}: the data hold infinite values (NaN marks a missing value)")
    return X


N_COMPONENTS = Param(
    "n_components",
    None,
    "int or None",
    "Number of latent factors k (0: independent features); None for ``n_features``.",
    optional(integer(0)),
    positional=True,
)
TOL = Param(
    "tol",
    1e-2,
    "float",
    """
    The fit stops when an EM step raises the total log-likelihood (not the mean) by less
    than this, as scikit-learn's does.
    """,
    real(0.0, finite=False),
)
MAX_ITER = Param(
    "max_iter",
    1000,
    "int",
    "Largest number of EM iterations; 0 returns the start.",
    integer(0),
)
ACCELERATE = Param(
    "accelerate",
    "squarem",
    "{'squarem'} or None",
    """
    'squarem' extrapolates along every two EM steps (Varadhan & Roland 2008), keeping the
    extrapolation only when it raises the likelihood: the same maximum in several times
    fewer iterations, where factor analysis's EM is slow. None: plain EM.
    """,
    one_of("squarem", None),
)


class _LatentLinearFace(
    DeclaredParameters,
    ClassNamePrefixFeaturesOutMixin,
    EMEstimatorMixin,
    TransformerMixin,
    BaseEstimator,
):
    """What :class:`FactorAnalysis` and :class:`~emkit.estimators.ppca.PPCA` share: the one
    pass for the moments, the EM fit on them (or on the rows when values are missing), the
    Gaussian scores."""

    _abstract_face = True
    n_init = 1  # a single run: the start is computed from the data, not drawn
    _fitted_scalars = (*EMEstimatorMixin._fitted_scalars, "n_samples_")

    # -- to be given by the faces ---------------------------------------------------------
    def _noise_structure(self) -> DiagonalNoise | IsotropicNoise:
        raise NotImplementedError

    def _floor(self, variances: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _start(self, moments: Moments, k: int, floor: np.ndarray) -> LatentLinearParams:
        raise NotImplementedError

    def _keep(self, params: LatentLinearParams, model: Any, moments: Moments | None) -> None:
        raise NotImplementedError

    def _params(self) -> LatentLinearParams:
        raise NotImplementedError

    # -- fitting ----------------------------------------------------------------------------
    def _n_components(self, n_features: int) -> int:
        k = n_features if self.n_components is None else int(self.n_components)
        if k > n_features:
            raise ValueError(
                f"n_components={k} must be at most n_features={n_features} "
                f"({type(self).__name__} has at most one factor per feature)"
            )
        return k

    def fit(self, X: Any, y: Any = None) -> _LatentLinearFace:
        """Fit the model by EM.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or RowSource
            The rows; NaN marks a missing value (assumed missing at random). A row source
            (``emkit.open_data(path)``, chunks, a dask collection) is read a chunk at a time.
        y : ignored

        Returns
        -------
        self
        """
        self._check_parameters()
        data = self._rows(X, reset=True)
        moments = data_moments(data, chunk_size=self.chunk_size, n_jobs=self.n_jobs)
        if moments.weight < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least 2 samples, got {moments.weight:g}"
            )
        self._fit_moments(moments, None if moments.complete else data)
        return self

    def _rows(self, X: Any, *, reset: bool) -> Any:
        X = dask_rows(X)
        whom = f"{type(self).__name__}"
        if isinstance(X, RowSource):
            self._check_source_columns(X, reset=reset)
            return X.map(functools.partial(_finite_rows, whom=whom))
        return validate_data(
            self,
            X,
            dtype=[np.float64, np.float32],
            ensure_all_finite="allow-nan",
            reset=reset,
            ensure_min_samples=2 if reset else 1,
        )

    def _fit_moments(self, moments: Moments, rows: Any) -> EMResult:
        """EM from the moments (``rows`` None: complete data) or on ``rows``."""
        d = moments.n_features
        k = self._n_components(d)
        cov = moments.covariance()
        floor = self._floor(np.diag(cov))
        start = self._start(moments, k, floor)
        if rows is None:
            model: Any = CovarianceModel(d, k, self._noise_structure(), floor)
            data: Any = MomentRows(CovarianceBlock(moments.mean(), cov), moments.weight)
        else:
            model = RowModel(d, k, self._noise_structure(), floor)
            data = rows
        result = self._run_em(
            model,
            data,
            None,
            init=start,
            chunk_size=self.chunk_size,
            tol=float(self.tol) / moments.weight,
        )
        self.n_samples_ = float(moments.weight)
        self._keep(result.params, model, moments if rows is None else None)
        return result

    # -- scores -----------------------------------------------------------------------------
    def _row_model(self) -> RowModel:
        params = self._params()
        d, k = params.loadings.shape
        return RowModel(d, k, self._noise_structure(), np.minimum(params.noise, 1.0))

    def _checked(self, X: Any) -> Any:
        self._check_fitted()
        return self._rows(X, reset=False)

    def transform(self, X: Any) -> np.ndarray:
        """The posterior means of the factors ``E[z | x]`` of every row (of its observed
        coordinates when some are NaN), shape (n_samples, n_components)."""
        X = self._checked(X)
        model, params = self._row_model(), self._params()
        return self._map_rows(lambda rows: model.posterior(params, rows).mean, X)

    def score_samples(self, X: Any) -> np.ndarray:
        """Log-likelihood of every row under ``N(mean_, get_covariance())`` (the marginal
        density of its observed coordinates when some are NaN), shape (n_samples,)."""
        X = self._checked(X)
        model, params = self._row_model(), self._params()
        return self._map_rows(lambda rows: model.log_prob(params, rows), X)

    def score(self, X: Any, y: Any = None) -> float:
        """Mean log-likelihood of the rows of ``X``."""
        return float(np.mean(self.score_samples(X)))

    def get_covariance(self) -> np.ndarray:
        """The model's covariance ``W^T W + Psi``, shape (n_features, n_features)."""
        self._check_fitted()
        return self._params().covariance()

    def get_precision(self) -> np.ndarray:
        """The inverse of :meth:`get_covariance` (by the Woodbury identity), shape
        (n_features, n_features)."""
        params = self._params()
        A = params.loadings / params.noise[:, None]
        P = np.eye(A.shape[1]) + params.loadings.T @ A
        return np.diag(1.0 / params.noise) - A @ np.linalg.solve(P, A.T)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def _restore_common(self, k: int) -> None:
        d = int(self.n_features_in_)
        if self.n_components is not None and int(self.n_components) > d:
            raise ValueError(f"n_components={self.n_components} is more than n_features_in_={d}")
        if not self.n_samples_ > 0:
            raise ValueError(f"n_samples_ must be positive, got {self.n_samples_!r}")
        rows = np.shape(self.components_)[0] if np.ndim(self.components_) == 2 else None
        if rows is not None and rows != k:
            raise ValueError(f"components_ has {rows} rows, but n_components gives {k}")
        for name, shape in (("components_", (k, d)), ("mean_", (d,))):
            setattr(self, name, checked_array(np.asarray(getattr(self, name)), shape, name))
        self._n_features_out = k


class FactorAnalysis(_LatentLinearFace):
    """Maximum-likelihood factor analysis, fitted by EM on the data's covariance.

    The model: ``x = mean_ + components_^T z + e`` with ``z ~ N(0, I)`` and
    ``e ~ N(0, diag(noise_variance_))``. A fit reads the data once for its mean and
    covariance (in chunks, on threads, from a file or a Dask cluster), then runs EM (Rubin
    and Thayer 1982) on D x D matrices only, through emkit's one EM driver; with missing
    values (NaN, assumed missing at random) every iteration is a pass of the conditional
    E-step over the rows instead, and the bound is the observed-data log-likelihood.

    A drop-in for ``sklearn.decomposition.FactorAnalysis``: its parameters, attributes and
    methods. scikit-learn maximises the same likelihood by another iteration (an SVD per
    step); the two agree at convergence (the same maximum, the same ``get_covariance()``),
    not iteration by iteration, so ``n_iter_`` and ``loglike_`` differ on the way. The
    loadings come in scikit-learn's form: ``components_ Psi^-1 components_^T`` diagonal,
    factors in decreasing order of it (each factor's sign chosen so that its loadings sum
    to a positive number), then rotated when ``rotation`` is set.

    From R's ``factanal``: :meth:`fit_covariance` (a covariance or correlation matrix and a
    sample size), ``uniquenesses_``, the likelihood-ratio test of the number of factors
    ``factor_test_``, and :meth:`rotate` (varimax and promax with Kaiser normalisation, as
    R's ``varimax`` and ``promax``). A uniqueness that reaches its lower bound
    (``min_uniqueness`` times the feature's variance, factanal's 0.005 by default) is held
    there: ``heywood_`` marks it and a :class:`HeywoodWarning` says so.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        The loadings ``W`` (rotated when ``rotation`` is set).
    noise_variance_ : ndarray of shape (n_features,)
        The uniquenesses' variances ``Psi``.
    mean_ : ndarray of shape (n_features,)
    loglike_ : list of float
        The total log-likelihood of the training data after every EM iteration (its last
        entry that of the fitted model); ``n_samples_ * lower_bounds_[1:]``.
    n_iter_ : int
        EM iterations (M-steps) done.
    converged_ : bool
    lower_bound_ : float
        The mean log-likelihood of the training data under the fitted model.
    lower_bounds_ : ndarray of shape (n_iter_ + 1,)
        The mean log-likelihood after every iteration; element 0 belongs to the start.
    n_samples_ : float
        The number of samples (the ``n_samples`` of :meth:`fit_covariance`).
    uniquenesses_ : ndarray of shape (n_features,)
        ``noise_variance_`` over the fitted variances (factanal's uniquenesses: the
        share of every feature's variance that no factor explains).
    heywood_ : ndarray of shape (n_features,) of bool
        The uniquenesses held at their lower bound.
    objective_ : ndarray of shape (1,) or (0,)
        factanal's objective, ``log det Sigma - log det S + tr(Sigma^-1 S) - p`` at the fit
        (empty when the data held missing values, or ``S`` is singular).
    factor_test_ : FactorTest or None
        The likelihood-ratio test of ``n_components`` factors against an unrestricted
        covariance, with Bartlett's correction (None where ``objective_`` is empty or the
        model has no degrees of freedom left, ``(p - k)^2 <= p + k``).
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Only when X has string feature names.
    """

    _parameters = (
        N_COMPONENTS,
        TOL,
        Param(
            "copy",
            True,
            "bool",
            """
            scikit-learn's: whether X may be overwritten. emkit never writes to X, so the
            data is never copied whatever the value.
            """,
            boolean,
        ),
        MAX_ITER,
        Param(
            "noise_variance_init",
            None,
            "array-like of shape (n_features,) or None",
            """
            The starting noise variances; None for R's factanal start
            ``(1 - k / (2 p)) / diag(S^-1)``.
            """,
            _noise_init,
        ),
        Param(
            "svd_method",
            "randomized",
            "{'lapack', 'randomized'}",
            """
            How the starting loadings (the top eigenvectors of the covariance scaled by the
            starting noise) are found: 'lapack' exactly, 'randomized' by scikit-learn's
            randomized SVD.
            """,
            one_of("lapack", "randomized"),
        ),
        Param(
            "iterated_power",
            3,
            "int",
            "Power iterations of the randomized SVD of the start.",
            integer(0),
        ),
        Param(
            "rotation",
            None,
            "{'varimax', 'quartimax'} or None",
            """
            Rotation of ``components_`` after the fit, as scikit-learn does it (without
            Kaiser normalisation); :meth:`rotate` gives R's rotations.
            """,
            one_of("varimax", "quartimax", None),
        ),
        RANDOM_STATE.with_doc("Seeds the randomized SVD of the start."),
        Param(
            "min_uniqueness",
            0.005,
            "float",
            """
            Lower bound of every uniqueness, as a share of its feature's variance (R's
            factanal: 0.005); in (0, 1).
            """,
            _fraction,
        ),
        ACCELERATE,
        CHUNK_SIZE,
        N_JOBS,
    )

    _fitted_arrays = (
        "lower_bounds_",
        "components_",
        "noise_variance_",
        "mean_",
        "heywood_",
        "objective_",
    )

    # -- R's factanal -------------------------------------------------------------------------
    def fit_covariance(
        self, covariance: Any, n_samples: float, *, mean: Any = None
    ) -> FactorAnalysis:
        """Fit to a covariance (or correlation) matrix of ``n_samples`` samples, as R's
        ``factanal(covmat=, n.obs=)``.

        The matrix is taken as the maximum-likelihood covariance (denominator
        ``n_samples``); one with denominator ``n_samples - 1`` gives the same
        uniquenesses, standardised loadings and test, and loadings scaled by a constant.

        Parameters
        ----------
        covariance : array-like of shape (n_features, n_features)
            Symmetric positive semi-definite, finite.
        n_samples : float
            The number of samples, > 1 (enters ``loglike_`` and ``factor_test_``).
        mean : array-like of shape (n_features,), optional
            The data's mean (zeros by default; it changes nothing but ``mean_``).

        Returns
        -------
        self
        """
        self._check_parameters()
        S = np.asarray(covariance, dtype=np.float64)
        if S.ndim != 2 or S.shape[0] != S.shape[1] or S.shape[0] < 1:
            raise ValueError(f"covariance must be a square matrix, got shape {S.shape}")
        if not np.all(np.isfinite(S)):
            raise ValueError("covariance holds NaN or infinite values")
        if not np.allclose(S, S.T, rtol=1e-10, atol=1e-12 * np.abs(S).max()):
            raise ValueError("covariance must be symmetric")
        d = S.shape[0]
        if np.linalg.eigvalsh(S)[0] < -1e-10 * max(np.abs(np.diag(S)).max(), 1e-300):
            raise ValueError("covariance must be positive semi-definite")
        if isinstance(n_samples, bool) or not np.isfinite(n_samples) or not n_samples > 1:
            raise ValueError(f"n_samples must be a number > 1, got {n_samples!r}")
        m = np.zeros(d) if mean is None else np.asarray(mean, dtype=np.float64)
        if m.shape != (d,) or not np.all(np.isfinite(m)):
            raise ValueError(f"mean must be {d} finite numbers, got shape {m.shape}")
        n = float(n_samples)
        moments = Moments(m, np.full((d, d), n), np.zeros((d, d)), n * (S + S.T) / 2, n, 0.0)
        self.n_features_in_ = d
        if "feature_names_in_" in self.__dict__:
            del self.feature_names_in_
        self._fit_moments(moments, None)
        return self

    def rotate(self, method: str | None = "varimax", *, normalize: bool = True) -> Rotation:
        """The standardised loadings (those of the correlation matrix, as factanal's)
        rotated as R rotates them, factors ordered as factanal prints them.

        Parameters
        ----------
        method : {'varimax', 'promax', 'quartimax'} or None, default='varimax'
            None: the loadings as fitted (``components_``, standardised).
        normalize : bool, default=True
            Kaiser normalisation (R's default).

        Returns
        -------
        Rotation
            ``loadings`` of shape (n_features, n_components), the ``rotation`` matrix
            that gives them from the standardised ``components_.T``, and the factors'
            correlations (``factor_correlation``, the identity but for promax).
        """
        self._check_fitted()
        L = self.components_.T / np.sqrt(np.diag(self.get_covariance()))[:, None]
        k = L.shape[1]
        if method is None:
            rotated = Rotation(L, np.eye(k), np.eye(k))
        elif method == "varimax":
            rotated = orthomax(L, 1.0, normalize=normalize)
        elif method == "quartimax":
            rotated = orthomax(L, 0.0, normalize=normalize)
        elif method == "promax":
            rotated = promax(L, normalize=normalize)
        else:
            raise ValueError(
                f"method must be 'varimax', 'promax', 'quartimax' or None, got {method!r}"
            )
        return sort_loadings(rotated)

    # -- the face's parts ------------------------------------------------------------------
    def _noise_structure(self) -> DiagonalNoise:
        return DiagonalNoise()

    def _floor(self, variances: np.ndarray) -> np.ndarray:
        return noise_floor(variances, float(self.min_uniqueness))

    def _start(self, moments: Moments, k: int, floor: np.ndarray) -> LatentLinearParams:
        noise = self.noise_variance_init
        if noise is not None:
            noise = np.asarray(noise, dtype=np.float64)
            if noise.shape != (moments.n_features,):
                raise ValueError(
                    f"noise_variance_init has shape {noise.shape}, expected ({moments.n_features},)"
                )
        return factor_start(
            moments.mean(),
            moments.covariance(),
            k,
            floor,
            noise=noise,
            svd_method=self.svd_method,
            iterated_power=int(self.iterated_power),
            random_state=check_random_state(self.random_state),
        )

    def _keep(self, params: LatentLinearParams, model: Any, moments: Moments | None) -> None:
        self.components_ = _canonical(params.loadings, params.noise).T
        if self.rotation is not None:
            gamma = 1.0 if self.rotation == "varimax" else 0.0
            rotated = orthomax(self.components_.T, gamma, normalize=False, tol=1e-6, max_iter=100)
            self.components_ = rotated.loadings.T
        self.noise_variance_ = params.noise.copy()
        self.mean_ = params.mean.copy()
        self.heywood_ = np.asarray(model.held(params), dtype=bool)
        self.objective_ = np.empty(0)
        if moments is not None:
            S = moments.covariance()
            sign, logdet = np.linalg.slogdet(S)
            if sign > 0:
                d = S.shape[0]
                objective = -2.0 * self.lower_bound_ - d * math.log(2 * math.pi) - logdet - d
                self.objective_ = np.array([max(objective, 0.0)])
        self._derive()
        if self.heywood_.any():
            names = np.flatnonzero(self.heywood_).tolist()
            warn(
                f"the uniquenesses of features {names} reached their lower bound "
                f"(min_uniqueness={self.min_uniqueness:g} of their variance) and are held "
                "there: a Heywood case, where the likelihood is highest on the boundary "
                "(too many factors, or too few samples)",
                HeywoodWarning,
            )

    def _derive(self) -> None:
        """The attributes computed from the stored ones."""
        self.loglike_ = [float(b) * self.n_samples_ for b in np.asarray(self.lower_bounds_)[1:]]
        self.uniquenesses_ = self.noise_variance_ / np.diag(self.get_covariance())
        self.factor_test_ = None
        p, k = self.n_features_in_, self.components_.shape[0]
        dof = ((p - k) ** 2 - p - k) // 2
        if self.objective_.size and dof > 0:
            statistic = (self.n_samples_ - 1 - (2 * p + 5) / 6 - 2 * k / 3) * float(
                self.objective_[0]
            )
            pvalue = float(scipy.stats.chi2.sf(statistic, dof))
            self.factor_test_ = FactorTest(float(statistic), int(dof), pvalue)
        self._n_features_out = self.components_.shape[0]

    def _params(self) -> LatentLinearParams:
        self._check_fitted()
        return LatentLinearParams(
            np.asarray(self.mean_, np.float64),
            np.asarray(self.components_, np.float64).T,
            np.asarray(self.noise_variance_, np.float64),
        )

    def _restore(self) -> None:
        self._check_parameters()
        d = int(self.n_features_in_)
        k = d if self.n_components is None else int(self.n_components)
        self._restore_common(k)
        self.noise_variance_ = checked_array(
            np.asarray(self.noise_variance_), (d,), "noise_variance_"
        )
        if not np.all(self.noise_variance_ > 0):
            raise ValueError("noise_variance_ must be positive")
        heywood = np.asarray(self.heywood_)
        if heywood.dtype != bool or heywood.shape != (d,):
            raise ValueError(
                f"heywood_ must be ({d},) booleans, got {heywood.dtype} {heywood.shape}"
            )
        objective = np.asarray(self.objective_)
        if objective.dtype.kind != "f" or objective.shape not in ((0,), (1,)):
            raise ValueError(f"objective_ must hold 0 or 1 float, got shape {objective.shape}")
        if objective.size and objective[0] < 0:
            raise ValueError("objective_ must be non-negative")
        if self.noise_variance_init is not None and np.shape(self.noise_variance_init) != (d,):
            raise ValueError(f"noise_variance_init must hold {d} variances")
        self._derive()


def _canonical(loadings: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """``loadings`` rotated so that ``L^T Psi^-1 L`` is diagonal, decreasing, every column
    summing to a positive number (the form scikit-learn's and factanal's fits return)."""
    A = loadings / np.sqrt(noise)[:, None]
    _, Q = np.linalg.eigh(A.T @ A)
    L = loadings @ Q[:, ::-1]
    return L * np.where(L.sum(axis=0) < 0, -1.0, 1.0)
