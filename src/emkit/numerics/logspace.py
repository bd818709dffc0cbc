"""Log-space helpers shared by every model."""

from __future__ import annotations

import numba
import numpy as np


def logsumexp_rows(a: np.ndarray) -> np.ndarray:
    """``log(sum(exp(a), axis=1))`` computed stably.

    Parameters
    ----------
    a : ndarray of shape (n_samples, n_components)
        Entries may be ``-inf`` (impossible components); a row of only ``-inf`` gives ``-inf``.

    Returns
    -------
    ndarray of shape (n_samples,)
    """
    top = a.max(axis=1)
    shift = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        return np.log(np.exp(a - shift[:, None]).sum(axis=1)) + shift


def normalize_log_rows(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Posterior probabilities from joint log-probabilities, computed in place.

    Parameters
    ----------
    a : ndarray of shape (n_samples, n_components), float64, C-contiguous
        ``log p(x_i, z_i = k)``; overwritten with the result.

    Returns
    -------
    resp : ndarray of shape (n_samples, n_components)
        ``p(z_i = k | x_i)`` (the array ``a``).
    log_norm : ndarray of shape (n_samples,)
        ``log p(x_i)``.
    """
    a = np.ascontiguousarray(a, dtype=np.float64)
    return a, _normalize_rows_inplace(a)


@numba.njit(cache=True, nogil=True)
def _normalize_rows_inplace(a: np.ndarray) -> np.ndarray:
    # One pass per row with the row in cache; NumPy's short-axis reductions are several
    # times slower at the typical (chunk, n_components) shape.
    n, k = a.shape
    log_norm = np.empty(n)
    for i in range(n):
        row = a[i]
        top = row[0]
        for j in range(1, k):
            if row[j] > top:
                top = row[j]
        total = 0.0
        for j in range(k):
            e = np.exp(row[j] - top)
            row[j] = e
            total += e
        inv = 1.0 / total
        for j in range(k):
            row[j] *= inv
        log_norm[i] = np.log(total) + top
    return log_norm


def normalize_log_rows_reference(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """NumPy twin of :func:`normalize_log_rows` (not in place)."""
    top = a.max(axis=1, keepdims=True)
    resp = np.exp(a - top)
    total = resp.sum(axis=1, keepdims=True)
    resp /= total
    return resp, np.log(total[:, 0]) + top[:, 0]


def safe_log(x: np.ndarray) -> np.ndarray:
    """``log(x)`` that maps zeros to ``-inf`` without a warning (zero weights are legal)."""
    with np.errstate(divide="ignore"):
        return np.log(x)
