"""Row sources: the rows a model is fitted to, wherever they are.

A :class:`RowSource` is the one way the engine reads data. It says what it knows of its rows
(their number where known, the number of features, column names, dtype), yields them in
chunks of bounded size, pass after pass, and draws a uniform sample of them for
initialisation in one pass. Arrays, memory maps, CSR matrices, pandas and Arrow tables,
:class:`~emkit.core.batches.Sequences`, :class:`~emkit.core.batches.Labelled`, a
re-iterable of chunks and files (:mod:`emkit.execution.files`) are adapters to it, chosen
once by :func:`as_source`; nothing after that asks what kind of data it got.

A chunk is a pair ``(rows, sample_weight)``: rows of shape (n, n_features) (an ndarray, a
CSR matrix, Sequences or Labelled) and their weights, shape (n,), or None for weights of one.

A source that can be cut says so by :meth:`RowSource.partitions`: consecutive parts of its
rows, each a source that another process can read (a worker of a cluster,
:mod:`emkit.execution.dask`), whose chunks are the source's own chunks.
"""

from __future__ import annotations

import heapq
import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from emkit.core.batches import DEFAULT_CHUNK_SIZE, Labelled, Sequences

if TYPE_CHECKING:
    from emkit.execution.executor import Executor

Rows = Any
"""Rows of one chunk: ndarray or CSR matrix of shape (n, n_features), Sequences or Labelled."""
Chunk = tuple[Rows, "np.ndarray | None"]

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "ArrayRows",
    "Chunk",
    "ChunkRows",
    "LabelledRows",
    "MappedRows",
    "RowSource",
    "SequenceRows",
    "SparseRows",
    "TableRows",
    "as_source",
    "register_source",
]


class RowSource(ABC):
    """Rows to fit, read in chunks.

    Subclasses set :attr:`n_features` and :attr:`dtype` and write :meth:`chunks`; the rest
    has defaults: the number of rows unknown, no column names, a one-pass reservoir sample.
    """

    n_features: int
    """Columns of every chunk."""
    dtype: np.dtype
    """The dtype of the rows' values (float32 data is fitted as float32)."""

    @property
    def n_rows(self) -> int | None:
        """Rows in all, or None when unknown until a pass has read them."""
        return None

    @property
    def columns(self) -> tuple[str, ...] | None:
        """The columns' names, or None when they have none."""
        return None

    @property
    def in_memory(self) -> bool:
        """Whether the rows are one block in this process's memory: then initialisation sees
        all of them (:meth:`sample` returns them whole, whatever ``max_rows``)."""
        return False

    @property
    def weighted(self) -> bool:
        """Whether chunks may carry sample weights."""
        return False

    @property
    def sparse(self) -> bool:
        """Whether the rows of its chunks are sparse (CSR) matrices."""
        return False

    @abstractmethod
    def chunks(self, max_rows: int) -> Iterator[Chunk]:
        """A fresh pass over the rows, in order, in chunks ``(rows, sample_weight)`` of at
        most ``max_rows`` rows (sequence data cut between sequences, so that a longer
        sequence is a chunk alone)."""

    def sample(self, max_rows: int, random_state: np.random.RandomState) -> Chunk:
        """Rows to initialise from: all of them when the source is :attr:`in_memory` or
        holds at most ``max_rows`` rows, otherwise ``max_rows`` rows drawn uniformly without
        replacement in one pass (reservoir sampling), in their order in the source.
        Sequence data is sampled by whole chunks of sequences."""
        return reservoir_sample(self.chunks(DEFAULT_CHUNK_SIZE), max_rows, random_state)

    def map(self, fn: Callable[[Rows], Rows], n_features: int | None = None) -> RowSource:
        """The source whose chunks are ``fn(rows)`` (a check, a conversion), with the same
        weights; ``n_features`` when ``fn`` changes the number of columns."""
        return MappedRows(self, fn, n_features)

    def home(self) -> Executor | None:
        """The executor that runs passes where the rows live, for fits that set none
        (:func:`emkit.config_context`): None, this machine's threads, but for rows that live
        on a cluster (dask collections while a ``distributed.Client`` is active)."""
        return None

    def partitions(self, n: int, align: int) -> list[RowSource] | None:
        """The rows cut into at most ``n`` sources of consecutive rows, each of which can be
        pickled and read in another process, or None when the rows cannot be cut (the
        default: a stream of chunks only its iterable knows).

        Parts begin at multiples of ``align`` rows (Sequences: between the chunks of
        ``align`` rows), so that their chunks of ``align`` rows, one part after another, are
        this source's chunks of ``align`` rows. A part of data in memory holds views of it;
        a part of a file names the file and its rows, and reads them where it is read.
        """
        return None


