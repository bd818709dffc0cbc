"""Poisson components: K products of independent Poisson counts, scored and re-estimated
together."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import gammaln, xlogy

from emkit.families.base import Family
from emkit.families.checks import (
    check_counts,
    check_frozen,
    check_prior,
    checked_array,
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
class PoissonParams:
    """Parameters of K Poisson components in D dimensions.

    Attributes
    ----------
    lambdas : ndarray of shape (n_components, n_features)
        ``lambdas[k, d]``: mean (rate) of feature ``d`` under component ``k``.
    """

    lambdas: np.ndarray


FROZEN_CHOICES = frozenset({"lambdas"})


@dataclass(frozen=True)
class Poisson(Family):
    """The Poisson family: D counts, independent given the component (the emission of
    hmmlearn's PoissonHMM).

    ``log p(x | k) = sum_d x_d log lambda_kd - lambda_kd - log(x_d!)``.

    Parameters
    ----------
    lambdas_prior, lambdas_weight : float, default=0.0
        A Gamma prior on every rate, with hmmlearn's parametrisation: the M-step is
        ``(lambdas_prior + sum_r x) / (lambdas_weight + sum_w)``, the posterior mode under
        a Gamma(shape ``lambdas_prior + 1``, rate ``lambdas_weight``) prior (equivalently,
        the posterior mean under Gamma(``lambdas_prior``, ``lambdas_weight``)).
        ``lambdas_weight`` acts as a number of pseudo-samples with mean
        ``lambdas_prior / lambdas_weight``. Both 0: maximum likelihood.
    frozen : frozenset of {'lambdas'}
        Parameters the M-step keeps as they are.

    Notes
    -----
    Missing values: NaN marks a cell that was not observed (:attr:`allows_missing`). It
    drops out of the likelihood and of its column's statistics, so that every rate is
    estimated from the observed cells of its column; this is the observed-data likelihood
    when values are missing at random (whether a cell is missing may depend on what was
    observed, not on its own value). A row with no observed value adds nothing to the
    parameters (a warning counts such rows when a fit starts).

    A maximum-likelihood rate is exactly zero when a component's samples all count 0 in a
    feature; a sample with a positive count there then has log-probability ``-inf`` under
    that component. ``lambdas_prior > 0`` keeps every rate positive.
    """

    lambdas_prior: float = 0.0
    lambdas_weight: float = 0.0
    frozen: frozenset[str] = frozenset()

    params_class = PoissonParams
    title = "Poisson"
    allows_missing: ClassVar[bool] = True
    """NaN in the data marks a missing cell (see the class's notes)."""

    def summary_tables(self) -> tuple[Table, ...]:
        return (ParameterTable("rates by {unit}", (Columns("lambdas"),)),)

    def __post_init__(self) -> None:
        for name in ("lambdas_prior", "lambdas_weight"):
            value = check_prior(getattr(self, name), name, positive=False)
            object.__setattr__(self, name, value)
        object.__setattr__(self, "frozen", check_frozen(self.frozen, FROZEN_CHOICES, "Poisson"))

    def check_params(self, params: PoissonParams, n_components: int, n_features: int) -> None:
        """Raise ValueError unless ``params.lambdas`` are (n_components, n_features)
        non-negative rates."""
        lambdas = checked_array(params.lambdas, (n_components, n_features), "lambdas_")
        if np.any(lambdas < 0):
            raise ValueError("lambdas_ must hold non-negative rates")

    def log_prior(self, params: PoissonParams) -> float:
        """Log density of the Gamma prior at ``params``, up to a constant: ``sum
        lambdas_prior log(lambda) - lambdas_weight lambda``, whose posterior mode the M-step
        is. It is added once to the summed log-likelihood of every pass, so the bound EM
        reports (and never lowers) is the log posterior; 0 without a prior."""
        if "lambdas" in self.frozen:
            return 0.0
        lambdas = np.asarray(params.lambdas, dtype=np.float64)
        with np.errstate(divide="ignore"):
            # xlogy: a zero rate with no prior pseudo-count contributes 0, not nan.
            return float((xlogy(self.lambdas_prior, lambdas) - self.lambdas_weight * lambdas).sum())

    def check_data(self, X: ArrayLike) -> np.ndarray:
        """Validate counts.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Non-negative whole numbers, NaN where a cell is missing.

        Returns
        -------
        ndarray of shape (n_samples, n_features)
            The counts as a floating array (float32 kept, otherwise float64).

        Raises
        ------
        ValueError
            Naming the first problem: not numeric or not 2-D, infinite values, or negative
            or fractional counts.
        """
        X = data_with_missing(X, "Poisson")
        missing = missing_mask(X)
        # A missing cell is no fractional count: the check sees a 0 in its place.
        check_counts(X if missing is None else np.where(missing, 0.0, X), "Poisson")
        return X

    def log_prob(self, params: PoissonParams, X: ArrayLike) -> np.ndarray:
        """``log p(x_i | k)`` over the observed cells of every row (NaN: missing), shape
        (n_samples, n_components)."""
        X = np.asarray(X, dtype=np.float64)
        missing = missing_mask(X)
        if missing is not None:
            X = np.where(missing, 0.0, X)
        lambdas = np.asarray(params.lambdas, dtype=np.float64)
        zero = lambdas == 0.0
        with np.errstate(divide="ignore"):
            log_lambdas = np.log(lambdas)
        # 0 * log(0) must count as 0, not NaN (P(0 | lambda = 0) = 1): the zero logs are
        # dropped here and positive counts at a zero rate are set to -inf below.
        out = X @ np.where(zero, 0.0, log_lambdas).T
        if missing is None:
            out -= lambdas.sum(axis=1)
        else:
            out -= (~missing).astype(np.float64) @ lambdas.T
        out -= gammaln(X + 1.0).sum(axis=1)[:, None]
        if zero.any():
            out[X @ zero.T > 0] = -np.inf
        return out

    def stats(self, params: PoissonParams, X: ArrayLike, resp: np.ndarray) -> ObservedSums:
        """Statistics of samples ``X`` (n, D), NaN where missing, with weights ``resp``
        (n, K)."""
        return observed_sums(X, resp)

    def m_step(self, stats: WeightedSums, params: PoissonParams) -> PoissonParams:
        """``(lambdas_prior + sum_x) / (lambdas_weight + sum_w)`` (maximum likelihood
        ``sum_x / sum_w`` without a prior), with ``sum_w`` the weight of the observed cells
        of every column (``sum_obs``).

        Components with (numerically) no observed weight in a column keep their rate there.
        """
        if "lambdas" in self.frozen:
            return params
        observed = observed_weights(stats)
        empty = empty_cells(observed, stats.sum_w)
        weight = np.where(empty, 1.0, self.lambdas_weight + observed)
        lambdas = (self.lambdas_prior + stats.sum_x) / weight
        return PoissonParams(np.where(empty, params.lambdas, lambdas))

    def from_responsibilities(
        self, chunks: Callable[[], Iterable[tuple[np.ndarray, np.ndarray]]]
    ) -> PoissonParams:
        """Parameters from initial responsibilities: one M-step from scratch.

        Parameters
        ----------
        chunks : callable
            Returns a fresh iterable of ``(X, resp)`` pairs: counts of shape
            (n, n_features) and their responsibilities (n, n_components), already
            multiplied by the sample weights. Read once.

        Components with no weight start at the mean of all the data (of the observed
        cells of every column).

        Raises
        ------
        ValueError
            When a column holds no observed value.
        """
        stats = summed_observed(chunks, "Poisson")
        pooled = stats.sum_x.sum(axis=0) / column_totals(stats.sum_obs, stats.sum_w, "Poisson")
        start = PoissonParams(np.repeat(pooled[None], stats.sum_w.shape[0], axis=0))
        return replace(self, frozen=frozenset()).m_step(stats, start)

    def random_params(
        self, X: ArrayLike, n_components: int, random_state: np.random.RandomState
    ) -> PoissonParams:
        """Random rates around the data, as hmmlearn's PoissonHMM initialises them.

        Every rate is an independent Gamma draw with the mean and variance of all the
        entries of ``X`` (method of moments): shape ``mean^2 / var``, scale ``var / mean``.
        Given a RandomState in the same state, the draws equal hmmlearn's. Missing cells
        (NaN) are left out of the mean and variance.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Counts.
        n_components : int
            Number of components K.
        random_state : RandomState
            Source of the draws.

        Raises
        ------
        ValueError
            When the entries of ``X`` are all equal (or all zero), which leaves the Gamma
            distribution undefined.
        """
        X = np.asarray(X)
        missing = missing_mask(X)
        values = X if missing is None else X[~missing]
        mean, var = values.mean(), values.var()
        if not (mean > 0 and var > 0):
            raise ValueError(
                "random Poisson rates need data with a positive mean and variance, got "
                f"mean {mean:g} and variance {var:g}"
            )
        lambdas = random_state.gamma(
            shape=mean**2 / var, scale=var / mean, size=(n_components, X.shape[1])
        )
        return PoissonParams(lambdas)

    def n_parameters(self, n_components: int, n_features: int) -> int:
        """Free parameters of K components: ``K * D`` (0 when the rates are frozen)."""
        return 0 if "lambdas" in self.frozen else n_components * n_features

    def sample(
        self, params: PoissonParams, counts: ArrayLike, random_state: np.random.RandomState
    ) -> np.ndarray:
        """``counts[k]`` samples from every component, stacked in component order,
        shape (counts.sum(), n_features), float64 counts."""
        lambdas = np.asarray(params.lambdas, dtype=np.float64)
        out = [
            random_state.poisson(lambdas[k], size=(int(n), lambdas.shape[1])).astype(np.float64)
            for k, n in enumerate(np.asarray(counts, dtype=np.int64))
        ]
        return np.concatenate(out) if out else np.empty((0, lambdas.shape[1]))

    # -- unconstrained coordinates (for SQUAREM, emkit.core.acceleration) ------------------
    def to_unconstrained(self, params: PoissonParams) -> np.ndarray:
        """Coordinates in which every vector gives valid parameters, shape (n,), float64: the
        log-rates (empty when the rates are frozen). A zero rate has coordinate ``-inf``, so
        that SQUAREM takes a plain EM step."""
        if "lambdas" in self.frozen:
            return np.empty(0)
        with np.errstate(divide="ignore"):
            return np.log(np.asarray(params.lambdas, dtype=np.float64)).ravel()

    def from_unconstrained(self, vector: ArrayLike, like: PoissonParams) -> PoissonParams:
        """Parameters at unconstrained coordinates ``vector`` (see :meth:`to_unconstrained`),
        shaped like ``like``, whose values frozen rates keep.

        Raises
        ------
        ValueError
            When ``vector`` has the wrong number of entries.
        """
        if "lambdas" in self.frozen:
            take_vector(vector, (0,))
            return like
        return PoissonParams(np.exp(take_vector(vector, np.shape(like.lambdas))))
