"""The tables the commands write: the predictions of ``emkit predict`` (components of rows,
or topic proportions of documents) and the imputed data of ``emkit impute``, a chunk of rows
at a time, as CSV (on standard output,
or in a file) or Parquet (a file named ``.parquet`` or ``.pq``); and the check of a
destination before the work that fills it."""

from __future__ import annotations

import csv
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import numpy as np

from emkit.cli.errors import CommandError
from emkit.cli.summary import quote

__all__ = [
    "PARQUET_SUFFIXES",
    "ImputationTable",
    "PredictionTable",
    "TopicTable",
    "check_table_path",
]

PARQUET_SUFFIXES = (".parquet", ".pq")
"""The suffixes of an output written as Parquet; any other is written as CSV."""


def check_table_path(path: str) -> None:
    """Refuse, before the work that fills it, a table destination that cannot be written."""
    from emkit.io.model_file import check_writable

    try:
        check_writable(path)
    except OSError as exc:
        # The check speaks of a model file; the reason is the same for a table.
        message = exc.strerror or str(exc)
        reason = message.removeprefix(f"cannot write the model file {quote(path)}: ")
        raise CommandError(f"cannot write the table {quote(path)}: {reason}") from None


def _number(value: float) -> str:
    """A value of the data as written: a whole number below 2**53 (where floats are exact
    integers) as one, any other float exactly (its repr)."""
    return str(int(value)) if value.is_integer() and abs(value) < 2.0**53 else repr(value)


