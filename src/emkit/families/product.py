"""Product components: records of mixed column types (numbers, category codes, counts, ...),
whose column blocks are independent given the component and each follow a family of their own.

A :class:`Product` is a family like any other, so it is a mixture component
(:class:`emkit.models.mixture.Mixture`) and an HMM emission (:class:`emkit.models.hmm.HMM`)
with no extra code: it scores, summarises and re-estimates every block through the block's
family and adds or collects the results.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields, make_dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from emkit.core.stats import Additive
from emkit.families.base import Family
from emkit.families.checks import data_array
from emkit.families.missing import (
    data_with_missing,
    missing_mask,
    unobserved_rows,
    warn_unobserved,
)
from emkit.families.tables import Table

Columns = int | slice | range | Sequence[int] | np.ndarray
"""Columns of a part: one index, a slice or range with non-negative bounds, or a sequence of
indices."""

REQUIRED_METHODS = ("log_prob", "stats", "m_step", "from_responsibilities")
"""What a part's family must have to serve as a mixture component (see
:mod:`emkit.models.mixture`)."""


# -- parameters and statistics ----------------------------------------------------------------
class ProductParams:
    """Parameters of K product components: one field per part, named as the part (see
    :attr:`Product.names`), holding that part's family parameters for all K components.

    Instances are frozen dataclasses (of a class made per list of part names, see
    :func:`product_params`), so that :func:`emkit.core.stats.as_dict` names every array, e.g.
    ``gaussian.means`` or ``poisson.lambdas``.
    """

    @property
    def parts(self) -> tuple[Any, ...]:
        """The parts' parameters, in the order of :attr:`Product.parts`."""
        return tuple(getattr(self, f.name) for f in fields(self))  # type: ignore[arg-type]

    def __reduce__(self) -> tuple[Any, ...]:
        # The classes are made at run time; rebuild through the factory.
        return (_rebuild, (ProductParams, _names(self), self.parts))


class ProductStats(Additive):
    """Statistics of K product components: one field per part, named as the part, holding
    that part's family statistics. They add up part by part.

    Instances are frozen dataclasses (of a class made per list of part names, see
    :func:`product_stats`).
    """

    @property
    def parts(self) -> tuple[Any, ...]:
        """The parts' statistics, in the order of :attr:`Product.parts`."""
        return tuple(getattr(self, f.name) for f in fields(self))  # type: ignore[arg-type]

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (ProductStats, _names(self), self.parts))


_RECORDS: dict[tuple[type, tuple[str, ...]], type] = {}
_RECORDS_LOCK = threading.Lock()


def _record_class(base: type, names: tuple[str, ...]) -> type:
    """The frozen dataclass with one field per name of ``names``, deriving from ``base``.

    One class per list of names, made once even when threads ask at the same time (the first
    E-step runs on several): statistics add up only when ``type(a) is type(b)``.
    """
    with _RECORDS_LOCK:
        record = _RECORDS.get((base, names))
        if record is None:
            record = make_dataclass(
                base.__name__,
                [(name, Any) for name in names],
                bases=(base,),
                frozen=True,
                eq=False,
            )
            record.__module__ = __name__
            _RECORDS[base, names] = record
        return record


def product_params(names: Sequence[str], parts: Sequence[Any]) -> ProductParams:
    """Product parameters from the parts' parameters, in part order, one per name."""
    return _record_class(ProductParams, tuple(names))(*parts)


def product_stats(names: Sequence[str], parts: Sequence[Any]) -> ProductStats:
    """Product statistics from the parts' statistics, in part order, one per name."""
    return _record_class(ProductStats, tuple(names))(*parts)


def _names(record: Any) -> tuple[str, ...]:
    return tuple(f.name for f in fields(record))


def _rebuild(base: type, names: tuple[str, ...], parts: tuple[Any, ...]) -> Any:
    return _record_class(base, names)(*parts)


class _ColumnsNamed(ValueError):
    """A ValueError whose message already names columns of the product's data."""


_LOCAL_COLUMN = re.compile(r"\bcolumn (\d+)\b")
_LOCAL_ROW = re.compile(r"\brow (\d+)\b")


