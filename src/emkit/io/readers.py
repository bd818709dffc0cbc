"""Reading and writing numeric data tables for the command line.

:func:`read_table` reads a numeric table from CSV, TSV, plain text, Parquet or
NumPy ``.npy`` files and checks it on the way in: every problem is reported as
a :class:`DataError` that names the file, the column and the line or row, so
that a user can fix the data without a debugger.  :func:`write_table` writes a
table back as CSV.
"""

from __future__ import annotations

import csv
import io
import os
import pathlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.lib import format as npy_format

__all__ = ["SUPPORTED_SUFFIXES", "DataError", "Table", "read_table", "write_table"]

SUPPORTED_SUFFIXES = (".csv", ".tsv", ".tab", ".txt", ".parquet", ".pq", ".npy")

# Compared case-insensitively after stripping surrounding whitespace.
_MISSING_TOKENS = frozenset({"", "na", "nan", "n/a", "null"})
# Longest list of column names spelled out in an error message.
_MAX_NAMES_SHOWN = 20


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
    """

    values: np.ndarray
    columns: tuple[str, ...]


class DataError(ValueError):
    """A data file that cannot be read as a numeric table.

    The message names the file and, where it applies, the column, the line
    (text files) or row (Parquet and ``.npy`` files) and the offending value.
    """


def read_table(
    path: str | os.PathLike[str],
    *,
    columns: Sequence[str] | None = None,
    allow_missing: bool = False,
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
        value, or a missing value while `allow_missing` is False.
    TypeError
        If `columns` is a single string rather than a sequence of names.
    """
    label = repr(os.fspath(path))
    selected = _normalise_selection(columns)
    file_path = pathlib.Path(path)
    if not file_path.exists():
        raise DataError(f"no such file: {label}")
    if file_path.is_dir():
        raise DataError(f"{label} is a directory, not a data file")

    suffix = file_path.suffix.lower()
    if suffix == ".csv":
        return _read_text(file_path, label, ",", selected, allow_missing)
    if suffix in (".tsv", ".tab"):
        return _read_text(file_path, label, "\t", selected, allow_missing)
    if suffix == ".txt":
        return _read_text(file_path, label, "sniff", selected, allow_missing)
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


