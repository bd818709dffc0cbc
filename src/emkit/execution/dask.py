"""A Dask cluster as executor: E-steps on the workers of a ``dask.distributed`` cluster.

Inside ``emkit.config_context(executor=DaskExecutor(client))`` a fit places its data on the
cluster once and runs every E-step there; the client (this process) keeps the EM loop and
the M-steps, and receives one sum of statistics per pass.

Where the rows live decides how they are placed (:meth:`DaskExecutor.place`):

data in memory (arrays, CSR matrices, tables, Sequences, Labelled)
    cut into parts of consecutive chunks (:meth:`RowSource.partitions`,
    :data:`PARTS_PER_THREAD` per worker thread) and scattered to the workers once; passes
    do not ship them again.
files (:func:`emkit.open_data`: ``.npy``, Parquet, text)
    cut into parts that name the file and their rows; the workers read their own parts at
    every pass, so that no value of the file passes through the client.
dask arrays and DataFrames
    their blocks (partitions) are computed on the workers and kept there for the fit; they
    are never pulled to the client.
other sources (a user's re-iterable of chunks)
    cannot be cut: they run on the client's threads, as :class:`ThreadExecutor` runs them.

A pass submits one task per part, which adds up the function's results over the part's
chunks in order, and adds those sums as a tree, pairs of neighbours on the workers, so that
the order of the additions is fixed by the parts, not by the order in which tasks finish:
results are deterministic, and equal to those of the thread executor's left-to-right sum up
to round-off. The chunks themselves are the thread executor's chunks (parts begin at
multiples of ``chunk_size`` rows, dask blocks are cut into chunks from their first row).

Initialisation samples data that is not in memory on the workers (:meth:`Placement.sample`):
every part draws a uniform sample of at most ``max_rows`` of its rows in one pass (a
reservoir, seeded from the fit's ``random_state``) and counts its rows; the client merges
them into a uniform sample of ``max_rows`` of all the rows (how many come from each part is
drawn from the multivariate hypergeometric law of the parts' counts, and those rows are
drawn uniformly from the part's reservoir), in the order of the data. Data in memory is
seen whole, as :meth:`RowSource.sample` sees it.

A worker that dies costs a retry, not the fit: the scheduler runs the lost tasks again
(files are read again, dask blocks recomputed from their graph), and the parts of scattered
data that died with it are scattered again from the client, which holds that data, before
the pass is run again; as many times as the scheduler allows a task to fail
(``distributed.scheduler.allowed-failures``). The results are those of the pass without the
failure.

:meth:`DaskExecutor.map` runs every item as a task (the fits of a model selection); the
fits a task runs use the thread executor of its worker thread alone, since
:func:`emkit.config_context` is a setting of the client's process. Workers started by a
nanny run BLAS on one thread (dask's ``distributed.nanny.pre-spawn-environ``), as the
thread executor does.

Dask arrays and DataFrames are row sources with any executor (:class:`DaskRows`): with
another executor, each pass computes their blocks one at a time with dask's scheduler.
Importing this module (which :func:`~emkit.execution.sources.as_source` does when it is
first given a dask object) registers them.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import CancelledError
from typing import Any, TypeVar

import dask
import numpy as np
import scipy.sparse as sp

from emkit.core.batches import Labelled, Sequences
from emkit.execution.executor import Executor, Placement, ThreadExecutor
from emkit.execution.local import map_reduce as serial_map_reduce
from emkit.execution.sources import (
    Chunk,
    RowSource,
    _checked_weights,
    _numeric,
    _Reservoir,
    cut,
    register_source,
)

__all__ = ["PARTS_PER_THREAD", "DaskExecutor", "DaskRows"]

T = TypeVar("T")
R = TypeVar("R")

PARTS_PER_THREAD = 4
"""Parts of data in memory or in files per worker thread: a task per part and pass keeps
the scheduler's share small next to the E-steps, and several parts per thread keep the
threads busy when the parts or the workers differ in speed."""


class DaskExecutor(Executor):
    """E-steps on the workers of a Dask cluster: see the module documentation.

    Parameters
    ----------
    client : distributed.Client, optional
        The cluster's client; by default the default client (``distributed.get_client()``).

    Raises
    ------
    ValueError
        When no client is given and there is no default client.
    ImportError
        When ``distributed`` is not installed.

    Examples
    --------
    >>> from distributed import Client  # doctest: +SKIP
    >>> client = Client(n_workers=2)  # doctest: +SKIP
    >>> with emkit.config_context(executor=DaskExecutor(client)):  # doctest: +SKIP
    ...     emkit.GaussianMixture(16).fit(X)
    """

    def __init__(self, client: Any = None) -> None:
        try:
            import distributed
        except ImportError:
            raise ImportError(
                "the Dask executor needs dask.distributed: pip install 'emkit[dask]'"
            ) from None
        if client is None:
            try:
                client = distributed.get_client()
            except ValueError:
                raise ValueError(
                    "DaskExecutor() runs on the default client of dask.distributed, and there "
                    "is none: start one (distributed.Client(...)) or give it, "
                    "DaskExecutor(client)"
                ) from None
        self.client = client

    def __repr__(self) -> str:
        return f"DaskExecutor({self.client!r})"

    def place(self, source: RowSource, chunk_size: int) -> Placement:
        if isinstance(source, DaskRows):
            return _DaskPlacement(self.client, source, int(chunk_size), list(source.blocks))
        threads = sum(self.client.nthreads().values())
        parts = source.partitions(max(1, PARTS_PER_THREAD * threads), int(chunk_size))
        if parts is None:
            return ThreadExecutor().place(source, chunk_size)
        return _DaskPlacement(self.client, source, int(chunk_size), parts)

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        items = list(items)
        if not items:
            return []
        # The function (and the data it holds) goes to every worker once, not with every
        # task; a copy on each worker survives the loss of another.
        task = self.client.scatter(fn, broadcast=True, hash=False)
        futures = [self.client.submit(_alone, task, item, pure=False) for item in items]
        return self.client.gather(futures)

    def compute(self) -> contextlib.AbstractContextManager[Any]:
        # The client's share (M-steps, and the passes over sources that cannot be cut) runs
        # on one BLAS thread, as the thread executor runs it.
        from threadpoolctl import threadpool_limits

        return threadpool_limits(limits=1, user_api="blas")


class _DaskPlacement(Placement):
    """A source's parts on the cluster: sources scattered to the workers, or dask blocks
    (delayed objects) computed there; their futures are held for the life of the
    placement."""

    def __init__(self, client: Any, source: RowSource, chunk_size: int, parts: list[Any]):
        self.source, self.chunk_size = source, chunk_size
        self._client = client
        self._parts = parts
        self._futures = self._placed(parts)

    def _placed(self, parts: list[Any]) -> list[Any]:
        if not parts:
            return []
        if isinstance(self.source, DaskRows):
            return list(self._client.compute(parts))
        return list(self._client.scatter(parts, hash=False))

    def map_reduce(self, fn: Callable[[Chunk], T], reduce: Callable[[T, T], T]) -> T | None:
        if not self._parts:
            return None
        errors = np.geterr()  # the caller's floating-point error handling holds on workers

        def run() -> T | None:
            submit = self._client.submit
            sums = [
                submit(_part_sum, fn, reduce, part, self.chunk_size, errors, pure=False)
                for part in self._futures
            ]
            while len(sums) > 1:
                pairs = [
                    submit(_added, reduce, a, b, pure=False)
                    for a, b in zip(sums[0::2], sums[1::2], strict=False)
                ]
                sums = pairs + sums[2 * len(pairs) :]
            return sums[0].result()

        return self._retried(run)

    def sample(self, max_rows: int, random_state: np.random.RandomState) -> Chunk:
        if self.source.in_memory or not self._parts:
            return self.source.sample(max_rows, random_state)
        if isinstance(self.source, DaskRows):
            rows = self.source.block_rows
        else:
            rows = [part.n_rows for part in self._parts]
        known = all(n is not None for n in rows)
        if known and sum(rows) <= max_rows:  # type: ignore[arg-type]
            # All the rows: no part draws, and neither does the merge.
            seeds, wanted = [0] * len(rows), [max_rows] * len(rows)
        else:
            before = random_state.get_state()
            seeds = random_state.randint(np.iinfo(np.int32).max, size=len(rows)).tolist()
            # With the parts' sizes known, each part draws its share of the sample, so that
            # max_rows rows come back rather than max_rows of every part.
            wanted = _shares(rows, max_rows, random_state) if known else [max_rows] * len(rows)

        def run() -> list[tuple[Chunk | None, int]]:
            futures = [
                self._client.submit(_part_sample, part, m, seed, self.chunk_size, pure=False)
                for part, m, seed in zip(self._futures, wanted, seeds, strict=True)
                if m > 0  # a part none of whose rows is drawn is not read
            ]
            return self._client.gather(futures)

        samples = self._retried(run)
        if known:
            return _concatenated([chunk for chunk, _ in samples if chunk is not None])
        if sum(seen for _, seen in samples) <= max_rows:
            # All the rows after all: the random state is left as a sample drawing none
            # leaves it, so that the start equals that of the same rows anywhere else.
            random_state.set_state(before)
        return merged_sample(samples, max_rows, random_state)

    def _retried(self, run: Callable[[], T]) -> T:
        allowed = int(dask.config.get("distributed.scheduler.allowed-failures"))
        for attempt in itertools.count():
            try:
                return run()
            except CancelledError:
                # Tasks are cancelled when data they need is lost for good: parts scattered
                # to a worker that died. Those are scattered again, and the pass run again.
                if attempt >= allowed or not self._replace_lost():
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _replace_lost(self) -> bool:
        """Place again the parts the cluster lost; whether there were any. (The scheduler
        cancels lost parts before the tasks that need them, on the stream that tells the
        client of both, so that the parts are known lost when the pass fails.)"""
        lost = [i for i, future in enumerate(self._futures) if future.cancelled()]
        for i, future in zip(lost, self._placed([self._parts[i] for i in lost]), strict=True):
            self._futures[i] = future
        return bool(lost)


# -- the tasks --------------------------------------------------------------------------------
def _alone(fn: Callable[[T], R], item: T) -> R:
    # The task holds one of its worker's threads: its own fits run on that thread.
    from emkit.config import config_context

    with config_context(executor=ThreadExecutor(1)):
        return fn(item)


def _part_chunks(part: Any, max_rows: int) -> Iterator[Chunk]:
    """The chunks of a part: a source, or a dask block (rows, or a pair of rows and
    weights)."""
    if isinstance(part, RowSource):
        return part.chunks(max_rows)
    rows, w = part if isinstance(part, tuple) else (part, None)
    return cut(rows, w, max_rows)


def _part_sum(
    fn: Callable[[Chunk], T],
    reduce: Callable[[T, T], T],
    part: Any,
    chunk_size: int,
    errors: dict[str, str],
) -> T | None:
    with np.errstate(**errors):  # type: ignore[arg-type]
        return serial_map_reduce(fn, _part_chunks(part, chunk_size), reduce)


def _added(reduce: Callable[[T, T], T], a: T | None, b: T | None) -> T | None:
    # A part without rows (an empty dask block) adds nothing.
    if a is None or b is None:
        return b if a is None else a
    return reduce(a, b)


def _part_sample(part: Any, max_rows: int, seed: int, chunk_size: int) -> tuple[Chunk | None, int]:
    """A uniform sample of at most ``max_rows`` rows of the part, in their order (all of
    them when it holds no more), and the part's number of rows."""
    reservoir = _Reservoir(max_rows)
    random_state = np.random.RandomState(seed)
    for rows, w in _part_chunks(part, chunk_size):
        if isinstance(rows, Sequences):
            raise TypeError(
                "sequences that are not in memory cannot be sampled part by part; give "
                "them in memory (Sequences), or give init"
            )
        reservoir.add(rows, w, random_state)
    return (reservoir.rows() if reservoir.seen else None), reservoir.seen