class _Table:
    """A table written a chunk of rows at a time under ``header``, as CSV (on standard
    output, or in a file) or Parquet.

    A file is written to a temporary file beside it and renamed onto ``path`` when the
    table is complete (``with`` leaves without an error): a table cut short by an error
    leaves no file, and an existing file is replaced whole or not at all. Without a path
    the rows go to standard output as they come.

    Raises
    ------
    CommandError
        For Parquet without pyarrow.
    """

    def __init__(self, path: str | None, header: Sequence[str]) -> None:
        self.header = list(header)
        self.path = path
        self.parquet = path is not None and Path(path).suffix.lower() in PARQUET_SUFFIXES
        self._arrow: Any = None
        if self.parquet:
            try:
                import pyarrow
                import pyarrow.parquet
            except ImportError:
                raise CommandError(
                    "writing Parquet files needs pyarrow: pip install 'emkit[parquet]'"
                ) from None
            self._arrow = (pyarrow, pyarrow.parquet)
        self._temporary: str | None = None
        self._stream: IO[str] | None = None
        self._csv: Any = None
        self._parquet: Any = None

    def __enter__(self) -> Any:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._close()
        if self._temporary is None:
            return
        if kind is None:
            os.replace(self._temporary, self.path)  # type: ignore[arg-type]
        else:
            os.unlink(self._temporary)

    def _write(self, columns: list[np.ndarray], texts: Sequence[Callable[[Any], str]]) -> None:
        """The next rows: one array per column of the header, each written in CSV by the
        function of ``texts`` in its place."""
        if self.parquet:
            self._write_parquet(columns)
        else:
            self._write_csv(
                [[text(v) for v in c.tolist()] for c, text in zip(columns, texts, strict=True)]
            )

    def _temporary_file(self) -> int:
        """A new temporary file beside the table's (its descriptor), to be renamed onto it."""
        from emkit.io.model_file import _new_file_mode

        assert self.path is not None
        target = Path(self.path)
        handle, self._temporary = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
        )
        # The mode a file created at the path would have, not the temporary file's 0600.
        os.chmod(self._temporary, _new_file_mode())
        return handle

    def _write_csv(self, texts: list[list[str]]) -> None:
        if self._csv is None:
            self._stream = (
                sys.stdout
                if self.path is None
                else os.fdopen(self._temporary_file(), "w", newline="", encoding="utf-8")
            )
            self._csv = csv.writer(self._stream, lineterminator="\n")
            self._csv.writerow(self.header)
        self._csv.writerows(zip(*texts, strict=True))
        assert self._stream is not None
        self._stream.flush()

    def _write_parquet(self, columns: list[np.ndarray]) -> None:
        pa, pq = self._arrow
        table = pa.Table.from_arrays([pa.array(c) for c in columns], names=self.header)
        if self._parquet is None:
            os.close(self._temporary_file())
            self._parquet = pq.ParquetWriter(self._temporary, table.schema)
        self._parquet.write_table(table)

    def _close(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
        if self._stream is not None and self._stream is not sys.stdout:
            self._stream.close()


class PredictionTable(_Table):
    """The table of ``emkit predict``, written a chunk of rows at a time (:meth:`write`):
    ``row`` (the row of the data, from 0), the columns ``kept`` of the data, the component
    ``unit`` (``label``, or ``state``), and ``p0``, ``p1``, ... when ``n_proba`` is given;
    written as :class:`_Table` writes.

    Parameters
    ----------
    path : str or None
        The file: Parquet for the suffixes of :data:`PARQUET_SUFFIXES`, CSV for any other.
        None: CSV on standard output.
    unit : str
        The name of the column of components.
    kept : sequence of str
        The names of the columns of the data written after ``row``.
    n_proba : int or None
        The number of probability columns, or None for none.

    Raises
    ------
    CommandError
        For a column name that ``kept`` repeats, and for Parquet without pyarrow.
    """

    def __init__(
        self, path: str | None, unit: str, kept: Sequence[str], n_proba: int | None
    ) -> None:
        proba = [f"p{j}" for j in range(n_proba or 0)]
        fixed = ["row", unit, *proba]
        clash = [name for name in kept if name in fixed]
        if clash:
            raise CommandError(
                f"--keep-columns: the model's column {clash[0]!r} has the name of a column of "
                f"the predictions ({', '.join(fixed)})"
            )
        super().__init__(path, ["row", *kept, unit, *proba])

    def write(
        self,
        first_row: int,
        kept: np.ndarray | None,
        labels: np.ndarray,
        proba: np.ndarray | None,
    ) -> None:
        """The rows ``first_row``, ``first_row + 1``, ... of the table: the data's kept
        columns (n_rows, n_kept) or None, the components (n_rows,), and their
        probabilities (n_rows, n_proba) or None."""
        rows = np.arange(first_row, first_row + labels.shape[0], dtype=np.int64)
        columns: list[np.ndarray] = [rows]
        texts: list[Callable[[Any], str]] = [str]
        if kept is not None:
            columns += list(kept.T)
            texts += [_number] * kept.shape[1]
        columns.append(np.asarray(labels, dtype=np.int64))
        texts.append(str)
        if proba is not None:
            columns += list(proba.T)
            texts += [repr] * proba.shape[1]
        self._write(columns, texts)


class TopicTable(_Table):
    """The table of ``emkit predict`` for a model of texts, written a chunk of documents at
    a time (:meth:`write`): ``document`` (its name: its line in a text file, from 1; its
    file in a folder; its row in a table, from 0), then ``topic0``, ``topic1``, ...: its
    topic proportions. Written as :class:`_Table` writes.

    Parameters
    ----------
    path : str or None
        As for :class:`PredictionTable`.
    n_topics : int
    """

    def __init__(self, path: str | None, n_topics: int) -> None:
        super().__init__(path, ["document", *(f"topic{k}" for k in range(n_topics))])

    def write(self, names: np.ndarray, proportions: np.ndarray) -> None:
        """The rows of the documents ``names`` (n_documents,) and their topic
        proportions (n_documents, n_topics)."""
        self._write([np.asarray(names), *proportions.T], [str] + [repr] * proportions.shape[1])


class ImputationTable(_Table):
    """The table of ``emkit impute``, written a chunk of rows at a time (:meth:`write`): the
    column ``imputation`` (the number of the imputed copy, from 0) with ``imputations``,
    the model's ``columns`` with their missing cells filled in, and with ``std`` a column
    ``<name>_std`` per column, the conditional standard deviations. Written as
    :class:`_Table` writes.

    Raises
    ------
    CommandError
        For a column whose name another column of the table has, and for Parquet without
        pyarrow.
    """

    def __init__(
        self, path: str | None, columns: Sequence[str], *, std: bool, imputations: bool
    ) -> None:
        header = [*(["imputation"] if imputations else []), *columns]
        header += [f"{name}_std" for name in columns] if std else []
        clash = sorted({name for name in header if header.count(name) > 1})
        if clash:
            raise CommandError(
                f"the model's column {clash[0]!r} has the name of another column of the "
                "imputed table"
            )
        super().__init__(path, header)

    def write(
        self, values: np.ndarray, std: np.ndarray | None = None, imputation: int | None = None
    ) -> None:
        """The next rows: the imputed ``values`` (n_rows, n_columns), their standard
        deviations ``std`` (same shape) or None, and the number of their copy or None."""
        columns: list[np.ndarray] = []
        texts: list[Callable[[Any], str]] = []
        if imputation is not None:
            columns.append(np.full(values.shape[0], imputation, dtype=np.int64))
            texts.append(str)
        columns += list(np.asarray(values, dtype=np.float64).T)
        texts += [_number] * values.shape[1]
        if std is not None:
            columns += list(np.asarray(std, dtype=np.float64).T)
            texts += [repr] * std.shape[1]
        self._write(columns, texts)
