"""``emkit.PLSA``: probabilistic latent semantic analysis of document-term counts, fitted by
the one EM driver (:mod:`emkit.models.plsa`), with the names of scikit-learn's
decomposition transformers (``components_``, ``transform``, ``perplexity``)."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin

from emkit.estimators.base import EMEstimatorMixin, dask_rows, output_dtype
from emkit.estimators.description import FaceDescription
from emkit.estimators.documents import TopicMethods, face_documents
from emkit.estimators.mixtures import MAX_ITER, VERBOSE, VERBOSE_INTERVAL, WARM_START
from emkit.estimators.parameters import (
    CHUNK_SIZE,
    N_INIT,
    N_JOBS,
    RANDOM_STATE,
    DeclaredParameters,
    Param,
    integer,
    real,
)
from emkit.exceptions import ImpossibleSampleWarning, warn
from emkit.execution.sources import RowSource
from emkit.families.checks import checked_array
from emkit.models.documents import check_documents
from emkit.models.plsa import PLSAModel, PLSAParams


def _tempering(value: Any) -> str | None:
    if real(0.0, strict=True)(value) is None and value <= 1.0:
        return None
    return "must be a number in (0, 1]"


class PLSA(
    DeclaredParameters,
    TopicMethods,
    ClassNamePrefixFeaturesOutMixin,
    EMEstimatorMixin,
    TransformerMixin,
    BaseEstimator,
):
    """Probabilistic latent semantic analysis (pLSA, Hofmann 1999), fitted by EM.

    Every document ``d`` draws its words from a mixture of ``n_components`` topics with
    proportions ``theta_d`` of its own (``P(z | d)``), and topic ``z`` draws words from the
    distribution ``components_[z]`` (``P(w | z)``); the fit maximises

        log L = sum_dw n_dw log sum_z theta_dz components_[z, w].

    The topics are the fitted parameters. A document's proportions are folded in at every
    E-step: with the topics fixed they maximise its log-likelihood (concave in them),
    reached by the EM fixed point from uniform proportions; :meth:`transform` folds new
    documents in the same way. ``lower_bound_`` is therefore the log-likelihood of the
    training documents at their best proportions (per document), which EM never lowers
    when the fixed point converges (``max_doc_update_iter``, ``mean_change_tol``).

    Data: a document-term matrix of non-negative counts (any non-negative weights),
    dense or sparse (CSR is read as it is, never densified), float32 or float64; or a row
    source (``emkit.open_data(path)``, chunks of CSR matrices), read a chunk at a time.
    The expected topic-word counts of documents add up, so chunked, threaded and streamed
    fits equal the fit of the whole matrix, and ``n_jobs`` never changes a result.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features_in_)
        ``P(w | z)``: every row is a topic's distribution over the words and sums to one
        (scikit-learn's ``LatentDirichletAllocation.components_`` holds unnormalised
        pseudo-counts instead). float32 for float32 data, float64 otherwise.
    converged_ : bool
    n_iter_ : int
        M-steps done by the best initialisation.
    lower_bound_ : float
        Mean (weighted) per-document log-likelihood of the training documents, their
        proportions folded in; with ``smoothing > 0`` the log posterior: the log density
        of the Dirichlet prior whose mode the M-step is, ``smoothing * sum log
        components_`` (up to a constant), is added to the summed log-likelihood before the
        division.
    lower_bounds_ : ndarray of shape (n_iter_ + 1,)
        The bound after every M-step of the best initialisation; element 0 belongs to the
        initial topics and the last equals ``lower_bound_``.
    n_features_in_ : int
        Size of the vocabulary.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Only when X has string feature names.

    Notes
    -----
    Plain pLSA overfits the topics to the training corpus (Hofmann 1999): ``smoothing``
    keeps every word possible under every topic (a word never seen in training otherwise
    has probability zero, and a document holding it log-likelihood ``-inf`` in
    :meth:`score`), and tempered EM (``tempering < 1``) damps the posteriors. A tempered
    fit maximises no likelihood, so its ``lower_bounds_`` may decrease.
    """

    description = FaceDescription(
        "topics", "topic", title="probabilistic latent semantic analysis", words=()
    )
    _parameters = (
        Param("n_components", 10, "int", "Number of topics K.", integer(1), positional=True),
        Param(
            "tol",
            1e-3,
            "float",
            "Convergence threshold on the change of the mean per-document log-likelihood.",
            real(0.0, finite=False),
        ),
        MAX_ITER,
        N_INIT,
        Param(
            "tempering",
            1.0,
            "float",
            """
            Tempered EM (Hofmann 1999): posteriors of the topics of every word proportional
            to ``(P(z | d) P(w | z))^tempering``, in the fold-in of the proportions and in
            the statistics of the topics. 1 is plain EM; values below 1 smooth the
            posteriors against overfitting. In (0, 1].
            """,
            _tempering,
        ),
        Param(
            "smoothing",
            0.0,
            "float",
            """
            Pseudo-count added to every expected topic-word count in the M-step (the mode
            of a symmetric Dirichlet(1 + smoothing) prior on every topic); 0 is maximum
            likelihood. Positive values keep every word possible under every topic.
            """,
            real(0.0),
        ),
        Param(
            "max_doc_update_iter",
            100,
            "int",
            """
            Most fixed-point iterations of a document's topic proportions in one E-step
            (and in :meth:`transform`), as in scikit-learn's LatentDirichletAllocation.
            """,
            integer(1),
        ),
        Param(
            "mean_change_tol",
            1e-5,
            "float",
            """
            A document's fixed point stops once the mean absolute change of its topic
            proportions in one iteration is below this (0: always ``max_doc_update_iter``
            iterations). The fit is monotone to the precision of these proportions.
            """,
            real(0.0),
        ),
        RANDOM_STATE,
        WARM_START,
        VERBOSE,
        VERBOSE_INTERVAL,
        CHUNK_SIZE.with_doc(
            """
            Documents per E-step batch; bounds temporary memory to O(chunk_size *
            n_components) besides one (n_components, n_features) array of counts per batch.
            """
        ),
        N_JOBS,
    )

    _fitted_arrays = ("components_", "lower_bounds_")

    # -- fitting ------------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> PLSA:
        """Fit the topics by EM.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_documents, n_words), or RowSource
            Word counts of every document. A row source is read a chunk at a time, every
            chunk checked as it is read; its chunks carry their documents' weights.
        y : ignored
        sample_weight : array-like of shape (n_documents,), optional
            Weight of every document; integer weights give the fit on repeated documents.
            Not with a row source.

        Returns
        -------
        self
        """
        self._check_parameters()
        warm = bool(self.warm_start) and hasattr(self, "components_")
        X = dask_rows(X)
        w = None
        if isinstance(X, RowSource):
            if sample_weight is not None:
                raise ValueError(
                    "with a row source, document weights go with its rows: chunks of pairs "
                    "(X, sample_weight)"
                )
            self._check_source_columns(X, reset=not warm)
            data: Any = X.map(functools.partial(check_documents, whom="PLSA.fit"))
        else:
            data = self._check_documents(X, reset=not warm, whom="PLSA.fit")
            if data.nnz == 0:
                raise ValueError(
                    "PLSA.fit: the documents hold no words (every count is zero): pLSA needs "
                    "at least one word to fit its topics"
                )
            w = self._check_sample_weight(sample_weight, data.shape[0])
        model = self._model(int(self.n_features_in_))
        result = self._run_em(model, data, w, init=self._params() if warm else None)
        self.components_ = result.params.topic_word.astype(output_dtype(data), copy=False)
        self._n_features_out = int(self.n_components)
        return self

    def fit_transform(self, X: Any, y: Any = None, sample_weight: Any = None) -> np.ndarray:
        """Fit, then return the topic proportions of the training documents (equal to
        ``fit(X).transform(X)``), shape (n_documents, n_components)."""
        return self.fit(X, sample_weight=sample_weight).transform(X)

    # -- using the fit ------------------------------------------------------------------
    def transform(self, X: Any) -> np.ndarray:
        """Topic proportions ``P(z | d)`` of every document, folded in under the fitted
        topics; shape (n_documents, n_components), rows summing to one, float32 for float32
        data. Words that no topic can produce take no part; a document without any other
        word gets uniform proportions."""
        X = self._checked(X)
        model, params = self._fitted_model(), self._params()
        theta = self._map_rows(lambda c: model.fold_in(params, c, accumulate=False).doc_topic, X)
        return theta.astype(output_dtype(X), copy=False)

    def score(self, X: Any, y: Any = None) -> float:
        """Total log-likelihood of the documents ``X``, their proportions folded in
        (``-inf``, with an :class:`~emkit.exceptions.ImpossibleSampleWarning`, when a
        document holds a word that no topic can produce)."""
        return float(self._scores(X)[:, 0].sum())

    def perplexity(self, X: Any) -> float:
        """``exp(-score(X) / total number of words in X)``: the perplexity of the documents,
        their proportions folded in (lower is better)."""
        scores = self._scores(X)
        words = float(scores[:, 1].sum())
        if not words > 0:
            raise ValueError("perplexity: the documents hold no words")
        return float(np.exp(-scores[:, 0].sum() / words))

    def _scores(self, X: Any) -> np.ndarray:
        """Log-likelihood and number of words of every document, shape (n_documents, 2)."""
        X = self._checked(X)
        model, params = self._fitted_model(), self._params()

        def scores(chunk: Any) -> np.ndarray:
            loglik = model.fold_in(params, chunk, accumulate=False).loglik
            lengths = np.asarray(chunk.sum(axis=1, dtype=np.float64)).reshape(-1)
            return np.column_stack([loglik, lengths])

        out = self._map_rows(scores, X)
        impossible = np.isneginf(out[:, 0])
        count = int(np.count_nonzero(impossible))
        if count:
            warn(
                f"{count} of {impossible.size} documents hold a word that no topic can produce "
                f"(probability zero in components_; the first is document "
                f"{int(np.argmax(impossible))}), such as a word absent from the training "
                "documents: their log-likelihood is -inf. smoothing > 0 keeps every word "
                "possible.",
                ImpossibleSampleWarning,
            )
        return out

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.positive_only = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    # -- internals ----------------------------------------------------------------------
    def _model(self, n_words: int) -> PLSAModel:
        return PLSAModel(
            int(self.n_components),
            n_words,
            tempering=float(self.tempering),
            smoothing=float(self.smoothing),
            max_doc_update_iter=int(self.max_doc_update_iter),
            mean_change_tol=float(self.mean_change_tol),
        )

    def _fitted_model(self) -> PLSAModel:
        return self._model(int(self.n_features_in_))

    def _params(self) -> PLSAParams:
        self._check_fitted()
        return PLSAParams(np.asarray(self.components_, dtype=np.float64))

    def _check_documents(self, X: Any, *, reset: bool, whom: str) -> sp.csr_array:
        """``X`` as a canonical CSR document-term matrix, its features checked against the
        face's (scikit-learn's checks of shape and names, then the counts')."""
        return face_documents(self, X, reset=reset, whom=whom)

    def _checked(self, X: Any) -> sp.csr_array | RowSource:
        """``X`` validated against the fitted model: a CSR matrix, or a source checked a
        chunk at a time."""
        self._check_fitted()
        X = dask_rows(X)
        whom = f"{type(self).__name__}.transform"
        if isinstance(X, RowSource):
            self._check_source_columns(X, reset=False)
            return X.map(functools.partial(check_documents, whom=whom))
        return self._check_documents(X, reset=False, whom=whom)

    def _restore(self) -> None:
        # Hyperparameters are checked here too: an edited file must fail when it is read.
        self._check_parameters()
        k, v = int(self.n_components), int(self.n_features_in_)
        topics = np.asarray(self.components_)
        if topics.dtype not in (np.float32, np.float64):
            raise ValueError(f"components_ has dtype {topics.dtype}, not float32 or float64")
        checked = checked_array(topics, (k, v), "components_")
        tolerance = max(1e-8, 8 * v * np.finfo(topics.dtype).eps)
        if np.any(checked < 0) or np.any(np.abs(checked.sum(axis=1) - 1.0) > tolerance):
            raise ValueError("every row of components_ must be non-negative and sum to one")
        self.components_ = topics
        self._n_features_out = k
