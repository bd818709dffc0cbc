"""Exponential components: K products of independent exponential features, scored and
re-estimated together."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import ArrayLike

from emkit.families.base import Family
from emkit.families.checks import (
    check_frozen,
    checked_array,
    data_array,
    empty_components,
    refuse,
    take_vector,
)
from emkit.families.sums import WeightedSums, summed_chunks, weighted_sums
from emkit.families.tables import Columns, ParameterTable, Table


@dataclass(frozen=True, eq=False)
class ExponentialParams:
    """Parameters of K exponential components in D dimensions.

    Attributes
    ----------
    rates : ndarray of shape (n_components, n_features)
        ``rates[k, d]``: rate (inverse mean) of feature ``d`` under component ``k``.
    """

    rates: np.ndarray


FROZEN_CHOICES = frozenset({"rates"})


@dataclass(frozen=True)
class Exponential(Family):
    """The exponential family of waiting times: D non-negative features, independent given
    the component.

    ``log p(x | k) = sum_d log rate_kd - rate_kd x_d``.

    Parameters
    ----------
    frozen : frozenset of {'rates'}
        Parameters the M-step keeps as they are.
    """

    frozen: frozenset[str] = frozenset()

    params_class = ExponentialParams
    title = "exponential"

    def summary_tables(self) -> tuple[Table, ...]:
        return (ParameterTable("rates by {unit}", (Columns("rates"),)),)

    def __post_init__(self) -> None:
        object.__setattr__(self, "frozen", check_frozen(self.frozen, FROZEN_CHOICES, "Exponential"))

    def check_params(self, params: ExponentialParams, n_components: int, n_features: int) -> None:
        """Raise ValueError unless ``params.rates`` are (n_components, n_features) positive
        rates."""
        rates = checked_array(params.rates, (n_components, n_features), "rates_")
        if np.any(rates <= 0):
            raise ValueError("rates_ must hold positive rates")

    def check_data(self, X: ArrayLike) -> np.ndarray:
        """Validate waiting times.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Non-negative numbers.

        Returns
        -------
        ndarray of shape (n_samples, n_features)
            The data as a floating array (float32 kept, otherwise float64).

        Raises
        ------
        ValueError
            Naming the first problem: not numeric or not 2-D, NaN or infinite values, or
            negative values.
        """
        X = data_array(X, "Exponential")
        refuse(X, X < 0, "Exponential data must be non-negative")
        return X

    def log_prob(self, params: ExponentialParams, X: ArrayLike) -> np.ndarray:
        """``log p(x_i | k)``, shape (n_samples, n_components)."""
        X = np.asarray(X, dtype=np.float64)
        rates = np.asarray(params.rates, dtype=np.float64)
        out = -(X @ rates.T)
        out += np.log(rates).sum(axis=1)
        return out

    def stats(self, params: ExponentialParams, X: ArrayLike, resp: np.ndarray) -> WeightedSums:
        """Statistics of samples ``X`` (n, D) with weights ``resp`` (n, K)."""
        return weighted_sums(X, resp)

    def m_step(self, stats: WeightedSums, params: ExponentialParams) -> ExponentialParams:
        """Maximum-likelihood rates ``sum_w / sum_x``.

        Components with (numerically) no weight keep their rates.

        Raises
        ------
        ValueError
            When a component with weight has all of it on samples that are 0 in some
            feature: the likelihood grows without bound as that rate goes to infinity.
        """
        if "rates" in self.frozen:
            return params
        empty = empty_components(stats.sum_w)
        degenerate = (stats.sum_x <= 0) & ~empty[:, None]
        if degenerate.any():
            k, d = np.argwhere(degenerate)[0]
            raise ValueError(
                f"component {k} puts all its weight on samples that are 0 in feature {d}: "
                "its maximum-likelihood rate there is infinite (the likelihood is unbounded)"
            )
        sum_x = np.where(empty[:, None], 1.0, stats.sum_x)
        rates = stats.sum_w[:, None] / sum_x
        return ExponentialParams(np.where(empty[:, None], params.rates, rates))

    def from_responsibilities(
        self, chunks: Callable[[], Iterable[tuple[np.ndarray, np.ndarray]]]
    ) -> ExponentialParams:
        """Parameters from initial responsibilities: one M-step from scratch.

        Parameters
        ----------
        chunks : callable
            Returns a fresh iterable of ``(X, resp)`` pairs: samples of shape
            (n, n_features) and their responsibilities (n, n_components), already
            multiplied by the sample weights. Read once.

        Components with no weight start at the rates of all the data.
        """
        stats = summed_chunks(chunks)
        with np.errstate(divide="ignore"):
            # All-zero data gives infinite rates here; the M-step then says why.
            pooled = stats.sum_w.sum() / stats.sum_x.sum(axis=0)
        start = ExponentialParams(np.repeat(pooled[None], stats.sum_w.shape[0], axis=0))
        return replace(self, frozen=frozenset()).m_step(stats, start)

    def n_parameters(self, n_components: int, n_features: int) -> int:
        """Free parameters of K components: ``K * D`` (0 when the rates are frozen)."""
        return 0 if "rates" in self.frozen else n_components * n_features

    def sample(
        self, params: ExponentialParams, counts: ArrayLike, random_state: np.random.RandomState
    ) -> np.ndarray:
        """``counts[k]`` samples from every component, stacked in component order,
        shape (counts.sum(), n_features)."""
        rates = np.asarray(params.rates, dtype=np.float64)
        out = [
            random_state.exponential(1.0 / rates[k], size=(int(n), rates.shape[1]))
            for k, n in enumerate(np.asarray(counts, dtype=np.int64))
        ]
        return np.concatenate(out) if out else np.empty((0, rates.shape[1]))

    # -- unconstrained coordinates (for SQUAREM, emkit.core.acceleration) ------------------
    def to_unconstrained(self, params: ExponentialParams) -> np.ndarray:
        """Coordinates in which every vector gives valid parameters, shape (n,), float64: the
        log-rates (empty when the rates are frozen)."""
        if "rates" in self.frozen:
            return np.empty(0)
        return np.log(np.asarray(params.rates, dtype=np.float64)).ravel()

    def from_unconstrained(self, vector: ArrayLike, like: ExponentialParams) -> ExponentialParams:
        """Parameters at unconstrained coordinates ``vector`` (see :meth:`to_unconstrained`),
        shaped like ``like``, whose values frozen rates keep.

        Raises
        ------
        ValueError
            When ``vector`` has the wrong number of entries.
        """
        if "rates" in self.frozen:
            take_vector(vector, (0,))
            return like
        return ExponentialParams(np.exp(take_vector(vector, np.shape(like.rates))))
