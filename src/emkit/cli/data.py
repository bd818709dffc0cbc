"""Reading the data of a command: the columns a model was fitted on, sequences of a hidden
Markov model, a row index written as a column; and the check of the family that reads it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from emkit.cli.errors import CommandError, warn
from emkit.cli.summary import count, default_names, model_columns, names, quote
from emkit.io.readers import DataError, Table, read_table

__all__ = [
    "check_data",
    "read_features",
    "read_for_model",
    "read_lengths",
    "read_sequences",
]

# Columns spelled out in the --columns a warning suggests.
_MAX_SUGGESTED = 8


def read_features(data: str, columns: Sequence[str] | None, delimiter: str | None) -> Table:
    """The feature columns of ``data`` (default: all), warning about a row index."""
    table = read_table(data, columns=columns, delimiter=delimiter)
    if columns is None:
        _warn_index_column(table, data)
    return table


def _warn_index_column(table: Table, data: str) -> None:
    """Warn when the first column has no name and holds increasing whole numbers: the row
    index that ``pandas.DataFrame.to_csv`` writes unless told ``index=False``."""
    if len(table.columns) < 2 or table.columns[0] not in table.unnamed:
        return
    if len(table.unnamed) == len(table.columns):  # no header at all: nothing says "index"
        return
    first = table.values[:, 0]
    if first.size < 2 or not (np.all(np.diff(first) > 0) and np.all(first == np.floor(first))):
        return
    shown = ", ".join(str(int(v)) for v in first[:3])
    others = table.columns[1:]
    if len(others) <= _MAX_SUGGESTED:
        leave = f"leave it out with --columns {','.join(others)}"
    else:
        leave = "leave it out by naming the other columns with --columns"
    warn(
        f"{quote(data)}: the first column has no name and holds {shown}, ...: a row index, as "
        f"pandas writes with to_csv; it is fitted as the feature {table.columns[0]!r}: {leave}"
    )


def check_data(estimator: Any, values: np.ndarray) -> None:
    """Refuse data that the family reading ``estimator``'s data cannot read (as fitted, once
    fitted: codes it never saw), before the estimator's own checks, which may name no
    position (raise it within :func:`emkit.cli.errors.speaking` for the file's terms)."""
    from emkit.estimators.description import description_of

    family = description_of(estimator).family_of(estimator)
    check = getattr(family, "check_data", None)
    if check is not None:
        check(values)


def _id_text(value: float) -> str:
    """A whole number as one (below 2**53, where floats are exact integers), else its repr."""
    value = float(value)
    return str(int(value)) if value.is_integer() and abs(value) < 2.0**53 else repr(value)


# --------------------------------------------------------------------------------------- #
# Sequences
# --------------------------------------------------------------------------------------- #


def read_sequences(
    data: str,
    columns: Sequence[str] | None,
    sequence_column: str | None,
    delimiter: str | None,
) -> tuple[Table, np.ndarray | None]:
    """The feature columns of ``data`` and the lengths of its sequences.

    Parameters
    ----------
    data : str
        The data file.
    columns : sequence of str, optional
        The feature columns (default: all but the sequence column).
    sequence_column : str, optional
        The column of sequence ids; None makes the whole table one sequence.
    delimiter : str, optional
        The field separator of a text file (default: by its suffix).

    Returns
    -------
    table : Table
        The feature columns.
    lengths : ndarray of int, or None
        Rows of every sequence, in the order of the table; None without a sequence column.
    """
    if sequence_column is None:
        return read_features(data, columns, delimiter), None
    if columns is not None and sequence_column in columns:
        raise CommandError(
            f"the sequence column {sequence_column!r} cannot also be a feature (--columns)"
        )
    selection = None if columns is None else [*columns, sequence_column]
    with _explained_sequence_errors(sequence_column):
        table = read_table(data, columns=selection, delimiter=delimiter)
    if sequence_column not in table.columns:
        raise CommandError(
            f"--sequence-column: {quote(data)} has no column {sequence_column!r}; "
            f"available columns: {names(table.columns, quoted=True)}"
        )
    position = table.columns.index(sequence_column)
    keep = [j for j in range(len(table.columns)) if j != position]
    if not keep:
        raise CommandError(
            f"{quote(data)} has no columns besides the sequence column {sequence_column!r}"
        )
    features = Table(
        values=np.ascontiguousarray(table.values[:, keep]),
        columns=tuple(table.columns[j] for j in keep),
        unnamed=tuple(name for name in table.unnamed if name != sequence_column),
    )
    return features, _sequence_lengths(table.values[:, position], data, sequence_column)


@contextlib.contextmanager
def _explained_sequence_errors(sequence_column: str) -> Iterator[None]:
    """Say which option named the column when the reader refuses the sequence column."""
    try:
        yield
    except DataError as exc:
        message = str(exc)
        if f"has no column {sequence_column!r};" in message:
            raise CommandError(f"--sequence-column: {message}") from None
        if f"column {sequence_column!r} is not numeric" in message:
            raise CommandError(f"{message}; sequence ids must be numbers") from None
        raise


def read_lengths(
    data: str, sequence_column: str | None, delimiter: str | None
) -> np.ndarray | None:
    """Lengths of the sequences of ``data`` by its column ``sequence_column``; None (one
    sequence) without a column."""
    if sequence_column is None:
        return None
    with _explained_sequence_errors(sequence_column):
        ids = read_table(data, columns=[sequence_column], delimiter=delimiter).values[:, 0]
    return _sequence_lengths(ids, data, sequence_column)


def _sequence_lengths(ids: np.ndarray, data: str, sequence_column: str) -> np.ndarray:
    """Lengths of the runs of equal ids, refusing an id that comes back after another:
    taking its rows for two sequences would silently cut one sequence in two."""
    n = ids.shape[0]
    starts = np.concatenate([[0], np.flatnonzero(ids[1:] != ids[:-1]) + 1])
    ends = np.append(starts[1:], n)
    seen: dict[float, int] = {}
    for run, value in enumerate(ids[starts].tolist()):
        earlier = seen.setdefault(value, run)
        if earlier != run:
            raise CommandError(
                f"{quote(data)}: sequence {_id_text(value)} of column {sequence_column!r} "
                f"appears again at data row {starts[run] + 1}, after other sequences (its "
                f"earlier rows are {starts[earlier] + 1} to {ends[earlier]}); the rows of one "
                f"sequence must be consecutive: sort the rows by {sequence_column!r}, keeping "
                "their time order"
            )
    return (ends - starts).astype(np.int64)


# --------------------------------------------------------------------------------------- #
# The columns of a fitted model
# --------------------------------------------------------------------------------------- #


def read_for_model(
    estimator: Any, data: str, exclude: str | None, delimiter: str | None
) -> np.ndarray:
    """The columns of ``data`` that ``estimator`` was fitted on, in the model's order.

    Columns are picked by name when the data file has a header holding the model's columns.
    Data without a header (columns named x0, x1, ... by the reader), and models fitted
    without column names, are matched by position, and then the number of columns must
    equal the model's number of features. The column ``exclude`` (the sequence column) is
    never a feature.
    """
    d = int(estimator.n_features_in_)
    stored = getattr(estimator, "feature_names_in_", None)
    fitted_names = None if stored is None else model_columns(estimator)
    if fitted_names is not None and len(fitted_names) != d:
        raise CommandError(
            f"{quote(data)}: the model's column names do not match its {count(d, 'feature')}"
        )
    by_name = fitted_names is not None and fitted_names != default_names(d)

    selection_error: DataError | None = None
    if by_name:
        try:
            return read_table(data, columns=fitted_names, delimiter=delimiter).values
        except DataError as exc:
            selection_error = exc
    try:
        # Learns the layout; missing values are reported by the strict read below.
        table = read_table(data, allow_missing=True, delimiter=delimiter)
    except DataError:
        if selection_error is not None:
            raise selection_error from None
        raise
    headerless = table.columns == default_names(len(table.columns))
    features = [name for name in table.columns if name != exclude]
    m = len(features)
    if by_name and not headerless:
        assert fitted_names is not None
        missing = [name for name in fitted_names if name not in features]
        if not missing:  # every column is there: the selected read failed on their values
            assert selection_error is not None
            raise selection_error
        word = "column" if len(missing) == 1 else "columns"
        raise CommandError(
            f"{quote(data)} lacks {word} {', '.join(map(repr, missing))} that "
            f"the model was fitted on; its columns are "
            f"{names(table.columns, quoted=True)}"
        )
    if m != d:
        fitted = count(d, "feature") + (f" ({names(fitted_names)})" if by_name else "")
        besides = "" if exclude is None else f" besides the sequence column {exclude!r}"
        raise CommandError(
            f"the model was fitted on {fitted} but {quote(data)} has {count(m, 'column')}{besides}"
        )
    values = table.values
    if exclude is not None:
        values = np.ascontiguousarray(values[:, [table.columns.index(name) for name in features]])
    if np.isnan(values).any():
        # Raises the reader's message naming the line.
        return read_table(data, columns=features, delimiter=delimiter).values
    return values
