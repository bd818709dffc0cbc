"""scikit-learn style mixture faces: what they share (:class:`BaseMixture`), a face over any
family (:class:`Mixture`), and named faces for the Bernoulli, categorical, multinomial, Poisson
and exponential families.

Every face builds the mixture structure (:class:`emkit.models.mixture.Mixture`) over its
family, runs the one EM driver, and exposes the fitted parameters as attributes named after
the fields of the family's parameters with a trailing underscore (``lambdas_`` for
:class:`~emkit.families.poisson.PoissonParams`, ``probs_`` for the probability tables, and so
on).
"""

from __future__ import annotations

import copy
import os
from dataclasses import fields, is_dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import validate_data

from emkit.core.batches import Labelled, map_rows
from emkit.estimators.base import EMEstimatorMixin, check_int
from emkit.exceptions import ImpossibleSampleWarning, warn
from emkit.families.bernoulli import Bernoulli, BernoulliParams
from emkit.families.categorical import Categorical, CategoricalParams
from emkit.families.exponential import Exponential, ExponentialParams
from emkit.families.multinomial import Multinomial, MultinomialParams
from emkit.families.poisson import Poisson, PoissonParams
from emkit.io.model_file import ModelFile, ModelFileError
from emkit.models.initialization import initializer
from emkit.models.mixture import Mixture as MixtureModel
from emkit.models.mixture import MixtureParams
from emkit.numerics.logspace import normalize_log_rows

# -- shared documentation ------------------------------------------------------------------------
# Blocks of numpydoc lines, each line indented for a class docstring and ended by a newline.
N_COMPONENTS_DOC = """\
    n_components : int, default=1
        Number of mixture components K.
"""

