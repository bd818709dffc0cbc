"""``emkit.LatentDirichletAllocation``: topic models by variational EM, a drop-in for
scikit-learn's, on the one EM driver."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import check_random_state

from emkit.core.driver import IterationInfo, fit_em, online_update
from emkit.core.online import OnlineEM, OnlineState
from emkit.estimators.base import EMEstimatorMixin, dask_rows
from emkit.estimators.description import FaceDescription, Phrase
from emkit.estimators.documents import TopicMethods, face_documents
from emkit.estimators.mixtures import ACCELERATE
from emkit.estimators.parameters import (
    CHUNK_SIZE,
    LEARNING_DECAY,
    LEARNING_OFFSET,
    N_INIT,
    N_JOBS,
    RANDOM_STATE,
    DeclaredParameters,
    Param,
    integer,
    one_of,
    real,
)
from emkit.execution.sources import RowSource, cut
from emkit.models.documents import check_documents, document_chunk_size
from emkit.models.lda import LDAModel, LDAParams, lda_params
from emkit.numerics.dirichlet import expected_log


def _prior(value: Any) -> str | None:
    """None, a positive number, 'auto', or an array of positive numbers."""
    if value is None or (isinstance(value, str) and value == "auto"):
        return None
    if isinstance(value, str):
        return "must be None, 'auto', a positive number or an array of them"
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return "must be None, 'auto', a positive number or an array of them"
    if array.ndim > 1 or array.size == 0 or not np.all(np.isfinite(array) & (array > 0)):
        return "must be None, 'auto', a positive number or an array of them"
    return None


def _positive_auto_or_none(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and value == "auto"):
        return None
    if real(0.0, strict=True)(value) is None:
        return None
    return "must be None, 'auto' or a positive number"


class LatentDirichletAllocation(
    DeclaredParameters,
    TopicMethods,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    EMEstimatorMixin,
    BaseEstimator,
):
    """Latent Dirichlet allocation by variational EM, batch or online.

    A drop-in for :class:`sklearn.decomposition.LatentDirichletAllocation`: the same
    parameters, fitted attributes and methods, fitted by emkit's one EM driver
    (:mod:`emkit.models.lda`), so that chunks, threads, row sources (``emkit.open_data``,
    a CSR matrix read in chunks) and Dask collections work as for every emkit model, with
    results that do not depend on how the documents are cut. Every document's E-step
    starts from ``gamma_d = 1`` (scikit-learn draws a random start for every training
    E-step), so a fit depends on ``random_state`` only through the topics it starts from,
    and one E-step serves both the M-step and the bound of the current topics: batch EM
    costs one pass per iteration where scikit-learn evaluating the perplexity takes two.

    Beyond scikit-learn: ``doc_topic_prior='auto'`` learns an asymmetric prior of the
    topic proportions by Minka's fixed point in every M-step (gensim's ``alpha='auto'``),
    ``topic_word_prior='auto'`` a symmetric prior of the topics (gensim's ``eta='auto'``),
    both as exact maximisations of the bound, which therefore still never decreases;
    document weights (``sample_weight``: an integer weight is the document repeated);
    restarts (``n_init``); SQUAREM (``accelerate``); the bound of every iteration
    (``lower_bounds_``); float32 data computed in float64 (no underflow), with float32
    results; a :class:`~emkit.io.corpus.Corpus` as data, whose vocabulary the model keeps
    (``feature_names_in_``, in model files too); top words, coherence and the held-out
    plug-in likelihood (:meth:`top_words`, :meth:`coherence`,
    :meth:`heldout_log_likelihood`).

    Data: word counts (or any non-negative weights), dense or sparse, shape
    (n_documents, n_words). Empty documents are allowed and contribute nothing.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_words)
        ``lambda``: the variational Dirichlet parameters of the topics (pseudo-counts);
        ``components_ / components_.sum(axis=1)[:, None]`` are the topic-word
        distributions.
    exp_dirichlet_component_ : ndarray of shape (n_components, n_words)
        ``exp(E[log beta])``.
    doc_topic_prior_ : float or ndarray of shape (n_components,)
        ``alpha`` (an array when learned or given as one).
    topic_word_prior_ : float
        ``eta`` (learned when ``topic_word_prior='auto'``).
    n_batch_iter_ : int
        One more than the M-steps taken (scikit-learn's count).
    n_iter_ : int
        Passes over the data (batch: iterations).
    bound_ : float
        Perplexity of the training data under the final topics.
    converged_ : bool
        Whether ``perp_tol`` stopped the fit (``evaluate_every > 0``).
    lower_bound_ : float
        Evidence lower bound per document (weighted) of the final topics.
    lower_bounds_ : ndarray
        The bound per document after every iteration (batch; element 0 for the start), or
        of every mini-batch under the topics before its step (online).
    restart_lower_bounds_ : ndarray of shape (n_init,)
        Final bound of every restart.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Defined when ``X`` has feature names that are all strings.
    """

    description = FaceDescription(
        "topics",
        "topic",
        title="latent Dirichlet allocation",
        words=(Phrase("learning_method", "{} variational Bayes"),),
    )
    _parameters = (
        Param(
            "n_components",
            10,
            "int",
            "Number of topics.",
            integer(1),
            positional=True,
        ),
        Param(
            "doc_topic_prior",
            None,
            "float, 'auto', array-like of shape (n_components,) or None",
            """
            ``alpha``, the Dirichlet prior of every document's topic proportions (None:
            ``1 / n_components``). 'auto' learns an asymmetric prior from the data,
            starting from ``1 / n_components``.
            """,
            _prior,
        ),
        Param(
            "topic_word_prior",
            None,
            "float, 'auto' or None",
            """
            ``eta``, the symmetric Dirichlet prior of the topics (None: ``1 / n_components``).
            'auto' learns it from the data, starting from ``1 / n_components``.
            """,
            _positive_auto_or_none,
        ),
        Param(
            "learning_method",
            "batch",
            "{'batch', 'online'}",
            """
            'batch': every M-step from all the documents. 'online': online variational
            Bayes (Hoffman, Blei and Bach 2010), an M-step after every mini-batch of
            ``batch_size`` documents, from the running average of the statistics.
            """,
            one_of("batch", "online"),
        ),
        LEARNING_DECAY,
        LEARNING_OFFSET,
        Param(
            "max_iter",
            10,
            "int",
            "Passes over the data (batch: iterations).",
            integer(0),
        ),
        Param(
            "batch_size",
            128,
            "int",
            "Documents per mini-batch of online learning and of ``partial_fit``.",
            integer(1),
        ),
        Param(
            "evaluate_every",
            -1,
            "int",
            """
            Evaluate the perplexity every this many passes (0 or less: never) and stop when
            it changes by less than ``perp_tol``. Batch: the perplexity of the current
            topics, which the next M-step's E-step gives at no cost. Online: that of the
            pass, its mini-batches scored under the topics before their steps.
            """,
            lambda v: (
                None
                if isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                else "must be an integer"
            ),
        ),
        Param(
            "total_samples",
            1e6,
            "int",
            "Documents the data stands for in ``partial_fit``'s steps (``D`` of online VB).",
            real(0.0, strict=True),
        ),
        Param(
            "perp_tol",
            1e-1,
            "float",
            "Perplexity change below which the fit stops (``evaluate_every > 0``).",
            real(0.0),
        ),
        Param(
            "mean_change_tol",
            1e-3,
            "float",
            "A document's E-step stops when the mean change of its ``gamma`` is below.",
            real(0.0),
        ),
        Param(
            "max_doc_update_iter",
            100,
            "int",
            "Most iterations of a document's E-step.",
            integer(1),
        ),
        N_JOBS,
        ACCELERATE.with_doc(
            """
            'squarem' accelerates batch variational EM with SQUAREM (Varadhan and Roland
            2008): after every two EM steps it extrapolates along them (in the logarithms
            of the topics' pseudo-counts and of learned priors) and keeps the extrapolation
            only when its bound is at least that of the first step. Not with
            ``learning_method='online'``.
            """
        ),
        Param(
            "verbose",
            0,
            "int",
            "Print a line per pass (with the perplexity when it is evaluated).",
            lambda v: (
                None
                if isinstance(v, (bool, np.bool_)) or integer(0)(v) is None
                else "must be True, False or an integer >= 0"
            ),
        ),
        RANDOM_STATE,
        N_INIT,
        CHUNK_SIZE.with_doc("Documents per E-step chunk; the results do not depend on it."),
    )

    _fitted_scalars: ClassVar[tuple[str, ...]] = (
        *EMEstimatorMixin._fitted_scalars,
        "topic_word_prior_",
        "n_batch_iter_",
        "bound_",
    )
    _fitted_arrays: ClassVar[tuple[str, ...]] = (
        "lower_bounds_",
        "components_",
        "doc_topic_prior_",
    )

    # -- fitting ------------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> LatentDirichletAllocation:
        """Learn the topics of the documents ``X`` by variational EM.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_documents, n_words), or a row source
            Word counts.
        y : ignored
        sample_weight : array-like of shape (n_documents,), optional
            Document weights (in memory only; a source carries its own).

        Returns
        -------
        self
        """
        self._check_parameters()
        self.__dict__.pop("_online_state", None)
        X = dask_rows(X)
        if isinstance(X, RowSource):
            if sample_weight is not None:
                raise ValueError(
                    "with a row source, document weights go with its rows: chunks of "
                    "pairs (X, sample_weight)"
                )
            self._check_source_columns(X, reset=True)
            data: Any = X.map(self._chunk_check)
            w, n_rows = None, X.n_rows
            n_words = self._words_of(data) if self.evaluate_every > 0 else None
        else:
            data = self._check_counts(X, reset=True, whom="LatentDirichletAllocation.fit")
            w = self._check_sample_weight(sample_weight, data.shape[0])
            n_rows = data.shape[0]
            n_words = float(data.sum(axis=1) @ w) if w is not None else float(data.sum())
        model = self._model(data.shape[1] if not isinstance(data, RowSource) else X.n_features)
        online = self.learning_method == "online"
        evaluation = _Evaluation(self, n_words, n_rows, online, model.bound_offset)
        result = fit_em(
            model,
            data,
            sample_weight=w,
            n_init=self.n_init,
            max_iter=self.max_iter,
            # The driver's own rule is off: perp_tol decides, as in scikit-learn.
            tol=-math.inf,
            random_state=check_random_state(self.random_state),
            callback=evaluation,
            chunk_size=self.chunk_size or document_chunk_size(n_rows),
            n_jobs=self.n_jobs,
            accelerate=self.accelerate,
            online=(
                OnlineEM(
                    int(self.batch_size), float(self.learning_decay), float(self.learning_offset)
                )
                if online
                else None
            ),
        )
        self._record_result(result, converged=result.stopped)
        self._set_params(result.params, self._dtype_of(data))
        steps = result.online_state.n_batches if result.online_state is not None else result.n_iter
        self.n_batch_iter_ = int(steps) + 1
        # Every word's topic probabilities sum to one: the statistics count the words.
        words = (
            float(result.stats.word_topic.sum()) if evaluation.words is None else evaluation.words
        )
        self.bound_ = _perplexity(result.lower_bound * result.total_weight, words)
        return self

    def partial_fit(
        self, X: Any, y: Any = None, sample_weight: Any = None
    ) -> LatentDirichletAllocation:
        """Online variational Bayes on one more batch of documents: a step per
        ``batch_size`` documents of ``X``, each scaled to ``total_samples`` documents.

        The first call starts the topics from ``random_state``; later calls, and calls
        after an online fit, continue the running average of the statistics (kept in the
        model between calls, not in model files). ``lower_bounds_`` gains the bound per
        document of every step's batch under the topics before the step.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_documents, n_words)
        y : ignored
        sample_weight : array-like of shape (n_documents,), optional

        Returns
        -------
        self
        """
        self._check_parameters()
        fresh = not hasattr(self, "components_")
        data = self._check_counts(X, reset=fresh, whom="LatentDirichletAllocation.partial_fit")
        w = self._check_sample_weight(sample_weight, data.shape[0])
        model = self._model(data.shape[1])
        if fresh:
            params = model.init(None, check_random_state(self.random_state))
            state, history = OnlineState(), np.empty(0)
        else:
            params = self._params(model)
            state = self.__dict__.get("_online_state", OnlineState())
            history = np.asarray(self.lower_bounds_, dtype=np.float64)
        schedule = OnlineEM(
            int(self.batch_size), float(self.learning_decay), float(self.learning_offset)
        )
        bounds = []
        for rows, weights in cut(data, w, int(self.batch_size)):
            params, state, bound = online_update(
                model,
                params,
                state,
                rows,
                schedule,
                sample_weight=weights,
                chunk_size=self.chunk_size,
                n_jobs=self.n_jobs,
                total_weight=float(self.total_samples),
            )
            bounds.append(bound)
        self._set_params(params, self._dtype_of(data))
        self._record_steps(state, history, bounds)
        self.n_batch_iter_ = state.n_batches + 1
        return self

    # -- using the topics ---------------------------------------------------------------
    def transform(self, X: Any, *, normalize: bool = True) -> np.ndarray:
        """Topic proportions of the documents ``X`` under the fitted topics.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_documents, n_words), or a row source
        normalize : bool, default=True
            Return ``gamma`` divided by its row sums (the posterior mean proportions);
            False returns ``gamma`` itself.

        Returns
        -------
        ndarray of shape (n_documents, n_components)
        """
        data = self._checked_counts(X, "LatentDirichletAllocation.transform")
        model, params = self._fitted()

        def gamma(chunk: Any) -> np.ndarray:
            return model.documents(
                params, check_documents(chunk, whom="transform"), stats=False
            ).gamma

        out = self._map_rows(gamma, data)
        if normalize:
            out /= out.sum(axis=1, keepdims=True)
        return out.astype(self.components_.dtype, copy=False)

    def fit_transform(
        self, X: Any, y: Any = None, *, normalize: bool = True, sample_weight: Any = None
    ) -> np.ndarray:
        """:meth:`fit`, then :meth:`transform` of the same documents.

        Returns
        -------
        ndarray of shape (n_documents, n_components)
        """
        return self.fit(X, sample_weight=sample_weight).transform(X, normalize=normalize)

    def score(self, X: Any, y: Any = None) -> float:
        """The evidence lower bound of the documents ``X`` (an approximation of their
        log-likelihood from below), with the topics' part counted once.

        Returns
        -------
        float
        """
        data = self._checked_counts(X, "LatentDirichletAllocation.score")
        model, params = self._fitted()
        documents = self._document_bounds(model, params, data)
        return float(documents.sum() + model.bound_offset(params))

    def perplexity(self, X: Any, sub_sampling: bool = False) -> float:
        """``exp(-bound / words)`` of the documents ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_documents, n_words), or a row source
        sub_sampling : bool, default=False
            Scale the documents' part of the bound and their word count to
            ``total_samples`` documents (``X`` a sample of them).

        Returns
        -------
        float
        """
        data = self._checked_counts(X, "LatentDirichletAllocation.perplexity")
        model, params = self._fitted()
        documents = self._document_bounds(model, params, data)
        ratio = float(self.total_samples) / documents.shape[0] if sub_sampling else 1.0
        bound = documents.sum() * ratio + model.bound_offset(params)
        return _perplexity(bound, self._words_of(data) * ratio)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float32", "float64"]
        return tags

    @property
    def _n_features_out(self) -> int:
        return self.components_.shape[0]

    # -- inside -------------------------------------------------------------------------
    def _model(self, n_words: int) -> LDAModel:
        K = int(self.n_components)
        prior = self.doc_topic_prior
        auto = isinstance(prior, str)
        alpha = 1.0 / K if prior is None or auto else np.asarray(prior, dtype=np.float64)
        if np.ndim(alpha) == 1 and np.shape(alpha) != (K,):
            raise ValueError(
                f"doc_topic_prior has {np.shape(alpha)[0]} values; it needs one per topic, "
                f"n_components = {K}"
            )
        learn_eta = isinstance(self.topic_word_prior, str)
        given = self.topic_word_prior
        eta = 1.0 / K if given is None or learn_eta else float(given)
        return LDAModel(
            K,
            n_words,
            alpha,
            eta,
            int(self.max_doc_update_iter),
            float(self.mean_change_tol),
            learn_doc_topic_prior=auto,
            learn_topic_word_prior=learn_eta,
        )

    def _check_counts(self, X: Any, *, reset: bool, whom: str) -> sp.csr_array:
        dtype = (np.float64, np.float32) if reset else self.components_.dtype.type
        return face_documents(self, X, reset=reset, whom=whom, dtype=dtype)

    def _checked_counts(self, X: Any, whom: str) -> sp.csr_array | RowSource:
        self._check_fitted()
        X = dask_rows(X)
        if isinstance(X, RowSource):
            self._check_source_columns(X, reset=False)
            return X.map(self._chunk_check)
        return self._check_counts(X, reset=False, whom=whom)

    @staticmethod
    def _chunk_check(rows: Any) -> sp.csr_array:
        return check_documents(rows, whom="LatentDirichletAllocation")

    def _document_bounds(self, model: LDAModel, params: LDAParams, data: Any) -> np.ndarray:
        return self._map_rows(lambda chunk: model.log_prob(params, chunk), data)

    @staticmethod
    def _words_of(data: Any) -> float:
        if isinstance(data, RowSource):
            return float(
                sum(
                    rows.sum() if w is None else rows.sum(axis=1) @ w
                    for rows, w in data.chunks(65536)
                )
            )
        return float(data.sum())

    @staticmethod
    def _dtype_of(data: Any) -> Any:
        return np.float32 if data.dtype == np.float32 else np.float64

    def _set_params(self, params: LDAParams, dtype: Any) -> None:
        self.components_ = np.ascontiguousarray(params.components, dtype=dtype)
        self.exp_dirichlet_component_ = np.exp(params.elog_beta).astype(dtype)
        alpha = params.doc_topic_prior
        given = self.doc_topic_prior
        scalar = given is None or (np.ndim(given) == 0 and not isinstance(given, str))
        self.doc_topic_prior_ = float(alpha[0]) if scalar else alpha.copy()
        self.topic_word_prior_ = params.topic_word_prior

    def _params(self, model: LDAModel) -> LDAParams:
        alpha = np.broadcast_to(
            np.asarray(self.doc_topic_prior_, dtype=np.float64), (model.n_components,)
        )
        return lda_params(self.components_, alpha, float(self.topic_word_prior_))

    def _fitted(self) -> tuple[LDAModel, LDAParams]:
        model = self._model(int(self.components_.shape[1]))
        return model, self._params(model)

    def _restore(self) -> None:
        self._check_parameters()
        lam = np.asarray(self.components_)
        if lam.ndim != 2 or lam.dtype.kind != "f" or not np.all(np.isfinite(lam) & (lam > 0)):
            raise ValueError("components_ must be a 2-D array of positive finite numbers")
        if lam.shape != (self.n_components, self.n_features_in_):
            raise ValueError(
                f"components_ has shape {lam.shape}, expected (n_components, "
                f"n_features_in_) = ({self.n_components}, {self.n_features_in_})"
            )
        alpha = np.asarray(self.doc_topic_prior_, dtype=np.float64)
        if alpha.shape not in ((), (self.n_components,)) or not np.all(alpha > 0):
            raise ValueError("doc_topic_prior_ must be positive, one value or one per topic")
        if not self.topic_word_prior_ > 0:
            raise ValueError("topic_word_prior_ must be positive")
        self.doc_topic_prior_ = float(alpha) if alpha.ndim == 0 else alpha
        self.exp_dirichlet_component_ = np.exp(expected_log(lam)).astype(lam.dtype)


def _perplexity(bound: float, words: float) -> float:
    """``exp(-bound / words)``; NaN for documents without words, which have none."""
    return math.exp(-bound / words) if words > 0 else math.nan


class _Evaluation:
    """scikit-learn's perplexity rule and progress lines, as a callback of the driver.

    Batch: after ``n`` iterations the E-step of the current topics gives their bound, and
    with it the perplexity ``exp(-bound / words)``. Online: a pass's perplexity is that of
    its mini-batches' bounds, each under the topics before its step.
    """

    def __init__(
        self,
        face: LatentDirichletAllocation,
        words: float | None,
        n_rows: int | None,
        online: bool,
        offset: Any,
    ) -> None:
        self.every = int(face.evaluate_every)
        self.tol = float(face.perp_tol)
        self.verbose = int(face.verbose)
        self.max_iter = int(face.max_iter)
        self.words = words
        self.online = online
        self.offset = offset
        if online and self.every > 0 and n_rows is None:
            raise ValueError(
                "evaluate_every > 0 with learning_method='online' needs the number of "
                "documents, which this source does not know: evaluate after the fit"
            )
        self.batches = -(-n_rows // int(face.batch_size)) if n_rows is not None else 0
        self.last: float | None = None
        self.seen = 0
        self.summed = 0.0

    def __call__(self, info: IterationInfo) -> bool:
        if self.online:
            if not self.batches:
                return False  # a source of unknown length: no pass ends to report
            self.seen += 1
            self.summed += info.lower_bound * info.weight
            if self.seen < self.batches:
                return False
            # The topics' part of the bound, once per pass as in the batch bound.
            bound = self.summed + self.offset(info.params)
            self.seen, self.summed = 0, 0.0
            passes = info.n_iter + 1
        else:
            if info.n_iter == 0:
                return False
            bound, passes = info.lower_bound * info.weight, info.n_iter
        if self.every > 0 and passes % self.every == 0:
            assert self.words is not None
            perplexity = _perplexity(bound, self.words)
            if self.verbose:
                print(
                    f"iteration: {passes} of max_iter: {self.max_iter}, "
                    f"perplexity: {perplexity:.4f}"
                )
            if self.last is not None and abs(self.last - perplexity) < self.tol:
                return True
            self.last = perplexity
        elif self.verbose:
            print(f"iteration: {passes} of max_iter: {self.max_iter}")
        return False