# -- merging the parts' samples ---------------------------------------------------------------
def _shares(rows: Sequence[int], max_rows: int, random_state: np.random.RandomState) -> list[int]:
    """How many rows of each part a uniform sample of ``max_rows`` of all the rows holds
    (multivariate hypergeometric, drawn one part after another)."""
    shares, rows_left, wanted = [], sum(rows), max_rows
    for seen in rows:
        if wanted == 0 or seen == 0:
            k = 0
        elif rows_left == seen:
            k = wanted
        else:
            k = int(random_state.hypergeometric(seen, rows_left - seen, wanted))
        shares.append(k)
        rows_left -= seen
        wanted -= k
    return shares


def merged_sample(
    samples: Sequence[tuple[Chunk | None, int]], max_rows: int, random_state: np.random.RandomState
) -> Chunk:
    """A uniform sample of ``max_rows`` rows drawn without replacement from parts of the
    data (all the rows when they hold no more), in their order, from a uniform sample of
    every part and its number of rows.

    Parameters
    ----------
    samples : sequence of (chunk or None, int)
        For every part in the order of the data: a uniform sample of at most ``max_rows``
        of its rows, in their order (None for a part without rows), and its number of rows.
    max_rows : int
    random_state : RandomState
        Draws the number of rows taken from each part (multivariate hypergeometric, one
        part after another), then which rows of its sample.

    Raises
    ------
    ValueError
        When the parts hold no rows.
    """
    total = sum(seen for _, seen in samples)
    if total == 0:
        raise ValueError("the data holds no rows")
    taken: list[Chunk] = []
    rows_left, wanted = total, min(max_rows, total)
    for chunk, seen in samples:
        if chunk is None:
            continue
        if total <= max_rows:
            taken.append(chunk)
            continue
        if wanted == 0:
            break
        # Of the rows left, those of this part among ``wanted`` drawn without replacement.
        k = (
            wanted
            if rows_left == seen
            else int(random_state.hypergeometric(seen, rows_left - seen, wanted))
        )
        rows, w = chunk
        keep = np.sort(random_state.choice(rows.shape[0], k, replace=False))
        taken.append((rows[keep], None if w is None else w[keep]))
        rows_left -= seen
        wanted -= k
    return _concatenated(taken)


