"""Missing values in the families whose columns are independent given the component
(Bernoulli, Categorical, Poisson, exponential): NaN marks a cell that was not observed.

Such a cell drops out of the likelihood (its factor is 1) and out of the statistics of its
column, which therefore count, per component and column, the weight of the observed cells
only (``sum_obs``). This is the observed-data likelihood under *missing at random*: the
chance that a cell is missing may depend on what was observed, never on the missing value
itself.

Data without NaN take the code paths they took before missing values were allowed, and
their observed weights are the component weights repeated (the same sums in the same
order), so that their results are the same to the bit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from emkit.exceptions import warn
from emkit.families.checks import EmptyRowWarning, data_array, refuse
from emkit.families.sums import WeightedSums, weighted_sums


@dataclass(frozen=True, eq=False)
class ObservedSums(WeightedSums):
    """Weighted totals of K components over data with missing cells.

    Attributes
    ----------
    sum_w : ndarray of shape (n_components,)
        Total weight of every component.
    sum_x : ndarray of shape (n_components, n_features)
        ``sum_i r_ik x_id`` over the observed cells.
    sum_obs : ndarray of shape (n_components, n_features)
        ``sum_i r_ik [x_id observed]``: the weight of every component's observed cells of
        every column (``sum_w`` in every column when nothing is missing).
    """

    sum_obs: np.ndarray


def missing_mask(X: np.ndarray) -> np.ndarray | None:
    """Where the 2-D array ``X`` holds NaN, shape (n_samples, n_features) of bool; None when
    it holds none (integer and boolean data never do)."""
    if X.dtype.kind != "f" or X.size == 0:
        return None
    # The minimum is NaN exactly when some entry is: one pass, and no mask the size of X
    # for the data without missing values.
    if not np.isnan(X.min()):
        return None
    return np.isnan(X)


def data_with_missing(X: ArrayLike, family: str) -> np.ndarray:
    """``X`` as :func:`emkit.families.checks.data_array` returns it, NaN allowed (missing
    cells); infinite values are refused in the same words.

    Returns
    -------
    ndarray of shape (n_samples, n_features)
        float32 data as it is, any other numeric dtype as float64.
    """
    array = np.asarray(X)
    if array.dtype.kind != "f" or array.ndim != 2:
        return data_array(array, family)
    if array.dtype != np.float32:
        array = array.astype(np.float64, copy=False)
    if array.size and not (np.isfinite(array.min()) and np.isfinite(array.max())):
        refuse(array, np.isinf(array), f"{family} data must be finite")
    return array


def observed_sums(X: ArrayLike, resp: np.ndarray) -> ObservedSums:
    """Totals of samples ``X`` (n, D), NaN where missing, with weights ``resp`` (n, K), in
    float64."""
    X = np.asarray(X, dtype=np.float64)
    missing = missing_mask(X)
    if missing is None:
        sums = weighted_sums(X, resp)
        return ObservedSums(sums.sum_w, sums.sum_x, repeated(sums.sum_w, X.shape[1]))
    resp = np.asarray(resp, dtype=np.float64)
    observed = ~missing
    return ObservedSums(
        resp.sum(axis=0),
        resp.T @ np.where(missing, 0.0, X),
        resp.T @ observed.astype(np.float64),
    )


def repeated(sum_w: np.ndarray, n_columns: int) -> np.ndarray:
    """The observed weights of data without missing cells, shape (n_components, n_columns):
    ``sum_w`` in every column."""
    return np.repeat(np.asarray(sum_w)[:, None], n_columns, axis=1)


def observed_weights(stats: WeightedSums) -> np.ndarray:
    """Weight of every component's observed cells of every column, shape (n_components,
    n_features): ``stats.sum_obs``, or ``sum_w`` in every column for totals of data without
    missing cells (:class:`~emkit.families.sums.WeightedSums`)."""
    if isinstance(stats, ObservedSums):
        return stats.sum_obs
    return np.broadcast_to(stats.sum_w[:, None], np.shape(stats.sum_x))


def empty_cells(sum_obs: np.ndarray, sum_w: np.ndarray) -> np.ndarray:
    """Components and columns with (numerically) no observed weight, shape (n_components,
    n_features) of bool: any parameter maximises the expected log-likelihood there, so the
    M-step keeps it. Without missing cells (``sum_obs`` is ``sum_w`` in every column) this is
    :func:`~emkit.families.checks.empty_components` in every column."""
    # The threshold of empty_components, per cell.
    return sum_obs <= 10.0 * np.finfo(np.float64).eps * max(float(sum_w.sum()), 1.0)


def column_totals(sum_obs: np.ndarray, sum_w: np.ndarray, family: str) -> np.ndarray | float:
    """Observed weight of every column over all components, shape (n_features,); the total
    weight ``sum_w.sum()`` when no cell is missing (as before missing values were allowed,
    to the bit).

    Raises
    ------
    ValueError
        When a column has no observed cell of positive weight: nothing can be learnt of it.
    """
    if np.array_equal(sum_obs, np.broadcast_to(sum_w[:, None], sum_obs.shape)):
        return float(sum_w.sum())
    totals = sum_obs.sum(axis=0)
    unseen = np.flatnonzero(totals <= 0)
    if unseen.size:
        raise ValueError(
            f"{family} column {int(unseen[0])} holds no observed value (it is NaN in every "
            "row of positive weight), so nothing can be learnt of it; drop the column"
        )
    return totals


def unobserved_rows(X: np.ndarray) -> int:
    """Number of rows of ``X`` (n_samples, n_features) that are NaN in every column."""
    missing = missing_mask(np.asarray(X))
    return 0 if missing is None else int(missing.all(axis=1).sum())


def warn_unobserved(count: int, family: str) -> None:
    """Warn (:class:`~emkit.families.checks.EmptyRowWarning`, as the Gaussian family does)
    that ``count`` rows hold no observed value, when there are any."""
    if count:
        warn(
            f"{count} row(s) hold no observed {family} value (every cell NaN): they add "
            "nothing to the fit of the parameters",
            EmptyRowWarning,
        )


def summed_observed(
    chunks: Callable[[], Iterable[tuple[np.ndarray, np.ndarray]]], family: str
) -> ObservedSums:
    """Totals over every ``(X, resp)`` pair that ``chunks()`` yields (read once), with a
    warning (once, for all chunks) about rows that hold no observed value.

    Raises
    ------
    ValueError
        When there are no chunks.
    """
    stats, unobserved = None, 0
    for X, resp in chunks():
        part = observed_sums(X, resp)
        unobserved += unobserved_rows(np.asarray(X))
        stats = part if stats is None else stats + part
    if stats is None:
        raise ValueError("the data holds no rows")
    warn_unobserved(unobserved, family)
    return stats
