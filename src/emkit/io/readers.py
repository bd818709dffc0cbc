"""Reading and writing numeric data tables for the command line.

:func:`read_table` reads a numeric table from CSV, TSV, plain text, Parquet or
NumPy ``.npy`` files and checks it on the way in: every problem is reported as
a :class:`DataError` that names the file, the column and the line or row, so
that a user can fix the data without a debugger.  :func:`write_table` writes a
table back as CSV.

Files are read in blocks into one preallocated array, so that reading takes
little more memory than the table itself: text files a block of lines at a
time, Parquet files a batch of rows at a time, ``.npy`` files through a memory
map whose pages are released as they are copied.
"""

from __future__ import annotations

import codecs
import csv
import io
import mmap
import os
import pathlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.lib import format as npy_format

__all__ = ["SUPPORTED_SUFFIXES", "DataError", "Table", "read_table", "write_table"]

SUPPORTED_SUFFIXES = (".csv", ".tsv", ".tab", ".txt", ".parquet", ".pq", ".npy")

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
    if delimiter is not None and (
        not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in '"\r\n'
    ):
        raise ValueError(
            f"delimiter must be one character other than a quote or a line break, got {delimiter!r}"
        )
    file_path = pathlib.Path(path)
    if not file_path.exists():
        raise DataError(f"no such file: {label}")
    if file_path.is_dir():
        raise DataError(f"{label} is a directory, not a data file")

    suffix = file_path.suffix.lower()
    text_delimiters = {".csv": ",", ".tsv": "\t", ".tab": "\t", ".txt": "sniff"}
    if suffix in text_delimiters:
        sep = delimiter or text_delimiters[suffix]
        return _read_text(file_path, label, sep, selected, allow_missing)
    if suffix in (".parquet", ".pq", ".npy") and delimiter is not None:
        raise DataError(f"{label} is not a text file: a delimiter applies to text files only")
    if suffix in (".parquet", ".pq"):
        return _read_parquet(file_path, label, selected, allow_missing)
    if suffix == ".npy":
        return _read_npy(file_path, label, selected, allow_missing)
    shown = f"{suffix!r}" if suffix else "no suffix"
    raise DataError(
        f"{label} has an unsupported file type ({shown}); supported types are "
        f"{', '.join(SUPPORTED_SUFFIXES)}"
    )


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


def _read_text(
    path: pathlib.Path,
    label: str,
    delimiter: str,
    selected: tuple[str, ...] | None,
    allow_missing: bool,
) -> Table:
    try:
        sep = _sniff_delimiter(path, label) if delimiter == "sniff" else delimiter
        with _open_text(path) as fh:
            return _parse_text(_records(fh, sep, label), path, label, sep, selected, allow_missing)
    except UnicodeDecodeError:
        raise DataError(
            f"{label} is not a UTF-8 text file (undecodable byte at offset "
            f"{_undecodable_offset(path)})"
        ) from None


def _parse_text(
    records: Iterator[tuple[int, list[str]]],
    path: pathlib.Path,
    label: str,
    sep: str | None,
    selected: tuple[str, ...] | None,
    allow_missing: bool,
) -> Table:
    first_record = next(records, None)
    if first_record is None:
        raise DataError(f"{label} holds no data rows")
    hint = _delimiter_hint(first_record[1], sep)
    try:
        return _parse_rows(records, first_record, path, label, selected, allow_missing)
    except DataError as exc:
        if hint is None:
            raise
        raise DataError(
            f"{exc}; its first line holds {hint!r} but no {_DELIMITER_WORDS[sep][:-1]}: "
            f"its fields may be separated by {_DELIMITER_WORDS[hint]}",
            delimiter=hint,
        ) from None