COMMON_PARAMETERS_DOC = """\
    tol : float, default=1e-3
        Convergence threshold on the change of the mean per-sample log-likelihood.
    max_iter : int, default=100
        Largest number of EM iterations (M-steps) per initialisation.
    n_init : int, default=1
        Number of initialisations; the best result is kept.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisations and :meth:`sample`.
    warm_start : bool, default=False
        Start from the previous fit's parameters (``n_init`` is then ignored).
    verbose : int, default=0
        1 prints the initialisation and every ``verbose_interval``-th iteration; 2 adds
        timings and log-likelihood changes.
    verbose_interval : int, default=10
    hard : bool, default=False
        Classification EM: each sample belongs wholly to its most probable component at every
        step, and the bound is the classification log-likelihood.
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
"""

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
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Only when X has string feature names.
"""


def init_params_doc(default: str, note: str = "") -> str:
    """The documentation block of ``init_params`` with the face's default (and ``note``,
    indented lines on why that default)."""
    return (
        f"    init_params : {{'kmeans', 'k-means++', 'random', 'random_from_data', 'hc'}}, "
        f"default={default!r}\n"
        "        How initial responsibilities are chosen: the labels of a k-means run, every\n"
        "        sample with its nearest k-means++ seed or with its nearest of ``n_components``\n"
        "        distinct random samples, uniformly random responsibilities, or a cut of the\n"
        "        model-based hierarchical agglomeration (:mod:`emkit.models.hierarchical`). One\n"
        "        M-step from them gives the starting parameters.\n" + note
    )


def face_doc(summary: str, parameters: str, init_params: str, attributes: str, notes: str) -> str:
    """A face's class docstring: ``summary`` (its first lines), its own ``parameters`` (a
    block), ``init_params`` (see :func:`init_params_doc`), the shared parameters, the shared
    attributes and its own ``attributes``, then ``notes`` (a block, may be empty)."""
    return (
        f"{summary}\n\n    Parameters\n    ----------\n{parameters}{init_params}"
        f"{COMMON_PARAMETERS_DOC}\n    Attributes\n    ----------\n{COMMON_ATTRIBUTES_DOC}"
        f"{attributes}" + (f"\n    Notes\n    -----\n{notes}" if notes else "") + "    "
    )


# -- the shared base ---------------------------------------------------------------------------
def _float64(chunk: np.ndarray) -> np.ndarray:
    return np.asarray(chunk, dtype=np.float64)


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


def _output_dtype(X: np.ndarray) -> Any:
    """float32 for float32 data, as scikit-learn returns; float64 for anything else."""
    return np.float32 if X.dtype == np.float32 else np.float64


class MixtureScoring:
    """Scoring of a fitted mixture, chunked like its fit: subclasses give the model to score
    with (:meth:`_fitted_model`), its parameters (:meth:`_params`) and checked data
    (:meth:`_checked`)."""

    chunk_size: int | None

    def score_samples(self, X: Any) -> np.ndarray:
        """Log-likelihood of every sample, shape (n_samples,), in the data's floating
        dtype; ``-inf`` (with an :class:`~emkit.exceptions.ImpossibleSampleWarning`) for a
        sample no component can produce."""
        X = self._checked(X)
        model, params = self._fitted_model(), self._params()
        scores = map_rows(lambda c: model.log_prob(params, c), X, self.chunk_size)
        _report_impossible(np.isneginf(scores), "their log-likelihood is -inf")
        return scores.astype(_output_dtype(X), copy=False)

    def score(self, X: Any, y: Any = None, sample_weight: Any = None) -> float:
        """Mean (weighted) per-sample log-likelihood of ``X``."""
        scores = self.score_samples(X)
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

        proba = map_rows(posteriors, X, self.chunk_size)
        _report_impossible(np.isnan(proba[:, 0]), "their row of predict_proba is NaN")
        return proba.astype(_output_dtype(X), copy=False)

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

        predicted = map_rows(labels, X, self.chunk_size)
        _report_impossible(predicted == -1, "predict gives them the label -1")
        return predicted


class BaseMixture(MixtureScoring, EMEstimatorMixin, DensityMixin, BaseEstimator):
    """What every mixture face shares: fitting, scoring, sampling, criteria and model files.

    A face names its family through :meth:`_family` (built from its hyperparameters) and the
    dataclass of the family's parameters through ``_params_class``, whose fields become the
    fitted attributes (``field_``); :meth:`_check_components` checks the parameters of a
    loaded model file.
    """

    _params_class: ClassVar[type | None] = None
    # Whether the face's data can never be negative (scikit-learn's positive_only tag).
    _non_negative: ClassVar[bool] = False

    def __init__(
        self,
        n_components: int,
        *,
        tol: float,
        max_iter: int,
        n_init: int,
        init_params: str,
        random_state: Any,
        warm_start: bool,
        verbose: int,
        verbose_interval: int,
        hard: bool,
        chunk_size: int | None,
        n_jobs: int | None,
        accelerate: str | None,
    ) -> None:
        self.n_components = n_components
        self.tol = tol
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.hard = hard
        self.chunk_size = chunk_size
        self.n_jobs = n_jobs
        self.accelerate = accelerate

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
        warm = self._warm()
        # A warm start continues from the fitted parameters, and so keeps what the first fit
        # learnt of the data (the categories of a categorical family).
        family = self._fitted_family() if warm else self._family()
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
        self._set_params(result.params, X.dtype if X.dtype == np.float32 else np.float64)
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
        """Bayesian information criterion of the fit on ``X`` (lower is better)."""
        n = np.shape(X)[0]
        return -2.0 * self.score(X) * n + self._n_parameters() * np.log(n)

    def aic(self, X: Any) -> float:
        """Akaike information criterion of the fit on ``X`` (lower is better)."""
        return -2.0 * self.score(X) * np.shape(X)[0] + 2.0 * self._n_parameters()

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = self._non_negative
        return tags

    # -- hooks of the faces ---------------------------------------------------------------
    def _check_fit_data(self, X: np.ndarray) -> None:
        """Warn about data the hyperparameters do not suit (checked data, before a fit)."""

    def _family(self) -> Any:
        """The component family, built from the hyperparameters (ValueError when they are
        invalid)."""
        raise NotImplementedError

    @staticmethod
    def _check_components(components: Any, n_components: int, n_features: int) -> None:
        """Raise ValueError unless ``components`` are valid parameters of ``n_components``
        components over ``n_features`` features (for model files, which may be edited)."""
        raise NotImplementedError

    def _initial(self, model: MixtureModel, n_features: int) -> Any:
        """Starting point for the driver: the previous parameters on a warm start, else None
        (the model's own initialisation)."""
        return self._params() if self._warm() else None

    # -- internals ----------------------------------------------------------------------
    def _warm(self) -> bool:
        return bool(self.warm_start) and hasattr(self, "converged_")

    def _check_hyperparameters(self) -> None:
        check_int(self.n_components, "n_components", 1)
        check_int(self.max_iter, "max_iter", 0)
        check_int(self.n_init, "n_init", 1)
        check_int(self.verbose_interval, "verbose_interval", 1)
        if self.chunk_size is not None:
            check_int(self.chunk_size, "chunk_size", 1)
        check_non_negative(self.tol, "tol")
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

    def _fitted_family(self) -> Any:
        """The family as fitted: a categorical family that inferred its numbers of
        categories from the data is given the fitted ones (the data it scores must then keep
        within them, and they count in the number of parameters)."""
        family = self._family()
        if getattr(family, "n_categories", 0) is None and hasattr(self, "n_categories_"):
            family = replace(family, n_categories=tuple(int(n) for n in self.n_categories_))
        return family

    def _model(self, family: Any) -> MixtureModel:
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

    def _check_input(self, X: Any, family: Any, *, reset: bool, min_samples: int = 1) -> np.ndarray:
        """``X`` validated as data of ``family`` (and, unless ``reset``, of the fitted model)."""
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
        )
        return check(X)

    def _checked(self, X: Any) -> np.ndarray:
        self._check_fitted()
        return self._check_input(X, self._fitted_family(), reset=False)

    def _component_attributes(self) -> tuple[str, ...]:
        """Fitted attributes that hold the family's parameters, in field order."""
        if self._params_class is None:
            raise ValueError(f"this {type(self).__name__} has no fitted parameters")
        return tuple(f"{f.name}_" for f in fields(self._params_class))

    def _set_params(self, params: MixtureParams, dtype: Any = np.float64) -> None:
        """Fitted attributes from ``params``, their floating arrays in ``dtype``: the data's
        (float32 data gives float32 attributes, as in scikit-learn; the fit itself computes
        in float64)."""
        self.weights_ = _as_dtype(params.weights, dtype)
        for f in fields(params.components):
            setattr(self, f"{f.name}_", _as_dtype(getattr(params.components, f.name), dtype))

    def _components(self) -> Any:
        assert self._params_class is not None
        return self._params_class(
            **{
                f.name: _as_dtype(getattr(self, f"{f.name}_"), np.float64)
                for f in fields(self._params_class)
            }
        )

    def _fitted_dtype(self) -> Any:
        """The floating dtype of the fitted attributes (that of the data they were fitted
        to)."""
        return np.asarray(self.weights_).dtype

    def _params(self) -> MixtureParams:
        self._check_fitted()
        return MixtureParams(_as_dtype(self.weights_, np.float64), self._components())

    # -- model files --------------------------------------------------------------------
    def _check_weights(self) -> np.ndarray:
        """The stored weights as float64, checked against ``n_components``."""
        weights = checked_array(self.weights_, (self.n_components,), "weights_")
        # Weights stored in float32 sum to one within float32's round-off.
        tolerance = max(1e-8, 8 * weights.size * np.finfo(self._fitted_dtype()).eps)
        if np.any(weights < 0) or abs(weights.sum() - 1.0) > tolerance:
            raise ValueError("weights_ must be non-negative and sum to one")
        return weights

    def _stored_components(self) -> Any:
        """The family's parameters of a loaded model, checked."""
        components = self._components()
        self._check_components(components, int(self.n_components), int(self.n_features_in_))
        return components

    def _restore(self) -> None:
        # Hyperparameters are checked here too: an edited file must fail when it is read,
        # not when the model is first used.
        self._check_hyperparameters()
        self._fitted_family()
        dtype = np.float32 if self._fitted_dtype() == np.float32 else np.float64
        weights = self._check_weights()
        self._set_params(MixtureParams(weights, self._stored_components()), dtype)


