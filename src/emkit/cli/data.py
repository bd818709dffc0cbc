"""Reading the data of a command: the columns a model was fitted on, sequences of a hidden
Markov model, a row index written as a column, the documents of a corpus of texts; and the
check of the family that reads it.

Mixtures and k-means read their data file a chunk at a time (:func:`open_source`,
:func:`scan_source`, :func:`open_for_model`), with the messages of the file read whole: rows
and lines of the file, missing values counted over all of it. Hidden Markov models with a
sequence column read it a chunk of whole sequences at a time (:func:`open_sequences`,
:func:`scan_sequences`, :func:`open_sequences_for_model`); without one, the whole table is
one sequence, read whole.
"""

from __future__ import annotations

import contextlib
import itertools
import pathlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

import numpy as np

from emkit.cli.chunks import rows_from
from emkit.cli.errors import CommandError, warn
from emkit.cli.summary import count, default_names, model_columns, names, quote
from emkit.core.batches import DEFAULT_CHUNK_SIZE
from emkit.io.readers import DataError, Table, _select, read_table

__all__ = [
    "Opened",
    "Scan",
    "SequenceScan",
    "check_data",
    "open_for_model",
    "open_sequences",
    "open_sequences_for_model",
    "open_source",
    "read_features",
    "read_for_model",
    "read_sequences",
    "read_texts",
    "refuse_missing",
    "scan_sequences",
    "scan_source",
    "takes_missing",
]

# Columns spelled out in the --columns a warning suggests.
_MAX_SUGGESTED = 8
# Values shown of a column taken for a row index.
_SHOWN = 3


def read_features(
    data: str,
    columns: Sequence[str] | None,
    delimiter: str | None,
    allow_missing: bool = False,
) -> Table:
    """The feature columns of ``data`` (default: all), warning about a row index; missing
    cells (NaN) refused unless ``allow_missing``."""
    table = read_table(data, columns=columns, delimiter=delimiter, allow_missing=allow_missing)
    if columns is None:
        index = _IndexColumn(table.columns, table.unnamed)
        index.add(table.values[:, 0])
        index.warn(data)
    return table


class _IndexColumn:
    """Whether the first of ``columns`` has no name (it is one of ``unnamed``) and holds
    increasing whole numbers: the row index that ``pandas.DataFrame.to_csv`` writes unless
    told ``index=False``. Its values come a block at a time (:meth:`add`)."""

    def __init__(self, columns: Sequence[str], unnamed: Sequence[str]) -> None:
        self.columns = tuple(columns)
        # No header at all (every column unnamed): nothing says "index".
        self.watching = len(columns) >= 2 and columns[0] in unnamed and len(unnamed) != len(columns)
        self.size = 0
        self.shown: list[float] = []
        self.last: float | None = None

    def add(self, first: np.ndarray) -> None:
        """The next values of the first column."""
        if not self.watching or first.size == 0:
            return
        increasing = bool(np.all(np.diff(first) > 0)) and (
            self.last is None or bool(first[0] > self.last)
        )
        if not (increasing and np.all(first == np.floor(first))):
            self.watching = False
            return
        self.size += first.size
        self.shown += first[: _SHOWN - len(self.shown)].tolist()
        self.last = float(first[-1])

    def warn(self, data: str) -> None:
        """Warn, once all the values are in, when they look like a row index."""
        if not self.watching or self.size < 2:
            return
        shown = ", ".join(str(int(v)) for v in self.shown)
        others = self.columns[1:]
        if len(others) <= _MAX_SUGGESTED:
            leave = f"leave it out with --columns {','.join(others)}"
        else:
            leave = "leave it out by naming the other columns with --columns"
        warn(
            f"{quote(data)}: the first column has no name and holds {shown}, ...: a row index, "
            f"as pandas writes with to_csv; it is fitted as the feature {self.columns[0]!r}: "
            f"{leave}"
        )


