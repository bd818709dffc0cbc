"""Weighted totals: the sufficient statistics of the families whose M-step needs only the
weight of every component and the weighted sum of its samples (Bernoulli, multinomial,
Poisson, exponential)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from emkit.core.stats import Additive


@dataclass(frozen=True, eq=False)
class WeightedSums(Additive):
    """Weighted totals of K components.

    Attributes
    ----------
    sum_w : ndarray of shape (n_components,)
        Total weight of every component.
    sum_x : ndarray of shape (n_components, n_features)
        ``sum_i r_ik x_id``.
    """

    sum_w: np.ndarray
    sum_x: np.ndarray


def weighted_sums(X: ArrayLike, resp: np.ndarray) -> WeightedSums:
    """Totals of samples ``X`` (n, D) with weights ``resp`` (n, K), in float64."""
    resp = np.asarray(resp, dtype=np.float64)
    return WeightedSums(resp.sum(axis=0), resp.T @ np.asarray(X, dtype=np.float64))


def summed_chunks(chunks: Callable[[], Iterable[tuple[np.ndarray, np.ndarray]]]) -> WeightedSums:
    """Totals over every ``(X, resp)`` pair that ``chunks()`` yields (read once).

    Raises
    ------
    ValueError
        When there are no chunks.
    """
    stats = sum(weighted_sums(X, resp) for X, resp in chunks())
    if not isinstance(stats, WeightedSums):
        raise ValueError("the data holds no rows")
    return stats
