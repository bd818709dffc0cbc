"""Rotations of factor loadings: orthomax (varimax, quartimax) and promax.

A loading matrix ``L`` of shape (n_features, n_components) is identified only up to a
rotation: ``L T`` with ``T T^T = I`` gives the same covariance ``L L^T + Psi``. Rotations
pick a ``T`` that makes the loadings simple to read.

- :func:`orthomax` maximises Kaiser's orthomax criterion
  ``sum_j sum_i l_ij^4 - gamma / p sum_j (sum_i l_ij^2)^2`` over orthogonal ``T`` by the
  classic iteration: the gradient of the criterion at the current rotation, then the nearest
  orthogonal matrix to it (the polar factor, from an SVD), until the criterion grows by less
  than a relative ``tol``. ``gamma = 1`` is varimax, ``gamma = 0`` quartimax.
- Kaiser normalisation (``normalize=True``) rotates the rows of ``L`` scaled to unit length,
  then scales them back, so that variables with large communalities do not dominate; R's
  ``varimax`` and ``promax`` normalise by default, scikit-learn's FactorAnalysis does not.
- :func:`promax` (Hendrickson and White 1964) starts from the (normalised) varimax solution,
  raises its loadings to the power ``power`` keeping their signs as a target, regresses the
  target on the loadings, and rescales the regression so that the factors keep unit
  variance. The result is oblique: the factors are correlated (``factor_correlation``).

Every rotation returns a :class:`Rotation`: ``loadings == L @ rotation``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["Rotation", "orthomax", "promax", "quartimax", "sort_loadings", "varimax"]


class Rotation(NamedTuple):
    """A rotated loading matrix.

    Attributes
    ----------
    loadings : ndarray of shape (n_features, n_components)
        The rotated loadings, ``L @ rotation``.
    rotation : ndarray of shape (n_components, n_components)
        The rotation matrix (orthogonal for orthomax rotations).
    factor_correlation : ndarray of shape (n_components, n_components)
        Correlations of the rotated factors, ``inv(rotation^T rotation)``: the identity for
        an orthogonal rotation.
    """

    loadings: np.ndarray
    rotation: np.ndarray
    factor_correlation: np.ndarray


def _checked_loadings(loadings: np.ndarray) -> np.ndarray:
    L = np.asarray(loadings, dtype=np.float64)
    if L.ndim != 2 or L.shape[0] < 1 or L.shape[1] < 1:
        raise ValueError(
            f"loadings must be a 2-D array (n_features, n_components), got shape {L.shape}"
        )
    if not np.all(np.isfinite(L)):
        raise ValueError("loadings must be finite")
    return L


def orthomax(
    loadings: np.ndarray,
    gamma: float = 1.0,
    *,
    normalize: bool = True,
    tol: float = 1e-5,
    max_iter: int = 1000,
) -> Rotation:
    """The orthogonal rotation that maximises the orthomax criterion of ``loadings``.

    Parameters
    ----------
    loadings : ndarray of shape (n_features, n_components)
    gamma : float, default=1.0
        1 for varimax, 0 for quartimax.
    normalize : bool, default=True
        Kaiser normalisation: rows scaled to unit length while rotating.
    tol : float, default=1e-5
        The iteration stops once the criterion (the sum of the singular values of its
        gradient) grows by less than this, relatively.
    max_iter : int, default=1000
        Most iterations.

    Returns
    -------
    Rotation
    """
    L = _checked_loadings(loadings)
    p, k = L.shape
    if k < 2:
        # One factor has no rotation but its sign, which the rotations leave alone.
        return Rotation(L.copy(), np.eye(k), np.eye(k))
    scale = np.sqrt(np.sum(L**2, axis=1)) if normalize else np.ones(p)
    # A row of zeros has no direction: it stays zero whatever the scale.
    scale = np.where(scale > 0, scale, 1.0)
    X = L / scale[:, None]
    T = np.eye(k)
    criterion = 0.0
    for _ in range(max_iter):
        Z = X @ T
        gradient = X.T @ (Z**3 - Z * (gamma / p) * np.sum(Z**2, axis=0))
        u, s, vt = np.linalg.svd(gradient)
        T = u @ vt
        previous, criterion = criterion, float(np.sum(s))
        if criterion < previous * (1.0 + tol):
            break
    return Rotation((X @ T) * scale[:, None], T, np.eye(k))


def varimax(
    loadings: np.ndarray, *, normalize: bool = True, tol: float = 1e-5, max_iter: int = 1000
) -> Rotation:
    """Kaiser's varimax rotation (:func:`orthomax` with ``gamma = 1``); with the defaults,
    R's ``varimax(x)``."""
    return orthomax(loadings, 1.0, normalize=normalize, tol=tol, max_iter=max_iter)


def quartimax(
    loadings: np.ndarray, *, normalize: bool = True, tol: float = 1e-5, max_iter: int = 1000
) -> Rotation:
    """The quartimax rotation (:func:`orthomax` with ``gamma = 0``)."""
    return orthomax(loadings, 0.0, normalize=normalize, tol=tol, max_iter=max_iter)


def promax(
    loadings: np.ndarray,
    power: float = 4.0,
    *,
    normalize: bool = True,
    tol: float = 1e-5,
    max_iter: int = 1000,
) -> Rotation:
    """The promax rotation: varimax, then an oblique least-squares fit to the varimax
    loadings raised to ``power`` (signs kept); with the defaults, R's ``promax(x)``.

    Parameters
    ----------
    loadings : ndarray of shape (n_features, n_components)
    power : float, default=4.0
        The power of the target, > 1.
    normalize, tol, max_iter
        Those of the varimax rotation it starts from.

    Returns
    -------
    Rotation
        ``rotation`` is the varimax rotation times the oblique transformation;
        ``factor_correlation`` has a unit diagonal.
    """
    if not power > 1.0:
        raise ValueError(f"power must be a number > 1, got {power!r}")
    first = varimax(loadings, normalize=normalize, tol=tol, max_iter=max_iter)
    V = first.loadings
    k = V.shape[1]
    if k < 2:
        return first
    target = V * np.abs(V) ** (power - 1.0)
    U = np.linalg.lstsq(V, target, rcond=None)[0]
    # Columns scaled so that the rotated factors keep unit variance.
    U = U * np.sqrt(np.diag(np.linalg.inv(U.T @ U)))
    T = first.rotation @ U
    return Rotation(V @ U, T, np.linalg.inv(T.T @ T))


def sort_loadings(rotated: Rotation) -> Rotation:
    """The factors ordered as R's ``factanal`` prints them: by decreasing sum of squared
    loadings, each factor's sign chosen so that its loadings sum to a positive number."""
    L, T, phi = rotated
    order = np.argsort(-np.sum(L**2, axis=0), kind="stable")
    L, T, phi = L[:, order], T[:, order], phi[np.ix_(order, order)]
    sign = np.where(np.sum(L, axis=0) < 0, -1.0, 1.0)
    return Rotation(L * sign, T * sign, phi * np.outer(sign, sign))
