"""Exponential components: K products of independent exponential features, scored and
re-estimated together."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike

from emkit.families.base import Family
from emkit.families.checks import (
    check_frozen,
    checked_array,
    refuse,
    take_vector,
)
from emkit.families.missing import (
    ObservedSums,
    column_totals,
    data_with_missing,
    empty_cells,
    missing_mask,
    observed_sums,
    observed_weights,
    summed_observed,
)
from emkit.families.sums import WeightedSums
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

    Notes
    -----
    Missing values: NaN marks a cell that was not observed (:attr:`allows_missing`). It
    drops out of the likelihood and of its column's statistics, so that every rate is
    estimated from the observed cells of its column; this is the observed-data likelihood
    when values are missing at random (whether a cell is missing may depend on what was
    observed, not on its own value). A row with no observed value adds nothing to the
    parameters (a warning counts such rows when a fit starts).
    """

    frozen: frozenset[str] = frozenset()

    params_class = ExponentialParams
    title = "exponential"
    allows_missing: ClassVar[bool] = True
    """NaN in the data marks a missing cell (see the class's notes)."""

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
            Non-negative numbers, NaN where a cell is missing.

        Returns
        -------
        ndarray of shape (n_samples, n_features)
            The data as a floating array (float32 kept, otherwise float64).

        Raises
        ------
        ValueError
            Naming the first problem: not numeric or not 2-D, infinite values, or negative
            values.
        """
        X = data_with_missing(X, "Exponential")
        refuse(X, X < 0, "Exponential data must be non-negative")
        return X

    def log_prob(self, params: ExponentialParams, X: ArrayLike) -> np.ndarray:
        """``log p(x_i | k)`` over the observed cells of every row (NaN: missing), shape
        (n_samples, n_components)."""
        X = np.asarray(X, dtype=np.float64)
        rates = np.asarray(params.rates, dtype=np.float64)
        missing = missing_mask(X)
        if missing is None:
            out = -(X @ rates.T)
            out += np.log(rates).sum(axis=1)
        else:
            out = -(np.where(missing, 0.0, X) @ rates.T)
            out += (~missing).astype(np.float64) @ np.log(rates).T
        return out

    def stats(self, params: ExponentialParams, X: ArrayLike, resp: np.ndarray) -> ObservedSums:
        """Statistics of samples ``X`` (n, D), NaN where missing, with weights ``resp``
        (n, K)."""
        return observed_sums(X, resp)

    def m_step(self, stats: WeightedSums, params: ExponentialParams) -> ExponentialParams:
        """Maximum-likelihood rates ``sum_w / sum_x``, with ``sum_w`` the weight of the
        observed cells of every column (``sum_obs``).

        Components with (numerically) no observed weight in a column keep their rate there.

        Raises
        ------
        ValueError
            When a component with weight has all of it on samples that are 0 in some
            feature: the likelihood grows without bound as that rate goes to infinity.
        """
        if "rates" in self.frozen:
            return params
        observed = observed_weights(stats)
        empty = empty_cells(observed, stats.sum_w)
        degenerate = (stats.sum_x <= 0) & ~empty
        if degenerate.any():
            k, d = np.argwhere(degenerate)[0]
            raise ValueError(
                f"component {k} puts all its weight on samples that are 0 in feature {d}: "
                "its maximum-likelihood rate there is infinite (the likelihood is unbounded)"
            )
        sum_x = np.where(empty, 1.0, stats.sum_x)
        rates = observed / sum_x
        return ExponentialParams(np.where(empty, params.rates, rates))

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

        Components with no weight start at the rates of all the data (of the observed cells
        of every column).

        Raises
        ------
        ValueError
            When a column holds no observed value.
        """
        stats = summed_observed(chunks, "Exponential")
        totals = column_totals(stats.sum_obs, stats.sum_w, "Exponential")
        with np.errstate(divide="ignore"):
            # All-zero data gives infinite rates here; the M-step then says why.
            pooled = totals / stats.sum_x.sum(axis=0)
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
