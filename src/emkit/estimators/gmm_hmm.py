"""Hidden Markov model with Gaussian-mixture emissions: a drop-in for hmmlearn's ``GMMHMM``.

The face builds an :class:`emkit.models.hmm.HMM` over the
:class:`emkit.families.gaussian_mixture_emission.GaussianMixtureEmission` family and fits it
with the one EM driver, as :class:`emkit.estimators.hmm.GaussianHMM` does.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np

from emkit.core.batches import DEFAULT_CHUNK_SIZE, Sequences
from emkit.estimators.base import check_int
from emkit.estimators.hmm import BaseHMM
from emkit.families.covariance import CovarianceStructure, Tied, covariance_structure
from emkit.families.gaussian import Gaussian
from emkit.families.gaussian_mixture_emission import (
    GaussianMixtureEmission,
    GaussianMixtureEmissionParams,
    GMMHMMPrior,
    GroupTied,
)
from emkit.models.hmm import HMM
from emkit.models.initialization import initializer, nearest

COVARIANCE_TYPES = ("spherical", "diag", "full", "tied")


class GMMHMM(BaseHMM):
    """Hidden Markov model whose states emit from mixtures of Gaussians; a drop-in for
    hmmlearn's ``GMMHMM``.

    Fits reproduce hmmlearn's updates, priors included: in particular the covariances are
    re-estimated from second moments about the means of the E-step (see
    :class:`emkit.families.gaussian_mixture_emission.GMMHMMPrior`).

    Parameters
    ----------
    n_components : int, default=1
        Number of hidden states.
    n_mix : int, default=1
        Gaussians in the mixture of every state.
    min_covar : float, default=1e-3
        Added to the variances of the initial covariances.
    startprob_prior, transmat_prior : float or array-like, default=1.0
        Dirichlet concentrations for the start probabilities (n_components,) and the rows
        of the transition matrix (n_components, n_components); 1.0 is maximum likelihood.
    weights_prior : float or array-like of shape (n_components, n_mix), default=1.0
        Dirichlet concentrations for the mixture weights of every state.
    means_prior, means_weight : float or array-like, default=0.0
        Normal prior on the means (broadcast to (n_components, n_mix, n_features) and
        (n_components, n_mix)).
    covars_prior, covars_weight : float, array-like or None, default=None
        Prior on the covariances in hmmlearn's ``GMMHMM`` parameterisation, which depends on
        ``covariance_type``; None gives hmmlearn's defaults (see
        :class:`emkit.families.gaussian_mixture_emission.GMMHMMPrior`).
    algorithm : {'viterbi', 'map'}, default='viterbi'
        Decoder used by :meth:`predict`.
    covariance_type : {'diag', 'full', 'tied', 'spherical'}, default='diag'
        'tied': the Gaussians of a state share one full covariance matrix (every state has
        its own).
    random_state : int, RandomState or None
    n_iter : int, default=10
        Largest number of EM iterations.
    tol : float, default=1e-2
        Convergence threshold on the change of the total log-likelihood.
    verbose : bool, default=False
    params, init_params : str or collection of str, default='stmcw'
        Parameters to update in fitting / to initialise before fitting, as hmmlearn's
        letters ('s' startprob, 't' transmat, 'm' means, 'c' covars, 'w' weights) or as
        names ({'startprob', 'transmat', 'means', 'covars', 'weights'}). A parameter left
        out of ``init_params`` starts from the attribute set on the estimator.
    implementation : {'log', 'scaling'}, default='log'
        Accepted for compatibility with hmmlearn; both give the same result.
    n_init : int, default=1
        Fits from fresh initialisations; the one with the highest likelihood is kept.
    n_jobs : int or None, default=None
        Threads over batches of sequences (None: all cores); results do not depend on it.
    chunk_size : int, optional
        Observations per batch of whole sequences.
    accelerate : {'squarem'} or None, default=None
        SQUAREM acceleration of EM.

    Attributes
    ----------
    startprob_ : ndarray of shape (n_components,)
    transmat_ : ndarray of shape (n_components, n_components)
    weights_ : ndarray of shape (n_components, n_mix)
        Mixture weights of every state; rows sum to one.
    means_ : ndarray of shape (n_components, n_mix, n_features)
    covars_ : ndarray
        Shape (n_components, n_mix) 'spherical', (n_components, n_mix, n_features) 'diag',
        (n_components, n_mix, n_features, n_features) 'full', (n_components, n_features,
        n_features) 'tied'.
    monitor_ : ConvergenceMonitor

    Notes
    -----
    As in hmmlearn, the initial means come from k-means into ``n_components`` clusters,
    then k-means of every cluster into ``n_mix``, and the weights are uniform. Every
    Gaussian starts with the pooled covariance of the samples about their nearest initial
    mean plus ``min_covar`` on the variances (for 'spherical', the mean variance): unlike
    hmmlearn's covariance of all the data, it leaves out the spread between the Gaussians,
    which would otherwise start the Gaussians of a state on top of one another.

    :meth:`aic` and :meth:`bic` count ``n_components * (n_mix - 1)`` free mixture
    weights (hmmlearn counts ``n_mix - 1``).
    """

    _emission_letters: ClassVar[dict[str, str]] = {"m": "means", "c": "covars", "w": "weights"}

    def __init__(
        self,
        n_components: int = 1,
        n_mix: int = 1,
        min_covar: float = 1e-3,
        startprob_prior: Any = 1.0,
        transmat_prior: Any = 1.0,
        weights_prior: Any = 1.0,
        means_prior: Any = 0.0,
        means_weight: Any = 0.0,
        covars_prior: Any = None,
        covars_weight: Any = None,
        algorithm: str = "viterbi",
        covariance_type: str = "diag",
        random_state: Any = None,
        n_iter: int = 10,
        tol: float = 1e-2,
        verbose: bool = False,
        params: Any = "stmcw",
        init_params: Any = "stmcw",
        implementation: str = "log",
        n_init: int = 1,
        n_jobs: int | None = None,
        chunk_size: int | None = None,
        accelerate: str | None = None,
    ) -> None:
        self.n_components = n_components
        self.n_mix = n_mix
        self.min_covar = min_covar
        self.startprob_prior = startprob_prior
        self.transmat_prior = transmat_prior
        self.weights_prior = weights_prior
        self.means_prior = means_prior
        self.means_weight = means_weight
        self.covars_prior = covars_prior
        self.covars_weight = covars_weight
        self.algorithm = algorithm
        self.covariance_type = covariance_type
        self.random_state = random_state
        self.n_iter = n_iter
        self.tol = tol
        self.verbose = verbose
        self.params = params
        self.init_params = init_params
        self.implementation = implementation
        self.n_init = n_init
        self.n_jobs = n_jobs
        self.chunk_size = chunk_size
        self.accelerate = accelerate

    @property
    def n_features(self) -> int:
        return int(self.n_features_in_)

    # -- hyperparameters ------------------------------------------------------------------
    def _check_hyperparameters(self) -> None:
        super()._check_hyperparameters()
        check_int(self.n_mix, "n_mix", 1)
        self._structure()
        if not (isinstance(self.min_covar, (int, float, np.floating)) and self.min_covar >= 0):
            raise ValueError(f"min_covar must be a non-negative number, got {self.min_covar!r}")
        weights_prior = np.asarray(self.weights_prior, dtype=np.float64)
        shape = (int(self.n_components), int(self.n_mix))
        try:
            np.broadcast_to(weights_prior, shape)
        except ValueError:
            raise ValueError(
                f"weights_prior must be a number or broadcast to shape {shape}, "
                f"got {weights_prior.shape}"
            ) from None

    def _structure(self) -> CovarianceStructure:
        """The covariance structure of the n_components * n_mix Gaussians."""
        if self.covariance_type not in COVARIANCE_TYPES:
            raise ValueError(
                f"covariance_type must be one of {sorted(COVARIANCE_TYPES)}, "
                f"got {self.covariance_type!r}"
            )
        if self.covariance_type == "tied":
            return GroupTied(int(self.n_mix))
        return covariance_structure(self.covariance_type)

    # -- emission hooks -----------------------------------------------------------------
    def _family(self, n_features: int, fitted: frozenset[str]) -> GaussianMixtureEmission:
        frozen = frozenset(
            {"means": "means", "covars": "covariances"}[n]
            for n in ("means", "covars")
            if n not in fitted
        )
        prior = GMMHMMPrior(
            self.means_prior, self.means_weight, self.covars_prior, self.covars_weight
        )
        return GaussianMixtureEmission(
            Gaussian(self._structure(), 0.0, frozen),
            int(self.n_mix),
            self.weights_prior,
            frozenset() if "weights" in fitted else frozenset({"weights"}),
            prior,
        )

    def _initial_emissions(
        self,
        model: HMM,
        X: Sequences,
        rng: np.random.RandomState,
        w: np.ndarray | None,
        fresh: frozenset[str],
    ) -> GaussianMixtureEmissionParams:
        k, m, d = int(self.n_components), int(self.n_mix), X.X.shape[1]
        if "weights" in fresh:
            weights = np.full((k, m), 1.0 / m)
        else:
            weights = self._checked_weights(self._given("weights_"))
        if "means" in fresh:
            means = self._nested_kmeans(X.X, w, rng)
        else:
            means = self._checked_means(self._given("means_"), d)
        if "covars" in fresh:
            covariances = self._spread(self._within_covariance(X.X, w, means.reshape(k * m, d)))
        else:
            covariances = self._family_covariances(self._given("covars_"), d)
        return model.family.from_arrays(weights, means.reshape(k * m, d), covariances)

    def _chunks(self, X: np.ndarray, w: np.ndarray | None) -> Iterator[tuple[np.ndarray, Any]]:
        """``(X, w)`` in float64 row chunks (``w`` None when the samples are unweighted)."""
        step = self.chunk_size or DEFAULT_CHUNK_SIZE
        for lo in range(0, X.shape[0], step):
            part = np.asarray(X[lo : lo + step], dtype=np.float64)
            yield part, None if w is None else w[lo : lo + step]

    def _within_covariance(
        self, X: np.ndarray, w: np.ndarray | None, means: np.ndarray
    ) -> np.ndarray:
        """Pooled covariance of the samples about their nearest initial mean (of ``means``,
        shape (n_components * n_mix, D)), plus ``min_covar`` on the variances, shape (D, D):
        the spread of one Gaussian, without the spread between them."""
        scatter, total = 0.0, 0.0
        for part, weights in self._chunks(X, w):
            resp = np.zeros((part.shape[0], means.shape[0]))
            resp[np.arange(part.shape[0]), nearest(part, means)] = 1.0 if w is None else weights
            scatter = scatter + Tied().moments(part, resp, means)[1]
            total += resp.sum()
        cov = scatter / total
        cov[np.diag_indices_from(cov)] += float(self.min_covar)
        return cov

    def _data_moments(self, X: np.ndarray, w: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """The (weighted) mean of all the data, shape (D,), and its covariance plus
        ``min_covar`` on the variances, shape (D, D)."""

        def chunks() -> Iterator[tuple[np.ndarray, np.ndarray]]:
            for part, weights in self._chunks(X, w):
                yield part, np.ones((part.shape[0], 1)) if w is None else weights[:, None]

        whole = Gaussian(covariance_structure("full"), float(self.min_covar))
        params = whole.from_responsibilities(chunks)
        return params.means[0], params.covariances[0]

    def _nested_kmeans(
        self,
        X: np.ndarray,
        w: np.ndarray | None,
        rng: np.random.RandomState,
    ) -> np.ndarray:
        """Means of shape (n_components, n_mix, D): k-means of the data into the states, then
        of every state's samples into its Gaussians, as hmmlearn starts them. A state with
        fewer than n_mix samples (or a Gaussian left with none) draws its means around the
        data's mean."""
        k, m = int(self.n_components), int(self.n_mix)
        cluster = initializer("kmeans", self.chunk_size)
        states = cluster(X, k, rng, w)
        centre, cov = self._data_moments(X, w)
        means = np.empty((k, m, X.shape[1]))
        for state in range(k):
            rows = np.flatnonzero(states == state)
            ws = None if w is None else w[rows]
            if rows.size < m or (ws is not None and np.count_nonzero(ws) < m):
                means[state] = rng.multivariate_normal(centre, cov, size=m)
                continue
            Xs = np.asarray(X[rows], dtype=np.float64)
            labels = cluster(Xs, m, rng, ws) if m > 1 else np.zeros(rows.size, dtype=np.int64)
            for j in range(m):
                member = labels == j
                weight = member.astype(np.float64) if ws is None else np.where(member, ws, 0.0)
                total = weight.sum()
                if total > 0:
                    means[state, j] = weight @ Xs / total
                else:
                    means[state, j] = rng.multivariate_normal(centre, cov)
        return means

    def _spread(self, cov: np.ndarray) -> np.ndarray:
        """One (D, D) covariance as the starting covariances of every Gaussian, in the
        structure's shape."""
        k, m, d = int(self.n_components), int(self.n_mix), cov.shape[0]
        if self.covariance_type == "full":
            return np.repeat(cov[None], k * m, axis=0)
        if self.covariance_type == "tied":
            return np.repeat(cov[None], k, axis=0)
        if self.covariance_type == "diag":
            return np.repeat(np.diag(cov)[None], k * m, axis=0)
        return np.full(k * m, np.trace(cov) / d)

    def _covars_shape(self, n_features: int) -> tuple[int, ...]:
        k, m, d = int(self.n_components), int(self.n_mix), n_features
        return {
            "spherical": (k, m),
            "diag": (k, m, d),
            "full": (k, m, d, d),
            "tied": (k, d, d),
        }[self.covariance_type]

    def _family_covariances(self, covars: Any, n_features: int) -> np.ndarray:
        """``covars_`` (hmmlearn's shape) validated, in the covariance structure's shape."""
        covars = np.asarray(covars, dtype=np.float64)
        expected = self._covars_shape(n_features)
        if covars.shape != expected:
            raise ValueError(
                f"covars_ must have shape {expected} for covariance_type="
                f"{self.covariance_type!r}, got {covars.shape}"
            )
        k, m = int(self.n_components), int(self.n_mix)
        if self.covariance_type != "tied":
            covars = covars.reshape(k * m, *covars.shape[2:])
        return self._structure().check(covars, k * m, n_features, "covars_")

    def _checked_weights(self, weights: np.ndarray) -> np.ndarray:
        shape = (int(self.n_components), int(self.n_mix))
        if weights.shape != shape:
            raise ValueError(f"weights_ must have shape {shape}, got {weights.shape}")
        if not np.all(np.isfinite(weights)) or np.any(weights < 0):
            raise ValueError("weights_ must hold finite non-negative probabilities")
        if not np.allclose(weights.sum(axis=1), 1.0, rtol=0, atol=1e-8):
            raise ValueError("every row of weights_ must sum to 1")
        return weights

    def _checked_means(self, means: np.ndarray, n_features: int) -> np.ndarray:
        shape = (int(self.n_components), int(self.n_mix), n_features)
        if means.shape != shape:
            raise ValueError(f"means_ must have shape {shape}, got {means.shape}")
        if not np.all(np.isfinite(means)):
            raise ValueError("means_ holds NaN or infinite values")
        return means

    def _set_emission_attributes(self, emissions: GaussianMixtureEmissionParams) -> None:
        k, m = np.shape(emissions.weights)
        d = emissions.gaussian.means.shape[1]
        self.weights_ = emissions.weights
        self.means_ = emissions.gaussian.means.reshape(k, m, d)
        self.covars_ = np.reshape(emissions.gaussian.covariances, self._covars_shape(d))

    def _emission_params(self) -> GaussianMixtureEmissionParams:
        means = np.asarray(self.means_, dtype=np.float64)
        if means.ndim != 3:
            raise ValueError(
                f"means_ must have shape (n_components, n_mix, n_features), got {means.shape}"
            )
        d = means.shape[2]
        means = self._checked_means(means, d)
        weights = self._checked_weights(np.asarray(self.weights_, dtype=np.float64))
        covariances = self._family_covariances(self.covars_, d)
        family = GaussianMixtureEmission(Gaussian(self._structure()), int(self.n_mix))
        k, m = weights.shape
        return family.from_arrays(weights, means.reshape(k * m, d), covariances)

    def _n_emission_parameters(self) -> int:
        family = GaussianMixtureEmission(Gaussian(self._structure()), int(self.n_mix))
        return family.n_parameters(int(self.n_components), int(self.n_features_in_))

    _fitted_arrays = (
        "startprob_",
        "transmat_",
        "weights_",
        "means_",
        "covars_",
        "lower_bounds_",
    )