# -- adapters of data in memory -----------------------------------------------------------------
class _HeldRows(RowSource):
    """Rows held by the source (``X``, of shape (n_rows, n_features)) with optional weights
    of every row."""

    def __init__(self, X: Any, sample_weight: np.ndarray | None = None) -> None:
        self.X = X
        self.sample_weight = _checked_weights(sample_weight, X.shape[0])
        self.n_features = X.shape[1]
        self.dtype = X.dtype

    @property
    def n_rows(self) -> int:
        return self.X.shape[0]

    @property
    def weighted(self) -> bool:
        return self.sample_weight is not None


class ArrayRows(_HeldRows):
    """A 2-D array (a ``numpy.memmap`` too), with optional sample weights, cut into chunks
    of consecutive rows. A memory map is not :attr:`in_memory`: initialisation samples it."""

    def __init__(self, X: np.ndarray, sample_weight: np.ndarray | None = None) -> None:
        if X.ndim != 2:
            raise ValueError(f"data must be 2-D (n_samples, n_features), got shape {X.shape}")
        super().__init__(X, sample_weight)

    @property
    def in_memory(self) -> bool:
        return not isinstance(self.X, np.memmap)

    def chunks(self, max_rows: int) -> Iterator[Chunk]:
        X, w = self.X, self.sample_weight
        for start in range(0, X.shape[0], max_rows):
            rows = slice(start, start + max_rows)
            yield X[rows], None if w is None else w[rows]

    def sample(self, max_rows: int, random_state: np.random.RandomState) -> Chunk:
        if self.in_memory or self.X.shape[0] <= max_rows:
            return self.X, self.sample_weight
        return super().sample(max_rows, random_state)

    def partitions(self, n: int, align: int) -> list[RowSource]:
        w = self.sample_weight
        return [
            type(self)(self.X[a:b], None if w is None else w[a:b])
            for a, b in spans(self.n_rows, n, align)
        ]


class SparseRows(ArrayRows):
    """A CSR matrix (``scipy.sparse``), cut into chunks of consecutive rows that stay CSR."""

    def __init__(self, X: sp.spmatrix | sp.sparray, sample_weight: np.ndarray | None = None):
        super().__init__(X.tocsr(), sample_weight)

    @property
    def in_memory(self) -> bool:
        return True

    @property
    def sparse(self) -> bool:
        return True


class SequenceRows(_HeldRows):
    """:class:`~emkit.core.batches.Sequences`, cut between sequences into chunks of at most
    ``max_rows`` rows (a longer sequence alone), with per-row weights."""

    X: Sequences

    @property
    def in_memory(self) -> bool:
        return True

    def chunks(self, max_rows: int) -> Iterator[Chunk]:
        w = self.sample_weight
        for group, rows in self.X.groups(max_rows):
            yield group, None if w is None else w[rows]

    def sample(self, max_rows: int, random_state: np.random.RandomState) -> Chunk:
        return self.X, self.sample_weight

    def partitions(self, n: int, align: int) -> list[RowSource]:
        # Parts of whole chunks: cut greedily from a chunk's first sequence, a part's
        # chunks are the chunks of the whole.
        groups = [(rows, group.lengths.size) for group, rows in self.X.groups(align)]
        parts: list[RowSource] = []
        first = 0
        w = self.sample_weight
        for a, b in spans(len(groups), n, 1):
            span = slice(groups[a][0].start, groups[b - 1][0].stop)
            count = sum(size for _, size in groups[a:b])
            X = Sequences(self.X.X[span], self.X.lengths[first : first + count])
            parts.append(SequenceRows(X, None if w is None else w[span]))
            first += count
        return parts