def _concatenated(chunks: list[Chunk]) -> Chunk:
    rows = [r for r, _ in chunks]
    if any(isinstance(r, Labelled) for r in rows):
        X: Any = Labelled.concatenate(rows)
    elif sp.issparse(rows[0]):
        X = sp.vstack(rows, format="csr")
    else:
        X = np.concatenate(rows)
    if all(w is None for _, w in chunks):
        return X, None
    return X, np.concatenate([np.ones(r.shape[0]) if w is None else w for r, w in chunks])


# -- dask collections as row sources ----------------------------------------------------------
class DaskRows(RowSource):
    """The blocks of a dask array, or the partitions of a dask DataFrame, as a row source:
    every block, cut into chunks of at most ``max_rows`` rows from its first row.

    On a :class:`DaskExecutor` the blocks are computed on the workers and kept there for the
    fit; with another executor every pass computes them one at a time, with dask's
    scheduler. Not :attr:`in_memory`: initialisation samples them.

    Parameters
    ----------
    blocks : list of dask.delayed.Delayed
        Every block's rows, an array of shape (n_block, n_features), or a pair of it and its
        weights, shape (n_block,).
    n_features : int
    dtype : numpy.dtype
    rows : list of int or None
        Every block's number of rows, None where unknown.
    columns : tuple of str, optional
    weighted : bool, default=False

    Attributes
    ----------
    blocks : list of dask.delayed.Delayed
    block_rows : list of int or None
        Every block's number of rows, None where unknown.
    """

    def __init__(
        self,
        blocks: list[Any],
        n_features: int,
        dtype: np.dtype,
        rows: list[int | None],
        columns: tuple[str, ...] | None = None,
        weighted: bool = False,
    ) -> None:
        if len(rows) != len(blocks):
            raise ValueError(f"{len(blocks)} blocks, but the rows of {len(rows)}")
        self.blocks, self.block_rows = blocks, rows
        self.n_features, self.dtype = n_features, np.dtype(dtype)
        self._columns, self._weighted = columns, weighted

    def __repr__(self) -> str:
        n_blocks = len(self.blocks)
        return f"DaskRows({n_blocks} blocks, n_rows={self.n_rows}, n_features={self.n_features})"

    @property
    def n_rows(self) -> int | None:
        if any(n is None for n in self.block_rows):
            return None
        return sum(self.block_rows)  # type: ignore[arg-type]

    @property
    def columns(self) -> tuple[str, ...] | None:
        return self._columns

    @property
    def weighted(self) -> bool:
        return self._weighted

    def home(self) -> Executor | None:
        """The cluster of the active ``distributed.Client``, where the blocks are computed
        and kept; None without one (each pass computes the blocks with dask's scheduler)."""
        try:
            import distributed

            client = distributed.get_client()
        except (ImportError, ValueError):
            return None
        return DaskExecutor(client)

    def chunks(self, max_rows: int) -> Iterator[Chunk]:
        for block in self.blocks:
            (part,) = dask.compute(block)
            yield from _part_chunks(part, max_rows)

    def map(self, fn: Callable[[Any], Any], n_features: int | None = None) -> DaskRows:
        """The dask rows whose blocks are ``fn`` of these blocks' rows, applied where the
        blocks are computed (on the workers, once per fit for blocks kept there)."""
        blocks = [dask.delayed(_mapped_block)(fn, block) for block in self.blocks]
        d = self.n_features if n_features is None else n_features
        return DaskRows(blocks, d, self.dtype, self.block_rows, self._columns, self._weighted)


