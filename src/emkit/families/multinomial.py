"""Multinomial components: count vectors (bag of words), K components scored and re-estimated
together.

Count data may be dense or sparse (a ``scipy.sparse`` matrix or array, held as CSR): a
document-term matrix of a large vocabulary is scored and summed through its stored entries
alone (``X @ log(p).T`` is a sparse-dense product, and the multinomial coefficient needs
``gammaln`` of the row totals and of the non-zero counts only), never densified.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
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
    refuse,
    take_vector,
)
from emkit.families.sums import WeightedSums, weighted_sums
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
    accepts_sparse: ClassVar[bool] = True
    """CSR rows are checked, scored and summed as they are, never densified."""

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

    def check_data(self, X: ArrayLike | sp.sparray | sp.spmatrix) -> np.ndarray | sp.csr_array:
        """Validate count vectors.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Non-negative whole numbers; every row sums to ``n_trials`` when it is set.
            Sparse data of any format is read as CSR.

        Returns
        -------
        ndarray or scipy.sparse.csr_array of shape (n_samples, n_features)
            The counts as a floating array (float32 kept, otherwise float64); sparse data
            as a canonical CSR array (sorted indices, no duplicate entries), which shares
            the arrays of a canonical float CSR input.

        Raises
        ------
        ValueError
            Naming the first problem: not numeric or not 2-D, NaN or infinite values,
            negative or fractional counts, or a row whose total is not ``n_trials``.
        """
        if sp.issparse(X):
            X = _sparse_counts(X)
        else:
            raw = np.asarray(X)
            if raw.ndim == 2 and raw.dtype.kind == "f":
                refuse(raw, np.isnan(raw), NO_MISSING)
            X = data_array(X, "Multinomial")
            check_counts(X, "Multinomial")
        if self.n_trials is not None:
            totals = _row_totals(X)
            wrong = np.flatnonzero(totals != self.n_trials)
            if wrong.size:
                row = int(wrong[0])
                raise ValueError(
                    f"Multinomial rows must sum to n_trials={self.n_trials}; row {row} sums "
                    f"to {number(totals[row])}"
                )
        return X

    def log_prob(self, params: MultinomialParams, X: ArrayLike | sp.sparray) -> np.ndarray:
        """``log p(x_i | k)``, shape (n_samples, n_components); ``X`` dense or CSR."""
        X = _float64_rows(X)
        probs = np.asarray(params.probs, dtype=np.float64)
        impossible = probs == 0.0
        with np.errstate(divide="ignore"):
            log_p = np.log(probs)
        # 0 * log(0) must count as 0, not NaN: the zero logs are dropped here and the
        # samples that hold an impossible category are set to -inf below.
        out = np.asarray(X @ np.where(impossible, 0.0, log_p).T)
        if sp.issparse(X):
            # A zero count adds gammaln(1) = 0: the stored entries are all the sum needs.
            log_factorials = _row_sums_of_stored(X, gammaln(X.data + 1.0))
        else:
            log_factorials = gammaln(X + 1.0).sum(axis=1)
        out += (gammaln(_row_totals(X) + 1.0) - log_factorials)[:, None]
        if impossible.any():
            out[np.asarray(X @ impossible.T.astype(np.float64)) > 0] = -np.inf
        return out

    def stats(
        self, params: MultinomialParams, X: ArrayLike | sp.sparray, resp: np.ndarray
    ) -> WeightedSums:
        """Statistics of samples ``X`` (n, V), dense or CSR, with weights ``resp`` (n, K)."""
        return _weighted_counts(X, resp)

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
            (n, n_features), dense or CSR, and their responsibilities (n, n_components), already
            multiplied by the sample weights. Read once.

        Components with no weight start at the category frequencies of all the data.
        """
        stats = _summed_counts(chunks)
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


# -- dense and sparse counts ----------------------------------------------------------------------
def _sparse_counts(X: Any) -> sp.csr_array:
    """Sparse counts as a canonical float CSR array, checked as :func:`check_counts` checks
    dense ones, in the same words: the first offending entry in row-major order is named
    (a stored one: the implicit zeros are valid counts)."""
    X = sp.csr_array(X)
    if X.ndim != 2:
        raise ValueError(
            f"Multinomial data must be a 2-D array (n_samples, n_features), got shape {X.shape}"
        )
    if X.dtype.kind not in "biuf":
        raise ValueError(f"Multinomial data must be numeric, got an array of dtype {X.dtype}")
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    if not X.has_canonical_format:
        X = X.copy()
        X.sum_duplicates()
    data = X.data
    with np.errstate(invalid="ignore"):
        problems = (
            (np.isnan(data), NO_MISSING),
            (~np.isfinite(data), "Multinomial data must be finite"),
            (data < 0, "Multinomial counts must be non-negative"),
            (data != np.floor(data), "Multinomial counts must be integers"),
        )
    for bad, requirement in problems:
        if bad.any():
            first = int(np.argmax(bad))
            row = int(np.searchsorted(X.indptr, first, side="right") - 1)
            raise ValueError(
                f"{requirement}; column {int(X.indices[first])} holds {number(data[first])} "
                f"(row {row})"
            )
    return X


NO_MISSING = (
    "Multinomial data cannot hold missing values (NaN): a row's counts are one draw of its "
    "total, so a missing cell leaves the others' distribution undefined; fill the cell or "
    "drop the row"
)
"""Why a multinomial refuses NaN."""


def _float64_rows(X: Any) -> np.ndarray | sp.csr_array:
    """Rows as float64: a dense array, or CSR (float32 values converted, structure shared)."""
    if sp.issparse(X):
        X = sp.csr_array(X)
        return X if X.dtype == np.float64 else X.astype(np.float64)
    return np.asarray(X, dtype=np.float64)


def _row_sums_of_stored(X: sp.csr_array, values: np.ndarray) -> np.ndarray:
    """``values`` (one per stored entry of CSR ``X``) summed over every row, shape
    (n_samples,), float64."""
    rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
    return np.bincount(rows, weights=values, minlength=X.shape[0])


def _row_totals(X: np.ndarray | sp.csr_array) -> np.ndarray:
    """Total count of every row, shape (n_samples,), float64."""
    if sp.issparse(X):
        return _row_sums_of_stored(X, np.asarray(X.data, dtype=np.float64))
    return X.sum(axis=1, dtype=np.float64)


def _weighted_counts(X: Any, resp: np.ndarray) -> WeightedSums:
    """Totals of counts ``X`` (n, V), dense or CSR, with weights ``resp`` (n, K), float64."""
    if not sp.issparse(X):
        return weighted_sums(X, resp)
    resp = np.asarray(resp, dtype=np.float64)
    # (X^T R)^T: a sparse-dense product, whose cost is the stored entries times K.
    sum_x = np.ascontiguousarray(np.asarray(_float64_rows(X).T @ resp).T)
    return WeightedSums(resp.sum(axis=0), sum_x)


def _summed_counts(chunks: Callable[[], Iterable[tuple[Any, np.ndarray]]]) -> WeightedSums:
    """:func:`summed_chunks` over chunks of dense or CSR counts.

    Raises
    ------
    ValueError
        When there are no chunks.
    """
    stats = sum(_weighted_counts(X, resp) for X, resp in chunks())
    if not isinstance(stats, WeightedSums):
        raise ValueError("the data holds no rows")
    return stats