class LabelledRows(ArrayRows):
    """:class:`~emkit.core.batches.Labelled` rows: every chunk carries its rows' labels."""

    def __init__(self, X: Labelled, sample_weight: np.ndarray | None = None) -> None:
        super().__init__(X, sample_weight)

    @property
    def in_memory(self) -> bool:
        return True


class TableRows(RowSource):
    """A pandas DataFrame or a pyarrow Table of numeric columns, converted to a float array
    a chunk at a time, so that E-steps never copy the whole table (initialisation, which
    sees data in memory whole, does once)."""

    def __init__(self, table: Any, sample_weight: np.ndarray | None = None) -> None:
        self.table = table
        self._arrow = not hasattr(table, "iloc")
        names = table.column_names if self._arrow else [str(c) for c in table.columns]
        self._columns = tuple(str(name) for name in names)
        self.n_features = len(self._columns)
        self.sample_weight = _checked_weights(sample_weight, self.n_rows)
        first = self._block(0, min(1, self.n_rows))
        self.dtype = first.dtype

    @property
    def n_rows(self) -> int:
        return int(self.table.num_rows if self._arrow else self.table.shape[0])

    @property
    def columns(self) -> tuple[str, ...]:
        return self._columns

    @property
    def in_memory(self) -> bool:
        return True

    @property
    def weighted(self) -> bool:
        return self.sample_weight is not None

    def sample(self, max_rows: int, random_state: np.random.RandomState) -> Chunk:
        # The table is in memory, so initialisation sees it whole, as it sees an array.
        return self._block(0, self.n_rows), self.sample_weight

    def _block(self, start: int, stop: int) -> np.ndarray:
        if self._arrow:
            part = self.table.slice(start, stop - start)
            columns = [np.asarray(part.column(j)) for j in range(self.n_features)]
            block = np.column_stack(columns) if columns else np.empty((stop - start, 0))
        else:
            block = self.table.iloc[start:stop].to_numpy()
        return _numeric(block, self._columns)

    def chunks(self, max_rows: int) -> Iterator[Chunk]:
        w = self.sample_weight
        for start in range(0, self.n_rows, max_rows):
            stop = min(start + max_rows, self.n_rows)
            yield self._block(start, stop), None if w is None else w[start:stop]

    def partitions(self, n: int, align: int) -> list[RowSource]:
        w = self.sample_weight
        table = self.table
        return [
            TableRows(
                # An Arrow slice would pickle its table's whole buffers: a part copies its
                # rows, so that shipping the parts ships the table once.
                table.take(np.arange(a, b)) if self._arrow else table.iloc[a:b],
                None if w is None else w[a:b],
            )
            for a, b in spans(self.n_rows, n, align)
        ]


