"""Files as row sources: ``.npy`` arrays, Parquet files and text tables, read in chunks.

Every pass reads the file again, a chunk at a time, so that a fit holds one chunk of the
file (and a block of its pages, a Parquet batch or a block of text lines), never the file.
The files are parsed by :mod:`emkit.io.readers`: a source gives, over any chunk size, the
rows, column names and error messages that :func:`~emkit.io.readers.read_table` gives with
``allow_missing=True``. Missing values are NaN (the model decides whether it takes them);
an infinite value is refused, naming the file, its column and its line or row. The errors
of a file's values are raised by the pass that reads them.

:func:`open_data` chooses the source by the file's suffix.

The sources are cut for other processes to read (:meth:`RowSource.partitions`, as the
workers of a cluster do): a ``.npy`` file into ranges of rows, Parquet files into ranges of
the rows of the files taken one after another (each part reads the row groups that hold its
rows); a part is the file's name, its columns and its rows, never its values. A text file is
one part: where its records begin is known only by parsing it from its start (a quoted
field may hold line breaks).
"""

from __future__ import annotations

import copy
import glob
import itertools
import os
import pathlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from emkit.execution.sources import Chunk, RowSource, spans
from emkit.io import readers
from emkit.io.readers import (
    _PARQUET_SUFFIXES,
    _TEXT_DELIMITERS,
    DataError,
    _batch_into,
    _check_delimiter,
    _check_file,
    _in_row,
    _normalise_selection,
    _not_text,
    _npy_array,
    _npy_blocks,
    _open_parquet,
    _parquet_batches,
    _parquet_selection,
    _pyarrow,
    _select,
    _TextTable,
    _unsupported,
    _ValueChecks,
)

__all__ = ["CSVFile", "NpyFile", "ParquetFiles", "open_data"]

PathLike = str | os.PathLike[str]


def open_data(
    path: PathLike,
    columns: Sequence[str] | Sequence[int] | None = None,
    *,
    delimiter: str | None = None,
    sequence_column: str | int | None = None,
) -> RowSource:
    """The rows of a data file, or of a folder or pattern of Parquet files, as a source
    that EM reads a chunk at a time (:func:`emkit.fit_em` takes it as its data).

    With ``sequence_column``, the rows are the sequences of a hidden Markov model: a
    :class:`~emkit.execution.sequence_files.SequenceFile`, whose chunks hold whole
    sequences, which every HMM face takes in place of ``X`` and ``lengths``.

    The source is chosen by the suffix (case-insensitive):

    ``.npy``
        :class:`NpyFile`: a NumPy array of one or two dimensions, memory-mapped.
    ``.parquet``, ``.pq``, a folder, or a glob pattern
        :class:`ParquetFiles`: one Parquet file, the ``.parquet`` and ``.pq`` files of a
        folder, or the files a pattern such as ``'data/part-*.parquet'`` matches.
    ``.csv``, ``.tsv``, ``.tab``, ``.txt``
        :class:`CSVFile`: a text table, read a block of lines at a time.

    Parameters
    ----------
    path : str or os.PathLike
        The file, folder or pattern.
    columns : sequence of str, or of int for a ``.npy`` file, optional
        The columns to read, in the order wanted: names, or the positions of the columns
        of a ``.npy`` file (which has no names). All columns by default.
    delimiter : str, optional
        The field separator of a text file, in place of the one its suffix implies.
    sequence_column : str, or int for a ``.npy`` file, optional
        The column of the sequence id of every row (its position in a ``.npy`` file): the
        rows of one sequence are consecutive rows of one id, in time order. It is no
        feature: ``columns`` are then the features (default: all the other columns).
        Ids are numbers (whole numbers above 2**53 may be read as equal).

    Returns
    -------
    RowSource
        Not in memory: initialisation draws its sample in one pass over the file.

    Raises
    ------
    DataError
        For a path that does not exist or matches no file, an unsupported suffix, a
        delimiter for a file that is not text, or a file :func:`read_table` refuses; for a
        sequence column the file lacks, that is also one of ``columns``, or that is the
        only column; from the passes of a sequence file, an id that is missing or that
        comes back after other sequences.
    ImportError
        For Parquet files, when pyarrow is not installed.
    """
    if sequence_column is not None:
        return _sequence_file(path, columns, delimiter, sequence_column)
    _check_delimiter(delimiter)
    label = repr(os.fspath(path))
    file_path = pathlib.Path(path)
    suffix = file_path.suffix.lower()
    pattern = not file_path.exists() and _is_pattern(path)
    if suffix in _TEXT_DELIMITERS or suffix == ".npy":
        if pattern:
            raise DataError(
                f"no such file: {label}; a pattern is read as Parquet files, and {suffix} "
                "files are opened one at a time"
            )
        if suffix == ".npy":
            if delimiter is not None:
                raise _not_text(label)
            return NpyFile(path, columns)
        return CSVFile(path, columns, delimiter)
    if suffix in _PARQUET_SUFFIXES or file_path.is_dir() or pattern:
        if delimiter is not None:
            raise _not_text(label)
        return ParquetFiles(path, columns)
    _check_file(file_path, label)
    raise _unsupported(label, suffix)


