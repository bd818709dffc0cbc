"""scikit-learn style mixture faces: what they share (:class:`BaseMixture`), a face over any
family (:class:`Mixture`), and named faces for the Bernoulli, categorical, multinomial, Poisson
and exponential families.

Every face builds the mixture structure (:class:`emkit.models.mixture.Mixture`) over its
family, runs the one EM driver, and exposes the fitted parameters as attributes named as the
family names its arrays (:meth:`emkit.families.base.Family.params_arrays`) with a trailing
underscore: ``lambdas_`` for the Poisson family, ``probs_`` for the probability tables,
``gaussian_means_`` for the Gaussian part of a product, and so on. The family checks its own
hyperparameters and parameters, and writes itself into model files.
"""

from __future__ import annotations

import textwrap
from dataclasses import replace
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import validate_data

from emkit.core import diagnostics
from emkit.core.batches import Labelled
from emkit.core.driver import online_update
from emkit.core.information import MAX_PARAMETERS, StandardErrors, parameter_errors
from emkit.core.online import OnlineEM, OnlineState
from emkit.estimators.base import EMEstimatorMixin, dask_rows, output_dtype, refuse_one_pass
from emkit.estimators.description import FaceDescription
from emkit.estimators.documents import TopicMethods, face_documents
from emkit.estimators.imputation import MixtureImputation
from emkit.estimators.parameters import (
    CHUNK_SIZE,
    N_INIT,
    N_JOBS,
    ONLINE_PARAMETERS,
    RANDOM_STATE,
    REQUIRED,
    DeclaredParameters,
    Param,
    anything,
    boolean,
    integer,
    one_of,
    online_steps,
    real,
)
from emkit.exceptions import ImpossibleSampleWarning, warn
from emkit.execution.sources import DEFAULT_CHUNK_SIZE, RowSource, cut
from emkit.families.base import Family, checked_family
from emkit.families.bernoulli import Bernoulli
from emkit.families.categorical import Categorical
from emkit.families.checks import checked_array
from emkit.families.exponential import Exponential
from emkit.families.gaussian import Gaussian
from emkit.families.multinomial import Multinomial
from emkit.families.poisson import Poisson
from emkit.families.student import StudentT
from emkit.io.corpus import Corpus
from emkit.models.initialization import INITIALIZERS, initializer
from emkit.models.mixture import Mixture as MixtureModel
from emkit.models.mixture import MixtureParams
from emkit.models.topic_metrics import heldout_log_likelihood
from emkit.numerics.logspace import normalize_log_rows

# -- the parameters every mixture face has --------------------------------------------------------
N_COMPONENTS = Param(
    "n_components", 1, "int", "Number of mixture components K.", integer(1), positional=True
)
TOL = Param(
    "tol",
    1e-3,
    "float",
    "Convergence threshold on the change of the mean per-sample log-likelihood.",
    real(0.0, finite=False),
)
MAX_ITER = Param(
    "max_iter",
    100,
    "int",
    "Largest number of EM iterations (M-steps) per initialisation; 0 returns the start.",
    integer(0),
)
WARM_START = Param(
    "warm_start",
    False,
    "bool",
    "Start from the previous fit's parameters (``n_init`` is then ignored).",
    boolean,
    command_line=False,
)
VERBOSE = Param(
    "verbose",
    0,
    "int",
    """
    1 prints the initialisation and every ``verbose_interval``-th iteration; 2 adds
    timings and log-likelihood changes.
    """,
    integer(0),
)
VERBOSE_INTERVAL = Param(
    "verbose_interval", 10, "int", "Iterations between progress lines.", integer(1)
)
HARD = Param(
    "hard",
    False,
    "bool",
    """
    Classification EM: each sample belongs wholly to its most probable component at every
    step, and the bound is the classification log-likelihood.
    """,
    boolean,
)
ACCELERATE = Param(
    "accelerate",
    None,
    "{'squarem'} or None",
    """
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
    """,
    one_of(None, "squarem"),
)

MIXTURE_PARAMETERS = (
    TOL,
    MAX_ITER,
    N_INIT,
    RANDOM_STATE,
    WARM_START,
    VERBOSE,
    VERBOSE_INTERVAL,
    HARD,
    CHUNK_SIZE,
    N_JOBS,
    ACCELERATE,
    *ONLINE_PARAMETERS,
)
"""The parameters of every mixture face, after its own ones and ``init_params``."""


def init_params(default: str, note: str = "") -> Param:
    """The ``init_params`` parameter with the face's default (and ``note``, a sentence on
    why that default)."""
    doc = textwrap.dedent(
        """
        How initial responsibilities are chosen: the labels of a k-means run, every
        sample with its nearest k-means++ seed or with its nearest of ``n_components``
        distinct random samples, uniformly random responsibilities, or a cut of the
        model-based hierarchical agglomeration (:mod:`emkit.models.hierarchical`). One
        M-step from them gives the starting parameters.
        """
    )
    return Param(
        "init_params",
        default,
        "{" + ", ".join(repr(name) for name in INITIALIZERS) + "}",
        doc.strip("\n") + ("\n" + textwrap.dedent(note).strip("\n") if note else ""),
        one_of(*INITIALIZERS),
    )


def family_parameter(name: str, default: Any, type_: str, doc: str) -> Param:
    """A parameter the face passes to its family, which checks it."""
    return Param(name, default, type_, doc, anything)