def _check_values(
    values: np.ndarray,
    names: Sequence[str],
    where: Callable[[int], str],
    label: str,
    allow_missing: bool,
) -> None:
    """Refuse infinite values always, and missing (NaN) values unless allowed.

    `where` turns a 0-based row index into text such as ``"on line 5"``.
    """
    infinite = np.isinf(values)
    if infinite.any():
        j = int(np.argmax(infinite.any(axis=0)))
        i = int(np.argmax(infinite[:, j]))
        raise DataError(f"{label}: column {names[j]!r} holds an infinite value {where(i)}")
    if allow_missing:
        return
    missing = np.isnan(values)
    if missing.any():
        j = int(np.argmax(missing.any(axis=0)))
        i = int(np.argmax(missing[:, j]))
        count = int(missing[:, j].sum())
        raise DataError(
            f"{label}: column {names[j]!r} has {_plural(count, 'missing value')} "
            f"(first {where(i)}); complete rows are required"
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


def _sniff_delimiter(text: str) -> str | None:
    """Tab, comma, or None for runs of whitespace, judged on the first non-blank line."""
    for line in io.StringIO(text, newline=""):
        if line.strip():
            if "\t" in line:
                return "\t"
            if "," in line:
                return ","
            return None
    return ","


def _records(text: str, delimiter: str | None, label: str) -> list[tuple[int, list[str]]]:
    """Non-blank records of a text table with their 1-based line numbers."""
    records: list[tuple[int, list[str]]] = []
    if delimiter is None:
        for line_number, line in enumerate(io.StringIO(text, newline=""), start=1):
            fields = line.split()
            if fields:
                records.append((line_number, fields))
        return records
    # skipinitialspace: in "a, "b c"" the second field is the quoted b c.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, skipinitialspace=True)
    try:
        for fields in reader:
            if len(fields) > 1 or (fields and fields[0].strip()):
                records.append((reader.line_num, fields))
    except csv.Error as exc:
        raise DataError(f"{label}: cannot parse line {reader.line_num}: {exc}") from None
    return records


def _parse_column(fields: list[str], name: str, line_numbers: list[int], label: str) -> np.ndarray:
    try:
        return np.array([float(field) for field in fields], dtype=np.float64)
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


def _read_text(
    path: pathlib.Path,
    label: str,
    delimiter: str,
    selected: tuple[str, ...] | None,
    allow_missing: bool,
) -> Table:
    try:
        # utf-8-sig drops the byte order mark that spreadsheet programs write.
        with open(path, encoding="utf-8-sig", newline="") as fh:
            text = fh.read()
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{label} is not a UTF-8 text file (undecodable byte at offset {exc.start})"
        ) from None
    if "\x00" in text:
        raise DataError(f"{label} is not a text file (it contains NUL bytes)")

    sep = _sniff_delimiter(text) if delimiter == "sniff" else delimiter
    records = _records(text, sep, label)
    if not records:
        raise DataError(f"{label} holds no data rows")

    first_line, first = records[0]
    has_header = not all(_is_number_or_missing(field) for field in first)
    if has_header:
        names = [field.strip() or f"x{i}" for i, field in enumerate(first)]
        records = records[1:]
        expected = "the header has"
    else:
        names = [f"x{i}" for i in range(len(first))]
        expected = f"line {first_line} has"
    _check_unique(names, label)

    n_fields = len(names)
    for line_number, fields in records:
        if len(fields) != n_fields:
            raise DataError(
                f"{label}: line {line_number} has {_plural(len(fields), 'field')}, "
                f"{expected} {n_fields}"
            )
    if not records:
        raise DataError(f"{label} holds no data rows")

    indices = _select(names, selected, label)
    chosen = [names[j] for j in indices]
    line_numbers = [line_number for line_number, _ in records]
    values = np.empty((len(records), len(indices)), dtype=np.float64)
    for k, j in enumerate(indices):
        fields = [row[j] for _, row in records]
        values[:, k] = _parse_column(fields, names[j], line_numbers, label)

    _check_values(values, chosen, lambda i: f"on line {line_numbers[i]}", label, allow_missing)
    return Table(values=values, columns=tuple(chosen))


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
        parquet_file = pq.ParquetFile(path)
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

    try:
        table = parquet_file.read(columns=chosen, use_pandas_metadata=False)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataError(f"{label} is not a readable Parquet file ({exc})") from exc

    values = np.empty((table.num_rows, len(chosen)), dtype=np.float64)
    for k in range(len(chosen)):
        # safe=False: integers beyond 2**53 round to the nearest float64
        # rather than failing; nulls become NaN.
        column = table.column(k).cast(pa.float64(), safe=False)
        values[:, k] = column.to_numpy(zero_copy_only=False)

    _check_values(values, chosen, _in_row, label, allow_missing)
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


def _read_npy(
    path: pathlib.Path, label: str, selected: tuple[str, ...] | None, allow_missing: bool
) -> Table:
    header_dtype = _npy_header_dtype(path, label)
    objects_message = f"{label} holds Python objects; emkit reads numeric arrays only"
    # Checked before loading so that the data is never unpickled.
    if header_dtype is not None and header_dtype.hasobject:
        raise DataError(objects_message)
    try:
        array = np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise DataError(objects_message) from None
        raise DataError(f"{label} is truncated or corrupt ({exc})") from exc
    except (EOFError, OSError) as exc:
        raise DataError(f"{label} is truncated or corrupt ({exc})") from exc

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
    if selected is not None:
        array = array[:, indices]
    values = np.ascontiguousarray(array, dtype=target)

    _check_values(values, chosen, _in_row, label, allow_missing)
    return Table(values=values, columns=tuple(chosen))
