"""Cholesky factors of covariance and precision matrices."""

from __future__ import annotations

import numpy as np
from scipy import linalg

from emkit.exceptions import DegenerateFitError


def ill_defined(k: int | str) -> DegenerateFitError:
    """The error of a covariance that is not positive definite, naming component ``k``."""
    # The first sentences are scikit-learn's, which code written for it looks for.
    return DegenerateFitError(
        "Fitting the mixture model failed because some components have ill-defined "
        "empirical covariance (for instance caused by singleton or collapsed samples). Try "
        "to decrease the number of components, increase reg_covar, or scale the input data. "
        f"(component {k}: its covariance is not positive definite, from too few distinct "
        "samples, duplicated or collinear samples, or features with zero variance)"
    )


def precision_cholesky(cov: np.ndarray, k: int | str = "") -> np.ndarray:
    """Upper-triangular ``P`` with ``P @ P.T == inv(cov)`` for one (D, D) covariance.

    ``(x - mu) @ P`` whitens ``x``, and ``sum(log(diag(P)))`` is ``-0.5 * log|cov|``.
    Raises ValueError when ``cov`` is not positive definite.
    """
    # LAPACK directly: the checking wrappers of scipy.linalg cost far more than the
    # factorisation of the small matrices every M-step has.
    potrf, trtri = linalg.get_lapack_funcs(("potrf", "trtri"), (cov,))
    chol, info = potrf(cov, lower=1, clean=1)
    if info != 0 or not np.all(np.isfinite(chol)):
        raise ill_defined(k)
    inv, info = trtri(chol, lower=1)
    if info != 0:
        raise ill_defined(k)
    return inv.T


def covariance_from_precision(precision: np.ndarray, k: int | str = "") -> np.ndarray:
    """``inv(precision)`` for one (D, D) positive definite matrix, through its Cholesky factor.
    Raises ValueError when ``precision`` is not positive definite."""
    try:
        chol = linalg.cho_factor(precision, lower=True)
    except linalg.LinAlgError:
        raise ValueError(f"precision {k} is not positive definite") from None
    return linalg.cho_solve(chol, np.eye(precision.shape[0]))


def check_positive_definite(matrix: np.ndarray, name: str, which: str = "") -> None:
    """Raise ValueError unless ``matrix`` (D, D) is symmetric positive definite; ``which``
    (e.g. 'component 2') says which of several matrices named ``name`` it is."""
    which = f"{which}: " if which else ""
    if not np.allclose(matrix, matrix.T, rtol=1e-8, atol=0):
        raise ValueError(f"{name} should be symmetric, positive-definite ({which}not symmetric)")
    if np.any(np.linalg.eigvalsh(matrix) <= 0.0):
        raise ValueError(
            f"{name} should be symmetric, positive-definite ({which}an eigenvalue is <= 0)"
        )


def semidefinite_log_det(matrix: np.ndarray, name: str) -> float | None:
    """``log|matrix|`` of a symmetric positive semi-definite (D, D) matrix, or None when it is
    singular; ValueError when it is not symmetric or has a negative eigenvalue.

    Eigenvalues within round-off of zero (``D * eps`` times the largest), of either sign,
    count as zero: a rank-deficient matrix (constant or collinear features, fewer samples
    than features) must not pass or fail on the sign round-off happens to give them.
    """
    if not np.allclose(matrix, matrix.T, rtol=1e-8, atol=0):
        raise ValueError(f"{name} should be symmetric, positive-definite (not symmetric)")
    eigenvalues = np.linalg.eigvalsh(matrix)
    floor = matrix.shape[0] * np.finfo(np.float64).eps * max(float(eigenvalues[-1]), 0.0)
    if eigenvalues[0] < -floor or not eigenvalues[-1] > 0:
        raise ValueError(
            f"{name} should be symmetric, positive-definite (an eigenvalue is negative, or "
            "all are zero)"
        )
    return float(np.log(eigenvalues).sum()) if eigenvalues[0] > floor else None