# -- shared documentation ------------------------------------------------------------------------
COMMON_ATTRIBUTES_DOC = """\
    weights_ : ndarray of shape (n_components,)
        Mixing proportions.
    converged_ : bool
    n_iter_ : int
        M-steps done by the best initialisation.
    lower_bound_ : float
        Mean per-sample log-likelihood of the returned parameters (classification
        log-likelihood when ``hard=True``). With a prior on the family's parameters, the
        log posterior: the log prior density (up to a constant) is added to the summed
        log-likelihood before the division, since that is what the posterior-mode M-step
        never lowers.
    lower_bounds_ : ndarray of shape (n_iter_ + 1,)
        The bound after every M-step of the best initialisation; element 0 belongs to the
        initial parameters and the last equals ``lower_bound_``.
    diagnostics_ : emkit.core.diagnostics.FitDiagnostics
        How the fit went: the verdict ("converged", "stopped but not converged", ...), the
        rate of convergence and the fraction of missing information, the distinct optima
        of the restarts, the health of the components, also as sentences (``messages``).
        Not kept in model files.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Only when X has string feature names.
"""


def face_doc(summary: str, attributes: str, notes: str = "") -> str:
    """A face's class docstring: ``summary`` (its first lines), the shared attributes and
    its own ``attributes`` (a block), then ``notes`` (a block, may be empty). The
    "Parameters" section comes from the face's declared parameters."""
    return (
        f"{summary}\n\n    Attributes\n    ----------\n{COMMON_ATTRIBUTES_DOC}{attributes}"
        + (f"\n    Notes\n    -----\n{notes}" if notes else "")
        + "    "
    )


# -- scoring ---------------------------------------------------------------------------------------
def _float64(chunk: Any) -> Any:
    # CSR rows reach only families that read them (the faces that accept sparse data).
    return chunk if sp.issparse(chunk) else np.asarray(chunk, dtype=np.float64)


def _report_impossible(impossible: np.ndarray, consequence: str) -> None:
    """Warn when some samples (``impossible``, shape (n_samples,) of bool) have probability
    zero under every component."""
    count = int(np.count_nonzero(impossible))
    if count:
        first = int(np.argmax(impossible))
        warn(
            f"{count} of {impossible.size} samples have probability zero under every "
            f"component (the first is row {first}): they hold a value the fitted components "
            f"cannot produce, such as a category, count or symbol none of them saw in "
            f"training; {consequence}.",
            ImpossibleSampleWarning,
        )


def _refuse_text_columns(X: Any, face: str) -> None:
    """Raise ValueError naming the first column of a data frame ``X`` that holds no numbers
    (strings, pandas categoricals): a mixture reads numbers, and codes made on the fly from
    one frame's categories would not match another's at predict time."""
    dtypes = getattr(X, "dtypes", None)
    if dtypes is None or not hasattr(dtypes, "items"):
        return
    for column, dtype in dtypes.items():
        if getattr(dtype, "kind", "O") not in "biuf":
            raise ValueError(
                f"column {column!r} holds {dtype} values, not numbers: {face} reads numbers. "
                "Encode categorical columns as integer codes first, with the same coding at "
                "fit and predict time, e.g. make_pipeline(OrdinalEncoder(), "
                "CategoricalMixture(...)) from sklearn.pipeline and sklearn.preprocessing."
            )


def _n_rows(X: Any) -> int:
    """Rows of data ``X``: an array's, or a source's (counted by a pass when unknown)."""
    if isinstance(X, RowSource):
        if X.n_rows is not None:
            return int(X.n_rows)
        return sum(rows.shape[0] for rows, _ in X.chunks(DEFAULT_CHUNK_SIZE))
    return int(np.shape(X)[0])


def _as_dtype(value: Any, dtype: Any) -> Any:
    """A floating array ``value`` in ``dtype``; anything else (integer tables, scalars) as it
    is."""
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return value.astype(dtype, copy=False)
    return value


class MixtureScoring:
    """Scoring of a fitted mixture, chunked like its fit: subclasses give the model to score
    with (:meth:`_fitted_model`), its parameters (:meth:`_params`) and checked data
    (:meth:`_checked`); the chunks are :meth:`EMEstimatorMixin._map_rows`'s."""

    chunk_size: int | None

    def score_samples(self, X: Any) -> np.ndarray:
        """Log-likelihood of every sample, shape (n_samples,), in the data's floating
        dtype; ``-inf`` (with an :class:`~emkit.exceptions.ImpossibleSampleWarning`) for a
        sample no component can produce."""
        X = self._checked(X)
        model, params = self._fitted_model(), self._params()
        scores = self._map_rows(lambda c: model.log_prob(params, c), X)
        _report_impossible(np.isneginf(scores), "their log-likelihood is -inf")
        return scores.astype(output_dtype(X), copy=False)

    def score(self, X: Any, y: Any = None, sample_weight: Any = None) -> float:
        """Mean (weighted) per-sample log-likelihood of ``X`` (of a source: weighted by the
        weights its chunks carry)."""
        scores = self.score_samples(X)
        if isinstance(X, RowSource) and sample_weight is None and X.weighted:
            size = self.chunk_size or DEFAULT_CHUNK_SIZE
            parts = [np.ones(len(r)) if w is None else w for r, w in X.chunks(size)]
            sample_weight = np.concatenate(parts)
        w = self._check_sample_weight(sample_weight, scores.shape[0])
        return float(np.average(scores, weights=w))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Posterior probability of every component, shape (n_samples, n_components), in
        the data's floating dtype. A sample no component can produce has no posterior: its
        row is NaN, with an :class:`~emkit.exceptions.ImpossibleSampleWarning`."""
        X = self._checked(X)
        model, params = self._fitted_model(), self._params()

        def posteriors(chunk: np.ndarray) -> np.ndarray:
            resp, log_norm = normalize_log_rows(model.log_joint(params, _float64(chunk)))
            resp[np.isneginf(log_norm)] = np.nan
            return resp

        proba = self._map_rows(posteriors, X)
        _report_impossible(np.isnan(proba[:, 0]), "their row of predict_proba is NaN")
        return proba.astype(output_dtype(X), copy=False)

    def predict(self, X: Any) -> np.ndarray:
        """Most probable component of every sample, shape (n_samples,); -1 (with an
        :class:`~emkit.exceptions.ImpossibleSampleWarning`) for a sample no component can
        produce."""
        X = self._checked(X)
        model, params = self._fitted_model(), self._params()

        def labels(chunk: np.ndarray) -> np.ndarray:
            log_joint = model.log_joint(params, _float64(chunk))
            best = np.argmax(log_joint, axis=1)
            best[np.isneginf(log_joint[np.arange(best.size), best])] = -1
            return best

        predicted = self._map_rows(labels, X)
        _report_impossible(predicted == -1, "predict gives them the label -1")
        return predicted


# -- the shared base ---------------------------------------------------------------------------
def _family_of(face: BaseMixture) -> Family:
    """The family that reads a mixture face's data: as fitted, once the face is fitted."""
    return face._fitted_family() if hasattr(face, "converged_") else face._family()