# --------------------------------------------------------------------------------------- #
# Data files read a chunk at a time
# --------------------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Opened:
    """A data file opened as a row source (:func:`emkit.open_data`), with what the command
    says of it.

    Attributes
    ----------
    source : RowSource
        Its rows, read a chunk at a time.
    path : str
        The file (a folder or pattern of Parquet files).
    columns : tuple of str
        The names of the source's columns, as :func:`~emkit.io.readers.read_table` names
        them (``x0``, ``x1``, ... by position where the file names none).
    unnamed : tuple of str
        The names of ``columns`` the file did not give.
    selection : tuple of str or None
        The columns asked for (None: all).
    delimiter : str or None
        The field separator asked for.
    """

    source: Any
    path: str
    columns: tuple[str, ...]
    unnamed: tuple[str, ...]
    selection: tuple[str, ...] | None
    delimiter: str | None


def open_source(data: str, columns: Sequence[str] | None, delimiter: str | None) -> Opened:
    """``data`` as a row source of the columns ``columns`` (default: all), named as
    :func:`~emkit.io.readers.read_table` names them: a file without names (``.npy``) has
    columns ``x0``, ``x1``, ... by position, and is selected by those names.

    Raises
    ------
    DataError
        As :func:`emkit.open_data` does (a file that does not exist, a column it lacks, ...).
    CommandError
        For Parquet files without pyarrow.
    """
    from emkit import open_data
    from emkit.execution.files import CSVFile
    from emkit.io.readers import _normalise_selection, _select

    selection = _normalise_selection(columns)
    try:
        source = open_data(data, delimiter=delimiter)
        if selection is not None and source.columns is None:
            # Columns known by position only: their names are those of positions.
            every = default_names(source.n_features)
            source = open_data(data, _select(every, selection, quote(data)), delimiter=delimiter)
        elif selection is not None:
            source = open_data(data, selection, delimiter=delimiter)
    except ImportError as exc:
        raise CommandError(str(exc)) from None
    if source.columns is not None:
        named = tuple(source.columns)
        unnamed = source._table.unnamed if isinstance(source, CSVFile) else ()
    else:
        named = selection or default_names(source.n_features)
        unnamed = named
    return Opened(source, data, named, tuple(unnamed), selection, delimiter)


@dataclass(frozen=True)
class Scan:
    """What a pass over a data file found before a fit (:func:`scan_source`).

    Attributes
    ----------
    n_rows : int
        Its rows.
    refusal : ValueError or None
        The first error of the family that reads the estimator's data, its rows those of
        the file (from 0), raised by the command in the file's terms after its checks of
        the number of rows; None when the family reads every chunk.
    """

    n_rows: int
    refusal: ValueError | None


def scan_source(estimator: Any, opened: Opened, chunk_size: int) -> Scan:
    """One pass over ``opened`` before ``estimator`` is fitted to it, a chunk at a time.

    The errors come in the order of a read of the whole file: the reader's (values that
    are not numbers, lines of another length) as they are met; missing values, counted over
    the whole file, at its end, unless the estimator takes them (:func:`takes_missing`);
    then the warning about a row index (when all columns are read); the family's refusal
    is left to the caller (:attr:`Scan.refusal`).

    Raises
    ------
    DataError
        The reader's, and :func:`refuse_missing`'s.
    """
    index = _IndexColumn(opened.columns, () if opened.selection else opened.unnamed)
    refusal: ValueError | None = None
    missing = False
    n = 0
    allowed = takes_missing(estimator)
    for rows, _ in opened.source.chunks(chunk_size):
        missing = missing or (not allowed and bool(np.isnan(rows).any()))
        if not (missing or refusal):
            try:
                with rows_from(n):
                    check_data(estimator, rows)
            except ValueError as exc:
                refusal = exc
        index.add(rows[:, 0])
        n += rows.shape[0]
    if missing:
        refuse_missing(opened)
    index.warn(opened.path)
    return Scan(n, refusal)


def takes_missing(estimator: Any) -> bool:
    """Whether ``estimator`` takes missing cells (NaN) in its data: when its family
    conditions on the observed cells, as the face's ``allow_nan`` tag declares."""
    from sklearn.utils import get_tags

    return bool(get_tags(estimator).input_tags.allow_nan)


