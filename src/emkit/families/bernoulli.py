"""Bernoulli components: K products of independent binary features, scored and re-estimated
together."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import expit

from emkit.families.base import Family
from emkit.families.checks import (
    check_frozen,
    check_prior,
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
from emkit.numerics.simplex import dirichlet_mode


@dataclass(frozen=True, eq=False)
class BernoulliParams:
    """Parameters of K Bernoulli components in D dimensions.

    Attributes
    ----------
    probs : ndarray of shape (n_components, n_features)
        ``probs[k, d]``: probability that feature ``d`` is 1 under component ``k``.
    """

    probs: np.ndarray


FROZEN_CHOICES = frozenset({"probs"})


@dataclass(frozen=True)
class Bernoulli(Family):
    """The Bernoulli family: D binary features, independent given the component.

    ``log p(x | k) = sum_d x_d log p_kd + (1 - x_d) log(1 - p_kd)``.

    Parameters
    ----------
    prior : float, default=1.0
        A symmetric Beta(``prior``, ``prior``) prior on every probability. The M-step is its
        posterior mode ``(sum_r x + prior - 1) / (sum_w + 2 (prior - 1))``, clipped to
        [0, 1]; ``prior = 1`` is maximum likelihood.
    frozen : frozenset of {'probs'}
        Parameters the M-step keeps as they are.

    Notes
    -----
    Missing values: NaN marks a cell that was not observed (:attr:`allows_missing`). It
    drops out of the likelihood and of its column's statistics, so that every probability
    is estimated from the observed cells of its column; this is the observed-data
    likelihood when values are missing at random (whether a cell is missing may depend on
    what was observed, not on its own value). A row with no observed value adds nothing to
    the parameters (a warning counts such rows when a fit starts).

    Maximum-likelihood probabilities can be exactly 0 or 1 (a feature that is constant
    among a component's samples). A sample that contradicts one, a 1 where ``p = 0`` or a 0
    where ``p = 1``, then has log-probability ``-inf`` under that component, and EM can no
    longer move the probability. ``prior > 1`` keeps every probability inside (0, 1).
    """

    prior: float = 1.0
    frozen: frozenset[str] = frozenset()

    params_class = BernoulliParams
    title = "Bernoulli"
    allows_missing: ClassVar[bool] = True
    """NaN in the data marks a missing cell (see the class's notes)."""

    def summary_tables(self) -> tuple[Table, ...]:
        return (ParameterTable("probabilities of 1 by {unit}", (Columns("probs"),)),)

    def __post_init__(self) -> None:
        object.__setattr__(self, "prior", check_prior(self.prior, "prior", positive=True))
        object.__setattr__(self, "frozen", check_frozen(self.frozen, FROZEN_CHOICES, "Bernoulli"))

    @property
    def monotone(self) -> bool:
        """Whether the M-step exactly maximises the objective EM reports, the expected
        complete-data log-likelihood plus :meth:`log_prior`: with ``prior >= 1`` (its
        posterior mode). A ``prior < 1`` has an unbounded density at the simplex's edge; the
        M-step then clips (hmmlearn's rule), which maximises nothing EM can report.
        """
        return self.prior >= 1.0 or "probs" in self.frozen

    def log_prior(self, params: BernoulliParams) -> float:
        """Log density of the Beta(``prior``, ``prior``) prior at ``params``, up to a
        constant: ``(prior - 1) sum log p + log(1 - p)``. EM adds it once to the summed
        log-likelihood of every pass, so the bound it reports (and never lowers) is the log
        posterior. 0 for ``prior = 1`` (maximum likelihood), for frozen probabilities, and
        for ``prior < 1`` (see :attr:`monotone`)."""
        if self.prior <= 1.0 or "probs" in self.frozen:
            return 0.0
        probs = np.asarray(params.probs, dtype=np.float64)
        with np.errstate(divide="ignore"):
            return float((self.prior - 1.0) * (np.log(probs).sum() + np.log1p(-probs).sum()))

    def check_params(self, params: BernoulliParams, n_components: int, n_features: int) -> None:
        """Raise ValueError unless ``params.probs`` are (n_components, n_features)
        probabilities."""
        probs = checked_array(params.probs, (n_components, n_features), "probs_")
        if np.any((probs < 0) | (probs > 1)):
            raise ValueError("probs_ must hold probabilities in [0, 1]")

    def check_data(self, X: ArrayLike) -> np.ndarray:
        """Validate binary data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Zeros and ones (booleans, integers or floats), NaN where a cell is missing.

        Returns
        -------
        ndarray of shape (n_samples, n_features)
            The data as a floating array (float32 kept, otherwise float64).

        Raises
        ------
        ValueError
            Naming the first problem: not numeric or not 2-D, infinite values, or a value
            other than 0 and 1 (and NaN).
        """
        X = data_with_missing(X, "Bernoulli")
        # NaN differs from 0 and 1 but is a missing cell, not a wrong value.
        refuse(X, (X != 0) & (X != 1) & (X == X), "Bernoulli data must be 0 or 1")
        return X

    def log_prob(self, params: BernoulliParams, X: ArrayLike) -> np.ndarray:
        """``log p(x_i | k)`` over the observed cells of every row (NaN: missing), shape
        (n_samples, n_components)."""
        X = np.asarray(X, dtype=np.float64)
        missing = missing_mask(X)
        ones, zeros = (X, 1.0 - X) if missing is None else _indicators(X, missing)
        probs = np.asarray(params.probs, dtype=np.float64)
        never_one, never_zero = probs == 0.0, probs == 1.0
        with np.errstate(divide="ignore"):
            log_p, log_q = np.log(probs), np.log1p(-probs)
        # 0 * log(0) must count as 0, not NaN: the zero logs are dropped here and the
        # samples that contradict a certain feature are set to -inf below.
        out = ones @ np.where(never_one, 0.0, log_p).T
        out += zeros @ np.where(never_zero, 0.0, log_q).T
        if never_one.any() or never_zero.any():
            contradictions = ones @ never_one.T + zeros @ never_zero.T
            out[contradictions > 0] = -np.inf
        return out

    def stats(self, params: BernoulliParams, X: ArrayLike, resp: np.ndarray) -> ObservedSums:
        """Statistics of samples ``X`` (n, D), NaN where missing, with weights ``resp``
        (n, K)."""
        return observed_sums(X, resp)

    def m_step(self, stats: WeightedSums, params: BernoulliParams) -> BernoulliParams:
        """Posterior-mode probabilities (maximum likelihood for ``prior = 1``).

        ``max(sum_x + prior - 1, 0) / (max(sum_x + prior - 1, 0) + max(sum_w - sum_x + prior
        - 1, 0))``: the two-category case of the categorical rule, which is the clipped
        formula of the class whenever ``sum_w + 2 (prior - 1) > 0``, with ``sum_w`` the
        weight of the observed cells of every column (``sum_obs``). Components with
        (numerically) no observed weight in a column keep their probability there, and so
        does a probability whose both terms are clipped to zero (possible only with
        ``prior < 1``).
        """
        if "probs" in self.frozen:
            return params
        ones = stats.sum_x
        observed = observed_weights(stats)
        counts = np.stack([ones, observed - ones], axis=-1)
        previous = np.stack([params.probs, 1.0 - params.probs], axis=-1)
        probs = dirichlet_mode(counts, self.prior, previous)
        empty = empty_cells(observed, stats.sum_w)
        probs = np.where(empty[..., None], previous, probs)
        return BernoulliParams(probs[..., 0])

    def from_responsibilities(
        self, chunks: Callable[[], Iterable[tuple[np.ndarray, np.ndarray]]]
    ) -> BernoulliParams:
        """Parameters from initial responsibilities: one M-step from scratch.

        Parameters
        ----------
        chunks : callable
            Returns a fresh iterable of ``(X, resp)`` pairs: samples of shape
            (n, n_features) and their responsibilities (n, n_components), already
            multiplied by the sample weights. Read once.

        Components with no weight start at the frequencies of ones in all the data (in
        the observed cells of every column).

        Raises
        ------
        ValueError
            When a column holds no observed value.
        """
        stats = summed_observed(chunks, "Bernoulli")
        pooled = stats.sum_x.sum(axis=0) / column_totals(stats.sum_obs, stats.sum_w, "Bernoulli")
        start = BernoulliParams(np.repeat(pooled[None], stats.sum_w.shape[0], axis=0))
        return replace(self, frozen=frozenset()).m_step(stats, start)

    def n_parameters(self, n_components: int, n_features: int) -> int:
        """Free parameters of K components: ``K * D`` (0 when the probabilities are frozen)."""
        return 0 if "probs" in self.frozen else n_components * n_features

    def sample(
        self, params: BernoulliParams, counts: ArrayLike, random_state: np.random.RandomState
    ) -> np.ndarray:
        """``counts[k]`` samples from every component, stacked in component order,
        shape (counts.sum(), n_features), float64 zeros and ones."""
        probs = np.asarray(params.probs, dtype=np.float64)
        out = [
            (random_state.random_sample((int(n), probs.shape[1])) < probs[k]).astype(np.float64)
            for k, n in enumerate(np.asarray(counts, dtype=np.int64))
        ]
        return np.concatenate(out) if out else np.empty((0, probs.shape[1]))

    # -- unconstrained coordinates (for SQUAREM, emkit.core.acceleration) ------------------
    def to_unconstrained(self, params: BernoulliParams) -> np.ndarray:
        """Coordinates in which every vector gives valid parameters, shape (n,), float64: the
        logits ``log(p / (1 - p))`` of the probabilities (empty when they are frozen). A
        probability of 0 or 1 has an infinite logit, so that SQUAREM takes a plain EM step."""
        if "probs" in self.frozen:
            return np.empty(0)
        probs = np.asarray(params.probs, dtype=np.float64)
        with np.errstate(divide="ignore"):
            return (np.log(probs) - np.log1p(-probs)).ravel()

    def from_unconstrained(self, vector: ArrayLike, like: BernoulliParams) -> BernoulliParams:
        """Parameters at unconstrained coordinates ``vector`` (see :meth:`to_unconstrained`),
        shaped like ``like``, whose values frozen probabilities keep.

        Raises
        ------
        ValueError
            When ``vector`` has the wrong number of entries.
        """
        if "probs" in self.frozen:
            take_vector(vector, (0,))
            return like
        return BernoulliParams(expit(take_vector(vector, np.shape(like.probs))))


def _indicators(X: np.ndarray, missing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indicators of the observed ones and zeros of ``X`` (n, D), shape (n, D) each: a
    missing cell is neither."""
    return np.where(missing, 0.0, X), np.where(missing, 0.0, 1.0 - X)
