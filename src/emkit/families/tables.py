"""What a summary shows of fitted parameters, as data: tables with one row per component (or
state, or cluster), naming the arrays they show.

A family gives its tables (:meth:`emkit.families.base.Family.summary_tables`) under the names
of its own arrays; a structure over it (a mixture, a hidden Markov model, a part of a product)
renames them to its attributes (:meth:`ParameterTable.renamed`), so that every structure over
every family prints the same tables. Titles may hold ``{unit}``, the structure's word for its
rows ('component', 'state'). The command line prints them (:mod:`emkit.cli.summary`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

__all__ = [
    "COVARIANCE_WORDS",
    "LAYOUTS",
    "Columns",
    "CovarianceTables",
    "ParameterTable",
    "Table",
    "covariance_words",
]

COVARIANCE_WORDS = {"diag": "diagonal"}
"""What a summary calls the covariance types whose names are abbreviations (the others by
their names: 'full', 'tied', 'spherical', mclust's 'VVV', ...)."""


def covariance_words(name: str) -> str:
    """What a summary says of the covariance type ``name``: 'diagonal covariance'."""
    return f"{COVARIANCE_WORDS.get(name, name)} covariance"


LAYOUTS = ("features", "value", "diagonal", "symbols", "categories", "variances", "auto")
"""How a group of columns shows its array, with K rows (see :class:`Columns`)."""


@dataclass(frozen=True)
class Columns:
    """One group of columns of a :class:`ParameterTable`: the array ``attribute`` shown as
    ``layout``.

    Attributes
    ----------
    attribute : str
        The array, of shape (K, ...) with K the rows of the table.
    layout : str, default='features'
        'features': (K, D) under the feature names; 'value': (K,) as one column ``name``;
        'diagonal': the diagonals of (K, D, D) matrices, under the feature names; 'symbols':
        (K, S) under the codes 0 to S - 1; 'categories': (K, D, L) probabilities under
        ``feature=code``, feature ``d`` having the codes 0 to ``counts[d] - 1``; 'variances':
        for every row, covariance parameters of the structure ``covariance`` (of the
        table's inner rows), shown as their variances under the feature names; 'auto': by
        shape, (K,) as one column named after the array, (K, D) under the feature names,
        anything else flattened under ``attribute[i,j]``.
    name : str, default=''
        The header of a 'value' column.
    counts : str, default=''
        For 'categories', the array (D,) of the number of categories of every feature.
    covariance : CovarianceStructure or str, default=''
        For 'variances', the covariance structure, or the name of the estimator's
        attribute that holds the name of its covariance type.
    """

    attribute: str
    layout: str = "features"
    name: str = ""
    counts: str = ""
    covariance: Any = ""

    def __post_init__(self) -> None:
        if self.layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, got {self.layout!r}")

    def renamed(self, rename: Callable[[str], str]) -> Columns:
        return replace(
            self,
            attribute=rename(self.attribute),
            counts=rename(self.counts) if self.counts else "",
        )


@dataclass(frozen=True)
class ParameterTable:
    """One table of fitted parameters, one row per component (or state, or cluster).

    Attributes
    ----------
    title : str
        The line above the table; ``{unit}`` is the structure's word for its rows.
    columns : tuple of Columns
        The groups of columns, in order.
    weights : bool, default=True
        Whether a column ``weight`` (the mixing weights of a mixture) follows the row number.
    inner : str, default=''
        Non-empty for tables whose rows are the pairs (row, inner row) of arrays of shape
        (K, M, ...), such as the Gaussians of every state of a GMMHMM: the header of the
        column of inner rows.
    inner_count : str, default=''
        With ``inner``, the attribute that holds M.
    features : tuple of int or None, default=None
        The columns of the data that the table's features are (a part of a product); None
        for all.
    """

    title: str
    columns: tuple[Columns, ...]
    weights: bool = True
    inner: str = ""
    inner_count: str = ""
    features: tuple[int, ...] | None = None

    def renamed(
        self,
        rename: Callable[[str], str],
        part: str = "",
        features: tuple[int, ...] | None = None,
        weights: bool | None = None,
    ) -> ParameterTable:
        """The table with its arrays renamed by ``rename``, its title prefixed by ``part``
        and its features mapped to ``features`` (the part's columns); ``weights`` replaces
        whether it shows the weights."""
        return replace(
            self,
            title=f"{part}: {self.title}" if part else self.title,
            columns=tuple(c.renamed(rename) for c in self.columns),
            weights=self.weights if weights is None else weights,
            features=_mapped(self.features, features),
        )


@dataclass(frozen=True)
class CovarianceTables:
    """The covariance (or scale) matrices ``attribute`` of a covariance structure: variances
    by row where they are diagonal, else the matrix every row shares, or one matrix per row.

    Attributes
    ----------
    attribute : str
        The array in the structure's layout (its ``shape(K, D)``).
    covariance : CovarianceStructure or str
        The structure, or the name of the estimator's attribute that holds the name of its
        covariance type.
    matrix, shared, diagonal : str
        The titles of the matrix of row ``{j}``, of the matrix every row shares, and of the
        variances by row.
    features : tuple of int or None, default=None
        As for :class:`ParameterTable`.
    """

    attribute: str
    covariance: Any
    matrix: str = "covariance of {unit} {j}"
    shared: str = "covariance of every {unit}"
    diagonal: str = "variances by {unit}"
    features: tuple[int, ...] | None = None

    def renamed(
        self,
        rename: Callable[[str], str],
        part: str = "",
        features: tuple[int, ...] | None = None,
        weights: bool | None = None,
    ) -> CovarianceTables:
        """As :meth:`ParameterTable.renamed` (these tables show no weights)."""
        prefix = f"{part}: " if part else ""
        return replace(
            self,
            attribute=rename(self.attribute),
            matrix=prefix + self.matrix,
            shared=prefix + self.shared,
            diagonal=prefix + self.diagonal,
            features=_mapped(self.features, features),
        )


Table = ParameterTable | CovarianceTables
"""A table spec of a summary."""


def _mapped(own: tuple[int, ...] | None, outer: tuple[int, ...] | None) -> tuple[int, ...] | None:
    """The columns ``own`` of a part (None: all of it) as columns of the data, the part
    having the data's columns ``outer`` (None: all of them)."""
    if outer is None:
        return own
    return outer if own is None else tuple(outer[i] for i in own)
