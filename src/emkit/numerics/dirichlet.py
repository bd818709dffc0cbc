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


def symmetric_dirichlet_concentration(
    mean_log: float, dimension: int, *, tol: float = 1e-13, max_iter: int = 200
) -> float:
    """The ``eta > 0`` that maximises ``lgamma(V eta) - V lgamma(eta) + eta V mean_log``
    (the expected log-density of ``Dirichlet(eta, ..., eta)`` in ``V = dimension``
    dimensions, ``mean_log`` the mean of the ``E[log p_v]``), the root of
    ``psi(V eta) - psi(eta) + mean_log = 0``.

    The objective is concave and its derivative decreases from +inf to ``V mean_log < 0``:
    Newton's method on ``log eta``, kept inside a bracket that bisection narrows.

    Raises
    ------
    ValueError
        When ``mean_log`` is not negative (no maximum) or ``dimension < 2``.
    """
    if dimension < 2 or not mean_log < 0:
        raise ValueError(
            f"a symmetric Dirichlet needs dimension >= 2 and mean log-proportions < 0, got "
            f"{dimension} and {mean_log}"
        )
    V = float(dimension)

    def slope(log_eta: float) -> tuple[float, float]:
        eta = np.exp(log_eta)
        value = float(digamma(V * eta) - digamma(eta) + mean_log)
        return value, float(eta * (V * polygamma(1, V * eta) - polygamma(1, eta)))

    low, high = -50.0, 50.0
    x = 0.0
    for _ in range(max_iter):
        value, derivative = slope(x)
        if value > 0:
            low = x
        else:
            high = x
        step = x - value / derivative if derivative < 0 else 0.5 * (low + high)
        x_new = step if low < step < high else 0.5 * (low + high)
        if abs(x_new - x) <= tol * max(1.0, abs(x)):
            return float(np.exp(x_new))
        x = x_new
    return float(np.exp(x))
