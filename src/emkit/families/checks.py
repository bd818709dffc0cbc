"""Checks shared by the families: data a family can score, hyperparameters, frozen names."""

from __future__ import annotations

import numbers

import numpy as np
from numpy.typing import ArrayLike

from emkit.exceptions import warn


class EmptyRowWarning(UserWarning):
    """Rows of data with every value missing (NaN): they count for nothing in a fit."""


def data_array(X: ArrayLike, family: str, *, allow_nan: bool = False) -> np.ndarray:
    """``X`` as a 2-D floating array, refusing what no family can score.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Numbers (booleans, integers or floats).
    family : str
        Name of the family, for the error messages.
    allow_nan : bool, default=False
        Whether NaN is let through, as a missing value (for a family that declares
        ``allows_missing``); infinite values are refused either way.

    Returns
    -------
    ndarray of shape (n_samples, n_features)
        float32 data as it is (the families accumulate in float64 anyway, so a copy would
        only cost memory); any other numeric dtype as float64.

    Raises
    ------
    ValueError
        When ``X`` is not numeric, not 2-D, or holds infinite values, or NaN unless
        ``allow_nan``.
    """
    X = np.asarray(X)
    if X.dtype.kind not in "biuf":
        raise ValueError(f"{family} data must be numeric, got an array of dtype {X.dtype}")
    if X.ndim != 2:
        raise ValueError(
            f"{family} data must be a 2-D array (n_samples, n_features), got shape {X.shape}"
        )
    if X.dtype != np.float32:
        X = X.astype(np.float64, copy=False)
    # NaN and infinities reach the extremes: two vectorised passes, and the mask of the
    # whole array (n_samples x n_features bytes) only when there is a value to name.
    if X.size and not (np.isfinite(X.min()) and np.isfinite(X.max())):
        if allow_nan:
            refuse(
                X,
                np.isinf(X),
                f"{family} data must not hold infinite values (NaN marks a missing value)",
            )
        else:
            refuse(X, ~np.isfinite(X), f"{family} data must be finite")
    return X


def real_data(X: ArrayLike, family: str, *, allow_nan: bool = False) -> np.ndarray:
    """``X`` as for :func:`data_array` (NaN let through as a missing value when
    ``allow_nan``), refusing also values so large that their squares, summed over the rows,
    overflow float64 (the moments every real-valued family computes).

    Raises
    ------
    ValueError
        Naming the largest magnitude, the limit, and what to do.
    """
    X = data_array(X, family, allow_nan=allow_nan)
    check_magnitude(X, family)
    return X


def real_data_with_missing(X: ArrayLike, family: str) -> np.ndarray:
    """:func:`real_data` with NaN as a missing value, warning once (an
    :class:`EmptyRowWarning`) of the rows with nothing observed, which count for nothing."""
    X = real_data(X, family, allow_nan=True)
    if X.shape[1] and X.size and np.isnan(X.min()):
        empty = int(np.isnan(X).all(axis=1).sum())
        if empty:
            warn(
                f"{empty} of {X.shape[0]} rows of the {family} data have no observed value "
                "(every cell NaN): they add nothing to the likelihood or to the "
                "statistics of a fit",
                EmptyRowWarning,
            )
    return X


def check_magnitude(X: np.ndarray, family: str, squares_per_row: int = 4) -> None:
    """Refuse values of the array ``X`` (n_samples, n_features), finite or NaN, so large that
    ``squares_per_row`` squares of them per row, summed over the rows, overflow float64 (4:
    the square of a difference of two such values, one per row).

    Raises
    ------
    ValueError
        Naming the largest magnitude, the limit, the first value beyond it (its column and
        row), and what to do.
    """
    if not X.size:
        return
    # No temporary the size of X; fmax and fmin pass over NaN (missing values).
    largest = float(max(np.fmax.reduce(X, axis=None), -np.fmin.reduce(X, axis=None)))
    limit = float(np.sqrt(np.finfo(np.float64).max / (squares_per_row * X.shape[0])))
    if largest > limit:
        row, col = np.unravel_index(int(np.argmax(np.abs(X) > limit)), X.shape)
        raise ValueError(
            f"{family} data hold values too large for float64 arithmetic: the largest "
            f"magnitude is {largest:.3g}, and squares of values above {limit:.3g} overflow "
            f"when summed over {X.shape[0]} rows; column {col} holds {number(X[row, col])} "
            f"(row {row}). Rescale the data (divide it by a power of ten, or standardise it)."
        )


REGULARISATION_SHARE = 0.01
"""A regulariser larger than this share of a feature's variance dominates that feature's
covariances (within-component variances are smaller still)."""