class BaseMixture(
    DeclaredParameters, MixtureScoring, EMEstimatorMixin, DensityMixin, BaseEstimator
):
    """What every mixture face shares: fitting, scoring, sampling, criteria and model files.

    A face declares its parameters (``_parameters``) and builds its family from them
    (:meth:`_family`); the family names the fitted arrays, checks them and writes itself
    into model files (:class:`emkit.families.base.Family`).
    """

    _abstract_face: ClassVar[bool] = True
    description: ClassVar[FaceDescription] = FaceDescription(
        "mixture", "component", family=_family_of
    )
    # Whether the face's data can never be negative (scikit-learn's positive_only tag).
    _non_negative: ClassVar[bool] = False
    # Whether the face takes scipy.sparse data (read as CSR; scikit-learn's sparse tag): its
    # family must score and sum CSR rows (accepts_sparse).
    _accept_sparse: ClassVar[bool] = False

    # -- fitting ------------------------------------------------------------------------
    def fit(
        self, X: Any, y: Any = None, sample_weight: Any = None, *, labels: Any = None
    ) -> BaseMixture:
        """Estimate the parameters by EM.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data the family can score (see the class documentation).
        y : ignored
            Not used: scikit-learn's convention for density estimators, whose checks pass
            class labels of no meaning to the mixture here. Known components go in
            ``labels``.
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative weights; integer weights give exactly the fit on repeated rows.
        labels : array-like of int, shape (n_samples,), optional
            Semi-supervised fit: the known component of every row, ``0..n_components - 1``,
            or -1 where it is unknown (scikit-learn's semi-supervised convention). A labelled
            row belongs wholly to its component at every E-step and in the initial
            partition (the initializer's components are matched to the labels first);
            ``lower_bound_`` is then the mean of the log-likelihood of the unlabelled rows
            and the complete-data log-likelihood ``log w_k + log p(x | k)`` of the labelled
            ones, which EM never lowers. With every row labelled, one M-step gives the
            per-class estimates (class proportions, and e.g. class means and covariances).
            A component with no labelled row is allowed: with every row labelled, it keeps
            its starting parameters by the family's rule for empty components.

        Returns
        -------
        self
        """
        self._check_hyperparameters()
        # A fit starts a stream of partial_fit calls afresh.
        self.__dict__.pop("_online_state", None)
        warm = self._warm()
        # A warm start continues from the fitted parameters, and so keeps what the first fit
        # learnt of the data (the categories of a categorical family).
        family = self._fitted_family() if warm else self._family()
        X = dask_rows(X)
        if isinstance(X, RowSource):
            return self._fit_source(X, family, warm, sample_weight, labels)
        X = self._check_input(X, family, reset=not warm, min_samples=2)
        if X.shape[0] < self.n_components:
            raise ValueError(
                f"Expected n_samples >= n_components but got "
                f"n_components = {self.n_components}, n_samples = {X.shape[0]}"
            )
        w = self._check_sample_weight(sample_weight, X.shape[0])
        self._check_fit_data(X)
        model = self._model(family)
        model.check_frozen_components(X.shape[1])
        if labels is not None and sp.issparse(X):
            raise ValueError(
                "labels go with dense rows: a semi-supervised fit of sparse X needs X.toarray()"
            )
        data: Any = X if labels is None else Labelled(X, labels)
        # Labels beyond the components are refused here, before any work is done.
        model.unpack(data)
        result = self._run_em(
            model,
            data,
            w,
            init=self._initial(model, X.shape[1]),
            hard=self.hard,
            chunk_size=self.chunk_size,
        )
        self._set_params(result.params, output_dtype(X))
        return self

    def partial_fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> BaseMixture:
        """Online EM on one more batch of data: a step per ``batch_size`` rows of ``X``
        (:mod:`emkit.core.online`), continuing from the previous calls.

        The first call (on an unfitted model) starts from ``X`` as :meth:`fit` does, with
        ``init_params`` (or the given initial parameters), so it needs at least
        ``n_components`` rows; a fitted model continues from its parameters, and after an
        online fit (``learning_method='online'``) from its running average, as more
        batches of that fit would. The running average of the statistics lives in the model
        between calls (not in model files); after a batch fit or a model file it starts
        afresh.
        ``lower_bounds_`` gains the mean log-likelihood of every batch, each under the
        parameters before its step, and ``n_iter_`` counts the steps taken.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        self._check_hyperparameters()
        fresh = not hasattr(self, "converged_")
        family = self._family() if fresh else self._fitted_family()
        X = self._check_input(X, family, reset=fresh)
        w = self._check_sample_weight(sample_weight, X.shape[0])
        model = self._model(family)
        if fresh:
            if X.shape[0] < self.n_components:
                raise ValueError(
                    f"the first batch of partial_fit starts the components from its rows: "
                    f"it needs n_samples >= n_components = {self.n_components}, got "
                    f"{X.shape[0]}"
                )
            self._check_fit_data(X)
            model.check_frozen_components(X.shape[1])
            start = self._initial(model, X.shape[1])
            rng = check_random_state(self.random_state)
            params = start(X, rng, w) if callable(start) else model.init(X, rng, w)
            state, history = OnlineState(), np.empty(0)
        else:
            params = self._params()
            state = self.__dict__.get("_online_state", OnlineState())
            history = np.asarray(self.lower_bounds_, dtype=np.float64)
        bounds = []
        for rows, weights in cut(X, w, int(self.batch_size)):
            params, state, bound = online_update(
                model,
                params,
                state,
                rows,
                online_steps(self),
                sample_weight=weights,
                hard=self.hard,
                chunk_size=self.chunk_size,
                n_jobs=self.n_jobs,
            )
            bounds.append(bound)
        self._set_params(params, output_dtype(X))
        self._record_steps(state, history, bounds)
        return self

    def fit_predict(
        self, X: Any, y: Any = None, sample_weight: Any = None, *, labels: Any = None
    ) -> np.ndarray:
        """Fit, then return the component of every sample (equal to ``fit(X).predict(X)``,
        except that a labelled row keeps its label).

        Parameters
        ----------
        X, y, sample_weight, labels
            As for :meth:`fit`.

        Returns
        -------
        components : ndarray of shape (n_samples,)
        """
        predicted = self.fit(X, sample_weight=sample_weight, labels=labels).predict(X)
        if labels is not None:
            known = np.asarray(labels)
            predicted[known >= 0] = known[known >= 0]
        return predicted

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
        return self._fitted_model().sample(
            self._params(), int(n_samples), check_random_state(self.random_state)
        )

    def _n_parameters(self) -> int:
        return self._fitted_model().n_parameters(int(self.n_features_in_))

    def bic(self, X: Any) -> float:
        """Bayesian information criterion of the fit on ``X`` in scikit-learn's convention,
        ``-2 log L + p log n`` (lower is better; ``emkit select`` and the summaries print
        mclust's ``2 log L - p log n``, higher is better)."""
        n = _n_rows(X)
        return -2.0 * self.score(X) * n + self._n_parameters() * np.log(n)

    def standard_errors(
        self, X: Any, sample_weight: Any = None, *, max_parameters: int = MAX_PARAMETERS
    ) -> StandardErrors:
        """Standard errors of the fitted parameters, from the observed information of
        ``X`` (the data of the fit): the negative Hessian of the observed-data
        log-likelihood at the fitted parameters, in the coordinates SQUAREM moves in, then
        the delta method to the fitted attributes (:mod:`emkit.core.information`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or a row source
        sample_weight : array-like of shape (n_samples,), optional
            The weights of the fit.
        max_parameters : int, default=200
            Refuse models with more free coordinates (the Hessian takes ``2 p ** 2 + 1``
            passes over the data).

        Returns
        -------
        StandardErrors
            ``estimates``, ``standard_errors`` and ``natural_covariance`` by attribute name
            (``weights_``, ``means_``, ``covariances_``, ...), and
            ``confidence_intervals(level)``.

        Raises
        ------
        ValueError
            When there are too many coordinates, or the information is not positive
            definite (a parameter on its boundary, components the data cannot tell apart).
        TypeError
            When the family has no unconstrained coordinates (mclust's shared
            orientations).
        """
        self._check_fitted()
        errors = parameter_errors(
            self._fitted_model(),
            self._checked(X),
            self._params(),
            sample_weight=None if sample_weight is None else np.asarray(sample_weight, float),
            chunk_size=self.chunk_size,
            n_jobs=self.n_jobs,
            max_parameters=max_parameters,
        )
        return errors.renamed({name: name.rsplit(".", 1)[-1] + "_" for name in errors.estimates})

    def aic(self, X: Any) -> float:
        """Akaike information criterion of the fit on ``X``, ``-2 log L + 2 p`` (lower is
        better)."""
        return -2.0 * self.score(X) * _n_rows(X) + 2.0 * self._n_parameters()

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = self._non_negative
        tags.input_tags.sparse = self._accept_sparse
        tags.input_tags.allow_nan = self._allows_missing()
        return tags

    def _allows_missing(self) -> bool:
        """Whether the family of the hyperparameters takes NaN as a missing cell (False
        when they do not make a family yet)."""
        try:
            return bool(self._family().allows_missing)
        except (TypeError, ValueError):
            return False

    # -- hooks of the faces ---------------------------------------------------------------
    def _check_fit_data(self, X: np.ndarray) -> None:
        """Warn about data the hyperparameters do not suit (checked data, before a fit)."""

    def _family(self) -> Family:
        """The component family, built from the hyperparameters (ValueError when they are
        invalid)."""
        raise NotImplementedError

    def _initial(self, model: MixtureModel, n_features: int) -> Any:
        """Starting point for the driver: the previous parameters on a warm start, else None
        (the model's own initialisation)."""
        return self._params() if self._warm() else None

    # -- internals ----------------------------------------------------------------------
    def _warm(self) -> bool:
        return bool(self.warm_start) and hasattr(self, "converged_")

    def _online_schedule(self) -> OnlineEM | None:
        if self.learning_method != "online":
            return None
        return online_steps(self)

    def _check_hyperparameters(self) -> None:
        self._check_parameters()
        if self.accelerate is not None and self.hard:
            raise ValueError(
                "accelerate='squarem' works with soft EM only, not with hard=True "
                "(classification EM)"
            )
        if self.accelerate is not None and self.learning_method == "online":
            raise ValueError(
                "accelerate='squarem' extrapolates along full EM steps, and "
                "learning_method='online' takes a step per mini-batch: choose one"
            )
        # The family checks the hyperparameters it takes.
        self._family()

    def _fitted_family(self) -> Family:
        """The family as fitted: with what it inferred from the training data fixed (a
        categorical family's numbers of categories: the data it scores must keep within
        them, and they count in the number of parameters)."""
        family = self._family()
        return family.fitted(family.params_from_arrays(self._attribute_arrays(family)))

    def _model(self, family: Family) -> MixtureModel:
        return MixtureModel(
            family,
            int(self.n_components),
            initializer(self.init_params, self.chunk_size),
            chunk_size=self.chunk_size,
        )

    def _fitted_model(self) -> MixtureModel:
        """The mixture of the fitted parameters, for scoring and sampling (no initializer:
        it never starts a fit)."""
        return MixtureModel(
            self._fitted_family(), int(np.shape(self.weights_)[0]), chunk_size=self.chunk_size
        )

    def _check_input(
        self, X: Any, family: Family, *, reset: bool, min_samples: int = 1
    ) -> np.ndarray | sp.csr_array:
        """``X`` validated as data of ``family`` (and, unless ``reset``, of the fitted model):
        an array, or a CSR matrix where the face accepts sparse data (any sparse format is
        converted to CSR)."""
        refuse_one_pass(X)
        _refuse_text_columns(X, type(self).__name__)
        check = getattr(family, "check_data", None)
        if check is None:
            return self._check_data(X, reset=reset, min_samples=min_samples)
        # scikit-learn's checks keep the shapes, feature names and n_features_in_ and refuse
        # NaN, infinities (and negative values, where the face says so) in its own words;
        # the family's check then names the first value it cannot score, with its row and
        # column. Integer and boolean data stay as they are: the families read them.
        X = validate_data(
            self,
            X,
            dtype="numeric",
            reset=reset,
            ensure_min_samples=min_samples,
            ensure_non_negative=self._non_negative,
            accept_sparse="csr" if self._accept_sparse else False,
            # NaN is a missing cell for a family that conditions on the observed ones.
            ensure_all_finite="allow-nan" if family.allows_missing else True,
        )
        return check(X)

    def _checked(self, X: Any) -> np.ndarray | RowSource:
        self._check_fitted()
        X = dask_rows(X)
        if isinstance(X, RowSource):
            return self._checked_source(X, self._fitted_family(), reset=False)
        return self._check_input(X, self._fitted_family(), reset=False)

    def _checked_source(self, source: RowSource, family: Family, *, reset: bool) -> RowSource:
        """``source`` with every chunk checked as data of ``family`` as it is read, and its
        columns those of the face (``n_features_in_``, ``feature_names_in_``)."""
        self._check_source_columns(source, reset=reset)
        return source.map(family.check_data)

    def _fit_source(
        self, source: RowSource, family: Family, warm: bool, sample_weight: Any, labels: Any
    ) -> BaseMixture:
        """:meth:`fit` on a row source, read a chunk at a time: the checks of the data go
        chunk by chunk, and the data checks of the whole (the regularisation warning) are
        left out."""
        if sample_weight is not None or labels is not None:
            raise ValueError(
                "with a row source, sample weights and labels go with its rows: chunks of "
                "pairs (X, sample_weight), or Labelled rows"
            )
        checked = self._checked_source(source, family, reset=not warm)
        if source.n_rows is not None and source.n_rows < max(2, self.n_components):
            raise ValueError(
                f"Expected n_samples >= n_components but got n_components = "
                f"{self.n_components}, n_samples = {source.n_rows}"
            )
        model = self._model(family)
        model.check_frozen_components(source.n_features)
        result = self._run_em(
            model,
            checked,
            None,
            init=self._initial(model, source.n_features),
            hard=self.hard,
            chunk_size=self.chunk_size,
        )
        self._set_params(result.params, output_dtype(source))
        return self

    def _component_attributes(self) -> tuple[str, ...]:
        """Fitted attributes that hold the family's parameters, in the family's order."""
        return tuple(f"{name}_" for name in self._family().params_names())

    def _attribute_arrays(self, family: Family) -> dict[str, Any]:
        """The family's arrays from the fitted attributes, floating ones in float64."""
        return {
            name: _as_dtype(getattr(self, f"{name}_"), np.float64) for name in family.params_names()
        }

    def _set_params(self, params: MixtureParams, dtype: Any = np.float64) -> None:
        """Fitted attributes from ``params``, their floating arrays in ``dtype``: the data's
        (float32 data gives float32 attributes, as in scikit-learn; the fit itself computes
        in float64)."""
        self.weights_ = _as_dtype(params.weights, dtype)
        for name, array in self._family().params_arrays(params.components).items():
            setattr(self, f"{name}_", _as_dtype(array, dtype))

    def _fitted_dtype(self) -> Any:
        """The floating dtype of the fitted attributes (that of the data they were fitted
        to)."""
        return np.asarray(self.weights_).dtype

    def _params(self) -> MixtureParams:
        self._check_fitted()
        family = self._family()
        components = family.params_from_arrays(self._attribute_arrays(family))
        return MixtureParams(_as_dtype(self.weights_, np.float64), components)

    # -- diagnostics --------------------------------------------------------------------
    def _component_health(self) -> tuple[str, ...]:
        """Weights near zero, and for the families with covariance (or scale) matrices,
        Gaussian and Student-t, matrices near singular or held up by ``reg_covar``
        (:mod:`emkit.core.diagnostics`), read from the fitted attributes."""
        self._check_fitted()
        unit = self.description.unit
        sentences = diagnostics.small_weights(np.asarray(self.weights_), unit)
        family = self._fitted_family()
        if isinstance(family, (Gaussian, StudentT)):
            covariances = self._attribute_arrays(family)["covariances"]
            k, d = int(np.shape(self.weights_)[0]), int(self.n_features_in_)
            full = family.covariance.full(covariances, k, d)
            shared = family.covariance.shared
            what = "covariance" if isinstance(family, Gaussian) else "scale matrix"
            sentences += diagnostics.covariance_health(
                full[:1] if shared else full, float(family.reg_covar), unit, what
            )
        return tuple(sentences)

    # -- model files --------------------------------------------------------------------
    def _stored_array_names(self) -> tuple[str, ...]:
        # Which arrays a file holds depends on the family: check what builds it first.
        self._check_hyperparameters()
        stored = tuple(f"{name}_" for name in self._family().stored_names())
        return ("weights_", *stored, "lower_bounds_")

    def _check_weights(self) -> np.ndarray:
        """The stored weights as float64, checked against ``n_components``."""
        weights = checked_array(self.weights_, (self.n_components,), "weights_")
        # Weights stored in float32 sum to one within float32's round-off.
        tolerance = max(1e-8, 8 * weights.size * np.finfo(self._fitted_dtype()).eps)
        if np.any(weights < 0) or abs(weights.sum() - 1.0) > tolerance:
            raise ValueError("weights_ must be non-negative and sum to one")
        return weights

    def _restore(self) -> None:
        # Hyperparameters are checked here too: an edited file must fail when it is read,
        # not when the model is first used.
        self._check_hyperparameters()
        dtype = np.float32 if self._fitted_dtype() == np.float32 else np.float64
        weights = self._check_weights()
        family = self._family()
        stored = {name: getattr(self, f"{name}_") for name in family.stored_names()}
        components = family.from_stored(stored, int(self.n_components), int(self.n_features_in_))
        self._set_params(MixtureParams(weights, components), dtype)


# -- the generic face -----------------------------------------------------------------------------
# What the structure needs of a family to fit a mixture of it.
# Fitted attributes of every face, which a family's arrays must not shadow.
_RESERVED = frozenset(
    {
        "weights",
        "converged",
        "n_iter",
        "lower_bound",
        "lower_bounds",
        "n_features_in",
        "feature_names_in",
    }
)


class Mixture(MixtureImputation, BaseMixture):
    __doc__ = face_doc(
        """Mixture of any component family, fitted by EM.

    The face of the mixture structure :class:`emkit.models.mixture.Mixture` over a family
    derived from :class:`emkit.families.base.Family` with the family contract the
    structure uses (``log_prob``, ``stats``, ``m_step`` and ``from_responsibilities``;
    ``n_parameters`` for :meth:`bic` and :meth:`aic`, ``sample`` for :meth:`sample`,
    ``check_data`` to validate data, ``to_unconstrained`` and ``from_unconstrained`` for
    ``accelerate``). The named faces (:class:`PoissonMixture`, ...) build their family from
    their hyperparameters; this face takes the family itself, and so also families the
    named faces do not offer, such as products of families for records of mixed column
    types (:class:`emkit.families.Product`), families with frozen parameters, or families
    written outside emkit.""",
        """\
    <array>_ : ndarray
        Every array of the family's parameters (as its ``params_arrays`` names them), with a
        trailing underscore: ``lambdas_`` for the Poisson family, ``probs_`` (and
        ``n_categories_``) for the probability tables, ``rates_`` for the exponential
        family, ``means_``, ``covariances_`` and ``precisions_cholesky_`` for the Gaussian
        family, ``gaussian_means_``, ``poisson_lambdas_``, ... for the parts of a product.
""",
        """\
    :meth:`save` stores the family as data (its class name and hyperparameters, see
    :meth:`emkit.families.base.Family.describe`): mixtures of every emkit family and
    product of families can be saved and read back.
""",
    )

    _parameters = (
        Param(
            "family",
            REQUIRED,
            "Family",
            """
            The component family, e.g. ``emkit.families.Poisson()``. Its ``check_data``
            validates the data where it has one; otherwise the data must be finite numbers.
            """,
            anything,
            positional=True,
        ),
        N_COMPONENTS,
        init_params(
            "kmeans",
            "Category codes are better started with 'random' (k-means treats codes as numbers).",
        ),
        *MIXTURE_PARAMETERS,
    )

    def _family(self) -> Family:
        return checked_family(self.family, _RESERVED, "mixture")


# -- the named faces ------------------------------------------------------------------------------
class BernoulliMixture(MixtureImputation, BaseMixture):
    __doc__ = face_doc(
        """Mixture of products of independent Bernoulli features (latent class analysis of
    binary data), fitted by EM.

    ``log p(x | k) = sum_d x_d log p_kd + (1 - x_d) log(1 - p_kd)``; the family is
    :class:`emkit.families.bernoulli.Bernoulli`. Data: zeros and ones (booleans, integers
    or floats), shape (n_samples, n_features).""",
        """\
    probs_ : ndarray of shape (n_components, n_features)
        ``probs_[k, d]``: probability that feature ``d`` is 1 under component ``k``. With
        components in place of classes, scikit-learn's ``BernoulliNB`` keeps its log as
        ``feature_log_prob_`` (hmmlearn has no Bernoulli model).
""",
        """\
    A maximum-likelihood probability can be exactly 0 or 1 (a feature constant among a
    component's samples); a sample that contradicts it then has probability zero under
    that component, and EM can no longer move it. ``prior > 1`` avoids this.
""",
    )

    _non_negative = True
    _parameters = (
        N_COMPONENTS,
        family_parameter(
            "prior",
            1.0,
            "float",
            """
            A symmetric Beta(``prior``, ``prior``) prior on every probability; the M-step is
            its posterior mode (1.0: maximum likelihood). Values above 1 keep the
            probabilities inside (0, 1), so that no sample becomes impossible under a
            component.
            """,
        ),
        init_params("kmeans"),
        *MIXTURE_PARAMETERS,
    )

    def _family(self) -> Bernoulli:
        return Bernoulli(prior=self.prior)


class CategoricalMixture(MixtureImputation, BaseMixture):
    __doc__ = face_doc(
        """Mixture of independent categorical columns (latent class analysis), fitted by EM.

    Every column of a sample is one categorical draw, the columns independent given the
    component: ``log p(x | k) = sum_c log probs_[k, c, x_c]``; the family is
    :class:`emkit.families.categorical.Categorical`. Data: integer category codes ``0, 1,
    ...`` (as integers or floats), shape (n_samples, n_columns).""",
        """\
    probs_ : ndarray of shape (n_components, n_columns, max(n_categories_))
        ``probs_[k, c, l]``: probability of category ``l`` in column ``c`` under component
        ``k``; zero beyond a column's categories. For one column, ``probs_[:, 0, :]`` is
        hmmlearn's ``CategoricalHMM.emissionprob_``; with components in place of classes,
        ``log(probs_[:, c, :n_categories_[c]])`` is ``feature_log_prob_[c]`` of
        scikit-learn's ``CategoricalNB``.
    n_categories_ : ndarray of shape (n_columns,)
        Number of categories of every column, as in ``CategoricalNB.n_categories_``; data
        scored later must keep within them.
""",
        """\
    A category that no sample of a component shows gets probability zero there (with
    ``prior = 1``); a sample holding it is then impossible under that component.
    ``prior > 1`` keeps every probability positive.
""",
    )

    _non_negative = True
    _parameters = (
        N_COMPONENTS,
        family_parameter(
            "n_categories",
            None,
            "int, sequence of int, or None",
            """
            Categories of every column: one number for all columns, one per column, or None
            to take one more than the largest code of every column of the training data.
            """,
        ),
        family_parameter(
            "prior",
            1.0,
            "float",
            """
            Concentration of a symmetric Dirichlet prior on every column's probabilities;
            the M-step is its posterior mode, ``max(prior - 1 + counts, 0)`` normalised
            (1.0: maximum likelihood), as in hmmlearn's ``CategoricalHMM``.
            """,
        ),
        init_params(
            "random",
            "'random' by default: k-means treats category codes as numbers and its\n"
            "hard clusters give probabilities of exactly zero, which EM cannot move.\n",
        ),
        *MIXTURE_PARAMETERS,
    )

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.categorical = True
        return tags

    def _family(self) -> Categorical:
        return Categorical(n_categories=self.n_categories, prior=self.prior)


class MultinomialMixture(TopicMethods, BaseMixture):
    __doc__ = face_doc(
        """Mixture of multinomials (count vectors, such as bags of words), fitted by EM.

    Every sample holds the counts of V categories in ``n = sum_v x_v`` independent trials:
    ``log p(x | k) = log(n! / prod_v x_v!) + sum_v x_v log probs_[k, v]``; the family is
    :class:`emkit.families.multinomial.Multinomial`. Data: non-negative whole numbers,
    shape (n_samples, n_categories), dense or a ``scipy.sparse`` matrix or array (of any
    format, read as CSR; a document-term matrix, say): sparse data is scored and summed
    through its stored entries, never densified, and gives the fit of the same data dense
    to round-off. Sample weights go with sparse data as with dense; ``labels`` (a
    semi-supervised fit) need dense rows, and so does ``init_params='hc'``.

    A mixture of unigrams (one topic per document; Nigam et al. 2000) when the samples are
    documents: every method that takes ``X`` takes a :class:`~emkit.io.corpus.Corpus`
    too, as the topic models do, whose vocabulary becomes ``feature_names_in_`` (kept in
    model files) and must be the fitted one, word for word, for new documents; and it has
    the topic models' methods (:meth:`top_words`, :meth:`coherence`,
    :meth:`heldout_log_likelihood`, :meth:`topic_word_distribution`), a document's topic
    proportions being its posterior probabilities (:meth:`predict_proba`).""",
        """\
    probs_ : ndarray of shape (n_components, n_features)
        ``probs_[k, v]``: probability of category ``v`` in one trial under component ``k``;
        every row sums to one. hmmlearn's ``MultinomialHMM`` calls it ``emissionprob_``;
        with components in place of classes, scikit-learn's ``MultinomialNB`` keeps its log
        as ``feature_log_prob_``.
""",
    )

    _non_negative = True
    _parameters = (
        N_COMPONENTS,
        family_parameter(
            "n_trials",
            None,
            "int or None",
            """
            None: rows may have any total. A number: every row must sum to it, and
            :meth:`sample` (which needs it) draws rows of that total.
            """,
        ),
        family_parameter(
            "prior",
            1.0,
            "float",
            """
            Concentration of a symmetric Dirichlet prior on every component's
            probabilities; the M-step is ``max(prior - 1 + counts, 0)`` normalised (1.0:
            maximum likelihood).
            """,
        ),
        init_params("kmeans"),
        *MIXTURE_PARAMETERS,
    )

    description = replace(BaseMixture.description, texts=True)
    _accept_sparse = True

    def topic_word_distribution(self) -> np.ndarray:
        """Every component's distribution over the words, shape (n_components, n_words):
        ``probs_`` in float64."""
        self._check_fitted()
        return np.asarray(self.probs_, dtype=np.float64)

    def heldout_log_likelihood(self, X: Any) -> float:
        """Per-word log-likelihood of the documents ``X`` under plug-in estimates: every
        word scored under its document's posterior probabilities of the components
        (:meth:`predict_proba`) and their distributions over the words, as
        :meth:`LatentDirichletAllocation.heldout_log_likelihood
        <emkit.estimators.documents.TopicMethods.heldout_log_likelihood>` scores a topic
        model (:func:`emkit.models.topic_metrics.heldout_log_likelihood`).

        Parameters
        ----------
        X : array-like, sparse matrix or Corpus of shape (n_documents, n_words)

        Returns
        -------
        float
        """
        self._check_fitted()
        counts = face_documents(self, X, reset=False, whom=f"{type(self).__name__}.score")
        theta = np.asarray(self.predict_proba(counts), dtype=np.float64)
        return heldout_log_likelihood(theta, self.topic_word_distribution(), counts)

    def _family(self) -> Multinomial:
        return Multinomial(n_trials=self.n_trials, prior=self.prior)

    def _check_input(
        self, X: Any, family: Family, *, reset: bool, min_samples: int = 1
    ) -> np.ndarray | sp.csr_array:
        if not (isinstance(X, Corpus) or (sp.issparse(X) and not reset)):
            return super()._check_input(X, family, reset=reset, min_samples=min_samples)
        # The topic faces' handling of documents: a corpus's words become (or must be) the
        # face's feature names, so that model files keep the vocabulary new texts are
        # counted over; sparse counts of a fitted face (new texts counted over a corpus's
        # vocabulary) are checked by their width only.
        counts = face_documents(self, X, reset=reset, whom=type(self).__name__)
        if counts.shape[0] < min_samples:
            raise ValueError(
                f"the corpus has {counts.shape[0]} document(s), while a minimum of "
                f"{min_samples} is required by {type(self).__name__}"
            )
        return family.check_data(counts)


class PoissonMixture(MixtureImputation, BaseMixture):
    __doc__ = face_doc(
        """Mixture of products of independent Poisson counts, fitted by EM.

    ``log p(x | k) = sum_d x_d log lambdas_[k, d] - lambdas_[k, d] - log(x_d!)``; the
    family is :class:`emkit.families.poisson.Poisson`. Data: non-negative whole numbers,
    shape (n_samples, n_features).""",
        """\
    lambdas_ : ndarray of shape (n_components, n_features)
        ``lambdas_[k, d]``: mean (rate) of feature ``d`` under component ``k``, as
        hmmlearn's ``PoissonHMM.lambdas_``.
""",
        """\
    A maximum-likelihood rate is exactly zero where all of a component's samples count 0;
    a positive count there is then impossible under that component. ``lambdas_prior > 0``
    keeps every rate positive.
""",
    )

    _non_negative = True
    _parameters = (
        N_COMPONENTS,
        family_parameter(
            "lambdas_prior",
            0.0,
            "float",
            """
            With ``lambdas_weight``, a Gamma prior on every rate in hmmlearn's
            ``PoissonHMM`` parametrisation: the M-step is ``(lambdas_prior + the component's
            weighted counts) / (lambdas_weight + the component's weight)``. Both 0: maximum
            likelihood.
            """,
        ),
        family_parameter("lambdas_weight", 0.0, "float", "See ``lambdas_prior``."),
        init_params("kmeans"),
        *MIXTURE_PARAMETERS,
    )

    def _family(self) -> Poisson:
        return Poisson(lambdas_prior=self.lambdas_prior, lambdas_weight=self.lambdas_weight)


class ExponentialMixture(MixtureImputation, BaseMixture):
    __doc__ = face_doc(
        """Mixture of products of independent exponential waiting times, fitted by EM.

    ``log p(x | k) = sum_d log rates_[k, d] - rates_[k, d] x_d``; the family is
    :class:`emkit.families.exponential.Exponential`. Data: non-negative numbers, shape
    (n_samples, n_features).""",
        """\
    rates_ : ndarray of shape (n_components, n_features)
        ``rates_[k, d]``: rate (inverse mean) of feature ``d`` under component ``k``; the
        ``scale`` of ``scipy.stats.expon`` is ``1 / rates_``.
""",
        """\
    The fit fails with a ValueError when a component puts all its weight on samples that
    are 0 in some feature: its maximum-likelihood rate there would be infinite.
""",
    )

    _non_negative = True
    _parameters = (N_COMPONENTS, init_params("kmeans"), *MIXTURE_PARAMETERS)

    def _family(self) -> Exponential:
        return Exponential()


def check_non_negative(value: Any, name: str) -> None:
    """Raise ValueError unless ``value`` is a real number (not a bool) of at least zero."""
    Param(name, 0.0, "float", "", real(0.0)).validate(value)
