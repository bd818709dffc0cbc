"""Reading and writing numeric data tables for the command line.

:func:`read_table` reads a numeric table from CSV, TSV, plain text, Parquet or
NumPy ``.npy`` files and checks it on the way in: every problem is reported as
a :class:`DataError` that names the file, the column and the line or row, so
that a user can fix the data without a debugger.  :func:`write_table` writes a
table back as CSV.

Files are read in blocks into one preallocated array, so that reading takes
little more memory than the table itself: text files a block of lines at a
time, Parquet files a batch of rows at a time, ``.npy`` files through a memory
map whose pages are released as they are copied.  The file row sources of
:mod:`emkit.execution.files` read the same files a chunk at a time through the
same parsers (:class:`_TextTable`, the Parquet batches, the ``.npy`` blocks).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import itertools
import mmap
import os
import pathlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.lib import format as npy_format

__all__ = ["SUPPORTED_SUFFIXES", "DataError", "Table", "read_table", "write_table"]

SUPPORTED_SUFFIXES = (".csv", ".tsv", ".tab", ".txt", ".parquet", ".pq", ".npy")
# The field separator of every text suffix; "sniff": the first non-blank line says.
_TEXT_DELIMITERS = {".csv": ",", ".tsv": "\t", ".tab": "\t", ".txt": "sniff"}
_PARQUET_SUFFIXES = (".parquet", ".pq")

# Compared case-insensitively after stripping surrounding whitespace.
_MISSING_TOKENS = frozenset({"", "na", "nan", "n/a", "null"})
# Longest list of column names spelled out in an error message.
_MAX_NAMES_SHOWN = 20
# Values converted per block (lines of text, a Parquet batch, rows of a .npy file): the
# memory that reading takes beyond the table itself, a few MB of Python strings for text.
_BLOCK_FIELDS = 1 << 17
# Bytes of a Parquet file read at a time.
_PARQUET_BUFFER = 1 << 20
# Bytes read at a time when counting the lines of a text file.
_COUNT_CHUNK = 1 << 22
# Field separators that a one-column first line may reveal, when the file uses another.
_OTHER_DELIMITERS = (";", "\t", "|", ",")
_DELIMITER_WORDS = {",": "commas", "\t": "tabs", ";": "semicolons", "|": "bars", None: "spaces"}


@dataclass(frozen=True)
class Table:
    """A numeric data table.

    Attributes
    ----------
    values : numpy.ndarray of shape (n_samples, n_features)
        The data, C-contiguous.  float64, except for ``.npy`` files holding
        float32 (or float16) data, which are returned as float32.  Missing
        values, where allowed, are NaN.
    columns : tuple of str
        Column names, one per feature, in the order of ``values``' columns.
    unnamed : tuple of str
        The names of ``columns`` that the file did not give: the columns of a
        text file without a header, or with an empty header field, and of a
        ``.npy`` file.  They are named ``x0``, ``x1``, ... by position.
    """

    values: np.ndarray
    columns: tuple[str, ...]
    unnamed: tuple[str, ...] = ()


class DataError(ValueError):
    """A data file that cannot be read as a numeric table.

    The message names the file and, where it applies, the column, the line
    (text files) or row (Parquet and ``.npy`` files) and the offending value.

    Attributes
    ----------
    delimiter : str or None
        The field separator the file seems to use, when the error may come from
        reading it with another one (a semicolon-separated ``.csv`` file).
    """

    def __init__(self, message: str, *, delimiter: str | None = None) -> None:
        super().__init__(message)
        self.delimiter = delimiter


def read_table(
    path: str | os.PathLike[str],
    *,
    columns: Sequence[str] | None = None,
    allow_missing: bool = False,
    delimiter: str | None = None,
) -> Table:
    """Read a numeric table from a data file.

    The format is chosen from the file name's suffix (case-insensitive):

    ``.csv``
        Comma-separated values.
    ``.tsv``, ``.tab``
        Tab-separated values.
    ``.txt``
        Tab-, comma- or whitespace-separated values, whichever the first
        non-blank line uses (checked in that order).
    ``.parquet``, ``.pq``
        Apache Parquet (needs the optional dependency pyarrow).  Integer,
        floating-point and boolean columns are read; nulls are missing values.
        Index columns stored by pandas are skipped.
    ``.npy``
        A NumPy array of one (one column) or two dimensions holding booleans,
        integers or floats.  Columns are named ``x0``, ``x1``, ....

    In text files the first line is a header if any of its fields is neither
    a number nor a missing-value token; otherwise the columns are named
    ``x0``, ``x1``, ... and the first line is data.  Empty header fields are
    named the same way, after their position.  Blank lines are skipped.  Empty
    fields and the tokens ``NA``, ``NaN``, ``N/A`` and ``null`` (in any case)
    are missing values, as are NaN values in Parquet and ``.npy`` files.

    Parameters
    ----------
    path : str or os.PathLike
        The data file.
    columns : sequence of str, optional
        Names of the columns to read, in the order wanted.  By default all
        columns are read, and all must be numeric; with a selection, other
        columns may hold anything.
    allow_missing : bool, default False
        If False, a missing value in a selected column is an error; if True,
        missing values are returned as NaN.
    delimiter : str, optional
        The field separator of a text file, one character, in place of the
        one its suffix implies (``';'`` for the semicolon-separated files of
        spreadsheets in many languages).

    Returns
    -------
    Table
        The values, of shape (n_samples, n_features), and column names.

    Raises
    ------
    DataError
        If the file does not exist, has an unsupported suffix, cannot be
        parsed, holds no data rows, has duplicate column names, lacks a
        selected column, or a selected column holds a non-numeric or infinite
        value, or a missing value while `allow_missing` is False; or if
        `delimiter` is given for a file that is not text.
    TypeError
        If `columns` is a single string rather than a sequence of names.
    ValueError
        If `delimiter` is not one character, or is a quote or a line break.
    """
    label = repr(os.fspath(path))
    selected = _normalise_selection(columns)
    _check_delimiter(delimiter)
    file_path = pathlib.Path(path)
    _check_file(file_path, label)

    suffix = file_path.suffix.lower()
    if suffix in _TEXT_DELIMITERS:
        sep = delimiter or _TEXT_DELIMITERS[suffix]
        return _read_text(file_path, label, sep, selected, allow_missing)
    if suffix in (*_PARQUET_SUFFIXES, ".npy") and delimiter is not None:
        raise _not_text(label)
    if suffix in _PARQUET_SUFFIXES:
        return _read_parquet(file_path, label, selected, allow_missing)
    if suffix == ".npy":
        return _read_npy(file_path, label, selected, allow_missing)
    raise _unsupported(label, suffix)


def write_table(path: str | os.PathLike[str], values: np.ndarray, columns: Sequence[str]) -> None:
    """Write a numeric table as a CSV file with a header line.

    Floating-point values are written exactly (the shortest text that reads
    back as the same float64), missing values as ``nan``.  Integer and boolean
    columns, and floating-point columns whose values are all whole numbers,
    are written as integers.  The output reads back unchanged with
    :func:`read_table`.

    Parameters
    ----------
    path : str or os.PathLike
        Destination CSV file; overwritten if it exists.
    values : numpy.ndarray of shape (n_samples, n_features) or (n_samples,)
        Boolean, integer or floating-point values; a 1-D array is one column.
    columns : sequence of str
        Column names, one per feature, all different.

    Raises
    ------
    TypeError
        If `values` is not real-valued numeric, or `columns` is not a
        sequence of strings.
    ValueError
        If `values` is not 1-D or 2-D, or `columns` does not match its number
        of columns or repeats a name.
    """
    array = np.asarray(values)
    if array.ndim == 1:
        array = array[:, np.newaxis]
    if array.ndim != 2:
        raise ValueError(f"values must be a 1-D or 2-D array, got shape {array.shape}")
    if array.dtype.kind not in "biuf":
        raise TypeError(f"values must be boolean, integer or floating-point, not {array.dtype}")
    if isinstance(columns, (str, bytes)):
        raise TypeError("columns must be a sequence of column names, not a single string")
    names = list(columns)
    if not all(isinstance(name, str) for name in names):
        raise TypeError("column names must be strings")
    if len(names) != array.shape[1]:
        raise ValueError(f"got {len(names)} column names for {array.shape[1]} columns of values")
    if array.shape[1] == 0:
        raise ValueError("cannot write a table without columns")
    duplicate = _first_duplicate(names)
    if duplicate is not None:
        raise ValueError(f"column name {duplicate!r} is used more than once")

    text_columns = [_format_column(array[:, j]) for j in range(array.shape[1])]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(names)
        writer.writerows(zip(*text_columns, strict=True))


def _format_column(column: np.ndarray) -> list[str]:
    if column.dtype.kind in "biu":
        return [str(int(v)) for v in column.tolist()]
    # Whole numbers (class labels, counts) stored as floats read better as
    # integers; below 2**53 every such float64 is exactly an int.
    if np.all(np.isfinite(column)) and np.all(column == np.round(column)):
        if np.all(np.abs(column) < 2.0**53):
            return [str(int(v)) for v in column.tolist()]
    return [repr(v) for v in column.tolist()]


# --------------------------------------------------------------------------- #
# Shared checks
# --------------------------------------------------------------------------- #


def _check_delimiter(delimiter: str | None) -> None:
    if delimiter is not None and (
        not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in '"\r\n'
    ):
        raise ValueError(
            f"delimiter must be one character other than a quote or a line break, got {delimiter!r}"
        )


def _check_file(path: pathlib.Path, label: str) -> None:
    if not path.exists():
        raise DataError(f"no such file: {label}")
    if path.is_dir():
        raise DataError(f"{label} is a directory, not a data file")


def _not_text(label: str) -> DataError:
    return DataError(f"{label} is not a text file: a delimiter applies to text files only")


def _unsupported(label: str, suffix: str) -> DataError:
    shown = f"{suffix!r}" if suffix else "no suffix"
    return DataError(
        f"{label} has an unsupported file type ({shown}); supported types are "
        f"{', '.join(SUPPORTED_SUFFIXES)}"
    )


def _normalise_selection(columns: Sequence[str] | None) -> tuple[str, ...] | None:
    if columns is None:
        return None
    if isinstance(columns, (str, bytes)):
        raise TypeError(
            "columns must be a sequence of column names, e.g. ['a', 'b'], not a single string"
        )
    names = tuple(columns)
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"column names must be strings, got {name!r}")
    if not names:
        raise DataError("the column selection is empty; name at least one column")
    duplicate = _first_duplicate(names)
    if duplicate is not None:
        raise DataError(f"column {duplicate!r} is selected more than once")
    return names


def _first_duplicate(names: Sequence[str]) -> str | None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            return name
        seen.add(name)
    return None


def _check_unique(names: Sequence[str], label: str) -> None:
    duplicate = _first_duplicate(names)
    if duplicate is not None:
        positions = [str(i + 1) for i, name in enumerate(names) if name == duplicate]
        raise DataError(
            f"{label} has duplicate column names: {duplicate!r} names columns "
            f"{', '.join(positions)}"
        )


def _format_names(names: Sequence[str]) -> str:
    if len(names) <= _MAX_NAMES_SHOWN:
        return ", ".join(repr(name) for name in names)
    head = ", ".join(repr(name) for name in names[: _MAX_NAMES_SHOWN - 1])
    return f"{head}, ..., {names[-1]!r} ({len(names)} columns)"


def _select(available: Sequence[str], selected: tuple[str, ...] | None, label: str) -> list[int]:
    """Positions of the selected columns, all columns when there is no selection."""
    if selected is None:
        return list(range(len(available)))
    position = {name: i for i, name in enumerate(available)}
    for name in selected:
        if name not in position:
            raise DataError(
                f"{label} has no column {name!r}; available columns: {_format_names(available)}"
            )
    return [position[name] for name in selected]


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


class _ValueChecks:
    """Infinite and missing (NaN) values of a table read block by block.

    An infinite value is always refused, a missing one unless allowed; the error names the
    first column (in the table's order) holding one, and the first place in that column,
    as a check of the whole table would.
    """

    def __init__(self, names: Sequence[str], label: str, allow_missing: bool) -> None:
        self.names, self.label, self.allow_missing = names, label, allow_missing
        d = len(names)
        self.first_infinite: list[str | None] = [None] * d
        self.first_missing: list[str | None] = [None] * d
        self.missing = np.zeros(d, dtype=np.int64)

    def add(self, block: np.ndarray, where: Callable[[int], str]) -> None:
        """Record the values of ``block`` (n_rows, n_columns); ``where(i)`` says where its
        row ``i`` is, such as ``'on line 5'``."""
        if block.size == 0 or np.isfinite(block.min() + block.max()):
            # The common case in two vectorised passes: NaN and infinities propagate into
            # the extremes' sum (an overflow of finite extremes only takes the slow path).
            return
        self._first(np.isinf(block), where, self.first_infinite)
        if not self.allow_missing:
            missing = np.isnan(block)
            self.missing += missing.sum(axis=0)
            self._first(missing, where, self.first_missing)

    @staticmethod
    def _first(bad: np.ndarray, where: Callable[[int], str], first: list[str | None]) -> None:
        for j in np.flatnonzero(bad.any(axis=0)).tolist():
            if first[j] is None:
                first[j] = where(int(np.argmax(bad[:, j])))

    def check(self) -> None:
        """Raise the error of the first column holding a refused value."""
        for j, place in enumerate(self.first_infinite):
            if place is not None:
                raise DataError(
                    f"{self.label}: column {self.names[j]!r} holds an infinite value {place}"
                )
        for j, place in enumerate(self.first_missing):
            if place is not None:
                count = int(self.missing[j])
                raise DataError(
                    f"{self.label}: column {self.names[j]!r} has "
                    f"{_plural(count, 'missing value')} (first {place}); complete rows are "
                    "required"
                )


# --------------------------------------------------------------------------- #
# Text files
# --------------------------------------------------------------------------- #


def _is_number_or_missing(field: str) -> bool:
    text = field.strip()
    if text.lower() in _MISSING_TOKENS:
        return True
    try:
        float(text)
    except ValueError:
        return False
    return True


def _open_text(path: pathlib.Path) -> io.TextIOWrapper:
    # utf-8-sig drops the byte order mark that spreadsheet programs write; newline=""
    # leaves line ends to the csv module, which reads quoted fields across lines.
    return open(path, encoding="utf-8-sig", newline="")


def _lines(fh: io.TextIOWrapper, label: str) -> Iterator[str]:
    for line in fh:
        if "\x00" in line:
            raise DataError(f"{label} is not a text file (it contains NUL bytes)")
        yield line


def _undecodable_offset(path: pathlib.Path) -> int:
    """Offset in bytes of the first byte of ``path`` that is not UTF-8."""
    utf8 = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_COUNT_CHUNK):
            # The decoder holds back the bytes of a character cut by the chunk's end; its
            # error positions count from them.
            pending = len(utf8.getstate()[0])
            try:
                utf8.decode(chunk)
            except UnicodeDecodeError as exc:
                return offset - pending + exc.start
            offset += len(chunk)
    return offset


def _sniff_delimiter(path: pathlib.Path, label: str) -> str | None:
    """Tab, comma, or None for runs of whitespace, judged on the first non-blank line."""
    with _open_text(path) as fh:
        for line in _lines(fh, label):
            if line.strip():
                if "\t" in line:
                    return "\t"
                if "," in line:
                    return ","
                return None
    return ","


def _records(
    fh: io.TextIOWrapper, delimiter: str | None, label: str
) -> Iterator[tuple[int, list[str]]]:
    """Non-blank records of a text table with their 1-based line numbers."""
    if delimiter is None:
        for line_number, line in enumerate(_lines(fh, label), start=1):
            fields = line.split()
            if fields:
                yield line_number, fields
        return
    # skipinitialspace: in "a, "b c"" the second field is the quoted b c.
    reader = csv.reader(_lines(fh, label), delimiter=delimiter, skipinitialspace=True)
    try:
        for fields in reader:
            if len(fields) > 1 or (fields and fields[0].strip()):
                yield reader.line_num, fields
    except csv.Error as exc:
        raise DataError(f"{label}: cannot parse line {reader.line_num}: {exc}") from None


def _count_lines(path: pathlib.Path) -> int:
    """At least the number of lines of ``path`` (line feeds, or carriage returns in a file
    without line feeds, plus one)."""
    feeds = returns = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_COUNT_CHUNK):
            feeds += chunk.count(b"\n")
            if not feeds:
                returns += chunk.count(b"\r")
    return (feeds or returns) + 1


def _parse_column(fields: list[str], name: str, line_numbers: list[int], label: str) -> np.ndarray:
    try:
        return np.fromiter(map(float, fields), dtype=np.float64, count=len(fields))
    except ValueError:
        pass  # missing-value tokens or bad values: parse field by field below
    column = np.empty(len(fields), dtype=np.float64)
    for i, field in enumerate(fields):
        text = field.strip()
        if text.lower() in _MISSING_TOKENS:
            column[i] = np.nan
            continue
        try:
            column[i] = float(text)
        except ValueError:
            raise DataError(
                f"{label}: column {name!r} is not numeric: value {text!r} on line {line_numbers[i]}"
            ) from None
    return column


def _delimiter_hint(first: list[str], delimiter: str | None) -> str | None:
    """The separator that a first line read as one field holds, if any."""
    if len(first) != 1:
        return None
    for other in _OTHER_DELIMITERS:
        if other != delimiter and other in first[0]:
            return other
    return None


class _TextTable:
    """A text table: its layout, learnt from its first record, and its data records.

    :func:`read_table` and :class:`emkit.execution.files.CSVFile` read text through it. The
    delimiter is sniffed for ``'sniff'``; the first record is a header when one of its
    fields is neither a number nor a missing-value token; :meth:`blocks` reads a pass over
    the data records, in blocks of strings that :meth:`parse` converts. Reading and parsing
    belong inside :meth:`hinted`, which gives their errors the words of the file.

    Attributes
    ----------
    names : list of str
        The names of all the table's columns.
    indices : list of int
        Positions of the selected columns among them.
    columns : tuple of str
        The names of the selected columns.
    unnamed : tuple of str
        The names the file did not give (see :class:`Table`).
    """

    def __init__(
        self, path: pathlib.Path, label: str, delimiter: str, selected: tuple[str, ...] | None
    ) -> None:
        self.path, self.label = path, label
        self.hint: str | None = None  # another delimiter that the first line holds
        with self.hinted():
            self.sep = _sniff_delimiter(path, label) if delimiter == "sniff" else delimiter
            self.first_record = self._first_record()
        if self.first_record is None:
            raise DataError(f"{label} holds no data rows")
        first_line, first = self.first_record
        self.hint = _delimiter_hint(first, self.sep)
        with self.hinted():
            self.has_header = not all(_is_number_or_missing(field) for field in first)
            if self.has_header:
                names = [field.strip() or f"x{i}" for i, field in enumerate(first)]
                self.unnamed = tuple(names[i] for i, field in enumerate(first) if not field.strip())
                self._expected = "the header has"
            else:
                names = [f"x{i}" for i in range(len(first))]
                self.unnamed = tuple(names)
                self._expected = f"line {first_line} has"
            _check_unique(names, label)
            self.names = names
            self.indices = _select(names, selected, label)
            self.columns = tuple(names[j] for j in self.indices)

    def _first_record(self) -> tuple[int, list[str]] | None:
        with _open_text(self.path) as fh:
            return next(_records(fh, self.sep, self.label), None)

    @contextlib.contextmanager
    def hinted(self) -> Iterator[None]:
        """Undecodable text is reported by the offset of its first bad byte, and a data
        error is given the hint of the other delimiter that the first line holds."""
        try:
            yield
        except UnicodeDecodeError:
            raise DataError(
                f"{self.label} is not a UTF-8 text file (undecodable byte at offset "
                f"{_undecodable_offset(self.path)})"
            ) from None
        except DataError as exc:
            if self.hint is None:
                raise
            raise DataError(
                f"{exc}; its first line holds {self.hint!r} but no "
                f"{_DELIMITER_WORDS[self.sep][:-1]}: its fields may be separated by "
                f"{_DELIMITER_WORDS[self.hint]}",
                delimiter=self.hint,
            ) from None

    def blocks(self, sizes: Iterator[int]) -> Iterator[tuple[list[list[str]], list[int]]]:
        """One pass over the data records: blocks of ``next(sizes)`` records, the last of
        them shorter, as the records' fields and their 1-based line numbers; the lists of
        a block are emptied when the next block is asked for.

        Raises
        ------
        DataError
            For a record of another number of fields than the first, a file without data
            records, or one whose first record is no longer the one it had when opened.
        """
        n_fields = len(self.names)
        with _open_text(self.path) as fh:
            records = _records(fh, self.sep, self.label)
            first = next(records, None)
            if first != self.first_record:
                raise DataError(f"{self.label} changed while it was read: its first line differs")
            if not self.has_header:
                records = _chain_first(first, records)
            rows: list[list[str]] = []
            line_numbers: list[int] = []
            size = next(sizes)
            read_any = False
            for line_number, fields in records:
                if len(fields) != n_fields:
                    raise DataError(
                        f"{self.label}: line {line_number} has "
                        f"{_plural(len(fields), 'field')}, {self._expected} {n_fields}"
                    )
                rows.append(fields)
                line_numbers.append(line_number)
                if len(rows) == size:
                    read_any = True
                    yield rows, line_numbers
                    # Emptied in place, so that the strings of a block are freed before
                    # the next block is read, although the caller still holds the lists.
                    rows.clear()
                    line_numbers.clear()
                    size = next(sizes)
            if rows:
                yield rows, line_numbers
            elif not read_any:
                raise DataError(f"{self.label} holds no data rows")

    def parse(self, rows: list[list[str]], line_numbers: list[int], out: np.ndarray) -> None:
        """Convert the selected fields of ``rows`` into ``out``, of shape
        (len(rows), len(columns))."""
        for k, j in enumerate(self.indices):
            out[:, k] = _parse_column(
                [row[j] for row in rows], self.names[j], line_numbers, self.label
            )


def _read_text(
    path: pathlib.Path,
    label: str,
    delimiter: str,
    selected: tuple[str, ...] | None,
    allow_missing: bool,
) -> Table:
    table = _TextTable(path, label, delimiter, selected)
    k = len(table.columns)
    block_rows = max(1, _BLOCK_FIELDS // len(table.names))
    values = np.empty((_count_lines(path), k), dtype=np.float64)
    checks = _ValueChecks(table.columns, label, allow_missing)
    n = 0
    with table.hinted():
        for rows, line_numbers in table.blocks(itertools.repeat(block_rows)):
            m = len(rows)
            if n + m > values.shape[0]:  # lone carriage returns among line feeds
                values = np.concatenate([values[:n], np.empty((n + m, k))])
            block = values[n : n + m]
            table.parse(rows, line_numbers, block)
            checks.add(block, lambda i, lines=line_numbers: f"on line {lines[i]}")
            n += m
        checks.check()
    # Gives back the rows counted for the header and blank lines, in place.
    values.resize((n, k), refcheck=False)
    return Table(values=values, columns=table.columns, unnamed=table.unnamed)


def _chain_first(
    first: tuple[int, list[str]], rest: Iterator[tuple[int, list[str]]]
) -> Iterator[tuple[int, list[str]]]:
    yield first
    yield from rest


# --------------------------------------------------------------------------- #
# Parquet
# --------------------------------------------------------------------------- #


def _in_row(i: int) -> str:
    """Where row ``i`` (0-based) of a Parquet or ``.npy`` file is, in an error message."""
    return f"in row {i + 1}"


def _pyarrow() -> tuple[Any, Any]:
    """``pyarrow`` and ``pyarrow.parquet``, imported when first needed.

    Raises
    ------
    ImportError
        When pyarrow is not installed, saying how to install it.
    """
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ImportError(
            "reading Parquet files needs pyarrow: pip install 'emkit[parquet]'"
        ) from None
    return pa, pq


def _open_parquet(path: pathlib.Path, label: str) -> tuple[Any, list[str], int]:
    """A Parquet file opened for reading in batches, the names of its data columns (not
    the index columns pandas stores) and its number of rows, from its metadata.

    Raises
    ------
    DataError
        For a file that is not Parquet, holds no columns or repeats a column name.
    """
    pa, pq = _pyarrow()
    try:
        # Pages are read as they are decoded, through a small buffer, rather than a whole
        # row group at a time: the memory a read takes beyond the table stays bounded.
        parquet_file = pq.ParquetFile(path, pre_buffer=False, buffer_size=_PARQUET_BUFFER)
        schema = parquet_file.schema_arrow
        n_rows = parquet_file.metadata.num_rows
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataError(f"{label} is not a readable Parquet file ({exc})") from exc

    # Index columns stored by pandas are row labels, not data.
    pandas_metadata = schema.pandas_metadata or {}
    index_columns = {
        name for name in pandas_metadata.get("index_columns", []) if isinstance(name, str)
    }
    names = [name for name in schema.names if name not in index_columns]
    if not names:
        raise DataError(f"{label} holds no columns")
    _check_unique(names, label)
    return parquet_file, names, n_rows


def _parquet_selection(
    parquet_file: Any, names: list[str], selected: tuple[str, ...] | None, label: str
) -> list[str]:
    """The names of the selected columns (all for None), each checked to be numeric."""
    pa, _ = _pyarrow()
    chosen = [names[j] for j in _select(names, selected, label)]
    schema = parquet_file.schema_arrow
    for name in chosen:
        arrow_type = schema.field(name).type
        if not (
            pa.types.is_integer(arrow_type)
            or pa.types.is_floating(arrow_type)
            or pa.types.is_boolean(arrow_type)
        ):
            raise DataError(f"{label}: column {name!r} is not numeric (Parquet type {arrow_type})")
    return chosen


def _parquet_batches(
    parquet_file: Any, columns: list[str], n_rows: int, label: str, batch_rows: int
) -> Iterator[Any]:
    """The record batches of ``columns``, of at most ``batch_rows`` rows, of one pass over
    a file whose metadata says it holds ``n_rows`` rows.

    Raises
    ------
    DataError
        For a file that cannot be read, or holds another number of rows.
    """
    pa, _ = _pyarrow()
    offset = 0
    try:
        for batch in parquet_file.iter_batches(
            batch_size=batch_rows, columns=columns, use_threads=False
        ):
            if offset + batch.num_rows > n_rows:
                raise DataError(f"{label} holds more rows than its metadata says ({n_rows})")
            yield batch
            offset += batch.num_rows
    except (pa.ArrowException, OSError, ValueError) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(f"{label} is not a readable Parquet file ({exc})") from exc
    if offset != n_rows:
        raise DataError(f"{label} holds {offset} rows, not the {n_rows} its metadata says")


def _batch_into(batch: Any, out: np.ndarray) -> None:
    """Write the columns of a record batch into ``out``, of shape (batch.num_rows,
    batch.num_columns), as ``out``'s float dtype: nulls become NaN."""
    pa, _ = _pyarrow()
    target = pa.from_numpy_dtype(out.dtype)
    for k in range(batch.num_columns):
        # safe=False: integers beyond 2**53 round to the nearest float rather than failing.
        column = batch.column(k).cast(target, safe=False)
        out[:, k] = column.to_numpy(zero_copy_only=False)


def _read_parquet(
    path: pathlib.Path, label: str, selected: tuple[str, ...] | None, allow_missing: bool
) -> Table:
    try:
        _pyarrow()
    except ImportError as exc:
        raise DataError(str(exc)) from None
    parquet_file, names, n_rows = _open_parquet(path, label)
    with parquet_file:
        if n_rows == 0:
            raise DataError(f"{label} holds no data rows")
        chosen = _parquet_selection(parquet_file, names, selected, label)
        values = np.empty((n_rows, len(chosen)), dtype=np.float64)
        checks = _ValueChecks(chosen, label, allow_missing)
        batch_rows = max(1, _BLOCK_FIELDS // len(chosen))
        offset = 0
        for batch in _parquet_batches(parquet_file, chosen, n_rows, label, batch_rows):
            block = values[offset : offset + batch.num_rows]
            _batch_into(batch, block)
            checks.add(block, lambda i, start=offset: _in_row(start + i))
            offset += batch.num_rows
    checks.check()
    return Table(values=values, columns=tuple(chosen))


# --------------------------------------------------------------------------- #
# NumPy .npy
# --------------------------------------------------------------------------- #


def _npy_header_dtype(path: pathlib.Path, label: str) -> np.dtype | None:
    """The dtype declared in a .npy header, None for header versions not inspected here."""
    try:
        with open(path, "rb") as fh:
            version = npy_format.read_magic(fh)
            if version == (1, 0):
                return npy_format.read_array_header_1_0(fh)[2]
            if version == (2, 0):
                return npy_format.read_array_header_2_0(fh)[2]
    except (ValueError, EOFError) as exc:
        raise DataError(f"{label} is not a NumPy .npy file ({exc})") from None
    return None


def _load_npy(path: pathlib.Path, label: str) -> np.ndarray:
    """The array of a .npy file, memory-mapped where it can be (not when empty)."""
    objects_message = f"{label} holds Python objects; emkit reads numeric arrays only"
    header_dtype = _npy_header_dtype(path, label)
    # Checked before loading so that the data is never unpickled.
    if header_dtype is not None and header_dtype.hasobject:
        raise DataError(objects_message)
    try:
        try:
            return np.load(path, mmap_mode="r", allow_pickle=False)
        except ValueError as exc:
            if "allow_pickle" in str(exc):
                raise
            # An empty array cannot be mapped; a truncated file fails again below.
            return np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise DataError(objects_message) from None
        raise DataError(f"{label} is truncated or corrupt ({exc})") from exc
    except (EOFError, OSError) as exc:
        raise DataError(f"{label} is truncated or corrupt ({exc})") from exc


def _npy_array(path: pathlib.Path, label: str) -> tuple[np.ndarray, np.dtype]:
    """The array of a .npy file as a table of shape (n_samples, n_features), memory-mapped
    where it can be, and the dtype its values are read as: float32 data stays float32 (half
    the memory), float16 is widened to float32, everything else (integers, booleans, long
    double) to float64.

    Raises
    ------
    DataError
        For a file that is not ``.npy``, is truncated, or holds objects, complex numbers,
        other non-numeric values, an array of more than two dimensions, no columns or no
        rows.
    """
    array = _load_npy(path, label)
    kind = array.dtype.kind
    if kind == "c":
        raise DataError(f"{label} holds complex numbers; emkit reads real-valued arrays only")
    if kind not in "biuf":
        raise DataError(
            f"{label} holds values of type {array.dtype}; emkit reads numeric arrays only"
        )
    if array.ndim not in (1, 2):
        raise DataError(
            f"{label} holds a {array.ndim}-D array of shape {array.shape}; "
            f"expected a 1-D or 2-D array"
        )
    if array.ndim == 1:
        array = array[:, np.newaxis]
    target = np.float32 if kind == "f" and array.dtype.itemsize <= 4 else np.float64
    if array.shape[1] == 0:
        raise DataError(f"{label} holds no columns")
    if array.shape[0] == 0:
        raise DataError(f"{label} holds no data rows")
    return array, np.dtype(target)


def _npy_blocks(
    array: np.ndarray,
    block_rows: int,
    indices: list[int] | None,
    label: str,
    out: Callable[[int, int], np.ndarray],
) -> Iterator[tuple[int, np.ndarray]]:
    """Copies of consecutive blocks of at most ``block_rows`` rows of ``array`` (its columns
    ``indices``, all for None), each into ``out(start, stop)``, as ``(start, block)``.

    The pages of a memory-mapped array are released once a block is copied: without this
    they would stay resident beside the copies, and a pass over the file would hold it all.

    Raises
    ------
    DataError
        When the file shrank under the map.
    """
    mapped = getattr(array, "_mmap", None) if isinstance(array, np.memmap) else None
    release = getattr(mmap, "MADV_DONTNEED", None)
    n = array.shape[0]
    try:
        for start in range(0, n, block_rows):
            stop = min(start + block_rows, n)
            rows = array[start:stop]
            block = out(start, stop)
            block[...] = rows if indices is None else rows[:, indices]
            del rows
            if mapped is not None and release is not None:
                mapped.madvise(release)
            yield start, block
    except OSError as exc:
        raise DataError(f"{label} is truncated or corrupt ({exc})") from exc


def _read_npy(
    path: pathlib.Path, label: str, selected: tuple[str, ...] | None, allow_missing: bool
) -> Table:
    array, target = _npy_array(path, label)
    names = [f"x{j}" for j in range(array.shape[1])]
    indices = _select(names, selected, label)
    chosen = [names[j] for j in indices]
    values = np.empty((array.shape[0], len(indices)), dtype=target)
    checks = _ValueChecks(chosen, label, allow_missing)
    blocks = _npy_blocks(
        array,
        max(1, _BLOCK_FIELDS // array.shape[1]),
        None if selected is None else indices,
        label,
        lambda start, stop: values[start:stop],
    )
    del array  # the blocks hold the map, and close it when they are done
    for start, block in blocks:
        checks.add(block, lambda i, start=start: _in_row(start + i))
    checks.check()
    return Table(values=values, columns=tuple(chosen), unnamed=tuple(chosen))