# -- checks --------------------------------------------------------------------------------------
def check_non_negative(value: Any, name: str) -> None:
    """Raise ValueError unless ``value`` is a real number (not a bool) of at least zero."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.floating))
        or not value >= 0
    ):
        raise ValueError(f"{name} must be a non-negative number, got {value!r}")


def _as_dtype(value: Any, dtype: Any) -> Any:
    """A floating array ``value`` in ``dtype``; anything else (integer tables, scalars) as it
    is."""
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return value.astype(dtype, copy=False)
    return value


def checked_array(value: Any, shape: tuple[int, ...], name: str) -> np.ndarray:
    """``value`` as a finite float64 array of ``shape``; ValueError naming ``name`` if not."""
    array = np.asarray(value, dtype=np.float64)
    if array.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} holds NaN or infinite values")
    return array


def _check_simplex(probs: np.ndarray, valid: np.ndarray | bool, name: str) -> None:
    """Raise ValueError unless ``probs`` is non-negative, zero where ``valid`` is False, and
    sums to one over its last axis."""
    if np.any(probs < 0):
        raise ValueError(f"{name} must hold non-negative probabilities")
    if np.any(np.where(valid, 0.0, probs) != 0):
        raise ValueError(f"{name} must be zero beyond every column's categories")
    if not np.allclose(probs.sum(axis=-1), 1.0, rtol=0, atol=1e-8):
        raise ValueError(f"the probabilities of {name} must sum to one over the last axis")


# -- the generic face -----------------------------------------------------------------------------
# What the structure needs of a family to fit a mixture of it.
FAMILY_CONTRACT = ("log_prob", "stats", "m_step", "from_responsibilities")
# Fitted attributes of every face, which a family's parameter must not shadow.
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


class Mixture(BaseMixture):
    __doc__ = face_doc(
        """Mixture of any component family, fitted by EM.

    The face of the mixture structure :class:`emkit.models.mixture.Mixture`: any object with
    the family contract the structure uses (``log_prob``, ``stats``, ``m_step`` and
    ``from_responsibilities``; ``n_parameters`` for :meth:`bic` and :meth:`aic`, ``sample``
    for :meth:`sample`, ``check_data`` to validate data, ``to_unconstrained`` and
    ``from_unconstrained`` for ``accelerate``) is a mixture component. The named faces
    (:class:`PoissonMixture`, ...) build their family from their hyperparameters; this face
    takes the family itself, and so also families the named faces do not offer, such as
    ones with frozen parameters or families written outside emkit.""",
        """\
    family : object
        The component family, e.g. ``emkit.families.poisson.Poisson()``. Its
        ``check_data`` validates the data where it has one; otherwise the data must be
        finite numbers.
