"""Multinomial components: count vectors (bag of words), K components scored and re-estimated
together."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import gammaln

from emkit.families.base import Family
from emkit.families.checks import (
    check_counts,
    check_frozen,
    check_prior,
    check_simplex,
    checked_array,
    data_array,
    empty_components,
    number,
    take_vector,
)
from emkit.families.sums import WeightedSums, summed_chunks, weighted_sums
from emkit.families.tables import Columns, ParameterTable, Table
from emkit.numerics.simplex import dirichlet_mode, softmax_rows


@dataclass(frozen=True, eq=False)
class MultinomialParams:
    """Parameters of K multinomial components over V categories.

    Attributes
    ----------
    probs : ndarray of shape (n_components, n_features)
        ``probs[k, v]``: probability of category (word) ``v`` in one trial under component
        ``k``; every row sums to one.
    """

    probs: np.ndarray


FROZEN_CHOICES = frozenset({"probs"})


@dataclass(frozen=True)
class Multinomial(Family):
    """The multinomial family: every sample is a vector of counts of V categories in
    ``n = sum_v x_v`` independent trials (the emission of hmmlearn's MultinomialHMM).

    ``log p(x | k) = log(n! / prod_v x_v!) + sum_v x_v log p_kv``. The multinomial
    coefficient does not depend on the parameters, but keeps the value a true
    log-probability (as scipy.stats.multinomial.logpmf and hmmlearn compute it).

    Parameters
    ----------
    n_trials : int or None, default=None
        None: rows may have any total. A number: every row must sum to it
        (:meth:`check_data`), and :meth:`sample` draws rows of that total.
    prior : float, default=1.0
        Concentration of a symmetric Dirichlet prior on every component's probabilities.
        The M-step is ``max(prior - 1 + sum_x, 0)`` normalised; ``prior = 1`` is maximum
        likelihood (hmmlearn's MultinomialHMM, which has no prior).
    frozen : frozenset of {'probs'}
        Parameters the M-step keeps as they are.

    Notes
    -----
    Maximum-likelihood probabilities of exactly zero (a category no sample of the component
    holds) give ``-inf`` log-probabilities to samples that hold it; ``prior > 1`` keeps them
    positive.
    """

    n_trials: int | None = None
    prior: float = 1.0
    frozen: frozenset[str] = frozenset()

    params_class = MultinomialParams
    title = "multinomial"

    def summary_tables(self) -> tuple[Table, ...]:
        return (ParameterTable("category probabilities by {unit}", (Columns("probs"),)),)

    def __post_init__(self) -> None:
        if self.n_trials is not None:
            n = self.n_trials
            integral = isinstance(n, (int, np.integer)) or (
                isinstance(n, (float, np.floating)) and float(n).is_integer()
            )
            if isinstance(n, (bool, np.bool_)) or not integral or n < 0:
                raise ValueError(f"n_trials must be a non-negative integer, got {n!r}")
            object.__setattr__(self, "n_trials", int(n))
        object.__setattr__(self, "prior", check_prior(self.prior, "prior", positive=True))
        object.__setattr__(self, "frozen", check_frozen(self.frozen, FROZEN_CHOICES, "Multinomial"))

    @property
    def monotone(self) -> bool:
        """Whether the M-step exactly maximises the objective EM reports, the expected
        complete-data log-likelihood plus :meth:`log_prior`: with ``prior >= 1`` (its
        posterior mode). A ``prior < 1`` has an unbounded density at the simplex's edge; the
        M-step then clips (hmmlearn's rule), which maximises nothing EM can report.
        """
        return self.prior >= 1.0 or "probs" in self.frozen

    def log_prior(self, params: MultinomialParams) -> float:
        """Log density of the Dirichlet(``prior``) prior at ``params``, up to a constant:
        ``(prior - 1) sum log p`` over every component's probabilities. EM adds it once to
        the summed log-likelihood of every pass, so the bound it reports (and never lowers)
        is the log posterior. 0 for ``prior = 1`` (maximum likelihood), for frozen
        probabilities, and for ``prior < 1`` (see :attr:`monotone`)."""
        if self.prior <= 1.0 or "probs" in self.frozen:
            return 0.0
        with np.errstate(divide="ignore"):
            return float((self.prior - 1.0) * np.log(np.asarray(params.probs)).sum())

    def check_params(self, params: MultinomialParams, n_components: int, n_features: int) -> None:
        """Raise ValueError unless ``params.probs`` are (n_components, n_features) rows of
        probabilities summing to one."""
        probs = checked_array(params.probs, (n_components, n_features), "probs_")
        check_simplex(probs, True, "probs_")

    def check_data(self, X: ArrayLike) -> np.ndarray:
        """Validate count vectors.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Non-negative whole numbers; every row sums to ``n_trials`` when it is set.

        Returns
        -------
        ndarray of shape (n_samples, n_features)
            The counts as a floating array (float32 kept, otherwise float64).

        Raises
        ------
        ValueError
            Naming the first problem: not numeric or not 2-D, NaN or infinite values,
            negative or fractional counts, or a row whose total is not ``n_trials``.
        """
        X = data_array(X, "Multinomial")
        check_counts(X, "Multinomial")
        if self.n_trials is not None:
            totals = X.sum(axis=1, dtype=np.float64)
            wrong = np.flatnonzero(totals != self.n_trials)
            if wrong.size:
                row = int(wrong[0])
                raise ValueError(
                    f"Multinomial rows must sum to n_trials={self.n_trials}; row {row} sums "
                    f"to {number(totals[row])}"
                )
        return X

    def log_prob(self, params: MultinomialParams, X: ArrayLike) -> np.ndarray:
        """``log p(x_i | k)``, shape (n_samples, n_components)."""
        X = np.asarray(X, dtype=np.float64)
        probs = np.asarray(params.probs, dtype=np.float64)
        impossible = probs == 0.0
        with np.errstate(divide="ignore"):
            log_p = np.log(probs)
        # 0 * log(0) must count as 0, not NaN: the zero logs are dropped here and the
        # samples that hold an impossible category are set to -inf below.
        out = X @ np.where(impossible, 0.0, log_p).T
        out += (gammaln(X.sum(axis=1) + 1.0) - gammaln(X + 1.0).sum(axis=1))[:, None]
        if impossible.any():
            out[X @ impossible.T > 0] = -np.inf
        return out

    def stats(self, params: MultinomialParams, X: ArrayLike, resp: np.ndarray) -> WeightedSums:
        """Statistics of samples ``X`` (n, V) with weights ``resp`` (n, K)."""
        return weighted_sums(X, resp)

    def m_step(self, stats: WeightedSums, params: MultinomialParams) -> MultinomialParams:
        """Posterior-mode probabilities (maximum likelihood for ``prior = 1``):
        ``max(prior - 1 + sum_x, 0)`` normalised over the categories.

        Components with (numerically) no weight keep their probabilities, and so does a
        component whose counts are all clipped to zero (rows with no trials at all, or
        ``prior < 1``).
        """
        if "probs" in self.frozen:
            return params
        probs = dirichlet_mode(stats.sum_x, self.prior, params.probs, empty_components(stats.sum_w))
        return MultinomialParams(probs)

    def from_responsibilities(
        self, chunks: Callable[[], Iterable[tuple[np.ndarray, np.ndarray]]]
    ) -> MultinomialParams:
        """Parameters from initial responsibilities: one M-step from scratch.

        Parameters
        ----------
        chunks : callable
            Returns a fresh iterable of ``(X, resp)`` pairs: counts of shape
            (n, n_features) and their responsibilities (n, n_components), already
            multiplied by the sample weights. Read once.

        Components with no weight start at the category frequencies of all the data.
        """
        stats = summed_chunks(chunks)
        pooled = stats.sum_x.sum(axis=0)
        start = MultinomialParams(
            np.repeat((pooled / pooled.sum())[None], stats.sum_w.shape[0], axis=0)
        )
        return replace(self, frozen=frozenset()).m_step(stats, start)

    def n_parameters(self, n_components: int, n_features: int) -> int:
        """Free parameters of K components: ``K * (V - 1)`` (0 when the probabilities are
        frozen)."""
        return 0 if "probs" in self.frozen else n_components * (n_features - 1)

    def sample(
        self, params: MultinomialParams, counts: ArrayLike, random_state: np.random.RandomState
    ) -> np.ndarray:
        """``counts[k]`` rows of ``n_trials`` trials from every component, stacked in
        component order, shape (counts.sum(), n_features), float64 counts.

        Raises
        ------
        ValueError
            When the family has no ``n_trials``.
        """
        if self.n_trials is None:
            raise ValueError(
                "Multinomial.sample needs the number of trials of a row: build the family "
                "with n_trials"
            )
        probs = np.asarray(params.probs, dtype=np.float64)
        out = [
            random_state.multinomial(self.n_trials, probs[k], size=int(n)).astype(np.float64)
            for k, n in enumerate(np.asarray(counts, dtype=np.int64))
        ]
        return np.concatenate(out) if out else np.empty((0, probs.shape[1]))

    # -- unconstrained coordinates (for SQUAREM, emkit.core.acceleration) ------------------
    def to_unconstrained(self, params: MultinomialParams) -> np.ndarray:
        """Coordinates in which every vector gives valid parameters, shape (n,), float64: the
        log-probabilities (a softmax over every component's row maps them back); empty when
        they are frozen. A zero probability has coordinate ``-inf``, so that SQUAREM takes a
        plain EM step."""
        if "probs" in self.frozen:
            return np.empty(0)
        with np.errstate(divide="ignore"):
            return np.log(np.asarray(params.probs, dtype=np.float64)).ravel()

    def from_unconstrained(self, vector: ArrayLike, like: MultinomialParams) -> MultinomialParams:
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
        return MultinomialParams(softmax_rows(take_vector(vector, np.shape(like.probs))))