class ChunkRows(RowSource):
    """A re-iterable of chunks a user gave: arrays (or Sequences, Labelled, CSR) of shape
    (n_chunk, n_features), or pairs ``(rows, sample_weight)``; every pass must yield the
    same chunks. Each chunk is checked for shape as it streams, and one of more than
    ``max_rows`` rows is cut (views of it, not copies). What the chunks hold (features,
    dtype, sparsity) is learnt from the first chunk of the first pass; asked before any
    pass, it starts one to read that chunk."""

    def __init__(self, data: Iterable) -> None:
        if iter(data) is data:  # type: ignore[comparison-overlap]
            raise TypeError(
                "chunked data must be re-iterable (a list, or an object whose __iter__ "
                "starts a fresh pass): EM reads the data once per iteration, and a generator "
                "can be read only once. Give a list of chunks, or a source: "
                "emkit.open_data(path) for a file"
            )
        self.data = data
        # (n_features, dtype, sparse) of the first chunk, once read.
        self._first: tuple[int, np.dtype, bool] | None = None

    def _learn(self, rows: Rows) -> None:
        if self._first is None:
            self._first = (int(rows.shape[1]), rows.dtype, sp.issparse(rows))

    def _peek(self) -> tuple[int, np.dtype, bool]:
        if self._first is None:
            first = next(iter(self.data), None)
            if first is None:
                raise ValueError("the chunked data holds no chunks")
            self._learn(_split_item(first, 0)[0])
        assert self._first is not None
        return self._first

    @property
    def n_features(self) -> int:  # type: ignore[override]
        return self._peek()[0]

    @property
    def dtype(self) -> np.dtype:  # type: ignore[override]
        return self._peek()[1]

    @property
    def weighted(self) -> bool:
        return True

    @property
    def sparse(self) -> bool:
        return self._peek()[2]

    def chunks(self, max_rows: int) -> Iterator[Chunk]:
        n_features = None if self._first is None else self._first[0]
        for i, item in enumerate(self.data):
            rows, w = _split_item(item, i)
            if n_features is None:
                self._learn(rows)
                n_features = rows.shape[1]
            elif rows.shape[1] != n_features:
                raise ValueError(
                    f"chunk {i} has {rows.shape[1]} features, chunk 0 has {n_features}"
                )
            yield from cut(rows, w, max_rows)


class MappedRows(RowSource):
    """Another source's chunks with ``fn`` applied to their rows (see :meth:`RowSource.map`)."""

    def __init__(
        self, source: RowSource, fn: Callable[[Rows], Rows], n_features: int | None = None
    ) -> None:
        self.source, self.fn = source, fn
        self.n_features = source.n_features if n_features is None else n_features
        self.dtype = source.dtype

    @property
    def n_rows(self) -> int | None:
        return self.source.n_rows

    @property
    def columns(self) -> tuple[str, ...] | None:
        return self.source.columns

    @property
    def in_memory(self) -> bool:
        return self.source.in_memory

    @property
    def weighted(self) -> bool:
        return self.source.weighted

    @property
    def sparse(self) -> bool:
        return self.source.sparse

    def chunks(self, max_rows: int) -> Iterator[Chunk]:
        for rows, w in self.source.chunks(max_rows):
            yield self.fn(rows), w

    def sample(self, max_rows: int, random_state: np.random.RandomState) -> Chunk:
        rows, w = self.source.sample(max_rows, random_state)
        return self.fn(rows), w

    def home(self) -> Executor | None:
        return self.source.home()

    def partitions(self, n: int, align: int) -> list[RowSource] | None:
        parts = self.source.partitions(n, align)
        if parts is None:
            return None
        return [MappedRows(part, self.fn, self.n_features) for part in parts]


# -- choosing the adapter -------------------------------------------------------------------------
_ADAPTERS: list[tuple[Callable[[Any], bool], Callable[[Any, Any], RowSource]]] = []


def register_source(
    accepts: Callable[[Any], bool], adapter: Callable[[Any, Any], RowSource]
) -> None:
    """Make ``adapter(data, sample_weight)`` the source of data for which ``accepts(data)``
    is true (tried before the built-in adapters, the latest registered first)."""
    _ADAPTERS.insert(0, (accepts, adapter))


_ADAPTER_MODULES = {"dask": "emkit.execution.dask"}
"""Modules that register the adapters of another library's data (top-level package: module),
imported when data of that library is first adapted, so that importing emkit imports none
of those libraries."""