def _parse_rows(
    records: Iterator[tuple[int, list[str]]],
    first_record: tuple[int, list[str]],
    path: pathlib.Path,
    label: str,
    selected: tuple[str, ...] | None,
    allow_missing: bool,
) -> Table:
    first_line, first = first_record
    has_header = not all(_is_number_or_missing(field) for field in first)
    if has_header:
        names = [field.strip() or f"x{i}" for i, field in enumerate(first)]
        unnamed = tuple(names[i] for i, field in enumerate(first) if not field.strip())
        expected = "the header has"
    else:
        names = [f"x{i}" for i in range(len(first))]
        unnamed = tuple(names)
        expected = f"line {first_line} has"
        records = _chain_first(first_record, records)
    _check_unique(names, label)
    indices = _select(names, selected, label)
    chosen = [names[j] for j in indices]

    n_fields = len(names)
    block_rows = max(1, _BLOCK_FIELDS // n_fields)
    values = np.empty((_count_lines(path), len(indices)), dtype=np.float64)
    checks = _ValueChecks(chosen, label, allow_missing)
    n = 0
    rows: list[list[str]] = []
    line_numbers: list[int] = []

    def flush() -> None:
        nonlocal values, n
        m = len(rows)
        if n + m > values.shape[0]:  # lone carriage returns among line feeds
            values = np.concatenate([values[:n], np.empty((n + m, len(indices)))])
        block = values[n : n + m]
        for k, j in enumerate(indices):
            block[:, k] = _parse_column([row[j] for row in rows], names[j], line_numbers, label)
        checks.add(block, lambda i: f"on line {line_numbers[i]}")
        n += m
        rows.clear()
        line_numbers.clear()

    for line_number, fields in records:
        if len(fields) != n_fields:
            raise DataError(
                f"{label}: line {line_number} has {_plural(len(fields), 'field')}, "
                f"{expected} {n_fields}"
            )
        rows.append(fields)
        line_numbers.append(line_number)
        if len(rows) == block_rows:
            flush()
    if rows:
        flush()
    if n == 0:
        raise DataError(f"{label} holds no data rows")
    checks.check()
    # Gives back the rows counted for the header and blank lines, in place.
    values.resize((n, len(indices)), refcheck=False)
    return Table(values=values, columns=tuple(chosen), unnamed=unnamed)


def _chain_first(
    first: tuple[int, list[str]], rest: Iterator[tuple[int, list[str]]]
) -> Iterator[tuple[int, list[str]]]:
    yield first
    yield from rest


# --------------------------------------------------------------------------- #
# Parquet
# --------------------------------------------------------------------------- #


def _in_row(i: int) -> str:
    return f"in row {i + 1}"


def _read_parquet(
    path: pathlib.Path, label: str, selected: tuple[str, ...] | None, allow_missing: bool
) -> Table:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError(
            "reading Parquet files needs pyarrow: pip install 'emkit[parquet]'"
        ) from None

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
    if n_rows == 0:
        raise DataError(f"{label} holds no data rows")

    indices = _select(names, selected, label)
    chosen = [names[j] for j in indices]
    for name in chosen:
        arrow_type = schema.field(name).type
        if not (
            pa.types.is_integer(arrow_type)
            or pa.types.is_floating(arrow_type)
            or pa.types.is_boolean(arrow_type)
        ):
            raise DataError(f"{label}: column {name!r} is not numeric (Parquet type {arrow_type})")

    values = np.empty((n_rows, len(chosen)), dtype=np.float64)
    checks = _ValueChecks(chosen, label, allow_missing)
    offset = 0
    batches = parquet_file.iter_batches(
        batch_size=max(1, _BLOCK_FIELDS // len(chosen)), columns=chosen, use_threads=False
    )
    try:
        for batch in batches:
            m = batch.num_rows
            if offset + m > n_rows:
                raise DataError(f"{label} holds more rows than its metadata says ({n_rows})")
            block = values[offset : offset + m]
            for k in range(len(chosen)):
                # safe=False: integers beyond 2**53 round to the nearest float64
                # rather than failing; nulls become NaN.
                column = batch.column(k).cast(pa.float64(), safe=False)
                block[:, k] = column.to_numpy(zero_copy_only=False)
            checks.add(block, lambda i, start=offset: _in_row(start + i))
            offset += m
    except (pa.ArrowException, OSError, ValueError) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(f"{label} is not a readable Parquet file ({exc})") from exc
    if offset != n_rows:
        raise DataError(f"{label} holds {offset} rows, not the {n_rows} its metadata says")
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


def _read_npy(
    path: pathlib.Path, label: str, selected: tuple[str, ...] | None, allow_missing: bool
) -> Table:
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

    # float32 data stays float32 (half the memory); float16 is widened to
    # float32, everything else (integers, booleans, long double) to float64.
    target = np.float32 if kind == "f" and array.dtype.itemsize <= 4 else np.float64
    names = [f"x{j}" for j in range(array.shape[1])]
    if not names:
        raise DataError(f"{label} holds no columns")
    if array.shape[0] == 0:
        raise DataError(f"{label} holds no data rows")
    indices = _select(names, selected, label)
    chosen = [names[j] for j in indices]

    n = array.shape[0]
    values = np.empty((n, len(indices)), dtype=target)
    checks = _ValueChecks(chosen, label, allow_missing)
    mapped = getattr(array, "_mmap", None) if isinstance(array, np.memmap) else None
    release = getattr(mmap, "MADV_DONTNEED", None)
    block_rows = max(1, _BLOCK_FIELDS // array.shape[1])
    try:
        for start in range(0, n, block_rows):
            stop = min(start + block_rows, n)
            rows = array[start:stop]
            values[start:stop] = rows if selected is None else rows[:, indices]
            checks.add(values[start:stop], lambda i, start=start: _in_row(start + i))
            if mapped is not None and release is not None:
                # The copied pages of the file are not needed again: without this they would
                # stay resident beside the copy, doubling the memory a read takes.
                mapped.madvise(release)
    except OSError as exc:  # the file shrank under the map
        raise DataError(f"{label} is truncated or corrupt ({exc})") from exc
    finally:
        del array, mapped
    checks.check()
    return Table(values=values, columns=tuple(chosen), unnamed=tuple(chosen))
