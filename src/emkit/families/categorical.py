"""Categorical components: one or several categorical columns per sample (latent class
analysis), K components scored and re-estimated together.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike

from emkit.core.stats import Additive
from emkit.families.base import Family
from emkit.families.checks import (
    check_frozen,
    check_prior,
    check_simplex,
    checked_array,
    empty_components,
    number,
    refuse,
    take_vector,
)
from emkit.families.missing import (
    data_with_missing,
    empty_cells,
    missing_mask,
    repeated,
    warn_unobserved,
)
from emkit.families.tables import Columns, ParameterTable, Table
from emkit.numerics.simplex import dirichlet_mode, softmax_rows

# -- the categorical family ------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class CategoricalParams:
    """Parameters of K components over C categorical columns.

    Attributes
    ----------
    probs : ndarray of shape (n_components, n_columns, max_categories)
        ``probs[k, c, l]``: probability of category ``l`` in column ``c`` under component
        ``k``; zero beyond each column's number of categories, and summing to one over the
        others.
    n_categories : ndarray of shape (n_columns,) of int64
        Number of categories of every column (codes ``0 .. n_categories[c] - 1``).
    """

    probs: np.ndarray
    n_categories: np.ndarray


@dataclass(frozen=True, eq=False)
class CategoricalStats(Additive):
    """Weighted category counts.

    Attributes
    ----------
    sum_w : ndarray of shape (n_components,)
        Total weight of every component.
    counts : ndarray of shape (n_components, n_columns, max_categories)
        ``sum_i r_ik [x_ic = l]``.
    """

    sum_w: np.ndarray
    counts: np.ndarray


@dataclass(frozen=True, eq=False)
class ObservedCategoricalStats(CategoricalStats):
    """Weighted category counts and the weight of the observed cells (what
    :meth:`Categorical.stats` gives).

    Attributes
    ----------
    sum_w : ndarray of shape (n_components,)
        Total weight of every component.
    counts : ndarray of shape (n_components, n_columns, max_categories)
        ``sum_i r_ik [x_ic = l]`` (a missing cell is no category).
    sum_obs : ndarray of shape (n_components, n_columns)
        ``sum_i r_ik [x_ic observed]``: the weight of every component's observed cells of
        every column (``sum_w`` in every column when nothing is missing).
    """

    sum_obs: np.ndarray


FROZEN_CHOICES = frozenset({"probs"})


MAX_CATEGORIES = 1 << 20
"""Most categories a column may have (codes 0 .. MAX_CATEGORIES - 1)."""


@dataclass(frozen=True)
class Categorical(Family):
    """The categorical family: every column of a sample is one categorical draw, the columns
    independent given the component (latent class analysis; one column is the emission of
    hmmlearn's CategoricalHMM).

    ``log p(x | k) = sum_c log probs[k, c, x_c]``.

    Parameters
    ----------
    n_categories : int, sequence of int, or None, default=None
        Categories of every column: one number for all columns, one per column, or None to
        take ``max + 1`` of every column of the data that :meth:`from_responsibilities` sees
        (the parameters then carry the numbers).
    prior : float, default=1.0
        Concentration of a symmetric Dirichlet prior on every column's probabilities. The
        M-step, per component and column, is ``max(prior - 1 + counts, 0)`` normalised
        (hmmlearn's rule); ``prior = 1`` is maximum likelihood.
    frozen : frozenset of {'probs'}
        Parameters the M-step keeps as they are.

    Notes
    -----
    Missing values: NaN marks a cell that was not observed (:attr:`allows_missing`), so
    that data with missing answers come as float codes with NaN in their place (integer
    arrays cannot hold NaN: ``X.astype(float)``, then set the missing cells to
    ``numpy.nan``; negative codes such as -1 are refused, not read as missing). A missing
    cell drops out of the likelihood and of its column's counts, so that every column's
    probabilities are estimated from its observed cells; this is the observed-data
    likelihood when values are missing at random (whether a cell is missing may depend on
    what was observed, not on its own value). A row with no observed value adds nothing to
    the parameters (a warning counts such rows when a fit starts).

    Maximum-likelihood probabilities of exactly zero (a category no sample of the component
    shows) give ``-inf`` log-probabilities to samples that hold it; ``prior > 1`` keeps them
    positive.
    """

    n_categories: int | Sequence[int] | None = None
    prior: float = 1.0
    frozen: frozenset[str] = frozenset()

    params_class = CategoricalParams
    title = "categorical"
    allows_missing: ClassVar[bool] = True
    """NaN in the data marks a missing cell (see the class's notes)."""

    def summary_tables(self) -> tuple[Table, ...]:
        probs = Columns("probs", "categories", counts="n_categories")
        return (ParameterTable("category probabilities by {unit} (feature=code)", (probs,)),)

    def __post_init__(self) -> None:
        n = self.n_categories
        if n is not None:
            values = np.atleast_1d(np.asarray(n))
            if (
                values.ndim != 1
                or values.size == 0
                or values.dtype.kind not in "iuf"
                or np.any(values != np.round(values))
                or np.any(values < 1)
            ):
                raise ValueError(
                    "n_categories must be a positive integer, or one per column, got "
                    f"{self.n_categories!r}"
                )
            if np.any(values > MAX_CATEGORIES):
                raise ValueError(
                    f"n_categories must be at most {MAX_CATEGORIES} per column, got "
                    f"{self.n_categories!r}; recode a column of that many values to "
                    "consecutive codes of the values it holds"
                )
            n = int(values[0]) if np.ndim(n) == 0 else tuple(int(v) for v in values)
            object.__setattr__(self, "n_categories", n)
        object.__setattr__(self, "prior", check_prior(self.prior, "prior", positive=True))
        object.__setattr__(self, "frozen", check_frozen(self.frozen, FROZEN_CHOICES, "Categorical"))

    @property
    def monotone(self) -> bool:
        """Whether the M-step exactly maximises the objective EM reports, the expected
        complete-data log-likelihood plus :meth:`log_prior`: with ``prior >= 1`` (its
        posterior mode). A ``prior < 1`` has an unbounded density at the simplex's edge; the
        M-step then clips (hmmlearn's rule), which maximises nothing EM can report.
        """
        return self.prior >= 1.0 or "probs" in self.frozen

    def log_prior(self, params: CategoricalParams) -> float:
        """Log density of the Dirichlet(``prior``) priors at ``params``, up to a constant:
        ``(prior - 1) sum log p`` over every component's and column's real categories (not
        the padding beyond a column's categories). EM adds it once to the summed
        log-likelihood of every pass, so the bound it reports (and never lowers) is the log
        posterior. 0 for ``prior = 1`` (maximum likelihood), for frozen probabilities, and
        for ``prior < 1`` (see :attr:`monotone`)."""
        if self.prior <= 1.0 or "probs" in self.frozen:
            return 0.0
        valid = _valid(params.n_categories, params.probs.shape[-1])
        with np.errstate(divide="ignore"):
            return float((self.prior - 1.0) * np.log(np.where(valid, params.probs, 1.0)).sum())

    def fitted(self, params: CategoricalParams) -> Categorical:
        """The family with the numbers of categories the fit found (when they were inferred
        from the data)."""
        if self.n_categories is not None:
            return self
        return replace(self, n_categories=tuple(int(n) for n in params.n_categories))

    def check_params(self, params: CategoricalParams, n_components: int, n_features: int) -> None:
        """Raise ValueError unless ``params`` hold ``n_features`` positive numbers of
        categories and (n_components, n_features, max categories) probabilities that are zero
        beyond every column's categories and sum to one over them."""
        n_categories = np.asarray(params.n_categories)
        if (
            n_categories.shape != (n_features,)
            or n_categories.dtype.kind not in "iu"
            or np.any(n_categories < 1)
            or np.any(n_categories > MAX_CATEGORIES)
        ):
            raise ValueError(
                f"n_categories_ must hold {n_features} integers from 1 to {MAX_CATEGORIES}, "
                f"got {n_categories!r}"
            )
        if self.n_categories is not None and not np.array_equal(
            n_categories, self._counts_for(n_features)
        ):
            raise ValueError(
                f"n_categories_ {n_categories.tolist()} differ from the family's n_categories "
                f"{self.n_categories!r}"
            )
        shape = (n_components, n_features, int(n_categories.max()))
        probs = checked_array(params.probs, shape, "probs_")
        check_simplex(probs, np.arange(shape[2]) < n_categories[:, None], "probs_")

    def check_data(self, X: ArrayLike) -> np.ndarray:
        """Validate category codes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_columns)
            Integer codes (as integers or floats), ``0 .. n_categories[c] - 1`` in column
            ``c`` when the family was given ``n_categories``; NaN where a cell is missing.

        Returns
        -------
        ndarray of shape (n_samples, n_columns)
            The codes as a floating array (float32 kept, otherwise float64).

        Raises
        ------
        ValueError
            Naming the first problem: not numeric or not 2-D, infinite values, codes that
            are not whole numbers or are negative, a number of columns other than that of
            ``n_categories``, or codes beyond a column's number of categories.
        """
        X = _check_codes(X)
        if self.n_categories is not None:
            _check_range(X, self._counts_for(X.shape[1]))
        return X

    def log_prob(self, params: CategoricalParams, X: ArrayLike) -> np.ndarray:
        """``sum_c log probs[k, c, x_c]`` over the observed columns of every row (NaN:
        missing), shape (n_samples, n_components).

        Raises
        ------
        ValueError
            When ``X`` holds anything but codes within the parameters' categories (or NaN).
        """
        codes, missing = _codes(X, params.n_categories)
        with np.errstate(divide="ignore"):
            log_probs = np.log(np.asarray(params.probs, dtype=np.float64))
        out = np.zeros((codes.shape[0], log_probs.shape[0]))
        # Column by column: a gather of (n_samples, n_components), never a 3-D temporary.
        for c in range(codes.shape[1]):
            scores = log_probs[:, c, :].T[codes[:, c]]
            if missing is not None and missing[:, c].any():
                # A missing cell's factor is 1 (its code 0 is only a stand-in).
                scores[missing[:, c]] = 0.0
            out += scores
        return out

    def stats(
        self, params: CategoricalParams, X: ArrayLike, resp: np.ndarray
    ) -> ObservedCategoricalStats:
        """Weighted category counts of samples ``X`` (n, C), NaN where missing, with weights
        ``resp`` (n, K)."""
        codes, missing = _codes(X, params.n_categories)
        resp = np.asarray(resp, dtype=np.float64)
        return _counts(codes, missing, resp, params.probs.shape[-1])

    def m_step(self, stats: CategoricalStats, params: CategoricalParams) -> CategoricalParams:
        """Posterior-mode probabilities (maximum likelihood for ``prior = 1``), per component
        and column: ``max(prior - 1 + counts, 0)`` normalised over the column's categories.

        Components with (numerically) no observed weight in a column keep their
        probabilities there, and so does a column whose every category is clipped to zero
        (possible only with ``prior < 1``).
        """
        if "probs" in self.frozen:
            return params
        valid = _valid(params.n_categories, params.probs.shape[-1])
        # The prior's pseudo-counts go to real categories only; padding stays at zero.
        counts = np.where(valid, stats.counts, -np.inf)
        if isinstance(stats, ObservedCategoricalStats):
            probs = dirichlet_mode(counts, self.prior, params.probs)
            empty = empty_cells(stats.sum_obs, stats.sum_w)
            probs = np.where(empty[..., None], params.probs, probs)
        else:
            probs = dirichlet_mode(counts, self.prior, params.probs, empty_components(stats.sum_w))
        return CategoricalParams(probs, params.n_categories)

    def from_responsibilities(
        self, chunks: Callable[[], Iterable[tuple[np.ndarray, np.ndarray]]]
    ) -> CategoricalParams:
        """Parameters from initial responsibilities: one M-step from scratch.

        Parameters
        ----------
        chunks : callable
            Returns a fresh iterable of ``(X, resp)`` pairs: codes of shape (n, n_columns)
            and their responsibilities (n, n_components), already multiplied by the sample
            weights. Read once, or twice when ``n_categories`` is inferred (first for the
            largest code of every column).

        Components with no weight start at the category frequencies of all the data (of
        the observed cells of every column).

        Raises
        ------
        ValueError
            When there are no rows, or a column holds no observed code.
        """
        if self.n_categories is None:
            top = None
            for X, _ in chunks():
                X = _check_codes(X)
                if X.shape[0]:
                    # fmax skips missing cells (NaN); a column with none observed stays NaN.
                    col_max = np.fmax.reduce(X, axis=0)
                    top = col_max if top is None else np.fmax(top, col_max)
            if top is None:
                raise ValueError("the data holds no rows to infer n_categories from")
            _refuse_unseen(np.isnan(top))
            n_categories = top.astype(np.int64) + 1
        else:
            n_categories = None
        stats, unobserved = None, 0
        for X, resp in chunks():
            if n_categories is None:
                n_categories = self._counts_for(np.shape(X)[1])
            codes, missing = _codes(X, n_categories)
            resp = np.asarray(resp, dtype=np.float64)
            s = _counts(codes, missing, resp, int(n_categories.max()))
            if missing is not None:
                unobserved += int(missing.all(axis=1).sum())
            stats = s if stats is None else stats + s
        if stats is None or n_categories is None:
            raise ValueError("the data holds no rows")
        warn_unobserved(unobserved, "Categorical")
        pooled = stats.counts.sum(axis=0, keepdims=True)
        _refuse_unseen(pooled.sum(axis=-1)[0] <= 0)
        pooled = pooled / pooled.sum(axis=-1, keepdims=True)
        start = CategoricalParams(
            np.repeat(pooled, stats.sum_w.shape[0], axis=0), n_categories.astype(np.int64)
        )
        return replace(self, frozen=frozenset()).m_step(stats, start)

    def n_parameters(self, n_components: int, n_features: int) -> int:
        """Free parameters of K components over ``n_features`` columns:
        ``K * sum_c (n_categories[c] - 1)`` (0 when the probabilities are frozen).

        Raises
        ------
        ValueError
            When ``n_categories`` is inferred from the data (None): build the family with
            the fitted parameters' numbers,
            ``dataclasses.replace(family, n_categories=tuple(params.n_categories))``.
        """
        if "probs" in self.frozen:
            return 0
        if self.n_categories is None:
            raise ValueError(
                "the number of parameters depends on n_categories, which this family infers "
                "from the data; build it with the fitted parameters' n_categories"
            )
        return n_components * int((self._counts_for(n_features) - 1).sum())

    def sample(
        self, params: CategoricalParams, counts: ArrayLike, random_state: np.random.RandomState
    ) -> np.ndarray:
        """``counts[k]`` samples from every component, stacked in component order,
        shape (counts.sum(), n_columns), codes as float64."""
        n_categories = np.asarray(params.n_categories)
        out = []
        for k, n in enumerate(np.asarray(counts, dtype=np.int64)):
            block = np.empty((int(n), n_categories.size))
            for c, size in enumerate(n_categories):
                block[:, c] = random_state.choice(size, size=int(n), p=params.probs[k, c, :size])
            out.append(block)
        return np.concatenate(out) if out else np.empty((0, n_categories.size))

    # -- unconstrained coordinates (for SQUAREM, emkit.core.acceleration) ------------------
    def to_unconstrained(self, params: CategoricalParams) -> np.ndarray:
        """Coordinates in which every vector gives valid parameters, shape (n,), float64: the
        log-probabilities of every component's real categories, column after column (a
        softmax maps them back). Empty when the probabilities are frozen; a zero probability
        has coordinate ``-inf``, so that SQUAREM takes a plain EM step."""
        if "probs" in self.frozen:
            return np.empty(0)
        probs = np.asarray(params.probs, dtype=np.float64)
        valid = _valid(params.n_categories, probs.shape[-1])
        with np.errstate(divide="ignore"):
            return np.log(probs[:, valid]).ravel()

    def from_unconstrained(self, vector: ArrayLike, like: CategoricalParams) -> CategoricalParams:
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
        shape = np.shape(like.probs)
        valid = _valid(like.n_categories, shape[-1])
        logits = np.full(shape, -np.inf)
        logits[:, valid] = take_vector(vector, (shape[0], int(valid.sum())))
        return CategoricalParams(softmax_rows(logits), like.n_categories)

    # -- helpers --------------------------------------------------------------------------
    def _counts_for(self, n_columns: int) -> np.ndarray:
        """The family's ``n_categories`` for data of ``n_columns`` columns, shape
        (n_columns,) of int64; ValueError when a sequence of another length was given."""
        n = self.n_categories
        if n is None:
            raise ValueError("n_categories is inferred from the data")
        if isinstance(n, int):
            return np.full(n_columns, n, dtype=np.int64)
        if len(n) != n_columns:
            raise ValueError(
                f"Categorical data must have {len(n)} columns (one per entry of "
                f"n_categories), got {n_columns}"
            )
        return np.asarray(n, dtype=np.int64)


def _check_range(X: np.ndarray, n_categories: np.ndarray) -> None:
    """Raise ValueError for the first code at or beyond its column's number of categories."""
    bad = X >= n_categories
    if bad.any():
        row, col = np.unravel_index(int(np.argmax(bad)), bad.shape)
        size = int(n_categories[col])
        raise ValueError(
            f"Categorical column {col} has {size} categories (codes 0..{size - 1}); "
            f"row {row} holds {number(X[row, col])}"
        )


def _refuse_unseen(unseen: np.ndarray) -> None:
    """Raise ValueError for the first column of ``unseen`` (n_columns,) of bool that is
    True: a column that holds no observed code."""
    if unseen.any():
        raise ValueError(
            f"Categorical column {int(np.argmax(unseen))} holds no observed code (it is NaN "
            "in every row of positive weight), so nothing can be learnt of it; drop the column"
        )


def _codes(X: ArrayLike, n_categories: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Category codes of ``X`` as intp, shape (n_samples, n_columns), checked against the
    parameters' ``n_categories`` (a wrong code would index another category's probability,
    or padding, without a trace); and where ``X`` holds NaN (missing cells, whose codes are
    0 as stand-ins), None when nowhere."""
    X = np.asarray(X)
    n_categories = np.asarray(n_categories)
    if X.ndim != 2 or X.shape[1] != n_categories.size:
        raise ValueError(
            f"Categorical data must have {n_categories.size} columns (one per entry of "
            f"n_categories), got an array of shape {X.shape}"
        )
    missing = missing_mask(X)
    if missing is not None:
        X = np.where(missing, 0.0, X)
    if X.dtype.kind in "iu":
        codes = X.astype(np.intp, copy=False)
        ok = codes.size == 0 or (codes.min() >= 0 and np.all(codes < n_categories))
    else:
        with np.errstate(invalid="ignore"):
            codes = X.astype(np.intp)
        ok = np.array_equal(codes, X) and (
            codes.size == 0 or (codes.min() >= 0 and np.all(codes < n_categories))
        )
    if not ok:
        # The full check names the offending entry.
        _check_range(_check_codes(X), n_categories)
    return codes, missing


def _check_codes(X: ArrayLike) -> np.ndarray:
    """``X`` as a floating array of whole numbers >= 0, NaN where missing (see
    :meth:`Categorical.check_data`)."""
    X = data_with_missing(X, "Categorical")
    fractional = X != np.floor(X)
    missing = missing_mask(X)
    if missing is not None:
        fractional &= ~missing  # NaN differs from its floor but is a missing cell
    refuse(X, fractional, "Categorical data must be integer category codes")
    refuse(X, X < 0, "Categorical data must be non-negative category codes")
    # Codes index tables of n_components x n_columns x (largest code + 1) probabilities: a
    # stray large code (an identifier, a year, 1e12) would ask for terabytes.
    refuse(
        X,
        X >= MAX_CATEGORIES,
        f"Categorical codes must be below {MAX_CATEGORIES}: a column's categories are its "
        "codes 0, 1, ..., so a code of c means c + 1 categories. Recode the column to "
        "consecutive codes of the values it holds (e.g. numpy.unique(column, "
        "return_inverse=True))",
    )
    return X


def _valid(n_categories: np.ndarray, max_categories: int) -> np.ndarray:
    """Which entries of the last two axes are categories, shape (n_columns, max_categories)."""
    return np.arange(max_categories) < np.asarray(n_categories)[:, None]


def _counts(
    codes: np.ndarray, missing: np.ndarray | None, resp: np.ndarray, max_categories: int
) -> ObservedCategoricalStats:
    """Statistics from codes (n, C), where they are missing (n, C) or None, and weights
    (n, K)."""
    n_columns = codes.shape[1]
    n_components = resp.shape[1]
    # One bincount per component over the flat index (column, code).
    flat = (codes + max_categories * np.arange(n_columns)).ravel()
    observed = None if missing is None else ~missing.ravel()
    if observed is not None:
        flat = flat[observed]
    size = n_columns * max_categories
    counts = np.empty((n_components, n_columns, max_categories))
    for k in range(n_components):
        weights = np.repeat(resp[:, k], n_columns)
        if observed is not None:
            weights = weights[observed]
        counts[k] = np.bincount(flat, weights=weights, minlength=size).reshape(
            n_columns, max_categories
        )
    sum_w = resp.sum(axis=0)
    if missing is None:
        sum_obs = repeated(sum_w, n_columns)
    else:
        sum_obs = resp.T @ (~missing).astype(np.float64)
    return ObservedCategoricalStats(sum_w, counts, sum_obs)