"""
        + N_COMPONENTS_DOC,
        init_params_doc(
            "kmeans",
            "        Category codes are better started with 'random' (k-means treats codes as\n"
            "        numbers).\n",
        ),
        """\
    <field>_ : ndarray
        Every field of the family's parameters (a dataclass), with a trailing underscore:
        ``lambdas_`` for the Poisson family, ``probs_`` (and ``n_categories_``) for the
        probability tables, ``rates_`` for the exponential family, ``means_``,
        ``covariances_`` and ``precisions_cholesky_`` for the Gaussian family.
""",
        """\
    :meth:`save` stores mixtures of emkit's Bernoulli, Categorical, Multinomial, Poisson
    and Exponential families, with any of their hyperparameters (frozen parameters
    included). It refuses other families, whose hyperparameters a model file cannot
    describe as data; Gaussian mixtures are stored by :class:`emkit.GaussianMixture`.
""",
    )

    _fitted_arrays: ClassVar[tuple[str, ...]] = ("weights_", "lower_bounds_")

    def __init__(
        self,
        family: Any,
        n_components: int = 1,
        *,
        tol: float = 1e-3,
        max_iter: int = 100,
        n_init: int = 1,
        init_params: str = "kmeans",
        random_state: Any = None,
        warm_start: bool = False,
        verbose: int = 0,
        verbose_interval: int = 10,
        hard: bool = False,
        chunk_size: int | None = None,
        n_jobs: int | None = None,
        accelerate: str | None = None,
    ) -> None:
        self.family = family
        super().__init__(
            n_components,
            tol=tol,
            max_iter=max_iter,
            n_init=n_init,
            init_params=init_params,
            random_state=random_state,
            warm_start=warm_start,
            verbose=verbose,
            verbose_interval=verbose_interval,
            hard=hard,
            chunk_size=chunk_size,
            n_jobs=n_jobs,
            accelerate=accelerate,
        )

    def _family(self) -> Any:
        if isinstance(self.family, type):
            # A class has the methods too, unbound: it would fail later and obscurely.
            raise TypeError(
                f"family must be a family object such as {self.family.__name__}(), not the "
                f"class {self.family.__name__}"
            )
        missing = [
            name for name in FAMILY_CONTRACT if not callable(getattr(self.family, name, None))
        ]
        if missing:
            raise TypeError(
                f"family must be a component family with {', '.join(FAMILY_CONTRACT)}; "
                f"{type(self.family).__name__} has no {', '.join(missing)}"
            )
        return self.family

    def _set_params(self, params: MixtureParams, dtype: Any = np.float64) -> None:
        components = params.components
        if not is_dataclass(components) or isinstance(components, type):
            raise TypeError(
                f"the family's parameters must be a dataclass of named arrays, got "
                f"{type(components).__name__}"
            )
        shadowed = sorted({f.name for f in fields(components)} & _RESERVED)
        if shadowed:
            raise ValueError(
                f"the family's parameters {shadowed} would shadow the mixture's fitted "
                "attributes of the same names; rename those fields"
            )
        self._params_class = type(components)
        super()._set_params(params, dtype)

    # -- model files --------------------------------------------------------------------
    def _stored_components(self) -> Any:
        components = self._components()
        face = NAMED_FACES[type(self.family)]
        face._check_components(components, int(self.n_components), int(self.n_features_in_))
        return components

    def save(self, path: str | os.PathLike) -> Path:
        """Write the fitted model to ``path`` (see :meth:`EMEstimatorMixin.save`); read it
        back with :func:`emkit.load`.

        Raises
        ------
        ValueError
            When the family is not one a model file can describe (see the class Notes).
        """
        self._check_fitted()
        description = _describe_family(self.family)
        # The shared writer stores every hyperparameter and the arrays that
        # _fitted_arrays names: a copy gives it the family as a description and names the
        # family's arrays, which depend on the family.
        stored = copy.copy(self)
        stored.family = description
        stored._fitted_arrays = (*self._fitted_arrays, *self._component_attributes())
        return super(Mixture, stored).save(path)

    @classmethod
    def _from_file(cls, model_file: ModelFile, path: str | os.PathLike) -> EMEstimatorMixin:
        inconsistent = f"{os.fspath(path)!r} holds an inconsistent {cls.__name__}"
        try:
            hyper = dict(model_file.metadata["hyperparameters"])
            hyper["family"] = _family_from_description(hyper["family"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"{inconsistent}: {exc}") from exc
        metadata = {**model_file.metadata, "hyperparameters": hyper}
        # The shared reader restores the hyperparameters, scalars and weights ...
        est = super()._from_file(replace(model_file, metadata=metadata), path)
        assert isinstance(est, Mixture)
        # ... and the family's arrays follow, named by its face.
        face = NAMED_FACES[type(est.family)]
        try:
            est._params_class = face._params_class
            for name in est._component_attributes():
                setattr(est, name, model_file.arrays[name])
            BaseMixture._restore(est)
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"{inconsistent}: {exc}") from exc
        return est

    def _restore(self) -> None:
        # Called by the shared reader before the family's arrays are known (see _from_file).
        self._check_weights()


# -- the named faces ------------------------------------------------------------------------------
class BernoulliMixture(BaseMixture):
    __doc__ = face_doc(
        """Mixture of products of independent Bernoulli features (latent class analysis of
    binary data), fitted by EM.

    ``log p(x | k) = sum_d x_d log p_kd + (1 - x_d) log(1 - p_kd)``; the family is
    :class:`emkit.families.bernoulli.Bernoulli`. Data: zeros and ones (booleans, integers
    or floats), shape (n_samples, n_features).""",
        N_COMPONENTS_DOC
        + """\
    prior : float, default=1.0
        A symmetric Beta(``prior``, ``prior``) prior on every probability; the M-step is
        its posterior mode (1.0: maximum likelihood). Values above 1 keep the probabilities
        inside (0, 1), so that no sample becomes impossible under a component.
