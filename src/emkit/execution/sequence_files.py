"""Sequences read from a file: the rows of a hidden Markov model's data, a chunk of whole
sequences at a time.

A column of the file holds the id of every row's sequence; the rows of one sequence are
consecutive rows with the same id, in their time order. :class:`SequenceFile` reads the
file through its row source (:class:`~emkit.execution.files.NpyFile`,
:class:`~emkit.execution.files.ParquetFiles` or :class:`~emkit.execution.files.CSVFile`,
chosen by :func:`emkit.open_data`) and cuts it between sequences, as
:class:`~emkit.execution.sources.SequenceRows` cuts :class:`~emkit.core.batches.Sequences`
in memory: the same sequences give the same chunks. A sequence cut by a block of the file
is carried over to the next block, so memory holds one chunk, one block and the sequence
being read, never the file.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np

from emkit.core.batches import DEFAULT_CHUNK_SIZE, Sequences
from emkit.execution.sources import Chunk, RowSource, sequence_sample
from emkit.io.readers import DataError

__all__ = ["SequenceFile"]


class SequenceFile(RowSource):
    """Whole sequences of a data file, in chunks of :class:`~emkit.core.batches.Sequences`.

    A chunk holds at most ``max_rows`` rows of whole sequences, cut as
    :meth:`Sequences.groups` cuts them (a longer sequence is a chunk alone). Its rows have
    no weights. :meth:`sample` gives whole sequences too: all of them when they hold at most
    ``max_rows`` rows (then drawing nothing from the random state, as a sample of an array
    in memory does), otherwise chunks of them drawn uniformly in one pass.

    Build it with :func:`emkit.open_data` and its ``sequence_column``.

    Parameters
    ----------
    rows : RowSource
        The file's rows: the feature columns, then the column of sequence ids, last.
    features : tuple of str or None
        The names of the feature columns; None for a file that names none (``.npy``).
    sequence_column : str
        The name of the id column, for messages.
    label : str
        The file, for messages.

    Raises
    ------
    DataError
        From the passes: an id that is missing (NaN), and an id that comes back after the
        rows of another sequence (the rows of one sequence must be consecutive).
    """

    def __init__(
        self,
        rows: RowSource,
        features: tuple[str, ...] | None,
        sequence_column: str,
        label: str,
    ) -> None:
        if rows.n_features < 2:
            raise DataError(f"{label} has no columns besides the sequence column")
        self.rows = rows
        self._features = None if features is None else tuple(features)
        self.sequence_column = sequence_column
        self._label = label
        self.n_features = rows.n_features - 1
        self.dtype = rows.dtype
        self._n_sequences: int | None = None

    def __repr__(self) -> str:
        return f"SequenceFile({self.rows!r}, sequence_column={self.sequence_column!r})"

    @property
    def n_rows(self) -> int | None:
        return self.rows.n_rows

    @property
    def n_sequences(self) -> int | None:
        """Sequences in all, or None until a pass has read them all."""
        return self._n_sequences

    @property
    def columns(self) -> tuple[str, ...] | None:
        return self._features

    def chunks(self, max_rows: int) -> Iterator[Chunk]:
        chunker = _Chunker(max_rows)
        ids = _Ids(self._label, self.sequence_column)
        carried: list[np.ndarray] = []  # the parts of the sequence a block may cut
        row = 0  # rows of the file before the block
        for block, _ in self.rows.chunks(max_rows):
            n = block.shape[0]
            if n == 0:
                continue
            seq_ids = block[:, -1]
            ids.refuse_missing(seq_ids, row)
            X = block[:, :-1]
            starts = np.concatenate([[0], np.flatnonzero(seq_ids[1:] != seq_ids[:-1]) + 1])
            first = 0
            if carried and seq_ids[0] == ids.current:
                # The sequence of the last block goes on.
                end = int(starts[1]) if starts.size > 1 else n
                carried.append(X[:end])
                first = 1
            if first < starts.size:
                if carried:
                    yield from chunker.add(np.concatenate(carried), None)
                    carried = []
                runs = starts[first:]
                ids.open(seq_ids[runs], row + runs, row + n)
                # Every run but the last is a whole sequence; the last may go on.
                last = int(runs[-1])
                if runs.size > 1:
                    yield from chunker.add(X[runs[0] : last], np.diff(runs))
                carried = [X[last:]]
            row += n
        if carried:
            yield from chunker.add(np.concatenate(carried), None)
        yield from chunker.flush()
        self._n_sequences = ids.count

    def sample(self, max_rows: int, random_state: np.random.RandomState) -> Chunk:
        # Chunks are held without a random key while all of them may fit: a file of at
        # most max_rows rows then draws nothing, so that a fit from it starts as a fit from
        # its sequences in memory does. Keys drawn later, in the order of the chunks, are
        # those sequence_sample would have drawn.
        held: list[Chunk] = []
        total = 0
        chunks = self.chunks(DEFAULT_CHUNK_SIZE)
        for chunk in chunks:
            held.append(chunk)
            total += chunk[0].shape[0]
            if total > max_rows:
                return sequence_sample(itertools.chain(held, chunks), max_rows, random_state)
        if not held:
            raise DataError(f"{self._label} holds no data rows")
        X = Sequences(
            np.concatenate([s.X for s, _ in held]), np.concatenate([s.lengths for s, _ in held])
        )
        return X, None


class _Chunker:
    """Whole sequences gathered into chunks of at most ``max_rows`` rows, greedily in their
    order (a longer sequence alone), as :meth:`Sequences.groups` gathers them."""

    def __init__(self, max_rows: int) -> None:
        self.max_rows = max_rows
        self.parts: list[np.ndarray] = []
        self.lengths: list[np.ndarray] = []
        self.count = 0

    def add(self, X: np.ndarray, lengths: np.ndarray | None) -> Iterator[Chunk]:
        """Chunks completed by the sequences of rows ``X`` of ``lengths`` (None: one)."""
        if lengths is None:
            lengths = np.array([X.shape[0]], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        i = 0
        while i < lengths.size:
            room = self.max_rows - self.count
            j = int(np.searchsorted(offsets, offsets[i] + room, side="right")) - 1
            if j == i:
                if self.count:
                    yield from self.flush()
                    continue
                j = i + 1  # longer than a chunk: alone
            self.parts.append(X[offsets[i] : offsets[j]])
            self.lengths.append(lengths[i:j])
            self.count += int(offsets[j] - offsets[i])
            i = j
            if self.count >= self.max_rows:
                yield from self.flush()

    def flush(self) -> Iterator[Chunk]:
        """The chunk gathered so far, if any."""
        if self.count:
            X = np.concatenate(self.parts) if len(self.parts) > 1 else self.parts[0]
            lengths = np.concatenate(self.lengths).astype(np.int64)
            yield Sequences(np.ascontiguousarray(X), lengths), None
        self.parts, self.lengths, self.count = [], [], 0


class _Ids:
    """The sequence ids met in a pass, with the rows of their sequences, to refuse an id
    that comes back after another sequence."""

    def __init__(self, label: str, column: str) -> None:
        self.label, self.column = label, column
        self.first_row: dict[float, int] = {}  # id: its sequence's first row
        self.last_row: dict[float, int] = {}  # id: the row after its sequence
        self.current: float | None = None
        self.count = 0

    def refuse_missing(self, ids: np.ndarray, row: int) -> None:
        missing = np.flatnonzero(np.isnan(ids))
        if missing.size:
            raise DataError(
                f"{self.label}: the sequence column {self.column!r} has no id at data row "
                f"{row + int(missing[0]) + 1}; every row needs the id of its sequence"
            )

    def open(self, ids: np.ndarray, starts: np.ndarray, end: int) -> None:
        """Sequences of ``ids`` starting at rows ``starts`` (of the file), the last of them
        going on at least up to row ``end``."""
        values = ids.tolist()
        rows = starts.tolist()
        stops = [*rows[1:], end]
        if self.current is not None:
            self.last_row[self.current] = rows[0]
        fresh = dict(zip(values, rows, strict=True))
        again = (fresh.keys() & self.first_row.keys()) or len(fresh) < len(values)
        if again:
            self._refuse(values, rows)
        self.first_row.update(fresh)
        self.last_row.update(zip(values, stops, strict=True))
        self.current = values[-1]
        self.count += len(values)

    def _refuse(self, values: list[float], rows: list[int]) -> None:
        previous = None
        for value, row in zip(values, rows, strict=True):
            if previous is not None:
                self.last_row[previous] = row
            if value in self.first_row:
                first, last = self.first_row[value], self.last_row[value]
                raise DataError(
                    f"{self.label}: sequence {_id_text(value)} of column {self.column!r} "
                    f"appears again at data row {row + 1}, after other sequences (its "
                    f"earlier rows are {first + 1} to {last}); the rows of one sequence must "
                    f"be consecutive: sort the rows by {self.column!r}, keeping their time "
                    "order"
                )
            self.first_row[value] = row
            previous = value
        raise AssertionError("no id comes back")  # pragma: no cover


def _id_text(value: float) -> str:
    """A whole number as one (below 2**53, where floats are exact integers), else its repr."""
    return str(int(value)) if value.is_integer() and abs(value) < 2.0**53 else repr(value)
