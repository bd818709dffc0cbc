"""Hidden Markov model estimators: drop-ins for hmmlearn's ``GaussianHMM`` and friends.

Every face builds an :class:`emkit.models.hmm.HMM` over one emission family and fits it with
the one EM driver, so restarts, threads over sequences, SQUAREM, sample weights and model
files come with it. Names follow hmmlearn (``n_iter``, ``tol`` on the total log-likelihood,
``params`` / ``init_params``, ``startprob_``, ``transmat_``, ``monitor_``, ...).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from scipy import linalg
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state

from emkit.core.batches import DEFAULT_CHUNK_SIZE, Sequences
from emkit.estimators.base import EMEstimatorMixin, check_int
from emkit.exceptions import ConvergenceWarning, NotFittedError
from emkit.execution.local import map_reduce, resolve_n_jobs
from emkit.families.categorical import Categorical, CategoricalParams
from emkit.families.covariance import covariance_structure
from emkit.families.gaussian import Gaussian, GaussianParams, GaussianPrior
from emkit.families.multinomial import Multinomial, MultinomialParams
from emkit.families.poisson import Poisson, PoissonParams
from emkit.models.hmm import HMM, HMMParams
from emkit.models.initialization import initializer
from emkit.models.mixture import Mixture

DECODERS = ("viterbi", "map")
IMPLEMENTATIONS = ("log", "scaling")


@dataclass
class ConvergenceMonitor:
    """How the last fit converged, with hmmlearn's attribute names.

    Attributes
    ----------
    tol : float
        Threshold on the change of the total log-likelihood.
    n_iter : int
        Largest number of iterations.
    history : list of float
        Total (weighted) log-likelihood before every M-step, then after the last one.
    iter : int
        Iterations (M-steps) done.
    converged : bool
        Whether the change fell below ``tol`` (or an M-step returned its input) before
        ``n_iter`` iterations.
    """

    tol: float
    n_iter: int
    history: list[float] = field(default_factory=list)
    iter: int = 0
    converged: bool = False


class BaseHMM(EMEstimatorMixin, BaseEstimator):
    """What every hidden Markov model face shares; subclasses name the emission family.

    Subclasses set ``_emission_letters`` (hmmlearn's letter for every emission parameter)
    and implement the emission hooks at the bottom of this class.
    """

    _chain_letters: ClassVar[dict[str, str]] = {"s": "startprob", "t": "transmat"}
    _emission_letters: ClassVar[dict[str, str]] = {}

    # -- fitting ------------------------------------------------------------------------
    def fit(self, X: Any, lengths: Any = None, sample_weight: Any = None) -> BaseHMM:
        """Estimate the parameters by Baum-Welch (EM).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or list of such arrays
            Observations of all sequences end to end (with ``lengths``), or one array per
            sequence.
        lengths : array-like of int, shape (n_sequences,), optional
            Length of every sequence in ``X``; None for a single sequence (or a list).
        sample_weight : array-like of shape (n_sequences,), optional
            Non-negative weight of every sequence; an integer weight equals the sequence
            repeated.

        Returns
        -------
        self
        """
        self._check_hyperparameters()
        seqs = self._sequences(X, lengths, reset=True)
        weights = self._check_sample_weight(sample_weight, seqs.lengths.size)
        row_weights = None if weights is None else np.repeat(weights, seqs.lengths)
        model = self._model(seqs.X.shape[1])
        total = float(seqs.X.shape[0] if weights is None else row_weights.sum())
        tol = float(self.tol) / total  # hmmlearn's tol is on the total log-likelihood
        result = self._run_em(
            model,
            seqs,
            row_weights,
            init=self._start(model),
            chunk_size=self.chunk_size,
            tol=tol,
            warn_unconverged=False,
        )
        if not result.converged and not result.stopped and tol > 0:
            # Said in the user's terms: the total log-likelihood and their tol.
            change = float(np.diff(result.lower_bounds[-2:]).sum()) * total
            warnings.warn(
                f"Baum-Welch did not converge in n_iter={self.n_iter} iterations: the last "
                f"change of the total log-likelihood was {change:.3g}, tol={self.tol:g}. "
                "Increase n_iter or tol, or check the initialisation.",
                ConvergenceWarning,
                stacklevel=2,
            )
        self._set_params(result.params)
        monitor = ConvergenceMonitor(float(self.tol), int(self.n_iter))
        monitor.history = [float(b) * total for b in result.lower_bounds]
        monitor.iter = int(result.n_iter)
        monitor.converged = bool(result.converged)
        self.monitor_ = monitor
        return self

    @property
    def max_iter(self) -> int:
        """``n_iter``, under the name the shared driver reads."""
        return int(self.n_iter)

    # -- scoring and decoding -------------------------------------------------------------
    def score(self, X: Any, lengths: Any = None) -> float:
        """Total log-likelihood of the sequences in ``X``."""
        return float(self._per_sequence(X, lengths, "log_prob").sum())

    def score_samples(self, X: Any, lengths: Any = None) -> tuple[float, np.ndarray]:
        """Total log-likelihood, and the state posteriors of every sample, shape
        (n_samples, n_components)."""
        seqs = self._checked_sequences(X, lengths)
        model, params = self._model(seqs.X.shape[1]), self._params()
        parts = self._map(lambda s: [model.posteriors(params, s)], seqs)
        posteriors = np.concatenate([p for p, _ in parts])
        return float(sum(ll.sum() for _, ll in parts)), posteriors

    def predict_proba(self, X: Any, lengths: Any = None) -> np.ndarray:
        """State posteriors ``p(z_t = k | sequence)``, shape (n_samples, n_components)."""
        return self.score_samples(X, lengths)[1]

    def decode(
        self, X: Any, lengths: Any = None, algorithm: str | None = None
    ) -> tuple[float, np.ndarray]:
        """Most likely states of every sample.

        Parameters
        ----------
        algorithm : {'viterbi', 'map'}, optional
            'viterbi': the most probable state path, and its joint log-probability with the
            data; 'map': the most probable state at every step (posterior decoding), and
            (as hmmlearn) the sum over samples of that state's posterior probability.
            Default: the estimator's ``algorithm``.

        Returns
        -------
        log_prob : float
        states : ndarray of shape (n_samples,)
        """
        algorithm = self.algorithm if algorithm is None else algorithm
        if algorithm not in DECODERS:
            raise ValueError(f"Unknown decoder {algorithm!r}; choose from {list(DECODERS)}")
        seqs = self._checked_sequences(X, lengths)
        model, params = self._model(seqs.X.shape[1]), self._params()
        if algorithm == "viterbi":
            parts = self._map(lambda s: [model.viterbi(params, s)], seqs)
            states = np.concatenate([s for s, _ in parts])
            return float(sum(lp.sum() for _, lp in parts)), states
        posteriors = self.score_samples(seqs.X, seqs.lengths)[1]
        return float(posteriors.max(axis=1).sum()), np.argmax(posteriors, axis=1)

    def predict(self, X: Any, lengths: Any = None) -> np.ndarray:
        """Most likely state of every sample by the estimator's ``algorithm``."""
        return self.decode(X, lengths)[1]

    def sample(
        self,
        n_samples: int = 1,
        random_state: Any = None,
        currstate: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Draw one sequence from the fitted model.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        state_sequence : ndarray of shape (n_samples,)
        """
        self._check_fitted()
        check_int(n_samples, "n_samples", 1)
        rng = check_random_state(self.random_state if random_state is None else random_state)
        model = self._model(self.n_features_in_)
        return model.sample(self._params(), int(n_samples), rng, currstate)

    def get_stationary_distribution(self) -> np.ndarray:
        """Stationary distribution of the hidden chain, shape (n_components,)."""
        self._check_fitted()
        eigvals, eigvecs = linalg.eig(self.transmat_.T)
        vec = np.real_if_close(eigvecs[:, np.argmax(eigvals.real)])
        return np.real(vec / vec.sum())

    def _n_parameters(self) -> int:
        """Free parameters (all of them, as hmmlearn counts for aic and bic)."""
        k = int(self.n_components)
        return k - 1 + k * (k - 1) + self._n_emission_parameters()

    def aic(self, X: Any, lengths: Any = None) -> float:
        """Akaike information criterion on ``X`` (lower is better)."""
        return -2.0 * self.score(X, lengths) + 2.0 * self._n_parameters()

    def bic(self, X: Any, lengths: Any = None) -> float:
        """Bayesian information criterion on ``X`` (lower is better)."""
        n = self._checked_sequences(X, lengths).X.shape[0]
        return -2.0 * self.score(X, lengths) + self._n_parameters() * np.log(n)

    # -- internals ----------------------------------------------------------------------
    def _check_hyperparameters(self) -> None:
        check_int(self.n_components, "n_components", 1)
        check_int(self.n_iter, "n_iter", 1)
        check_int(self.n_init, "n_init", 1)
        if self.chunk_size is not None:
            check_int(self.chunk_size, "chunk_size", 1)
        if isinstance(self.tol, bool) or not isinstance(self.tol, (int, float, np.floating)):
            raise ValueError(f"tol must be a number, got {self.tol!r}")
        if self.algorithm not in DECODERS:
            raise ValueError(f"algorithm must be one of {list(DECODERS)}, got {self.algorithm!r}")
        if self.implementation not in IMPLEMENTATIONS:
            raise ValueError(
                f"implementation must be one of {list(IMPLEMENTATIONS)}, "
                f"got {self.implementation!r}"
            )
        if self.accelerate is not None and self.accelerate != "squarem":
            raise ValueError(f"accelerate must be 'squarem' or None, got {self.accelerate!r}")
        self._parameter_names(self.params, "params")
        self._parameter_names(self.init_params, "init_params")

    def _parameter_names(self, value: str | Collection[str], what: str) -> frozenset[str]:
        """Parameter names from hmmlearn's letters ('stmc') or from names
        ({'startprob', 'means'})."""
        letters = {**self._chain_letters, **self._emission_letters}
        names = set(letters.values())
        if isinstance(value, str):
            unknown = set(value) - set(letters)
            if unknown:
                raise ValueError(
                    f"{what}={value!r} holds unknown letters {sorted(unknown)}; each letter "
                    f"is a parameter: {letters}"
                )
            return frozenset(letters[c] for c in value)
        chosen = set(value)
        if chosen - names:
            raise ValueError(
                f"{what} holds unknown parameter names {sorted(chosen - names)}; "
                f"choose from {sorted(names)}"
            )
        return frozenset(chosen)

    def _sequences(self, X: Any, lengths: Any, *, reset: bool) -> Sequences:
        if isinstance(X, (list, tuple)) and X and np.ndim(X[0]) >= 1 and lengths is None:
            if not all(np.ndim(x) == np.ndim(X[0]) for x in X):
                raise ValueError("the sequences in the list have different numbers of dimensions")
            seqs = Sequences.from_list([np.asarray(x) for x in X])
            data, seq_lengths = seqs.X, seqs.lengths
        else:
            data, seq_lengths = X, lengths
        data = self._check_emission_data(data, reset=reset)
        return Sequences(data, seq_lengths)

    def _checked_sequences(self, X: Any, lengths: Any) -> Sequences:
        self._check_fitted()
        return self._sequences(X, lengths, reset=False)

    def _check_fitted(self) -> None:
        if not hasattr(self, "startprob_") or not hasattr(self, "transmat_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this estimator."
            )

    def _map(self, fn: Callable[[Sequences], list[Any]], seqs: Sequences) -> list[Any]:
        """``fn`` over batches of whole sequences on the estimator's threads, results in
        order."""
        step = self.chunk_size or DEFAULT_CHUNK_SIZE
        out = map_reduce(
            lambda group: fn(group[0]),
            list(seqs.groups(step)),
            lambda a, b: a + b,
            resolve_n_jobs(self.n_jobs),
        )
        return out or []

    def _per_sequence(self, X: Any, lengths: Any, what: str) -> np.ndarray:
        seqs = self._checked_sequences(X, lengths)
        model, params = self._model(seqs.X.shape[1]), self._params()
        method = getattr(model, what)
        return np.concatenate(self._map(lambda s: [method(params, s)], seqs))

    def _model(self, n_features: int) -> HMM:
        fitted = self._parameter_names(self.params, "params")
        frozen_chain = frozenset(
            name for name in self._chain_letters.values() if name not in fitted
        )
        return HMM(
            self._family(n_features, fitted),
            int(self.n_components),
            initializer("kmeans", self.chunk_size),
            startprob_prior=self.startprob_prior,
            transmat_prior=self.transmat_prior,
            frozen=frozen_chain,
            chunk_size=self.chunk_size,
        )

    def _start(self, model: HMM) -> Callable[..., HMMParams]:
        """Initial parameters: those named in ``init_params`` freshly initialised, the others
        taken from the estimator's attributes (which must then be set), as in hmmlearn."""
        fresh = self._parameter_names(self.init_params, "init_params")
        k = int(self.n_components)

        def start(X: Sequences, rng: np.random.RandomState, w: np.ndarray | None) -> HMMParams:
            startprob = np.full(k, 1.0 / k) if "startprob" in fresh else self._given("startprob_")
            transmat = np.full((k, k), 1.0 / k) if "transmat" in fresh else self._given("transmat_")
            self._check_chain(startprob, transmat)
            emissions = self._initial_emissions(model, X, rng, w, fresh)
            return HMMParams(startprob, transmat, emissions)

        return start

    def _given(self, name: str) -> np.ndarray:
        if not hasattr(self, name):
            raise ValueError(
                f"{name} must be set before fit when it is not among init_params "
                f"(init_params={self.init_params!r})"
            )
        return np.asarray(getattr(self, name), dtype=np.float64)

    def _check_chain(self, startprob: np.ndarray, transmat: np.ndarray) -> None:
        k = int(self.n_components)
        if startprob.shape != (k,):
            raise ValueError(f"startprob_ must have shape ({k},), got {startprob.shape}")
        if transmat.shape != (k, k):
            raise ValueError(f"transmat_ must have shape ({k}, {k}), got {transmat.shape}")
        for name, arr in (("startprob_", startprob), ("transmat_", transmat)):
            if not np.all(np.isfinite(arr)) or np.any(arr < 0):
                raise ValueError(f"{name} must hold finite non-negative probabilities")
            if not np.allclose(arr.sum(axis=-1), 1.0, rtol=0, atol=1e-8):
                raise ValueError(f"{name} must sum to 1 (rows of transmat_ each)")

    def _kmeans_mixture(self, family: Any) -> Mixture:
        start = initializer("kmeans", self.chunk_size)
        return Mixture(family, int(self.n_components), start, chunk_size=self.chunk_size)

    def _set_params(self, params: HMMParams) -> None:
        self.startprob_ = params.startprob
        self.transmat_ = params.transmat
        self._set_emission_attributes(params.emissions)

    def _params(self) -> HMMParams:
        self._check_fitted()
        return HMMParams(
            np.asarray(self.startprob_, dtype=np.float64),
            np.asarray(self.transmat_, dtype=np.float64),
            self._emission_params(),
        )

    def _restore(self) -> None:
        self._check_chain(np.asarray(self.startprob_), np.asarray(self.transmat_))
        self._emission_params()

    # -- emission hooks -----------------------------------------------------------------
    def _family(self, n_features: int, fitted: frozenset[str]) -> Any:
        raise NotImplementedError

    def _check_emission_data(self, X: Any, *, reset: bool) -> np.ndarray:
        """Finite float data (the Gaussian faces); discrete faces ask their family."""
        return self._check_data(X, reset=reset)

    def _initial_emissions(
        self,
        model: HMM,
        X: Sequences,
        rng: np.random.RandomState,
        w: np.ndarray | None,
        fresh: frozenset[str],
    ) -> Any:
        raise NotImplementedError

    def _set_emission_attributes(self, emissions: Any) -> None:
        raise NotImplementedError

    def _emission_params(self) -> Any:
        raise NotImplementedError

    def _n_emission_parameters(self) -> int:
        raise NotImplementedError


class GaussianHMM(BaseHMM):
    """Hidden Markov model with Gaussian emissions; a drop-in for hmmlearn's ``GaussianHMM``.

    Parameters
    ----------
    n_components : int, default=1
        Number of hidden states.
    covariance_type : {'diag', 'full', 'tied', 'spherical'}, default='diag'
    min_covar : float, default=1e-3
        Added to the variances of the initial covariances.
    startprob_prior, transmat_prior : float or array-like, default=1.0
        Dirichlet concentrations for the start probabilities (n_components,) and the rows
        of the transition matrix (n_components, n_components); 1.0 is maximum likelihood.
    means_prior, means_weight, covars_prior, covars_weight : float or array-like
        Conjugate prior on the means and covariances (see
        :class:`emkit.families.gaussian.GaussianPrior`), with hmmlearn's defaults.
    algorithm : {'viterbi', 'map'}, default='viterbi'
        Decoder used by :meth:`predict`.
    random_state : int, RandomState or None
    n_iter : int, default=10
        Largest number of EM iterations.
    tol : float, default=1e-2
        Convergence threshold on the change of the total log-likelihood.
    verbose : bool, default=False
    params, init_params : str or collection of str, default='stmc'
        Parameters to update in fitting / to initialise before fitting, as hmmlearn's
        letters ('s' startprob, 't' transmat, 'm' means, 'c' covars) or as names
        ({'startprob', 'transmat', 'means', 'covars'}). A parameter left out of
        ``init_params`` starts from the attribute set on the estimator (``means_``, ...).
    implementation : {'log', 'scaling'}, default='log'
        Accepted for compatibility with hmmlearn; emkit has one numerically stable
        forward-backward (scaled, with per-step log shifts), so both give the same result.
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
    means_ : ndarray of shape (n_components, n_features)
    covars_ : ndarray
        Covariances in full form, shape (n_components, n_features, n_features), as hmmlearn
        returns them for every covariance type.
    monitor_ : ConvergenceMonitor
    """

    _emission_letters: ClassVar[dict[str, str]] = {"m": "means", "c": "covars"}

    def __init__(
        self,
        n_components: int = 1,
        covariance_type: str = "diag",
        min_covar: float = 1e-3,
        startprob_prior: Any = 1.0,
        transmat_prior: Any = 1.0,
        means_prior: Any = 0,
        means_weight: Any = 0,
        covars_prior: Any = 1e-2,
        covars_weight: Any = 1,
        algorithm: str = "viterbi",
        random_state: Any = None,
        n_iter: int = 10,
        tol: float = 1e-2,
        verbose: bool = False,
        params: Any = "stmc",
        init_params: Any = "stmc",
        implementation: str = "log",
        n_init: int = 1,
        n_jobs: int | None = None,
        chunk_size: int | None = None,
        accelerate: str | None = None,
    ) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.min_covar = min_covar
        self.startprob_prior = startprob_prior
        self.transmat_prior = transmat_prior
        self.means_prior = means_prior
        self.means_weight = means_weight
        self.covars_prior = covars_prior
        self.covars_weight = covars_weight
        self.algorithm = algorithm
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
    def covars_(self) -> np.ndarray:
        """Covariances as full matrices, shape (n_components, n_features, n_features)."""
        return self._structure().full(self._covars_, int(self.n_components), self.n_features_in_)

    @covars_.setter
    def covars_(self, value: Any) -> None:
        self._covars_ = self._covars_from_user(value)

    @property
    def n_features(self) -> int:
        return int(self.n_features_in_)

    def _structure(self) -> Any:
        return covariance_structure(self.covariance_type)

    def _covars_from_user(self, value: Any) -> np.ndarray:
        """hmmlearn accepts covariances in the type's own shape; full matrices for diag and
        spherical types are reduced to their diagonal."""
        value = np.asarray(value, dtype=np.float64)
        k = int(self.n_components)
        if self.covariance_type in ("diag", "spherical") and value.ndim == 3:
            value = np.diagonal(value, axis1=1, axis2=2)
            if self.covariance_type == "spherical":
                value = value.mean(axis=1)
        d = value.shape[-1] if value.ndim >= 2 else getattr(self, "n_features_in_", None)
        if self.covariance_type == "tied" and value.ndim == 3:
            value = value[0]
        if d is None:
            return value
        return self._structure().check(value, k, d, "covars_")

    def _check_hyperparameters(self) -> None:
        super()._check_hyperparameters()
        self._structure()
        if not (isinstance(self.min_covar, (int, float, np.floating)) and self.min_covar >= 0):
            raise ValueError(f"min_covar must be a non-negative number, got {self.min_covar!r}")

    def _family(self, n_features: int, fitted: frozenset[str]) -> Gaussian:
        frozen = frozenset(
            {"means": "means", "covars": "covariances"}[n]
            for n in ("means", "covars")
            if n not in fitted
        )
        prior = GaussianPrior(
            self.means_prior, self.means_weight, self.covars_prior, float(self.covars_weight)
        )
        return Gaussian(self._structure(), 0.0, frozen, prior)

    def _initial_emissions(self, model, X, rng, w, fresh):
        k, d = int(self.n_components), X.X.shape[1]
        start = None
        if fresh & {"means", "covars"}:
            # As hmmlearn: k-means clusters, covariances with min_covar on the variances.
            family = Gaussian(self._structure(), float(self.min_covar))
            start = self._kmeans_mixture(family).init(X.X, rng, w).components
        means = start.means if "means" in fresh else self._given("means_")
        if means.shape != (k, d):
            raise ValueError(f"means_ must have shape ({k}, {d}), got {means.shape}")
        if "covars" in fresh:
            covariances = start.covariances
        else:
            covariances = self._structure().check(self._given("_covars_"), k, d, "covars_")
        return model.family.from_covariances(means, covariances)

    def _set_emission_attributes(self, emissions: GaussianParams) -> None:
        self.means_ = emissions.means
        self._covars_ = emissions.covariances

    def _emission_params(self) -> GaussianParams:
        k, d = np.shape(self.means_)
        covariances = self._structure().check(self._covars_, k, d, "covars_")
        return Gaussian(self._structure()).from_covariances(
            np.asarray(self.means_, dtype=np.float64), covariances
        )

    def _n_emission_parameters(self) -> int:
        k, d = int(self.n_components), int(self.n_features_in_)
        return Gaussian(self._structure()).n_parameters(k, d)

    _fitted_arrays = ("startprob_", "transmat_", "means_", "_covars_", "lower_bounds_")


_COMMON_DOC = """
    algorithm : {'viterbi', 'map'}, default='viterbi'
        Decoder used by :meth:`predict`.
    random_state : int, RandomState or None
    n_iter : int, default=10
        Largest number of EM iterations.
    tol : float, default=1e-2
        Convergence threshold on the change of the total log-likelihood.
    verbose : bool, default=False
    implementation : {'log', 'scaling'}, default='log'
        Accepted for compatibility with hmmlearn; both give the same result.
    n_init, n_jobs, chunk_size, accelerate
        As for :class:`GaussianHMM`.
"""


class _DiscreteHMM(BaseHMM):
    """Faces whose emission parameters are one array, set by a family from the data."""

    _attribute: ClassVar[str]  # the fitted attribute of the emission parameters

    def _emission_family(self, fitted: frozenset[str]) -> Any:
        raise NotImplementedError

    def _family(self, n_features: int, fitted: frozenset[str]) -> Any:
        return self._emission_family(fitted)

    def _check_emission_data(self, X: Any, *, reset: bool) -> np.ndarray:
        X = self._emission_family(frozenset()).check_data(X)
        if reset:
            self.n_features_in_ = X.shape[1]
        elif X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input"
            )
        return X

    def _emission_name(self) -> str:
        return next(iter(self._emission_letters.values()))

    def _initial_emissions(self, model, X, rng, w, fresh):
        if self._emission_name() in fresh:
            return self._random_emissions(X.X, rng)
        return self._emissions_from(self._given(self._attribute))

    def _set_emission_attributes(self, emissions: Any) -> None:
        setattr(self, self._attribute, self._attribute_from(emissions))

    def _emission_params(self) -> Any:
        return self._emissions_from(np.asarray(getattr(self, self._attribute), np.float64))

    # hooks of the concrete faces
    def _random_emissions(self, X: np.ndarray, rng: np.random.RandomState) -> Any:
        raise NotImplementedError

    def _emissions_from(self, value: np.ndarray) -> Any:
        raise NotImplementedError

    def _attribute_from(self, emissions: Any) -> np.ndarray:
        raise NotImplementedError


def _check_probabilities(value: np.ndarray, shape: tuple[int, ...], name: str) -> np.ndarray:
    value = np.asarray(value, dtype=np.float64)
    if value.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {value.shape}")
    if not np.all(np.isfinite(value)) or np.any(value < 0):
        raise ValueError(f"{name} must hold finite non-negative probabilities")
    if not np.allclose(value.sum(axis=-1), 1.0, rtol=0, atol=1e-8):
        raise ValueError(f"the rows of {name} must sum to 1")
    return value


class CategoricalHMM(_DiscreteHMM):
    __doc__ = (
        """Hidden Markov model with categorical emissions; a drop-in for hmmlearn's
    ``CategoricalHMM``.

    Observations are integer symbols ``0 .. n_features - 1`` in one column, shape
    (n_samples, 1).

    Parameters
    ----------
    n_components : int, default=1
    startprob_prior, transmat_prior : float or array-like, default=1.0
        Dirichlet concentrations (1.0: maximum likelihood).
    emissionprob_prior : float, default=1.0
        Concentration of a symmetric Dirichlet prior on every state's symbol probabilities.
    n_features : int, optional
        Number of symbols; by default one more than the largest symbol of the data.
    params, init_params : str or collection of str, default='ste'
        Letters 's' startprob, 't' transmat, 'e' emissionprob, or the names. A fresh
        ``emissionprob_`` is random (rows of uniform draws, normalised), as hmmlearn's.
    """
        + _COMMON_DOC
        + """
    Attributes
    ----------
    startprob_, transmat_
    emissionprob_ : ndarray of shape (n_components, n_features)
    monitor_ : ConvergenceMonitor
    """
    )

    _emission_letters: ClassVar[dict[str, str]] = {"e": "emissionprob"}
    _attribute = "emissionprob_"

    def __init__(
        self,
        n_components: int = 1,
        startprob_prior: Any = 1.0,
        transmat_prior: Any = 1.0,
        emissionprob_prior: float = 1.0,
        n_features: int | None = None,
        algorithm: str = "viterbi",
        random_state: Any = None,
        n_iter: int = 10,
        tol: float = 1e-2,
        verbose: bool = False,
        params: Any = "ste",
        init_params: Any = "ste",
        implementation: str = "log",
        n_init: int = 1,
        n_jobs: int | None = None,
        chunk_size: int | None = None,
        accelerate: str | None = None,
    ) -> None:
        self.n_components = n_components
        self.startprob_prior = startprob_prior
        self.transmat_prior = transmat_prior
        self.emissionprob_prior = emissionprob_prior
        self.n_features = n_features
        self.algorithm = algorithm
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

    _fitted_arrays = ("startprob_", "transmat_", "emissionprob_", "lower_bounds_")

    def _symbols(self) -> int | None:
        if self.n_features is not None:
            return int(self.n_features)
        probs = getattr(self, "emissionprob_", None)
        return None if probs is None else int(np.shape(probs)[1])

    def _emission_family(self, fitted: frozenset[str]) -> Categorical:
        frozen = frozenset() if "emissionprob" in fitted else frozenset({"probs"})
        return Categorical(self._symbols(), float(self.emissionprob_prior), frozen)

    def _check_emission_data(self, X: Any, *, reset: bool) -> np.ndarray:
        X = super()._check_emission_data(X, reset=reset)
        if X.shape[1] != 1:
            raise ValueError(
                f"CategoricalHMM takes one column of integer symbols, shape (n_samples, 1); "
                f"got {X.shape[1]} columns"
            )
        return X

    def _random_emissions(self, X, rng):
        symbols = self._symbols() or int(X.max()) + 1
        probs = rng.rand(int(self.n_components), symbols)
        return self._emissions_from(probs / probs.sum(axis=1, keepdims=True))

    def _emissions_from(self, value):
        k = int(self.n_components)
        value = np.asarray(value, dtype=np.float64)
        value = _check_probabilities(
            value, (k, value.shape[-1] if value.ndim else 0), "emissionprob_"
        )
        return CategoricalParams(value[:, None, :], np.array([value.shape[1]], dtype=np.int64))

    def _attribute_from(self, emissions):
        return emissions.probs[:, 0, :]

    def _n_emission_parameters(self) -> int:
        return int(self.n_components) * (np.shape(self.emissionprob_)[1] - 1)


class MultinomialHMM(_DiscreteHMM):
    __doc__ = (
        """Hidden Markov model with multinomial emissions; a drop-in for hmmlearn's
    ``MultinomialHMM``.

    Observations are count vectors, shape (n_samples, n_features).

    Parameters
    ----------
    n_components : int, default=1
    n_trials : int, optional
        When given, every row must sum to it (and :meth:`sample` draws rows of that total).
    startprob_prior, transmat_prior : float or array-like, default=1.0
    emissionprob_prior : float, default=1.0
        Concentration of a symmetric Dirichlet prior on every state's probabilities (1.0:
        maximum likelihood, as hmmlearn's, which has no prior).
    params, init_params : str or collection of str, default='ste'
        Letters 's', 't', 'e' (emissionprob), or the names; a fresh ``emissionprob_`` is
        random, as hmmlearn's.
    """
        + _COMMON_DOC
        + """
    Attributes
    ----------
    startprob_, transmat_
    emissionprob_ : ndarray of shape (n_components, n_features)
    monitor_ : ConvergenceMonitor
    """
    )

    _emission_letters: ClassVar[dict[str, str]] = {"e": "emissionprob"}
    _attribute = "emissionprob_"
    _fitted_arrays = ("startprob_", "transmat_", "emissionprob_", "lower_bounds_")

    @property
    def n_features(self) -> int:
        """Number of features of the fitted data."""
        return int(self.n_features_in_)

    def __init__(
        self,
        n_components: int = 1,
        n_trials: int | None = None,
        startprob_prior: Any = 1.0,
        transmat_prior: Any = 1.0,
        emissionprob_prior: float = 1.0,
        algorithm: str = "viterbi",
        random_state: Any = None,
        n_iter: int = 10,
        tol: float = 1e-2,
        verbose: bool = False,
        params: Any = "ste",
        init_params: Any = "ste",
        implementation: str = "log",
        n_init: int = 1,
        n_jobs: int | None = None,
        chunk_size: int | None = None,
        accelerate: str | None = None,
    ) -> None:
        self.n_components = n_components
        self.n_trials = n_trials
        self.startprob_prior = startprob_prior
        self.transmat_prior = transmat_prior
        self.emissionprob_prior = emissionprob_prior
        self.algorithm = algorithm
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

    def _emission_family(self, fitted: frozenset[str]) -> Multinomial:
        frozen = frozenset() if "emissionprob" in fitted else frozenset({"probs"})
        return Multinomial(self.n_trials, float(self.emissionprob_prior), frozen)

    def _random_emissions(self, X, rng):
        probs = rng.rand(int(self.n_components), X.shape[1])
        return self._emissions_from(probs / probs.sum(axis=1, keepdims=True))

    def _emissions_from(self, value):
        k = int(self.n_components)
        value = np.asarray(value, dtype=np.float64)
        shape = (k, value.shape[-1] if value.ndim else 0)
        return MultinomialParams(_check_probabilities(value, shape, "emissionprob_"))

    def _attribute_from(self, emissions):
        return emissions.probs

    def _n_emission_parameters(self) -> int:
        return int(self.n_components) * (np.shape(self.emissionprob_)[1] - 1)


class PoissonHMM(_DiscreteHMM):
    __doc__ = (
        """Hidden Markov model with Poisson emissions; a drop-in for hmmlearn's ``PoissonHMM``.

    Observations are counts, shape (n_samples, n_features), independent given the state.

    Parameters
    ----------
    n_components : int, default=1
    startprob_prior, transmat_prior : float or array-like, default=1.0
    lambdas_prior, lambdas_weight : float, default=0.0
        A Gamma prior on the rates: the M-step is ``(lambdas_prior + sum of the state's
        counts) / (lambdas_weight + the state's weight)`` (0, 0: maximum likelihood). hmmlearn
        divides by the weight of all states together instead, which agrees for one state
        and without a prior.
    params, init_params : str or collection of str, default='stl'
        Letters 's', 't', 'l' (lambdas), or the names; fresh rates are Gamma draws matched to
        the data's mean and variance, as hmmlearn's.
    """
        + _COMMON_DOC
        + """
    Attributes
    ----------
    startprob_, transmat_
    lambdas_ : ndarray of shape (n_components, n_features)
    monitor_ : ConvergenceMonitor
    """
    )

    _emission_letters: ClassVar[dict[str, str]] = {"l": "lambdas"}
    _attribute = "lambdas_"
    _fitted_arrays = ("startprob_", "transmat_", "lambdas_", "lower_bounds_")

    @property
    def n_features(self) -> int:
        """Number of features of the fitted data."""
        return int(self.n_features_in_)

    def __init__(
        self,
        n_components: int = 1,
        startprob_prior: Any = 1.0,
        transmat_prior: Any = 1.0,
        lambdas_prior: float = 0.0,
        lambdas_weight: float = 0.0,
        algorithm: str = "viterbi",
        random_state: Any = None,
        n_iter: int = 10,
        tol: float = 1e-2,
        verbose: bool = False,
        params: Any = "stl",
        init_params: Any = "stl",
        implementation: str = "log",
        n_init: int = 1,
        n_jobs: int | None = None,
        chunk_size: int | None = None,
        accelerate: str | None = None,
    ) -> None:
        self.n_components = n_components
        self.startprob_prior = startprob_prior
        self.transmat_prior = transmat_prior
        self.lambdas_prior = lambdas_prior
        self.lambdas_weight = lambdas_weight
        self.algorithm = algorithm
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

    def _emission_family(self, fitted: frozenset[str]) -> Poisson:
        frozen = frozenset() if "lambdas" in fitted else frozenset({"lambdas"})
        return Poisson(float(self.lambdas_prior), float(self.lambdas_weight), frozen)

    def _random_emissions(self, X, rng):
        return self._emission_family(frozenset()).random_params(X, int(self.n_components), rng)

    def _emissions_from(self, value):
        value = np.asarray(value, dtype=np.float64)
        k = int(self.n_components)
        if value.ndim != 2 or value.shape[0] != k:
            raise ValueError(f"lambdas_ must have shape ({k}, n_features), got {value.shape}")
        if not np.all(np.isfinite(value)) or np.any(value < 0):
            raise ValueError("lambdas_ must hold finite non-negative rates")
        return PoissonParams(value)

    def _attribute_from(self, emissions):
        return emissions.lambdas

    def _n_emission_parameters(self) -> int:
        return int(np.size(self.lambdas_))