""",
        init_params_doc("kmeans"),
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

    _params_class = BernoulliParams
    _non_negative = True
    _fitted_arrays: ClassVar[tuple[str, ...]] = ("weights_", "probs_", "lower_bounds_")

    def __init__(
        self,
        n_components: int = 1,
        *,
        prior: float = 1.0,
        tol: float = 1e-3,
        max_iter: int = 100,
        n_init: int = 1,
        init_params: str = "kmeans",
        random_state: Any = None,
        warm_start: bool = False,
        verbose: int = 0,
        verbose_interval: int = 10,
        hard: bool = False,
        chunk_size: int | None = None,
        n_jobs: int | None = None,
        accelerate: str | None = None,
    ) -> None:
        self.prior = prior
        super().__init__(
            n_components,
            tol=tol,
            max_iter=max_iter,
            n_init=n_init,
            init_params=init_params,
            random_state=random_state,
            warm_start=warm_start,
            verbose=verbose,
            verbose_interval=verbose_interval,
            hard=hard,
            chunk_size=chunk_size,
            n_jobs=n_jobs,
            accelerate=accelerate,
        )

    def _family(self) -> Bernoulli:
        return Bernoulli(prior=self.prior)

    @staticmethod
    def _check_components(components: Any, n_components: int, n_features: int) -> None:
        probs = checked_array(components.probs, (n_components, n_features), "probs_")
        if np.any((probs < 0) | (probs > 1)):
            raise ValueError("probs_ must hold probabilities in [0, 1]")


class CategoricalMixture(BaseMixture):
    __doc__ = face_doc(
        """Mixture of independent categorical columns (latent class analysis), fitted by EM.

    Every column of a sample is one categorical draw, the columns independent given the
    component: ``log p(x | k) = sum_c log probs_[k, c, x_c]``; the family is
    :class:`emkit.families.categorical.Categorical`. Data: integer category codes ``0, 1,
    ...`` (as integers or floats), shape (n_samples, n_columns).""",
        N_COMPONENTS_DOC
        + """\
    n_categories : int, sequence of int, or None, default=None
        Categories of every column: one number for all columns, one per column, or None to
        take one more than the largest code of every column of the training data.
    prior : float, default=1.0
        Concentration of a symmetric Dirichlet prior on every column's probabilities; the
        M-step is its posterior mode, ``max(prior - 1 + counts, 0)`` normalised (1.0:
        maximum likelihood), as in hmmlearn's ``CategoricalHMM``.
