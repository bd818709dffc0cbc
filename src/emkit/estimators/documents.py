"""The documents a topic-model face reads: a document-term matrix, or a
:class:`~emkit.io.corpus.Corpus` whose vocabulary becomes the face's feature names."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import validate_data

from emkit.estimators.base import refuse_one_pass
from emkit.io.corpus import Corpus
from emkit.models.documents import check_documents
from emkit.models.topic_metrics import (
    coherence,
    heldout_log_likelihood,
    top_word_indices,
    top_words,
)


def face_documents(
    face: Any, X: Any, *, reset: bool, whom: str, dtype: Any = (np.float64, np.float32)
) -> sp.csr_array:
    """``X`` as the canonical CSR document-term matrix of ``face``.

    A :class:`~emkit.io.corpus.Corpus` gives its counts, and its vocabulary becomes the
    face's ``feature_names_in_`` (``reset``) or must be the face's, word for word, so
    that a model file keeps its words and new texts are counted over them. Anything else
    goes through scikit-learn's checks of shape and feature names first (a sparse matrix
    of a fitted face through the check of its width only).

    Parameters
    ----------
    face : estimator
    X : array-like, sparse matrix or Corpus of shape (n_documents, n_words)
    reset : bool
        Whether ``X`` defines the face's features (a fit) or is checked against them.
    whom : str
        Who reads the documents, for the messages.
    dtype : dtype or tuple of dtypes
        The dtypes kept (others are converted to the first).

    Raises
    ------
    ValueError
        For counts :func:`~emkit.models.documents.check_documents` refuses, or a corpus
        over another vocabulary than the fitted one.
    """
    refuse_one_pass(X)
    if isinstance(X, Corpus):
        _vocabulary(face, X.vocabulary, reset)
        return check_documents(X.counts, whom=whom, dtype=dtype)
    if sp.issparse(X) and not reset:
        # A sparse matrix has no column names to check (the counts of new texts over a
        # corpus's vocabulary are one), so scikit-learn's warning about them would be noise.
        if X.ndim == 2 and X.shape[1] != face.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(face).__name__} is expecting "
                f"{face.n_features_in_} features as input."
            )
        return check_documents(X, whom=whom, dtype=dtype)
    kinds = list(dtype) if isinstance(dtype, tuple) else dtype
    X = validate_data(
        face, X, accept_sparse=True, dtype=kinds, reset=reset, ensure_all_finite=False
    )
    return check_documents(X, whom=whom, dtype=dtype)


def _vocabulary(face: Any, vocabulary: np.ndarray, reset: bool) -> None:
    words = np.asarray(vocabulary, dtype=object)
    if reset:
        face.n_features_in_ = words.shape[0]
        face.feature_names_in_ = words
        return
    fitted = face.__dict__.get("feature_names_in_")
    if fitted is None:
        if words.shape[0] != face.n_features_in_:
            raise ValueError(
                f"the corpus has {words.shape[0]} words, but {type(face).__name__} was "
                f"fitted to {face.n_features_in_}"
            )
        return
    if words.shape != fitted.shape or not np.array_equal(words, fitted):
        raise ValueError(
            f"the corpus's vocabulary ({words.shape[0]} words) is not the one "
            f"{type(face).__name__} was fitted to ({fitted.shape[0]} words): count new texts "
            "over the model's words (Corpus.transform_texts of the training corpus, or "
            "CountVectorizer(vocabulary=model.feature_names_in_))"
        )


class TopicMethods:
    """What every topic model's face offers besides scikit-learn's methods: its topics'
    top words, their coherence on a reference corpus, and the held-out likelihood of new
    documents under plug-in estimates (:mod:`emkit.models.topic_metrics`)."""

    components_: np.ndarray

    def topic_word_distribution(self) -> np.ndarray:
        """Every topic's distribution over the words, shape (n_components, n_words): the
        rows of ``components_`` normalised."""
        lam = np.asarray(self.components_, dtype=np.float64)
        return lam / lam.sum(axis=1, keepdims=True)

    def top_words(self, n: int = 10) -> np.ndarray:
        """The ``n`` most probable words of every topic, most probable first, shape
        (n_components, n): the words of ``feature_names_in_`` (a model fitted to a
        Corpus or a DataFrame), else their column indices."""
        self._check_fitted()  # type: ignore[attr-defined]
        names = self.__dict__.get("feature_names_in_")
        if names is None:
            return top_word_indices(self.topic_word_distribution(), n)
        return top_words(self.topic_word_distribution(), names, n)

    def coherence(self, X: Any, *, measure: str = "umass", top_n: int = 10) -> np.ndarray:
        """Coherence of every topic's ``top_n`` words on the documents ``X`` (usually the
        training corpus), shape (n_components,): 'umass' (Mimno et al. 2011) or 'npmi'
        (Bouma 2009); see :func:`emkit.models.topic_metrics.coherence`.

        Parameters
        ----------
        X : array-like, sparse matrix or Corpus of shape (n_documents, n_words)
        measure : {'umass', 'npmi'}, default='umass'
        top_n : int, default=10
        """
        self._check_fitted()  # type: ignore[attr-defined]
        counts = face_documents(self, X, reset=False, whom=f"{type(self).__name__}.coherence")
        return coherence(self.topic_word_distribution(), counts, measure=measure, top_n=top_n)

    def heldout_log_likelihood(self, X: Any) -> float:
        """Per-word log-likelihood of the documents ``X`` under plug-in estimates: every
        word scored under its document's proportions (``transform``) and the topics'
        distributions; a measure that does not depend on any model's bound
        (:func:`emkit.models.topic_metrics.heldout_log_likelihood`)."""
        self._check_fitted()  # type: ignore[attr-defined]
        counts = face_documents(self, X, reset=False, whom=f"{type(self).__name__}.score")
        theta = np.asarray(self.transform(counts), dtype=np.float64)  # type: ignore[attr-defined]
        return heldout_log_likelihood(theta, self.topic_word_distribution(), counts)