def refuse_missing(opened: Opened) -> NoReturn:
    """Raise the reader's error of the missing values of ``opened``: the first column that
    holds one, their number in it and where the first one is, as
    :func:`~emkit.io.readers.read_table` reports them (lines of a text file, rows of the
    others), from one more pass over the file.

    Raises
    ------
    DataError
        Always; that the file changed, when the pass finds no missing value.
    """
    from emkit.execution.files import CSVFile
    from emkit.io import readers

    label = quote(opened.path)
    source = opened.source
    if isinstance(source, CSVFile):
        # Line numbers are known only to the parser: it reads the text again.
        path = pathlib.Path(opened.path)
        sep = opened.delimiter or readers._TEXT_DELIMITERS.get(path.suffix.lower(), "sniff")
        table = readers._TextTable(path, label, sep, opened.selection)
        checks = readers._ValueChecks(table.columns, label, allow_missing=False)
        block_rows = max(1, readers._BLOCK_FIELDS // len(table.names))
        with table.hinted():
            for rows, lines in table.blocks(itertools.repeat(block_rows)):
                block = np.empty((len(rows), len(table.columns)))
                table.parse(rows, lines, block)
                checks.add(block, lambda i, lines=lines: f"on line {lines[i]}")
            checks.check()
    else:
        checks = readers._ValueChecks(opened.columns, label, allow_missing=False)
        start = 0
        for rows, _ in source.chunks(readers._BLOCK_FIELDS // source.n_features or 1):
            checks.add(rows, lambda i, start=start: readers._in_row(start + i))
            start += rows.shape[0]
        checks.check()
    raise DataError(f"{label} changed while it was read: its missing values are gone")


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
    allow_missing: bool = False,
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
    allow_missing : bool, default=False
        Whether missing cells (NaN) of the features are taken (never in the sequence
        column).

    Returns
    -------
    table : Table
        The feature columns.
    lengths : ndarray of int, or None
        Rows of every sequence, in the order of the table; None without a sequence column.
    """
    if sequence_column is None:
        return read_features(data, columns, delimiter, allow_missing), None
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


def open_sequences(
    data: str, columns: Sequence[str] | None, sequence_column: str, delimiter: str | None
) -> Opened:
    """The sequences of ``data`` by its column ``sequence_column``, as a source of chunks of
    whole sequences (:func:`emkit.open_data` with ``sequence_column``) of the feature
    columns ``columns`` (default: all but the sequence column), named as
    :func:`open_source` names them.

    Raises
    ------
    CommandError
        For a sequence column the file lacks, that is also a feature, or that is its only
        column; for ids that are not numbers (Parquet).
    DataError
        As :func:`open_source` does.
    """
    if columns is not None and sequence_column in columns:
        raise CommandError(
            f"the sequence column {sequence_column!r} cannot also be a feature (--columns)"
        )
    with _explained_sequence_errors(sequence_column):
        whole = open_source(data, None, delimiter)
        _check_sequence_column(data, whole.columns, sequence_column)
        features = [c for c in whole.columns if c != sequence_column]
        if columns is not None:
            _select(features, tuple(columns), quote(data))
            features = list(columns)
        if not features:
            raise CommandError(
                f"{quote(data)} has no columns besides the sequence column {sequence_column!r}"
            )
        return _sequences_of(whole, features, sequence_column)


def open_sequences_for_model(
    estimator: Any, data: str, sequence_column: str, delimiter: str | None
) -> Opened:
    """The sequences of ``data`` by its column ``sequence_column``, of the columns that the
    hidden Markov model ``estimator`` was fitted on, in the model's order, as a source of
    chunks of whole sequences; the columns are matched as :func:`read_for_model` matches
    them, with its messages."""
    d, fitted_names, by_name = _fitted_columns(estimator, data)
    with _explained_sequence_errors(sequence_column):
        whole = open_source(data, None, delimiter)
        _check_sequence_column(data, whole.columns, sequence_column)
        available = [c for c in whole.columns if c != sequence_column]
        if by_name and fitted_names is not None and set(fitted_names) <= set(available):
            features = list(fitted_names)
        else:
            features = _matched(
                data,
                d,
                fitted_names,
                by_name,
                whole.columns,
                sequence_column,
                None,
                lambda: _read_error(whole),
            )
        return _sequences_of(whole, features, sequence_column)


def _check_sequence_column(data: str, columns: Sequence[str], sequence_column: str) -> None:
    if sequence_column not in columns:
        raise CommandError(
            f"--sequence-column: {quote(data)} has no column {sequence_column!r}; "
            f"available columns: {names(columns, quoted=True)}"
        )


def _sequences_of(whole: Opened, features: Sequence[str], sequence_column: str) -> Opened:
    """The source of the sequences of the file ``whole`` opens, of its columns
    ``features``: an :class:`Opened` whose ``source`` is a
    :class:`~emkit.execution.sequence_files.SequenceFile`."""
    from emkit import open_data

    try:
        if whole.source.columns is None:
            # Columns known by position only (.npy): their names are those of positions.
            position = whole.columns.index
            source = open_data(
                whole.path,
                [position(name) for name in features],
                sequence_column=position(sequence_column),
            )
        else:
            source = open_data(
                whole.path, features, delimiter=whole.delimiter, sequence_column=sequence_column
            )
    except ImportError as exc:
        raise CommandError(str(exc)) from None
    unnamed = tuple(name for name in whole.unnamed if name in features)
    return Opened(source, whole.path, tuple(features), unnamed, tuple(features), whole.delimiter)


@dataclass(frozen=True)
class SequenceScan:
    """What a pass over the sequences of a data file found before a fit
    (:func:`scan_sequences`).

    Attributes
    ----------
    n_rows : int
        Its rows.
    lengths : ndarray of int, shape (n_sequences,)
        Rows of every sequence, in the order of the file.
    refusal : ValueError or None
        As :attr:`Scan.refusal`.
    """

    n_rows: int
    lengths: np.ndarray
    refusal: ValueError | None


def scan_sequences(estimator: Any, opened: Opened, chunk_size: int) -> SequenceScan:
    """One pass over the sequences of ``opened`` (:func:`open_sequences`) before
    ``estimator`` is fitted to them, a chunk at a time, with the errors of
    :func:`scan_source` (and the sequence column's: ids that are not numbers, missing, or
    that come back after other sequences, as they are met).

    Raises
    ------
    DataError
        The reader's, the sequence column's, and :func:`refuse_missing`'s.
    CommandError
        For ids that are not numbers.
    """
    refusal: ValueError | None = None
    missing = False
    n = 0
    lengths = []
    allowed = takes_missing(estimator)
    for rows, _ in sequence_chunks(opened, chunk_size):
        missing = missing or (not allowed and bool(np.isnan(rows.X).any()))
        if not (missing or refusal):
            try:
                with rows_from(n):
                    check_data(estimator, rows.X)
            except ValueError as exc:
                refusal = exc
        lengths.append(rows.lengths)
        n += rows.shape[0]
    if missing:
        refuse_missing(with_ids(opened))
    return SequenceScan(n, np.concatenate(lengths), refusal)


def sequence_chunks(opened: Opened, chunk_size: int) -> Iterator[Any]:
    """The chunks of whole sequences of ``opened``, with the errors of its sequence column
    in the command line's words."""
    with _explained_sequence_errors(opened.source.sequence_column):
        yield from opened.source.chunks(chunk_size)


def with_ids(opened: Opened) -> Opened:
    """The rows of the sequences of ``opened`` with their ids, as a plain source: the file
    :func:`refuse_missing` reads for its messages."""
    rows = opened.source.rows
    ids = opened.source.sequence_column
    columns = (*opened.columns, ids)
    return Opened(rows, opened.path, columns, opened.unnamed, columns, opened.delimiter)


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
    estimator: Any,
    data: str,
    exclude: str | None,
    delimiter: str | None,
    allow_missing: bool = False,
) -> np.ndarray:
    """The columns of ``data`` that ``estimator`` was fitted on, in the model's order.

    Columns are picked by name when the data file has a header holding the model's columns.
    Data without a header (columns named x0, x1, ... by the reader), and models fitted
    without column names, are matched by position, and then the number of columns must
    equal the model's number of features. The column ``exclude`` (the sequence column) is
    never a feature. Missing cells (NaN) are refused unless ``allow_missing``.
    """
    d, fitted_names, by_name = _fitted_columns(estimator, data)
    selection_error: DataError | None = None
    if by_name:
        try:
            return read_table(
                data, columns=fitted_names, delimiter=delimiter, allow_missing=allow_missing
            ).values
        except DataError as exc:
            selection_error = exc
    try:
        # Learns the layout; missing values are reported by the strict read below.
        table = read_table(data, allow_missing=True, delimiter=delimiter)
    except DataError:
        if selection_error is not None:
            raise selection_error from None
        raise
    features = _matched(
        data, d, fitted_names, by_name, table.columns, exclude, selection_error, lambda: None
    )
    values = table.values
    if exclude is not None:
        values = np.ascontiguousarray(values[:, [table.columns.index(name) for name in features]])
    if not allow_missing and np.isnan(values).any():
        # Raises the reader's message naming the line.
        return read_table(data, columns=features, delimiter=delimiter).values
    return values


def open_for_model(estimator: Any, data: str, delimiter: str | None) -> Opened:
    """The columns of ``data`` that ``estimator`` (not an hmm) was fitted on, in the model's
    order, as a row source: matched as :func:`read_for_model` matches them, with its
    messages. The values are read by the passes over the source, whose errors (a value
    that is not a number; missing values, through :func:`refuse_missing`) are the
    reader's."""
    d, fitted_names, by_name = _fitted_columns(estimator, data)
    selection_error: DataError | None = None
    if by_name:
        try:
            return open_source(data, fitted_names, delimiter)
        except DataError as exc:
            selection_error = exc
    try:
        opened = open_source(data, None, delimiter)
    except DataError:
        if selection_error is not None:
            raise selection_error from None
        raise
    _matched(
        data,
        d,
        fitted_names,
        by_name,
        opened.columns,
        None,
        selection_error,
        lambda: _read_error(opened),
    )
    return opened


def _fitted_columns(estimator: Any, data: str) -> tuple[int, tuple[str, ...] | None, bool]:
    """The number of features of ``estimator``, the names it was fitted with (None for
    none), and whether to match the columns of ``data`` by them."""
    d = int(estimator.n_features_in_)
    stored = getattr(estimator, "feature_names_in_", None)
    fitted_names = None if stored is None else model_columns(estimator)
    if fitted_names is not None and len(fitted_names) != d:
        raise CommandError(
            f"{quote(data)}: the model's column names do not match its {count(d, 'feature')}"
        )
    return d, fitted_names, fitted_names is not None and fitted_names != default_names(d)


def _matched(
    data: str,
    d: int,
    fitted_names: tuple[str, ...] | None,
    by_name: bool,
    columns: tuple[str, ...],
    exclude: str | None,
    selection_error: DataError | None,
    read_error: Any,
) -> list[str]:
    """The feature columns of a file whose columns are ``columns``, for a model of ``d``
    features, once the read of the model's columns by name failed (``selection_error``)
    or was not tried; ``read_error()`` is the error of a read of all the columns (None when
    they read), which comes first, as the read of the whole file gives it.

    Raises
    ------
    CommandError
        When the file lacks a column the model was fitted on, or has another number of
        columns.
    DataError
        The failed read's.
    """
    headerless = columns == default_names(len(columns))
    features = [name for name in columns if name != exclude]
    m = len(features)
    if by_name and not headerless:
        assert fitted_names is not None
        missing = [name for name in fitted_names if name not in features]
        if not missing:  # every column is there: the selected read failed on their values
            assert selection_error is not None
            raise selection_error
        _raise_read_error(read_error(), selection_error)
        word = "column" if len(missing) == 1 else "columns"
        raise CommandError(
            f"{quote(data)} lacks {word} {', '.join(map(repr, missing))} that "
            f"the model was fitted on; its columns are "
            f"{names(columns, quoted=True)}"
        )
    if m != d:
        _raise_read_error(read_error(), selection_error)
        fitted = count(d, "feature") + (f" ({names(fitted_names)})" if by_name else "")
        besides = "" if exclude is None else f" besides the sequence column {exclude!r}"
        raise CommandError(
            f"the model was fitted on {fitted} but {quote(data)} has {count(m, 'column')}{besides}"
        )
    return features


def _raise_read_error(error: DataError | None, selection_error: DataError | None) -> None:
    """Raise what a read of every column that failed with ``error`` raises."""
    if error is not None:
        raise (selection_error or error) from None


def _read_error(opened: Opened) -> DataError | None:
    """The error of a pass over ``opened`` (missing values allowed), or None."""
    try:
        for _ in opened.source.chunks(DEFAULT_CHUNK_SIZE):
            pass
    except DataError as exc:
        return exc
    return None


# --------------------------------------------------------------------------------------- #
# Corpora of texts
# --------------------------------------------------------------------------------------- #

# What read_corpus says of its keyword arguments, in the options of the command line.
_CORPUS_WORDS = (
    (re.compile(r"\bread_corpus: "), ""),
    (re.compile(r"\bwith column='\.\.\.'"), "with --column NAME"),
    (re.compile(r"\bcolumn="), "--column "),
)
# The CountVectorizer options that the command line's options set, by option.
_VOCABULARY_OPTIONS = {
    "--min-df": "min_df",
    "--max-df": "max_df",
    "--max-features": "max_features",
    "--stop-words": "stop_words",
}


def read_texts(
    path: str,
    column: str | None,
    *,
    vocabulary: Sequence[str] | None = None,
    options: dict[str, Any] | None = None,
) -> Any:
    """The documents of the corpus ``path`` (:func:`emkit.io.corpus.read_corpus`: a text file,
    a folder of text files, or the ``column`` of a table) as a
    :class:`~emkit.io.corpus.Corpus`, with messages in the command line's words.

    Parameters
    ----------
    path : str
    column : str or None
    vocabulary : sequence of str, optional
        Count over these words (a fitted model's ``feature_names_in_``), with the token
        pattern and lowercasing of :data:`~emkit.io.corpus.TOPIC_MODEL_DEFAULTS`, with which
        ``emkit topics`` counted them; else the vocabulary is the corpus's own.
    options : dict, optional
        CountVectorizer options over the defaults, by parameter name (min_df, max_df,
        max_features, stop_words); not with ``vocabulary``.

    Raises
    ------
    CommandError
        For a path that does not exist, a corpus of no documents, a column the table lacks
        or that is not one of texts, a vocabulary the options empty, or a vocabulary of no
        words.
    """
    from sklearn.feature_extraction.text import CountVectorizer

    from emkit.io.corpus import TOPIC_MODEL_DEFAULTS, read_corpus

    if not pathlib.Path(path).exists():
        raise CommandError(f"no such file or folder: {quote(path)}")
    given = options or {}
    try:
        if vocabulary is None:
            return read_corpus(path, column=column, **given)
        words = list(vocabulary)
        if not words:
            raise CommandError("the model has no vocabulary (no words) to count texts over")
        counter = CountVectorizer(
            vocabulary=words,
            token_pattern=TOPIC_MODEL_DEFAULTS["token_pattern"],
            lowercase=TOPIC_MODEL_DEFAULTS["lowercase"],
        )
        return read_corpus(path, column=column, vectorizer=counter)
    except ValueError as exc:
        message = str(exc)
        if "left in the vocabulary" in message:
            raise CommandError(_empty_vocabulary(path, given)) from None
        for pattern, words in _CORPUS_WORDS:
            message = pattern.sub(words, message)
        raise CommandError(message) from None


def _empty_vocabulary(path: str, given: dict[str, Any]) -> str:
    from emkit.io.corpus import TOPIC_MODEL_DEFAULTS

    settings = {**TOPIC_MODEL_DEFAULTS, **given}
    shown = ", ".join(
        f"{flag} {'none' if settings.get(name) is None else settings[name]}"
        for flag, name in _VOCABULARY_OPTIONS.items()
        if name in settings
    )
    return (
        f"no word of the documents of {quote(path)} is left in the vocabulary ({shown}); "
        "relax the options: --stop-words none keeps stop words, --min-df 1 words of one "
        "document, --max-df 1.0 words of every document (words are runs of two or more "
        "letters)"
    )
