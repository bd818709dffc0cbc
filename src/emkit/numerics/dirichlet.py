"""Dirichlet expectations and the maximum-likelihood Dirichlet from mean log-proportions."""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, polygamma

_PSI_ONE = float(digamma(1.0))


def expected_log(concentration: np.ndarray) -> np.ndarray:
    """``E[log p]`` under ``Dirichlet(concentration)`` along the last axis:
    ``psi(a) - psi(sum(a))``, shape of ``concentration``."""
    a = np.asarray(concentration, dtype=np.float64)
    return digamma(a) - digamma(a.sum(axis=-1, keepdims=True))


def inverse_digamma(y: np.ndarray, n_newton: int = 6) -> np.ndarray:
    """The ``x > 0`` with ``psi(x) = y``, elementwise: Minka's (2000) starting point, then
    Newton steps (five reach machine precision; one more for margin)."""
    y = np.asarray(y, dtype=np.float64)
    x = np.where(y >= -2.22, np.exp(y) + 0.5, -1.0 / (y - _PSI_ONE))
    for _ in range(n_newton):
        x = x - (digamma(x) - y) / polygamma(1, x)
    return x


def dirichlet_fixed_point(
    alpha: np.ndarray, mean_log: np.ndarray, *, tol: float = 1e-12, max_iter: int = 1000
) -> np.ndarray:
    """The Dirichlet that maximises ``sum_k (alpha_k - 1) mean_log_k + lgamma(sum alpha) -
    sum_k lgamma(alpha_k)`` (the expected log-density of proportions whose mean
    logarithms are ``mean_log``), by Minka's fixed point
    ``alpha_k <- psi^-1(psi(sum alpha) + mean_log_k)`` from ``alpha``.

    The objective is concave in ``alpha``, so the iteration reaches its maximum; it stops
    when no element changes by more than ``tol`` relative.

    Parameters
    ----------
    alpha : ndarray of shape (n_components,)
        Where to start (the current prior).
    mean_log : ndarray of shape (n_components,)
        Mean of ``E[log theta_k]`` over the documents (all negative).
    tol : float, default=1e-12
    max_iter : int, default=1000

    Returns
    -------
    ndarray of shape (n_components,)
    """
    alpha = np.asarray(alpha, dtype=np.float64)
    mean_log = np.asarray(mean_log, dtype=np.float64)
    for _ in range(max_iter):
        new = inverse_digamma(digamma(alpha.sum()) + mean_log)
        done = np.max(np.abs(new - alpha) / alpha) <= tol
        alpha = new
        if done:
            break
    return alpha