""",
        init_params_doc(
            "random",
            "        'random' by default: k-means treats category codes as numbers and its\n"
            "        hard clusters give probabilities of exactly zero, which EM cannot move.\n",
        ),
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

    _params_class = CategoricalParams
    _non_negative = True
    _fitted_arrays: ClassVar[tuple[str, ...]] = (
        "weights_",
        "probs_",
        "n_categories_",
        "lower_bounds_",
    )

    def __init__(
        self,
        n_components: int = 1,
        *,
        n_categories: Any = None,
        prior: float = 1.0,
        tol: float = 1e-3,
        max_iter: int = 100,
        n_init: int = 1,
        init_params: str = "random",
        random_state: Any = None,
        warm_start: bool = False,
        verbose: int = 0,
        verbose_interval: int = 10,
        hard: bool = False,
        chunk_size: int | None = None,
        n_jobs: int | None = None,
        accelerate: str | None = None,
    ) -> None:
        self.n_categories = n_categories
        self.prior = prior
        super().__init__(
            n_components,
            tol=tol,
            max_iter=max_iter,
            n_init=n_init,
            init_params=init_params,
            random_state=random_state,
            warm_start=warm_start,
            verbose=verbose,
            verbose_interval=verbose_interval,
            hard=hard,
            chunk_size=chunk_size,
            n_jobs=n_jobs,
            accelerate=accelerate,
        )

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.categorical = True
        return tags

    def _family(self) -> Categorical:
        return Categorical(n_categories=self.n_categories, prior=self.prior)

    @staticmethod
    def _check_components(components: Any, n_components: int, n_features: int) -> None:
        n_categories = np.asarray(components.n_categories)
        if (
            n_categories.shape != (n_features,)
            or n_categories.dtype.kind not in "iu"
            or np.any(n_categories < 1)
        ):
            raise ValueError(
                f"n_categories_ must hold {n_features} positive integers, got {n_categories!r}"
            )
        shape = (n_components, n_features, int(n_categories.max()))
        probs = checked_array(components.probs, shape, "probs_")
        _check_simplex(probs, np.arange(shape[2]) < n_categories[:, None], "probs_")


class MultinomialMixture(BaseMixture):
    __doc__ = face_doc(
        """Mixture of multinomials (count vectors, such as bags of words), fitted by EM.

    Every sample holds the counts of V categories in ``n = sum_v x_v`` independent trials:
    ``log p(x | k) = log(n! / prod_v x_v!) + sum_v x_v log probs_[k, v]``; the family is
    :class:`emkit.families.multinomial.Multinomial`. Data: non-negative whole numbers,
    shape (n_samples, n_categories).""",
        N_COMPONENTS_DOC
        + """\
    n_trials : int or None, default=None
        None: rows may have any total. A number: every row must sum to it, and
        :meth:`sample` (which needs it) draws rows of that total.
    prior : float, default=1.0
        Concentration of a symmetric Dirichlet prior on every component's probabilities;
        the M-step is ``max(prior - 1 + counts, 0)`` normalised (1.0: maximum likelihood).