def _mapped_block(fn: Callable[[Any], Any], block: Any) -> Any:
    if isinstance(block, tuple):
        rows, w = block
        return fn(rows), w
    return fn(block)


def _is_dask_array(data: Any) -> bool:
    array = sys.modules.get("dask.array")
    return array is not None and isinstance(data, array.Array)


def _is_dask_frame(data: Any) -> bool:
    frame = sys.modules.get("dask.dataframe")
    return frame is not None and isinstance(data, frame.DataFrame)


def _array_source(X: Any, sample_weight: Any) -> DaskRows:
    """The source of a 2-D dask array chunked by rows (its columns are made one block)."""
    if X.ndim != 2:
        raise ValueError(f"data must be 2-D (n_samples, n_features), got shape {X.shape}")
    if X.numblocks[1] > 1:
        X = X.rechunk({1: -1})
    blocks = list(X.to_delayed(optimize_graph=False).ravel())
    rows = [None if math.isnan(n) else int(n) for n in X.chunks[0]]
    weights = _block_weights(sample_weight, X.chunks[0], "the dask array")
    if weights is not None:
        blocks = [dask.delayed(_weighted)(b, w) for b, w in zip(blocks, weights, strict=True)]
    return DaskRows(blocks, int(X.shape[1]), X.dtype, rows, weighted=weights is not None)