def _sequence_file(
    path: PathLike,
    columns: Sequence[str] | Sequence[int] | None,
    delimiter: str | None,
    sequence_column: str | int,
) -> RowSource:
    """The :class:`SequenceFile` of ``open_data(path, columns, sequence_column=...)``: the
    file's source of the feature columns and the id column, last."""
    from emkit.execution.sequence_files import SequenceFile

    label = repr(os.fspath(path))
    whole = open_data(path, delimiter=delimiter)
    if whole.columns is None:  # a .npy file: columns by position
        n = whole.n_features
        if isinstance(sequence_column, bool) or not isinstance(sequence_column, (int, np.integer)):
            raise TypeError(
                "the columns of a .npy file are known by position: sequence_column must be an "
                f"int, got {sequence_column!r}"
            )
        position = int(sequence_column)
        _positions([position], n, label)
        available: list[Any] = list(range(n))
        id_name = f"x{position}"  # as read_table names it
    else:
        if not isinstance(sequence_column, str):
            raise TypeError(
                f"sequence_column names a column of {label}: a str, got {sequence_column!r}"
            )
        available = list(whole.columns)
        position = _select(available, (sequence_column,), label)[0]
        id_name = sequence_column
    if columns is None:
        features = [c for c in available if c != available[position]]
    else:
        features = list(columns)
        if available[position] in features:
            raise DataError(
                f"the sequence column {id_name!r} of {label} cannot also be a feature "
                "(one of columns)"
            )
    if not features:
        raise DataError(f"{label} has no columns besides the sequence column {id_name!r}")
    rows = open_data(path, [*features, available[position]], delimiter=delimiter)
    # A .npy file names no columns: nor do its sequences.
    feature_names = None if rows.columns is None else tuple(rows.columns[:-1])
    return SequenceFile(rows, feature_names, id_name, label)