def _import_adapters(data: Any) -> None:
    package = type(data).__module__.partition(".")[0]
    if package in _ADAPTER_MODULES:
        importlib.import_module(_ADAPTER_MODULES[package])
        del _ADAPTER_MODULES[package]


def _is_table(data: Any) -> bool:
    module = type(data).__module__
    return (module.startswith("pandas") and hasattr(data, "iloc") and data.ndim == 2) or (
        module.startswith("pyarrow") and hasattr(data, "column_names")
    )


def _not_weighted(adapter: Callable[[Any], RowSource]) -> Callable[[Any, Any], RowSource]:
    def build(data: Any, sample_weight: Any) -> RowSource:
        if sample_weight is not None:
            raise ValueError(
                "with chunked data or a source, weights go with the rows: give chunks as pairs "
                "(X, sample_weight)"
            )
        return adapter(data)

    return build


_BUILT_IN: list[tuple[Callable[[Any], bool], Callable[[Any, Any], RowSource]]] = [
    (lambda d: isinstance(d, RowSource), _not_weighted(lambda d: d)),
    (lambda d: isinstance(d, Sequences), SequenceRows),
    (lambda d: isinstance(d, Labelled), LabelledRows),
    (lambda d: isinstance(d, np.ndarray), ArrayRows),
    (sp.issparse, SparseRows),
    (_is_table, TableRows),
    (
        lambda d: isinstance(d, Iterable) and not isinstance(d, (str, bytes)),
        _not_weighted(ChunkRows),
    ),
]


def as_source(data: Any, sample_weight: Any = None) -> RowSource:
    """The :class:`RowSource` of ``data``.

    Parameters
    ----------
    data : ndarray, CSR matrix, DataFrame, pyarrow Table, Sequences, Labelled, RowSource or
        re-iterable of chunks
        The rows. An ndarray must be 2-D; a re-iterable yields, at every pass, the same
        chunks: arrays of shape (n_chunk, n_features) (or Sequences, Labelled) or pairs
        ``(X_chunk, sample_weight_chunk)``.
    sample_weight : array-like of shape (n_samples,), optional
        Weights of the rows of data held in one piece (not of chunks or files, whose
        weights go with their rows).

    Raises
    ------
    TypeError
        For data no adapter takes (a generator among them, which can be read only once).
    """
    _import_adapters(data)
    for accepts, adapter in (*_ADAPTERS, *_BUILT_IN):
        if accepts(data):
            return adapter(data, sample_weight)
    raise TypeError(
        f"data must be an array, a sparse matrix, a table, a row source or a re-iterable of "
        f"chunks, got {type(data).__name__}"
    )


