"""Measures of fitted topic models: held-out log-likelihood and topic coherence.

Every measure takes plain arrays (a model's document-topic and topic-word distributions and
a document-term matrix), so that it measures any topic model alike: emkit's
:class:`~emkit.estimators.lda.LatentDirichletAllocation` and PLSA, scikit-learn's, or a
mixture of unigrams (``MultinomialMixture.probs_``). Document-term matrices are checked by
:func:`emkit.models.documents.check_documents` and read through their stored entries.

A topic-word matrix whose rows are not distributions (the unnormalised ``components_`` of a
variational LDA, scikit-learn's among them) is normalised first:
``components_ / components_.sum(axis=1, keepdims=True)``.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from emkit.models.documents import check_documents

__all__ = ["coherence", "heldout_log_likelihood", "top_word_indices", "top_words"]

# Entries scored per block by heldout_log_likelihood: the gathered rows of both matrices
# take 2 * block * n_components floats.
_BLOCK_ENTRIES = 65536
# Rows of a distribution sum to one within this (float32 parameters included).
_SIMPLEX_ATOL = 1e-5


def heldout_log_likelihood(doc_topic: Any, topic_word: Any, X: Any) -> float:
    """Per-word log-likelihood of held-out documents under plug-in estimates.

    ``sum_dw x_dw log(sum_k theta_dk phi_kw) / sum_dw x_dw``: every held-out word (counted
    as often as it occurs) scored under its document's topic proportions ``theta_d`` and the
    topics ``phi_k``, the total divided by the number of held-out words. Only the stored
    (non-zero) entries of ``X`` are read. The perplexity is ``exp(-value)``.

    Parameters
    ----------
    doc_topic : array-like of shape (n_documents, n_components)
        ``theta``: every row a distribution over the topics (e.g. the normalised
        ``transform`` of a topic model on the held-out documents, or a document-completion
        estimate from their other half).
    topic_word : array-like of shape (n_components, n_words)
        ``phi``: every row a distribution over the words. Normalise unnormalised
        ``components_`` first: ``components_ / components_.sum(axis=1, keepdims=True)``.
    X : array-like or sparse matrix of shape (n_documents, n_words)
        Held-out word counts (non-negative; whole numbers or not).

    Returns
    -------
    float
        Mean log-probability per held-out word (natural log); ``-inf`` when some held-out
        word has probability zero under its document's mixture of topics.

    Raises
    ------
    ValueError
        For shapes that do not match, rows that are not distributions (naming the first),
        counts :func:`~emkit.models.documents.check_documents` refuses, or no held-out words.
    """
    whom = "heldout_log_likelihood"
    theta = _distributions(doc_topic, "doc_topic", "n_documents, n_components")
    phi = _distributions(topic_word, "topic_word", "n_components, n_words")
    M = check_documents(X, whom=whom)
    if theta.shape[0] != M.shape[0]:
        raise ValueError(
            f"doc_topic has {theta.shape[0]} rows and X {M.shape[0]} documents: one row of "
            "topic proportions per held-out document"
        )
    if theta.shape[1] != phi.shape[0]:
        raise ValueError(
            f"doc_topic has {theta.shape[1]} topics (columns) and topic_word {phi.shape[0]} (rows)"
        )
    if phi.shape[1] != M.shape[1]:
        raise ValueError(f"topic_word has {phi.shape[1]} words (columns) and X {M.shape[1]}")
    counts = np.asarray(M.data, dtype=np.float64)
    n_words = float(counts.sum())
    if not n_words > 0:
        raise ValueError(f"{whom}: X holds no held-out words (all counts are zero)")
    documents = np.repeat(np.arange(M.shape[0]), np.diff(M.indptr))
    phi_t = np.ascontiguousarray(phi.T)
    total = 0.0
    with np.errstate(divide="ignore"):
        for lo in range(0, counts.size, _BLOCK_ENTRIES):
            hi = lo + _BLOCK_ENTRIES
            p = np.einsum("ek,ek->e", theta[documents[lo:hi]], phi_t[M.indices[lo:hi]])
            total += float(counts[lo:hi] @ np.log(p))
    return total / n_words


def top_word_indices(topic_word: Any, n: int = 10) -> np.ndarray:
    """Columns of every topic's ``n`` most probable words, most probable first (of equal
    weights, the first column first), shape (n_components, n).

    Raises
    ------
    ValueError
        For a ``topic_word`` that is not a 2-D array of finite numbers, or ``n`` not in
        ``1..n_words``.
    """
    phi = _topic_matrix(topic_word)
    n = _count(n, "n", 1, phi.shape[1])
    return np.argsort(-phi, axis=1, kind="stable")[:, :n]


def top_words(topic_word: Any, vocabulary: Any, n: int = 10) -> np.ndarray:
    """Every topic's ``n`` most probable words, most probable first.

    Parameters
    ----------
    topic_word : array-like of shape (n_components, n_words)
        Topic-word weights (distributions or unnormalised ``components_``: only their order
        within a topic matters).
    vocabulary : sequence of str of shape (n_words,)
        The word of every column (``Corpus.vocabulary``, or a vectorizer's
        ``get_feature_names_out()``).
    n : int, default=10

    Returns
    -------
    ndarray of str of shape (n_components, n)

    Raises
    ------
    ValueError
        When the vocabulary's length is not the number of columns, or for ``n`` out of
        range.
    """
    phi = _topic_matrix(topic_word)
    words = np.asarray(vocabulary, dtype=str)
    if words.shape != (phi.shape[1],):
        raise ValueError(
            f"vocabulary has shape {words.shape}; topic_word has {phi.shape[1]} words, and the "
            "vocabulary needs one entry per column"
        )
    return words[top_word_indices(phi, n)]


def coherence(
    topic_word: Any,
    X: Any,
    *,
    measure: Literal["umass", "npmi"] = "umass",
    top_n: int = 10,
    smoothing: float = 1.0,
) -> np.ndarray:
    """Coherence of every topic's top words, from their co-occurrence in documents.

    With ``v_1, ..., v_M`` the ``top_n`` most probable words of a topic in order of rank,
    ``D(v)`` the number of documents of ``X`` that hold ``v`` and ``D(v, v')`` the number
    that hold both:

    - ``'umass'`` (Mimno et al. 2011, "Optimizing semantic coherence in topic models"):
      ``sum_{m=2..M} sum_{l<m} log((D(v_m, v_l) + smoothing) / D(v_l))``, a sum over the
      ``M (M - 1) / 2`` pairs, each word given the words ranked above it; higher is more
      coherent. gensim's
      ``CoherenceModel(coherence='u_mass')`` is the mean over the pairs with ``smoothing``
      ``1e-12 * n_documents``.
    - ``'npmi'`` (Bouma 2009; Röder et al. 2015's C_NPMI with documents as the windows):
      the mean over the pairs of ``log(P(v, v') / (P(v) P(v'))) / -log P(v, v')``, with
      ``P`` the fractions of documents holding the words. In ``[-1, 1]``. Röder et al.
      (and gensim) add ``epsilon = 1e-12`` to ``P(v, v')``; here the limit of ``epsilon ->
      0`` is taken instead: a pair never seen together scores exactly -1 (Bouma's lower
      bound), every other pair its exact NPMI, and a pair that occurs in every document 1.

    Parameters
    ----------
    topic_word : array-like of shape (n_components, n_words)
        Topic-word weights; only their order within each topic matters.
    X : array-like or sparse matrix of shape (n_documents, n_words)
        The reference corpus (for UMass, Mimno et al. use the training documents):
        non-negative counts, of which only presence (> 0) counts.
    measure : {'umass', 'npmi'}, default='umass'
    top_n : int, default=10
        Top words per topic, at least 2.
    smoothing : float, default=1.0
        UMass's pseudo-count of a co-occurrence (Mimno et al.: 1), positive; NPMI takes
        none (its limit convention, above), so there it must stay 1.

    Returns
    -------
    ndarray of shape (n_components,)
        One value per topic.

    Raises
    ------
    ValueError
        For an unknown measure, ``top_n`` outside ``2..n_words``, a non-positive
        ``smoothing``, a vocabulary of another size than ``X``'s, or (UMass) a top word that
        no document of ``X`` holds (it has no conditional probability: measure on a corpus
        that holds every top word, such as the training documents).
    """
    if measure not in ("umass", "npmi"):
        raise ValueError(f"measure must be 'umass' or 'npmi', got {measure!r}")
    if isinstance(smoothing, bool) or not (
        isinstance(smoothing, (int, float, np.number)) and np.isfinite(smoothing) and smoothing > 0
    ):
        raise ValueError(f"smoothing must be a finite positive number, got {smoothing!r}")
    if measure == "npmi" and smoothing != 1.0:
        raise ValueError(
            f"smoothing is UMass's pseudo-count; measure='npmi' takes none, got "
            f"smoothing={smoothing!r}"
        )
    phi = _topic_matrix(topic_word)
    top_n = _count(top_n, "top_n", 2, phi.shape[1])
    M = check_documents(X, whom="coherence")
    if M.shape[1] != phi.shape[1]:
        raise ValueError(f"topic_word has {phi.shape[1]} words (columns) and X {M.shape[1]}")
    top = top_word_indices(phi, top_n)
    columns, position = np.unique(top, return_inverse=True)
    position = position.reshape(top.shape)
    together = _co_document_counts(M, columns)
    # i < j over ranks: the pairs (v_j, v_i), v_i ranked above v_j.
    first, second = np.triu_indices(top_n, k=1)
    out = np.empty(phi.shape[0])
    n_documents = float(M.shape[0])
    for k, ranks in enumerate(position):
        both = together[ranks[second], ranks[first]]
        alone_first = together[ranks[first], ranks[first]]
        if measure == "umass":
            if np.any(alone_first == 0):
                word = int(columns[ranks[first][np.argmax(alone_first == 0)]])
                raise ValueError(
                    f"coherence: top word (column {word}) of topic {k} occurs in no document "
                    "of X, so UMass has no conditional probability for it; measure on a "
                    "corpus that holds every top word, such as the training documents"
                )
            out[k] = float(np.sum(np.log((both + smoothing) / alone_first)))
        else:
            alone_second = together[ranks[second], ranks[second]]
            scores = _npmi(
                both / n_documents, alone_first / n_documents, alone_second / n_documents
            )
            out[k] = float(np.mean(scores))
    return out


# -- helpers --------------------------------------------------------------------------------------
def _co_document_counts(M: sp.csr_array, columns: np.ndarray) -> np.ndarray:
    """``D[i, j]``: documents of ``M`` holding both word ``columns[i]`` and ``columns[j]``
    (the diagonal: holding the one), shape (n_columns, n_columns), float64."""
    present = M[:, columns]
    present = sp.csr_array(
        (np.ones(present.nnz), present.indices, present.indptr), shape=present.shape
    )
    return np.asarray((present.T @ present).toarray(), dtype=np.float64)


def _npmi(joint: np.ndarray, p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """NPMI of pairs of document frequencies ``joint`` (both), ``p`` and ``q`` (each): -1
    where ``joint`` is 0, 1 where it is 1 (the limits of the definition)."""
    out = np.full(joint.shape, -1.0)
    seen = joint > 0
    certain = joint == 1.0
    out[certain] = 1.0
    ordinary = seen & ~certain
    j = joint[ordinary]
    out[ordinary] = np.log(j / (p[ordinary] * q[ordinary])) / -np.log(j)
    return out


def _topic_matrix(topic_word: Any) -> np.ndarray:
    """``topic_word`` as a 2-D float64 array of finite non-negative weights."""
    try:
        phi = np.asarray(topic_word, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("topic_word must be an array of numbers") from None
    if phi.ndim != 2 or phi.shape[0] == 0 or phi.shape[1] == 0:
        raise ValueError(
            f"topic_word must be a 2-D array (n_components, n_words) with at least one topic "
            f"and one word, got shape {phi.shape}"
        )
    if not np.all(np.isfinite(phi)) or np.any(phi < 0):
        raise ValueError("topic_word must hold finite non-negative weights")
    return phi


def _distributions(value: Any, name: str, axes: str) -> np.ndarray:
    """``value`` as a 2-D float64 array whose rows are distributions (non-negative, summing
    to one); ValueError naming ``name`` and the first row that is not."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of numbers") from None
    if array.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array ({axes}), got shape {array.shape}")
    if not np.all(np.isfinite(array)) or np.any(array < 0):
        raise ValueError(f"{name} must hold finite non-negative probabilities")
    sums = array.sum(axis=1)
    off = np.flatnonzero(np.abs(sums - 1.0) > _SIMPLEX_ATOL)
    if off.size:
        hint = (
            " (normalise unnormalised components_ first: components_ / "
            "components_.sum(axis=1, keepdims=True))"
            if name == "topic_word"
            else ""
        )
        raise ValueError(
            f"every row of {name} must sum to one; row {int(off[0])} sums to "
            f"{float(sums[off[0]])!r}{hint}"
        )
    return array


def _count(value: Any, name: str, low: int, high: int) -> int:
    """``value`` as an int in ``low..high``; ValueError naming ``name`` otherwise."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if not low <= int(value) <= high:
        raise ValueError(f"{name} must lie in {low}..{high} (the number of words), got {value}")
    return int(value)