# -- .npy -----------------------------------------------------------------------------------------
class NpyFile(RowSource):
    """The rows of a NumPy ``.npy`` file, memory-mapped and copied a chunk at a time.

    A chunk is a copy of consecutive rows; the pages of the file it was copied from are
    released, so that a pass holds one chunk, not the file. float32 data stays float32
    (float16 is read as float32), other numbers are read as float64, as
    :func:`~emkit.io.readers.read_table` reads them.

    Parameters
    ----------
    path : str or os.PathLike
        A file holding a numeric array of shape (n_samples, n_features), or (n_samples,)
        for one column.
    columns : sequence of int, optional
        Positions of the columns to read, in the order wanted (a ``.npy`` file names no
        columns; :func:`read_table` calls column ``j`` ``'x{j}'``). All by default.

    Raises
    ------
    DataError
        For a file :func:`read_table` refuses, and for positions out of range or repeated.
    TypeError
        For columns that are not a sequence of ints.
    """

    def __init__(self, path: PathLike, columns: Sequence[int] | None = None) -> None:
        self.path = pathlib.Path(path)
        self._label = repr(os.fspath(path))
        _check_file(self.path, self._label)
        array, self.dtype = _npy_array(self.path, self._label)
        self._layout = (array.shape, array.dtype)
        self._indices = _positions(columns, array.shape[1], self._label)
        self.n_features = array.shape[1] if self._indices is None else len(self._indices)
        # Column names as read_table gives them, for the messages about values.
        all_names = [f"x{j}" for j in range(array.shape[1])]
        self._names = all_names if self._indices is None else [all_names[j] for j in self._indices]
        self._span = (0, int(array.shape[0]))  # the rows read: all, or a part's

    def __repr__(self) -> str:
        selection = "" if self._indices is None else f", columns={self._indices}"
        return f"NpyFile({os.fspath(self.path)!r}{selection}{_rows_of_part(self._span, self)})"

    @property
    def n_rows(self) -> int:
        return self._span[1] - self._span[0]

    def chunks(self, max_rows: int) -> Iterator[Chunk]:
        array, _ = _npy_array(self.path, self._label)
        if (array.shape, array.dtype) != self._layout:
            raise _changed(self._label, f"it holds {array.dtype} {array.shape} now")
        k = self.n_features
        first, last = self._span
        checks = _ValueChecks(self._names, self._label, allow_missing=True)
        blocks = _npy_blocks(
            array[first:last],
            max_rows,
            self._indices,
            self._label,
            lambda start, stop: np.empty((stop - start, k), dtype=self.dtype),
        )
        del array  # the blocks hold the map, and close it when they are done
        for start, block in blocks:
            _refuse_infinite(checks, block, lambda i, start=first + start: _in_row(start + i))
            yield block, None

    def partitions(self, n: int, align: int) -> list[RowSource]:
        return _parts(self, n, align)


def _positions(columns: Sequence[int] | None, n_columns: int, label: str) -> list[int] | None:
    """The column positions of a selection (None for all), checked."""
    if columns is None:
        return None
    if isinstance(columns, (str, bytes)) or not all(
        isinstance(j, (int, np.integer)) and not isinstance(j, (bool, np.bool_)) for j in columns
    ):
        raise TypeError(
            f"the columns of a .npy file are selected by position, a sequence of ints, "
            f"got {columns!r}"
        )
    positions = [int(j) for j in columns]
    if not positions:
        raise DataError("the column selection is empty; name at least one column")
    for j in positions:
        if not 0 <= j < n_columns:
            raise DataError(f"{label} has no column {j}; its columns are 0 to {n_columns - 1}")
    if len(set(positions)) != len(positions):
        repeated = next(j for j in positions if positions.count(j) > 1)
        raise DataError(f"column {repeated} is selected more than once")
    return positions