# -- the product family -----------------------------------------------------------------------
@dataclass(frozen=True)
class Product(Family):
    """The product family: the columns of a record fall into blocks, independent given the
    component, each scored by its own family.

    ``log p(x | k) = sum_j log p_j(x[columns_j] | k)``, with ``p_j`` the family of part ``j``.

    Parameters
    ----------
    parts : sequence of (family, columns) pairs
        Every family sees the block ``X[:, columns]`` of the data, in the order its columns
        are given, as if it were all the data. Columns are an index, a sequence of indices,
        or a slice or range with non-negative bounds (``slice(2, 5)``; open or negative
        bounds would need the number of columns, which the family learns only from data).
        A column belongs to at most one part; columns of no part are ignored. Stored as
        ``(family, tuple of int)`` pairs.
    names : sequence of str, optional
        A name for every part (Python identifiers, all different), which name the parts'
        parameters: a mixture of the product has fitted attributes ``{name}_{parameter}_``,
        such as ``gaussian_means_``. By default the families' class names in lower case,
        numbered from the second part of the same family on (``gaussian``,
        ``gaussian_2``, ...).

    Notes
    -----
    Data arrive as one numeric array (n_samples, n_features), as for every family, so
    category codes and counts sit among the real numbers as floats (``2.0`` is category 2,
    a count of 2): each part checks its own block (:meth:`check_data`), and errors name the
    columns of the whole array.

    Missing values: NaN in the data marks a cell that was not observed, and every part
    receives its block with its NaN. The product allows missing values
    (:attr:`allows_missing`) when every part's family does (declares ``allows_missing =
    True``, as the Bernoulli, Categorical, Poisson and exponential families do); each part
    then leaves its missing cells out of its likelihood and statistics, which is the
    observed-data likelihood when values are missing at random. A part whose family does
    not allow them refuses NaN in its columns (:meth:`check_data`). A row with no observed
    value in any part adds nothing to the parameters (a warning counts such rows when a fit
    starts).

    Frozen parameters are set per part, in the part's family (e.g.
    ``Poisson(frozen=frozenset({'lambdas'}))``). Priors and ``reg_covar`` likewise belong to
    the parts; :attr:`monotone` holds when every part's M-step is exact.

    The parameters and statistics are :class:`ProductParams` and :class:`ProductStats`, with
    one field per part. SQUAREM (``accelerate='squarem'``) works when every part's family has
    unconstrained coordinates: the product concatenates them, part after part.

    A product has no fused mixture E-step (``mixture_e_step``): a mixture scores it through
    :meth:`log_prob` and :meth:`stats`, even when its only part is a Gaussian. The built-in
    initializers see all of ``X``, codes and counts as numbers; k-means can then start far
    from a good partition, where random responsibilities (``initializer('random')``) with a
    few restarts do not.

    Examples
    --------
    Two numeric columns, two categorical ones and a count, as mixture components:

    >>> from emkit.families.categorical import Categorical
    >>> from emkit.families.covariance import covariance_structure
    >>> from emkit.families.gaussian import Gaussian
    >>> from emkit.families.poisson import Poisson
    >>> from emkit.models.initialization import initializer
    >>> from emkit.models.mixture import Mixture
    >>> family = Product(
    ...     [
    ...         (Gaussian(covariance_structure("diag")), [0, 1]),
    ...         (Categorical(), [2, 3]),
    ...         (Poisson(), [4]),
    ...     ]
    ... )
    >>> model = Mixture(family, 3, initializer("random"))
    """

    parts: Sequence[tuple[Any, Columns]]
    names: Sequence[str] | None = None

    params_class = ProductParams
    title = "product"

    def summary_words(self) -> tuple[str, ...]:
        """The parts: their names, families and what these say of themselves."""
        parts = []
        for name, (family, _) in zip(self.names, self.parts, strict=True):
            words = family.summary_words() if isinstance(family, Family) else ()
            what = ", ".join([getattr(family, "title", type(family).__name__), *words])
            parts.append(f"{name} ({what})")
        return (f"parts {', '.join(parts)}",)

    def summary_tables(self) -> tuple[Table, ...]:
        """Every part's tables, titled and named by the part, over its columns; the first
        shows the weights."""
        tables: list[Table] = []
        for name, (family, columns) in zip(self.names, self.parts, strict=True):
            if not isinstance(family, Family):
                continue
            for table in family.summary_tables():
                tables.append(
                    table.renamed(
                        lambda array, name=name: f"{name}_{array}",
                        part=name,
                        features=columns,
                        weights=not tables and table.weights,
                    )
                )
        return tuple(tables)

    def __post_init__(self) -> None:
        try:
            pairs = list(self.parts)
        except TypeError:
            raise ValueError(
                f"parts must be a sequence of (family, columns) pairs, got {self.parts!r}"
            ) from None
        if not pairs:
            raise ValueError("a Product needs at least one (family, columns) part")
        normalised = []
        owner: dict[int, int] = {}
        for index, pair in enumerate(pairs):
            if not (isinstance(pair, tuple | list) and len(pair) == 2):
                raise ValueError(
                    f"Product parts[{index}] must be a (family, columns) pair, got {pair!r}"
                )
            family, spec = pair
            missing = [
                name for name in REQUIRED_METHODS if not callable(getattr(family, name, None))
            ]
            if missing:
                raise TypeError(
                    f"Product parts[{index}]: {type(family).__name__} is not a family (it has "
                    f"no {', no '.join(missing)})"
                )
            columns = _columns(spec, index)
            for column in columns:
                if column in owner:
                    raise ValueError(
                        f"column {column} belongs to Product parts[{owner[column]}] and "
                        f"parts[{index}]; every column may belong to one part at most"
                    )
                owner[column] = index
            normalised.append((family, columns))
        object.__setattr__(self, "parts", tuple(normalised))
        object.__setattr__(self, "names", _part_names(self.names, self._families))

    @property
    def allows_missing(self) -> bool:
        """Whether NaN in the data may mark missing cells: when every part's family allows
        them (declares ``allows_missing = True``)."""
        return all(_allows_missing(family) for family, _ in self.parts)

    @property
    def monotone(self) -> bool:
        """Whether the M-step exactly maximises the objective EM reports (the expected
        complete-data log-likelihood plus :meth:`log_prior`): that of every part."""
        return all(getattr(family, "monotone", True) for family, _ in self.parts)

    def log_prior(self, params: Any) -> float:
        """The sum of the parts' log prior densities (a part without ``log_prior`` has
        none)."""
        total = 0.0
        for (family, _), part in zip(self.parts, params.parts, strict=True):
            log_prior = getattr(family, "log_prior", None)
            if log_prior is not None:
                total += float(log_prior(part))
        return total

    # -- the parts' parameters as named arrays (fitted attributes, model files) ------------------
    def params_arrays(self, params: ProductParams) -> dict[str, np.ndarray]:
        """Every part's arrays, named ``{part name}_{array name}`` (``gaussian_means``)."""
        return {
            f"{name}_{key}": array
            for name, (family, _), part in zip(self.names, self.parts, params.parts, strict=True)
            for key, array in family.params_arrays(part).items()
        }

    def params_names(self) -> tuple[str, ...]:
        return tuple(
            f"{name}_{key}"
            for name, (family, _) in zip(self.names, self.parts, strict=True)
            for key in family.params_names()
        )

    def stored_names(self) -> tuple[str, ...]:
        return tuple(
            f"{name}_{key}"
            for name, (family, _) in zip(self.names, self.parts, strict=True)
            for key in family.stored_names()
        )

    def params_from_arrays(self, arrays: dict[str, np.ndarray]) -> ProductParams:
        return product_params(
            self.names,
            [
                family.params_from_arrays(self._part_arrays(arrays, name, family.params_names()))
                for name, (family, _) in zip(self.names, self.parts, strict=True)
            ],
        )

    def from_stored(
        self, arrays: dict[str, np.ndarray], n_components: int, n_features: int
    ) -> ProductParams:
        """Every part's checked parameters, each over its own columns."""
        self._check_width(n_features)
        out = []
        for index, (name, (family, columns)) in enumerate(zip(self.names, self.parts, strict=True)):
            stored = self._part_arrays(arrays, name, family.stored_names())
            with self._naming_columns(index):
                out.append(family.from_stored(stored, n_components, len(columns)))
        return product_params(self.names, out)

    def check_params(self, params: ProductParams, n_components: int, n_features: int) -> None:
        self._check_width(n_features)
        for index, ((family, columns), part) in enumerate(
            zip(self.parts, params.parts, strict=True)
        ):
            with self._naming_columns(index):
                family.check_params(part, n_components, len(columns))

    def fitted(self, params: ProductParams) -> Product:
        """The product of the parts' fitted families (a categorical part's numbers of
        categories)."""
        parts = [
            (family.fitted(part), columns)
            for (family, columns), part in zip(self.parts, params.parts, strict=True)
        ]
        return Product(parts, self.names)

    @staticmethod
    def _part_arrays(
        arrays: dict[str, np.ndarray], name: str, keys: Sequence[str]
    ) -> dict[str, np.ndarray]:
        return {key: arrays[f"{name}_{key}"] for key in keys}

    def check_data(self, X: ArrayLike) -> np.ndarray:
        """Validate data: every part checks its block (a part whose family has no
        ``check_data`` requires finite values, NaN allowed when it declares
        ``allows_missing``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numbers, NaN in the columns of parts that allow missing values where a cell is
            missing; ``n_features`` beyond the last column of every part. Columns of no part
            are not checked.

        Returns
        -------
        ndarray of shape (n_samples, n_features)
            The data as a floating array (float32 kept, otherwise float64).

        Raises
        ------
        ValueError
            Naming the first problem and the part and column of ``X`` that hold it: not
            numeric or not 2-D, a part's column beyond the data's, or a value the part's
            family refuses (NaN, a fractional or negative category code, a negative count,
            ...).
        """
        X = np.asarray(X)
        if X.dtype.kind not in "biuf":
            raise ValueError(f"Product data must be numeric, got an array of dtype {X.dtype}")
        if X.ndim != 2:
            raise ValueError(
                f"Product data must be a 2-D array (n_samples, n_features), got shape {X.shape}"
            )
        if X.dtype != np.float32:
            X = X.astype(np.float64, copy=False)
        for index, (family, _) in enumerate(self.parts):
            block, rows = self._block(X, index), None
            if _allows_missing(family):
                # The part checks the rows it has a value of: a row with none in its
                # columns is not the part's to report (the product reports the rows with
                # none in any part when a fit starts).
                block, rows = _observed_rows(block)
            with self._naming_columns(index, rows):
                check = getattr(family, "check_data", None)
                if callable(check):
                    check(block)
                elif _allows_missing(family):
                    data_with_missing(block, type(family).__name__)
                else:
                    data_array(block, type(family).__name__)
        return X

    def log_prob(self, params: ProductParams, X: ArrayLike) -> np.ndarray:
        """``sum_j log p_j(x_i[columns_j] | k)``, shape (n_samples, n_components)."""
        total = None
        for index, (family, part) in enumerate(zip(self._families, params.parts, strict=True)):
            block = self._block(X, index)
            with self._naming_columns(index):
                scores = np.asarray(family.log_prob(part, block), dtype=np.float64)
            if total is None:
                # Families return fresh arrays (the mixture adds its log-weights in place).
                total = scores
            else:
                total += scores
        assert total is not None
        return total

    def stats(self, params: ProductParams, X: ArrayLike, resp: np.ndarray) -> ProductStats:
        """Every part's statistics of its block of ``X`` (n, D) with weights ``resp`` (n, K)."""
        out = []
        for index, (family, part) in enumerate(zip(self._families, params.parts, strict=True)):
            block = self._block(X, index)
            with self._naming_columns(index):
                out.append(family.stats(part, block, resp))
        return product_stats(self.names, out)

    def m_step(self, stats: ProductStats, params: ProductParams) -> ProductParams:
        """Every part's M-step (which applies the part's own frozen parameters and priors)."""
        return product_params(
            self.names,
            [
                family.m_step(s, p)
                for family, s, p in zip(self._families, stats.parts, params.parts, strict=True)
            ],
        )

    def from_responsibilities(
        self, chunks: Callable[[], Iterable[tuple[np.ndarray, np.ndarray]]]
    ) -> ProductParams:
        """Parameters from initial responsibilities: every part's, from its blocks.

        Parameters
        ----------
        chunks : callable
            Returns a fresh iterable of ``(X, resp)`` pairs: samples of shape
            (n, n_features) and their responsibilities (n, n_components), already
            multiplied by the sample weights. Read as often as the parts need, part after
            part (once or twice each for the built-in families), and once more when a part
            allows missing values, to count the rows with no observed value.

        A part that allows missing values sees only the rows with an observed value in its
        columns (the others add nothing to its parameters), so that the one warning about
        rows with no observed value comes from the product, counting the rows with none in
        any part.
        """
        out = []
        for index, family in enumerate(self._families):
            part_chunks = self._part_chunks(chunks, index, observed_only=_allows_missing(family))
            with self._naming_columns(index):
                out.append(family.from_responsibilities(part_chunks))
        if any(_allows_missing(family) for family in self._families):
            columns = sorted({c for _, part in self.parts for c in part})
            unobserved = 0
            for X, _ in chunks():
                X = np.asarray(X)
                if missing_mask(X) is not None:
                    unobserved += unobserved_rows(np.take(X, columns, axis=1))
            warn_unobserved(unobserved, "Product")
        return product_params(self.names, out)

    def n_parameters(self, n_components: int, n_features: int) -> int:
        """Free parameters of K components: the sum over the parts (each counted on its own
        columns; columns of no part have none).

        Raises
        ------
        ValueError
            When a part's columns lie beyond ``n_features``.
        """
        self._check_width(n_features)
        return sum(
            int(family.n_parameters(n_components, len(columns))) for family, columns in self.parts
        )

    def sample(
        self, params: ProductParams, counts: ArrayLike, random_state: np.random.RandomState
    ) -> np.ndarray:
        """``counts[k]`` samples from every component, stacked in component order, shape
        (counts.sum(), 1 + the largest column), float64; every part draws its columns, part
        after part from ``random_state``.

        Raises
        ------
        ValueError
            When some column below the largest belongs to no part (the product has no
            distribution to draw it from).
        """
        width = 1 + max(max(columns) for _, columns in self.parts)
        covered = {c for _, columns in self.parts for c in columns}
        gaps = sorted(set(range(width)) - covered)
        if gaps:
            raise ValueError(
                f"cannot sample: columns {gaps} belong to no part of the Product, which "
                f"describes only columns {sorted(covered)}"
            )
        counts = np.asarray(counts, dtype=np.int64)
        out = np.empty((int(counts.sum()), width))
        for (family, columns), part in zip(self.parts, params.parts, strict=True):
            out[:, list(columns)] = family.sample(part, counts, random_state)
        return out

    # -- unconstrained coordinates (for SQUAREM, emkit.core.acceleration) ------------------
    def to_unconstrained(self, params: ProductParams) -> np.ndarray:
        """The parts' unconstrained coordinates, concatenated in part order, shape (n,),
        float64.

        Raises
        ------
        TypeError
            When a part's family has no unconstrained coordinates.
        """
        vectors = [
            np.asarray(self._coordinates(index, "to_unconstrained")(part), dtype=np.float64)
            for index, part in enumerate(params.parts)
        ]
        return np.concatenate([v.ravel() for v in vectors])

    def from_unconstrained(self, vector: ArrayLike, like: ProductParams) -> ProductParams:
        """Parameters at unconstrained coordinates ``vector`` (see :meth:`to_unconstrained`),
        shaped like ``like``; every part takes as many coordinates as it gives for ``like``.

        Raises
        ------
        ValueError
            When ``vector`` has the wrong number of entries, or a part refuses its share.
        TypeError
            When a part's family has no unconstrained coordinates.
        """
        vector = np.asarray(vector, dtype=np.float64).ravel()
        with np.errstate(divide="ignore"):
            sizes = [
                np.size(self._coordinates(index, "to_unconstrained")(part))
                for index, part in enumerate(like.parts)
            ]
        if sum(sizes) != vector.size:
            raise ValueError(
                f"the coordinate vector has {vector.size} entries, the parameters {sum(sizes)}"
            )
        ends = np.cumsum(sizes)
        return product_params(
            self.names,
            [
                self._coordinates(index, "from_unconstrained")(vector[end - size : end], part)
                for index, (part, size, end) in enumerate(zip(like.parts, sizes, ends, strict=True))
            ],
        )

    # -- helpers --------------------------------------------------------------------------
    @property
    def _families(self) -> tuple[Any, ...]:
        return tuple(family for family, _ in self.parts)

    def _describe(self, index: int) -> str:
        """``Product parts[i] (Family, columns ...)`` for error messages."""
        family, columns = self.parts[index]
        return f"Product parts[{index}] ({type(family).__name__}, {_format_columns(columns)})"

    def _check_width(self, n_features: int) -> None:
        """Raise ValueError when a part reads columns beyond ``n_features``."""
        for index in range(len(self.parts)):
            self._check_part_width(index, n_features)

    def _check_part_width(self, index: int, n_features: int) -> None:
        columns = self.parts[index][1]
        beyond = [c for c in columns if c >= n_features]
        if beyond:
            what = f"column {beyond[0]}" if len(beyond) == 1 else f"columns {beyond}"
            raise _ColumnsNamed(
                f"{self._describe(index)}: {what} out of range for data with {n_features} "
                f"columns (0..{n_features - 1})"
            )

    def _block(self, X: ArrayLike, index: int) -> np.ndarray:
        """Columns of part ``index`` of ``X`` (n, D), shape (n, len(columns)), dtype kept.

        The data themselves when the part has every column in order (no copy); otherwise a
        C-contiguous copy, as the compiled kernels of some families read rows whole.
        """
        X = np.asarray(X)
        if X.ndim != 2:
            raise ValueError(
                f"Product data must be a 2-D array (n_samples, n_features), got shape {X.shape}"
            )
        self._check_part_width(index, X.shape[1])
        columns = self.parts[index][1]
        if columns == tuple(range(X.shape[1])):
            return X
        return np.take(X, columns, axis=1)

    def _part_chunks(
        self,
        chunks: Callable[[], Iterable[tuple[np.ndarray, np.ndarray]]],
        index: int,
        *,
        observed_only: bool = False,
    ) -> Callable[[], Iterator[tuple[np.ndarray, np.ndarray]]]:
        """``chunks`` with every ``X`` cut down to the columns of part ``index``; with
        ``observed_only``, also without the rows that are NaN in all those columns (and
        their responsibilities)."""

        def part_chunks() -> Iterator[tuple[np.ndarray, np.ndarray]]:
            for X, resp in chunks():
                block = self._block(X, index)
                if observed_only:
                    block, rows = _observed_rows(block)
                    if rows is not None:
                        resp = np.asarray(resp)[rows]
                yield block, resp

        return part_chunks

    @contextmanager
    def _naming_columns(self, index: int, rows: np.ndarray | None = None) -> Iterator[None]:
        """Re-raise a part's ValueError with the part named and its columns numbered as in
        the product's data: the part saw only its block, whose column 0 is the part's first
        column; and, when it saw only the ``rows`` of the data (their indices), whose row 0
        is the first of them, its rows numbered so too."""
        try:
            yield
        except _ColumnsNamed:
            raise
        except ValueError as err:
            columns = self.parts[index][1]

            def renumber(match: re.Match[str]) -> str:
                local = int(match.group(1))
                return f"column {columns[local]}" if local < len(columns) else match.group(0)

            message = _LOCAL_COLUMN.sub(renumber, str(err))
            if rows is not None:

                def renumber_row(match: re.Match[str]) -> str:
                    local = int(match.group(1))
                    return f"row {rows[local]}" if local < len(rows) else match.group(0)

                message = _LOCAL_ROW.sub(renumber_row, message)
            raise _ColumnsNamed(f"{self._describe(index)}: {message}") from err

    def _coordinates(self, index: int, name: str) -> Callable[..., Any]:
        """Method ``name`` of part ``index``'s family; TypeError when it has none."""
        method = getattr(self.parts[index][0], name, None)
        if not callable(method):
            raise TypeError(
                f"{self._describe(index)} has no {name}, so the product's parameters have no "
                "unconstrained coordinates (needed by accelerate='squarem')"
            )
        return method


