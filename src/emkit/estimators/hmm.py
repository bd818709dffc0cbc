"""Hidden Markov model estimators: drop-ins for hmmlearn's ``GaussianHMM`` and friends.

Every face builds an :class:`emkit.models.hmm.HMM` over one emission family and fits it with
the one EM driver, so restarts, threads over sequences, SQUAREM, sample weights and model
files come with it. Names and behaviour follow hmmlearn (``n_iter``, ``tol`` on the total
log-likelihood, ``params`` / ``init_params``, ``startprob_``, ``transmat_``, ``monitor_``,
parameters set by hand before ``score`` or ``sample``, ...).

Where hmmlearn takes ``X`` with ``lengths``, every method also takes
:class:`~emkit.core.batches.Sequences`, and a row source whose chunks hold whole sequences
(:func:`emkit.open_data` with ``sequence_column``, or
:class:`~emkit.execution.sources.SequenceRows`): a fit from a file reads it a chunk of
sequences at a time, and equals the fit from its sequences in memory. Methods that return
a value per row (``predict``, ``predict_proba``, ``score_samples``, ``decode``) return it
in memory for a source too: an array of n_samples states (or n_samples x n_components
probabilities), not the data.
"""

from __future__ import annotations

import contextlib
import logging
import numbers
from collections.abc import Callable, Collection, Iterator
from dataclasses import replace
from typing import Any, ClassVar

import numpy as np
from scipy import linalg
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state

from emkit.config import executor_for
from emkit.core import diagnostics
from emkit.core.batches import DEFAULT_CHUNK_SIZE, Sequences
from emkit.core.driver import INIT_MAX_ROWS, EMResult, fit_em, online_update
from emkit.core.online import OnlineEM, OnlineState
from emkit.estimators.base import EMEstimatorMixin, check_int, refuse_one_pass
from emkit.estimators.description import COVARIANCE, HIDDEN_MARKOV, Phrase
from emkit.estimators.hmm_monitor import ConvergenceMonitor, MonitorFeed
from emkit.estimators.hmm_parameters import (
    ALGORITHM,
    COVARIANCE_TYPE,
    DECODERS,
    EXTRAS,
    IMPLEMENTATION,
    MIN_COVAR,
    N_STATES,
    STARTPROB_PRIOR,
    TRANSMAT_PRIOR,
    chain_tail,
    positional,
)
from emkit.estimators.hmm_start import cluster_means, data_covariance, kmeans_labels
from emkit.estimators.parameters import (
    DeclaredParameters,
    Param,
    anything,
    integer,
    online_steps,
    optional,
    real,
    reals,
)
from emkit.exceptions import ConvergenceWarning, ImpossibleSampleWarning, NotFittedError, warn
from emkit.execution.sources import RowSource, SequenceRows
from emkit.families.base import Family
from emkit.families.categorical import Categorical, CategoricalParams
from emkit.families.checks import check_magnitude, real_data
from emkit.families.covariance import CovarianceStructure, covariance_structure
from emkit.families.gaussian import Gaussian, GaussianParams, GaussianPrior
from emkit.families.imputation import imputation_for
from emkit.families.multinomial import Multinomial, MultinomialParams
from emkit.families.poisson import Poisson, PoissonParams
from emkit.families.tables import Columns, ParameterTable
from emkit.models.hmm import HMM, HMMParams
from emkit.models.hmm_sampling import sample_paths
from emkit.models.initialization import initializer
from emkit.models.mixture import mean_imputed

__all__ = ["BaseHMM", "CategoricalHMM", "GaussianHMM", "MultinomialHMM", "PoissonHMM"]


EMISSIONPROB_PRIOR = Param(
    "emissionprob_prior",
    1.0,
    "float",
    "Concentration of a symmetric Dirichlet prior on every state's symbol probabilities.",
    real(0.0, strict=True),
)

# hmmlearn gives its notices about initialisation through the logging system, where its
# users (and their tests) look for them.
_log = logging.getLogger(__name__)


def _matrix_scale(covars_prior: Any, structure: CovarianceStructure, n_features: int) -> Any:
    """``covars_prior`` as the scale matrix of an inverse-Wishart prior: a number ``c`` for
    'full' or 'tied' covariances is ``c`` times the identity. (hmmlearn adds ``c`` to every
    entry: a matrix of rank one, no scale of a proper prior, which leaves a covariance
    singular along every direction whose entries sum to zero.) Arrays, None (a face's
    default), and the scales of the other types are as given."""
    if covars_prior is not None and structure.matrices and np.ndim(covars_prior) == 0:
        return float(covars_prior) * np.eye(n_features)
    return covars_prior


def _list_of_sequences(X: Any) -> list[np.ndarray] | None:
    """The sequences of ``X`` when it is a list (or tuple) of 2-D arrays, one per sequence;
    None when ``X`` is one array-like, a nested list of rows included, which is read as one
    2-D array (n_samples, n_features), as hmmlearn reads it."""
    if not isinstance(X, (list, tuple)) or not X:
        return None
    try:
        shapes = [np.shape(x) for x in X]
    except ValueError:
        shapes = None
    if shapes is not None and all(len(s) == 2 for s in shapes):
        return [np.asarray(x) for x in X]
    if shapes is None or any(len(s) == 2 for s in shapes) or len(set(shapes)) > 1:
        raise ValueError(
            "X is a list whose entries have different shapes: give one 2-D array of shape "
            "(n_samples, n_features) (with lengths), or a list of 2-D arrays of shape "
            "(length, n_features), one per sequence"
        )
    return None


