"""Draws of hidden Markov state paths from their posterior given the observed sequence.

Forward filtering, backward sampling (Frühwirth-Schnatter 1994; Carter and Kohn 1994): the
forward pass keeps the filtered distributions ``alpha_t(i) = p(z_t = i | x_1..t)``; the
last state is drawn from ``alpha_T``, and every earlier one from
``p(z_t = i | z_t+1 = j, x) ∝ alpha_t(i) A_ij``. The path is a draw from
``p(z_1..T | x_1..T)`` exactly, so states and the emissions' missing cells drawn given them
are a joint draw from the posterior of everything unobserved (multiple imputation of
sequences).
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _draw(probs: np.ndarray, total: float, u: float) -> int:
    """The index ``i`` where the running sum of ``probs`` first exceeds ``u * total``."""
    target = u * total
    acc = 0.0
    last = 0
    for i in range(probs.shape[0]):
        if probs[i] > 0.0:
            last = i
            acc += probs[i]
            if acc > target:
                return i
    return last  # round-off at u close to 1: the last state of positive probability


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _sample_paths(
    log_emission: np.ndarray,
    offsets: np.ndarray,
    startprob: np.ndarray,
    transmat: np.ndarray,
    uniforms: np.ndarray,
    states: np.ndarray,
    logliks: np.ndarray,
) -> None:
    n, k = log_emission.shape
    alpha = np.empty((n, k))
    weights = np.empty(k)
    for s in range(offsets.shape[0] - 1):
        start, stop = offsets[s], offsets[s + 1]
        loglik = 0.0
        for t in range(start, stop):
            # Emissions scaled by the row's largest: the filtered distribution is the same.
            top = -np.inf
            for i in range(k):
                top = max(top, log_emission[t, i])
            total = 0.0
            for j in range(k):
                if t == start:
                    prior = startprob[j]
                else:
                    prior = 0.0
                    for i in range(k):
                        prior += alpha[t - 1, i] * transmat[i, j]
                value = prior * np.exp(log_emission[t, j] - top) if top > -np.inf else 0.0
                alpha[t, j] = value
                total += value
            if not total > 0.0:
                loglik = -np.inf
                break
            for j in range(k):
                alpha[t, j] /= total
            loglik += np.log(total) + top
        logliks[s] = loglik
        if loglik == -np.inf or stop == start:
            for t in range(start, stop):
                states[t] = -1
            continue
        last = stop - 1
        states[last] = _draw(alpha[last], 1.0, uniforms[last])
        for t in range(last - 1, start - 1, -1):
            following = states[t + 1]
            total = 0.0
            for i in range(k):
                weights[i] = alpha[t, i] * transmat[i, following]
                total += weights[i]
            states[t] = _draw(weights, total, uniforms[t])


def sample_paths(
    log_emission: np.ndarray,
    offsets: np.ndarray,
    startprob: np.ndarray,
    transmat: np.ndarray,
    rng: np.random.RandomState,
) -> tuple[np.ndarray, np.ndarray]:
    """One state path of every sequence, drawn from its posterior given the sequence.

    Parameters
    ----------
    log_emission : ndarray of shape (n_samples, n_components)
        ``log p(x_t | z_t = k)``.
    offsets : ndarray of shape (n_sequences + 1,)
        Sequence ``s`` is rows ``offsets[s]:offsets[s + 1]``.
    startprob : ndarray of shape (n_components,)
    transmat : ndarray of shape (n_components, n_components)
    rng : numpy.random.RandomState
        Gives one uniform per sample.

    Returns
    -------
    states : ndarray of shape (n_samples,)
        The drawn states; -1 in a sequence of probability zero.
    logliks : ndarray of shape (n_sequences,)
        The log-likelihood of every sequence (``-inf``: probability zero).
    """
    log_emission = np.ascontiguousarray(log_emission, dtype=np.float64)
    uniforms = rng.random_sample(log_emission.shape[0])
    states = np.empty(log_emission.shape[0], dtype=np.int64)
    logliks = np.empty(offsets.shape[0] - 1)
    _sample_paths(
        log_emission,
        np.asarray(offsets, dtype=np.int64),
        np.ascontiguousarray(startprob, dtype=np.float64),
        np.ascontiguousarray(transmat, dtype=np.float64),
        uniforms,
        states,
        logliks,
    )
    return states, logliks