def _observed_rows(block: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """``block`` without its rows that are NaN in every column, and the indices of the rows
    kept (None, and ``block`` as it is, when no row is dropped)."""
    missing = missing_mask(block) if block.ndim == 2 and block.shape[1] else None
    if missing is None:
        return block, None
    seen = ~missing.all(axis=1)
    if seen.all():
        return block, None
    return block[seen], np.flatnonzero(seen)


def _allows_missing(family: Any) -> bool:
    """Whether a part's family declares that NaN may mark its missing cells (a family that
    declares nothing does not)."""
    return bool(getattr(family, "allows_missing", False))


def _part_names(names: Sequence[str] | None, families: Sequence[Any]) -> tuple[str, ...]:
    """The parts' names: ``names`` checked, or made from the families' class names."""
    if names is None:
        made: list[str] = []
        for family in families:
            base = type(family).__name__.lower()
            count = sum(1 for f in families[: len(made)] if type(f).__name__.lower() == base)
            made.append(base if count == 0 else f"{base}_{count + 1}")
        return tuple(made)
    if isinstance(names, str):
        raise ValueError(f"names must be a sequence of part names, not the string {names!r}")
    names = tuple(names)
    if len(names) != len(families):
        raise ValueError(f"names must name each of the {len(families)} parts, got {names!r}")
    for name in names:
        if not (isinstance(name, str) and name.isidentifier()):
            raise ValueError(f"a part's name must be a Python identifier, got {name!r}")
    if len(set(names)) != len(names):
        raise ValueError(f"the parts' names must all differ, got {names!r}")
    return names


def _columns(spec: Columns, index: int) -> tuple[int, ...]:
    """The columns of ``spec`` as a non-empty tuple of distinct non-negative ints."""
    where = f"Product parts[{index}]"
    if isinstance(spec, slice):
        if spec.stop is None or any(
            bound is not None and (not isinstance(bound, int | np.integer) or bound < 0)
            for bound in (spec.start, spec.stop)
        ):
            raise ValueError(
                f"{where}: a slice of columns needs a non-negative stop and start, such as "
                f"slice(2, 5), got {spec!r}"
            )
        if spec.step is not None and spec.step <= 0:
            raise ValueError(f"{where}: a slice of columns needs a positive step, got {spec!r}")
        spec = range(*spec.indices(int(spec.stop)))
    values = np.asarray(list(spec) if isinstance(spec, range) else spec)
    if values.ndim == 0:
        values = values.reshape(1)
    if values.ndim != 1 or values.dtype.kind not in "iu" or values.size == 0:
        raise ValueError(
            f"{where}: columns must be an index, a non-empty sequence of indices or a slice, "
            f"got {spec!r}"
        )
    if values.min() < 0:
        raise ValueError(
            f"{where}: column {int(values.min())} is negative; give columns as indices from 0"
        )
    columns = tuple(int(v) for v in values)
    if len(set(columns)) != len(columns):
        repeated = next(c for c in columns if columns.count(c) > 1)
        raise ValueError(f"{where}: column {repeated} is given twice")
    return columns


def _format_columns(columns: tuple[int, ...]) -> str:
    """``column 3``, ``columns 2..5`` (a run in order) or ``columns [4, 1]``."""
    if len(columns) == 1:
        return f"column {columns[0]}"
    if columns == tuple(range(columns[0], columns[0] + len(columns))):
        return f"columns {columns[0]}..{columns[-1]}"
    return f"columns {list(columns)}"
