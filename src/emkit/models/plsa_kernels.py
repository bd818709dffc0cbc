"""Folding documents in under fixed topics: the per-document pass of pLSA.

For every row of a CSR document-term matrix (counts ``n_w``), the topic proportions
``theta`` that maximise ``sum_w n_w log sum_k theta_k beta_kw`` with the topic-word
distributions ``beta`` held fixed, by the EM fixed point

    theta_k <- sum_w n_w q_kw / sum_w n_w,    q_kw = theta_k beta_kw / sum_j theta_j beta_jw,

started from uniform proportions; then the document's log-likelihood under them and its
expected topic-word counts ``n_w q_kw``. With ``tempering < 1`` (tempered EM) the posteriors
are ``q_kw`` proportional to ``(theta_k beta_kw)^tempering`` throughout; the log-likelihood
stays the plain one.

A word that every topic gives probability zero (never seen in training, without smoothing)
is impossible: it takes no part in the proportions or the counts, and makes the document's
log-likelihood ``-inf``.

:func:`fold_in` is compiled with Numba (float32 or float64 counts read as they are, all
sums in float64); :func:`fold_in_reference` is its plain NumPy twin, which tests compare
against.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numba
import numpy as np
import scipy.sparse as sp


class FoldIn(NamedTuple):
    """What folding documents in gives.

    Attributes
    ----------
    doc_topic : ndarray of shape (n_documents, n_components), float64
        Topic proportions of every document (rows sum to one; uniform for a document with
        no possible word).
    topic_word : ndarray of shape (n_components, n_words), float64
        Expected topic-word counts ``sum_d weight_d n_dw q(k | d, w)``; shape
        (n_components, 0) when they were not asked for.
    loglik : ndarray of shape (n_documents,), float64
        Log-likelihood of every document under its proportions (unweighted; 0 for an
        empty document, ``-inf`` for one holding an impossible word).
    n_iter : ndarray of shape (n_documents,), int64
        Fixed-point iterations every document took.
    """

    doc_topic: np.ndarray
    topic_word: np.ndarray
    loglik: np.ndarray
    n_iter: np.ndarray


def fold_in(
    X: Any,
    topic_word: np.ndarray,
    doc_weight: np.ndarray | None = None,
    *,
    tempering: float = 1.0,
    max_iter: int = 100,
    tol: float = 1e-3,
    accumulate: bool = True,
) -> FoldIn:
    """Fold the rows of ``X`` in under ``topic_word`` (compiled).

    Parameters
    ----------
    X : CSR matrix or array of shape (n_documents, n_words)
        Non-negative counts (float32 or float64 data is read as it is; indices need not be
        sorted).
    topic_word : ndarray of shape (n_components, n_words)
        Topic-word distributions ``beta`` (rows sum to one).
    doc_weight : ndarray of shape (n_documents,), optional
        Weight of every document in the expected counts (None: ones).
    tempering : float, default=1.0
        Exponent of the tempered posteriors, in (0, 1].
    max_iter : int, default=100
        Most fixed-point iterations per document.
    tol : float, default=1e-3
        A document stops once the mean absolute change of its proportions in one iteration
        is below ``tol``.
    accumulate : bool, default=True
        Whether to sum the expected topic-word counts.

    Returns
    -------
    FoldIn
    """
    X, beta, w = _prepared(X, topic_word, doc_weight)
    n, k = X.shape[0], beta.shape[0]
    doc_topic = np.empty((n, k))
    counts = np.zeros((k, beta.shape[1] if accumulate else 0))
    loglik = np.empty(n)
    n_iter = np.empty(n, dtype=np.int64)
    _fold_in(
        X.indptr,
        X.indices,
        X.data,
        beta,
        w,
        float(tempering),
        int(max_iter),
        float(tol),
        bool(accumulate),
        doc_topic,
        counts,
        loglik,
        n_iter,
    )
    return FoldIn(doc_topic, counts, loglik, n_iter)


def csr_documents(X: Any) -> sp.csr_array | sp.csr_matrix:
    """A batch of rows as the CSR matrix the kernel reads: CSR rows as they are, other sparse
    rows converted, dense rows converted (their zeros dropped), counts other than float32 or
    float64 as float64. No check of the values: faces check data once
    (:func:`emkit.models.documents.check_documents`)."""
    if not sp.issparse(X):
        X = sp.csr_array(np.asarray(X))
    elif X.format != "csr":
        X = sp.csr_array(X)
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    return X


def _prepared(
    X: Any, topic_word: np.ndarray, doc_weight: np.ndarray | None
) -> tuple[sp.csr_array, np.ndarray, np.ndarray]:
    X = csr_documents(X)
    beta = np.ascontiguousarray(topic_word, dtype=np.float64)
    if beta.ndim != 2 or beta.shape[1] != X.shape[1]:
        raise ValueError(
            f"topic_word must have shape (n_components, {X.shape[1]}), got {beta.shape}"
        )
    n = X.shape[0]
    w = np.ones(n) if doc_weight is None else np.ascontiguousarray(doc_weight, dtype=np.float64)
    if w.shape != (n,):
        raise ValueError(f"doc_weight must have shape ({n},), got {w.shape}")
    return X, beta, w


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _fold_in(
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    beta: np.ndarray,
    weight: np.ndarray,
    tempering: float,
    max_iter: int,
    tol: float,
    accumulate: bool,
    doc_topic: np.ndarray,
    counts: np.ndarray,
    loglik: np.ndarray,
    n_iter: np.ndarray,
) -> None:
    n = indptr.shape[0] - 1
    k = beta.shape[0]
    longest = 0
    for d in range(n):
        longest = max(longest, indptr[d + 1] - indptr[d])
    # The document's columns of beta, gathered once: the iterations then read them in order.
    p = np.empty((longest, k))
    x = np.empty(longest)
    theta = np.empty(k)
    new = np.empty(k)
    q = np.empty(k)
    tempered = tempering != 1.0
    for d in range(n):
        start = indptr[d]
        m = indptr[d + 1] - start
        ll = 0.0
        possible = 0
        for j in range(m):
            word = indices[start + j]
            count = np.float64(data[start + j])
            total = 0.0
            for t in range(k):
                v = beta[t, word]
                p[j, t] = v
                total += v
            if total > 0.0:
                x[j] = count
                if count > 0.0:
                    possible += 1
            else:
                # A word no topic can produce: it cannot inform the proportions.
                x[j] = 0.0
                if count > 0.0:
                    ll = -np.inf
        for t in range(k):
            theta[t] = 1.0 / k
        it = 0
        while possible > 0 and it < max_iter:
            for t in range(k):
                new[t] = 0.0
            for j in range(m):
                c = x[j]
                if c == 0.0:
                    continue
                if tempered:
                    s = 0.0
                    for t in range(k):
                        q[t] = (theta[t] * p[j, t]) ** tempering
                        s += q[t]
                    if s > 0.0:
                        r = c / s
                        for t in range(k):
                            new[t] += q[t] * r
                else:
                    s = 0.0
                    for t in range(k):
                        s += theta[t] * p[j, t]
                    if s > 0.0:
                        # theta_k is common to the word's terms: applied once, below.
                        r = c / s
                        for t in range(k):
                            new[t] += p[j, t] * r
            total = 0.0
            for t in range(k):
                if not tempered:
                    new[t] *= theta[t]
                total += new[t]
            change = 0.0
            for t in range(k):
                v = new[t] / total
                change += abs(v - theta[t])
                theta[t] = v
            it += 1
            if change / k < tol:
                break
        w = weight[d]
        keep = accumulate and w != 0.0
        for j in range(m):
            c = x[j]
            if c == 0.0:
                continue
            s = 0.0
            for t in range(k):
                s += theta[t] * p[j, t]
            ll += c * np.log(s)
            if not keep or not s > 0.0:
                continue
            word = indices[start + j]
            if tempered:
                z = 0.0
                for t in range(k):
                    q[t] = (theta[t] * p[j, t]) ** tempering
                    z += q[t]
                r = w * c / z
                for t in range(k):
                    counts[t, word] += q[t] * r
            else:
                r = w * c / s
                for t in range(k):
                    counts[t, word] += theta[t] * p[j, t] * r
        for t in range(k):
            doc_topic[d, t] = theta[t]
        loglik[d] = ll
        n_iter[d] = it


def fold_in_reference(
    X: Any,
    topic_word: np.ndarray,
    doc_weight: np.ndarray | None = None,
    *,
    tempering: float = 1.0,
    max_iter: int = 100,
    tol: float = 1e-3,
    accumulate: bool = True,
) -> FoldIn:
    """NumPy twin of :func:`fold_in` (same parameters and result), a document at a time
    with its posteriors as a (n_components, n_words_of_document) array."""
    X, beta, w = _prepared(X, topic_word, doc_weight)
    n, k = X.shape[0], beta.shape[0]
    doc_topic = np.empty((n, k))
    counts = np.zeros((k, beta.shape[1] if accumulate else 0))
    loglik = np.zeros(n)
    n_iter = np.zeros(n, dtype=np.int64)
    for d in range(n):
        span = slice(X.indptr[d], X.indptr[d + 1])
        words, x = X.indices[span], X.data[span].astype(np.float64)
        P = beta[:, words]
        possible = P.sum(axis=0) > 0
        if np.any(x[~possible] > 0):
            loglik[d] = -np.inf
        used = possible & (x > 0)
        words, x, P = words[used], x[used], P[:, used]
        theta = np.full(k, 1.0 / k)
        while x.size and n_iter[d] < max_iter:
            new = _posteriors(theta, P, tempering) @ x
            new /= new.sum()
            change = np.abs(new - theta).mean()
            theta = new
            n_iter[d] += 1
            if change < tol:
                break
        doc_topic[d] = theta
        loglik[d] += x @ np.log(theta @ P)
        if accumulate and w[d] != 0:
            counts[:, words] += w[d] * _posteriors(theta, P, tempering) * x
    return FoldIn(doc_topic, counts, loglik, n_iter)


def _posteriors(theta: np.ndarray, P: np.ndarray, tempering: float) -> np.ndarray:
    """q(k | w), shape (n_components, n_words), proportional to (theta_k P_kw)^tempering."""
    joint = (theta[:, None] * P) ** tempering
    return joint / joint.sum(axis=0)