""",
        init_params_doc("kmeans"),
        """\
    probs_ : ndarray of shape (n_components, n_features)
        ``probs_[k, v]``: probability of category ``v`` in one trial under component ``k``;
        every row sums to one. hmmlearn's ``MultinomialHMM`` calls it ``emissionprob_``;
        with components in place of classes, scikit-learn's ``MultinomialNB`` keeps its log
        as ``feature_log_prob_``.
""",
        "",
    )

    _params_class = MultinomialParams
    _non_negative = True
    _fitted_arrays: ClassVar[tuple[str, ...]] = ("weights_", "probs_", "lower_bounds_")

    def __init__(
        self,
        n_components: int = 1,
        *,
        n_trials: int | None = None,
        prior: float = 1.0,
        tol: float = 1e-3,
        max_iter: int = 100,
        n_init: int = 1,
        init_params: str = "kmeans",
        random_state: Any = None,
        warm_start: bool = False,
        verbose: int = 0,
        verbose_interval: int = 10,
        hard: bool = False,
        chunk_size: int | None = None,
        n_jobs: int | None = None,
        accelerate: str | None = None,
    ) -> None:
        self.n_trials = n_trials
        self.prior = prior
        super().__init__(
            n_components,
            tol=tol,
            max_iter=max_iter,
            n_init=n_init,
            init_params=init_params,
            random_state=random_state,
            warm_start=warm_start,
            verbose=verbose,
            verbose_interval=verbose_interval,
            hard=hard,
            chunk_size=chunk_size,
            n_jobs=n_jobs,
            accelerate=accelerate,
        )

    def _family(self) -> Multinomial:
        return Multinomial(n_trials=self.n_trials, prior=self.prior)

    @staticmethod
    def _check_components(components: Any, n_components: int, n_features: int) -> None:
        probs = checked_array(components.probs, (n_components, n_features), "probs_")
        _check_simplex(probs, True, "probs_")


class PoissonMixture(BaseMixture):
    __doc__ = face_doc(
        """Mixture of products of independent Poisson counts, fitted by EM.

    ``log p(x | k) = sum_d x_d log lambdas_[k, d] - lambdas_[k, d] - log(x_d!)``; the
    family is :class:`emkit.families.poisson.Poisson`. Data: non-negative whole numbers,
    shape (n_samples, n_features).""",
        N_COMPONENTS_DOC
        + """\
    lambdas_prior, lambdas_weight : float, default=0.0
        A Gamma prior on every rate in hmmlearn's ``PoissonHMM`` parametrisation: the
        M-step is ``(lambdas_prior + the component's weighted counts) / (lambdas_weight +
        the component's weight)``. Both 0: maximum likelihood.
""",
        init_params_doc("kmeans"),
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

    _params_class = PoissonParams
    _non_negative = True
    _fitted_arrays: ClassVar[tuple[str, ...]] = ("weights_", "lambdas_", "lower_bounds_")

    def __init__(
        self,
        n_components: int = 1,
        *,
        lambdas_prior: float = 0.0,
        lambdas_weight: float = 0.0,
        tol: float = 1e-3,
        max_iter: int = 100,
        n_init: int = 1,
        init_params: str = "kmeans",
        random_state: Any = None,
        warm_start: bool = False,
        verbose: int = 0,
        verbose_interval: int = 10,
        hard: bool = False,
        chunk_size: int | None = None,
        n_jobs: int | None = None,
        accelerate: str | None = None,
    ) -> None:
        self.lambdas_prior = lambdas_prior
        self.lambdas_weight = lambdas_weight
        super().__init__(
            n_components,
            tol=tol,
            max_iter=max_iter,
            n_init=n_init,
            init_params=init_params,
            random_state=random_state,
            warm_start=warm_start,
            verbose=verbose,
            verbose_interval=verbose_interval,
            hard=hard,
            chunk_size=chunk_size,
            n_jobs=n_jobs,
            accelerate=accelerate,
        )

    def _family(self) -> Poisson:
        return Poisson(lambdas_prior=self.lambdas_prior, lambdas_weight=self.lambdas_weight)

    @staticmethod
    def _check_components(components: Any, n_components: int, n_features: int) -> None:
        lambdas = checked_array(components.lambdas, (n_components, n_features), "lambdas_")
        if np.any(lambdas < 0):
            raise ValueError("lambdas_ must hold non-negative rates")


class ExponentialMixture(BaseMixture):
    __doc__ = face_doc(
        """Mixture of products of independent exponential waiting times, fitted by EM.

    ``log p(x | k) = sum_d log rates_[k, d] - rates_[k, d] x_d``; the family is
    :class:`emkit.families.exponential.Exponential`. Data: non-negative numbers, shape
    (n_samples, n_features).""",
        N_COMPONENTS_DOC,
        init_params_doc("kmeans"),
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

    _params_class = ExponentialParams
    _non_negative = True
    _fitted_arrays: ClassVar[tuple[str, ...]] = ("weights_", "rates_", "lower_bounds_")

    def __init__(
        self,
        n_components: int = 1,
        *,
        tol: float = 1e-3,
        max_iter: int = 100,
        n_init: int = 1,
        init_params: str = "kmeans",
        random_state: Any = None,
        warm_start: bool = False,
        verbose: int = 0,
        verbose_interval: int = 10,
        hard: bool = False,
        chunk_size: int | None = None,
        n_jobs: int | None = None,
        accelerate: str | None = None,
    ) -> None:
        super().__init__(
            n_components,
            tol=tol,
            max_iter=max_iter,
            n_init=n_init,
            init_params=init_params,
            random_state=random_state,
            warm_start=warm_start,
            verbose=verbose,
            verbose_interval=verbose_interval,
            hard=hard,
            chunk_size=chunk_size,
            n_jobs=n_jobs,
            accelerate=accelerate,
        )

    def _family(self) -> Exponential:
        return Exponential()

    @staticmethod
    def _check_components(components: Any, n_components: int, n_features: int) -> None:
        rates = checked_array(components.rates, (n_components, n_features), "rates_")
        if np.any(rates <= 0):
            raise ValueError("rates_ must hold positive rates")


# -- families a model file describes ---------------------------------------------------------------
NAMED_FACES: dict[type, type[BaseMixture]] = {
    Bernoulli: BernoulliMixture,
    Categorical: CategoricalMixture,
    Multinomial: MultinomialMixture,
    Poisson: PoissonMixture,
    Exponential: ExponentialMixture,
}
"""The named face of every family whose hyperparameters a model file can hold."""


def _describe_family(family: Any) -> dict[str, Any]:
    """``family`` as JSON data: its class name under 'family' and its fields.

    Raises
    ------
    ValueError
        When the family is not one of :data:`NAMED_FACES`.
    """
    if type(family) not in NAMED_FACES:
        known = ", ".join(cls.__name__ for cls in NAMED_FACES)
        raise ValueError(
            f"Mixture.save stores mixtures of emkit's {known} families; a model file cannot "
            f"describe a {type(family).__name__} family as data (a Gaussian mixture is "
            "stored by emkit.GaussianMixture)"
        )
    description: dict[str, Any] = {"family": type(family).__name__}
    for f in fields(family):
        value = getattr(family, f.name)
        if isinstance(value, frozenset):
            value = sorted(value)
        elif isinstance(value, tuple):
            value = list(value)
        description[f.name] = value
    return description


def _family_from_description(description: Any) -> Any:
    """The family :func:`_describe_family` described (ValueError or TypeError if none)."""
    if not isinstance(description, dict):
        raise TypeError(f"the family is described by a mapping, got {description!r}")
    fields_ = dict(description)
    name = fields_.pop("family")
    families = {cls.__name__: cls for cls in NAMED_FACES}
    if name not in families:
        raise ValueError(f"unknown family {name!r}; known: {sorted(families)}")
    return families[name](**fields_)
