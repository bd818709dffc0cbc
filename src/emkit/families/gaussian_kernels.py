"""Compiled passes for diagonal and spherical Gaussians.

With a diagonal covariance every (sample, component) pair costs O(n_features) work, too little
for BLAS to pay off and too much to leave to NumPy temporaries of shape (n_samples,
n_features) per component. These loops read each sample once per pass, keep no temporaries
and subtract the mean before squaring (no ``x^2 - 2 x mu + mu^2`` cancellation). Each has a
NumPy twin, the ``*_reference`` function, that the tests compare against.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def weighted_sq_dist(X: np.ndarray, means: np.ndarray, prec: np.ndarray) -> np.ndarray:
    """``sum_d prec[k, d] * (X[i, d] - means[k, d])**2``, shape (n_samples, n_components)."""
    n, d = X.shape
    k_count = means.shape[0]
    # Components innermost and contiguous: independent lanes the compiler can vectorise.
    means_t = np.ascontiguousarray(means.T)
    prec_t = np.ascontiguousarray(prec.T)
    out = np.zeros((n, k_count))
    for i in range(n):
        row = out[i]
        for j in range(d):
            x = X[i, j]
            m = means_t[j]
            p = prec_t[j]
            for k in range(k_count):
                diff = x - m[k]
                row[k] += diff * diff * p[k]
    return out


def squared_distances(X: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances from differences (no ``|x|^2 - 2 x.c + |c|^2``
    cancellation), shape (n_samples, n_centers)."""
    centers = np.asarray(centers, dtype=np.float64)
    return weighted_sq_dist(X, centers, np.ones_like(centers))


def weighted_sq_dist_reference(X: np.ndarray, means: np.ndarray, prec: np.ndarray) -> np.ndarray:
    """NumPy twin of :func:`weighted_sq_dist`."""
    return np.stack(
        [((X - m) ** 2 * p).sum(axis=1) for m, p in zip(means, prec, strict=True)], axis=1
    )


@numba.njit(cache=True, nogil=True)
def centred_moments(
    X: np.ndarray, resp: np.ndarray, centres: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """First and second moments about ``centres`` weighted by ``resp``.

    Returns ``sum_i r_ik (x_i - c_k)`` and ``sum_i r_ik (x_i - c_k)**2`` (elementwise), both
    of shape (n_components, n_features).
    """
    n, d = X.shape
    k_count = centres.shape[0]
    centres_t = np.ascontiguousarray(centres.T)
    first = np.zeros((d, k_count))
    second = np.zeros((d, k_count))
    for i in range(n):
        r = resp[i]
        for j in range(d):
            x = X[i, j]
            c = centres_t[j]
            f = first[j]
            s = second[j]
            for k in range(k_count):
                diff = x - c[k]
                rd = r[k] * diff
                f[k] += rd
                s[k] += rd * diff
    return np.ascontiguousarray(first.T), np.ascontiguousarray(second.T)


def centred_moments_reference(
    X: np.ndarray, resp: np.ndarray, centres: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """NumPy twin of :func:`centred_moments`."""
    first = np.stack([r @ (X - c) for r, c in zip(resp.T, centres, strict=True)])
    second = np.stack([r @ (X - c) ** 2 for r, c in zip(resp.T, centres, strict=True)])
    return first, second