class BaseHMM(DeclaredParameters, EMEstimatorMixin, BaseEstimator):
    """What every hidden Markov model face shares; subclasses name the emission family.

    Subclasses set ``_emission_letters`` (hmmlearn's letter for every emission parameter)
    and ``_emission_attributes`` (the attribute that holds it), and implement the emission
    hooks at the bottom of this class.
    """

    _abstract_face: ClassVar[bool] = True
    _one_pass_instead: ClassVar[str] = (
        "an array of rows with the lengths of its sequences, or a list of sequences"
    )
    _chain_letters: ClassVar[dict[str, str]] = {"s": "startprob", "t": "transmat"}
    _emission_letters: ClassVar[dict[str, str]] = {}
    _emission_attributes: ClassVar[dict[str, str]] = {}

    # -- the convergence monitor ---------------------------------------------------------
    @property
    def monitor_(self) -> Any:
        """The :class:`ConvergenceMonitor` that decides when ``fit`` stops, and holds the
        objective of every iteration of the last fit (online: of every pass), followed by
        the total log-likelihood of every mini-batch of the :meth:`partial_fit` calls since.

        Until one is assigned, every fit uses a fresh ``ConvergenceMonitor(tol, n_iter,
        verbose)`` of the estimator's hyperparameters. Assign one (for instance of a
        subclass with its own ``converged``) to change how fits decide convergence; it is
        then used, and reset, by every fit.
        """
        if "_monitor" not in self.__dict__:
            self._monitor = ConvergenceMonitor(self.tol, self.n_iter, self.verbose)
        return self._monitor

    @monitor_.setter
    def monitor_(self, monitor: Any) -> None:
        self._monitor = monitor
        self._monitor_installed = True

    # -- fitting ------------------------------------------------------------------------
    def fit(self, X: Any, lengths: Any = None, sample_weight: Any = None) -> BaseHMM:
        """Estimate the parameters by Baum-Welch (EM).

        Parameters named in ``init_params``, and those not set on the estimator, start
        afresh; the others start from the values set. Every iteration is reported to
        ``monitor_``, whose ``converged`` ends the fit (by default: after ``n_iter``
        iterations, or once an iteration gains less than ``tol``). With priors EM
        maximises the log-likelihood plus the log prior density (MAP), and that objective
        is what ``monitor_`` and ``lower_bounds_`` record.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), list of such arrays, Sequences, or
            RowSource
            Observations of all sequences end to end (with ``lengths``), or a list of 2-D
            arrays, one per sequence. Any other array-like (a nested list of rows) is one
            array. Sequences carry their lengths; a row source (``emkit.open_data(path,
            sequence_column=...)`` for a file larger than memory) yields chunks of whole
            sequences, read once per iteration: initialisation starts from a sample of
            them (all of them up to 200,000 rows), so that a fit from a file equals a fit
            from its sequences in memory, to round-off.
        lengths : array-like of int, shape (n_sequences,), optional
            Length of every sequence in ``X``; None for a single sequence (or a list).
            Only with an array ``X``.
        sample_weight : array-like of shape (n_sequences,), optional
            Non-negative weight of every sequence; an integer weight equals the sequence
            repeated. Not with a row source, whose weights go with its chunks.

        Returns
        -------
        self
        """
        self._check_hyperparameters()
        source = self._source(X, lengths, sample_weight, reset=True)
        online = self._online_schedule()
        data: Sequences | RowSource
        if source is None:
            seqs, row_weights = self._fit_data(X, lengths, sample_weight, reset=True)
            data, n_features = seqs, seqs.X.shape[1]
            total: float | None = float(
                seqs.X.shape[0] if row_weights is None else row_weights.sum()
            )
        else:
            data, row_weights, n_features = source, None, source.n_features
            # The first E-step tells the monitor the weight of the data; online EM's tol
            # needs it before.
            total = _total_weight(source, self.chunk_size) if online is not None else None
        fresh = self._fresh_parameters()
        model = self._model(n_features)
        monitor = self._monitor_for_fit()
        feed = MonitorFeed(monitor, total)
        with self._learning_from(data if source is not None else None, fresh):
            start = self._start(model, fresh, check_sample=source is not None)
            result = fit_em(
                model,
                data,
                sample_weight=row_weights,
                n_init=int(self.n_init),
                max_iter=int(self.n_iter),
                # The monitor judges Baum-Welch's convergence; the driver stops on its
                # verdict, after n_iter iterations, or at a fixed point. Online, the driver
                # applies tol to whole passes (on the mean log-likelihood, hence tol / total).
                tol=0.0 if online is None else float(self.tol) / float(total),
                online=online,
                init=start,
                random_state=check_random_state(self.random_state),
                # Online EM's steps are not iterations of Baum-Welch: the monitor gets its
                # passes.
                callback=feed if online is None else None,
                chunk_size=self.chunk_size,
                n_jobs=self.n_jobs,
                accelerate=self.accelerate,
                warn_unconverged=False,
            )
        if total is None:
            total = feed.total if feed.total is not None else _total_weight(data, self.chunk_size)
        if online is None:
            feed.finish(result)
        else:
            monitor._reset()
            for bound in result.pass_lower_bounds:
                monitor.report(float(bound) * total)
        self._set_params(result.params)
        # The running average of earlier partial_fit calls belongs to parameters this fit
        # has replaced.
        self.__dict__.pop("_online_state", None)
        tol = float(getattr(monitor, "tol", self.tol))
        # hmmlearn's tol is on the total log-likelihood; the diagnostics judge the mean.
        self._record_result(result, self._converged(result, total, tol), tol / total)
        # A run that degenerated part way has been reported by the driver.
        if not self.converged_ and not result.degenerated and result.n_iter > 0 and tol > 0:
            bounds = result.pass_lower_bounds if online is not None else result.lower_bounds
            change = float(np.diff(bounds[-2:]).sum()) * total
            warn(
                f"Baum-Welch did not converge in n_iter={self.n_iter} iterations: the last "
                f"change of the total log-likelihood was {change:.3g}, tol={tol:g}. "
                "Increase n_iter or tol, or check the initialisation.",
                ConvergenceWarning,
            )
        return self

    def partial_fit(self, X: Any, lengths: Any = None, sample_weight: Any = None) -> BaseHMM:
        """Online EM on one more batch of sequences, continuing from the previous calls.

        The sequences of ``X`` are cut, in order and never inside a sequence, into
        mini-batches of at most ``batch_size`` observations (a longer sequence is a
        mini-batch alone), as ``fit`` with ``learning_method='online'`` cuts them; each
        mini-batch takes one step of online EM (:func:`emkit.core.driver.online_update`,
        with ``learning_decay`` and ``learning_offset``). A stream given call by call, cut
        at the mini-batches' boundaries, thus takes exactly the steps of one online pass
        of ``fit`` over all of it.

        The first call on a model not fitted yet starts as :meth:`fit` does, from the
        sequences of that call: the parameters named in ``init_params`` and those not set
        are initialised, the others start from the values set. A fitted model (by ``fit``,
        ``partial_fit`` or a model file) continues from its current parameters, and after an
        online fit (``learning_method='online'``) from its running average, as more
        mini-batches of that fit would; after a batch ``fit`` or a model file the running
        average of the statistics starts afresh, so that the first step takes its
        mini-batch's statistics whole. Only the parameters
        named in ``params`` change. The running average lives on the estimator between
        calls; model files do not keep it. The features are fixed by the first call (a
        ``CategoricalHMM``'s symbols too: ``n_features``, else one more than the first
        call's largest symbol, so give ``n_features`` when later batches may hold more).

        After the call, ``lower_bounds_`` has gained the mean log-likelihood of every
        mini-batch (per sample, under the parameters before its step; no log prior
        density) and ``monitor_.history`` its total log-likelihood (the mean times the
        mini-batch's weight), after the history of the fit they continue; the first call
        on an unfitted model starts both afresh. ``n_iter_`` counts the steps taken since
        the running average started, ``lower_bound_`` is the last mini-batch's mean, and
        ``converged_`` is False: no pass is judged against ``tol``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), list of such arrays, Sequences, or
            RowSource
            Observations of the batch's sequences end to end (with ``lengths``), or a list
            of 2-D arrays, one per sequence; the features of the model once it is fitted.
            A row source of whole sequences (as for :meth:`fit`) is read a mini-batch at a
            time; a first call starts from a sample of it.
        lengths : array-like of int, shape (n_sequences,), optional
            Length of every sequence in ``X``, summing to n_samples; None for a single
            sequence (or a list). Only with an array ``X``.
        sample_weight : array-like of shape (n_sequences,), optional
            Non-negative weight of every sequence, as for :meth:`fit`.

        Returns
        -------
        self
        """
        self._check_hyperparameters()
        first = not hasattr(self, "converged_")
        source = self._source(X, lengths, sample_weight, reset=first)
        if source is None:
            seqs, row_weights = self._fit_data(X, lengths, sample_weight, reset=first)
            data: RowSource = SequenceRows(seqs, row_weights)
        else:
            data = source
        model = self._model(data.n_features)
        if first:
            fresh = self._fresh_parameters()
            rng = check_random_state(self.random_state)
            with self._learning_from(source, fresh):
                start = self._start(model, fresh, check_sample=source is not None)
                X0, w0 = data.sample(INIT_MAX_ROWS, rng)
                params = start(X0, rng, w0)
            state, history = OnlineState(), np.empty(0)
            monitor = self._monitor_for_fit()
            monitor._reset()
        else:
            params = self._params()
            state = self.__dict__.get("_online_state", OnlineState())
            history = np.asarray(self.lower_bounds_, dtype=np.float64)
            monitor = self.monitor_
        bounds, totals = [], []
        schedule = online_steps(self)
        for batch, weights in data.chunks(schedule.batch_size):
            params, state, bound = online_update(
                model,
                params,
                state,
                batch,
                schedule,
                sample_weight=weights,
                chunk_size=self.chunk_size,
                n_jobs=self.n_jobs,
            )
            bounds.append(bound)
            totals.append(bound * (batch.shape[0] if weights is None else float(weights.sum())))
        self._set_params(params)
        # Appended as they are, not reported: the batches hold different data, so a lower
        # total than the previous batch's is no sign that EM is failing.
        monitor.history.extend(totals)
        monitor.iter += len(totals)
        self._record_steps(state, history, bounds)
        return self

    def _fit_data(
        self, X: Any, lengths: Any, sample_weight: Any, *, reset: bool
    ) -> tuple[Sequences, np.ndarray | None]:
        """The checked sequences to fit, and the weight of every row (each sequence's
        weight repeated over its rows; None without weights), shape (n_samples,)."""
        seqs = self._sequences(X, lengths, reset=reset)
        self._check_fit_data(seqs.X)
        weights = self._check_sample_weight(sample_weight, seqs.lengths.size)
        return seqs, None if weights is None else np.repeat(weights, seqs.lengths)

    def _monitor_for_fit(self) -> Any:
        if not self.__dict__.get("_monitor_installed", False):
            self._monitor = ConvergenceMonitor(self.tol, int(self.n_iter), self.verbose)
        return self._monitor

    def _converged(self, result: EMResult, total: float, tol: float) -> bool:
        """Whether the fit met its convergence rule: the monitor ended it before ``n_iter``
        iterations, an M-step returned its own input (a fixed point), or the last
        iteration gained less than ``tol``."""
        if result.converged or (result.stopped and result.n_iter < int(self.n_iter)):
            return True
        # Online, lower_bounds are the batches': the passes' bounds are what tol judges.
        bounds = result.pass_lower_bounds if result.pass_lower_bounds.size else result.lower_bounds
        return bounds.size > 1 and (bounds[-1] - bounds[-2]) * total < tol

    # -- scoring and decoding -------------------------------------------------------------
    def score(self, X: Any, lengths: Any = None) -> float:
        """Total log-likelihood of the sequences in ``X`` (an array with ``lengths``,
        Sequences, or a row source of whole sequences, as :meth:`fit` takes).

        A sequence that no path of states can emit has log-likelihood ``-inf``, with an
        :class:`~emkit.exceptions.ImpossibleSampleWarning` that names it.
        """
        return self._log_likelihood(X, lengths)[0]

    def _log_likelihood(self, X: Any, lengths: Any) -> tuple[float, int]:
        """Total log-likelihood of ``X`` and its number of samples (score, aic and bic)."""
        source, model, params = self._evaluation(X, lengths)
        parts, problem, n = self._over_sequences(
            lambda s: (None, model.log_prob(params, s)), source, model, params
        )
        if problem is not None:
            warn(f"{problem}; its log-likelihood is -inf", ImpossibleSampleWarning)
        return float(sum(float(logliks.sum()) for _, logliks in parts)), n

    def score_samples(self, X: Any, lengths: Any = None) -> tuple[float, np.ndarray]:
        """Total log-likelihood, and the state posteriors of every sample, shape
        (n_samples, n_components), in memory (of a row source too).

        Raises
        ------
        ValueError
            When a sequence has probability zero under the model: it has no posteriors.
        """
        source, model, params = self._evaluation(X, lengths)
        parts, problem, _ = self._over_sequences(
            lambda s: model.posteriors(params, s), source, model, params
        )
        if problem is not None:
            raise ValueError(f"{problem}, so it has no state posteriors")
        total = float(sum(float(logliks.sum()) for _, logliks in parts))
        return total, _stacked([p for p, _ in parts], (0, int(self.n_components)))

    def predict_proba(self, X: Any, lengths: Any = None) -> np.ndarray:
        """State posteriors ``p(z_t = k | sequence)``, shape (n_samples, n_components)."""
        return self.score_samples(X, lengths)[1]

    def impute(self, X: Any, lengths: Any = None, return_std: bool = False) -> Any:
        """Fill in the missing cells (NaN) of ``X`` with their conditional expectation given
        the whole sequence: ``sum_k p(z_t = k | sequence) E[x_tm | x_to, z_t = k]``, the
        states' posteriors of :meth:`predict_proba` weighing what each state's emission
        says of the missing cells given the observed ones (missing at random).

        Parameters
        ----------
        X, lengths
            As :meth:`score` takes them (arrays), NaN where a cell is missing.
        return_std : bool, default=False
            Also return the conditional standard deviation of every missing cell (zero for
            the observed cells).

        Returns
        -------
        X_imputed : ndarray of shape (n_samples, n_features)
        std : ndarray of shape (n_samples, n_features)
            Only with ``return_std``.

        Raises
        ------
        TypeError
            When the emission family cannot say what a missing cell is given the observed
            ones.
        """
        if not isinstance(return_std, (bool, np.bool_)):
            raise TypeError(f"return_std must be True or False, got {return_std!r}")
        resp = self.predict_proba(X, lengths)
        rows = np.asarray(self._check_emission_data(X, reset=False), dtype=np.float64)
        family = self._model(int(self.n_features_in_)).family
        values, std = imputation_for(family).impute(family, self._params().emissions, rows, resp)
        return (values, std) if return_std else values

    def sample_missing(
        self,
        X: Any,
        lengths: Any = None,
        n_imputations: int = 5,
        random_state: Any = None,
    ) -> np.ndarray:
        """Multiple imputation: ``n_imputations`` copies of ``X``, each with its missing
        cells drawn from their distribution given everything observed.

        Every copy draws a path of states from its posterior given the whole sequence
        (forward filtering, backward sampling: :mod:`emkit.models.hmm_sampling`), then every
        row's missing cells from its state's emission given the row's observed cells (a
        Gaussian's missing cells jointly). The copies are draws from the joint posterior of
        the states and the missing cells, so they carry the dependence along the sequence
        that :meth:`impute`, a mean, averages out.

        Parameters
        ----------
        X, lengths
            As :meth:`score` takes them (arrays), NaN where a cell is missing.
        n_imputations : int, default=5
            Number of imputed copies.
        random_state : int, RandomState instance or None, default=None
            Seeds the draws: the same seed gives the same copies.

        Returns
        -------
        ndarray of shape (n_imputations, n_samples, n_features)
            The observed cells as they are in every copy.

        Raises
        ------
        TypeError
            When the emission family cannot draw a missing cell given the observed ones.
        ValueError
            When a sequence has probability zero under the model.
        """
        check_int(n_imputations, "n_imputations", 1)
        self._check_fitted()
        seqs = self._sequences(X, lengths, reset=False)
        model, params = self._model(seqs.X.shape[1]), self._params()
        family = model.family
        imputation = imputation_for(family)
        rows = np.asarray(seqs.X, dtype=np.float64)
        log_emission = model.log_emission(params, rows)
        rng = check_random_state(random_state)
        out = np.empty((int(n_imputations), *rows.shape))
        for j in range(out.shape[0]):
            states, logliks = sample_paths(
                log_emission, seqs.offsets, params.startprob, params.transmat, rng
            )
            if not np.isfinite(logliks).all():
                first = int(np.flatnonzero(~np.isfinite(logliks))[0])
                raise ValueError(
                    f"sequence {first} (rows {int(seqs.offsets[first])} to "
                    f"{int(seqs.offsets[first + 1]) - 1}) has probability zero under the "
                    "model, so its missing cells cannot be drawn"
                )
            out[j] = imputation.draw(family, params.emissions, rows, states, rng)
        return out

    def decode(
        self, X: Any, lengths: Any = None, algorithm: str | None = None
    ) -> tuple[float, np.ndarray]:
        """Most likely states of every sample.

        Parameters
        ----------
        X, lengths
            As :meth:`score` takes them.
        algorithm : {'viterbi', 'map'}, optional
            'viterbi': the most probable state path, and its joint log-probability with the
            data; 'map': the most probable state at every step (posterior decoding), and
            (as hmmlearn) the sum over samples of that state's posterior probability.
            Default: the estimator's ``algorithm``.

        Returns
        -------
        log_prob : float
        states : ndarray of shape (n_samples,)
            In memory, of a row source too.

        Raises
        ------
        ValueError
            When a sequence has probability zero under the model: no path, and no state,
            is more probable than another.
        """
        algorithm = self.algorithm if algorithm is None else algorithm
        if algorithm not in DECODERS:
            raise ValueError(f"Unknown decoder {algorithm!r}; choose from {list(DECODERS)}")
        if algorithm == "map":
            posteriors = self.score_samples(X, lengths)[1]
            return float(posteriors.max(axis=1).sum()), np.argmax(posteriors, axis=1)
        source, model, params = self._evaluation(X, lengths)
        parts, problem, _ = self._over_sequences(
            lambda s: model.viterbi(params, s), source, model, params
        )
        if problem is not None:
            raise ValueError(f"{problem}, so it has no most probable path")
        total = float(sum(float(logprobs.sum()) for _, logprobs in parts))
        return total, _stacked([states for states, _ in parts], (0,), np.int64)

    def predict(self, X: Any, lengths: Any = None) -> np.ndarray:
        """Most likely state of every sample by the estimator's ``algorithm``."""
        return self.decode(X, lengths)[1]

    def sample(
        self,
        n_samples: int = 1,
        random_state: Any = None,
        currstate: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Draw one sequence from the model (fitted, or with its parameters set).

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        state_sequence : ndarray of shape (n_samples,)
        """
        self._check_fitted()
        check_int(n_samples, "n_samples", 1)
        rng = check_random_state(self.random_state if random_state is None else random_state)
        model = self._model(self._expected_features())
        return model.sample(self._params(), int(n_samples), rng, currstate)

    def get_stationary_distribution(self) -> np.ndarray:
        """Stationary distribution of the hidden chain, shape (n_components,)."""
        if not hasattr(self, "transmat_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance has no transmat_: fit it or set it"
            )
        eigvals, eigvecs = linalg.eig(np.asarray(self.transmat_, dtype=np.float64).T)
        vec = np.real_if_close(eigvecs[:, np.argmax(eigvals.real)])
        return np.real(vec / vec.sum())

    def _n_parameters(self) -> int:
        """Free parameters (all of them, as hmmlearn counts for aic and bic)."""
        k = int(self.n_components)
        return k - 1 + k * (k - 1) + self._n_emission_parameters()

    def aic(self, X: Any, lengths: Any = None) -> float:
        """Akaike information criterion on ``X`` (lower is better)."""
        return -2.0 * self._log_likelihood(X, lengths)[0] + 2.0 * self._n_parameters()

    def bic(self, X: Any, lengths: Any = None) -> float:
        """Bayesian information criterion on ``X`` (lower is better)."""
        log_likelihood, n = self._log_likelihood(X, lengths)
        return -2.0 * log_likelihood + self._n_parameters() * np.log(n)

    # -- internals ----------------------------------------------------------------------
    def _check_hyperparameters(self) -> None:
        self._check_parameters()
        self._parameter_names(self.params, "params")
        self._parameter_names(self.init_params, "init_params")
        if self.accelerate is not None and self.learning_method == "online":
            raise ValueError(
                "accelerate='squarem' extrapolates along full EM steps, and "
                "learning_method='online' takes a step per mini-batch: choose one"
            )

    def _online_schedule(self) -> OnlineEM | None:
        if self.learning_method != "online":
            return None
        return online_steps(self)

    def _letters(self) -> dict[str, str]:
        return {**self._chain_letters, **self._emission_letters}

    def _attributes(self) -> dict[str, str]:
        """The attribute that holds every parameter, by parameter name."""
        return {"startprob": "startprob_", "transmat": "transmat_", **self._emission_attributes}

    def _parameter_names(self, value: str | Collection[str], what: str) -> frozenset[str]:
        """Parameter names from hmmlearn's letters ('stmc') or from names
        ({'startprob', 'means'})."""
        letters = self._letters()
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

    def _fresh_parameters(self) -> frozenset[str]:
        """The parameters a fit initialises, as hmmlearn does: those named in
        ``init_params`` (with a logged notice for each that is set and so will be
        overwritten), and those that are not set."""
        asked = self._parameter_names(self.init_params, "init_params")
        letter_of = {name: letter for letter, name in self._letters().items()}
        fresh = set()
        for name, attribute in self._attributes().items():
            given = hasattr(self, attribute)
            if name in asked and given:
                _log.warning(
                    "%s is set, but will be overwritten by a fresh initialisation because "
                    "init_params contains %r; leave it out of init_params to start from "
                    "the value set",
                    attribute.lstrip("_"),
                    letter_of[name] if isinstance(self.init_params, str) else name,
                    stacklevel=3,
                )
            if name in asked or not given:
                fresh.add(name)
        return frozenset(fresh)

    def _source(self, X: Any, lengths: Any, sample_weight: Any, *, reset: bool) -> RowSource | None:
        """``X`` as a source of whole sequences whose every chunk is checked as it is read,
        when it is a row source (its columns made, or checked against, the face's
        features); None for data in memory.

        Raises
        ------
        ValueError
            For ``lengths`` or ``sample_weight`` with a source, and for a source of another
            number of features (or other column names) than the model's.
        """
        if not isinstance(X, RowSource):
            return None
        if lengths is not None:
            raise ValueError(
                "lengths is given with a row source, whose chunks carry their sequences "
                "(Sequences); give lengths only with an array X of all sequences end to end"
            )
        if sample_weight is not None:
            raise ValueError(
                "sample_weight is given with a row source: the weights of its sequences go "
                "with its chunks, as pairs (Sequences, sample_weight)"
            )
        if reset:
            self._check_source_width(X.n_features)
            self._check_source_columns(X, reset=True)
        else:
            expected = self._expected_features()
            if X.n_features != expected:
                raise ValueError(
                    f"X has {X.n_features} features, but {type(self).__name__} is expecting "
                    f"{expected} features as input"
                )
            fitted = self.__dict__.get("feature_names_in_")
            if fitted is not None and X.columns is not None and list(fitted) != list(X.columns):
                raise ValueError(
                    f"the source's columns {list(X.columns)} are not those the model was "
                    f"fitted to, {list(fitted)}"
                )
        check = self._check_chunk
        return X.map(lambda rows: _checked_chunk(rows, check))

    def _sequences(self, X: Any, lengths: Any, *, reset: bool) -> Sequences:
        refuse_one_pass(X, self._one_pass_instead)
        if isinstance(X, Sequences):
            if lengths is not None:
                raise ValueError(
                    "lengths is given with Sequences, which carry their lengths; give "
                    "lengths only with an array X of all sequences end to end"
                )
            X, lengths = X.X, X.lengths
        parts = _list_of_sequences(X)
        if parts is not None:
            if lengths is not None:
                raise ValueError(
                    "X is a list of sequences, which carries their lengths: give lengths "
                    "only with one array X of all sequences end to end"
                )
            seqs = Sequences.from_list(parts)
            data, seq_lengths = seqs.X, seqs.lengths
        else:
            data, seq_lengths = X, lengths
        data = self._check_emission_data(data, reset=reset)
        if not reset:
            expected = self._expected_features()
            if data.shape[1] != expected:
                raise ValueError(
                    f"X has {data.shape[1]} features, but {type(self).__name__} is "
                    f"expecting {expected} features as input"
                )
        return Sequences(data, seq_lengths)

    def _evaluation(self, X: Any, lengths: Any) -> tuple[RowSource, HMM, HMMParams]:
        """The checked sequences as a source (of Sequences chunks), the model and its
        parameters, for scoring and decoding."""
        self._check_fitted()
        source = self._source(X, lengths, None, reset=False)
        if source is None:
            source = SequenceRows(self._sequences(X, lengths, reset=False))
        return source, self._model(source.n_features), self._params()

    def _over_sequences(
        self,
        fn: Callable[[Sequences], tuple[Any, np.ndarray]],
        source: RowSource,
        model: HMM,
        params: HMMParams,
    ) -> tuple[list[tuple[Any, np.ndarray]], str | None, int]:
        """``fn`` over the chunks of ``source``, each giving a result and the log
        probability of every sequence of the chunk: the results in order, what is wrong
        when some sequence has probability zero under the model (None when none has), and
        the number of samples."""

        def scored(seqs: Sequences) -> list[tuple[Any, np.ndarray, int, int, Any]]:
            out, logliks = fn(seqs)
            problem = _chunk_problem(logliks, seqs, model, params)
            return [(out, logliks, seqs.lengths.size, seqs.X.shape[0], problem)]

        parts = self._map(scored, source)
        n_sequences = sum(part[2] for part in parts)
        first: tuple[int, int, int, int | None] | None = None
        n_bad = rows = sequences = 0
        for _, _, size, n, problem in parts:
            if problem is not None:
                bad, s, lo, hi, dead = problem
                if first is None:
                    dead = None if dead is None else rows + dead
                    first = (sequences + s, rows + lo, rows + hi, dead)
                n_bad += bad
            rows += n
            sequences += size
        message = None
        if first is not None:
            s, lo, hi, dead = first
            where = "the sequence" if n_sequences == 1 else f"sequence {s}"
            more = "" if n_bad == 1 else f" (and {n_bad - 1} more sequences)"
            how = (
                f"no state can emit sample {dead}"
                if dead is not None
                else f"no path of states can emit samples {lo} to {hi - 1}"
            )
            message = f"{where}{more} has probability zero under the model: {how}"
        return [(part[0], part[1]) for part in parts], message, rows

    def _check_fitted(self) -> None:
        missing = [a.lstrip("_") for a in self._attributes().values() if not hasattr(self, a)]
        if missing:
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet: call 'fit' with "
                f"appropriate arguments, or set {', '.join(missing)}"
            )

    def _expected_features(self) -> int:
        """Columns of the data that the parameters describe (those of the fitted data when
        the emission parameters tell none)."""
        n = self._parameter_features()
        if n is None:
            n = getattr(self, "n_features_in_", None)
        if n is None:
            raise NotFittedError(
                f"This {type(self).__name__} instance has no emission parameters: fit it or "
                "set them"
            )
        return int(n)

    def _parameter_features(self) -> int | None:
        """Columns of the data that the emission parameters set describe (None when they
        are not set), checked against an ``n_features`` set by hand."""
        n = self._emission_features()
        given = self.__dict__.get("_n_features_given")
        if n is not None and given is not None and n != given:
            raise ValueError(
                f"n_features={given}, but the emission parameters set describe {n} features"
            )
        return n

    def _map(self, fn: Callable[[Sequences], list[Any]], source: RowSource) -> list[Any]:
        """``fn`` over the chunks of whole sequences of ``source``, on the executor of the
        fit (the estimator's threads unless :func:`emkit.config_context` sets another),
        results in order."""
        placement = executor_for(self.n_jobs, source).place(
            source, self.chunk_size or DEFAULT_CHUNK_SIZE
        )
        out = placement.map_reduce(lambda chunk: fn(chunk[0]), lambda a, b: a + b)
        return out or []

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
            refuse_underflow=self.implementation == "scaling",
        )

    def _start(
        self, model: HMM, fresh: frozenset[str], *, check_sample: bool = False
    ) -> Callable[..., HMMParams]:
        """Initial parameters: those in ``fresh`` initialised, the others taken from the
        estimator's attributes. Fresh start and transition probabilities are uniform.

        ``check_sample``: the checks of the data as a whole (:meth:`_check_fit_data`) are
        made on the sample the start is given, once (the data of a row source are checked
        chunk by chunk, and never held whole)."""
        k = int(self.n_components)
        checked = not check_sample

        def start(X: Sequences, rng: np.random.RandomState, w: np.ndarray | None) -> HMMParams:
            nonlocal checked
            if not checked:
                self._check_fit_data(X.X)
                checked = True
            startprob = np.full(k, 1.0 / k) if "startprob" in fresh else self._given("startprob_")
            transmat = np.full((k, k), 1.0 / k) if "transmat" in fresh else self._given("transmat_")
            self._check_chain(startprob, transmat)
            emissions = self._initial_emissions(model, X, rng, w, fresh)
            return HMMParams(startprob, transmat, emissions)

        return start

    def _given(self, name: str) -> np.ndarray:
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

    def _set_params(self, params: HMMParams) -> None:
        self.startprob_ = params.startprob
        self.transmat_ = params.transmat
        self._set_emission_attributes(params.emissions)

    def _params(self) -> HMMParams:
        self._check_fitted()
        startprob, transmat = self._given("startprob_"), self._given("transmat_")
        self._check_chain(startprob, transmat)
        return HMMParams(startprob, transmat, self._emission_params())

    def _restore(self) -> None:
        # Hyperparameters are checked here too: an edited file must fail when it is read,
        # not when the model is first used.
        self._check_hyperparameters()
        features = self._emission_features()
        if features is not None and features != self.n_features_in_:
            raise ValueError(
                f"n_features_in_ = {self.n_features_in_} differs from the {features} features "
                "of the emission parameters"
            )
        family = self._model(int(self.n_features_in_)).family
        params = self._params()
        if isinstance(family, Family):
            # The emission family checks its parameters against the states and features
            # the file declares.
            family.check_params(params.emissions, int(self.n_components), self.n_features_in_)

    # -- diagnostics --------------------------------------------------------------------
    def _component_health(self) -> tuple[str, ...]:
        """States that no sequence visits, read from ``startprob_`` and ``transmat_``
        (:func:`emkit.core.diagnostics.unvisited_states`)."""
        self._check_fitted()
        return tuple(diagnostics.unvisited_states(self.startprob_, self.transmat_))

    # -- emission hooks -----------------------------------------------------------------
    def _family(self, n_features: int, fitted: frozenset[str]) -> Any:
        raise NotImplementedError

    def _check_chunk(self, X: np.ndarray) -> np.ndarray:
        """The rows (n, n_features) of a chunk of a row source, checked as data of the
        emission family (real numbers for the Gaussian faces)."""
        return real_data(X, type(self).__name__)

    def _check_source_width(self, n_features: int) -> None:
        """Refuse a source of a number of columns the face never reads; none by default."""

    @contextlib.contextmanager
    def _learning_from(self, source: RowSource | None, fresh: frozenset[str]) -> Iterator[None]:
        """What a fit's start learns of a row source beyond its sample (the symbols of a
        CategoricalHMM), for the duration of the fit; nothing by default."""
        yield

    def _check_fit_data(self, X: np.ndarray) -> None:
        """Refusals of, and warnings about, the data to fit (n_samples, n_features) that
        only some faces give; none by default."""

    def _check_emission_data(self, X: Any, *, reset: bool) -> np.ndarray:
        """Finite float data (the Gaussian faces); discrete faces ask their family."""
        return self._check_data(X, reset=reset)

    def _emission_features(self) -> int | None:
        """Columns of the data that the emission parameters describe; None when unset."""
        raise NotImplementedError

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


def _checked_chunk(rows: Any, check: Callable[[np.ndarray], np.ndarray]) -> Sequences:
    """A chunk of a source of sequences with its rows checked by ``check``.

    Raises
    ------
    TypeError
        For a chunk that is not Sequences: rows without their sequences, which an HMM would
        take for one sequence per chunk.
    """
    if not isinstance(rows, Sequences):
        raise TypeError(
            "a hidden Markov model reads a row source whose chunks are whole sequences "
            "(Sequences), as emkit.open_data(path, sequence_column=...) gives; got a chunk "
            f"of {type(rows).__name__}. Open the file with its sequence_column, or give an "
            "array with lengths"
        )
    return Sequences(check(rows.X), rows.lengths)


def _chunk_problem(
    logliks: np.ndarray, seqs: Sequences, model: HMM, params: HMMParams
) -> tuple[int, int, int, int, int | None] | None:
    """When some sequence of the chunk ``seqs`` has probability zero under the model (log
    ``-inf`` in ``logliks``, shape (n_sequences,)): the number of such sequences, and of the
    first of them its index, its first row and the row after it, and the first of its
    samples that no state can emit (None when each can, but no path); None when all are
    possible. Rows are the chunk's."""
    bad = np.flatnonzero(logliks == -np.inf)
    if bad.size == 0:
        return None
    s = int(bad[0])
    lo, hi = int(seqs.offsets[s]), int(seqs.offsets[s + 1])
    dead = np.flatnonzero(np.all(model.log_emission(params, seqs.X[lo:hi]) == -np.inf, axis=1))
    return int(bad.size), s, lo, hi, (lo + int(dead[0])) if dead.size else None


def _total_weight(source: Any, chunk_size: int | None) -> float:
    """Rows of ``source`` (Sequences or a RowSource), or the sum of their weights: known,
    or counted by a pass."""
    if isinstance(source, Sequences):
        return float(source.shape[0])
    if source.n_rows is not None and not source.weighted:
        return float(source.n_rows)
    total = 0.0
    for rows, w in source.chunks(chunk_size or DEFAULT_CHUNK_SIZE):
        total += float(rows.shape[0] if w is None else np.sum(w))
    return total


def _stacked(parts: list[np.ndarray], empty: tuple[int, ...], dtype: Any = np.float64) -> Any:
    """``parts`` one after another; of no part, an empty array of shape ``empty``."""
    return np.concatenate(parts) if parts else np.empty(empty, dtype=dtype)


def features_of(value: Any, name: str, shape: str) -> int | None:
    """The features (last axis) of the emission parameter ``value`` set as attribute
    ``name``, which must have the dimensions of ``shape`` (e.g. '(n_components, n_features)');
    None when it is not set."""
    if value is None:
        return None
    if np.ndim(value) != shape.count(",") + 1:
        raise ValueError(f"{name} must have shape {shape}, got {np.shape(value)}")
    return int(np.shape(value)[-1])


class _FeaturesFromParameters:
    """hmmlearn's ``n_features`` attribute for faces whose emission parameters give it."""

    @property
    def n_features(self) -> int:
        """Number of features: that of the emission parameters when they are set, else the
        value set by hand, else that of the fitted data."""
        n = self._parameter_features()
        if n is None:
            n = self.__dict__.get("_n_features_given", getattr(self, "n_features_in_", None))
        if n is None:
            raise AttributeError(
                f"{type(self).__name__} has no n_features yet: set its emission parameters, "
                "or fit it"
            )
        return int(n)

    @n_features.setter
    def n_features(self, value: int) -> None:
        check_int(value, "n_features", 1)
        self._n_features_given = int(value)


def _one_variance_per_state(value: np.ndarray, k: int) -> np.ndarray:
    """Spherical covariances as hmmlearn takes them: K numbers in any shape ((K,), (K, 1),
    (K, 1, 1, 1), ...), or one variance repeated per feature (K, D)."""
    if value.ndim >= 1 and value.shape[0] == k and value.size == k:
        return value.reshape(k)
    if value.ndim == 2 and value.shape[0] == k:
        if np.all(value == value[:, :1]):
            return value[:, 0].copy()
        raise ValueError(
            "spherical covars_ of shape (n_components, n_features) must repeat one variance "
            "per state; these differ between features (covariance_type='diag' takes them)"
        )
    raise ValueError(
        f"spherical covars_ must hold one variance per state ({k} numbers, e.g. shape "
        f"({k},)), got shape {value.shape}"
    )


class GaussianHMM(_FeaturesFromParameters, BaseHMM):
    """Hidden Markov model with Gaussian emissions; a drop-in for hmmlearn's ``GaussianHMM``.

    Attributes
    ----------
    startprob_ : ndarray of shape (n_components,)
    transmat_ : ndarray of shape (n_components, n_components)
    means_ : ndarray of shape (n_components, n_features)
    covars_ : ndarray
        Covariances in full form, shape (n_components, n_features, n_features), as hmmlearn
        returns them for every covariance type. Set it in the type's own shape
        ((n_components,) 'spherical', (n_components, n_features) 'diag', (n_features,
        n_features) 'tied', (n_components, n_features, n_features) 'full') or in full form;
        'spherical' also takes one number per state in any shape, as hmmlearn does.
    n_features : int
        Number of features (of ``means_``).
    monitor_ : ConvergenceMonitor
    lower_bounds_ : ndarray of shape (n_iter_ + 1,)
        The objective per sample, (log-likelihood + log prior density) / n_samples, of the
        initial parameters and after every iteration. Online (``learning_method='online'``
        and :meth:`partial_fit`), the mean log-likelihood of every mini-batch instead.

    Notes
    -----
    Fresh means are k-means centres and fresh covariances the covariance of all the data
    plus ``min_covar`` on the variances, as hmmlearn starts them ('spherical': their mean
    variance; hmmlearn averages every entry of the matrix); fresh start and transition
    probabilities are uniform (hmmlearn draws them at random).
    """

    description = replace(
        HIDDEN_MARKOV,
        tables=(
            ParameterTable("means by {unit}", (Columns("means_"),)),
            ParameterTable("variances by {unit}", (Columns("covars_", "diagonal"),)),
        ),
        emissions="Gaussian",
        words=(COVARIANCE,),
    )
    _emission_letters: ClassVar[dict[str, str]] = {"m": "means", "c": "covars"}
    _emission_attributes: ClassVar[dict[str, str]] = {"means": "means_", "covars": "_covars_"}

    _parameters = (
        *positional(
            N_STATES,
            COVARIANCE_TYPE,
            MIN_COVAR.with_doc(
                """
                Added to the variances of the initial covariances, as hmmlearn does (the
                M-step is hmmlearn's posterior mode under the covariance prior, whose default
                ``covars_prior`` keeps the covariances positive definite on constant
                features, duplicated rows or states with few samples).
                """,
            ),
            STARTPROB_PRIOR,
            TRANSMAT_PRIOR,
            Param("means_prior", 0, "float or array-like", "Prior means.", reals()),
            Param(
                "means_weight", 0, "float or array-like", "Pseudo-counts of the means.", reals(0)
            ),
            Param(
                "covars_prior",
                1e-2,
                "float or array-like",
                """
                Scale of the prior on the covariances (see
                :class:`emkit.families.gaussian.GaussianPrior`), with hmmlearn's defaults. A
                number as the ``covars_prior`` of 'full' or 'tied' covariances is that number
                times the identity (hmmlearn adds it to every entry of the matrix, a scale of
                rank one that need not keep a covariance positive definite); give a matrix
                for any other scale.
                """,
                reals(),
            ),
            Param("covars_weight", 1, "float", "Pseudo-counts of the covariances.", real()),
            ALGORITHM,
            *chain_tail("stmc", "'s' startprob, 't' transmat, 'm' means, 'c' covars"),
            IMPLEMENTATION,
        ),
        *EXTRAS,
    )

    @property
    def covars_(self) -> np.ndarray:
        """Covariances as full matrices, shape (n_components, n_features, n_features)."""
        covariances = self.__dict__.get("_covars_")
        if covariances is None:
            raise AttributeError(f"{type(self).__name__} has no covars_: fit it or set it")
        return self._structure().full(
            np.asarray(covariances, dtype=np.float64), int(self.n_components), self.n_features
        )

    @covars_.setter
    def covars_(self, value: Any) -> None:
        self._covars_ = self._covars_from_user(value)

    def _structure(self) -> Any:
        return covariance_structure(self.covariance_type)

    def _check_fit_data(self, X: np.ndarray) -> None:
        # The moments of the data square it.
        check_magnitude(X, "GaussianHMM")

    def _covars_from_user(self, value: Any) -> np.ndarray:
        """Covariances in the shape of the covariance type's parameters, from any shape
        hmmlearn takes for it, or from full matrices; shapes that would lose information
        are refused (checked against the features when the parameters are used)."""
        value = np.array(value, dtype=np.float64)
        structure = self._structure()
        full_form = value.ndim == 3 and value.shape[1] == value.shape[2]
        if full_form and (structure.shared or not structure.matrices):
            return structure.from_full(value)
        if structure.component_shape(1) == ():
            return _one_variance_per_state(value, int(self.n_components))
        return value

    def _emission_features(self) -> int | None:
        return features_of(self.__dict__.get("means_"), "means_", "(n_components, n_features)")

    def _family(self, n_features: int, fitted: frozenset[str]) -> Gaussian:
        frozen = frozenset(
            {"means": "means", "covars": "covariances"}[n]
            for n in ("means", "covars")
            if n not in fitted
        )
        prior = GaussianPrior(
            self.means_prior,
            self.means_weight,
            _matrix_scale(self.covars_prior, self._structure(), n_features),
            float(self.covars_weight),
        )
        return Gaussian(self._structure(), 0.0, frozen, prior)

    def _initial_emissions(self, model, X, rng, w, fresh):
        k, d = int(self.n_components), X.X.shape[1]
        # Missing cells start at their column's mean: k-means and the covariance need
        # whole rows (the E-steps then condition on the observed cells).
        rows = mean_imputed(X.X, w)
        if "means" in fresh:
            labels = kmeans_labels(rows, k, rng, w, self.chunk_size)
            means = cluster_means(rows, labels, k, w)
        else:
            means = self._given("means_")
        if means.shape != (k, d):
            raise ValueError(f"means_ must have shape ({k}, {d}), got {means.shape}")
        if "covars" in fresh:
            cov = data_covariance(rows, w, float(self.min_covar), self.chunk_size)[1]
            covariances = self._structure().repeated(cov, k)
        else:
            covariances = self._structure().check(self._given("_covars_"), k, d, "covars_")
        return model.family.from_covariances(means, covariances)

    def _set_emission_attributes(self, emissions: GaussianParams) -> None:
        self.means_ = emissions.means
        self._covars_ = emissions.covariances

    def _check_emission_data(self, X: Any, *, reset: bool) -> np.ndarray:
        # NaN is a missing cell (missing at random): the Gaussian emissions condition on the
        # observed cells of every row.
        return self._check_data(X, reset=reset, allow_nan=True)

    def _check_chunk(self, X: np.ndarray) -> np.ndarray:
        return real_data(X, type(self).__name__, allow_nan=True)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def _emission_params(self) -> GaussianParams:
        k, d = int(self.n_components), self._expected_features()
        means = self._given("means_")
        if means.shape != (k, d):
            raise ValueError(f"means_ must have shape ({k}, {d}), got {means.shape}")
        covariances = self._structure().check(self._given("_covars_"), k, d, "covars_")
        return Gaussian(self._structure()).from_covariances(means, covariances)

    def _n_emission_parameters(self) -> int:
        k, d = int(self.n_components), self._expected_features()
        return Gaussian(self._structure()).n_parameters(k, d)

    _fitted_arrays = ("startprob_", "transmat_", "means_", "_covars_", "lower_bounds_")


_FIT_DOC = """
    lower_bounds_ : ndarray of shape (n_iter_ + 1,)
        The objective per sample, (log-likelihood + log prior density) / n_samples, of the
        initial parameters and after every iteration; the log-likelihood alone without
        priors. Online (``learning_method='online'`` and :meth:`partial_fit`), the mean
        log-likelihood of every mini-batch instead.
    monitor_ : ConvergenceMonitor
    """


class _DiscreteHMM(BaseHMM):
    """Faces whose emission parameters are one array, set by a family from the data."""

    _abstract_face = True

    _attribute: ClassVar[str]  # the fitted attribute of the emission parameters

    def _emission_family(self, fitted: frozenset[str]) -> Any:
        raise NotImplementedError

    def _family(self, n_features: int, fitted: frozenset[str]) -> Any:
        return self._emission_family(fitted)

    def _check_emission_data(self, X: Any, *, reset: bool) -> np.ndarray:
        X = self._emission_family(frozenset()).check_data(X)
        if reset:
            self.n_features_in_ = X.shape[1]
        return X

    def _emission_features(self) -> int | None:
        value = self.__dict__.get(self._attribute)
        return features_of(value, self._attribute, "(n_components, n_features)")

    def _emission_name(self) -> str:
        return next(iter(self._emission_letters.values()))

    def _check_chunk(self, X: np.ndarray) -> np.ndarray:
        return self._emission_family(frozenset()).check_data(X)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        try:
            tags.input_tags.allow_nan = bool(self._emission_family(frozenset()).allows_missing)
        except (TypeError, ValueError):  # hyperparameters that make no family yet
            tags.input_tags.allow_nan = False
        return tags

    def _initial_emissions(self, model, X, rng, w, fresh):
        if self._emission_name() in fresh:
            return self._random_emissions(X.X, rng)
        emissions = self._emissions_from(self._given(self._attribute))
        self._check_emission_width(X.X.shape[1])
        return emissions

    def _check_emission_width(self, n_features: int) -> None:
        """The parameters set must describe the features of the data to fit."""
        described = self._emission_features()
        if described != n_features:
            raise ValueError(
                f"{self._attribute} describes {described} features, but X has {n_features}"
            )

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

    Parameters left out of ``init_params`` start from the attributes set, and are
    initialised when they are not set; fresh start and transition probabilities are uniform
    (hmmlearn draws them at random), a fresh ``emissionprob_`` is random (rows of uniform
    draws, normalised), as hmmlearn's.
    """
        + """
    Attributes
    ----------
    startprob_, transmat_
    emissionprob_ : ndarray of shape (n_components, n_features)"""
        + _FIT_DOC
    )

    description = replace(
        HIDDEN_MARKOV,
        tables=(
            ParameterTable(
                "symbol probabilities by {unit}", (Columns("emissionprob_", "symbols"),)
            ),
        ),
        emissions="categorical",
        emission_words=(Phrase("n_features", "({})", noun="symbol"),),
        words=(),
    )
    _emission_letters: ClassVar[dict[str, str]] = {"e": "emissionprob"}
    _emission_attributes: ClassVar[dict[str, str]] = {"emissionprob": "emissionprob_"}
    _attribute = "emissionprob_"

    _parameters = (
        *positional(N_STATES, STARTPROB_PRIOR, TRANSMAT_PRIOR),
        EMISSIONPROB_PRIOR,
        Param(
            "n_features",
            None,
            "int",
            """
            Number of symbols; by default that of ``emissionprob_`` when it is set, else one
            more than the largest symbol of the data. As in hmmlearn, a fit sets it when it
            is None.
            """,
            optional(integer(1)),
        ),
        ALGORITHM,
        *chain_tail("ste", "'s' startprob, 't' transmat, 'e' emissionprob"),
        IMPLEMENTATION,
        *EXTRAS,
    )

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
        # The number of columns first: columns of other data are no symbols either.
        self._check_source_width(np.shape(X)[1] if np.ndim(X) == 2 else 1)
        return super()._check_emission_data(X, reset=reset)

    def _check_source_width(self, n_features: int) -> None:
        if n_features != 1:
            raise ValueError(
                f"CategoricalHMM takes one column of integer symbols, shape (n_samples, 1); "
                f"got {n_features} columns"
            )

    @contextlib.contextmanager
    def _learning_from(self, source: RowSource | None, fresh: frozenset[str]) -> Iterator[None]:
        # Fresh symbol probabilities need the number of symbols of all the data, not of
        # the sample the start sees: a pass finds the largest symbol (n_features saves it).
        if source is None or self._symbols() is not None or "emissionprob" not in fresh:
            yield
            return
        top = -1
        for rows, _ in source.chunks(self.chunk_size or DEFAULT_CHUNK_SIZE):
            if rows.shape[0]:
                top = max(top, int(rows.X.max()))
        self._symbols_of_data = top + 1
        try:
            yield
        finally:
            del self._symbols_of_data

    def _emission_features(self) -> int | None:
        # One column of symbols, whatever the number of symbols.
        return None if "emissionprob_" not in self.__dict__ else 1

    def _set_emission_attributes(self, emissions: Any) -> None:
        super()._set_emission_attributes(emissions)
        if self.n_features is None:
            self.n_features = int(self.emissionprob_.shape[1])

    def _random_emissions(self, X, rng):
        symbols = self._symbols() or self.__dict__.get("_symbols_of_data") or int(X.max()) + 1
        probs = rng.rand(int(self.n_components), symbols)
        return self._emissions_from(probs / probs.sum(axis=1, keepdims=True))

    def _emissions_from(self, value):
        k = int(self.n_components)
        value = np.atleast_2d(np.asarray(value, dtype=np.float64))
        symbols = value.shape[-1] if self.n_features is None else int(self.n_features)
        value = _check_probabilities(value, (k, symbols), "emissionprob_")
        return CategoricalParams(value[:, None, :], np.array([value.shape[1]], dtype=np.int64))

    def _attribute_from(self, emissions):
        return emissions.probs[:, 0, :]

    def _n_emission_parameters(self) -> int:
        return int(self.n_components) * (np.shape(self.emissionprob_)[1] - 1)


class MultinomialHMM(_FeaturesFromParameters, _DiscreteHMM):
    __doc__ = (
        """Hidden Markov model with multinomial emissions; a drop-in for hmmlearn's
    ``MultinomialHMM``.

    Observations are count vectors, shape (n_samples, n_features).

    Parameters left out of ``init_params`` start from the attributes set, and are
    initialised when they are not set; fresh start and transition probabilities are uniform
    (hmmlearn draws them at random), a fresh ``emissionprob_`` is random, as hmmlearn's.
    """
        + """
    Attributes
    ----------
    startprob_, transmat_
    emissionprob_ : ndarray of shape (n_components, n_features)"""
        + _FIT_DOC
    )

    description = replace(
        HIDDEN_MARKOV,
        tables=(ParameterTable("emission probabilities by {unit}", (Columns("emissionprob_"),)),),
        emissions="multinomial",
        words=(),
    )
    _emission_letters: ClassVar[dict[str, str]] = {"e": "emissionprob"}
    _emission_attributes: ClassVar[dict[str, str]] = {"emissionprob": "emissionprob_"}
    _attribute = "emissionprob_"
    _fitted_arrays = ("startprob_", "transmat_", "emissionprob_", "lower_bounds_")

    _parameters = (
        *positional(
            N_STATES,
            Param(
                "n_trials",
                None,
                "int",
                """
                When given, every row must sum to it (and :meth:`sample` draws rows of that
                total, which needs it); None takes rows of any total.
                """,
                anything,
            ),
            STARTPROB_PRIOR,
            TRANSMAT_PRIOR,
            ALGORITHM,
            *chain_tail("ste", "'s' startprob, 't' transmat, 'e' emissionprob"),
            IMPLEMENTATION,
        ),
        EMISSIONPROB_PRIOR.with_doc(
            """
            Concentration of a symmetric Dirichlet prior on every state's probabilities (1.0:
            maximum likelihood, as hmmlearn's, which has no prior).
            """,
        ),
        *EXTRAS,
    )

    def _emission_family(self, fitted: frozenset[str]) -> Multinomial:
        n_trials = self.n_trials
        if n_trials is not None and (
            isinstance(n_trials, bool)
            or not isinstance(n_trials, numbers.Real)
            or not float(n_trials).is_integer()
            or n_trials < 0
        ):
            raise ValueError(
                "n_trials must be a non-negative integer, the total of every row, or None "
                f"for rows of any total; got {n_trials!r}"
            )
        frozen = frozenset() if "emissionprob" in fitted else frozenset({"probs"})
        return Multinomial(n_trials, float(self.emissionprob_prior), frozen)

    def sample(
        self,
        n_samples: int = 1,
        random_state: Any = None,
        currstate: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Draw one sequence of rows of ``n_trials`` trials (see :meth:`BaseHMM.sample`)."""
        self._emission_family(frozenset())
        if self.n_trials is None:
            raise ValueError("sampling needs n_trials, the number of trials of every row")
        return super().sample(n_samples, random_state, currstate)

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


class PoissonHMM(_FeaturesFromParameters, _DiscreteHMM):
    __doc__ = (
        """Hidden Markov model with Poisson emissions; a drop-in for hmmlearn's ``PoissonHMM``.

    Observations are counts, shape (n_samples, n_features), independent given the state.

    Parameters left out of ``init_params`` start from the attributes set, and are
    initialised when they are not set; fresh start and transition probabilities are uniform
    (hmmlearn draws them at random), fresh rates are Gamma draws matched to the data's mean
    and variance, as hmmlearn's.
    """
        + """
    Attributes
    ----------
    startprob_, transmat_
    lambdas_ : ndarray of shape (n_components, n_features)"""
        + _FIT_DOC
    )

    description = replace(
        HIDDEN_MARKOV,
        tables=(ParameterTable("rates by {unit}", (Columns("lambdas_"),)),),
        emissions="Poisson",
        words=(),
    )
    _emission_letters: ClassVar[dict[str, str]] = {"l": "lambdas"}
    _emission_attributes: ClassVar[dict[str, str]] = {"lambdas": "lambdas_"}
    _attribute = "lambdas_"
    _fitted_arrays = ("startprob_", "transmat_", "lambdas_", "lower_bounds_")

    _parameters = (
        *positional(
            N_STATES,
            STARTPROB_PRIOR,
            TRANSMAT_PRIOR,
            Param(
                "lambdas_prior",
                0.0,
                "float",
                """
                With ``lambdas_weight``, a Gamma prior on the rates: the M-step is
                ``(lambdas_prior + sum of the state's counts) / (lambdas_weight + the state's
                weight)`` (0, 0: maximum likelihood). hmmlearn divides by the weight of all
                states together instead, which agrees for one state and without a prior.
                """,
                real(0.0),
            ),
            Param("lambdas_weight", 0.0, "float", "See ``lambdas_prior``.", real(0.0)),
            ALGORITHM,
            *chain_tail("stl", "'s' startprob, 't' transmat, 'l' lambdas"),
            IMPLEMENTATION,
        ),
        *EXTRAS,
    )

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
