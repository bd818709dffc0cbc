"""``emkit.GaussianMixture``: a drop-in for ``sklearn.mixture.GaussianMixture``."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.utils import check_random_state

from emkit.core.batches import map_rows
from emkit.estimators.base import EMEstimatorMixin, check_int
from emkit.families.covariance import covariance_structure
from emkit.families.gaussian import Gaussian, GaussianParams
from emkit.models.initialization import initializer
from emkit.models.mixture import Mixture, MixtureParams


class GaussianMixture(EMEstimatorMixin, DensityMixin, BaseEstimator):
    """Gaussian mixture fitted by EM.

    Same constructor, attributes and methods as ``sklearn.mixture.GaussianMixture``, plus
    sample weights, hard (classification) EM, chunked E-steps with bounded memory, and
    float32 data kept in float32 while statistics accumulate in float64.

    Parameters
    ----------
    n_components : int, default=1
        Number of mixture components K.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default='full'
        Covariance structure: own full matrix, one shared full matrix, own diagonal, own
        single variance.
    tol : float, default=1e-3
        Convergence threshold on the change of the mean per-sample log-likelihood.
    reg_covar : float, default=1e-6
        Non-negative value added to the variances at every M-step.
    max_iter : int, default=100
        Largest number of EM iterations (M-steps) per initialisation.
    n_init : int, default=1
        Number of initialisations; the best result is kept.
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data'}, default='kmeans'
        How initial responsibilities are chosen. 'k-means++' and 'random_from_data' assign
        every sample to its nearest seed.
    weights_init : array-like of shape (n_components,), optional
    means_init : array-like of shape (n_components, n_features), optional
    precisions_init : array-like, optional
        Initial precisions: (K, D, D) full, (D, D) tied, (K, D) diag, (K,) spherical.
    random_state : int, RandomState instance or None, default=None
    warm_start : bool, default=False
        Start from the previous fit's parameters (``n_init`` is then ignored).
    verbose : int, default=0
        1 prints the initialisation and every ``verbose_interval``-th iteration; 2 adds
        timings and log-likelihood changes.
    verbose_interval : int, default=10
    hard : bool, default=False
        Classification EM: each sample belongs wholly to its most probable component at every
        step, and the bound is the classification log-likelihood. With spherical, equal,
        fixed covariances and equal weights this is k-means (see :class:`emkit.KMeans`).
    chunk_size : int, optional
        Rows per E-step batch; bounds temporary memory to O(chunk_size * n_components).
    n_jobs : int or None, default=None
        Threads that run E-steps on chunks in parallel (None: every available core; -1 too;
        1: none). Results do not depend on it, bit for bit.
    accelerate : {'squarem'} or None, default=None
        'squarem' accelerates EM with SQUAREM (Varadhan & Roland 2008): after every two EM
        steps it extrapolates along them, and keeps the extrapolated parameters only when
        their log-likelihood is at least that of the first step (otherwise it takes the
        second EM step, as plain EM would). The fit reaches the same fixed points as plain
        EM, typically in several times fewer passes over the data where plain EM is slow
        (overlapping components); the log-likelihood history ``lower_bounds_`` still never
        decreases. ``n_iter_`` then counts the M-steps along the accepted path (two per
        cycle, an accepted extrapolation counting as the second), so ``lower_bounds_`` keeps
        ``n_iter_ + 1`` entries; rejected trial points cost passes over the data that neither
        records (:func:`emkit.fit_em` reports them in ``EMResult.n_e_steps``); ``tol`` applies
        to the changes made by EM steps, not to the jumps of extrapolations. Not with
        ``hard=True``.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
    means_ : ndarray of shape (n_components, n_features)
    covariances_ : ndarray
    precisions_ : ndarray
    precisions_cholesky_ : ndarray
    converged_ : bool
    n_iter_ : int
        M-steps done by the best initialisation.
    lower_bound_ : float
        Mean per-sample log-likelihood of the returned parameters (classification
        log-likelihood when ``hard=True``).
    lower_bounds_ : ndarray of shape (n_iter_ + 1,)
        The bound after every M-step of the best initialisation; element 0 belongs to the
        initial parameters and the last equals ``lower_bound_``.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Only when X has string feature names.
    """

    def __init__(
        self,
        n_components: int = 1,
        *,
        covariance_type: str = "full",
        tol: float = 1e-3,
        reg_covar: float = 1e-6,
        max_iter: int = 100,
        n_init: int = 1,
        init_params: str = "kmeans",
        weights_init: Any = None,
        means_init: Any = None,
        precisions_init: Any = None,
        random_state: Any = None,
        warm_start: bool = False,
        verbose: int = 0,
        verbose_interval: int = 10,
        hard: bool = False,
        chunk_size: int | None = None,
        n_jobs: int | None = None,
        accelerate: str | None = None,
    ) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.hard = hard
        self.chunk_size = chunk_size
        self.n_jobs = n_jobs
        self.accelerate = accelerate

    # -- fitting ------------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> GaussianMixture:
        """Estimate the parameters by EM.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative weights; integer weights give exactly the fit on repeated rows.

        Returns
        -------
        self
        """
        self._check_hyperparameters()
        X = self._check_data(X, reset=not self._warm(), min_samples=2)
        if X.shape[0] < self.n_components:
            raise ValueError(
                f"Expected n_samples >= n_components but got "
                f"n_components = {self.n_components}, n_samples = {X.shape[0]}"
            )
        w = self._check_sample_weight(sample_weight, X.shape[0])
        model = self._model()
        result = self._run_em(
            model,
            X,
            w,
            init=self._initial(model, X.shape[1]),
            hard=self.hard,
            chunk_size=self.chunk_size,
        )
        self._set_params(result.params)
        return self

    def fit_predict(self, X: Any, y: Any = None, sample_weight: Any = None) -> np.ndarray:
        """Fit, then return the component of every sample (equal to ``fit(X).predict(X)``).

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        return self.fit(X, sample_weight=sample_weight).predict(X)

    # -- scoring ------------------------------------------------------------------------
    def score_samples(self, X: Any) -> np.ndarray:
        """Log-likelihood of every sample, shape (n_samples,)."""
        X = self._checked(X)
        model, params = self._model(), self._params()
        return map_rows(lambda c: model.log_prob(params, c), X, self.chunk_size)

    def score(self, X: Any, y: Any = None, sample_weight: Any = None) -> float:
        """Mean (weighted) per-sample log-likelihood of ``X``."""
        scores = self.score_samples(X)
        w = self._check_sample_weight(sample_weight, scores.shape[0])
        return float(np.average(scores, weights=w))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Posterior probability of every component, shape (n_samples, n_components)."""
        X = self._checked(X)
        model, params = self._model(), self._params()
        return map_rows(lambda c: model.predict_proba(params, c), X, self.chunk_size)

    def predict(self, X: Any) -> np.ndarray:
        """Most probable component of every sample, shape (n_samples,)."""
        X = self._checked(X)
        model, params = self._model(), self._params()
        return map_rows(
            lambda c: np.argmax(model.log_joint(params, np.asarray(c, np.float64)), axis=1),
            X,
            self.chunk_size,
        )

    def sample(self, n_samples: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Draw samples from the fitted mixture.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        y : ndarray of shape (n_samples,)
            Component of every sample.
        """
        self._check_fitted()
        if int(n_samples) < 1:
            raise ValueError(
                f"Invalid value for 'n_samples': {n_samples}. The sampling "
                "requires at least one sample."
            )
        return self._model().sample(
            self._params(), int(n_samples), check_random_state(self.random_state)
        )

    def _n_parameters(self) -> int:
        return self._model().n_parameters(self.means_.shape[1])

    def bic(self, X: Any) -> float:
        """Bayesian information criterion of the fit on ``X`` (lower is better)."""
        n = np.shape(X)[0]
        return -2.0 * self.score(X) * n + self._n_parameters() * np.log(n)

    def aic(self, X: Any) -> float:
        """Akaike information criterion of the fit on ``X`` (lower is better)."""
        return -2.0 * self.score(X) * np.shape(X)[0] + 2.0 * self._n_parameters()

    # -- internals ----------------------------------------------------------------------
    def _warm(self) -> bool:
        return bool(self.warm_start) and hasattr(self, "converged_")

    def _check_hyperparameters(self) -> None:
        check_int(self.n_components, "n_components", 1)
        check_int(self.max_iter, "max_iter", 1)
        check_int(self.n_init, "n_init", 1)
        check_int(self.verbose_interval, "verbose_interval", 1)
        if self.chunk_size is not None:
            check_int(self.chunk_size, "chunk_size", 1)
        for name in ("tol", "reg_covar"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float, np.floating))
                or not value >= 0
            ):
                raise ValueError(f"{name} must be a non-negative number, got {value!r}")
        covariance_structure(self.covariance_type)
        initializer(self.init_params)
        if self.accelerate is not None and not (
            isinstance(self.accelerate, str) and self.accelerate == "squarem"
        ):
            raise ValueError(f"accelerate must be 'squarem' or None, got {self.accelerate!r}")
        if self.accelerate is not None and self.hard:
            raise ValueError(
                "accelerate='squarem' works with soft EM only, not with hard=True "
                "(classification EM)"
            )

    def _model(self) -> Mixture:
        family = Gaussian(covariance_structure(self.covariance_type), float(self.reg_covar))
        return Mixture(
            family,
            int(self.n_components),
            initializer(self.init_params, self.chunk_size),
            chunk_size=self.chunk_size,
        )

    def _initial(self, model: Mixture, n_features: int) -> Any:
        """Starting point for the driver: previous parameters, user-given ones, or None."""
        if self._warm():
            return self._params()
        given = self._user_init(model, n_features)
        if not any(v is not None for v in given.values()):
            return None
        weights, means, covariances = given["weights"], given["means"], given["covariances"]
        family = model.family

        def start(X: np.ndarray, rng: np.random.RandomState, w: np.ndarray | None) -> MixtureParams:
            base = None if all(v is not None for v in given.values()) else model.init(X, rng, w)
            return MixtureParams(
                base.weights if weights is None else weights,
                family.from_covariances(
                    base.components.means if means is None else means,
                    base.components.covariances if covariances is None else covariances,
                ),
            )

        return start

    def _user_init(self, model: Mixture, n_features: int) -> dict[str, np.ndarray | None]:
        k = model.n_components
        weights = means = covariances = None
        if self.weights_init is not None:
            weights = np.array(self.weights_init, dtype=np.float64)
            if weights.shape != (k,):
                raise ValueError(
                    f"The parameter 'weights_init' should have the shape ({k},), "
                    f"but got {weights.shape}"
                )
            if not np.all(np.isfinite(weights)) or weights.min() < 0 or weights.max() > 1:
                raise ValueError("The parameter 'weights_init' should be in the range [0, 1]")
            if not np.isclose(weights.sum(), 1.0, rtol=0, atol=1e-6):
                raise ValueError(
                    f"The parameter 'weights_init' should be normalized, but got "
                    f"sum(weights) = {weights.sum():.5f}"
                )
            weights = weights / weights.sum()
        if self.means_init is not None:
            means = np.array(self.means_init, dtype=np.float64)
            if means.shape != (k, n_features):
                raise ValueError(
                    f"The parameter 'means_init' should have the shape "
                    f"{(k, n_features)}, but got {means.shape}"
                )
            if not np.all(np.isfinite(means)):
                raise ValueError("'means_init' holds NaN or infinite values")
        if self.precisions_init is not None:
            structure = model.family.covariance
            precisions = structure.check(self.precisions_init, k, n_features, "precisions_init")
            covariances = structure.covariances_from_precisions(precisions)
        return {"weights": weights, "means": means, "covariances": covariances}

    _fitted_arrays = ("weights_", "means_", "covariances_", "lower_bounds_")

    def _restore(self) -> None:
        structure = covariance_structure(self.covariance_type)
        k, d = np.shape(self.means_)
        covariances = structure.check(self.covariances_, k, d, "covariances_")
        self._set_params(
            MixtureParams(
                np.asarray(self.weights_, dtype=np.float64),
                Gaussian(structure).from_covariances(
                    np.asarray(self.means_, dtype=np.float64), covariances
                ),
            )
        )
        if self.weights_.shape != (k,) or k != self.n_components or d != self.n_features_in_:
            raise ValueError("the shapes of weights_, means_ and n_features_in_ disagree")
        if not (
            np.all(np.isfinite(self.means_))
            and np.all(self.weights_ >= 0)
            and abs(self.weights_.sum() - 1.0) <= 1e-8
        ):
            raise ValueError("weights_ must be non-negative and sum to one, and means_ finite")

    def _set_params(self, params: MixtureParams) -> None:
        self.weights_ = params.weights
        self.means_ = params.components.means
        self.covariances_ = params.components.covariances
        self.precisions_cholesky_ = params.components.precisions_cholesky
        self.precisions_ = covariance_structure(self.covariance_type).precisions(
            self.precisions_cholesky_
        )

    def _params(self) -> MixtureParams:
        self._check_fitted()
        return MixtureParams(
            self.weights_, GaussianParams(self.means_, self.covariances_, self.precisions_cholesky_)
        )
