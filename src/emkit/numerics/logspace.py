"""Log-space helpers shared by every model."""

from __future__ import annotations

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
    """Posterior probabilities from joint log-probabilities.

    Parameters
    ----------
    a : ndarray of shape (n_samples, n_components)
        ``log p(x_i, z_i = k)``.

    Returns
    -------
    resp : ndarray of shape (n_samples, n_components)
        ``p(z_i = k | x_i)``.
    log_norm : ndarray of shape (n_samples,)
        ``log p(x_i)``.
    """
    top = a.max(axis=1, keepdims=True)
    resp = np.exp(a - top)
    total = resp.sum(axis=1, keepdims=True)
    resp /= total
    return resp, np.log(total[:, 0]) + top[:, 0]


def safe_log(x: np.ndarray) -> np.ndarray:
    """``log(x)`` that maps zeros to ``-inf`` without a warning (zero weights are legal)."""
    with np.errstate(divide="ignore"):
        return np.log(x)