# -- Parquet --------------------------------------------------------------------------------------
class ParquetFiles(RowSource):
    """The rows of Parquet files, read a record batch at a time.

    Chunks are cut every ``max_rows`` rows of the files taken one after another, whatever
    their row groups and wherever one file ends: a fit over the files equals a fit over
    their rows in one array with the same chunk size. Memory holds one chunk and one batch
    of at most about a million bytes of values. Integer, floating-point and boolean columns
    are read; nulls are missing values (NaN); the index columns that pandas stores are no
    columns. The rows are float32 when every selected column is float32, float64 otherwise.

    Parameters
    ----------
    path : str or os.PathLike
        One Parquet file; a folder, whose ``.parquet`` and ``.pq`` files are read in the
        order of their names; or a glob pattern, whose files are read in the order of
        their paths.
    columns : sequence of str, optional
        Names of the columns to read, in the order wanted. By default the columns of the
        first file, which every file must hold.

    Raises
    ------
    DataError
        For a path that does not exist or holds or matches no file, a file
        :func:`read_table` refuses, files that do not hold the same columns of the same
        types, or files that hold no rows.
    ImportError
        When pyarrow is not installed.

    Attributes
    ----------
    files : tuple of pathlib.Path
        The files, in the order they are read.
    """

    def __init__(self, path: PathLike, columns: Sequence[str] | None = None) -> None:
        self._label = repr(os.fspath(path))
        selected = _normalise_selection(columns)
        pa, _ = _pyarrow()
        self.files = _parquet_paths(path, self._label)
        first_label = _file_label(self.files[0])
        parquet_file, names, n_rows = _open_parquet(self.files[0], first_label)
        with parquet_file:
            chosen = _parquet_selection(parquet_file, names, selected, first_label)
            types = _column_types(parquet_file, chosen)
        rows = [n_rows]
        for file in self.files[1:]:
            label = _file_label(file)
            parquet_file, file_names, n_rows = _open_parquet(file, label)
            with parquet_file:
                if selected is None:
                    _same_columns(file_names, names, label, first_label)
                else:
                    _select(file_names, selected, label)
                file_types = _column_types(parquet_file, chosen)
            for name, file_type, first_type in zip(chosen, file_types, types, strict=True):
                if file_type != first_type:
                    raise DataError(
                        f"{label}: column {name!r} is of Parquet type {file_type}, but of "
                        f"type {first_type} in {first_label}; the files must agree on the "
                        "columns' types"
                    )
            rows.append(n_rows)
        if sum(rows) == 0:
            raise DataError(f"{self._label} holds no data rows")
        self._columns = tuple(chosen)
        self._rows = tuple(rows)
        self._span = (0, sum(rows))  # the rows read, of the files one after another
        self._types = types
        self.n_features = len(chosen)
        all_float32 = all(pa.types.is_float32(t) for t in types)
        self.dtype = np.dtype(np.float32 if all_float32 else np.float64)

    def __repr__(self) -> str:
        rows = _rows_of_part(self._span, self)
        return f"ParquetFiles({self._label}, columns={list(self._columns)!r}{rows})"

    @property
    def n_rows(self) -> int:
        return self._span[1] - self._span[0]

    @property
    def columns(self) -> tuple[str, ...]:
        return self._columns

    def chunks(self, max_rows: int) -> Iterator[Chunk]:
        k = self.n_features
        batch_rows = min(max_rows, max(1, readers._BLOCK_FIELDS // k))
        remaining = self.n_rows
        chunk: np.ndarray | None = None
        fill = 0
        for batch, offset, checks in self._batches(batch_rows):
            start = 0
            while start < batch.num_rows:
                if chunk is None:
                    chunk = np.empty((min(max_rows, remaining), k), dtype=self.dtype)
                take = min(batch.num_rows - start, chunk.shape[0] - fill)
                block = chunk[fill : fill + take]
                _batch_into(batch.slice(start, take), block)
                first = offset + start
                _refuse_infinite(checks, block, lambda i, first=first: _in_row(first + i))
                fill += take
                start += take
                if fill == chunk.shape[0]:
                    remaining -= fill
                    yield chunk, None
                    chunk, fill = None, 0

    def partitions(self, n: int, align: int) -> list[RowSource]:
        return _parts(self, n, align)

    def _batches(self, batch_rows: int) -> Iterator[tuple[Any, int, _ValueChecks]]:
        """The record batches of the rows read, each with the position of its first row in
        its file and the value checks of its file."""
        begin, end = self._span
        before = 0  # rows of the files before this one
        for file, n_rows in zip(self.files, self._rows, strict=True):
            lo, hi = max(begin - before, 0), min(end - before, n_rows)
            before += n_rows
            if lo >= hi:
                continue
            label = _file_label(file)
            parquet_file, _, file_rows = _open_parquet(file, label)
            with parquet_file:
                if file_rows != n_rows or _column_types(parquet_file, self._columns) != self._types:
                    raise _changed(label, "its rows or columns differ")
                checks = _ValueChecks(self._columns, label, allow_missing=True)
                columns = list(self._columns)
                if (lo, hi) == (0, n_rows):
                    position = 0
                    batches = _parquet_batches(parquet_file, columns, n_rows, label, batch_rows)
                else:
                    position, batches = _row_group_batches(
                        parquet_file, columns, lo, hi, label, batch_rows
                    )
                for batch in batches:
                    a, b = max(lo - position, 0), min(hi - position, batch.num_rows)
                    if a < b:
                        yield batch.slice(a, b - a), position + a, checks
                    position += batch.num_rows


def _parquet_paths(path: PathLike, label: str) -> tuple[pathlib.Path, ...]:
    """The files of a Parquet path: the file, a folder's Parquet files by name, or the
    files a pattern matches by path."""
    file_path = pathlib.Path(path)
    if file_path.is_dir():
        files = sorted(
            p for p in file_path.iterdir() if p.is_file() and p.suffix.lower() in _PARQUET_SUFFIXES
        )
        if not files:
            raise DataError(
                f"{label} is a folder without Parquet files ({', '.join(_PARQUET_SUFFIXES)})"
            )
        return tuple(files)
    if file_path.exists():
        return (file_path,)
    if _is_pattern(path):
        files = sorted(pathlib.Path(p) for p in glob.glob(os.fspath(path)))
        files = [p for p in files if p.is_file()]
        if not files:
            raise DataError(f"no files match {label}")
        return tuple(files)
    raise DataError(f"no such file: {label}")


def _row_group_batches(
    parquet_file: Any, columns: list[str], lo: int, hi: int, label: str, batch_rows: int
) -> tuple[int, Iterator[Any]]:
    """The position in the file of the first row of the row groups that hold its rows
    ``lo`` to ``hi``, and those groups' record batches of ``columns``."""
    pa, _ = _pyarrow()
    metadata = parquet_file.metadata
    groups: list[int] = []
    first = row = 0
    for i in range(metadata.num_row_groups):
        size = metadata.row_group(i).num_rows
        if row < hi and row + size > lo:
            first = first if groups else row
            groups.append(i)
        row += size

    def batches() -> Iterator[Any]:
        try:
            yield from parquet_file.iter_batches(
                batch_size=batch_rows, row_groups=groups, columns=columns, use_threads=False
            )
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise DataError(f"{label} is not a readable Parquet file ({exc})") from exc

    return first, batches()


def _column_types(parquet_file: Any, names: Sequence[str]) -> tuple[Any, ...]:
    schema = parquet_file.schema_arrow
    return tuple(schema.field(name).type for name in names)


def _same_columns(names: list[str], first: list[str], label: str, first_label: str) -> None:
    """Refuse a file whose columns are not those of the first file."""
    missing = [name for name in first if name not in names]
    if missing:
        raise DataError(
            f"{label} has no column {missing[0]!r}, which {first_label} has; the files must "
            "hold the same columns, or select the columns they share"
        )
    extra = [name for name in names if name not in first]
    if extra:
        raise DataError(
            f"{label} has a column {extra[0]!r}, which {first_label} has not; the files must "
            "hold the same columns, or select the columns they share"
        )


# -- text -----------------------------------------------------------------------------------------
class CSVFile(RowSource):
    """The rows of a text table (CSV, TSV, whitespace-separated), parsed a block of lines
    at a time, as :func:`~emkit.io.readers.read_table` parses them.

    The first line is a header when one of its fields is neither a number nor a
    missing-value token; columns without a name are called ``x0``, ``x1``, ... by position.
    Empty fields and the tokens ``NA``, ``NaN``, ``N/A`` and ``null`` are missing values
    (NaN). The number of rows is unknown (None) until a pass has read the whole file: only
    parsing tells data lines from blank lines and line breaks inside quoted fields.

    Parameters
    ----------
    path : str or os.PathLike
        The file: its suffix gives its delimiter (``.csv`` commas, ``.tsv`` and ``.tab``
        tabs; ``.txt`` and any other suffix tabs, commas or whitespace, whichever its first
        non-blank line uses).
    columns : sequence of str, optional
        Names of the columns to read, in the order wanted; the others may hold anything.
        All by default.
    delimiter : str, optional
        The field separator, one character, in place of the one the suffix implies.

    Raises
    ------
    DataError
        For a file that does not exist or holds no data rows, a selected column it lacks,
        repeated column names; and, from the pass that reads it, a value that is neither a
        number nor missing, an infinite value, or a line of another number of fields.
    """

    def __init__(
        self, path: PathLike, columns: Sequence[str] | None = None, delimiter: str | None = None
    ) -> None:
        self.path = pathlib.Path(path)
        self._label = repr(os.fspath(path))
        selected = _normalise_selection(columns)
        _check_delimiter(delimiter)
        _check_file(self.path, self._label)
        sep = delimiter or _TEXT_DELIMITERS.get(self.path.suffix.lower(), "sniff")
        self._table = _TextTable(self.path, self._label, sep, selected)
        self.n_features = len(self._table.columns)
        self.dtype = np.dtype(np.float64)
        self._n_rows: int | None = None

    def __repr__(self) -> str:
        return f"CSVFile({os.fspath(self.path)!r}, columns={list(self.columns)!r})"

    @property
    def n_rows(self) -> int | None:
        return self._n_rows

    @property
    def columns(self) -> tuple[str, ...]:
        return self._table.columns

    def chunks(self, max_rows: int) -> Iterator[Chunk]:
        table, k = self._table, self.n_features
        # Blocks of lines of bounded size (the strings of a block are the memory parsing
        # takes) that never straddle the end of a chunk.
        limit = max(1, readers._BLOCK_FIELDS // len(table.names))
        sizes = [limit] * (max_rows // limit) + ([max_rows % limit] if max_rows % limit else [])
        checks = _ValueChecks(table.columns, self._label, allow_missing=True)
        chunk: np.ndarray | None = None
        fill = n = 0
        with table.hinted():
            for rows, line_numbers in table.blocks(itertools.cycle(sizes)):
                m = len(rows)
                if chunk is None:
                    chunk = np.empty((min(max_rows, limit), k))
                elif fill + m > chunk.shape[0]:
                    # The rows still to come are not known: the chunk grows as they do.
                    chunk.resize((min(max_rows, 2 * (fill + m)), k), refcheck=False)
                block = chunk[fill : fill + m]
                table.parse(rows, line_numbers, block)
                _refuse_infinite(checks, block, lambda i, lines=line_numbers: f"on line {lines[i]}")
                del block  # no view of the chunk may outlive a resize
                fill += m
                n += m
                if fill == max_rows:
                    yield chunk, None
                    chunk, fill = None, 0
        if self._n_rows is not None and n != self._n_rows:
            raise _changed(self._label, f"it holds {n} rows, not {self._n_rows}")
        self._n_rows = n
        if chunk is not None:
            chunk.resize((fill, k), refcheck=False)
            yield chunk, None

    def partitions(self, n: int, align: int) -> list[RowSource]:
        # One part: see the module documentation.
        return [self]


# -- helpers --------------------------------------------------------------------------------------
def _parts(source: NpyFile | ParquetFiles, n: int, align: int) -> list[RowSource]:
    """``source`` cut into parts of its rows (:meth:`RowSource.partitions`): copies that
    read ranges of them."""
    begin = source._span[0]
    parts: list[RowSource] = []
    for a, b in spans(source.n_rows, n, align):
        part = copy.copy(source)
        part._span = (begin + a, begin + b)
        parts.append(part)
    return parts


def _rows_of_part(span: tuple[int, int], source: NpyFile | ParquetFiles) -> str:
    """The rows of a part, for its repr; nothing for the whole source."""
    whole = sum(source._rows) if isinstance(source, ParquetFiles) else source._layout[0][0]
    return "" if span == (0, whole) else f", rows={span[0]}:{span[1]}"


def _is_pattern(path: PathLike) -> bool:
    return any(char in os.fspath(path) for char in "*?[")


def _file_label(path: pathlib.Path) -> str:
    return repr(os.fspath(path))


def _changed(label: str, how: str) -> DataError:
    return DataError(f"{label} changed while it was read: {how}")


def _refuse_infinite(checks: _ValueChecks, block: np.ndarray, where: Callable[[int], str]) -> None:
    """Raise read_table's error for an infinite value of ``block``: the first column of the
    block holding one, at its first place there."""
    checks.add(block, where)
    checks.check()