def dominant_regularisation(
    X: np.ndarray, reg_covar: float, name: str, block: int = 4096
) -> str | None:
    """A warning's text when ``reg_covar`` (named ``name``) exceeds
    :data:`REGULARISATION_SHARE` of the variance of a feature of ``X`` (n_samples,
    n_features) that varies at all, else None; ``block`` rows at a time.

    Data on a tiny scale (say 1e-8) then fit components whose covariances are all
    ``reg_covar`` and no clusters: the cure is to rescale the data or lower ``reg_covar``.
    Constant features are left out: keeping them well defined is what ``reg_covar`` is for.
    """
    if not reg_covar > 0 or X.shape[0] < 2:
        return None
    variances = _column_variances(X, block)
    varying = np.flatnonzero(variances > 0)
    if varying.size == 0:
        return None
    column = int(varying[np.argmin(variances[varying])])
    smallest = float(variances[column])
    if reg_covar <= REGULARISATION_SHARE * smallest:
        return None
    return (
        f"{name}={reg_covar:g} is {reg_covar / smallest:.3g} times the variance of feature "
        f"{column} ({smallest:.3g}): it dominates the covariances, so the components cannot "
        f"follow the data. Rescale the data (e.g. standardise it) or lower {name}."
    )


def _column_variances(X: np.ndarray, block: int) -> np.ndarray:
    """Variances of the columns of ``X`` (n, D) in float64, about the mean, a block of rows at
    a time (no copy of ``X``)."""
    n = X.shape[0]
    mean = np.zeros(X.shape[1])
    for start in range(0, n, block):
        mean += X[start : start + block].sum(axis=0, dtype=np.float64)
    mean /= n
    squares = np.zeros(X.shape[1])
    for start in range(0, n, block):
        centred = X[start : start + block] - mean
        squares += np.einsum("ij,ij->j", centred, centred)
    return squares / n


def checked_array(value: ArrayLike, shape: tuple[int, ...], name: str) -> np.ndarray:
    """``value`` as a finite float64 array of ``shape``; ValueError naming ``name`` if not."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of numbers, got {value!r}") from None
    if array.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} holds NaN or infinite values")
    return array


def check_simplex(probs: np.ndarray, valid: np.ndarray | bool, name: str) -> None:
    """Raise ValueError unless ``probs`` is non-negative, zero where ``valid`` is False, and
    sums to one over its last axis."""
    if np.any(probs < 0):
        raise ValueError(f"{name} must hold non-negative probabilities")
    if np.any(np.where(valid, 0.0, probs) != 0):
        raise ValueError(f"{name} must be zero beyond every column's categories")
    if not np.allclose(probs.sum(axis=-1), 1.0, rtol=0, atol=1e-8):
        raise ValueError(f"the probabilities of {name} must sum to one over the last axis")


def refuse(X: np.ndarray, bad: np.ndarray, requirement: str) -> None:
    """Raise ``ValueError("<requirement>; column c holds v (row r)")`` for the first entry of
    ``X`` (n_samples, n_features) where the boolean array ``bad`` (same shape) is True."""
    if bad.any():
        row, col = np.unravel_index(int(np.argmax(bad)), bad.shape)
        raise ValueError(f"{requirement}; column {col} holds {number(X[row, col])} (row {row})")


def number(value: float) -> str:
    """A data value as a user wrote it: whole numbers without a decimal point."""
    value = float(value)
    if value.is_integer() and abs(value) < 2.0**53:
        return str(int(value))
    return repr(value)


def check_counts(X: np.ndarray, family: str) -> None:
    """Raise ValueError unless every entry of the float array ``X`` is a whole number >= 0."""
    refuse(X, X < 0, f"{family} counts must be non-negative")
    refuse(X, X != np.floor(X), f"{family} counts must be integers")


def check_frozen(frozen: frozenset[str], choices: frozenset[str], family: str) -> frozenset[str]:
    """``frozen`` as a frozenset of parameter names, each one of ``choices``."""
    if isinstance(frozen, str):
        # frozenset("probs") would silently mean five one-letter names.
        raise ValueError(
            f"frozen must be a set of {family} parameter names such as "
            f"frozenset({{{sorted(choices)[0]!r}}}), not the string {frozen!r}"
        )
    frozen = frozenset(frozen)
    unknown = frozen - choices
    if unknown:
        raise ValueError(
            f"unknown frozen {family} parameters {sorted(unknown)}; choose from {sorted(choices)}"
        )
    return frozen


def check_prior(value: float, name: str, *, positive: bool) -> float:
    """``value`` as a float, refusing anything but a real number (bools and strings too),
    NaN, infinities and values below (or at) zero, in a message naming ``name``."""
    relation = "positive" if positive else "non-negative"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.number)):
        raise ValueError(f"{name} must be a finite {relation} number, got {value!r}")
    number = float(value)
    if not (np.isfinite(number) and (number > 0 if positive else number >= 0)):
        raise ValueError(f"{name} must be finite and {relation}, got {number}")
    return number


def empty_components(sum_w: np.ndarray) -> np.ndarray:
    """Components with (numerically) no weight, shape (n_components,) of bool: any value
    maximises the expected log-likelihood there, so the M-step keeps their parameters."""
    return sum_w <= 10.0 * np.finfo(np.float64).eps * max(float(sum_w.sum()), 1.0)


def take_vector(vector: ArrayLike, shape: tuple[int, ...]) -> np.ndarray:
    """The coordinate vector as an array of ``shape``, refusing a wrong number of entries."""
    vector = np.asarray(vector, dtype=np.float64)
    size = int(np.prod(shape, dtype=np.int64))
    if vector.size != size:
        raise ValueError(f"the coordinate vector has {vector.size} entries, the parameters {size}")
    return vector.reshape(shape)
