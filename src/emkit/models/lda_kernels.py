"""The per-document E-step of latent Dirichlet allocation, compiled, with its NumPy twin.

For every document ``d`` of a CSR matrix of word counts the variational Dirichlet
``gamma_d`` over topics is found by the fixed-point iteration of Blei, Ng and Jordan (2003),
started from ones:

    phi_dwk  proportional to  exp(E[log theta_dk]) exp(E[log beta_kw])
    gamma_dk = alpha_k + sum_w n_dw phi_dwk

until the mean absolute change of ``gamma_d`` falls below ``tol`` (at most ``max_iter``
iterations), the schedule of scikit-learn's ``LatentDirichletAllocation`` with the
document's start fixed at ones, so that the E-step depends on nothing but the parameters
and the data. The document then adds ``n_dw phi_dwk`` (without the factor
``exp(E[log beta_kw])``, applied once for all documents) to the topic-word statistics,
``E[log theta_d]`` to the statistics of the Dirichlet prior, and its part of the evidence
lower bound (with ``phi`` at its optimum given ``gamma``) to the bound:

    sum_w n_dw log sum_k exp(E[log theta_dk] + E[log beta_kw])
    + sum_k (alpha_k - gamma_dk) E[log theta_dk] + sum_k (lgamma gamma_dk - lgamma alpha_k)
    + lgamma(sum_k alpha_k) - lgamma(sum_k gamma_dk).

Arithmetic is in float64 whatever the dtype of the counts.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np
from scipy.special import digamma, gammaln

# Added to every normaliser of phi, as scikit-learn does: a word whose probability under
# every topic underflows contributes nothing instead of a division by zero.
EPS = float(np.finfo(np.float64).eps)


class DocumentPass(NamedTuple):
    """What one pass of the E-step over documents gives.

    Attributes
    ----------
    gamma : ndarray of shape (n_documents, n_components)
        Variational Dirichlet parameters of every document's topic proportions.
    word_topic : ndarray of shape (n_words, n_components)
        ``sum_d w_d n_dw exp(E[log theta_dk]) / norm_dw``: the topic-word statistics before
        the factor ``exp(E[log beta_kw])`` (transposed); zeros unless asked for.
    elog_theta : ndarray of shape (n_components,)
        ``sum_d w_d E[log theta_dk]``.
    document_bounds : ndarray of shape (n_documents,)
        Every document's part of the evidence lower bound (unweighted).
    bound : float
        ``sum_d w_d`` times the document's part of the evidence lower bound.
    """

    gamma: np.ndarray
    word_topic: np.ndarray
    elog_theta: np.ndarray
    document_bounds: np.ndarray
    bound: float


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _digamma_parts(x: float) -> tuple[float, float]:
    """``(z, rest)`` with psi(x) = log(z) + rest for x > 0.

    psi(x) = psi(x + 8) - sum_{i<8} 1 / (x + i), the sum as one fraction (one division
    instead of eight), then seven terms of the asymptotic series at x + 8, whose error is
    there below 2e-15. The shift is the same for every x (below 1e8, where the fraction
    could overflow), so that a loop over topics has no data-dependent branch and vectorises.
    Returning ``log(z)`` unevaluated spares the kernel a logarithm: it needs
    exp(psi(x) - c) = z exp(rest - c).
    """
    if x < 1e8:
        num = 1.0
        den = x
        for i in range(1, 8):
            y = x + i
            num = num * y + den
            den = den * y
        z = x + 8.0
        shifted = num / den
    else:
        z = x
        shifted = 0.0
    inv = 1.0 / z
    inv2 = inv * inv
    series = inv2 * (
        1.0 / 12.0
        - inv2
        * (
            1.0 / 120.0
            - inv2
            * (
                1.0 / 252.0
                - inv2
                * (1.0 / 240.0 - inv2 * (1.0 / 132.0 - inv2 * (691.0 / 32760.0 - inv2 / 12.0)))
            )
        )
    )
    return z, -0.5 * inv - series - shifted


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _digamma(x: float) -> float:
    """psi(x) for x > 0."""
    z, rest = _digamma_parts(x)
    return math.log(z) + rest


@numba.njit(cache=True, nogil=True, error_model="numpy")
def digamma_array(x: np.ndarray) -> np.ndarray:
    """The compiled psi of every element of ``x`` (what the kernel uses; tests compare it
    with SciPy's)."""
    out = np.empty(x.shape[0])
    for i in range(x.shape[0]):
        out[i] = _digamma(x[i])
    return out


# Reassociation lets the sums use vector registers; the order is fixed at compile time, so
# a run is reproducible and independent of threads and chunks.
@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc", "contract"})
def _documents(
    indptr: np.ndarray,
    indices: np.ndarray,
    counts: np.ndarray,
    weights: np.ndarray,
    exp_elog_beta_t: np.ndarray,
    alpha: np.ndarray,
    max_iter: int,
    tol: float,
    with_stats: bool,
    gamma: np.ndarray,
    word_topic: np.ndarray,
    elog_theta: np.ndarray,
    parts: np.ndarray,
) -> float:
    n_documents = indptr.shape[0] - 1
    n_components = alpha.shape[0]
    alpha_sum = 0.0
    lgamma_alpha = 0.0
    for k in range(n_components):
        alpha_sum += alpha[k]
        lgamma_alpha += math.lgamma(alpha[k])
    longest = 0
    for d in range(n_documents):
        longest = max(longest, indptr[d + 1] - indptr[d])
    # A document's words' topic factors, gathered once, topic by topic: the loops of an
    # iteration then run along the words (long, contiguous) rather than along the topics
    # (often few, e.g. 20 = five vector registers and a remainder), 1.5x faster.
    columns = np.empty((n_components, longest))
    n_dw = np.empty(longest)
    ratio = np.empty(longest)
    exp_theta = np.empty(n_components)
    scale = np.empty(n_components)
    rest = np.empty(n_components)
    g = np.empty(n_components)
    psi_one = _digamma(1.0) - _digamma(float(n_components))
    bound = 0.0
    for d in range(n_documents):
        start, stop = indptr[d], indptr[d + 1]
        n = stop - start
        for j in range(n):
            n_dw[j] = counts[start + j]
            row = exp_elog_beta_t[indices[start + j]]
            for k in range(n_components):
                columns[k, j] = row[k]
        for k in range(n_components):
            g[k] = 1.0
            exp_theta[k] = math.exp(psi_one)
        for _ in range(max_iter):
            # ratio_j = n_dw / sum_k exp_theta_k beta_kw; the new gamma is
            # alpha + exp_theta * (columns @ ratio).
            for j in range(n):
                ratio[j] = 0.0
            for k in range(n_components):
                e = exp_theta[k]
                column = columns[k]
                for j in range(n):
                    ratio[j] += e * column[j]
            for j in range(n):
                ratio[j] = n_dw[j] / (ratio[j] + EPS)
            change = 0.0
            total = 0.0
            for k in range(n_components):
                column = columns[k]
                acc = 0.0
                for j in range(n):
                    acc += column[j] * ratio[j]
                new = alpha[k] + exp_theta[k] * acc
                change += abs(new - g[k])
                g[k] = new
                total += new
            psi_total = _digamma(total)
            # Without a call in it, this loop vectorises; the exponentials follow.
            for k in range(n_components):
                z, r = _digamma_parts(g[k])
                scale[k] = z
                rest[k] = r - psi_total
            for k in range(n_components):
                exp_theta[k] = scale[k] * math.exp(rest[k])
            if change / n_components < tol:
                break
        for j in range(n):
            ratio[j] = 0.0
        for k in range(n_components):
            e = exp_theta[k]
            column = columns[k]
            for j in range(n):
                ratio[j] += e * column[j]
        w = weights[d]
        words = 0.0
        for j in range(n):
            words += n_dw[j] * math.log(ratio[j])
            if with_stats:
                r = w * n_dw[j] / (ratio[j] + EPS)
                out = word_topic[indices[start + j]]
                for k in range(n_components):
                    out[k] += r * exp_theta[k]
        total = 0.0
        for k in range(n_components):
            total += g[k]
        psi_total = _digamma(total)
        prior = -lgamma_alpha
        for k in range(n_components):
            e = _digamma(g[k]) - psi_total
            elog_theta[k] += w * e
            prior += (alpha[k] - g[k]) * e + math.lgamma(g[k])
            gamma[d, k] = g[k]
        parts[d] = words + prior + math.lgamma(alpha_sum) - math.lgamma(total)
        bound += w * parts[d]
    return bound


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc", "contract"})
def _word_factors(
    components_t: np.ndarray, psi_sums: np.ndarray, ids: np.ndarray, out: np.ndarray
) -> None:
    n_components = psi_sums.shape[0]
    scale = np.empty(n_components)
    rest = np.empty(n_components)
    for i in range(ids.shape[0]):
        row = components_t[ids[i]]
        for k in range(n_components):
            z, r = _digamma_parts(row[k])
            scale[k] = z
            rest[k] = r - psi_sums[k]
        factors = out[i]
        for k in range(n_components):
            factors[k] = scale[k] * math.exp(rest[k])


def word_factors(components_t: np.ndarray, psi_sums: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """``exp(E[log beta_kw])`` of the words ``ids``, compiled.

    Parameters
    ----------
    components_t : ndarray of shape (n_words, n_components), C-contiguous float64
        ``lambda`` transposed.
    psi_sums : ndarray of shape (n_components,)
        ``psi(sum_w lambda_kw)``.
    ids : ndarray of shape (n_ids,)
        Word indices.

    Returns
    -------
    ndarray of shape (n_ids, n_components)
    """
    out = np.empty((ids.shape[0], psi_sums.shape[0]))
    _word_factors(components_t, psi_sums, ids, out)
    return out


def document_pass(
    indptr: np.ndarray,
    indices: np.ndarray,
    counts: np.ndarray,
    weights: np.ndarray,
    exp_elog_beta_t: np.ndarray,
    alpha: np.ndarray,
    max_iter: int,
    tol: float,
    with_stats: bool = True,
) -> DocumentPass:
    """The E-step of the documents of one CSR matrix (compiled).

    Parameters
    ----------
    indptr, indices, counts : ndarray
        The CSR arrays of a canonical (n_documents, n_words) matrix of word counts.
    weights : ndarray of shape (n_documents,)
        Document weights.
    exp_elog_beta_t : ndarray of shape (n_words, n_components), C-contiguous float64
        ``exp(E[log beta_kw])``, transposed so that a word's topics lie together.
    alpha : ndarray of shape (n_components,)
        The Dirichlet prior of the topic proportions.
    max_iter : int
        Most iterations per document.
    tol : float
        Mean absolute change of ``gamma_d`` below which a document's iteration stops.
    with_stats : bool, default=True
        Whether to accumulate the topic-word statistics.

    Returns
    -------
    DocumentPass
    """
    n_documents = indptr.shape[0] - 1
    n_words, n_components = exp_elog_beta_t.shape
    gamma = np.empty((n_documents, n_components))
    word_topic = np.zeros((n_words if with_stats else 0, n_components))
    elog_theta = np.zeros(n_components)
    parts = np.empty(n_documents)
    bound = _documents(
        indptr,
        indices,
        counts,
        np.ascontiguousarray(weights, dtype=np.float64),
        exp_elog_beta_t,
        np.ascontiguousarray(alpha, dtype=np.float64),
        int(max_iter),
        float(tol),
        with_stats,
        gamma,
        word_topic,
        elog_theta,
        parts,
    )
    return DocumentPass(gamma, word_topic, elog_theta, parts, float(bound))


def document_pass_reference(
    indptr: np.ndarray,
    indices: np.ndarray,
    counts: np.ndarray,
    weights: np.ndarray,
    exp_elog_beta_t: np.ndarray,
    alpha: np.ndarray,
    max_iter: int,
    tol: float,
    with_stats: bool = True,
) -> DocumentPass:
    """:func:`document_pass` in plain NumPy and SciPy, document by document: the twin the
    compiled kernel is tested against."""
    n_documents = indptr.shape[0] - 1
    n_words, n_components = exp_elog_beta_t.shape
    alpha = np.asarray(alpha, dtype=np.float64)
    gamma = np.empty((n_documents, n_components))
    word_topic = np.zeros((n_words if with_stats else 0, n_components))
    elog_theta = np.zeros(n_components)
    parts = np.empty(n_documents)
    for d in range(n_documents):
        ids = indices[indptr[d] : indptr[d + 1]]
        n = counts[indptr[d] : indptr[d + 1]].astype(np.float64)
        beta = exp_elog_beta_t[ids]  # (n_ids, n_components)
        g = np.ones(n_components)
        e = np.exp(digamma(g) - digamma(g.sum()))
        for _ in range(max_iter):
            new = alpha + e * ((n / (beta @ e + EPS)) @ beta)
            change = np.mean(np.abs(new - g))
            g = new
            e = np.exp(digamma(g) - digamma(g.sum()))
            if change < tol:
                break
        norm = beta @ e
        if with_stats:
            word_topic[ids] += weights[d] * np.outer(n / (norm + EPS), e)
        elog = digamma(g) - digamma(g.sum())
        elog_theta += weights[d] * elog
        parts[d] = (
            n @ np.log(norm)
            + np.sum((alpha - g) * elog)
            + np.sum(gammaln(g) - gammaln(alpha))
            + gammaln(alpha.sum())
            - gammaln(g.sum())
        )
        gamma[d] = g
    return DocumentPass(gamma, word_topic, elog_theta, parts, float(weights @ parts))