# -- helpers --------------------------------------------------------------------------------------
def spans(n_rows: int, n: int, align: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of at most ``n`` consecutive row ranges covering ``n_rows`` rows,
    each holding as many whole runs of ``align`` rows as the others or one more (the last
    run may be shorter), none empty.

    Raises
    ------
    ValueError
        When ``n`` or ``align`` is not positive.
    """
    if n < 1 or align < 1:
        raise ValueError(
            f"a source is cut into n >= 1 parts of runs of align >= 1 rows, got n={n}, "
            f"align={align}"
        )
    runs = -(-n_rows // align)
    parts = min(n, runs)
    out = []
    start = 0
    for i in range(parts):
        stop = min(n_rows, start + align * (runs // parts + (i < runs % parts)))
        out.append((start, stop))
        start = stop
    return out


def _checked_weights(sample_weight: Any, n_rows: int) -> np.ndarray | None:
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight, dtype=np.float64)
    if w.shape != (n_rows,):
        raise ValueError(f"sample_weight has shape {w.shape}, expected ({n_rows},)")
    return w


def _numeric(block: np.ndarray, columns: tuple[str, ...]) -> np.ndarray:
    """A table's block as floats: float32 kept, other numbers as float64; a column of text
    or objects is named."""
    if block.dtype.kind in "fiub":
        return block if block.dtype in (np.float32, np.float64) else block.astype(np.float64)
    for j, name in enumerate(columns):
        try:
            block[:, j].astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"column {name!r} is not numeric (e.g. {block[0, j]!r}); select numeric "
                "columns, or encode categories as integer codes"
            ) from None
    return block.astype(np.float64)


def _split_item(item: object, index: int) -> Chunk:
    if isinstance(item, tuple):
        if len(item) != 2:
            raise ValueError(
                f"chunk {index} is a tuple of {len(item)} items; expected (X, sample_weight)"
            )
        rows, w = item
        w = None if w is None else np.asarray(w, dtype=np.float64)
    else:
        rows, w = item, None
    if not (isinstance(rows, (Sequences, Labelled)) or sp.issparse(rows)):
        rows = np.asarray(rows)
    if rows.ndim != 2:
        raise ValueError(
            f"chunk {index} must be 2-D (n_samples, n_features), got shape {rows.shape}"
        )
    if w is not None and w.shape != (rows.shape[0],):
        raise ValueError(
            f"chunk {index}: sample_weight has shape {w.shape}, expected ({rows.shape[0]},)"
        )
    return rows, w


# -- one-pass samples -----------------------------------------------------------------------------
def reservoir_sample(
    chunks: Iterable[Chunk], max_rows: int, random_state: np.random.RandomState
) -> Chunk:
    """All rows of ``chunks`` when they hold at most ``max_rows``, otherwise ``max_rows``
    of them drawn uniformly without replacement in one pass (Vitter's algorithm R, a chunk
    at a time), in their order; memory holds ``max_rows`` rows and one chunk. Chunks of
    Sequences are sampled whole, by :func:`sequence_sample`.

    Raises
    ------
    ValueError
        When the chunks hold no rows, or mix Sequences with other rows.
    """
    chunks = iter(chunks)
    first = next(chunks, None)
    if first is None:
        raise ValueError("the data holds no rows")
    if isinstance(first[0], Sequences):
        return sequence_sample(_chained(first, chunks), max_rows, random_state)
    reservoir = _Reservoir(max_rows)
    for rows, w in _chained(first, chunks):
        if isinstance(rows, Sequences):
            raise ValueError("chunks must be all Sequences or all rows, not a mix")
        reservoir.add(rows, w, random_state)
    return reservoir.rows()


class _Reservoir:
    """``size`` slots of rows (with their weights and labels) and the position in the data
    of the row each holds."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.seen = 0
        self.position = np.empty(0, dtype=np.int64)
        self.X: Any = None
        # A plain chunk among labelled ones is a chunk of unlabelled rows (label -1).
        self.labels = np.full(0, -1, dtype=np.int64)
        self.labelled = False
        self.w = np.ones(0)
        self.weighted = False

    def _allocate(self, rows: Rows) -> None:
        size = self.size
        self.position = np.empty(size, dtype=np.int64)
        self.w = np.ones(size)
        self.labels = np.full(size, -1, dtype=np.int64)
        if sp.issparse(rows):
            self.X = [None] * size
        else:
            self.X = np.empty((size, rows.shape[1]), dtype=rows.dtype)

    def _put(self, slots: np.ndarray, rows: Rows, local: np.ndarray, w: np.ndarray | None):
        if isinstance(rows, Labelled):
            self.labelled = True
            self.X[slots] = rows.X[local]
            self.labels[slots] = rows.labels[local]
        elif sp.issparse(rows):
            for slot, i in zip(slots.tolist(), local.tolist(), strict=True):
                self.X[slot] = rows[i : i + 1]
        else:
            self.X[slots] = rows[local]
            self.labels[slots] = -1
        if w is not None:
            self.weighted = True
            self.w[slots] = w[local]
        else:
            self.w[slots] = 1.0

    def add(self, rows: Rows, w: np.ndarray | None, random_state: np.random.RandomState):
        n = rows.shape[0]
        if n == 0:
            return
        if self.X is None:
            self._allocate(rows)
        position = np.arange(self.seen, self.seen + n, dtype=np.int64)
        fill = min(n, max(0, self.size - self.seen))
        if fill:
            slots = position[:fill]
            self._put(slots, rows, np.arange(fill), w)
            self.position[slots] = position[:fill]
        rest = position[fill:]
        if rest.size:
            # Row t (t >= size) takes slot j ~ U{0..t} when j < size; of the rows of a chunk
            # that draw one slot, the last is kept, as when the rows come one at a time.
            draws = (random_state.random_sample(rest.size) * (rest + 1)).astype(np.int64)
            hit = np.flatnonzero(draws < self.size)
            slot = draws[hit][::-1]
            first = np.unique(slot, return_index=True)[1]
            slots, local = slot[first], (hit[::-1][first] + fill)
            self._put(slots, rows, local, w)
            self.position[slots] = position[local]
        self.seen += n

    def rows(self) -> Chunk:
        if self.seen == 0:
            raise ValueError("the data holds no rows")
        kept = min(self.seen, self.size)
        order = np.argsort(self.position[:kept], kind="stable")
        if self.labelled:
            X: Rows = Labelled(self.X[:kept][order], self.labels[:kept][order])
        elif isinstance(self.X, list):
            X = sp.vstack([self.X[i] for i in order.tolist()], format="csr")
        else:
            X = self.X[:kept][order]
        return X, (self.w[:kept][order] if self.weighted else None)


def sequence_sample(
    chunks: Iterable[Chunk], max_rows: int, random_state: np.random.RandomState
) -> Chunk:
    """Whole chunks of sequences (a sequence is never cut), in one pass: those that come
    first in a uniformly random order of the chunks until ``max_rows`` rows are reached
    (all of them when they hold fewer), in their order in the data. Every chunk draws a
    random key; the chunks of smallest keys are kept as long as the others, in key order,
    have not yet reached ``max_rows`` rows."""
    heap: list[tuple[float, int, Chunk]] = []  # max-heap of keys, by negation
    rows_kept = 0
    for i, (X, w) in enumerate(chunks):
        if not isinstance(X, Sequences):
            raise ValueError("chunks must be all Sequences or all rows, not a mix")
        key = float(random_state.random_sample())
        heapq.heappush(heap, (-key, i, (X, w)))
        rows_kept += X.shape[0]
        # The chunk of largest key is needed only while the others fall short of max_rows.
        while len(heap) > 1 and rows_kept - heap[0][2][0].shape[0] >= max_rows:
            rows_kept -= heapq.heappop(heap)[2][0].shape[0]
    if not heap:
        raise ValueError("the data holds no rows")
    parts = [chunk for _, _, chunk in sorted(heap, key=lambda item: item[1])]
    X = Sequences(
        np.concatenate([s.X for s, _ in parts]), np.concatenate([s.lengths for s, _ in parts])
    )
    if all(w is None for _, w in parts):
        return X, None
    return X, np.concatenate(
        [np.ones(s.shape[0]) if w is None else np.asarray(w, np.float64) for s, w in parts]
    )


def cut(rows: Rows, sample_weight: np.ndarray | None, max_rows: int) -> Iterator[Chunk]:
    """``(rows, sample_weight)`` in chunks of at most ``max_rows`` rows: itself when it is
    no longer, Sequences cut between sequences, other rows into consecutive slices."""
    n = rows.shape[0]
    if n <= max_rows:
        yield rows, sample_weight
        return
    w = sample_weight
    if isinstance(rows, Sequences):
        for group, span in rows.groups(max_rows):
            yield group, None if w is None else w[span]
        return
    for start in range(0, n, max_rows):
        span = slice(start, start + max_rows)
        yield rows[span], None if w is None else w[span]


def _chained(first: Chunk, rest: Iterator[Chunk]) -> Iterator[Chunk]:
    yield first
    yield from rest