def _frame_source(frame: Any, sample_weight: Any) -> DaskRows:
    """The source of a dask DataFrame of numeric columns, converted to a float array a
    partition at a time (as :class:`~emkit.execution.sources.TableRows` converts a table)."""
    columns = tuple(str(c) for c in frame.columns)
    meta = frame._meta
    for name, dtype in zip(columns, meta.dtypes, strict=True):
        if getattr(dtype, "kind", "O") not in "fiub":
            raise ValueError(
                f"column {name!r} is not numeric (dtype {dtype}); select numeric columns, or "
                "encode categories as integer codes"
            )
    dtype = _numeric(meta.to_numpy(), columns).dtype
    blocks = [dask.delayed(_frame_rows)(p, columns) for p in frame.to_delayed()]
    weights = _block_weights(sample_weight, None, "the dask DataFrame", len(blocks))
    if weights is not None:
        blocks = [dask.delayed(_weighted)(b, w) for b, w in zip(blocks, weights, strict=True)]
    return DaskRows(
        blocks, len(columns), dtype, [None] * len(blocks), columns, weighted=weights is not None
    )


def _block_weights(
    sample_weight: Any, row_chunks: tuple[float, ...] | None, what: str, n_blocks: int = 0
) -> list[Any] | None:
    """Delayed weights of every block: a dask array or Series with the data's blocks, or
    (for a dask array whose block sizes are known) any array, cut as the data is."""
    if sample_weight is None:
        return None
    if hasattr(sample_weight, "to_delayed") and hasattr(sample_weight, "npartitions"):
        parts = list(sample_weight.to_delayed())  # a dask Series
    elif _is_dask_array(sample_weight):
        if sample_weight.ndim != 1:
            raise ValueError(f"sample_weight must be 1-D, got shape {sample_weight.shape}")
        if row_chunks is not None and not any(math.isnan(n) for n in row_chunks):
            sample_weight = sample_weight.rechunk((row_chunks,))
        parts = list(sample_weight.to_delayed().ravel())
    elif row_chunks is not None and not any(math.isnan(n) for n in row_chunks):
        w = np.asarray(sample_weight, dtype=np.float64)
        n_rows = int(sum(row_chunks))
        if w.shape != (n_rows,):
            raise ValueError(f"sample_weight has shape {w.shape}, expected ({n_rows},)")
        bounds = np.cumsum((0, *row_chunks)).astype(int)
        return [w[a:b] for a, b in itertools.pairwise(bounds)]
    else:
        raise ValueError(
            f"the weights of {what} whose blocks' lengths are unknown must be a dask array or "
            "Series with one block per block of the data"
        )
    expected = n_blocks or len(row_chunks or ())
    if len(parts) != expected:
        raise ValueError(
            f"sample_weight has {len(parts)} blocks, {what} has {expected}: give the weights "
            "in blocks of the data's rows"
        )
    return parts


def _weighted(rows: np.ndarray, sample_weight: Any) -> tuple[np.ndarray, np.ndarray | None]:
    return rows, _checked_weights(np.asarray(sample_weight), rows.shape[0])


def _frame_rows(partition: Any, columns: tuple[str, ...]) -> np.ndarray:
    return _numeric(partition.to_numpy(), columns)


def register() -> None:
    """Make dask arrays and DataFrames row sources (:func:`register_source`)."""
    register_source(_is_dask_array, _array_source)
    register_source(_is_dask_frame, _frame_source)


register()
